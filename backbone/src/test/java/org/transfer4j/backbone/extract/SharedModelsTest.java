package org.transfer4j.backbone.extract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.ImageDecoder;
import org.transfer4j.backbone.preprocess.Preprocessor;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.testing.SharedData;

/** Real models from ../shared (skipped with a reason when absent). */
class SharedModelsTest {
    private static final BackboneOptions CPU = BackboneOptions.builder().optDevice(Device.CPU).build();

    @TempDir
    Path dir;

    static FloatBuffer readF32(Path file) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }

    @Test
    void resnet50MatchesPyTorchWithin1e4() throws Exception {
        Path model = SharedData.require("models/resnet50-random/resnet50-notop.onnx");
        FloatBuffer input = readF32(SharedData.require("models/resnet50-random/test_input_2x3x224x224.f32le.bin"));
        FloatBuffer expected = readF32(SharedData.require("models/resnet50-random/test_features_2x2048.f32le.bin"));
        try (Backbone b = Backbone.load(model, CPU)) {
            assertEquals(2048, b.featureDim());
            assertEquals("features", b.spec().outputName());
            assertEquals(Layout.NCHW, b.spec().layout());
            assertEquals(224, b.spec().height());
            FloatBuffer batch = b.newBatchBuffer(2);
            batch.put(input).flip();
            float[][] f = b.features(batch, 2);
            double worst = 0;
            for (int i = 0; i < 2; i++) {
                assertEquals(2048, f[i].length);
                for (int d = 0; d < 2048; d++) {
                    worst = Math.max(worst, Math.abs(f[i][d] - expected.get(i * 2048 + d)));
                }
            }
            assertTrue(worst <= 1e-4, "max abs difference to PyTorch " + worst);
        }
    }

    @Test
    void lightResnet50WithFixedBatchOneTakesABatchOfEight() throws Exception {
        Path model = SharedData.require("models/light-resnet50/light_resnet50-features.onnx");
        // Two rank-2 outputs (softmax and pooled_features): the spec names the features.
        Path spec = Files.writeString(dir.resolve("light.json"),
                "{\"preset\":\"caffe\",\"outputName\":\"pooled_features\"}");
        try (Backbone b = Backbone.load(model, BackboneOptions.builder().optDevice(Device.CPU).optSpecFile(spec)
                .build())) {
            assertEquals(1, b.maxBatch());
            assertEquals(2048, b.featureDim());
            assertEquals("gpu_0/data_0", b.spec().inputName());
            FloatBuffer batch = b.newBatchBuffer(8);
            Random r = new Random(3);
            for (int i = 0; i < batch.capacity(); i++) {
                batch.put(i, r.nextFloat());
            }
            float[][] f = b.features(batch, 8);
            assertEquals(8, f.length);
            for (float[] row : f) {
                assertEquals(2048, row.length);
            }
            // Each image ran on its own: image 3 alone gives the same row.
            FloatBuffer one = b.newBatchBuffer(1);
            one.put(batch.duplicate().position(3 * b.spec().floatsPerImage())
                    .limit(4 * b.spec().floatsPerImage())).flip();
            float[] alone = b.features(one, 1)[0];
            for (int d = 0; d < 2048; d++) {
                assertEquals(alone[d], f[3][d], Math.abs(alone[d]) * 1e-5f);
            }
        }
    }

    @Test
    void mobileNetV2FeaturesForHymenopteraThroughTheExtractor() throws Exception {
        Path model = SharedData.require("models/mobilenetv2-12-int8/mobilenetv2-12-int8-features.onnx");
        Path ants = SharedData.require("data/hymenoptera/val/ants");
        Path bees = SharedData.require("data/hymenoptera/val/bees");
        List<ImageTask> tasks = new ArrayList<>();
        for (Path folder : List.of(ants, bees)) {
            try (Stream<Path> files = Files.list(folder)) {
                files.filter(p -> p.toString().endsWith(".jpg")).sorted().limit(5)
                        .forEach(p -> tasks.add(ImageTask.plain(tasks.size(), p)));
            }
        }
        Map<Long, float[]> got = new HashMap<>();
        try (Backbone b = Backbone.load(model, CPU);
                FeatureExtractor fx = FeatureExtractor.builder(b).optBatchSize(4).optDecodeThreads(2).build()) {
            assertEquals("features", b.spec().outputName());
            assertEquals(1280, b.featureDim());
            FeatureExtractor.RunStats stats = fx.run(tasks, new FeatureSink() {
                @Override
                public void accept(ImageTask task, float[] features) {
                    got.put(task.id(), features);
                }

                @Override
                public void failed(ImageTask task, ImageDecodeException error) {
                    throw new AssertionError(task + ": " + error.getMessage());
                }
            });
            assertEquals(10, stats.images());
            // Same pixels one by one, without the pipeline: the extractor kept every row with its task.
            Preprocessor pre = new Preprocessor(b.spec());
            ImageDecoder dec = ImageDecoder.builder().build();
            FloatBuffer one = b.newBatchBuffer(1);
            for (ImageTask t : tasks) {
                float[] f = got.get(t.id());
                assertEquals(1280, f.length);
                pre.write(dec.decode(t.path()), one, 0);
                float[] alone = b.features(one, 1)[0];
                // int8 kernels may round differently at batch 1 vs 4; the quantisation step is 0.0191.
                for (int d = 0; d < 1280; d++) {
                    assertEquals(alone[d], f[d], 0.05f, t.path() + " dim " + d);
                }
                assertTrue(java.util.stream.IntStream.range(0, 1280).anyMatch(d -> f[d] > 0), "all-zero features");
            }
        }
    }

    @Test
    void lightResnet50ThroughTheExtractorWithBatchEight() throws Exception {
        Path model = SharedData.require("models/light-resnet50/light_resnet50-features.onnx");
        Path ants = SharedData.require("data/hymenoptera/val/ants");
        Path spec = Files.writeString(dir.resolve("light.json"),
                "{\"preset\":\"caffe\",\"outputName\":\"pooled_features\"}");
        List<ImageTask> tasks = new ArrayList<>();
        try (Stream<Path> files = Files.list(ants)) {
            files.sorted().limit(9).forEach(p -> tasks.add(ImageTask.plain(tasks.size(), p)));
        }
        List<float[]> rows = new ArrayList<>();
        try (Backbone b = Backbone.load(model, BackboneOptions.builder().optDevice(Device.CPU).optSpecFile(spec)
                .build()); FeatureExtractor fx = FeatureExtractor.builder(b).optBatchSize(8).build()) {
            assertEquals(1, b.maxBatch());
            fx.run(tasks, new FeatureSink() {
                @Override
                public void accept(ImageTask task, float[] features) {
                    rows.add(features);
                }

                @Override
                public void failed(ImageTask task, ImageDecodeException error) {
                    throw new AssertionError(task + ": " + error.getMessage());
                }
            });
        }
        assertEquals(9, rows.size());
        rows.forEach(r -> assertEquals(2048, r.length));
    }

    @Test
    void lightResnet50WithoutASpecSaysWhichOutputsItHas() throws Exception {
        Path model = SharedData.require("models/light-resnet50/light_resnet50-features.onnx");
        var e = org.junit.jupiter.api.Assertions.assertThrows(org.transfer4j.ModelException.class,
                () -> Backbone.load(model, CPU));
        assertTrue(e.getMessage().contains("pooled_features: FLOAT[1,2048]")
                && e.getMessage().contains("gpu_0/softmax_1"), e.getMessage());
    }
}
