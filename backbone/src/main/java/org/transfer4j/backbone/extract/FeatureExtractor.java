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
 * <p>Cores are split explicitly: {@code decodeThreads} here plus the backbone's intra-op threads. When their sum
 * exceeds the cores, open the backbone without spinning (the {@link BackboneOptions} default) so idle ORT threads
 * yield the cores to the decoders.
 */
public final class FeatureExtractor implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(FeatureExtractor.class.getName());

    private final Backbone backbone;
    private final int batchSize;
    private final int decodeThreads;
    private final ImageDecoder decoder;
    private final ExecutorService pool;
    private final ThreadLocal<Preprocessor> preprocessors;
    private final Slot[] slots;
    private final ReentrantLock running = new ReentrantLock();

    private FeatureExtractor(Builder b) {
        this.backbone = b.backbone;
        this.batchSize = b.batchSize;
        this.decodeThreads = b.decodeThreads;
        this.decoder = b.decoder != null ? b.decoder : ImageDecoder.builder().build();
        AtomicInteger n = new AtomicInteger();
        ThreadFactory tf = r -> {
            Thread t = new Thread(r, "t4j-decode-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.pool = Executors.newFixedThreadPool(decodeThreads, tf);
        var spec = backbone.spec();
        this.preprocessors = ThreadLocal.withInitial(() -> new Preprocessor(spec));
        this.slots = new Slot[] {new Slot(backbone, batchSize), new Slot(backbone, batchSize)};
        int cores = Runtime.getRuntime().availableProcessors();
        if (decodeThreads + backbone.intraOpThreads() > cores) {
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
     * @param inferenceSeconds time in {@link Backbone#features}
     * @param waitSeconds     time the caller waited for decoders (large = decode-bound: add decode threads)
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
                ImageTask task = s.tasks[i];
                RgbImage img;
                try {
                    img = decoder.decode(task.path());
                } catch (ImageDecodeException e) {
                    s.errors[i] = e;
                    continue;
                } catch (RuntimeException e) {
                    // A decoder library choking on one odd file must not end a long run; it is reported as that
                    // file's failure, with the cause kept.
                    s.errors[i] = new ImageDecodeException(task.path().toString(),
                            ImageDecodeException.Reason.CORRUPT, "the decoder failed unexpectedly: " + e, e);
                    continue;
                }
                s.warningLists[i] = img.warnings();
                if (task.view() == 0) {
                    pre.write(img, s.buffer, i);
                } else {
                    pre.write(img, View.random(task.viewSeed(), img.width(), img.height()), s.buffer, i);
                }
            }
        } catch (RuntimeException | Error e) {
            // Preprocessing bugs (or OOM) stop the run: the caller rethrows this after the batch.
            s.failure = e;
            s.cancelled = true;
        } finally {
            s.done.countDown();
        }
    }

    /** Packs the decoded images to the front of the buffer and runs them. */
    private float[][] infer(Slot s) throws ModelException {
        if (s.failure instanceof RuntimeException r) {
            throw new IllegalStateException("preprocessing failed: " + r, r);
        } else if (s.failure instanceof Error e) {
            throw e;
        }
        int fpi = backbone.spec().floatsPerImage();
        int rows = 0;
        for (int i = 0; i < s.count; i++) {
            if (s.errors[i] == null) {
                if (i != rows) {
                    // Rare (a failed image): move this image down over the hole. Regions never overlap.
                    FloatBuffer src = s.buffer.duplicate();
                    src.clear().position(i * fpi).limit((i + 1) * fpi);
                    FloatBuffer dst = s.buffer.duplicate();
                    dst.clear().position(rows * fpi);
                    dst.put(src);
                }
                rows++;
            }
        }
        return rows == 0 ? new float[0][] : backbone.features(s.buffer, rows);
    }

    private static void emit(Slot s, float[][] features, FeatureSink sink, long[] counters) throws IOException {
        int row = 0;
        for (int i = 0; i < s.count; i++) {
            ImageTask t = s.tasks[i];
            if (s.errors[i] != null) {
                counters[1]++;
                sink.failed(t, s.errors[i]);
            } else {
                counters[0]++;
                java.util.List<String> warnings = s.warnings(i);
                if (warnings.isEmpty()) {
                    sink.accept(t, features[row++]);
                } else {
                    sink.accept(t, features[row++], warnings);
                }
            }
        }
        counters[2]++;
        s.reset();
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

        @SuppressWarnings("unchecked")
        java.util.List<String> warnings(int i) {
            java.util.List<?> w = warningLists[i];
            return w == null ? java.util.List.of() : (java.util.List<String>) w;
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
