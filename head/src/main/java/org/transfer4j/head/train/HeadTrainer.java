package org.transfer4j.head.train;

import com.google.gson.Gson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.transfer4j.backbone.cache.FeatureRows;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.head.ClassWeights;
import org.transfer4j.head.HeadWeights;
import org.transfer4j.head.TrainingConfig;
import org.transfer4j.head.eval.Predictions;

/**
 * Trains a head on cached features: seeded shuffling, minibatches streamed from {@link FeatureRows} (a memory-mapped
 * cache may be far larger than the heap), validation after every epoch, early stopping on validation loss with the
 * best epoch's weights restored, and an optional checkpoint per epoch to resume from.
 *
 * <p><b>Determinism.</b> Every random choice (initialisation, shuffling, dropout masks, the validation split) comes
 * from Java generators seeded by the configured seed and the epoch number, never from ND4J's global RNG, so the same
 * inputs and seed give the same weights. Bit-identical results also need the same native thread count, because
 * OpenBLAS and libnd4j split sums across threads: set {@code OMP_NUM_THREADS} (and keep the machine/CPU the same) to
 * get byte-identical {@code head.bin} files across processes. train-head.jar uses one thread unless
 * {@code OMP_NUM_THREADS} is set; library users choose with {@link NativeThreads#set(int)} (on a machine shared with
 * other work, more native threads than free cores made an epoch 5–10× slower in our measurements).
 *
 * <p>Training uses all rows of the training images (every augmented view); validation uses one row per image (view
 * 0) so each validation image counts once.
 */
public final class HeadTrainer {
    private static final int EVAL_BATCH = 256;
    private static final long STREAM_SHUFFLE = 0x5348554646L;
    private static final long STREAM_DROPOUT = 0x44524f50L;

    private final TrainingConfig config;
    private final TrainingListener listener;
    private final Path checkpoint;
    private final boolean resume;
    private final DataType dtype;

    private HeadTrainer(Builder b) {
        this.config = b.config;
        this.listener = b.listener;
        this.checkpoint = b.checkpoint;
        this.resume = b.resume;
        this.dtype = b.dtype;
    }

    public static Builder builder(TrainingConfig config) {
        return new Builder(config);
    }

    /** Options besides the training configuration. */
    public static final class Builder {
        private final TrainingConfig config;
        private TrainingListener listener = s -> { };
        private Path checkpoint;
        private boolean resume;
        private DataType dtype = DataType.FLOAT;

        private Builder(TrainingConfig config) {
            this.config = Objects.requireNonNull(config, "config");
        }

        public Builder optListener(TrainingListener l) {
            this.listener = Objects.requireNonNull(l, "listener");
            return this;
        }

        /** Write the trainer's state to {@code file} after every epoch (atomically). */
        public Builder optCheckpoint(Path file) {
            this.checkpoint = file;
            return this;
        }

        /** Continue from the checkpoint file when it exists (it must belong to the same inputs and options). */
        public Builder optResume(boolean r) {
            this.resume = r;
            return this;
        }

        /** FLOAT (default) or DOUBLE. */
        public Builder optDataType(DataType t) {
            if (t != DataType.FLOAT && t != DataType.DOUBLE) {
                throw new IllegalArgumentException("data type " + t + " unsupported; allowed: FLOAT, DOUBLE");
            }
            this.dtype = t;
            return this;
        }

        public HeadTrainer build() {
            if (resume && checkpoint == null) {
                throw new IllegalArgumentException("resume needs a checkpoint file (optCheckpoint)");
            }
            return new HeadTrainer(this);
        }
    }

    /**
     * The outcome of {@link #train}.
     *
     * @param weights    the best epoch's weights
     * @param validation predictions of the best weights on the validation rows, or null without validation
     * @param training   predictions of the best weights on the training images (view 0)
     * @param trainRows  the rows trained on (every view of the training images)
     * @param resumed    true when the run continued from a checkpoint
     */
    public record Result(HeadWeights weights, int epochsRun, int bestEpoch, List<EpochStats> history,
                         Predictions validation, Predictions training, int[] trainRows, String trainSha256,
                         String valSha256, boolean resumed) {
    }

    /**
     * Trains on {@code train}; validates on {@code val} (view 0 of each image) or, when it is null, on a stratified
     * split of {@code train} by image ({@link TrainingConfig#valSplit()}; 0 = no validation, no early stopping).
     */
    public Result train(FeatureRows train, FeatureRows val) throws TrainingException, IOException {
        checkRows(train, "training");
        int[] trainRows;
        int[] valRows;
        FeatureRows valSource;
        if (val != null) {
            checkSameKind(train, val);
            trainRows = ValidationSplit.all(train);
            valRows = ValidationSplit.plainViews(val);
            valSource = val;
            if (valRows.length == 0) {
                throw new TrainingException(TrainingException.Reason.NO_ROWS, "the validation cache has no rows; "
                        + "extract features for the validation images first");
            }
        } else {
            ValidationSplit.Split split = ValidationSplit.stratified(train, config.valSplit(), config.seed());
            trainRows = split.train();
            valRows = split.val();
            valSource = train;
        }
        int d = train.featureDim();
        int k = train.classes().size();
        int h = config.hidden();
        float[] classWeight = classWeights(train, trainRows);
        String trainSha = Fingerprints.sha256(train);
        String valSha = val == null ? null : Fingerprints.sha256(val);
        String fingerprint = Fingerprints.sha256(new Gson().toJson(config) + "|" + trainSha + "|" + valSha + "|"
                + dtype);

        try (HeadNetwork net = new HeadNetwork(d, h, k, dtype, Schedules.of(config))) {
            net.initialize(config.seed());
            TrainingProgress progress = new TrainingProgress(fingerprint, null);
            Checkpoint.State saved = progress.resume(checkpoint, resume, (int) HeadNetwork.parameterCount(d, h, k),
                    "different caches or training options");
            if (saved != null) {
                net.setParameters(saved.params());
                net.setUpdaterState(saved.updater());
            }

            int batch = config.batchSize();
            float[] x = new float[batch * d];
            float[] t = new float[batch * k];
            float[] w = new float[batch];
            float[] mask = config.dropout() > 0 ? new float[batch * h] : null;
            float[] probs = new float[batch * k];
            int[] labels = new int[batch];
            float smooth = (float) config.labelSmoothing();

            for (int epoch = progress.startEpoch(); epoch < config.epochs() && !progress.finished(); epoch++) {
                long t0 = System.nanoTime();
                int[] order = shuffled(trainRows, new SplittableRandom(mix(config.seed(), epoch, STREAM_SHUFFLE)));
                SplittableRandom dropRandom = new SplittableRandom(mix(config.seed(), epoch, STREAM_DROPOUT));
                double lossSum = 0;
                long correct = 0;
                double lr = net.learningRate(progress.iteration(), epoch);
                for (int start = 0; start < order.length; start += batch) {
                    int b = Math.min(batch, order.length - start);
                    for (int i = 0; i < b; i++) {
                        int row = order[start + i];
                        train.read(row, x, i * d);
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
                    double loss = net.forwardBackward(x, t, w, mask, b, probs, null, true);
                    if (!Double.isFinite(loss)) {
                        throw new TrainingException(TrainingException.Reason.DIVERGED, "the training loss became "
                                + loss + " in epoch " + (epoch + 1) + "; lower --lr (now " + config.learningRate()
                                + ") or check the cache for non-finite features");
                    }
                    net.update(progress.iteration(), epoch, config.weightDecay());
                    progress.stepDone();
                    lossSum += loss * b;
                    correct += countCorrect(probs, labels, b, k);
                }
                Predictions v = valRows.length == 0 ? null : evaluate(net, valSource, valRows, train.classes());
                double valLoss = v == null ? Double.NaN : v.loss();
                boolean improved = progress.endEpoch(epoch, v != null, valLoss, net::parameters, config.patience(),
                        config.epochs());
                EpochStats stats = new EpochStats(epoch + 1, lossSum / order.length,
                        (double) correct / order.length, valLoss, v == null ? Double.NaN : v.accuracy(), lr,
                        (System.nanoTime() - t0) / 1e9, improved);
                progress.record(stats);
                if (checkpoint != null) {
                    progress.checkpoint(checkpoint, net.parameters(), net.updaterState());
                }
                listener.onEpoch(stats);
            }

            float[] best = progress.best();
            net.setParameters(best);
            Predictions valPred = valRows.length == 0 ? null : evaluate(net, valSource, valRows, train.classes());
            int[] trainPlain = plainOnly(train, trainRows);
            Predictions trainPred = evaluate(net, train, trainPlain, train.classes());
            HeadWeights weights = toWeights(best, d, h, train.classes(), train.spec());
            List<EpochStats> history = progress.history();
            return new Result(weights, history.size(), progress.bestEpoch(), history, valPred, trainPred,
                    trainRows, trainSha, valSha, progress.resumed());
        }
    }

    /** Forward pass only, in batches, without dropout: probabilities and plain cross-entropy. */
    public static Predictions evaluate(HeadNetwork net, FeatureRows rows, int[] which, List<String> classes) {
        int d = net.featureDim();
        int k = net.classes();
        float[] x = new float[EVAL_BATCH * d];
        float[] t = new float[EVAL_BATCH * k];
        float[] w = new float[EVAL_BATCH];
        Arrays.fill(w, 1f);
        double[] ce = new double[EVAL_BATCH];
        float[] probs = new float[which.length * k];
        float[] batchProbs = new float[EVAL_BATCH * k];
        int[] labels = new int[which.length];
        List<String> paths = new ArrayList<>(which.length);
        double lossSum = 0;
        for (int start = 0; start < which.length; start += EVAL_BATCH) {
            int b = Math.min(EVAL_BATCH, which.length - start);
            Arrays.fill(t, 0f);
            for (int i = 0; i < b; i++) {
                int row = which[start + i];
                rows.read(row, x, i * d);
                labels[start + i] = rows.label(row);
                paths.add(rows.path(row));
                t[i * k + labels[start + i]] = 1f;
            }
            net.forwardBackward(x, t, w, null, b, batchProbs, ce, false);
            System.arraycopy(batchProbs, 0, probs, start * k, b * k);
            for (int i = 0; i < b; i++) {
                lossSum += ce[i];
            }
        }
        return new Predictions(classes, which.clone(), paths, labels, probs,
                which.length == 0 ? Double.NaN : lossSum / which.length);
    }

    private static int[] plainOnly(FeatureRows rows, int[] which) {
        return Arrays.stream(which).filter(r -> rows.view(r) == 0).toArray();
    }

    public static int countCorrect(float[] probs, int[] labels, int b, int k) {
        int correct = 0;
        for (int i = 0; i < b; i++) {
            int best = 0;
            for (int c = 1; c < k; c++) {
                if (probs[i * k + c] > probs[i * k + best]) {
                    best = c;
                }
            }
            if (best == labels[i]) {
                correct++;
            }
        }
        return correct;
    }

    /** Per-class loss weights: all 1, or n / (K · n_c) over the training rows. */
    public float[] classWeights(FeatureRows rows, int[] which) {
        int k = rows.classes().size();
        float[] weights = new float[k];
        Arrays.fill(weights, 1f);
        if (config.classWeights() == ClassWeights.BALANCED) {
            long[] count = new long[k];
            for (int r : which) {
                count[rows.label(r)]++;
            }
            for (int c = 0; c < k; c++) {
                weights[c] = count[c] == 0 ? 0f : (float) ((double) which.length / (k * (double) count[c]));
            }
        }
        return weights;
    }

    public static int[] shuffled(int[] rows, SplittableRandom random) {
        int[] a = rows.clone();
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
        }
        return a;
    }

    /** SplitMix64-style mixing so (seed, epoch, stream) triples give unrelated generator seeds. */
    public static long mix(long seed, long epoch, long stream) {
        long z = seed * 0x9E3779B97F4A7C15L + epoch * 0xBF58476D1CE4E5B9L + stream * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static HeadWeights toWeights(float[] p, int d, int h, List<String> classes, BackboneSpec spec) {
        int k = classes.size();
        int in2 = h == 0 ? d : h;
        int o = 0;
        float[] w1 = Arrays.copyOfRange(p, o, o += d * h);
        float[] b1 = Arrays.copyOfRange(p, o, o += h);
        float[] w2 = Arrays.copyOfRange(p, o, o += in2 * k);
        float[] b2 = Arrays.copyOfRange(p, o, o + k);
        return new HeadWeights(classes, d, h, w1, b1, w2, b2, spec);
    }

    public static void checkRows(FeatureRows rows, String what) throws TrainingException {
        if (rows.rowCount() == 0) {
            throw new TrainingException(TrainingException.Reason.NO_ROWS, "the " + what + " cache has no rows; "
                    + "extract features from a folder with one sub-folder of images per class");
        }
        if (rows.classes().size() < 2) {
            throw new TrainingException(TrainingException.Reason.ONE_CLASS, "the " + what + " cache has "
                    + rows.classes().size() + " class " + rows.classes() + "; a classifier needs at least two classes "
                    + "(one sub-folder of images per class)");
        }
        boolean[] seen = new boolean[rows.classes().size()];
        int distinct = 0;
        for (int r = 0; r < rows.rowCount() && distinct < 2; r++) {
            if (!seen[rows.label(r)]) {
                seen[rows.label(r)] = true;
                distinct++;
            }
        }
        if (distinct < 2) {
            throw new TrainingException(TrainingException.Reason.ONE_CLASS, "the " + what + " cache has rows of one "
                    + "class only; add images of at least one more class");
        }
    }

    public static void checkSameKind(FeatureRows train, FeatureRows val) throws TrainingException {
        if (!train.classes().equals(val.classes())) {
            throw new TrainingException(TrainingException.Reason.MISMATCH, "the validation cache's classes "
                    + val.classes() + " differ from the training cache's " + train.classes()
                    + "; extract both from folders with the same class sub-folders");
        }
        String ts = train.spec().modelSha256();
        String vs = val.spec().modelSha256();
        if (!Objects.equals(ts, vs) || train.featureDim() != val.featureDim()) {
            throw new TrainingException(TrainingException.Reason.MISMATCH, "the validation cache was made with "
                    + "another backbone (sha256 " + vs + ", dim " + val.featureDim() + ") than the training cache "
                    + "(sha256 " + ts + ", dim " + train.featureDim() + "); extract both with the same backbone");
        }
        if (!train.spec().samePreprocessing(val.spec())) {
            throw new TrainingException(TrainingException.Reason.MISMATCH, "the validation cache was made with "
                    + "other preprocessing than the training cache (" + specDifference(val.spec(), train.spec())
                    + "); extract both with the same spec");
        }
    }

    /** "field: valValue vs trainValue, ..." for the spec fields that differ. */
    private static String specDifference(BackboneSpec val, BackboneSpec train) {
        var v = org.transfer4j.backbone.spec.SpecJson.toTree(val).getAsJsonObject();
        var t = org.transfer4j.backbone.spec.SpecJson.toTree(train).getAsJsonObject();
        List<String> diffs = new ArrayList<>();
        for (String key : t.keySet()) {
            if (!Objects.equals(v.get(key), t.get(key))) {
                diffs.add(key + ": " + v.get(key) + " (validation) vs " + t.get(key) + " (training)");
            }
        }
        return String.join(", ", diffs);
    }
}
