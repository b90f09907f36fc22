package org.transfer4j.tools.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.catalog.Downloader;
import org.transfer4j.backbone.catalog.LoopbackServer;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.tools.Cli;
import org.transfer4j.tools.CliRun;
import org.transfer4j.tools.model.FetchCommand;

/**
 * {@code model.jar fetch} end to end against a loopback server: download, verify, cut to no-top, sidecar; resume;
 * refusal of a corrupted file. The "published" model is a tiny full classifier built here
 * (GlobalAveragePool → Flatten → Gemm), so nothing leaves the machine.
 */
class FetchCommandTest {
    @TempDir
    Path dir;

    private byte[] model;
    private Path catalog;
    private Path out;

    /** input "data" [N,3,8,8] → Mul(w) → GlobalAveragePool → Flatten → Gemm(3→4) → "logits" [N,4]. */
    static byte[] tinyClassifier() {
        GraphProto g = GraphProto.newBuilder().setName("tiny-classifier")
                .addInput(OnnxModels.tensorInfo("data", OnnxMl.TensorProto.DataType.FLOAT_VALUE,
                        List.of(OnnxModels.dim("N"), OnnxModels.dim(3), OnnxModels.dim(8), OnnxModels.dim(8))))
                .addOutput(OnnxModels.tensorInfo("logits", OnnxMl.TensorProto.DataType.FLOAT_VALUE,
                        List.of(OnnxModels.dim("N"), OnnxModels.dim(4))))
                .addInitializer(OnnxModels.floatTensor("w", new long[] {1, 3, 1, 1}, new float[] {1f, -2f, 0.5f}))
                .addInitializer(OnnxModels.floatTensor("fc_w", new long[] {4, 3},
                        new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}))
                .addInitializer(OnnxModels.floatTensor("fc_b", new long[] {4}, new float[] {0, 0, 0, 0.5f}))
                .addNode(node("Mul", "mul", List.of("data", "w"), "weighted"))
                .addNode(node("GlobalAveragePool", "pool", List.of("weighted"), "pooled"))
                .addNode(node("Flatten", "flatten", List.of("pooled"), "flat").toBuilder()
                        .addAttribute(AttributeProto.newBuilder().setName("axis").setI(1)
                                .setType(AttributeProto.AttributeType.INT)).build())
                .addNode(node("Gemm", "fc", List.of("flat", "fc_w", "fc_b"), "logits").toBuilder()
                        .addAttribute(AttributeProto.newBuilder().setName("transB").setI(1)
                                .setType(AttributeProto.AttributeType.INT)).build())
                .build();
        return ModelProto.newBuilder().setIrVersion(7).setProducerName("transfer4j-test")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
                .setGraph(g).build().toByteArray();
    }

    private static NodeProto node(String op, String name, List<String> in, String out) {
        return NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(in).addOutput(out).build();
    }

    @BeforeEach
    void setUp() throws Exception {
        model = tinyClassifier();
        catalog = Files.createDirectories(dir.resolve("catalog"));
        out = dir.resolve("models");
        Files.writeString(catalog.resolve("tiny.json"), String.format("""
                {"name": "tiny", "description": "a tiny full classifier for tests",
                 "file": "tiny-full.onnx", "urls": ["https://example.invalid/tiny.onnx"],
                 "size": %d, "sha256": "%s", "license": "Apache-2.0",
                 "cut": true, "notop": "tiny-notop.onnx",
                 "spec": {"preset": "torch", "inputName": "data", "height": 8, "width": 8,
                          "outputName": "features", "featureDim": 3}}
                """, model.length, Hashes.sha256(model)));
        Files.writeString(catalog.resolve("recipe.json"), """
                {"name": "recipe", "description": "made by a script", "file": "recipe-notop.onnx", "urls": [],
                 "license": "MIT", "export": "tools/export/keras_resnet50_to_onnx.py",
                 "spec": {"preset": "caffe", "inputName": "input_1", "layout": "NHWC"}}
                """);
    }

    private static CliRun fetch(String... args) {
        return CliRun.run(new FetchCommand(), args);
    }

    @Test
    void downloadsVerifiesCutsAndWritesTheSidecar() throws Exception {
        try (LoopbackServer server = new LoopbackServer(model)) {
            CliRun r = fetch("tiny", "--catalog", catalog.toString(), "--out", out.toString(),
                    "--url", server.url("tiny.onnx").toString());
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(Arrays.equals(model, Files.readAllBytes(out.resolve("tiny-full.onnx"))));
            Path notop = out.resolve("tiny-notop.onnx");
            assertTrue(Files.isRegularFile(notop));
            BackboneSpec spec = SpecJson.read(out.resolve("tiny-notop.json"));
            assertEquals("torch", spec.preset());
            assertEquals("data", spec.inputName());
            assertEquals("features", spec.outputName());
            assertEquals(3, spec.featureDim());
            assertEquals(Hashes.sha256(notop), spec.modelSha256());
            ModelProto cut = OnnxModels.load(notop);
            assertEquals(List.of("features"), cut.getGraph().getOutputList().stream().map(v -> v.getName()).toList());
            assertFalse(cut.getGraph().getNodeList().stream().anyMatch(nd -> nd.getOpType().equals("Gemm")),
                    "the classifier is gone");
            assertTrue(r.out().contains("verified") && r.out().contains("backbone ready"), r.out());
            assertTrue(r.err().contains("(100%)"), "plain progress lines off a terminal: " + r.err());

            // A second run finds the verified file and does not download again.
            CliRun again = fetch("tiny", "--catalog", catalog.toString(), "--out", out.toString(),
                    "--url", server.url("tiny.onnx").toString());
            assertEquals(0, again.code(), again.out() + again.err());
            assertEquals(1, server.requests());
            assertTrue(again.out().contains("already here"), again.out());
        }
    }

    @Test
    void resumesAPartialDownload() throws Exception {
        try (LoopbackServer server = new LoopbackServer(model)) {
            Files.createDirectories(out);
            int have = model.length / 3;
            Files.write(Downloader.partFile(out.resolve("tiny-full.onnx")), Arrays.copyOf(model, have));
            CliRun r = fetch("tiny", "--catalog", catalog.toString(), "--out", out.toString(),
                    "--url", server.url("tiny.onnx").toString());
            assertEquals(0, r.code(), r.out() + r.err());
            assertEquals(List.of("bytes=" + have + "-"), server.ranges);
            assertTrue(r.out().contains("resumed at " + have), r.out());
            assertTrue(Files.isRegularFile(out.resolve("tiny-notop.onnx")));
        }
    }

    @Test
    void refusesACorruptedDownloadAndDeletesIt() throws Exception {
        byte[] bad = model.clone();
        bad[bad.length - 5] ^= 0x40;
        try (LoopbackServer server = new LoopbackServer(bad)) {
            CliRun r = fetch("tiny", "--catalog", catalog.toString(), "--out", out.toString(),
                    "--url", server.url("tiny.onnx").toString());
            assertEquals(Cli.EXIT_FAILED, r.code());
            assertTrue(r.err().contains("error: ") && r.err().contains("sha256") && r.err().contains("deleted"),
                    r.err());
            assertFalse(Files.exists(out.resolve("tiny-full.onnx")));
            assertFalse(Files.exists(Downloader.partFile(out.resolve("tiny-full.onnx"))));
            assertFalse(Files.exists(out.resolve("tiny-notop.onnx")));
        }
    }

    @Test
    void anExportOnlyModelPointsToItsRecipe() {
        CliRun r = fetch("recipe", "--catalog", catalog.toString(), "--out", out.toString());
        assertEquals(Cli.EXIT_FAILED, r.code());
        assertTrue(r.err().contains("tools/export/keras_resnet50_to_onnx.py"), r.err());
    }

    @Test
    void anUnknownNameListsTheCatalogAndListWorks() {
        CliRun r = fetch("resnet99", "--catalog", catalog.toString());
        assertEquals(Cli.EXIT_FAILED, r.code());
        assertTrue(r.err().contains("recipe, tiny"), r.err());
        CliRun list = fetch("--list", "--catalog", catalog.toString());
        assertEquals(0, list.code());
        assertTrue(list.out().contains("tiny") && list.out().contains("tiny-notop.onnx"), list.out());
    }

    @Test
    void theRepositoryCatalogIsFoundByDefault() {
        // Run from the module folder: no ./models here, so the catalog beside the build output is used.
        CliRun list = fetch("--list");
        assertEquals(0, list.code(), list.err());
        assertTrue(list.out().contains("resnet50-v1-12") && list.out().contains("resnet50-notop.onnx"), list.out());
    }
}
