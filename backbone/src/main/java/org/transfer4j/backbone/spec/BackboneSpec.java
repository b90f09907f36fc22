package org.transfer4j.backbone.spec;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * Everything needed to feed a backbone and read its features. Normalisation per channel, in the model's channel
 * order: {@code value = (pixel * scale - mean[c]) / std[c]} with {@code pixel} in 0..255.
 *
 * <p>Validated once, here, at construction; every message names the field, the value and what is allowed. Read and
 * written as JSON by {@link SpecJson}. Arrays are copied in and compared by value.
 *
 * @param preset         the preset this spec was made from ({@code torch}, {@code caffe}, {@code tf}) or {@code custom}
 * @param inputName      the model's image input tensor name
 * @param layout         NCHW or NHWC
 * @param height         input height in pixels
 * @param width          input width in pixels
 * @param channelOrder   RGB or BGR
 * @param resize         resize policy
 * @param resizeShorter  target of the shorter side for {@link ResizePolicy#SHORTER_SIDE_THEN_CENTER_CROP}; ignored
 *                       (0) for {@link ResizePolicy#DIRECT}
 * @param interpolation  resampling filter
 * @param scale          multiplier applied to 0..255 pixel values before mean/std
 * @param mean           three per-channel means, in the model's channel order
 * @param std            three per-channel standard deviations, in the model's channel order, all &gt; 0
 * @param outputName     the features output name, or null to choose automatically
 * @param featureDim     feature dimension, or 0 when not yet known
 * @param modelSha256    lowercase hex sha256 of the model file, or null when not yet known
 */
public record BackboneSpec(
        String preset,
        String inputName,
        Layout layout,
        int height,
        int width,
        ChannelOrder channelOrder,
        ResizePolicy resize,
        int resizeShorter,
        Interpolation interpolation,
        double scale,
        double[] mean,
        double[] std,
        String outputName,
        int featureDim,
        String modelSha256) {

    /** PIL's {@code Image.MAX_IMAGE_PIXELS}: larger images are refused before decoding. */
    public static final long DEFAULT_MAX_PIXELS = 89_478_485L;

    public BackboneSpec {
        preset = preset == null ? "custom" : preset;
        require(inputName != null && !inputName.isBlank(), "inputName", inputName, "a non-empty tensor name");
        require(layout != null, "layout", layout, "NCHW or NHWC");
        require(height >= 8 && height <= 8192, "height", height, "8..8192");
        require(width >= 8 && width <= 8192, "width", width, "8..8192");
        require(channelOrder != null, "channelOrder", channelOrder, "RGB or BGR");
        require(resize != null, "resize", resize, "SHORTER_SIDE_THEN_CENTER_CROP or DIRECT");
        if (resize == ResizePolicy.SHORTER_SIDE_THEN_CENTER_CROP) {
            require(resizeShorter >= Math.max(height, width) && resizeShorter <= 16384, "resizeShorter", resizeShorter,
                    "at least max(height, width) = " + Math.max(height, width) + " (the crop must fit)");
        } else {
            resizeShorter = 0;
        }
        require(interpolation != null, "interpolation", interpolation, "NEAREST, BILINEAR or BICUBIC");
        require(Double.isFinite(scale) && scale > 0, "scale", scale, "a finite number > 0");
        require(mean != null && mean.length == 3 && Arrays.stream(mean).allMatch(Double::isFinite), "mean",
                mean == null ? null : Arrays.toString(mean), "three finite numbers");
        require(std != null && std.length == 3 && Arrays.stream(std).allMatch(s -> Double.isFinite(s) && s > 0),
                "std", std == null ? null : Arrays.toString(std), "three finite numbers > 0");
        require(featureDim >= 0, "featureDim", featureDim, ">= 0 (0 = not known yet)");
        require(modelSha256 == null || modelSha256.matches("[0-9a-f]{64}"), "modelSha256", modelSha256,
                "64 lowercase hex digits or absent");
        if (outputName != null && outputName.isBlank()) {
            outputName = null;
        }
        mean = mean.clone();
        std = std.clone();
    }

    private static void require(boolean ok, String field, Object value, String allowed) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "backbone spec field '%s' is %s; allowed: %s", field, value, allowed));
        }
    }

    @Override
    public double[] mean() {
        return mean.clone();
    }

    @Override
    public double[] std() {
        return std.clone();
    }

    /** Mean of channel {@code c} (model channel order) without copying. */
    public double mean(int c) {
        return mean[c];
    }

    /** Std of channel {@code c} (model channel order) without copying. */
    public double std(int c) {
        return std[c];
    }

    /** Number of floats one image occupies in the input tensor. */
    public int floatsPerImage() {
        return 3 * height * width;
    }

    public BackboneSpec withModelSha256(String sha256) {
        return new BackboneSpec(preset, inputName, layout, height, width, channelOrder, resize, resizeShorter,
                interpolation, scale, mean, std, outputName, featureDim, sha256);
    }

    public BackboneSpec withFeatureDim(int dim) {
        return new BackboneSpec(preset, inputName, layout, height, width, channelOrder, resize, resizeShorter,
                interpolation, scale, mean, std, outputName, dim, modelSha256);
    }

    public BackboneSpec withOutputName(String name) {
        return new BackboneSpec(preset, inputName, layout, height, width, channelOrder, resize, resizeShorter,
                interpolation, scale, mean, std, name, featureDim, modelSha256);
    }

    public BackboneSpec withInput(String name, Layout newLayout, int newHeight, int newWidth) {
        int shorter = resize == ResizePolicy.SHORTER_SIDE_THEN_CENTER_CROP
                ? Math.max(resizeShorter * Math.max(newHeight, newWidth) / Math.max(height, width),
                        Math.max(newHeight, newWidth))
                : 0;
        return new BackboneSpec(preset, name, newLayout, newHeight, newWidth, channelOrder, resize, shorter,
                interpolation, scale, mean, std, outputName, featureDim, modelSha256);
    }

    /**
     * True when two specs preprocess images identically and read the same output: everything but the recorded
     * sha256 and feature dimension. Used to decide whether cached features are still valid.
     */
    public boolean samePreprocessing(BackboneSpec o) {
        return inputName.equals(o.inputName) && layout == o.layout && height == o.height && width == o.width
                && channelOrder == o.channelOrder && resize == o.resize && resizeShorter == o.resizeShorter
                && interpolation == o.interpolation && Double.compare(scale, o.scale) == 0
                && Arrays.equals(mean, o.mean) && Arrays.equals(std, o.std)
                && Objects.equals(outputName, o.outputName);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BackboneSpec s && samePreprocessing(s) && preset.equals(s.preset)
                && featureDim == s.featureDim && Objects.equals(modelSha256, s.modelSha256);
    }

    @Override
    public int hashCode() {
        return Objects.hash(preset, inputName, layout, height, width, channelOrder, resize, resizeShorter,
                interpolation, scale, Arrays.hashCode(mean), Arrays.hashCode(std), outputName, featureDim,
                modelSha256);
    }

    @Override
    public String toString() {
        return SpecJson.toJson(this);
    }
}
