package org.transfer4j.backbone.preprocess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.IntBinaryOperator;
import org.junit.jupiter.api.Test;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.spec.Interpolation;

/**
 * Hand-computed Pillow results. Expected values come from working Pillow's formulas by hand (comments show the
 * arithmetic), not from the code under test.
 */
class PilResamplerTest {
    static RgbImage image(int w, int h, IntBinaryOperator r, IntBinaryOperator g, IntBinaryOperator b) {
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = (y * w + x) * 3;
                rgb[p] = (byte) r.applyAsInt(x, y);
                rgb[p + 1] = (byte) g.applyAsInt(x, y);
                rgb[p + 2] = (byte) b.applyAsInt(x, y);
            }
        }
        return new RgbImage(w, h, rgb);
    }

    static RgbImage random(int w, int h, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) rnd.nextInt(256);
        }
        return new RgbImage(w, h, rgb);
    }

    /** Full-image resize, like {@code img.resize((outW, outH), filter)}. */
    static int[] resize(PilResampler r, RgbImage img, int outW, int outH, Interpolation f) {
        r.resize(img, 0, 0, img.width(), img.height(), 0f, 0f, img.width(), img.height(), outW, outH, f, 0, 0, outW,
                outH);
        return Arrays.copyOf(r.out, outW * outH * 3);
    }

    static int[] channel(int[] px, int c) {
        int[] v = new int[px.length / 3];
        for (int i = 0; i < v.length; i++) {
            v[i] = px[3 * i + c];
        }
        return v;
    }

    @Test
    void nearestDownscaleTakesTheCentreSample() {
        // a0 = 4/2 = 2, xo = 0 + 2 * 0.5 = 1, then 3: source columns/rows 1 and 3.
        RgbImage img = image(4, 4, (x, y) -> 10 * x + y, (x, y) -> 0, (x, y) -> 200);
        int[] out = resize(new PilResampler(), img, 2, 2, Interpolation.NEAREST);
        assertArrayEquals(new int[] {11, 31, 13, 33}, channel(out, 0));
        assertArrayEquals(new int[] {200, 200, 200, 200}, channel(out, 2));
    }

    @Test
    void nearestUpscaleAndOddRatios() {
        // 2 -> 4: a0 = 0.5, xo = 0.25, 0.75, 1.25, 1.75 -> 0, 0, 1, 1.
        RgbImage img = image(2, 2, (x, y) -> 100 * x + y, (x, y) -> 7, (x, y) -> 9);
        int[] out = resize(new PilResampler(), img, 4, 4, Interpolation.NEAREST);
        assertArrayEquals(new int[] {0, 0, 100, 100, 0, 0, 100, 100, 1, 1, 101, 101, 1, 1, 101, 101},
                channel(out, 0));
        // 3 -> 2: a0 = 1.5, xo = 0.75, 2.25 -> columns 0 and 2.
        RgbImage row = image(3, 1, (x, y) -> 50 * x, (x, y) -> 0, (x, y) -> 0);
        assertArrayEquals(new int[] {0, 100}, channel(resize(new PilResampler(), row, 2, 1, Interpolation.NEAREST),
                0));
        // 5 -> 3: a0 = 5/3, xo = 0.8333, 2.5, 4.1667 -> columns 0, 2, 4.
        RgbImage five = image(5, 1, (x, y) -> 10 * x, (x, y) -> 0, (x, y) -> 0);
        assertArrayEquals(new int[] {0, 20, 40},
                channel(resize(new PilResampler(), five, 3, 1, Interpolation.NEAREST), 0));
    }

    @Test
    void bilinearDownscaleIsAntialiased() {
        // 4 -> 2: scale 2, support 2. Output 0: centre 1, taps 0..2 with filter(-0.25, 0.25, 0.75) = .75 .75 .25,
        // normalised 3/7 3/7 1/7 -> fixed 1797559 1797559 599186. Row 0,70,140,210:
        // (70*1797559 + 140*599186 + 2^21) >> 22 = 50; output 1 (taps 1..3, 1/7 3/7 3/7): 160.
        RgbImage img = image(4, 4, (x, y) -> 70 * x, (x, y) -> 70 * y, (x, y) -> 100);
        int[] out = resize(new PilResampler(), img, 2, 2, Interpolation.BILINEAR);
        assertArrayEquals(new int[] {50, 160, 50, 160}, channel(out, 0));
        assertArrayEquals(new int[] {50, 50, 160, 160}, channel(out, 1));
        assertArrayEquals(new int[] {100, 100, 100, 100}, channel(out, 2));
    }

    @Test
    void bilinearUpscaleInterpolates() {
        // 2 -> 4: scale 0.5, support 1. Outputs: [1], [.75 .25], [.25 .75], [1] -> 0, 25, 75, 100 for row 0,100.
        RgbImage img = image(2, 2, (x, y) -> 100 * x, (x, y) -> 100 * y, (x, y) -> 3);
        int[] out = resize(new PilResampler(), img, 4, 4, Interpolation.BILINEAR);
        int[] r = channel(out, 0);
        int[] g = channel(out, 1);
        for (int y = 0; y < 4; y++) {
            assertArrayEquals(new int[] {0, 25, 75, 100}, Arrays.copyOfRange(r, 4 * y, 4 * y + 4), "row " + y);
        }
        assertArrayEquals(new int[] {0, 0, 0, 0, 25, 25, 25, 25, 75, 75, 75, 75, 100, 100, 100, 100}, g);
    }

    @Test
    void singlePassPathsWhenOneAxisKeepsItsSize() {
        // Horizontal only (4x1 -> 2x1) and vertical only (1x4 -> 1x2) give the same 50, 160 as the two-pass case.
        RgbImage row = image(4, 1, (x, y) -> 70 * x, (x, y) -> 0, (x, y) -> 0);
        assertArrayEquals(new int[] {50, 160}, channel(resize(new PilResampler(), row, 2, 1, Interpolation.BILINEAR),
                0));
        RgbImage column = image(1, 4, (x, y) -> 70 * y, (x, y) -> 0, (x, y) -> 0);
        assertArrayEquals(new int[] {50, 160},
                channel(resize(new PilResampler(), column, 1, 2, Interpolation.BILINEAR), 0));
    }

    @Test
    void bicubicHasNegativeLobesAndClips() {
        // 4 -> 2: scale 2, support 4, taps at filter(-.25 .25 .75 1.25) = .8671875 .8671875 .2265625 -.0703125,
        // sum 1.890625 -> fixed 1923821 1923821 502629 -155986 (output 1 mirrored).
        // R 0,70,140,210: 41 and 169; G 255,0,0,0: 117 and clip(-9) = 0; B 0,0,255,255: 21 and 234.
        RgbImage row = image(4, 1, (x, y) -> 70 * x, (x, y) -> x == 0 ? 255 : 0, (x, y) -> x >= 2 ? 255 : 0);
        int[] out = resize(new PilResampler(), row, 2, 1, Interpolation.BICUBIC);
        assertArrayEquals(new int[] {41, 169}, channel(out, 0));
        assertArrayEquals(new int[] {117, 0}, channel(out, 1));
        assertArrayEquals(new int[] {21, 234}, channel(out, 2));
    }

    @Test
    void sameSizeIsACopy() {
        RgbImage img = random(9, 7, 3);
        for (Interpolation f : Interpolation.values()) {
            int[] out = resize(new PilResampler(), img, 9, 7, f);
            for (int i = 0; i < out.length; i++) {
                assertEquals(img.rgb()[i] & 0xFF, out[i], f + " at " + i);
            }
        }
    }

    @Test
    void anOutputRectangleEqualsThoseOutputsOfTheFullResize() {
        RgbImage img = random(37, 23, 11);
        for (Interpolation f : Interpolation.values()) {
            for (int[] size : new int[][] {{17, 29}, {80, 9}, {12, 12}, {37, 40}, {50, 23}}) {
                PilResampler full = new PilResampler();
                int[] all = resize(full, img, size[0], size[1], f);
                int cx = size[0] / 3;
                int cy = size[1] / 4;
                int cw = size[0] - cx - 1;
                int ch = size[1] / 2;
                PilResampler part = new PilResampler();
                part.resize(img, 0, 0, 37, 23, 0f, 0f, 37f, 23f, size[0], size[1], f, cx, cy, cw, ch);
                for (int y = 0; y < ch; y++) {
                    for (int i = 0; i < cw * 3; i++) {
                        assertEquals(all[((cy + y) * size[0] + cx) * 3 + i], part.out[y * cw * 3 + i],
                                f + " " + Arrays.toString(size) + " at y=" + y + " i=" + i);
                    }
                }
            }
        }
    }

    @Test
    void coefficientsAreCachedAndScratchStopsGrowing() {
        PilResampler r = new PilResampler();
        RgbImage a = random(50, 40, 1);
        RgbImage b = random(41, 60, 2);
        for (int i = 0; i < 3; i++) {
            resize(r, a, 20, 20, Interpolation.BILINEAR);
            resize(r, b, 20, 20, Interpolation.BICUBIC);
        }
        int grows = r.scratchGrows();
        int[] first = resize(r, a, 20, 20, Interpolation.BILINEAR);
        for (int i = 0; i < 10; i++) {
            resize(r, b, 20, 20, Interpolation.BICUBIC);
            assertArrayEquals(first, resize(r, a, 20, 20, Interpolation.BILINEAR), "cached coefficients reused");
        }
        assertEquals(grows, r.scratchGrows(), "no scratch array may grow in steady state");
        assertArrayEquals(first, resize(new PilResampler(), a, 20, 20, Interpolation.BILINEAR),
                "a fresh resampler gives the same result");
    }
}
