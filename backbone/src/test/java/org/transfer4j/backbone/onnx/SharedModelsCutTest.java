package org.transfer4j.backbone.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.image.ImageDecoder;
import org.transfer4j.backbone.preprocess.Preprocessor;
import org.transfer4j.testing.SharedData;

/** Cutting real zoo models from ../shared (skipped when it is absent). */
class SharedModelsCutTest {
    @TempDir
    Path dir;

    @Test
    void mobileNetInt8CutMatchesTheReferenceFeaturesModel() throws Exception {
        Path full = SharedData.require("models/mobilenetv2-12-int8/mobilenetv2-12-int8.onnx");
        Path reference = SharedData.require("models/mobilenetv2-12-int8/mobilenetv2-12-int8-features.onnx");
        Path notop = dir.resolve("mobilenet-notop.onnx");

        GraphSurgery.CutResult r = GraphSurgery.cutToNoTop(full, notop, null);

        assertEquals("464_quantized", r.cutTensor());
        assertEquals("QLinearGlobalAveragePool", r.poolOp());
        assertTrue(r.dequantized());
        assertEquals(1280, r.featureDim());
        long[] shape = {2, 3, 224, 224};
        float[] x = OnnxTestModels.randomInput(2, 3 * 224 * 224, 11);
        float[][] expected = OnnxTestModels.run(reference, "input", x, shape, "features").get("features");
        float[][] actual = OnnxTestModels.run(notop, "input", x, shape, "features").get("features");
        double maxDiff = 0;
        for (int i = 0; i < 2; i++) {
            assertEquals(1280, actual[i].length);
            for (int j = 0; j < 1280; j++) {
                maxDiff = Math.max(maxDiff, Math.abs(expected[i][j] - actual[i][j]));
            }
        }
        // Same graph up to the pooled tensor and the same kernels on the same machine: identical in practice.
        assertTrue(maxDiff <= 1e-6, "max abs difference " + maxDiff);
    }

    @Test
    void mobileNetInt8CutMatchesOnRealPhotosPreprocessedWithItsSpec() throws Exception {
        Path full = SharedData.require("models/mobilenetv2-12-int8/mobilenetv2-12-int8.onnx");
        Path reference = SharedData.require("models/mobilenetv2-12-int8/mobilenetv2-12-int8-features.onnx");
        Path ants = SharedData.require("data/hymenoptera/val/ants");
        Path bees = SharedData.require("data/hymenoptera/val/bees");
        Path notop = dir.resolve("mobilenet-notop.onnx");
        GraphSurgery.CutResult r = GraphSurgery.cutToNoTop(full, notop, null);
        Preprocessor pre = new Preprocessor(r.spec());
        ImageDecoder decoder = ImageDecoder.builder().build();
        FloatBuffer batch = FloatBuffer.allocate(2 * r.spec().floatsPerImage());
        pre.write(decoder.decode(firstJpeg(ants)), batch, 0);
        pre.write(decoder.decode(firstJpeg(bees)), batch, 1);
        float[] x = batch.array();

        long[] shape = {2, 3, 224, 224};
        float[][] expected = OnnxTestModels.run(reference, "input", x, shape, "features").get("features");
        float[][] actual = OnnxTestModels.run(notop, "input", x, shape, "features").get("features");

        for (int i = 0; i < 2; i++) {
            assertArrayEquals(expected[i], actual[i], 1e-6f, "image " + i);
        }
    }

    private static Path firstJpeg(Path folder) throws java.io.IOException {
        try (var files = java.nio.file.Files.list(folder)) {
            return files.filter(f -> f.toString().endsWith(".jpg")).sorted().findFirst().orElseThrow();
        }
    }

    @Test
    void lightResNet50CutGives2048Features() throws Exception {
        Path full = SharedData.require("models/light-resnet50/light_resnet50.onnx");
        Path notop = dir.resolve("light-notop.onnx");

        GraphSurgery.CutResult r = GraphSurgery.cutToNoTop(full, notop, null);

        assertEquals("r172", r.cutTensor());
        assertEquals("AveragePool", r.poolOp());
        Inspect info = Inspect.of(notop);
        assertEquals("features", info.outputs().get(0).name());
        assertEquals(java.util.List.of("1", "2048"), info.outputs().get(0).dims());
        assertEquals(0, info.count("Gemm"));
        assertEquals(0, info.count("Softmax"));
    }

    @Test
    void inspectShowsTheResNet50NoTopInputAndOutput() throws Exception {
        Path model = SharedData.require("models/resnet50-random/resnet50-notop.onnx");

        Inspect info = Inspect.of(model);

        String text = info.toText();
        assertTrue(text.contains("input float ["), text);
        assertTrue(text.contains("features float ["), text);
        assertTrue(text.contains("2048]"), text);
        assertEquals(53, info.count("Conv"));
    }
}
