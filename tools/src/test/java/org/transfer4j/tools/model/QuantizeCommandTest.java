package org.transfer4j.tools.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.onnx.GraphSurgery;
import org.transfer4j.backbone.onnx.Inspect;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.quantize.QuantizeTestModels;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.tools.Cli;
import org.transfer4j.tools.CliRun;
import org.transfer4j.tools.ExtractCommand;
import org.transfer4j.tools.ModelCommand;

/** model.jar quantize through the CLI runner, and the int8 model it writes fed to extract.jar. */
class QuantizeCommandTest {
    @TempDir
    Path dir;

    private static CliRun model(String... args) {
        return CliRun.run(new ModelCommand(), args);
    }

    @Test
    void quantizesFromAFolderAndTheResultExtractsLikeAnyBackbone() throws Exception {
        Path fp32 = QuantizeTestModels.write(QuantizeTestModels.Kind.RESIDUAL, 31, dir.resolve("m.onnx"));
        Path images = QuantizeTestModels.images(dir.resolve("images"), 4, 32);
        Path out = dir.resolve("m-int8.onnx");

        CliRun r = model("quantize", "--model", fp32.toString(), "--calibrate", images.toString(), "--count", "6",
                "--method", "entropy", "--seed", "9", "--out", out.toString(), "--check", images.toString());

        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("3 of 3 convolutions as integer kernels"), r.out());
        assertTrue(r.err().contains("calibrate: 6/6 images"), r.err());
        assertTrue(r.out().contains("features cosine to float on 8 images: mean 0.9"), r.out());
        assertEquals(Hashes.sha256(out), SpecJson.read(GraphSurgery.sidecarOf(out)).modelSha256());
        Inspect info = Inspect.of(out);
        assertTrue(info.count("QuantizeLinear") > 0 && info.count("Relu") < 3, info.nodeCounts().toString());
        assertTrue(info.metadata().get(OnnxMetadata.QUANTIZATION).contains("\"method\":\"entropy\""));
        assertEquals("float", info.inputs().get(0).elemType());
        assertEquals("float", info.outputs().get(0).elemType());

        Path cache = dir.resolve("cache");
        CliRun x = CliRun.run(new ExtractCommand(), "--backbone", out.toString(), "--images", images.toString(),
                "--out", cache.toString(), "--json");
        assertEquals(0, x.code(), x.err());
        assertEquals(8, x.json().get("extracted").getAsInt());
        assertEquals(0, x.json().get("failed").getAsInt());
    }

    @Test
    void aManifestWorksAndErrorsAreOneLine() throws Exception {
        Path fp32 = QuantizeTestModels.write(QuantizeTestModels.Kind.ONE_CONV, 33, dir.resolve("m.onnx"));
        Path images = QuantizeTestModels.images(dir.resolve("images"), 2, 34);
        Path manifest = Files.writeString(images.resolve("list.csv"), "path,label\na/a00.png,a\nb/b01.png,b\n");
        Path out = dir.resolve("int8.onnx");

        CliRun ok = model("quantize", "--model", fp32.toString(), "--calibrate", manifest.toString(), "--out",
                out.toString());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().contains("on 2 images (percentile"), ok.out());

        CliRun again = model("quantize", "--model", out.toString(), "--calibrate", manifest.toString(), "--out",
                dir.resolve("twice.onnx").toString());
        assertEquals(Cli.EXIT_FAILED, again.code());
        assertTrue(again.err().startsWith("error: ") && again.err().contains("already quantized"), again.err());
        assertEquals(1, again.err().strip().lines().count(), again.err());
        assertFalse(Files.exists(dir.resolve("twice.onnx")));

        CliRun badMethod = model("quantize", "--model", fp32.toString(), "--calibrate", manifest.toString(),
                "--method", "kl", "--out", dir.resolve("x.onnx").toString());
        assertEquals(Cli.EXIT_USAGE, badMethod.code());
        assertTrue(badMethod.err().contains("MINMAX, PERCENTILE, ENTROPY"), badMethod.err());

        CliRun notImages = model("quantize", "--model", fp32.toString(), "--calibrate", fp32.toString(), "--out",
                dir.resolve("x.onnx").toString());
        // A --calibrate value that is neither a folder nor a manifest is a bad flag value: a usage error (exit 2).
        assertEquals(Cli.EXIT_USAGE, notImages.code(), notImages.err());
        assertTrue(notImages.err().contains("neither a folder nor a manifest"), notImages.err());

        assertEquals(Cli.EXIT_USAGE, model("quantize", "--model", fp32.toString()).code());
    }
}
