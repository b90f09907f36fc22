package org.transfer4j.backbone.catalog;

import org.transfer4j.Transfer4jException;

/** A model download failed; the message names the URL, what went wrong and what to do. */
public final class DownloadException extends Transfer4jException {
    private static final long serialVersionUID = 1L;

    /** What went wrong, so callers can branch (e.g. try a mirror) without reading the message. */
    public enum Reason {
        /** The connection failed or broke off; a partial file is kept so the next run resumes. */
        NETWORK,
        /** The server answered with an HTTP status that is not a success (404, 500, ...). */
        HTTP_STATUS,
        /** The file has another size than the descriptor says; the file was deleted. */
        SIZE_MISMATCH,
        /** The file's sha256 differs from the descriptor's; the file was deleted. */
        CHECKSUM_MISMATCH,
        /** The descriptor has no URL to download from (e.g. a model users export themselves). */
        NO_SOURCE,
        /** A program the source needs (npm for npm packages) is not installed. */
        TOOL_MISSING
    }

    public DownloadException(Reason reason, String message) {
        super(reason, message);
    }

    public DownloadException(Reason reason, String message, Throwable cause) {
        super(reason, message, cause);
    }

    @Override
    public Reason reason() {
        return (Reason) super.reason();
    }
}
