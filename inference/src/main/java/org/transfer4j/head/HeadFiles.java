package org.transfer4j.head;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.io.AtomicFiles;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;

/**
 * A head on disk: a folder with {@code head.json} (what the head is and how it was made) and {@code head.bin} (its
 * weights). Plain Java and Gson only, so the Predictor and the Composer read heads without loading ND4J.
 *
 * <h2>head.json (format version 1)</h2>
 * <pre>{@code
 * { "format": "transfer4j-head", "formatVersion": 1,
 *   "classes": ["ants", "bees"], "featureDim": 1280, "hidden": 512,
 *   "backboneSha256": "<sha256 of the backbone model the features came from>",
 *   "spec": { ...BackboneSpec as SpecJson... },
 *   "training": { ...TrainingConfig... }, "seed": 42, "epochs": 30, "epochsRun": 14, "bestEpoch": 9,
 *   "weights": { "file": "head.bin", "bytes": 2628636, "sha256": "<sha256 of head.bin>" },
 *   "provenance": { "trainCache": ..., "trainCacheSha256": ..., "valCache": ..., "valCacheSha256": ...,
 *                   "libraries": { "transfer4j": ..., "nd4j": ..., "java": ... }, "createdAt": "2026-...Z" } }
 * }</pre>
 *
 * <h2>head.bin (format version 1)</h2>
 * All integers unsigned 32-bit little-endian, all weights IEEE-754 float32 little-endian:
 * <pre>
 * offset  size        field
 * 0       8           magic "T4JHEAD\0" (ASCII, NUL-terminated)
 * 8       4           format version (1)
 * 12      4           featureDim D
 * 16      4           hidden H (0 = single softmax layer)
 * 20      4           classes K
 * 24      4*D*H       w1, row-major [D][H]   (absent when H = 0)
 * ...     4*H         b1                     (absent when H = 0)
 * ...     4*H*K       w2, row-major [H][K]   ([D][K] when H = 0)
 * ...     4*K         b2
 * end-4   4           CRC-32 (java.util.zip.CRC32) of every byte before it
 * </pre>
 * The arrays are {@link HeadWeights}' arrays in its order, so logits = relu(x·w1 + b1)·w2 + b2.
 *
 * <p>Writes are atomic per file (temp, fsync, rename) and {@code head.bin} is written first: {@code head.json} records
 * the sha256 of the {@code head.bin} it belongs to, so a crash between the two renames is detected on read instead of
 * pairing old metadata with new weights. Readers refuse format versions they do not know.
 */
public final class HeadFiles {
    public static final String JSON_FILE = "head.json";
    public static final String BIN_FILE = "head.bin";
    public static final String FORMAT = "transfer4j-head";
    public static final int FORMAT_VERSION = 1;
    private static final byte[] MAGIC = {'T', '4', 'J', 'H', 'E', 'A', 'D', 0};
    private static final int HEADER_BYTES = 24;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping()
            .serializeSpecialFloatingPointValues().create();

    private HeadFiles() {
    }

    /** A head read back from disk. */
    public record Contents(HeadWeights weights, HeadInfo info) {
    }

    /**
     * What a composed model's head metadata says (see {@link #metadataJson}).
     *
     * @param featureDim D, or -1 when the metadata does not say
     * @param hidden     H (0 = no hidden layer), or -1 when the metadata does not say
     * @param info       training config, epochs and provenance; members the metadata lacks are null or 0
     */
    public record Description(int featureDim, int hidden, HeadInfo info) {
    }

    /** Writes {@code head.bin} then {@code head.json} into {@code dir} (created if needed), each atomically. */
    public static void write(Path dir, HeadWeights weights, HeadInfo info) throws IOException {
        byte[] bin = encodeWeights(weights);
        AtomicFiles.write(dir.resolve(BIN_FILE), bin);
        JsonObject json = describe(weights, info);
        JsonObject w = new JsonObject();
        w.addProperty("file", BIN_FILE);
        w.addProperty("bytes", bin.length);
        w.addProperty("sha256", Hashes.sha256(bin));
        json.add("weights", w);
        if (info != null && info.provenance() != null) {
            json.add("provenance", json.remove("provenance"));
        }
        AtomicFiles.writeString(dir.resolve(JSON_FILE), GSON.toJson(json) + "\n");
    }

    /**
     * head.json without the weights section: the value stored under the ONNX metadata key {@code transfer4j.head} of
     * a composed model.
     */
    public static String metadataJson(HeadWeights weights, HeadInfo info) {
        return GSON.toJson(describe(weights, info));
    }

    private static JsonObject describe(HeadWeights weights, HeadInfo info) {
        JsonObject o = new JsonObject();
        o.addProperty("format", FORMAT);
        o.addProperty("formatVersion", FORMAT_VERSION);
        JsonArray classes = new JsonArray();
        weights.classes().forEach(classes::add);
        o.add("classes", classes);
        o.addProperty("featureDim", weights.featureDim());
        o.addProperty("hidden", weights.hidden());
        o.addProperty("backboneSha256", weights.spec().modelSha256());
        o.add("spec", SpecJson.toTree(weights.spec()));
        if (info != null) {
            if (info.training() != null) {
                o.add("training", GSON.toJsonTree(info.training()));
                o.addProperty("seed", info.training().seed());
                o.addProperty("epochs", info.training().epochs());
            }
            o.addProperty("epochsRun", info.epochsRun());
            o.addProperty("bestEpoch", info.bestEpoch());
            if (info.provenance() != null) {
                o.add("provenance", GSON.toJsonTree(info.provenance()));
            }
        }
        return o;
    }

    /**
     * Parses the value of {@link #metadataJson} back. Lenient about absent members (a composed model's head metadata
     * may be any JSON object), strict about present ones.
     *
     * @throws IllegalArgumentException the text is not a JSON object or a member has the wrong type or value
     */
    public static Description parseMetadataJson(String json) {
        try {
            JsonElement el = JsonParser.parseString(json);
            if (!el.isJsonObject()) {
                throw new IllegalArgumentException("not a JSON object");
            }
            JsonObject o = el.getAsJsonObject();
            return new Description(intOr(o, "featureDim", -1), intOr(o, "hidden", -1), info(o));
        } catch (RuntimeException e) {
            // Gson wraps a record's own validation error; its message is the one that names the field.
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            throw new IllegalArgumentException(root.getMessage(), e);
        }
    }

    private static HeadInfo info(JsonObject json) {
        TrainingConfig training = json.has("training")
                ? GSON.fromJson(json.get("training"), TrainingConfig.class) : null;
        Provenance provenance = json.has("provenance")
                ? GSON.fromJson(json.get("provenance"), Provenance.class) : null;
        return new HeadInfo(training, intOr(json, "epochsRun", 0), intOr(json, "bestEpoch", 0), provenance);
    }

    /** Reads and checks both files. */
    public static Contents read(Path dir) throws ModelException {
        Path jsonPath = dir.resolve(JSON_FILE);
        Path binPath = dir.resolve(BIN_FILE);
        JsonObject json = readJson(jsonPath);
        byte[] bin = readBytes(binPath);
        JsonElement weightsEl = json.get("weights");
        if (weightsEl != null && weightsEl.isJsonObject() && weightsEl.getAsJsonObject().has("sha256")) {
            String want = weightsEl.getAsJsonObject().get("sha256").getAsString();
            String got = Hashes.sha256(bin);
            if (!want.equals(got)) {
                throw new ModelException(ModelException.Reason.INVALID_MODEL, binPath + ": sha256 " + got
                        + " differs from " + want + " recorded in " + jsonPath
                        + "; the head folder is from two different runs (interrupted write?); train the head again");
            }
        }
        try {
            List<String> classes = new ArrayList<>();
            for (JsonElement e : json.getAsJsonArray("classes")) {
                classes.add(e.getAsString());
            }
            int featureDim = json.get("featureDim").getAsInt();
            int hidden = json.get("hidden").getAsInt();
            BackboneSpec spec = SpecJson.fromTree(json.get("spec"));
            HeadWeights weights = decodeWeights(bin, binPath, classes, spec);
            if (weights.featureDim() != featureDim || weights.hidden() != hidden) {
                throw new ModelException(ModelException.Reason.INVALID_MODEL, binPath + " holds D=" + weights
                        .featureDim() + ", H=" + weights.hidden() + " but " + jsonPath + " says D=" + featureDim
                        + ", H=" + hidden + "; train the head again");
            }
            return new Contents(weights, info(json));
        } catch (RuntimeException e) {
            // Missing fields, wrong types or validation failures of the records: all mean a damaged head.json.
            throw new ModelException(ModelException.Reason.INVALID_MODEL, jsonPath + " is not a valid head file: "
                    + e.getMessage() + "; train the head again", e);
        }
    }

    private static int intOr(JsonObject o, String key, int dflt) {
        return o.has(key) && !o.get(key).isJsonNull() ? o.get(key).getAsInt() : dflt;
    }

    private static JsonObject readJson(Path jsonPath) throws ModelException {
        String text = new String(readBytes(jsonPath), StandardCharsets.UTF_8);
        JsonObject json;
        try {
            JsonElement el = JsonParser.parseString(text);
            if (!el.isJsonObject()) {
                throw new JsonParseException("not a JSON object");
            }
            json = el.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new ModelException(ModelException.Reason.INVALID_MODEL, jsonPath + " is not valid JSON ("
                    + e.getMessage() + "); train the head again", e);
        }
        if (!json.has("format") || !FORMAT.equals(json.get("format").getAsString())) {
            throw new ModelException(ModelException.Reason.INVALID_MODEL, jsonPath
                    + " is not a transfer4j head file (no \"format\": \"" + FORMAT + "\")");
        }
        int version = json.has("formatVersion") ? json.get("formatVersion").getAsInt() : -1;
        if (version != FORMAT_VERSION) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, jsonPath + " has head format version "
                    + version + "; this transfer4j reads version " + FORMAT_VERSION
                    + " only; use the transfer4j version that wrote it or train the head again");
        }
        return json;
    }

    private static byte[] readBytes(Path p) throws ModelException {
        try {
            return Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw new ModelException(ModelException.Reason.NOT_FOUND, p + " does not exist; a head folder holds "
                    + JSON_FILE + " and " + BIN_FILE + " as written by train-head.jar --out", e);
        } catch (IOException e) {
            throw new ModelException(ModelException.Reason.NOT_FOUND, p + " cannot be read: " + e.getMessage(), e);
        }
    }

    /** Encodes weights in the head.bin layout described above. */
    public static byte[] encodeWeights(HeadWeights w) {
        long floats = (long) w.w1().length + w.b1().length + w.w2().length + w.b2().length;
        long size = HEADER_BYTES + 4 * floats + 4;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("head too large for head.bin: " + floats + " floats");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).putInt(FORMAT_VERSION).putInt(w.featureDim()).putInt(w.hidden()).putInt(w.numClasses());
        buf.asFloatBuffer().put(w.w1()).put(w.b1()).put(w.w2()).put(w.b2());
        buf.position((int) (size - 4));
        CRC32 crc = new CRC32();
        crc.update(buf.array(), 0, (int) (size - 4));
        buf.putInt((int) crc.getValue());
        return buf.array();
    }

    /** Decodes head.bin bytes; {@code source} names the file in messages. */
    public static HeadWeights decodeWeights(byte[] bin, Path source, List<String> classes, BackboneSpec spec)
            throws ModelException {
        if (bin.length < HEADER_BYTES + 4) {
            throw bad(source, "is " + bin.length + " bytes, shorter than the header");
        }
        ByteBuffer buf = ByteBuffer.wrap(bin).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[MAGIC.length];
        buf.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw bad(source, "does not start with the head.bin magic T4JHEAD");
        }
        int version = buf.getInt();
        if (version != FORMAT_VERSION) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, source + " has head.bin format version "
                    + Integer.toUnsignedString(version) + "; this transfer4j reads version " + FORMAT_VERSION
                    + " only; use the transfer4j version that wrote it or train the head again");
        }
        long d = Integer.toUnsignedLong(buf.getInt());
        long h = Integer.toUnsignedLong(buf.getInt());
        long k = Integer.toUnsignedLong(buf.getInt());
        long in2 = h == 0 ? d : h;
        long floats = d * h + h + in2 * k + k;
        if (d == 0 || k < 2 || bin.length != HEADER_BYTES + 4 * floats + 4) {
            throw bad(source, "has D=" + d + ", H=" + h + ", K=" + k + " in its header but is " + bin.length
                    + " bytes long (expected " + (HEADER_BYTES + 4 * floats + 4) + ")");
        }
        CRC32 crc = new CRC32();
        crc.update(bin, 0, bin.length - 4);
        int stored = ByteBuffer.wrap(bin, bin.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (stored != (int) crc.getValue()) {
            throw bad(source, "fails its CRC-32 check (the file is damaged)");
        }
        if (k != classes.size()) {
            throw bad(source, "has " + k + " classes but head.json names " + classes.size());
        }
        var fb = buf.asFloatBuffer();
        float[] w1 = new float[(int) (d * h)];
        float[] b1 = new float[(int) h];
        float[] w2 = new float[(int) (in2 * k)];
        float[] b2 = new float[(int) k];
        fb.get(w1).get(b1).get(w2).get(b2);
        return new HeadWeights(classes, (int) d, (int) h, w1, b1, w2, b2, spec);
    }

    private static ModelException bad(Path source, String what) {
        return new ModelException(ModelException.Reason.INVALID_MODEL, source + " " + what
                + "; train the head again");
    }

}
