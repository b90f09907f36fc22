package org.transfer4j.head.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.transfer4j.backbone.cache.FeatureRows;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;

/** Feature rows in memory for tests: Gaussian blobs, one per class, with augmented views per image. */
public final class InMemoryRows implements FeatureRows {
    private final List<String> classes;
    private final int dim;
    private final BackboneSpec spec;
    private final List<float[]> features = new ArrayList<>();
    private final List<Integer> labels = new ArrayList<>();
    private final List<Integer> views = new ArrayList<>();
    private final List<String> paths = new ArrayList<>();

    public InMemoryRows(List<String> classes, int dim, String sha256) {
        this(classes, dim, Preset.TORCH.spec("input", Layout.NCHW, 224, 224).withFeatureDim(dim)
                .withModelSha256(sha256));
    }

    public InMemoryRows(List<String> classes, int dim, BackboneSpec spec) {
        this.classes = List.copyOf(classes);
        this.dim = dim;
        this.spec = spec;
    }

    public static String sha(char c) {
        return String.valueOf(c).repeat(64);
    }

    /**
     * {@code imagesPerClass[c]} images of class c, {@code views} rows each; class centres at distance
     * {@code separation} (noise std 1), so larger separation = easier.
     */
    public static InMemoryRows blobs(int dim, int[] imagesPerClass, int views, double separation, long seed) {
        List<String> names = new ArrayList<>();
        for (int c = 0; c < imagesPerClass.length; c++) {
            names.add("class" + c);
        }
        InMemoryRows rows = new InMemoryRows(names, dim, sha('a'));
        Random r = new Random(seed);
        float[][] centres = new float[imagesPerClass.length][dim];
        for (float[] centre : centres) {
            for (int j = 0; j < dim; j++) {
                centre[j] = (float) (r.nextGaussian() * separation / Math.sqrt(2 * dim) * Math.sqrt(2));
            }
        }
        for (int c = 0; c < imagesPerClass.length; c++) {
            for (int i = 0; i < imagesPerClass[c]; i++) {
                float[] base = new float[dim];
                for (int j = 0; j < dim; j++) {
                    base[j] = centres[c][j] + (float) r.nextGaussian();
                }
                for (int v = 0; v < views; v++) {
                    float[] f = base.clone();
                    if (v > 0) {
                        for (int j = 0; j < dim; j++) {
                            f[j] += (float) (0.1 * r.nextGaussian());
                        }
                    }
                    rows.add(f, c, v, "class" + c + "/img" + i + ".jpg");
                }
            }
        }
        return rows;
    }

    public void add(float[] f, int label, int view, String path) {
        features.add(f.clone());
        labels.add(label);
        views.add(view);
        paths.add(path);
    }

    @Override
    public int rowCount() {
        return features.size();
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
        return labels.get(row);
    }

    @Override
    public int view(int row) {
        return views.get(row);
    }

    @Override
    public String path(int row) {
        return paths.get(row);
    }

    @Override
    public void read(int row, float[] dst, int offset) {
        System.arraycopy(features.get(row), 0, dst, offset, dim);
    }
}
