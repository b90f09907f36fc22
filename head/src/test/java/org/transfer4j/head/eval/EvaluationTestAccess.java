package org.transfer4j.head.eval;

/** Lets tests in other packages reuse {@link EvaluationTest}'s sample. */
public final class EvaluationTestAccess {
    private EvaluationTestAccess() {
    }

    public static Predictions sample() {
        return EvaluationTest.sample();
    }
}
