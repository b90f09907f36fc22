package org.transfer4j.backbone.quantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.testing.SharedData;

/** The torchvision ResNet50 of ../shared quantized on real photos (skipped with a reason when absent). */
@Tag("long")
class SharedModelsQuantizeTest {
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
        List<Path> ims = Dataset.fromFolder(val).images().subList(0, 16).stream().map(LabeledImage::path).toList();
        FeatureAgreement agreement = FeatureAgreement.measure(model, out, ims, 2);
        assertEquals(16, agreement.images());
        assertTrue(agreement.min() > 0.98, agreement.toText());
        assertTrue(agreement.mean() >= 0.99, agreement.toText());
    }
}
