package org.transfer4j.head.train;

import org.transfer4j.Transfer4jException;

/** Training cannot start or continue. The message says what is wrong with which input and what to do. */
public final class TrainingException extends Transfer4jException {
    private static final long serialVersionUID = 1L;

    /** What went wrong, so callers can branch without reading the message. */
    public enum Reason {
        /** The training (or validation) rows are empty. */
        NO_ROWS,
        /** Fewer than two classes have rows: nothing to tell apart. */
        ONE_CLASS,
        /** The validation cache differs from the training cache (classes, feature dimension, backbone or spec). */
        MISMATCH,
        /** The checkpoint cannot be read or belongs to other inputs or options. */
        CHECKPOINT,
        /** The loss became NaN or infinite (learning rate too high, or non-finite features). */
        DIVERGED,
        /** The output folder already holds a head and neither overwriting nor resuming was asked for. */
        OUTPUT_EXISTS
    }

    public TrainingException(Reason reason, String message) {
        super(reason, message);
    }

    public TrainingException(Reason reason, String message, Throwable cause) {
        super(reason, message, cause);
    }

    @Override
    public Reason reason() {
        return (Reason) super.reason();
    }
}
