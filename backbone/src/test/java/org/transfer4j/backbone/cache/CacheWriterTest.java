package org.transfer4j.backbone.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.spec.Interpolation;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;

class CacheWriterTest {
    @TempDir
    Path tmp;

    @AfterEach
    void noFaults() {
        IoFaults.install(null);
    }

    private Path images() throws IOException {
        Path root = tmp.resolve("images");
        for (int i = 0; i < 7; i++) {
            FakeExtraction.image(root.resolve("ants/a" + i + ".jpg"), i);
        }
        for (int i = 0; i < 5; i++) {
            FakeExtraction.image(root.resolve("bees/sub/b" + i + ".png"), 100 + i);
        }
        Files.writeString(root.resolve("bees/broken.jpg"), "BAD bytes");
        return root;
    }

    private CacheWriter.Builder writer(Path cache) {
        return CacheWriter.builder(cache, FakeExtraction.spec()).optRowsPerShard(4).optCommitEveryRows(3)
                .optCommitEveryMillis(60_000);
    }

    private CacheWriter.Result extract(Path root, Path cache, int augment, long seed, Dtype dtype) throws Exception {
        try (CacheWriter w = writer(cache).optDtype(dtype).open()) {
            CacheWriter.Plan plan = w.update(Dataset.fromFolder(root), augment, seed);
            FakeExtraction.run(plan.tasks(), w, -1);
            return w.finish();
        }
    }

    /** path#view -> features, from a reader. */
    private static Map<String, float[]> contents(Path cache) throws Exception {
        Map<String, float[]> m = new HashMap<>();
        try (CacheReader r = CacheReader.open(cache)) {
            for (int i = 0; i < r.rowCount(); i++) {
                assertTrue(m.put(r.path(i) + "#" + r.view(i), r.features(i)) == null, "duplicate row " + r.path(i));
            }
        }
        return m;
    }

    @Test
    void writesAndReadsBackRowsLabelsAndSummary() throws Exception {
        Path root = images();
        Path cache = tmp.resolve("cache");
        CacheWriter.Result res = extract(root, cache, 0, 1, Dtype.F32);
        assertEquals(12, res.extracted());
        assertEquals(1, res.failed());
        assertEquals(12, res.rows());
        try (CacheReader r = CacheReader.open(cache)) {
            assertEquals(12, r.rowCount());
            assertEquals(List.of("ants", "bees"), r.classes());
            assertEquals(FakeExtraction.DIM, r.featureDim());
            assertEquals("ants/a0.jpg", r.path(0));
            assertEquals(0, r.label(0));
            assertEquals("bees/sub/b4.png", r.path(11));
            assertEquals(1, r.label(11));
            byte[] bytes = Files.readAllBytes(root.resolve("bees/sub/b4.png"));
            assertArrayEquals(FakeExtraction.features(bytes, 0), r.features(11));
            assertEquals(Hashes.sha256(root.resolve("bees/sub/b4.png")), r.sha256(11));
            assertEquals(FakeExtraction.spec(), r.spec());
            assertEquals(1, r.errors().size());
            assertEquals("bees/broken.jpg", r.errors().get(0).path());
            assertEquals("corrupt", r.errors().get(0).reason());
            float[] batch = new float[3 * FakeExtraction.DIM];
            r.readBatch(new int[] {11, 0, 5}, 0, 3, batch);
            assertEquals(r.features(0)[2], batch[FakeExtraction.DIM + 2]);
        }
        var summary = JsonParser.parseString(Files.readString(cache.resolve("cache.json"))).getAsJsonObject();
        assertEquals(12, summary.get("rows").getAsInt());
        assertEquals(12, summary.get("images").getAsInt());
        assertEquals(1, summary.get("failed").getAsInt());
        assertEquals(FakeExtraction.DIM, summary.get("feature_dim").getAsInt());
        assertEquals("a".repeat(64), summary.get("backbone_sha256").getAsString());
        assertEquals(2, summary.getAsJsonArray("classes").size());
        String errors = Files.readString(cache.resolve("errors.jsonl"));
        assertEquals(1, errors.lines().count());
        assertTrue(errors.contains("\"reason\":\"corrupt\""), errors);
        assertTrue(Files.exists(cache.resolve("rows-000002.f32")), "4 rows per shard -> 3 shards");
    }

    @Test
    void decoderWarningsLandInErrorsJsonlWithTheirRow() throws Exception {
        Path root = images();
        Path cache = tmp.resolve("cache");
        try (CacheWriter w = writer(cache).open()) {
            CacheWriter.Plan plan = w.update(Dataset.fromFolder(root), 0, 1);
            for (var t : plan.tasks()) {
                byte[] bytes = Files.readAllBytes(t.path());
                if (t.path().getFileName().toString().equals("a3.jpg")) {
                    w.accept(t, FakeExtraction.features(bytes, 0), List.of("truncated: Premature end of JPEG file"));
                } else if (!t.path().getFileName().toString().equals("broken.jpg")) {
                    w.accept(t, FakeExtraction.features(bytes, 0));
                }
            }
            w.finish();
        }
        try (CacheReader r = CacheReader.open(cache)) {
            assertEquals(12, r.rowCount());
            assertEquals(1, r.errors().size());
            CacheReader.Error e = r.errors().get(0);
            assertEquals("ants/a3.jpg", e.path());
            assertEquals("truncated", e.reason());
            assertTrue(e.cached() && e.message().contains("Premature end"), e.toString());
        }
        // The warning stays with the row on reruns that skip the file.
        extract(root, cache, 0, 1, Dtype.F32);
        String errors = Files.readString(cache.resolve("errors.jsonl"));
        assertTrue(errors.contains("\"reason\":\"truncated\"") && errors.contains("broken.jpg"), errors);
    }

    @Test
    void f16CacheStoresHalfPrecision() throws Exception {
        Path root = images();
        extract(root, tmp.resolve("c32"), 0, 1, Dtype.F32);
        extract(root, tmp.resolve("c16"), 0, 1, Dtype.F16);
        Map<String, float[]> a = contents(tmp.resolve("c32"));
        Map<String, float[]> b = contents(tmp.resolve("c16"));
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            for (int j = 0; j < FakeExtraction.DIM; j++) {
                assertEquals(Float16.toFloat(Float16.fromFloat(a.get(k)[j])), b.get(k)[j], k);
                assertEquals(a.get(k)[j], b.get(k)[j], Math.abs(a.get(k)[j]) / 1000 + 1e-4);
            }
        }
        assertEquals(Files.size(tmp.resolve("c32/rows-000000.f32")) / 2, Files.size(tmp.resolve("c16/rows-000000.f16")));
    }

    @Test
    void rerunSkipsUnchangedReextractsChangedDropsDeleted() throws Exception {
        Path root = images();
        Path cache = tmp.resolve("cache");
        extract(root, cache, 0, 1, Dtype.F32);
        // Unchanged rerun.
        CacheWriter.Result again = extract(root, cache, 0, 1, Dtype.F32);
        assertEquals(0, again.extracted());
        assertEquals(12, again.unchanged());
        assertEquals(1, again.failed(), "failed files are retried each run");
        // Touch (new mtime, same bytes) -> unchanged after a hash check; change content -> re-extracted; delete one.
        Files.setLastModifiedTime(root.resolve("ants/a1.jpg"), FileTime.fromMillis(1_000_000));
        FakeExtraction.image(root.resolve("ants/a2.jpg"), 999);
        Files.setLastModifiedTime(root.resolve("ants/a2.jpg"), FileTime.fromMillis(2_000_000));
        Files.delete(root.resolve("bees/sub/b0.png"));
        CacheWriter.Result third = extract(root, cache, 0, 1, Dtype.F32);
        assertEquals(1, third.extracted());
        assertEquals(10, third.unchanged());
        assertEquals(11, third.rows());
        assertEquals(2, third.deadRows(), "two tombstones: the changed and the deleted file");
        Map<String, float[]> m = contents(cache);
        assertEquals(11, m.size());
        assertFalse(m.containsKey("bees/sub/b0.png#0"));
        assertArrayEquals(FakeExtraction.features(Files.readAllBytes(root.resolve("ants/a2.jpg")), 0),
                m.get("ants/a2.jpg#0"));
        // Same result as a fresh extraction of the final folder.
        extract(root, tmp.resolve("fresh"), 0, 1, Dtype.F32);
        Map<String, float[]> fresh = contents(tmp.resolve("fresh"));
        assertEquals(fresh.keySet(), m.keySet());
        fresh.forEach((k, v) -> assertArrayEquals(v, m.get(k), k));
    }

    @Test
    void interruptedRunsResumeWithoutLossOrDuplicates() throws Exception {
        Path root = images();
        Path cache = tmp.resolve("cache");
        // Crash 1: results fed, some committed, the writer never closed (as after kill -9).
        CacheWriter w1 = writer(cache).open();
        CacheWriter.Plan p1 = w1.update(Dataset.fromFolder(root), 2, 5);
        assertEquals(39, p1.tasks().size());
        FakeExtraction.run(p1.tasks(), w1, 8); // 8 fed, 6 committed (every 3 rows)
        long committed = w1.committedRows();
        assertEquals(6, committed);
        abandon(w1);
        // Simulate the torn tail a kill leaves: half a row in the shard, half a line in the index, half a record.
        appendJunk(cache.resolve("rows-000001.f32"), 10);
        appendJunk(cache.resolve("index.jsonl"), 17);
        appendJunk(cache.resolve("journal.bin"), 20);
        try (CacheReader r = CacheReader.open(cache)) {
            assertEquals(6, r.rowCount(), "a reader sees exactly the committed rows");
        }
        // Crash 2 during the next run.
        CacheWriter w2 = writer(cache).open();
        CacheWriter.Plan p2 = w2.update(Dataset.fromFolder(root), 2, 5);
        assertEquals(39 - 6, p2.tasks().size());
        FakeExtraction.run(p2.tasks(), w2, 20);
        abandon(w2);
        CacheWriter.Result done = extract(root, cache, 2, 5, Dtype.F32);
        assertEquals(36, done.rows());
        Map<String, float[]> resumed = contents(cache);
        extract(root, tmp.resolve("straight"), 2, 5, Dtype.F32);
        Map<String, float[]> straight = contents(tmp.resolve("straight"));
        assertEquals(straight.keySet(), resumed.keySet());
        straight.forEach((k, v) -> assertArrayEquals(v, resumed.get(k), k));
        // Row order is (path, view), whatever the crash history: readers of both caches agree row by row.
        try (CacheReader a = CacheReader.open(cache); CacheReader b = CacheReader.open(tmp.resolve("straight"))) {
            for (int i = 0; i < a.rowCount(); i++) {
                assertEquals(b.path(i), a.path(i));
                assertEquals(b.view(i), a.view(i));
                assertArrayEquals(b.features(i), a.features(i));
            }
        }
    }

    /** Releases a writer's files without committing, like a killed process (its pending rows are lost). */
    private static void abandon(CacheWriter w) throws Exception {
        var f = CacheWriter.class.getDeclaredField("broken");
        f.setAccessible(true);
        f.setBoolean(w, true);
        w.close();
    }

    private static void appendJunk(Path file, int n) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            byte[] junk = new byte[n];
            java.util.Arrays.fill(junk, (byte) 0x5A);
            ch.write(ByteBuffer.wrap(junk));
        }
    }

    @Test
    void augmentedViewsAreDeterministicAndView0IsThePlainRow() throws Exception {
        Path root = images();
        extract(root, tmp.resolve("k0"), 0, 1, Dtype.F32);
        extract(root, tmp.resolve("k3a"), 3, 42, Dtype.F32);
        extract(root, tmp.resolve("k3b"), 3, 42, Dtype.F32);
        Map<String, float[]> k0 = contents(tmp.resolve("k0"));
        Map<String, float[]> a = contents(tmp.resolve("k3a"));
        Map<String, float[]> b = contents(tmp.resolve("k3b"));
        assertEquals(48, a.size());
        a.forEach((k, v) -> assertArrayEquals(v, b.get(k), k));
        k0.forEach((k, v) -> assertArrayEquals(v, a.get(k), k));
        assertNotEquals(ViewSeeds.of(42, "ants/a0.jpg", 1), ViewSeeds.of(42, "ants/a0.jpg", 2));
        assertNotEquals(ViewSeeds.of(42, "ants/a0.jpg", 1), ViewSeeds.of(43, "ants/a0.jpg", 1));
        try (CacheReader r = CacheReader.open(tmp.resolve("k3a"))) {
            assertEquals(12, r.rowsWithView(0).length);
            assertEquals(12, r.rowsWithView(3).length);
        }
        // Fewer views on a rerun drops the extra ones; another seed replaces the augmented views only.
        CacheWriter.Result fewer = extract(root, tmp.resolve("k3a"), 1, 42, Dtype.F32);
        assertEquals(24, fewer.rows());
        assertEquals(0, fewer.extracted());
        CacheWriter.Result reseeded = extract(root, tmp.resolve("k3a"), 1, 7, Dtype.F32);
        assertEquals(24, reseeded.rowsAdded() * 2);
        assertArrayEquals(k0.get("ants/a3.jpg#0"), contents(tmp.resolve("k3a")).get("ants/a3.jpg#0"));
    }

    @Test
    void foreignBackboneOrSpecIsRefusedUnlessOverwrite() throws Exception {
        Path root = images();
        Path cache = tmp.resolve("cache");
        extract(root, cache, 0, 1, Dtype.F32);
        String before = Files.readString(cache.resolve("index.jsonl"));
        CacheException e = assertThrows(CacheException.class,
                () -> CacheWriter.builder(cache, FakeExtraction.spec("b".repeat(64))).open());
        assertEquals(CacheException.Reason.MISMATCH, e.reason());
        assertTrue(e.getMessage().contains("another backbone") && e.getMessage().contains("--overwrite")
                && e.getMessage().contains("aaaaaaaaaaaa"), e.getMessage());
        var other = new org.transfer4j.backbone.spec.BackboneSpec("torch", "input", Layout.NCHW, 32, 32,
                org.transfer4j.backbone.spec.ChannelOrder.RGB, org.transfer4j.backbone.spec.ResizePolicy.DIRECT, 0,
                Interpolation.BICUBIC, 1 / 255.0, new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224,
                0.225}, null, FakeExtraction.DIM, "a".repeat(64));
        e = assertThrows(CacheException.class, () -> CacheWriter.builder(cache, other).open());
        assertTrue(e.getMessage().contains("another spec") && e.getMessage().contains("interpolation")
                && e.getMessage().contains("resize"), e.getMessage());
        e = assertThrows(CacheException.class, () -> writer(cache).optDtype(Dtype.F16).open());
        assertTrue(e.getMessage().contains("dtype f32"), e.getMessage());
        assertEquals(before, Files.readString(cache.resolve("index.jsonl")), "a refused cache is left as it was");
        try (CacheWriter w = CacheWriter.builder(cache, other).optOverwrite(true).open()) {
            FakeExtraction.run(w.update(Dataset.fromFolder(root), 0, 1).tasks(), w, -1);
            w.finish();
        }
        try (CacheReader r = CacheReader.open(cache)) {
            assertEquals(Interpolation.BICUBIC, r.spec().interpolation());
            assertEquals(12, r.rowCount());
        }
    }

    @Test
    void refusesFoldersThatAreNotCachesAndConcurrentWriters() throws Exception {
        Path notCache = tmp.resolve("docs");
        Files.createDirectories(notCache);
        Files.writeString(notCache.resolve("thesis.tex"), "x");
        CacheException e = assertThrows(CacheException.class, () -> writer(notCache).open());
        assertEquals(CacheException.Reason.NOT_A_CACHE, e.reason());
        assertTrue(e.getMessage().contains("thesis.tex"), e.getMessage());
        e = assertThrows(CacheException.class, () -> writer(notCache).optOverwrite(true).open());
        assertEquals(CacheException.Reason.NOT_A_CACHE, e.reason(), "--overwrite never deletes foreign files");
        Path cache = tmp.resolve("cache");
        try (CacheWriter w = writer(cache).open()) {
            e = assertThrows(CacheException.class, () -> writer(cache).open());
            assertEquals(CacheException.Reason.LOCKED, e.reason());
            assertTrue(e.getMessage().contains(w.dir().toString()), e.getMessage());
        }
        try (CacheWriter w = writer(cache).open()) {
            assertEquals(0, w.committedRows(), "the lock is released on close");
        }
        e = assertThrows(CacheException.class, () -> CacheReader.open(notCache));
        assertEquals(CacheException.Reason.NOT_A_CACHE, e.reason());
    }

    @Test
    void diskFullMidRunKeepsTheCommittedRowsAndTheNextRunResumes() throws Exception {
        Path root = images();
        Path cache = tmp.resolve("cache");
        extract(root, cache, 0, 1, Dtype.F32);
        String summaryBefore = Files.readString(cache.resolve("cache.json"));
        // Grow the dataset, then fill the disk after a few commits of the second run.
        for (int i = 0; i < 9; i++) {
            FakeExtraction.image(root.resolve("ants/new" + i + ".jpg"), 500 + i);
        }
        int[] writes = {0};
        IoFaults.install(new IoFaults() {
            @Override
            public void beforeWrite(Path file, long bytes) throws IOException {
                if (++writes[0] > 4) {
                    throw new IOException("No space left on device");
                }
            }
        });
        IOException e;
        try (CacheWriter w = writer(cache).open()) {
            CacheWriter.Plan plan = w.update(Dataset.fromFolder(root), 0, 1);
            e = assertThrows(IOException.class, () -> FakeExtraction.run(plan.tasks(), w, -1));
            assertThrows(CacheException.class, w::finish);
        }
        assertTrue(e.getMessage().contains("No space left on device") && e.getMessage().contains("kept")
                && e.getMessage().contains("free disk space"), e.getMessage());
        IoFaults.install(null);
        assertEquals(summaryBefore, Files.readString(cache.resolve("cache.json")));
        try (CacheReader r = CacheReader.open(cache)) {
            assertTrue(r.rowCount() >= 12, "old rows intact, got " + r.rowCount());
            assertArrayEquals(FakeExtraction.features(Files.readAllBytes(root.resolve("ants/a0.jpg")), 0),
                    r.features(0));
        }
        CacheWriter.Result res = extract(root, cache, 0, 1, Dtype.F32);
        assertEquals(21, res.rows());
        Map<String, float[]> m = contents(cache);
        extract(root, tmp.resolve("fresh"), 0, 1, Dtype.F32);
        Map<String, float[]> fresh = contents(tmp.resolve("fresh"));
        assertEquals(fresh.keySet(), m.keySet());
    }

    @Test
    void unwritableOutputIsAClearErrorAndTheCacheIsUnchanged() throws Exception {
        Path root = images();
        // A folder under a regular file cannot be created, even by root.
        Path blocker = tmp.resolve("file.txt");
        Files.writeString(blocker, "x");
        CacheException e = assertThrows(CacheException.class, () -> writer(blocker.resolve("cache")).open());
        assertEquals(CacheException.Reason.NOT_WRITABLE, e.reason());
        assertTrue(e.getMessage().contains("cannot write to output folder"), e.getMessage());
        e = assertThrows(CacheException.class, () -> writer(blocker).open());
        assertEquals(CacheException.Reason.NOT_WRITABLE, e.reason());
        // An existing cache on a file system that turned read-only: refused before anything is touched.
        Path cache = tmp.resolve("cache");
        extract(root, cache, 0, 1, Dtype.F32);
        Map<String, Long> sizes = new HashMap<>();
        try (var files = Files.list(cache)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                sizes.put(p.getFileName().toString(), Files.size(p));
            }
        }
        IoFaults.install(new IoFaults() {
            @Override
            public void beforeOpen(Path file) throws IOException {
                throw new java.nio.file.FileSystemException(file.toString(), null, "Read-only file system");
            }
        });
        e = assertThrows(CacheException.class, () -> writer(cache).optOverwrite(true).open());
        assertTrue(e.getMessage().contains("Read-only file system"), e.getMessage());
        IoFaults.install(null);
        try (var files = Files.list(cache)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                assertEquals(sizes.get(p.getFileName().toString()), Files.size(p), p.toString());
            }
        }
        assertEquals(12, contents(cache).size());
    }

    @Test
    void permissionDeniedFolderWhenNotRoot() throws Exception {
        Path ro = tmp.resolve("ro");
        Files.createDirectories(ro);
        ro.toFile().setWritable(false, false);
        try {
            boolean canStillWrite;
            try {
                Files.delete(Files.createFile(ro.resolve("probe")));
                canStillWrite = true;
            } catch (AccessDeniedException denied) {
                canStillWrite = false;
            }
            org.junit.jupiter.api.Assumptions.assumeFalse(canStillWrite,
                    "running as root: chmod does not stop writes here (the file-in-the-way case covers it)");
            CacheException e = assertThrows(CacheException.class, () -> writer(ro.resolve("cache")).open());
            assertEquals(CacheException.Reason.NOT_WRITABLE, e.reason());
            assertTrue(e.getMessage().contains("permission denied"), e.getMessage());
        } finally {
            ro.toFile().setWritable(true, false);
        }
    }

    @Test
    void manifestDatasetAndMissingFiles() throws Exception {
        Path root = images();
        Path csv = root.resolve("list.csv");
        List<String> lines = new ArrayList<>(List.of("path,label", "ants/a0.jpg,ant", "bees/sub/b1.png,bee",
                "\"ants/a1.jpg\",bee", "ants/gone.jpg,ant"));
        Files.write(csv, lines);
        Path cache = tmp.resolve("cache");
        try (CacheWriter w = writer(cache).open()) {
            CacheWriter.Plan plan = w.update(Dataset.fromManifest(csv), 0, 1);
            assertEquals(1, plan.missingImages());
            FakeExtraction.run(plan.tasks(), w, -1);
            CacheWriter.Result res = w.finish();
            assertEquals(3, res.rows());
            assertEquals(1, res.failed());
        }
        try (CacheReader r = CacheReader.open(cache)) {
            assertEquals(List.of("ant", "bee"), r.classes());
            assertEquals(1, r.label(1)); // ants/a1.jpg is labelled bee
            assertEquals("unreadable", r.errors().get(0).reason());
            assertTrue(r.errors().get(0).message().contains("no such file"), r.errors().get(0).message());
        }
        // Relabelling a file re-extracts it under its new label.
        Files.write(csv, List.of("ants/a0.jpg,ant", "bees/sub/b1.png,bee", "ants/a1.jpg,ant"));
        try (CacheWriter w = writer(cache).open()) {
            CacheWriter.Plan plan = w.update(Dataset.fromManifest(csv), 0, 1);
            assertEquals(1, plan.changedImages());
            FakeExtraction.run(plan.tasks(), w, -1);
            w.finish();
        }
        try (CacheReader r = CacheReader.open(cache)) {
            assertEquals(0, r.label(1));
            assertEquals(0, r.errors().size());
        }
    }
}
