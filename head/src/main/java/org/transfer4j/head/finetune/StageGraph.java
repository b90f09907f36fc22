package org.transfer4j.head.finetune;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.factory.Nd4j;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.head.train.Nd4jBinaries;

/**
 * The part of an ONNX backbone after a split tensor, up to its global average pool, as a trainable ND4J SameDiff
 * graph: what fine-tuning the last stage of a ResNet trains. Only the ops a ResNet stage with folded BatchNorm is made
 * of are translated (Conv, Relu, Add, GlobalAveragePool); anything else is refused with its name.
 *
 * <p>Conv weights are ONNX's {@code [out, in, kH, kW]}; SameDiff holds them as {@code [kH, kW, in, out]} (its default
 * layout: in nd4j 1.0.0-M2.1 the {@code conv2d_bp} op ignores {@code weightsFormat=OIYX} and fails), so they are
 * permuted on the way in and back in {@link #onnxInitializers()}.
 *
 * <p>Not thread-safe.
 */
public final class StageGraph {
    static {
        Nd4jBinaries.select();
    }

    /** The placeholder fed with the split tensor, NCHW. */
    public static final String INPUT = "stage_input";

    private final SameDiff sd;
    private final String output;
    /** ONNX initializer name → SameDiff variable name, for the trainable ones. */
    private final Map<String, String> parameters;
    /** ONNX initializer name → whether it is a conv weight (permuted). */
    private final Map<String, Boolean> convWeights;

    private StageGraph(SameDiff sd, String output, Map<String, String> parameters, Map<String, Boolean> convWeights) {
        this.sd = sd;
        this.output = output;
        this.parameters = parameters;
        this.convWeights = convWeights;
    }

    /**
     * Translates the nodes that consume {@code splitTensor} (directly or through each other) up to the first
     * GlobalAveragePool.
     *
     * @param dtype FLOAT for training, DOUBLE for gradient checks
     */
    public static StageGraph fromOnnx(ModelProto model, String splitTensor, DataType dtype) throws ModelException {
        GraphProto g = model.getGraph();
        Map<String, TensorProto> inits = new HashMap<>();
        for (TensorProto t : g.getInitializerList()) {
            inits.put(t.getName(), t);
        }
        SameDiff sd = SameDiff.create();
        Map<String, SDVariable> values = new HashMap<>();
        values.put(splitTensor, sd.placeHolder(INPUT, dtype, -1, -1, -1, -1));
        Map<String, String> parameters = new LinkedHashMap<>();
        Map<String, Boolean> convWeights = new LinkedHashMap<>();
        String pooled = null;
        for (NodeProto n : g.getNodeList()) {
            boolean consumesStage = n.getInputList().stream().anyMatch(values::containsKey);
            if (!consumesStage) {
                continue;
            }
            for (String in : n.getInputList()) {
                if (!in.isEmpty() && !values.containsKey(in) && !inits.containsKey(in)) {
                    throw new ModelException(ModelException.Reason.INCOMPATIBLE, "node " + n.getName() + " reads "
                            + in + ", which is neither made after the split tensor " + splitTensor + " nor a weight; "
                            + "split at the tensor entering the last stage");
                }
            }
            SDVariable out = switch (n.getOpType()) {
                case "Conv" -> conv(sd, n, values, inits, parameters, convWeights, dtype);
                case "Relu" -> sd.nn().relu(values.get(n.getInput(0)), 0);
                case "Add" -> values.get(n.getInput(0)).add(values.get(n.getInput(1)));
                case "GlobalAveragePool" -> values.get(n.getInput(0)).mean(2, 3);
                default -> throw new ModelException(ModelException.Reason.INCOMPATIBLE, "the stage after "
                        + splitTensor + " has a " + n.getOpType() + " node (" + n.getName() + "); fine-tuning "
                        + "translates only Conv, Relu, Add and GlobalAveragePool (a ResNet stage with BatchNorm "
                        + "folded into the convolutions)");
            };
            values.put(n.getOutput(0), out);
            if (n.getOpType().equals("GlobalAveragePool")) {
                pooled = out.name();
                break;
            }
        }
        if (pooled == null) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "no GlobalAveragePool after " + splitTensor
                    + "; pass the tensor entering the last stage of a ResNet-style backbone");
        }
        return new StageGraph(sd, pooled, parameters, convWeights);
    }

    private static SDVariable conv(SameDiff sd, NodeProto n, Map<String, SDVariable> values,
                                   Map<String, TensorProto> inits, Map<String, String> parameters,
                                   Map<String, Boolean> convWeights, DataType dtype) throws ModelException {
        SDVariable x = values.get(n.getInput(0));
        TensorProto w = inits.get(n.getInput(1));
        if (x == null || w == null || w.getDimsCount() != 4) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "Conv " + n.getName() + " needs the stage "
                    + "tensor and a 4-D weight initializer as its inputs");
        }
        long[] kernel = ints(n, "kernel_shape", new long[] {w.getDims(2), w.getDims(3)});
        long[] strides = ints(n, "strides", new long[] {1, 1});
        long[] pads = ints(n, "pads", new long[] {0, 0, 0, 0});
        long[] dilations = ints(n, "dilations", new long[] {1, 1});
        long group = ints(n, "group", new long[] {1})[0];
        if (group != 1 || dilations[0] != 1 || dilations[1] != 1 || pads[0] != pads[2] || pads[1] != pads[3]) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "Conv " + n.getName() + " has group "
                    + group + ", dilations " + java.util.Arrays.toString(dilations) + ", pads "
                    + java.util.Arrays.toString(pads) + "; fine-tuning translates group 1, dilation 1, symmetric "
                    + "padding");
        }
        INDArray onnx = Nd4j.createFromArray(OnnxModels.floats(w)).reshape('c', w.getDims(0), w.getDims(1),
                w.getDims(2), w.getDims(3));
        SDVariable weight = sd.var("p" + parameters.size(), onnx.permute(2, 3, 1, 0).dup('c').castTo(dtype));
        parameters.put(w.getName(), weight.name());
        convWeights.put(w.getName(), true);
        SDVariable bias = null;
        if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
            TensorProto b = inits.get(n.getInput(2));
            bias = sd.var("p" + parameters.size(), Nd4j.createFromArray(OnnxModels.floats(b)).castTo(dtype));
            parameters.put(b.getName(), bias.name());
            convWeights.put(b.getName(), false);
        }
        Conv2DConfig c = Conv2DConfig.builder().kH(kernel[0]).kW(kernel[1]).sH(strides[0]).sW(strides[1])
                .pH(pads[0]).pW(pads[1]).dataFormat("NCHW").build();
        return bias == null ? sd.cnn().conv2d(x, weight, c) : sd.cnn().conv2d(x, weight, bias, c);
    }

    private static long[] ints(NodeProto n, String name, long[] otherwise) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getIntsCount() > 0 ? a.getIntsList().stream().mapToLong(Long::longValue).toArray()
                        : new long[] {a.getI()};
            }
        }
        return otherwise;
    }

    public SameDiff sameDiff() {
        return sd;
    }

    /** The SameDiff variable holding the pooled stage output, [N, C]. */
    public String output() {
        return output;
    }

    /** The SameDiff names of the trainable parameters, in graph order. */
    public List<String> parameterNames() {
        return new ArrayList<>(parameters.values());
    }

    /**
     * The backbone with this stage's current weights in place of its initializers: same graph, same names, so the
     * existing Composer can put the head on top and predict.jar / serve.jar run it unchanged.
     */
    public ModelProto tunedBackbone(ModelProto backbone) throws ModelException {
        Map<String, float[]> tuned = onnxInitializers();
        GraphProto.Builder g = backbone.getGraph().toBuilder();
        int replaced = 0;
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            float[] v = tuned.get(t.getName());
            if (v != null) {
                TensorProto.Builder nt = TensorProto.newBuilder().setName(t.getName()).setDataType(
                        TensorProto.DataType.FLOAT.getNumber()).addAllDims(t.getDimsList());
                java.nio.ByteBuffer raw = java.nio.ByteBuffer.allocate(v.length * Float.BYTES)
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
                raw.asFloatBuffer().put(v);
                g.setInitializer(i, nt.setRawData(com.google.protobuf.ByteString.copyFrom(raw.array())).build());
                replaced++;
            }
        }
        if (replaced != tuned.size()) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "the backbone has " + replaced + " of the "
                    + tuned.size() + " stage weights this graph was made from; tune and compose with the same model");
        }
        return backbone.toBuilder().setGraph(g).build();
    }

    /** The current parameter values in ONNX layout, keyed by initializer name (to write the tuned stage back). */
    public Map<String, float[]> onnxInitializers() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (var e : parameters.entrySet()) {
            INDArray v = sd.getArrForVarName(e.getValue());
            INDArray onnx = convWeights.get(e.getKey()) ? v.permute(3, 2, 0, 1).dup('c') : v;
            out.put(e.getKey(), onnx.castTo(DataType.FLOAT).data().asFloat());
        }
        return out;
    }
}
