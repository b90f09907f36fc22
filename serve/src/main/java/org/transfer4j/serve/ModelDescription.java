package org.transfer4j.serve;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.inference.ModelInfo;
import org.transfer4j.inference.Predictor;

/**
 * The body of {@code GET /v1/model}: {@link Predictor#info()} as JSON, plus a short summary the page shows (name,
 * classes, backbone) and the server's batching settings. File names only, never the server's directories.
 */
final class ModelDescription {
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().serializeSpecialFloatingPointValues()
            .create();
    /** Rendered in their own members, so not repeated under "metadata". */
    private static final Set<String> RENDERED = Set.of(OnnxMetadata.SPEC, OnnxMetadata.CLASSES, OnnxMetadata.HEAD);

    private ModelDescription() {
    }

    static JsonObject of(Predictor predictor, ServerOptions options, int maxBatch) {
        ModelInfo info = predictor.info();
        BackboneSpec spec = info.spec();
        JsonObject o = new JsonObject();
        o.addProperty("name", name(info));
        o.addProperty("form", info.form().name().toLowerCase(java.util.Locale.ROOT));
        o.addProperty("num_classes", info.classes().size());
        JsonArray classes = new JsonArray();
        info.classes().forEach(classes::add);
        o.add("classes", classes);

        JsonObject backbone = new JsonObject();
        backbone.addProperty("file", backboneFile(info));
        backbone.addProperty("sha256", spec.modelSha256());
        backbone.addProperty("preset", spec.preset());
        backbone.addProperty("input", spec.width() + "x" + spec.height() + " " + spec.layout());
        backbone.addProperty("feature_dim", info.featureDim());
        o.add("backbone", backbone);

        JsonObject head = new JsonObject();
        head.addProperty("feature_dim", info.featureDim());
        head.addProperty("hidden", info.hidden());
        if (info.head() != null) {
            head.addProperty("epochs_run", info.head().epochsRun());
            head.addProperty("best_epoch", info.head().bestEpoch());
            head.add("training", GSON.toJsonTree(info.training()));
            head.add("provenance", GSON.toJsonTree(info.provenance()));
        }
        o.add("head", head);
        o.add("spec", SpecJson.toTree(spec));

        JsonObject metadata = new JsonObject();
        for (Map.Entry<String, String> e : info.metadata().entrySet()) {
            if (!RENDERED.contains(e.getKey())) {
                metadata.add(e.getKey(), jsonOrString(e.getValue()));
            }
        }
        o.add("metadata", metadata);

        JsonObject server = new JsonObject();
        server.addProperty("max_batch", maxBatch);
        server.addProperty("max_wait_ms", options.maxWait().toMillis());
        server.addProperty("queue", options.queue());
        server.addProperty("top_k", Math.min(options.topK(), info.classes().size()));
        server.addProperty("max_body_bytes", options.maxBodyBytes());
        server.addProperty("token_required", options.token() != null);
        o.add("server", server);
        return o;
    }

    /** The model's file name (composed form) or "backbone + head" file names (two-part form). */
    private static String name(ModelInfo info) {
        String[] parts = info.source().split(" \\+ ");
        StringBuilder sb = new StringBuilder();
        for (String p : parts) {
            if (sb.length() > 0) {
                sb.append(" + ");
            }
            sb.append(fileName(p));
        }
        return sb.toString();
    }

    /** The backbone file the composer recorded, the two-part form's backbone, or the preset and size. */
    private static String backboneFile(ModelInfo info) {
        String composed = info.metadata().get(OnnxMetadata.COMPOSED);
        if (composed != null && jsonOrString(composed) instanceof JsonObject c && c.has("backboneFile")) {
            return c.get("backboneFile").getAsString();
        }
        if (info.form() == ModelInfo.Form.TWO_PART) {
            return fileName(info.source().split(" \\+ ")[0]);
        }
        String generator = info.metadata().get(OnnxMetadata.GENERATOR);
        return generator != null ? "generated" : null;
    }

    private static String fileName(String path) {
        try {
            Path p = Path.of(path.strip()).getFileName();
            return p == null ? path : p.toString();
        } catch (InvalidPathException e) {
            return path;
        }
    }

    private static JsonElement jsonOrString(String value) {
        try {
            JsonElement e = JsonParser.parseString(value);
            if (e.isJsonObject() || e.isJsonArray()) {
                return e;
            }
        } catch (JsonParseException e) {
            // Plain text: kept as a string below.
        }
        return new com.google.gson.JsonPrimitive(value);
    }
}
