package org.transfer4j.tools.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.tools.Cli;

class DrawnDatasetTest {
    @TempDir
    Path dir;

    private static List<Path> files(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).map(root::relativize).sorted().toList();
        }
    }

    private DrawnDataset.Summary draw(Path out, long seed) throws IOException {
        return DrawnDataset.builder(out).optSeed(seed).optPerClass(8).optSize(96).build().write();
    }

    @Test
    void sameSeedGivesByteIdenticalFilesAndAnotherSeedDifferentOnes() throws Exception {
        draw(dir.resolve("a"), 7);
        draw(dir.resolve("b"), 7);
        draw(dir.resolve("c"), 8);
        List<Path> names = files(dir.resolve("a"));
        assertEquals(names, files(dir.resolve("b")));
        assertEquals(names, files(dir.resolve("c")), "the seed changes the pixels, not the file names");
        int differing = 0;
        for (Path rel : names) {
            byte[] a = Files.readAllBytes(dir.resolve("a").resolve(rel));
            assertArrayEquals(a, Files.readAllBytes(dir.resolve("b").resolve(rel)), rel.toString());
            if (!java.util.Arrays.equals(a, Files.readAllBytes(dir.resolve("c").resolve(rel)))) {
                differing++;
            }
        }
        assertEquals(names.size(), differing, "every image differs under another seed");
    }

    @Test
    void writesFourClassesSplitIntoTrainAndHeldoutAsRealJpegs() throws Exception {
        DrawnDataset.Summary s = draw(dir, 1);
        assertEquals(4, s.classes());
        assertEquals(4 * 6, s.train());
        assertEquals(4 * 2, s.heldout());
        for (DrawnDataset.Pattern p : DrawnDataset.Pattern.values()) {
            for (String split : List.of("train", "heldout")) {
                Path folder = dir.resolve(split).resolve(p.folder());
                try (Stream<Path> f = Files.list(folder)) {
                    List<Path> imgs = f.toList();
                    assertEquals(split.equals("train") ? 6 : 2, imgs.size(), folder.toString());
                    for (Path img : imgs) {
                        byte[] b = Files.readAllBytes(img);
                        assertTrue(b[0] == (byte) 0xFF && b[1] == (byte) 0xD8, img + " starts like a JPEG");
                        BufferedImage decoded = ImageIO.read(img.toFile());
                        assertNotNull(decoded, img.toString());
                        assertEquals(96, decoded.getWidth());
                    }
                }
            }
        }
    }

    @Test
    void eachClassShowsItsOwnHueOnAGreyBackground() {
        // The signal an untrained backbone can use: saturated pixels carry the class hue, the rest is grey.
        float[][] expected = {{0.95f, 0.05f}, {0.25f, 0.43f}, {0.54f, 0.71f}, {0.10f, 0.19f}};
        DrawnDataset.Pattern[] ps = DrawnDataset.Pattern.values();
        for (int c = 0; c < ps.length; c++) {
            for (int i = 0; i < 5; i++) {
                BufferedImage img = DrawnDataset.draw(ps[c], DrawnDataset.imageSeed(3, c, i), 128);
                int coloured = 0;
                int inFamily = 0;
                for (int y = 0; y < 128; y += 2) {
                    for (int x = 0; x < 128; x += 2) {
                        int rgb = img.getRGB(x, y);
                        float[] hsb = Color.RGBtoHSB((rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff, null);
                        if (hsb[1] > 0.4f && hsb[2] > 0.3f) {
                            coloured++;
                            float h = hsb[0];
                            boolean ok = expected[c][0] > expected[c][1]
                                    ? h >= expected[c][0] || h <= expected[c][1]
                                    : h >= expected[c][0] && h <= expected[c][1];
                            if (ok) {
                                inFamily++;
                            }
                        }
                    }
                }
                assertTrue(coloured > 100, ps[c] + " #" + i + " has a visible patch (" + coloured + " px)");
                assertTrue(inFamily > 0.9 * coloured, ps[c] + " #" + i + ": " + inFamily + "/" + coloured
                        + " coloured pixels in the hue family");
            }
        }
    }

    @Test
    void existingFoldersAreKeptUnlessOverwriting() throws Exception {
        draw(dir, 1);
        IOException e = assertThrows(IOException.class, () -> draw(dir, 1));
        assertTrue(e.getMessage().contains("--overwrite"), e.getMessage());
        Files.writeString(dir.resolve("train/red_stripes/stale.jpg"), "x");
        DrawnDataset.builder(dir).optPerClass(8).optSize(96).optOverwrite(true).build().write();
        assertFalse(Files.exists(dir.resolve("train/red_stripes/stale.jpg")));
    }

    @Test
    void badOptionsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DrawnDataset.builder(dir).optHeldoutFraction(1.5).build());
        assertTrue(e.getMessage().contains("'heldoutFraction'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DrawnDataset.builder(dir).optSize(4).build());
        assertTrue(e.getMessage().contains("'size'"), e.getMessage());
    }

    @Test
    void theCommandLineDrawsAndSplits() throws Exception {
        assertEquals(0, Cli.run(new DemoCommand(), new String[] {"draw", "--out", dir.resolve("d").toString(),
            "--per-class", "8", "--size", "64", "--format", "png"}));
        assertTrue(Files.exists(dir.resolve("d/heldout/blue_dots/blue_dots_007.png")));
        // split a folder-per-class set (here: the drawn train folder) into train/heldout
        assertEquals(0, Cli.run(new DemoCommand(), new String[] {"split", "--in", dir.resolve("d/train").toString(),
            "--out", dir.resolve("s").toString(), "--heldout", "0.5"}));
        assertEquals(3, files(dir.resolve("s/train/yellow_rings")).size());
        assertEquals(3, files(dir.resolve("s/heldout/yellow_rings")).size());
        assertEquals(Cli.EXIT_FAILED, Cli.run(new DemoCommand(), new String[] {"split", "--in",
            dir.resolve("d/train/blue_dots").toString(), "--out", dir.resolve("t").toString()}));
    }
}
