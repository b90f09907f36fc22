package org.transfer4j.head.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.transfer4j.backbone.ModelException;
import org.transfer4j.backbone.ModelException.Reason;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.head.HeadWeights;

/**
 * The two-part form: a backbone session giving features, then the head in plain Java ({@link JavaHead}). Images are
 * preprocessed with the spec stored in the head, i.e. exactly as the features it was trained on.
 */
final class TwoPartEngine implements Engine {
    private final Path backboneFile;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final BackboneSpec spec;
    private final String featuresOutput;
    private final Set<String> requested;
    private final JavaHead head;
    private final int maxBatch;

    private TwoPartEngine(Path backboneFile, OrtSession session, BackboneSpec spec, String featuresOutput,
                          JavaHead head, int maxBatch) {
        this.backboneFile = backboneFile;
        this.env = OrtEnvironment.getEnvironment();
        this.session = session;
        this.spec = spec;
        this.featuresOutput = featuresOutput;
        this.requested = Set.of(featuresOutput);
        this.head = head;
        this.maxBatch = maxBatch;
    }

    static TwoPartEngine open(Path backbone, HeadWeights weights, String headSource, SessionFactory sessions)
            throws ModelException {
        if (!Files.isRegularFile(backbone)) {
            throw new ModelException(Reason.NOT_FOUND, backbone + ": no such backbone file");
        }
        requireSameBackbone(backbone, weights, headSource);
        BackboneSpec spec = weights.spec();
        OrtSession session = sessions.open(backbone);
        try {
            var inputs = session.getInputInfo();
            var outputs = session.getOutputInfo();
            if (!inputs.containsKey(spec.inputName())) {
                throw new ModelException(Reason.INCOMPATIBLE, backbone + ": the head's spec names input '"
                        + spec.inputName() + "' but the model's inputs are " + inputs.keySet());
            }
            String out = spec.outputName();
            if (out == null) {
                out = outputs.containsKey("features") ? "features"
                        : outputs.size() == 1 ? outputs.keySet().iterator().next() : null;
            }
            if (out == null || !outputs.containsKey(out)) {
                throw new ModelException(Reason.INCOMPATIBLE, backbone + ": cannot find the features output "
                        + (out == null ? "" : "'" + out + "' ") + "among " + outputs.keySet()
                        + "; set outputName in the spec");
            }
            return new TwoPartEngine(backbone, session, spec, out, new JavaHead(weights),
                    ComposedEngine.batchLimit(inputs.get(spec.inputName())));
        } catch (OrtException e) {
            close(session, e);
            throw new ModelException(Reason.INVALID_MODEL, backbone + ": cannot read the model's inputs and outputs: "
                    + e.getMessage(), e);
        } catch (ModelException | RuntimeException e) {
            close(session, e);
            throw e;
        }
    }

    /**
     * A head only makes sense on the features of the exact backbone it was trained on: a different file (even the
     * same architecture re-exported) gives different features and silently wrong answers. So compare hashes.
     */
    static void requireSameBackbone(Path backbone, HeadWeights weights, String headSource) throws ModelException {
        String expected = weights.spec().modelSha256();
        if (expected == null) {
            return; // a head without a recorded hash (made by hand) cannot be checked
        }
        String actual = sha256(backbone);
        if (!expected.equals(actual)) {
            throw new ModelException(Reason.INCOMPATIBLE, "head " + headSource + " was trained on a backbone with "
                    + "sha256 " + expected + ", but " + backbone + " has sha256 " + actual + "; use the backbone "
                    + "file the head was trained with, or extract features with this backbone and train a new head");
        }
    }

    static String sha256(Path file) throws ModelException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file),
                MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (IOException e) {
            throw new ModelException(Reason.NOT_FOUND, file + ": cannot read it to check its sha256: "
                    + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private static void close(OrtSession session, Exception primary) {
        try {
            session.close();
        } catch (OrtException e) {
            primary.addSuppressed(e);
        }
    }

    @Override
    public BackboneSpec spec() {
        return spec;
    }

    @Override
    public List<String> classes() {
        return head.classes();
    }

    @Override
    public int maxBatch() {
        return maxBatch;
    }

    @Override
    public float[][] probabilities(FloatBuffer batch, int n) throws ModelException {
        batch.position(0).limit(n * spec.floatsPerImage());
        long[] shape = spec.layout() == Layout.NCHW
                ? new long[] {n, 3, spec.height(), spec.width()}
                : new long[] {n, spec.height(), spec.width(), 3};
        float[][] features;
        try (OnnxTensor input = OnnxTensor.createTensor(env, batch, shape);
             OrtSession.Result result = session.run(Map.of(spec.inputName(), input), requested)) {
            Optional<OnnxValue> out = result.get(featuresOutput);
            if (out.isEmpty() || !(out.get().getValue() instanceof float[][] f)) {
                throw new ModelException(Reason.INCOMPATIBLE, backboneFile + ": output '" + featuresOutput
                        + "' is not a float [N, D] tensor");
            }
            features = f;
        } catch (OrtException e) {
            throw new ModelException(Reason.RUNTIME, backboneFile + ": ONNX Runtime failed: " + e.getMessage(), e);
        }
        if (features.length != n || features[0].length != head.featureDim()) {
            throw new ModelException(Reason.INCOMPATIBLE, backboneFile + ": output '" + featuresOutput + "' is "
                    + features.length + "x" + features[0].length + " but the head expects " + head.featureDim()
                    + " features per image");
        }
        return head.probabilities(features);
    }

    @Override
    public String describe() {
        return backboneFile + " + head";
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException(backboneFile + ": closing the ONNX session failed: " + e.getMessage(), e);
        }
    }
}
