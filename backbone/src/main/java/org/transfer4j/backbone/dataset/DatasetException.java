package org.transfer4j.backbone.dataset;

import org.transfer4j.Transfer4jException;

/** A dataset folder or manifest cannot be used. The message names the file or folder, what is wrong and what to do. */
public final class DatasetException extends Transfer4jException {
    private static final long serialVersionUID = 1L;

    /** What went wrong, so callers can branch without reading the message. */
    public enum Reason {
        /** The folder or manifest does not exist or cannot be read. */
        NOT_FOUND,
        /** No image files at all. */
        NO_IMAGES,
        /** A class folder holds no images. */
        EMPTY_CLASS,
        /** Only one class: nothing to tell apart. */
        SINGLE_CLASS,
        /** A manifest line is malformed (field count, empty field, bad quoting, duplicate path). */
        BAD_MANIFEST,
        /** A manifest path points outside the manifest's folder. */
        ESCAPES_ROOT,
        /** The class folders are dataset splits (train, val, ...): the folder given is one level too high. */
        SPLIT_FOLDERS
    }

    public DatasetException(Reason reason, String message) {
        super(reason, message);
    }

    public DatasetException(Reason reason, String message, Throwable cause) {
        super(reason, message, cause);
    }

    @Override
    public Reason reason() {
        return (Reason) super.reason();
    }
}
