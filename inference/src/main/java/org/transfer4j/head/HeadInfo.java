package org.transfer4j.head;

/**
 * What {@code head.json} says about a head besides its weights.
 *
 * @param training   how it was trained
 * @param epochsRun  epochs actually run (early stopping may end before {@code training.epochs()})
 * @param bestEpoch  1-based epoch whose weights were kept (lowest validation loss)
 * @param provenance inputs, versions and date
 */
public record HeadInfo(TrainingConfig training, int epochsRun, int bestEpoch, Provenance provenance) {
}
