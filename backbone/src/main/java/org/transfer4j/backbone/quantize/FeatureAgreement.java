package org.transfer4j.backbone.quantize;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.ImageDecoder;
import org.transfer4j.backbone.preprocess.Preprocessor;

/**
 * How closely an int8 backbone's features follow its float original on a set of images: the cosine similarity of
 * each image's two feature vectors. Both models see the same preprocessed pixels (the float model's spec), so the
 * difference is the quantization alone.
 *
 * @param images  images compared
 * @param mean    mean cosine similarity
 * @param min     lowest cosine similarity
 * @param failed  images that could not be decoded
 */
public record FeatureAgreement(int images, double mean, double min, List<String> failed) {
    private static final int BATCH = 8;

    public FeatureAgreement {
        failed = List.copyOf(failed);
    }

    /** Compares the features of {@code floatModel} and {@code int8Model} on {@code files}, on the CPU. */
    public static FeatureAgreement measure(Path floatModel, Path int8Model, List<Path> files, int threads)
            throws ModelException {
        BackboneOptions cpu = BackboneOptions.builder().optDevice(Device.CPU).optIntraOpThreads(threads).build();
        ImageDecoder decoder = ImageDecoder.builder().build();
        List<String> failed = new ArrayList<>();
        double sum = 0;
        double min = 1;
        int n = 0;
        try (Backbone f = Backbone.load(floatModel, cpu); Backbone q = Backbone.load(int8Model, cpu)) {
            if (!f.spec().samePreprocessing(q.spec()) || f.featureDim() != q.featureDim()) {
                throw new ModelException(ModelException.Reason.INCOMPATIBLE, int8Model + " does not take the same "
                        + "input or give the same features as " + floatModel + "; compare a model with its own "
                        + "quantized copy");
            }
            Preprocessor pre = new Preprocessor(f.spec());
            FloatBuffer batch = f.newBatchBuffer(BATCH);
            int filled = 0;
            for (int i = 0; i <= files.size(); i++) {
                if (i < files.size()) {
                    try {
                        pre.write(decoder.decode(files.get(i)), batch, filled++);
                    } catch (ImageDecodeException e) {
                        failed.add(files.get(i) + ": " + e.getMessage());
                    }
                }
                if (filled == BATCH || (i == files.size() && filled > 0)) {
                    float[][] a = f.features(batch, filled);
                    float[][] b = q.features(batch, filled);
                    for (int k = 0; k < filled; k++) {
                        double c = cosine(a[k], b[k]);
                        sum += c;
                        min = Math.min(min, c);
                        n++;
                    }
                    filled = 0;
                }
            }
        }
        return new FeatureAgreement(n, n == 0 ? Double.NaN : sum / n, n == 0 ? Double.NaN : min, failed);
    }

    /** Cosine similarity; 1 for two zero vectors (nothing to disagree on). */
    public static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 && nb == 0 ? 1 : dot / Math.sqrt(na * nb);
    }

    /** One line for the command line. */
    public String toText() {
        return String.format(Locale.ROOT, "features cosine to float on %d images: mean %.5f, min %.5f%s", images,
                mean, min, failed.isEmpty() ? "" : " (" + failed.size() + " images unreadable)");
    }
}
