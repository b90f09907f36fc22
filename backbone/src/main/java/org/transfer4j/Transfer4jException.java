package org.transfer4j;

/**
 * The root of transfer4j's small family of checked exceptions. Like {@code OrtException} it carries a reason code so
 * callers can branch on what failed without parsing messages; the message itself says what failed and what to do.
 *
 * <p>The reason is kept here once; each subclass declares its own {@code Reason} enum, takes it in its constructors
 * and narrows {@link #reason()} to that enum, so callers see {@code ModelException.Reason} etc., never a raw enum.
 */
public abstract class Transfer4jException extends Exception {
    private static final long serialVersionUID = 1L;

    private final Enum<?> reason;

    /** For a subclass without reason codes: {@link #reason()} returns null. */
    protected Transfer4jException(String message) {
        this(null, message);
    }

    /** For a subclass without reason codes: {@link #reason()} returns null. */
    protected Transfer4jException(String message, Throwable cause) {
        this(null, message, cause);
    }

    protected Transfer4jException(Enum<?> reason, String message) {
        super(message);
        this.reason = reason;
    }

    protected Transfer4jException(Enum<?> reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /** What went wrong; subclasses override this to return their own {@code Reason} enum. */
    public Enum<?> reason() {
        return reason;
    }
}
