package org.transfer4j.backbone.onnx;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.transfer4j.ModelException;

/**
 * Asks ONNX Runtime what the graph itself cannot say: the shapes and element types of intermediate tensors (most
 * exports carry no value_info), by running the model once on a zero input with those tensors exposed as outputs.
 * Also the final check that a rewritten model still loads. Package-private: an implementation detail of the tools.
 */
final class OrtProbe {
    /** Side used for spatial input dimensions that the model leaves symbolic. */
    static final int DEFAULT_SIDE = 224;

    /** What ORT reported for one tensor: its shape for a batch of one, and its ONNX element type. */
    record Probed(long[] shape, int elemType) {
    }

    private OrtProbe() {
    }

    /** The non-initializer graph inputs, i.e. the values a caller must feed. */
    static List<ValueInfoProto> realInputs(GraphProto g) {
        Set<String> inits = g.getInitializerList().stream().map(TensorProto::getName).collect(Collectors.toSet());
        return g.getInputList().stream().filter(v -> !inits.contains(v.getName())).toList();
    }

    /** Loads the model in ORT and closes the session; a failure becomes INVALID_MODEL naming {@code what}. */
    static void checkLoads(ModelProto model, String what) throws ModelException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = options();
             OrtSession session = env.createSession(model.toByteArray(), opts)) {
            session.getNumOutputs();
        } catch (OrtException e) {
            throw new ModelException(ModelException.Reason.INVALID_MODEL, what + " does not load in ONNX Runtime: "
                    + e.getMessage(), e);
        }
    }

    /**
     * Runs the model on zeros (batch 1, symbolic sizes set to {@value #DEFAULT_SIDE}) with {@code tensors} as its
     * only outputs and reports their shapes and types.
     */
    static Map<String, Probed> probe(ModelProto model, List<String> tensors, String what) throws ModelException {
        GraphProto.Builder g = model.getGraph().toBuilder().clearOutput();
        Map<String, ValueInfoProto> known = new HashMap<>();
        model.getGraph().getValueInfoList().forEach(v -> known.put(v.getName(), v));
        model.getGraph().getOutputList().forEach(v -> known.put(v.getName(), v));
        for (String t : tensors) {
            // Declared type info is reused when present; otherwise a bare name, which ORT types by inference.
            g.addOutput(known.getOrDefault(t, ValueInfoProto.newBuilder().setName(t).build()));
        }
        ModelProto probeModel = model.toBuilder().setGraph(g).build();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try (OrtSession.SessionOptions opts = options();
             OrtSession session = env.createSession(probeModel.toByteArray(), opts)) {
            for (ValueInfoProto in : realInputs(model.getGraph())) {
                feeds.put(in.getName(), zeros(env, in, what));
            }
            Map<String, Probed> out = new LinkedHashMap<>();
            try (OrtSession.Result r = session.run(feeds)) {
                for (String t : tensors) {
                    OnnxValue v = r.get(t).orElseThrow();
                    if (!(v.getInfo() instanceof TensorInfo ti)) {
                        throw new ModelException(ModelException.Reason.INCOMPATIBLE,
                                "tensor '" + t + "' in " + what + " is not a tensor (" + v.getType() + ")");
                    }
                    out.put(t, new Probed(ti.getShape(), onnxElemType(ti.onnxType)));
                }
            }
            return out;
        } catch (OrtException e) {
            throw new ModelException(ModelException.Reason.INVALID_MODEL, "ONNX Runtime could not run " + what
                    + " to measure tensors " + tensors + ": " + e.getMessage(), e);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** ORT Java numbers its element types differently from ONNX; the names match after the prefix. */
    static int onnxElemType(TensorInfo.OnnxTensorType t) {
        String name = t.name().substring("ONNX_TENSOR_ELEMENT_DATA_TYPE_".length());
        try {
            return TensorProto.DataType.valueOf(name).getNumber();
        } catch (IllegalArgumentException e) {
            return TensorProto.DataType.UNDEFINED_VALUE;
        }
    }

    /** A zero tensor for one graph input; only float inputs are supported (image models). */
    private static OnnxTensor zeros(OrtEnvironment env, ValueInfoProto in, String what)
            throws OrtException, ModelException {
        if (OnnxModels.elemType(in) != TensorProto.DataType.FLOAT_VALUE) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, what + " input '" + in.getName()
                    + "' is " + OnnxModels.elemTypeName(OnnxModels.elemType(in))
                    + "; image backbones take float input");
        }
        long[] shape = concreteShape(in);
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        FloatBuffer buf = ByteBuffer.allocateDirect(Math.toIntExact(n * Float.BYTES)).order(ByteOrder.nativeOrder())
                .asFloatBuffer();
        return OnnxTensor.createTensor(env, buf, shape);
    }

    /** The input shape for a batch of one, with symbolic image sides set to {@value #DEFAULT_SIDE}. */
    static long[] concreteShape(ValueInfoProto in) {
        long[] s = OnnxModels.shape(in);
        if (s.length == 0) {
            return new long[] {1, 3, DEFAULT_SIDE, DEFAULT_SIDE};
        }
        for (int i = 0; i < s.length; i++) {
            if (s[i] <= 0) {
                boolean channelAxis = s.length == 4 && ((i == 1 && s[3] != 3) || (i == 3 && s[1] == 3));
                s[i] = i == 0 ? 1 : channelAxis ? 3 : DEFAULT_SIDE;
            }
        }
        return s;
    }

    private static OrtSession.SessionOptions options() throws OrtException {
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        // Probing is a one-off; ORT's warnings (e.g. unused initializers in zoo exports) would only be noise here.
        opts.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
        return opts;
    }
}
