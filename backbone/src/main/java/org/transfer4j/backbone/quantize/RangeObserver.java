package org.transfer4j.backbone.quantize;

/**
 * What calibration keeps of one tensor while images stream through: its minimum, maximum and (for the histogram
 * methods) a histogram of absolute values, never the values themselves.
 *
 * <p>The histogram has {@value #BINS} bins of equal width starting at 0. The width is set by the first non-zero
 * values; when a later value lies beyond the last bin, the width doubles and neighbouring bins are added together,
 * which is exact (old edges are new edges), so memory stays fixed and the result depends only on the values and their
 * order. Calibration feeds images in a fixed order, hence the same images give the same ranges.
 */
final class RangeObserver {
    /** Histogram bins; the range found by a histogram method is resolved to 1/1024..1/2048 of the largest |x|. */
    static final int BINS = 2048;
    /** ONNX Runtime's default percentile of |x| kept by {@link CalibrationMethod#PERCENTILE}. */
    static final double PERCENTILE = 99.999;

    private final long[] hist;
    private double width;
    private long pendingZeros;
    private float min = Float.POSITIVE_INFINITY;
    private float max = Float.NEGATIVE_INFINITY;
    private long values;
    private long nonFinite;

    /** @param histogram keep a histogram (percentile and entropy need one; min/max does not) */
    RangeObserver(boolean histogram) {
        this.hist = histogram ? new long[BINS] : null;
    }

    /** Adds {@code n} values. */
    void observe(float[] a, int n) {
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        float maxAbs = 0f;
        for (int i = 0; i < n; i++) {
            float v = a[i];
            if (!Float.isFinite(v)) {
                nonFinite++;
                continue;
            }
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        min = Math.min(min, lo);
        max = Math.max(max, hi);
        values += n;
        if (hist == null) {
            return;
        }
        if (width == 0) {
            if (maxAbs == 0f) {
                pendingZeros += n;
                return;
            }
            width = maxAbs / (double) (BINS - 1);
            hist[0] += pendingZeros;
            pendingZeros = 0;
        }
        while (maxAbs >= width * BINS) {
            for (int i = 0; i < BINS / 2; i++) {
                hist[i] = hist[2 * i] + hist[2 * i + 1];
            }
            java.util.Arrays.fill(hist, BINS / 2, BINS, 0L);
            width *= 2;
        }
        double inv = 1.0 / width;
        for (int i = 0; i < n; i++) {
            float v = a[i];
            if (Float.isFinite(v)) {
                int bin = (int) (Math.abs(v) * inv);
                hist[Math.min(bin, BINS - 1)]++;
            }
        }
    }

    long values() {
        return values;
    }

    long nonFinite() {
        return nonFinite;
    }

    float min() {
        return min;
    }

    float max() {
        return max;
    }

    /** The range {@code [lo, hi]} the method chooses; [0, 0] when nothing finite was seen. */
    float[] range(CalibrationMethod method) {
        if (min > max) {
            return new float[] {0f, 0f};
        }
        if (method == CalibrationMethod.MINMAX || width == 0) {
            return new float[] {min, max};
        }
        double limit = method == CalibrationMethod.PERCENTILE ? percentileLimit() : entropyLimit();
        return new float[] {(float) Math.max(min, -limit), (float) Math.min(max, limit)};
    }

    /** The upper edge of the bin where the cumulative count reaches {@value #PERCENTILE}% of all values. */
    private double percentileLimit() {
        long total = 0;
        for (long c : hist) {
            total += c;
        }
        double target = total * (PERCENTILE / 100.0);
        long cumulative = 0;
        for (int i = 0; i < BINS; i++) {
            cumulative += hist[i];
            if (cumulative >= target) {
                return (i + 1) * width;
            }
        }
        return BINS * width;
    }

    /**
     * TensorRT's entropy calibration on the |x| histogram: for each candidate limit of i bins, p is the histogram
     * clipped there (the clipped counts piled onto its last bin) and q is p as it survives quantization into as many
     * levels as the tensor gets; the limit with the smallest KL(p || q) wins.
     */
    private double entropyLimit() {
        int levels = min >= 0 ? 255 : 127;
        // A histogram much finer than the quantizer only measures sampling noise (sparse bins make every merge look
        // costly and push the limit down), so bins are paired until there are at most 4 per level: the limit can
        // then clip at most the top 3/4 of the range.
        long[] h = hist.clone();
        int used = BINS;
        double w = width;
        while (used > 1 && h[used - 1] == 0) {
            used--;
        }
        while (used > 4 * levels) {
            for (int i = 0; i < (used + 1) / 2; i++) {
                h[i] = h[2 * i] + (2 * i + 1 < used ? h[2 * i + 1] : 0);
            }
            java.util.Arrays.fill(h, (used + 1) / 2, used, 0L);
            used = (used + 1) / 2;
            w *= 2;
        }
        if (used <= levels) {
            return used * w;
        }
        long[] suffix = new long[used + 1];
        for (int i = used - 1; i >= 0; i--) {
            suffix[i] = suffix[i + 1] + h[i];
        }
        double bestKl = Double.POSITIVE_INFINITY;
        int best = used;
        double[] q = new double[used];
        for (int i = levels; i <= used; i++) {
            // p: h[0..i) with the outliers on the last bin; q: p's mass spread over the non-empty bins of each level.
            double pTotal = suffix[0];
            double qTotal = 0;
            for (int g = 0; g < levels; g++) {
                int start = (int) ((long) g * i / levels);
                int end = (int) ((long) (g + 1) * i / levels);
                long mass = 0;
                int nonEmpty = 0;
                for (int j = start; j < end; j++) {
                    mass += h[j];
                    if (clipped(h, j, i, suffix) != 0) {
                        nonEmpty++;
                    }
                }
                for (int j = start; j < end; j++) {
                    q[j] = nonEmpty == 0 || clipped(h, j, i, suffix) == 0 ? 0 : (double) mass / nonEmpty;
                    qTotal += q[j];
                }
            }
            double kl = 0;
            for (int j = 0; j < i; j++) {
                long pj = clipped(h, j, i, suffix);
                if (pj == 0) {
                    continue;
                }
                double pn = pj / pTotal;
                // A level emptied by clipping would make the divergence infinite; a tiny mass stands in (smoothing).
                double qn = q[j] > 0 ? q[j] / qTotal : 1e-12;
                kl += pn * Math.log(pn / qn);
            }
            if (kl < bestKl) {
                bestKl = kl;
                best = i;
            }
        }
        return best * w;
    }

    /** Count of bin j of histogram h clipped at i bins (bin i-1 also holds everything beyond). */
    private static long clipped(long[] h, int j, int i, long[] suffix) {
        return j == i - 1 ? suffix[j] : h[j];
    }
}
