package org.transfer4j.inference;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What a {@link Predictor} says about one image: the most probable class, its probability, the top-k classes and the
 * whole probability vector (index i belongs to class i of the model).
 *
 * <p>Ties are broken by the lower class index, so the same probabilities always give the same answer.
 *
 * @param label         the most probable class name
 * @param probability   its probability, 0..1
 * @param index         its index in the model's class list
 * @param top           the k most probable classes, most probable first ({@code top.get(0)} is the answer itself)
 * @param probabilities every class's probability, in class order (copied in and out; the record never shares it)
 */
public record Prediction(String label, float probability, int index, List<Scored> top, float[] probabilities) {

    /**
     * One class and its probability.
     *
     * @param label       class name
     * @param probability 0..1
     * @param index       the class index in the model
     */
    public record Scored(String label, float probability, int index) {
        public Scored {
            Objects.requireNonNull(label, "label");
        }
    }

    public Prediction {
        Objects.requireNonNull(label, "label");
        top = List.copyOf(top);
        if (top.isEmpty()) {
            throw new IllegalArgumentException("top must hold at least the predicted class");
        }
        probabilities = probabilities.clone();
        if (index < 0 || index >= probabilities.length) {
            throw new IllegalArgumentException("index " + index + " is outside 0.." + (probabilities.length - 1));
        }
    }

    /**
     * Builds a prediction from one probability vector: argmax and the {@code k} best classes (k is capped at the
     * number of classes). Runs in O(K·k), which beats sorting for the small k people ask for.
     *
     * @param classes       class names, index i for probabilities[i]
     * @param probabilities one image's probabilities; not kept (copied)
     * @param k             how many classes to list in {@link #top()}, at least 1
     */
    public static Prediction of(List<String> classes, float[] probabilities, int k) {
        if (classes.size() != probabilities.length) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "the model gives %d probabilities but names %d classes", probabilities.length, classes.size()));
        }
        if (k < 1) {
            throw new IllegalArgumentException("top-k is " + k + "; must be >= 1");
        }
        int n = Math.min(k, probabilities.length);
        int[] chosen = new int[n];
        boolean[] taken = new boolean[probabilities.length];
        for (int r = 0; r < n; r++) {
            int best = -1;
            for (int i = 0; i < probabilities.length; i++) {
                // NaN never wins, so a broken output is visible as a low score rather than a random label.
                if (!taken[i] && (best < 0 || probabilities[i] > probabilities[best]
                        || (Float.isNaN(probabilities[best]) && !Float.isNaN(probabilities[i])))) {
                    best = i;
                }
            }
            chosen[r] = best;
            taken[best] = true;
        }
        Scored[] top = new Scored[n];
        for (int r = 0; r < n; r++) {
            top[r] = new Scored(classes.get(chosen[r]), probabilities[chosen[r]], chosen[r]);
        }
        return new Prediction(top[0].label(), top[0].probability(), top[0].index(), Arrays.asList(top),
                probabilities);
    }

    @Override
    public float[] probabilities() {
        return probabilities.clone();
    }

    /** Probability of class {@code i} without copying the vector. */
    public float probability(int i) {
        return probabilities[i];
    }

    /** Number of classes in the model. */
    public int numClasses() {
        return probabilities.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Prediction p && index == p.index && Float.compare(probability, p.probability) == 0
                && label.equals(p.label) && top.equals(p.top) && Arrays.equals(probabilities, p.probabilities);
    }

    @Override
    public int hashCode() {
        return Objects.hash(label, probability, index, top, Arrays.hashCode(probabilities));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s (%.4f)", label, probability);
    }
}
