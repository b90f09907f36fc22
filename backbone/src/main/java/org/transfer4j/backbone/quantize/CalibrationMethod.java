package org.transfer4j.backbone.quantize;

import java.util.Locale;

/**
 * How an activation's quantization range is chosen from what calibration saw. All three look at the same streamed
 * statistics of each tensor: its minimum, maximum and a histogram of absolute values ({@link RangeObserver}).
 */
public enum CalibrationMethod {
    /** The smallest and largest value seen: nothing is clipped, so one outlier widens every step. */
    MINMAX,
    /**
     * The 99.999th percentile of |x| as the symmetric limit, clipped to the values seen (ONNX Runtime's default
     * percentile calibration): a few extreme values are clipped to give the rest finer steps.
     */
    PERCENTILE,
    /**
     * The limit whose quantized histogram is closest to the real one in KL divergence (TensorRT's entropy
     * calibration), with as many quantized levels as the tensor gets: 255 for non-negative tensors, 127 otherwise.
     */
    ENTROPY;

    /** The lower-case name used on the command line and in metadata. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }
}
