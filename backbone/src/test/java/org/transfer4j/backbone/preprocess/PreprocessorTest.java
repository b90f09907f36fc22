package org.transfer4j.backbone.preprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.transfer4j.backbone.preprocess.PilResamplerTest.image;
import static org.transfer4j.backbone.preprocess.PilResamplerTest.random;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.ChannelOrder;
import org.transfer4j.backbone.spec.Interpolation;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.backbone.spec.ResizePolicy;

class PreprocessorTest {
    /** A spec whose output floats are the raw 0..255 pixel values, to read positions back. */
    static BackboneSpec raw(Layout layout, ChannelOrder order, ResizePolicy policy, int shorter, Interpolation f,
            int h, int w) {
        return new BackboneSpec("custom", "x", layout, h, w, order, policy, shorter, f, 1.0, new double[] {0, 0, 0},
                new double[] {1, 1, 1}, null, 0, null);
    }

    static FloatBuffer buffer(BackboneSpec spec, int images) {
        return ByteBuffer.allocateDirect(images * spec.floatsPerImage() * 4).order(ByteOrder.nativeOrder())
                .asFloatBuffer();
    }

    /** Reads model channel c at (x, y) of image i, whatever the layout. */
    static float at(FloatBuffer b, BackboneSpec s, int i, int c, int x, int y) {
        int base = i * s.floatsPerImage();
        return s.layout() == Layout.NCHW ? b.get(base + (c * s.height() + y) * s.width() + x)
                : b.get(base + (y * s.width() + x) * 3 + c);
    }

    @Test
    void layoutsAndChannelOrders() {
        RgbImage img = image(8, 8, (x, y) -> x, (x, y) -> 10 + y, (x, y) -> 100 + x + y);
        for (Layout layout : Layout.values()) {
            for (ChannelOrder order : ChannelOrder.values()) {
                BackboneSpec s = raw(layout, order, ResizePolicy.DIRECT, 0, Interpolation.NEAREST, 8, 8);
                FloatBuffer b = buffer(s, 3);
                new Preprocessor(s).write(img, b, 2);
                for (int y = 0; y < 8; y++) {
                    for (int x = 0; x < 8; x++) {
                        float r = x;
                        float g = 10 + y;
                        float bl = 100 + x + y;
                        boolean bgr = order == ChannelOrder.BGR;
                        assertEquals(bgr ? bl : r, at(b, s, 2, 0, x, y), layout + " " + order);
                        assertEquals(g, at(b, s, 2, 1, x, y), layout + " " + order);
                        assertEquals(bgr ? r : bl, at(b, s, 2, 2, x, y), layout + " " + order);
                    }
                }
                // Raw memory order, independent of the helper above.
                int base = 2 * s.floatsPerImage();
                if (layout == Layout.NCHW) {
                    assertEquals(order == ChannelOrder.RGB ? 1f : 101f, b.get(base + 1),
                            "NCHW: x=1 of the first plane");
                    assertEquals(10f, b.get(base + 64), "NCHW: second plane is G");
                } else {
                    assertEquals(10f, b.get(base + 1), "NHWC: G of pixel 0");
                    assertEquals(1f, b.get(base + (order == ChannelOrder.RGB ? 3 : 5)), "NHWC: R of pixel 1");
                }
                assertEquals(0, b.position());
                assertEquals(0f, b.get(0), "image 0 untouched");
                assertEquals(0f, b.get(2 * s.floatsPerImage() - 1), "image 1 untouched");
            }
        }
    }

    @Test
    void normalisationIsTorchvisionsFloat32Arithmetic() {
        BackboneSpec torch = Preset.TORCH.spec("input", Layout.NCHW, 8, 8);
        BackboneSpec caffe = Preset.CAFFE.spec("input", Layout.NHWC, 8, 8);
        float[] mean = {0.485f, 0.456f, 0.406f};
        float[] std = {0.229f, 0.224f, 0.225f};
        float[] caffeMean = {103.939f, 116.779f, 123.68f};
        for (int v = 0; v < 256; v += 15) {
            int value = v;
            RgbImage img = image(9, 9, (x, y) -> value, (x, y) -> 255 - value, (x, y) -> value / 2);
            int[] rgb = {value, 255 - value, value / 2};
            FloatBuffer b = buffer(torch, 1);
            new Preprocessor(torch).write(img, b, 0);
            for (int c = 0; c < 3; c++) {
                // ToTensor: uint8 -> float32 / 255; Normalize: (x - mean) / std in float32.
                float expected = (rgb[c] / 255f - mean[c]) / std[c];
                assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(at(b, torch, 0, c, 3, 4)),
                        "torch channel " + c + " value " + value);
            }
            new Preprocessor(caffe).write(img, b, 0);
            for (int c = 0; c < 3; c++) {
                // numpy: float32 pixel (BGR) - float32 mean.
                float expected = rgb[2 - c] - caffeMean[c];
                assertEquals(expected, at(b, caffe, 0, c, 3, 4), "caffe channel " + c + " value " + value);
            }
        }
        BackboneSpec tf = Preset.TF.spec("input", Layout.NHWC, 8, 8);
        FloatBuffer b = buffer(tf, 1);
        new Preprocessor(tf).write(image(8, 8, (x, y) -> 0, (x, y) -> 255, (x, y) -> 128), b, 0);
        assertEquals(-1f, b.get(0));
        assertEquals(1f, b.get(1));
        assertEquals(128 / 127.5f - 1f, b.get(2));
    }

    @Test
    void centerCropRoundsHalfToEvenLikePython() {
        // Shorter side already 8, so Resize is a copy and the crop offset is visible: R = x, G = y.
        BackboneSpec s = raw(Layout.NCHW, ChannelOrder.RGB, ResizePolicy.SHORTER_SIDE_THEN_CENTER_CROP, 8,
                Interpolation.BILINEAR, 8, 8);
        Preprocessor p = new Preprocessor(s);
        FloatBuffer b = buffer(s, 1);
        // int(round((W - 8) / 2.0)): 9 -> 0.5 -> 0, 10 -> 1, 11 -> 1.5 -> 2, 13 -> 2.5 -> 2, 15 -> 3.5 -> 4.
        int[][] cases = {{9, 0}, {10, 1}, {11, 2}, {13, 2}, {15, 4}, {8, 0}};
        for (int[] c : cases) {
            p.write(image(c[0], 8, (x, y) -> x, (x, y) -> y, (x, y) -> 0), b, 0);
            assertEquals(c[1], at(b, s, 0, 0, 0, 0), "left offset for width " + c[0]);
            assertEquals(c[1] + 7, at(b, s, 0, 0, 7, 0));
            p.write(image(8, c[0], (x, y) -> x, (x, y) -> y, (x, y) -> 0), b, 0);
            assertEquals(c[1], at(b, s, 0, 1, 0, 0), "top offset for height " + c[0]);
            assertEquals(0, at(b, s, 0, 0, 0, 0));
        }
    }

    @Test
    void shorterSideResizeTruncatesTheLongSideThenCrops() {
        // 10x7, S = 8: newW = int(8 * 10 / 7) = int(11.43) = 11, newH = 8; crop left = round(1.5) = 2, top = 0.
        BackboneSpec s = raw(Layout.NHWC, ChannelOrder.RGB, ResizePolicy.SHORTER_SIDE_THEN_CENTER_CROP, 8,
                Interpolation.BILINEAR, 8, 8);
        RgbImage img = random(10, 7, 5);
        FloatBuffer b = buffer(s, 1);
        new Preprocessor(s).write(img, b, 0);
        int[] full = PilResamplerTest.resize(new PilResampler(), img, 11, 8, Interpolation.BILINEAR);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                for (int c = 0; c < 3; c++) {
                    assertEquals(full[(y * 11 + x + 2) * 3 + c], at(b, s, 0, c, x, y), x + "," + y + "," + c);
                }
            }
        }
        // Portrait: 7x10 -> 8x11, top = 2.
        RgbImage tall = random(7, 10, 6);
        new Preprocessor(s).write(tall, b, 0);
        int[] fullTall = PilResamplerTest.resize(new PilResampler(), tall, 8, 11, Interpolation.BILINEAR);
        assertEquals(fullTall[((2 * 8) + 3) * 3 + 1], at(b, s, 0, 1, 3, 0));
        assertEquals(fullTall[((9 * 8) + 7) * 3 + 2], at(b, s, 0, 2, 7, 7));
    }

    @Test
    void directResizeUsesTheSpecsFilter() {
        BackboneSpec s = raw(Layout.NCHW, ChannelOrder.RGB, ResizePolicy.DIRECT, 0, Interpolation.NEAREST, 8, 8);
        RgbImage img = image(16, 32, (x, y) -> x, (x, y) -> y, (x, y) -> 1);
        FloatBuffer b = buffer(s, 1);
        new Preprocessor(s).write(img, b, 0);
        // a0 = 2: columns 1, 3, ..; a4 = 4: rows 2, 6, ...
        assertEquals(1f, at(b, s, 0, 0, 0, 0));
        assertEquals(15f, at(b, s, 0, 0, 7, 0));
        assertEquals(2f, at(b, s, 0, 1, 0, 0));
        assertEquals(30f, at(b, s, 0, 1, 0, 7));
    }

    @Test
    void viewsCropThenResizeThenFlip() {
        BackboneSpec s = raw(Layout.NHWC, ChannelOrder.RGB, ResizePolicy.DIRECT, 0, Interpolation.BILINEAR, 8, 8);
        RgbImage img = random(16, 12, 9);
        Preprocessor p = new Preprocessor(s);
        FloatBuffer b = buffer(s, 2);
        // A box of exactly the output size is a plain crop.
        p.write(img, new View(4, 2, 8, 8, false), b, 0);
        p.write(img, new View(4, 2, 8, 8, true), b, 1);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                for (int c = 0; c < 3; c++) {
                    assertEquals(img.get(x + 4, y + 2, c), at(b, s, 0, c, x, y));
                    assertEquals(img.get(x + 4, y + 2, c), at(b, s, 1, c, 7 - x, y), "flipped");
                }
            }
        }
        // torchvision's crop-then-resize: pixels outside the box never leak in. Compare with resizing the crop.
        RgbImage big = random(40, 30, 10);
        View v = new View(5, 7, 20, 13, false);
        byte[] crop = new byte[20 * 13 * 3];
        for (int y = 0; y < 13; y++) {
            System.arraycopy(big.rgb(), ((7 + y) * 40 + 5) * 3, crop, y * 20 * 3, 20 * 3);
        }
        FloatBuffer viaView = buffer(s, 1);
        FloatBuffer viaCrop = buffer(s, 1);
        p.write(big, v, viaView, 0);
        p.write(new RgbImage(20, 13, crop), View.whole(20, 13), viaCrop, 0);
        assertEquals(viaCrop, viaView);
        // The whole-image view is the DIRECT policy.
        FloatBuffer plain = buffer(s, 1);
        p.write(big, plain, 0);
        p.write(big, View.whole(40, 30), viaView, 0);
        assertEquals(plain, viaView);
    }

    @Test
    void fractionalViewsStayInsideTheirPixels() {
        BackboneSpec s = raw(Layout.NCHW, ChannelOrder.RGB, ResizePolicy.DIRECT, 0, Interpolation.BICUBIC, 8, 8);
        RgbImage img = random(30, 30, 12);
        FloatBuffer b = buffer(s, 1);
        Preprocessor p = new Preprocessor(s);
        p.write(img, new View(2.5, 3.25, 20.5, 17.75, true), b, 0);
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (int i = 0; i < s.floatsPerImage(); i++) {
            min = Math.min(min, b.get(i));
            max = Math.max(max, b.get(i));
        }
        assertTrue(min >= 0 && max <= 255 && max > min, min + ".." + max);
    }

    @Test
    void tinyAndExtremeAspectImages() {
        BackboneSpec[] specs = {Preset.TORCH.spec("x", Layout.NCHW, 224, 224),
            Preset.CAFFE.spec("x", Layout.NHWC, 224, 224),
            raw(Layout.NCHW, ChannelOrder.RGB, ResizePolicy.SHORTER_SIDE_THEN_CENTER_CROP, 10, Interpolation.BICUBIC,
                    8, 8),
            raw(Layout.NHWC, ChannelOrder.BGR, ResizePolicy.SHORTER_SIDE_THEN_CENTER_CROP, 9, Interpolation.NEAREST,
                    8, 8)};
        for (BackboneSpec s : specs) {
            Preprocessor p = new Preprocessor(s);
            FloatBuffer b = buffer(s, 1);
            // A single pixel upscales to a constant image, exactly.
            p.write(image(1, 1, (x, y) -> 200, (x, y) -> 100, (x, y) -> 0), b, 0);
            for (int c = 0; c < 3; c++) {
                float expected = at(b, s, 0, c, 0, 0);
                for (int i = 0; i < s.height() * s.width(); i += 7) {
                    assertEquals(expected, at(b, s, 0, c, i % s.width(), i / s.width()), s.preset() + " c" + c);
                }
            }
            for (int[] size : new int[][] {{1, 300}, {300, 1}, {2, 3}, {5000, 2}}) {
                RgbImage img = random(size[0], size[1], size[0]);
                p.write(img, b, 0);
                p.write(img, View.random(size[1], size[0], size[1]), b, 0);
                for (int i = 0; i < s.floatsPerImage(); i++) {
                    assertTrue(Float.isFinite(b.get(i)));
                }
            }
        }
    }

    @Test
    void refusesBadTargetsAndViews() {
        BackboneSpec s = raw(Layout.NCHW, ChannelOrder.RGB, ResizePolicy.DIRECT, 0, Interpolation.NEAREST, 8, 8);
        Preprocessor p = new Preprocessor(s);
        RgbImage img = random(10, 10, 1);
        FloatBuffer b = buffer(s, 2);
        var e = assertThrows(IndexOutOfBoundsException.class, () -> p.write(img, b, 2));
        assertTrue(e.getMessage().contains("image index 2"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> p.write(img, b, -1));
        var v = assertThrows(IllegalArgumentException.class, () -> p.write(img, new View(5, 5, 6, 2, false), b, 0));
        assertTrue(v.getMessage().contains("does not fit inside the 10x10 image"), v.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new View(-1, 0, 3, 3, false));
        assertThrows(IllegalArgumentException.class, () -> new View(0, 0, 0, 3, false));
        assertThrows(IllegalArgumentException.class, () -> new View(0, Double.NaN, 3, 3, false));
        // Heap buffers work too.
        FloatBuffer heap = FloatBuffer.allocate(s.floatsPerImage());
        p.write(img, heap, 0);
        assertEquals(0, heap.position());
    }

    @Test
    void steadyStateAllocatesNothingPerImage() {
        BackboneSpec torch = Preset.TORCH.spec("input", Layout.NCHW, 224, 224);
        Preprocessor p = new Preprocessor(torch);
        RgbImage a = random(500, 375, 1);
        RgbImage bImg = random(375, 500, 2);
        FloatBuffer b = buffer(torch, 2);
        View v = View.random(7, 500, 375);
        for (int i = 0; i < 3; i++) {
            p.write(a, b, 0);
            p.write(bImg, b, 1);
            p.write(a, v, b, 1);
        }
        int grows = p.scratchGrows();
        float first = b.get(12345);
        var bean = ManagementFactory.getThreadMXBean();
        boolean measured = bean instanceof com.sun.management.ThreadMXBean;
        long before = measured ? ((com.sun.management.ThreadMXBean) bean).getCurrentThreadAllocatedBytes() : 0;
        for (int i = 0; i < 10; i++) {
            p.write(a, b, 0);
            p.write(bImg, b, 1);
            p.write(a, v, b, 1);
        }
        long after = measured ? ((com.sun.management.ThreadMXBean) bean).getCurrentThreadAllocatedBytes() : 0;
        assertEquals(grows, p.scratchGrows(), "scratch arrays are reused, not regrown");
        assertEquals(first, b.get(12345));
        // One 224x224x3 float or int array would be 600 KB; 30 calls must stay far below one of them.
        assertTrue(after - before < 64 * 1024, "allocated " + (after - before) + " bytes in 30 calls");
    }
}
