package org.transfer4j.tools.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.io.ReproducibleTime;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.testing.TinyResNet;
import org.transfer4j.tools.CliRun;
import org.transfer4j.tools.ExtractCommand;
import org.transfer4j.tools.TrainHeadCommand;
import org.transfer4j.tools.extract.TestImages;

/**
 * train-head --fine-tune on a tiny ResNet's cached maps: the composed model, the errors, and (issue 17) a run killed
 * with SIGKILL and resumed writes the same model.onnx, byte for byte, as one never interrupted.
 */
class FineTuneTest {
    @TempDir
    Path tmp;
    private Path model;
    private Path trainMaps;
    private Path valMaps;

    @BeforeEach
    void caches() throws Exception {
        model = tmp.resolve("tiny-resnet.onnx");
        Files.write(model, TinyResNet.image(16, 7).toByteArray());
        Path images = TestImages.folder(tmp.resolve("images"), 6, "a", "b");
        trainMaps = tmp.resolve("train-maps");
        valMaps = tmp.resolve("val-maps");
        CliRun t = CliRun.run(new ExtractCommand(), "--backbone", model.toString(), "--images", images.toString(),
                "--out", trainMaps.toString(), "--maps", "--augment", "1");
        assertEquals(0, t.code(), t.err());
        CliRun v = CliRun.run(new ExtractCommand(), "--backbone", model.toString(), "--images", images.toString(),
                "--out", valMaps.toString(), "--maps");
        assertEquals(0, v.code(), v.err());
    }

    private List<String> args(Path out) {
        return List.of("--train", trainMaps.toString(), "--val", valMaps.toString(), "--fine-tune", "--hidden", "8",
                "--warmup-epochs", "2", "--epochs", "4", "--patience", "100", "--fine-tune-lr", "1e-3",
                "--fine-tune-batch", "4", "--seed", "5", "--out", out.toString());
    }

    @Test
    void composesTheTunedStageWithTheHeadAndRecordsTheBase() throws Exception {
        Path out = tmp.resolve("head");
        CliRun r = CliRun.run(new TrainHeadCommand(), args(out).toArray(String[]::new));
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(r.out().contains("warm-up epoch 1/6") && r.out().contains("fine-tune epoch 6/6"), r.out());
        ModelProto composed = OnnxModels.load(out.resolve("model.onnx"));
        JsonObject record = JsonParser.parseString(OnnxModels.metadata(composed, OnnxMetadata.FINE_TUNE)
                .orElseThrow()).getAsJsonObject();
        assertEquals(org.transfer4j.backbone.io.Hashes.sha256(model), record.get("base_sha256").getAsString());
        assertEquals("a0_out", record.get("split").getAsString());
        assertNotEquals(record.get("base_sha256"), record.get("tuned_sha256"));
        assertTrue(Files.exists(out.resolve("fine-tune.json")) && Files.exists(out.resolve("head.json")));
        assertTrue(Files.notExists(out.resolve("checkpoint.bin")) && Files.notExists(out.resolve(
                "warmup-checkpoint.bin")) && Files.notExists(out.resolve("tuned-backbone.onnx")));
        // The stage's weights moved: some initializer of the last stage differs from the base model's.
        ModelProto base = OnnxModels.load(model);
        var tuned = composed.getGraph().getInitializerList().stream()
                .filter(t -> t.getName().equals("b1.c2.w")).findFirst().orElseThrow();
        var original = base.getGraph().getInitializerList().stream()
                .filter(t -> t.getName().equals("b1.c2.w")).findFirst().orElseThrow();
        assertTrue(!java.util.Arrays.equals(OnnxModels.floats(original), OnnxModels.floats(tuned)));
    }

    @Test
    void aHeadWithoutHiddenLayerFineTunesToo() throws Exception {
        Path out = tmp.resolve("linear");
        List<String> a = new ArrayList<>(args(out));
        a.set(a.indexOf("--hidden") + 1, "0");
        CliRun r = CliRun.run(new TrainHeadCommand(), a.toArray(String[]::new));
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(Files.exists(out.resolve("model.onnx")), r.out());
        assertTrue(OnnxModels.load(out.resolve("model.onnx")).getGraph().getNodeList().stream()
                .filter(n -> n.getName().startsWith(org.transfer4j.head.compose.Composer.PREFIX))
                .noneMatch(n -> n.getOpType().equals("Relu")), "a single softmax layer on the tuned backbone");
    }

    @Test
    void refusesCachesOfTheWrongKind() throws Exception {
        CliRun noFlag = CliRun.run(new TrainHeadCommand(), "--train", trainMaps.toString(), "--val",
                valMaps.toString(), "--out", tmp.resolve("h1").toString());
        assertEquals(1, noFlag.code(), noFlag.err());
        assertTrue(noFlag.err().contains("feature maps") && noFlag.err().contains("--fine-tune"), noFlag.err());

        Path pooled = tmp.resolve("pooled");
        CliRun p = CliRun.run(new ExtractCommand(), "--backbone", model.toString(), "--images",
                tmp.resolve("images").toString(), "--out", pooled.toString());
        assertEquals(0, p.code(), p.err());
        CliRun wrong = CliRun.run(new TrainHeadCommand(), "--train", pooled.toString(), "--val", pooled.toString(),
                "--fine-tune", "--out", tmp.resolve("h2").toString());
        assertEquals(1, wrong.code(), wrong.err());
        assertTrue(wrong.err().contains("pooled feature vectors") && wrong.err().contains("--maps"), wrong.err());

        CliRun noVal = CliRun.run(new TrainHeadCommand(), "--train", trainMaps.toString(), "--fine-tune", "--out",
                tmp.resolve("h3").toString());
        assertEquals(2, noVal.code(), noVal.err());
        assertTrue(noVal.err().contains("--fine-tune needs --val"), noVal.err());

        CliRun stray = CliRun.run(new TrainHeadCommand(), "--train", trainMaps.toString(), "--val",
                valMaps.toString(), "--fine-tune-lr", "1e-4", "--out", tmp.resolve("h4").toString());
        assertEquals(2, stray.code(), stray.err());
        assertTrue(stray.err().contains("--fine-tune-lr applies to --fine-tune only"), stray.err());
    }

    @Test
    void killedRunResumesToAByteIdenticalModel() throws Exception {
        Path whole = tmp.resolve("whole");
        Process p0 = start(args(whole), false);
        assertEquals(0, p0.waitFor(3, TimeUnit.MINUTES) ? p0.exitValue() : -1, "uninterrupted run: "
                + Files.readString(tmp.resolve("whole.log")));

        Path killed = tmp.resolve("killed");
        Path checkpoint = killed.resolve("checkpoint.bin");
        int kills = 0;
        for (int trial = 0; trial < 3 && Files.notExists(killed.resolve("model.onnx")); trial++) {
            Process p = start(args(killed), trial > 0);
            // Wait for a fine-tuning checkpoint from this process (an epoch finished), then kill it without warning.
            long before = Files.exists(checkpoint) ? Files.getLastModifiedTime(checkpoint).toMillis() : 0;
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (p.isAlive() && System.nanoTime() < deadline) {
                if (Files.exists(checkpoint) && Files.getLastModifiedTime(checkpoint).toMillis() > before) {
                    break;
                }
                Thread.sleep(10);
            }
            if (p.isAlive()) {
                p.destroyForcibly(); // SIGKILL on Linux
                p.waitFor();
                kills++;
            }
        }
        assertTrue(kills >= 1, "the run should have been killed at least once");
        assertTrue(Files.exists(checkpoint), "a checkpoint survives the kill");
        Process resume = start(args(killed), true);
        assertEquals(0, resume.waitFor(3, TimeUnit.MINUTES) ? resume.exitValue() : -1, "resumed run: "
                + Files.readString(tmp.resolve("killed.log")));
        assertTrue(Files.readString(tmp.resolve("killed.log")).contains("(resumed from a checkpoint)"));
        assertArrayEquals(Files.readAllBytes(whole.resolve("model.onnx")), Files.readAllBytes(killed.resolve(
                "model.onnx")), "resumed model.onnx equals the uninterrupted one");
    }

    private Process start(List<String> args, boolean resume) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-cp", System.getProperty("java.class.path"), TrainHeadCommand.class.getName()));
        cmd.addAll(args);
        if (resume) {
            cmd.add("--resume");
        }
        Path out = Path.of(args.get(args.indexOf("--out") + 1));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(out.resolveSibling(out.getFileName() + ".log").toFile());
        pb.environment().remove("OMP_NUM_THREADS");
        pb.environment().put(ReproducibleTime.VARIABLE, "1764633600");
        return pb.start();
    }
}
