package org.transfer4j.head.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.head.train.ArrayRows;

class LogisticBaselineTest {
    private static final List<String> CLASSES = List.of("ant", "bee");

    /**
     * n rows, two classes alternating. Features 0 and 1 share a large common noise; only their difference carries
     * the class (±signal), so a strongly regularised model, which leans on each feature's own correlation with the
     * class, cannot use it. The other dim-2 features are noise. Every feature is offset and scaled differently
     * (standardisation must undo it), and everything is shifted by {@code shift}.
     */
    private static ArrayRows rows(int n, int dim, double signal, long seed, double shift) {
        Random r = new Random(seed);
        float[] f = new float[n * dim];
        int[] labels = new int[n];
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            labels[i] = i % 2;
            paths.add("img-" + seed + "-" + i);
            double common = 3 * r.nextGaussian();
            for (int j = 0; j < dim; j++) {
                double v = r.nextGaussian();
                if (j < 2) {
                    v = common + 0.3 * v + (j == 0 ? (labels[i] == 1 ? signal : -signal) : 0);
                }
                f[i * dim + j] = (float) (v * (1 + j % 7) + 10 * (j % 3) + shift);
            }
        }
        return new ArrayRows(CLASSES, Preset.TORCH.spec("input", Layout.NCHW, 224, 224), dim, f, labels, null,
                paths);
    }

    private static int[] range(int from, int to) {
        int[] a = new int[to - from];
        for (int i = 0; i < a.length; i++) {
            a[i] = from + i;
        }
        return a;
    }

    @Test
    void crossValidationPicksTheWeakRegularisationThisDataNeeds() {
        ArrayRows train = rows(60, 10, 0.5, 1, 0);
        ArrayRows val = rows(1000, 10, 0.5, 101, 0);
        int[] trainRows = range(0, 60);
        int[] valRows = range(0, 1000);
        var chosen = LogisticBaseline.run(train, trainRows, val, valRows);
        double[] grid = LogisticBaseline.DEFAULT_CS;
        assertArrayEquals(grid, chosen.cs());
        assertEquals(5, chosen.folds());
        assertEquals(grid.length, chosen.cvAccuracy().length);
        // The chosen C is the first (smallest) of the best cross-validated ones.
        int best = 0;
        for (int i = 1; i < grid.length; i++) {
            if (chosen.cvAccuracy()[i] > chosen.cvAccuracy()[best]) {
                best = i;
            }
        }
        assertEquals(grid[best], chosen.c(), "cv " + Arrays.toString(chosen.cvAccuracy()));
        assertTrue(chosen.c() >= 1, "chosen C " + chosen.c() + " cv " + Arrays.toString(chosen.cvAccuracy()));
        double strongest = LogisticBaseline.run(train, trainRows, val, valRows, new double[] {grid[0]}, 5)
                .validation().accuracy();
        double acc = chosen.validation().accuracy();
        assertTrue(acc > 0.75 && acc > strongest + 0.2, "chosen C " + chosen.c() + ": " + acc + " vs C=1e-4 "
                + strongest);
        assertTrue(chosen.name().contains("C=") && chosen.name().contains("5-fold"), chosen.name());
        assertEquals(1000, chosen.valRows());
        assertEquals(60, chosen.trainRows());
        assertEquals(1000, chosen.validation().perClass().stream().mapToLong(Evaluation.ClassMetrics::support).sum());
    }

    @Test
    void tooFewImagesPerClassFallsBackToTheDefaultC() {
        ArrayRows train = rows(3, 4, 0.5, 9, 0); // two images of one class, one of the other
        var r = LogisticBaseline.run(train, range(0, 3), train, range(0, 3));
        assertEquals(1.0, r.c());
        assertEquals(0, r.folds());
        assertEquals(0, r.cs().length);
        assertTrue(r.name().contains("too few images"), r.name());
    }

    @Test
    void standardisationAndFitSeeOnlyTrainingRows() {
        ArrayRows train = rows(80, 12, 1.0, 3, 0);
        // Validation rows 0-99 as drawn, rows 100-199 shifted far away: if the scaler or the fit saw them, the
        // probabilities of rows 0-99 would change.
        ArrayRows near = rows(100, 12, 1.0, 4, 0);
        ArrayRows farOnly = rows(100, 12, 1.0, 5, 1e4);
        float[] both = new float[200 * 12];
        int[] labels = new int[200];
        float[] row = new float[12];
        for (int i = 0; i < 100; i++) {
            near.read(i, row, 0);
            System.arraycopy(row, 0, both, i * 12, 12);
            farOnly.read(i, row, 0);
            System.arraycopy(row, 0, both, (100 + i) * 12, 12);
            labels[i] = near.label(i);
            labels[100 + i] = farOnly.label(i);
        }
        ArrayRows mixed = new ArrayRows(CLASSES, near.spec(), 12, both, labels, null, null);
        var a = LogisticBaseline.run(train, range(0, 80), near, range(0, 100));
        var b = LogisticBaseline.run(train, range(0, 80), mixed, range(0, 200));
        assertEquals(a.c(), b.c());
        assertArrayEquals(a.cvAccuracy(), b.cvAccuracy());
        assertTrue(a.validation().accuracy() > 0.7, "near rows are learnable: " + a.validation().accuracy());
        // The same model: the first 100 rows get the same probabilities, bit for bit.
        float[] pa = a.predictions().probabilities();
        float[] pb = Arrays.copyOf(b.predictions().probabilities(), 200);
        assertArrayEquals(pa, pb);
        LogisticBaseline.Standardizer s = LogisticBaseline.Standardizer.fit(train, range(0, 80));
        float[] f = new float[12];
        double mean0 = 0;
        for (int i = 0; i < 80; i++) {
            train.read(i, f, 0);
            mean0 += f[0];
        }
        assertEquals(mean0 / 80, s.mean()[0], 1e-9);
        assertEquals(200, b.valRows());
    }

    @Test
    void standardizerIsPopulationMeanAndStdWithConstantFeaturesUnscaled() {
        float[] f = {1, 5, 2, 5, 3, 5, 6, 5};
        ArrayRows r = new ArrayRows(CLASSES, Preset.TORCH.spec("input", Layout.NCHW, 224, 224), 2, f,
                new int[] {0, 1, 0, 1}, null, null);
        var s = LogisticBaseline.Standardizer.fit(r, new int[] {0, 1, 2});
        assertEquals(2.0, s.mean()[0], 1e-12);
        assertEquals(Math.sqrt(2.0 / 3), s.scale()[0], 1e-12);
        assertEquals(5.0, s.mean()[1], 1e-12);
        assertEquals(1.0, s.scale()[1], 1e-12, "constant feature");
        float[] x = s.apply(r, new int[] {3});
        assertEquals((6 - 2.0) / Math.sqrt(2.0 / 3), x[0], 1e-5, "a row outside the fit, scaled with its numbers");
        assertEquals(0f, x[1]);
    }

    @Test
    void foldsAreStratifiedAndKeepAnImagesViewsTogether() {
        // 13 images (7 of class 0, 6 of class 1), each with 3 views (rows) that share a path.
        int images = 13;
        float[] f = new float[images * 3];
        int[] labels = new int[images * 3];
        int[] views = new int[images * 3];
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < images; i++) {
            for (int v = 0; v < 3; v++) {
                labels[i * 3 + v] = i < 7 ? 0 : 1;
                views[i * 3 + v] = v;
                paths.add("img" + i);
            }
        }
        ArrayRows r = new ArrayRows(CLASSES, Preset.TORCH.spec("input", Layout.NCHW, 224, 224), 1, f, labels, views,
                paths);
        List<int[]> byImage = LogisticBaseline.imagesOf(r, range(0, images * 3));
        assertEquals(images, byImage.size());
        assertArrayEquals(new int[] {3, 4, 5}, byImage.get(1));
        int[] fold = LogisticBaseline.assignFolds(r, byImage, 3, 2);
        int[][] perFold = new int[3][2];
        for (int i = 0; i < images; i++) {
            perFold[fold[i]][r.label(byImage.get(i)[0])]++;
        }
        assertArrayEquals(new int[] {3, 2}, perFold[0]);
        assertArrayEquals(new int[] {2, 2}, perFold[1]);
        assertArrayEquals(new int[] {2, 2}, perFold[2]);
    }

    @Test
    void fitReachesTheMinimumOfTheDocumentedObjective() {
        for (int k : new int[] {2, 3}) {
            int n = 90;
            int d = 5;
            double c = 0.3;
            Random r = new Random(k);
            float[] x = new float[n * d];
            int[] y = new int[n];
            for (int i = 0; i < n; i++) {
                y[i] = i % k;
                for (int j = 0; j < d; j++) {
                    x[i * d + j] = (float) (r.nextGaussian() + (j == y[i] ? 1.5 : 0));
                }
            }
            SoftmaxRegression m = SoftmaxRegression.fit(x, y, n, d, k, c, null);
            double[] t = m.parameters();
            int free = k == 2 ? 1 : k;
            assertEquals(free * d + free, t.length);
            // Gradient of (1/n)·Σ CE + ‖W‖²/(2Cn), written out independently: zero at the minimum.
            double[] g = new double[t.length];
            for (int i = 0; i < n; i++) {
                double[] z = new double[k];
                for (int q = 0; q < free; q++) {
                    double s = t[free * d + q];
                    for (int j = 0; j < d; j++) {
                        s += t[q * d + j] * x[i * d + j];
                    }
                    z[k == 2 ? 1 : q] = s;
                }
                double sum = 0;
                for (double v : z) {
                    sum += Math.exp(v);
                }
                for (int q = 0; q < free; q++) {
                    int cls = k == 2 ? 1 : q;
                    double resid = Math.exp(z[cls]) / sum - (y[i] == cls ? 1 : 0);
                    for (int j = 0; j < d; j++) {
                        g[q * d + j] += resid * x[i * d + j] / n;
                    }
                    g[free * d + q] += resid / n;
                }
            }
            for (int j = 0; j < free * d; j++) {
                g[j] += t[j] / (c * n);
            }
            for (int j = 0; j < g.length; j++) {
                assertEquals(0.0, g[j], 1e-5, "k=" + k + " gradient " + j);
            }
            // And the weights are not zero: the penalty did not win.
            assertTrue(Math.abs(t[0]) > 0.1, "k=" + k + " w0 " + t[0]);
        }
    }
}
