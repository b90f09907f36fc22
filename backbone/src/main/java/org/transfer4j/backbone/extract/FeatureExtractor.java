package org.transfer4j.backbone.extract;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.FloatBuffer;
import java.util.Iterator;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.ImageDecoder;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.preprocess.Preprocessor;
import org.transfer4j.backbone.preprocess.View;

/**
 * Many images to features: decode and preprocess on worker threads straight into reusable direct batch buffers
 * (two of them, so the next batch is decoded while ONNX Runtime runs the current one), then hand the features to a
 * {@link FeatureSink} on the caller's thread, in task order.
 *
 * <p>A file that cannot be decoded goes to {@link FeatureSink#failed} and the run goes on. Model failures, sink I/O
 * errors and bugs stop the run. Nothing is allocated per image beyond the decoded image and the feature row the sink
 * keeps.
 *
 * <p>Two ways to use the cores, chosen by {@link Builder#optLanes}:
 * <ul>
 * <li><b>Lanes</b> (for a CPU backbone opened with one intra-op thread): {@code lanes} threads each take a whole
 * batch, decode it and run it. Every core works on its own batch, so no parallel operator waits for a core that is
 * busy decoding (with a multi-threaded session, a decoder on one core stalls every operator's other threads; on 2
 * cores lanes ran the int8 ResNet50 pipeline a median 8% faster, BENCHMARKS.md). Results still reach the sink in task
 * order.
 * <li><b>One batch at a time</b> ({@code lanes} 0): inference on the caller's thread with the session's own threads
 * (a GPU, or a many-threaded session), the next batch decoded meanwhile by {@code decodeThreads}. When decode
 * threads plus intra-op threads exceed the cores, open the backbone without spinning (the {@link BackboneOptions}
 * default) so idle ORT threads yield the cores to the decoders.
 * </ul>
 */
public final class FeatureExtractor implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(FeatureExtractor.class.getName());

    private final Backbone backbone;
    private final int batchSize;
    private final int decodeThreads;
    private final int lanes;
    private final ImageDecoder decoder;
    private final ExecutorService pool;
    private final ThreadLocal<Preprocessor> preprocessors;
    /** A lane's own batch buffer (lanes mode); each pool thread is one lane. */
    private final ThreadLocal<FloatBuffer> laneBuffers;
    private final Slot[] slots;
    private final ReentrantLock running = new ReentrantLock();

    private FeatureExtractor(Builder b) {
        this.backbone = b.backbone;
        this.batchSize = b.batchSize;
        this.decodeThreads = b.decodeThreads;
        this.lanes = b.lanes;
        this.decoder = b.decoder != null ? b.decoder : ImageDecoder.builder().build();
        AtomicInteger n = new AtomicInteger();
        String name = lanes > 0 ? "t4j-lane-" : "t4j-decode-";
        ThreadFactory tf = r -> {
            Thread t = new Thread(r, name + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.pool = Executors.newFixedThreadPool(lanes > 0 ? lanes : decodeThreads, tf);
        var spec = backbone.spec();
        this.preprocessors = ThreadLocal.withInitial(() -> new Preprocessor(spec));
        this.laneBuffers = ThreadLocal.withInitial(() -> backbone.newBatchBuffer(batchSize));
        this.slots = lanes > 0 ? new Slot[0] : new Slot[] {new Slot(backbone, batchSize), new Slot(backbone, batchSize)};
        int cores = Runtime.getRuntime().availableProcessors();
        if (lanes == 0 && decodeThreads + backbone.intraOpThreads() > cores) {
            LOG.log(System.Logger.Level.DEBUG, () -> String.format(Locale.ROOT,
                    "%d decode threads + %d ORT threads share %d cores; spinning should be off (BackboneOptions)",
                    decodeThreads, backbone.intraOpThreads(), cores));
        }
    }

    public static Builder builder(Backbone backbone) {
        return new Builder(backbone);
    }

    public int batchSize() {
        return batchSize;
    }

    public int decodeThreads() {
        return decodeThreads;
    }

    /** Batches run at once, each decoded and inferred on its own thread; 0 = one batch at a time. */
    public int lanes() {
        return lanes;
    }

    /**
     * Lanes for a backbone: {@code cores / intra-op threads} when that is at least 2 (a CPU session opened with
     * fewer threads than cores, e.g. one), else 0 (one batch at a time with decoding overlapped, which suits a GPU or
     * a session that already uses every core).
     */
    public static int lanesFor(Backbone backbone) {
        int lanes = Runtime.getRuntime().availableProcessors() / Math.max(1, backbone.intraOpThreads());
        return lanes >= 2 ? lanes : 0;
    }

    public Backbone backbone() {
        return backbone;
    }

    /**
     * Decode threads to use by default: half the cores (at least 1, at most 8). On CNN backbones one decode thread
     * keeps up with several inference threads, and every core given to decoding is taken from ORT.
     */
    public static int defaultDecodeThreads() {
        return Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors() / 2));
    }

    /** Options: batch size (default 8), decode threads (default {@link #defaultDecodeThreads()}), decoder. */
    public static final class Builder {
        private final Backbone backbone;
        private int batchSize = 8;
        private int decodeThreads = defaultDecodeThreads();
        private int lanes;
        private ImageDecoder decoder;

        private Builder(Backbone backbone) {
            this.backbone = Objects.requireNonNull(backbone, "backbone");
        }

        /** Images per inference run, 1..1024; models with a fixed batch run it in chunks. */
        public Builder optBatchSize(int n) {
            this.batchSize = n;
            return this;
        }

        /** Threads decoding and preprocessing images, 1..256. */
        public Builder optDecodeThreads(int n) {
            this.decodeThreads = n;
            return this;
        }

        /**
         * Batches run at once, 0..256 (default 0): with n &gt; 0, n threads each decode a whole batch and run it (open
         * the backbone with one intra-op thread and use as many lanes as cores; see {@link #lanesFor}); decode
         * threads are then not used. 0: one batch at a time on the caller's thread, the next one decoded meanwhile.
         */
        public Builder optLanes(int n) {
            this.lanes = n;
            return this;
        }

        public Builder optDecoder(ImageDecoder d) {
            this.decoder = Objects.requireNonNull(d, "decoder");
            return this;
        }

        public FeatureExtractor build() {
            if (batchSize < 1 || batchSize > 1024) {
                throw new IllegalArgumentException("feature extractor option 'batchSize' is " + batchSize
                        + "; allowed: 1..1024");
            }
            long bytes = 4L * batchSize * backbone.spec().floatsPerImage();
            if (bytes > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("feature extractor option 'batchSize' is " + batchSize
                        + "; a batch of " + backbone.spec().height() + "x" + backbone.spec().width()
                        + " images would need " + bytes + " bytes; allowed: at most "
                        + Integer.MAX_VALUE / (4L * backbone.spec().floatsPerImage()));
            }
            if (decodeThreads < 1 || decodeThreads > 256) {
                throw new IllegalArgumentException("feature extractor option 'decodeThreads' is " + decodeThreads
                        + "; allowed: 1..256");
            }
            if (lanes < 0 || lanes > 256) {
                throw new IllegalArgumentException("feature extractor option 'lanes' is " + lanes
                        + "; allowed: 0..256");
            }
            return new FeatureExtractor(this);
        }
    }

    /**
     * What a run did, for progress lines and tuning.
     *
     * @param images          tasks given features
     * @param failed          tasks whose image could not be decoded
     * @param batches         inference runs
     * @param wallSeconds     the whole run
     * @param inferenceSeconds time in {@link Backbone#features} (with lanes: summed over the lanes, divided by them)
     * @param waitSeconds     time the caller waited for decoders (large = decode-bound: add decode threads); with
     *                        lanes, for the next batch in order
     */
    public record RunStats(long images, long failed, long batches, double wallSeconds, double inferenceSeconds,
            double waitSeconds) {
        public double imagesPerSecond() {
            return wallSeconds > 0 ? images / wallSeconds : 0;
        }
    }

    /**
     * Runs every task and reports each to {@code sink}, in task order, on this thread.
     *
     * @throws ModelException when ONNX Runtime fails (the run stops; results already given to the sink stand)
     * @throws IOException    when the sink fails, or {@link InterruptedIOException} when this thread is interrupted
     */
    public RunStats run(Iterable<ImageTask> tasks, FeatureSink sink) throws ModelException, IOException {
        Objects.requireNonNull(tasks, "tasks");
        Objects.requireNonNull(sink, "sink");
        if (pool.isShutdown()) {
            throw new IllegalStateException("this FeatureExtractor is closed");
        }
        if (!running.tryLock()) {
            throw new IllegalStateException("this FeatureExtractor is already running; use one per thread");
        }
        if (lanes > 0) {
            try {
                return runLanes(tasks.iterator(), tasks instanceof java.util.Collection<?> c ? c.size() : -1, sink);
            } finally {
                running.unlock();
            }
        }
        long start = System.nanoTime();
        long[] counters = new long[3]; // images, failed, batches
        long inferNs = 0;
        long waitNs = 0;
        Slot current = slots[0];
        Slot next = slots[1];
        try {
            Iterator<ImageTask> it = tasks.iterator();
            fill(current, it);
            while (current.count > 0) {
                long w0 = System.nanoTime();
                current.await();
                waitNs += System.nanoTime() - w0;
                // Decode the next batch into the other buffer while this one runs.
                fill(next, it);
                long i0 = System.nanoTime();
                float[][] features = infer(current);
                inferNs += System.nanoTime() - i0;
                emit(current, features, sink, counters);
                Slot t = current;
                current = next;
                next = t;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            InterruptedIOException ie = new InterruptedIOException("feature extraction interrupted");
            ie.initCause(e);
            throw ie;
        } finally {
            // Never leave workers writing into buffers the next run will reuse.
            quiesce(current);
            quiesce(next);
            running.unlock();
        }
        return new RunStats(counters[0], counters[1], counters[2], (System.nanoTime() - start) / 1e9,
                inferNs / 1e9, waitNs / 1e9);
    }

    /** Takes up to a batch of tasks and starts decoding them into the slot's buffer. */
    private void fill(Slot s, Iterator<ImageTask> it) {
        s.reset();
        while (s.count < batchSize && it.hasNext()) {
            ImageTask t = Objects.requireNonNull(it.next(), "tasks must not contain null");
            s.tasks[s.count++] = t;
        }
        if (s.count == 0) {
            return;
        }
        int jobs = Math.min(decodeThreads, s.count);
        s.done = new CountDownLatch(jobs);
        for (int j = 0; j < jobs; j++) {
            try {
                pool.execute(() -> decodeLoop(s));
            } catch (RejectedExecutionException e) {
                // Closed underneath us: release the latch for the jobs that will never run, then say so.
                s.cancelled = true;
                for (int k = j; k < jobs; k++) {
                    s.done.countDown();
                }
                throw new IllegalStateException("this FeatureExtractor was closed while running", e);
            }
        }
    }

    /** A worker's share of a batch: takes the next image index until none is left. */
    private void decodeLoop(Slot s) {
        try {
            Preprocessor pre = preprocessors.get();
            for (int i; !s.cancelled && (i = s.next.getAndIncrement()) < s.count; ) {
                decodeInto(s.tasks[i], pre, s.buffer, i, s.errors, s.warningLists);
            }
        } catch (RuntimeException | Error e) {
            // Preprocessing bugs (or OOM) stop the run: the caller rethrows this after the batch.
            s.failure = e;
            s.cancelled = true;
        } finally {
            s.done.countDown();
        }
    }

    /**
     * Decodes one task's image and preprocesses it into image {@code i} of {@code buffer}; a file that cannot be
     * decoded goes to {@code errors[i]}, the decoder's warnings to {@code warningLists[i]}. Preprocessing failures
     * (bugs) are thrown.
     */
    private void decodeInto(ImageTask task, Preprocessor pre, FloatBuffer buffer, int i,
                            ImageDecodeException[] errors, java.util.List<?>[] warningLists) {
        RgbImage img;
        try {
            img = decoder.decode(task.path());
        } catch (ImageDecodeException e) {
            errors[i] = e;
            return;
        } catch (RuntimeException e) {
            // A decoder library choking on one odd file must not end a long run; it is reported as that file's
            // failure, with the cause kept.
            errors[i] = new ImageDecodeException(task.path().toString(), ImageDecodeException.Reason.CORRUPT,
                    "the decoder failed unexpectedly: " + e, e);
            return;
        }
        warningLists[i] = img.warnings();
        if (task.view() == 0) {
            pre.write(img, buffer, i);
        } else {
            pre.write(img, View.random(task.viewSeed(), img.width(), img.height()), buffer, i);
        }
    }

    /** Runs a slot's decoded images. */
    private float[][] infer(Slot s) throws ModelException {
        if (s.failure instanceof RuntimeException r) {
            throw new IllegalStateException("preprocessing failed: " + r, r);
        } else if (s.failure instanceof Error e) {
            throw e;
        }
        return infer(s.buffer, s.count, s.errors);
    }

    /** Packs the decoded images (those without an error) to the front of the buffer and runs them. */
    private float[][] infer(FloatBuffer buffer, int count, ImageDecodeException[] errors) throws ModelException {
        int fpi = backbone.spec().floatsPerImage();
        int rows = 0;
        for (int i = 0; i < count; i++) {
            if (errors[i] == null) {
                if (i != rows) {
                    // Rare (a failed image): move this image down over the hole. Regions never overlap.
                    FloatBuffer src = buffer.duplicate();
                    src.clear().position(i * fpi).limit((i + 1) * fpi);
                    FloatBuffer dst = buffer.duplicate();
                    dst.clear().position(rows * fpi);
                    dst.put(src);
                }
                rows++;
            }
        }
        return rows == 0 ? new float[0][] : backbone.features(buffer, rows);
    }

    private static void emit(Slot s, float[][] features, FeatureSink sink, long[] counters) throws IOException {
        emit(s.tasks, s.count, s.errors, s.warningLists, features, sink, counters);
        s.reset();
    }

    private static void emit(ImageTask[] tasks, int count, ImageDecodeException[] errors,
                             java.util.List<?>[] warningLists, float[][] features, FeatureSink sink, long[] counters)
            throws IOException {
        int row = 0;
        for (int i = 0; i < count; i++) {
            ImageTask t = tasks[i];
            if (errors[i] != null) {
                counters[1]++;
                sink.failed(t, errors[i]);
            } else {
                counters[0]++;
                java.util.List<String> warnings = warningsOf(warningLists[i]);
                if (warnings.isEmpty()) {
                    sink.accept(t, features[row++]);
                } else {
                    sink.accept(t, features[row++], warnings);
                }
            }
        }
        counters[2]++;
    }

    @SuppressWarnings("unchecked")
    private static java.util.List<String> warningsOf(java.util.List<?> w) {
        return w == null ? java.util.List.of() : (java.util.List<String>) w;
    }

    // ---------------------------------------------------------------------------------------------------------- lanes

    /** A batch one lane decoded and ran: what {@link #emit} needs. */
    private record LaneBatch(ImageTask[] tasks, ImageDecodeException[] errors, java.util.List<?>[] warningLists,
                             float[][] features, long inferNanos) {
    }

    /**
     * Lanes mode: batches are cut on this thread (the iterator is the caller's), run on the lanes, and emitted here in
     * order. At most two batches per lane are in flight, so memory stays bounded and a slow sink slows the lanes.
     * When the number of tasks is known, the last round is cut into equal shares, so no lane idles while another
     * runs a whole batch at the end (with 245 images in batches of 32 on 2 lanes, that idle time was ~7% of the run).
     */
    private RunStats runLanes(Iterator<ImageTask> it, int total, FeatureSink sink) throws ModelException, IOException {
        long start = System.nanoTime();
        long[] counters = new long[3]; // images, failed, batches
        long inferNs = 0;
        long waitNs = 0;
        java.util.ArrayDeque<java.util.concurrent.Future<LaneBatch>> window = new java.util.ArrayDeque<>();
        int taken = 0;
        int lastRound = 0; // the batch size of the last round, once it has started
        try {
            while (true) {
                while (window.size() < 2 * lanes && it.hasNext()) {
                    int size = batchSize;
                    if (total >= 0 && total - taken < lanes * batchSize) {
                        if (lastRound == 0) {
                            lastRound = Math.max(1, (total - taken + lanes - 1) / lanes);
                        }
                        size = lastRound;
                    }
                    ImageTask[] batch = new ImageTask[size];
                    int n = 0;
                    while (n < size && it.hasNext()) {
                        batch[n++] = Objects.requireNonNull(it.next(), "tasks must not contain null");
                    }
                    taken += n;
                    ImageTask[] tasks = n == size ? batch : java.util.Arrays.copyOf(batch, n);
                    try {
                        window.add(pool.submit(() -> laneRun(tasks)));
                    } catch (RejectedExecutionException e) {
                        throw new IllegalStateException("this FeatureExtractor was closed while running", e);
                    }
                }
                java.util.concurrent.Future<LaneBatch> next = window.poll();
                if (next == null) {
                    break;
                }
                long w0 = System.nanoTime();
                LaneBatch b = await(next);
                waitNs += System.nanoTime() - w0;
                inferNs += b.inferNanos();
                emit(b.tasks(), b.tasks().length, b.errors(), b.warningLists(), b.features(), sink, counters);
            }
        } finally {
            // Never leave lanes running after the run: the ones not started are dropped, running ones finish.
            for (var f : window) {
                f.cancel(false);
            }
            boolean interrupted = Thread.interrupted();
            for (var f : window) {
                while (!f.isDone()) {
                    try {
                        f.get();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.CancellationException e) {
                        break; // its failure does not matter any more: the run is ending
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        return new RunStats(counters[0], counters[1], counters[2], (System.nanoTime() - start) / 1e9,
                inferNs / 1e9 / lanes, waitNs / 1e9);
    }

    /** On a lane: decode the batch into this lane's buffer and run it. */
    private LaneBatch laneRun(ImageTask[] tasks) throws ModelException {
        FloatBuffer buffer = laneBuffers.get();
        Preprocessor pre = preprocessors.get();
        ImageDecodeException[] errors = new ImageDecodeException[tasks.length];
        java.util.List<?>[] warnings = new java.util.List<?>[tasks.length];
        for (int i = 0; i < tasks.length; i++) {
            try {
                decodeInto(tasks[i], pre, buffer, i, errors, warnings);
            } catch (RuntimeException e) {
                throw new IllegalStateException("preprocessing failed: " + e, e);
            }
        }
        long t0 = System.nanoTime();
        float[][] features = infer(buffer, tasks.length, errors);
        return new LaneBatch(tasks, errors, warnings, features, System.nanoTime() - t0);
    }

    /** The lane's result, its exceptions as they were thrown there. */
    private static LaneBatch await(java.util.concurrent.Future<LaneBatch> f) throws ModelException, IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            InterruptedIOException ie = new InterruptedIOException("feature extraction interrupted");
            ie.initCause(e);
            throw ie;
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof ModelException m) {
                throw m;
            } else if (c instanceof RuntimeException r) {
                throw r;
            } else if (c instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(c);
        }
    }

    private static void quiesce(Slot s) {
        if (s.done == null) {
            return;
        }
        s.cancelled = true;
        boolean interrupted = false;
        while (true) {
            try {
                s.done.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        s.reset();
    }

    /** One batch buffer and the bookkeeping of the tasks decoded into it. */
    private static final class Slot {
        final FloatBuffer buffer;
        final ImageTask[] tasks;
        final ImageDecodeException[] errors;
        /** The decoder's warnings per image (e.g. truncated), handed to the sink with the features. */
        final java.util.List<?>[] warningLists;
        final AtomicInteger next = new AtomicInteger();
        int count;
        CountDownLatch done;
        volatile boolean cancelled;
        volatile Throwable failure;

        Slot(Backbone b, int batchSize) {
            this.buffer = b.newBatchBuffer(batchSize);
            this.tasks = new ImageTask[batchSize];
            this.errors = new ImageDecodeException[batchSize];
            this.warningLists = new java.util.List<?>[batchSize];
        }

        void reset() {
            java.util.Arrays.fill(tasks, 0, Math.max(count, 0), null);
            java.util.Arrays.fill(errors, null);
            java.util.Arrays.fill(warningLists, null);
            count = 0;
            next.set(0);
            done = null;
            cancelled = false;
            failure = null;
        }

        void await() throws InterruptedException {
            done.await();
        }
    }

    /** Stops the decode threads. The backbone stays open (it is the caller's). */
    @Override
    public void close() {
        pool.shutdownNow();
        try {
            if (!pool.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "decode threads did not stop within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
