package org.transfer4j.backbone.quantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.image.ImageDecoder;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.onnx.GraphSurgery;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.preprocess.Preprocessor;
import org.transfer4j.backbone.quantize.QuantizeTestModels.Kind;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.testing.TinyModels;

/** Quantizing tiny CNNs built in code: error within bounds derived from the scales, fusion, determinism, errors. */
class QuantizerTest {
    @TempDir
    Path dir;

    private Path images() throws IOException {
        Path root = dir.resolve("images");
        return Files.isDirectory(root) ? root : QuantizeTestModels.images(root, 6, 11);
    }

    private QuantizationResult quantize(Path model, Path out, CalibrationMethod method, boolean reduceRange)
            throws Exception {
        return Quantizer.builder(model).setCalibration(Dataset.fromFolder(images())).optMethod(method)
                .optReduceRange(reduceRange).optThreads(1).build().quantizeTo(out);
    }

    @Test
    void oneConvStaysWithinTheErrorBoundItsScalesAllow() throws Exception {
        Path model = QuantizeTestModels.write(Kind.ONE_CONV, 3, dir.resolve("one.onnx"));
        Path out = dir.resolve("one-int8.onnx");
        // 7-bit weights: the bound assumes exact integer products, which AVX2's vpmaddubsw only gives below 8 bits.
        QuantizationResult r = quantize(model, out, CalibrationMethod.MINMAX, true);
        assertEquals(1, r.fusedConvs(), r.runtimeOps().toString());

        ModelProto q = OnnxModels.load(out);
        ModelProto f = OnnxModels.load(model);
        Map<String, TensorProto> inits = new HashMap<>();
        q.getGraph().getInitializerList().forEach(t -> inits.put(t.getName(), t));
        NodeProto inputQ = only(q, n -> n.getOpType().equals("QuantizeLinear")
                && n.getInput(0).equals(QuantizeTestModels.INPUT));
        NodeProto conv = only(q, n -> n.getOpType().equals("Conv"));
        NodeProto outputQ = only(q, n -> n.getOpType().equals("QuantizeLinear")
                && n.getInput(0).equals(conv.getOutput(0)));
        NodeProto weightDq = only(q, n -> n.getOpType().equals("DequantizeLinear")
                && n.getOutput(0).equals(conv.getInput(1)));
        float sx = OnnxModels.floats(inits.get(inputQ.getInput(1)))[0];
        int zx = inits.get(inputQ.getInput(2)).getRawData().byteAt(0) & 0xFF;
        float sy = OnnxModels.floats(inits.get(outputQ.getInput(1)))[0];
        float[] sw = OnnxModels.floats(inits.get(weightDq.getInput(1)));
        byte[] wq = inits.get(weightDq.getInput(0)).getRawData().toByteArray();
        String weightName = only(f, n -> n.getOpType().equals("Conv")).getInput(1);
        float[] w = OnnxModels.floats(f.getGraph().getInitializerList().stream()
                .filter(t -> t.getName().equals(weightName)).findFirst().orElseThrow());
        int channels = sw.length;
        int taps = w.length / channels;
        int side = QuantizeTestModels.SIDE;

        FloatBuffer input = calibrationBatch(model);
        float[][][] both = featuresOf(model, out, input);
        double worst = 0;
        double largestBound = 0;
        double largestFeature = 0;
        for (int i = 0; i < both[0].length; i++) {
            for (int c = 0; c < channels; c++) {
                // Per output element: |sum w x - sum w^ x^| <= sum |w| |x - x^| + |x^| |w - w^|, plus the bias
                // rounding (sx*sw/2) and the output rounding (sy/2). ReLU and the average over positions do not
                // enlarge it, so the feature error is at most the mean of the per-element bounds.
                double sum = 0;
                for (int oy = 0; oy < side; oy++) {
                    for (int ox = 0; ox < side; ox++) {
                        for (int k = 0; k < taps; k++) {
                            int ci = k / 9;
                            int y = oy + (k % 9) / 3 - 1;
                            int x = ox + k % 3 - 1;
                            if (y < 0 || x < 0 || y >= side || x >= side) {
                                continue;
                            }
                            float v = input.get(((i * 3 + ci) * side + y) * side + x);
                            double vq = (Math.max(0, Math.min(255, Math.rint(v / sx) + zx)) - zx) * sx;
                            double wv = w[c * taps + k];
                            double wh = wq[c * taps + k] * (double) sw[c];
                            sum += Math.abs(wv) * Math.abs(v - vq) + Math.abs(vq) * Math.abs(wv - wh);
                        }
                    }
                }
                double bound = sum / (side * side) + sx * sw[c] / 2 + sy / 2 + 1e-5;
                double err = Math.abs(both[0][i][c] - both[1][i][c]);
                assertTrue(err <= bound, "image " + i + " channel " + c + ": error " + err + " > bound " + bound);
                worst = Math.max(worst, err);
                largestBound = Math.max(largestBound, bound);
                largestFeature = Math.max(largestFeature, Math.abs(both[0][i][c]));
            }
        }
        assertTrue(worst > 0, "int8 features equal the float ones exactly: the model did not run quantized");
        // Worst-case alignment of every rounding makes the bound ~10x the typical error, but a wrong scale, axis or
        // bias would still break it: errors would be the size of the features themselves.
        assertTrue(largestBound < 0.2 * largestFeature, "the bound " + largestBound + " is too loose to mean "
                + "anything next to features up to " + largestFeature);
    }

    @Test
    void residualModelFusesEveryConvAndAddAndKeepsFeaturesClose() throws Exception {
        Path model = QuantizeTestModels.write(Kind.RESIDUAL, 5, dir.resolve("res.onnx"));
        Path out = dir.resolve("res-int8.onnx");

        QuantizationResult r = quantize(model, out, CalibrationMethod.MINMAX, false);

        assertEquals(Map.of("Conv", 3, "Add", 1, "MaxPool", 1, "Gemm", 1), r.quantizedNodes());
        assertEquals(3, r.convs());
        // What ONNX Runtime runs, from its optimized-model output: every Conv an integer QLinearConv, the residual
        // Add a QLinearAdd, no float Conv left.
        assertEquals(3, r.runtimeOps().getOrDefault("QLinearConv", 0), r.runtimeOps().toString());
        assertEquals(1, r.runtimeOps().getOrDefault("QLinearAdd", 0), r.runtimeOps().toString());
        assertEquals(0, r.floatConvs(), r.runtimeOps().toString());
        assertEquals(r.runtimeOps(), OrtOptimizer.runtimeOpCounts(out));

        float[][][] both = featuresOfCalibrationImages(model, out);
        for (int i = 0; i < both[0].length; i++) {
            double cos = FeatureAgreement.cosine(both[0][i], both[1][i]);
            assertTrue(cos > 0.99, "image " + i + ": cosine " + cos);
        }
        // Input and features stay float, so the int8 file is an ordinary backbone.
        try (Backbone b = Backbone.load(out, BackboneOptions.builder().optDevice(Device.CPU).build())) {
            assertEquals(Kind.RESIDUAL.featureDim(), b.featureDim());
            assertEquals(Hashes.sha256(out), b.spec().modelSha256());
        }
    }

    @Test
    void aKerasStyleNhwcBackboneQuantizesToo() throws Exception {
        // tf2onnx layout: NHWC input, Transpose, Conv, Relu, Transpose, ReduceMean over H and W.
        Path full = org.transfer4j.backbone.onnx.OnnxTestModels.write(
                org.transfer4j.backbone.onnx.OnnxTestModels.Ending.KERAS_NHWC, 12, dir.resolve("keras.onnx"));
        Path notop = dir.resolve("keras-notop.onnx");
        GraphSurgery.cutToNoTop(full, notop, null);
        Path out = dir.resolve("keras-int8.onnx");

        QuantizationResult r = quantize(notop, out, CalibrationMethod.ENTROPY, false);

        assertEquals(1, r.fusedConvs(), r.runtimeOps().toString());
        assertEquals(org.transfer4j.backbone.spec.Layout.NHWC, r.spec().layout());
        try (Backbone b = Backbone.load(out, cpu())) {
            assertEquals(4, b.featureDim());
        }
    }

    @Test
    void eachMethodGivesAWorkingModelAndHistogramMethodsNeverWidenARange() throws Exception {
        Path model = QuantizeTestModels.write(Kind.RESIDUAL, 6, dir.resolve("res.onnx"));
        Map<CalibrationMethod, Map<String, Float>> scales = new HashMap<>();
        for (CalibrationMethod m : CalibrationMethod.values()) {
            Path out = dir.resolve("res-" + m.word() + ".onnx");
            QuantizationResult r = quantize(model, out, m, false);
            assertEquals(3, r.fusedConvs());
            ModelProto q = OnnxModels.load(out);
            JsonObject meta = JsonParser.parseString(OnnxModels.metadata(q, OnnxMetadata.QUANTIZATION)
                    .orElseThrow()).getAsJsonObject();
            assertEquals(m.word(), meta.get("method").getAsString());
            Map<String, Float> activationScales = new HashMap<>();
            q.getGraph().getInitializerList().stream().filter(t -> t.getDimsCount() == 0
                    && t.getDataType() == TensorProto.DataType.FLOAT_VALUE)
                    .forEach(t -> activationScales.put(t.getName(), OnnxModels.floats(t)[0]));
            scales.put(m, activationScales);
            float[][][] both = featuresOfCalibrationImages(model, out);
            for (int i = 0; i < both[0].length; i++) {
                assertTrue(FeatureAgreement.cosine(both[0][i], both[1][i]) > 0.98, m + " image " + i);
            }
        }
        // Percentile and entropy clip inside [min, max], so no activation step may exceed min/max's; entropy clips.
        Map<String, Float> minmax = scales.get(CalibrationMethod.MINMAX);
        assertEquals(7, minmax.size(), minmax.toString());
        boolean entropyClipped = false;
        for (CalibrationMethod m : List.of(CalibrationMethod.PERCENTILE, CalibrationMethod.ENTROPY)) {
            assertEquals(minmax.keySet(), scales.get(m).keySet());
            for (var e : scales.get(m).entrySet()) {
                assertTrue(e.getValue() <= minmax.get(e.getKey()) * (1 + 1e-6f), m + " " + e);
                entropyClipped |= m == CalibrationMethod.ENTROPY && e.getValue() < 0.99f * minmax.get(e.getKey());
            }
        }
        assertTrue(entropyClipped, "entropy calibration clipped nothing: " + scales);
    }

    @Test
    void sameInputsGiveTheSameBytesAndTheCalibrationIsRecorded() throws Exception {
        Path model = QuantizeTestModels.write(Kind.RESIDUAL, 7, dir.resolve("res.onnx"));
        Dataset ds = Dataset.fromFolder(images());
        Path a = dir.resolve("a/int8.onnx");
        Path b = dir.resolve("b/int8.onnx");
        Path c = dir.resolve("c/int8.onnx");
        List<String> lines = new ArrayList<>();
        Quantizer.builder(model).setCalibration(ds).optCount(5).optSeed(3).optMethod(CalibrationMethod.PERCENTILE)
                .optProgress(lines::add).build().quantizeTo(a);
        QuantizationResult rb = Quantizer.builder(model).setCalibration(ds).optCount(5).optSeed(3)
                .optMethod(CalibrationMethod.PERCENTILE).build().quantizeTo(b);
        QuantizationResult rc = Quantizer.builder(model).setCalibration(ds).optCount(5).optSeed(4)
                .optMethod(CalibrationMethod.PERCENTILE).build().quantizeTo(c);

        assertEquals(-1L, Files.mismatch(a, b), "same model, images, method and seed must give the same bytes");
        assertNotEquals(-1L, Files.mismatch(a, c), "another seed picks other images");
        assertNotEquals(rb.calibration().datasetSha256(), rc.calibration().datasetSha256());
        assertTrue(lines.stream().anyMatch(l -> l.contains("5/5 images")), lines.toString());

        JsonObject meta = JsonParser.parseString(OnnxModels.metadata(OnnxModels.load(b),
                OnnxMetadata.QUANTIZATION).orElseThrow()).getAsJsonObject();
        assertEquals("percentile", meta.get("method").getAsString());
        assertEquals(5, meta.get("images").getAsInt());
        assertEquals(12, meta.get("available").getAsInt());
        assertEquals(3, meta.get("seed").getAsLong());
        assertEquals(rb.calibration().datasetSha256(), meta.get("dataset_sha256").getAsString());
        assertEquals(Hashes.sha256(model), meta.get("source_sha256").getAsString());
        // The sidecar is the source's spec with the new file's sha256; the metadata keeps the spec too.
        var sidecar = SpecJson.read(GraphSurgery.sidecarOf(b));
        assertEquals(Hashes.sha256(b), sidecar.modelSha256());
        assertTrue(sidecar.samePreprocessing(QuantizeTestModels.spec().withOutputName("features")));
        assertTrue(OnnxModels.metadata(OnnxModels.load(b), OnnxMetadata.SPEC).isPresent());
    }

    @Test
    void anAlreadyQuantizedModelIsRefused() throws Exception {
        Path model = QuantizeTestModels.write(Kind.ONE_CONV, 8, dir.resolve("one.onnx"));
        Path once = dir.resolve("once.onnx");
        quantize(model, once, CalibrationMethod.MINMAX, false);

        ModelException e = assertThrows(ModelException.class, () -> quantize(once, dir.resolve("twice.onnx"),
                CalibrationMethod.MINMAX, false));

        assertEquals(ModelException.Reason.ALREADY_QUANTIZED, e.reason());
        assertTrue(e.getMessage().contains("already quantized") && e.getMessage().contains("QuantizeLinear"),
                e.getMessage());
        assertTrue(Files.notExists(dir.resolve("twice.onnx")));
    }

    @Test
    void aModelWithoutConvGemmOrMatMulIsRefused() throws Exception {
        Path model = TinyModels.builder().size(16, 16).write(dir.resolve("mul.onnx"));
        SpecJson.write(QuantizeTestModels.spec(), GraphSurgery.sidecarOf(model));

        ModelException e = assertThrows(ModelException.class, () -> quantize(model, dir.resolve("mul-int8.onnx"),
                CalibrationMethod.MINMAX, false));

        assertEquals(ModelException.Reason.NOTHING_TO_QUANTIZE, e.reason());
        assertTrue(e.getMessage().contains("no Conv, Gemm or MatMul"), e.getMessage());
    }

    @Test
    void anEmptyCalibrationSetIsRefused() throws Exception {
        Path model = QuantizeTestModels.write(Kind.ONE_CONV, 9, dir.resolve("one.onnx"));

        ModelException e = assertThrows(ModelException.class, () -> Quantizer.builder(model)
                .setCalibration(List.of()).build().quantizeTo(dir.resolve("x.onnx")));

        assertEquals(ModelException.Reason.NO_CALIBRATION_IMAGES, e.reason());
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    @Test
    void undecodableImagesAreSkippedAndNoneAtAllIsAnError() throws Exception {
        Path model = QuantizeTestModels.write(Kind.ONE_CONV, 10, dir.resolve("one.onnx"));
        Path broken = Files.writeString(dir.resolve("broken.png"), "not a png");

        ModelException e = assertThrows(ModelException.class, () -> Quantizer.builder(model)
                .setCalibration(List.of(broken)).build().quantizeTo(dir.resolve("x.onnx")));
        assertEquals(ModelException.Reason.NO_CALIBRATION_IMAGES, e.reason());

        List<Path> files = new ArrayList<>(Dataset.fromFolder(images()).images().stream().map(LabeledImage::path)
                .toList());
        files.add(broken);
        QuantizationResult r = Quantizer.builder(model).setCalibration(files).build()
                .quantizeTo(dir.resolve("y.onnx"));
        assertEquals(12, r.calibration().images());
        assertEquals(1, r.calibration().failed().size());
    }

    @Test
    void optionsAreValidated() {
        Path model = dir.resolve("m.onnx");
        assertThrows(IllegalArgumentException.class, () -> Quantizer.builder(model).setCalibration(List.of())
                .optCount(0).build());
        assertThrows(IllegalArgumentException.class, () -> Quantizer.builder(model).setCalibration(List.of())
                .optThreads(0).build());
        assertThrows(IllegalStateException.class, () -> Quantizer.builder(model).build());
    }

    /** Float features [0] and int8 features [1] of the calibration images, preprocessed once for both. */
    private float[][][] featuresOfCalibrationImages(Path floatModel, Path int8Model) throws Exception {
        return featuresOf(floatModel, int8Model, calibrationBatch(floatModel));
    }

    /** The calibration images preprocessed by the model's spec, one after the other in a direct batch buffer. */
    private FloatBuffer calibrationBatch(Path model) throws Exception {
        List<LabeledImage> ims = Dataset.fromFolder(images()).images();
        try (Backbone b = Backbone.load(model, cpu())) {
            Preprocessor pre = new Preprocessor(b.spec());
            ImageDecoder dec = ImageDecoder.builder().build();
            FloatBuffer buf = b.newBatchBuffer(ims.size());
            for (int i = 0; i < ims.size(); i++) {
                pre.write(dec.decode(ims.get(i).path()), buf, i);
            }
            return buf;
        }
    }

    private static float[][][] featuresOf(Path floatModel, Path int8Model, FloatBuffer batch) throws Exception {
        int n = batch.capacity() / (3 * QuantizeTestModels.SIDE * QuantizeTestModels.SIDE);
        try (Backbone f = Backbone.load(floatModel, cpu()); Backbone q = Backbone.load(int8Model, cpu())) {
            return new float[][][] {f.features(batch, n), q.features(batch, n)};
        }
    }

    private static BackboneOptions cpu() {
        return BackboneOptions.builder().optDevice(Device.CPU).optIntraOpThreads(1).build();
    }

    private static NodeProto only(ModelProto m, java.util.function.Predicate<NodeProto> p) {
        List<NodeProto> found = m.getGraph().getNodeList().stream().filter(p).toList();
        assertEquals(1, found.size(), "nodes matching: " + found);
        return found.get(0);
    }
}
