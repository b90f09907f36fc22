package org.transfer4j.tools.predict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.head.HeadWeights;
import org.transfer4j.head.compose.Composer;
import org.transfer4j.testing.TinyModels;
import org.transfer4j.tools.BenchCommand;
import org.transfer4j.tools.CliRun;

/** bench.jar predict on a tiny composed model: the JSON fields and the three ways of finding the backbone. */
class PredictBenchTest {
    @TempDir
    static Path dir;
    static Path backbone;
    static Path composed;

    @BeforeAll
    static void setUp() throws Exception {
        backbone = TinyModels.builder().size(16, 16).write(dir.resolve("tiny.onnx"));
        BackboneSpec spec = PredictCommandTest.specOf(backbone);
        HeadWeights w = new HeadWeights(List.of("blue", "red"), 3, 4, new float[12], new float[4], new float[8],
                new float[2], spec);
        composed = Composer.compose(backbone, w, Map.of(), dir.resolve("model.onnx")).model();
    }

    static JsonObject bench(String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("predict", "--model", composed.toString(),
                "--seconds", "0.2", "--warmup", "2", "--threads", "1"));
        args.addAll(List.of(extra));
        CliRun r = CliRun.run(new BenchCommand(), args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return JsonParser.parseString(r.out().strip()).getAsJsonObject();
    }

    @Test
    void findsTheBackboneBesideTheModelAndPrintsLatencies() {
        JsonObject o = bench();
        assertEquals("predict", o.get("bench").getAsString());
        assertEquals("metadata", o.get("backbone_source").getAsString());
        assertEquals("tiny.onnx", o.get("backbone").getAsString());
        assertTrue(o.get("model_ms").getAsDouble() > 0 && o.get("backbone_ms").getAsDouble() > 0, o.toString());
        assertTrue(o.get("runs").getAsInt() >= 5, o.toString());
        // ratio is computed before rounding the ms values (to 3 decimals), so compare loosely on this tiny model.
        assertEquals(o.get("model_ms").getAsDouble() / o.get("backbone_ms").getAsDouble(),
                o.get("ratio").getAsDouble(), 0.15 * o.get("ratio").getAsDouble());
    }

    @Test
    void prunesTheComposedModelWhenTheBackboneFileIsAway() throws Exception {
        Path alone = dir.resolve("alone");
        Files.createDirectories(alone);
        Path copy = Files.copy(composed, alone.resolve("model.onnx"));
        CliRun r = CliRun.run(new BenchCommand(), "predict", "--model",
                copy.toString(), "--seconds", "0.2", "--warmup", "1", "--threads", "1");
        assertEquals(0, r.code(), r.err());
        assertEquals("pruned", JsonParser.parseString(r.out().strip()).getAsJsonObject().get("backbone_source")
                .getAsString());
    }

    @Test
    void takesAnExplicitBackboneAndImage() throws Exception {
        Path img = dir.resolve("red.png");
        PredictCommandTest.write(img, java.awt.Color.RED, 30, 20);
        JsonObject o = bench("--backbone", backbone.toString(), "--image", img.toString());
        assertEquals("given", o.get("backbone_source").getAsString());
        assertTrue(o.get("image").getAsString().startsWith("red.png 30x20"), o.toString());
    }
}
