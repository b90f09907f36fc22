package org.transfer4j.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;

/** The two engines behind the Predictor, fed raw tensors (no decoding), so they are compared on the math alone. */
class EngineTest {
    static final BackboneOptions CPU1 =
            BackboneOptions.builder().optDevice(Device.CPU).optIntraOpThreads(1).build();

    @TempDir
    Path dir;

    @Test
    void composedAndTwoPartAgreeWithin1e5() throws Exception {
        PredictorTestModels.Tiny tiny = PredictorTestModels.small(dir);
        BackboneOptions sessions = CPU1;
        int n = 5;
        FloatBuffer batch = randomBatch(n * tiny.spec().floatsPerImage(), 3);
        try (ComposedEngine composed = ComposedEngine.open(tiny.composed(), sessions, null);
             TwoPartEngine twoPart = TwoPartEngine.open(tiny.backbone(), tiny.head(), null, "tiny head", sessions)) {
            assertEquals(tiny.classes(), composed.classes());
            assertTrue(composed.spec().samePreprocessing(tiny.spec().withOutputName("probabilities")));
            float[][] a = composed.probabilities(batch, n);
            float[][] b = twoPart.probabilities(batch, n);
            double maxDiff = 0;
            for (int i = 0; i < n; i++) {
                double sum = 0;
                for (int c = 0; c < a[i].length; c++) {
                    maxDiff = Math.max(maxDiff, Math.abs(a[i][c] - b[i][c]));
                    sum += a[i][c];
                }
                assertEquals(1.0, sum, 1e-5);
            }
            assertTrue(maxDiff <= 1e-5, "max abs difference " + maxDiff);
            // Probabilities must depend on the input, or the comparison proves nothing.
            assertTrue(Math.abs(a[0][0] - a[1][0]) > 1e-4, "the tiny model ignores its input");
        }
    }

    @Test
    void headFromAnotherBackboneIsRefusedWithBothHashes() throws Exception {
        PredictorTestModels.Tiny first = PredictorTestModels.small(dir.resolve("a"));
        PredictorTestModels.Tiny other = PredictorTestModels.write(dir.resolve("b"), 99, 16, 8, 6, 3, false);
        BackboneOptions sessions = CPU1;
        ModelException e = assertThrows(ModelException.class,
                () -> TwoPartEngine.open(other.backbone(), first.head(), null, "head-a", sessions));
        assertEquals(ModelException.Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains(first.spec().modelSha256()), e.getMessage());
        assertTrue(e.getMessage().contains(other.spec().modelSha256()), e.getMessage());
        assertTrue(e.getMessage().contains("train a new head"), e.getMessage());
    }

    @Test
    void notAComposedModelSaysWhatToDo() throws Exception {
        PredictorTestModels.Tiny tiny = PredictorTestModels.small(dir);
        ModelException e = assertThrows(ModelException.class,
                () -> ComposedEngine.open(tiny.backbone(), CPU1, null));
        assertEquals(ModelException.Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("model.jar compose"), e.getMessage());
    }

    @Test
    void missingFileIsNotFound() {
        ModelException e = assertThrows(ModelException.class,
                () -> ComposedEngine.open(dir.resolve("nope.onnx"), CPU1, null));
        assertEquals(ModelException.Reason.NOT_FOUND, e.reason());
    }

    static FloatBuffer randomBatch(int floats, long seed) {
        Random r = new Random(seed);
        FloatBuffer b = ByteBuffer.allocateDirect(floats * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < floats; i++) {
            b.put(i, (float) r.nextGaussian());
        }
        return b;
    }
}
