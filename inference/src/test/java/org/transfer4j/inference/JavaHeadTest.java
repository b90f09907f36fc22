package org.transfer4j.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.head.HeadWeights;

class JavaHeadTest {
    private static final List<String> CLASSES = List.of("a", "b", "c");

    @Test
    void matchesADoublePrecisionReference() {
        Random r = new Random(7);
        int d = 5;
        int h = 4;
        int k = 3;
        float[] w1 = rand(r, d * h);
        float[] b1 = rand(r, h);
        float[] w2 = rand(r, h * k);
        float[] b2 = rand(r, k);
        HeadWeights w = new HeadWeights(CLASSES, d, h, w1, b1, w2, b2,
                Preset.TORCH.spec("input", Layout.NCHW, 224, 224));
        JavaHead head = new JavaHead(w);
        for (int t = 0; t < 20; t++) {
            float[] x = rand(r, d);
            double[] hid = new double[h];
            for (int j = 0; j < h; j++) {
                double s = b1[j];
                for (int i = 0; i < d; i++) {
                    s += (double) x[i] * w1[i * h + j];
                }
                hid[j] = Math.max(0, s);
            }
            double[] z = new double[k];
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                double s = b2[c];
                for (int j = 0; j < h; j++) {
                    s += hid[j] * w2[j * k + c];
                }
                z[c] = s;
                max = Math.max(max, s);
            }
            double sum = 0;
            for (int c = 0; c < k; c++) {
                sum += Math.exp(z[c] - max);
            }
            float[] p = head.probabilities(x);
            for (int c = 0; c < k; c++) {
                assertEquals(Math.exp(z[c] - max) / sum, p[c], 1e-6, "class " + c);
            }
        }
    }

    @Test
    void noHiddenLayerIsAPlainSoftmaxRegression() {
        HeadWeights w = new HeadWeights(CLASSES, 2, 0, new float[0], new float[0],
                new float[] {1, 0, 0, 0, 1, 0}, new float[] {0, 0, 0},
                Preset.TORCH.spec("input", Layout.NCHW, 224, 224));
        float[] p = new JavaHead(w).probabilities(new float[] {2f, 1f});
        double e2 = Math.exp(2);
        double e1 = Math.exp(1);
        double e0 = 1;
        assertEquals(e2 / (e2 + e1 + e0), p[0], 1e-6);
        assertEquals(e1 / (e2 + e1 + e0), p[1], 1e-6);
    }

    @Test
    void softmaxIsStableForHugeLogits() {
        float[] z = {1000f, 1001f, -1000f};
        JavaHead.softmaxInPlace(z);
        assertTrue(Float.isFinite(z[0]) && Float.isFinite(z[1]));
        assertEquals(1.0, z[0] + z[1] + z[2], 1e-6);
        assertEquals(1 / (1 + Math.exp(-1)), z[1], 1e-6);
    }

    @Test
    void refusesWrongFeatureLength() {
        HeadWeights w = new HeadWeights(CLASSES, 2, 0, new float[0], new float[0], new float[6], new float[3],
                Preset.TORCH.spec("input", Layout.NCHW, 224, 224));
        var e = assertThrows(IllegalArgumentException.class, () -> new JavaHead(w).probabilities(new float[3]));
        assertTrue(e.getMessage().contains("expects 2 features"), e.getMessage());
    }

    private static float[] rand(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }
}
