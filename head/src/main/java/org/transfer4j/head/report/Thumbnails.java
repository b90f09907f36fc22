package org.transfer4j.head.report;

import java.awt.Graphics2D;
import java.awt.Image;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.ImageDecoder;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.io.AtomicFiles;

/**
 * Small JPEG copies of the report's misclassified images, in a folder beside report.html, so the report folder stays
 * self-contained (the images themselves may move or sit on another machine). The page shows them small and links to
 * the file for a larger view. Decoded the way extraction decodes them (EXIF orientation applied).
 */
final class Thumbnails {
    /** Longest side of a thumbnail, in pixels: the larger view behind the link. */
    static final int SIDE = 320;
    private static final String NAME = "%03d.jpg";

    private Thumbnails() {
    }

    /**
     * Replaces the thumbnails in {@code dir} with one per path.
     *
     * @param imageFile where the image of a path is, or null when unknown (then no thumbnails are made)
     * @return the file name of each path's thumbnail, null where the image is gone or cannot be decoded
     */
    static List<String> write(Path dir, List<String> paths, Function<String, Path> imageFile) throws IOException {
        if (Files.isDirectory(dir)) {
            try (Stream<Path> old = Files.list(dir)) {
                for (Path p : (Iterable<Path>) old::iterator) {
                    if (p.getFileName().toString().matches("\\d{3}\\.jpg")) {
                        Files.delete(p);
                    }
                }
            }
        }
        List<String> names = new ArrayList<>();
        if (imageFile == null || paths.isEmpty()) {
            return names;
        }
        Files.createDirectories(dir);
        ImageDecoder decoder = ImageDecoder.builder().build();
        for (int i = 0; i < paths.size(); i++) {
            Path file = imageFile.apply(paths.get(i));
            String name = String.format(Locale.ROOT, NAME, i + 1);
            try {
                if (file == null || !Files.isRegularFile(file)) {
                    names.add(null);
                    continue;
                }
                AtomicFiles.write(dir.resolve(name), jpeg(decoder.decode(file)));
                names.add(name);
            } catch (ImageDecodeException e) {
                names.add(null); // already reported by extraction; the row just has no picture
            }
        }
        return names;
    }

    private static byte[] jpeg(RgbImage img) throws IOException {
        BufferedImage full = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_INT_RGB);
        byte[] rgb = img.rgb();
        int[] row = new int[img.width()];
        for (int y = 0; y < img.height(); y++) {
            for (int x = 0, o = y * img.width() * 3; x < img.width(); x++, o += 3) {
                row[x] = (rgb[o] & 0xFF) << 16 | (rgb[o + 1] & 0xFF) << 8 | (rgb[o + 2] & 0xFF);
            }
            full.setRGB(0, y, img.width(), 1, row, 0, img.width());
        }
        double scale = Math.min(1.0, (double) SIDE / Math.max(img.width(), img.height()));
        int w = Math.max(1, (int) Math.round(img.width() * scale));
        int h = Math.max(1, (int) Math.round(img.height() * scale));
        BufferedImage small = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = small.createGraphics();
        try {
            g.drawImage(full.getScaledInstance(w, h, Image.SCALE_AREA_AVERAGING), 0, 0, null);
        } finally {
            g.dispose();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(small, "jpg", out)) {
            throw new IOException("no JPEG writer in this Java runtime");
        }
        return out.toByteArray();
    }
}
