package org.transfer4j.backbone.image;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.transfer4j.testing.SharedData;

/**
 * Seeded mutation fuzzing of real JPEG/PNG/GIF bytes: bit flips, truncations, segment/chunk length corruption,
 * header size fields, byte insertions and overwrites. Every case must return an image or throw
 * {@link ImageDecodeException} within 2 s; any other exception or Error is a failure.
 */
class ImageDecoderFuzzTest {
    private static final long SEED = 20_261_128L;
    private static final long CASE_TIMEOUT_MS = 2_000;

    @Test
    void fuzzDefault() throws Exception {
        run(300, SEED);
    }

    @Tag("long")
    @Test
    void fuzzLong() throws Exception {
        run(2_500, SEED + 1);
    }

    /** A seed input: name and bytes. */
    record Seed(String name, byte[] bytes) {
    }

    private static void run(int cases, long seed) throws Exception {
        List<Seed> seeds = seeds();
        ImageDecoder decoder = ImageDecoder.builder().build();
        Random rnd = new Random(seed);
        Map<String, Integer> outcomes = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        long slowest = 0;
        String slowestCase = "";
        ExecutorService pool = Executors.newSingleThreadExecutor(daemon());
        try {
            for (int i = 0; i < cases; i++) {
                Seed s = seeds.get(rnd.nextInt(seeds.size()));
                StringBuilder how = new StringBuilder();
                byte[] input = mutate(s.bytes(), rnd, how);
                String label = String.format(Locale.ROOT, "case %d (%s, %s)", i, s.name(), how);
                long t0 = System.nanoTime();
                String name = "fuzz-" + i;
                Future<RgbImage> f = pool.submit(() -> decoder.decode(input, name));
                try {
                    RgbImage img = f.get(CASE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                    if (img.width() <= 0 || img.rgb().length != img.width() * img.height() * 3) {
                        failures.add(label + ": inconsistent image");
                    }
                    outcomes.merge("decoded", 1, Integer::sum);
                } catch (TimeoutException e) {
                    f.cancel(true);
                    failures.add(label + ": no answer within " + CASE_TIMEOUT_MS + " ms");
                    pool.shutdownNow();
                    pool = Executors.newSingleThreadExecutor(daemon());
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (c instanceof ImageDecodeException ide) {
                        outcomes.merge(ide.reason().name(), 1, Integer::sum);
                        if (!ide.getMessage().contains(name)) {
                            failures.add(label + ": message does not name the file: " + ide.getMessage());
                        }
                    } else {
                        failures.add(label + ": " + c);
                    }
                }
                long ms = (System.nanoTime() - t0) / 1_000_000;
                if (ms > slowest) {
                    slowest = ms;
                    slowestCase = label;
                }
            }
        } finally {
            pool.shutdownNow();
        }
        System.out.printf(Locale.ROOT, "fuzz: seed=%d cases=%d seeds=%d outcomes=%s slowest=%d ms (%s)%n", seed,
                cases, seeds.size(), outcomes, slowest, slowestCase);
        assertTrue(failures.isEmpty(), failures.size() + " failing cases:\n" + String.join("\n", failures));
        assertTrue(outcomes.getOrDefault("decoded", 0) > cases / 10, "mutations too destructive: " + outcomes);
    }

    private static java.util.concurrent.ThreadFactory daemon() {
        return r -> {
            Thread t = new Thread(r, "fuzz-decode");
            t.setDaemon(true);
            return t;
        };
    }

    // ------------------------------------------------------------------------------------------------ inputs

    static List<Seed> seeds() throws IOException {
        List<Seed> seeds = new ArrayList<>();
        BufferedImage photo = ImageDecoderTest.photoLike(96, 64, 7);
        seeds.add(new Seed("gen.jpg", ImageDecoderTest.encode(photo, "jpeg")));
        seeds.add(new Seed("gen-progressive.jpg", progressiveJpeg(photo)));
        seeds.add(new Seed("gen.png", ImageDecoderTest.encode(photo, "png")));
        BufferedImage pal = new BufferedImage(96, 64, BufferedImage.TYPE_BYTE_INDEXED);
        pal.getGraphics().drawImage(photo, 0, 0, null);
        seeds.add(new Seed("gen.gif", ImageDecoderTest.encode(pal, "gif")));
        seeds.add(new Seed("gen-palette.png", ImageDecoderTest.encode(pal, "png")));
        // A CMYK JPEG carrying a CMYK profile in APP2 chunks: mutations reach the chunk walk and the colour engine.
        seeds.add(new Seed("gen-cmyk-icc.jpg", CmykColorTest.withIcc(
                ImageDecoderTest.fourComponentJpeg(new int[] {200, 100, 50, 230}), CmykColorTest.defaultProfileBytes(),
                60_000)));
        Path root = SharedData.root();
        if (root != null) {
            for (String rel : List.of("hopper.jpg", "hopper_orientation_6.jpg", "pil_sample_cmyk.jpg",
                    "truncated_jpeg.jpg", "hopper.png", "pil123p.png", "i_trns.png", "hopper.gif",
                    "transparent.gif", "hopper.tif", "tiff_strip_cmyk_jpeg.tif")) {
                Path p = root.resolve("data/awkward-images/pillow/" + rel);
                if (Files.isRegularFile(p)) {
                    seeds.add(new Seed(rel, Files.readAllBytes(p)));
                }
            }
            for (String rel : List.of("basn6a16.png", "basn0g16.png", "basn3p04.png", "ibasn2c08.png")) {
                Path p = root.resolve("data/awkward-images/pngsuite/" + rel);
                if (Files.isRegularFile(p)) {
                    seeds.add(new Seed(rel, Files.readAllBytes(p)));
                }
            }
        }
        return seeds;
    }

    private static byte[] progressiveJpeg(BufferedImage img) throws IOException {
        Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName("jpeg");
        ImageWriter w = it.next();
        ImageWriteParam p = w.getDefaultWriteParam();
        p.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            w.setOutput(ios);
            w.write(null, new IIOImage(img, null, null), p);
        } finally {
            w.dispose();
        }
        return out.toByteArray();
    }

    // ------------------------------------------------------------------------------------------------ mutations

    static byte[] mutate(byte[] src, Random rnd, StringBuilder how) {
        int kind = rnd.nextInt(7);
        byte[] b = src.clone();
        switch (kind) {
            case 0: { // bit flips
                int n = 1 + rnd.nextInt(8);
                for (int i = 0; i < n; i++) {
                    int at = rnd.nextInt(b.length);
                    b[at] ^= (byte) (1 << rnd.nextInt(8));
                }
                how.append(n).append(" bit flips");
                return b;
            }
            case 1: { // truncation
                int len = rnd.nextInt(b.length);
                how.append("truncated to ").append(len);
                return java.util.Arrays.copyOf(b, len);
            }
            case 2: { // segment / chunk / block length corruption
                int[] lengthAt = lengthFields(b);
                if (lengthAt.length == 0) {
                    how.append("no length field; 1 bit flip");
                    b[rnd.nextInt(b.length)] ^= 1;
                    return b;
                }
                int at = lengthAt[rnd.nextInt(lengthAt.length)];
                int width = isPng(b) ? 4 : (isJpeg(b) ? 2 : 1);
                int mode = rnd.nextInt(3);
                for (int i = 0; i < width; i++) {
                    b[at + i] = (byte) (mode == 0 ? 0xFF : mode == 1 ? 0 : rnd.nextInt(256));
                }
                how.append("length field at ").append(at).append(mode == 0 ? " maxed" : mode == 1 ? " zeroed"
                        : " randomised");
                return b;
            }
            case 3: { // header size fields (SOF / IHDR / GIF descriptors)
                int[] sizeAt = sizeFields(b);
                if (sizeAt.length == 0) {
                    how.append("no size field; 1 bit flip");
                    b[rnd.nextInt(b.length)] ^= 1;
                    return b;
                }
                int at = sizeAt[rnd.nextInt(sizeAt.length)];
                b[at] = (byte) rnd.nextInt(256);
                how.append("size byte at ").append(at).append(" set to ").append(b[at] & 0xFF);
                return b;
            }
            case 4: { // insertion
                int at = rnd.nextInt(b.length + 1);
                int n = 1 + rnd.nextInt(16);
                byte[] out = new byte[b.length + n];
                System.arraycopy(b, 0, out, 0, at);
                for (int i = 0; i < n; i++) {
                    out[at + i] = (byte) rnd.nextInt(256);
                }
                System.arraycopy(b, at, out, at + n, b.length - at);
                how.append(n).append(" bytes inserted at ").append(at);
                return out;
            }
            case 5: { // overwrite a run with random bytes
                int at = rnd.nextInt(b.length);
                int n = Math.min(b.length - at, 1 + rnd.nextInt(64));
                for (int i = 0; i < n; i++) {
                    b[at + i] = (byte) rnd.nextInt(256);
                }
                how.append(n).append(" bytes overwritten at ").append(at);
                return b;
            }
            default: { // delete a run
                int at = rnd.nextInt(b.length);
                int n = Math.min(b.length - at, 1 + rnd.nextInt(64));
                byte[] out = new byte[b.length - n];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(b, at + n, out, at, b.length - at - n);
                how.append(n).append(" bytes deleted at ").append(at);
                return out;
            }
        }
    }

    private static boolean isPng(byte[] b) {
        return PngHeader.sniff(b);
    }

    private static boolean isJpeg(byte[] b) {
        return JpegHeader.sniff(b);
    }

    /** Offsets of length fields: PNG chunk lengths, JPEG segment lengths (before SOS), GIF sub-block sizes. */
    static int[] lengthFields(byte[] b) {
        List<Integer> at = new ArrayList<>();
        if (isPng(b)) {
            int p = 8;
            while (p + 12 <= b.length) {
                at.add(p);
                long len = ((long) (b[p] & 0xFF) << 24) | ((b[p + 1] & 0xFF) << 16) | ((b[p + 2] & 0xFF) << 8)
                        | (b[p + 3] & 0xFF);
                if (len > b.length) {
                    break;
                }
                p += 12 + (int) len;
            }
        } else if (isJpeg(b)) {
            int p = 2;
            while (p + 4 <= b.length && (b[p] & 0xFF) == 0xFF) {
                int m = b[p + 1] & 0xFF;
                at.add(p + 2);
                if (m == 0xDA) {
                    break;
                }
                p += 2 + (((b[p + 2] & 0xFF) << 8) | (b[p + 3] & 0xFF));
            }
        } else if (GifHeader.sniff(b) && b.length > 13) {
            int flags = b[10] & 0xFF;
            int p = 13 + ((flags & 0x80) != 0 ? 3 << ((flags & 7) + 1) : 0);
            int limit = 64;
            while (p < b.length && limit-- > 0) {
                int block = b[p] & 0xFF;
                if (block == 0x21 && p + 2 < b.length) {
                    p += 2;
                } else if (block == 0x2C && p + 10 < b.length) {
                    int lf = b[p + 9] & 0xFF;
                    p += 10 + ((lf & 0x80) != 0 ? 3 << ((lf & 7) + 1) : 0) + 1; // + LZW min code size
                } else {
                    break;
                }
                while (p < b.length && limit-- > 0) { // sub-blocks
                    at.add(p);
                    int size = b[p] & 0xFF;
                    p += 1 + size;
                    if (size == 0) {
                        break;
                    }
                }
            }
        }
        return at.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Offsets of the bytes holding image sizes. */
    static int[] sizeFields(byte[] b) {
        List<Integer> at = new ArrayList<>();
        if (isPng(b) && b.length >= 24) {
            for (int i = 16; i < 24; i++) {
                at.add(i);
            }
        } else if (isJpeg(b)) {
            for (int p = 2; p + 9 < b.length; p++) {
                if ((b[p] & 0xFF) == 0xFF && ((b[p + 1] & 0xFF) == 0xC0 || (b[p + 1] & 0xFF) == 0xC2)) {
                    for (int i = 5; i <= 9; i++) {
                        at.add(p + i); // height, width, component count
                    }
                    break;
                }
            }
        } else if (GifHeader.sniff(b) && b.length > 13) {
            for (int i = 6; i < 10; i++) {
                at.add(i);
            }
            for (int p = 13; p + 9 < b.length; p++) {
                if (b[p] == 0x2C && b[p - 1] == 0) {
                    for (int i = 1; i <= 9; i++) {
                        at.add(p + i);
                    }
                    break;
                }
            }
        }
        return at.stream().mapToInt(Integer::intValue).toArray();
    }
}
