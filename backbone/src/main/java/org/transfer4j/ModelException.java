package org.transfer4j;

/** A model (ONNX file, spec, session, head file) could not be loaded, validated or run. */
public final class ModelException extends Transfer4jException {
    private static final long serialVersionUID = 1L;

    /** What went wrong, so callers can branch without reading the message. */
    public enum Reason {
        /** The file is missing or unreadable. */
        NOT_FOUND,
        /** The file is not an ONNX model, or ORT refused it. */
        INVALID_MODEL,
        /** The model's inputs or outputs do not fit an image backbone, or the spec does not fit the model. */
        INCOMPATIBLE,
        /** A spec or option has an invalid value. */
        INVALID_SPEC,
        /** The requested execution provider (e.g. CUDA) cannot be used here. */
        DEVICE_UNAVAILABLE,
        /** ONNX Runtime failed while running the model. */
        RUNTIME
    }

    public ModelException(Reason reason, String message) {
        super(reason, message);
    }

    public ModelException(Reason reason, String message, Throwable cause) {
        super(reason, message, cause);
    }

    @Override
    public Reason reason() {
        return (Reason) super.reason();
    }
}
