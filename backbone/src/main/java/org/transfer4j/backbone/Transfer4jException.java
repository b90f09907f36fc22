package org.transfer4j.backbone;

/**
 * The root of transfer4j's small family of checked exceptions. Like {@code OrtException} it carries a reason code so
 * callers can branch on what failed without parsing messages; the message itself says what failed and what to do.
 */
public abstract class Transfer4jException extends Exception {
    private static final long serialVersionUID = 1L;

    protected Transfer4jException(String message) {
        super(message);
    }

    protected Transfer4jException(String message, Throwable cause) {
        super(message, cause);
    }
}
