package org.transfer4j.backbone.extract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.testing.TinyModels;

class FeatureExtractorTest {
    private static final BackboneOptions CPU = BackboneOptions.builder().optDevice(Device.CPU).optIntraOpThreads(1)
            .build();

    @TempDir
    Path dir;

    private Path model;

    /** Records what the sink saw, in order. */
    static class Recorder implements FeatureSink {
        final List<ImageTask> order = new ArrayList<>();
        final List<float[]> features = new ArrayList<>();
        final List<ImageDecodeException> errors = new ArrayList<>();
        final List<Thread> threads = new ArrayList<>();

        @Override
        public void accept(ImageTask task, float[] f) throws IOException {
            order.add(task);
            features.add(f);
            errors.add(null);
            threads.add(Thread.currentThread());
        }

        @Override
        public void failed(ImageTask task, ImageDecodeException error) {
            order.add(task);
            features.add(null);
            errors.add(error);
            threads.add(Thread.currentThread());
        }
    }

    @BeforeEach
    void tinyModel() {
        model = TinyModels.builder().size(8, 8).write(dir.resolve("tiny.onnx"));
    }

    /** A solid-colour PNG: every preprocessed pixel is the colour itself, so features are known exactly. */
    private Path solid(String name, int w, int h, Color c) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(c);
        g.fillRect(0, 0, w, h);
        g.dispose();
        Path p = dir.resolve(name);
        ImageIO.write(img, "png", p.toFile());
        return p;
    }

    private static float[] expected(BackboneSpec s, Color c) {
        int[] rgb = {c.getRed(), c.getGreen(), c.getBlue()};
        float[] f = new float[3];
        for (int ch = 0; ch < 3; ch++) {
            float x = rgb[ch] / (float) (1.0 / s.scale());
            f[ch] = TinyModels.WEIGHTS[ch] * ((x - (float) s.mean(ch)) / (float) s.std(ch));
        }
        return f;
    }

    private static Color colour(int i) {
        return new Color((i * 37) % 256, (i * 91 + 20) % 256, (255 - i * 13) % 256);
    }

    /** Both ways of using the cores: one batch at a time (0) and lanes. */
    @ParameterizedTest(name = "lanes {0}")
    @ValueSource(ints = {0, 3})
    void featuresComeInTaskOrderOnTheCallersThreadAcrossBatches(int lanes) throws Exception {
        List<ImageTask> tasks = new ArrayList<>();
        for (int i = 0; i < 11; i++) {
            // Different sizes: the decoders finish out of order.
            tasks.add(ImageTask.plain(i, solid("img" + i + ".png", 20 + 17 * (i % 4), 30 + 9 * i, colour(i))));
        }
        try (Backbone b = Backbone.load(model, CPU);
                FeatureExtractor fx = FeatureExtractor.builder(b).optLanes(lanes).optBatchSize(4).optDecodeThreads(3).build()) {
            Recorder r = new Recorder();
            FeatureExtractor.RunStats stats = fx.run(tasks, r);
            assertEquals(tasks, r.order);
            for (int i = 0; i < 11; i++) {
                assertArrayEquals(expected(b.spec(), colour(i)), r.features.get(i), 1e-4f, "image " + i);
                assertEquals(Thread.currentThread(), r.threads.get(i));
            }
            assertEquals(11, stats.images());
            assertEquals(0, stats.failed());
            assertEquals(3, stats.batches());
        }
    }

    /** Both ways of using the cores: one batch at a time (0) and lanes. */
    @ParameterizedTest(name = "lanes {0}")
    @ValueSource(ints = {0, 3})
    void aBadImageIsReportedInItsPlaceAndTheRunGoesOn(int lanes) throws Exception {
        List<ImageTask> tasks = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            Path p = i == 2 || i == 5 ? Files.writeString(dir.resolve("bad" + i + ".jpg"), "not an image")
                    : solid("ok" + i + ".png", 16, 16, colour(i));
            tasks.add(ImageTask.plain(i, p));
        }
        tasks.add(ImageTask.plain(7, dir.resolve("missing.png")));
        try (Backbone b = Backbone.load(model, CPU);
                FeatureExtractor fx = FeatureExtractor.builder(b).optLanes(lanes).optBatchSize(3).optDecodeThreads(2).build()) {
            Recorder r = new Recorder();
            FeatureExtractor.RunStats stats = fx.run(tasks, r);
            assertEquals(tasks, r.order);
            for (int i = 0; i < 8; i++) {
                if (i == 2 || i == 5 || i == 7) {
                    assertNull(r.features.get(i));
                    assertNotNull(r.errors.get(i));
                    assertTrue(r.errors.get(i).getMessage().contains(tasks.get(i).path().getFileName().toString()));
                } else {
                    assertArrayEquals(expected(b.spec(), colour(i)), r.features.get(i), 1e-4f, "image " + i);
                }
            }
            assertEquals(5, stats.images());
            assertEquals(3, stats.failed());
        }
    }

    /** Both ways of using the cores: one batch at a time (0) and lanes. */
    @ParameterizedTest(name = "lanes {0}")
    @ValueSource(ints = {0, 3})
    void batchOfOnlyBadImagesSkipsInference(int lanes) throws Exception {
        List<ImageTask> tasks = List.of(
                ImageTask.plain(0, Files.writeString(dir.resolve("a.png"), "x")),
                ImageTask.plain(1, Files.writeString(dir.resolve("b.png"), "y")),
                ImageTask.plain(2, solid("c.png", 9, 9, Color.RED)));
        try (Backbone b = Backbone.load(model, CPU);
                FeatureExtractor fx = FeatureExtractor.builder(b).optLanes(lanes).optBatchSize(2).optDecodeThreads(1).build()) {
            Recorder r = new Recorder();
            fx.run(tasks, r);
            assertEquals(tasks, r.order);
            assertArrayEquals(expected(b.spec(), Color.RED), r.features.get(2), 1e-4f);
        }
    }

    /** Both ways of using the cores: one batch at a time (0) and lanes. */
    @ParameterizedTest(name = "lanes {0}")
    @ValueSource(ints = {0, 3})
    void augmentedViewsOfASolidImageKeepItsFeatures(int lanes) throws Exception {
        Path p = solid("s.png", 64, 48, Color.ORANGE);
        List<ImageTask> tasks = List.of(ImageTask.plain(0, p), new ImageTask(0, p, 1, 11L),
                new ImageTask(0, p, 2, 12L));
        try (Backbone b = Backbone.load(model, CPU);
                FeatureExtractor fx = FeatureExtractor.builder(b).optLanes(lanes).build()) {
            Recorder r = new Recorder();
            fx.run(tasks, r);
            for (float[] f : r.features) {
                assertArrayEquals(expected(b.spec(), Color.ORANGE), f, 1e-4f);
            }
        }
    }

    @Test
    void fixedBatchOneModelWithBatchEight() throws Exception {
        Path one = TinyModels.builder().fixedBatch(1).write(dir.resolve("b1.onnx"));
        List<ImageTask> tasks = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            tasks.add(ImageTask.plain(i, solid("f" + i + ".png", 12, 12, colour(i))));
        }
        try (Backbone b = Backbone.load(one, CPU);
                FeatureExtractor fx = FeatureExtractor.builder(b).optBatchSize(8).build()) {
            Recorder r = new Recorder();
            fx.run(tasks, r);
            for (int i = 0; i < 10; i++) {
                assertArrayEquals(expected(b.spec(), colour(i)), r.features.get(i), 1e-4f);
            }
        }
    }

    /** Both ways of using the cores: one batch at a time (0) and lanes. */
    @ParameterizedTest(name = "lanes {0}")
    @ValueSource(ints = {0, 3})
    void aFailingSinkStopsTheRunAndTheExtractorCanRunAgain(int lanes) throws Exception {
        List<ImageTask> tasks = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            tasks.add(ImageTask.plain(i, solid("g" + i + ".png", 10, 10, colour(i))));
        }
        try (Backbone b = Backbone.load(model, CPU);
                FeatureExtractor fx = FeatureExtractor.builder(b).optLanes(lanes).optBatchSize(2).optDecodeThreads(2).build()) {
            FeatureSink failing = new Recorder() {
                @Override
                public void accept(ImageTask task, float[] f) throws IOException {
                    if (task.id() == 3) {
                        throw new IOException("disk full");
                    }
                    super.accept(task, f);
                }
            };
            IOException e = assertThrows(IOException.class, () -> fx.run(tasks, failing));
            assertEquals("disk full", e.getMessage());
            Recorder r = new Recorder();
            fx.run(tasks, r);
            assertEquals(tasks, r.order);
            assertArrayEquals(expected(b.spec(), colour(8)), r.features.get(8), 1e-4f);
        }
    }

    /** Both ways of using the cores: one batch at a time (0) and lanes. */
    @ParameterizedTest(name = "lanes {0}")
    @ValueSource(ints = {0, 3})
    void emptyTaskListIsFine(int lanes) throws Exception {
        try (Backbone b = Backbone.load(model, CPU);
                FeatureExtractor fx = FeatureExtractor.builder(b).optLanes(lanes).build()) {
            FeatureExtractor.RunStats s = fx.run(List.of(), new Recorder());
            assertEquals(0, s.images());
            assertEquals(0, s.batches());
        }
    }

    /** Both ways of using the cores: one batch at a time (0) and lanes. */
    @ParameterizedTest(name = "lanes {0}")
    @ValueSource(ints = {0, 3})
    void decoderWarningsReachTheSinkWithTheFeatures(int lanes) throws Exception {
        // Noise, so the scan data (not the tables) is most of the file and cutting it keeps the headers.
        BufferedImage img = new BufferedImage(256, 256, BufferedImage.TYPE_INT_RGB);
        java.util.Random rnd = new java.util.Random(5);
        for (int y = 0; y < 256; y++) {
            for (int x = 0; x < 256; x++) {
                img.setRGB(x, y, rnd.nextInt(0x1000000));
            }
        }
        java.io.ByteArrayOutputStream jpeg = new java.io.ByteArrayOutputStream();
        ImageIO.write(img, "jpeg", jpeg);
        byte[] bytes = jpeg.toByteArray();
        Path cut = Files.write(dir.resolve("cut.jpg"), java.util.Arrays.copyOf(bytes, bytes.length * 2 / 3));
        Path whole = solid("whole.png", 10, 10, Color.GREEN);
        List<List<String>> seen = new ArrayList<>();
        FeatureSink sink = new Recorder() {
            @Override
            public void accept(ImageTask task, float[] f, List<String> warnings) throws IOException {
                seen.add(warnings);
                super.accept(task, f);
            }
        };
        try (Backbone b = Backbone.load(model, CPU);
                FeatureExtractor fx = FeatureExtractor.builder(b).optLanes(lanes).build()) {
            fx.run(List.of(ImageTask.plain(0, cut), ImageTask.plain(1, whole)), sink);
        }
        Recorder r = (Recorder) sink;
        assertEquals(2, r.order.size());
        // Decoded despite the missing tail (as PIL does with LOAD_TRUNCATED_IMAGES): the warning travels with the
        // row; the whole image has none, so it goes through the two-argument accept.
        assertNotNull(r.features.get(0), () -> String.valueOf(r.errors.get(0)));
        assertEquals(1, seen.size());
        assertTrue(seen.get(0).stream().anyMatch(w -> w.startsWith("truncated")), seen.toString());
        assertNotNull(r.features.get(1));
    }

    /** Both ways of using the cores: one batch at a time (0) and lanes. */
    @ParameterizedTest(name = "lanes {0}")
    @ValueSource(ints = {0, 3})
    void runAfterCloseIsRefused(int lanes) throws Exception {
        try (Backbone b = Backbone.load(model, CPU)) {
            FeatureExtractor fx = FeatureExtractor.builder(b).optLanes(lanes).build();
            fx.close();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> fx.run(List.of(ImageTask.plain(0, solid("z.png", 9, 9, Color.BLUE))), new Recorder()));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }

    @Test
    void optionsAreValidated() throws Exception {
        try (Backbone b = Backbone.load(model, CPU)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> FeatureExtractor.builder(b).optBatchSize(0).build());
            assertTrue(e.getMessage().contains("batchSize") && e.getMessage().contains("1..1024"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> FeatureExtractor.builder(b).optDecodeThreads(0).build());
            assertTrue(e.getMessage().contains("decodeThreads"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> FeatureExtractor.builder(b).optLanes(-1).build());
            assertTrue(e.getMessage().contains("lanes") && e.getMessage().contains("0..256"), e.getMessage());
        }
    }

    @Test
    void lanesRunBatchesAtOnceAndStillEmitInOrder() throws Exception {
        List<ImageTask> tasks = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            // The first batch is the slowest to decode, so later batches finish first and must wait their turn.
            int side = i < 3 ? 900 : 12;
            tasks.add(ImageTask.plain(i, solid("l" + i + ".png", side, side, colour(i % 16))));
        }
        try (Backbone b = Backbone.load(model, CPU);
                FeatureExtractor fx = FeatureExtractor.builder(b).optBatchSize(3).optLanes(4).build()) {
            java.util.Set<String> laneThreads = java.util.concurrent.ConcurrentHashMap.newKeySet();
            Recorder r = new Recorder() {
                @Override
                public void accept(ImageTask task, float[] f) throws IOException {
                    Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                            .filter(n -> n.startsWith("t4j-lane-")).forEach(laneThreads::add);
                    super.accept(task, f);
                }
            };
            FeatureExtractor.RunStats stats = fx.run(tasks, r);
            assertEquals(tasks, r.order);
            for (int i = 0; i < tasks.size(); i++) {
                assertArrayEquals(expected(b.spec(), colour(i % 16)), r.features.get(i), 1e-4f, "image " + i);
                assertEquals(Thread.currentThread(), r.threads.get(i));
            }
            assertEquals(8, stats.batches());
            assertEquals(4, laneThreads.size(), laneThreads.toString());
            assertEquals(4, fx.lanes());
        }
    }

    @Test
    void lanesSplitTheLastRoundEvenlyWhenTheTaskCountIsKnown() throws Exception {
        List<ImageTask> tasks = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            tasks.add(ImageTask.plain(i, solid("r" + i + ".png", 12, 12, colour(i))));
        }
        try (Backbone b = Backbone.load(model, CPU);
                FeatureExtractor fx = FeatureExtractor.builder(b).optBatchSize(4).optLanes(4).build()) {
            // 10 tasks, batches of 4, 4 lanes: fewer than a full round, so shares of 3 (3+3+3+1), not 4+4+2 with two
            // lanes idle while the others run whole batches.
            Recorder r = new Recorder();
            assertEquals(4, fx.run(tasks, r).batches());
            assertEquals(tasks, r.order);
            for (int i = 0; i < tasks.size(); i++) {
                assertArrayEquals(expected(b.spec(), colour(i)), r.features.get(i), 1e-4f, "image " + i);
            }
            // An Iterable of unknown size keeps full batches: 4 + 4 + 2.
            Recorder unknown = new Recorder();
            assertEquals(3, fx.run(tasks::iterator, unknown).batches());
            assertEquals(tasks, unknown.order);
        }
    }

    @Test
    void lanesForOneThreadSessionsAreTheCores() throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        try (Backbone one = Backbone.load(model, CPU);
                Backbone all = Backbone.load(model, BackboneOptions.builder().optDevice(Device.CPU)
                        .optIntraOpThreads(cores).build())) {
            assertEquals(cores >= 2 ? cores : 0, FeatureExtractor.lanesFor(one));
            assertEquals(0, FeatureExtractor.lanesFor(all));
        }
    }
}
