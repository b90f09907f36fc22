package org.transfer4j.backbone.preprocess;

import org.transfer4j.backbone.spec.Interpolation;

/**
 * Fixed-point filter coefficients for one axis of a resize, computed exactly like Pillow 9.4's
 * {@code precompute_coeffs} + {@code normalize_coeffs_8bpc} ({@code src/libImaging/Resample.c}), but only for the
 * output positions {@code [first, first + count)}. Each output's coefficients depend on its own position alone, so a
 * sub-range is bit-identical to the same positions of a full computation.
 *
 * <p>An instance is a reusable slot: {@link #compute} overwrites it in place and grows its arrays only when a larger
 * kernel or range is needed, so a steady stream of same-sized images allocates nothing.
 */
final class ResampleCoefficients {
    /** Pillow's {@code PRECISION_BITS}: 8 bits for the result, 2 for overflow of negative lobes, in an int. */
    static final int PRECISION_BITS = 32 - 8 - 2;

    // Key of what is stored (valid == false until the first compute).
    private boolean valid;
    private int keyInSize;
    private int keyIn0Bits;
    private int keyIn1Bits;
    private int keyOutSize;
    private Interpolation keyFilter;
    private int keyFirst;
    private int keyCount;

    /** Kernel length per output (Pillow's {@code ksize}). */
    int ksize;
    /** Per output i (relative to first): bounds[2i] = first source index, bounds[2i+1] = number of taps. */
    int[] bounds = new int[0];
    /** Per output i: ksize fixed-point coefficients starting at i * ksize (taps beyond bounds[2i+1] are 0). */
    int[] kk = new int[0];
    private double[] scratch = new double[0];
    /** Number of times an array had to grow; lets tests check the no-allocation-in-steady-state promise. */
    int grows;

    boolean matches(int inSize, float in0, float in1, int outSize, Interpolation filter, int first, int count) {
        return valid && keyInSize == inSize && keyIn0Bits == Float.floatToRawIntBits(in0)
                && keyIn1Bits == Float.floatToRawIntBits(in1) && keyOutSize == outSize && keyFilter == filter
                && keyFirst == first && keyCount == count;
    }

    static double support(Interpolation filter) {
        return switch (filter) {
            case BILINEAR -> 1.0;
            case BICUBIC -> 2.0;
            case NEAREST -> throw new IllegalArgumentException("NEAREST is not a convolution filter in Pillow");
        };
    }

    static double filter(Interpolation filter, double x) {
        if (filter == Interpolation.BILINEAR) {
            if (x < 0.0) {
                x = -x;
            }
            if (x < 1.0) {
                return 1.0 - x;
            }
            return 0.0;
        }
        // bicubic_filter with a = -0.5, same operation order as the C source.
        final double a = -0.5;
        if (x < 0.0) {
            x = -x;
        }
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /**
     * Computes the coefficients of outputs {@code [first, first+count)} for resampling {@code inSize} source pixels,
     * box {@code [in0, in1)} (floats, as Pillow parses them), to {@code outSize} outputs.
     */
    void compute(int inSize, float in0, float in1, int outSize, Interpolation filterKind, int first, int count) {
        // Pillow: filterscale = scale = (double)(in1 - in0) / outSize; the subtraction is in float.
        double scale = (double) (in1 - in0) / outSize;
        double filterscale = scale;
        if (filterscale < 1.0) {
            filterscale = 1.0;
        }
        double support = support(filterKind) * filterscale;
        int ks = (int) Math.ceil(support) * 2 + 1;
        ksize = ks;
        if (bounds.length < 2 * count) {
            bounds = new int[2 * count];
            grows++;
        }
        if (kk.length < count * ks) {
            kk = new int[count * ks];
            grows++;
        }
        if (scratch.length < ks) {
            scratch = new double[ks];
            grows++;
        }
        double[] k = scratch;
        double ss = 1.0 / filterscale;
        for (int i = 0; i < count; i++) {
            int xx = first + i;
            double center = in0 + (xx + 0.5) * scale;
            double ww = 0.0;
            // C casts truncate toward zero, as Java's do.
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) {
                xmax = inSize;
            }
            xmax -= xmin;
            int x;
            for (x = 0; x < xmax; x++) {
                double w = filter(filterKind, (x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (x = 0; x < xmax; x++) {
                if (ww != 0.0) {
                    k[x] /= ww;
                }
            }
            for (; x < ks; x++) {
                k[x] = 0;
            }
            bounds[2 * i] = xmin;
            bounds[2 * i + 1] = xmax;
            int base = i * ks;
            for (x = 0; x < ks; x++) {
                double v = k[x];
                kk[base + x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS))
                        : (int) (0.5 + v * (1 << PRECISION_BITS));
            }
        }
        valid = true;
        keyInSize = inSize;
        keyIn0Bits = Float.floatToRawIntBits(in0);
        keyIn1Bits = Float.floatToRawIntBits(in1);
        keyOutSize = outSize;
        keyFilter = filterKind;
        keyFirst = first;
        keyCount = count;
    }
}
