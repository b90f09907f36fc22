package org.transfer4j.backbone.cache;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The committed contents of a cache, replayed from {@code index.jsonl} up to the journal's committed length: every
 * row ever written (physical order), which of them were dropped, and the failures of the latest run. Shared by the
 * writer (to decide what to extract) and the reader (to list live rows).
 */
final class CacheState {
    static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
    static final Gson LINE = new GsonBuilder().disableHtmlEscaping().create();

    static final String HEADER = "header.json";
    static final String INDEX = "index.jsonl";
    static final String JOURNAL = "journal.bin";
    static final String ERRORS = "errors.jsonl";
    static final String SUMMARY = "cache.json";
    static final String LOCK = ".lock";

    /** One stored row; {@code size}/{@code mtime} may be refreshed by later {@code touch} entries. */
    record Row(int row, String path, String label, int view, long seed, long size, long mtime, String sha256,
            List<String> warnings) {
    }

    /** One file that failed to decode in the latest run. */
    record Failure(String path, String reason, String message) {
    }

    final List<Row> rows = new ArrayList<>();
    final BitSet dead = new BitSet();
    final List<Failure> failures = new ArrayList<>();
    /** Physical rows per path (dead ones included), so a touch does not scan every row. */
    private final Map<String, List<Integer>> rowsOfPath = new HashMap<>();
    int runs;

    static String shardName(int shard, Dtype dtype) {
        return String.format(Locale.ROOT, "rows-%06d.%s", shard, dtype.word());
    }

    static boolean isCacheFileName(String name) {
        return name.equals(HEADER) || name.equals(INDEX) || name.equals(JOURNAL) || name.equals(ERRORS)
                || name.equals(SUMMARY) || name.equals(LOCK) || name.matches("rows-\\d{6}\\.f(32|16)")
                || (name.startsWith(".") && name.endsWith(".tmp"));
    }

    /** Replays the first {@code indexBytes} bytes of the index; {@code committedRows} rows must be described. */
    static CacheState load(Path dir, long indexBytes, long committedRows) throws CacheException {
        CacheState s = new CacheState();
        Path index = dir.resolve(INDEX);
        if (indexBytes == 0) {
            if (committedRows != 0) {
                throw corrupt(dir, "the journal commits " + committedRows + " rows but the index is empty");
            }
            return s;
        }
        try (FileChannel ch = FileChannel.open(index, StandardOpenOption.READ)) {
            if (ch.size() < indexBytes) {
                throw corrupt(dir, INDEX + " is shorter (" + ch.size() + " bytes) than committed (" + indexBytes + ")");
            }
            InputStream in = new BoundedInput(Channels.newInputStream(ch), indexBytes);
            var reader = new java.io.BufferedReader(new java.io.InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
            String line;
            int lineNo = 0;
            while ((line = reader.readLine()) != null) {
                lineNo++;
                s.apply(line, lineNo, dir);
            }
        } catch (IOException e) {
            throw new CacheException(CacheException.Reason.CORRUPT, "cannot read " + index + ": " + e.getMessage(), e);
        }
        if (s.rows.size() != committedRows) {
            throw corrupt(dir, "the journal commits " + committedRows + " rows but the index describes "
                    + s.rows.size());
        }
        return s;
    }

    static CacheException corrupt(Path dir, String what) {
        return new CacheException(CacheException.Reason.CORRUPT, "feature cache " + dir + " is damaged: " + what
                + " (were files edited or removed by hand?); rebuild it with --overwrite");
    }

    void apply(String line, int lineNo, Path dir) throws CacheException {
        try {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            switch (o.get("op").getAsString()) {
                case "row" -> {
                    int r = o.get("row").getAsInt();
                    if (r != rows.size()) {
                        throw corrupt(dir, INDEX + " line " + lineNo + " describes row " + r + ", expected "
                                + rows.size());
                    }
                    List<String> warnings = new ArrayList<>();
                    if (o.has("warnings")) {
                        for (JsonElement w : o.getAsJsonArray("warnings")) {
                            warnings.add(w.getAsString());
                        }
                    }
                    rows.add(new Row(r, o.get("path").getAsString(), o.get("label").getAsString(),
                            o.get("view").getAsInt(), o.get("seed").getAsLong(), o.get("size").getAsLong(),
                            o.get("mtime").getAsLong(), o.get("sha256").getAsString(), List.copyOf(warnings)));
                    rowsOfPath.computeIfAbsent(rows.get(r).path, k -> new ArrayList<>()).add(r);
                }
                case "drop" -> {
                    for (JsonElement e : o.getAsJsonArray("rows")) {
                        int r = e.getAsInt();
                        if (r < 0 || r >= rows.size()) {
                            throw corrupt(dir, INDEX + " line " + lineNo + " drops unknown row " + r);
                        }
                        dead.set(r);
                    }
                }
                case "touch" -> {
                    String path = o.get("path").getAsString();
                    long size = o.get("size").getAsLong();
                    long mtime = o.get("mtime").getAsLong();
                    for (int r : rowsOfPath.getOrDefault(path, List.of())) {
                        Row x = rows.get(r);
                        if (!dead.get(r)) {
                            rows.set(r, new Row(x.row, x.path, x.label, x.view, x.seed, size, mtime, x.sha256,
                                    x.warnings));
                        }
                    }
                }
                case "fail" -> failures.add(new Failure(o.get("path").getAsString(), o.get("reason").getAsString(),
                        o.get("message").getAsString()));
                case "run" -> {
                    runs++;
                    failures.clear(); // each run retries every file that failed before
                }
                default -> throw corrupt(dir, INDEX + " line " + lineNo + " has unknown op " + o.get("op"));
            }
        } catch (CacheException e) {
            throw e;
        } catch (RuntimeException e) {
            throw corrupt(dir, INDEX + " line " + lineNo + " cannot be parsed: " + e.getMessage());
        }
    }

    /** Live rows grouped by image path, in first-seen order. */
    Map<String, List<Row>> liveByPath() {
        Map<String, List<Row>> m = new LinkedHashMap<>();
        for (int r = 0; r < rows.size(); r++) {
            if (!dead.get(r)) {
                m.computeIfAbsent(rows.get(r).path, k -> new ArrayList<>()).add(rows.get(r));
            }
        }
        return m;
    }

    int liveRows() {
        return rows.size() - dead.cardinality();
    }

    /** errors.jsonl: one line per failed file of the latest run, then one per decoder warning of a live row. */
    String errorsJsonl() {
        StringBuilder sb = new StringBuilder();
        Map<String, Boolean> seen = new HashMap<>();
        for (Failure f : failures) {
            if (seen.putIfAbsent(f.path, Boolean.TRUE) == null) {
                JsonObject o = new JsonObject();
                o.addProperty("path", f.path);
                o.addProperty("reason", f.reason);
                o.addProperty("message", f.message);
                sb.append(LINE.toJson(o)).append('\n');
            }
        }
        Map<String, Boolean> warned = new HashMap<>();
        for (int r = 0; r < rows.size(); r++) {
            Row x = rows.get(r);
            if (!dead.get(r) && !x.warnings.isEmpty() && warned.putIfAbsent(x.path, Boolean.TRUE) == null) {
                for (String w : x.warnings) {
                    JsonObject o = new JsonObject();
                    o.addProperty("path", x.path);
                    // Decoder warnings read "word: detail" (e.g. "truncated: Premature end of JPEG file"); the reason
                    // is kept a stable machine word ("corrupt data" -> "corrupt_data") like failure reasons.
                    int colon = w.indexOf(':');
                    String word = colon > 0 ? w.substring(0, colon).trim() : w;
                    o.addProperty("reason", word.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]+", "_"));
                    o.addProperty("message", "decoded with a warning (" + w + "); features were cached");
                    o.addProperty("cached", true);
                    sb.append(LINE.toJson(o)).append('\n');
                }
            }
        }
        return sb.toString();
    }

    /** cache.json: the machine-readable summary. */
    String summaryJson(CacheHeader h) {
        Map<String, List<Row>> live = liveByPath();
        Map<String, Integer> perClass = new TreeMap<>();
        h.classes().forEach(c -> perClass.put(c, 0));
        int maxView = 0;
        for (List<Row> rs : live.values()) {
            perClass.merge(rs.get(0).label, 1, Integer::sum);
            for (Row x : rs) {
                maxView = Math.max(maxView, x.view);
            }
        }
        long failed = failures.stream().map(f -> f.path).distinct().count();
        JsonObject o = new JsonObject();
        o.addProperty("format_version", h.formatVersion());
        o.addProperty("rows", liveRows());
        o.addProperty("images", live.size());
        o.addProperty("failed", failed);
        JsonArray cls = new JsonArray();
        h.classes().forEach(cls::add);
        o.add("classes", cls);
        JsonObject counts = new JsonObject();
        perClass.forEach(counts::addProperty);
        o.add("images_per_class", counts);
        o.addProperty("views", maxView + 1);
        o.addProperty("feature_dim", h.featureDim());
        o.addProperty("dtype", h.dtype().word());
        o.addProperty("backbone_sha256", h.backboneSha256());
        o.addProperty("dead_rows", dead.cardinality());
        o.addProperty("updated", h.provenance().updated());
        return GSON.toJson(o) + "\n";
    }

    /** Reads at most {@code limit} bytes: the committed part of a file that may have an uncommitted tail. */
    private static final class BoundedInput extends java.io.FilterInputStream {
        private long left;

        BoundedInput(InputStream in, long limit) {
            super(in);
            this.left = limit;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = super.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = super.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }
    }

    static boolean exists(Path dir) {
        return Files.exists(dir.resolve(HEADER));
    }
}
