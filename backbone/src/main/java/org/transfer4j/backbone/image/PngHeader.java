package org.transfer4j.backbone.image;

import java.util.Locale;

/**
 * IHDR facts plus a structural walk of the chunks up to the end of the image data. The walk refuses a file whose
 * chunks run past its end before the image data is complete (a truncated PNG, which PIL refuses too), and keeps
 * absurd chunk lengths away from ImageIO, which would otherwise try to read or allocate them.
 */
final class PngHeader {
    final int width;
    final int height;
    final int bitDepth;
    final int colorType;

    private PngHeader(int width, int height, int bitDepth, int colorType) {
        this.width = width;
        this.height = height;
        this.bitDepth = bitDepth;
        this.colorType = colorType;
    }

    static boolean sniff(byte[] b) {
        return b.length >= 8 && (b[0] & 0xFF) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G' && b[4] == '\r'
                && b[5] == '\n' && b[6] == 0x1A && b[7] == '\n';
    }

    /** Reads IHDR (width/height may be 0 or huge: the caller judges them). */
    static PngHeader parseIhdr(byte[] b) {
        if (b.length < 8 + 8 + 13) {
            throw new IllegalArgumentException("the PNG file ends inside its header (IHDR)");
        }
        long len = u32(b, 8);
        if (len != 13 || b[12] != 'I' || b[13] != 'H' || b[14] != 'D' || b[15] != 'R') {
            throw new IllegalArgumentException("the first PNG chunk is not a 13-byte IHDR");
        }
        long w = u32(b, 16);
        long h = u32(b, 20);
        if (w > Integer.MAX_VALUE || h > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "IHDR declares an invalid size %dx%d", w,
                    h));
        }
        return new PngHeader((int) w, (int) h, b[24] & 0xFF, b[25] & 0xFF);
    }

    /**
     * Walks the chunks from IHDR through the last IDAT. Chunks after the image data (text, IEND) are not required:
     * PIL ignores a damaged tail too.
     */
    static void checkChunks(byte[] b) {
        int pos = 8;
        boolean sawIdat = false;
        while (true) {
            if (pos + 8 > b.length) {
                if (sawIdat) {
                    return; // image data complete as far as the chunk structure goes; the inflater judges the rest
                }
                throw new IllegalArgumentException("the PNG file ends before its image data (truncated)");
            }
            long len = u32(b, pos);
            boolean idat = b[pos + 4] == 'I' && b[pos + 5] == 'D' && b[pos + 6] == 'A' && b[pos + 7] == 'T';
            if (sawIdat && !idat) {
                return;
            }
            if (len > Integer.MAX_VALUE || pos + 12L + len > b.length) {
                String type = new String(b, pos + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "chunk '%s' at byte %d declares %d bytes but only %d remain (truncated or corrupt)",
                        printable(type), pos, len, Math.max(0, b.length - pos - 12)));
            }
            sawIdat |= idat;
            if (b[pos + 4] == 'I' && b[pos + 5] == 'E' && b[pos + 6] == 'N' && b[pos + 7] == 'D') {
                throw new IllegalArgumentException("the PNG file has no image data (IEND before any IDAT)");
            }
            pos += 12 + (int) len;
        }
    }

    /**
     * Deflate cannot expand more than 1032:1, so IDAT data smaller than the filtered rows / 1032 cannot hold the
     * image IHDR declares: it is truncated or the size is corrupt. Checked before ImageIO allocates the image.
     */
    void checkDataVolume(byte[] b) {
        int channels = switch (colorType) {
            case 2 -> 3;
            case 4 -> 2;
            case 6 -> 4;
            default -> 1;
        };
        long rowBytes = ((long) width * channels * Math.max(1, bitDepth) + 7) / 8;
        long raw = (long) height * (rowBytes + 1);
        long idat = 0;
        int pos = 8;
        while (pos + 12 <= b.length) {
            long len = u32(b, pos);
            if (b[pos + 4] == 'I' && b[pos + 5] == 'D' && b[pos + 6] == 'A' && b[pos + 7] == 'T') {
                idat += len;
            }
            if (len > b.length) {
                break;
            }
            pos += 12 + (int) len;
        }
        if (idat * 1032 < raw) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "IHDR declares %dx%d pixels (%,d bytes once inflated) but the image data holds only %,d "
                            + "compressed bytes, less than deflate's 1:1032 limit allows (truncated, or a corrupt "
                            + "size field)", width, height, raw, idat));
        }
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            sb.append(c >= 0x20 && c < 0x7F ? c : '?');
        }
        return sb.toString();
    }

    /** Big-endian unsigned 32-bit value at {@code i} (PNG's byte order). */
    static long u32(byte[] b, int i) {
        return ((long) (b[i] & 0xFF) << 24) | ((b[i + 1] & 0xFF) << 16) | ((b[i + 2] & 0xFF) << 8) | (b[i + 3] & 0xFF);
    }
}
