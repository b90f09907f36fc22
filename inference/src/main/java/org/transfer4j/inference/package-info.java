/**
 * Inference: {@link org.transfer4j.head.compose.Composer} splices a backbone and a head into one ONNX model with its
 * spec and class names in the metadata; {@link org.transfer4j.inference.Predictor} answers
 * {@code predict(...)} from a composed model or from a backbone plus a head folder, without ND4J.
 */
package org.transfer4j.inference;
