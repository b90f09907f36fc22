package org.transfer4j.serve;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.preprocess.Preprocessor;
import org.transfer4j.inference.Prediction;
import org.transfer4j.inference.Predictor;

/**
 * Dynamic batching: {@code workers} threads each gather encoded images from concurrent requests, decode and
 * preprocess them into their own direct batch buffer (no native allocation per batch) and run them in a single
 * {@link Predictor#predictPreprocessed} call (one ONNX Runtime run) of up to {@code maxBatch} images. Request threads
 * only read bodies; with one worker per core, decoding never preempts a model run on another core.
 * A batch starts when it is full, when its first image has waited {@code maxWait}, or as soon as no other admitted
 * request is still being read or decoded (nobody else is coming, so waiting would only add latency).
 *
 * <p>On the CPU, several workers on a Predictor with one ORT thread each beat one worker on a many-threaded session,
 * where any other work on one core stalls every parallel operator's other threads (serve.jar: one worker per core).
 *
 * <p>Requests enter through {@link Admission}: their slot is given back here, when their image enters a batch.
 */
final class Batcher implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Batcher.class.getName());

    /** What a request gets back: its prediction, the decoded image's size and how it was served. */
    record Result(Prediction prediction, int width, int height, int batchSize, long queueNanos, long decodeNanos,
                  long preprocessNanos, long inferenceNanos) {
    }

    private record Job(Upload upload, long enqueuedNanos, CompletableFuture<Result> result) {
    }

    /** A job's image decoded into the batch buffer, with its timings. */
    private record Decoded(Job job, int width, int height, long decodeNanos, long preprocessNanos) {
    }

    private final Predictor predictor;
    private final int maxBatch;
    private final long maxWaitNanos;
    private final Admission admission;
    private final BlockingQueue<Job> queue;
    private final Metrics metrics;
    private final List<Thread> threads = new ArrayList<>();
    /** Jobs taken from the queue by gathering workers, not yet in a running batch (their slots are still held). */
    private final java.util.concurrent.atomic.AtomicInteger gathering = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean stopping;

    /**
     * @param maxBatch the largest batch; must not exceed the Predictor's batch size (one ORT run per batch)
     * @param workers  batches run at once, each by its own thread
     */
    Batcher(Predictor predictor, int maxBatch, long maxWaitNanos, int workers, Admission admission, Metrics metrics) {
        if (maxBatch < 1 || maxBatch > predictor.batchSize()) {
            throw new IllegalArgumentException("maxBatch " + maxBatch + " must be 1.." + predictor.batchSize()
                    + " (the Predictor's batch size)");
        }
        this.predictor = predictor;
        this.maxBatch = maxBatch;
        this.maxWaitNanos = maxWaitNanos;
        this.admission = admission;
        this.queue = new ArrayBlockingQueue<>(admission.capacity());
        this.metrics = metrics;
        for (int w = 1; w <= workers; w++) {
            FloatBuffer buffer = Backbone.newBatchBuffer(predictor.spec(), maxBatch);
            // Each worker decodes its own batches: its own Preprocessor (it reuses scratch arrays) and buffer.
            Preprocessor pre = new Preprocessor(predictor.spec());
            Thread t = new Thread(() -> loop(buffer, pre), "transfer4j-batcher-" + w);
            t.setDaemon(true);
            threads.add(t);
        }
        threads.forEach(Thread::start);
    }

    /**
     * Queues one admitted request's encoded image; its slot is released when the image enters a batch. The worker
     * that takes it decodes and preprocesses it straight into its batch buffer: decoding then never competes with a
     * model run for a core (on the CPU each worker is one core's worth of work), as in extract.jar's lanes. The
     * future fails with {@link ImageDecodeException} when the image cannot be decoded, and with
     * {@link IllegalStateException} if the batcher is stopping and will never run it.
     */
    CompletableFuture<Result> submit(Upload upload) {
        Job job = new Job(upload, System.nanoTime(), new CompletableFuture<>());
        // offer cannot fail for an admitted request: the queue holds as many jobs as there are slots.
        if (stopping || !queue.offer(job)) {
            admission.release(1);
            job.result.completeExceptionally(new IllegalStateException("the server is shutting down"));
        }
        return job.result;
    }

    private void loop(FloatBuffer batchBuffer, Preprocessor pre) {
        List<Job> batch = new ArrayList<>(maxBatch);
        while (true) {
            Job first;
            try {
                first = queue.poll(20, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                first = queue.poll();
            }
            if (first == null) {
                if (stopping && queue.isEmpty()) {
                    return;
                }
                continue;
            }
            batch.add(first);
            gathering.incrementAndGet();
            gather(batch, first.enqueuedNanos + maxWaitNanos);
            gathering.addAndGet(-batch.size());
            admission.release(batch.size());
            run(batch, batchBuffer, pre);
            batch.clear();
        }
    }

    /** Adds queued jobs until the batch is full, the deadline passes, or nobody else is on the way. */
    private void gather(List<Job> batch, long deadline) {
        while (batch.size() < maxBatch) {
            gathering.addAndGet(queue.drainTo(batch, maxBatch - batch.size()));
            if (batch.size() >= maxBatch) {
                return;
            }
            long left = deadline - System.nanoTime();
            // Admitted but not yet queued: requests still reading or decoding, which may join this batch (jobs
            // other workers are gathering are admitted too, but will not).
            int onTheirWay = admission.depth() - gathering.get() - queue.size();
            if (left <= 0 || (onTheirWay <= 0 && queue.isEmpty())) {
                return;
            }
            try {
                Job next = queue.poll(Math.min(left, TimeUnit.MILLISECONDS.toNanos(1)), TimeUnit.NANOSECONDS);
                if (next != null) {
                    batch.add(next);
                    gathering.incrementAndGet();
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void run(List<Job> batch, FloatBuffer batchBuffer, Preprocessor pre) {
        long start = System.nanoTime();
        List<Decoded> decoded = new ArrayList<>(batch.size());
        for (Job j : batch) {
            long d0 = System.nanoTime();
            RgbImage image;
            try {
                // ImageDecoder turns a decoder library's unchecked failures on corrupt data into CORRUPT itself.
                image = predictor.decoder().decode(j.upload.bytes(), j.upload.name());
            } catch (ImageDecodeException e) {
                j.result.completeExceptionally(e);
                continue;
            }
            long p0 = System.nanoTime();
            pre.write(image, batchBuffer, decoded.size());
            decoded.add(new Decoded(j, image.width(), image.height(), p0 - d0, System.nanoTime() - p0));
        }
        if (decoded.isEmpty()) {
            return;
        }
        long inferenceStart = System.nanoTime();
        List<Prediction> predictions;
        try {
            predictions = predictor.predictPreprocessed(batchBuffer, decoded.size());
        } catch (Exception | Error e) {
            // One failure answers the whole batch (the images were fine: they decoded); the server keeps serving.
            LOG.log(Level.WARNING, "a batch of " + decoded.size() + " failed in the model: " + e.getMessage(), e);
            for (Decoded d : decoded) {
                d.job.result.completeExceptionally(e);
            }
            return;
        }
        long inference = System.nanoTime() - inferenceStart;
        metrics.batch(decoded.size(), inference);
        for (int i = 0; i < decoded.size(); i++) {
            Decoded d = decoded.get(i);
            d.job.result.complete(new Result(predictions.get(i), d.width, d.height, decoded.size(),
                    start - d.job.enqueuedNanos, d.decodeNanos, d.preprocessNanos, inference));
        }
    }

    /** Stops admitting, runs what is queued, and waits for the workers to finish (up to {@code timeoutMs}). */
    void stop(long timeoutMs) throws InterruptedException {
        stopping = true;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(1, timeoutMs));
        for (Thread t : threads) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        }
        // Only after a timed-out drain: answer what the thread left behind rather than leave callers waiting.
        for (Job j; (j = queue.poll()) != null; ) {
            admission.release(1);
            j.result.completeExceptionally(new IllegalStateException("the server stopped before running this image"));
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop(60_000);
    }
}
