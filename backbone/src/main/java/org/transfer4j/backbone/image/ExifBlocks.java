package org.transfer4j.backbone.image;

/**
 * Where a file's EXIF data (a TIFF structure whose IFD0 holds the Orientation tag) lives, for the formats besides
 * JPEG whose EXIF Pillow's {@code getexif()} reads and {@code ImageOps.exif_transpose} honours: a TIFF file is its
 * own EXIF, PNG has an {@code eXIf} chunk (the last one counts), WebP an {@code EXIF} chunk (only in the extended
 * format, VP8X with its EXIF flag, as libwebp's demuxer requires). Every length is checked against the file.
 *
 * <p>The Orientation tag is read from IFD0 by hand, like Pillow's {@code getexif()}: no other IFD is followed and no
 * tag value is loaded, so a hostile block (entries all pointing at the same large region, truncated sub-IFDs) costs
 * nothing and cannot lose the image.
 */
final class ExifBlocks {
    private ExifBlocks() {
    }

    /** {offset, length} of the EXIF TIFF structure in {@code b}, or null when the file has none. */
    static int[] find(byte[] b) {
        if (isTiff(b, 0, b.length)) {
            return new int[] {0, b.length};
        }
        if (PngHeader.sniff(b)) {
            return png(b);
        }
        if (isWebp(b)) {
            return webp(b);
        }
        return null;
    }

    /** A RIFF container of type WEBP. */
    static boolean isWebp(byte[] b) {
        return b.length >= 12 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F' && b[8] == 'W'
                && b[9] == 'E' && b[10] == 'B' && b[11] == 'P';
    }

    private static boolean isTiff(byte[] b, int at, int len) {
        return len >= 8 && ((b[at] == 'I' && b[at + 1] == 'I' && b[at + 2] == 42 && b[at + 3] == 0)
                || (b[at] == 'M' && b[at + 1] == 'M' && b[at + 2] == 0 && b[at + 3] == 42));
    }

    private static int[] png(byte[] b) {
        int[] last = null;
        long pos = 8;
        while (pos + 8 <= b.length) {
            long len = PngHeader.u32(b, (int) pos);
            int type = (int) pos + 4;
            long data = pos + 8;
            if (data + len > b.length) {
                return last;
            }
            if (b[type] == 'e' && b[type + 1] == 'X' && b[type + 2] == 'I' && b[type + 3] == 'f') {
                last = exifAt(b, (int) data, (int) len);
            }
            if (b[type] == 'I' && b[type + 1] == 'E' && b[type + 2] == 'N' && b[type + 3] == 'D') {
                return last;
            }
            pos = data + len + 4; // data, then CRC
        }
        return last;
    }

    private static int[] webp(byte[] b) {
        // Only the extended format carries metadata, and its VP8X header says whether an EXIF chunk is there.
        if (b.length < 30 || b[12] != 'V' || b[13] != 'P' || b[14] != '8' || b[15] != 'X' || (b[20] & 0x08) == 0) {
            return null;
        }
        long end = Math.min(b.length, 8 + u32le(b, 4)); // the RIFF size bounds the chunks
        long pos = 12;
        while (pos + 8 <= end) {
            int p = (int) pos;
            long len = u32le(b, p + 4);
            long data = pos + 8;
            if (data + len > end) {
                return null;
            }
            if (b[p] == 'E' && b[p + 1] == 'X' && b[p + 2] == 'I' && b[p + 3] == 'F') {
                return exifAt(b, (int) data, (int) len);
            }
            pos = data + len + (len & 1); // chunks are padded to an even size
        }
        return null;
    }

    private static long u32le(byte[] b, int p) {
        return (b[p] & 0xFFL) | ((b[p + 1] & 0xFFL) << 8) | ((b[p + 2] & 0xFFL) << 16) | ((b[p + 3] & 0xFFL) << 24);
    }

    /**
     * The Orientation tag (0x0112) of IFD0 of the TIFF structure {@code b[off .. off+len)}, or 0 when IFD0 has none.
     *
     * @throws IllegalArgumentException naming the defect when the structure cannot be read
     */
    static int orientation(byte[] b, int off, int len) {
        if (len < 8 || !isTiff(b, off, len)) {
            throw new IllegalArgumentException("not a TIFF structure (" + len + " bytes)");
        }
        boolean le = b[off] == 'I';
        long ifd = u32(b, off + 4, le);
        if (ifd < 8 || ifd + 2 > len) {
            throw new IllegalArgumentException("IFD0 offset " + ifd + " is outside the " + len + "-byte block");
        }
        int at = off + (int) ifd;
        int entries = u16(b, at, le);
        if (ifd + 2 + 12L * entries > len) {
            throw new IllegalArgumentException("IFD0 declares " + entries + " entries but the block ends after "
                    + (len - ifd - 2) / 12);
        }
        for (int i = 0; i < entries; i++) {
            int e = at + 2 + 12 * i;
            if (u16(b, e, le) != 0x0112) {
                continue;
            }
            int type = u16(b, e + 2, le);
            long count = u32(b, e + 4, le);
            if (count < 1) {
                throw new IllegalArgumentException("the Orientation tag has no value");
            }
            switch (type) {
                case 3: // SHORT, the type the standard gives it; the value sits in the entry's first two bytes
                    return u16(b, e + 8, le);
                case 4: // LONG
                    return (int) Math.min(Integer.MAX_VALUE, u32(b, e + 8, le));
                case 1: // BYTE
                    return b[e + 8] & 0xFF;
                default:
                    throw new IllegalArgumentException("the Orientation tag has TIFF type " + type);
            }
        }
        return 0;
    }

    private static int u16(byte[] b, int p, boolean le) {
        return le ? (b[p] & 0xFF) | ((b[p + 1] & 0xFF) << 8) : ((b[p] & 0xFF) << 8) | (b[p + 1] & 0xFF);
    }

    private static long u32(byte[] b, int p, boolean le) {
        return le ? u32le(b, p) : PngHeader.u32(b, p);
    }

    /** The TIFF structure at {@code at}, skipping the "Exif\0\0" prefix some writers put in front of it. */
    private static int[] exifAt(byte[] b, int at, int len) {
        if (len >= 6 && b[at] == 'E' && b[at + 1] == 'x' && b[at + 2] == 'i' && b[at + 3] == 'f' && b[at + 4] == 0
                && b[at + 5] == 0) {
            at += 6;
            len -= 6;
        }
        return isTiff(b, at, len) ? new int[] {at, len} : null;
    }
}
