package org.transfer4j.spark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.FeatureExtractor;
import org.transfer4j.backbone.extract.FeatureSink;
import org.transfer4j.backbone.extract.ImageTask;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.ImageDecoder;
import org.transfer4j.backbone.io.Hashes;

/**
 * The executor side: one partition of tasks through the JVM's shared backbone with the same {@link FeatureExtractor},
 * {@link ImageDecoder} and preprocessing as extract.jar, in chunks (remote images are copied to a temp folder per
 * chunk). A file that cannot be read or decoded becomes a row with its reason. Internal.
 */
final class PartitionExtractor implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final SparkFeatureExtractor.Settings settings;
    /** Where the task's steady-state timing goes; null when nobody asked. */
    private final TaskClock clock;

    PartitionExtractor(SparkFeatureExtractor.Settings settings, TaskClock clock) {
        this.settings = settings;
        this.clock = clock;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) throws Exception {
        TaskContext ctx = TaskContext.get();
        if (ctx != null && ctx.partitionId() == settings.failFirstAttemptOfPartition() && ctx.attemptNumber() == 0) {
            throw new IllegalStateException("injected failure of the first attempt of partition " + ctx.partitionId());
        }
        int cpus = ctx == null ? Runtime.getRuntime().availableProcessors() : Math.max(1, ctx.cpus());
        // One intra-op thread per session and one lane per task CPU, as extract.jar runs on the CPU.
        Backbone backbone = ExecutorBackbones.get(settings.backboneUri(), settings.sha256(), settings.specJson());
        List<Row> out = new ArrayList<>();
        Configuration conf = new Configuration();
        Path temp = Files.createTempDirectory("t4j-spark-");
        try (FeatureExtractor fx = FeatureExtractor.builder(backbone).optBatchSize(settings.batchSize())
                .optLanes(cpus).optDecoder(ImageDecoder.builder().build()).build()) {
            List<Row> chunk = new ArrayList<>();
            Steady steady = new Steady(settings.batchSize());
            while (input.hasNext()) {
                chunk.add(input.next());
                if (chunk.size() == settings.batchSize() * 16 || !input.hasNext()) {
                    run(fx, chunk, temp, conf, out, steady);
                    chunk.clear();
                }
            }
            if (clock != null) {
                clock.add(steady.rows(), steady.nanos());
            }
        } finally {
            try (var files = Files.list(temp)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(temp);
        }
        return out.iterator();
    }

    /** Rows after the task's first batch and the time they took (rows come out a batch at a time). */
    private static final class Steady {
        private final int batch;
        private long rows;
        private long first;
        private long last;

        Steady(int batch) {
            this.batch = batch;
        }

        void row() {
            long now = System.nanoTime();
            if (++rows == batch) {
                first = now;
            }
            last = now;
        }

        long rows() {
            return first == 0 ? 0 : rows - batch;
        }

        long nanos() {
            return first == 0 ? 0 : last - first;
        }
    }

    private static void run(FeatureExtractor fx, List<Row> chunk, Path temp, Configuration conf, List<Row> out,
                            Steady steady) throws Exception {
        List<ImageTask> tasks = new ArrayList<>();
        Row[] byId = chunk.toArray(new Row[0]);
        List<Path> fetched = new ArrayList<>();
        for (int i = 0; i < byId.length; i++) {
            Row r = byId[i];
            String uri = r.getAs(SparkFeatureExtractor.URI);
            Path file;
            try {
                file = ImageFiles.fetch(uri, temp, conf);
            } catch (IOException e) {
                out.add(failure(r, "unreadable", e.getMessage()));
                continue;
            }
            if (ImageFiles.localPath(uri) == null) {
                fetched.add(file);
            }
            int view = r.<Integer>getAs(SparkFeatureExtractor.VIEW);
            long seed = r.<Long>getAs(SparkFeatureExtractor.VIEW_SEED);
            tasks.add(new ImageTask(i, file, view, seed));
        }
        fx.run(tasks, new FeatureSink() {
            private Path hashedFile;
            private String hash;

            @Override
            public void accept(ImageTask task, float[] features) throws IOException {
                accept(task, features, List.of());
            }

            @Override
            public void accept(ImageTask task, float[] features, List<String> warnings) throws IOException {
                Row r = byId[(int) task.id()];
                String sha;
                try {
                    if (!task.path().equals(hashedFile)) {
                        hash = Hashes.sha256(task.path());
                        hashedFile = task.path();
                    }
                    sha = hash;
                } catch (IOException e) {
                    out.add(failure(r, "unreadable", "vanished while extracting: " + e.getMessage()));
                    return;
                }
                out.add(RowFactory.create(r.getAs(SparkFeatureExtractor.ORDINAL), r.getAs(SparkFeatureExtractor.PATH),
                        r.getAs(SparkFeatureExtractor.LABEL), sha, r.getAs(SparkFeatureExtractor.VIEW), features,
                        warnings.isEmpty() ? null : warnings.toArray(new String[0]), null, null));
                steady.row();
            }

            @Override
            public void failed(ImageTask task, ImageDecodeException error) {
                // The message without the file name: the importer puts the driver's path in front, as extract.jar.
                String prefix = error.file() + ": ";
                String message = error.getMessage().startsWith(prefix)
                        ? error.getMessage().substring(prefix.length()) : error.getMessage();
                out.add(failure(byId[(int) task.id()], error.reason().name().toLowerCase(Locale.ROOT), message));
                steady.row();
            }
        });
        for (Path p : fetched) {
            Files.deleteIfExists(p);
        }
    }

    private static Row failure(Row r, String reason, String message) {
        return RowFactory.create(r.getAs(SparkFeatureExtractor.ORDINAL), r.getAs(SparkFeatureExtractor.PATH),
                r.getAs(SparkFeatureExtractor.LABEL), null, r.getAs(SparkFeatureExtractor.VIEW), null, null, reason,
                message);
    }
}
