package org.transfer4j.tools.predict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.head.HeadInfo;
import org.transfer4j.head.HeadWeights;
import org.transfer4j.head.TrainingConfig;
import org.transfer4j.head.compose.Composer;
import org.transfer4j.testing.TinyModels;
import org.transfer4j.tools.Cli;
import org.transfer4j.tools.CliRun;
import org.transfer4j.tools.PredictCommand;

/**
 * predict.jar through {@link Cli#run}: output formats, per-file errors, exit codes and --evaluate, on a tiny backbone
 * (per-channel means) with a hand-made head that tells red images from blue ones.
 */
class PredictCommandTest {
    @TempDir
    static Path dir;
    static Path backbone;
    static Path head;
    static Path images;
    static Path composed;

    @BeforeAll
    static void setUp() throws Exception {
        backbone = TinyModels.builder().size(16, 16).write(dir.resolve("tiny.onnx"));
        BackboneSpec spec = specOf(backbone);
        // features = (R·1, G·-2, B·0.5) channel means after torch normalisation: red is high f0, low f2.
        HeadWeights w = new HeadWeights(List.of("blue", "red"), 3, 0, new float[0], new float[0],
                new float[] {-4, 4, 0, 0, 8, -8}, new float[] {0, 0}, spec);
        head = dir.resolve("head");
        HeadFiles.write(head, w, new HeadInfo(TrainingConfig.defaults(), 1, 1, null));
        composed = Composer.compose(backbone, w, Map.of(), dir.resolve("model.onnx")).model();
        images = dir.resolve("images");
        write(images.resolve("red/r1.png"), Color.RED, 20, 30);
        write(images.resolve("red/r2.jpg"), new Color(230, 20, 30), 40, 24);
        write(images.resolve("blue/b1.png"), Color.BLUE, 18, 18);
    }

    /** The spec {@link Backbone#load} resolves for {@code model} (output name, feature dim and sha256 filled in). */
    static BackboneSpec specOf(Path model) throws Exception {
        try (Backbone b = Backbone.load(model, BackboneOptions.builder().optDevice(Device.CPU).optIntraOpThreads(1)
                .build())) {
            return b.spec();
        }
    }

    static void write(Path file, Color color, int w, int h) throws IOException {
        Files.createDirectories(file.getParent());
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(color);
        g.fillRect(0, 0, w, h);
        g.dispose();
        String name = file.getFileName().toString();
        ImageIO.write(img, name.substring(name.lastIndexOf('.') + 1), file.toFile());
    }

    static CliRun run(String... args) {
        return CliRun.run(new PredictCommand(), args);
    }

    @Test
    void textOutputListsEveryImageAndABadFileDoesNotStopTheRun() throws IOException {
        Path bad = dir.resolve("broken.png");
        Files.write(bad, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
        CliRun r = run("--backbone", backbone.toString(), "--head", head.toString(), "--device", "cpu",
                images.toString(), bad.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.outLines();
        assertEquals(3, lines.size(), r.out());
        // Folders are walked in sorted order: blue/b1, red/r1, red/r2.
        assertTrue(lines.get(0).contains("b1.png\tblue\t"), lines.get(0));
        assertTrue(lines.get(1).contains("r1.png\tred\t"), lines.get(1));
        assertTrue(lines.get(2).contains("r2.jpg\tred\t"), lines.get(2));
        assertTrue(r.err().contains("error: ") && r.err().contains("broken.png"), r.err());
    }

    @Test
    void jsonLinesHavePathLabelProbabilityAndTop() throws IOException {
        Path bad = dir.resolve("broken2.jpg");
        Files.write(bad, new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 0});
        CliRun r = run("--backbone", backbone.toString(), "--head", head.toString(), "--device", "cpu", "--json",
                "--top", "2", bad.toString(), images.resolve("red/r1.png").toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.outLines();
        assertEquals(2, lines.size(), r.out());
        JsonObject err = JsonParser.parseString(lines.get(0)).getAsJsonObject();
        assertTrue(err.get("path").getAsString().endsWith("broken2.jpg"));
        assertTrue(err.has("error") && err.has("reason"), lines.get(0));
        JsonObject ok = JsonParser.parseString(lines.get(1)).getAsJsonObject();
        assertEquals("red", ok.get("label").getAsString());
        double p = ok.get("probability").getAsDouble();
        assertTrue(p > 0.5 && p <= 1, lines.get(1));
        assertEquals(2, ok.getAsJsonArray("top").size());
        assertEquals("red", ok.getAsJsonArray("top").get(0).getAsJsonObject().get("label").getAsString());
    }

    @Test
    void composedModelAnswersLikeBackbonePlusHead() {
        CliRun twoPart = run("--backbone", backbone.toString(), "--head", head.toString(), "--device", "cpu", "--json",
                images.toString());
        CliRun one = run("--model", composed.toString(), "--device", "cpu", "--json", images.toString());
        assertEquals(0, one.code(), one.err());
        List<String> a = twoPart.outLines();
        List<String> b = one.outLines();
        assertEquals(3, b.size(), one.out());
        for (int i = 0; i < 3; i++) {
            JsonObject x = JsonParser.parseString(a.get(i)).getAsJsonObject();
            JsonObject y = JsonParser.parseString(b.get(i)).getAsJsonObject();
            assertEquals(x.get("path"), y.get("path"));
            assertEquals(x.get("label"), y.get("label"));
            assertEquals(x.get("probability").getAsDouble(), y.get("probability").getAsDouble(), 1e-5);
        }
    }

    @Test
    void nothingPredictableExitsOne() throws IOException {
        Path bad = dir.resolve("only-bad.gif");
        Files.writeString(bad, "not a gif");
        CliRun r = run("--backbone", backbone.toString(), "--head", head.toString(), "--device", "cpu", bad.toString());
        assertEquals(Cli.EXIT_FAILED, r.code());
        assertTrue(r.err().contains("none of the 1 files could be predicted"), r.err());
    }

    @Test
    void evaluateReportsAccuracyPerClassAndConfusion() {
        CliRun json = run("--backbone", backbone.toString(), "--head", head.toString(), "--device", "cpu", "--json",
                "--evaluate", images.toString());
        assertEquals(0, json.code(), json.err());
        JsonObject o = JsonParser.parseString(json.out().strip()).getAsJsonObject();
        assertEquals(1.0, o.get("accuracy").getAsDouble(), 1e-12);
        assertEquals(3, o.get("predicted").getAsInt());
        assertEquals(2, o.getAsJsonObject("per_class").getAsJsonObject("red").get("support").getAsInt());
        assertEquals("[[1,0],[0,2]]", o.getAsJsonArray("confusion").toString());

        CliRun text = run("--backbone", backbone.toString(), "--head", head.toString(), "--device", "cpu",
                "--evaluate", images.toString());
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().startsWith("accuracy 1.0000 (3 of 3 images right)"), text.out());
        assertTrue(text.out().contains("confusion matrix"), text.out());
    }

    @Test
    void headOfAnotherBackboneIsAOneLineError() {
        Path other = TinyModels.builder().size(16, 16).inputName("x").write(dir.resolve("other.onnx"));
        CliRun r = run("--backbone", other.toString(), "--head", head.toString(), "--device", "cpu",
                images.toString());
        assertEquals(Cli.EXIT_FAILED, r.code());
        assertTrue(r.err().startsWith("error: ") && r.err().contains("sha256"), r.err());
        assertEquals(1, r.err().strip().split("\\R").length, r.err());
    }

    @Test
    void usageErrorsExitTwo() {
        assertEquals(Cli.EXIT_USAGE, run(images.toString()).code());
        assertEquals(Cli.EXIT_USAGE, run("--backbone", backbone.toString(), images.toString()).code());
        assertEquals(Cli.EXIT_USAGE, run("--backbone", backbone.toString(), "--head", head.toString()).code());
    }
}
