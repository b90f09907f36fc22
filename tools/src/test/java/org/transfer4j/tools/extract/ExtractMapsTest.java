package org.transfer4j.tools.extract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.transfer4j.backbone.cache.CacheReader;
import org.transfer4j.backbone.cache.Dtype;
import org.transfer4j.head.finetune.StageNetwork;
import org.transfer4j.testing.TinyResNet;
import org.transfer4j.tools.CliRun;
import org.transfer4j.tools.ExtractCommand;

/** extract --maps on a tiny ResNet: the cached maps, run through the last stage, give the pooled features. */
class ExtractMapsTest {
    @TempDir
    Path tmp;

    @Test
    void mapsThroughTheLastStageGiveThePooledFeatures() throws Exception {
        Path model = tmp.resolve("tiny-resnet.onnx");
        Files.write(model, TinyResNet.image(16, 7).toByteArray());
        Path images = TestImages.folder(tmp.resolve("images"), 3, "a", "b");
        Path mapsCache = tmp.resolve("maps");
        Path pooledCache = tmp.resolve("pooled");
        CliRun maps = CliRun.run(new ExtractCommand(), "--backbone", model.toString(), "--images", images.toString(),
                "--out", mapsCache.toString(), "--maps", "--augment", "1", "--json");
        assertEquals(0, maps.code(), maps.err());
        assertTrue(maps.err().contains("'a0_out' [4, 8, 8]"), maps.err());
        CliRun pooled = CliRun.run(new ExtractCommand(), "--backbone", model.toString(), "--images",
                images.toString(), "--out", pooledCache.toString(), "--augment", "1", "--dtype", "f32", "--json");
        assertEquals(0, pooled.code(), pooled.err());

        JsonObject header = JsonParser.parseString(Files.readString(mapsCache.resolve("header.json")))
                .getAsJsonObject();
        assertEquals(2, header.get("format_version").getAsInt(), "a maps cache is format version 2");
        assertEquals("[4,8,8]", header.get("tensor_shape").toString());
        JsonObject vectorHeader = JsonParser.parseString(Files.readString(pooledCache.resolve("header.json")))
                .getAsJsonObject();
        assertEquals(1, vectorHeader.get("format_version").getAsInt(), "vector caches stay version 1");
        assertTrue(!vectorHeader.has("tensor_shape"));

        Map<String, float[]> expected = new HashMap<>();
        try (CacheReader r = CacheReader.open(pooledCache)) {
            assertEquals(List.of(), r.tensorShape());
            for (int i = 0; i < r.rowCount(); i++) {
                expected.put(r.path(i) + "#" + r.view(i), r.features(i));
            }
        }
        StageNetwork stage = StageNetwork.fromOnnx(org.transfer4j.backbone.onnx.OnnxModels.load(model), "a0_out",
                DataType.FLOAT);
        try (CacheReader r = CacheReader.open(mapsCache)) {
            assertEquals(List.of(4, 8, 8), r.tensorShape());
            assertEquals(256, r.featureDim());
            assertEquals(Dtype.F16, r.dtype(), "f16 by default with --maps");
            assertEquals(expected.size(), r.rowCount());
            assertEquals(12, r.rowCount(), "6 images x (plain + 1 augmented view)");
            float[] first = null;
            for (int i = 0; i < r.rowCount(); i++) {
                float[] row = r.features(i);
                float[] want = expected.get(r.path(i) + "#" + r.view(i));
                float[] got = stage.pooled(row, 1, new int[] {4, 8, 8});
                for (int k = 0; k < want.length; k++) {
                    assertEquals(want[k], got[k], 2e-2 * Math.max(1, Math.abs(want[k])), r.path(i) + "#" + r.view(i)
                            + " feature " + k);
                }
                if (first == null) {
                    first = row;
                } else {
                    assertNotEquals(java.util.Arrays.toString(first), java.util.Arrays.toString(row));
                }
            }
        }
        // Rerun: the prefix is rewritten identically, so the cache resumes instead of refusing another backbone.
        CliRun again = CliRun.run(new ExtractCommand(), "--backbone", model.toString(), "--images",
                images.toString(), "--out", mapsCache.toString(), "--maps", "--augment", "1", "--json");
        assertEquals(0, again.code(), again.err());
        assertEquals(6, again.json().get("unchanged").getAsInt(), again.out());
    }

    @Test
    void splitWithoutMapsIsRefused() throws Exception {
        Path model = tmp.resolve("tiny-resnet.onnx");
        Files.write(model, TinyResNet.image(16, 7).toByteArray());
        CliRun r = CliRun.run(new ExtractCommand(), "--backbone", model.toString(), "--images", tmp.toString(),
                "--out", tmp.resolve("c").toString(), "--split", "x0");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("--split x0") && r.err().contains("--maps"), r.err());
    }
}
