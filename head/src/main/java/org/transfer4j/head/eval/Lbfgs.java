package org.transfer4j.head.eval;

/**
 * Limited-memory BFGS for smooth, strongly convex objectives (an L2-regularised logistic loss): the two-loop
 * recursion over the last {@value #MEMORY} steps, an Armijo backtracking line search, and no randomness, so the same
 * problem gives the same answer bit for bit. Strong convexity keeps every curvature pair positive, which is why a
 * backtracking search is enough here (a general-purpose L-BFGS needs the Wolfe conditions).
 */
final class Lbfgs {
    static final int MEMORY = 10;
    private static final double ARMIJO = 1e-4;
    private static final int MAX_HALVINGS = 60;

    /** f(x), writing ∇f(x) into {@code grad}. */
    interface Objective {
        double valueAndGradient(double[] x, double[] grad);
    }

    /** Where the search stopped and why. */
    record Outcome(double value, int iterations, boolean converged) {
    }

    private Lbfgs() {
    }

    /**
     * Minimises {@code f} from {@code x} (overwritten with the minimiser). Stops when max|∇f| ≤ {@code gradientTol},
     * when an iteration lowers f by less than {@code 1e-12·max(1,|f|)}, or after {@code maxIterations}.
     */
    static Outcome minimize(Objective f, double[] x, double gradientTol, int maxIterations) {
        int n = x.length;
        double[][] s = new double[MEMORY][n];
        double[][] y = new double[MEMORY][n];
        double[] rho = new double[MEMORY];
        double[] alpha = new double[MEMORY];
        int stored = 0;
        int newest = -1;
        double[] g = new double[n];
        double[] gNew = new double[n];
        double[] d = new double[n];
        double[] xNew = new double[n];
        double fx = f.valueAndGradient(x, g);
        int it = 0;
        for (; it < maxIterations; it++) {
            if (maxAbs(g) <= gradientTol) {
                return new Outcome(fx, it, true);
            }
            // d = -H·g by the two-loop recursion, H0 = (s·y / y·y) I.
            for (int i = 0; i < n; i++) {
                d[i] = -g[i];
            }
            for (int j = 0; j < stored; j++) {
                int m = Math.floorMod(newest - j, MEMORY);
                alpha[m] = rho[m] * dot(s[m], d);
                axpy(-alpha[m], y[m], d);
            }
            if (stored > 0) {
                double gamma = dot(s[newest], y[newest]) / dot(y[newest], y[newest]);
                for (int i = 0; i < n; i++) {
                    d[i] *= gamma;
                }
            } else {
                // First step: length at most 1 in the gradient's direction.
                double norm = Math.sqrt(dot(g, g));
                for (int i = 0; i < n; i++) {
                    d[i] /= Math.max(1.0, norm);
                }
            }
            for (int j = stored - 1; j >= 0; j--) {
                int m = Math.floorMod(newest - j, MEMORY);
                double beta = rho[m] * dot(y[m], d);
                axpy(alpha[m] - beta, s[m], d);
            }
            double slope = dot(g, d);
            if (!(slope < 0)) { // not a descent direction (rounding): restart from the gradient
                stored = 0;
                for (int i = 0; i < n; i++) {
                    d[i] = -g[i] / Math.max(1.0, Math.sqrt(dot(g, g)));
                }
                slope = dot(g, d);
            }
            double step = 1.0;
            double fNew = Double.NaN;
            int halvings = 0;
            for (; halvings < MAX_HALVINGS; halvings++) {
                for (int i = 0; i < n; i++) {
                    xNew[i] = x[i] + step * d[i];
                }
                fNew = f.valueAndGradient(xNew, gNew);
                if (fNew <= fx + ARMIJO * step * slope) {
                    break;
                }
                step *= 0.5;
            }
            if (halvings == MAX_HALVINGS) {
                return new Outcome(fx, it, false); // no decrease possible at this precision
            }
            double sy = 0;
            for (int i = 0; i < n; i++) {
                sy += (xNew[i] - x[i]) * (gNew[i] - g[i]);
            }
            if (sy > 0) { // else (rounding at the optimum) the history stays as it was
                newest = (newest + 1) % MEMORY;
                for (int i = 0; i < n; i++) {
                    s[newest][i] = xNew[i] - x[i];
                    y[newest][i] = gNew[i] - g[i];
                }
                rho[newest] = 1.0 / sy;
                stored = Math.min(stored + 1, MEMORY);
            }
            double decrease = fx - fNew;
            System.arraycopy(xNew, 0, x, 0, n);
            System.arraycopy(gNew, 0, g, 0, n);
            fx = fNew;
            if (decrease <= 1e-12 * Math.max(1.0, Math.abs(fx))) {
                return new Outcome(fx, it + 1, maxAbs(g) <= gradientTol);
            }
        }
        return new Outcome(fx, it, maxAbs(g) <= gradientTol);
    }

    private static double dot(double[] a, double[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }

    private static void axpy(double a, double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            y[i] += a * x[i];
        }
    }

    private static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
