/**
 * API. What a trained head is, in memory and on disk, readable without the trainer:
 * {@link org.transfer4j.head.HeadWeights} (the weights as plain float arrays), {@link org.transfer4j.head.HeadFiles}
 * (the {@code head.json} + {@code head.bin} folder, read and written), and what a head file records beside its
 * weights ({@link org.transfer4j.head.HeadInfo}, {@link org.transfer4j.head.TrainingConfig},
 * {@link org.transfer4j.head.Provenance}). Plain Java and Gson, so it ships in the inference artifact; training
 * ({@code head.train}, ND4J) and composition ({@code head.compose}) are in the {@code transfer4j-head} artifact.
 */
package org.transfer4j.head;
