package org.transfer4j.inference;

import java.awt.image.BufferedImage;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.ImageDecoder;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.preprocess.Preprocessor;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.head.HeadWeights;

/**
 * A loaded image classifier answering {@code predict(...)}: decode, preprocess with the model's own spec, run ONNX
 * Runtime, read the probabilities. Loads either one composed model (backbone and head in one ONNX file that carries
 * its spec and class names) or a backbone file plus a head folder, the head then running in plain Java floats.
 *
 * <pre>{@code
 * try (Predictor predictor = Predictor.builder(Path.of("model.onnx")).optTopK(3).build()) {
 *     Prediction p = predictor.predict(Path.of("bee.jpg"));
 *     System.out.println(p.label() + " " + p.probability());
 *     p.top().forEach(s -> System.out.println("  " + s.label() + " " + s.probability()));
 * }
 * }</pre>
 *
 * <p>Thread-safe: share one instance between threads (ORT sessions allow concurrent runs). Each calling thread
 * borrows a preprocessing scratch (a {@link Preprocessor} and a direct input buffer) from a small pool, so steady
 * state allocates no native memory; every ORT tensor and result is closed before a call returns. Nothing here loads
 * ND4J, so a service embedding only inference pays neither its start-up time nor its memory.
 *
 * <p>Failures are checked: {@link ImageDecodeException} for an image that cannot be read (the predictor stays
 * usable), {@link ModelException} for model problems (missing file, wrong metadata, a head trained on another
 * backbone, ORT errors).
 */
public final class Predictor implements AutoCloseable {
    private final Engine engine;
    private final BackboneSpec spec;
    private final List<String> classes;
    private final int topK;
    private final int batchSize;
    private final ImageDecoder decoder;
    private final ConcurrentLinkedDeque<Scratch> scratchPool = new ConcurrentLinkedDeque<>();
    // Calls hold the read lock; close() takes the write lock, so close waits for calls in flight instead of freeing a
    // session under them.
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    private Predictor(Engine engine, Builder b) {
        this.engine = engine;
        this.spec = engine.spec();
        this.classes = engine.classes();
        this.topK = Math.min(b.topK, classes.size());
        this.batchSize = Math.max(1, Math.min(b.batchSize, engine.maxBatch()));
        this.decoder = b.decoder != null ? b.decoder : ImageDecoder.builder().optMaxPixels(b.maxPixels).build();
    }

    /** Loads a composed model ({@code model.jar compose} or train-head's {@code model.onnx}) with default options. */
    public static Predictor load(Path composedModel) throws ModelException {
        return builder(composedModel).build();
    }

    /** Loads a backbone file and a head folder (head.json + head.bin) with default options. */
    public static Predictor load(Path backbone, Path headDir) throws ModelException {
        return builder(backbone, headDir).build();
    }

    /** Options for a composed model. */
    public static Builder builder(Path composedModel) {
        return new Builder(Objects.requireNonNull(composedModel, "composedModel"), null, null);
    }

    /** Options for the two-part form: a backbone file and a head folder written by train-head. */
    public static Builder builder(Path backbone, Path headDir) {
        return new Builder(Objects.requireNonNull(backbone, "backbone"), Objects.requireNonNull(headDir, "headDir"),
                null);
    }

    /** Options for the two-part form with a head already in memory. */
    public static Builder builder(Path backbone, HeadWeights head) {
        return new Builder(Objects.requireNonNull(backbone, "backbone"), null, Objects.requireNonNull(head, "head"));
    }

    /** Class names in output order. */
    public List<String> classes() {
        return classes;
    }

    /**
     * What was loaded: the form and files, classes, the spec recorded with the model, the head's size and training
     * configuration, and its provenance (training caches, library versions, date).
     */
    public ModelInfo info() {
        return engine.info();
    }

    /** The preprocessing this predictor applies. */
    public BackboneSpec spec() {
        return spec;
    }

    /** How many classes each prediction lists in {@link Prediction#top()}. */
    public int topK() {
        return topK;
    }

    /** How many images one ORT run takes in {@link #predictAll}. */
    public int batchSize() {
        return batchSize;
    }

    /** The decoder used for paths, bytes and streams (shared, thread-safe). */
    public ImageDecoder decoder() {
        return decoder;
    }

    public Prediction predict(Path image) throws ImageDecodeException, ModelException {
        return predict(decoder.decode(image));
    }

    /** {@code name} only labels error messages. */
    public Prediction predict(byte[] encoded, String name) throws ImageDecodeException, ModelException {
        return predict(decoder.decode(encoded, name));
    }

    public Prediction predict(byte[] encoded) throws ImageDecodeException, ModelException {
        return predict(encoded, "<bytes>");
    }

    /** Reads the stream to its end; does not close it. */
    public Prediction predict(InputStream encoded) throws ImageDecodeException, ModelException {
        return predict(decoder.decode(encoded, "<stream>"));
    }

    public Prediction predict(BufferedImage image) throws ModelException {
        return predict(ImageDecoder.fromBufferedImage(image));
    }

    /** Predicts an image already decoded to 8-bit RGB. */
    public Prediction predict(RgbImage image) throws ModelException {
        return predictImages(List.of(image)).get(0);
    }

    /**
     * Predicts many files: decodes them on the calling thread and runs them through the model in batches of
     * {@link #batchSize()} (one ORT run per batch). Stops at the first file that cannot be decoded; use
     * {@link #predictImages} with your own decoding loop to skip bad files instead.
     */
    public List<Prediction> predictAll(List<Path> images) throws ImageDecodeException, ModelException {
        List<Prediction> out = new ArrayList<>(images.size());
        List<RgbImage> batch = new ArrayList<>(batchSize);
        for (Path p : images) {
            batch.add(decoder.decode(p));
            if (batch.size() == batchSize) {
                out.addAll(predictImages(batch));
                batch.clear();
            }
        }
        if (!batch.isEmpty()) {
            out.addAll(predictImages(batch));
        }
        return out;
    }

    /** Predicts decoded images, one ORT run per {@link #batchSize()} images; results in input order. */
    public List<Prediction> predictImages(List<RgbImage> images) throws ModelException {
        lifecycle.readLock().lock();
        try {
            requireOpen();
            List<Prediction> out = new ArrayList<>(images.size());
            Scratch s = borrow();
            try {
                for (int start = 0; start < images.size(); start += batchSize) {
                    int n = Math.min(batchSize, images.size() - start);
                    FloatBuffer buf = s.buffer(n);
                    for (int i = 0; i < n; i++) {
                        s.preprocessor.write(images.get(start + i), buf, i);
                    }
                    float[][] probs = engine.probabilities(buf, n);
                    for (float[] p : probs) {
                        out.add(Prediction.of(classes, p, topK));
                    }
                }
            } finally {
                scratchPool.push(s);
            }
            return out;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Predicts {@code n} images already preprocessed into {@code batch}: image {@code i} at
     * {@code i * spec().floatsPerImage()}, in the spec's layout, position and limit ignored. A direct native-order
     * buffer ({@code Backbone.newBatchBuffer(spec, n)}) reaches ORT without a copy. For callers with their own
     * preprocessing, and for timing the model alone ({@code bench.jar predict}).
     */
    public List<Prediction> predictPreprocessed(FloatBuffer batch, int n) throws ModelException {
        lifecycle.readLock().lock();
        try {
            requireOpen();
            List<Prediction> out = new ArrayList<>(n);
            for (float[] p : engine.probabilities(batch, n)) {
                out.add(Prediction.of(classes, p, topK));
            }
            return out;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("this Predictor (" + engine.describe() + ") is closed");
        }
    }

    private Scratch borrow() {
        Scratch s = scratchPool.poll();
        return s != null ? s : new Scratch(spec, 1);
    }

    /** Waits for calls in flight, then releases the ORT session(s). Idempotent. */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                scratchPool.clear();
                try {
                    engine.close();
                } catch (ModelException e) {
                    // Only happens if ORT already freed the session; nothing is left to release, but say so.
                    throw new IllegalStateException(e.getMessage(), e);
                }
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "Predictor[%s, %d classes, top-%d]", engine.describe(), classes.size(),
                topK);
    }

    /**
     * One thread's preprocessing state: the spec's Preprocessor (not thread-safe, reuses its own scratch) and a
     * direct native-order buffer ORT reads without copying. Grows to the largest batch seen, never shrinks.
     */
    private static final class Scratch {
        final Preprocessor preprocessor;
        final int floatsPerImage;
        FloatBuffer buffer;

        Scratch(BackboneSpec spec, int images) {
            this.preprocessor = new Preprocessor(spec);
            this.floatsPerImage = spec.floatsPerImage();
            this.buffer = allocate(images);
        }

        FloatBuffer buffer(int images) {
            if (buffer.capacity() < images * floatsPerImage) {
                buffer = allocate(images);
            }
            buffer.clear();
            return buffer;
        }

        private FloatBuffer allocate(int images) {
            return Backbone.newBatchBuffer(preprocessor.spec(), images);
        }
    }

    /**
     * Predictor options. Validated in {@link #build()}; messages name the option, the value and the allowed range.
     */
    public static final class Builder {
        private final Path model;
        private final Path headDir;
        private final HeadWeights head;
        private Device device = Device.AUTO;
        private int threads = Runtime.getRuntime().availableProcessors();
        private boolean allowSpinning;
        private int topK = 5;
        private int batchSize = 8;
        private long maxPixels = BackboneSpec.DEFAULT_MAX_PIXELS;
        private ImageDecoder decoder;
        private BackboneSpec spec;

        private Builder(Path model, Path headDir, HeadWeights head) {
            this.model = model;
            this.headDir = headDir;
            this.head = head;
        }

        /** {@code auto} (default: CUDA when available, else CPU), {@code cpu}, {@code cuda} or {@code cuda:N}. */
        public Builder optDevice(String device) {
            this.device = Device.parse(device);
            return this;
        }

        public Builder optDevice(Device device) {
            this.device = Objects.requireNonNull(device, "device");
            return this;
        }

        /**
         * Let idle ORT threads busy-wait for work (default off): a little lower latency for one caller, but the
         * spinning burns cores that other callers and decoding need.
         */
        public Builder optAllowSpinning(boolean allow) {
            this.allowSpinning = allow;
            return this;
        }

        /** ONNX Runtime intra-op threads per run, 1..1024; default: the available processors. */
        public Builder optThreads(int threads) {
            this.threads = threads;
            return this;
        }

        /** Classes listed in {@link Prediction#top()}, default 5 (capped at the number of classes). */
        public Builder optTopK(int topK) {
            this.topK = topK;
            return this;
        }

        /** Images per ORT run in {@code predictAll}, default 8 (1 for models with a fixed batch of 1). */
        public Builder optBatchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /** Largest image (width × height) the default decoder accepts; default PIL's 89,478,485. */
        public Builder optMaxPixels(long maxPixels) {
            this.maxPixels = maxPixels;
            return this;
        }

        /** A decoder of your own (overrides {@link #optMaxPixels}). */
        public Builder optDecoder(ImageDecoder decoder) {
            this.decoder = Objects.requireNonNull(decoder, "decoder");
            return this;
        }

        /** Overrides the preprocessing spec stored in a composed model's metadata (composed form only). */
        public Builder optSpec(BackboneSpec spec) {
            this.spec = Objects.requireNonNull(spec, "spec");
            return this;
        }

        public Predictor build() throws ModelException {
            require(topK >= 1 && topK <= 10_000, "topK", topK, "1..10000");
            require(batchSize >= 1 && batchSize <= 4096, "batchSize", batchSize, "1..4096");
            require(maxPixels >= 1, "maxPixels", maxPixels, ">= 1");
            require(threads >= 1 && threads <= 1024, "threads", threads, "1..1024");
            if (spec != null && (headDir != null || head != null)) {
                throw new IllegalArgumentException("predictor option 'spec' applies to composed models only; a head "
                        + "carries the spec it was trained with");
            }
            BackboneOptions sessions = BackboneOptions.builder().optDevice(device).optIntraOpThreads(threads)
                    .optAllowSpinning(allowSpinning).build();
            Engine engine;
            if (headDir == null && head == null) {
                engine = ComposedEngine.open(model, sessions, spec);
            } else if (head != null) {
                engine = TwoPartEngine.open(model, head, null, "the given head", sessions);
            } else {
                HeadFiles.Contents read = HeadFiles.read(headDir);
                engine = TwoPartEngine.open(model, read.weights(), read.info(), headDir.toString(), sessions);
            }
            try {
                return new Predictor(engine, this);
            } catch (RuntimeException e) {
                try {
                    engine.close();
                } catch (ModelException c) {
                    e.addSuppressed(c);
                }
                throw e;
            }
        }

        private static void require(boolean ok, String option, Object value, String allowed) {
            if (!ok) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "predictor option '%s' is %s; allowed: %s", option, value, allowed));
            }
        }
    }
}
