package org.transfer4j.backbone.extract;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.cache.CacheException;
import org.transfer4j.backbone.cache.CacheWriter;
import org.transfer4j.backbone.cache.Dtype;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.ImageDecoder;

/**
 * A labelled image set into a feature cache in one call: open (or resume) the cache, plan what is missing or changed,
 * run the backbone over it, commit. What extract.jar does, as a library call:
 *
 * <pre>{@code
 * Extraction.Result r = Extraction.builder(Path.of("resnet50-notop.onnx"), Dataset.fromFolder(train),
 *         Path.of("cache/train")).optAugment(4).run();
 * }</pre>
 *
 * Rerunning resumes: unchanged images are skipped, changed ones re-extracted, deleted ones dropped (see
 * {@link CacheWriter}). Undecodable images are recorded in the cache's errors.jsonl and the run goes on.
 */
public final class Extraction {
    private Extraction() {
    }

    /** Extraction with a backbone file, opened with default {@link BackboneOptions} (or {@link Builder#optBackboneOptions}). */
    public static Builder builder(Path backboneFile, Dataset dataset, Path cacheDir) {
        return new Builder(Objects.requireNonNull(backboneFile, "backboneFile"), null, dataset, cacheDir);
    }

    /** Extraction with an open backbone (left open: it is the caller's). */
    public static Builder builder(Backbone backbone, Dataset dataset, Path cacheDir) {
        return new Builder(null, Objects.requireNonNull(backbone, "backbone"), dataset, cacheDir);
    }

    /** Hears what a run does, e.g. to draw progress. Called on the running thread. */
    public interface Listener {
        /** The plan is known and committed; called once, before the first task runs. */
        default void planned(CacheWriter.Plan plan, Backbone backbone) {
        }

        /** One task is done: its row was handed to the cache ({@code failure} null) or its failure recorded. */
        default void done(ImageTask task, ImageDecodeException failure) {
        }
    }

    /**
     * What a run did.
     *
     * @param plan  what the cache update found (new, changed, unchanged, removed images; the tasks)
     * @param cache the cache's counts after the run (extracted, failed with reasons, rows)
     * @param stats the extractor's timings; null when there was nothing to extract
     */
    public record Result(CacheWriter.Plan plan, CacheWriter.Result cache, FeatureExtractor.RunStats stats) {
    }

    /** Required: backbone, dataset, cache folder. Options are validated in {@link #run()}. */
    public static final class Builder {
        private final Path backboneFile;
        private final Backbone backbone;
        private final Dataset dataset;
        private final Path cacheDir;
        private int[] tensorShape = {};
        private BackboneOptions backboneOptions;
        private int batchSize = 32;
        private int augment;
        private long seed = 42;
        private Dtype dtype = Dtype.F32;
        private boolean overwrite;
        private ImageDecoder decoder;
        private Integer lanes;
        private Listener listener = new Listener() {
        };

        private Builder(Path backboneFile, Backbone backbone, Dataset dataset, Path cacheDir) {
            this.backboneFile = backboneFile;
            this.backbone = backbone;
            this.dataset = Objects.requireNonNull(dataset, "dataset");
            this.cacheDir = Objects.requireNonNull(cacheDir, "cacheDir");
        }

        /**
         * How a backbone given as a file is opened (device, threads, spec file); ignored for an open backbone. The
         * default opens it with one intra-op thread, run in one lane per core (see {@link #optLanes}).
         */
        public Builder optBackboneOptions(BackboneOptions o) {
            this.backboneOptions = Objects.requireNonNull(o, "backboneOptions");
            return this;
        }

        /** Images per inference batch, 1..1024 (default 32); also the cache's commit interval in rows. */
        public Builder optBatchSize(int n) {
            this.batchSize = n;
            return this;
        }

        /** Extra augmented views per image, 0..1000 (default 0). */
        public Builder optAugment(int k) {
            this.augment = k;
            return this;
        }

        /** Seed of the augmented views (default 42, as in train-head). */
        public Builder optSeed(long s) {
            this.seed = s;
            return this;
        }

        /** Stored value type (default f32). */
        public Builder optDtype(Dtype d) {
            this.dtype = Objects.requireNonNull(d, "dtype");
            return this;
        }

        /** Discard an existing cache in the folder (e.g. of another backbone) instead of refusing it. */
        public Builder optOverwrite(boolean o) {
            this.overwrite = o;
            return this;
        }

        /**
         * The shape (C,H,W) of each cached row when the backbone outputs feature maps (extract --maps) rather than
         * pooled vectors; empty (the default) for vectors. Recorded in the cache header.
         */
        public Builder optTensorShape(int... chw) {
            this.tensorShape = chw.clone();
            return this;
        }

        public Builder optDecoder(ImageDecoder d) {
            this.decoder = Objects.requireNonNull(d, "decoder");
            return this;
        }

        /**
         * Batches decoded and run at once, each on its own thread ({@link FeatureExtractor.Builder#optLanes}); 0 = one
         * batch at a time, the next decoded meanwhile. Default: {@link FeatureExtractor#lanesFor} the backbone (one
         * lane per core for a one-thread CPU session, 0 for a session using every core).
         */
        public Builder optLanes(int n) {
            this.lanes = n;
            return this;
        }

        public Builder optListener(Listener l) {
            this.listener = Objects.requireNonNull(l, "listener");
            return this;
        }

        /**
         * Runs the extraction and commits the cache.
         *
         * @throws ModelException when the backbone cannot be loaded or fails
         * @throws CacheException when the cache folder holds another backbone's cache, is locked or not writable
         * @throws IOException    when writing the cache fails (the rows committed before are kept)
         */
        public Result run() throws ModelException, CacheException, IOException {
            // Options are checked where they are used (FeatureExtractor, CacheWriter), with their messages.
            if (backbone != null) {
                return run(backbone);
            }
            try (Backbone model = Backbone.load(backboneFile,
                    backboneOptions != null ? backboneOptions : BackboneOptions.builder().optIntraOpThreads(1).build())) {
                return run(model);
            }
        }

        private Result run(Backbone model) throws ModelException, CacheException, IOException {
            try (CacheWriter writer = CacheWriter.builder(cacheDir, model.spec()).optDtype(dtype)
                    .optOverwrite(overwrite).optCommitEveryRows(batchSize).optBackboneFile(model.modelPath())
                    .optTensorShape(tensorShape).open()) {
                CacheWriter.Plan plan = writer.update(dataset, augment, seed);
                listener.planned(plan, model);
                FeatureExtractor.RunStats stats = null;
                if (!plan.tasks().isEmpty()) {
                    try (FeatureExtractor extractor = FeatureExtractor.builder(model).optBatchSize(batchSize)
                            .optLanes(lanes != null ? lanes : FeatureExtractor.lanesFor(model))
                            .optDecoder(decoder != null ? decoder : ImageDecoder.builder().build()).build()) {
                        stats = extractor.run(plan.tasks(), new ListeningSink(writer, listener));
                    }
                }
                return new Result(plan, writer.finish(), stats);
            }
        }
    }

    /** The cache writer, then the listener. */
    private record ListeningSink(CacheWriter writer, Listener listener) implements FeatureSink {
        @Override
        public void accept(ImageTask task, float[] features) throws IOException {
            writer.accept(task, features);
            listener.done(task, null);
        }

        @Override
        public void accept(ImageTask task, float[] features, List<String> warnings) throws IOException {
            writer.accept(task, features, warnings);
            listener.done(task, null);
        }

        @Override
        public void failed(ImageTask task, ImageDecodeException error) throws IOException {
            writer.failed(task, error);
            listener.done(task, error);
        }
    }
}
