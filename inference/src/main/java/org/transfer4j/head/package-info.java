/**
 * Features to a trained head and back to predictions: the ND4J head and trainer ({@code train}), evaluation
 * ({@code eval}), head files ({@code HeadWeights}, {@code HeadFiles}), composition into one ONNX model and the
 * {@code Predictor} ({@code inference}, which never loads ND4J).
 */
package org.transfer4j.head;
