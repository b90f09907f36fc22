package org.transfer4j.backbone.cache;

import java.util.Locale;

/** How a cache stores each feature value: little-endian float32 (default) or IEEE binary16 (half the disk). */
public enum Dtype {
    F32(4), F16(2);

    private final int bytes;

    Dtype(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per value. */
    public int bytes() {
        return bytes;
    }

    /** {@code f32} or {@code f16}: the word used in flags, headers and file names. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Dtype parse(String word) {
        for (Dtype d : values()) {
            if (d.word().equalsIgnoreCase(word.trim())) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown dtype '" + word + "'; choose f32 or f16");
    }
}
