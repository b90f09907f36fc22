package org.transfer4j.backbone.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.dataset.Dataset;

class CacheReaderTest {
    @TempDir
    Path tmp;

    private Path images(int perClass) throws Exception {
        Path root = tmp.resolve("images");
        for (int i = 0; i < perClass; i++) {
            FakeExtraction.image(root.resolve("x/" + i + ".jpg"), i);
            FakeExtraction.image(root.resolve("y/" + i + ".jpg"), 1000 + i);
        }
        return root;
    }

    @Test
    void batchesViewsAndCommittedStateWhileWriting() throws Exception {
        Path root = images(10);
        Path cache = tmp.resolve("cache");
        try (CacheWriter w = CacheWriter.builder(cache, FakeExtraction.spec()).optCommitEveryRows(5)
                .optCommitEveryMillis(60_000).optRowsPerShard(7).open()) {
            CacheWriter.Plan plan = w.update(Dataset.fromFolder(root), 1, 3);
            FakeExtraction.run(plan.tasks().subList(0, 12), w, -1);
            try (CacheReader r = CacheReader.open(cache)) {
                assertEquals(10, r.rowCount(), "a reader sees the 10 committed rows, not the 2 pending");
            }
            FakeExtraction.run(plan.tasks().subList(12, plan.tasks().size()), w, -1);
            w.finish();
        }
        try (CacheReader r = CacheReader.open(cache)) {
            assertEquals(40, r.rowCount());
            assertEquals(20, r.imageCount());
            int[] plain = r.rowsWithView(0);
            assertEquals(20, plain.length);
            for (int row : plain) {
                assertEquals(0, r.view(row));
                assertEquals(r.path(row), r.path(row + 1), "views of one image are adjacent");
            }
            int[] order = {39, 0, 17, 3, 22};
            List<Integer> seen = new ArrayList<>();
            r.forEachBatch(order, 2, (rows, features, labels, count) -> {
                for (int i = 0; i < count; i++) {
                    float[] expected = r.features(rows[i]);
                    float[] got = java.util.Arrays.copyOfRange(features, i * r.featureDim(), (i + 1) * r.featureDim());
                    assertArrayEquals(expected, got);
                    assertEquals(r.label(rows[i]), labels[i]);
                    seen.add(rows[i]);
                }
            });
            assertEquals(List.of(39, 0, 17, 3, 22), seen);
            assertEquals(0, r.label(0));
            assertEquals(1, r.label(39));
        }
    }

    @Test
    void refusesUnknownVersionsAndDamage() throws Exception {
        Path root = images(3);
        Path cache = tmp.resolve("cache");
        try (CacheWriter w = CacheWriter.builder(cache, FakeExtraction.spec()).open()) {
            FakeExtraction.run(w.update(Dataset.fromFolder(root), 0, 0).tasks(), w, -1);
            w.finish();
        }
        Path header = cache.resolve("header.json");
        String original = Files.readString(header);
        Files.writeString(header, original.replace("\"format_version\": 1", "\"format_version\": 3"));
        CacheException e = assertThrows(CacheException.class, () -> CacheReader.open(cache));
        assertEquals(CacheException.Reason.UNSUPPORTED_VERSION, e.reason());
        assertTrue(e.getMessage().contains("version 3"), e.getMessage());
        // Version 2 is the feature-maps format: it must say what shape its rows have.
        Files.writeString(header, original.replace("\"format_version\": 1", "\"format_version\": 2"));
        e = assertThrows(CacheException.class, () -> CacheReader.open(cache));
        assertEquals(CacheException.Reason.CORRUPT, e.reason());
        assertTrue(e.getMessage().contains("needs a tensor_shape"), e.getMessage());
        Files.writeString(header, original);
        Files.write(cache.resolve("rows-000000.f32"), new byte[10]);
        e = assertThrows(CacheException.class, () -> CacheReader.open(cache));
        assertEquals(CacheException.Reason.CORRUPT, e.reason());
        assertTrue(e.getMessage().contains("--overwrite"), e.getMessage());
        e = assertThrows(CacheException.class, () -> CacheWriter.builder(cache, FakeExtraction.spec()).open());
        assertEquals(CacheException.Reason.CORRUPT, e.reason());
    }
}
