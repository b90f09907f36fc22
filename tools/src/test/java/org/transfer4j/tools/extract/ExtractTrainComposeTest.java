package org.transfer4j.tools.extract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.cache.CacheReader;
import org.transfer4j.inference.Prediction;
import org.transfer4j.inference.Predictor;
import org.transfer4j.testing.TinyModels;
import org.transfer4j.tools.Cli;
import org.transfer4j.tools.TrainHeadCommand;

/** extract records its backbone file; train-head composes HEAD/model.onnx from it when it is still there. */
class ExtractTrainComposeTest {
    @TempDir
    Path tmp;

    @Test
    void trainHeadWritesAComposedModelWhenTheBackboneIsPresent() throws Exception {
        Path model = TinyModels.builder().size(16, 16).write(tmp.resolve("tiny.onnx"));
        Path images = TestImages.folder(tmp.resolve("images"), 6, "cats", "dogs");
        Path cache = tmp.resolve("cache");
        assertEquals(0, ExtractCommandTest.extract(model, images, cache).code());
        try (CacheReader r = CacheReader.open(cache)) {
            assertEquals(model.toAbsolutePath().normalize().toString(), r.header().provenance().backboneFile());
        }

        Path head = tmp.resolve("head");
        assertEquals(0, Cli.run(new TrainHeadCommand(), new String[] {"--train", cache.toString(), "--out",
                head.toString(), "--epochs", "3", "--val-split", "0.34", "--hidden", "8"}));
        Path composed = head.resolve("model.onnx");
        assertTrue(Files.isRegularFile(composed), "train-head should write " + composed);
        try (Predictor p = Predictor.load(composed)) {
            Path cat;
            try (var files = Files.list(images.resolve("cats"))) {
                cat = files.filter(f -> !f.getFileName().toString().startsWith("broken")).sorted().findFirst()
                        .orElseThrow();
            }
            Prediction pr = p.predict(cat);
            assertTrue(p.classes().contains(pr.label()));
        }

        // Backbone replaced by another model: training succeeds, no model.onnx (the head would not fit it).
        TinyModels.builder().size(16, 16).fixedBatch(1).write(model);
        Path head1 = tmp.resolve("head1");
        assertEquals(0, Cli.run(new TrainHeadCommand(), new String[] {"--train", cache.toString(), "--out",
                head1.toString(), "--epochs", "2", "--val-split", "0.34", "--hidden", "8"}));
        assertTrue(Files.isRegularFile(head1.resolve("head.bin")));
        assertFalse(Files.exists(head1.resolve("model.onnx")));

        // Backbone gone: training still succeeds, no model.onnx, and the output says how to compose later.
        Files.delete(model);
        Path head2 = tmp.resolve("head2");
        assertEquals(0, Cli.run(new TrainHeadCommand(), new String[] {"--train", cache.toString(), "--out",
                head2.toString(), "--epochs", "2", "--val-split", "0.34", "--hidden", "8"}));
        assertFalse(Files.exists(head2.resolve("model.onnx")));
    }
}
