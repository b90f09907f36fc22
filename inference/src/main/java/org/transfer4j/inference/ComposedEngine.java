package org.transfer4j.inference;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.transfer4j.ModelException;
import org.transfer4j.ModelException.Reason;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.head.HeadFiles;

/**
 * A composed model (backbone + head in one ONNX graph). The spec and class names come from the model's own
 * metadata, so the one file is all a user deploys. The session is a {@link Backbone} whose "features" output is the
 * {@code probabilities} tensor: device choice, session tuning and fixed-batch handling are shared with extraction.
 */
final class ComposedEngine implements Engine {
    private static final String CLASSES_KEY = OnnxMetadata.CLASSES;
    private static final String SPEC_KEY = OnnxMetadata.SPEC;
    private static final String PROBABILITIES = OnnxMetadata.PROBABILITIES_OUTPUT;

    private final Backbone session;
    private final BackboneSpec spec;
    private final List<String> classes;
    private final ModelInfo info;

    private ComposedEngine(Backbone session, BackboneSpec spec, List<String> classes, ModelInfo info) {
        this.session = session;
        this.spec = spec;
        this.classes = classes;
        this.info = info;
    }

    /**
     * Opens {@code file}. {@code specOverride} (may be null) replaces the spec stored in the metadata, for models
     * composed by other tools.
     */
    static ComposedEngine open(Path file, BackboneOptions opts, BackboneSpec specOverride) throws ModelException {
        Map<String, String> meta = OnnxMetadata.read(file);
        BackboneSpec spec = specOverride != null ? specOverride : readSpec(file, meta.get(SPEC_KEY));
        List<String> classes = readClasses(file, meta.get(CLASSES_KEY));
        ModelInfo info = readInfo(file, meta, spec, classes);
        BackboneOptions withSpec = BackboneOptions.builder().optDevice(opts.device())
                .optIntraOpThreads(opts.intraOpThreads()).optAllowSpinning(opts.allowSpinning())
                .optSpec(spec.withOutputName(PROBABILITIES).withFeatureDim(0)).build();
        Backbone session;
        try {
            session = Backbone.load(file, withSpec);
        } catch (ModelException e) {
            if (e.reason() == Reason.INCOMPATIBLE && e.getMessage().contains("'" + PROBABILITIES + "'")) {
                throw new ModelException(Reason.INCOMPATIBLE, file + " has no usable '" + PROBABILITIES
                        + "' output, so it is not a composed model; compose one with model.jar compose, or load the "
                        + "backbone and head separately (" + e.getMessage() + ")", e);
            }
            throw e;
        }
        if (session.featureDim() != classes.size()) {
            ModelException e = new ModelException(Reason.INCOMPATIBLE, file + ": '" + PROBABILITIES + "' has "
                    + session.featureDim() + " columns but metadata " + CLASSES_KEY + " names " + classes.size()
                    + " classes; the file was edited or composed wrongly — compose it again");
            closeAfter(session, e);
            throw e;
        }
        return new ComposedEngine(session, session.spec(), classes, info);
    }

    /** The head metadata is optional (models composed elsewhere); when present it must parse. */
    private static ModelInfo readInfo(Path file, Map<String, String> meta, BackboneSpec spec, List<String> classes)
            throws ModelException {
        String headJson = meta.get(OnnxMetadata.HEAD);
        HeadFiles.Description head;
        try {
            head = headJson == null ? new HeadFiles.Description(-1, -1, null) : HeadFiles.parseMetadataJson(headJson);
        } catch (IllegalArgumentException e) {
            throw new ModelException(Reason.INVALID_MODEL, file + ": metadata '" + OnnxMetadata.HEAD + "' is not a "
                    + "valid head description: " + e.getMessage() + "; compose the model again", e);
        }
        int featureDim = head.featureDim() >= 0 ? head.featureDim() : spec.featureDim() > 0 ? spec.featureDim() : -1;
        return new ModelInfo(ModelInfo.Form.COMPOSED, file.toString(), classes, spec, featureDim, head.hidden(),
                head.info(), meta);
    }

    private static void closeAfter(Backbone session, Exception primary) {
        try {
            session.close();
        } catch (ModelException e) {
            primary.addSuppressed(e);
        }
    }

    private static BackboneSpec readSpec(Path file, String json) throws ModelException {
        if (json == null) {
            throw new ModelException(Reason.INCOMPATIBLE, file + " has no '" + SPEC_KEY + "' metadata, so it is not "
                    + "a composed model and its preprocessing is unknown; compose one with model.jar compose, load "
                    + "a backbone and a head separately, or give the spec explicitly (Predictor.Builder.optSpec)");
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
            throw new ModelException(Reason.INCOMPATIBLE, file + " has no '" + CLASSES_KEY + "' metadata, so its "
                    + "class names are unknown; compose the model with model.jar compose");
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
        return session.maxBatch();
    }

    @Override
    public float[][] probabilities(FloatBuffer batch, int n) throws ModelException {
        return session.features(batch, n);
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public String describe() {
        return session.modelPath().toString();
    }

    @Override
    public void close() throws ModelException {
        session.close();
    }
}
