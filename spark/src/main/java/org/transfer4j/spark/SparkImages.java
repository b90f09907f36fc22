package org.transfer4j.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.element_at;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.regexp_replace;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.split;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.transfer4j.backbone.cache.ViewSeeds;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.extract.ImageTask;

/** Input DataFrames for {@link SparkFeatureExtractor#extract}: from a labelled dataset, a cache plan or a folder. */
public final class SparkImages {
    /** The input columns, in order. */
    public static final StructType SCHEMA = new StructType(new StructField[] {
        DataTypes.createStructField(SparkFeatureExtractor.ORDINAL, DataTypes.LongType, false),
        DataTypes.createStructField(SparkFeatureExtractor.URI, DataTypes.StringType, false),
        DataTypes.createStructField(SparkFeatureExtractor.PATH, DataTypes.StringType, false),
        DataTypes.createStructField(SparkFeatureExtractor.LABEL, DataTypes.StringType, false),
        DataTypes.createStructField(SparkFeatureExtractor.VIEW, DataTypes.IntegerType, false),
        DataTypes.createStructField(SparkFeatureExtractor.VIEW_SEED, DataTypes.LongType, false)});

    private SparkImages() {
    }

    /**
     * Every (image, view) of a dataset listed on the driver ({@code Dataset.fromFolder} or {@code fromManifest}: the
     * same relative paths, labels and view seeds as extract.jar), in {@code partitions} contiguous slices.
     */
    public static Dataset<Row> of(SparkSession spark, org.transfer4j.backbone.dataset.Dataset dataset, int augment,
            long seed, int partitions) {
        List<Row> rows = new ArrayList<>();
        for (LabeledImage im : dataset.images()) {
            for (int v = 0; v <= augment; v++) {
                rows.add(RowFactory.create((long) rows.size(), im.path().toUri().toString(), im.relativePath(),
                        im.label(), v, ViewSeeds.of(seed, im.relativePath(), v)));
            }
        }
        return frame(spark, rows, partitions);
    }

    /** The tasks of a feature cache's plan ({@code CacheWriter.update}); ordinal = task id. */
    public static Dataset<Row> of(SparkSession spark, org.transfer4j.backbone.dataset.Dataset dataset,
            List<ImageTask> tasks, int partitions) {
        Map<java.nio.file.Path, LabeledImage> byPath = new HashMap<>();
        dataset.images().forEach(im -> byPath.put(im.path(), im));
        List<Row> rows = new ArrayList<>();
        for (ImageTask t : tasks) {
            LabeledImage im = byPath.get(t.path());
            rows.add(RowFactory.create(t.id(), t.path().toUri().toString(), im.relativePath(), im.label(), t.view(),
                    t.viewSeed()));
        }
        return frame(spark, rows, partitions);
    }

    /**
     * The images of a folder-per-class tree on any Hadoop file system ({@code hdfs://}, {@code s3a://},
     * {@code file://}), listed by Spark's {@code binaryFile} source without reading the bytes: label = first folder
     * under {@code root}, path = relative to {@code root}, view 0 only.
     */
    public static Dataset<Row> folderPerClass(SparkSession spark, String root) {
        String base = root.endsWith("/") ? root : root + "/";
        Dataset<Row> files = spark.read().format("binaryFile").option("recursiveFileLookup", "true")
                .option("pathGlobFilter", "*.{jpg,jpeg,png,bmp,gif,webp,tif,tiff,JPG,JPEG,PNG}")
                .load(root).select(col("path").as(SparkFeatureExtractor.URI));
        Dataset<Row> withRel = files.withColumn(SparkFeatureExtractor.PATH,
                regexp_replace(col(SparkFeatureExtractor.URI), "^.*?" + java.util.regex.Pattern.quote(
                        base.replaceFirst("^[a-z0-9]+:/*", "/").replaceAll("/+", "/")), ""));
        return withRel.withColumn(SparkFeatureExtractor.LABEL,
                        element_at(split(col(SparkFeatureExtractor.PATH), "/"), 1))
                .withColumn(SparkFeatureExtractor.ORDINAL,
                        row_number().over(Window.orderBy(SparkFeatureExtractor.PATH)).cast("long").minus(1))
                .withColumn(SparkFeatureExtractor.VIEW, lit(0))
                .withColumn(SparkFeatureExtractor.VIEW_SEED, lit(0L))
                .select(SparkFeatureExtractor.ORDINAL, SparkFeatureExtractor.URI, SparkFeatureExtractor.PATH,
                        SparkFeatureExtractor.LABEL, SparkFeatureExtractor.VIEW, SparkFeatureExtractor.VIEW_SEED);
    }

    private static Dataset<Row> frame(SparkSession spark, List<Row> rows, int partitions) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int slices = Math.max(1, Math.min(partitions, Math.max(1, rows.size())));
        return spark.createDataFrame(jsc.parallelize(rows, slices), SCHEMA);
    }
}
