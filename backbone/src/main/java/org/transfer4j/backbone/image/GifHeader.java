package org.transfer4j.backbone.image;

import java.util.Locale;

/**
 * The logical screen and the first frame's placement, read before decoding. PIL sizes a GIF as the logical screen
 * grown to hold the first frame, and checks its pixel limit on that size; ImageIO reports only the frame. A 44-byte
 * file can place a 65535x1321 frame at row 65280 of a 32x32 screen (4.36 gigapixels for PIL), so the limit must be
 * checked on the canvas computed here.
 */
final class GifHeader {
    final int screenWidth;
    final int screenHeight;
    final int frameLeft;
    final int frameTop;
    final int frameWidth;
    final int frameHeight;
    /** Transparent palette index from the first frame's graphic control extension, or -1. */
    final int transparentIndex;

    private GifHeader(int sw, int sh, int left, int top, int fw, int fh, int transparentIndex) {
        this.screenWidth = sw;
        this.screenHeight = sh;
        this.frameLeft = left;
        this.frameTop = top;
        this.frameWidth = fw;
        this.frameHeight = fh;
        this.transparentIndex = transparentIndex;
    }

    static boolean sniff(byte[] b) {
        return b.length >= 6 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F' && b[3] == '8'
                && (b[4] == '7' || b[4] == '9') && b[5] == 'a';
    }

    /** Width of the canvas PIL would allocate for frame 0. */
    int canvasWidth() {
        return Math.max(screenWidth, frameLeft + frameWidth);
    }

    int canvasHeight() {
        return Math.max(screenHeight, frameTop + frameHeight);
    }

    static GifHeader parse(byte[] b) {
        if (b.length < 13) {
            throw new IllegalArgumentException("the GIF file ends inside its 13-byte screen descriptor");
        }
        int sw = u16(b, 6);
        int sh = u16(b, 8);
        int flags = b[10] & 0xFF;
        int pos = 13;
        if ((flags & 0x80) != 0) {
            pos += 3 << ((flags & 7) + 1);
        }
        int transparent = -1;
        while (true) {
            if (pos >= b.length) {
                throw new IllegalArgumentException("the GIF file ends before its first image (truncated)");
            }
            int block = b[pos] & 0xFF;
            if (block == 0x2C) {
                if (pos + 10 > b.length) {
                    throw new IllegalArgumentException("the GIF file ends inside the first image descriptor");
                }
                return new GifHeader(sw, sh, u16(b, pos + 1), u16(b, pos + 3), u16(b, pos + 5), u16(b, pos + 7),
                        transparent);
            } else if (block == 0x21) {
                if (pos + 2 > b.length) {
                    throw new IllegalArgumentException("the GIF file ends inside an extension block");
                }
                int label = b[pos + 1] & 0xFF;
                pos += 2;
                boolean first = true;
                while (true) {
                    if (pos >= b.length) {
                        throw new IllegalArgumentException("the GIF file ends inside an extension block");
                    }
                    int size = b[pos] & 0xFF;
                    if (size == 0) {
                        pos++;
                        break;
                    }
                    if (first && label == 0xF9 && size >= 4 && pos + 5 <= b.length) {
                        transparent = (b[pos + 1] & 1) != 0 ? b[pos + 4] & 0xFF : -1;
                    }
                    first = false;
                    pos += 1 + size;
                }
            } else if (block == 0x3B) {
                throw new IllegalArgumentException("the GIF file holds no image (trailer before any frame)");
            } else {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "unexpected GIF block 0x%02X at byte %d", block, pos));
            }
        }
    }

    private static int u16(byte[] b, int i) {
        return (b[i] & 0xFF) | ((b[i + 1] & 0xFF) << 8);
    }
}
