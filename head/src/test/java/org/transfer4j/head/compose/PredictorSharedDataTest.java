package org.transfer4j.head.compose;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.head.HeadWeights;
import org.transfer4j.inference.Prediction;
import org.transfer4j.inference.Predictor;
import org.transfer4j.testing.SharedData;

/**
 * Issue 5 acceptance on real data: the composed model and backbone + head agree within 1e-5 on every hymenoptera
 * validation photo, with the int8 MobileNetV2 features model. The head is seeded random (1280 → 64 → 2): what is
 * tested is that composition changes nothing, which does not depend on the head being trained.
 */
class PredictorSharedDataTest {
    @TempDir
    Path dir;

    private int beeCount;

    /** Max abs probability difference over one batch; counts predicted bees in {@link #beeCount}. */
    private double compare(Predictor one, Predictor two, List<RgbImage> batch) throws Exception {
        List<Prediction> a = one.predictImages(batch);
        List<Prediction> b = two.predictImages(batch);
        double max = 0;
        beeCount = 0;
        for (int i = 0; i < a.size(); i++) {
            for (int c = 0; c < 2; c++) {
                max = Math.max(max, Math.abs(a.get(i).probability(c) - b.get(i).probability(c)));
            }
            beeCount += a.get(i).index();
        }
        return max;
    }

    @Test
    void composedEqualsTwoPartOnHymenopteraVal() throws Exception {
        Path bb = SharedData.require("models/mobilenetv2-12-int8/mobilenetv2-12-int8-features.onnx");
        Path val = SharedData.require("data/hymenoptera/val");
        BackboneSpec spec;
        try (Backbone b = Backbone.load(bb, BackboneOptions.builder().optDevice(Device.CPU).build())) {
            spec = b.spec();
        }
        int d = spec.featureDim();
        int h = 64;
        Random r = new Random(3);
        float[] w1 = new float[d * h];
        float[] w2 = new float[h * 2];
        for (int i = 0; i < w1.length; i++) {
            w1[i] = (float) (r.nextGaussian() * 0.1);
        }
        for (int i = 0; i < w2.length; i++) {
            w2[i] = (float) (r.nextGaussian() * 0.3);
        }
        HeadWeights head = new HeadWeights(List.of("ants", "bees"), d, h, w1, new float[h], w2, new float[2], spec);
        Path composed = Composer.compose(bb, head, Map.of(), dir.resolve("model.onnx")).model();

        Dataset data = Dataset.fromFolder(val);
        double maxDiff = 0;
        int compared = 0;
        int bees = 0;
        try (Predictor one = Predictor.builder(composed).optDevice("cpu").build();
             Predictor two = Predictor.builder(bb, head).optDevice("cpu").build()) {
            List<RgbImage> batch = new ArrayList<>();
            for (LabeledImage li : data.images()) {
                try {
                    batch.add(one.decoder().decode(li.path()));
                } catch (ImageDecodeException e) {
                    continue; // the same file is skipped by both; nothing to compare
                }
                if (batch.size() == 8) {
                    maxDiff = Math.max(maxDiff, compare(one, two, batch));
                    compared += batch.size();
                    bees += beeCount;
                    batch.clear();
                }
            }
            if (!batch.isEmpty()) {
                maxDiff = Math.max(maxDiff, compare(one, two, batch));
                compared += batch.size();
                bees += beeCount;
            }
        }
        System.out.printf("hymenoptera val: %d images, composed vs two-part max abs difference %.3g%n", compared,
                maxDiff);
        assertEquals(data.images().size(), compared, "every val photo should decode");
        assertTrue(maxDiff <= 1e-5, "composed vs two-part max abs difference " + maxDiff);
        assertTrue(bees > 0 && bees < compared, "the random head gives one label for everything: " + bees);
    }
}
