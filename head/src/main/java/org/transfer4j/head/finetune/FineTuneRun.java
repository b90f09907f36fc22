package org.transfer4j.head.finetune;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.transfer4j.ModelException;
import org.transfer4j.Transfer4jException;
import org.transfer4j.backbone.cache.CacheReader;
import org.transfer4j.backbone.cache.FeatureRows;
import org.transfer4j.backbone.extract.SpecResolver;
import org.transfer4j.backbone.io.AtomicFiles;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.io.ReproducibleTime;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.head.HeadInfo;
import org.transfer4j.head.HeadWeights;
import org.transfer4j.head.Provenance;
import org.transfer4j.head.TrainingConfig;
import org.transfer4j.head.compose.Composer;
import org.transfer4j.head.eval.Evaluation;
import org.transfer4j.head.eval.Predictions;
import org.transfer4j.head.report.TrainingReport;
import org.transfer4j.head.train.ArrayRows;
import org.transfer4j.head.train.Checkpoint;
import org.transfer4j.head.train.EpochStats;
import org.transfer4j.head.train.Fingerprints;
import org.transfer4j.head.train.HeadNetwork;
import org.transfer4j.head.train.HeadTrainer;
import org.transfer4j.head.train.HeadTrainingRun;
import org.transfer4j.head.train.TrainingException;
import org.transfer4j.head.train.TrainingProgress;

/**
 * What {@code train-head.jar --fine-tune} does, as a library call: Keras' second step on cached stage inputs
 * ({@code extract --maps}).
 *
 * <ol>
 * <li>The stage (the backbone's nodes after the cached tensor, {@link StageNetwork}) is rebuilt from the full
 *     backbone the maps prefix names ({@link OnnxMetadata#MAPS_SOURCE}, sha256 checked).</li>
 * <li>Warm-up: the frozen stage's pooled output of every cached row is the input of the ordinary head trainer
 *     ({@link HeadTrainer}, the run's options, {@code warmupEpochs} epochs, early stopping, its own checkpoint).</li>
 * <li>Fine-tuning: stage and head train together with Adam at {@code fineTuneLr} (BatchNorm is folded into the
 *     convolutions, so it stays frozen, as the Keras guide advises), one view of each training image per epoch (the
 *     views take turns), early stopping on validation loss with the best epoch kept, a checkpoint after every
 *     epoch ({@value HeadTrainingRun#CHECKPOINT}: stage and head parameters, Adam's moments, the best ones).</li>
 * <li>The head folder: head.json/head.bin (whose spec is the tuned backbone's), report, {@code fine-tune.json},
 *     and {@code model.onnx} = backbone with the tuned stage + head, composed by {@link Composer}, with
 *     {@link OnnxMetadata#FINE_TUNE} naming the base backbone's sha256.</li>
 * </ol>
 *
 * <p>Determinism: everything random derives from the seed and the epoch, the checkpoint holds every array that
 * changes, so a resumed run writes the same model.onnx, byte for byte, as one never interrupted (same native thread
 * count, as for the ordinary trainer).
 */
public final class FineTuneRun {
    public static final String WARMUP_CHECKPOINT = "warmup-checkpoint.bin";
    public static final String REPORT_FILE = "fine-tune.json";
    private static final String TUNED_BACKBONE = "tuned-backbone.onnx";
    private static final long STREAM_SHUFFLE = 0x46545348L;
    private static final long STREAM_DROPOUT = 0x46544452L;
    private static final int EVAL_BATCH = 16;

    private final Path trainCache;
    private final Path valCache;
    private final Path out;
    private final TrainingConfig config;
    private final int warmupEpochs;
    private final double fineTuneLr;
    private final int fineTuneBatch;
    private final Path backbone;
    private final boolean resume;
    private final boolean overwrite;
    private final Listener listener;
    private final String command;

    private FineTuneRun(Builder b) {
        this.trainCache = b.trainCache;
        this.valCache = b.valCache;
        this.out = b.out;
        this.config = b.config;
        this.warmupEpochs = b.warmupEpochs;
        this.fineTuneLr = b.fineTuneLr;
        this.fineTuneBatch = b.fineTuneBatch;
        this.backbone = b.backbone;
        this.resume = b.resume;
        this.overwrite = b.overwrite;
        this.listener = b.listener;
        this.command = b.command;
    }

    /**
     * @param config the head's options (hidden, dropout, warm-up learning rate, ...); its epochs and patience bound
     *               the fine-tuning phase, and the warm-up's early stopping uses the same patience
     */
    public static Builder builder(Path trainMaps, Path valMaps, Path out, TrainingConfig config) {
        return new Builder(trainMaps, valMaps, out, config);
    }

    /** Required: the two maps caches, output folder, configuration; the rest optional. */
    public static final class Builder {
        private final Path trainCache;
        private final Path valCache;
        private final Path out;
        private final TrainingConfig config;
        private int warmupEpochs = 10;
        private double fineTuneLr = 1e-5;
        private int fineTuneBatch = 16;
        private Path backbone;
        private boolean resume;
        private boolean overwrite;
        private Listener listener = (tuning, s) -> { };
        private String command;

        private Builder(Path trainCache, Path valCache, Path out, TrainingConfig config) {
            this.trainCache = Objects.requireNonNull(trainCache, "trainCache");
            this.valCache = Objects.requireNonNull(valCache, "valCache");
            this.out = Objects.requireNonNull(out, "out");
            this.config = Objects.requireNonNull(config, "config");
        }

        /** Epochs of head training on the frozen stage first (default 10; 0 = start from a fresh head). */
        public Builder optWarmupEpochs(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("warmup epochs " + n + " invalid; allowed: >= 0");
            }
            this.warmupEpochs = n;
            return this;
        }

        /** Adam's rate for stage and head while fine-tuning (default 1e-5, the Keras guide's). */
        public Builder optFineTuneLr(double lr) {
            if (!(lr > 0 && lr < 1)) {
                throw new IllegalArgumentException("fine-tune lr " + lr + " invalid; allowed: 0 < lr < 1");
            }
            this.fineTuneLr = lr;
            return this;
        }

        /** Minibatch while fine-tuning (default 16). */
        public Builder optFineTuneBatch(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("fine-tune batch " + n + " invalid; allowed: >= 1");
            }
            this.fineTuneBatch = n;
            return this;
        }

        /** The full backbone, when not where the maps prefix says (its sha256 must still be the recorded one). */
        public Builder optBackbone(Path b) {
            this.backbone = b;
            return this;
        }

        public Builder optResume(boolean r) {
            this.resume = r;
            return this;
        }

        public Builder optOverwrite(boolean o) {
            this.overwrite = o;
            return this;
        }

        public Builder optListener(Listener l) {
            this.listener = Objects.requireNonNull(l, "listener");
            return this;
        }

        public Builder optCommand(String c) {
            this.command = c;
            return this;
        }

        public FineTuneRun build() {
            return new FineTuneRun(this);
        }
    }

    /** Told after every epoch of either phase. */
    @FunctionalInterface
    public interface Listener {
        /**
         * @param fineTuning false during the warm-up (head only), true while stage and head train together
         * @param stats      the epoch, numbered across both phases
         */
        void onEpoch(boolean fineTuning, EpochStats stats);
    }

    /** What a run produced; {@code warmupEpochs} of the history are the warm-up's. */
    public record Summary(Evaluation validation, Evaluation training, List<EpochStats> history, int warmupEpochs,
                          int bestEpoch, boolean resumed, Path model, String baseSha256) {
    }

    /** The full backbone and where the stage starts, from the maps prefix's record. */
    record Source(Path file, String sha256, String split) {
    }

    public Summary run() throws Transfer4jException, IOException {
        if (!overwrite && !resume && Files.exists(out.resolve(HeadFiles.JSON_FILE))) {
            throw new TrainingException(TrainingException.Reason.OUTPUT_EXISTS, out + " already holds a trained head "
                    + "(" + HeadFiles.JSON_FILE + "); pass --overwrite to replace it, --resume to continue an "
                    + "interrupted run, or another --out");
        }
        try (CacheReader train = CacheReader.open(trainCache); CacheReader val = CacheReader.open(valCache)) {
            int[] chw = mapsShape(train, trainCache);
            int[] valChw = mapsShape(val, valCache);
            HeadTrainer.checkRows(train, "training");
            HeadTrainer.checkSameKind(train, val);
            if (!Arrays.equals(chw, valChw)) {
                throw new TrainingException(TrainingException.Reason.MISMATCH, "the validation maps have shape "
                        + Arrays.toString(valChw) + ", the training maps " + Arrays.toString(chw) + "; extract both "
                        + "with the same backbone and --split");
            }
            Source source = source(train);
            ModelProto base = OnnxModels.load(source.file());
            OnnxModels.requireEmbeddedData(base, source.file());
            StageNetwork stage = StageNetwork.fromOnnx(base, source.split(), DataType.FLOAT);
            Files.createDirectories(out);
            return run(train, val, chw, source, base, stage);
        }
    }

    private static int[] mapsShape(CacheReader r, Path cache) throws TrainingException {
        List<Integer> shape = r.tensorShape();
        if (shape == null || shape.size() != 3) {
            throw new TrainingException(TrainingException.Reason.MISMATCH, cache + " holds pooled feature vectors; "
                    + "--fine-tune trains on the maps entering the last stage: extract them with "
                    + "java -jar extract.jar --backbone B.onnx --maps --images DIR --out CACHE");
        }
        return new int[] {shape.get(0), shape.get(1), shape.get(2)};
    }

    /** The maps prefix (the cache's backbone file) names the full model; the override may move it, not change it. */
    private Source source(CacheReader train) throws Transfer4jException, IOException {
        String prefixFile = train.header().provenance().backboneFile();
        if (prefixFile == null || !Files.isRegularFile(Path.of(prefixFile))) {
            throw new ModelException(ModelException.Reason.NOT_FOUND, "the maps prefix " + prefixFile + " that "
                    + trainCache + " was extracted with is not there; fine-tuning reads the full backbone's name "
                    + "and split from it: extract the maps again");
        }
        String json = OnnxMetadata.read(Path.of(prefixFile)).get(OnnxMetadata.MAPS_SOURCE);
        if (json == null) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, prefixFile + " does not say which backbone "
                    + "it was cut from (metadata " + OnnxMetadata.MAPS_SOURCE + "; an older extract --maps); "
                    + "extract the maps again");
        }
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        String sha = o.get("sha256").getAsString();
        Path file = backbone != null ? backbone : Path.of(o.get("file").getAsString());
        if (!Files.isRegularFile(file)) {
            throw new ModelException(ModelException.Reason.NOT_FOUND, "the backbone " + file + " the maps were cut "
                    + "from is not there; pass its new place with --backbone");
        }
        String actual = Hashes.sha256(file);
        if (!actual.equals(sha)) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, file + " has sha256 " + actual + ", but the "
                    + "maps were cut from a backbone with sha256 " + sha + "; pass that model with --backbone, or "
                    + "extract the maps again with this one");
        }
        return new Source(file, sha, o.get("split").getAsString());
    }

    /** Row indexes grouped by image (path), each group in view order; groups in first-row order. */
    static int[][] rowsByImage(FeatureRows rows) {
        Map<String, List<Integer>> groups = new LinkedHashMap<>();
        for (int r = 0; r < rows.rowCount(); r++) {
            groups.computeIfAbsent(rows.path(r), p -> new ArrayList<>()).add(r);
        }
        int[][] out = new int[groups.size()][];
        int i = 0;
        for (List<Integer> g : groups.values()) {
            out[i++] = g.stream().sorted((a, b) -> Integer.compare(rows.view(a), rows.view(b)))
                    .mapToInt(Integer::intValue).toArray();
        }
        return out;
    }

    /** The pooled output of the stage for the given rows, as rows a head trains or is evaluated on. */
    static ArrayRows pooledRows(StageNetwork stage, FeatureRows maps, int[] which, int[] chw, BackboneSpec spec) {
        int dim = maps.featureDim();
        int d = stage.featureDim();
        float[] batch = new float[EVAL_BATCH * dim];
        float[] pooled = new float[which.length * d];
        int[] labels = new int[which.length];
        int[] views = new int[which.length];
        List<String> paths = new ArrayList<>(which.length);
        for (int start = 0; start < which.length; start += EVAL_BATCH) {
            int b = Math.min(EVAL_BATCH, which.length - start);
            for (int i = 0; i < b; i++) {
                int row = which[start + i];
                maps.read(row, batch, i * dim);
                labels[start + i] = maps.label(row);
                views[start + i] = maps.view(row);
                paths.add(maps.path(row));
            }
            float[] p = stage.pooled(Arrays.copyOf(batch, b * dim), b, chw);
            System.arraycopy(p, 0, pooled, start * d, b * d);
        }
        return new ArrayRows(maps.classes(), spec, d, pooled, labels, views, paths);
    }

    private Summary run(CacheReader train, CacheReader val, int[] chw, Source source, ModelProto base,
                        StageNetwork stage) throws Transfer4jException, IOException {
        int d = stage.featureDim();
        int h = config.hidden();
        List<String> classes = train.classes();
        int k = classes.size();
        BackboneSpec pooledSpec = pooledSpec(train.spec(), source, base, d);
        int[] trainAll = new int[train.rowCount()];
        Arrays.setAll(trainAll, i -> i);
        int[] valPlain = java.util.stream.IntStream.range(0, val.rowCount()).filter(r -> val.view(r) == 0).toArray();
        if (valPlain.length == 0) {
            throw new TrainingException(TrainingException.Reason.NO_ROWS, "the validation cache has no rows; "
                    + "extract maps for the validation images first");
        }

        // 1. Warm-up: the ordinary trainer on the frozen stage's pooled output.
        List<EpochStats> warmHistory = List.of();
        float[] head0;
        Path warmCheckpoint = out.resolve(WARMUP_CHECKPOINT);
        if (warmupEpochs > 0) {
            ArrayRows warmTrain = pooledRows(stage, train, trainAll, chw, pooledSpec);
            ArrayRows warmVal = pooledRows(stage, val, valPlain, chw, pooledSpec);
            HeadTrainer.Result warm = HeadTrainer.builder(config.withEpochs(warmupEpochs).withValSplit(0))
                    .optCheckpoint(warmCheckpoint).optResume(resume).optListener(st -> listener.onEpoch(false, st))
                    .build().train(warmTrain, warmVal);
            warmHistory = warm.history();
            HeadWeights w = warm.weights();
            head0 = concat(w.w1(), w.b1(), w.w2(), w.b2());
        } else {
            try (HeadNetwork fresh = new HeadNetwork(d, h, k, DataType.FLOAT, new FixedSchedule(fineTuneLr))) {
                fresh.initialize(config.seed());
                head0 = fresh.parameters();
            }
        }

        // 2. Stage + head together.
        int[][] images = rowsByImage(train);
        float[] classWeight = HeadTrainer.builder(config).build().classWeights(train, trainAll);
        String trainSha = Fingerprints.sha256(train);
        String valSha = Fingerprints.sha256(val);
        String fingerprint = Fingerprints.sha256(new Gson().toJson(config) + "|" + trainSha + "|" + valSha + "|"
                + source.sha256() + "|" + source.split() + "|" + warmupEpochs + "|" + fineTuneLr + "|"
                + fineTuneBatch + "|" + Fingerprints.sha256(Arrays.toString(head0)));
        Path checkpoint = out.resolve(HeadTrainingRun.CHECKPOINT);
        int s = (int) stage.parameterCount();
        int hp = (int) HeadNetwork.parameterCount(d, h, k);
        FixedSchedule schedule = new FixedSchedule(fineTuneLr);
        stage.useAdam(schedule);
        TrainingProgress progress;
        Predictions valPred;
        Predictions trainPred;
        float[] bestHead;
        try (HeadNetwork head = new HeadNetwork(d, h, k, DataType.FLOAT, schedule)) {
            head.setParameters(head0);
            progress = new TrainingProgress(fingerprint, concat(stage.parameters(), head0));
            Checkpoint.State st = progress.resume(checkpoint, resume, s + hp,
                    "different caches, backbone or options");
            if (st != null) {
                stage.setParameters(Arrays.copyOfRange(st.params(), 0, s));
                head.setParameters(Arrays.copyOfRange(st.params(), s, s + hp));
                stage.setUpdaterState(Arrays.copyOfRange(st.updater(), 0, 2 * s));
                head.setUpdaterState(Arrays.copyOfRange(st.updater(), 2 * s, 2 * (s + hp)));
            }
            int dim = train.featureDim();
            int batch = fineTuneBatch;
            float[] x = new float[batch * dim];
            float[] t = new float[batch * k];
            float[] w = new float[batch];
            float[] mask = config.dropout() > 0 && h > 0 ? new float[batch * h] : null;
            float[] probs = new float[batch * k];
            float[] dPooled = new float[batch * d];
            int[] labels = new int[batch];
            float smooth = (float) config.labelSmoothing();
            int[] imageIds = new int[images.length];
            Arrays.setAll(imageIds, i -> i);
            for (int epoch = progress.startEpoch(); epoch < config.epochs() && !progress.finished(); epoch++) {
                long t0 = System.nanoTime();
                int[] order = HeadTrainer.shuffled(imageIds, new SplittableRandom(HeadTrainer.mix(config.seed(),
                        epoch, STREAM_SHUFFLE)));
                SplittableRandom dropRandom = new SplittableRandom(HeadTrainer.mix(config.seed(), epoch,
                        STREAM_DROPOUT));
                double lossSum = 0;
                long correct = 0;
                for (int start = 0; start < order.length; start += batch) {
                    int b = Math.min(batch, order.length - start);
                    for (int i = 0; i < b; i++) {
                        int[] views = images[order[start + i]];
                        int row = views[epoch % views.length]; // the views take turns, one per epoch
                        train.read(row, x, i * dim);
                        int label = train.label(row);
                        labels[i] = label;
                        for (int c = 0; c < k; c++) {
                            t[i * k + c] = smooth / k + (c == label ? 1f - smooth : 0f);
                        }
                        w[i] = classWeight[label];
                    }
                    if (mask != null) {
                        HeadNetwork.fillDropoutMask(mask, b * h, config.dropout(), dropRandom);
                    }
                    double[] loss = new double[1];
                    stage.trainStep(b == batch ? x : Arrays.copyOf(x, b * dim), b, chw, pooled -> {
                        loss[0] = head.forwardBackward(pooled, t, w, mask, b, probs, null, true);
                        float[] g = b == batch ? dPooled : new float[b * d];
                        head.inputGradient(g);
                        return g;
                    });
                    if (!Double.isFinite(loss[0])) {
                        throw new TrainingException(TrainingException.Reason.DIVERGED, "the training loss became "
                                + loss[0] + " in fine-tuning epoch " + (epoch + 1) + "; lower --fine-tune-lr (now "
                                + fineTuneLr + ")");
                    }
                    head.update(progress.iteration(), epoch, config.weightDecay());
                    stage.update(progress.iteration(), epoch, config.weightDecay());
                    progress.stepDone();
                    lossSum += loss[0] * b;
                    correct += HeadTrainer.countCorrect(probs, labels, b, k);
                }
                Predictions v = HeadTrainer.evaluate(head, pooledRows(stage, val, valPlain, chw, pooledSpec),
                        allRows(valPlain.length), classes);
                boolean improved = progress.endEpoch(epoch, true, v.loss(),
                        () -> concat(stage.parameters(), head.parameters()), config.patience(), config.epochs());
                EpochStats stats = new EpochStats(warmHistory.size() + epoch + 1, lossSum / order.length,
                        (double) correct / order.length, v.loss(), v.accuracy(), fineTuneLr,
                        (System.nanoTime() - t0) / 1e9, improved);
                progress.record(stats);
                progress.checkpoint(checkpoint, concat(stage.parameters(), head.parameters()),
                        concat(stage.updaterState(), head.updaterState()));
                listener.onEpoch(true, stats);
            }
            float[] best = progress.best();
            bestHead = Arrays.copyOfRange(best, s, s + hp);
            stage.setParameters(Arrays.copyOfRange(best, 0, s));
            head.setParameters(bestHead);
            valPred = HeadTrainer.evaluate(head, pooledRows(stage, val, valPlain, chw, pooledSpec),
                    allRows(valPlain.length), classes);
            int[] trainPlain = java.util.stream.IntStream.range(0, train.rowCount())
                    .filter(r -> train.view(r) == 0).toArray();
            ArrayRows trainRows = pooledRows(stage, train, trainPlain, chw, pooledSpec);
            trainPred = HeadTrainer.evaluate(head, trainRows, allRows(trainPlain.length), classes);
        }
        return finish(train, val, source, base, stage, warmHistory, progress.history(), progress.bestEpoch(),
                progress.resumed(), valPred, trainPred, trainSha, valSha, bestHead);
    }

    /** The full backbone's spec for its pooled output (sidecar or metadata, else the cache's with its output). */
    private static BackboneSpec pooledSpec(BackboneSpec cacheSpec, Source source, ModelProto base, int d)
            throws IOException {
        Path sidecar = SpecResolver.sidecarPath(source.file());
        BackboneSpec spec;
        if (Files.isRegularFile(sidecar)) {
            spec = SpecJson.read(sidecar);
        } else {
            String meta = OnnxModels.metadata(base, OnnxMetadata.SPEC).orElse(null);
            spec = meta != null ? SpecJson.fromJson(meta)
                    : cacheSpec.withOutputName(base.getGraph().getOutput(0).getName());
        }
        return spec.withFeatureDim(d).withModelSha256(source.sha256());
    }

    /** Writes the head folder: tuned backbone + head composed, head files, report, fine-tune record. */
    private Summary finish(CacheReader train, CacheReader val, Source source, ModelProto base, StageNetwork stage,
                           List<EpochStats> warmHistory, List<EpochStats> history, int bestEpoch, boolean resumed,
                           Predictions valPred, Predictions trainPred, String trainSha, String valSha,
                           float[] bestHead) throws Transfer4jException, IOException {
        int d = stage.featureDim();
        int h = config.hidden();
        int k = train.classes().size();
        Path tunedFile = out.resolve(TUNED_BACKBONE);
        OnnxModels.save(stage.tunedBackbone(base), tunedFile);
        String tunedSha = Hashes.sha256(tunedFile);
        BackboneSpec spec = pooledSpec(train.spec(), source, base, d).withModelSha256(tunedSha);
        int o = 0;
        float[] w1 = Arrays.copyOfRange(bestHead, o, o += d * h);
        float[] b1 = Arrays.copyOfRange(bestHead, o, o += h);
        float[] w2 = Arrays.copyOfRange(bestHead, o, o += (h == 0 ? d : h) * k);
        float[] b2 = Arrays.copyOfRange(bestHead, o, o + k);
        HeadWeights weights = new HeadWeights(train.classes(), d, h, w1, b1, w2, b2, spec);
        List<EpochStats> all = new ArrayList<>(warmHistory);
        all.addAll(history);
        int best = warmHistory.size() + bestEpoch;
        String date = ReproducibleTime.now().truncatedTo(ChronoUnit.SECONDS).toString();
        Provenance provenance = new Provenance(trainCache.toString(), trainSha, valCache.toString(), valSha,
                HeadTrainingRun.libraries(), date);
        HeadInfo info = new HeadInfo(config, all.size(), best, provenance);
        JsonObject record = new JsonObject();
        record.addProperty("base_backbone", source.file().toString());
        record.addProperty("base_sha256", source.sha256());
        record.addProperty("tuned_sha256", tunedSha);
        record.addProperty("split", source.split());
        record.addProperty("tuned_parameters", stage.parameterCount());
        record.addProperty("warmup_epochs_run", warmHistory.size());
        record.addProperty("fine_tune_epochs_run", history.size());
        record.addProperty("fine_tune_best_epoch", bestEpoch);
        record.addProperty("fine_tune_lr", fineTuneLr);
        record.addProperty("fine_tune_batch", fineTuneBatch);
        record.addProperty("val_accuracy", valPred.accuracy());
        record.addProperty("val_loss", valPred.loss());
        Path model = out.resolve(HeadTrainingRun.MODEL_FILE);
        Map<String, String> metadata = new LinkedHashMap<>(); // ordered, so that the same run writes the same bytes
        metadata.put(OnnxMetadata.HEAD, HeadFiles.metadataJson(weights, info));
        metadata.put(OnnxMetadata.FINE_TUNE, record.toString());
        Composer.compose(tunedFile, weights, metadata, model);
        Files.delete(tunedFile);
        Evaluation valEval = Evaluation.of(valPred);
        Evaluation trainEval = Evaluation.of(trainPred);
        TrainingReport.write(out, new TrainingReport.Input(train.classes(), config, all, best, valPred, valEval,
                trainEval, null, trainCache.toString(), valCache.toString(), new TrainingReport.RunInfo(command, date,
                source.file().toString(), tunedSha, train.rowCount(), imageFile(val))));
        HeadFiles.write(out, weights, info);
        AtomicFiles.writeString(out.resolve(REPORT_FILE), record + "\n");
        Files.deleteIfExists(out.resolve(HeadTrainingRun.CHECKPOINT));
        Files.deleteIfExists(out.resolve(WARMUP_CHECKPOINT));
        return new Summary(valEval, trainEval, all, warmHistory.size(), best, resumed, model, source.sha256());
    }

    /** Where a validation row's image is, for the report's thumbnails (null when the cache does not say). */
    private static java.util.function.Function<String, Path> imageFile(CacheReader val) {
        String root = val.header().provenance().datasetRoot();
        if (root == null) {
            return null;
        }
        Path source = Path.of(root);
        // Relative paths are relative to the image folder, or to a manifest's folder.
        Path dir = "manifest".equals(val.header().provenance().datasetKind()) ? source.getParent() : source;
        return rel -> dir.resolve(rel);
    }

    private static int[] allRows(int n) {
        int[] a = new int[n];
        Arrays.setAll(a, i -> i);
        return a;
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) {
            n += p.length;
        }
        float[] out = new float[n];
        int o = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
