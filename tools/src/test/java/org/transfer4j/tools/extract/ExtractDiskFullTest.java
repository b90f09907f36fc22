package org.transfer4j.tools.extract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.testing.TinyModels;
import org.transfer4j.tools.CliRun;

/**
 * A real full disk: the cache lives on a tiny tmpfs (needs root and mount rights, so it is a long-profile test that
 * skips with a reason elsewhere). The run must fail with one clear line, keep the committed rows and cache.json, and
 * a rerun with space must complete. The default suite covers the same path with an injected IOException
 * (CacheWriterTest).
 */
@EnabledOnOs(OS.LINUX)
@Tag("long")
class ExtractDiskFullTest {
    @TempDir
    Path tmp;

    private static int sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }

    @Test
    void fullDiskKeepsTheCacheAndTheRerunCompletes() throws Exception {
        Path mnt = tmp.resolve("mnt");
        Files.createDirectories(mnt);
        Assumptions.assumeTrue(sh("mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", mnt.toString()) == 0,
                "cannot mount a tmpfs here (needs root and mount rights); the injected disk-full test covers this");
        try {
            Path model = TinyModels.builder().size(16, 16).write(tmp.resolve("tiny.onnx"));
            Path small = TestImages.folder(tmp.resolve("small"), 3, "a", "b");
            Path cache = mnt.resolve("cache");
            CliRun first = ExtractCommandTest.extract(model, small, cache);
            assertEquals(0, first.code(), first.err());
            Map<String, float[]> before = ExtractCommandTest.rows(cache);
            String summary = Files.readString(cache.resolve("cache.json"));
            // The same images plus many more: the index outgrows the file system.
            Path big = tmp.resolve("big");
            org.junit.jupiter.api.Assertions.assertEquals(0, sh("cp", "-r", small.toString(), big.toString()));
            for (int i = 0; i < 60; i++) {
                TestImages.draw(big.resolve("a/more" + i + ".png"), 20, 20, i, 0);
                TestImages.draw(big.resolve("b/more" + i + ".png"), 20, 20, 1000 + i, 1);
            }
            CliRun full = ExtractCommandTest.extract(model, big, cache);
            assertEquals(1, full.code(), full.out());
            assertTrue(full.err().startsWith("error: ") && full.err().contains("No space left on device"), full.err());
            assertEquals(1, full.err().strip().lines().count(), full.err());
            assertEquals(summary, Files.readString(cache.resolve("cache.json")));
            Map<String, float[]> after = ExtractCommandTest.rows(cache);
            assertTrue(after.keySet().containsAll(before.keySet()), "committed rows are kept");
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k));
            assertEquals(0, sh("mount", "-o", "remount,size=4m", mnt.toString()));
            CliRun again = ExtractCommandTest.extract(model, big, cache);
            assertEquals(0, again.code(), again.err());
            assertEquals(126, again.json().get("rows").getAsInt());
        } finally {
            // The reader's memory-mapped shards stay mapped in this JVM until they are collected, which keeps the
            // mount busy; a lazy unmount detaches it now so @TempDir can be deleted.
            if (sh("umount", mnt.toString()) != 0) {
                sh("umount", "-l", mnt.toString());
            }
        }
    }
}
