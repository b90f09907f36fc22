package org.transfer4j.head.train;

/**
 * One epoch of training, as printed and as stored in {@code metrics.json}'s history.
 *
 * @param epoch         1-based
 * @param trainLoss     mean training loss over the epoch's minibatches (with dropout, smoothing and class weights)
 * @param trainAccuracy accuracy on the epoch's minibatches as they were trained (with dropout)
 * @param valLoss       validation cross-entropy after the epoch, NaN without validation rows
 * @param valAccuracy   validation accuracy after the epoch, NaN without validation rows
 * @param learningRate  the rate Adam used in this epoch
 * @param seconds       wall time of the epoch (training and validation)
 * @param improved      true when this epoch set a new lowest validation loss (its weights are kept)
 */
public record EpochStats(int epoch, double trainLoss, double trainAccuracy, double valLoss, double valAccuracy,
                         double learningRate, double seconds, boolean improved) {
}
