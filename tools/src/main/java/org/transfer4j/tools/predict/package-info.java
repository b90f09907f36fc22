/**
 * Internal. predict.jar's pieces that are not flags: expanding paths into image files, printing predictions (text or
 * JSON lines) and the {@code --evaluate} report. The classifying itself is {@link org.transfer4j.inference.Predictor}.
 */
package org.transfer4j.tools.predict;
