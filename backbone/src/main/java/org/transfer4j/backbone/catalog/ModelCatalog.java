package org.transfer4j.backbone.catalog;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.transfer4j.ModelException;

/**
 * The descriptors in one folder ({@code models/}): every {@code *.json} file there is a {@link ModelDescriptor},
 * except spec sidecars ({@code X.json} beside {@code X.onnx}, e.g. the {@code resnet50-notop.json} that fetch writes),
 * which are recognised by their content: a spec object at the top level ({@code inputName} or {@code preset}, no
 * {@code spec}). Loading is strict: one bad descriptor fails the whole load with a message naming each bad file.
 */
public final class ModelCatalog {
    private final Path dir;
    private final Map<String, ModelDescriptor> byName;

    private ModelCatalog(Path dir, Map<String, ModelDescriptor> byName) {
        this.dir = dir;
        this.byName = Collections.unmodifiableMap(byName);
    }

    /**
     * Loads every descriptor in {@code dir} (not recursive).
     *
     * @throws ModelException NOT_FOUND when the folder is missing, INVALID_SPEC naming every bad file
     */
    public static ModelCatalog load(Path dir) throws ModelException {
        if (!Files.isDirectory(dir)) {
            throw new ModelException(ModelException.Reason.NOT_FOUND, "model catalog folder " + dir
                    + " does not exist; run from the repository root or pass the models folder explicitly");
        }
        Map<String, ModelDescriptor> byName = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
            ds.forEach(files::add);
        } catch (IOException e) {
            throw new ModelException(ModelException.Reason.NOT_FOUND, "cannot list model catalog folder " + dir
                    + ": " + e.getMessage(), e);
        }
        Collections.sort(files);
        for (Path f : files) {
            if (isSpecSidecar(f)) {
                continue;
            }
            try {
                ModelDescriptor d = ModelDescriptor.read(f);
                byName.put(d.name(), d);
            } catch (ModelException e) {
                problems.add(e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new ModelException(ModelException.Reason.INVALID_SPEC, String.join("; ", problems));
        }
        return new ModelCatalog(dir, byName);
    }

    /** True for a spec sidecar (a spec object at the top level), which lives beside models but is no descriptor. */
    static boolean isSpecSidecar(Path f) {
        try {
            JsonElement tree = JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8));
            if (!tree.isJsonObject()) {
                return false;
            }
            JsonObject o = tree.getAsJsonObject();
            return !o.has("spec") && !o.has("name") && (o.has("inputName") || o.has("preset"));
        } catch (IOException | RuntimeException e) {
            // Unreadable or not JSON: let ModelDescriptor.read report it with the file name.
            return false;
        }
    }

    /** The folder this catalog was loaded from. */
    public Path dir() {
        return dir;
    }

    /** All descriptors, sorted by name. */
    public List<ModelDescriptor> all() {
        return List.copyOf(byName.values());
    }

    /**
     * The descriptor called {@code name}.
     *
     * @throws ModelException NOT_FOUND listing the names there are
     */
    public ModelDescriptor get(String name) throws ModelException {
        ModelDescriptor d = byName.get(name);
        if (d == null) {
            throw new ModelException(ModelException.Reason.NOT_FOUND, "no model called '" + name + "' in " + dir
                    + "; known: " + String.join(", ", byName.keySet()));
        }
        return d;
    }
}
