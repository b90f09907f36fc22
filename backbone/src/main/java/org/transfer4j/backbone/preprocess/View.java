package org.transfer4j.backbone.preprocess;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * One augmented view of an image: a crop box in source pixels, resized straight to the model's input size, then
 * optionally mirrored left to right. {@link #random} draws torchvision's {@code RandomResizedCrop} followed by
 * {@code RandomHorizontalFlip}; the cache stores the view beside each row so a feature can be traced to its pixels.
 *
 * @param x    left edge of the box, source pixels, &ge; 0
 * @param y    top edge of the box, source pixels, &ge; 0
 * @param w    box width, &gt; 0; {@code x + w} must not pass the image's width
 * @param h    box height, &gt; 0; {@code y + h} must not pass the image's height
 * @param flip mirror the resized view horizontally
 */
public record View(double x, double y, double w, double h, boolean flip) {
    /** torchvision {@code RandomResizedCrop} defaults. */
    static final double SCALE_MIN = 0.08;
    static final double SCALE_MAX = 1.0;
    static final double RATIO_MIN = 3.0 / 4.0;
    static final double RATIO_MAX = 4.0 / 3.0;

    public View {
        if (!(Double.isFinite(x) && Double.isFinite(y) && x >= 0 && y >= 0 && Double.isFinite(w)
                && Double.isFinite(h) && w > 0 && h > 0)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "view box x=%s y=%s w=%s h=%s: need finite x, y >= 0 and w, h > 0", x, y, w, h));
        }
    }

    /** The whole image, unflipped. */
    public static View whole(int imageWidth, int imageHeight) {
        return new View(0, 0, imageWidth, imageHeight, false);
    }

    /** True when the box lies inside an image of the given size. */
    public boolean fits(int imageWidth, int imageHeight) {
        return x + w <= imageWidth && y + h <= imageHeight;
    }

    /**
     * torchvision 0.14 {@code RandomResizedCrop.get_params} (scale (0.08, 1), ratio (3/4, 4/3), ten tries, then the
     * central crop fallback) and a horizontal flip with probability 1/2, all drawn from one
     * {@code SplittableRandom(seed)}: the same seed and size always give the same view. The numbers follow torch's
     * float32 arithmetic for the sampled area fraction and aspect ratio, and Python's round-half-even; the random
     * stream itself is Java's, not torch's.
     */
    public static View random(long seed, int imageWidth, int imageHeight) {
        if (imageWidth <= 0 || imageHeight <= 0) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "image size %dx%d must be positive", imageWidth, imageHeight));
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        int width = imageWidth;
        int height = imageHeight;
        double area = (double) height * width;
        // log_ratio = torch.log(torch.tensor(ratio)): float32 tensor.
        float logLo = (float) Math.log((float) RATIO_MIN);
        float logHi = (float) Math.log((float) RATIO_MAX);
        for (int attempt = 0; attempt < 10; attempt++) {
            double targetArea = area * uniformF(rnd, (float) SCALE_MIN, (float) SCALE_MAX);
            double aspect = (float) Math.exp(uniformF(rnd, logLo, logHi));
            int cw = (int) Math.rint(Math.sqrt(targetArea * aspect));
            int ch = (int) Math.rint(Math.sqrt(targetArea / aspect));
            if (0 < cw && cw <= width && 0 < ch && ch <= height) {
                int i = rnd.nextInt(height - ch + 1);
                int j = rnd.nextInt(width - cw + 1);
                return new View(j, i, cw, ch, rnd.nextDouble() < 0.5);
            }
        }
        // Fallback to central crop.
        double inRatio = (double) width / height;
        int cw;
        int ch;
        if (inRatio < RATIO_MIN) {
            cw = width;
            ch = (int) Math.rint(cw / RATIO_MIN);
        } else if (inRatio > RATIO_MAX) {
            ch = height;
            cw = (int) Math.rint(ch * RATIO_MAX);
        } else {
            cw = width;
            ch = height;
        }
        int i = (height - ch) / 2;
        int j = (width - cw) / 2;
        return new View(j, i, cw, ch, rnd.nextDouble() < 0.5);
    }

    /** torch's {@code uniform_(from, to)} on a float32 tensor: {@code from + (to - from) * u}, u in [0, 1). */
    private static float uniformF(SplittableRandom rnd, float from, float to) {
        float u = (rnd.nextInt() >>> 8) * 0x1.0p-24f;
        return from + (to - from) * u;
    }
}
