package org.transfer4j.head;

import java.util.Locale;

/** How training weighs each class in the loss. */
public enum ClassWeights {
    /** Every row counts the same. */
    NONE,
    /**
     * Row weight {@code n / (K * n_c)} for a row of class {@code c} (scikit-learn's "balanced"), so each class
     * contributes equally to the loss however many rows it has; the weighted mean divides by the sum of weights.
     */
    BALANCED;

    public static ClassWeights parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("class weights '" + s + "' unknown; allowed: none, balanced", e);
        }
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
