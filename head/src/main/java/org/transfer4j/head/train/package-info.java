/**
 * API: {@code HeadTrainer} and {@code HeadTrainingRun}; the rest is internal. Training a head on cached features with
 * ND4J: {@link org.transfer4j.head.train.HeadNetwork} (Dense+ReLU+softmax; its products go straight to OpenBLAS
 * through {@link org.transfer4j.head.train.NativeMatrix}), {@link org.transfer4j.head.train.FusedAdamW} (ND4J's Adam
 * arithmetic with decoupled weight decay, as one vectorised Java pass),
 * {@link org.transfer4j.head.train.HeadTrainer} (minibatches, validation, early stopping, checkpoints),
 * {@link org.transfer4j.head.train.HeadTrainingRun} (caches → a head folder with reports: what train-head.jar runs),
 * {@link org.transfer4j.head.train.Nd4jBinaries} (which nd4j-native build and OpenBLAS kernels to load) and
 * {@link org.transfer4j.head.train.NativeThreads}. The only package of the head module that loads ND4J.
 */
package org.transfer4j.head.train;
