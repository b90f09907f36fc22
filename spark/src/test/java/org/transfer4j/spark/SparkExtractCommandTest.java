package org.transfer4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.cache.CacheReader;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.testing.TinyModels;
import picocli.CommandLine;

@Tag("spark")
class SparkExtractCommandTest {
    @TempDir
    Path tmp;

    @Test
    void jsonSummaryAndCache() throws Exception {
        Path images = SparkExtractionTest.images(tmp.resolve("images"), 4);
        Path model = TinyModels.builder().size(16, 16).write(tmp.resolve("tiny.onnx"));
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(new SparkExtractCommand());
        cl.setOut(new PrintWriter(out));
        int code = cl.execute("--master", "local[2]", "--backbone", model.toString(), "--images", images.toString(),
                "--out", tmp.resolve("out").toString(), "--cache", tmp.resolve("cache").toString(), "--json");
        assertEquals(0, code, out.toString());
        JsonObject o = JsonParser.parseString(out.toString().trim()).getAsJsonObject();
        assertEquals(9, o.get("rows").getAsInt());
        assertEquals(1, o.get("failed").getAsInt());
        assertTrue(o.get("seconds").getAsDouble() > 0);
        assertTrue(o.get("images_per_s").getAsDouble() > 0);
        assertTrue(o.has("startup_seconds"));
        assertTrue(o.has("steady_images_per_s") && o.has("job_seconds"), o.toString());
        try (CacheReader r = CacheReader.open(tmp.resolve("cache"))) {
            assertEquals(8, r.rowCount());
        }
    }

    @Test
    void anExecutorRefusesABackboneThatChanged() throws Exception {
        Path model = TinyModels.builder().size(16, 16).write(tmp.resolve("tiny.onnx"));
        String spec;
        try (var b = org.transfer4j.backbone.extract.Backbone.load(model)) {
            spec = SpecJson.toJson(b.spec());
        }
        String planned = "0".repeat(64);
        ModelException e = assertThrows(ModelException.class,
                () -> ExecutorBackbones.get(model.toString(), planned, spec));
        assertEquals(ModelException.Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains(Hashes.sha256(model)), e.getMessage());
        assertTrue(Files.exists(model));
    }
}
