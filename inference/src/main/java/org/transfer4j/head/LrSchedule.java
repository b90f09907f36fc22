package org.transfer4j.head;

import java.util.Locale;

/** Learning-rate schedule over epochs. */
public enum LrSchedule {
    /** The same rate every epoch. */
    CONSTANT,
    /** Cosine decay from the initial rate to 1% of it over the configured epochs (per epoch, not per step). */
    COSINE,
    /** Multiply the rate by 0.1 every third of the configured epochs. */
    STEP;

    public static LrSchedule parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("learning-rate schedule '" + s + "' unknown; allowed: constant, cosine, step",
                    e);
        }
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
