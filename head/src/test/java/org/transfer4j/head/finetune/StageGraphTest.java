package org.transfer4j.head.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.transfer4j.testing.TinyResNet.bottleneck;
import static org.transfer4j.testing.TinyResNet.node;
import static org.transfer4j.testing.TinyResNet.value;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
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
