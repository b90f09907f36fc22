package org.transfer4j.backbone.cache;

import org.transfer4j.Transfer4jException;

/** A feature cache cannot be opened, resumed or written. The message names the folder, what is wrong and what to do. */
public final class CacheException extends Transfer4jException {
    private static final long serialVersionUID = 1L;

    /** What went wrong, so callers can branch without reading the message. */
    public enum Reason {
        /** The folder is missing, or holds other files and no cache. */
        NOT_A_CACHE,
        /** Written by a format version this code does not know. */
        UNSUPPORTED_VERSION,
        /** Made with another backbone (sha256), spec or dtype than the one asked for. */
        MISMATCH,
        /** Committed data is missing or unreadable (a file was edited or removed by hand). */
        CORRUPT,
        /** The folder cannot be written (permissions, read-only file system, a file in the way). */
        NOT_WRITABLE,
        /** Writing failed (e.g. the disk is full); the committed rows are kept. */
        WRITE_FAILED,
        /** Another process is writing the cache. */
        LOCKED
    }

    public CacheException(Reason reason, String message) {
        super(reason, message);
    }

    public CacheException(Reason reason, String message, Throwable cause) {
        super(reason, message, cause);
    }

    @Override
    public Reason reason() {
        return (Reason) super.reason();
    }
}
