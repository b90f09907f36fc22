package org.transfer4j.tools.train;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.SplittableRandom;
import org.transfer4j.Transfer4jException;
import org.transfer4j.backbone.cache.CacheWriter;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.extract.ImageTask;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;

/**
 * Real feature caches (written by {@link CacheWriter}) with made-up features, so train-head runs end to end without
 * ONNX Runtime: each class has a centre, each image a point near it, each augmented view a small jitter.
 */
final class TestCaches {
    private TestCaches() {
    }

    static BackboneSpec spec(int dim, char shaDigit) {
        return Preset.TORCH.spec("input", Layout.NCHW, 32, 32).withFeatureDim(dim)
                .withModelSha256(String.valueOf(shaDigit).repeat(64));
    }

    /**
     * Writes image stand-ins under {@code images/<class>/} and a cache of them in {@code cache}.
     *
     * @param separation distance scale between class centres (noise std 1)
     */
    static Path write(Path images, Path cache, String[] classes, int imagesPerClass, int dim, int augment,
                      double separation, char shaDigit, long seed) throws IOException, Transfer4jException {
        return write(images, cache, classes, imagesPerClass, dim, augment, separation, shaDigit, seed, null);
    }

    /** As above; every image of class {@code failing} fails to decode (so the cache has no rows of it). */
    static Path write(Path images, Path cache, String[] classes, int imagesPerClass, int dim, int augment,
                      double separation, char shaDigit, long seed, String failing)
            throws IOException, Transfer4jException {
        Random r = new Random(seed);
        float[][] centres = new float[classes.length][dim];
        Random cr = new Random(1234);
        for (float[] c : centres) {
            for (int j = 0; j < dim; j++) {
                c[j] = (float) (cr.nextGaussian() * separation / Math.sqrt(dim));
            }
        }
        for (String c : classes) {
            for (int i = 0; i < imagesPerClass; i++) {
                Path p = images.resolve(c).resolve("img" + i + ".jpg");
                Files.createDirectories(p.getParent());
                Files.write(p, ByteBuffer.allocate(16).putLong(r.nextLong()).putInt(i).array());
            }
        }
        Dataset dataset = Dataset.fromFolder(images);
        try (CacheWriter w = CacheWriter.builder(cache, spec(dim, shaDigit)).open()) {
            var plan = w.update(dataset, augment, seed);
            for (ImageTask t : plan.tasks()) {
                String rel = images.relativize(t.path()).toString();
                String className = rel.substring(0, rel.indexOf('/'));
                if (className.equals(failing)) {
                    w.failed(t, new ImageDecodeException(t.path().toString(), ImageDecodeException.Reason.CORRUPT,
                            "test: not an image"));
                    continue;
                }
                int label = java.util.Arrays.asList(classes).indexOf(className);
                SplittableRandom ir = new SplittableRandom(rel.hashCode());
                float[] f = new float[dim];
                SplittableRandom vr = new SplittableRandom(t.viewSeed() * 31 + t.view());
                for (int j = 0; j < dim; j++) {
                    f[j] = centres[label][j] + (float) gaussian(ir) + (t.view() == 0 ? 0f : (float) (0.1
                            * gaussian(vr)));
                }
                w.accept(t, f);
            }
            w.finish();
        }
        return cache;
    }

    private static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }
}
