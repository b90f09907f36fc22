package org.transfer4j.backbone.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.color.ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.image.ImageDecodeException.Reason;
import org.transfer4j.backbone.spec.BackboneSpec;

/** Self-contained: every image is built in code. */
class ImageDecoderTest {
    private static final ImageDecoder DECODER = ImageDecoder.builder().build();

    // ---------------------------------------------------------------------------------------------- helpers

    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), "no ImageIO writer for " + format + " / type " + img.getType());
        return out.toByteArray();
    }

    static BufferedImage photoLike(int w, int h, long seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        Random rnd = new Random(seed);
        int r0 = rnd.nextInt(256);
        int g0 = rnd.nextInt(256);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int r = (r0 + x * 255 / w) & 0xFF;
                int g = (g0 + y * 255 / h) & 0xFF;
                int b = ((x / 8 + y / 8) % 2) * 200 + rnd.nextInt(20);
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return img;
    }

    static BufferedImage gradient(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, ((x * 255 / w) << 16) | ((y * 255 / h) << 8) | ((x + y) * 127 / (w + h)));
            }
        }
        return img;
    }

    private static void assertPixels(BufferedImage expectedRgbSource, RgbImage actual) {
        assertEquals(expectedRgbSource.getWidth(), actual.width());
        assertEquals(expectedRgbSource.getHeight(), actual.height());
        for (int y = 0; y < actual.height(); y++) {
            for (int x = 0; x < actual.width(); x++) {
                int p = expectedRgbSource.getRGB(x, y);
                assertEquals((p >> 16) & 0xFF, actual.get(x, y, 0), "R at " + x + "," + y);
                assertEquals((p >> 8) & 0xFF, actual.get(x, y, 1), "G at " + x + "," + y);
                assertEquals(p & 0xFF, actual.get(x, y, 2), "B at " + x + "," + y);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- builder

    @Test
    void builderDefaultsAndValidation() {
        assertEquals(BackboneSpec.DEFAULT_MAX_PIXELS, DECODER.maxPixels());
        assertEquals(89_478_485L, DECODER.maxPixels());
        assertTrue(DECODER.applyExifOrientation());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageDecoder.builder().optMaxPixels(0));
        assertTrue(e.getMessage().contains("maxPixels"), e.getMessage());
    }

    // ---------------------------------------------------------------------------------------------- round trips

    @Test
    void pngRoundTripIsExact() throws Exception {
        BufferedImage img = photoLike(67, 41, 1);
        RgbImage dec = DECODER.decode(encode(img, "png"), "a.png");
        assertPixels(img, dec);
        assertTrue(dec.warnings().isEmpty());
    }

    @Test
    void bmpAndGifRoundTrip() throws Exception {
        BufferedImage img = photoLike(30, 20, 2);
        assertPixels(img, DECODER.decode(encode(img, "bmp"), "a.bmp"));
        BufferedImage pal = new BufferedImage(30, 20, BufferedImage.TYPE_BYTE_INDEXED);
        pal.getGraphics().drawImage(img, 0, 0, null);
        assertPixels(pal, DECODER.decode(encode(pal, "gif"), "a.gif"));
    }

    @Test
    void jpegRoundTripMatchesImageIoExactly() throws Exception {
        BufferedImage img = gradient(160, 120);
        byte[] jpg = encode(img, "jpeg");
        RgbImage dec = DECODER.decode(jpg, "a.jpg");
        // Without an ICC profile ImageIO's own colour conversion is libjpeg's, which we reproduce bit for bit.
        assertPixels(ImageIO.read(new ByteArrayInputStream(jpg)), dec);
        double d = AwkwardImagesTest.meanAbsDiff(dec, ImageDecoder.fromBufferedImage(img));
        assertTrue(d < 6, "JPEG round trip differs by " + d);
    }

    @Test
    void jpegIccProfileIsIgnoredLikePil() throws Exception {
        BufferedImage img = photoLike(64, 48, 4);
        byte[] plain = encode(img, "jpeg");
        byte[] tagged = jpegWithIcc(img, ICC_Profile.getInstance(ColorSpace.CS_LINEAR_RGB));
        RgbImage a = DECODER.decode(plain, "plain.jpg");
        RgbImage b = DECODER.decode(tagged, "tagged.jpg");
        assertArrayEquals(a.rgb(), b.rgb(), "PIL ignores the embedded profile; so must we");
        // (Java2D does not convert through this synthetic profile either; AwkwardImagesTest checks a real profile
        // that ImageIO does apply, icc_profile_big.jpg, where ignoring it matters.)
    }

    private static byte[] jpegWithIcc(BufferedImage img, ICC_Profile profile) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        IIOMetadata md = writer.getDefaultImageMetadata(new ImageTypeSpecifier(img), param);
        String fmt = "javax_imageio_jpeg_image_1.0";
        IIOMetadataNode root = (IIOMetadataNode) md.getAsTree(fmt);
        IIOMetadataNode jfif = (IIOMetadataNode) root.getElementsByTagName("app0JFIF").item(0);
        IIOMetadataNode icc = new IIOMetadataNode("app2ICC");
        icc.setUserObject(profile);
        jfif.appendChild(icc);
        md.setFromTree(fmt, root);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(null, new IIOImage(img, null, md), param);
        } finally {
            writer.dispose();
        }
        byte[] bytes = out.toByteArray();
        assertTrue(indexOf(bytes, "ICC_PROFILE".getBytes(java.nio.charset.StandardCharsets.US_ASCII)) > 0);
        return bytes;
    }

    // ---------------------------------------------------------------------------------------------- PIL rules

    @Test
    void grayIsReplicated() throws Exception {
        BufferedImage img = new BufferedImage(16, 4, BufferedImage.TYPE_BYTE_GRAY);
        for (int x = 0; x < 16; x++) {
            img.getRaster().setSample(x, 1, 0, x * 17);
        }
        RgbImage dec = DECODER.decode(encode(img, "png"), "g.png");
        for (int x = 0; x < 16; x++) {
            for (int c = 0; c < 3; c++) {
                assertEquals(x * 17, dec.get(x, 1, c)); // raw sample, not Java2D's linear-gray getRGB
            }
        }
    }

    @Test
    void sixteenBitGrayPngClipsAsPilModeI() throws Exception {
        BufferedImage img = new BufferedImage(6, 1, BufferedImage.TYPE_USHORT_GRAY);
        int[] values = {0, 100, 255, 256, 1000, 65535};
        for (int x = 0; x < values.length; x++) {
            img.getRaster().setSample(x, 0, 0, values[x]);
        }
        RgbImage dec = DECODER.decode(encode(img, "png"), "g16.png");
        int[] expected = {0, 100, 255, 255, 255, 255};
        for (int x = 0; x < values.length; x++) {
            assertEquals(expected[x], dec.get(x, 0, 0), "value " + values[x]);
            assertEquals(expected[x], dec.get(x, 0, 2), "value " + values[x]);
        }
    }

    @Test
    void sixteenBitRgbPngKeepsTheHighByte() throws Exception {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false,
                java.awt.Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster r = cm.createCompatibleWritableRaster(3, 1);
        int[][] px = {{0x1234, 0xFFFF, 0x00FF}, {0x8000, 0x7FFF, 0x0100}, {0, 1, 0xABCD}};
        for (int x = 0; x < 3; x++) {
            r.setPixel(x, 0, px[x]);
        }
        BufferedImage img = new BufferedImage(cm, r, false, null);
        RgbImage dec = DECODER.decode(encode(img, "png"), "rgb16.png");
        for (int x = 0; x < 3; x++) {
            for (int c = 0; c < 3; c++) {
                assertEquals(px[x][c] >> 8, dec.get(x, 0, c), "pixel " + x + " channel " + c);
            }
        }
    }

    @Test
    void paletteWithAlphaUsesThePaletteColours() throws Exception {
        byte[] reds = {(byte) 255, 0, 10, (byte) 200};
        byte[] greens = {0, (byte) 255, 20, 100};
        byte[] blues = {0, 0, 30, 50};
        byte[] alphas = {(byte) 255, (byte) 128, 0, 0};
        IndexColorModel icm = new IndexColorModel(8, 4, reds, greens, blues, alphas);
        BufferedImage img = new BufferedImage(4, 2, BufferedImage.TYPE_BYTE_INDEXED, icm);
        for (int x = 0; x < 4; x++) {
            img.getRaster().setSample(x, 0, 0, x);
            img.getRaster().setSample(x, 1, 0, 3 - x);
        }
        byte[] png = encode(img, "png");
        assertTrue(indexOf(png, "tRNS".getBytes(java.nio.charset.StandardCharsets.US_ASCII)) > 0);
        RgbImage dec = DECODER.decode(png, "p.png");
        for (int x = 0; x < 4; x++) {
            // Fully transparent index 2 still gives (10,20,30): PIL's p2rgb ignores transparency.
            assertEquals(reds[x] & 0xFF, dec.get(x, 0, 0));
            assertEquals(greens[x] & 0xFF, dec.get(x, 0, 1));
            assertEquals(blues[x] & 0xFF, dec.get(x, 0, 2));
            assertEquals(reds[3 - x] & 0xFF, dec.get(x, 1, 0));
        }
    }

    /** A flat-colour 4-component JPEG (no Adobe marker) storing {@code stored} in every pixel. */
    static byte[] fourComponentJpeg(int[] stored) throws IOException {
        WritableRaster r = java.awt.image.Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, 16, 16, 4, null);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                r.setPixel(x, y, stored);
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            ImageWriteParam p = writer.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(1f);
            writer.write(null, new IIOImage(r, null, null), p);
        } finally {
            writer.dispose();
        }
        byte[] jpg = out.toByteArray();
        assertEquals(-1, indexOf(jpg, new byte[] {(byte) 0xFF, (byte) 0xEE}), "no Adobe marker expected");
        return jpg;
    }

    @Test
    void fourComponentJpegWithoutAdobeMarkerIsInvertedCmykThroughTheProfile() throws Exception {
        // libjpeg calls a 4-component JPEG without APP14 CMYK, stored inverted (Adobe's convention, PIL's "CMYK;I"):
        // the ink is 255 - stored, then the colour profile makes it sRGB.
        int[] stored = {200, 100, 50, 230};
        RgbImage dec = DECODER.decode(fourComponentJpeg(stored), "cmyk.jpg");
        byte[] ink = {(byte) (255 - stored[0]), (byte) (255 - stored[1]), (byte) (255 - stored[2]),
            (byte) (255 - stored[3])};
        byte[] expected = CmykColor.toRgb(ink, 1, 1, null, new ArrayList<>());
        byte[] uninverted = CmykColor.toRgb(new byte[] {(byte) stored[0], (byte) stored[1], (byte) stored[2],
            (byte) stored[3]}, 1, 1, null, new ArrayList<>());
        int wrong = 0;
        for (int c = 0; c < 3; c++) {
            assertEquals(expected[c] & 0xFF, dec.get(8, 8, c), 2, "channel " + c); // flat colour: JPEG keeps it
            wrong += Math.abs((uninverted[c] & 0xFF) - dec.get(8, 8, c));
        }
        assertTrue(wrong > 60, "reading the ink uninverted would be visibly different: " + wrong);
        assertTrue(dec.warnings().isEmpty(), dec.warnings().toString());
    }

    @Test
    void rgbaDropsAlphaWithoutCompositing() throws Exception {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_4BYTE_ABGR);
        img.getRaster().setPixel(0, 0, new int[] {10, 20, 30, 0});
        img.getRaster().setPixel(1, 0, new int[] {200, 150, 100, 77});
        RgbImage dec = DECODER.decode(encode(img, "png"), "rgba.png");
        assertArrayEquals(new byte[] {10, 20, 30, (byte) 200, (byte) 150, 100}, dec.rgb());
    }

    @Test
    void fromBufferedImageHandlesEveryStandardType() {
        BufferedImage src = photoLike(13, 7, 5);
        int[] types = {BufferedImage.TYPE_INT_RGB, BufferedImage.TYPE_INT_ARGB, BufferedImage.TYPE_INT_BGR,
            BufferedImage.TYPE_3BYTE_BGR, BufferedImage.TYPE_4BYTE_ABGR, BufferedImage.TYPE_INT_ARGB_PRE};
        for (int t : types) {
            BufferedImage img = new BufferedImage(13, 7, t);
            img.getGraphics().drawImage(src, 0, 0, null);
            assertPixels(src, ImageDecoder.fromBufferedImage(img));
        }
        BufferedImage bin = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_BINARY);
        bin.getRaster().setSample(1, 0, 0, 1);
        assertArrayEquals(new byte[] {0, 0, 0, -1, -1, -1, 0, 0, 0}, ImageDecoder.fromBufferedImage(bin).rgb());
        BufferedImage rgb565 = new BufferedImage(1, 1, BufferedImage.TYPE_USHORT_565_RGB);
        rgb565.getRaster().setPixel(0, 0, new int[] {31, 63, 0});
        assertArrayEquals(new byte[] {-1, -1, 0}, ImageDecoder.fromBufferedImage(rgb565).rgb());
    }

    // ---------------------------------------------------------------------------------------------- orientation

    @Test
    void orientationTransformsMoveTheTopLeftMarkerWherePilDoes() {
        // 3x2 image, marker at (0,0). Where PIL's exif_transpose puts it, per orientation value:
        int w = 3;
        int h = 2;
        byte[] src = new byte[w * h * 3];
        src[0] = 9;
        int[][] expected = { // {outWidth, outHeight, markerX, markerY}
            {3, 2, 0, 0}, {3, 2, 2, 0}, {3, 2, 2, 1}, {3, 2, 0, 1}, // 1 identity, 2 mirror, 3 rotate 180, 4 flip
            {2, 3, 0, 0}, {2, 3, 1, 0}, {2, 3, 1, 2}, {2, 3, 0, 2}}; // 5 transpose, 6 cw, 7 transverse, 8 ccw
        for (int o = 1; o <= 8; o++) {
            byte[] out = Pixels.orient(src, w, h, o);
            int ow = Pixels.orientedWidth(w, h, o);
            int[] e = expected[o - 1];
            assertEquals(e[0], ow, "width for orientation " + o);
            int at = -1;
            for (int i = 0; i < out.length; i += 3) {
                if (out[i] == 9) {
                    at = i / 3;
                }
            }
            assertEquals(e[3] * ow + e[2], at, "marker position for orientation " + o);
        }
    }

    @Test
    void exifOrientationInAJpegIsApplied() throws Exception {
        BufferedImage img = new BufferedImage(64, 32, BufferedImage.TYPE_3BYTE_BGR);
        java.awt.Graphics g = img.getGraphics();
        g.setColor(java.awt.Color.WHITE);
        g.fillRect(0, 0, 16, 16); // bright block at the top-left
        byte[] jpg = withExifOrientation(encode(img, "jpeg"), 6);
        RgbImage dec = DECODER.decode(jpg, "o6.jpg");
        assertEquals(32, dec.width());
        assertEquals(64, dec.height());
        assertTrue(dec.get(24, 8, 0) > 200, "rotated 90 clockwise: block now top-right");
        assertTrue(dec.get(8, 8, 0) < 50);
        RgbImage raw = ImageDecoder.builder().optApplyExifOrientation(false).build().decode(jpg, "o6.jpg");
        assertEquals(64, raw.width());
    }

    static byte[] withExifOrientation(byte[] jpg, int orientation) {
        byte[] tiff = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, // header, IFD0 with one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte) orientation, 0, 0, // Orientation SHORT 1
            0, 0, 0, 0}; // no next IFD
        byte[] exif = new byte[6 + tiff.length];
        System.arraycopy("Exif".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, exif, 0, 4);
        System.arraycopy(tiff, 0, exif, 6, tiff.length);
        int len = exif.length + 2;
        byte[] out = new byte[jpg.length + 4 + exif.length];
        out[0] = (byte) 0xFF;
        out[1] = (byte) 0xD8;
        out[2] = (byte) 0xFF;
        out[3] = (byte) 0xE1;
        out[4] = (byte) (len >> 8);
        out[5] = (byte) len;
        System.arraycopy(exif, 0, out, 6, exif.length);
        System.arraycopy(jpg, 2, out, 6 + exif.length, jpg.length - 2);
        return out;
    }

    // ---------------------------------------------------------------------------------------------- refusals

    @Test
    void emptyAndUnknownInputsAreRefusedWithAReason() {
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> DECODER.decode(new byte[0], "e.jpg"));
        assertEquals(Reason.EMPTY, e.reason());
        e = assertThrows(ImageDecodeException.class,
                () -> DECODER.decode("hello, not an image".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        "notes.jpg"));
        assertEquals(Reason.UNSUPPORTED_FORMAT, e.reason());
        assertTrue(e.getMessage().contains("notes.jpg") && e.getMessage().contains("jpeg")
                && e.getMessage().contains("png"), e.getMessage());
    }

    @Test
    void unreadableFilesSayWhy(@TempDir Path dir) {
        ImageDecodeException e = assertThrows(ImageDecodeException.class,
                () -> DECODER.decode(dir.resolve("missing.jpg")));
        assertEquals(Reason.UNREADABLE, e.reason());
        assertTrue(e.getMessage().contains("missing.jpg"));
        e = assertThrows(ImageDecodeException.class, () -> DECODER.decode(dir));
        assertEquals(Reason.UNREADABLE, e.reason());
    }

    @Test
    void hugeHeadersAreRefusedBeforeDecoding() throws Exception {
        // PNG: patch IHDR to 100000 x 100000 (10 G pixels); JPEG: SOF to 60000 x 60000.
        byte[] png = encode(photoLike(8, 8, 6), "png");
        putInt(png, 16, 100_000);
        putInt(png, 20, 100_000);
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> DECODER.decode(png, "big.png"));
        assertEquals(Reason.TOO_LARGE, e.reason());
        assertTrue(e.getMessage().contains("optMaxPixels"), e.getMessage());

        byte[] jpg = encode(photoLike(8, 8, 7), "jpeg");
        int sof = indexOf(jpg, new byte[] {(byte) 0xFF, (byte) 0xC0});
        jpg[sof + 5] = (byte) 0xEA;
        jpg[sof + 6] = 0x60;
        jpg[sof + 7] = (byte) 0xEA;
        jpg[sof + 8] = 0x60;
        e = assertThrows(ImageDecodeException.class, () -> DECODER.decode(jpg, "big.jpg"));
        assertEquals(Reason.TOO_LARGE, e.reason());

        // The GIF trick: a small screen with the first frame placed far outside it.
        byte[] gif = encode(photoLike(8, 8, 8), "gif");
        int desc = indexOf(gif, new byte[] {0x2C, 0, 0, 0, 0, 8, 0, 8, 0});
        gif[desc + 3] = 0;
        gif[desc + 4] = (byte) 0xFF; // top = 65280
        gif[desc + 5] = (byte) 0xFF;
        gif[desc + 6] = (byte) 0xFF; // width 65535
        e = assertThrows(ImageDecodeException.class, () -> DECODER.decode(gif, "bomb.gif"));
        assertEquals(Reason.TOO_LARGE, e.reason(), e.getMessage());
    }

    @Test
    void gifFrameSmallerThanTheScreenIsPlacedOnPilsCanvas() throws Exception {
        BufferedImage src = photoLike(8, 6, 12);
        BufferedImage pal = new BufferedImage(8, 6, BufferedImage.TYPE_BYTE_INDEXED);
        pal.getGraphics().drawImage(src, 0, 0, null);
        byte[] gif = encode(pal, "gif");
        // Grow the logical screen to 12x10 and move the frame to (3,2).
        gif[6] = 12;
        gif[8] = 10;
        int desc = indexOf(gif, new byte[] {0x2C, 0, 0, 0, 0, 8, 0, 6, 0});
        assertTrue(desc > 0);
        gif[desc + 1] = 3;
        gif[desc + 3] = 2;
        RgbImage dec = DECODER.decode(gif, "offset.gif");
        assertEquals(12, dec.width());
        assertEquals(10, dec.height());
        IndexColorModel icm = (IndexColorModel) pal.getColorModel();
        // Outside the frame: palette entry 0 (no transparency), as PIL fills frame 0's canvas.
        assertEquals(icm.getRed(0), dec.get(0, 0, 0));
        assertEquals(icm.getBlue(0), dec.get(11, 9, 2));
        for (int y = 0; y < 6; y++) {
            for (int x = 0; x < 8; x++) {
                int p = pal.getRGB(x, y);
                assertEquals((p >> 16) & 0xFF, dec.get(x + 3, y + 2, 0), "frame pixel " + x + "," + y);
                assertEquals(p & 0xFF, dec.get(x + 3, y + 2, 2), "frame pixel " + x + "," + y);
            }
        }
    }

    @Test
    void pixelLimitIsConfigurable() throws Exception {
        byte[] png = encode(photoLike(100, 100, 9), "png");
        ImageDecoder small = ImageDecoder.builder().optMaxPixels(9_999).build();
        assertEquals(Reason.TOO_LARGE, assertThrows(ImageDecodeException.class, () -> small.decode(png, "x.png"))
                .reason());
        assertEquals(100, ImageDecoder.builder().optMaxPixels(10_000).build().decode(png, "x.png").width());
    }

    @Test
    void truncatedPngIsCorruptAndTruncatedJpegWarns() throws Exception {
        BufferedImage img = photoLike(200, 150, 10);
        byte[] png = encode(img, "png");
        byte[] cutPng = Arrays.copyOf(png, png.length / 2);
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> DECODER.decode(cutPng, "cut.png"));
        assertEquals(Reason.CORRUPT, e.reason());
        assertTrue(e.getMessage().contains("cut.png") && e.getMessage().contains("truncated"), e.getMessage());

        byte[] jpg = encode(img, "jpeg");
        byte[] cutJpg = Arrays.copyOf(jpg, jpg.length * 2 / 3);
        RgbImage dec = DECODER.decode(cutJpg, "cut.jpg");
        assertEquals(200, dec.width());
        assertTrue(dec.warnings().stream().anyMatch(w -> w.startsWith("truncated: ")), dec.warnings().toString());
    }

    // ---------------------------------------------------------------------------------------------- API

    @Test
    void pathStreamAndBytesAgree(@TempDir Path dir) throws Exception {
        byte[] jpg = encode(photoLike(40, 30, 11), "jpeg");
        Path f = dir.resolve("a b.jpg");
        Files.write(f, jpg);
        RgbImage a = DECODER.decode(f);
        RgbImage b = DECODER.decode(new ByteArrayInputStream(jpg), "a b.jpg");
        RgbImage c = DECODER.decode(jpg, "a b.jpg");
        assertArrayEquals(a.rgb(), b.rgb());
        assertArrayEquals(a.rgb(), c.rgb());
    }

    @Test
    void oneDecoderServesManyThreads() throws Exception {
        List<byte[]> inputs = new ArrayList<>();
        List<RgbImage> expected = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            byte[] bytes = encode(photoLike(50 + i, 40, 20 + i), i % 2 == 0 ? "jpeg" : "png");
            inputs.add(bytes);
            expected.add(DECODER.decode(bytes, "img" + i));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int rep = 0; rep < 20; rep++) {
                int i = rep % inputs.size();
                results.add(pool.submit(() -> Arrays.equals(expected.get(i).rgb(),
                        DECODER.decode(inputs.get(i), "img" + i).rgb())));
            }
            for (Future<Boolean> r : results) {
                assertTrue(r.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---------------------------------------------------------------------------------------------- utilities

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

}
