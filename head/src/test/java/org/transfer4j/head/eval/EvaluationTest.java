package org.transfer4j.head.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.transfer4j.head.train.ArrayRows;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;

class EvaluationTest {
    /** Three classes, six rows; hand-made probabilities give a known confusion matrix. */
    static Predictions sample() {
        List<String> classes = List.of("ant", "bee", "cat");
        int[] labels = {0, 0, 1, 1, 2, 2};
        int[] predicted = {0, 1, 1, 1, 2, 0};
        float[] probs = new float[18];
        for (int i = 0; i < 6; i++) {
            for (int c = 0; c < 3; c++) {
                probs[i * 3 + c] = c == predicted[i] ? 0.8f : 0.1f;
            }
        }
        return new Predictions(classes, new int[] {0, 1, 2, 3, 4, 5},
                List.of("a/1.jpg", "a/2.jpg", "b/1.jpg", "b/2.jpg", "c/1.jpg", "c, 2.jpg"), labels, probs, 0.5);
    }

    @Test
    void matchesHandComputedMetrics() {
        Evaluation e = Evaluation.of(sample());
        assertEquals(4.0 / 6, e.accuracy(), 1e-12);
        assertArrayEquals(new long[] {1, 1, 0}, e.confusion()[0]);
        assertArrayEquals(new long[] {0, 2, 0}, e.confusion()[1]);
        assertArrayEquals(new long[] {1, 0, 1}, e.confusion()[2]);
        // ant: P = 1/2, R = 1/2; bee: P = 2/3, R = 1; cat: P = 1, R = 1/2.
        assertEquals(0.5, e.perClass().get(0).precision(), 1e-12);
        assertEquals(2.0 / 3, e.perClass().get(1).precision(), 1e-12);
        assertEquals(1.0, e.perClass().get(1).recall(), 1e-12);
        assertEquals(0.5, e.perClass().get(2).recall(), 1e-12);
        double f1Ant = 0.5;
        double f1Bee = 2 * (2.0 / 3) / (2.0 / 3 + 1);
        double f1Cat = 2 * 0.5 / 1.5;
        assertEquals((f1Ant + f1Bee + f1Cat) / 3, e.macroF1(), 1e-12);
        assertEquals(2, e.perClass().get(2).support());
        assertEquals(0.5, e.loss());
    }

    @Test
    void logisticBaselineLearnsSeparableFeatures() {
        var spec = Preset.TORCH.spec("input", Layout.NCHW, 224, 224);
        ArrayRows rows = ArrayRows.synthetic(200, 64, 2, spec, 3);
        int[] train = new int[150];
        int[] val = new int[50];
        for (int i = 0; i < 200; i++) {
            if (i < 150) {
                train[i] = i;
            } else {
                val[i - 150] = i;
            }
        }
        var r = LogisticBaseline.run(rows, train, rows, val);
        assertTrue(r.validation().accuracy() >= 0.95, "baseline accuracy " + r.validation().accuracy());
        assertEquals(50, r.validation().perClass().stream().mapToLong(Evaluation.ClassMetrics::support).sum());
    }
}
