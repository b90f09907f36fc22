package org.transfer4j.head.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.head.train.HeadNetwork;

/** Stage + head trained together on a tiny ResNet tail: the head round-trips, the loss falls, the stage changes. */
class StageHeadModelTest {
    @Test
    void headRoundTripsAndLogitsAreTheHeadOnThePooledStage() throws Exception {
        check(false);
    }

    /** Slow: 40 SameDiff training steps take 10-50 s on a loaded machine. */
    @Test
    @Tag("long")
    void trainsStageAndHeadTogether() throws Exception {
        check(true);
    }

    private static void check(boolean train) throws Exception {
        ModelProto model = StageGraphTest.tinyResNet(11);
        StageGraph stage = StageGraph.fromOnnx(model, "split", DataType.FLOAT);
        int d = 8;
        int h = 6;
        int k = 2;
        float[] head = new float[(int) HeadNetwork.parameterCount(d, h, k)];
        Random r = new Random(12);
        for (int i = 0; i < head.length; i++) {
            head[i] = (float) (0.3 * r.nextGaussian());
        }
        StageHeadModel m = new StageHeadModel(stage, d, h, k, head, 1e-2);
        assertArrayEquals(head, m.headParameters(), "the head comes back in HeadNetwork's layout before training");

        // Logits are the head applied to the stage's pooled output, computed here by hand.
        int n = 16;
        INDArray maps = Nd4j.rand(DataType.FLOAT, n, 4, 6, 6);
        INDArray pooled = stage.sameDiff().output(Map.of(StageGraph.INPUT, maps), stage.output())
                .get(stage.output());
        INDArray w1 = Nd4j.createFromArray(java.util.Arrays.copyOfRange(head, 0, d * h)).reshape(d, h);
        INDArray b1 = Nd4j.createFromArray(java.util.Arrays.copyOfRange(head, d * h, d * h + h));
        INDArray w2 = Nd4j.createFromArray(java.util.Arrays.copyOfRange(head, d * h + h, d * h + h + h * k))
                .reshape(h, k);
        INDArray b2 = Nd4j.createFromArray(java.util.Arrays.copyOfRange(head, d * h + h + h * k, head.length));
        INDArray byHand = org.nd4j.linalg.ops.transforms.Transforms.relu(pooled.mmul(w1).addRowVector(b1))
                .mmul(w2).addRowVector(b2);
        assertTrue(byHand.equalsWithEps(m.logits(maps), 1e-4), "logits " + m.logits(maps) + " vs " + byHand);

        if (!train) {
            return;
        }
        // A learnable rule: class 1 when channel 0 is brighter than channel 1 on average.
        INDArray oneHot = Nd4j.zeros(DataType.FLOAT, n, k);
        for (int i = 0; i < n; i++) {
            maps.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i)).get(org.nd4j.linalg.indexing.NDArrayIndex
                    .point(i % 2)).addi(1.0);
            oneHot.putScalar(i, i % 2 == 0 ? 1 : 0, 1f);
        }
        Map<String, float[]> before = stage.onnxInitializers();
        double first = m.loss(maps, oneHot);
        for (int step = 0; step < 40; step++) {
            m.step(maps, oneHot);
        }
        double last = m.loss(maps, oneHot);
        assertTrue(last < 0.5 * first, "loss " + first + " → " + last);
        Map<String, float[]> after = stage.onnxInitializers();
        assertFalse(java.util.Arrays.equals(before.get("b0.c1.w"), after.get("b0.c1.w")),
                "the stage's first conv was trained");
        assertFalse(java.util.Arrays.equals(head, m.headParameters()), "the head was trained");
        // The tuned stage goes back into the backbone with the same names.
        ModelProto tuned = stage.tunedBackbone(model);
        assertEquals(model.getGraph().getNodeCount(), tuned.getGraph().getNodeCount());
        assertArrayEquals(after.get("b0.c1.w"), OnnxModels.floats(tuned.getGraph().getInitializerList().stream()
                .filter(t -> t.getName().equals("b0.c1.w")).findFirst().orElseThrow()));
    }
}
