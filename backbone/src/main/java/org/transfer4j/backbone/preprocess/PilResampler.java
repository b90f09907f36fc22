package org.transfer4j.backbone.preprocess;

import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.spec.Interpolation;

/**
 * Pillow 9.4's {@code Image.resize(size, resample, box)} on an RGB image, bit for bit, restricted to a rectangle of
 * the output. The reference pipelines (torchvision, Keras {@code load_img}) all resize with PIL, and a backbone's
 * features are only as good as its inputs' agreement with what it was trained on, so this follows the C code:
 *
 * <ul>
 *   <li>{@code _resize} in {@code _imaging.c}: an integer box of exactly the output size is a plain crop; NEAREST
 *       goes through {@code ImagingTransform} (affine) → {@code ImagingScaleAffine}, with its accumulated
 *       {@code double} source coordinates; every other filter through {@code ImagingResample}.</li>
 *   <li>{@code ImagingResampleInner} in {@code Resample.c}: separable antialiased convolution, horizontal pass then
 *       vertical pass, 8-bit rounding and clipping between passes, each pass skipped when Pillow skips it.</li>
 * </ul>
 *
 * <p>Only the requested output rectangle is computed (for torchvision's resize-then-center-crop that saves a fifth of
 * the work and all of the full-size intermediate); each output pixel depends only on its own coefficients, so the
 * result equals the same pixels of a full resize.
 *
 * <p>Not thread-safe: scratch arrays and the coefficient cache are reused from call to call.
 */
final class PilResampler {
    private static final int CACHE_SLOTS = 4;

    /** The last result: {@code outCropW * outCropH * 3} values 0..255, row-major, interleaved RGB. */
    int[] out = new int[0];
    private int[] temp = new int[0];
    private int[] xintab = new int[0];
    private final CoefficientCache horizontal = new CoefficientCache();
    private final CoefficientCache vertical = new CoefficientCache();
    private int grows;

    /** A few coefficient slots for one axis, reused round robin: datasets mix a handful of image sizes. */
    private static final class CoefficientCache {
        private final ResampleCoefficients[] slots = new ResampleCoefficients[CACHE_SLOTS];
        private int next;

        CoefficientCache() {
            for (int i = 0; i < slots.length; i++) {
                slots[i] = new ResampleCoefficients();
            }
        }

        ResampleCoefficients get(int inSize, float in0, float in1, int outSize, Interpolation f, int first,
                int count) {
            for (ResampleCoefficients c : slots) {
                if (c.matches(inSize, in0, in1, outSize, f, first, count)) {
                    return c;
                }
            }
            ResampleCoefficients c = slots[next];
            next = (next + 1) % slots.length;
            c.compute(inSize, in0, in1, outSize, f, first, count);
            return c;
        }

        int grows() {
            int g = 0;
            for (ResampleCoefficients c : slots) {
                g += c.grows;
            }
            return g;
        }
    }

    /** How many times any scratch array grew since construction (steady state: no growth). */
    int scratchGrows() {
        return grows + horizontal.grows() + vertical.grows();
    }

    /**
     * Resizes like PIL: the source is the sub-image {@code (rx, ry, rw, rh)} of {@code img} (what
     * {@code img.crop(...)} would give), {@code box} is PIL's {@code box} argument relative to that sub-image
     * (floats, as Pillow parses them), {@code outW x outH} the requested size. Only output pixels
     * {@code [cropX, cropX+cropW) x [cropY, cropY+cropH)} are produced, into {@link #out}.
     */
    void resize(RgbImage img, int rx, int ry, int rw, int rh, float b0, float b1, float b2, float b3,
            int outW, int outH, Interpolation filter, int cropX, int cropY, int cropW, int cropH) {
        int need = cropW * cropH * 3;
        if (out.length < need) {
            out = new int[need];
            grows++;
        }
        // _resize: "If box's coordinates are int and box size matches requested size" -> ImagingCrop.
        if (b0 - (int) b0 == 0 && b2 - b0 == outW && b1 - (int) b1 == 0 && b3 - b1 == outH) {
            copy(img, rx + (int) b0 + cropX, ry + (int) b1 + cropY, cropW, cropH, out);
        } else if (filter == Interpolation.NEAREST) {
            nearest(img, rx, ry, rw, rh, b0, b1, b2, b3, outW, outH, cropX, cropY, cropW, cropH);
        } else {
            convolve(img, rx, ry, rw, rh, b0, b1, b2, b3, outW, outH, filter, cropX, cropY, cropW, cropH);
        }
    }

    /** Copies the {@code w x h} source pixels at (sx, sy) into {@code dst} as 0..255 ints. */
    private static void copy(RgbImage img, int sx, int sy, int w, int h, int[] dst) {
        byte[] rgb = img.rgb();
        int stride = img.width() * 3;
        int o = 0;
        for (int y = 0; y < h; y++) {
            int p = (sy + y) * stride + sx * 3;
            for (int i = 0; i < w * 3; i++) {
                dst[o++] = rgb[p + i] & 0xFF;
            }
        }
    }

    /** {@code ImagingScaleAffine} with a = [(b2-b0)/outW, 0, b0, 0, (b3-b1)/outH, b1], fill = 1. */
    private void nearest(RgbImage img, int rx, int ry, int rw, int rh, float b0, float b1, float b2, float b3,
            int outW, int outH, int cropX, int cropY, int cropW, int cropH) {
        double a0 = (double) (b2 - b0) / outW;
        double a4 = (double) (b3 - b1) / outH;
        double a2 = b0;
        double a5 = b1;
        if (xintab.length < outW) {
            xintab = new int[outW];
            grows++;
        }
        // Pretabulated source columns; the coordinate accumulates in double exactly as the C loop does.
        double xo = a2 + a0 * 0.5;
        for (int x = 0; x < outW; x++) {
            int xin = xo < 0.0 ? -1 : (int) xo;
            xintab[x] = xin >= 0 && xin < rw ? xin : -1;
            xo += a0;
        }
        byte[] rgb = img.rgb();
        int stride = img.width() * 3;
        double yo = a5 + a4 * 0.5;
        for (int y = 0; y < cropY + cropH; y++) {
            if (y >= cropY) {
                int yi = yo < 0.0 ? -1 : (int) yo;
                int o = (y - cropY) * cropW * 3;
                boolean rowOk = yi >= 0 && yi < rh;
                int rowBase = (ry + yi) * stride + rx * 3;
                for (int x = cropX; x < cropX + cropW; x++, o += 3) {
                    int xin = xintab[x];
                    if (rowOk && xin >= 0) {
                        int p = rowBase + xin * 3;
                        out[o] = rgb[p] & 0xFF;
                        out[o + 1] = rgb[p + 1] & 0xFF;
                        out[o + 2] = rgb[p + 2] & 0xFF;
                    } else {
                        // fill = 1: pixels mapped outside the source are black.
                        out[o] = 0;
                        out[o + 1] = 0;
                        out[o + 2] = 0;
                    }
                }
            }
            yo += a4;
        }
    }

    private static int clip8(int in) {
        int v = in >> ResampleCoefficients.PRECISION_BITS;
        return v < 0 ? 0 : (v > 255 ? 255 : v);
    }

    /** {@code ImagingResampleInner} for 8-bit RGB. */
    private void convolve(RgbImage img, int rx, int ry, int rw, int rh, float b0, float b1, float b2, float b3,
            int outW, int outH, Interpolation filter, int cropX, int cropY, int cropW, int cropH) {
        // Pillow compares box[2] with the *output* width here; reproduced as written.
        boolean needHorizontal = outW != rw || b0 != 0 || b2 != outW;
        boolean needVertical = outH != rh || b1 != 0 || b3 != outH;

        if (!needVertical) {
            // Rows map one to one (box [0, rh) onto rh rows): output row y is source row y, filtered or copied.
            if (needHorizontal) {
                ResampleCoefficients h = horizontal.get(rw, b0, b2, outW, filter, cropX, cropW);
                horizontalPass(img, rx, ry + cropY, cropH, h, cropW, out);
            } else {
                copy(img, rx + cropX, ry + cropY, cropW, cropH, out);
            }
            return;
        }

        ResampleCoefficients v = vertical.get(rh, b1, b3, outH, filter, cropY, cropH);
        // Source rows the vertical pass reads; bounds are monotonic but take min/max to rely on nothing.
        int first = Integer.MAX_VALUE;
        int last = 0;
        for (int i = 0; i < cropH; i++) {
            first = Math.min(first, v.bounds[2 * i]);
            last = Math.max(last, v.bounds[2 * i] + v.bounds[2 * i + 1]);
        }
        int rows = Math.max(0, last - first);
        int need = rows * cropW * 3;
        if (temp.length < need) {
            temp = new int[need];
            grows++;
        }
        if (needHorizontal) {
            ResampleCoefficients h = horizontal.get(rw, b0, b2, outW, filter, cropX, cropW);
            horizontalPass(img, rx, ry + first, rows, h, cropW, temp);
        } else {
            // No horizontal pass: the vertical pass reads the source itself; copy the columns it needs.
            copy(img, rx + cropX, ry + first, cropW, rows, temp);
        }
        verticalPass(v, first, cropW, cropH);
    }

    /** {@code ImagingResampleHorizontal_8bpc}: {@code rows} source rows from {@code sy} into {@code dst}. */
    private static void horizontalPass(RgbImage img, int rx, int sy, int rows, ResampleCoefficients h, int w,
            int[] dst) {
        byte[] rgb = img.rgb();
        int stride = img.width() * 3;
        int ks = h.ksize;
        int[] bounds = h.bounds;
        int[] kk = h.kk;
        final int half = 1 << (ResampleCoefficients.PRECISION_BITS - 1);
        int o = 0;
        for (int y = 0; y < rows; y++) {
            int rowBase = (sy + y) * stride + rx * 3;
            for (int xx = 0; xx < w; xx++) {
                int xmin = bounds[2 * xx];
                int xmax = bounds[2 * xx + 1];
                int kb = xx * ks;
                int ss0 = half;
                int ss1 = half;
                int ss2 = half;
                int p = rowBase + xmin * 3;
                for (int x = 0; x < xmax; x++, p += 3) {
                    int k = kk[kb + x];
                    ss0 += (rgb[p] & 0xFF) * k;
                    ss1 += (rgb[p + 1] & 0xFF) * k;
                    ss2 += (rgb[p + 2] & 0xFF) * k;
                }
                dst[o++] = clip8(ss0);
                dst[o++] = clip8(ss1);
                dst[o++] = clip8(ss2);
            }
        }
    }

    /** {@code ImagingResampleVertical_8bpc} over {@link #temp}, whose row 0 is source row {@code first}. */
    private void verticalPass(ResampleCoefficients v, int first, int w, int h) {
        int ks = v.ksize;
        int[] bounds = v.bounds;
        int[] kk = v.kk;
        int[] src = temp;
        int stride = w * 3;
        final int half = 1 << (ResampleCoefficients.PRECISION_BITS - 1);
        int o = 0;
        for (int yy = 0; yy < h; yy++) {
            int ymin = bounds[2 * yy] - first;
            int ymax = bounds[2 * yy + 1];
            int kb = yy * ks;
            for (int i = 0; i < stride; i++) {
                int ss = half;
                int p = ymin * stride + i;
                for (int y = 0; y < ymax; y++, p += stride) {
                    ss += src[p] * kk[kb + y];
                }
                out[o++] = clip8(ss);
            }
        }
    }
}
