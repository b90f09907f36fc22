package org.transfer4j.backbone.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The three ways of turning streamed statistics into a range, on distributions whose answer is known. */
class RangeObserverTest {
    /** 100,000 values uniform in [0, 1) fed in batches of 1,000, then one outlier at 100. */
    private static RangeObserver uniformWithOneOutlier(float outlier) {
        RangeObserver o = new RangeObserver(true);
        Random r = new Random(1);
        float[] batch = new float[1000];
        for (int b = 0; b < 100; b++) {
            for (int i = 0; i < batch.length; i++) {
                batch[i] = r.nextFloat();
            }
            o.observe(batch, batch.length);
        }
        o.observe(new float[] {outlier}, 1);
        return o;
    }

    @Test
    void minMaxKeepsTheOutlier() {
        float[] r = uniformWithOneOutlier(100f).range(CalibrationMethod.MINMAX);
        assertTrue(r[0] >= 0f && r[0] < 1e-3f, "min " + r[0]);
        assertEquals(100f, r[1]);
    }

    @Test
    void percentileClipsOneOutlierInAHundredThousandEvenAfterTheBinsWidened() {
        // The outlier arrives last, so the histogram doubled its bin width six times after the bulk was counted.
        float[] r = uniformWithOneOutlier(100f).range(CalibrationMethod.PERCENTILE);
        double binWidth = 100.0 / 1024;
        assertTrue(r[1] >= 0.99f && r[1] <= 1 + 2 * binWidth, "limit " + r[1]);
    }

    @Test
    void percentileKeepsAnOutlierThatIsMoreThanOneInAHundredThousand() {
        RangeObserver o = uniformWithOneOutlier(100f);
        float[] more = new float[20];
        java.util.Arrays.fill(more, 100f);
        o.observe(more, more.length);
        assertTrue(o.range(CalibrationMethod.PERCENTILE)[1] > 90f);
    }

    @Test
    void entropyClipsTheOutlierButKeepsTheBulk() {
        float[] r = uniformWithOneOutlier(100f).range(CalibrationMethod.ENTROPY);
        assertTrue(r[1] >= 0.99f && r[1] < 50f, "limit " + r[1]);
    }

    @Test
    void entropyKeepsTheWholeRangeOfAUniformDistribution() {
        // Clipping a flat distribution only loses mass: nothing to gain, the limit stays near the maximum.
        float[] r = uniformWithOneOutlier(0.5f).range(CalibrationMethod.ENTROPY);
        assertTrue(r[1] > 0.9f, "limit " + r[1]);
    }

    @Test
    void signedRangesAreSymmetricLimitsClippedToWhatWasSeen() {
        RangeObserver o = new RangeObserver(true);
        float[] v = new float[200_001];
        for (int i = 0; i < 200_000; i++) {
            v[i] = (i % 2 == 0 ? -1 : 1) * (i / 200_000f);
        }
        v[200_000] = -50f;
        o.observe(v, v.length);
        float[] mm = o.range(CalibrationMethod.MINMAX);
        assertArrayEquals(new float[] {-50f, 1f - 1e-5f}, mm, 1e-4f);
        float[] p = o.range(CalibrationMethod.PERCENTILE);
        assertTrue(p[0] < -0.9f && p[0] > -1.2f, "lower " + p[0]);
        assertEquals(mm[1], p[1], "the upper limit is clipped to the largest value seen");
    }

    @Test
    void nothingOrOnlyZerosGivesAnEmptyRange() {
        assertArrayEquals(new float[] {0f, 0f}, new RangeObserver(true).range(CalibrationMethod.ENTROPY));
        RangeObserver zeros = new RangeObserver(true);
        zeros.observe(new float[8], 8);
        assertArrayEquals(new float[] {0f, 0f}, zeros.range(CalibrationMethod.PERCENTILE));
        assertEquals(8, zeros.values());
    }
}
