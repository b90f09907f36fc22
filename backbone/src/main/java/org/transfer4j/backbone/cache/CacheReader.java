package org.transfer4j.backbone.cache;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;
import org.transfer4j.backbone.spec.BackboneSpec;

/**
 * Reads a feature cache: the committed live rows, sorted by (image path, view) so that a resumed cache and one
 * written in a single run read identically. Features are read straight from memory-mapped shards, so a cache
 * larger than the heap trains fine; only the per-row labels, views and paths are held in memory.
 *
 * <p>Opening never modifies the cache, and reads only what the journal says is committed, so a cache that an
 * extraction is still writing (or that a crash interrupted) opens as of its last commit.
 *
 * <p>Thread-safe for reading after {@link #open}; {@link #close()} must not race with reads.
 */
public final class CacheReader implements FeatureRows, AutoCloseable {
    private final Path dir;
    private final CacheHeader header;
    private final int dim;
    private final int[] physical;
    private final int[] labels;
    private final int[] views;
    private final String[] paths;
    private final String[] sha256s;
    private final List<Error> errors;
    private final int deadRows;
    private final int rowsPerShard;
    private volatile FloatBuffer[] f32;
    private volatile ShortBuffer[] f16;

    /**
     * One line of errors.jsonl: a file that failed in the latest run, or a decoder warning of a cached row.
     *
     * @param path    image path relative to the dataset root
     * @param reason  a stable word: {@code unreadable}, {@code unsupported_format}, {@code too_large},
     *                {@code corrupt}, {@code empty}, or a warning such as {@code truncated}
     * @param message what happened
     * @param cached  true for a warning on a row that was cached anyway
     */
    public record Error(String path, String reason, String message, boolean cached) {
    }

    private CacheReader(Path dir, CacheHeader header, CacheState state) throws IOException, CacheException {
        this.dir = dir;
        this.header = header;
        this.dim = header.featureDim();
        this.rowsPerShard = header.rowsPerShard();
        Map<String, Integer> classIndex = new HashMap<>();
        for (int c = 0; c < header.classes().size(); c++) {
            classIndex.put(header.classes().get(c), c);
        }
        List<CacheState.Row> live = new ArrayList<>();
        for (int r = 0; r < state.rows.size(); r++) {
            if (!state.dead.get(r)) {
                live.add(state.rows.get(r));
            }
        }
        live.sort(Comparator.comparing(CacheState.Row::path).thenComparingInt(CacheState.Row::view));
        int n = live.size();
        physical = new int[n];
        labels = new int[n];
        views = new int[n];
        paths = new String[n];
        sha256s = new String[n];
        for (int i = 0; i < n; i++) {
            CacheState.Row x = live.get(i);
            Integer label = classIndex.get(x.label());
            if (label == null) {
                throw CacheState.corrupt(dir, "row " + x.row() + " (" + x.path() + ") has label '" + x.label()
                        + "' which is not among the header's classes " + header.classes());
            }
            physical[i] = x.row();
            labels[i] = label;
            views[i] = x.view();
            // Views of one image share one String instance.
            paths[i] = i > 0 && paths[i - 1].equals(x.path()) ? paths[i - 1] : x.path();
            sha256s[i] = i > 0 && sha256s[i - 1].equals(x.sha256()) ? sha256s[i - 1] : x.sha256();
        }
        List<Error> errs = new ArrayList<>();
        for (String line : state.errorsJsonl().split("\n")) {
            if (!line.isEmpty()) {
                var o = com.google.gson.JsonParser.parseString(line).getAsJsonObject();
                errs.add(new Error(o.get("path").getAsString(), o.get("reason").getAsString(),
                        o.get("message").getAsString(), o.has("cached") && o.get("cached").getAsBoolean()));
            }
        }
        errors = Collections.unmodifiableList(errs);
        deadRows = state.dead.cardinality();
        mapShards(state.rows.size());
    }

    private void mapShards(long totalRows) throws IOException, CacheException {
        int shards = (int) ((totalRows + rowsPerShard - 1) / rowsPerShard);
        int rowBytes = header.rowBytes();
        FloatBuffer[] fb = new FloatBuffer[shards];
        ShortBuffer[] sb = new ShortBuffer[shards];
        for (int s = 0; s < shards; s++) {
            long rows = Math.min(rowsPerShard, totalRows - (long) s * rowsPerShard);
            Path p = dir.resolve(CacheState.shardName(s, header.dtype()));
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                if (ch.size() < rows * rowBytes) {
                    throw CacheState.corrupt(dir, p.getFileName() + " holds " + ch.size() / rowBytes
                            + " rows, " + rows + " were committed");
                }
                // The mapping stays valid after the channel closes.
                MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, 0, rows * rowBytes);
                m.order(ByteOrder.LITTLE_ENDIAN);
                if (header.dtype() == Dtype.F32) {
                    fb[s] = m.asFloatBuffer();
                } else {
                    sb[s] = m.asShortBuffer();
                }
            } catch (java.nio.file.NoSuchFileException e) {
                throw CacheState.corrupt(dir, p.getFileName() + " is missing");
            }
        }
        f32 = fb;
        f16 = sb;
    }

    /** Opens the cache in {@code dir} as of its last commit. */
    public static CacheReader open(Path dir) throws CacheException {
        Path d = dir.toAbsolutePath().normalize();
        Path headerFile = d.resolve(CacheState.HEADER);
        if (!Files.isRegularFile(headerFile)) {
            String make = "java -jar extract.jar --backbone B.onnx --images IMAGE_DIR --out ";
            if (!Files.exists(d)) {
                throw new CacheException(CacheException.Reason.NOT_A_CACHE, "feature cache " + d + " does not exist; "
                        + "make one from images first: " + make + d);
            }
            if (holdsImages(d)) {
                throw new CacheException(CacheException.Reason.NOT_A_CACHE, d + " holds images, not a feature "
                        + "cache; extract their features into a cache of their own and pass that: "
                        + make.replace("IMAGE_DIR", d.toString()) + "cache/" + d.getFileName());
            }
            throw new CacheException(CacheException.Reason.NOT_A_CACHE, d + " is not a feature cache (no "
                    + CacheState.HEADER + "); make one with: " + make + d);
        }
        try {
            CacheHeader h = CacheHeader.fromJson(Files.readString(headerFile), headerFile.toString());
            Journal.Commit last = Journal.readLast(d.resolve(CacheState.JOURNAL));
            CacheState state = CacheState.load(d, last.indexBytes(), last.rows());
            return new CacheReader(d, h, state);
        } catch (IOException e) {
            throw new CacheException(CacheException.Reason.CORRUPT, "cannot read feature cache " + d + ": "
                    + e.getMessage(), e);
        }
    }

    /** Image files directly in {@code d} or in its subfolders (a class-per-folder image set, not a cache). */
    private static boolean holdsImages(Path d) {
        try (var walk = Files.walk(d, 2)) {
            return walk.anyMatch(p -> Files.isRegularFile(p)
                    && org.transfer4j.backbone.dataset.Dataset.isImageName(p.getFileName().toString()));
        } catch (IOException | java.io.UncheckedIOException e) {
            return false;
        }
    }

    public Path dir() {
        return dir;
    }

    public CacheHeader header() {
        return header;
    }

    public Dtype dtype() {
        return header.dtype();
    }

    @Override
    public int rowCount() {
        return physical.length;
    }

    @Override
    public int featureDim() {
        return dim;
    }

    /**
     * The shape of one row when the rows are tensors (feature maps [C, H, W] from {@code extract --maps}); empty when
     * they are feature vectors of {@link #featureDim()} values.
     */
    public List<Integer> tensorShape() {
        return header.tensorShape();
    }

    @Override
    public List<String> classes() {
        return header.classes();
    }

    @Override
    public BackboneSpec spec() {
        return header.spec();
    }

    public String backboneSha256() {
        return header.backboneSha256();
    }

    @Override
    public int label(int row) {
        return labels[row];
    }

    @Override
    public int view(int row) {
        return views[row];
    }

    @Override
    public String path(int row) {
        return paths[row];
    }

    /** The sha256 of the image file the row was computed from. */
    public String sha256(int row) {
        return sha256s[row];
    }

    /**
     * The same image content (sha256) cached under two or more labels: a common dataset bug (a photo copied into two
     * class folders, or reached through a link) that teaches the head contradictory answers.
     *
     * @param sha256 the content hash
     * @param paths  the relative paths holding it, sorted
     * @param labels the label of each path
     */
    public record SameContent(String sha256, List<String> paths, List<String> labels) {
    }

    /** Every content cached under more than one label, ordered by first path. */
    public List<SameContent> sameContentUnderSeveralLabels() {
        Map<String, java.util.TreeMap<String, Integer>> byHash = new HashMap<>();
        for (int r = 0; r < paths.length; r++) {
            if (sha256s[r] != null) {
                byHash.computeIfAbsent(sha256s[r], k -> new java.util.TreeMap<>()).putIfAbsent(paths[r], labels[r]);
            }
        }
        List<SameContent> out = new ArrayList<>();
        for (var e : byHash.entrySet()) {
            if (e.getValue().values().stream().distinct().count() > 1) {
                out.add(new SameContent(e.getKey(), List.copyOf(e.getValue().keySet()),
                        e.getValue().values().stream().map(l -> classes().get(l)).toList()));
            }
        }
        out.sort(Comparator.comparing(c -> c.paths().get(0)));
        return out;
    }

    /** Number of distinct images (rows of view 0 plus images whose view 0 is missing). */
    public int imageCount() {
        int n = 0;
        for (int i = 0; i < paths.length; i++) {
            if (i == 0 || paths[i] != paths[i - 1]) {
                n++;
            }
        }
        return n;
    }

    /** Files that failed in the latest run, and decoder warnings of cached rows (errors.jsonl). */
    public List<Error> errors() {
        return errors;
    }

    /** Rows dropped (changed or deleted files) whose bytes still occupy the shards. */
    public int deadRows() {
        return deadRows;
    }

    /** A copy of all labels, in row order. */
    public int[] labels() {
        return labels.clone();
    }

    /** Rows whose view is {@code view}, ascending; {@code rowsWithView(0)} is the plain image of each file. */
    public int[] rowsWithView(int view) {
        return rows(r -> views[r] == view);
    }

    /** Rows matching {@code filter}, ascending. */
    public int[] rows(IntPredicate filter) {
        return java.util.stream.IntStream.range(0, physical.length).filter(filter).toArray();
    }

    @Override
    public void read(int row, float[] dst, int offset) {
        if (row < 0 || row >= physical.length) {
            throw new IndexOutOfBoundsException("row " + row + " of " + physical.length);
        }
        int p = physical[row];
        int shard = p / rowsPerShard;
        int at = (p % rowsPerShard) * dim;
        if (header.dtype() == Dtype.F32) {
            FloatBuffer[] fb = f32;
            if (fb == null) {
                throw new IllegalStateException("cache reader " + dir + " is closed");
            }
            fb[shard].get(at, dst, offset, dim);
        } else {
            ShortBuffer[] sb = f16;
            if (sb == null) {
                throw new IllegalStateException("cache reader " + dir + " is closed");
            }
            ShortBuffer b = sb[shard];
            for (int j = 0; j < dim; j++) {
                dst[offset + j] = Float16.toFloat(b.get(at + j));
            }
        }
    }

    /** One row's features in a new array. */
    public float[] features(int row) {
        float[] out = new float[dim];
        read(row, out, 0);
        return out;
    }

    /**
     * Fills {@code dst} with the features of rows {@code order[from .. from+count)}, packed one row after another
     * ({@code dst.length >= count * featureDim}): one training batch, in a given (e.g. shuffled) order.
     */
    public void readBatch(int[] order, int from, int count, float[] dst) {
        if (from < 0 || count < 0 || from + count > order.length || (long) count * dim > dst.length) {
            throw new IndexOutOfBoundsException("batch " + from + "+" + count + " of " + order.length
                    + " rows into " + dst.length + " floats (" + dim + " per row)");
        }
        for (int i = 0; i < count; i++) {
            read(order[from + i], dst, i * dim);
        }
    }

    /** Streams {@code order} in batches of {@code batchSize}; the array passed to the consumer is reused. */
    public void forEachBatch(int[] order, int batchSize, BatchConsumer consumer) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize is " + batchSize + "; allowed: >= 1");
        }
        float[] buf = new float[Math.min(batchSize, Math.max(order.length, 1)) * dim];
        int[] lab = new int[Math.min(batchSize, Math.max(order.length, 1))];
        for (int from = 0; from < order.length; from += batchSize) {
            int n = Math.min(batchSize, order.length - from);
            readBatch(order, from, n, buf);
            for (int i = 0; i < n; i++) {
                lab[i] = labels[order[from + i]];
            }
            consumer.accept(Arrays.copyOfRange(order, from, from + n), buf, lab, n);
        }
    }

    /** Receives one batch: the rows, their features packed row after row, their labels, and how many are valid. */
    @FunctionalInterface
    public interface BatchConsumer {
        void accept(int[] rows, float[] features, int[] labels, int count);
    }

    /** Drops the mappings (the OS unmaps them when they are collected; Java 17 has no explicit unmap). */
    @Override
    public void close() {
        f32 = null;
        f16 = null;
    }
}
