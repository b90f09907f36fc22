package org.transfer4j.head.compose;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.onnx.GraphSurgery;
import org.transfer4j.backbone.quantize.OrtOptimizer;
import org.transfer4j.backbone.quantize.QuantizeTestModels;
import org.transfer4j.backbone.quantize.Quantizer;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.head.HeadWeights;
import org.transfer4j.inference.Prediction;
import org.transfer4j.inference.Predictor;

/** An int8 backbone is an ordinary backbone for the Composer and the Predictor. */
class QuantizedBackboneTest {
    private static final List<String> CLASSES = List.of("a", "b", "c");

    @TempDir
    Path dir;

    @Test
    void composedInt8ModelPredictsLikeItsTwoPartsAndCloseToTheFloatModel() throws Exception {
        Path floatModel = QuantizeTestModels.write(QuantizeTestModels.Kind.RESIDUAL, 21, dir.resolve("f.onnx"));
        Path images = QuantizeTestModels.images(dir.resolve("images"), 5, 22);
        Path int8 = dir.resolve("int8.onnx");
        Quantizer.builder(floatModel).setCalibration(Dataset.fromFolder(images)).build().quantizeTo(int8);

        HeadWeights int8Head = head(SpecJson.read(GraphSurgery.sidecarOf(int8)));
        HeadWeights floatHead = head(SpecJson.read(GraphSurgery.sidecarOf(floatModel)).withOutputName("features")
                .withFeatureDim(5).withModelSha256(org.transfer4j.backbone.io.Hashes.sha256(floatModel)));
        Path composed = Composer.compose(int8, int8Head, Map.of(), dir.resolve("int8-model.onnx")).model();
        Path composedFloat = Composer.compose(floatModel, floatHead, Map.of(), dir.resolve("f-model.onnx")).model();
        // The head is spliced on without undoing the QDQ shape: ORT still runs every convolution as an integer one.
        assertEquals(3, OrtOptimizer.runtimeOpCounts(composed).getOrDefault("QLinearConv", 0));

        List<Path> files = Dataset.fromFolder(images).images().stream().map(LabeledImage::path).toList();
        try (Predictor one = Predictor.builder(composed).build();
             Predictor two = Predictor.builder(int8, int8Head).build();
             Predictor fp32 = Predictor.builder(composedFloat).build()) {
            List<Prediction> a = one.predictAll(files);
            List<Prediction> b = two.predictAll(files);
            List<Prediction> f = fp32.predictAll(files);
            for (int i = 0; i < files.size(); i++) {
                assertTrue(CLASSES.contains(a.get(i).label()));
                assertArrayEquals(b.get(i).probabilities(), a.get(i).probabilities(), 1e-5f, files.get(i).toString());
                for (int k = 0; k < CLASSES.size(); k++) {
                    assertEquals(f.get(i).probabilities()[k], a.get(i).probabilities()[k], 0.05,
                            files.get(i) + " class " + CLASSES.get(k));
                }
            }
        }
    }

    private static HeadWeights head(BackboneSpec spec) {
        Random r = new Random(5);
        int d = 5;
        int hidden = 4;
        return new HeadWeights(CLASSES, d, hidden, gauss(r, d * hidden), gauss(r, hidden),
                gauss(r, hidden * CLASSES.size()), gauss(r, CLASSES.size()), spec);
    }

    private static float[] gauss(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }
}
