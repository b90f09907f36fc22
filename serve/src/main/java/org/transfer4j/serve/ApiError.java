package org.transfer4j.serve;

/**
 * A request that ends with an error status: the status, a message for the caller, and optionally a stable reason
 * word (for 422, the decoder's {@code ImageDecodeException.Reason}). Rendered as {@code {"error", "status",
 * "reason"}}; never carries a stack trace to the client.
 */
final class ApiError extends Exception {
    private static final long serialVersionUID = 1L;

    final int status;
    final String reason;

    ApiError(int status, String message, String reason) {
        super(message, null, false, false);
        this.status = status;
        this.reason = reason;
    }

    ApiError(int status, String message) {
        this(status, message, null);
    }
}
