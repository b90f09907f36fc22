package org.transfer4j.backbone.preprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ViewTest {
    @Test
    void sameSeedSameView() {
        for (long seed = 0; seed < 50; seed++) {
            assertEquals(View.random(seed, 500, 375), View.random(seed, 500, 375));
        }
        Set<View> distinct = new HashSet<>();
        for (long seed = 0; seed < 50; seed++) {
            distinct.add(View.random(seed, 500, 375));
        }
        assertTrue(distinct.size() > 45, "seeds give different views: " + distinct.size());
    }

    @Test
    void alwaysInsideTheImageWithWholePixelsAndTorchvisionBounds() {
        int[][] sizes = {{500, 375}, {2592, 1944}, {1, 1}, {8, 8}, {3, 200}, {200, 3}, {224, 224}, {17, 23}};
        for (int[] s : sizes) {
            int flips = 0;
            for (long seed = 0; seed < 2000; seed++) {
                View v = View.random(seed, s[0], s[1]);
                String m = v + " for " + s[0] + "x" + s[1];
                assertTrue(v.fits(s[0], s[1]), m);
                assertTrue(v.w() >= 1 && v.h() >= 1, m);
                assertEquals(Math.rint(v.x()), v.x(), m);
                assertEquals(Math.rint(v.y()), v.y(), m);
                assertEquals(Math.rint(v.w()), v.w(), m);
                assertEquals(Math.rint(v.h()), v.h(), m);
                if (s[0] >= 100 && s[1] >= 100) {
                    // Rounding aside, the area fraction is in [0.08, 1] and the aspect ratio in [3/4, 4/3].
                    double frac = v.w() * v.h() / ((double) s[0] * s[1]);
                    assertTrue(frac > 0.07 && frac <= 1.0, m);
                    double ratio = v.w() / v.h();
                    assertTrue(ratio > 0.7 && ratio < 1.4, m);
                }
                flips += v.flip() ? 1 : 0;
            }
            assertTrue(flips > 850 && flips < 1150, "flip probability 1/2: " + flips + "/2000");
        }
    }

    @Test
    void fallsBackToTheCentralCropLikeTorchvision() {
        // 1000x7: any area >= 560 at ratio <= 4/3 needs h >= 20 > 7, so all ten tries fail.
        // in_ratio > 4/3 -> h = 7, w = round(7 * 4/3) = round(9.33) = 9, j = (1000 - 9) // 2 = 495.
        View v = View.random(3, 1000, 7);
        assertEquals(495, v.x());
        assertEquals(0, v.y());
        assertEquals(9, v.w());
        assertEquals(7, v.h());
        // 7x1000: w = 7, h = round(7 / 0.75) = round(9.33) = 9, i = (1000 - 9) // 2 = 495.
        View t = View.random(3, 7, 1000);
        assertEquals(new View(0, 495, 7, 9, t.flip()), t);
    }

    @Test
    void refusesEmptyImages() {
        assertThrows(IllegalArgumentException.class, () -> View.random(1, 0, 10));
    }
}
