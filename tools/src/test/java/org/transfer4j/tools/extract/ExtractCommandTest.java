package org.transfer4j.tools.extract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.cache.CacheReader;
import org.transfer4j.backbone.cache.Float16;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.testing.TinyModels;
import org.transfer4j.tools.CliRun;
import org.transfer4j.tools.ExtractCommand;

/** extract.jar run in-process: summaries, reruns, refusals with one clear line, augmentation, f16. */
class ExtractCommandTest {
    @TempDir
    static Path shared;
    static Path model;
    static Path images;

    @TempDir
    Path tmp;

    @BeforeAll
    static void setUp() throws Exception {
        model = TinyModels.builder().size(16, 16).write(shared.resolve("tiny.onnx"));
        images = TestImages.folder(shared.resolve("images"), 6, "cats", "dogs");
    }

    static CliRun extract(String... args) {
        return CliRun.run(new ExtractCommand(), args);
    }

    static CliRun extract(Path modelFile, Path imageDir, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("--backbone", modelFile.toString(), "--images", imageDir.toString(),
                "--out", out.toString(), "--json"));
        a.addAll(List.of(more));
        return extract(a.toArray(String[]::new));
    }

    /** path#view -> features. */
    static Map<String, float[]> rows(Path cache) throws Exception {
        Map<String, float[]> m = new HashMap<>();
        try (CacheReader r = CacheReader.open(cache)) {
            for (int i = 0; i < r.rowCount(); i++) {
                m.put(r.path(i) + "#" + r.view(i), r.features(i));
            }
        }
        return m;
    }

    @Test
    void extractsThenResumesOnlyWhatChanged() throws Exception {
        Path imgs = TestImages.folder(tmp.resolve("imgs"), 5, "a", "b");
        Path cache = tmp.resolve("cache");
        CliRun first = extract(model, imgs, cache);
        assertEquals(0, first.code(), first.err());
        JsonObject j = first.json();
        assertEquals(10, j.get("extracted").getAsInt());
        assertEquals(0, j.get("unchanged").getAsInt());
        assertEquals(1, j.get("failed").getAsInt());
        assertEquals(10, j.get("rows").getAsInt());
        assertTrue(j.has("seconds") && j.has("images_per_s"), j.toString());
        var summary = JsonParser.parseString(Files.readString(cache.resolve("cache.json"))).getAsJsonObject();
        assertEquals(10, summary.get("rows").getAsInt());
        assertEquals(3, summary.get("feature_dim").getAsInt());
        assertTrue(Files.readString(cache.resolve("errors.jsonl")).contains("a/broken.jpg"));

        CliRun again = extract(model, imgs, cache);
        assertEquals(0, again.code(), again.err());
        assertEquals(0, again.json().get("extracted").getAsInt());
        assertEquals(10, again.json().get("unchanged").getAsInt());

        Map<String, float[]> before = rows(cache);
        TestImages.draw(imgs.resolve("a/img000.png"), 30, 30, 12345, 3);
        Files.setLastModifiedTime(imgs.resolve("a/img000.png"), FileTime.fromMillis(1_000_000_000L));
        Files.delete(imgs.resolve("b/img001.jpg"));
        CliRun third = extract(model, imgs, cache);
        assertEquals(0, third.code(), third.err());
        assertEquals(1, third.json().get("extracted").getAsInt());
        assertEquals(8, third.json().get("unchanged").getAsInt());
        assertEquals(9, third.json().get("rows").getAsInt());
        Map<String, float[]> after = rows(cache);
        assertFalse(after.containsKey("b/img001.jpg#0"));
        assertFalse(java.util.Arrays.equals(before.get("a/img000.png#0"), after.get("a/img000.png#0")),
                "the changed image was re-extracted");
        assertArrayEquals(before.get("a/img002.png#0"), after.get("a/img002.png#0"));
    }

    @Test
    void fatalProblemsGiveOneClearLineAndExit1() throws Exception {
        Path cache = tmp.resolve("cache");
        CliRun r = extract(tmp.resolve("missing.onnx"), images, cache);
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: ") && r.err().contains("missing.onnx") && r.err().contains("not found"),
                r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());

        Path one = TestImages.folder(tmp.resolve("one"), 2, "only");
        r = extract(model, one, cache);
        assertEquals(1, r.code());
        assertTrue(r.err().contains("only one class"), r.err());

        Path empty = TestImages.folder(tmp.resolve("empty"), 2, "a", "b");
        Files.createDirectories(empty.resolve("c"));
        r = extract(model, empty, cache);
        assertEquals(1, r.code());
        assertTrue(r.err().contains("'c'") && r.err().contains("no images"), r.err());

        Files.createDirectories(tmp.resolve("nothing/x"));
        r = extract(model, tmp.resolve("nothing"), cache);
        assertEquals(1, r.code());
        assertTrue(r.err().contains("no images"), r.err());

        Path csv = tmp.resolve("m/list.csv");
        Files.createDirectories(csv.getParent());
        Files.writeString(csv, "path,label\nx.jpg,a\n../../etc/passwd,b\n");
        r = extract("--backbone", model.toString(), "--manifest", csv.toString(), "--out", cache.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("line 3") && r.err().contains("escapes"), r.err());

        Path file = tmp.resolve("a-file");
        Files.writeString(file, "x");
        r = extract(model, images, file.resolve("cache"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("cannot write to output folder"), r.err());
        assertFalse(Files.exists(cache), "nothing was created for refused runs");
    }

    @Test
    void foreignBackboneAndSpecAreRefusedUnlessOverwrite() throws Exception {
        Path cache = tmp.resolve("cache");
        assertEquals(0, extract(model, images, cache).code());
        String index = Files.readString(cache.resolve("index.jsonl"));
        Path other = TinyModels.builder().size(16, 16).metadata("note", "another build")
                .write(tmp.resolve("other.onnx"));
        CliRun r = extract(other, images, cache);
        assertEquals(1, r.code());
        assertTrue(r.err().contains("another backbone") && r.err().contains("--overwrite")
                && r.err().contains("another --out"), r.err());
        Path spec = tmp.resolve("spec.json");
        Files.writeString(spec, "{\"preset\":\"torch\",\"inputName\":\"image\",\"height\":16,\"width\":16,"
                + "\"interpolation\":\"BICUBIC\"}");
        r = extract(model, images, cache, "--spec", spec.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("another spec") && r.err().contains("interpolation"), r.err());
        assertEquals(index, Files.readString(cache.resolve("index.jsonl")), "the refused cache is untouched");
        r = extract(other, images, cache, "--overwrite");
        assertEquals(0, r.code(), r.err());
        try (CacheReader c = CacheReader.open(cache)) {
            assertEquals(12, c.rowCount());
            assertEquals(Hashes.sha256(other), c.backboneSha256());
        }
    }

    @Test
    void augmentedViewsAreDeterministicAndView0IsThePlainImage() throws Exception {
        CliRun plain = extract(model, images, tmp.resolve("plain"));
        assertEquals(0, plain.code(), plain.err());
        CliRun a = extract(model, images, tmp.resolve("a"), "--augment", "2", "--seed", "9", "--batch", "3");
        CliRun b = extract(model, images, tmp.resolve("b"), "--augment", "2", "--seed", "9", "--batch", "5");
        assertEquals(0, a.code(), a.err());
        assertEquals(0, b.code(), b.err());
        assertEquals(36, a.json().get("rows").getAsInt());
        Map<String, float[]> p = rows(tmp.resolve("plain"));
        Map<String, float[]> ra = rows(tmp.resolve("a"));
        Map<String, float[]> rb = rows(tmp.resolve("b"));
        assertEquals(ra.keySet(), rb.keySet());
        ra.forEach((k, v) -> assertArrayEquals(v, rb.get(k), k));
        p.forEach((k, v) -> assertArrayEquals(v, ra.get(k), k));
        int differ = 0;
        for (String k : p.keySet()) {
            String base = k.substring(0, k.length() - 2);
            if (!java.util.Arrays.equals(ra.get(base + "#0"), ra.get(base + "#1"))) {
                differ++;
            }
        }
        assertTrue(differ >= p.size() / 2, "augmented views differ from the plain image: " + differ);
        CliRun c = extract(model, images, tmp.resolve("c"), "--augment", "2", "--seed", "10");
        Map<String, float[]> rc = rows(tmp.resolve("c"));
        assertArrayEquals(ra.get("cats/img000.png#0"), rc.get("cats/img000.png#0"));
        assertFalse(java.util.Arrays.equals(ra.get("cats/img000.png#1"), rc.get("cats/img000.png#1")),
                "another seed, other crops");
        assertEquals(0, c.code());
    }

    @Test
    void f16CacheRoundsEachValue() throws Exception {
        assertEquals(0, extract(model, images, tmp.resolve("f32")).code());
        CliRun r = extract(model, images, tmp.resolve("f16"), "--dtype", "f16");
        assertEquals(0, r.code(), r.err());
        Map<String, float[]> a = rows(tmp.resolve("f32"));
        Map<String, float[]> b = rows(tmp.resolve("f16"));
        assertEquals(a.keySet(), b.keySet());
        a.forEach((k, v) -> {
            for (int i = 0; i < v.length; i++) {
                assertEquals(Float16.toFloat(Float16.fromFloat(v[i])), b.get(k)[i], k);
            }
        });
    }

    @Test
    void plainSummaryLine() throws Exception {
        CliRun r = extract("--backbone", model.toString(), "--images", images.toString(), "--out",
                tmp.resolve("c").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("extracted 12, unchanged 0, failed 1, rows 12"), r.out());
        assertTrue(r.out().contains("images/s"), r.out());
    }
}
