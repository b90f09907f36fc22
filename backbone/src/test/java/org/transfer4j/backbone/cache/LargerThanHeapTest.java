package org.transfer4j.backbone.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.extract.ImageTask;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;

/**
 * A 96 MiB cache is read end to end by a JVM with a 32 MiB heap: features come from memory-mapped shards, not the
 * heap, so caches larger than the heap train fine.
 */
class LargerThanHeapTest {
    static final int DIM = 2048;
    static final int IMAGES = 12_288; // x 8 KiB per row = 96 MiB

    @TempDir
    Path tmp;

    /** Child JVM entry point: sums every feature of the cache and prints the row count and the sum. */
    public static void main(String[] args) throws Exception {
        try (CacheReader r = CacheReader.open(Path.of(args[0]))) {
            int[] order = r.rows(i -> true);
            double[] sum = {0};
            r.forEachBatch(order, 64, (rows, f, labels, n) -> {
                for (int i = 0; i < n * DIM; i++) {
                    sum[0] += f[i];
                }
            });
            System.out.println(r.rowCount() + " " + sum[0]);
        }
    }

    @Test
    void readsACacheLargerThanTheHeap() throws Exception {
        Path root = tmp.resolve("images");
        for (int i = 0; i < IMAGES; i++) {
            Path p = root.resolve((i % 2 == 0 ? "a/" : "b/") + i + ".jpg");
            Files.createDirectories(p.getParent());
            Files.write(p, new byte[] {(byte) i});
        }
        Path cache = tmp.resolve("cache");
        var spec = Preset.TORCH.spec("input", Layout.NCHW, 32, 32).withModelSha256("c".repeat(64))
                .withFeatureDim(DIM);
        double expected = 0;
        try (CacheWriter w = CacheWriter.builder(cache, spec).optCommitEveryRows(1024).open()) {
            List<ImageTask> tasks = w.update(Dataset.fromFolder(root), 0, 0).tasks();
            float[] f = new float[DIM];
            for (ImageTask t : tasks) {
                float v = (t.id() % 7) * 0.25f;
                java.util.Arrays.fill(f, v);
                expected += (double) v * DIM;
                w.accept(t, f.clone());
            }
            w.finish();
        }
        assertEquals(IMAGES, Dataset.fromFolder(root).images().stream().map(LabeledImage::relativePath).count());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx32m", "-cp", System.getProperty("java.class.path"),
                LargerThanHeapTest.class.getName(), cache.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertEquals(0, p.waitFor(), out);
        String[] parts = out.lines().reduce((a, b) -> b).orElse("").split(" ");
        assertEquals(IMAGES, Integer.parseInt(parts[0]), out);
        assertEquals(expected, Double.parseDouble(parts[1]), 1e-6 * expected, out);
    }
}
