package org.transfer4j.backbone.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.onnx.OnnxTestModels.Ending;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.backbone.spec.SpecJson;

class GraphSurgeryTest {
    private static final int FLOATS = 3 * OnnxTestModels.SIDE * OnnxTestModels.SIDE;
    private static final long[] SHAPE3 = {3, 3, OnnxTestModels.SIDE, OnnxTestModels.SIDE};

    @TempDir
    Path dir;

    @Test
    void cutExposesThePooledTensorExactlyAndDropsTheClassifier() throws Exception {
        Path full = OnnxTestModels.write(Ending.CLASSIFIER, 1, dir.resolve("full.onnx"));
        Path notop = dir.resolve("notop.onnx");

        GraphSurgery.CutResult r = GraphSurgery.cutToNoTop(full, notop, null);

        assertEquals("GlobalAveragePool", r.poolOp());
        assertEquals(OnnxTestModels.CHANNELS, r.featureDim());
        assertFalse(r.dequantized());
        float[] x = OnnxTestModels.randomInput(3, FLOATS, 7);
        float[][] expected = OnnxTestModels.run(full, OnnxTestModels.INPUT, x, SHAPE3, "pooled_check")
                .get("pooled_check");
        float[][] actual = OnnxTestModels.run(notop, OnnxTestModels.INPUT, x, SHAPE3, "features").get("features");
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(expected[i], actual[i], 0f, "row " + i);
        }
        ModelProto cut = OnnxModels.load(notop);
        Inspect info = Inspect.of(cut, notop.toString(), 0);
        assertEquals(List.of("features"), info.outputs().stream().map(Inspect.Tensor::name).toList());
        assertEquals(List.of("batch", "4"), info.outputs().get(0).dims());
        assertEquals(0, info.count("Gemm"));
        assertEquals(0, info.count("Softmax"));
        // Only the conv weights survive: the classifier's initializers went with it.
        assertEquals(2, cut.getGraph().getInitializerCount());
        assertTrue(r.removedNodes().stream().anyMatch(n -> n.startsWith("Gemm")), r.removedNodes().toString());
    }

    @Test
    void cutWritesATorchSidecarWithTheNewFilesHash() throws Exception {
        Path full = OnnxTestModels.write(Ending.CLASSIFIER, 2, dir.resolve("full.onnx"));
        Path notop = dir.resolve("out/notop.onnx");

        GraphSurgery.CutResult r = GraphSurgery.cutToNoTop(full, notop, null);

        assertEquals(dir.resolve("out/notop.json"), r.sidecar());
        BackboneSpec spec = SpecJson.read(r.sidecar());
        assertEquals("torch", spec.preset());
        assertEquals(OnnxTestModels.INPUT, spec.inputName());
        assertEquals(Layout.NCHW, spec.layout());
        assertEquals(8, spec.height());
        assertEquals("features", spec.outputName());
        assertEquals(4, spec.featureDim());
        assertEquals(Hashes.sha256(notop), spec.modelSha256());
        assertFalse(r.warnings().isEmpty(), "an assumed preset must be pointed out");
        // The spec is also embedded (without the hash, which cannot be inside the file it hashes).
        BackboneSpec embedded = SpecJson.fromJson(OnnxModels.metadata(OnnxModels.load(notop),
                OnnxMetadata.SPEC).orElseThrow());
        assertNull(embedded.modelSha256());
        assertTrue(embedded.samePreprocessing(spec));
    }

    @Test
    void cutKeepsTheSourceSidecarsPreprocessing() throws Exception {
        Path full = OnnxTestModels.write(Ending.CLASSIFIER, 3, dir.resolve("full.onnx"));
        BackboneSpec caffe = Preset.CAFFE.spec(OnnxTestModels.INPUT, Layout.NCHW, 8, 8);
        SpecJson.write(caffe, dir.resolve("full.json"));

        GraphSurgery.CutResult r = GraphSurgery.cutToNoTop(full, dir.resolve("notop.onnx"), null);

        assertEquals("caffe", r.spec().preset());
        assertTrue(r.warnings().isEmpty(), r.warnings().toString());
    }

    @Test
    void noPoolingIsAClearErrorThatSuggestsAt() throws Exception {
        Path full = OnnxTestModels.write(Ending.NO_POOLING, 4, dir.resolve("flat.onnx"));
        Path notop = dir.resolve("notop.onnx");

        ModelException e = assertThrows(ModelException.class, () -> GraphSurgery.cutToNoTop(full, notop, null));

        assertEquals(ModelException.Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("--at"), e.getMessage());
        assertTrue(e.getMessage().contains("flat.onnx"), e.getMessage());
        assertFalse(Files.exists(notop), "nothing is written on failure");
    }

    @Test
    void kerasStyleReduceMeanOverNhwcIsFoundAndTheSidecarIsNhwc() throws Exception {
        Path full = OnnxTestModels.write(Ending.KERAS_NHWC, 11, dir.resolve("keras.onnx"));
        Path notop = dir.resolve("keras-notop.onnx");

        GraphSurgery.CutResult r = GraphSurgery.cutToNoTop(full, notop, null);

        assertEquals("ReduceMean", r.poolOp());
        assertEquals(OnnxTestModels.CHANNELS, r.featureDim());
        assertEquals(Layout.NHWC, r.spec().layout());
        assertEquals(8, r.spec().height());
        long[] shape = {3, OnnxTestModels.SIDE, OnnxTestModels.SIDE, 3};
        float[] x = OnnxTestModels.randomInput(3, FLOATS, 13);
        float[][] expected = OnnxTestModels.run(full, OnnxTestModels.INPUT, x, shape, "pooled_check")
                .get("pooled_check");
        float[][] actual = OnnxTestModels.run(notop, OnnxTestModels.INPUT, x, shape, "features").get("features");
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(expected[i], actual[i], 0f);
        }
        assertEquals(0, Inspect.of(notop).count("MatMul"));
    }

    @Test
    void aSqueezeExcitationPoolingIsNotTakenForTheFeatures() throws Exception {
        Path full = OnnxTestModels.write(Ending.SQUEEZE_EXCITE, 12, dir.resolve("se.onnx"));

        ModelException e = assertThrows(ModelException.class,
                () -> GraphSurgery.cutToNoTop(full, dir.resolve("se-notop.onnx"), null));

        assertTrue(e.getMessage().contains("squeeze-and-excitation"), e.getMessage());
        assertTrue(e.getMessage().contains("--at"), e.getMessage());
    }

    @Test
    void cuttingANoTopModelSaysItIsAlreadyOne() throws Exception {
        Path notop = OnnxTestModels.write(Ending.BACKBONE_RANK2, 4, dir.resolve("notop.onnx"));

        ModelException e = assertThrows(ModelException.class,
                () -> GraphSurgery.cutToNoTop(notop, dir.resolve("again.onnx"), null));

        assertTrue(e.getMessage().contains("no-top backbone already"), e.getMessage());
    }

    @Test
    void atCutsAtTheNamedTensor() throws Exception {
        Path full = OnnxTestModels.write(Ending.NO_POOLING, 5, dir.resolve("flat.onnx"));
        ModelProto m = OnnxModels.load(full);
        // The Flatten's input is the ReLU output: cut there.
        String relu = m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Relu")).findFirst()
                .orElseThrow().getOutput(0);

        GraphSurgery.CutResult r = GraphSurgery.cutToNoTop(full, dir.resolve("at.onnx"), relu);

        int flat = OnnxTestModels.CHANNELS * OnnxTestModels.SIDE * OnnxTestModels.SIDE;
        assertEquals(flat, r.featureDim());
        float[] x = OnnxTestModels.randomInput(3, FLOATS, 9);
        float[][] expected = OnnxTestModels.run(full, OnnxTestModels.INPUT, x, SHAPE3, "flat_check")
                .get("flat_check");
        float[][] actual = OnnxTestModels.run(dir.resolve("at.onnx"), OnnxTestModels.INPUT, x, SHAPE3, "features")
                .get("features");
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(expected[i], actual[i], 0f);
        }
    }

    @Test
    void atAnUnknownTensorNamesIt() throws Exception {
        Path full = OnnxTestModels.write(Ending.CLASSIFIER, 6, dir.resolve("full.onnx"));

        ModelException e = assertThrows(ModelException.class,
                () -> GraphSurgery.cutToNoTop(full, dir.resolve("x.onnx"), "no_such_tensor"));

        assertTrue(e.getMessage().contains("no_such_tensor"), e.getMessage());
    }

    @Test
    void aModelThatAlreadyHasAFeaturesOutputIsCutCleanly() throws Exception {
        // A model exposing "features" beside its classifier (like the zoo -features variants).
        Path full = dir.resolve("full.onnx");
        ModelProto m = OnnxTestModels.build(Ending.CLASSIFIER, 8);
        OnnxModels.save(m.toBuilder().setGraph(Graphs.renameTensor(m.getGraph(), "pooled_check", "features"))
                .build(), full);

        GraphSurgery.CutResult r = GraphSurgery.cutToNoTop(full, dir.resolve("notop.onnx"), null);

        assertEquals(4, r.featureDim());
        Inspect info = Inspect.of(dir.resolve("notop.onnx"));
        assertEquals(1, info.outputs().size());
        assertEquals("features", info.outputs().get(0).name());
    }

    @Test
    void loadRefusesGarbageAndMissingFiles() throws Exception {
        Path junk = dir.resolve("junk.onnx");
        Files.writeString(junk, "this is not a model");
        ModelException bad = assertThrows(ModelException.class, () -> OnnxModels.load(junk));
        assertEquals(ModelException.Reason.INVALID_MODEL, bad.reason());
        ModelException missing = assertThrows(ModelException.class, () -> OnnxModels.load(dir.resolve("no.onnx")));
        assertEquals(ModelException.Reason.NOT_FOUND, missing.reason());
    }

    @Test
    void metadataRoundTrips() throws Exception {
        ModelProto m = OnnxModels.withMetadata(OnnxTestModels.build(Ending.BACKBONE_RANK2, 1),
                Map.of("a", "1", "b", "two"));
        m = OnnxModels.withMetadata(m, Map.of("a", "one"));
        Path f = dir.resolve("m.onnx");
        OnnxModels.save(m, f);
        ModelProto back = OnnxModels.load(f);
        assertEquals("one", OnnxModels.metadata(back, "a").orElseThrow());
        assertEquals("two", OnnxModels.metadata(back, "b").orElseThrow());
        assertEquals(2, OnnxModels.metadata(back).size());
        assertEquals(m, back);
        String text = Inspect.of(f).toText();
        assertTrue(text.contains("image float [batch, 3, 8, 8]"), text);
        assertTrue(text.contains("features float [batch, 4]"), text);
        assertTrue(text.contains("b: two"), text);
    }
}
