package org.transfer4j.inference;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.transfer4j.ModelException;
import org.transfer4j.ModelException.Reason;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.head.HeadInfo;
import org.transfer4j.head.HeadWeights;

/**
 * The two-part form: a {@link Backbone} giving features, then the head in plain Java ({@link JavaHead}). Images are
 * preprocessed with the spec stored in the head, i.e. exactly as the features it was trained on.
 */
final class TwoPartEngine implements Engine {
    private final Backbone backbone;
    private final JavaHead head;
    private final ModelInfo info;

    private TwoPartEngine(Backbone backbone, JavaHead head, ModelInfo info) {
        this.backbone = backbone;
        this.head = head;
        this.info = info;
    }

    /** {@code headInfo} is what head.json says beside the weights; null for a head given in memory. */
    static TwoPartEngine open(Path backboneFile, HeadWeights weights, HeadInfo headInfo, String headSource,
                              BackboneOptions opts) throws ModelException {
        BackboneOptions withSpec = BackboneOptions.builder().optDevice(opts.device())
                .optIntraOpThreads(opts.intraOpThreads()).optAllowSpinning(opts.allowSpinning())
                .optSpec(weights.spec().withFeatureDim(0)).build();
        Backbone backbone;
        try {
            backbone = Backbone.load(backboneFile, withSpec);
        } catch (ModelException e) {
            // The head's spec may not even fit another backbone (input name, size). The root cause a user must hear
            // is then "wrong backbone", so check the hash before reporting the symptom.
            if (e.reason() == Reason.INCOMPATIBLE || e.reason() == Reason.INVALID_SPEC) {
                requireSameBackbone(sha256(backboneFile, e), backboneFile, weights, headSource);
            }
            throw e;
        }
        try {
            requireSameBackbone(backbone.spec().modelSha256(), backboneFile, weights, headSource);
            if (backbone.featureDim() != weights.featureDim()) {
                throw new ModelException(Reason.INCOMPATIBLE, backboneFile + " gives " + backbone.featureDim()
                        + " features per image but head " + headSource + " expects " + weights.featureDim()
                        + "; use the backbone the head was trained with");
            }
            ModelInfo info = new ModelInfo(ModelInfo.Form.TWO_PART, backboneFile + " + " + headSource,
                    weights.classes(), weights.spec(), weights.featureDim(), weights.hidden(), headInfo, Map.of());
            return new TwoPartEngine(backbone, new JavaHead(weights), info);
        } catch (ModelException | RuntimeException e) {
            try {
                backbone.close();
            } catch (ModelException c) {
                e.addSuppressed(c);
            }
            throw e;
        }
    }

    /**
     * A head only makes sense on the features of the exact backbone it was trained on: a different file (even the
     * same architecture exported again) gives different features and silently wrong answers. So compare hashes.
     */
    static void requireSameBackbone(String actual, Path backboneFile, HeadWeights weights, String headSource)
            throws ModelException {
        String expected = weights.spec().modelSha256();
        if (expected != null && !expected.equals(actual)) {
            throw new ModelException(Reason.INCOMPATIBLE, "head " + headSource + " was trained on a backbone with "
                    + "sha256 " + expected + ", but " + backboneFile + " has sha256 " + actual + "; use the backbone "
                    + "file the head was trained with, or extract features with this backbone and train a new head");
        }
    }

    private static String sha256(Path file, ModelException pending) throws ModelException {
        try {
            return Hashes.sha256(file);
        } catch (IOException io) {
            pending.addSuppressed(io);
            throw pending;
        }
    }

    @Override
    public BackboneSpec spec() {
        return backbone.spec();
    }

    @Override
    public List<String> classes() {
        return head.classes();
    }

    @Override
    public int maxBatch() {
        return backbone.maxBatch();
    }

    @Override
    public float[][] probabilities(FloatBuffer batch, int n) throws ModelException {
        return head.probabilities(backbone.features(batch, n));
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public String describe() {
        return backbone.modelPath() + " + head";
    }

    @Override
    public void close() throws ModelException {
        backbone.close();
    }
}
