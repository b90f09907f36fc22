package org.transfer4j.head.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.schedule.FixedSchedule;

class HeadNetworkTest {

    /**
     * The large products' halves run at once on two cores, or one after the other: the same bits either way, so a
     * head trained on one core equals one trained on two.
     */
    @Test
    void halvesAtOnceGiveTheBitsOfHalvesInTurn() {
        int d = 300;
        int h = 70;
        int k = 3;
        int b = 16;
        Random r = new Random(21);
        try (HeadNetwork inTurn = new HeadNetwork(d, h, k, DataType.FLOAT, new FixedSchedule(1e-2), false);
             HeadNetwork atOnce = new HeadNetwork(d, h, k, DataType.FLOAT, new FixedSchedule(1e-2), true)) {
            inTurn.initialize(5);
            atOnce.initialize(5);
            float[] start = inTurn.parameters();
            float[] x = new float[b * d];
            float[] t = new float[b * k];
            float[] w = new float[b];
            float[] mask = new float[b * h];
            for (int step = 0; step < 4; step++) {
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextGaussian();
                }
                java.util.Arrays.fill(t, 0f);
                for (int i = 0; i < b; i++) {
                    t[i * k + r.nextInt(k)] = 1f;
                    w[i] = 0.5f + r.nextFloat();
                }
                HeadNetwork.fillDropoutMask(mask, mask.length, 0.5, new SplittableRandom(step));
                double lossInTurn = inTurn.forwardBackward(x, t, w, mask, b, null, null, true);
                double lossAtOnce = atOnce.forwardBackward(x, t, w, mask, b, null, null, true);
                assertEquals(lossInTurn, lossAtOnce, 0.0, "step " + step);
                org.junit.jupiter.api.Assertions.assertArrayEquals(inTurn.gradients(), atOnce.gradients(), 0.0);
                inTurn.update(step, 0, 0.01);
                atOnce.update(step, 0, 0.01);
            }
            org.junit.jupiter.api.Assertions.assertArrayEquals(inTurn.parameters(), atOnce.parameters(), 0f);
            assertFalse(java.util.Arrays.equals(start, atOnce.parameters()), "the steps trained");
        }
    }

    @Test
    void gradientMatchesFiniteDifferencesWithHiddenLayerDropoutSmoothingAndWeights() {
        checkGradient(5, 4, 3, true);
    }

    @Test
    void gradientMatchesFiniteDifferencesForSoftmaxRegression() {
        checkGradient(6, 0, 4, false);
    }

    private static void checkGradient(int d, int h, int k, boolean dropout) {
        int b = 7;
        Random r = new Random(3);
        float[] x = new float[b * d];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] t = new float[b * k];
        float smoothing = 0.1f;
        for (int i = 0; i < b; i++) {
            int label = r.nextInt(k);
            for (int c = 0; c < k; c++) {
                t[i * k + c] = smoothing / k + (c == label ? 1 - smoothing : 0);
            }
        }
        float[] w = new float[b];
        for (int i = 0; i < b; i++) {
            w[i] = 0.5f + r.nextFloat();
        }
        float[] mask = null;
        if (dropout) {
            mask = new float[b * h];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = r.nextFloat() < 0.3 ? 0f : 1f / 0.7f;
            }
        }
        try (HeadNetwork net = new HeadNetwork(d, h, k, DataType.DOUBLE, new FixedSchedule(0.01))) {
            net.initialize(11);
            // Non-zero biases so their gradients are exercised away from the initial point.
            long n = HeadNetwork.parameterCount(d, h, k);
            for (long i = 0; i < n; i++) {
                net.setParameter(i, net.parameter(i) + 0.1 * r.nextGaussian());
            }
            net.forwardBackward(x, t, w, mask, b, null, null, true);
            double[] analytic = net.gradients();
            double eps = 1e-6;
            double worst = 0;
            for (long i = 0; i < n; i++) {
                double p0 = net.parameter(i);
                net.setParameter(i, p0 + eps);
                double up = net.forwardBackward(x, t, w, mask, b, null, null, false);
                net.setParameter(i, p0 - eps);
                double down = net.forwardBackward(x, t, w, mask, b, null, null, false);
                net.setParameter(i, p0);
                double numeric = (up - down) / (2 * eps);
                double err = Math.abs(numeric - analytic[(int) i]) / Math.max(1e-8,
                        Math.abs(numeric) + Math.abs(analytic[(int) i]));
                if (Math.abs(numeric - analytic[(int) i]) > 1e-9) {
                    worst = Math.max(worst, err);
                }
            }
            assertTrue(worst < 1e-5, "worst relative gradient error " + worst);
        }
    }

    @Test
    void oneAdamStepEqualsHandComputation() {
        // Softmax regression, D=2, K=2, one row: gradient g = x ⊗ (p - t) for w2, (p - t) for b2.
        double lr = 0.01;
        double wd = 0.1;
        try (HeadNetwork net = new HeadNetwork(2, 0, 2, DataType.FLOAT, new FixedSchedule(lr))) {
            float[] p0 = {0.5f, -0.25f, 0.125f, 1f, 0.2f, -0.1f};
            net.setParameters(p0);
            float[] x = {1.5f, -2f};
            float[] t = {0f, 1f};
            double[] m = new double[6];
            double[] v = new double[6];
            double[] expected = new double[6];
            for (int i = 0; i < 6; i++) {
                expected[i] = p0[i];
            }
            for (int step = 0; step < 2; step++) {
                net.forwardBackward(x, t, new float[] {1f}, null, 1, null, null, true);
                double[] g = net.gradients();
                // Hand computation of the same gradient: logits, softmax, p - t.
                double z0 = x[0] * expected[0] + x[1] * expected[2] + expected[4];
                double z1 = x[0] * expected[1] + x[1] * expected[3] + expected[5];
                double e0 = Math.exp(z0 - Math.max(z0, z1));
                double e1 = Math.exp(z1 - Math.max(z0, z1));
                double d0 = e0 / (e0 + e1) - t[0];
                double d1 = e1 / (e0 + e1) - t[1];
                double[] hand = {x[0] * d0, x[0] * d1, x[1] * d0, x[1] * d1, d0, d1};
                for (int i = 0; i < 6; i++) {
                    assertEquals(hand[i], g[i], 1e-6, "gradient " + i);
                }
                net.update(step, 0, wd);
                // ND4J's Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
                // update = lr·sqrt(1-b2^t)/(1-b1^t) · m / (sqrt(v) + eps); AdamW decay on weights, not biases.
                double b1 = 0.9;
                double b2 = 0.999;
                double eps = 1e-8;
                double alpha = lr * Math.sqrt(1 - Math.pow(b2, step + 1)) / (1 - Math.pow(b1, step + 1));
                for (int i = 0; i < 6; i++) {
                    m[i] = b1 * m[i] + (1 - b1) * hand[i];
                    v[i] = b2 * v[i] + (1 - b2) * hand[i] * hand[i];
                    double decay = i < 4 ? 1 - lr * wd : 1;
                    expected[i] = expected[i] * decay - alpha * m[i] / (Math.sqrt(v[i]) + eps);
                }
                float[] got = net.parameters();
                for (int i = 0; i < 6; i++) {
                    assertEquals(expected[i], got[i], 1e-6, "step " + step + " parameter " + i);
                }
            }
        }
    }

    @Test
    void softmaxAndCrossEntropyStayFiniteAtHugeLogits() {
        try (HeadNetwork net = new HeadNetwork(2, 0, 2, DataType.FLOAT, new FixedSchedule(0.01))) {
            // logits = (1e4, -1e4) for x = (1, 0).
            net.setParameters(new float[] {1e4f, -1e4f, 0f, 0f, 0f, 0f});
            float[] x = {1f, 0f, 1f, 0f};
            float[] t = {1f, 0f, 0f, 1f};
            float[] probs = new float[4];
            double[] ce = new double[2];
            double loss = net.forwardBackward(x, t, new float[] {1f, 1f}, null, 2, probs, ce, true);
            assertEquals(0.0, ce[0], 1e-6);
            assertEquals(2e4, ce[1], 1e-2);
            assertEquals(1e4, loss, 1e-2);
            assertEquals(1f, probs[0]);
            assertEquals(0f, probs[1]);
            for (double g : net.gradients()) {
                assertTrue(Double.isFinite(g), "gradient " + g);
            }
            net.setParameters(new float[] {-1e4f, 1e4f, 0f, 0f, 0f, 0f});
            loss = net.forwardBackward(x, t, new float[] {1f, 1f}, null, 2, probs, ce, false);
            assertEquals(2e4, ce[0], 1e-2);
            assertEquals(1e4, loss, 1e-2);
        }
    }

    /** The mask is the plain definition's, bit for bit: one draw per unit, dropped when the draw is below p. */
    @Test
    void dropoutMaskIsThePlainDefinitionsBitForBit() {
        int n = 5000;
        for (double p : new double[] {0.5, 0.3, 0.0, 0.999, 1e-300}) {
            for (int g = 0; g < 2; g++) {
                RandomGenerator random = g == 0 ? new SplittableRandom(17) : new Random(17);
                RandomGenerator same = g == 0 ? new SplittableRandom(17) : new Random(17);
                float[] mask = new float[n + 1];
                HeadNetwork.fillDropoutMask(mask, n, p, random);
                float keep = (float) (1.0 / (1.0 - p));
                int dropped = 0;
                for (int i = 0; i < n; i++) {
                    float expected = same.nextDouble() < p ? 0f : keep;
                    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(mask[i]),
                            "unit " + i + " at p=" + p);
                    dropped += mask[i] == 0f ? 1 : 0;
                }
                assertEquals(0f, mask[n], "writes n units only");
                assertEquals(random.nextLong(), same.nextLong(), "one draw per unit");
                assertEquals(p, (double) dropped / n, 0.03, "share dropped at p=" + p);
            }
        }
        float[] none = new float[3];
        HeadNetwork.fillDropoutMask(none, 3, 0.0, new SplittableRandom(1));
        assertFalse(none[0] == 0f || none[1] == 0f || none[2] == 0f, "p = 0 drops nothing");
    }
}
