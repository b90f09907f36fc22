package org.transfer4j.head.eval;

import java.util.List;

/**
 * A head's answers for a set of rows: the truth, the softmax probabilities and the mean cross-entropy. Plain arrays,
 * so evaluation and reports need no ND4J.
 *
 * @param classes       class names; label i is classes.get(i)
 * @param rows          the row numbers in the source (cache) the answers belong to
 * @param paths         the image path of each row
 * @param labels        the true label of each row
 * @param probabilities rows × classes softmax probabilities, row-major
 * @param loss          mean cross-entropy (no smoothing, no class weights)
 */
public record Predictions(List<String> classes, int[] rows, List<String> paths, int[] labels, float[] probabilities,
                          double loss) {
    public Predictions {
        classes = List.copyOf(classes);
        paths = List.copyOf(paths);
        if (rows.length != labels.length || paths.size() != labels.length
                || probabilities.length != (long) labels.length * classes.size()) {
            throw new IllegalArgumentException("predictions disagree in size: " + rows.length + " rows, "
                    + paths.size() + " paths, " + labels.length + " labels, " + probabilities.length
                    + " probabilities for " + classes.size() + " classes");
        }
    }

    public int size() {
        return labels.length;
    }

    /** The most probable class of row i (the lowest index on ties). */
    public int predicted(int i) {
        int k = classes.size();
        int best = 0;
        for (int c = 1; c < k; c++) {
            if (probabilities[i * k + c] > probabilities[i * k + best]) {
                best = c;
            }
        }
        return best;
    }

    public float probability(int i, int c) {
        return probabilities[i * classes.size() + c];
    }

    public double accuracy() {
        if (size() == 0) {
            return Double.NaN;
        }
        int correct = 0;
        for (int i = 0; i < size(); i++) {
            if (predicted(i) == labels[i]) {
                correct++;
            }
        }
        return (double) correct / size();
    }
}
