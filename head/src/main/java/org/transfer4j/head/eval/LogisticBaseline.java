package org.transfer4j.head.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.transfer4j.backbone.cache.FeatureRows;

/**
 * A reference point for a head, the one a scikit-learn user would report: standardised features and a multinomial
 * logistic regression whose L2 strength C is chosen by stratified k-fold cross-validation on the training images,
 * then refitted on all training rows and scored once on the validation rows. If the head does not beat it, the hidden
 * layer is not earning its keep.
 *
 * <p>Equivalent to {@code LogisticRegressionCV(Cs=10, cv=5)} on {@code StandardScaler} output, with three
 * deliberate differences: the scaler is refitted inside every fold (the held-out fold never shapes the scaling it is
 * scored with); folds are made of images, so every augmented view of an image stays on one side; and ties between
 * grid values go to the smaller C (more regularised). Accuracy is the fold score, counted on view 0 of each held-out
 * image. Nothing is random: the folds are consecutive runs of each class's images in cache order.
 *
 * <p>This copies the chosen rows into memory as floats (twice during cross-validation, for the scaled copies) and
 * fits {@code folds × grid + 1} models, warm-started along the grid; each L-BFGS iteration costs about
 * {@code 4·rows·featureDim·classes} flops. Meant for caches that fit in the heap.
 */
public final class LogisticBaseline {
    /** scikit-learn's default grid for LogisticRegressionCV: 10 values of C, log-spaced over [1e-4, 1e4]. */
    public static final double[] DEFAULT_CS = logspace(-4, 4, 10);
    public static final int DEFAULT_FOLDS = 5;
    /** The C used when there are too few images per class to cross-validate (sklearn's default). */
    static final double FALLBACK_C = 1.0;

    private LogisticBaseline() {
    }

    /**
     * What the baseline scored and how it was chosen.
     *
     * @param name       a short description naming the chosen C
     * @param validation the refitted model on the validation rows
     * @param predictions its answers for those rows
     * @param c          the chosen inverse regularisation strength
     * @param cs         the grid searched (empty when there were too few images per class to cross-validate)
     * @param cvAccuracy mean held-out accuracy of each grid value, in grid order
     * @param folds      folds used (0 without cross-validation)
     * @param trainRows  rows the final model was fitted on (every view of the training images)
     * @param valRows    rows it was scored on
     */
    public record Result(String name, Evaluation validation, Predictions predictions, double seconds, double c,
                         double[] cs,
                         double[] cvAccuracy, int folds, int trainRows, int valRows) {
    }

    /** Cross-validates over {@link #DEFAULT_CS} with {@link #DEFAULT_FOLDS} folds. */
    public static Result run(FeatureRows train, int[] trainRows, FeatureRows val, int[] valRows) {
        return run(train, trainRows, val, valRows, DEFAULT_CS, DEFAULT_FOLDS);
    }

    public static Result run(FeatureRows train, int[] trainRows, FeatureRows val, int[] valRows, double[] cs,
                             int folds) {
        if (cs.length == 0 || Arrays.stream(cs).anyMatch(c -> !(c > 0) || Double.isInfinite(c))) {
            throw new IllegalArgumentException("C grid " + Arrays.toString(cs) + " invalid; allowed: values > 0");
        }
        if (folds < 2) {
            throw new IllegalArgumentException("folds " + folds + " invalid; allowed: >= 2");
        }
        long t0 = System.nanoTime();
        int d = train.featureDim();
        int k = train.classes().size();
        double[] grid = cs.clone();
        Arrays.sort(grid);
        List<int[]> images = imagesOf(train, trainRows);
        int usable = Math.min(folds, smallestClass(train, images, k));
        double chosen = FALLBACK_C;
        double[] accuracy = new double[0];
        if (usable >= 2) {
            accuracy = crossValidate(train, images, grid, usable, k);
            int best = 0;
            for (int i = 1; i < grid.length; i++) {
                if (accuracy[i] > accuracy[best]) {
                    best = i;
                }
            }
            chosen = grid[best];
        } else {
            grid = new double[0];
        }
        Standardizer scaler = Standardizer.fit(train, trainRows);
        int[] labels = labels(train, trainRows);
        SoftmaxRegression model = SoftmaxRegression.fit(scaler.apply(train, trainRows), labels, trainRows.length, d,
                k, chosen, null);
        float[] probs = new float[valRows.length * k];
        int[] valLabels = labels(val, valRows);
        double ce = model.predict(scaler.apply(val, valRows), valLabels, valRows.length, probs);
        List<String> paths = new ArrayList<>(valRows.length);
        for (int r : valRows) {
            paths.add(val.path(r));
        }
        Predictions p = new Predictions(train.classes(), valRows.clone(), paths, valLabels, probs,
                valRows.length == 0 ? Double.NaN : ce / valRows.length);
        String how = usable >= 2 ? "by " + usable + "-fold CV" : "default: too few images per class to cross-validate";
        String name = String.format(Locale.ROOT, "logistic-regression C=%.4g (standardised, %s)", chosen, how);
        return new Result(name, Evaluation.of(p), p, (System.nanoTime() - t0) / 1e9, chosen, grid, accuracy,
                usable >= 2 ? usable : 0, trainRows.length, valRows.length);
    }

    /**
     * Mean held-out accuracy per grid value. Each fold's model is fitted on every view of the other folds' images,
     * with a scaler fitted on those rows, and scored on view 0 of the fold's images.
     */
    private static double[] crossValidate(FeatureRows rows, List<int[]> images, double[] grid, int folds, int k) {
        int[] fold = assignFolds(rows, images, folds, k);
        int d = rows.featureDim();
        long[] correct = new long[grid.length];
        long scored = 0;
        for (int f = 0; f < folds; f++) {
            List<Integer> fitList = new ArrayList<>();
            List<Integer> scoreList = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                int[] views = images.get(i);
                if (fold[i] == f) {
                    scoreList.add(plainView(rows, views));
                } else {
                    for (int r : views) {
                        fitList.add(r);
                    }
                }
            }
            int[] fitRows = fitList.stream().mapToInt(Integer::intValue).toArray();
            int[] scoreRows = scoreList.stream().mapToInt(Integer::intValue).toArray();
            Standardizer scaler = Standardizer.fit(rows, fitRows);
            float[] xFit = scaler.apply(rows, fitRows);
            float[] xScore = scaler.apply(rows, scoreRows);
            int[] yFit = labels(rows, fitRows);
            int[] yScore = labels(rows, scoreRows);
            float[] probs = new float[scoreRows.length * k];
            double[] start = null;
            for (int g = 0; g < grid.length; g++) {
                SoftmaxRegression m = SoftmaxRegression.fit(xFit, yFit, fitRows.length, d, k, grid[g], start);
                start = m.parameters();
                m.predict(xScore, yScore, scoreRows.length, probs);
                for (int i = 0; i < scoreRows.length; i++) {
                    if (argmax(probs, i * k, k) == yScore[i]) {
                        correct[g]++;
                    }
                }
            }
            scored += scoreRows.length;
        }
        double[] accuracy = new double[grid.length];
        for (int g = 0; g < grid.length; g++) {
            accuracy[g] = (double) correct[g] / scored;
        }
        return accuracy;
    }

    /**
     * Stratified folds of images: each class's images, in cache order, are cut into {@code folds} consecutive runs
     * whose sizes differ by at most one (the first runs get the extra images).
     */
    static int[] assignFolds(FeatureRows rows, List<int[]> images, int folds, int k) {
        int[] fold = new int[images.size()];
        for (int c = 0; c < k; c++) {
            List<Integer> ofClass = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                if (rows.label(images.get(i)[0]) == c) {
                    ofClass.add(i);
                }
            }
            int n = ofClass.size();
            int at = 0;
            for (int f = 0; f < folds; f++) {
                int size = n / folds + (f < n % folds ? 1 : 0);
                for (int j = 0; j < size; j++) {
                    fold[ofClass.get(at++)] = f;
                }
            }
        }
        return fold;
    }

    /** The rows of each image (its augmented views), images in order of first appearance. */
    static List<int[]> imagesOf(FeatureRows rows, int[] which) {
        Map<String, List<Integer>> byPath = new LinkedHashMap<>();
        for (int r : which) {
            byPath.computeIfAbsent(rows.path(r), p -> new ArrayList<>()).add(r);
        }
        List<int[]> images = new ArrayList<>(byPath.size());
        for (List<Integer> views : byPath.values()) {
            images.add(views.stream().mapToInt(Integer::intValue).toArray());
        }
        return images;
    }

    private static int smallestClass(FeatureRows rows, List<int[]> images, int k) {
        int[] count = new int[k];
        for (int[] views : images) {
            count[rows.label(views[0])]++;
        }
        int smallest = Integer.MAX_VALUE;
        for (int c : count) {
            if (c > 0) {
                smallest = Math.min(smallest, c);
            }
        }
        return smallest == Integer.MAX_VALUE ? 0 : smallest;
    }

    private static int plainView(FeatureRows rows, int[] views) {
        for (int r : views) {
            if (rows.view(r) == 0) {
                return r;
            }
        }
        return views[0];
    }

    private static int[] labels(FeatureRows rows, int[] which) {
        int[] y = new int[which.length];
        for (int i = 0; i < which.length; i++) {
            y[i] = rows.label(which[i]);
        }
        return y;
    }

    private static int argmax(float[] p, int offset, int k) {
        int best = 0;
        for (int c = 1; c < k; c++) {
            if (p[offset + c] > p[offset + best]) {
                best = c;
            }
        }
        return best;
    }

    private static double[] logspace(double fromExp, double toExp, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = Math.pow(10, fromExp + (toExp - fromExp) * i / (n - 1));
        }
        return v;
    }

    /**
     * Per-feature mean and scale of the rows it was fitted on (population standard deviation, as sklearn's
     * StandardScaler; a constant feature gets scale 1), applied to any rows.
     */
    record Standardizer(double[] mean, double[] scale) {
        static Standardizer fit(FeatureRows rows, int[] which) {
            int d = rows.featureDim();
            double[] mean = new double[d];
            double[] m2 = new double[d];
            float[] f = new float[d];
            long n = 0;
            // Welford's update: one pass, no cancellation for features with a large mean.
            for (int r : which) {
                rows.read(r, f, 0);
                n++;
                for (int j = 0; j < d; j++) {
                    double delta = f[j] - mean[j];
                    mean[j] += delta / n;
                    m2[j] += delta * (f[j] - mean[j]);
                }
            }
            double[] scale = new double[d];
            for (int j = 0; j < d; j++) {
                double sd = n == 0 ? 0 : Math.sqrt(m2[j] / n);
                scale[j] = sd > 0 ? sd : 1.0;
            }
            return new Standardizer(mean, scale);
        }

        /** The rows, scaled, as one row-major float array. */
        float[] apply(FeatureRows rows, int[] which) {
            int d = mean.length;
            float[] out = new float[Math.multiplyExact(which.length, d)];
            float[] f = new float[d];
            for (int i = 0; i < which.length; i++) {
                rows.read(which[i], f, 0);
                for (int j = 0; j < d; j++) {
                    out[i * d + j] = (float) ((f[j] - mean[j]) / scale[j]);
                }
            }
            return out;
        }
    }
}
