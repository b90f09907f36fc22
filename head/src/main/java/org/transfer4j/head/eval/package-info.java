/**
 * API. How good a head is: accuracy, per-class precision/recall/F1, macro F1 and the confusion matrix, computed by Tribuo's
 * {@code LabelEvaluator} from a head's {@link org.transfer4j.head.eval.Predictions}; and a logistic-regression
 * baseline on the same features ({@link org.transfer4j.head.eval.LogisticBaseline}: standardised, C by
 * cross-validation, fitted by a small deterministic L-BFGS). Plain Java and Tribuo only: nothing here loads ND4J.
 */
package org.transfer4j.head.eval;
