package org.transfer4j.backbone.extract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.ModelException;
import org.transfer4j.ModelException.Reason;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.ChannelOrder;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.testing.TinyModels;

class BackboneTest {
    private static final BackboneOptions CPU = BackboneOptions.builder().optDevice(Device.CPU).optIntraOpThreads(1)
            .build();

    @TempDir
    Path dir;

    private static FloatBuffer random(Backbone b, int n, long seed) {
        FloatBuffer buf = b.newBatchBuffer(n);
        Random r = new Random(seed);
        for (int i = 0; i < buf.capacity(); i++) {
            buf.put(i, r.nextFloat() * 4 - 2);
        }
        return buf;
    }

    private static void assertFeatures(Backbone b, int n, long seed) throws ModelException {
        FloatBuffer buf = random(b, n, seed);
        float[][] f = b.features(buf, n);
        assertEquals(n, f.length);
        BackboneSpec s = b.spec();
        for (int i = 0; i < n; i++) {
            assertArrayEquals(TinyModels.expected(buf, i, s.layout(), s.height(), s.width()), f[i], 1e-5f,
                    "image " + i);
        }
    }

    @Test
    void nchwModelInfersLayoutSizeAndTorchPresetWithAWarning() throws Exception {
        Path m = TinyModels.builder().size(8, 10).write(dir.resolve("tiny.onnx"));
        try (Backbone b = Backbone.load(m, CPU)) {
            BackboneSpec s = b.spec();
            assertEquals("image", s.inputName());
            assertEquals(Layout.NCHW, s.layout());
            assertEquals(8, s.height());
            assertEquals(10, s.width());
            assertEquals("torch", s.preset());
            assertEquals("features", s.outputName());
            assertEquals(3, s.featureDim());
            assertEquals(3, b.featureDim());
            assertEquals(org.transfer4j.backbone.io.Hashes.sha256(m), s.modelSha256());
            assertEquals(Integer.MAX_VALUE, b.maxBatch());
            assertEquals(Device.CPU, b.device());
            assertEquals(SpecResolver.Source.INFERRED, b.specResolution().source());
            String warning = b.specResolution().warning();
            assertNotNull(warning);
            assertTrue(warning.contains("tiny.json") && warning.contains("\"inputName\":\"image\"")
                    && warning.contains("\"layout\":\"NCHW\""), warning);
            assertFeatures(b, 5, 1);
        }
    }

    @Test
    void nhwcModelIsDetectedAndComputedInItsLayout() throws Exception {
        Path m = TinyModels.builder().layout(Layout.NHWC).size(9, 12).inputName("input_1")
                .write(dir.resolve("keras.onnx"));
        try (Backbone b = Backbone.load(m, CPU)) {
            assertEquals(Layout.NHWC, b.spec().layout());
            assertEquals(9, b.spec().height());
            assertEquals(12, b.spec().width());
            assertEquals("input_1", b.spec().inputName());
            assertFeatures(b, 3, 2);
        }
    }

    @Test
    void dynamicSizeDefaultsTo224() throws Exception {
        Path m = TinyModels.builder().dynamicSize().write(dir.resolve("dyn.onnx"));
        try (Backbone b = Backbone.load(m, CPU)) {
            assertEquals(224, b.spec().height());
            assertEquals(224, b.spec().width());
            assertTrue(b.specResolution().warning().contains("dynamic"), b.specResolution().warning());
            assertFeatures(b, 2, 3);
        }
    }

    @Test
    void rank4OutputIsFlattened() throws Exception {
        Path m = TinyModels.builder().rank4Output().outputName("pool5").write(dir.resolve("r4.onnx"));
        try (Backbone b = Backbone.load(m, CPU)) {
            assertEquals("pool5", b.spec().outputName());
            assertEquals(3, b.featureDim());
            assertFeatures(b, 4, 4);
        }
    }

    @Test
    void outputNamedFeaturesWinsOverOtherOutputs() throws Exception {
        Path m = TinyModels.builder().withLogits().withFeatureMap().write(dir.resolve("multi.onnx"));
        try (Backbone b = Backbone.load(m, CPU)) {
            assertEquals("features", b.spec().outputName());
            assertFeatures(b, 2, 5);
        }
    }

    @Test
    void theOnlyPooledOutputIsChosen() throws Exception {
        Path m = TinyModels.builder().outputName("embedding").withFeatureMap().write(dir.resolve("one.onnx"));
        try (Backbone b = Backbone.load(m, CPU)) {
            assertEquals("embedding", b.spec().outputName());
        }
    }

    @Test
    void ambiguousOutputsFailListingThemAndSayingHowToChoose() throws Exception {
        Path m = TinyModels.builder().outputName("embedding").withLogits().write(dir.resolve("amb.onnx"));
        ModelException e = assertThrows(ModelException.class, () -> Backbone.load(m, CPU));
        assertEquals(Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("embedding: FLOAT[batch,3]") && e.getMessage().contains("logits")
                && e.getMessage().contains("outputName") && e.getMessage().contains("amb.json"), e.getMessage());
    }

    @Test
    void sidecarChoosesTheOutputAndPresetAndFillsTheRestFromTheModel() throws Exception {
        Path m = TinyModels.builder().outputName("embedding").withLogits().layout(Layout.NHWC)
                .write(dir.resolve("amb.onnx"));
        Files.writeString(dir.resolve("amb.json"), "{\"preset\":\"caffe\",\"outputName\":\"logits\"}",
                StandardCharsets.UTF_8);
        try (Backbone b = Backbone.load(m, CPU)) {
            assertEquals(SpecResolver.Source.SIDECAR, b.specResolution().source());
            assertNull(b.specResolution().warning());
            assertEquals("caffe", b.spec().preset());
            assertEquals(ChannelOrder.BGR, b.spec().channelOrder());
            assertEquals(Layout.NHWC, b.spec().layout());
            assertEquals("image", b.spec().inputName());
            assertEquals("logits", b.spec().outputName());
            assertEquals(1, b.featureDim());
            FloatBuffer buf = random(b, 2, 6);
            float[][] f = b.features(buf, 2);
            float[] e = TinyModels.expected(buf, 1, Layout.NHWC, 8, 8);
            assertEquals(e[0] + e[1] + e[2], f[1][0], 1e-5f);
        }
    }

    @Test
    void specRoundTripsThroughTheSidecar() throws Exception {
        Path m = TinyModels.builder().write(dir.resolve("rt.onnx"));
        BackboneSpec written;
        try (Backbone b = Backbone.load(m, CPU)) {
            written = b.spec();
        }
        SpecJson.write(written, SpecResolver.sidecarPath(m));
        assertEquals(dir.resolve("rt.json"), SpecResolver.sidecarPath(m));
        assertEquals(dir.resolve("UP.json"), SpecResolver.sidecarPath(dir.resolve("UP.ONNX")));
        assertEquals(dir.resolve("model.bin.json"), SpecResolver.sidecarPath(dir.resolve("model.bin")));
        try (Backbone b = Backbone.load(m, CPU)) {
            assertEquals(SpecResolver.Source.SIDECAR, b.specResolution().source());
            assertEquals(written, b.spec());
        }
    }

    @Test
    void specRoundTripsThroughModelMetadata() throws Exception {
        BackboneSpec tf = Preset.TF.spec("image", Layout.NCHW, 8, 8).withOutputName("features");
        Path m = TinyModels.builder().metadata(OnnxMetadata.SPEC, SpecJson.toJson(tf))
                .write(dir.resolve("meta.onnx"));
        try (Backbone b = Backbone.load(m, CPU)) {
            assertEquals(SpecResolver.Source.METADATA, b.specResolution().source());
            assertTrue(tf.samePreprocessing(b.spec()));
            assertEquals(3, b.spec().featureDim());
        }
    }

    @Test
    void sidecarBeatsMetadataAndOptionsBeatBoth() throws Exception {
        BackboneSpec tf = Preset.TF.spec("image", Layout.NCHW, 8, 8);
        Path m = TinyModels.builder().metadata(OnnxMetadata.SPEC, SpecJson.toJson(tf))
                .write(dir.resolve("both.onnx"));
        Files.writeString(dir.resolve("both.json"), "{\"preset\":\"caffe\"}");
        try (Backbone b = Backbone.load(m, CPU)) {
            assertEquals("caffe", b.spec().preset());
        }
        BackboneSpec torch = Preset.TORCH.spec("image", Layout.NCHW, 8, 8);
        try (Backbone b = Backbone.load(m, BackboneOptions.builder().optDevice(Device.CPU).optSpec(torch).build())) {
            assertEquals(SpecResolver.Source.OPTIONS, b.specResolution().source());
            assertEquals("torch", b.spec().preset());
        }
        Path other = Files.writeString(dir.resolve("other.json"), "{\"preset\":\"tf\"}");
        try (Backbone b = Backbone.load(m, BackboneOptions.builder().optDevice(Device.CPU).optSpecFile(other)
                .build())) {
            assertEquals("tf", b.spec().preset());
        }
    }

    @Test
    void specThatDoesNotFitTheModelIsRefusedNamingItsOrigin() throws Exception {
        Path m = TinyModels.builder().write(dir.resolve("fit.onnx"));
        Files.writeString(dir.resolve("fit.json"), "{\"preset\":\"torch\",\"height\":224,\"width\":224}");
        ModelException e = assertThrows(ModelException.class, () -> Backbone.load(m, CPU));
        assertEquals(Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("fit.json") && e.getMessage().contains("224x224"), e.getMessage());

        Files.writeString(dir.resolve("fit.json"), "{\"preset\":\"torch\",\"inputName\":\"pixels\"}");
        e = assertThrows(ModelException.class, () -> Backbone.load(m, CPU));
        assertEquals(Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("pixels") && e.getMessage().contains("image: FLOAT[batch,3,8,8]"),
                e.getMessage());

        Files.writeString(dir.resolve("fit.json"), "{\"preset\":\"torch\",\"outputName\":\"nope\"}");
        e = assertThrows(ModelException.class, () -> Backbone.load(m, CPU));
        assertEquals(Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("features: FLOAT"), e.getMessage());
    }

    @Test
    void malformedSidecarIsAnInvalidSpecNamingTheFile() throws Exception {
        Path m = TinyModels.builder().write(dir.resolve("bad.onnx"));
        Files.writeString(dir.resolve("bad.json"), "{\"preset\":");
        ModelException e = assertThrows(ModelException.class, () -> Backbone.load(m, CPU));
        assertEquals(Reason.INVALID_SPEC, e.reason());
        assertTrue(e.getMessage().contains("bad.json"), e.getMessage());
        Files.writeString(dir.resolve("bad.json"), "{\"preset\":\"torch\",\"std\":[0,1,1],\"scale\":1}");
        e = assertThrows(ModelException.class, () -> Backbone.load(m, CPU));
        assertEquals(Reason.INVALID_SPEC, e.reason());
    }

    @Test
    void missingFileIsNotFound() {
        ModelException e = assertThrows(ModelException.class, () -> Backbone.load(dir.resolve("none.onnx"), CPU));
        assertEquals(Reason.NOT_FOUND, e.reason());
        assertTrue(e.getMessage().contains("none.onnx"), e.getMessage());
    }

    @Test
    void fileThatIsNotOnnxIsAnInvalidModelNamingTheFile() throws Exception {
        Path junk = Files.writeString(dir.resolve("junk.onnx"), "this is not a protobuf, just some text\n");
        ModelException e = assertThrows(ModelException.class, () -> Backbone.load(junk, CPU));
        assertEquals(Reason.INVALID_MODEL, e.reason());
        assertTrue(e.getMessage().contains("junk.onnx"), e.getMessage());
    }

    @Test
    void nonImageInputIsIncompatibleListingTheInputs() throws Exception {
        Path m = TinyModels.nonImage(dir.resolve("vec.onnx"));
        ModelException e = assertThrows(ModelException.class, () -> Backbone.load(m, CPU));
        assertEquals(Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("vector: FLOAT[batch,10]") && e.getMessage().contains("rank 2"),
                e.getMessage());
    }

    @Test
    void inputTooSmallForAnImageIsIncompatible() throws Exception {
        Path m = TinyModels.builder().size(4, 4).write(dir.resolve("small.onnx"));
        ModelException e = assertThrows(ModelException.class, () -> Backbone.load(m, CPU));
        assertEquals(Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("height") && e.getMessage().contains("image: FLOAT[batch,3,4,4]"),
                e.getMessage());
    }

    @Test
    void explicitCudaThatCannotBeAddedIsDeviceUnavailable() throws Exception {
        Path m = TinyModels.builder().write(dir.resolve("gpu.onnx"));
        ModelException e = assertThrows(ModelException.class,
                () -> Backbone.load(m, BackboneOptions.builder().optDevice("cuda").build()));
        assertEquals(Reason.DEVICE_UNAVAILABLE, e.reason());
        assertTrue(e.getMessage().contains("-Pgpu") && e.getMessage().contains("--device cpu"), e.getMessage());
    }

    @Test
    void autoFallsBackToTheCpu() throws Exception {
        Path m = TinyModels.builder().write(dir.resolve("auto.onnx"));
        try (Backbone b = Backbone.load(m, BackboneOptions.builder().optDevice(Device.AUTO).build())) {
            assertInstanceOf(Device.Cpu.class, b.device());
            assertFeatures(b, 2, 7);
        }
    }

    @Test
    void fixedBatchOneModelRunsAnyBatchOneAtATime() throws Exception {
        Path m = TinyModels.builder().fixedBatch(1).write(dir.resolve("b1.onnx"));
        try (Backbone b = Backbone.load(m, CPU)) {
            assertEquals(1, b.maxBatch());
            assertFeatures(b, 8, 8);
        }
    }

    @Test
    void fixedBatchFourModelPadsShortBatches() throws Exception {
        Path m = TinyModels.builder().fixedBatch(4).write(dir.resolve("b4.onnx"));
        try (Backbone b = Backbone.load(m, CPU)) {
            assertEquals(4, b.maxBatch());
            assertFeatures(b, 3, 9);
            assertFeatures(b, 6, 10);
        }
    }

    @Test
    void featuresUseOnlyTheFirstNImagesOfALargerBuffer() throws Exception {
        Path m = TinyModels.builder().write(dir.resolve("part.onnx"));
        try (Backbone b = Backbone.load(m, CPU)) {
            FloatBuffer buf = random(b, 4, 11);
            buf.position(5).limit(7); // ignored
            float[][] f = b.features(buf, 2);
            assertEquals(2, f.length);
            assertArrayEquals(TinyModels.expected(buf, 1, Layout.NCHW, 8, 8), f[1], 1e-5f);
            assertThrows(IllegalArgumentException.class, () -> b.features(buf, 5));
            FloatBuffer heap = FloatBuffer.allocate(buf.capacity());
            heap.put(buf.duplicate().clear());
            assertArrayEquals(f[1], b.features(heap, 2)[1], 0f);
        }
    }

    @Test
    void deviceParsesTheCliForms() {
        assertEquals(Device.AUTO, Device.parse("auto"));
        assertEquals(Device.CPU, Device.parse("CPU"));
        assertEquals(new Device.Cuda(0), Device.parse("cuda"));
        assertEquals(new Device.Cuda(2), Device.parse("cuda:2"));
        assertEquals("cuda:2", Device.parse("cuda:2").toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Device.parse("tpu"));
        assertTrue(e.getMessage().contains("auto, cpu, cuda or cuda:N"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Device.parse("cuda:x"));
        assertThrows(IllegalArgumentException.class, () -> Device.parse("cuda:-1"));
    }

    @Test
    void optionsAreValidatedOnce() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BackboneOptions.builder().optIntraOpThreads(0).build());
        assertTrue(e.getMessage().contains("intraOpThreads") && e.getMessage().contains("1..1024"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BackboneOptions.builder()
                .optSpec(Preset.TORCH.spec("x", Layout.NCHW, 224, 224)).optSpecFile(Path.of("x.json")).build());
        assertEquals(Runtime.getRuntime().availableProcessors(), BackboneOptions.defaults().intraOpThreads());
        BackboneOptions o = BackboneOptions.builder().optDevice("cpu").optIntraOpThreads(3).optAllowSpinning(true)
                .optSessionConfig("session.set_denormal_as_zero", "1").build();
        BackboneOptions copy = o.toBuilder().optIntraOpThreads(1).build();
        assertEquals(1, copy.intraOpThreads());
        assertEquals(Device.CPU, copy.device());
        assertTrue(copy.allowSpinning());
        assertEquals(java.util.Map.of("session.set_denormal_as_zero", "1"), copy.sessionConfig());
        assertThrows(IllegalArgumentException.class,
                () -> BackboneOptions.builder().optSessionConfig("nodots", "1").build());
    }
}
