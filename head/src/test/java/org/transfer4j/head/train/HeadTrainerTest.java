package org.transfer4j.head.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.transfer4j.head.ClassWeights;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.head.LrSchedule;
import org.transfer4j.head.TrainingConfig;

class HeadTrainerTest {
    @TempDir
    Path dir;

    @org.junit.jupiter.api.BeforeAll
    static void oneThread() {
        // Tiny matrices: threads only add synchronisation, and the test machine is shared.
        NativeThreads.set(1);
    }

    static TrainingConfig small() {
        return TrainingConfig.defaults().withHidden(16).withEpochs(8).withBatchSize(16).withLearningRate(0.01)
                .withPatience(100);
    }

    @Test
    void learnsSeparableClasses() throws Exception {
        ArrayRows rows = TestRows.blobs(12, new int[] {40, 40, 40}, 2, 6, 1);
        var result = HeadTrainer.builder(small()).build().train(rows, null);
        assertTrue(result.validation().accuracy() >= 0.9, "val accuracy " + result.validation().accuracy());
        assertTrue(result.training().accuracy() >= 0.9, "train accuracy " + result.training().accuracy());
        assertEquals(8, result.history().size());
        assertEquals(3, result.weights().numClasses());
    }

    @Test
    void softmaxRegressionTrainsToo() throws Exception {
        ArrayRows rows = TestRows.blobs(12, new int[] {40, 40}, 1, 6, 2);
        var result = HeadTrainer.builder(small().withHidden(0).withSchedule(LrSchedule.COSINE)).build()
                .train(rows, null);
        assertTrue(result.validation().accuracy() >= 0.9, "val accuracy " + result.validation().accuracy());
        assertEquals(0, result.weights().w1().length);
    }

    @Test
    void earlyStoppingRestoresTheBestEpoch() throws Exception {
        // Few noisy images, a big hidden layer and a high rate: validation loss falls, then rises as it overfits.
        ArrayRows rows = TestRows.blobs(20, new int[] {25, 25}, 1, 1.5, 3);
        TrainingConfig c = small().withHidden(128).withEpochs(60).withLearningRate(0.02).withDropout(0)
                .withWeightDecay(0).withPatience(3).withValSplit(0.4);
        var result = HeadTrainer.builder(c).build().train(rows, null);
        List<EpochStats> h = result.history();
        assertTrue(h.size() < 60, "should stop early, ran " + h.size());
        int argmin = 0;
        for (int i = 1; i < h.size(); i++) {
            if (h.get(i).valLoss() < h.get(argmin).valLoss()) {
                argmin = i;
            }
        }
        assertEquals(argmin + 1, result.bestEpoch());
        assertEquals(result.bestEpoch() + 3, h.size(), "stops after patience epochs without improvement");
        assertEquals(h.get(argmin).valLoss(), result.validation().loss(), 1e-12,
                "restored weights give the best epoch's validation loss");
        assertTrue(h.get(h.size() - 1).valLoss() > result.validation().loss());
    }

    @Test
    void balancedClassWeightsWeighTheLoss() throws Exception {
        ArrayRows rows = TestRows.blobs(4, new int[] {30, 10}, 1, 2, 4);
        HeadTrainer balanced = HeadTrainer.builder(small().withClassWeights(ClassWeights.BALANCED)).build();
        float[] w = balanced.classWeights(rows, ValidationSplit.all(rows));
        assertEquals(40.0 / (2 * 30), w[0], 1e-6);
        assertEquals(40.0 / (2 * 10), w[1], 1e-6);
        float[] none = HeadTrainer.builder(small()).build().classWeights(rows, ValidationSplit.all(rows));
        assertArrayEquals(new float[] {1f, 1f}, none);
        // The network's loss is sum(w_i ce_i) / sum(w_i): the minority row counts three times as much.
        try (HeadNetwork net = new HeadNetwork(4, 0, 2, DataType.DOUBLE, new FixedSchedule(0.1))) {
            net.initialize(5);
            float[] x = new float[16];
            float[] t = new float[8];
            int[] labels = {0, 0, 0, 1};
            for (int i = 0; i < 4; i++) {
                rows.read(i * 9, x, i * 4);
                t[i * 2 + labels[i]] = 1f;
            }
            double[] ce = new double[4];
            double plain = net.forwardBackward(x, t, new float[] {1, 1, 1, 1}, null, 4, null, ce, false);
            float[] rw = {w[0], w[0], w[0], w[1]};
            double[] ce2 = new double[4];
            double weighted = net.forwardBackward(x, t, rw, null, 4, null, ce2, false);
            assertArrayEquals(ce, ce2, 1e-12);
            assertEquals((ce[0] + ce[1] + ce[2] + ce[3]) / 4, plain, 1e-9);
            double expected = (w[0] * (ce[0] + ce[1] + ce[2]) + w[1] * ce[3]) / (3.0 * w[0] + w[1]);
            assertEquals(expected, weighted, 1e-9);
            assertNotEquals(plain, weighted, 1e-6);
        }
    }

    @Test
    void stratifiedSplitKeepsClassRatiosAndImagesTogether() {
        ArrayRows rows = TestRows.blobs(3, new int[] {100, 50, 10}, 3, 1, 5);
        var split = ValidationSplit.stratified(rows, 0.2, 42);
        int[] valPerClass = new int[3];
        Set<String> valPaths = new HashSet<>();
        for (int r : split.val()) {
            valPerClass[rows.label(r)]++;
            assertEquals(0, rows.view(r), "validation uses view 0");
            valPaths.add(rows.path(r));
        }
        assertArrayEquals(new int[] {20, 10, 2}, valPerClass);
        for (int r : split.train()) {
            assertFalse(valPaths.contains(rows.path(r)), "image on both sides: " + rows.path(r));
        }
        assertEquals(rows.rowCount() - 3 * valPaths.size(), split.train().length, "all views of training images");
        var again = ValidationSplit.stratified(rows, 0.2, 42);
        assertArrayEquals(split.val(), again.val());
        assertFalse(java.util.Arrays.equals(split.val(), ValidationSplit.stratified(rows, 0.2, 43).val()));
    }

    @Test
    void sameInputsAndSeedGiveIdenticalBytes() throws Exception {
        ArrayRows rows = TestRows.blobs(16, new int[] {30, 30, 30}, 2, 3, 6);
        TrainingConfig c = small().withEpochs(4).withDropout(0.3).withLabelSmoothing(0.1)
                .withClassWeights(ClassWeights.BALANCED).withWeightDecay(0.01).withSchedule(LrSchedule.COSINE);
        byte[] a = HeadFiles.encodeWeights(HeadTrainer.builder(c).build().train(rows, null).weights());
        byte[] b = HeadFiles.encodeWeights(HeadTrainer.builder(c).build().train(rows, null).weights());
        assertArrayEquals(a, b);
        byte[] other = HeadFiles.encodeWeights(HeadTrainer.builder(c.withSeed(7)).build().train(rows, null)
                .weights());
        assertFalse(java.util.Arrays.equals(a, other), "another seed gives other weights");
    }

    @Test
    void resumeAfterInterruptionEqualsUninterruptedRun() throws Exception {
        ArrayRows rows = TestRows.blobs(16, new int[] {30, 30}, 2, 2, 7);
        TrainingConfig c = small().withEpochs(6).withDropout(0.2).withSchedule(LrSchedule.STEP);
        var whole = HeadTrainer.builder(c).build().train(rows, null);
        Path ckpt = dir.resolve("checkpoint.bin");
        class Kill extends RuntimeException {
        }
        assertThrows(Kill.class, () -> HeadTrainer.builder(c).optCheckpoint(ckpt).optListener(s -> {
            if (s.epoch() == 3) {
                throw new Kill();
            }
        }).build().train(rows, null));
        assertTrue(Files.exists(ckpt));
        var resumed = HeadTrainer.builder(c).optCheckpoint(ckpt).optResume(true).build().train(rows, null);
        assertTrue(resumed.resumed());
        assertArrayEquals(HeadFiles.encodeWeights(whole.weights()), HeadFiles.encodeWeights(resumed.weights()));
        assertEquals(whole.history().size(), resumed.history().size());
        for (int i = 0; i < whole.history().size(); i++) {
            assertEquals(whole.history().get(i).valLoss(), resumed.history().get(i).valLoss());
            assertEquals(whole.history().get(i).trainLoss(), resumed.history().get(i).trainLoss());
        }
        // A checkpoint of another run is refused rather than silently mixed in.
        var e = assertThrows(TrainingException.class, () -> HeadTrainer.builder(c.withSeed(1)).optCheckpoint(ckpt)
                .optResume(true).build().train(rows, null));
        assertEquals(TrainingException.Reason.CHECKPOINT, e.reason());
    }

    @Test
    void refusesEmptyOneClassAndMismatchedInputs() {
        ArrayRows empty = TestRows.zeros(List.of("a", "b"), TestRows.spec(4, TestRows.sha('a')));
        var e1 = assertThrows(TrainingException.class, () -> HeadTrainer.builder(small()).build().train(empty, null));
        assertEquals(TrainingException.Reason.NO_ROWS, e1.reason());
        ArrayRows one = TestRows.zeros(List.of("a", "b"), TestRows.spec(4, TestRows.sha('a')), "a/1.jpg", "a/2.jpg");
        var e2 = assertThrows(TrainingException.class, () -> HeadTrainer.builder(small()).build().train(one, null));
        assertEquals(TrainingException.Reason.ONE_CLASS, e2.reason());
        ArrayRows train = TestRows.blobs(4, new int[] {5, 5}, 1, 1, 8);
        ArrayRows otherClasses = TestRows.zeros(List.of("class0", "other"), TestRows.spec(4, TestRows.sha('a')),
                "x.jpg");
        var e3 = assertThrows(TrainingException.class, () -> HeadTrainer.builder(small()).build()
                .train(train, otherClasses));
        assertEquals(TrainingException.Reason.MISMATCH, e3.reason());
        assertTrue(e3.getMessage().contains("classes"), e3.getMessage());
        ArrayRows otherBackbone = TestRows.zeros(List.of("class0", "class1"), TestRows.spec(4, TestRows.sha('b')),
                "x.jpg");
        var e4 = assertThrows(TrainingException.class, () -> HeadTrainer.builder(small()).build()
                .train(train, otherBackbone));
        assertEquals(TrainingException.Reason.MISMATCH, e4.reason());
        assertTrue(e4.getMessage().contains("backbone"), e4.getMessage());
        // Same backbone file, other preprocessing (caffe instead of torch): features are not comparable.
        ArrayRows otherSpec = TestRows.zeros(List.of("class0", "class1"),
                org.transfer4j.backbone.spec.Preset.CAFFE.spec("input", org.transfer4j.backbone.spec.Layout.NCHW,
                        224, 224).withFeatureDim(4).withModelSha256(TestRows.sha('a')), "x.jpg");
        var e5 = assertThrows(TrainingException.class, () -> HeadTrainer.builder(small()).build()
                .train(train, otherSpec));
        assertEquals(TrainingException.Reason.MISMATCH, e5.reason());
        assertTrue(e5.getMessage().contains("other preprocessing")
                && e5.getMessage().contains("preset: \"caffe\" (validation)")
                && !e5.getMessage().contains("\n"), e5.getMessage());
    }
}
