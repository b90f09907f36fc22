package org.transfer4j.head.train;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import org.transfer4j.ModelException;
import org.transfer4j.Transfer4jException;
import org.transfer4j.backbone.cache.CacheReader;
import org.transfer4j.backbone.cache.FeatureRows;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.head.HeadInfo;
import org.transfer4j.head.Provenance;
import org.transfer4j.head.TrainingConfig;
import org.transfer4j.head.eval.Evaluation;
import org.transfer4j.head.eval.LogisticBaseline;
import org.transfer4j.head.compose.Composer;
import org.transfer4j.head.report.TrainingReport;

/**
 * What {@code train-head.jar} does, as a library call: open the caches, train (resuming from the folder's checkpoint
 * when asked), evaluate with Tribuo, optionally run the logistic baseline, and write the head folder: {@code
 * head.json}, {@code head.bin}, {@code metrics.json}, {@code report.html}, {@code curves.png}, {@code confusion.png},
 * {@code misclassified.csv}. The checkpoint ({@value #CHECKPOINT}) lives in the folder while training runs and is
 * removed once every output is written.
 */
public final class HeadTrainingRun {
    public static final String CHECKPOINT = "checkpoint.bin";

    private final Path trainCache;
    private final Path valCache;
    private final Path out;
    private final TrainingConfig config;
    private final boolean resume;
    private final boolean baseline;
    private final TrainingListener listener;
    private final boolean overwrite;
    private final String command;

    private HeadTrainingRun(Builder b) {
        this.trainCache = b.trainCache;
        this.valCache = b.valCache;
        this.out = b.out;
        this.config = b.config;
        this.resume = b.resume;
        this.baseline = b.baseline;
        this.listener = b.listener;
        this.overwrite = b.overwrite;
        this.command = b.command;
    }

    public static Builder builder(Path trainCache, Path out, TrainingConfig config) {
        return new Builder(trainCache, out, config);
    }

    /** Required: training cache, output folder, configuration; the rest optional. */
    public static final class Builder {
        private final Path trainCache;
        private final Path out;
        private final TrainingConfig config;
        private Path valCache;
        private boolean resume;
        private boolean baseline;
        private TrainingListener listener = s -> { };
        private boolean overwrite;
        private String command;

        private Builder(Path trainCache, Path out, TrainingConfig config) {
            this.trainCache = Objects.requireNonNull(trainCache, "trainCache");
            this.out = Objects.requireNonNull(out, "out");
            this.config = Objects.requireNonNull(config, "config");
        }

        /** Validate on this cache (view 0 of each image) instead of a split of the training cache. */
        public Builder optValCache(Path v) {
            this.valCache = v;
            return this;
        }

        public Builder optResume(boolean r) {
            this.resume = r;
            return this;
        }

        /** Also train Tribuo's logistic regression on the same rows and report it. */
        public Builder optBaseline(boolean b) {
            this.baseline = b;
            return this;
        }

        /**
         * Replace a head already in the output folder (default: refuse it, unless resuming, so a second run cannot
         * silently destroy a trained head).
         */
        public Builder optOverwrite(boolean o) {
            this.overwrite = o;
            return this;
        }

        /** The command line that started this run, shown in report.html (e.g. {@code java -jar train-head.jar ...}). */
        public Builder optCommand(String c) {
            this.command = c;
            return this;
        }

        public Builder optListener(TrainingListener l) {
            this.listener = Objects.requireNonNull(l, "listener");
            return this;
        }

        public HeadTrainingRun build() {
            return new HeadTrainingRun(this);
        }
    }

    /** What a run produced. */
    public record Summary(HeadTrainer.Result result, Evaluation validation, Evaluation training,
                          LogisticBaseline.Result baseline, Path out, String composeNote) {
        Summary withComposeNote(String note) {
            return new Summary(result, validation, training, baseline, out, note);
        }
    }

    /** Name of the composed model train-head writes into the head folder. */
    public static final String MODEL_FILE = "model.onnx";

    public Summary run() throws Transfer4jException, IOException {
        try (CacheReader train = CacheReader.open(trainCache);
             CacheReader val = valCache == null ? null : CacheReader.open(valCache)) {
            for (CacheReader c : val == null ? List.of(train) : List.of(train, val)) {
                if (c.tensorShape() != null && !c.tensorShape().isEmpty()) {
                    throw new TrainingException(TrainingException.Reason.MISMATCH, (c == train ? trainCache
                            : valCache) + " holds feature maps " + c.tensorShape() + " (extract --maps), not pooled "
                            + "features; fine-tune on it with --fine-tune (org.transfer4j.head.finetune.FineTuneRun), or extract "
                            + "without --maps to train a head alone");
                }
            }
            Files.createDirectories(out);
            Summary s = run(train, val);
            return s.withComposeNote(composeIfBackbonePresent(train.header().provenance().backboneFile()));
        }
    }

    /**
     * Writes {@code HEAD/model.onnx} when the backbone file recorded in the training cache is still there with the
     * sha256 the head was trained on; otherwise (missing, or changed: Composer refuses it) says why not and how to
     * compose later.
     */
    private String composeIfBackbonePresent(String backboneFile) throws Transfer4jException, IOException {
        String later = "; compose later with: java -jar model.jar compose --backbone B.onnx --head " + out;
        if (backboneFile == null) {
            return "no model.onnx: the cache does not record its backbone file" + later;
        }
        Path backbone = Path.of(backboneFile);
        if (!Files.isRegularFile(backbone)) {
            return "no model.onnx: the backbone " + backbone + " named in the cache is not there" + later;
        }
        HeadFiles.Contents head = HeadFiles.read(out);
        Path model = out.resolve(MODEL_FILE);
        try {
            // Composer hashes the backbone and refuses one that is not the head's; no second hash here.
            Composer.compose(backbone, head.weights(),
                    Map.of(OnnxMetadata.HEAD, HeadFiles.metadataJson(head.weights(), head.info())), model);
        } catch (ModelException e) {
            // The file was replaced since extraction (another model, or no model at all): not this head's backbone.
            if (e.reason() != ModelException.Reason.INCOMPATIBLE && e.reason() != ModelException.Reason.INVALID_MODEL) {
                throw e;
            }
            return "no model.onnx: " + e.getMessage() + later;
        }
        return "wrote " + model + " (backbone + head in one ONNX model)";
    }

    /** Same as {@link #run()} on rows already open (for tests and embedding). */
    public Summary run(FeatureRows train, FeatureRows val) throws Transfer4jException, IOException {
        if (!overwrite && !resume && Files.exists(out.resolve(HeadFiles.JSON_FILE))) {
            throw new TrainingException(TrainingException.Reason.OUTPUT_EXISTS, out + " already holds a trained head "
                    + "(" + HeadFiles.JSON_FILE + "); pass --overwrite to replace it (optOverwrite), --resume to "
                    + "continue an interrupted run, or another --out");
        }
        Files.createDirectories(out);
        Path checkpoint = out.resolve(CHECKPOINT);
        HeadTrainer trainer = HeadTrainer.builder(config).optCheckpoint(checkpoint).optResume(resume)
                .optListener(listener).build();
        HeadTrainer.Result r = trainer.train(train, val);
        Evaluation valEval = r.validation() == null ? null : Evaluation.of(r.validation());
        Evaluation trainEval = Evaluation.of(r.training());
        LogisticBaseline.Result base = null;
        if (baseline && r.validation() != null) {
            base = LogisticBaseline.run(train, r.trainRows(), val == null ? train : val, r.validation().rows());
        }
        String valSource = val != null ? String.valueOf(valCache)
                : r.validation() == null ? "none (--val-split 0)"
                : "stratified split of " + trainCache + " (" + config.valSplit() + " of each class, by image)";
        String date = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        Provenance provenance = new Provenance(trainCache.toString(), r.trainSha256(),
                valCache == null ? null : valCache.toString(), r.valSha256(), libraries(), date);
        TrainingReport.write(out, new TrainingReport.Input(train.classes(), config, r.history(), r.bestEpoch(),
                r.validation(), valEval, trainEval, base, trainCache.toString(), valSource,
                runInfo(date, train, val == null ? train : val, r.trainRows().length)));
        HeadFiles.write(out, r.weights(), new HeadInfo(config, r.epochsRun(), r.bestEpoch(), provenance));
        Files.deleteIfExists(checkpoint);
        return new Summary(r, valEval, trainEval, base, out, null);
    }

    /** The report's header: backbone and where the validation images are (for thumbnails), from the caches. */
    private TrainingReport.RunInfo runInfo(String date, FeatureRows train, FeatureRows valRows, int trainRows) {
        String backbone = train instanceof CacheReader c ? c.header().provenance().backboneFile() : null;
        java.util.function.Function<String, Path> imageFile = null;
        if (valRows instanceof CacheReader c && c.header().provenance().datasetRoot() != null) {
            Path source = Path.of(c.header().provenance().datasetRoot());
            // Relative paths are relative to the image folder, or to a manifest's folder.
            Path root = "manifest".equals(c.header().provenance().datasetKind()) ? source.getParent() : source;
            imageFile = rel -> root.resolve(rel);
        }
        return new TrainingReport.RunInfo(command, date, backbone, train.spec().modelSha256(), trainRows, imageFile);
    }

    /** Versions of the libraries that decide a head's numbers. */
    public static Map<String, String> libraries() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("transfer4j", mavenVersion("org.transfer4j", "transfer4j-head"));
        m.put("nd4j", mavenVersion("org.nd4j", "nd4j-api"));
        m.put("tribuo", org.tribuo.Tribuo.VERSION);
        m.put("java", System.getProperty("java.version"));
        m.put("os.arch", System.getProperty("os.arch"));
        m.put("blas_threads", Integer.toString(NativeThreads.blasThreads()));
        return m;
    }

    private static String mavenVersion(String group, String artifact) {
        String res = "/META-INF/maven/" + group + "/" + artifact + "/pom.properties";
        try (InputStream in = HeadTrainingRun.class.getResourceAsStream(res)) {
            if (in == null) {
                return "unknown (not run from a jar)";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }
}
