package org.transfer4j.backbone.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Float16Test {
    private static float f(int halfBits) {
        return Float16.toFloat((short) halfBits);
    }

    @Test
    void everyHalfRoundTripsThroughFloat() {
        for (int h = 0; h < 0x10000; h++) {
            float v = f(h);
            int back = Float16.fromFloat(v) & 0xFFFF;
            if (Float.isNaN(v)) {
                assertTrue((back & 0x7C00) == 0x7C00 && (back & 0x3FF) != 0, "NaN stays NaN: " + h);
            } else {
                assertEquals(h, back, "half 0x" + Integer.toHexString(h) + " = " + v);
            }
        }
    }

    @Test
    void knownValues() {
        assertEquals(1.0f, f(0x3C00));
        assertEquals(-2.0f, f(0xC000));
        assertEquals(65504f, f(0x7BFF));
        assertEquals(0x1p-24f, f(0x0001));
        assertEquals(0x1p-14f, f(0x0400));
        assertEquals(Float.POSITIVE_INFINITY, f(0x7C00));
        assertEquals(-0.0f, f(0x8000));
        assertEquals(0x3555, Float16.fromFloat(1f / 3f) & 0xFFFF); // 0.33325195
    }

    @Test
    void roundsToNearestTiesToEven() {
        // 1 + 2^-11 is exactly halfway between 1 and 1 + 2^-10: ties to the even mantissa (1.0).
        assertEquals(0x3C00, Float16.fromFloat(1f + 0x1p-11f) & 0xFFFF);
        // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even): goes up.
        assertEquals(0x3C02, Float16.fromFloat(1f + 3 * 0x1p-11f) & 0xFFFF);
        // Just above halfway rounds up.
        assertEquals(0x3C01, Float16.fromFloat(Math.nextUp(1f + 0x1p-11f)) & 0xFFFF);
        // Overflow: 65520 is halfway between 65504 and 65536 (=inf): ties to even = infinity.
        assertEquals(0x7C00, Float16.fromFloat(65520f) & 0xFFFF);
        assertEquals(0x7BFF, Float16.fromFloat(Math.nextDown(65520f)) & 0xFFFF);
        assertEquals(0xFC00, Float16.fromFloat(-1e10f) & 0xFFFF);
        // Subnormals: half of the smallest subnormal ties to even (0); a bit more rounds up.
        assertEquals(0x0000, Float16.fromFloat(0x1p-25f) & 0xFFFF);
        assertEquals(0x0001, Float16.fromFloat(Math.nextUp(0x1p-25f)) & 0xFFFF);
        assertEquals(0x0002, Float16.fromFloat(3 * 0x1p-25f) & 0xFFFF);
        // The largest subnormal plus a half step carries into the smallest normal.
        assertEquals(0x0400, Float16.fromFloat(0x3FF * 0x1p-24f + 0x1p-25f) & 0xFFFF);
        assertEquals(0x8000, Float16.fromFloat(-1e-30f) & 0xFFFF);
        assertEquals(0x7C00, Float16.fromFloat(Float.POSITIVE_INFINITY) & 0xFFFF);
        assertTrue(Float.isNaN(f(Float16.fromFloat(Float.NaN))));
    }

    @Test
    void randomFloatsGoToTheNearestHalf() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            float x = Float.intBitsToFloat(rnd.nextInt());
            if (Float.isNaN(x) || Math.abs(x) >= 65520f) {
                continue;
            }
            int h = Float16.fromFloat(x) & 0xFFFF;
            double got = f(h);
            double err = Math.abs(got - x);
            // Neighbours of h (same sign): none may be closer, and a tie must pick the even one.
            for (int nb : new int[] {h - 1, h + 1}) {
                if ((nb & 0x7FFF) > 0x7BFF || (nb & 0x8000) != (h & 0x8000) || nb < 0) {
                    continue;
                }
                double other = Math.abs((double) f(nb) - x);
                assertTrue(err <= other, () -> x + " -> " + got + " but " + f(nb) + " is closer");
                if (err == other) {
                    assertEquals(0, h & 1, () -> "tie for " + x + " must round to even");
                }
            }
        }
    }
}
