package org.transfer4j.backbone.spec;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * JSON form of {@link BackboneSpec}: the sidecar {@code <model>.json}, the ONNX metadata value and the copy stored
 * in caches and head files. Field names are the record's component names.
 */
public final class SpecJson {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping()
            .serializeSpecialFloatingPointValues().create();

    private SpecJson() {
    }

    public static String toJson(BackboneSpec spec) {
        return GSON.toJson(spec);
    }

    public static JsonElement toTree(BackboneSpec spec) {
        return GSON.toJsonTree(spec);
    }

    /** Parses and validates; the exception message names the bad field. */
    public static BackboneSpec fromJson(String json) {
        try {
            return fromTree(JsonParser.parseString(json));
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("backbone spec is not valid JSON: " + e.getMessage(), e);
        }
    }

    public static BackboneSpec fromTree(JsonElement tree) {
        if (tree == null || !tree.isJsonObject()) {
            throw new IllegalArgumentException("backbone spec must be a JSON object");
        }
        // Gson builds records through their canonical constructor, so validation runs here too.
        // Presets may be named instead of spelled out: {"preset":"caffe","inputName":"x","layout":"NHWC",...}.
        var obj = tree.getAsJsonObject();
        if (obj.has("preset") && !obj.has("scale")) {
            Preset p = Preset.parse(obj.get("preset").getAsString());
            BackboneSpec base = p.spec(str(obj, "inputName", "input"),
                    obj.has("layout") ? Layout.valueOf(obj.get("layout").getAsString()) : Layout.NCHW,
                    obj.has("height") ? obj.get("height").getAsInt() : 224,
                    obj.has("width") ? obj.get("width").getAsInt() : 224);
            var full = GSON.toJsonTree(base).getAsJsonObject();
            obj.entrySet().forEach(e -> full.add(e.getKey(), e.getValue()));
            obj = full;
        }
        try {
            BackboneSpec spec = GSON.fromJson(obj, BackboneSpec.class);
            if (spec.layout() == null || spec.channelOrder() == null) {
                throw new IllegalArgumentException("backbone spec has a missing or unknown layout/channelOrder: " + obj);
            }
            return spec;
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("backbone spec does not fit the schema: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // Gson wraps exceptions thrown by the record constructor; surface the validation message itself.
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof IllegalArgumentException iae && iae.getMessage().startsWith("backbone spec field")) {
                    throw new IllegalArgumentException(iae.getMessage(), e);
                }
            }
            throw e;
        }
    }

    private static String str(com.google.gson.JsonObject o, String k, String dflt) {
        return o.has(k) ? o.get(k).getAsString() : dflt;
    }

    public static BackboneSpec read(Path file) throws IOException {
        try {
            return fromJson(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Writes atomically (temp file, then rename) so a crash never leaves half a sidecar. */
    public static void write(BackboneSpec spec, Path file) throws IOException {
        org.transfer4j.backbone.io.AtomicFiles.writeString(file, toJson(spec) + "\n");
    }
}
