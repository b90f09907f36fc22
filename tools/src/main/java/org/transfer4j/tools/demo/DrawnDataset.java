package org.transfer4j.tools.demo;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Rectangle2D;
import java.awt.geom.RoundRectangle2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.SplittableRandom;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.transfer4j.backbone.io.FileTrees;

/**
 * A small labelled image set drawn with Java2D, so the demo needs no download: four classes, each a pattern in its own
 * hue family (red stripes, green checkerboard, blue dots, yellow rings) at a random scale, position and orientation,
 * clipped to a random ellipse or rounded rectangle, on a grey background with grey pixel noise, written as real JPEG
 * or PNG files into {@code train/CLASS/} and {@code heldout/CLASS/}.
 *
 * <p>Why grey backgrounds and per-class hues: the demo's default backbone is not pretrained, so its features only see
 * colour and texture energy; with random background colours a prototype scored near chance, with grey backgrounds and
 * per-class hues 0.93-0.98.
 *
 * <p>Deterministic: every image comes from its own random stream derived from (seed, class, index), so the same seed
 * gives byte-identical files (same JVM) and the set does not change when {@code perClass} grows.
 */
public final class DrawnDataset {
    /** The classes: a folder name, a hue range (0..1, may wrap below 0) and how the pattern is drawn. */
    public enum Pattern {
        RED_STRIPES("red_stripes", -0.03f, 0.03f),
        GREEN_CHECKERBOARD("green_checkerboard", 0.27f, 0.40f),
        BLUE_DOTS("blue_dots", 0.57f, 0.68f),
        YELLOW_RINGS("yellow_rings", 0.12f, 0.17f);

        private final String folder;
        private final float hueLo;
        private final float hueHi;

        Pattern(String folder, float hueLo, float hueHi) {
            this.folder = folder;
            this.hueLo = hueLo;
            this.hueHi = hueHi;
        }

        /** The class name, used as the folder name. */
        public String folder() {
            return folder;
        }
    }

    /** Image file format. */
    public enum Format {
        JPG("jpg"), PNG("png");

        private final String ext;

        Format(String ext) {
            this.ext = ext;
        }

        public String extension() {
            return ext;
        }
    }

    /** What {@link #write()} made. */
    public record Summary(Path root, int classes, int train, int heldout) {
    }

    private final Path out;
    private final long seed;
    private final int perClass;
    private final double heldoutFraction;
    private final int size;
    private final Format format;
    private final boolean overwrite;

    private DrawnDataset(Builder b) {
        this.out = b.out;
        this.seed = b.seed;
        this.perClass = b.perClass;
        this.heldoutFraction = b.heldoutFraction;
        this.size = b.size;
        this.format = b.format;
        this.overwrite = b.overwrite;
    }

    /** A builder writing into {@code out} (which gets {@code train/} and {@code heldout/}). */
    public static Builder builder(Path out) {
        return new Builder(out);
    }

    /** Options, validated in {@link #build()}. */
    public static final class Builder {
        private final Path out;
        private long seed = 42;
        private int perClass = 80;
        private double heldoutFraction = 0.25;
        private int size = 224;
        private Format format = Format.JPG;
        private boolean overwrite;

        private Builder(Path out) {
            if (out == null) {
                throw new IllegalArgumentException("drawn dataset option 'out' is null; allowed: a folder path");
            }
            this.out = out;
        }

        public Builder optSeed(long s) {
            this.seed = s;
            return this;
        }

        /** Images per class, train and held-out together (default 80). */
        public Builder optPerClass(int n) {
            this.perClass = n;
            return this;
        }

        /** Share of each class that goes to {@code heldout/} (default 0.25). */
        public Builder optHeldoutFraction(double f) {
            this.heldoutFraction = f;
            return this;
        }

        /** Side of the square images in pixels (default 224). */
        public Builder optSize(int px) {
            this.size = px;
            return this;
        }

        public Builder optFormat(Format f) {
            this.format = f;
            return this;
        }

        /** Replace {@code train/} and {@code heldout/} when they exist (default: refuse). */
        public Builder optOverwrite(boolean o) {
            this.overwrite = o;
            return this;
        }

        public DrawnDataset build() {
            check(perClass >= 2 && perClass <= 100_000, "perClass", perClass, "2..100000");
            check(heldoutFraction > 0 && heldoutFraction < 1, "heldoutFraction", heldoutFraction,
                    "strictly between 0 and 1");
            int held = heldCount(perClass, heldoutFraction);
            check(held >= 1 && held < perClass, "heldoutFraction", heldoutFraction,
                    "a share leaving at least one train and one held-out image per class (perClass " + perClass + ")");
            check(size >= 32 && size <= 2048, "size", size, "32..2048 pixels");
            check(format != null, "format", null, "jpg or png");
            return new DrawnDataset(this);
        }

        private static void check(boolean ok, String field, Object value, String allowed) {
            if (!ok) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "drawn dataset option '%s' is %s; allowed: %s", field, value, allowed));
            }
        }
    }

    private static int heldCount(int perClass, double fraction) {
        return (int) Math.round(perClass * fraction);
    }

    /** Draws and writes every image; returns the counts. */
    public Summary write() throws IOException {
        Path train = out.resolve("train");
        Path heldout = out.resolve("heldout");
        for (Path p : new Path[] {train, heldout}) {
            if (Files.exists(p)) {
                if (!overwrite) {
                    throw new IOException(p + " already exists; remove it or pass --overwrite to draw the set again");
                }
                FileTrees.deleteTree(p);
            }
        }
        int held = heldCount(perClass, heldoutFraction);
        int nTrain = 0;
        int nHeld = 0;
        Pattern[] classes = Pattern.values();
        for (int c = 0; c < classes.length; c++) {
            Pattern p = classes[c];
            Files.createDirectories(train.resolve(p.folder()));
            Files.createDirectories(heldout.resolve(p.folder()));
            for (int i = 0; i < perClass; i++) {
                boolean isHeld = i >= perClass - held;
                Path dir = (isHeld ? heldout : train).resolve(p.folder());
                String name = String.format(Locale.ROOT, "%s_%03d.%s", p.folder(), i, format.extension());
                Files.write(dir.resolve(name), encode(draw(p, imageSeed(seed, c, i), size), format));
                if (isHeld) {
                    nHeld++;
                } else {
                    nTrain++;
                }
            }
        }
        return new Summary(out, classes.length, nTrain, nHeld);
    }

    /** A well-mixed seed per image (SplitMix64 finaliser), so neighbouring indices give unrelated streams. */
    static long imageSeed(long seed, int cls, int index) {
        long z = seed * 0x9E3779B97F4A7C15L + cls * 0xBF58476D1CE4E5B9L + index * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Draws one image of class {@code p}; the same arguments always give the same pixels. */
    public static BufferedImage draw(Pattern p, long seed, int size) {
        SplittableRandom r = new SplittableRandom(seed);
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            int grey = 80 + r.nextInt(97);
            g.setColor(new Color(grey, grey, grey));
            g.fillRect(0, 0, size, size);

            // The patch: a random ellipse or rounded rectangle, 40-90% of the image, anywhere mostly inside it.
            double extent = size * (0.4 + 0.5 * r.nextDouble());
            double aspect = 0.6 + 0.8 * r.nextDouble();
            double w = Math.min(size * 0.95, extent * Math.sqrt(aspect));
            double h = Math.min(size * 0.95, extent / Math.sqrt(aspect));
            double cx = w / 2 + r.nextDouble() * Math.max(1, size - w);
            double cy = h / 2 + r.nextDouble() * Math.max(1, size - h);
            double angle = r.nextDouble() * Math.PI;
            Shape patch = r.nextBoolean()
                    ? new Ellipse2D.Double(-w / 2, -h / 2, w, h)
                    : new RoundRectangle2D.Double(-w / 2, -h / 2, w, h, w / 4, h / 4);
            AffineTransform at = new AffineTransform();
            at.translate(cx, cy);
            at.rotate(r.nextDouble() * Math.PI);
            Shape clip = at.createTransformedShape(patch);

            Color fg = hued(p, r, 0.55f, 1.0f);
            // Half the images fill the gaps with a dark shade of the same hue, half leave the grey showing.
            Color gap = r.nextBoolean() ? hued(p, r, 0.15f, 0.45f) : null;

            g.setClip(clip);
            if (gap != null) {
                g.setColor(gap);
                g.fill(clip);
            }
            g.translate(cx, cy);
            g.rotate(angle);
            g.setColor(fg);
            double reach = Math.hypot(w, h);
            switch (p) {
                case RED_STRIPES -> {
                    double period = size / (7.0 + 13.0 * r.nextDouble());
                    double width = period * (0.35 + 0.3 * r.nextDouble());
                    for (double x = -reach; x < reach; x += period) {
                        g.fill(new Rectangle2D.Double(x, -reach, width, 2 * reach));
                    }
                }
                case GREEN_CHECKERBOARD -> {
                    double cell = size / (6.0 + 10.0 * r.nextDouble());
                    int n = (int) Math.ceil(reach / cell);
                    for (int i = -n; i < n; i++) {
                        for (int j = -n; j < n; j++) {
                            if (((i + j) & 1) == 0) {
                                g.fill(new Rectangle2D.Double(i * cell, j * cell, cell, cell));
                            }
                        }
                    }
                }
                case BLUE_DOTS -> {
                    double spacing = size / (6.0 + 8.0 * r.nextDouble());
                    double radius = spacing * (0.2 + 0.18 * r.nextDouble());
                    int n = (int) Math.ceil(reach / spacing);
                    for (int i = -n; i <= n; i++) {
                        for (int j = -n; j <= n; j++) {
                            double x = i * spacing + (r.nextDouble() - 0.5) * spacing * 0.3;
                            double y = j * spacing + (r.nextDouble() - 0.5) * spacing * 0.3;
                            g.fill(new Ellipse2D.Double(x - radius, y - radius, 2 * radius, 2 * radius));
                        }
                    }
                }
                case YELLOW_RINGS -> {
                    double spacing = size / (8.0 + 12.0 * r.nextDouble());
                    g.setStroke(new BasicStroke((float) (spacing * (0.3 + 0.25 * r.nextDouble()))));
                    // Rings around a point inside the patch, not always its centre.
                    double ox = (r.nextDouble() - 0.5) * w * 0.4;
                    double oy = (r.nextDouble() - 0.5) * h * 0.4;
                    for (double rad = spacing / 2; rad < reach; rad += spacing) {
                        g.draw(new Ellipse2D.Double(ox - rad, oy - rad, 2 * rad, 2 * rad));
                    }
                }
                default -> throw new IllegalStateException("unknown pattern " + p);
            }
        } finally {
            g.dispose();
        }
        addGreyNoise(img, r, 4 + 14 * r.nextDouble());
        return img;
    }

    /** A colour of the pattern's hue family with saturation 0.55-1 and brightness in [lo, hi]. */
    private static Color hued(Pattern p, SplittableRandom r, float lo, float hi) {
        float hue = p.hueLo + (p.hueHi - p.hueLo) * (float) r.nextDouble();
        if (hue < 0) {
            hue += 1f;
        }
        float sat = 0.55f + 0.45f * (float) r.nextDouble();
        float bri = lo + (hi - lo) * (float) r.nextDouble();
        return Color.getHSBColor(hue, sat, bri);
    }

    /** Adds the same Gaussian value to R, G and B of each pixel: noise without colour, so hue stays the signal. */
    private static void addGreyNoise(BufferedImage img, SplittableRandom r, double sigma) {
        int w = img.getWidth();
        int h = img.getHeight();
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int n = (int) Math.round(r.nextGaussian() * sigma);
                int v = row[x];
                row[x] = (clamp(((v >> 16) & 0xff) + n) << 16) | (clamp(((v >> 8) & 0xff) + n) << 8)
                        | clamp((v & 0xff) + n);
            }
            img.setRGB(0, y, w, 1, row, 0, w);
        }
    }

    private static int clamp(int v) {
        return v < 0 ? 0 : Math.min(255, v);
    }

    /** Encodes to JPEG (quality 0.92, baseline) or PNG with the JDK's ImageIO writers. */
    static byte[] encode(BufferedImage img, Format format) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 * 1024);
        if (format == Format.PNG) {
            if (!ImageIO.write(img, "png", bytes)) {
                throw new IOException("no PNG writer available");
            }
            return bytes.toByteArray();
        }
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("jpeg");
        if (!writers.hasNext()) {
            throw new IOException("no JPEG writer available");
        }
        ImageWriter writer = writers.next();
        try (ImageOutputStream ios = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(ios);
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(0.92f);
            writer.write(null, new IIOImage(img, null, null), param);
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }
}
