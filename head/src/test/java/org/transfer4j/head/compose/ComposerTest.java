package org.transfer4j.head.compose;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.onnx.Inspect;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.onnx.OnnxTestModels;
import org.transfer4j.backbone.onnx.OnnxTestModels.Ending;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.head.HeadInfo;
import org.transfer4j.head.HeadWeights;
import org.transfer4j.head.Provenance;
import org.transfer4j.head.TrainingConfig;
import org.transfer4j.inference.ModelInfo;
import org.transfer4j.inference.Prediction;
import org.transfer4j.inference.Predictor;

class ComposerTest {
    private static final int N = 5;
    private static final int D = OnnxTestModels.CHANNELS;
    private static final long[] SHAPE = {N, 3, OnnxTestModels.SIDE, OnnxTestModels.SIDE};
    private static final List<String> CLASSES = List.of("ants", "bees", "wasps");

    @TempDir
    Path dir;

    @Test
    void composedProbabilitiesMatchAPlainJavaHeadAndFeaturesPassThrough() throws Exception {
        Path backbone = OnnxTestModels.write(Ending.BACKBONE_RANK4, 1, dir.resolve("bb.onnx"));
        HeadWeights head = randomHead(D, 6, spec(backbone, "pooled"), 2);
        Path out = dir.resolve("model.onnx");

        Composer.ComposedModel c = Composer.compose(backbone, head, Map.of(), out);

        assertEquals("pooled", c.featuresTensor());
        assertEquals(D, c.featureDim());
        checkAgainstJava(backbone, "pooled", out, head);
    }

    @Test
    void headWithoutHiddenLayerOnARank2FeaturesBackbone() throws Exception {
        Path backbone = OnnxTestModels.write(Ending.BACKBONE_RANK2, 3, dir.resolve("bb2.onnx"));
        HeadWeights head = randomHead(D, 0, spec(backbone, "features"), 4);
        Path out = dir.resolve("model0.onnx");

        Composer.compose(backbone, head, Map.of(), out);

        checkAgainstJava(backbone, "features", out, head);
        assertEquals(1, Inspect.of(out).count("Relu"), "only the backbone's ReLU: no hidden layer");
    }

    @Test
    void metadataCarriesSpecClassesAndProvenance() throws Exception {
        Path backbone = OnnxTestModels.write(Ending.BACKBONE_RANK4, 5, dir.resolve("bb.onnx"));
        HeadWeights head = randomHead(D, 3, spec(backbone, null), 6);
        Path out = dir.resolve("model.onnx");
        String provenance = "{\"seed\":42,\"trainCache\":\"cache/train\"}";

        Composer.compose(backbone, head, Map.of(OnnxMetadata.HEAD, provenance, "x.note", "hello"), out);

        ModelProto m = OnnxModels.load(out);
        BackboneSpec spec = SpecJson.fromJson(OnnxModels.metadata(m, OnnxMetadata.SPEC).orElseThrow());
        assertTrue(spec.samePreprocessing(head.spec()));
        assertEquals(head.spec().modelSha256(), spec.modelSha256());
        var classes = JsonParser.parseString(OnnxModels.metadata(m, OnnxMetadata.CLASSES).orElseThrow())
                .getAsJsonArray();
        assertEquals(CLASSES, classes.asList().stream().map(e -> e.getAsString()).toList());
        assertEquals(provenance, OnnxModels.metadata(m, OnnxMetadata.HEAD).orElseThrow());
        assertEquals("hello", OnnxModels.metadata(m, "x.note").orElseThrow());
        assertTrue(OnnxModels.metadata(m, OnnxMetadata.COMPOSED).orElseThrow().contains(head.spec().modelSha256()));
        // Everything the head added is prefixed; the backbone's names are untouched.
        for (var t : m.getGraph().getInitializerList()) {
            assertTrue(t.getName().startsWith(Composer.PREFIX) || t.getName().equals("w_0")
                    || t.getName().equals("b_0"), t.getName());
        }
        long headNodes = m.getGraph().getNodeList().stream().filter(n -> n.getName().startsWith(Composer.PREFIX))
                .count();
        assertTrue(headNodes >= 5, "flatten, gemm, relu, gemm, softmax (+identities): " + headNodes);
        assertEquals(List.of("probabilities", "features"), m.getGraph().getOutputList().stream()
                .map(o -> o.getName()).toList());
    }

    /** The Composer writes what the Predictor (inference module) reads: same answers as the two-part form, and info. */
    @Test
    void thePredictorLoadsWhatTheComposerWritesWithItsProvenance() throws Exception {
        Path backbone = OnnxTestModels.write(Ending.BACKBONE_RANK4, 7, dir.resolve("bb.onnx"));
        HeadWeights head = randomHead(D, 4, spec(backbone, "pooled"), 8);
        TrainingConfig training = TrainingConfig.defaults().withHidden(4);
        Provenance provenance = new Provenance("cache/train", "abc", null, null, Map.of("java", "17"), "2026-12-02");
        Path out = dir.resolve("model.onnx");
        Composer.compose(backbone, head, Map.of(OnnxMetadata.HEAD,
                HeadFiles.metadataJson(head, new HeadInfo(training, 9, 7, provenance))), out);

        Random r = new Random(3);
        List<RgbImage> images = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            byte[] rgb = new byte[20 * 24 * 3];
            r.nextBytes(rgb);
            images.add(new RgbImage(24, 20, rgb));
        }
        try (Predictor composed = Predictor.load(out);
             Predictor twoPart = Predictor.builder(backbone, head).build()) {
            List<Prediction> a = composed.predictImages(images);
            List<Prediction> b = twoPart.predictImages(images);
            for (int i = 0; i < images.size(); i++) {
                assertArrayEquals(b.get(i).probabilities(), a.get(i).probabilities(), 1e-5f, "image " + i);
            }
            ModelInfo info = composed.info();
            assertEquals(CLASSES, info.classes());
            assertEquals(D, info.featureDim());
            assertEquals(4, info.hidden());
            assertEquals(training, info.training());
            assertEquals(provenance, info.provenance());
            assertEquals(7, info.head().bestEpoch());
            assertEquals(head.spec().modelSha256(), info.spec().modelSha256());
            assertTrue(info.metadata().containsKey(OnnxMetadata.COMPOSED), info.metadata().toString());
        }
    }

    @Test
    void aDamagedHeadDescriptionIsRefusedByThePredictor() throws Exception {
        Path backbone = OnnxTestModels.write(Ending.BACKBONE_RANK2, 5, dir.resolve("bb.onnx"));
        HeadWeights head = randomHead(D, 0, spec(backbone, "features"), 6);
        Path out = dir.resolve("model.onnx");
        Composer.compose(backbone, head, Map.of(OnnxMetadata.HEAD, "{\"training\": {\"epochs\": -3}}"), out);
        ModelException e = assertThrows(ModelException.class, () -> Predictor.load(out));
        assertEquals(ModelException.Reason.INVALID_MODEL, e.reason());
        assertTrue(e.getMessage().contains(OnnxMetadata.HEAD) && e.getMessage().contains("epochs"), e.getMessage());
    }

    @Test
    void withoutProvenanceAHeadSummaryIsWritten() throws Exception {
        Path backbone = OnnxTestModels.write(Ending.BACKBONE_RANK2, 5, dir.resolve("bb.onnx"));
        HeadWeights head = randomHead(D, 3, spec(backbone, null), 6);
        Path out = dir.resolve("model.onnx");

        Composer.compose(backbone, head, null, out);

        var json = JsonParser.parseString(OnnxModels.metadata(OnnxModels.load(out), OnnxMetadata.HEAD)
                .orElseThrow()).getAsJsonObject();
        assertEquals(3, json.get("hidden").getAsInt());
        assertEquals(D, json.get("featureDim").getAsInt());
    }

    @Test
    void refusesABackboneWithAnotherHash() throws Exception {
        Path backbone = OnnxTestModels.write(Ending.BACKBONE_RANK4, 7, dir.resolve("bb.onnx"));
        BackboneSpec other = spec(backbone, null).withModelSha256("ab".repeat(32));
        HeadWeights head = randomHead(D, 3, other, 8);
        Path out = dir.resolve("model.onnx");

        ModelException e = assertThrows(ModelException.class, () -> Composer.compose(backbone, head, Map.of(), out));

        assertEquals(ModelException.Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("ab".repeat(32)), e.getMessage());
        assertTrue(e.getMessage().contains(Hashes.sha256(backbone)), e.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void refusesAHeadOfAnotherFeatureDimension() throws Exception {
        Path backbone = OnnxTestModels.write(Ending.BACKBONE_RANK4, 9, dir.resolve("bb.onnx"));
        HeadWeights head = randomHead(D + 3, 3, spec(backbone, null), 10);
        Path out = dir.resolve("model.onnx");

        ModelException e = assertThrows(ModelException.class, () -> Composer.compose(backbone, head, Map.of(), out));

        assertEquals(ModelException.Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("takes " + (D + 3) + " features"), e.getMessage());
        assertTrue(e.getMessage().contains("gives " + D), e.getMessage());
        assertFalse(Files.exists(out));
    }

    private static BackboneSpec spec(Path backbone, String output) throws Exception {
        return Preset.TORCH.spec(OnnxTestModels.INPUT, Layout.NCHW, OnnxTestModels.SIDE, OnnxTestModels.SIDE)
                .withOutputName(output).withFeatureDim(D).withModelSha256(Hashes.sha256(backbone));
    }

    private static HeadWeights randomHead(int d, int hidden, BackboneSpec spec, long seed) {
        Random r = new Random(seed);
        int k = CLASSES.size();
        int in2 = hidden == 0 ? d : hidden;
        return new HeadWeights(CLASSES, d, hidden, gauss(r, d * hidden), gauss(r, hidden), gauss(r, in2 * k),
                gauss(r, k), spec);
    }

    private static float[] gauss(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    /** Runs backbone and composed model on the same batch and checks the composed outputs against plain Java. */
    private static void checkAgainstJava(Path backbone, String backboneOut, Path composed, HeadWeights head)
            throws Exception {
        float[] x = OnnxTestModels.randomInput(N, 3 * OnnxTestModels.SIDE * OnnxTestModels.SIDE, 12);
        float[][] feats = OnnxTestModels.run(backbone, OnnxTestModels.INPUT, x, SHAPE, backboneOut).get(backboneOut);
        Map<String, float[][]> outs = OnnxTestModels.run(composed, OnnxTestModels.INPUT, x, SHAPE,
                OnnxMetadata.PROBABILITIES_OUTPUT, OnnxMetadata.FEATURES_OUTPUT);
        for (int i = 0; i < N; i++) {
            assertArrayEquals(feats[i], outs.get(OnnxMetadata.FEATURES_OUTPUT)[i], 0f, "features row " + i);
            double[] expected = javaHead(head, feats[i]);
            float[] p = outs.get(OnnxMetadata.PROBABILITIES_OUTPUT)[i];
            double sum = 0;
            for (int c = 0; c < p.length; c++) {
                assertEquals(expected[c], p[c], 1e-6, "row " + i + " class " + c);
                sum += p[c];
            }
            assertEquals(1.0, sum, 1e-6);
        }
    }

    private static double[] javaHead(HeadWeights h, float[] x) {
        int d = h.featureDim();
        int k = h.numClasses();
        double[] in = new double[d];
        for (int i = 0; i < d; i++) {
            in[i] = x[i];
        }
        if (h.hidden() > 0) {
            double[] z = new double[h.hidden()];
            for (int j = 0; j < h.hidden(); j++) {
                double s = h.b1()[j];
                for (int i = 0; i < d; i++) {
                    s += in[i] * h.w1()[i * h.hidden() + j];
                }
                z[j] = Math.max(0, s);
            }
            in = z;
        }
        double[] logits = new double[k];
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < k; c++) {
            double s = h.b2()[c];
            for (int i = 0; i < in.length; i++) {
                s += in[i] * h.w2()[i * k + c];
            }
            logits[c] = s;
            max = Math.max(max, s);
        }
        double sum = 0;
        for (int c = 0; c < k; c++) {
            logits[c] = Math.exp(logits[c] - max);
            sum += logits[c];
        }
        for (int c = 0; c < k; c++) {
            logits[c] /= sum;
        }
        return logits;
    }
}
