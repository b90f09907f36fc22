package org.transfer4j.backbone.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.color.ColorSpace;
import java.awt.color.ICC_Profile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** Self-contained: the default profile comes from the class path, every JPEG is built here. */
class CmykColorTest {
    private static final ImageDecoder DECODER = ImageDecoder.builder().build();
    private static final int[] STORED = {200, 100, 50, 230}; // inverted CMYK as a 4-component JPEG stores it

    private static int[] rgb(int c, int m, int y, int k) {
        byte[] out = CmykColor.toRgb(new byte[] {(byte) c, (byte) m, (byte) y, (byte) k}, 1, 1, null,
                new ArrayList<>());
        return new int[] {out[0] & 0xFF, out[1] & 0xFF, out[2] & 0xFF};
    }

    @Test
    void defaultProfileGivesPlausibleColours() {
        int[] paper = rgb(0, 0, 0, 0);
        int[] black = rgb(0, 0, 0, 255);
        int[] richBlack = rgb(255, 255, 255, 255);
        int[] cyan = rgb(255, 0, 0, 0);
        int[] red = rgb(0, 255, 255, 0);
        assertTrue(paper[0] > 240 && paper[1] > 240 && paper[2] > 240, "paper is white: " + str(paper));
        // Black-point mapped: full ink is black, not the dark grey of an uncompensated relative rendering.
        assertTrue(richBlack[0] < 12 && richBlack[1] < 12 && richBlack[2] < 12, "rich black: " + str(richBlack));
        assertTrue(black[0] < 60 && black[1] < 60 && black[2] < 60, "K alone is dark: " + str(black));
        assertTrue(cyan[0] < 60 && cyan[2] > 200, "cyan ink is cyan: " + str(cyan));
        assertTrue(red[0] > 200 && red[1] < 60 && red[2] < 60, "magenta+yellow is red: " + str(red));
    }

    @Test
    void defaultProfileIsTheDocumentedOne() throws Exception {
        try (InputStream in = CmykColor.class.getResourceAsStream(CmykColor.DEFAULT_PROFILE_RESOURCE)) {
            assertTrue(in != null, "the CMYK profile resource must be in the backbone jar (unpacked from pdfbox 2.0.x by the pom)");
            ICC_Profile p = ICC_Profile.getInstance(in.readAllBytes());
            assertEquals(ColorSpace.TYPE_CMYK, p.getColorSpaceType());
            String desc = new String(p.getData(ICC_Profile.icSigProfileDescriptionTag), StandardCharsets.ISO_8859_1);
            assertTrue(desc.contains(CmykColor.DEFAULT_PROFILE_NAME), desc);
        }
    }

    @Test
    void embeddedCmykProfileIsUsed() throws Exception {
        byte[] jpg = ImageDecoderTest.fourComponentJpeg(STORED);
        RgbImage plain = DECODER.decode(jpg, "plain.jpg");
        // The same profile embedded: same pixels, no warning.
        byte[] same = defaultProfileBytes();
        RgbImage withSame = DECODER.decode(withIcc(jpg, same, 60_000), "same.jpg");
        assertArrayEquals(plain.rgb(), withSame.rgb());
        assertTrue(withSame.warnings().isEmpty(), withSame.warnings().toString());
        // A different CMYK profile (perceptual table pointed at the saturation one) must change the colours, so the
        // embedded profile is what was used.
        byte[] other = pointTag(same, "A2B0", "A2B2");
        RgbImage withOther = DECODER.decode(withIcc(jpg, other, 60_000), "other.jpg");
        assertTrue(withOther.warnings().isEmpty(), withOther.warnings().toString());
        assertFalse(java.util.Arrays.equals(plain.rgb(), withOther.rgb()), "embedded profile ignored");
        byte[] expected = CmykColor.toRgb(ink(STORED), 1, 1, other, new ArrayList<>());
        for (int c = 0; c < 3; c++) {
            assertEquals(expected[c] & 0xFF, withOther.get(8, 8, c), 2, "channel " + c);
        }
    }

    @Test
    void unusableEmbeddedProfilesFallBackToTheDefaultWithAWarning() throws Exception {
        byte[] jpg = ImageDecoderTest.fourComponentJpeg(STORED);
        RgbImage plain = DECODER.decode(jpg, "plain.jpg");
        byte[] garbage = new byte[4000];
        new Random(7).nextBytes(garbage);
        byte[] srgb = ICC_Profile.getInstance(ColorSpace.CS_sRGB).getData();
        for (byte[] bad : List.of(garbage, srgb)) {
            RgbImage dec = DECODER.decode(withIcc(jpg, bad, 60_000), "bad.jpg");
            assertArrayEquals(plain.rgb(), dec.rgb());
            assertEquals(1, dec.warnings().size(), dec.warnings().toString());
            assertTrue(dec.warnings().get(0).startsWith("icc: embedded colour profile unusable"),
                    dec.warnings().get(0));
            assertTrue(dec.warnings().get(0).contains(CmykColor.DEFAULT_PROFILE_NAME), dec.warnings().get(0));
        }
        assertTrue(DECODER.decode(withIcc(jpg, srgb, 60_000), "srgb.jpg").warnings().get(0).contains("not CMYK"));
    }

    @Test
    void incompleteChunkSetIsIgnoredWithAWarning() throws Exception {
        byte[] jpg = ImageDecoderTest.fourComponentJpeg(STORED);
        RgbImage plain = DECODER.decode(jpg, "plain.jpg");
        byte[] full = withIcc(jpg, defaultProfileBytes(), 60_000);
        // Drop the second APP2 chunk.
        byte[] tag = "ICC_PROFILE\0".getBytes(StandardCharsets.ISO_8859_1);
        int first = ImageDecoderTest.indexOf(full, tag) - 4;
        int len1 = ((full[first + 2] & 0xFF) << 8) | (full[first + 3] & 0xFF);
        int second = first + 2 + len1;
        int len2 = ((full[second + 2] & 0xFF) << 8) | (full[second + 3] & 0xFF);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(full, 0, second);
        out.write(full, second + 2 + len2, full.length - (second + 2 + len2));
        RgbImage dec = DECODER.decode(out.toByteArray(), "partial.jpg");
        assertArrayEquals(plain.rgb(), dec.rgb());
        assertEquals(1, dec.warnings().size(), dec.warnings().toString());
        assertTrue(dec.warnings().get(0).startsWith("icc: embedded colour profile is incomplete"),
                dec.warnings().get(0));
    }

    @Test
    void rgbJpegIgnoresItsProfileLikePil() throws Exception {
        byte[] jpg = ImageDecoderTest.encode(ImageDecoderTest.photoLike(16, 16, 3), "jpeg");
        byte[] withCmyk = withIcc(jpg, defaultProfileBytes(), 60_000);
        RgbImage a = DECODER.decode(jpg, "a.jpg");
        RgbImage b = DECODER.decode(withCmyk, "b.jpg");
        assertArrayEquals(a.rgb(), b.rgb());
        assertTrue(b.warnings().isEmpty(), b.warnings().toString());
    }

    @Test
    void adobeTransformFlagPicksCmykOrYcckAsLibjpegDoes() {
        assertEquals(JpegHeader.ColorTransform.YCCK, JpegHeader.parse(fourComponentHeader(2)).transform());
        assertEquals(JpegHeader.ColorTransform.CMYK, JpegHeader.parse(fourComponentHeader(0)).transform());
        assertEquals(JpegHeader.ColorTransform.CMYK, JpegHeader.parse(fourComponentHeader(-1)).transform());
    }

    @Test
    void ycckComponentsBecomeInkAsLibjpegAndPilReadThem() {
        // libjpeg's ycck_cmyk_convert outputs 255 - (YCC to RGB) and K as stored, in Adobe's inverted convention,
        // which PIL reads as "CMYK;I": the ink is the YCC-to-RGB value, and 255 - K.
        int[] ink = {30, 200, 120, 60};
        int[] ycc = rgbToYcc(ink[0], ink[1], ink[2]);
        java.awt.image.WritableRaster r = java.awt.image.Raster.createInterleavedRaster(
                java.awt.image.DataBuffer.TYPE_BYTE, 3, 2, 4, null);
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 3; x++) {
                r.setPixel(x, y, new int[] {ycc[0], ycc[1], ycc[2], 255 - ink[3]});
            }
        }
        List<String> warnings = new ArrayList<>();
        byte[] rgb = Pixels.fromJpegRaster(r, JpegHeader.ColorTransform.YCCK, null, warnings);
        int[] expected = rgb(ink[0], ink[1], ink[2], ink[3]);
        int[] asCmyk = rgbAt(Pixels.fromJpegRaster(r, JpegHeader.ColorTransform.CMYK, null, warnings), 0);
        for (int px = 0; px < 6; px++) {
            int[] got = rgbAt(rgb, px);
            for (int c = 0; c < 3; c++) {
                assertEquals(expected[c], got[c], 2, "pixel " + px + " channel " + c); // YCC rounding: +-1 ink
            }
        }
        int wrong = Math.abs(asCmyk[0] - expected[0]) + Math.abs(asCmyk[1] - expected[1])
                + Math.abs(asCmyk[2] - expected[2]);
        assertTrue(wrong > 60, "reading YCCK as plain CMYK would be visibly wrong: " + wrong);
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void concurrentConversionsEqualSequentialOnes() throws Exception {
        // Decode threads convert at the same time and share the profile objects.
        Random r = new Random(11);
        byte[][] inks = new byte[16][];
        byte[][] expected = new byte[16][];
        for (int i = 0; i < inks.length; i++) {
            inks[i] = new byte[40 * 30 * 4];
            r.nextBytes(inks[i]);
            expected[i] = CmykColor.toRgb(inks[i], 40, 30, null, new ArrayList<>());
        }
        byte[] embedded = defaultProfileBytes();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            List<java.util.concurrent.Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> {
                    for (int rep = 0; rep < 4; rep++) {
                        for (int i = 0; i < inks.length; i++) {
                            byte[] icc = (rep + i) % 2 == 0 ? null : embedded;
                            if (!java.util.Arrays.equals(expected[i],
                                    CmykColor.toRgb(inks[i], 40, 30, icc, new ArrayList<>()))) {
                                return false;
                            }
                        }
                    }
                    return true;
                }));
            }
            for (java.util.concurrent.Future<Boolean> f : results) {
                assertTrue(f.get(), "a concurrent conversion differed");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---------------------------------------------------------------------------------------------- helpers

    private static byte[] ink(int[] stored) {
        return new byte[] {(byte) (255 - stored[0]), (byte) (255 - stored[1]), (byte) (255 - stored[2]),
            (byte) (255 - stored[3])};
    }

    private static int[] rgbAt(byte[] rgb, int px) {
        return new int[] {rgb[px * 3] & 0xFF, rgb[px * 3 + 1] & 0xFF, rgb[px * 3 + 2] & 0xFF};
    }

    /** JFIF's RGB to YCbCr, rounded. */
    private static int[] rgbToYcc(int r, int g, int b) {
        double y = 0.299 * r + 0.587 * g + 0.114 * b;
        double cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128;
        double cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128;
        return new int[] {(int) Math.round(y), (int) Math.round(cb), (int) Math.round(cr)};
    }

    /** SOI, an Adobe APP14 with {@code transform} (or none when negative), and a 4-component SOF0. */
    private static byte[] fourComponentHeader(int transform) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0xFF);
        out.write(0xD8);
        if (transform >= 0) {
            out.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0,
                (byte) transform});
        }
        out.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xC0, 0, 20, 8, 0, 2, 0, 3, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11,
            0, 4, 0x11, 0});
        return out.toByteArray();
    }

    private static String str(int[] c) {
        return c[0] + "," + c[1] + "," + c[2];
    }

    static byte[] defaultProfileBytes() throws IOException {
        try (InputStream in = CmykColor.class.getResourceAsStream(CmykColor.DEFAULT_PROFILE_RESOURCE)) {
            return in.readAllBytes();
        }
    }

    /** The profile with tag {@code sig}'s table entry pointing at tag {@code to}'s data. */
    private static byte[] pointTag(byte[] profile, String sig, String to) {
        byte[] p = profile.clone();
        ByteBuffer b = ByteBuffer.wrap(p);
        int n = b.getInt(128);
        int from = -1;
        int target = -1;
        for (int i = 0; i < n; i++) {
            int at = 132 + 12 * i;
            String s = new String(p, at, 4, StandardCharsets.ISO_8859_1);
            if (s.equals(sig)) {
                from = at;
            } else if (s.equals(to)) {
                target = at;
            }
        }
        assertTrue(from > 0 && target > 0, "tags " + sig + " and " + to + " present");
        b.putInt(from + 4, b.getInt(target + 4));
        b.putInt(from + 8, b.getInt(target + 8));
        return p;
    }

    /** The JPEG with {@code icc} inserted after SOI as APP2 "ICC_PROFILE" chunks of at most {@code chunk} bytes. */
    static byte[] withIcc(byte[] jpg, byte[] icc, int chunk) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(jpg, 0, 2);
        int count = (icc.length + chunk - 1) / chunk;
        for (int i = 0; i < count; i++) {
            int off = i * chunk;
            int len = Math.min(chunk, icc.length - off);
            int segLen = 2 + 12 + 2 + len;
            out.write(0xFF);
            out.write(0xE2);
            out.write(segLen >> 8);
            out.write(segLen & 0xFF);
            out.writeBytes("ICC_PROFILE\0".getBytes(StandardCharsets.ISO_8859_1));
            out.write(i + 1);
            out.write(count);
            out.write(icc, off, len);
        }
        out.write(jpg, 2, jpg.length - 2);
        return out.toByteArray();
    }
}
