package org.transfer4j.backbone.image;

import org.transfer4j.Transfer4jException;

/** An image file could not be turned into RGB pixels. The message names the file, the reason and what to do. */
public final class ImageDecodeException extends Transfer4jException {
    private static final long serialVersionUID = 1L;

    /** Why decoding failed; stored in errors.jsonl as a stable word. */
    public enum Reason {
        /** The file could not be read (missing, permissions, I/O error). */
        UNREADABLE,
        /** No decoder recognises the format (or it is not an image). */
        UNSUPPORTED_FORMAT,
        /** Width x height exceeds the pixel limit; refused before decoding. */
        TOO_LARGE,
        /** The data is corrupt or ends early beyond recovery. */
        CORRUPT,
        /** The image is empty (zero width or height). */
        EMPTY
    }

    private final String file;

    public ImageDecodeException(String file, Reason reason, String message) {
        super(reason, file + ": " + message);
        this.file = file;
    }

    public ImageDecodeException(String file, Reason reason, String message, Throwable cause) {
        super(reason, file + ": " + message, cause);
        this.file = file;
    }

    /** The file (or a description of the source, such as {@code <bytes>}) that failed. */
    public String file() {
        return file;
    }

    @Override
    public Reason reason() {
        return (Reason) super.reason();
    }
}
