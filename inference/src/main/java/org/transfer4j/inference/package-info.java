/**
 * API. Predictions from a trained model: {@link org.transfer4j.inference.Predictor} answers {@code predict(...)} from
 * a composed model (one ONNX file carrying its spec and class names) or from a backbone plus a head folder, and
 * {@link org.transfer4j.inference.Predictor#info()} says what was loaded ({@link org.transfer4j.inference.ModelInfo});
 * each answer is a {@link org.transfer4j.inference.Prediction}. {@link org.transfer4j.inference.JavaHead} runs a head
 * in plain Java floats. The engines behind the Predictor are package-private.
 *
 * <p>This artifact never loads ND4J, Tribuo's trainers or JFreeChart; its build fails if any of them enters its
 * dependency tree (maven-enforcer-plugin).
 */
package org.transfer4j.inference;
