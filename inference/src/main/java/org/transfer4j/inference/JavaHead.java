package org.transfer4j.inference;

import java.util.List;
import org.transfer4j.head.HeadWeights;

/**
 * A trained head evaluated in plain Java floats: {@code softmax(relu(x·w1 + b1)·w2 + b2)}, or
 * {@code softmax(x·w2 + b2)} for a head without a hidden layer. This is what the two-part {@link Predictor} runs after
 * the backbone, so serving a head needs neither ND4J nor a second ONNX session; it computes the same function as the
 * composed model's Gemm → Relu → Gemm → Softmax nodes (up to float rounding, ~1e-7).
 *
 * <p>Immutable and thread-safe: the weights are never written after construction.
 */
public final class JavaHead {
    private final List<String> classes;
    private final int featureDim;
    private final int hidden;
    private final int numClasses;
    private final float[] w1;
    private final float[] b1;
    private final float[] w2;
    private final float[] b2;

    public JavaHead(HeadWeights weights) {
        this.classes = weights.classes();
        this.featureDim = weights.featureDim();
        this.hidden = weights.hidden();
        this.numClasses = weights.numClasses();
        // HeadWeights is a record of arrays; copy so a caller mutating its arrays cannot change a live head.
        this.w1 = weights.w1().clone();
        this.b1 = weights.b1().clone();
        this.w2 = weights.w2().clone();
        this.b2 = weights.b2().clone();
    }

    public List<String> classes() {
        return classes;
    }

    public int featureDim() {
        return featureDim;
    }

    public int numClasses() {
        return numClasses;
    }

    /** Probabilities for one feature vector of length {@link #featureDim()}. */
    public float[] probabilities(float[] features) {
        if (features.length != featureDim) {
            throw new IllegalArgumentException("the head expects " + featureDim + " features, got "
                    + features.length);
        }
        float[] out = new float[numClasses];
        if (hidden == 0) {
            affine(features, w2, b2, featureDim, numClasses, out);
        } else {
            float[] h = new float[hidden];
            affine(features, w1, b1, featureDim, hidden, h);
            for (int j = 0; j < hidden; j++) {
                // max(0, NaN) would hide a NaN; keep it visible instead.
                h[j] = h[j] > 0f || Float.isNaN(h[j]) ? h[j] : 0f;
            }
            affine(h, w2, b2, hidden, numClasses, out);
        }
        softmaxInPlace(out);
        return out;
    }

    /** Probabilities for each row of {@code features}. */
    public float[][] probabilities(float[][] features) {
        float[][] out = new float[features.length][];
        for (int i = 0; i < features.length; i++) {
            out[i] = probabilities(features[i]);
        }
        return out;
    }

    /**
     * out = x·w + b with w row-major [in][outDim]. The loop walks w row by row (the order it is stored), so the inner
     * loop is a contiguous axpy the JIT vectorises.
     */
    private static void affine(float[] x, float[] w, float[] b, int in, int outDim, float[] out) {
        System.arraycopy(b, 0, out, 0, outDim);
        for (int i = 0; i < in; i++) {
            float xi = x[i];
            if (xi == 0f) {
                continue; // after ReLU about half the inputs are zero
            }
            int row = i * outDim;
            for (int j = 0; j < outDim; j++) {
                out[j] += xi * w[row + j];
            }
        }
    }

    /** Numerically stable softmax: subtract the max so exp never overflows; sums in double. */
    static void softmaxInPlace(float[] z) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : z) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] e = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            e[i] = Math.exp((double) z[i] - max);
            sum += e[i];
        }
        for (int i = 0; i < z.length; i++) {
            z[i] = (float) (e[i] / sum);
        }
    }
}
