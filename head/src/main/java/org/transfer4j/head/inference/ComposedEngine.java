package org.transfer4j.head.inference;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.transfer4j.backbone.ModelException;
import org.transfer4j.backbone.ModelException.Reason;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.SpecJson;

/**
 * A composed model (backbone + head in one ONNX graph) in one ORT session. The spec and class names come from the
 * model's own metadata, so the one file is all a user deploys.
 */
final class ComposedEngine implements Engine {
    /** ONNX metadata key holding the class names as a JSON array. */
    static final String CLASSES_KEY = "transfer4j.classes";
    /** ONNX metadata key holding the backbone spec (SpecJson). */
    static final String SPEC_KEY = "transfer4j.spec";
    /** The composed model's probability output, [N, K]. */
    static final String PROBABILITIES = "probabilities";

    private final Path file;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final BackboneSpec spec;
    private final List<String> classes;
    private final int maxBatch;
    private final Set<String> requested = Set.of(PROBABILITIES);

    private ComposedEngine(Path file, OrtEnvironment env, OrtSession session, BackboneSpec spec, List<String> classes,
                           int maxBatch) {
        this.file = file;
        this.env = env;
        this.session = session;
        this.spec = spec;
        this.classes = classes;
        this.maxBatch = maxBatch;
    }

    /**
     * Opens {@code file}. {@code specOverride} (may be null) replaces the spec stored in the metadata, for models
     * composed by other tools.
     */
    static ComposedEngine open(Path file, SessionFactory sessions, BackboneSpec specOverride) throws ModelException {
        if (!Files.isRegularFile(file)) {
            throw new ModelException(Reason.NOT_FOUND, file + ": no such model file");
        }
        OrtSession session = sessions.open(file);
        try {
            Map<String, String> meta = session.getMetadata().getCustomMetadata();
            BackboneSpec spec = specOverride != null ? specOverride : readSpec(file, meta.get(SPEC_KEY));
            List<String> classes = readClasses(file, meta.get(CLASSES_KEY));
            NodeInfo input = session.getInputInfo().get(spec.inputName());
            if (input == null) {
                throw new ModelException(Reason.INCOMPATIBLE, file + ": the spec names input '" + spec.inputName()
                        + "' but the model's inputs are " + session.getInputInfo().keySet()
                        + "; fix the spec's inputName");
            }
            NodeInfo output = session.getOutputInfo().get(PROBABILITIES);
            if (output == null) {
                throw new ModelException(Reason.INCOMPATIBLE, file + ": no '" + PROBABILITIES + "' output (outputs: "
                        + session.getOutputInfo().keySet() + "); this is not a composed model — compose one with "
                        + "model.jar compose, or load the backbone and head separately");
            }
            if (output.getInfo() instanceof TensorInfo t && t.getShape().length == 2 && t.getShape()[1] > 0
                    && t.getShape()[1] != classes.size()) {
                throw new ModelException(Reason.INCOMPATIBLE, file + ": '" + PROBABILITIES + "' has "
                        + t.getShape()[1] + " columns but metadata " + CLASSES_KEY + " names " + classes.size()
                        + " classes; the model file was edited or composed wrongly — compose it again");
            }
            int maxBatch = batchLimit(input);
            return new ComposedEngine(file, OrtEnvironment.getEnvironment(), session, spec, classes, maxBatch);
        } catch (OrtException e) {
            closeQuietly(session, e);
            throw new ModelException(Reason.INVALID_MODEL, file + ": cannot read the model's metadata or inputs: "
                    + e.getMessage(), e);
        } catch (ModelException | RuntimeException e) {
            closeQuietly(session, e);
            throw e;
        }
    }

    private static void closeQuietly(OrtSession session, Exception primary) {
        try {
            session.close();
        } catch (OrtException e) {
            primary.addSuppressed(e);
        }
    }

    /** 1 when the model's batch dimension is fixed to 1 (or any fixed value: we then feed exactly that), else 0 = any. */
    static int batchLimit(NodeInfo input) {
        if (input.getInfo() instanceof TensorInfo t && t.getShape().length > 0 && t.getShape()[0] > 0) {
            return (int) t.getShape()[0];
        }
        return Integer.MAX_VALUE;
    }

    private static BackboneSpec readSpec(Path file, String json) throws ModelException {
        if (json == null) {
            throw new ModelException(Reason.INCOMPATIBLE, file + ": no '" + SPEC_KEY + "' metadata, so the "
                    + "preprocessing is unknown; compose the model with model.jar compose, or give the spec "
                    + "explicitly (Predictor.Builder.optSpec / --spec)");
        }
        try {
            return SpecJson.fromJson(json);
        } catch (IllegalArgumentException e) {
            throw new ModelException(Reason.INVALID_SPEC, file + ": metadata '" + SPEC_KEY + "' is not a valid spec: "
                    + e.getMessage(), e);
        }
    }

    private static List<String> readClasses(Path file, String json) throws ModelException {
        if (json == null) {
            throw new ModelException(Reason.INCOMPATIBLE, file + ": no '" + CLASSES_KEY + "' metadata, so the class "
                    + "names are unknown; compose the model with model.jar compose");
        }
        try {
            JsonElement tree = JsonParser.parseString(json);
            if (!tree.isJsonArray()) {
                throw new JsonParseException("not a JSON array");
            }
            JsonArray arr = tree.getAsJsonArray();
            List<String> classes = new ArrayList<>(arr.size());
            for (JsonElement e : arr) {
                classes.add(e.getAsString());
            }
            if (classes.size() < 2) {
                throw new JsonParseException("it names " + classes.size() + " classes; a classifier needs >= 2");
            }
            return List.copyOf(classes);
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
            throw new ModelException(Reason.INCOMPATIBLE, file + ": metadata '" + CLASSES_KEY
                    + "' must be a JSON array of class names: " + e.getMessage(), e);
        }
    }

    @Override
    public BackboneSpec spec() {
        return spec;
    }

    @Override
    public List<String> classes() {
        return classes;
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
        try (OnnxTensor input = OnnxTensor.createTensor(env, batch, shape);
             OrtSession.Result result = session.run(Map.of(spec.inputName(), input), requested)) {
            Optional<OnnxValue> out = result.get(PROBABILITIES);
            if (out.isEmpty() || !(out.get().getValue() instanceof float[][] probs)) {
                throw new ModelException(Reason.INCOMPATIBLE, file + ": '" + PROBABILITIES
                        + "' is not a float [N, K] tensor");
            }
            if (probs.length != n || probs[0].length != classes.size()) {
                throw new ModelException(Reason.INCOMPATIBLE, file + ": '" + PROBABILITIES + "' came back "
                        + probs.length + "x" + probs[0].length + ", expected " + n + "x" + classes.size());
            }
            return probs;
        } catch (OrtException e) {
            throw new ModelException(Reason.RUNTIME, file + ": ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    @Override
    public String describe() {
        return file.toString();
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            // Closing a session only fails if it was already closed; nothing is left to release.
            throw new IllegalStateException(file + ": closing the ONNX session failed: " + e.getMessage(), e);
        }
    }
}
