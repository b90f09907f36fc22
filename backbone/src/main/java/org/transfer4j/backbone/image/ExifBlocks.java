package org.transfer4j.backbone.image;

/**
 * Where a file's EXIF data (a TIFF structure whose IFD0 holds the Orientation tag) lives, for the formats besides
 * JPEG whose EXIF Pillow's {@code getexif()} reads and {@code ImageOps.exif_transpose} honours: a TIFF file is its
 * own EXIF, PNG has an {@code eXIf} chunk, WebP an {@code EXIF} chunk. Only the container is walked here, with every
 * length checked against the file; the TIFF structure itself is parsed by the caller.
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
        if (b.length >= 12 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F' && b[8] == 'W'
                && b[9] == 'E' && b[10] == 'B' && b[11] == 'P') {
            return webp(b);
        }
        return null;
    }

    private static boolean isTiff(byte[] b, int at, int len) {
        return len >= 8 && ((b[at] == 'I' && b[at + 1] == 'I' && b[at + 2] == 42 && b[at + 3] == 0)
                || (b[at] == 'M' && b[at + 1] == 'M' && b[at + 2] == 0 && b[at + 3] == 42));
    }

    private static int[] png(byte[] b) {
        long pos = 8;
        while (pos + 8 <= b.length) {
            long len = ((b[(int) pos] & 0xFFL) << 24) | ((b[(int) pos + 1] & 0xFF) << 16)
                    | ((b[(int) pos + 2] & 0xFF) << 8) | (b[(int) pos + 3] & 0xFF);
            int type = (int) pos + 4;
            long data = pos + 8;
            if (data + len > b.length) {
                return null;
            }
            if (b[type] == 'e' && b[type + 1] == 'X' && b[type + 2] == 'I' && b[type + 3] == 'f') {
                return exifAt(b, (int) data, (int) len);
            }
            if (b[type] == 'I' && b[type + 1] == 'E' && b[type + 2] == 'N' && b[type + 3] == 'D') {
                return null;
            }
            pos = data + len + 4; // data, then CRC
        }
        return null;
    }

    private static int[] webp(byte[] b) {
        long pos = 12;
        while (pos + 8 <= b.length) {
            int p = (int) pos;
            long len = (b[p + 4] & 0xFFL) | ((b[p + 5] & 0xFF) << 8) | ((b[p + 6] & 0xFF) << 16)
                    | ((b[p + 7] & 0xFFL) << 24);
            long data = pos + 8;
            if (data + len > b.length) {
                return null;
            }
            if (b[p] == 'E' && b[p + 1] == 'X' && b[p + 2] == 'I' && b[p + 3] == 'F') {
                return exifAt(b, (int) data, (int) len);
            }
            pos = data + len + (len & 1); // chunks are padded to an even size
        }
        return null;
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
