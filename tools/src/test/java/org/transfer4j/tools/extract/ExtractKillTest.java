package org.transfer4j.tools.extract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.cache.CacheReader;
import org.transfer4j.testing.TinyModels;

/**
 * extract as a separate JVM, killed with SIGKILL ({@code Process.destroyForcibly()} on Linux) at many points, then
 * rerun: the final cache must hold one row per decodable image with features bit-identical to an uninterrupted
 * run, and after every kill the cache must open with only whole, unique, correct rows.
 */
@EnabledOnOs(OS.LINUX)
class ExtractKillTest {
    static final int PER_CLASS = 90;

    @TempDir
    static Path shared;
    static Path model;
    static Path images;
    static Map<String, int[]> reference;

    @TempDir
    Path tmp;

    @BeforeAll
    static void setUp() throws Exception {
        model = TinyModels.builder().size(16, 16).write(shared.resolve("tiny.onnx"));
        images = TestImages.folder(shared.resolve("images"), PER_CLASS, "ants", "bees", "wasps");
        Path ref = shared.resolve("reference");
        Process p = start(ref, shared.resolve("ref.log"));
        assertEquals(0, p.waitFor(), () -> log(shared.resolve("ref.log")));
        reference = bits(ref);
        assertEquals(3 * PER_CLASS, reference.size());
    }

    static Process start(Path cache, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "org.transfer4j.tools.ExtractCommand", "--backbone", model.toString(), "--images", images.toString(),
                "--out", cache.toString(), "--batch", "2", "--threads", "1", "--json");
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    static String log(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** path#view -> raw float bits. */
    static Map<String, int[]> bits(Path cache) throws Exception {
        Map<String, int[]> m = new HashMap<>();
        try (CacheReader r = CacheReader.open(cache)) {
            for (int i = 0; i < r.rowCount(); i++) {
                float[] f = r.features(i);
                int[] b = new int[f.length];
                for (int j = 0; j < f.length; j++) {
                    b[j] = Float.floatToRawIntBits(f[j]);
                }
                assertTrue(m.put(r.path(i) + "#" + r.view(i), b) == null, "duplicate row " + r.path(i));
            }
        }
        return m;
    }

    /** Every row present is whole, unique and equal to the reference. */
    static void assertConsistent(Path cache, String when) throws Exception {
        if (!Files.exists(cache.resolve("header.json"))) {
            return; // killed before the header was written: nothing committed yet
        }
        Map<String, int[]> got = bits(cache);
        for (var e : got.entrySet()) {
            int[] want = reference.get(e.getKey());
            assertTrue(want != null, when + ": unexpected row " + e.getKey());
            assertTrue(java.util.Arrays.equals(want, e.getValue()), when + ": features differ for " + e.getKey());
        }
    }

    /**
     * Kills the run at the given points. Each point is either a delay after start (ms, may land in JVM start-up,
     * model loading or extraction) or, when negative, "after -n commits" (journal records).
     */
    void killAndResume(long[] points) throws Exception {
        Path cache = tmp.resolve("cache");
        int midRun = 0;
        for (int i = 0; i < points.length; i++) {
            Path log = tmp.resolve("run" + i + ".log");
            Process p = start(cache, log);
            long t0 = System.nanoTime();
            if (points[i] >= 0) {
                p.waitFor(points[i], java.util.concurrent.TimeUnit.MILLISECONDS);
            } else {
                Path journal = cache.resolve("journal.bin");
                long want = -points[i] * 32L;
                while (p.isAlive() && (!Files.exists(journal) || Files.size(journal) < want)
                        && System.nanoTime() - t0 < 60_000_000_000L) {
                    Thread.sleep(2);
                }
            }
            if (p.isAlive()) {
                midRun++;
                p.destroyForcibly();
            }
            p.waitFor();
            assertConsistent(cache, "after kill " + i + " at " + points[i]);
        }
        System.out.println("ExtractKillTest: " + points.length + " kills at " + java.util.Arrays.toString(points)
                + " (ms after start, or -n = after n commits); " + midRun + " landed mid-run");
        Process last = start(cache, tmp.resolve("final.log"));
        assertEquals(0, last.waitFor(), () -> log(tmp.resolve("final.log")));
        Map<String, int[]> got = bits(cache);
        assertEquals(reference.keySet(), got.keySet());
        for (var e : reference.entrySet()) {
            assertTrue(java.util.Arrays.equals(e.getValue(), got.get(e.getKey())), e.getKey());
        }
        String errors = Files.readString(cache.resolve("errors.jsonl"));
        assertEquals(1, errors.lines().count(), errors);
        assertTrue(errors.contains("ants/broken.jpg"), errors);
        assertTrue(midRun >= Math.min(2, points.length), "only " + midRun + " kills landed mid-run");
        String summary = Files.readString(cache.resolve("cache.json"));
        assertTrue(summary.contains("\"rows\": " + 3 * PER_CLASS), summary);
    }

    @Test
    void killedAtSeveralPointsThenResumed() throws Exception {
        killAndResume(new long[] {-3, -40, -90, 400});
    }

    @Tag("long")
    @Test
    void killedAtTwelveRandomPoints() throws Exception {
        SplittableRandom rnd = new SplittableRandom(20261128);
        long[] points = new long[12];
        for (int i = 0; i < points.length; i++) {
            points[i] = i % 2 == 0 ? rnd.nextLong(100, 3000) : -rnd.nextLong(1, 20) * (i + 1);
        }
        killAndResume(points);
    }
}
