package org.transfer4j.head.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.reflect.TypeToken;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32;
import org.transfer4j.backbone.io.AtomicFiles;

/**
 * The trainer's state after a finished epoch, so a killed run continues exactly where it stopped.
 *
 * <p>Layout (little-endian): magic {@code "T4JCKPT\0"}, u32 format version (1), u32 length L of the UTF-8 JSON that
 * follows (epoch counters, best loss, history, the run's fingerprint), then float32 arrays: parameters (P), Adam's
 * moments (2P), best parameters (P); then a CRC-32 of everything before. Written atomically once per epoch.
 *
 * <p>The fine-tuner ({@code org.transfer4j.head.finetune.FineTuneRun}) writes the same format, its arrays being the
 * stage's followed by the head's.
 *
 * <p>Everything random in an epoch is derived from (seed, epoch), so restoring these arrays and counters is all a
 * resumed run needs to produce the same weights, bit for bit, as one that was never interrupted.
 */
public final class Checkpoint {
    public static final int VERSION = 1;
    private static final byte[] MAGIC = {'T', '4', 'J', 'C', 'K', 'P', 'T', 0};
    private static final Gson GSON = new GsonBuilder().serializeSpecialFloatingPointValues().create();

    private Checkpoint() {
    }

    /** Counters and history; the arrays travel beside it. */
    public record Meta(String fingerprint, int epochsDone, int iteration, int bestEpoch, double bestLoss, int badEpochs,
                boolean finished, List<EpochStats> history) {
    }

    public record State(Meta meta, float[] params, float[] updater, float[] best) {
    }

    public static void write(Path file, State s) throws IOException {
        byte[] json = GSON.toJson(s.meta()).getBytes(StandardCharsets.UTF_8);
        long floats = (long) s.params().length + s.updater().length + s.best().length;
        long size = 16L + json.length + 4 * floats + 4;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IOException("checkpoint of " + size + " bytes is too large");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).putInt(VERSION).putInt(json.length).put(json);
        buf.asFloatBuffer().put(s.params()).put(s.updater()).put(s.best());
        buf.position((int) (size - 4));
        CRC32 crc = new CRC32();
        crc.update(buf.array(), 0, (int) size - 4);
        buf.putInt((int) crc.getValue());
        AtomicFiles.write(file, buf.array());
    }

    public static State read(Path file, int parameterCount) throws TrainingException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new TrainingException(TrainingException.Reason.CHECKPOINT, file + " cannot be read ("
                    + e.getMessage() + "); run without --resume to start over", e);
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        if (bytes.length < 20) {
            throw bad(file, "is too short");
        }
        buf.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw bad(file, "is not a transfer4j training checkpoint");
        }
        int version = buf.getInt();
        if (version != VERSION) {
            throw bad(file, "has checkpoint version " + version + "; this transfer4j reads " + VERSION);
        }
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - 4);
        if (ByteBuffer.wrap(bytes, bytes.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt()
                != (int) crc.getValue()) {
            throw bad(file, "fails its CRC-32 check (damaged)");
        }
        int jsonLen = buf.getInt();
        long expect = 16L + jsonLen + 16L * parameterCount + 4;
        if (jsonLen < 0 || bytes.length != expect) {
            throw bad(file, "is " + bytes.length + " bytes; expected " + expect + " for " + parameterCount
                    + " parameters (another head size?)");
        }
        Meta meta;
        try {
            JsonObject o = GSON.fromJson(new String(bytes, 16, jsonLen, StandardCharsets.UTF_8), JsonObject.class);
            List<EpochStats> history = GSON.fromJson(o.get("history"), new TypeToken<List<EpochStats>>() {
            }.getType());
            meta = new Meta(o.get("fingerprint").getAsString(), o.get("epochsDone").getAsInt(),
                    o.get("iteration").getAsInt(), o.get("bestEpoch").getAsInt(), o.get("bestLoss").getAsDouble(),
                    o.get("badEpochs").getAsInt(), o.get("finished").getAsBoolean(), List.copyOf(history));
        } catch (RuntimeException e) {
            throw bad(file, "has unreadable state (" + e.getMessage() + ")");
        }
        buf.position(16 + jsonLen);
        var fb = buf.asFloatBuffer();
        float[] params = new float[parameterCount];
        float[] updater = new float[2 * parameterCount];
        float[] best = new float[parameterCount];
        fb.get(params).get(updater).get(best);
        return new State(meta, params, updater, best);
    }

    private static TrainingException bad(Path file, String what) {
        return new TrainingException(TrainingException.Reason.CHECKPOINT, file + " " + what
                + "; delete it or run without --resume to start over");
    }
}
