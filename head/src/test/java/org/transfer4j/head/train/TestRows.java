package org.transfer4j.head.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;

/** Feature rows for trainer tests, as {@link ArrayRows}: Gaussian blobs with augmented views, or all-zero rows. */
final class TestRows {
    private TestRows() {
    }

    static String sha(char c) {
        return String.valueOf(c).repeat(64);
    }

    /** The torch-preset spec these tests use, for {@code dim}-wide features of the backbone with {@code sha256}. */
    static BackboneSpec spec(int dim, String sha256) {
        return Preset.TORCH.spec("input", Layout.NCHW, 224, 224).withFeatureDim(dim).withModelSha256(sha256);
    }

    /**
     * {@code imagesPerClass[c]} images of class c, {@code views} rows each; class centres at distance
     * {@code separation} (noise std 1), so larger separation = easier.
     */
    static ArrayRows blobs(int dim, int[] imagesPerClass, int views, double separation, long seed) {
        List<String> names = new ArrayList<>();
        int rows = 0;
        for (int c = 0; c < imagesPerClass.length; c++) {
            names.add("class" + c);
            rows += imagesPerClass[c] * views;
        }
        Random r = new Random(seed);
        float[][] centres = new float[imagesPerClass.length][dim];
        for (float[] centre : centres) {
            for (int j = 0; j < dim; j++) {
                centre[j] = (float) (r.nextGaussian() * separation / Math.sqrt(2 * dim) * Math.sqrt(2));
            }
        }
        float[] features = new float[rows * dim];
        int[] labels = new int[rows];
        int[] viewOf = new int[rows];
        List<String> paths = new ArrayList<>(rows);
        int row = 0;
        for (int c = 0; c < imagesPerClass.length; c++) {
            for (int i = 0; i < imagesPerClass[c]; i++) {
                float[] base = new float[dim];
                for (int j = 0; j < dim; j++) {
                    base[j] = centres[c][j] + (float) r.nextGaussian();
                }
                for (int v = 0; v < views; v++) {
                    for (int j = 0; j < dim; j++) {
                        features[row * dim + j] = v > 0 ? base[j] + (float) (0.1 * r.nextGaussian()) : base[j];
                    }
                    labels[row] = c;
                    viewOf[row] = v;
                    paths.add("class" + c + "/img" + i + ".jpg");
                    row++;
                }
            }
        }
        return new ArrayRows(names, spec(dim, sha('a')), dim, features, labels, viewOf, paths);
    }

    /** One all-zero row of class 0, view 0 per path (none: an empty set). */
    static ArrayRows zeros(List<String> classes, BackboneSpec spec, String... paths) {
        int dim = spec.featureDim();
        return new ArrayRows(classes, spec, dim, new float[paths.length * dim], new int[paths.length],
                null, List.of(paths));
    }
}
