package org.transfer4j.head.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.transfer4j.ModelException;

class StageGraphTest {
    private static final int C = 4;
    private static final int HW = 6;

    /**
     * A tiny ResNet tail in ONNX: input → Relu ("split", the stage input) → bottleneck with a stride-2 projection
     * shortcut → identity bottleneck → GlobalAveragePool → Flatten, BatchNorm already folded (convs with bias).
     */
    static ModelProto tinyResNet(long seed) {
        Random r = new Random(seed);
        GraphProto.Builder g = GraphProto.newBuilder().setName("tiny");
        g.addNode(node("Relu", "stem", List.of("input"), "split"));
        String x = bottleneck(g, r, "b0", "split", C, 2, 8, 2, true);
        x = bottleneck(g, r, "b1", x, 8, 2, 8, 1, false);
        g.addNode(node("GlobalAveragePool", "gap", List.of(x), "pooled"));
        g.addNode(node("Flatten", "flatten", List.of("pooled"), "features"));
        g.addInput(value("input", -1, C, HW, HW));
        g.addOutput(value("features", -1, 8));
        return ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13)).build();
    }

    static String bottleneck(GraphProto.Builder g, Random r, String name, String x, int in, int mid, int out,
                                     int stride, boolean project) {
        String a = conv(g, r, name + ".c1", x, in, mid, 1, 1);
        g.addNode(node("Relu", name + ".r1", List.of(a), a + "_r"));
        String b = conv(g, r, name + ".c2", a + "_r", mid, mid, 3, stride);
        g.addNode(node("Relu", name + ".r2", List.of(b), b + "_r"));
        String c = conv(g, r, name + ".c3", b + "_r", mid, out, 1, 1);
        String shortcut = project ? conv(g, r, name + ".ds", x, in, out, 1, stride) : x;
        g.addNode(node("Add", name + ".add", List.of(c, shortcut), name + "_sum"));
        g.addNode(node("Relu", name + ".r3", List.of(name + "_sum"), name + "_out"));
        return name + "_out";
    }

    private static String conv(GraphProto.Builder g, Random r, String name, String x, int in, int out, int k,
                               int stride) {
        float[] w = new float[out * in * k * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * Math.sqrt(2.0 / (in * k * k)));
        }
        float[] b = new float[out];
        for (int i = 0; i < out; i++) {
            b[i] = (float) (0.1 * r.nextGaussian());
        }
        g.addInitializer(tensor(name + ".w", w, out, in, k, k));
        g.addInitializer(tensor(name + ".b", b, out));
        int p = k / 2;
        g.addNode(node("Conv", name, List.of(x, name + ".w", name + ".b"), name + "_y").toBuilder()
                .addAttribute(ints("kernel_shape", k, k)).addAttribute(ints("strides", stride, stride))
                .addAttribute(ints("pads", p, p, p, p)).build());
        return name + "_y";
    }

    static NodeProto node(String op, String name, List<String> in, String out) {
        return NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(in).addOutput(out).build();
    }

    private static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    private static TensorProto tensor(String name, float[] v, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT.getNumber());
        for (long d : dims) {
            t.addDims(d);
        }
        for (float f : v) {
            t.addFloatData(f);
        }
        return t.build();
    }

    static ValueInfoProto value(String name, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N").build()
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d).build());
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT.getNumber()).setShape(s)))
                .build();
    }

    @Test
    void stageComputesWhatOnnxRuntimeComputes() throws Exception {
        ModelProto model = tinyResNet(1);
        StageGraph stage = StageGraph.fromOnnx(model, "split", DataType.FLOAT);
        assertEquals(14, stage.parameterNames().size(), "7 convs × (weight, bias)");
        int n = 3;
        float[] input = new float[n * C * HW * HW];
        Random r = new Random(2);
        for (int i = 0; i < input.length; i++) {
            input[i] = (float) Math.abs(r.nextGaussian()); // non-negative: the stem's Relu passes it unchanged
        }
        float[] expected = run(model, input, n);
        INDArray out = stage.sameDiff().output(Map.of(StageGraph.INPUT,
                Nd4j.createFromArray(input).reshape(n, C, HW, HW)), stage.output()).get(stage.output());
        assertArrayEquals(new long[] {n, 8}, out.shape());
        float[] got = out.data().asFloat();
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], got[i], 1e-5, "feature " + i);
        }
        // The initializers come back in ONNX layout, unchanged before any training.
        Map<String, float[]> back = stage.onnxInitializers();
        assertEquals(14, back.size());
        for (TensorProto init : model.getGraph().getInitializerList()) {
            float[] original = new float[init.getFloatDataCount()];
            for (int i = 0; i < original.length; i++) {
                original[i] = init.getFloatData(i);
            }
            assertArrayEquals(original, back.get(init.getName()), init.getName());
        }
    }

    /** Long: every SameDiff output() call costs ~0.3-0.8 s here, and the check needs 64 of them. */
    @Test
    @Tag("long")
    void gradientsOfStagePlusHeadMatchFiniteDifferences() throws Exception {
        StageGraph stage = StageGraph.fromOnnx(tinyResNet(3), "split", DataType.DOUBLE);
        SameDiff sd = stage.sameDiff();
        int k = 3;
        Random r = new Random(4);
        SDVariable labels = sd.placeHolder("labels", DataType.DOUBLE, -1, k);
        SDVariable w = sd.var("head_w", Nd4j.rand(DataType.DOUBLE, 8, k).subi(0.5));
        SDVariable b = sd.var("head_b", Nd4j.zeros(DataType.DOUBLE, k));
        SDVariable logits = sd.getVariable(stage.output()).mmul(w).add(b);
        sd.loss().softmaxCrossEntropy("loss", labels, logits, null);
        sd.setLossVariables("loss");
        int n = 2;
        INDArray x = Nd4j.rand(DataType.DOUBLE, n, C, HW, HW);
        INDArray y = Nd4j.createFromArray(new double[][] {{1, 0, 0}, {0, 0, 1}});
        Map<String, INDArray> feed = Map.of(StageGraph.INPUT, x, "labels", y);
        List<String> params = new ArrayList<>(stage.parameterNames());
        params.add("head_w");
        Map<String, INDArray> grads = sd.calculateGradients(feed, params);
        double worst = 0;
        double largest = 0;
        for (String p : params) {
            INDArray v = sd.getArrForVarName(p);
            // Two entries of every parameter tensor (SameDiff's per-call overhead makes every entry too slow).
            for (long i : new long[] {r.nextInt((int) v.length()), v.length() - 1}) {
                double p0 = v.getDouble(i);
                double eps = 1e-6;
                v.putScalar(i, p0 + eps);
                double up = sd.output(feed, "loss").get("loss").getDouble(0);
                v.putScalar(i, p0 - eps);
                double down = sd.output(feed, "loss").get("loss").getDouble(0);
                v.putScalar(i, p0);
                double numeric = (up - down) / (2 * eps);
                double analytic = grads.get(p).getDouble(i);
                worst = Math.max(worst, Math.abs(numeric - analytic) / Math.max(1e-6, Math.abs(numeric)
                        + Math.abs(analytic)));
                largest = Math.max(largest, Math.abs(analytic));
            }
        }
        assertTrue(largest > 1e-3, "gradients are not all ~0: " + largest);
        assertTrue(worst < 1e-5, "worst relative error " + worst);
    }

    @Test
    void tunedWeightsGoBackIntoTheBackboneThatOnnxRuntimeRuns() throws Exception {
        ModelProto model = tinyResNet(6);
        StageGraph stage = StageGraph.fromOnnx(model, "split", DataType.FLOAT);
        // "Training": move every stage parameter, so the tuned backbone differs from the original.
        Random r = new Random(7);
        for (String p : stage.parameterNames()) {
            INDArray v = stage.sameDiff().getArrForVarName(p);
            v.addi(Nd4j.rand(DataType.FLOAT, v.shape()).subi(0.5).muli(0.2));
        }
        ModelProto tuned = stage.tunedBackbone(model);
        assertEquals(model.getGraph().getNodeList(), tuned.getGraph().getNodeList(), "same graph");
        int n = 2;
        float[] input = new float[n * C * HW * HW];
        for (int i = 0; i < input.length; i++) {
            input[i] = (float) Math.abs(r.nextGaussian());
        }
        INDArray out = stage.sameDiff().output(Map.of(StageGraph.INPUT,
                Nd4j.createFromArray(input).reshape(n, C, HW, HW)), stage.output()).get(stage.output());
        float[] ort = run(tuned, input, n);
        float[] original = run(model, input, n);
        float[] got = out.data().asFloat();
        double moved = 0;
        for (int i = 0; i < ort.length; i++) {
            assertEquals(ort[i], got[i], 1e-5, "feature " + i);
            moved = Math.max(moved, Math.abs(ort[i] - original[i]));
        }
        assertTrue(moved > 1e-3, "the tuned weights changed the features: " + moved);
    }

    static float[] run(ModelProto model, float[] input, int n) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(model.toByteArray());
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(input), new long[] {n, C, HW, HW});
             OrtSession.Result res = s.run(Map.of("input", t))) {
            return ((OnnxTensor) res.get(0)).getFloatBuffer().array();
        }
    }

    @Test
    void refusesOpsItDoesNotTranslate() {
        ModelProto m = tinyResNet(5);
        GraphProto.Builder g = m.getGraph().toBuilder();
        g.setNode(0, node("Sigmoid", "stem", List.of("input"), "split"));
        g.addNode(1, node("Sigmoid", "odd", List.of("split"), "odd_out"));
        ModelException e = assertThrows(ModelException.class,
                () -> StageGraph.fromOnnx(m.toBuilder().setGraph(g).build(), "split", DataType.FLOAT));
        assertTrue(e.getMessage().contains("Sigmoid") && e.getMessage().contains("odd"), e.getMessage());
        ModelException none = assertThrows(ModelException.class,
                () -> StageGraph.fromOnnx(m, "no-such-tensor", DataType.FLOAT));
        assertTrue(none.getMessage().contains("no GlobalAveragePool"), none.getMessage());
    }
}
