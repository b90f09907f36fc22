package org.transfer4j.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PredictionTest {
    private static final List<String> CLASSES = List.of("ant", "bee", "cat", "dog");

    @Test
    void topKIsSortedByProbabilityAndStartsWithTheAnswer() {
        Prediction p = Prediction.of(CLASSES, new float[] {0.1f, 0.5f, 0.15f, 0.25f}, 3);
        assertEquals("bee", p.label());
        assertEquals(1, p.index());
        assertEquals(0.5f, p.probability());
        assertEquals(List.of("bee", "dog", "cat"), p.top().stream().map(Prediction.Scored::label).toList());
        assertEquals(List.of(1, 3, 2), p.top().stream().map(Prediction.Scored::index).toList());
    }

    @Test
    void tiesGoToTheLowerIndexSoAnswersAreDeterministic() {
        Prediction p = Prediction.of(CLASSES, new float[] {0.25f, 0.25f, 0.25f, 0.25f}, 4);
        assertEquals("ant", p.label());
        assertEquals(List.of(0, 1, 2, 3), p.top().stream().map(Prediction.Scored::index).toList());
    }

    @Test
    void kIsCappedAtTheNumberOfClasses() {
        assertEquals(4, Prediction.of(CLASSES, new float[] {0.1f, 0.2f, 0.3f, 0.4f}, 50).top().size());
    }

    @Test
    void nanNeverWins() {
        Prediction p = Prediction.of(CLASSES, new float[] {Float.NaN, 0.2f, 0.3f, 0.1f}, 2);
        assertEquals("cat", p.label());
    }

    @Test
    void probabilitiesAreCopiedInAndOut() {
        float[] probs = {0.1f, 0.2f, 0.3f, 0.4f};
        Prediction p = Prediction.of(CLASSES, probs, 1);
        probs[0] = 9f;
        float[] out = p.probabilities();
        out[1] = 9f;
        assertArrayEquals(new float[] {0.1f, 0.2f, 0.3f, 0.4f}, p.probabilities());
        assertEquals(p, Prediction.of(CLASSES, new float[] {0.1f, 0.2f, 0.3f, 0.4f}, 1));
    }

    @Test
    void refusesMismatchedClassCountAndBadK() {
        var e = assertThrows(IllegalArgumentException.class, () -> Prediction.of(CLASSES, new float[3], 1));
        assertTrue(e.getMessage().contains("3 probabilities") && e.getMessage().contains("4 classes"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Prediction.of(CLASSES, new float[4], 0));
    }
}
