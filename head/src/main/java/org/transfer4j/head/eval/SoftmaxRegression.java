package org.transfer4j.head.eval;

/**
 * Multinomial logistic regression with an L2 penalty on the weights, not the intercepts, fitted by {@link Lbfgs}:
 * the model of scikit-learn's {@code LogisticRegression(C=c)} with its lbfgs solver. The objective is
 * {@code (1/n)·Σ CE_i + ‖W‖² / (2·C·n)}, sklearn's {@code C·Σ CE_i + ‖W‖²/2} divided by {@code C·n}. With two
 * classes it has one weight vector (class 0's logit is 0), as sklearn's binary model does, so that the same C means
 * the same penalty. Features arrive as float rows (standardised by the caller); arithmetic is in double.
 */
final class SoftmaxRegression {
    /** sklearn's lbfgs stops at 1e-4 on the same averaged objective, or after 100 iterations; this goes further. */
    static final double GRADIENT_TOL = 1e-6;
    static final int MAX_ITERATIONS = 1000;

    private final int d;
    private final int k;
    /** Classes with their own parameters: 1 for two classes, else k. */
    private final int free;
    /** free rows of d weights, then free intercepts. */
    private final double[] theta;

    private SoftmaxRegression(int d, int k, double[] theta) {
        this.d = d;
        this.k = k;
        this.free = k == 2 ? 1 : k;
        this.theta = theta;
    }

    static int parameterCount(int d, int k) {
        int free = k == 2 ? 1 : k;
        return free * d + free;
    }

    /**
     * Fits on {@code n} rows of {@code d} features ({@code x}, row-major) with labels {@code y} in [0, k).
     *
     * @param start parameters to start from (a neighbouring C's solution), or null for zeros
     */
    static SoftmaxRegression fit(float[] x, int[] y, int n, int d, int k, double c, double[] start) {
        if (!(c > 0) || Double.isInfinite(c)) {
            throw new IllegalArgumentException("C " + c + " invalid; allowed: > 0 and finite");
        }
        double[] theta = start == null ? new double[parameterCount(d, k)] : start.clone();
        SoftmaxRegression m = new SoftmaxRegression(d, k, theta);
        double[] logits = new double[k];
        double penalty = 1.0 / (c * n);
        Lbfgs.minimize((t, grad) -> m.objective(t, grad, x, y, n, penalty, logits), theta, GRADIENT_TOL,
                MAX_ITERATIONS);
        return m;
    }

    /** The parameters, to start a neighbouring fit from. */
    double[] parameters() {
        return theta.clone();
    }

    private double objective(double[] t, double[] grad, float[] x, int[] y, int n, double penalty, double[] z) {
        java.util.Arrays.fill(grad, 0.0);
        int bias = free * d;
        double loss = 0;
        for (int i = 0; i < n; i++) {
            int row = i * d;
            logits(t, x, row, z);
            double zy = z[y[i]];
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                max = Math.max(max, z[c]);
            }
            double sum = 0;
            for (int c = 0; c < k; c++) {
                z[c] = Math.exp(z[c] - max);
                sum += z[c];
            }
            loss += Math.log(sum) + max - zy; // log-sum-exp minus the true class's logit
            for (int q = 0; q < free; q++) {
                int c = k == 2 ? 1 : q;
                double r = z[c] / sum - (y[i] == c ? 1.0 : 0.0);
                int w = q * d;
                for (int j = 0; j < d; j++) {
                    grad[w + j] += r * x[row + j];
                }
                grad[bias + q] += r;
            }
        }
        double ridge = 0;
        for (int j = 0; j < bias; j++) {
            ridge += t[j] * t[j];
        }
        for (int j = 0; j < grad.length; j++) {
            grad[j] /= n;
        }
        for (int j = 0; j < bias; j++) {
            grad[j] += penalty * t[j];
        }
        return loss / n + 0.5 * penalty * ridge;
    }

    /** All k logits of one row into {@code z}. */
    private void logits(double[] t, float[] x, int row, double[] z) {
        if (k == 2) {
            z[0] = 0;
            z[1] = logit(t, x, row, 0);
        } else {
            for (int q = 0; q < k; q++) {
                z[q] = logit(t, x, row, q);
            }
        }
    }

    private double logit(double[] t, float[] x, int row, int q) {
        double s = t[free * d + q];
        int w = q * d;
        for (int j = 0; j < d; j++) {
            s += t[w + j] * x[row + j];
        }
        return s;
    }

    /** Softmax probabilities of {@code n} rows into {@code out} (rows × k); returns the summed cross-entropy. */
    double predict(float[] x, int[] y, int n, float[] out) {
        double[] z = new double[k];
        double ce = 0;
        for (int i = 0; i < n; i++) {
            logits(theta, x, i * d, z);
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                max = Math.max(max, z[c]);
            }
            double sum = 0;
            for (int c = 0; c < k; c++) {
                sum += Math.exp(z[c] - max);
            }
            for (int c = 0; c < k; c++) {
                out[i * k + c] = (float) (Math.exp(z[c] - max) / sum);
            }
            ce += Math.log(sum) + max - z[y[i]];
        }
        return ce;
    }
}
