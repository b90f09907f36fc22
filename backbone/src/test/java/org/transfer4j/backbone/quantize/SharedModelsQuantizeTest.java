package org.transfer4j.backbone.quantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.image.ImageDecoder;
import org.transfer4j.backbone.preprocess.Preprocessor;
import org.transfer4j.testing.SharedData;

/** The torchvision ResNet50 of ../shared quantized on real photos (skipped with a reason when absent). */
@Tag("long")
class SharedModelsQuantizeTest {
    private static final BackboneOptions CPU = BackboneOptions.builder().optDevice(Device.CPU).build();

    @TempDir
    Path dir;

    @Test
    void resnet50QuantizedOnTwentyHymenopteraPhotosKeepsItsFeatures() throws Exception {
        Path model = SharedData.require("models/resnet50-random/resnet50-notop.onnx");
        Path train = SharedData.require("data/hymenoptera/train");
        Path val = SharedData.require("data/hymenoptera/val");
        Path out = dir.resolve("resnet50-int8.onnx");

        QuantizationResult r = Quantizer.builder(model).setCalibration(Dataset.fromFolder(train)).optCount(20)
                .optSeed(1).build().quantizeTo(out);

        assertEquals(53, r.convs());
        assertEquals(53, r.fusedConvs(), r.runtimeOps().toString());
        assertEquals(16, r.quantizedNodes().get("Add"));
        assertEquals(20, r.calibration().images());
        List<LabeledImage> ims = Dataset.fromFolder(val).images().subList(0, 16);
        try (Backbone f = Backbone.load(model, CPU); Backbone q = Backbone.load(out, CPU)) {
            Preprocessor pre = new Preprocessor(f.spec());
            ImageDecoder dec = ImageDecoder.builder().build();
            FloatBuffer buf = f.newBatchBuffer(ims.size());
            for (int i = 0; i < ims.size(); i++) {
                pre.write(dec.decode(ims.get(i).path()), buf, i);
            }
            float[][] a = f.features(buf, ims.size());
            float[][] b = q.features(buf, ims.size());
            double mean = 0;
            for (int i = 0; i < ims.size(); i++) {
                double cos = QuantizerTest.cosine(a[i], b[i]);
                assertTrue(cos > 0.98, ims.get(i).relativePath() + ": cosine " + cos);
                mean += cos / ims.size();
            }
            assertTrue(mean >= 0.99, "mean cosine " + mean);
        }
    }
}
