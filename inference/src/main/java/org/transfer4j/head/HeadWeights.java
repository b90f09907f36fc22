package org.transfer4j.head;

import java.util.List;
import org.transfer4j.backbone.spec.BackboneSpec;

/**
 * A trained head as plain arrays, with no ND4J types, so inference and composition can use it without loading ND4J.
 *
 * <p>Shapes (row-major): with a hidden layer, {@code w1} is [featureDim][hidden] flattened, {@code b1} [hidden],
 * {@code w2} [hidden][classes], {@code b2} [classes]; probabilities = softmax(relu(x·w1 + b1)·w2 + b2). With
 * {@code hidden == 0}, {@code w1}/{@code b1} are empty and {@code w2} is [featureDim][classes]: softmax(x·w2 + b2).
 *
 * @param classes    class names; output index i is classes.get(i)
 * @param featureDim input feature dimension D
 * @param hidden     hidden size H, or 0 for a single softmax layer
 * @param w1         D*H weights (empty when hidden == 0)
 * @param b1         H biases (empty when hidden == 0)
 * @param w2         H*K (or D*K) weights
 * @param b2         K biases
 * @param spec       the backbone spec (with model sha256) the head was trained on
 */
public record HeadWeights(List<String> classes, int featureDim, int hidden, float[] w1, float[] b1, float[] w2,
                          float[] b2, BackboneSpec spec) {
    public HeadWeights {
        classes = List.copyOf(classes);
        int k = classes.size();
        int in2 = hidden == 0 ? featureDim : hidden;
        check(k >= 2, "classes", k, ">= 2 classes");
        check(featureDim > 0, "featureDim", featureDim, "> 0");
        check(hidden >= 0, "hidden", hidden, ">= 0");
        check(w1.length == (long) featureDim * hidden, "w1.length", w1.length, "featureDim*hidden");
        check(b1.length == hidden, "b1.length", b1.length, "hidden");
        check(w2.length == (long) in2 * k, "w2.length", w2.length, "(hidden or featureDim)*classes");
        check(b2.length == k, "b2.length", b2.length, "classes");
    }

    private static void check(boolean ok, String field, long value, String allowed) {
        if (!ok) {
            throw new IllegalArgumentException("head field '" + field + "' is " + value + "; must be " + allowed);
        }
    }

    public int numClasses() {
        return classes.size();
    }
}
