package org.transfer4j.backbone.cache;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.extract.FeatureSink;
import org.transfer4j.backbone.extract.ImageTask;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.io.AtomicFiles;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.spec.BackboneSpec;

/**
 * Creates or resumes a feature cache and appends rows to it, crash-safely (see FORMAT.md for the files).
 *
 * <p>Use: {@link #builder} → {@link Builder#open()} (validates an existing cache against the backbone, recovers
 * from a crash by discarding everything after the last commit) → {@link #update} (compares the dataset with the
 * cache: drops rows of deleted or changed files, lists the tasks still to run) → feed it as the {@link FeatureSink}
 * of a FeatureExtractor → {@link #finish()} → {@link #close()}.
 *
 * <p>Every commit goes shard data fsync → index lines fsync → journal record fsync, so a {@code kill -9} at any
 * instant loses at most the rows since the last commit (every {@code commitEveryRows} rows or
 * {@code commitEveryMillis}, whichever comes first) and never leaves a partial or duplicate row. Rows of changed or
 * deleted files are dropped by tombstones ({@code drop} entries in the index); their bytes stay in the shards until
 * the cache is rebuilt ({@code dead_rows} in cache.json says how many).
 *
 * <p>Not thread-safe: FeatureExtractor calls a sink from one thread.
 */
public final class CacheWriter implements FeatureSink, Closeable {
    /** Shards are capped so that one shard maps into one MappedByteBuffer (&lt; 2 GiB) with room to spare. */
    static final long SHARD_BYTES = 256L << 20;

    private final Path dir;
    private final BackboneSpec spec;
    private final Dtype dtype;
    private final int rowBytes;
    private final int commitEveryRows;
    private final long commitEveryNanos;
    private final String toolVersion;
    private final Path backboneFile;
    /** The shape of one row when rows are feature maps (header {@code tensor_shape}); empty for vectors. */
    private final List<Integer> tensorShape;
    private int rowsPerShard;

    private FileChannel lockChannel;
    private FileLock lock;
    private CacheHeader header;
    private CacheState state = new CacheState();
    private long seq;
    private long committedRows;
    private long indexBytes;
    private long journalBytes;
    private FileChannel indexCh;
    private FileChannel journalCh;
    private FileChannel shardCh;
    private int shardIndex = -1;

    private ByteBuffer rowBuf;
    private int pendingRows;
    private final List<String> pendingLines = new ArrayList<>();
    private long lastCommit = System.nanoTime();

    private List<DatasetDiff.Planned> planned;
    private Plan plan;
    private final Set<String> extractedPaths = new HashSet<>();
    private final Set<String> failedPaths = new HashSet<>();
    /** This run's failures: reason word → relative paths, in the order they failed. */
    private final Map<String, List<String>> failuresByReason = new java.util.TreeMap<>();
    private int rowsWritten;
    private String lastHashPath;
    private String lastHash;
    private boolean broken;
    private boolean finished;

    /**
     * What {@link #update} found and will do.
     *
     * @param tasks           the work still to do, in image then view order; a task's id indexes this list
     * @param images          images in the dataset
     * @param newImages       images not in the cache yet
     * @param changedImages   images whose content changed (old rows dropped, re-extracted)
     * @param unchangedImages images whose rows are all present (nothing to do)
     * @param removedImages   images in the cache but no longer in the dataset (rows dropped)
     * @param missingImages   manifest entries whose file is missing (reported as failed)
     * @param droppedRows     rows dropped by this update
     */
    public record Plan(List<ImageTask> tasks, int images, int newImages, int changedImages, int unchangedImages,
            int removedImages, int missingImages, int droppedRows) {
    }

    /**
     * The outcome of a run.
     *
     * @param extracted images with rows written in this run
     * @param unchanged images skipped because their rows were already there
     * @param failed    images that could not be read or decoded in this run (listed in errors.jsonl)
     * @param rowsAdded rows written in this run
     * @param rows      live rows in the cache now
     * @param images    images with rows in the cache now
     * @param deadRows  dropped rows still occupying shard space
     * @param failuresByReason this run's failures by reason word ({@code unreadable}, {@code corrupt}, ...), each
     *                  with the relative paths that failed for it, reasons sorted
     */
    public record Result(int extracted, int unchanged, int failed, int rowsAdded, int rows, int images,
            int deadRows, Map<String, List<String>> failuresByReason) {
        public Result {
            Map<String, List<String>> copy = new java.util.TreeMap<>();
            failuresByReason.forEach((k, v) -> copy.put(k, List.copyOf(v)));
            failuresByReason = java.util.Collections.unmodifiableMap(copy);
        }
    }

    /** {@code spec} must carry the model's sha256 and feature dimension (as {@code Backbone.spec()} does). */
    public static Builder builder(Path dir, BackboneSpec spec) {
        return new Builder(dir, spec);
    }

    /** Options of a writer; validated once in {@link #open()}. */
    public static final class Builder {
        private final Path dir;
        private final BackboneSpec spec;
        private Dtype dtype = Dtype.F32;
        private boolean overwrite;
        private int rowsPerShard;
        private int commitEveryRows = 256;
        private long commitEveryMillis = 2000;
        private String toolVersion = defaultToolVersion();
        private Path backboneFile;
        private List<Integer> tensorShape = List.of();

        private Builder(Path dir, BackboneSpec spec) {
            this.dir = dir;
            this.spec = spec;
        }

        public Builder optDtype(Dtype d) {
            this.dtype = d;
            return this;
        }

        /** Discard an existing cache (of any backbone) instead of resuming or refusing it. */
        public Builder optOverwrite(boolean o) {
            this.overwrite = o;
            return this;
        }

        /** Rows per shard file for a new cache; 0 (default) = as many as fit in 256 MiB. */
        public Builder optRowsPerShard(int n) {
            this.rowsPerShard = n;
            return this;
        }

        /** Commit at least every {@code n} rows (default 256). */
        public Builder optCommitEveryRows(int n) {
            this.commitEveryRows = n;
            return this;
        }

        /** Commit at least every {@code ms} milliseconds while rows arrive (default 2000). */
        public Builder optCommitEveryMillis(long ms) {
            this.commitEveryMillis = ms;
            return this;
        }

        public Builder optToolVersion(String v) {
            this.toolVersion = v;
            return this;
        }

        /** The backbone file the rows come from, recorded in the header so train-head can compose a model. */
        public Builder optBackboneFile(Path file) {
            this.backboneFile = file == null ? null : file.toAbsolutePath().normalize();
            return this;
        }

        /**
         * Rows are tensors of this shape (e.g. feature maps [C, H, W]) rather than feature vectors: recorded in the
         * header as {@code tensor_shape} (format version 2). The product must equal the spec's feature dim.
         */
        public Builder optTensorShape(int... shape) {
            List<Integer> s = new ArrayList<>();
            for (int d : shape) {
                s.add(d);
            }
            this.tensorShape = List.copyOf(s);
            return this;
        }

        public CacheWriter open() throws CacheException {
            if (dir == null) {
                throw new IllegalArgumentException("cache folder must be given");
            }
            if (spec == null || spec.modelSha256() == null || spec.featureDim() <= 0) {
                throw new IllegalArgumentException("the spec must carry the model sha256 and feature dim, got "
                        + (spec == null ? "null" : "sha256=" + spec.modelSha256() + " featureDim=" + spec.featureDim()));
            }
            long values = tensorShape.stream().mapToLong(Integer::longValue).reduce(1, (a, b) -> a * b);
            if (!tensorShape.isEmpty() && (values != spec.featureDim()
                    || tensorShape.stream().anyMatch(d -> d <= 0))) {
                throw new IllegalArgumentException("tensorShape " + tensorShape + " must be positive sizes whose "
                        + "product is the feature dim " + spec.featureDim());
            }
            if (dtype == null) {
                throw new IllegalArgumentException("dtype must be f32 or f16");
            }
            if (rowsPerShard < 0 || (long) rowsPerShard * spec.featureDim() * dtype.bytes() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("rowsPerShard is " + rowsPerShard
                        + "; allowed: 0 (automatic) or 1.." + Integer.MAX_VALUE / (spec.featureDim() * dtype.bytes()));
            }
            if (commitEveryRows < 1) {
                throw new IllegalArgumentException("commitEveryRows is " + commitEveryRows + "; allowed: >= 1");
            }
            if (commitEveryMillis < 0) {
                throw new IllegalArgumentException("commitEveryMillis is " + commitEveryMillis + "; allowed: >= 0");
            }
            CacheWriter w = new CacheWriter(this);
            try {
                w.openFiles(overwrite);
            } catch (CacheException | RuntimeException e) {
                w.closeQuietly(e);
                throw e;
            }
            return w;
        }
    }

    static String defaultToolVersion() {
        String v = CacheWriter.class.getPackage().getImplementationVersion();
        return "transfer4j " + (v == null ? "0.1.0-SNAPSHOT" : v);
    }

    private CacheWriter(Builder b) {
        this.dir = b.dir.toAbsolutePath().normalize();
        this.spec = b.spec;
        this.dtype = b.dtype;
        this.rowBytes = spec.featureDim() * dtype.bytes();
        this.rowsPerShard = b.rowsPerShard > 0 ? b.rowsPerShard : (int) Math.max(1, SHARD_BYTES / rowBytes);
        this.commitEveryRows = b.commitEveryRows;
        this.commitEveryNanos = b.commitEveryMillis * 1_000_000L;
        this.toolVersion = b.toolVersion;
        this.backboneFile = b.backboneFile;
        this.tensorShape = b.tensorShape;
        this.rowBuf = ByteBuffer.allocate(Math.min(commitEveryRows, 1024) * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    public Path dir() {
        return dir;
    }

    /** Rows committed so far (live and dropped). */
    public long committedRows() {
        return committedRows;
    }

    // ------------------------------------------------------------------------------------------------ opening

    private void openFiles(boolean overwrite) throws CacheException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new CacheException(CacheException.Reason.NOT_WRITABLE,
                    "output " + dir + " exists and is not a folder; choose another --out");
        }
        Path lockFile = dir.resolve(CacheState.LOCK);
        try {
            Files.createDirectories(dir);
            IoFaults.current().beforeOpen(lockFile);
            lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw notWritable(e);
        }
        try {
            lock = lockChannel.tryLock();
        } catch (OverlappingFileLockException | IOException e) {
            lock = null;
        }
        if (lock == null) {
            throw new CacheException(CacheException.Reason.LOCKED, "feature cache " + dir
                    + " is being written by another process; wait for it to finish or choose another --out");
        }
        try {
            if (!CacheState.exists(dir)) {
                List<String> foreign = new ArrayList<>();
                try (var files = Files.list(dir)) {
                    files.map(p -> p.getFileName().toString()).filter(n -> !CacheState.isCacheFileName(n))
                            .sorted().limit(3).forEach(foreign::add);
                }
                if (!foreign.isEmpty()) {
                    throw new CacheException(CacheException.Reason.NOT_A_CACHE, "output folder " + dir
                            + " is not empty (" + String.join(", ", foreign) + (foreign.size() == 3 ? ", ..." : "")
                            + ") and holds no feature cache; choose an empty or new --out folder");
                }
                wipe(); // leftovers of a run killed before its header was written hold nothing committed
            } else {
                Journal.Commit last = Journal.readLast(dir.resolve(CacheState.JOURNAL));
                CacheHeader old;
                try {
                    old = CacheHeader.fromJson(Files.readString(dir.resolve(CacheState.HEADER)),
                            dir.resolve(CacheState.HEADER).toString());
                } catch (CacheException e) {
                    if (!overwrite) {
                        throw e;
                    }
                    old = null;
                }
                String diff = old == null ? "an unreadable header" : differences(old);
                if (overwrite || (diff != null && last.rows() == 0)) {
                    wipe(); // asked to, or nothing committed worth keeping
                } else if (diff != null) {
                    throw new CacheException(CacheException.Reason.MISMATCH, "feature cache " + dir
                            + " was made with " + diff + "; use --overwrite to rebuild it, or another --out");
                } else {
                    header = old;
                    rowsPerShard = old.rowsPerShard();
                    recover(last);
                }
            }
            openAppendFiles();
        } catch (IOException e) {
            throw notWritable(e);
        }
    }

    /** What differs between an existing cache and this writer's backbone, or null when nothing does. */
    private String differences(CacheHeader old) {
        List<String> d = new ArrayList<>();
        if (!old.backboneSha256().equals(spec.modelSha256())) {
            d.add("another backbone (sha256 " + old.backboneSha256().substring(0, 12) + "..., this one is "
                    + spec.modelSha256().substring(0, 12) + "...)");
        }
        if (!old.spec().samePreprocessing(spec)) {
            d.add("another spec (" + specDiff(old.spec(), spec) + ")");
        }
        if (old.featureDim() != spec.featureDim()) {
            d.add("feature dim " + old.featureDim() + " (this backbone gives " + spec.featureDim() + ")");
        }
        if (!old.tensorShape().equals(tensorShape)) {
            d.add("row shape " + (old.tensorShape().isEmpty() ? "vector" : old.tensorShape()) + " (asked for "
                    + (tensorShape.isEmpty() ? "vector" : tensorShape) + ")");
        }
        if (old.dtype() != dtype) {
            d.add("dtype " + old.dtype().word() + " (asked for " + dtype.word() + ")");
        }
        return d.isEmpty() ? null : String.join(" and ", d);
    }

    /** The spec fields that differ, as {@code field old -> new}. */
    static String specDiff(BackboneSpec a, BackboneSpec b) {
        var ta = org.transfer4j.backbone.spec.SpecJson.toTree(a).getAsJsonObject();
        var tb = org.transfer4j.backbone.spec.SpecJson.toTree(b).getAsJsonObject();
        List<String> out = new ArrayList<>();
        Set<String> keys = new TreeSet<>(ta.keySet());
        keys.addAll(tb.keySet());
        keys.removeAll(Set.of("modelSha256", "featureDim", "preset"));
        for (String k : keys) {
            var va = ta.get(k);
            var vb = tb.get(k);
            if (va == null ? vb != null : !va.equals(vb)) {
                out.add(k + " " + va + " -> " + vb);
            }
        }
        return out.isEmpty() ? "preprocessing differs" : String.join(", ", out);
    }

    /** Removes the cache's files, journal first: once it is gone nothing is committed, whatever else survives. */
    private void wipe() throws IOException {
        Files.deleteIfExists(dir.resolve(CacheState.JOURNAL));
        AtomicFiles.fsyncDirectory(dir);
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String n = p.getFileName().toString();
                if (CacheState.isCacheFileName(n) && !n.equals(CacheState.LOCK)) {
                    Files.deleteIfExists(p);
                }
            }
        }
        AtomicFiles.fsyncDirectory(dir);
        header = null;
        state = new CacheState();
        seq = 0;
        committedRows = 0;
        indexBytes = 0;
        journalBytes = 0;
    }

    /** Cuts every file back to the last commit: the uncommitted tail of a killed run disappears. */
    private void recover(Journal.Commit last) throws IOException, CacheException {
        state = CacheState.load(dir, last.indexBytes(), last.rows());
        truncate(dir.resolve(CacheState.INDEX), last.indexBytes());
        truncate(dir.resolve(CacheState.JOURNAL), last.validBytes());
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String n = p.getFileName().toString();
                if (n.matches("rows-\\d{6}\\.f(32|16)")) {
                    int shard = Integer.parseInt(n.substring(5, 11));
                    long want = Math.max(0, Math.min(rowsPerShard, last.rows() - (long) shard * rowsPerShard));
                    if (want == 0 || !n.endsWith(dtype.word())) {
                        Files.delete(p);
                    } else {
                        long have = Files.size(p);
                        if (have < want * rowBytes) {
                            throw CacheState.corrupt(dir, n + " holds " + have / rowBytes + " rows, "
                                    + want + " were committed");
                        }
                        truncate(p, want * rowBytes);
                    }
                }
            }
        }
        for (long s = 0; s * rowsPerShard < last.rows(); s++) {
            if (!Files.exists(dir.resolve(CacheState.shardName((int) s, dtype)))) {
                throw CacheState.corrupt(dir, CacheState.shardName((int) s, dtype) + " is missing");
            }
        }
        seq = last.seq();
        committedRows = last.rows();
        indexBytes = last.indexBytes();
        journalBytes = last.validBytes();
    }

    private static void truncate(Path file, long size) throws IOException {
        if (Files.exists(file) && Files.size(file) > size) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(size);
                ch.force(true);
            }
        }
    }

    private void openAppendFiles() throws IOException {
        Path index = dir.resolve(CacheState.INDEX);
        Path journal = dir.resolve(CacheState.JOURNAL);
        IoFaults.current().beforeOpen(index);
        indexCh = FileChannel.open(index, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        IoFaults.current().beforeOpen(journal);
        journalCh = FileChannel.open(journal, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        AtomicFiles.fsyncDirectory(dir);
    }

    private CacheException notWritable(IOException e) {
        String why = e instanceof AccessDeniedException ? "permission denied"
                : e instanceof java.nio.file.FileSystemException f && f.getReason() != null ? f.getReason()
                : e.getMessage();
        return new CacheException(CacheException.Reason.NOT_WRITABLE, "cannot write to output folder " + dir
                + ": " + why + "; make it writable or choose another --out (an existing cache there is unchanged)",
                e);
    }

    // ------------------------------------------------------------------------------------------------ planning

    /**
     * Compares {@code dataset} with the cache and commits the consequences: rows of deleted or changed files and of
     * views no longer wanted are dropped, the header is rewritten with the dataset's classes and this run's
     * provenance. Returns the tasks still to run; feed them to a FeatureExtractor with this writer as the sink.
     *
     * @param augment augmented views per image, 0..1000 (view 0, the plain image, is always stored)
     * @param seed    seed of the augmented views; see {@link ViewSeeds}
     */
    public Plan update(Dataset dataset, int augment, long seed) throws CacheException {
        if (plan != null) {
            throw new IllegalStateException("update() was already called on this writer");
        }
        if (augment < 0 || augment > 1000) {
            throw new IllegalArgumentException("augment is " + augment + "; allowed: 0..1000 views per image");
        }
        Map<String, List<CacheState.Row>> live = state.liveByPath();
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        JsonObject run = op("run");
        run.addProperty("n", state.runs + 1);
        run.addProperty("date", now);
        run.addProperty("augment", augment);
        run.addProperty("seed", seed);
        pendingLines.add(CacheState.LINE.toJson(run));
        DatasetDiff diff = DatasetDiff.compute(live, dataset, augment, seed);
        planned = diff.planned();
        for (DatasetDiff.Line l : diff.lines()) {
            if (l.failedPath() == null) {
                pendingLines.add(l.json());
            } else if (failedPaths.add(l.failedPath())) {
                failuresByReason.computeIfAbsent(l.failReason(), k -> new ArrayList<>()).add(l.failedPath());
                pendingLines.add(l.json());
            }
        }
        CacheHeader.Provenance prov = new CacheHeader.Provenance(dataset.source().toString(),
                dataset.kind().word(), seed, augment,
                header == null || header.provenance().created() == null ? now : header.provenance().created(), now,
                backboneFile == null ? null : backboneFile.toString());
        CacheHeader next = new CacheHeader(CacheHeader.formatVersionFor(tensorShape), toolVersion, spec, dtype,
                rowsPerShard, dataset.classes(), prov, tensorShape);
        try {
            // A new cache gets its header before anything is committed. An existing one commits the drops first:
            // then every committed row's label is in whichever header a crash leaves behind.
            if (header == null) {
                AtomicFiles.writeString(dir.resolve(CacheState.HEADER), next.toJson());
                header = next;
                commit();
            } else {
                commit();
                AtomicFiles.writeString(dir.resolve(CacheState.HEADER), next.toJson());
                header = next;
            }
        } catch (IOException e) {
            broken = true;
            throw new CacheException(CacheException.Reason.WRITE_FAILED, writeFailedMessage(e), e);
        }
        plan = new Plan(diff.tasks(), dataset.images().size(), diff.newImages(), diff.changedImages(),
                diff.unchangedImages(), diff.removedImages(), diff.missingImages(), diff.droppedRows());
        return plan;
    }

    private static JsonObject op(String name) {
        return DatasetDiff.op(name);
    }

    private void addFailure(String rel, String reason, String message) {
        if (failedPaths.add(rel)) {
            failuresByReason.computeIfAbsent(reason, k -> new ArrayList<>()).add(rel);
            pendingLines.add(DatasetDiff.failLine(rel, reason, message).json());
        }
    }

    // ------------------------------------------------------------------------------------------------ the sink

    @Override
    public void accept(ImageTask task, float[] features) throws IOException {
        accept(task, features, List.of());
    }

    /** Like {@link #accept(ImageTask, float[])} with the decoder's warnings (e.g. {@code truncated}) for the row. */
    public void accept(ImageTask task, float[] features, List<String> warnings) throws IOException {
        DatasetDiff.Planned p = plannedFor(task);
        if (features.length != spec.featureDim()) {
            throw new IllegalArgumentException("features of " + task.path() + " have " + features.length
                    + " values; this cache stores " + spec.featureDim());
        }
        String rel = p.image().relativePath();
        String sha;
        try {
            if (!rel.equals(lastHashPath)) {
                lastHash = Hashes.sha256(p.image().path());
                lastHashPath = rel;
            }
            sha = lastHash;
        } catch (IOException e) {
            addFailure(rel, "unreadable", p.image().path() + ": vanished while extracting: " + e.getMessage());
            maybeCommit();
            return;
        }
        if (rowBuf.remaining() < rowBytes) {
            ByteBuffer bigger = ByteBuffer.allocate(rowBuf.capacity() * 2).order(ByteOrder.LITTLE_ENDIAN);
            rowBuf.flip();
            bigger.put(rowBuf);
            rowBuf = bigger;
        }
        if (dtype == Dtype.F32) {
            for (float f : features) {
                rowBuf.putFloat(f);
            }
        } else {
            for (float f : features) {
                rowBuf.putShort(Float16.fromFloat(f));
            }
        }
        JsonObject r = op("row");
        r.addProperty("row", committedRows + pendingRows);
        r.addProperty("path", rel);
        r.addProperty("label", p.image().label());
        r.addProperty("view", p.view());
        r.addProperty("seed", p.seed());
        r.addProperty("size", p.size());
        r.addProperty("mtime", p.mtime());
        r.addProperty("sha256", sha);
        if (warnings != null && !warnings.isEmpty()) {
            JsonArray w = new JsonArray();
            warnings.forEach(w::add);
            r.add("warnings", w);
        }
        pendingLines.add(CacheState.LINE.toJson(r));
        pendingRows++;
        extractedPaths.add(rel);
        maybeCommit();
    }

    @Override
    public void failed(ImageTask task, ImageDecodeException error) throws IOException {
        DatasetDiff.Planned p = plannedFor(task);
        addFailure(p.image().relativePath(), error.reason().name().toLowerCase(Locale.ROOT), error.getMessage());
        maybeCommit();
    }

    private DatasetDiff.Planned plannedFor(ImageTask task) throws IOException {
        if (broken) {
            throw new IOException("feature cache " + dir + " stopped after a write error; the committed rows are kept");
        }
        if (planned == null || finished) {
            throw new IllegalStateException("call update() before feeding results, and not after finish()");
        }
        if (task.id() < 0 || task.id() >= planned.size() || planned.get((int) task.id()).view() != task.view()) {
            throw new IllegalArgumentException("task " + task + " is not one of this writer's planned tasks");
        }
        return planned.get((int) task.id());
    }

    private void maybeCommit() throws IOException {
        if (pendingRows >= commitEveryRows || System.nanoTime() - lastCommit >= commitEveryNanos) {
            commit();
        }
    }

    /** Makes everything fed so far durable (a no-op when nothing is pending). */
    public void commit() throws IOException {
        if (broken) {
            throw new IOException("feature cache " + dir + " stopped after a write error; the committed rows are kept");
        }
        if (pendingRows == 0 && pendingLines.isEmpty()) {
            return;
        }
        try {
            long row = committedRows;
            rowBuf.flip();
            while (rowBuf.hasRemaining()) {
                int shard = (int) (row / rowsPerShard);
                int inShard = (int) (row % rowsPerShard);
                int n = Math.min(rowsPerShard - inShard, rowBuf.remaining() / rowBytes);
                FileChannel ch = shard(shard);
                ByteBuffer slice = rowBuf.slice();
                slice.limit(n * rowBytes);
                IoFaults.current().beforeWrite(dir.resolve(CacheState.shardName(shard, dtype)), slice.remaining());
                writeFully(ch, slice, (long) inShard * rowBytes);
                ch.force(false);
                rowBuf.position(rowBuf.position() + n * rowBytes);
                row += n;
            }
            StringBuilder sb = new StringBuilder();
            pendingLines.forEach(l -> sb.append(l).append('\n'));
            byte[] lines = sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            IoFaults.current().beforeWrite(dir.resolve(CacheState.INDEX), lines.length);
            writeFully(indexCh, ByteBuffer.wrap(lines), indexBytes);
            indexCh.force(false);
            ByteBuffer rec = Journal.encode(seq + 1, row, indexBytes + lines.length);
            IoFaults.current().beforeWrite(dir.resolve(CacheState.JOURNAL), Journal.RECORD_BYTES);
            writeFully(journalCh, rec, journalBytes);
            journalCh.force(false);
            seq++;
            rowsWritten += (int) (row - committedRows);
            committedRows = row;
            indexBytes += lines.length;
            journalBytes += Journal.RECORD_BYTES;
            int lineNo = 0;
            for (String l : pendingLines) {
                try {
                    state.apply(l, ++lineNo, dir);
                } catch (CacheException e) {
                    throw new IllegalStateException("the writer produced an index line it cannot read: " + l, e);
                }
            }
        } catch (IOException e) {
            broken = true;
            throw new IOException(writeFailedMessage(e), e);
        } finally {
            rowBuf.clear();
            pendingRows = 0;
            pendingLines.clear();
            lastCommit = System.nanoTime();
        }
    }

    private String writeFailedMessage(IOException e) {
        String why = e instanceof FileSystemException f && f.getReason() != null ? f.getReason() : e.getMessage();
        String hint = why != null && why.toLowerCase(Locale.ROOT).contains("space")
                ? "free disk space and rerun to resume"
                : "fix the problem and rerun to resume";
        return "cannot write feature cache " + dir + ": " + why + ". The " + committedRows
                + " rows committed before are kept; " + hint;
    }

    private FileChannel shard(int s) throws IOException {
        if (s != shardIndex) {
            if (shardCh != null) {
                shardCh.close();
                shardCh = null;
            }
            Path p = dir.resolve(CacheState.shardName(s, dtype));
            boolean created = !Files.exists(p);
            IoFaults.current().beforeOpen(p);
            shardCh = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            shardIndex = s;
            if (created) {
                AtomicFiles.fsyncDirectory(dir);
            }
        }
        return shardCh;
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }

    // ------------------------------------------------------------------------------------------------ finishing

    /** Commits the tail and writes errors.jsonl and cache.json (atomically); returns this run's counts. */
    public Result finish() throws CacheException {
        if (plan == null) {
            throw new IllegalStateException("call update() before finish()");
        }
        try {
            commit();
            AtomicFiles.writeString(dir.resolve(CacheState.ERRORS), state.errorsJsonl());
            AtomicFiles.writeString(dir.resolve(CacheState.SUMMARY), state.summaryJson(header));
        } catch (IOException e) {
            broken = true;
            throw new CacheException(CacheException.Reason.WRITE_FAILED, writeFailedMessage(e), e);
        }
        finished = true;
        extractedPaths.removeAll(failedPaths);
        return new Result(extractedPaths.size(), plan.unchangedImages(), failedPaths.size(), rowsWritten,
                state.liveRows(), state.liveByPath().size(), state.dead.cardinality(), failuresByReason);
    }

    /** Commits what was fed (unless a write already failed) and releases the files and the lock. */
    @Override
    public void close() throws IOException {
        IOException first = null;
        if (!broken && !finished && header != null) {
            try {
                commit();
            } catch (IOException e) {
                first = e;
            }
        }
        for (var c : new java.io.Closeable[] {shardCh, indexCh, journalCh}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        shardCh = null;
        indexCh = null;
        journalCh = null;
        try {
            if (lock != null && lock.isValid()) {
                lock.release();
            }
            if (lockChannel != null) {
                lockChannel.close();
            }
        } catch (IOException e) {
            first = first == null ? e : first;
        }
        if (first != null) {
            throw first;
        }
    }

    private void closeQuietly(Exception cause) {
        broken = true;
        try {
            close();
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }
}
