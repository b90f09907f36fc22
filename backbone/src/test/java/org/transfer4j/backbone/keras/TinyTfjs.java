package org.transfer4j.backbone.keras;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.transfer4j.backbone.cache.Float16;

/**
 * Writes tiny TF.js layers models for tests: a Keras functional topology (list-form inbound nodes) built layer by
 * layer, and weights stored float32, float16 or uint8/uint16-quantized, split over shard files. Also a minimal
 * ustar+gzip writer for npm-style packages.
 */
final class TinyTfjs {
    private static final Gson GSON = new Gson();

    private final JsonArray layers = new JsonArray();
    private final JsonArray weights = new JsonArray();
    private final ByteArrayOutputStream data = new ByteArrayOutputStream();
    private final Random rng;
    private String last;
    private String input;
    private String name = "tiny";

    TinyTfjs(long seed) {
        this.rng = new Random(seed);
    }

    TinyTfjs named(String modelName) {
        this.name = modelName;
        return this;
    }

    /** An InputLayer [null, h, w, 3]. */
    TinyTfjs input(String layer, int h, int w) {
        JsonObject c = cfg("batch_input_shape", Arrays.asList(null, h, w, 3), "dtype", "float32", "name", layer);
        add("InputLayer", layer, c, new String[0]);
        input = layer;
        return this;
    }

    /** A layer reading {@code inbound} (default: the previous layer). */
    TinyTfjs layer(String cls, String layer, JsonObject config, String... inbound) {
        config.addProperty("name", layer);
        add(cls, layer, config, inbound.length == 0 ? new String[] {last} : inbound);
        return this;
    }

    private void add(String cls, String layer, JsonObject config, String[] inbound) {
        JsonObject l = new JsonObject();
        l.addProperty("name", layer);
        l.addProperty("class_name", cls);
        l.add("config", config);
        JsonArray nodes = new JsonArray();
        if (inbound.length > 0) {
            JsonArray call = new JsonArray();
            for (String in : inbound) {
                call.add(GSON.toJsonTree(List.of(in, 0, 0, new JsonObject())));
            }
            nodes.add(call);
        }
        l.add("inbound_nodes", nodes);
        layers.add(l);
        last = layer;
    }

    String last() {
        return last;
    }

    /** Seeded values in [-1, 1). */
    float[] random(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = rng.nextFloat() * 2 - 1;
        }
        return v;
    }

    /** A float32 weight; returns the values. */
    float[] f32(String weight, int[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        manifest(weight, shape, "float32", null);
        data.writeBytes(b.array());
        return values;
    }

    /** A random float32 weight. */
    float[] f32(String weight, int... shape) {
        return f32(weight, shape, random(count(shape)));
    }

    /** A float16 weight ({@code dtype: float16}, or float32 with {@code quantization.dtype: float16}). */
    float[] f16(String weight, int[] shape, boolean asQuantization) {
        float[] v = random(count(shape));
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        float[] stored = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            short h = Float16.fromFloat(v[i]);
            b.putShort(h);
            stored[i] = Float16.toFloat(h);
        }
        JsonObject q = new JsonObject();
        q.addProperty("dtype", "float16");
        manifest(weight, shape, asQuantization ? "float32" : "float16", asQuantization ? q : null);
        data.writeBytes(b.array());
        return stored;
    }

    /** A uint8 or uint16 affine-quantized weight; returns the dequantized values q * scale + min. */
    float[] quantized(String weight, int[] shape, int bits) {
        float[] v = random(count(shape));
        int levels = bits == 8 ? 255 : 65535;
        double min = -1.0;
        double scale = 2.0 / levels;
        ByteBuffer b = ByteBuffer.allocate(v.length * bits / 8).order(ByteOrder.LITTLE_ENDIAN);
        float[] deq = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            int q = (int) Math.round((v[i] - min) / scale);
            if (bits == 8) {
                b.put((byte) q);
            } else {
                b.putShort((short) q);
            }
            deq[i] = (float) (q * scale + min);
        }
        JsonObject qz = new JsonObject();
        qz.addProperty("dtype", bits == 8 ? "uint8" : "uint16");
        qz.addProperty("scale", scale);
        qz.addProperty("min", min);
        qz.addProperty("original_dtype", "float32");
        manifest(weight, shape, "float32", qz);
        data.writeBytes(b.array());
        return deq;
    }

    private void manifest(String weight, int[] shape, String dtype, JsonObject quantization) {
        JsonObject w = new JsonObject();
        w.addProperty("name", weight);
        w.add("shape", GSON.toJsonTree(shape));
        w.addProperty("dtype", dtype);
        if (quantization != null) {
            w.add("quantization", quantization);
        }
        weights.add(w);
    }

    /** model.json's content with the shards named group1-shardKofN.bin. */
    JsonObject modelJson(int shards) {
        JsonObject config = new JsonObject();
        config.addProperty("name", name);
        config.add("layers", layers);
        config.add("input_layers", GSON.toJsonTree(List.of(List.of(input, 0, 0))));
        config.add("output_layers", GSON.toJsonTree(List.of(List.of(last, 0, 0))));
        JsonObject mc = new JsonObject();
        mc.addProperty("class_name", "Model");
        mc.add("config", config);
        JsonObject topo = new JsonObject();
        topo.addProperty("keras_version", "2.2.4-tf");
        topo.addProperty("backend", "tensorflow");
        topo.add("model_config", mc);
        JsonObject group = new JsonObject();
        JsonArray paths = new JsonArray();
        for (int i = 1; i <= shards; i++) {
            paths.add("group1-shard" + i + "of" + shards + ".bin");
        }
        group.add("paths", paths);
        group.add("weights", weights);
        JsonArray manifest = new JsonArray();
        manifest.add(group);
        JsonObject m = new JsonObject();
        m.addProperty("format", "layers-model");
        m.addProperty("generatedBy", "keras v2.2.4-tf");
        m.addProperty("convertedBy", "TinyTfjs test writer");
        m.add("modelTopology", topo);
        m.add("weightsManifest", manifest);
        return m;
    }

    /** The weight bytes split into {@code shards} nearly equal parts (the last may be shorter or empty). */
    byte[][] shards(int shards) {
        byte[] all = data.toByteArray();
        int per = (all.length + shards - 1) / Math.max(1, shards);
        byte[][] out = new byte[shards][];
        for (int i = 0; i < shards; i++) {
            int from = Math.min(all.length, i * per);
            out[i] = Arrays.copyOfRange(all, from, Math.min(all.length, from + per));
        }
        return out;
    }

    /** Writes model.json and its shards into {@code dir}; returns dir. */
    Path write(Path dir, int shards) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("model.json"), modelJson(shards).toString());
        byte[][] parts = shards(shards);
        for (int i = 0; i < shards; i++) {
            Files.write(dir.resolve("group1-shard" + (i + 1) + "of" + shards + ".bin"), parts[i]);
        }
        return dir;
    }

    // ---- config helpers -------------------------------------------------------------------------------------------

    /** A config object from key, value pairs (values through Gson: numbers, strings, lists, booleans, null). */
    static JsonObject cfg(Object... kv) {
        JsonObject o = new JsonObject();
        for (int i = 0; i < kv.length; i += 2) {
            Object v = kv[i + 1];
            o.add((String) kv[i], v instanceof JsonElement e ? e : GSON.toJsonTree(v));
        }
        return o;
    }

    static int count(int[] shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    // ---- a minimal .tgz writer (ustar headers, 512-byte blocks) ---------------------------------------------------

    /** Writes a gzip'd ustar archive of {@code files} (path to content) as npm pack would. */
    static void writeTgz(Path out, List<java.util.Map.Entry<String, byte[]>> files) throws IOException {
        try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(out))) {
            for (var f : files) {
                byte[] h = new byte[512];
                put(h, 0, f.getKey());
                put(h, 100, "0000644");
                put(h, 108, "0000000");
                put(h, 116, "0000000");
                put(h, 124, String.format("%011o", f.getValue().length));
                put(h, 136, "00000000000");
                h[156] = '0';
                put(h, 257, "ustar");
                put(h, 263, "00");
                Arrays.fill(h, 148, 156, (byte) ' ');
                int sum = 0;
                for (byte x : h) {
                    sum += x & 0xff;
                }
                put(h, 148, String.format("%06o", sum));
                h[154] = 0;
                gz.write(h);
                gz.write(f.getValue());
                gz.write(new byte[(512 - f.getValue().length % 512) % 512]);
            }
            gz.write(new byte[1024]);
        }
    }

    private static void put(byte[] h, int off, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, off, b.length);
    }
}
