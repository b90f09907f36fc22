package org.transfer4j.tools.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.tools.TrainHeadCommand;

/**
 * A cache larger than the heap trains: a 1.07 GB cache (1024 images × 128 views × 2048 f32) read by a train-head
 * process limited to {@code -Xmx256m}. Rows are memory-mapped by the cache reader and streamed batch by batch, so the
 * heap holds only the row index and one batch. Slow (writes 1 GB): {@code mvn -Plong test}.
 */
@Tag("long")
class TrainHeadLargeCacheTest {
    @TempDir
    Path tmp;

    @Test
    void cacheBiggerThanTheHeapTrains() throws Exception {
        Path cache = TestCaches.write(tmp.resolve("img"), tmp.resolve("big"), new String[] {"a", "b"}, 512, 2048,
                127, 4, 'a', 11);
        long bytes;
        try (Stream<Path> files = Files.list(cache)) {
            bytes = files.filter(p -> p.getFileName().toString().startsWith("rows-")).mapToLong(p -> p.toFile()
                    .length()).sum();
        }
        assertTrue(bytes >= 1_000_000_000L, "cache rows are " + bytes + " bytes");
        Path out = tmp.resolve("head");
        ProcessBuilder pb = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                TrainHeadCommand.class.getName(), "--train", cache.toString(), "--out", out.toString(),
                "--epochs", "1", "--hidden", "64", "--val-split", "0.1")).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("log.txt").toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(30, TimeUnit.MINUTES), "finished");
        String log = Files.readString(tmp.resolve("log.txt"));
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.contains("epoch 1/1"), log);
        assertTrue(Files.exists(out.resolve("head.bin")));
    }
}
