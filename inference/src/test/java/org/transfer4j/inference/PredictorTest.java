package org.transfer4j.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.head.HeadInfo;
import org.transfer4j.head.Provenance;
import org.transfer4j.head.TrainingConfig;

class PredictorTest {
    @TempDir
    static Path dir;
    static PredictorTestModels.Tiny tiny;
    static List<Path> images;

    @BeforeAll
    static void models() throws IOException {
        tiny = PredictorTestModels.small(dir.resolve("model"));
        images = writeImages(dir.resolve("images"), 24, 11);
    }

    /** Random-noise PNGs of assorted sizes (so resizing and cropping run), seeded. */
    static List<Path> writeImages(Path folder, int count, long seed) throws IOException {
        Files.createDirectories(folder);
        Random r = new Random(seed);
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            BufferedImage img = noise(r, 12 + r.nextInt(40), 12 + r.nextInt(40));
            Path p = folder.resolve(String.format("img_%02d.png", i));
            ImageIO.write(img, "png", p.toFile());
            out.add(p);
        }
        return out;
    }

    static BufferedImage noise(Random r, int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        // A per-image tint makes the classes differ between images, not only the noise.
        int tint = r.nextInt(0xFFFFFF);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (r.nextInt(0xFFFFFF) & 0x3F3F3F) | (tint & 0xC0C0C0));
            }
        }
        return img;
    }

    @Test
    void composedAndTwoPartAgreeOnImages() throws Exception {
        try (Predictor composed = Predictor.builder(tiny.composed()).optTopK(2).build();
             Predictor twoPart = Predictor.builder(tiny.backbone(), tiny.head()).optTopK(2).build()) {
            assertEquals(tiny.classes(), composed.classes());
            assertEquals(tiny.classes(), twoPart.classes());
            double maxDiff = 0;
            Set<String> labels = new HashSet<>();
            for (Path p : images) {
                Prediction a = composed.predict(p);
                Prediction b = twoPart.predict(p);
                for (int c = 0; c < a.numClasses(); c++) {
                    maxDiff = Math.max(maxDiff, Math.abs(a.probability(c) - b.probability(c)));
                }
                labels.add(a.label());
                assertEquals(2, a.top().size());
            }
            assertTrue(maxDiff <= 1e-5, "composed vs two-part max abs difference " + maxDiff);
            assertTrue(labels.size() >= 2, "the tiny model gives one label for every image: " + labels);
        }
    }

    @Test
    void headFolderIsReadAndAnotherBackbonesHeadIsRefused() throws Exception {
        Path headDir = dir.resolve("head");
        HeadFiles.write(headDir, tiny.head(), new HeadInfo(TrainingConfig.defaults(), 1, 1, null));
        try (Predictor p = Predictor.load(tiny.backbone(), headDir);
             Predictor q = Predictor.load(tiny.composed())) {
            assertEquals(q.predict(images.get(0)).label(), p.predict(images.get(0)).label());
        }
        PredictorTestModels.Tiny other = PredictorTestModels.write(dir.resolve("other"), 7, 16, 8, 6, 3, false);
        ModelException e = assertThrows(ModelException.class, () -> Predictor.load(other.backbone(), headDir));
        assertEquals(ModelException.Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains(tiny.spec().modelSha256())
                && e.getMessage().contains(other.spec().modelSha256()), e.getMessage());
    }

    @Test
    void infoSaysWhatWasLoaded() throws Exception {
        Path headDir = dir.resolve("head-info");
        Provenance provenance = new Provenance("cache/train", "abc123", null, null, Map.of("transfer4j", "0.1.0"),
                "2026-12-02T07:00:00Z");
        TrainingConfig training = TrainingConfig.defaults().withHidden(6);
        HeadFiles.write(headDir, tiny.head(), new HeadInfo(training, 4, 3, provenance));
        try (Predictor twoPart = Predictor.load(tiny.backbone(), headDir);
             Predictor composed = Predictor.load(tiny.composed())) {
            ModelInfo t = twoPart.info();
            assertEquals(ModelInfo.Form.TWO_PART, t.form());
            assertEquals(tiny.classes(), t.classes());
            assertEquals(tiny.spec(), t.spec());
            assertEquals(8, t.featureDim());
            assertEquals(6, t.hidden());
            assertEquals(training, t.training());
            assertEquals(provenance, t.provenance());
            assertEquals(3, t.head().bestEpoch());
            assertTrue(t.source().contains(headDir.toString()), t.source());

            ModelInfo c = composed.info();
            assertEquals(ModelInfo.Form.COMPOSED, c.form());
            assertEquals(tiny.classes(), c.classes());
            assertEquals(tiny.spec(), c.spec(), "the spec as recorded, not the session's probabilities view");
            assertEquals(8, c.featureDim());
            assertEquals(-1, c.hidden(), "this composed model records no head description");
            assertEquals(null, c.head());
            assertEquals(Set.of(OnnxMetadata.SPEC, OnnxMetadata.CLASSES), c.metadata().keySet());
        }
    }

    @Test
    void everyInputFormGivesTheSameAnswer() throws Exception {
        try (Predictor p = Predictor.load(tiny.composed())) {
            Path file = images.get(3);
            byte[] bytes = Files.readAllBytes(file);
            Prediction fromPath = p.predict(file);
            assertEquals(fromPath, p.predict(bytes));
            assertEquals(fromPath, p.predict(new ByteArrayInputStream(bytes)));
            assertEquals(fromPath, p.predict(ImageIO.read(file.toFile())));
            assertEquals(fromPath, p.predict(p.decoder().decode(file)));
        }
    }

    @Test
    void predictAllBatchesLikeSinglePredictions() throws Exception {
        try (Predictor p = Predictor.builder(tiny.composed()).optBatchSize(5).build()) {
            List<Prediction> all = p.predictAll(images);
            assertEquals(images.size(), all.size());
            for (int i = 0; i < images.size(); i++) {
                Prediction one = p.predict(images.get(i));
                assertEquals(one.label(), all.get(i).label(), images.get(i).toString());
                assertArrayEquals(one.probabilities(), all.get(i).probabilities(), 1e-6f);
            }
        }
    }

    @Test
    void fixedBatchOneModelsRunOneImageAtATime() throws Exception {
        PredictorTestModels.Tiny fixed = PredictorTestModels.write(dir.resolve("fixed"), 42, 16, 8, 6, 3, true);
        try (Predictor p = Predictor.builder(fixed.composed()).optBatchSize(8).build();
             Predictor dynamic = Predictor.load(tiny.composed())) {
            assertEquals(1, p.batchSize());
            List<Prediction> all = p.predictAll(images.subList(0, 4));
            for (int i = 0; i < 4; i++) {
                assertArrayEquals(dynamic.predict(images.get(i)).probabilities(), all.get(i).probabilities(), 1e-6f);
            }
        }
    }

    @Test
    void aBadImageFailsAloneAndThePredictorGoesOn() throws Exception {
        Path bad = dir.resolve("bad.jpg");
        Files.write(bad, new byte[] {(byte) 0xFF, (byte) 0xD8, 1, 2, 3});
        try (Predictor p = Predictor.load(tiny.composed())) {
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> p.predict(bad));
            assertTrue(e.getMessage().contains("bad.jpg"), e.getMessage());
            assertThrows(ImageDecodeException.class, () -> p.predictAll(List.of(images.get(0), bad)));
            assertEquals(tiny.classes().size(), p.predict(images.get(0)).numClasses());
        }
    }

    @Test
    void closedPredictorRefusesWorkAndCloseIsIdempotent() throws Exception {
        Predictor p = Predictor.load(tiny.composed());
        p.close();
        p.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.predict(images.get(0)));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void optionsAreValidatedWithNamedFields() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Predictor.builder(tiny.composed()).optTopK(0).build());
        assertTrue(e.getMessage().contains("'topK'") && e.getMessage().contains("1..10000"), e.getMessage());
        var d = assertThrows(IllegalArgumentException.class, () -> Predictor.builder(tiny.composed())
                .optDevice("tpu"));
        assertTrue(d.getMessage().contains("tpu"), d.getMessage());
        assertThrows(ModelException.class, () -> Predictor.load(dir.resolve("missing.onnx")));
    }

    /** Issue 5/6 acceptance: 8 threads × 500 predictions equal the sequential results, exactly. */
    @Test
    void eightThreadsTimesFiveHundredEqualSequential() throws Exception {
        try (Predictor p = Predictor.builder(tiny.composed()).optThreads(2).build()) {
            List<Prediction> sequential = new ArrayList<>();
            for (Path img : images) {
                sequential.add(p.predict(img));
            }
            // Decode once so the test spends its time in the predictor, not in PNG decoding.
            List<org.transfer4j.backbone.image.RgbImage> decoded = new ArrayList<>();
            for (Path img : images) {
                decoded.add(p.decoder().decode(img));
            }
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<Integer>> futures = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    long seed = t;
                    futures.add(pool.submit((Callable<Integer>) () -> {
                        Random r = new Random(seed);
                        int checked = 0;
                        for (int i = 0; i < 500; i++) {
                            int k = r.nextInt(images.size());
                            Prediction got = i % 50 == 0 ? p.predict(images.get(k)) : p.predict(decoded.get(k));
                            if (!sequential.get(k).equals(got)) {
                                throw new AssertionError("thread " + seed + " prediction " + i + " of image " + k
                                        + " differs: " + got + " vs " + sequential.get(k));
                            }
                            checked++;
                        }
                        return checked;
                    }));
                }
                int total = 0;
                for (Future<Integer> f : futures) {
                    total += f.get();
                }
                assertEquals(4000, total);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void differentImagesGiveDifferentProbabilities() throws Exception {
        try (Predictor p = Predictor.load(tiny.composed())) {
            assertNotEquals(p.predict(images.get(0)), p.predict(images.get(1)));
        }
    }
}
