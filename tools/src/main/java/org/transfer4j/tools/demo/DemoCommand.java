package org.transfer4j.tools.demo;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.DatasetException;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.tools.Cli;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The demo's helpers: {@code draw} makes the drawn image set, {@code split} makes a train/held-out copy of a
 * folder-per-class set. Run with {@code java -cp tools/target/model.jar org.transfer4j.tools.demo.DemoCommand ...}.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, description = "Helpers for demo.sh.",
        subcommands = {DemoCommand.Draw.class, DemoCommand.Split.class})
public final class DemoCommand implements Callable<Integer> {
    public static void main(String[] args) {
        Cli.main(new DemoCommand(), args);
    }

    @Override
    public Integer call() {
        throw new IllegalArgumentException("choose a subcommand: draw or split (see --help)");
    }

    /** {@code draw --out DIR}: the drawn 4-class set. */
    @Command(name = "draw", mixinStandardHelpOptions = true,
            description = "Draw a 4-class image set (red stripes, green checkerboard, blue dots, yellow rings) "
                    + "into DIR/train and DIR/heldout.")
    static final class Draw implements Callable<Integer> {
        @Option(names = "--out", required = true, description = "Output folder (gets train/ and heldout/).")
        Path out;

        @Option(names = "--seed", defaultValue = "42", description = "Random seed (default ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--per-class", defaultValue = "80",
                description = "Images per class, train + held-out (default ${DEFAULT-VALUE}).")
        int perClass;

        @Option(names = "--heldout", defaultValue = "0.25",
                description = "Share of each class held out (default ${DEFAULT-VALUE}).")
        double heldout;

        @Option(names = "--size", defaultValue = "224", description = "Image side in pixels (default ${DEFAULT-VALUE}).")
        int size;

        @Option(names = "--format", defaultValue = "jpg", description = "jpg or png (default ${DEFAULT-VALUE}).")
        DrawnDataset.Format format;

        @Option(names = "--overwrite", description = "Replace existing train/ and heldout/ folders.")
        boolean overwrite;

        @Override
        public Integer call() throws IOException {
            long t0 = System.nanoTime();
            DrawnDataset.Summary s = DrawnDataset.builder(out).optSeed(seed).optPerClass(perClass)
                    .optHeldoutFraction(heldout).optSize(size).optFormat(format).optOverwrite(overwrite).build()
                    .write();
            System.out.printf(Locale.ROOT, "drew %d classes: %d train and %d held-out images in %s (%.1f s)%n",
                    s.classes(), s.train(), s.heldout(), out, (System.nanoTime() - t0) / 1e9);
            return 0;
        }
    }

    /** {@code split --in DIR --out DIR}: a deterministic, stratified train/held-out copy of a folder-per-class set. */
    @Command(name = "split", mixinStandardHelpOptions = true,
            description = "Copy a folder-per-class image set into OUT/train and OUT/heldout: every k-th image of "
                    + "each class is held out. Hard links are used where the file system allows.")
    static final class Split implements Callable<Integer> {
        @Option(names = "--in", required = true, description = "Folder with one subfolder per class.")
        Path in;

        @Option(names = "--out", required = true, description = "Output folder (gets train/ and heldout/).")
        Path out;

        @Option(names = "--heldout", defaultValue = "0.25",
                description = "Share of each class held out (default ${DEFAULT-VALUE}).")
        double heldout;

        @Override
        public Integer call() throws IOException, DatasetException {
            if (!(heldout > 0 && heldout < 1)) {
                throw new IllegalArgumentException("--heldout is " + heldout + "; allowed: strictly between 0 and 1");
            }
            // The same reading of a folder-per-class tree as extract.jar's: classes, image extensions, hidden files.
            Dataset ds = Dataset.fromFolder(in);
            if (ds.classes().size() < 2) {
                throw new IllegalArgumentException(in + " has " + ds.classes().size()
                        + " class folder(s); a classifier needs at least 2 (one subfolder per class)");
            }
            // Every k-th image of each class (in the dataset's order) keeps the split stratified and stable.
            int k = Math.max(2, (int) Math.round(1 / heldout));
            int[] seen = new int[ds.classes().size()];
            int train = 0;
            int held = 0;
            for (LabeledImage img : ds.images()) {
                boolean isHeld = seen[img.labelIndex()]++ % k == k - 1;
                Path dst = out.resolve(isHeld ? "heldout" : "train").resolve(img.relativePath());
                Files.createDirectories(dst.getParent());
                link(img.path(), dst);
                if (isHeld) {
                    held++;
                } else {
                    train++;
                }
            }
            System.out.printf(Locale.ROOT, "split %d classes from %s: %d train, %d held-out in %s%n",
                    ds.classes().size(), in, train, held, out);
            return 0;
        }

        private static void link(Path src, Path dst) throws IOException {
            Files.deleteIfExists(dst);
            try {
                Files.createLink(dst, src.toRealPath());
            } catch (IOException | UnsupportedOperationException e) {
                if (e instanceof FileAlreadyExistsException) {
                    throw (IOException) e;
                }
                // Different file system or no hard links: a copy is as good, only bigger.
                Files.copy(src, dst);
            }
        }
    }
}
