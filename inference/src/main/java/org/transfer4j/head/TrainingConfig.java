package org.transfer4j.head;

import java.util.Locale;

/**
 * Everything that decides how a head is trained, validated once here. Stored verbatim in {@code head.json} so a head
 * says how it was made; plain data (no ND4J) so the files can be read anywhere.
 *
 * @param hidden         hidden layer size H; 0 trains a single softmax layer (multinomial logistic regression)
 * @param epochs         maximum number of passes over the training rows
 * @param batchSize      rows per minibatch
 * @param learningRate   Adam's initial learning rate
 * @param weightDecay    decoupled (AdamW-style) weight decay: each step {@code w -= lr * weightDecay * w}, weights only
 * @param dropout        probability of zeroing a hidden unit during training (inverted dropout); 0 = off
 * @param labelSmoothing target = (1 - s) * one-hot + s / K
 * @param classWeights   per-class loss weights
 * @param schedule       learning-rate schedule over epochs
 * @param patience       stop after this many epochs without a lower validation loss; the best epoch's weights are
 *                       restored
 * @param seed           seeds initialisation, shuffling, dropout and the validation split
 * @param valSplit       fraction of training images held out (stratified, by image) when no validation cache is given
 */
public record TrainingConfig(int hidden, int epochs, int batchSize, double learningRate, double weightDecay,
                             double dropout, double labelSmoothing, ClassWeights classWeights, LrSchedule schedule,
                             int patience, long seed, double valSplit) {
    public static final int DEFAULT_HIDDEN = 512;
    public static final int DEFAULT_EPOCHS = 30;
    public static final int DEFAULT_BATCH = 64;
    public static final double DEFAULT_LR = 1e-3;
    public static final double DEFAULT_WEIGHT_DECAY = 1e-4;
    public static final double DEFAULT_DROPOUT = 0.5;
    public static final int DEFAULT_PATIENCE = 5;
    public static final long DEFAULT_SEED = 42;
    public static final double DEFAULT_VAL_SPLIT = 0.2;

    public TrainingConfig {
        classWeights = classWeights == null ? ClassWeights.NONE : classWeights;
        schedule = schedule == null ? LrSchedule.CONSTANT : schedule;
        require(hidden >= 0 && hidden <= 65536, "hidden", hidden, "0..65536 (0 = single softmax layer)");
        require(epochs >= 1 && epochs <= 100_000, "epochs", epochs, "1..100000");
        require(batchSize >= 1 && batchSize <= 65536, "batch", batchSize, "1..65536");
        require(learningRate > 0 && learningRate <= 10 && Double.isFinite(learningRate), "lr", learningRate,
                "a number in (0, 10]");
        require(weightDecay >= 0 && weightDecay < 1, "weight-decay", weightDecay, "[0, 1)");
        require(dropout >= 0 && dropout < 1, "dropout", dropout, "[0, 1)");
        require(labelSmoothing >= 0 && labelSmoothing < 1, "label-smoothing", labelSmoothing, "[0, 1)");
        require(patience >= 1, "patience", patience, ">= 1");
        require(valSplit >= 0 && valSplit < 1, "val-split", valSplit, "[0, 1) (0 = use a validation cache)");
        require(dropout == 0 || hidden > 0, "dropout", dropout, "0 when hidden is 0 (dropout acts on hidden units)");
    }

    /** The defaults train-head.jar uses. */
    public static TrainingConfig defaults() {
        return new TrainingConfig(DEFAULT_HIDDEN, DEFAULT_EPOCHS, DEFAULT_BATCH, DEFAULT_LR, DEFAULT_WEIGHT_DECAY,
                DEFAULT_DROPOUT, 0.0, ClassWeights.NONE, LrSchedule.CONSTANT, DEFAULT_PATIENCE, DEFAULT_SEED,
                DEFAULT_VAL_SPLIT);
    }

    public TrainingConfig withHidden(int v) {
        return new TrainingConfig(v, epochs, batchSize, learningRate, weightDecay, v == 0 ? 0 : dropout,
                labelSmoothing, classWeights, schedule, patience, seed, valSplit);
    }

    public TrainingConfig withEpochs(int v) {
        return new TrainingConfig(hidden, v, batchSize, learningRate, weightDecay, dropout, labelSmoothing,
                classWeights, schedule, patience, seed, valSplit);
    }

    public TrainingConfig withBatchSize(int v) {
        return new TrainingConfig(hidden, epochs, v, learningRate, weightDecay, dropout, labelSmoothing,
                classWeights, schedule, patience, seed, valSplit);
    }

    public TrainingConfig withLearningRate(double v) {
        return new TrainingConfig(hidden, epochs, batchSize, v, weightDecay, dropout, labelSmoothing, classWeights,
                schedule, patience, seed, valSplit);
    }

    public TrainingConfig withWeightDecay(double v) {
        return new TrainingConfig(hidden, epochs, batchSize, learningRate, v, dropout, labelSmoothing, classWeights,
                schedule, patience, seed, valSplit);
    }

    public TrainingConfig withDropout(double v) {
        return new TrainingConfig(hidden, epochs, batchSize, learningRate, weightDecay, v, labelSmoothing,
                classWeights, schedule, patience, seed, valSplit);
    }

    public TrainingConfig withLabelSmoothing(double v) {
        return new TrainingConfig(hidden, epochs, batchSize, learningRate, weightDecay, dropout, v, classWeights,
                schedule, patience, seed, valSplit);
    }

    public TrainingConfig withClassWeights(ClassWeights v) {
        return new TrainingConfig(hidden, epochs, batchSize, learningRate, weightDecay, dropout, labelSmoothing, v,
                schedule, patience, seed, valSplit);
    }

    public TrainingConfig withSchedule(LrSchedule v) {
        return new TrainingConfig(hidden, epochs, batchSize, learningRate, weightDecay, dropout, labelSmoothing,
                classWeights, v, patience, seed, valSplit);
    }

    public TrainingConfig withPatience(int v) {
        return new TrainingConfig(hidden, epochs, batchSize, learningRate, weightDecay, dropout, labelSmoothing,
                classWeights, schedule, v, seed, valSplit);
    }

    public TrainingConfig withSeed(long v) {
        return new TrainingConfig(hidden, epochs, batchSize, learningRate, weightDecay, dropout, labelSmoothing,
                classWeights, schedule, patience, v, valSplit);
    }

    public TrainingConfig withValSplit(double v) {
        return new TrainingConfig(hidden, epochs, batchSize, learningRate, weightDecay, dropout, labelSmoothing,
                classWeights, schedule, patience, seed, v);
    }

    private static void require(boolean ok, String field, Object value, String allowed) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "training option '%s' is %s; allowed: %s", field, value, allowed));
        }
    }
}
