package org.transfer4j.head.report;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.transfer4j.head.train.EpochStats;

/** The curves chart draws loss and accuracy in distinct colours (reds above, blues below), not the same two. */
class ChartsColoursTest {
    @Test
    void lossIsRedAndAccuracyBlue() throws Exception {
        List<EpochStats> history = List.of(new EpochStats(1, 1.0, 0.5, 0.9, 0.5, 1e-3, 0.1, true),
                new EpochStats(2, 0.7, 0.7, 0.6, 0.66, 1e-3, 0.1, true),
                new EpochStats(3, 0.5, 0.8, 0.7, 0.6, 1e-3, 0.1, false));
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(Charts.curves(history, 2)));
        int h = img.getHeight();
        int[] top = count(img, 0, h * 4 / 10);
        int[] bottom = count(img, h * 6 / 10, h * 85 / 100); // above the legend, which shows both
        assertTrue(top[0] > 200 && top[1] == 0, "loss panel: red " + top[0] + ", blue " + top[1]);
        assertTrue(bottom[1] > 200 && bottom[0] == 0, "accuracy panel: red " + bottom[0] + ", blue " + bottom[1]);
    }

    /** Strongly red and strongly blue pixels in rows [from, to). */
    private static int[] count(BufferedImage img, int from, int to) {
        int[] n = new int[2];
        for (int y = from; y < to; y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y);
                int r = rgb >> 16 & 0xFF;
                int g = rgb >> 8 & 0xFF;
                int b = rgb & 0xFF;
                if (r > 150 && r - g > 80 && r - b > 80) {
                    n[0]++;
                } else if (b > 150 && b - r > 80 && b - g > 40) {
                    n[1]++;
                }
            }
        }
        return n;
    }
}
