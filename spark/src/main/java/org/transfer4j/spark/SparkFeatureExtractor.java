package org.transfer4j.spark;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.Objects;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.MetadataBuilder;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;

/**
 * Backbone features of a DataFrame of images on Spark: every executor JVM opens the backbone once (shared by its
 * tasks, closed at JVM exit; each task runs as many lanes as it has CPUs, a lane decoding a batch and running it with
 * one ORT thread) and decodes and preprocesses exactly as
 * extract.jar does (same {@code ImageDecoder}, {@code Preprocessor}, spec).
 *
 * <pre>{@code
 * SparkFeatureExtractor fx = SparkFeatureExtractor.builder("hdfs:///models/resnet50-notop.onnx").build();
 * Dataset<Row> features = fx.extract(SparkImages.folderPerClass(spark, "hdfs:///data/train"));
 * features.write().parquet("hdfs:///features/train");
 * }</pre>
 *
 * Input columns: {@value #ORDINAL} (long, the task's number), {@value #URI} (where to read the image: file:, hdfs:,
 * s3a:, ...), {@value #PATH} (the relative path the feature cache keys rows by), {@value #LABEL}, {@value #VIEW}
 * (0 = plain, k = k-th augmented view) and {@value #VIEW_SEED}; {@link SparkImages} builds them. Output: one row per
 * input row, see {@link #outputSchema()}; an image that cannot be read or decoded gives a row with
 * {@value #FAILURE_REASON} and {@value #FAILURE} set and no features, never a failed job. The model's sha256 is taken
 * on the driver; an executor that finds another file under the URI fails its task (the cache refuses a changed
 * backbone the same way).
 */
public final class SparkFeatureExtractor implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final String ORDINAL = "ordinal";
    public static final String URI = "uri";
    public static final String PATH = "path";
    public static final String LABEL = "label";
    public static final String VIEW = "view";
    public static final String VIEW_SEED = "view_seed";
    public static final String SHA256 = "sha256";
    public static final String FEATURES = "features";
    public static final String WARNINGS = "warnings";
    public static final String FAILURE_REASON = "failure_reason";
    public static final String FAILURE = "failure";
    /** Metadata keys on the {@value #FEATURES} column (kept in the Parquet footer with Spark's schema). */
    public static final String META_SPEC = OnnxMetadata.SPEC;
    public static final String META_BACKBONE_SHA256 = "transfer4j.backbone_sha256";

    /** What executors need: small and serializable. */
    record Settings(String backboneUri, String sha256, String specJson, int batchSize, int failFirstAttemptOfPartition)
            implements Serializable {
    }

    private final Settings settings;
    private final BackboneSpec spec;

    private SparkFeatureExtractor(Settings settings, BackboneSpec spec) {
        this.settings = settings;
        this.spec = spec;
    }

    /** {@code backboneUri}: a local path or a URI every executor can read, or the name of a {@code --files} file. */
    public static Builder builder(String backboneUri) {
        return new Builder(backboneUri);
    }

    /** Options; the backbone is opened once on the driver in {@link #build()} to resolve its spec and sha256. */
    public static final class Builder {
        private final String backboneUri;
        private int batchSize = 32;
        private Path specFile;
        private int failFirstAttemptOfPartition = -1;

        private Builder(String backboneUri) {
            this.backboneUri = Objects.requireNonNull(backboneUri, "backboneUri");
        }

        /** Images per inference batch, 1..1024 (default 32). */
        public Builder optBatchSize(int n) {
            this.batchSize = n;
            return this;
        }

        /** A preprocessing spec overriding the model's sidecar and metadata (read on the driver). */
        public Builder optSpecFile(Path file) {
            this.specFile = file;
            return this;
        }

        /** Tests only: the first attempt of this partition throws, so Spark's task retry is exercised. */
        Builder failFirstAttemptOfPartition(int partition) {
            this.failFirstAttemptOfPartition = partition;
            return this;
        }

        public SparkFeatureExtractor build() throws ModelException {
            if (batchSize < 1 || batchSize > 1024) {
                throw new IllegalArgumentException("spark extractor option 'batchSize' is " + batchSize
                        + "; allowed: 1..1024");
            }
            Path local = ExecutorBackbones.localCopy(backboneUri);
            BackboneOptions.Builder opts = BackboneOptions.builder().optIntraOpThreads(1);
            if (specFile != null) {
                opts.optSpecFile(specFile);
            }
            Backbone b = Backbone.load(local, opts.build());
            BackboneSpec spec = b.spec();
            if (localSpark()) {
                // The driver is the executor: its tasks share this session instead of opening a second one.
                ExecutorBackbones.adopt(b);
            } else {
                b.close();
            }
            return new SparkFeatureExtractor(new Settings(backboneUri, spec.modelSha256(), SpecJson.toJson(spec),
                    batchSize, failFirstAttemptOfPartition), spec);
        }
    }

    /** Whether the active Spark session runs its tasks in this JVM (local mode). */
    private static boolean localSpark() {
        var active = SparkSession.getActiveSession();
        return active.isDefined() && active.get().sparkContext().isLocal();
    }

    /** The resolved spec, with the model's sha256 and feature dimension. */
    public BackboneSpec spec() {
        return spec;
    }

    /** Output columns; {@value #FEATURES} carries the spec and the backbone's sha256 as column metadata. */
    public StructType outputSchema() {
        Metadata meta = new MetadataBuilder().putString(META_SPEC, settings.specJson())
                .putString(META_BACKBONE_SHA256, settings.sha256()).build();
        return new StructType(new StructField[] {
            DataTypes.createStructField(ORDINAL, DataTypes.LongType, false),
            DataTypes.createStructField(PATH, DataTypes.StringType, false),
            DataTypes.createStructField(LABEL, DataTypes.StringType, false),
            DataTypes.createStructField(SHA256, DataTypes.StringType, true),
            DataTypes.createStructField(VIEW, DataTypes.IntegerType, false),
            new StructField(FEATURES, DataTypes.createArrayType(DataTypes.FloatType, false), true, meta),
            DataTypes.createStructField(WARNINGS, DataTypes.createArrayType(DataTypes.StringType, false), true),
            DataTypes.createStructField(FAILURE_REASON, DataTypes.StringType, true),
            DataTypes.createStructField(FAILURE, DataTypes.StringType, true)});
    }

    /** Lazily maps {@code images} (columns as in the class comment) to feature rows. */
    public Dataset<Row> extract(Dataset<Row> images) {
        return extract(images, null);
    }

    /** {@link #extract(Dataset)}, the tasks' steady-state timings added to {@code clock} when not null. */
    Dataset<Row> extract(Dataset<Row> images, TaskClock clock) {
        StructType schema = outputSchema();
        Dataset<Row> rows = images.mapPartitions(new PartitionExtractor(settings, clock), Encoders.row(schema));
        // The encoder drops column metadata; put it back so that writers (Parquet) keep it.
        return rows.withColumn(FEATURES, rows.col(FEATURES).as(FEATURES, schema.apply(FEATURES).metadata()));
    }
}
