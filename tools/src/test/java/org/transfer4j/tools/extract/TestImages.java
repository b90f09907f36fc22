package org.transfer4j.tools.extract;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;

/** Small labelled image folders drawn in code (seeded), so extract tests need nothing outside the repository. */
public final class TestImages {
    private TestImages() {
    }

    /**
     * Writes {@code perClass} images into each class folder under {@code root} (alternating PNG and JPEG, sizes
     * varying so resizing is exercised) plus one undecodable {@code broken.jpg} in the first class.
     */
    public static Path folder(Path root, int perClass, String... classes) throws IOException {
        SplittableRandom rnd = new SplittableRandom(root.getFileName().toString().hashCode());
        for (int c = 0; c < classes.length; c++) {
            Path dir = root.resolve(classes[c]);
            Files.createDirectories(dir);
            for (int i = 0; i < perClass; i++) {
                String ext = i % 2 == 0 ? "png" : "jpg";
                draw(dir.resolve(String.format("img%03d.%s", i, ext)), 24 + rnd.nextInt(40), 24 + rnd.nextInt(40),
                        rnd.nextLong(), c);
            }
        }
        Files.writeString(root.resolve(classes[0]).resolve("broken.jpg"), "this is not a JPEG");
        return root;
    }

    public static void draw(Path file, int w, int h, long seed, int hue) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setColor(Color.getHSBColor(hue * 0.3f, 0.5f, 0.9f));
            g.fillRect(0, 0, w, h);
            for (int k = 0; k < 6; k++) {
                g.setColor(new Color(rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256)));
                g.fillOval(rnd.nextInt(w), rnd.nextInt(h), 4 + rnd.nextInt(w), 4 + rnd.nextInt(h));
            }
        } finally {
            g.dispose();
        }
        String name = file.getFileName().toString();
        if (!ImageIO.write(img, name.substring(name.lastIndexOf('.') + 1).replace("jpg", "jpeg"), file.toFile())) {
            throw new IOException("no ImageIO writer for " + file);
        }
    }
}
