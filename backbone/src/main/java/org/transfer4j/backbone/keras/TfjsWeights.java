package org.transfer4j.backbone.keras;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.transfer4j.ModelException;
import org.transfer4j.ModelException.Reason;
import org.transfer4j.backbone.cache.Float16;

/**
 * The weights of a TF.js model: {@code weightsManifest} groups, each a list of shard files read back to back and
 * holding its tensors in manifest order. Stored types: float32, int32, float16 ({@code dtype: float16} or
 * {@code quantization.dtype: float16}) and TF.js' affine uint8/uint16 quantization, {@code value = q * scale + min}
 * (computed in double and rounded to float, as TF.js' Float32Array does).
 */
final class TfjsWeights {
    /** One tensor as the manifest lists it. */
    record Entry(String name, int[] shape, String storedAs, double scale, double min, int group) {
        int count() {
            int n = 1;
            for (int d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }

        int bytesPerValue() {
            return switch (storedAs) {
                case "float32", "int32" -> 4;
                case "float16", "uint16" -> 2;
                case "uint8" -> 1;
                default -> throw new IllegalStateException(storedAs);
            };
        }
    }

    private record Group(List<String> paths, List<Entry> entries) {
    }

    private final TfjsSource source;
    private final List<Group> groups;
    private final Map<String, Entry> byName = new LinkedHashMap<>();
    private final Map<String, float[]> values = new HashMap<>();
    private final boolean[] loaded;

    private TfjsWeights(TfjsSource source, List<Group> groups) {
        this.source = source;
        this.groups = groups;
        groups.forEach(g -> g.entries.forEach(e -> byName.put(e.name(), e)));
        this.loaded = new boolean[groups.size()];
    }

    /** Parses the manifest; shard paths are resolved against model.json's folder. Reads no shard yet. */
    static TfjsWeights parse(JsonElement manifest, TfjsSource source) throws ModelException {
        String what = source.describe(source.modelJson());
        String dir = TfjsSource.parent(source.modelJson());
        List<Group> groups = new ArrayList<>();
        JsonArray ga = manifest == null ? new JsonArray() : KerasTopology.arr(manifest, what + " weightsManifest");
        for (JsonElement ge : ga) {
            JsonObject g = KerasTopology.obj(ge, what + " weightsManifest group");
            List<String> paths = new ArrayList<>();
            for (JsonElement p : KerasTopology.arr(g.get("paths"), what + " weightsManifest paths")) {
                String resolved = TfjsSource.resolve(dir, p.getAsString());
                if (resolved == null) {
                    throw new ModelException(Reason.INVALID_MODEL, what + ": shard path '" + p.getAsString()
                            + "' points outside the model's folder");
                }
                paths.add(resolved);
            }
            List<Entry> entries = new ArrayList<>();
            for (JsonElement we : KerasTopology.arr(g.get("weights"), what + " weightsManifest weights")) {
                entries.add(entry(KerasTopology.obj(we, what), groups.size(), what));
            }
            groups.add(new Group(List.copyOf(paths), List.copyOf(entries)));
        }
        return new TfjsWeights(source, groups);
    }

    private static Entry entry(JsonObject w, int group, String what) throws ModelException {
        String name = KerasTopology.str(w, "name", null);
        if (name == null) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": a weight without a name: " + w);
        }
        JsonArray s = KerasTopology.arr(w.get("shape"), what + " shape of weight '" + name + "'");
        int[] shape = new int[s.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = s.get(i).getAsInt();
            if (shape[i] < 0) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": weight '" + name + "' has shape " + s);
            }
        }
        String dtype = KerasTopology.str(w, "dtype", "float32");
        String stored = dtype;
        double scale = 1;
        double min = 0;
        if (w.has("quantization") && w.get("quantization").isJsonObject()) {
            JsonObject q = w.getAsJsonObject("quantization");
            stored = KerasTopology.str(q, "dtype", "");
            if (stored.equals("uint8") || stored.equals("uint16")) {
                if (!q.has("scale") || !q.has("min")) {
                    throw new ModelException(Reason.INVALID_MODEL, what + ": weight '" + name + "' is " + stored
                            + "-quantized without scale and min");
                }
                scale = q.get("scale").getAsDouble();
                min = q.get("min").getAsDouble();
            } else if (!stored.equals("float16")) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": weight '" + name + "' uses quantization "
                        + "dtype '" + stored + "'; supported: uint8, uint16 (with scale and min) and float16");
            }
            String original = KerasTopology.str(q, "original_dtype", dtype);
            if (!original.equals("float32") && !original.equals("int32")) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": weight '" + name + "' was quantized from "
                        + original + "; only float32 and int32 weights are supported");
            }
        } else if (!List.of("float32", "float16", "int32").contains(dtype)) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": weight '" + name + "' has dtype '" + dtype
                    + "'; supported: float32, float16, int32 and uint8/uint16 quantization");
        }
        return new Entry(name, shape, stored, scale, min, group);
    }

    /** The manifest entry for a layer's parameter: {@code layer/param}, or a unique name ending in it. */
    Entry find(String layer, String param) {
        Entry exact = byName.get(layer + "/" + param);
        if (exact != null) {
            return exact;
        }
        String suffix = "/" + layer + "/" + param;
        Entry found = null;
        for (Entry e : byName.values()) {
            if (e.name().endsWith(suffix)) {
                if (found != null) {
                    return null; // ambiguous: treated as missing, and the message lists what there is
                }
                found = e;
            }
        }
        return found;
    }

    /** The names listed for a layer, for messages. */
    List<String> namesFor(String layer) {
        return byName.keySet().stream().filter(n -> n.startsWith(layer + "/") || n.contains("/" + layer + "/"))
                .toList();
    }

    /** The decoded values of an entry; the group holding it is read (and checked) the first time. */
    float[] values(Entry e) throws ModelException {
        if (!loaded[e.group()]) {
            load(e.group());
        }
        return values.get(e.name());
    }

    private void load(int gi) throws ModelException {
        Group g = groups.get(gi);
        long expected = 0;
        for (Entry e : g.entries) {
            expected += (long) e.count() * e.bytesPerValue();
        }
        long actual = 0;
        for (String p : g.paths) {
            long size = source.size(p);
            if (size < 0) {
                throw new ModelException(Reason.NOT_FOUND, "weight shard " + source.describe(p) + " is missing: "
                        + source.describe(source.modelJson()) + " lists it in weightsManifest group " + (gi + 1)
                        + "; copy all the shard files that came with model.json");
            }
            actual += size;
        }
        if (actual != expected) {
            throw new ModelException(Reason.INVALID_MODEL, String.format(Locale.ROOT,
                    "the weight shards of group %d (%s) hold %d bytes but the weightsManifest of %s describes %d "
                            + "bytes; a shard is truncated or belongs to another model: fetch the package again",
                    gi + 1, String.join(", ", g.paths.stream().map(source::describe).toList()), actual,
                    source.describe(source.modelJson()), expected));
        }
        if (expected > Integer.MAX_VALUE) {
            throw new ModelException(Reason.INVALID_MODEL, "weight group " + (gi + 1) + " of "
                    + source.describe(source.modelJson()) + " is over 2 GiB, more than an ONNX file can hold");
        }
        ByteBuffer all = ByteBuffer.allocate((int) expected).order(ByteOrder.LITTLE_ENDIAN);
        for (String p : g.paths) {
            all.put(source.read(p).orElseThrow());
        }
        all.flip();
        for (Entry e : g.entries) {
            values.put(e.name(), decode(all, e));
        }
        loaded[gi] = true;
    }

    private static float[] decode(ByteBuffer buf, Entry e) {
        float[] out = new float[e.count()];
        switch (e.storedAs()) {
            case "float32" -> buf.asFloatBuffer().get(out);
            case "int32" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = buf.getInt(buf.position() + 4 * i);
                }
            }
            case "float16" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Float16.toFloat(buf.getShort(buf.position() + 2 * i));
                }
            }
            case "uint8" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) ((buf.get(buf.position() + i) & 0xff) * e.scale() + e.min());
                }
            }
            case "uint16" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) ((buf.getShort(buf.position() + 2 * i) & 0xffff) * e.scale() + e.min());
                }
            }
            default -> throw new IllegalStateException(e.storedAs());
        }
        buf.position(buf.position() + out.length * e.bytesPerValue());
        return out;
    }

    @Override
    public String toString() {
        return byName.size() + " weights in " + groups.size() + " groups " + Arrays.toString(
                groups.stream().mapToInt(g -> g.paths.size()).toArray());
    }
}
