package org.transfer4j.backbone.image;

import java.util.Locale;

/**
 * An oriented 8-bit RGB image: {@code rgb} holds {@code width * height * 3} bytes, row-major, interleaved R,G,B. This
 * is the one pixel type between decoding and preprocessing, the equivalent of PIL's {@code convert("RGB")} result.
 *
 * <p>The array is shared, not copied (images are large and this is a hot path); treat it as read-only.
 *
 * @param width    pixels per row, &gt; 0
 * @param height   rows, &gt; 0
 * @param rgb      the pixels
 * @param warnings non-fatal problems met while decoding (e.g. {@code "truncated"}), empty when none
 */
public record RgbImage(int width, int height, byte[] rgb, java.util.List<String> warnings) {
    public RgbImage {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "image size %dx%d must be positive",
                    width, height));
        }
        if (rgb == null || rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "rgb must hold width*height*3 = %d bytes, has %s", (long) width * height * 3,
                    rgb == null ? "null" : String.valueOf(rgb.length)));
        }
        warnings = warnings == null ? java.util.List.of() : java.util.List.copyOf(warnings);
    }

    public RgbImage(int width, int height, byte[] rgb) {
        this(width, height, rgb, java.util.List.of());
    }

    /** Channel {@code c} (0=R, 1=G, 2=B) at (x, y), 0..255. */
    public int get(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }
}
