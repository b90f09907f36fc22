package org.transfer4j.tools.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.onnx.Inspect;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.onnx.OnnxTestModels.Ending;
import org.transfer4j.backbone.onnx.OnnxTestModels;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.head.HeadWeights;
import org.transfer4j.tools.Cli;
import org.transfer4j.tools.CliRun;
import org.transfer4j.tools.ModelCommand;

/** model.jar end to end through the CLI runner: exit codes, printed facts, files written. */
class ModelCommandTest {
    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.run(new ModelCommand(), args);
    }

    @Test
    void cutThenInspect() throws Exception {
        Path full = OnnxTestModels.write(Ending.CLASSIFIER, 1, dir.resolve("full.onnx"));
        Path notop = dir.resolve("notop.onnx");

        CliRun cut = run("cut", "--in", full.toString(), "--out", notop.toString());

        assertEquals(0, cut.code(), cut.err());
        assertTrue(cut.out().contains("[N,4]"), cut.out());
        assertTrue(Files.exists(dir.resolve("notop.json")));
        CliRun inspect = run("inspect", notop.toString());
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().contains("image float [batch, 3, 8, 8]"), inspect.out());
        assertTrue(inspect.out().contains("features float [batch, 4]"), inspect.out());
        assertTrue(inspect.out().contains("transfer4j.spec"), inspect.out());
        CliRun json = run("inspect", "--json", notop.toString());
        assertTrue(json.out().contains("\"outputs\""), json.out());
    }

    @Test
    void cutWithoutPoolingFailsWithOneLineSuggestingAt() throws Exception {
        Path full = OnnxTestModels.write(Ending.NO_POOLING, 2, dir.resolve("flat.onnx"));

        CliRun r = run("cut", "--in", full.toString(), "--out", dir.resolve("x.onnx").toString());

        assertEquals(Cli.EXIT_FAILED, r.code());
        assertTrue(r.err().startsWith("error: "), r.err());
        assertTrue(r.err().contains("--at"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void composeFromAHeadFolder() throws Exception {
        Path backbone = OnnxTestModels.write(Ending.BACKBONE_RANK4, 3, dir.resolve("bb.onnx"));
        Path headDir = dir.resolve("head");
        HeadFiles.write(headDir, head(Hashes.sha256(backbone)), null);

        CliRun r = run("compose", "--backbone", backbone.toString(), "--head", headDir.toString());

        assertEquals(0, r.code(), r.err());
        Inspect info = Inspect.of(headDir.resolve("model.onnx"));
        assertEquals(List.of("probabilities", "features"), info.outputs().stream().map(Inspect.Tensor::name)
                .toList());
        assertTrue(info.metadata().get(OnnxMetadata.HEAD).contains("transfer4j-head"));
    }

    @Test
    void composeRefusesAnotherBackbone() throws Exception {
        Path backbone = OnnxTestModels.write(Ending.BACKBONE_RANK4, 3, dir.resolve("bb.onnx"));
        Path headDir = dir.resolve("head");
        HeadFiles.write(headDir, head("cd".repeat(32)), null);
        Path out = dir.resolve("m.onnx");

        CliRun r = run("compose", "--backbone", backbone.toString(), "--head", headDir.toString(), "--out",
                out.toString());

        assertEquals(Cli.EXIT_FAILED, r.code());
        assertTrue(r.err().contains("sha256"), r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    @org.junit.jupiter.api.Tag("long")
    void generateWritesTheDefaultBackboneAndItsSidecar() throws Exception {
        Path out = dir.resolve("models/resnet50-generated.onnx");

        CliRun r = run("generate", "resnet50", "--out", out.toString(), "--seed", "5");

        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("NOT pretrained"), r.out());
        Inspect info = Inspect.of(out);
        assertEquals(53, info.count("Conv"));
        assertEquals(Hashes.sha256(out), org.transfer4j.backbone.spec.SpecJson.read(
                dir.resolve("models/resnet50-generated.json")).modelSha256());
    }

    @Test
    void missingRequiredOptionIsAUsageError() {
        CliRun r = run("cut", "--in", "x.onnx");
        assertEquals(Cli.EXIT_USAGE, r.code());
    }

    private static HeadWeights head(String sha) {
        BackboneSpec spec = Preset.TORCH.spec(OnnxTestModels.INPUT, Layout.NCHW, 8, 8).withFeatureDim(4)
                .withModelSha256(sha);
        Random r = new Random(1);
        float[] w1 = new float[4 * 3];
        float[] b1 = new float[3];
        float[] w2 = new float[3 * 2];
        float[] b2 = new float[2];
        for (float[] a : List.of(w1, b1, w2, b2)) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) r.nextGaussian();
            }
        }
        return new HeadWeights(List.of("a", "b"), 4, 3, w1, b1, w2, b2, spec);
    }
}
