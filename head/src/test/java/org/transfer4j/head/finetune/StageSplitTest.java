package org.transfer4j.head.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.onnx.GraphSurgery;
import org.transfer4j.testing.TinyResNet;

/** GraphSurgery.splitAtStage on a two-stage tiny ResNet: prefix (ONNX Runtime) then stage (StageNetwork) = whole model. */
class StageSplitTest {
    private static final int C = 4;
    private static final int HW = 6;

    /** input → Relu → stage a (stride-2 projection block) → stage b (stride-2 projection block + identity block). */
    static ModelProto twoStageResNet(long seed) {
        Random r = new Random(seed);
        GraphProto.Builder g = GraphProto.newBuilder().setName("two-stage");
        g.addNode(TinyResNet.node("Relu", "stem", List.of("input"), "x0"));
        String a = TinyResNet.bottleneck(g, r, "a0", "x0", C, 2, C, 2, true);
        String x = TinyResNet.bottleneck(g, r, "b0", a, C, 2, 8, 2, true);
        x = TinyResNet.bottleneck(g, r, "b1", x, 8, 2, 8, 1, false);
        g.addNode(TinyResNet.node("GlobalAveragePool", "gap", List.of(x), "pooled"));
        g.addNode(TinyResNet.node("Flatten", "flatten", List.of("pooled"), "features"));
        g.addInput(TinyResNet.value("input", -1, C, HW, HW));
        g.addOutput(TinyResNet.value("features", -1, 8));
        return ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13)).build();
    }

    @Test
    void findsTheLastStageAndPrefixPlusStageIsTheWholeModel() throws Exception {
        ModelProto model = twoStageResNet(3);
        GraphSurgery.StageSplit split = GraphSurgery.splitAtStage(model, null, "tiny");
        assertEquals("a0_out", split.tensor(), "the input of the last stage, not of the first (x0)");
        assertArrayEquals(new long[] {1, C, 3, 3}, split.shape());
        assertEquals(List.of("a0_out"), split.prefix().getGraph().getOutputList().stream().map(o -> o.getName())
                .toList());
        assertTrue(split.prefix().getGraph().getNodeList().stream().noneMatch(n -> n.getName().startsWith("b")),
                "the prefix has no node of the last stage");

        int n = 2;
        float[] image = new float[n * C * HW * HW];
        Random r = new Random(4);
        for (int i = 0; i < image.length; i++) {
            image[i] = (float) r.nextGaussian();
        }
        float[] whole = StageNetworkTest.run(model, image, n);
        float[] maps = run(split.prefix(), image, n);
        assertEquals(n * C * 3 * 3, maps.length);
        StageNetwork stage = StageNetwork.fromOnnx(model, split.tensor(), DataType.FLOAT);
        float[] got = stage.pooled(maps, n, new int[] {C, 3, 3});
        assertEquals(whole.length, got.length);
        for (int i = 0; i < whole.length; i++) {
            assertEquals(whole[i], got[i], 1e-5, "feature " + i);
        }

        assertEquals("x0", GraphSurgery.splitAtStage(model, "x0", "tiny").tensor(), "an explicit tensor is used");
        ModelException e = assertThrows(ModelException.class,
                () -> GraphSurgery.splitAtStage(model, "nope", "tiny"));
        assertTrue(e.getMessage().contains("'nope'"), e.getMessage());
        ModelException none = assertThrows(ModelException.class,
                () -> GraphSurgery.splitAtStage(StageNetworkTest.tinyResNet(1).toBuilder().setGraph(
                        model.getGraph().toBuilder().clearNode().addNode(TinyResNet.node("Relu", "only",
                                List.of("input"), "features"))).build(), null, "plain"));
        assertTrue(none.getMessage().contains("strided Conv"), none.getMessage());
    }

    private static float[] run(ModelProto model, float[] input, int n) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(model.toByteArray());
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(input), new long[] {n, C, HW, HW});
             OrtSession.Result res = s.run(Map.of("input", t))) {
            return ((OnnxTensor) res.get(0)).getFloatBuffer().array();
        }
    }
}
