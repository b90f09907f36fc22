package org.transfer4j.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.head.HeadInfo;
import org.transfer4j.head.TrainingConfig;

/**
 * Issue 6 item 5 and the Predictor's promises that need a fresh JVM: resident memory stays flat over 10,000
 * predictions (and the same measurement does catch a leak of unclosed ORT results), and the inference path never
 * loads an ND4J class.
 */
class PredictorSoakTest {
    @TempDir
    static Path dir;
    /** 20,000 classes: each ORT result holds 80 kB, so leaking results grows RSS by 800 MB per 10,000 calls. */
    static PredictorTestModels.Tiny wide;

    @BeforeAll
    static void models() {
        assumeTrue(Files.exists(Path.of("/proc/self/status")), "skipped: needs Linux /proc for VmRSS");
        wide = PredictorTestModels.write(dir.resolve("wide"), 3, 16, 8, 6, 20_000, false);
    }

    @Test
    void residentMemoryIsStableOver10000Predictions() throws Exception {
        Map<String, String> out = child(List.of("-Xms192m", "-Xmx192m", "-XX:+AlwaysPreTouch"), "soak",
                wide.composed().toString(), "10000");
        long warm = Long.parseLong(out.get("rss_warm"));
        long end = Long.parseLong(out.get("rss_end"));
        double change = (double) (end - warm) / warm;
        System.out.printf("soak: RSS %d kB after warm-up, %d kB after 10,000 predictions (%+.2f%%)%n", warm, end,
                change * 100);
        assertTrue(Math.abs(change) <= 0.10, String.format("RSS went from %d kB to %d kB (%+.1f%%) over 10,000 "
                + "predictions; allowed ±10%%", warm, end, change * 100));
    }

    /** The same measurement with Results left open must fail the ±10% bound, or the test above proves nothing. */
    @Test
    void theMeasurementCatchesALeakOfResults() throws Exception {
        Map<String, String> out = child(List.of("-Xms192m", "-Xmx192m", "-XX:+AlwaysPreTouch"), "leak",
                wide.composed().toString(), "3000");
        long warm = Long.parseLong(out.get("rss_warm"));
        long end = Long.parseLong(out.get("rss_end"));
        System.out.printf("planted leak: RSS %d kB -> %d kB after 3,000 unclosed results%n", warm, end);
        assertTrue((double) (end - warm) / warm > 0.10, "3,000 leaked results (80 kB each) grew RSS only from "
                + warm + " to " + end + " kB; the soak test could not see a leak");
    }

    @Test
    void thePredictorPathLoadsNoNd4jClass() throws Exception {
        PredictorTestModels.Tiny tiny = PredictorTestModels.small(dir.resolve("tiny"));
        Path headDir = dir.resolve("head");
        HeadFiles.write(headDir, tiny.head(), new HeadInfo(TrainingConfig.defaults(), 1, 1, null));
        Path image = PredictorTest.writeImages(dir.resolve("img"), 1, 1).get(0);
        Path log = dir.resolve("classes.log");
        Map<String, String> out = child(List.of("-Xlog:class+load=info:file=" + log), "paths",
                tiny.composed().toString(), tiny.backbone().toString(), headDir.toString(), image.toString());
        assertTrue(out.containsKey("composed") && out.containsKey("two_part"), out.toString());
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        assertTrue(lines.stream().anyMatch(l -> l.contains("org.transfer4j.inference.Predictor ")),
                "the class-load log does not show the Predictor; is the log working?");
        List<String> nd4j = lines.stream().filter(l -> l.contains("org.nd4j") || l.contains("org.bytedeco"))
                .limit(5).collect(Collectors.toList());
        assertEquals(List.of(), nd4j, "the inference path loaded ND4J / JavaCPP classes");
    }

    /** Runs PredictorSoak in a fresh JVM on this test's classpath and returns its {@code key value} lines. */
    static Map<String, String> child(List<String> jvmFlags, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmFlags);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(PredictorSoak.class.getName());
        cmd.addAll(List.of(args));
        Path stdout = Files.createTempFile(dir, "child", ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(stdout.toFile()).start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish in 5 minutes: " + cmd);
        }
        String text = Files.readString(stdout);
        assertEquals(0, p.exitValue(), "child JVM failed:\n" + text);
        Map<String, String> values = new HashMap<>();
        for (String line : text.split("\\R")) {
            int sp = line.indexOf(' ');
            if (sp > 0) {
                values.putIfAbsent(line.substring(0, sp), line.substring(sp + 1));
            }
        }
        return values;
    }
}
