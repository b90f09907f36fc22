package org.transfer4j.backbone.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.SampleModel;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Raw samples to 8-bit RGB with PIL's {@code convert("RGB")} rules (Pillow {@code libImaging/Convert.c},
 * {@code PngImagePlugin} rawmodes), never through {@code getRGB}: Java2D would apply colour management (linear gray,
 * ICC profiles) that PIL does not.
 *
 * <ul>
 * <li>gray 8-bit (L): replicated; 1/2/4-bit: scaled to 0..255 (PIL's "1", L;2, L;4 unpackers);
 * <li>16-bit gray without alpha: PIL opens it as mode I, and I&rarr;RGB clips to 0..255 ({@code i2rgb});
 * <li>16-bit gray+alpha and 16-bit RGB(A): PIL's ;16B rawmodes keep the high byte;
 * <li>alpha is dropped, never composited ({@code rgba2rgb}, {@code la2rgb});
 * <li>palette: looked up, transparency ignored ({@code p2rgb});
 * </ul>
 * The one deliberate departure: CMYK goes through an ICC profile ({@link CmykColor}), not PIL's {@code cmyk2rgb}.
 */
final class Pixels {
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final int[] CR_G = new int[256];
    private static final int[] CB_G = new int[256];

    static {
        // libjpeg jdcolor.c build_ycc_rgb_table (SCALEBITS 16); libjpeg-turbo, which PIL uses, is bit-exact to it.
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_R[i] = (int) ((fix(1.40200) * x + (1L << 15)) >> 16);
            CB_B[i] = (int) ((fix(1.77200) * x + (1L << 15)) >> 16);
            CR_G[i] = (int) (-fix(0.71414) * x);
            CB_G[i] = (int) (-fix(0.34414) * x + (1L << 15));
        }
    }

    private Pixels() {
    }

    private static long fix(double v) {
        return (long) (v * 65536 + 0.5);
    }

    private static int clip(int v) {
        return v < 0 ? 0 : (v > 255 ? 255 : v);
    }

    // ------------------------------------------------------------------------------------------------------------
    // JPEG: raw decoded components (readRaster) + libjpeg's colour transform, like PIL (which ignores ICC profiles).

    /**
     * @param icc      the JPEG's embedded ICC profile or null; used for CMYK/YCCK only (PIL ignores it for RGB too)
     * @param warnings receives colour-profile problems
     */
    static byte[] fromJpegRaster(Raster r, JpegHeader.ColorTransform t, byte[] icc, List<String> warnings) {
        int w = r.getWidth();
        int h = r.getHeight();
        int bands = r.getNumBands();
        // CMYK and YCCK first become ink amounts (4 bytes a pixel), then go through a colour profile.
        boolean ink = t.isInk();
        int stride = ink ? 4 : 3;
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), stride)];
        SampleModel sm = r.getSampleModel();
        if (r.getDataBuffer() instanceof DataBufferByte db && sm instanceof ComponentSampleModel csm
                && db.getNumBanks() == 1) {
            byte[] d = db.getData();
            int pix = csm.getPixelStride();
            int scan = csm.getScanlineStride();
            int[] bo = csm.getBandOffsets();
            int base = db.getOffset() - r.getSampleModelTranslateY() * scan - r.getSampleModelTranslateX() * pix;
            if (t == JpegHeader.ColorTransform.YCBCR && bands == 3 && pix == 3 && bo[0] == 0 && bo[1] == 1
                    && bo[2] == 2) {
                // The common case (a colour photo), without the per-pixel dispatch: a sixth of decoding's time.
                ycbcrToRgb(d, base + r.getMinY() * scan + r.getMinX() * pix, scan, w, h, out);
                return out;
            }
            int o = 0;
            for (int y = 0; y < h; y++) {
                int p = base + (r.getMinY() + y) * scan + r.getMinX() * pix;
                for (int x = 0; x < w; x++, p += pix, o += stride) {
                    jpegPixel(t, bands, d[p + bo[0]] & 0xFF, bands > 1 ? d[p + bo[1]] & 0xFF : 0,
                            bands > 2 ? d[p + bo[2]] & 0xFF : 0, bands > 3 ? d[p + bo[3]] & 0xFF : 0, out, o);
                }
            }
            return ink ? CmykColor.toRgb(out, w, h, icc, warnings) : out;
        }
        int[][] rows = new int[bands][w];
        int o = 0;
        for (int y = 0; y < h; y++) {
            for (int b = 0; b < bands; b++) {
                r.getSamples(r.getMinX(), r.getMinY() + y, w, 1, b, rows[b]);
            }
            for (int x = 0; x < w; x++, o += stride) {
                jpegPixel(t, bands, rows[0][x], bands > 1 ? rows[1][x] : 0, bands > 2 ? rows[2][x] : 0,
                        bands > 3 ? rows[3][x] : 0, out, o);
            }
        }
        return ink ? CmykColor.toRgb(out, w, h, icc, warnings) : out;
    }

    /** Interleaved YCbCr rows (3 bytes a pixel) to RGB with libjpeg's tables, as {@link #jpegPixel} does. */
    private static void ycbcrToRgb(byte[] d, int first, int scan, int w, int h, byte[] out) {
        int o = 0;
        for (int y = 0; y < h; y++) {
            int p = first + y * scan;
            for (int x = 0; x < w; x++, p += 3, o += 3) {
                int luma = d[p] & 0xFF;
                int cb = d[p + 1] & 0xFF;
                int cr = d[p + 2] & 0xFF;
                out[o] = (byte) clip(luma + CR_R[cr]);
                out[o + 1] = (byte) clip(luma + ((CB_G[cb] + CR_G[cr]) >> 16));
                out[o + 2] = (byte) clip(luma + CB_B[cb]);
            }
        }
    }

    private static void jpegPixel(JpegHeader.ColorTransform t, int bands, int c0, int c1, int c2, int c3, byte[] out,
            int o) {
        switch (t) {
            case YCBCR:
                out[o] = (byte) clip(c0 + CR_R[c2]);
                out[o + 1] = (byte) clip(c0 + ((CB_G[c1] + CR_G[c2]) >> 16));
                out[o + 2] = (byte) clip(c0 + CB_B[c1]);
                break;
            case RGB:
                out[o] = (byte) c0;
                out[o + 1] = (byte) c1;
                out[o + 2] = (byte) c2;
                break;
            case CMYK:
                // Ink amounts. 4-component JPEGs store CMYK inverted (Adobe's convention, which PIL's "CMYK;I" and
                // libjpeg assume for all of them).
                out[o] = (byte) (255 - c0);
                out[o + 1] = (byte) (255 - c1);
                out[o + 2] = (byte) (255 - c2);
                out[o + 3] = (byte) (255 - c3);
                break;
            case YCCK:
                // libjpeg ycck_cmyk_convert yields 255 - (YCC to RGB) and K as stored, both in the inverted
                // convention; undoing the inversion leaves the YCC-to-RGB value as the ink, and 255 - K.
                out[o] = (byte) clip(c0 + CR_R[c2]);
                out[o + 1] = (byte) clip(c0 + ((CB_G[c1] + CR_G[c2]) >> 16));
                out[o + 2] = (byte) clip(c0 + CB_B[c1]);
                out[o + 3] = (byte) (255 - c3);
                break;
            default: // GRAY, and gray+alpha style oddities: first component as luminance
                out[o] = out[o + 1] = out[o + 2] = (byte) c0;
                break;
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Any BufferedImage (PNG, GIF, BMP, WebP, TIFF, Commons Imaging, caller's images).

    static byte[] fromBufferedImage(BufferedImage img) {
        return fromBufferedImage(img, null, () -> null, new ArrayList<>());
    }

    /**
     * @param grayIsModeI for 16-bit gray: true = PIL mode I (clip to 255), false = high byte (LA;16B); null = decide
     *                    by the presence of alpha. PNG callers pass it from IHDR because ImageIO turns a tRNS colour
     *                    into an alpha band, while PIL keeps such a file in mode I.
     * @param cmykProfile the file's embedded ICC profile (read only for CMYK images), or a supplier of null. Not the
     *                    colour model's colour space: without a profile, readers substitute one that depends on the
     *                    operating system (TwelveMonkeys uses the system's generic CMYK profile where one exists).
     * @param warnings    receives colour-profile problems (CMYK only)
     */
    static byte[] fromBufferedImage(BufferedImage img, Boolean grayIsModeI, Supplier<byte[]> cmykProfile,
            List<String> warnings) {
        ColorModel cm = img.getColorModel();
        Raster r = img.getRaster();
        int w = img.getWidth();
        int h = img.getHeight();
        int dataType = r.getDataBuffer().getDataType();
        boolean integral = dataType == DataBuffer.TYPE_BYTE || dataType == DataBuffer.TYPE_USHORT
                || dataType == DataBuffer.TYPE_INT || dataType == DataBuffer.TYPE_SHORT;
        int csType = cm.getColorSpace().getType();
        int nColor = cm.getNumColorComponents();
        if (!(cm instanceof IndexColorModel) && integral && nColor == 4 && csType == ColorSpace.TYPE_CMYK) {
            return cmykRaster(r, cmykProfile.get(), warnings);
        }
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        if (cm instanceof IndexColorModel icm) {
            palette(r, icm, out);
            return out;
        }
        if (integral && nColor == 1 && csType == ColorSpace.TYPE_GRAY) {
            gray(r, grayIsModeI != null ? grayIsModeI : !cm.hasAlpha(), out);
        } else if (integral && nColor == 3 && csType == ColorSpace.TYPE_RGB) {
            rgb(r, out);
        } else {
            // Other colour spaces (Lab, YCbCr, float rasters): let Java2D convert to sRGB. Rare; slow but correct.
            int[] row = new int[w];
            int o = 0;
            for (int y = 0; y < h; y++) {
                img.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0; x < w; x++, o += 3) {
                    int p = row[x];
                    out[o] = (byte) (p >> 16);
                    out[o + 1] = (byte) (p >> 8);
                    out[o + 2] = (byte) p;
                }
            }
        }
        return out;
    }

    private static void palette(Raster r, IndexColorModel icm, byte[] out) {
        int n = icm.getMapSize();
        byte[] reds = new byte[256];
        byte[] greens = new byte[256];
        byte[] blues = new byte[256];
        byte[] tmp = new byte[n];
        icm.getReds(tmp);
        System.arraycopy(tmp, 0, reds, 0, Math.min(n, 256));
        icm.getGreens(tmp);
        System.arraycopy(tmp, 0, greens, 0, Math.min(n, 256));
        icm.getBlues(tmp);
        System.arraycopy(tmp, 0, blues, 0, Math.min(n, 256));
        int w = r.getWidth();
        int h = r.getHeight();
        int[] row = new int[w];
        int o = 0;
        for (int y = 0; y < h; y++) {
            r.getSamples(r.getMinX(), r.getMinY() + y, w, 1, 0, row);
            for (int x = 0; x < w; x++, o += 3) {
                int i = row[x] & 0xFF; // indices beyond the palette read as black, as in PIL
                out[o] = reds[i];
                out[o + 1] = greens[i];
                out[o + 2] = blues[i];
            }
        }
    }

    /** Scales a sample of {@code bits} bits to 8 bits the way PIL's unpackers do for that depth. */
    private static int[] scaleTable(int bits, boolean clipInsteadOfShift) {
        if (bits > 16) {
            return null;
        }
        int max = (1 << bits) - 1;
        int[] t = new int[max + 1];
        for (int v = 0; v <= max; v++) {
            if (bits == 8) {
                t[v] = v;
            } else if (bits < 8) {
                t[v] = v * 255 / max;
            } else if (clipInsteadOfShift) {
                t[v] = Math.min(v, 255);
            } else {
                t[v] = v >> (bits - 8);
            }
        }
        return t;
    }

    private static int scale(int[] table, int bits, int v) {
        if (table != null) {
            return table[v & ((1 << bits) - 1)];
        }
        return clip(v); // 32-bit integer gray (PIL mode I): clip like i2rgb
    }

    private static void gray(Raster r, boolean modeI, byte[] out) {
        int w = r.getWidth();
        int h = r.getHeight();
        int bits = r.getSampleModel().getSampleSize(0);
        // 16-bit gray alone is PIL mode I (clip); with alpha it is read through LA;16B (high byte).
        int[] table = scaleTable(bits, modeI);
        int[] row = new int[w];
        int o = 0;
        for (int y = 0; y < h; y++) {
            r.getSamples(r.getMinX(), r.getMinY() + y, w, 1, 0, row);
            for (int x = 0; x < w; x++, o += 3) {
                byte v = (byte) scale(table, bits, row[x]);
                out[o] = v;
                out[o + 1] = v;
                out[o + 2] = v;
            }
        }
    }

    private static void rgb(Raster r, byte[] out) {
        int w = r.getWidth();
        int h = r.getHeight();
        SampleModel sm = r.getSampleModel();
        if (r.getDataBuffer() instanceof DataBufferByte db && sm instanceof ComponentSampleModel csm
                && db.getNumBanks() == 1 && sm.getSampleSize(0) == 8 && sm.getSampleSize(1) == 8
                && sm.getSampleSize(2) == 8) {
            // Hot path (TYPE_3BYTE_BGR, TYPE_4BYTE_ABGR, byte RGB/RGBA): straight from the backing array.
            byte[] d = db.getData();
            int pix = csm.getPixelStride();
            int scan = csm.getScanlineStride();
            int[] bo = csm.getBandOffsets();
            int b0 = bo[0];
            int b1 = bo[1];
            int b2 = bo[2];
            int base = db.getOffset() - r.getSampleModelTranslateY() * scan - r.getSampleModelTranslateX() * pix;
            int o = 0;
            for (int y = 0; y < h; y++) {
                int p = base + (r.getMinY() + y) * scan + r.getMinX() * pix;
                for (int x = 0; x < w; x++, p += pix, o += 3) {
                    out[o] = d[p + b0];
                    out[o + 1] = d[p + b1];
                    out[o + 2] = d[p + b2];
                }
            }
            return;
        }
        int[][] tables = new int[3][];
        int[] bits = new int[3];
        for (int b = 0; b < 3; b++) {
            bits[b] = sm.getSampleSize(b);
            tables[b] = scaleTable(bits[b], false);
        }
        int[][] rows = new int[3][w];
        int o = 0;
        for (int y = 0; y < h; y++) {
            for (int b = 0; b < 3; b++) {
                r.getSamples(r.getMinX(), r.getMinY() + y, w, 1, b, rows[b]);
            }
            for (int x = 0; x < w; x++, o += 3) {
                out[o] = (byte) scale(tables[0], bits[0], rows[0][x]);
                out[o + 1] = (byte) scale(tables[1], bits[1], rows[1][x]);
                out[o + 2] = (byte) scale(tables[2], bits[2], rows[2][x]);
            }
        }
    }

    private static byte[] cmykRaster(Raster r, byte[] icc, List<String> warnings) {
        int w = r.getWidth();
        int h = r.getHeight();
        SampleModel sm = r.getSampleModel();
        int[][] tables = new int[4][];
        int[] bits = new int[4];
        for (int b = 0; b < 4; b++) {
            bits[b] = sm.getSampleSize(b);
            tables[b] = scaleTable(bits[b], false);
        }
        byte[] ink = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 4)];
        int[][] rows = new int[4][w];
        int o = 0;
        for (int y = 0; y < h; y++) {
            for (int b = 0; b < 4; b++) {
                r.getSamples(r.getMinX(), r.getMinY() + y, w, 1, b, rows[b]);
            }
            for (int x = 0; x < w; x++) {
                for (int b = 0; b < 4; b++) {
                    ink[o++] = (byte) scale(tables[b], bits[b], rows[b][x]);
                }
            }
        }
        return CmykColor.toRgb(ink, w, h, icc, warnings);
    }

    // ------------------------------------------------------------------------------------------------------------
    // EXIF orientation (values 2..8), as PIL's ImageOps.exif_transpose.

    /** Output width after orientation {@code o}. */
    static int orientedWidth(int w, int h, int o) {
        return o >= 5 && o <= 8 ? h : w;
    }

    static byte[] orient(byte[] src, int w, int h, int o) {
        if (o < 2 || o > 8) {
            return src;
        }
        int ow = orientedWidth(w, h, o);
        int oh = o >= 5 ? w : h;
        byte[] out = new byte[src.length];
        int q = 0;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++, q += 3) {
                int sx;
                int sy;
                switch (o) {
                    case 2: sx = w - 1 - ox; sy = oy; break;             // mirror horizontal
                    case 3: sx = w - 1 - ox; sy = h - 1 - oy; break;     // rotate 180
                    case 4: sx = ox; sy = h - 1 - oy; break;             // mirror vertical
                    case 5: sx = oy; sy = ox; break;                     // transpose
                    case 6: sx = oy; sy = h - 1 - ox; break;             // rotate 90 clockwise
                    case 7: sx = w - 1 - oy; sy = h - 1 - ox; break;     // transverse
                    default: sx = w - 1 - oy; sy = ox; break;            // 8: rotate 90 counter-clockwise
                }
                int p = (sy * w + sx) * 3;
                out[q] = src[p];
                out[q + 1] = src[p + 1];
                out[q + 2] = src[p + 2];
            }
        }
        return out;
    }
}
