package org.transfer4j.spark;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.SparkFiles;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.spec.BackboneSpec;

/**
 * One {@link Backbone} per executor JVM and model sha256, shared by every task of that JVM (ORT sessions are
 * thread-safe) and closed when the JVM exits. Internal.
 */
final class ExecutorBackbones {
    private static final Map<String, Backbone> OPEN = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> OPEN.values().forEach(b -> {
            try {
                b.close();
            } catch (Exception e) {
                // The JVM is exiting; nothing to tell.
            }
        }), "t4j-close-backbones"));
    }

    private ExecutorBackbones() {
    }

    /**
     * The backbone of {@code sha256}, opened on first use from {@code uri} with the driver's spec and one intra-op
     * thread: tasks run one lane per task CPU, concurrent runs on this one session (as the driver opens it).
     *
     * @throws ModelException INCOMPATIBLE when the file found here is not the model the job was planned with
     */
    static Backbone get(String uri, String sha256, String specJson) throws ModelException {
        Backbone b = OPEN.get(sha256);
        if (b != null) {
            return b;
        }
        synchronized (OPEN) {
            b = OPEN.get(sha256);
            if (b == null) {
                Path local = localCopy(uri);
                BackboneSpec spec = org.transfer4j.backbone.spec.SpecJson.fromJson(specJson);
                b = Backbone.load(local, BackboneOptions.builder().optSpec(spec).optIntraOpThreads(1).build());
                if (!sha256.equals(b.spec().modelSha256())) {
                    String found = b.spec().modelSha256();
                    b.close();
                    throw new ModelException(ModelException.Reason.INCOMPATIBLE, "backbone " + uri + " (read as "
                            + local + ") has sha256 " + found + " on this executor, but the job was planned with "
                            + sha256 + "; the file changed while the job ran: restore it or rerun the job");
                }
                OPEN.put(sha256, b);
            }
            return b;
        }
    }

    /**
     * Keeps a backbone the driver opened for its tasks to share, when the driver is the executor (Spark's local
     * mode): a second ONNX Runtime session of the same file would only cost time and memory. Closes {@code b} when
     * one is already open for its sha256.
     */
    static void adopt(Backbone b) throws ModelException {
        Backbone before;
        synchronized (OPEN) {
            before = OPEN.putIfAbsent(b.spec().modelSha256(), b);
        }
        if (before != null) {
            b.close();
        }
    }

    /** The model as a local file: the file itself, the copy {@code spark-submit --files} made, or a download. */
    static Path localCopy(String uri) throws ModelException {
        try {
            Path direct = ImageFiles.localPath(uri);
            if (direct != null && Files.isRegularFile(direct)) {
                return direct;
            }
            String name = uri.substring(uri.lastIndexOf('/') + 1);
            try {
                Path shipped = Path.of(SparkFiles.get(name));
                if (Files.isRegularFile(shipped)) {
                    return shipped;
                }
            } catch (RuntimeException e) {
                // No SparkContext here (plain library use) or no such file: fall through to the file system.
            }
            Path tmp = Files.createTempFile("t4j-backbone-", "-" + name);
            tmp.toFile().deleteOnExit();
            URI u = URI.create(uri);
            try (FileSystem fs = FileSystem.newInstance(u, new Configuration());
                    InputStream in = fs.open(new org.apache.hadoop.fs.Path(u))) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            return tmp;
        } catch (IOException | IllegalArgumentException e) {
            throw new ModelException(ModelException.Reason.NOT_FOUND, "backbone " + uri + " cannot be read on this "
                    + "executor: " + e.getMessage() + "; give it a URI every executor can read (hdfs://, s3a://, a "
                    + "shared folder) or ship it with spark-submit --files", e);
        }
    }
}
