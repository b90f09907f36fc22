package org.transfer4j.backbone.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

import org.junit.jupiter.api.Test;

/** EXIF orientation beyond JPEG: PNG eXIf, TIFF IFD0, WebP EXIF (self-contained; every file is built here). */
class ExifOrientationFormatsTest {
    private static final ImageDecoder DECODER = ImageDecoder.builder().build();
    private static final ImageDecoder AS_STORED = ImageDecoder.builder().optApplyExifOrientation(false).build();

    @Test
    void pngEXIfChunkIsApplied() throws Exception {
        byte[] png = ImageDecoderTest.encode(ImageDecoderTest.photoLike(12, 8, 5), "png");
        for (int o = 1; o <= 8; o++) {
            byte[] withExif = pngWithChunk(png, "eXIf", exifTiff(o, ByteOrder.BIG_ENDIAN));
            RgbImage stored = AS_STORED.decode(withExif, "o.png");
            RgbImage upright = DECODER.decode(withExif, "o.png");
            assertUpright(stored, upright, o);
            assertTrue(upright.warnings().isEmpty(), upright.warnings().toString());
        }
    }

    @Test
    void tiffOrientationTagIsApplied() throws Exception {
        for (int o = 1; o <= 8; o++) {
            for (ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
                byte[] tif = rgbTiff(7, 4, o, order);
                RgbImage stored = AS_STORED.decode(tif, "o.tif");
                assertEquals(7, stored.width());
                assertEquals(4, stored.height());
                assertEquals(10, stored.get(0, 0, 0)); // the hand-built pixels, so the test sees the right image
                assertEquals(6 * 10 + 3, stored.get(6, 3, 1));
                assertUpright(stored, DECODER.decode(tif, "o.tif"), o);
            }
        }
    }

    @Test
    void brokenPngExifIsAWarningAndThePixelsStay() throws Exception {
        byte[] png = ImageDecoderTest.encode(ImageDecoderTest.photoLike(12, 8, 5), "png");
        // IFD0 cut in the middle of its Orientation entry.
        byte[] tiff = java.util.Arrays.copyOf(exifTiff(6, ByteOrder.LITTLE_ENDIAN), 14);
        RgbImage dec = DECODER.decode(pngWithChunk(png, "eXIf", tiff), "bad.png");
        assertArrayEquals(AS_STORED.decode(png, "plain.png").rgb(), dec.rgb());
        assertEquals(1, dec.warnings().size(), dec.warnings().toString());
        assertTrue(dec.warnings().get(0).startsWith("exif: unreadable EXIF block"), dec.warnings().get(0));
    }

    @Test
    void locatesWebpExifChunksOnlyWhereLibwebpWould() {
        byte[] tiff = exifTiff(3, ByteOrder.LITTLE_ENDIAN);
        byte[] vp8xExif = new byte[10];
        vp8xExif[0] = 0x08; // VP8X flags: EXIF present
        for (boolean prefix : new boolean[] {false, true}) {
            ByteArrayOutputStream payload = new ByteArrayOutputStream();
            if (prefix) {
                payload.writeBytes("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1));
            }
            payload.writeBytes(tiff);
            byte[] odd = {1, 2, 3}; // an odd-sized chunk before it exercises the padding rule
            byte[] webp = riff(chunk("VP8X", vp8xExif), chunk("ICCP", odd), chunk("EXIF", payload.toByteArray()));
            int[] at = ExifBlocks.find(webp);
            assertTrue(at != null, "EXIF chunk found");
            assertEquals(tiff.length, at[1]);
            assertArrayEquals(tiff, java.util.Arrays.copyOfRange(webp, at[0], at[0] + at[1]));
        }
        // libwebp's demuxer ignores EXIF without the extended header's flag, or in the simple format.
        assertNull(ExifBlocks.find(riff(chunk("VP8X", new byte[10]), chunk("EXIF", tiff))));
        assertNull(ExifBlocks.find(riff(chunk("VP8 ", new byte[10]), chunk("EXIF", tiff))));
        assertNull(ExifBlocks.find(riff(chunk("VP8X", vp8xExif))));
        // A chunk length running past the end is not followed, nor are chunks past the RIFF size.
        byte[] cut = riff(chunk("VP8X", vp8xExif), chunk("EXIF", tiff));
        assertNull(ExifBlocks.find(java.util.Arrays.copyOf(cut, cut.length - 4)));
        byte[] beyond = riff(chunk("VP8X", vp8xExif));
        ByteArrayOutputStream trailing = new ByteArrayOutputStream();
        trailing.writeBytes(beyond);
        trailing.writeBytes(chunk("EXIF", tiff));
        assertNull(ExifBlocks.find(trailing.toByteArray()));
    }

    @Test
    void theLastPngEXIfChunkCountsAsInPillow() throws Exception {
        byte[] png = ImageDecoderTest.encode(ImageDecoderTest.photoLike(12, 8, 5), "png");
        byte[] two = pngWithChunk(pngWithChunk(png, "eXIf", exifTiff(6, ByteOrder.BIG_ENDIAN)), "eXIf",
                exifTiff(3, ByteOrder.BIG_ENDIAN)); // the second insertion lands first in the file
        RgbImage dec = DECODER.decode(two, "two.png");
        assertUpright(AS_STORED.decode(png, "plain.png"), dec, 6);
    }

    @Test
    void hostileExifBlocksCostNothing() throws Exception {
        // 65,000 IFD0 entries, each a LONG array pointing at the whole block, then the Orientation: a parser that
        // loads tag values needs gigabytes. Only IFD0's entries are scanned here.
        int entries = 65_000;
        ByteBuffer b = ByteBuffer.allocate(8 + 2 + 12 * (entries + 1) + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8);
        b.putShort((short) (entries + 1));
        for (int i = 0; i < entries; i++) {
            b.putShort((short) 0x9000).putShort((short) 4).putInt(b.capacity() / 4 - 4).putInt(8);
        }
        b.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) 8).putShort((short) 0);
        b.putInt(0);
        byte[] png = ImageDecoderTest.encode(ImageDecoderTest.photoLike(12, 8, 5), "png");
        long t0 = System.nanoTime();
        RgbImage dec = DECODER.decode(pngWithChunk(png, "eXIf", b.array()), "hostile.png");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertUpright(AS_STORED.decode(png, "plain.png"), dec, 8);
        assertTrue(ms < 2000, "took " + ms + " ms");
    }

    @Test
    void orientationValueTypesAndDefects() {
        assertEquals(6, ExifBlocks.orientation(exifTiff(6, ByteOrder.LITTLE_ENDIAN), 0, 26));
        byte[] asLong = exifTiff(6, ByteOrder.BIG_ENDIAN);
        ByteBuffer.wrap(asLong).putShort(12, (short) 4).putInt(18, 5); // type LONG, value 5
        assertEquals(5, ExifBlocks.orientation(asLong, 0, asLong.length));
        byte[] noTag = exifTiff(6, ByteOrder.LITTLE_ENDIAN);
        ByteBuffer.wrap(noTag).order(ByteOrder.LITTLE_ENDIAN).putShort(10, (short) 0x0100);
        assertEquals(0, ExifBlocks.orientation(noTag, 0, noTag.length));
        byte[] ascii = exifTiff(6, ByteOrder.LITTLE_ENDIAN);
        ByteBuffer.wrap(ascii).order(ByteOrder.LITTLE_ENDIAN).putShort(12, (short) 2);
        assertThrowsIae("TIFF type 2", ascii);
        byte[] farIfd = exifTiff(6, ByteOrder.LITTLE_ENDIAN);
        ByteBuffer.wrap(farIfd).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 1_000_000);
        assertThrowsIae("outside", farIfd);
        byte[] tooMany = exifTiff(6, ByteOrder.LITTLE_ENDIAN);
        ByteBuffer.wrap(tooMany).order(ByteOrder.LITTLE_ENDIAN).putShort(8, (short) 500);
        assertThrowsIae("declares 500 entries", tooMany);
    }

    private static void assertThrowsIae(String message, byte[] tiff) {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ExifBlocks.orientation(tiff, 0, tiff.length));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    // ---------------------------------------------------------------------------------------------- helpers

    /** Decoding with orientation equals PIL's exif_transpose of the stored pixels. */
    private static void assertUpright(RgbImage stored, RgbImage upright, int o) {
        int w = Pixels.orientedWidth(stored.width(), stored.height(), o);
        int h = w == stored.width() ? stored.height() : stored.width();
        assertEquals(w, upright.width(), "orientation " + o);
        assertEquals(h, upright.height(), "orientation " + o);
        byte[] expected = o == 1 ? stored.rgb() : Pixels.orient(stored.rgb(), stored.width(), stored.height(), o);
        assertArrayEquals(expected, upright.rgb(), "orientation " + o);
        if (o != 1) {
            assertTrue(!java.util.Arrays.equals(stored.rgb(), upright.rgb()) || w != stored.width(),
                    "orientation " + o + " changed nothing");
        }
    }

    /** A minimal EXIF TIFF structure: IFD0 with only Orientation. */
    static byte[] exifTiff(int orientation, ByteOrder order) {
        ByteBuffer b = ByteBuffer.allocate(8 + 2 + 12 + 4).order(order);
        b.put(order == ByteOrder.LITTLE_ENDIAN ? (byte) 'I' : (byte) 'M');
        b.put(order == ByteOrder.LITTLE_ENDIAN ? (byte) 'I' : (byte) 'M');
        b.putShort((short) 42).putInt(8);
        b.putShort((short) 1);
        b.putShort((short) 274).putShort((short) 3).putInt(1).putShort((short) orientation).putShort((short) 0);
        b.putInt(0);
        return b.array();
    }

    /** An uncompressed 8-bit RGB TIFF, one strip, pixel (x, y) = (10 + x, 10 * x + y, 200). */
    static byte[] rgbTiff(int w, int h, int orientation, ByteOrder order) {
        int entries = 10;
        int ifd = 8;
        int bps = ifd + 2 + entries * 12 + 4;
        int pixels = bps + 6;
        ByteBuffer b = ByteBuffer.allocate(pixels + w * h * 3).order(order);
        b.put(order == ByteOrder.LITTLE_ENDIAN ? (byte) 'I' : (byte) 'M');
        b.put(order == ByteOrder.LITTLE_ENDIAN ? (byte) 'I' : (byte) 'M');
        b.putShort((short) 42).putInt(ifd);
        b.putShort((short) entries);
        entry(b, 256, 3, 1, w);               // ImageWidth
        entry(b, 257, 3, 1, h);               // ImageLength
        b.putShort((short) 258).putShort((short) 3).putInt(3).putInt(bps); // BitsPerSample 8,8,8 (offset)
        entry(b, 259, 3, 1, 1);               // Compression none
        entry(b, 262, 3, 1, 2);               // Photometric RGB
        b.putShort((short) 273).putShort((short) 4).putInt(1).putInt(pixels); // StripOffsets
        entry(b, 274, 3, 1, orientation);     // Orientation
        entry(b, 277, 3, 1, 3);               // SamplesPerPixel
        entry(b, 278, 3, 1, h);               // RowsPerStrip
        b.putShort((short) 279).putShort((short) 4).putInt(1).putInt(w * h * 3); // StripByteCounts
        b.putInt(0);
        b.putShort((short) 8).putShort((short) 8).putShort((short) 8);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                b.put((byte) (10 + x)).put((byte) (10 * x + y)).put((byte) 200);
            }
        }
        return b.array();
    }

    private static void entry(ByteBuffer b, int tag, int type, int count, int value) {
        b.putShort((short) tag).putShort((short) type).putInt(count).putShort((short) value).putShort((short) 0);
    }

    /** The PNG with a chunk inserted right after IHDR. */
    static byte[] pngWithChunk(byte[] png, String type, byte[] data) {
        int ihdrEnd = 8 + 8 + 13 + 4;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(png, 0, ihdrEnd);
        byte[] t = type.getBytes(StandardCharsets.ISO_8859_1);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        out.write(png, ihdrEnd, png.length - ihdrEnd);
        return out.toByteArray();
    }

    private static byte[] chunk(String fourcc, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + data.length + (data.length & 1)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(fourcc.getBytes(StandardCharsets.ISO_8859_1)).putInt(data.length).put(data);
        return b.array();
    }

    private static byte[] riff(byte[]... chunks) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes("WEBP".getBytes(StandardCharsets.ISO_8859_1));
        for (byte[] c : chunks) {
            body.writeBytes(c);
        }
        ByteBuffer head = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        head.put("RIFF".getBytes(StandardCharsets.ISO_8859_1)).putInt(body.size());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(head.array());
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }
}
