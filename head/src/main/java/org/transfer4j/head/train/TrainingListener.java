package org.transfer4j.head.train;

/** Told about each finished epoch, after its checkpoint is written. */
@FunctionalInterface
public interface TrainingListener {
    void onEpoch(EpochStats stats);
}
