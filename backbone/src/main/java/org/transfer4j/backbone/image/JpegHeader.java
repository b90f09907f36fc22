package org.transfer4j.backbone.image;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The few JPEG header facts decoding needs, read from the marker segments before any pixel is decoded: frame size
 * (for the pixel limit), component count and ids, JFIF/Adobe markers (to pick the colour transform exactly as libjpeg
 * does, since we take the raw raster and convert ourselves), where the EXIF block is (for orientation) and where the
 * pieces of an embedded ICC profile are (used for CMYK).
 *
 * <p>The walk is tolerant like libjpeg's {@code next_marker}: junk bytes between segments are skipped. It only reads
 * up to the first SOS, so its cost does not depend on the image size.
 */
final class JpegHeader {
    /** How libjpeg would interpret the components (jdapimin.c {@code default_decompress_parms}). */
    enum ColorTransform {
        GRAY, YCBCR, RGB, CMYK, YCCK, OTHER;

        /** Whether the components are press ink (CMYK, or YCCK's encoding of it), to be colour-managed. */
        boolean isInk() {
            return this == CMYK || this == YCCK;
        }
    }

    final int width;
    final int height;
    final int components;
    final int sofMarker;
    final boolean jfif;
    /** Adobe APP14 transform flag, or -1 without an APP14 segment. */
    final int adobeTransform;
    final int[] componentIds;
    /** Offset and length of the TIFF structure inside the first APP1 "Exif" segment; length 0 when absent. */
    final int exifOffset;
    final int exifLength;
    /** APP2 "ICC_PROFILE" chunks as {sequence number, chunk count, data offset, data length}, in file order. */
    private final List<int[]> iccChunks;

    private JpegHeader(int width, int height, int components, int sofMarker, boolean jfif, int adobeTransform,
            int[] componentIds, int exifOffset, int exifLength, List<int[]> iccChunks) {
        this.width = width;
        this.height = height;
        this.components = components;
        this.sofMarker = sofMarker;
        this.jfif = jfif;
        this.adobeTransform = adobeTransform;
        this.componentIds = componentIds;
        this.exifOffset = exifOffset;
        this.exifLength = exifLength;
        this.iccChunks = iccChunks;
    }

    static boolean sniff(byte[] b) {
        return b.length >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF;
    }

    /** Parses the header; a message describing the defect is thrown as {@link IllegalArgumentException}. */
    static JpegHeader parse(byte[] b) {
        int pos = 2;
        boolean jfif = false;
        int adobe = -1;
        int exifOff = 0;
        int exifLen = 0;
        List<int[]> icc = new ArrayList<>();
        while (true) {
            // Find the next marker: skip junk until 0xFF, then skip fill bytes (0xFF 0xFF ...).
            while (pos < b.length && (b[pos] & 0xFF) != 0xFF) {
                pos++;
            }
            while (pos < b.length && (b[pos] & 0xFF) == 0xFF) {
                pos++;
            }
            if (pos >= b.length) {
                throw new IllegalArgumentException("the JPEG header ends before a frame header (SOF) was found");
            }
            int marker = b[pos] & 0xFF;
            pos++;
            if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
                continue; // stuffed byte, TEM or RSTn: no length field
            }
            if (marker == 0xD8) {
                continue;
            }
            if (marker == 0xD9 || marker == 0xDA) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "marker 0x%02X before any frame header (SOF): not a decodable JPEG", marker));
            }
            if (pos + 2 > b.length) {
                throw new IllegalArgumentException("the JPEG header is truncated inside a segment length");
            }
            int len = ((b[pos] & 0xFF) << 8) | (b[pos + 1] & 0xFF);
            if (len < 2) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "segment 0x%02X declares an impossible length %d", marker, len));
            }
            int start = pos + 2;
            int end = pos + len;
            if (end > b.length) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "segment 0x%02X declares %d bytes but the file ends after %d (truncated header)", marker,
                        len, b.length - pos));
            }
            if (isSof(marker)) {
                if (len < 8) {
                    throw new IllegalArgumentException("frame header (SOF) is too short");
                }
                int height = ((b[start + 1] & 0xFF) << 8) | (b[start + 2] & 0xFF);
                int width = ((b[start + 3] & 0xFF) << 8) | (b[start + 4] & 0xFF);
                int nc = b[start + 5] & 0xFF;
                if (len < 8 + 3 * nc) {
                    throw new IllegalArgumentException(String.format(Locale.ROOT,
                            "frame header (SOF) declares %d components but holds only %d bytes", nc, len));
                }
                int[] ids = new int[nc];
                for (int i = 0; i < nc; i++) {
                    ids[i] = b[start + 6 + 3 * i] & 0xFF;
                }
                return new JpegHeader(width, height, nc, marker, jfif, adobe, ids, exifOff, exifLen, icc);
            }
            if (marker == 0xE0 && len >= 7 && b[start] == 'J' && b[start + 1] == 'F' && b[start + 2] == 'I'
                    && b[start + 3] == 'F' && b[start + 4] == 0) {
                jfif = true;
            } else if (marker == 0xEE && len >= 14 && b[start] == 'A' && b[start + 1] == 'd' && b[start + 2] == 'o'
                    && b[start + 3] == 'b' && b[start + 4] == 'e') {
                adobe = b[start + 11] & 0xFF;
            } else if (marker == 0xE1 && exifLen == 0 && len >= 8 + 8 && b[start] == 'E' && b[start + 1] == 'x'
                    && b[start + 2] == 'i' && b[start + 3] == 'f' && b[start + 4] == 0) {
                exifOff = start + 6;
                exifLen = end - exifOff;
            } else if (marker == 0xE2 && len >= 2 + ICC_TAG.length + 2 && startsWith(b, start, ICC_TAG)) {
                int at = start + ICC_TAG.length;
                icc.add(new int[] {b[at] & 0xFF, b[at + 1] & 0xFF, at + 2, end - (at + 2)});
            }
            pos = end;
        }
    }

    private static final byte[] ICC_TAG = {'I', 'C', 'C', '_', 'P', 'R', 'O', 'F', 'I', 'L', 'E', 0};

    private static boolean startsWith(byte[] b, int at, byte[] prefix) {
        for (int i = 0; i < prefix.length; i++) {
            if (b[at + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * The embedded ICC profile, its APP2 chunks joined in sequence order (ICC.1 Annex B.4), or null when there is
     * none; an incomplete or inconsistent set is reported in {@code warnings} and gives null.
     */
    byte[] iccProfile(byte[] file, List<String> warnings) {
        if (iccChunks.isEmpty()) {
            return null;
        }
        List<int[]> chunks = new ArrayList<>(iccChunks);
        chunks.sort(Comparator.comparingInt(c -> c[0]));
        int count = chunks.get(0)[1];
        boolean complete = count == chunks.size();
        for (int i = 0; i < chunks.size() && complete; i++) {
            complete = chunks.get(i)[0] == i + 1 && chunks.get(i)[1] == count;
        }
        if (!complete) {
            warnings.add(String.format(Locale.ROOT, "icc: embedded colour profile is incomplete (%d APP2 chunks, "
                    + "%d declared); ignored", chunks.size(), count));
            return null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int[] c : chunks) {
            out.write(file, c[2], c[3]);
        }
        return out.toByteArray();
    }

    private static boolean isSof(int m) {
        return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
    }

    /** libjpeg's guess of the source colour space (jdapimin.c), which PIL inherits. */
    ColorTransform transform() {
        switch (components) {
            case 1:
                return ColorTransform.GRAY;
            case 3:
                if (jfif) {
                    return ColorTransform.YCBCR;
                }
                if (adobeTransform >= 0) {
                    return adobeTransform == 0 ? ColorTransform.RGB : ColorTransform.YCBCR;
                }
                if (componentIds[0] == 'R' && componentIds[1] == 'G' && componentIds[2] == 'B') {
                    return ColorTransform.RGB;
                }
                return ColorTransform.YCBCR;
            case 4:
                if (adobeTransform > 0) {
                    return ColorTransform.YCCK; // libjpeg: transform 2, and any unknown value, means YCCK
                }
                return ColorTransform.CMYK;
            default:
                return ColorTransform.OTHER;
        }
    }

    boolean arithmetic() {
        return sofMarker >= 0xC9 && sofMarker <= 0xCF;
    }

    boolean lossless() {
        return sofMarker == 0xC3 || sofMarker == 0xC7 || sofMarker == 0xCB || sofMarker == 0xCF;
    }
}
