package org.transfer4j.tools.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.tools.TrainHeadCommand;

/**
 * Issue 6 item 3: SIGKILL train-head while it trains, rerun with --resume, and get the same head.bin as a run that
 * was never interrupted.
 */
class TrainHeadKillTest {
    @TempDir
    Path tmp;

    @Test
    void killedRunResumesToIdenticalWeights() throws Exception {
        Path train = TestCaches.write(tmp.resolve("img"), tmp.resolve("train"), new String[] {"a", "b", "c"}, 60,
                64, 1, 3, 'a', 3);
        List<String> args = List.of("--train", train.toString(), "--val-split", "0.2", "--hidden", "64",
                "--epochs", "12", "--patience", "100", "--batch", "16", "--seed", "5");

        Path whole = tmp.resolve("whole");
        Process p0 = start(args, whole);
        assertEquals(0, p0.waitFor(5, TimeUnit.MINUTES) ? p0.exitValue() : -1, "uninterrupted run");

        Path killed = tmp.resolve("killed");
        int kills = 0;
        for (int trial = 0; trial < 3 && Files.notExists(killed.resolve("head.bin")); trial++) {
            Process p = start(args, killed, trial > 0);
            // Wait for a checkpoint from this process (an epoch finished), then kill it without warning.
            long before = Files.exists(killed.resolve("checkpoint.bin"))
                    ? Files.getLastModifiedTime(killed.resolve("checkpoint.bin")).toMillis() : 0;
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (p.isAlive() && System.nanoTime() < deadline) {
                Path c = killed.resolve("checkpoint.bin");
                if (Files.exists(c) && Files.getLastModifiedTime(c).toMillis() > before) {
                    break;
                }
                Thread.sleep(20);
            }
            if (p.isAlive()) {
                p.destroyForcibly(); // SIGKILL on Linux
                p.waitFor();
                kills++;
            }
        }
        assertTrue(kills >= 1, "the run should have been killed at least once");
        assertTrue(Files.exists(killed.resolve("checkpoint.bin")), "a checkpoint survives the kill");
        Process resume = start(args, killed, true);
        assertEquals(0, resume.waitFor(5, TimeUnit.MINUTES) ? resume.exitValue() : -1, "resumed run");
        assertArrayEquals(Files.readAllBytes(whole.resolve("head.bin")), Files.readAllBytes(killed.resolve(
                "head.bin")), "resumed head.bin equals the uninterrupted one");
        assertTrue(Files.notExists(killed.resolve("checkpoint.bin")));
    }

    private static Process start(List<String> args, Path out) throws Exception {
        return start(args, out, false);
    }

    private static Process start(List<String> args, Path out, boolean resume) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-cp", System.getProperty("java.class.path"), TrainHeadCommand.class.getName()));
        cmd.addAll(args);
        cmd.addAll(List.of("--out", out.toString()));
        if (resume) {
            cmd.add("--resume");
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(out.resolveSibling(out.getFileName() + ".log").toFile());
        pb.environment().remove("OMP_NUM_THREADS");
        return pb.start();
    }
}
