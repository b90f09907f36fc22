package org.transfer4j.spark;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.cache.CacheException;
import org.transfer4j.backbone.cache.CacheWriter;
import org.transfer4j.backbone.cache.Dtype;
import org.transfer4j.backbone.extract.ImageTask;
import org.transfer4j.backbone.image.ImageDecodeException;

/**
 * The driver's side of spark-extract: run the extraction into Parquet and, optionally, import the result into a
 * feature cache for train-head. With a cache the cache plans first (as extract.jar does: only missing or changed
 * images become Spark tasks), and the Parquet rows are streamed into it in task order on the driver, so the cache is
 * the one extract.jar would have written (same rows, order, hashes, errors).
 */
public final class SparkExtraction {
    private SparkExtraction() {
    }

    /**
     * What a run did.
     *
     * @param rows       output rows (features or failure)
     * @param failed     rows with a failure reason
     * @param jobSeconds the extraction job (decode, infer, write Parquet), without counting and importing
     * @param steadyImagesPerSecond the tasks' rate after each task's first batch (no model loading, no first
     *                   batch, no job planning: what extract.jar's images/s leaves out too); 0 if unmeasured
     * @param cache      the cache's counts when imported, else null
     */
    public record Summary(long rows, long failed, double jobSeconds, double steadyImagesPerSecond,
                          CacheWriter.Result cache) {
    }

    /** Extracts {@code dataset} into Parquet at {@code out} (replaced); no cache. */
    public static Summary toParquet(SparkSession spark, SparkFeatureExtractor fx,
            org.transfer4j.backbone.dataset.Dataset dataset, String out, int augment, long seed, int partitions) {
        Dataset<Row> tasks = SparkImages.of(spark, dataset, augment, seed, partitions);
        TaskClock clock = new TaskClock(spark.sparkContext());
        double seconds = write(fx, tasks, out, clock);
        return new Summary(spark.read().parquet(out).count(), failedRows(spark, out), seconds,
                clock.imagesPerSecond(slots(spark, partitions)), null);
    }

    /**
     * Plans against the feature cache {@code cacheDir} (created or resumed), extracts the missing tasks into Parquet
     * at {@code out} and imports them into the cache. The images must be readable on the driver too (the cache keeps
     * each file's size, mtime and sha256).
     */
    public static Summary intoCache(SparkSession spark, SparkFeatureExtractor fx,
            org.transfer4j.backbone.dataset.Dataset dataset, String out, Path cacheDir, Path backboneFile,
            int augment, long seed, int partitions, Dtype dtype, boolean overwrite)
            throws ModelException, CacheException, IOException {
        try (CacheWriter writer = CacheWriter.builder(cacheDir, fx.spec()).optDtype(dtype).optOverwrite(overwrite)
                .optBackboneFile(backboneFile).optCommitEveryRows(256).open()) {
            CacheWriter.Plan plan = writer.update(dataset, augment, seed);
            long rows = 0;
            long failed = 0;
            double seconds = 0;
            TaskClock clock = new TaskClock(spark.sparkContext());
            if (!plan.tasks().isEmpty()) {
                seconds = write(fx, SparkImages.of(spark, dataset, plan.tasks(), partitions), out, clock);
                rows = spark.read().parquet(out).count();
                failed = failedRows(spark, out);
                importRows(spark.read().parquet(out).orderBy(SparkFeatureExtractor.ORDINAL).toLocalIterator(),
                        plan.tasks(), writer);
            }
            return new Summary(rows, failed, seconds, clock.imagesPerSecond(slots(spark, partitions)),
                    writer.finish());
        }
    }

    /** Feeds Parquet rows (sorted by ordinal = task id) into a writer planned with {@code tasks}. */
    static void importRows(Iterator<Row> rows, List<ImageTask> tasks, CacheWriter writer) throws IOException {
        while (rows.hasNext()) {
            Row r = rows.next();
            ImageTask task = tasks.get((int) r.getLong(r.fieldIndex(SparkFeatureExtractor.ORDINAL)));
            int f = r.fieldIndex(SparkFeatureExtractor.FEATURES);
            if (r.isNullAt(f)) {
                String reason = r.getAs(SparkFeatureExtractor.FAILURE_REASON);
                writer.failed(task, new ImageDecodeException(task.path().toString(),
                        ImageDecodeException.Reason.valueOf(reason.toUpperCase(Locale.ROOT)),
                        r.getAs(SparkFeatureExtractor.FAILURE)));
            } else {
                List<Float> list = r.getList(f);
                float[] features = new float[list.size()];
                for (int i = 0; i < features.length; i++) {
                    features[i] = list.get(i);
                }
                int w = r.fieldIndex(SparkFeatureExtractor.WARNINGS);
                writer.accept(task, features, r.isNullAt(w) ? List.of() : r.<String>getList(w));
            }
        }
    }

    /** Runs the job; returns its seconds. */
    private static double write(SparkFeatureExtractor fx, Dataset<Row> tasks, String out, TaskClock clock) {
        long t0 = System.nanoTime();
        fx.extract(tasks, clock).write().mode(SaveMode.Overwrite).parquet(out);
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Tasks running at once: the cluster's task slots, at most one per partition. */
    private static int slots(SparkSession spark, int partitions) {
        return Math.max(1, Math.min(spark.sparkContext().defaultParallelism(), partitions));
    }

    private static long failedRows(SparkSession spark, String out) {
        return spark.read().parquet(out).where(col(SparkFeatureExtractor.FEATURES).isNull()).count();
    }
}
