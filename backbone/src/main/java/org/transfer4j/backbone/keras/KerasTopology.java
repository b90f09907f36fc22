package org.transfer4j.backbone.keras;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.transfer4j.ModelException;
import org.transfer4j.ModelException.Reason;

/**
 * The graph of a Keras model as {@code model.json}'s {@code modelTopology} describes it: layers with their configs
 * and the tensors each call of a layer reads. Functional ({@code Model}/{@code Functional}) and {@code Sequential}
 * models; inbound nodes in the list form of Keras 2 ({@code [[["name", 0, 0, {}]]]}) and the dict form of Keras 3
 * ({@code [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["name", 0, 0]}}]}]}).
 */
final class KerasTopology {
    /** One output of one call of a layer: Keras' (layer, node index, tensor index). */
    record Ref(String layer, int node, int tensor) {
        String key() {
            return node == 0 && tensor == 0 ? layer : layer + "#" + node + "." + tensor;
        }

        @Override
        public String toString() {
            return key();
        }
    }

    /**
     * A layer of the model.
     *
     * @param calls for each call of the layer (Keras' inbound nodes), the tensors it reads; an InputLayer has one
     *              call reading nothing
     */
    record Layer(String name, String className, JsonObject config, List<List<Ref>> calls) {
        Ref output(int call) {
            return new Ref(name, call, 0);
        }

        String describe() {
            return className + " '" + name + "'";
        }
    }

    private final String modelName;
    private final Map<String, Layer> layers;
    private final List<Ref> inputs;
    private final List<Ref> outputs;

    private KerasTopology(String modelName, Map<String, Layer> layers, List<Ref> inputs, List<Ref> outputs) {
        this.modelName = modelName;
        this.layers = layers;
        this.inputs = inputs;
        this.outputs = outputs;
    }

    String modelName() {
        return modelName;
    }

    /** Layers in file order (Keras writes them in a topological order, but nothing here relies on it). */
    Map<String, Layer> layers() {
        return layers;
    }

    Layer layer(String name) {
        return layers.get(name);
    }

    List<Ref> inputs() {
        return inputs;
    }

    List<Ref> outputs() {
        return outputs;
    }

    /** The layer that produces {@code ref}. */
    Layer producer(Ref ref) {
        return layers.get(ref.layer());
    }

    /** How many layer calls read each tensor (by key). */
    Map<String, Integer> consumerCounts() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Layer l : layers.values()) {
            for (List<Ref> call : l.calls()) {
                for (Ref r : call) {
                    counts.merge(r.key(), 1, Integer::sum);
                }
            }
        }
        return counts;
    }

    /** The layer calls reading each tensor, as (layer, call index). */
    Map<String, List<Map.Entry<Layer, Integer>>> consumers() {
        Map<String, List<Map.Entry<Layer, Integer>>> out = new LinkedHashMap<>();
        for (Layer l : layers.values()) {
            for (int c = 0; c < l.calls().size(); c++) {
                for (Ref r : l.calls().get(c)) {
                    out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(Map.entry(l, c));
                }
            }
        }
        return out;
    }

    /** Parses {@code modelTopology}; {@code what} names the file in messages. */
    static KerasTopology parse(JsonObject modelTopology, String what) throws ModelException {
        JsonObject modelConfig = modelTopology.has("model_config") ? obj(modelTopology.get("model_config"), what)
                : modelTopology;
        String cls = str(modelConfig, "class_name", "");
        JsonElement config = modelConfig.get("config");
        if (config == null) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": modelTopology has no model_config.config; is "
                    + "this a TF.js layers model (format 'layers-model')? Graph models are not supported");
        }
        switch (cls) {
            case "Model", "Functional" -> {
                return functional(obj(config, what), what);
            }
            case "Sequential" -> {
                return sequential(config, what);
            }
            default -> throw new ModelException(Reason.INVALID_MODEL, what + ": the model is a '" + cls + "'; "
                    + "only Keras Functional (Model) and Sequential models can be imported");
        }
    }

    private static KerasTopology functional(JsonObject config, String what) throws ModelException {
        Map<String, Layer> layers = new LinkedHashMap<>();
        for (JsonElement e : arr(config.get("layers"), what + " layers")) {
            JsonObject l = obj(e, what);
            JsonObject lc = l.has("config") && l.get("config").isJsonObject() ? l.getAsJsonObject("config")
                    : new JsonObject();
            String name = str(l, "name", str(lc, "name", null));
            String cls = str(l, "class_name", null);
            if (name == null || cls == null) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": a layer without name or class_name: " + l);
            }
            List<List<Ref>> calls = new ArrayList<>();
            JsonElement inbound = l.get("inbound_nodes");
            if (inbound != null && inbound.isJsonArray()) {
                for (JsonElement node : inbound.getAsJsonArray()) {
                    calls.add(call(node, name, what));
                }
            }
            if (calls.isEmpty()) {
                calls.add(List.of());
            }
            if (layers.put(name, new Layer(name, cls, lc, List.copyOf(calls))) != null) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": two layers are named '" + name + "'");
            }
        }
        return new KerasTopology(str(config, "name", "model"), layers, endpoints(config.get("input_layers"), what),
                endpoints(config.get("output_layers"), what));
    }

    /** One inbound node in either form. */
    private static List<Ref> call(JsonElement node, String layer, String what) throws ModelException {
        List<Ref> refs = new ArrayList<>();
        if (node.isJsonObject()) {
            collectKerasTensors(node.getAsJsonObject().get("args"), refs);
        } else if (node.isJsonArray()) {
            for (JsonElement r : node.getAsJsonArray()) {
                refs.add(ref(r, what + " inbound node of '" + layer + "'"));
            }
        } else {
            throw new ModelException(Reason.INVALID_MODEL, what + ": layer '" + layer + "' has an inbound node "
                    + "that is neither a list nor an object: " + node);
        }
        return List.copyOf(refs);
    }

    private static void collectKerasTensors(JsonElement e, List<Ref> out) {
        if (e == null) {
            return;
        }
        if (e.isJsonArray()) {
            e.getAsJsonArray().forEach(x -> collectKerasTensors(x, out));
        } else if (e.isJsonObject()) {
            JsonObject o = e.getAsJsonObject();
            if ("__keras_tensor__".equals(str(o, "class_name", "")) && o.has("config")) {
                JsonArray h = o.getAsJsonObject("config").getAsJsonArray("keras_history");
                out.add(new Ref(h.get(0).getAsString(), h.get(1).getAsInt(), h.get(2).getAsInt()));
            }
        }
    }

    private static Ref ref(JsonElement r, String what) throws ModelException {
        if (!r.isJsonArray() || r.getAsJsonArray().size() < 3) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": expected [\"layer\", node, tensor], got " + r);
        }
        JsonArray a = r.getAsJsonArray();
        return new Ref(a.get(0).getAsString(), a.get(1).getAsInt(), a.get(2).getAsInt());
    }

    /** input_layers / output_layers: [["name", 0, 0], ...] or a single ["name", 0, 0]. */
    private static List<Ref> endpoints(JsonElement e, String what) throws ModelException {
        JsonArray a = arr(e, what + " input_layers/output_layers");
        List<Ref> out = new ArrayList<>();
        if (a.size() > 0 && a.get(0).isJsonPrimitive()) {
            out.add(ref(a, what));
        } else {
            for (JsonElement r : a) {
                out.add(ref(r, what));
            }
        }
        return List.copyOf(out);
    }

    /** A chain: an explicit InputLayer first, or one made from the first layer's batch_input_shape, as Keras does. */
    private static KerasTopology sequential(JsonElement config, String what) throws ModelException {
        JsonArray list;
        String name = "sequential";
        if (config.isJsonArray()) {
            list = config.getAsJsonArray();
        } else {
            JsonObject c = obj(config, what);
            list = arr(c.get("layers"), what + " layers");
            name = str(c, "name", name);
        }
        Map<String, Layer> layers = new LinkedHashMap<>();
        Ref previous = null;
        Ref input = null;
        for (JsonElement e : list) {
            JsonObject l = obj(e, what);
            String cls = str(l, "class_name", null);
            JsonObject lc = l.has("config") ? obj(l.get("config"), what) : new JsonObject();
            String lname = str(lc, "name", str(l, "name", null));
            if (cls == null || lname == null) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": a layer without name or class_name: " + l);
            }
            if (previous == null && !cls.equals("InputLayer")) {
                JsonElement shape = lc.has("batch_input_shape") ? lc.get("batch_input_shape") : lc.get("batch_shape");
                if (shape == null) {
                    throw new ModelException(Reason.INVALID_MODEL, what + ": the Sequential model's first layer '"
                            + lname + "' has no batch_input_shape, so the input size is unknown");
                }
                JsonObject ic = new JsonObject();
                ic.add("batch_input_shape", shape);
                ic.addProperty("name", lname + "_input");
                layers.put(lname + "_input", new Layer(lname + "_input", "InputLayer", ic, List.of(List.of())));
                previous = new Ref(lname + "_input", 0, 0);
                input = previous;
            }
            List<Ref> reads = cls.equals("InputLayer") ? List.of() : List.of(previous);
            if (layers.put(lname, new Layer(lname, cls, lc, List.of(reads))) != null) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": two layers are named '" + lname + "'");
            }
            previous = new Ref(lname, 0, 0);
            if (input == null) {
                input = previous;
            }
        }
        if (previous == null) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": the Sequential model has no layers");
        }
        return new KerasTopology(name, layers, List.of(input), List.of(previous));
    }

    // ---- JSON helpers ---------------------------------------------------------------------------------------------

    static JsonObject obj(JsonElement e, String what) throws ModelException {
        if (e == null || !e.isJsonObject()) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": expected a JSON object, got " + e);
        }
        return e.getAsJsonObject();
    }

    static JsonArray arr(JsonElement e, String what) throws ModelException {
        if (e == null || !e.isJsonArray()) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": expected a JSON array, got " + e);
        }
        return e.getAsJsonArray();
    }

    static String str(JsonObject o, String key, String dflt) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? dflt : e.getAsString();
    }
}
