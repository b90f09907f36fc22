package org.transfer4j.backbone.io;

import java.time.Instant;

/**
 * The time written into files that should be reproducible: {@code SOURCE_DATE_EPOCH} (seconds since 1970, the
 * reproducible-builds convention) when set, else now. With it set, two runs with the same inputs write the same bytes
 * (a resumed fine-tuning run and an uninterrupted one give the same model.onnx).
 */
public final class ReproducibleTime {
    public static final String VARIABLE = "SOURCE_DATE_EPOCH";

    private ReproducibleTime() {
    }

    /** SOURCE_DATE_EPOCH if set and valid, else the current time. */
    public static Instant now() {
        String pinned = System.getenv(VARIABLE);
        if (pinned != null && !pinned.isBlank()) {
            try {
                return Instant.ofEpochSecond(Long.parseLong(pinned.trim()));
            } catch (NumberFormatException e) {
                // Not a number: ignored, as reproducible-builds tools do.
            }
        }
        return Instant.now();
    }
}
