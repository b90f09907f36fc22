package org.transfer4j.inference;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The inference module's dependency rule is a build failure, not a hope: adding a banned dependency (the pom's
 * {@code banned-dependency-demo} profile) must make {@code mvn validate} fail with the enforcer's message. That this
 * module's own build reached its tests shows the rule passes without it.
 */
class BannedDependenciesTest {

    @Test
    void addingNd4jFailsTheBuild() throws Exception {
        assertBanned("org.nd4j", "nd4j-native", "${nd4j.version}");
    }

    @Tag("long")
    @ParameterizedTest
    @CsvSource({"org.jfree, jfreechart, 1.5.6", "org.tribuo, tribuo-classification-sgd, ${tribuo.version}",
        "org.tribuo, tribuo-onnx, ${tribuo.version}"})
    void addingATrainerOrChartLibraryFailsTheBuild(String group, String artifact, String version) throws Exception {
        assertBanned(group, artifact, version);
    }

    private static void assertBanned(String group, String artifact, String version) throws Exception {
        Path mvn = onPath("mvn");
        assumeTrue(mvn != null, "skipped: no mvn on PATH to run the child build");
        Path root = Path.of("").toAbsolutePath().getParent();
        assumeTrue(Files.isRegularFile(root.resolve("pom.xml")) && Files.isDirectory(root.resolve("inference")),
                "skipped: not run from the inference module of a transfer4j checkout (" + root + ")");
        List<String> cmd = new ArrayList<>(List.of(mvn.toString(), "-B", "-ntp", "-f",
                root.resolve("pom.xml").toString(), "-pl", "inference", "-am", "validate",
                "-Pbanned-dependency-demo", "-Dbanned.groupId=" + group, "-Dbanned.artifactId=" + artifact,
                "-Dbanned.version=" + version));
        Path log = Files.createTempFile("banned-dependency", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError("child Maven did not finish in 5 minutes: " + cmd);
            }
            String out = Files.readString(log);
            assertNotEquals(0, p.exitValue(), "adding " + group + ":" + artifact + " did not fail the build:\n" + out);
            assertTrue(out.contains("BannedDependencies failed") && out.contains(group + ":" + artifact)
                    && out.contains("must not depend on"), "the build failed, but not on the banned-dependency rule:\n"
                    + out);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static Path onPath(String name) throws IOException {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p.toRealPath();
            }
        }
        return null;
    }
}
