package org.transfer4j.spark;

import com.google.gson.JsonObject;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.cache.Dtype;
import org.transfer4j.backbone.dataset.Dataset;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * spark-extract: extract.jar on Spark. {@code java -jar spark-extract.jar --master local[2] ...} on one machine, or
 * the job jar's main class under {@code spark-submit} on a cluster (then {@code --master} comes from spark-submit).
 */
@Command(name = "spark-extract", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compute backbone features for a labelled image set on Apache Spark: Parquet rows of path, "
            + "label, sha256, view, features (or a failure reason), and with --cache a feature cache for train-head "
            + "(the same cache extract.jar writes)."},
        footer = {"", "Examples:",
            "  java -jar spark/target/spark-extract.jar --master local[2] --backbone m.onnx \\",
            "      --images data/train --out features/train --cache cache/train",
            "  spark-submit --class org.transfer4j.spark.SparkExtractCommand spark-extract-job.jar \\",
            "      --backbone m.onnx --images /shared/train --out hdfs:///features/train"})
public final class SparkExtractCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master (local[2], spark://..., yarn, "
            + "k8s://...); default: what spark-submit set.")
    String master;

    @Option(names = "--backbone", paramLabel = "MODEL.onnx", required = true,
            description = "The backbone model: a local file, a URI every executor can read, or a --files name.")
    String backbone;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--images", paramLabel = "DIR", required = true,
                description = "A folder with one subfolder per class (listed on the driver).")
        Path images;

        @Option(names = "--manifest", paramLabel = "FILE.csv", required = true,
                description = "A CSV of path,label lines, paths relative to the manifest's folder.")
        Path manifest;
    }

    @Option(names = "--out", paramLabel = "DIR|URI", required = true,
            description = "Parquet output (replaced); any Hadoop file system.")
    String out;

    @Option(names = "--cache", paramLabel = "CACHE", description = "Also import the rows into this feature cache "
            + "(created or resumed: only images missing from it are extracted).")
    Path cache;

    @Option(names = "--spec", paramLabel = "SPEC.json", description = "Preprocessing spec overriding the model's.")
    Path specFile;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "32", description = "Images per batch (default 32).")
    int batch;

    @Option(names = "--partitions", paramLabel = "N", defaultValue = "0",
            description = "Spark partitions; 0 = one per task slot, more for sets over 2048 images per slot (default).")
    int partitions;

    @Option(names = "--augment", paramLabel = "K", defaultValue = "0", description = "Augmented views, 0..1000.")
    int augment;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "42", description = "Seed of the augmented views.")
    long seed;

    @Option(names = "--dtype", paramLabel = "f32|f16", defaultValue = "f32", description = "Cache value type.")
    String dtype;

    @Option(names = "--overwrite", description = "Discard an existing cache in --cache.")
    boolean overwrite;

    @Option(names = "--json", description = "Print the summary as one JSON line.")
    boolean json;

    @Option(names = "--verbose", description = "Keep Spark's INFO log lines.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        PrintWriter stdout = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        if (batch < 1 || batch > 1024) {
            throw new CommandLine.ParameterException(command.commandLine(), "--batch is " + batch
                    + "; allowed: 1..1024");
        }
        if (augment < 0 || augment > 1000) {
            throw new CommandLine.ParameterException(command.commandLine(), "--augment is " + augment
                    + "; allowed: 0..1000");
        }
        Dtype type = Dtype.parse(dtype);
        Dataset dataset = source.images != null ? Dataset.fromFolder(source.images.toAbsolutePath())
                : Dataset.fromManifest(source.manifest.toAbsolutePath());
        dataset.warnings().forEach(w -> err.println("warning: " + w));
        SparkSession.Builder sb = SparkSession.builder().appName("transfer4j spark-extract");
        if (master != null) {
            sb.master(master);
        }
        SparkSession spark = sb.getOrCreate();
        if (!verbose) {
            spark.sparkContext().setLogLevel("WARN");
        }
        double startup = (System.nanoTime() - start) / 1e9;
        try {
            // After the session: a model shipped with spark-submit --files is found by name on the driver too.
            SparkFeatureExtractor.Builder fxb = SparkFeatureExtractor.builder(backbone).optBatchSize(batch);
            if (specFile != null) {
                fxb.optSpecFile(specFile);
            }
            SparkFeatureExtractor fx = fxb.build();
            // One partition per task slot, more only for large sets (at most ~2048 tasks each, what a retry costs):
            // a partition is one FeatureExtractor run, whose decode/inference overlap needs several batches.
            long n = (long) dataset.images().size() * (augment + 1);
            int parts = partitions > 0 ? partitions
                    : (int) Math.max(spark.sparkContext().defaultParallelism(), Math.ceil(n / 2048.0));
            long t0 = System.nanoTime();
            SparkExtraction.Summary s;
            if (cache != null) {
                Path local = ExecutorBackbones.localCopy(backbone);
                s = SparkExtraction.intoCache(spark, fx, dataset, out, cache, local, augment, seed, parts, type,
                        overwrite);
            } else {
                s = SparkExtraction.toParquet(spark, fx, dataset, out, augment, seed, parts);
            }
            double extractSeconds = (System.nanoTime() - t0) / 1e9;
            double seconds = (System.nanoTime() - start) / 1e9;
            // The job alone: Spark's start-up, listing, counting and the cache import are reported apart.
            double rate = s.rows() == 0 ? 0 : s.rows() / Math.max(s.jobSeconds(), 1e-9);
            if (json) {
                JsonObject o = new JsonObject();
                o.addProperty("rows", s.rows());
                o.addProperty("failed", s.failed());
                o.addProperty("seconds", round(seconds));
                o.addProperty("startup_seconds", round(startup));
                o.addProperty("job_seconds", round(s.jobSeconds()));
                o.addProperty("extract_seconds", round(extractSeconds));
                o.addProperty("images_per_s", round(rate));
                o.addProperty("steady_images_per_s", round(s.steadyImagesPerSecond()));
                o.addProperty("partitions", parts);
                o.addProperty("out", out);
                if (s.cache() != null) {
                    o.addProperty("cache", cache.toAbsolutePath().normalize().toString());
                    o.addProperty("cache_rows", s.cache().rows());
                }
                stdout.println(o);
            } else {
                stdout.println(String.format(Locale.ROOT, "spark-extract: %d rows (%d failed) in %s%s; %.1f images/s "
                        + "over the job (Spark start-up %.1f s not counted), %.1f after each task's first batch, "
                        + "%.1f s", s.rows(), s.failed(), out,
                        s.cache() == null ? "" : ", cache " + cache + " now " + s.cache().rows() + " rows", rate,
                        startup, s.steadyImagesPerSecond(), seconds));
            }
            stdout.flush();
            return 0;
        } finally {
            spark.stop();
        }
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new SparkExtractCommand());
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("error: " + e.getMessage());
            return e instanceof ModelException || e instanceof java.io.IOException ? 2 : 1;
        });
        System.exit(cl.execute(args));
    }
}
