package org.transfer4j.head.train;

import java.util.List;
import java.util.Objects;
import java.util.Random;
import org.transfer4j.backbone.cache.FeatureRows;
import org.transfer4j.backbone.spec.BackboneSpec;

/**
 * Feature rows held in one float array: for training from features computed elsewhere, and for benchmarks. Every
 * row is its own image (view 0, path {@code row-N}) unless paths and views are given.
 */
public final class ArrayRows implements FeatureRows {
    private final List<String> classes;
    private final BackboneSpec spec;
    private final int dim;
    private final float[] features;
    private final int[] labels;
    private final int[] views;
    private final List<String> paths;

    /**
     * @param features rows × dim, row-major (not copied)
     * @param labels   one label per row, indexes into {@code classes}
     * @param views    view per row, or null (all 0)
     * @param paths    image path per row, or null ({@code row-N})
     */
    public ArrayRows(List<String> classes, BackboneSpec spec, int dim, float[] features, int[] labels, int[] views,
                     List<String> paths) {
        this.classes = List.copyOf(classes);
        this.spec = Objects.requireNonNull(spec, "spec");
        this.dim = dim;
        this.features = features;
        this.labels = labels;
        this.views = views;
        this.paths = paths == null ? null : List.copyOf(paths);
        if (dim <= 0 || features.length != (long) labels.length * dim) {
            throw new IllegalArgumentException("features hold " + features.length + " values; expected rows "
                    + labels.length + " × dim " + dim);
        }
        if ((views != null && views.length != labels.length) || (paths != null && paths.size() != labels.length)) {
            throw new IllegalArgumentException("views/paths must have one entry per row (" + labels.length + ")");
        }
        for (int l : labels) {
            if (l < 0 || l >= classes.size()) {
                throw new IllegalArgumentException("label " + l + " out of range 0.." + (classes.size() - 1));
            }
        }
    }

    /**
     * Random rows for benchmarks: {@code classes} Gaussian clusters in {@code dim} dimensions (non-negative, like
     * pooled ReLU features), labels round-robin, seeded.
     */
    public static ArrayRows synthetic(int rows, int dim, int classes, BackboneSpec spec, long seed) {
        Random r = new Random(seed);
        float[][] centres = new float[classes][dim];
        for (float[] c : centres) {
            for (int j = 0; j < dim; j++) {
                c[j] = (float) Math.abs(r.nextGaussian());
            }
        }
        float[] f = new float[rows * dim];
        int[] labels = new int[rows];
        for (int i = 0; i < rows; i++) {
            labels[i] = i % classes;
            for (int j = 0; j < dim; j++) {
                f[i * dim + j] = Math.max(0f, centres[labels[i]][j] + (float) r.nextGaussian());
            }
        }
        List<String> names = new java.util.ArrayList<>();
        for (int c = 0; c < classes; c++) {
            names.add("class" + c);
        }
        return new ArrayRows(names, spec.withFeatureDim(dim), dim, f, labels, null, null);
    }

    @Override
    public int rowCount() {
        return labels.length;
    }

    @Override
    public int featureDim() {
        return dim;
    }

    @Override
    public List<String> classes() {
        return classes;
    }

    @Override
    public BackboneSpec spec() {
        return spec;
    }

    @Override
    public int label(int row) {
        return labels[row];
    }

    @Override
    public int view(int row) {
        return views == null ? 0 : views[row];
    }

    @Override
    public String path(int row) {
        return paths == null ? "row-" + row : paths.get(row);
    }

    @Override
    public void read(int row, float[] dst, int offset) {
        System.arraycopy(features, row * dim, dst, offset, dim);
    }
}
