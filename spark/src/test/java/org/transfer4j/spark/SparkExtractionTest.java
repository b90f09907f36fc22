package org.transfer4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.cache.CacheReader;
import org.transfer4j.backbone.cache.Dtype;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.extract.Extraction;
import org.transfer4j.head.TrainingConfig;
import org.transfer4j.head.train.HeadTrainingRun;
import org.transfer4j.testing.SharedData;
import org.transfer4j.testing.TinyModels;

/**
 * spark-extract on local[2] (two task slots, a task may fail twice): the same rows and features as extract.jar's
 * cache, a retried partition without duplicates, a corrupt image as a failure row, and the same head.
 */
@Tag("spark")
class SparkExtractionTest {
    @TempDir
    static Path tmp;
    static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2,2]").appName("transfer4j-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    @Test
    void sameCacheAsExtractJarWithARetriedPartitionAndACorruptImage() throws Exception {
        Path images = images(tmp.resolve("images"), 10);
        Path model = TinyModels.builder().size(16, 16).write(tmp.resolve("tiny.onnx"));
        Dataset ds = Dataset.fromFolder(images);
        Path reference = tmp.resolve("cache-extract");
        Extraction.builder(model, ds, reference).optBatchSize(4).optAugment(1).run();

        SparkFeatureExtractor fx = SparkFeatureExtractor.builder(model.toString()).optBatchSize(4)
                .failFirstAttemptOfPartition(1).build();
        Path spark1 = tmp.resolve("cache-spark");
        String out = tmp.resolve("out").toUri().toString();
        SparkExtraction.Summary s = SparkExtraction.intoCache(spark, fx, ds, out, spark1, model, 1, 42, 3, Dtype.F32,
                false);
        int tasks = ds.images().size() * 2;
        assertEquals(tasks, s.rows());
        assertEquals(2, s.failed(), "broken.jpg's two views are failure rows, and the job succeeded");
        // Partitions of ~7 rows in batches of 4: each task timed its rows after the first batch.
        assertTrue(s.steadyImagesPerSecond() > 0, "steady rate " + s.steadyImagesPerSecond());

        // The retried partition left no duplicate and no hole.
        List<Row> rows = spark.read().parquet(out).collectAsList();
        Set<Long> ordinals = rows.stream().map(r -> r.getLong(r.fieldIndex("ordinal"))).collect(Collectors.toSet());
        assertEquals(tasks, rows.size());
        assertEquals(tasks, ordinals.size());
        Row broken = rows.stream().filter(r -> r.<String>getAs("path").endsWith("broken.jpg")).findFirst().get();
        assertTrue(List.of("corrupt", "unsupported_format").contains(broken.<String>getAs("failure_reason")),
                broken.<String>getAs("failure_reason"));
        assertTrue(broken.isNullAt(broken.fieldIndex("features")));

        // The spec and the backbone's sha256 are in the Parquet footer (Spark keeps column metadata there).
        Path part;
        try (var files = Files.list(Path.of(java.net.URI.create(out)))) {
            part = files.filter(p -> p.toString().endsWith(".parquet")).findFirst().orElseThrow();
        }
        Map<String, String> kv;
        try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(
                new org.apache.hadoop.fs.Path(part.toUri()), new Configuration()))) {
            kv = r.getFooter().getFileMetaData().getKeyValueMetaData();
        }
        String sparkSchema = kv.get("org.apache.spark.sql.parquet.row.metadata");
        assertTrue(sparkSchema.contains(fx.spec().modelSha256()), sparkSchema);
        assertTrue(sparkSchema.contains(SparkFeatureExtractor.META_SPEC), sparkSchema);

        assertSameCache(reference, spark1, 0f);
        assertEquals(Files.readString(reference.resolve("errors.jsonl")).replaceAll("\"date\":\"[^\"]*\"", ""),
                Files.readString(spark1.resolve("errors.jsonl")).replaceAll("\"date\":\"[^\"]*\"", ""));

        // train-head on either cache: the same validation accuracy (seed 42).
        TrainingConfig config = TrainingConfig.defaults().withEpochs(5).withSeed(42);
        double a = HeadTrainingRun.builder(reference, tmp.resolve("head-a"), config).build().run().validation()
                .accuracy();
        double b = HeadTrainingRun.builder(spark1, tmp.resolve("head-b"), config).build().run().validation()
                .accuracy();
        assertEquals(a, b);

        // A rerun resumes: only what failed (broken.jpg's two views) is tried again; the cache keeps its rows.
        SparkExtraction.Summary again = SparkExtraction.intoCache(spark, fx, ds, out, spark1, model, 1, 42, 3,
                Dtype.F32, false);
        assertEquals(2, again.rows());
        assertEquals(2, again.failed());
        assertSameCache(reference, spark1, 0f);
    }

    @Test
    void mobileNetV2OnHymenopteraMatchesExtractJar() throws Exception {
        Path model = SharedData.require("models/mobilenetv2-12-int8/mobilenetv2-12-int8-features.onnx");
        Path val = SharedData.require("data/hymenoptera/val");
        Dataset ds = Dataset.fromFolder(val);
        Path reference = tmp.resolve("mnv2-extract");
        Extraction.builder(model, ds, reference).run();
        SparkFeatureExtractor fx = SparkFeatureExtractor.builder(model.toString()).build();
        String out = tmp.resolve("mnv2-out").toString();
        SparkExtraction.Summary s = SparkExtraction.toParquet(spark, fx, ds, out, 0, 42, 4);
        assertEquals(ds.images().size(), s.rows());
        try (CacheReader r = CacheReader.open(reference)) {
            Map<String, Row> byPath = spark.read().parquet(out).collectAsList().stream()
                    .collect(Collectors.toMap(x -> x.<String>getAs("path"), x -> x));
            Set<String> cached = new HashSet<>();
            for (int i = 0; i < r.rowCount(); i++) {
                String label = r.classes().get(r.label(i));
                cached.add(r.path(i) + "|" + label);
                Row row = byPath.get(r.path(i));
                assertEquals(label, row.<String>getAs("label"));
                List<Float> f = row.getList(row.fieldIndex("features"));
                float[] want = r.features(i);
                for (int k = 0; k < want.length; k++) {
                    assertEquals(want[k], f.get(k), 1e-5f, r.path(i) + "[" + k + "]");
                }
            }
            Set<String> sparkSet = byPath.values().stream().filter(x -> !x.isNullAt(x.fieldIndex("features")))
                    .map(x -> x.<String>getAs("path") + "|" + x.<String>getAs("label")).collect(Collectors.toSet());
            assertEquals(cached, sparkSet);
        }
    }

    @Test
    void folderPerClassListsWhatDatasetListsOnAnyHadoopFileSystem() throws Exception {
        Path images = images(tmp.resolve("listed"), 3);
        Set<String> expected = Dataset.fromFolder(images).images().stream()
                .map(im -> im.relativePath() + "|" + im.label()).collect(Collectors.toSet());
        List<Row> rows = SparkImages.folderPerClass(spark, images.toUri().toString()).collectAsList();
        Set<String> listed = rows.stream().map(r -> r.<String>getAs("path") + "|" + r.<String>getAs("label"))
                .collect(Collectors.toSet());
        assertEquals(expected, listed);
        assertEquals(Set.of(0L, 1L, 2L, 3L, 4L, 5L, 6L), rows.stream()
                .map(r -> r.<Long>getAs("ordinal")).collect(Collectors.toSet()));
    }

    private static void assertSameCache(Path a, Path b, float tolerance) throws Exception {
        try (CacheReader x = CacheReader.open(a); CacheReader y = CacheReader.open(b)) {
            assertEquals(x.rowCount(), y.rowCount());
            for (int i = 0; i < x.rowCount(); i++) {
                assertEquals(x.path(i), y.path(i));
                assertEquals(x.label(i), y.label(i));
                assertEquals(x.view(i), y.view(i));
                assertArrayEquals(x.features(i), y.features(i), tolerance, x.path(i));
            }
        }
    }

    /** Two classes of small seeded PNG/JPEG images and one undecodable file. */
    static Path images(Path root, int perClass) throws IOException {
        SplittableRandom rnd = new SplittableRandom(7);
        for (String label : new String[] {"ants", "bees"}) {
            Path dir = Files.createDirectories(root.resolve(label));
            for (int i = 0; i < perClass; i++) {
                int w = 20 + rnd.nextInt(30);
                int h = 20 + rnd.nextInt(30);
                BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
                Graphics2D g = img.createGraphics();
                g.setColor(label.equals("ants") ? Color.ORANGE : Color.BLUE);
                g.fillRect(0, 0, w, h);
                g.setColor(new Color(rnd.nextInt(1 << 24)));
                g.fillOval(rnd.nextInt(w), rnd.nextInt(h), 5 + rnd.nextInt(w), 5 + rnd.nextInt(h));
                g.dispose();
                String ext = i % 2 == 0 ? "png" : "jpg";
                ImageIO.write(img, ext, dir.resolve("img" + i + "." + ext).toFile());
            }
        }
        Files.writeString(root.resolve("ants/broken.jpg"), "not a JPEG");
        return root;
    }
}
