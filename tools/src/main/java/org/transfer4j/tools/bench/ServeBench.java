package org.transfer4j.tools.bench;

import com.google.gson.GsonBuilder;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.inference.Predictor;
import org.transfer4j.serve.ModelServer;
import org.transfer4j.serve.ServerOptions;
import org.transfer4j.serve.ServerStats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench.jar serve}: the HTTP server under load against the model alone, in one process. First the model alone,
 * with {@code bench.jar backbone}'s own timing loop ({@link BackboneBench#timeBatches}) on the same file, batch and
 * session options; then a server on an ephemeral loopback port driven by {@code --clients} closed-loop clients
 * (java.net.http, each sending the image and waiting for the answer) for {@code --seconds}; then a few plain requests
 * to show the server still answers normally (after an overload run, say {@code --queue 4 --clients 64}).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "HTTP serving throughput and latency vs the model alone; prints one JSON line.")
public final class ServeBench implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "MODEL.onnx", description = "A composed model.")
    Path model;

    @Option(names = "--clients", defaultValue = "16", description = "Concurrent clients (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--seconds", defaultValue = "20", description = "Timed seconds of load (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--inference-seconds", description = "Timed seconds of the model alone (default: --seconds).")
    Double inferenceSeconds;

    @Option(names = "--max-batch", defaultValue = "8",
            description = "Server's --max-batch, and the batch of the model-alone run (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-wait-ms", defaultValue = "5", description = "Server's --max-wait-ms (default: ${DEFAULT-VALUE}).")
    long maxWaitMs;

    @Option(names = "--queue", defaultValue = "64", description = "Server's --queue (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--threads", description = "CPU threads, as serve.jar's --threads: that many batches at once, "
            + "each with one ORT thread (default: available processors).")
    Integer threads;

    @Option(names = "--image", paramLabel = "PATH",
            description = "The image every client sends (default: a synthetic 640x480 JPEG).")
    Path image;

    // 10 s, not 2: after 2 s of load the JIT compilers were still compiling the request path (Jetty, decoding,
    // JSON) and took ~5% of the CPU during the timed load (perf); a server's steady state is what users get.
    @Option(names = "--warmup-seconds", defaultValue = "10",
            description = "Untimed load first, and untimed model runs (default: ${DEFAULT-VALUE}).")
    double warmupSeconds;

    @Option(names = "--after", defaultValue = "20",
            description = "Plain requests sent one by one after the load, all expected to succeed (default: "
                    + "${DEFAULT-VALUE}).")
    int after;

    @Option(names = "--device", defaultValue = "cpu", description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Override
    public Integer call() throws Exception {
        if (clients < 1 || clients > 1024) {
            throw new IllegalArgumentException("--clients is " + clients + "; allowed: 1..1024");
        }
        if (!(seconds > 0) || seconds > 3600) {
            throw new IllegalArgumentException("--seconds is " + seconds + "; allowed: > 0 and <= 3600");
        }
        if (warmupSeconds < 0 || warmupSeconds > 600) {
            throw new IllegalArgumentException("--warmup-seconds is " + warmupSeconds + "; allowed: 0..600");
        }
        if (after < 0 || after > 10_000) {
            throw new IllegalArgumentException("--after is " + after + "; allowed: 0..10000");
        }
        Device dev = Device.parse(device);
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        boolean gpu = dev instanceof Device.Cuda;
        // As serve.jar runs: on the CPU, one worker per thread on a one-thread session.
        ServerOptions options = ServerOptions.builder().optHost("127.0.0.1").optPort(0).optMaxBatch(maxBatch)
                .optMaxWaitMs(maxWaitMs).optQueue(queue).optTopK(1).optWorkers(gpu ? 1 : nThreads).build();
        byte[] body = image != null ? Files.readAllBytes(image) : syntheticJpeg();
        try (Predictor predictor = Predictor.builder(model).optDevice(dev).optThreads(gpu ? nThreads : 1)
                .optBatchSize(maxBatch).optTopK(1).build()) {
            predictor.predict(body, image != null ? image.toString() : "synthetic"); // fails early on a bad image
            // The model alone as bench.jar backbone measures it by default (one session with every thread), and as
            // its --lanes measures it (one-thread runs side by side, how the server runs it; often faster).
            double inference = modelAlone(predictor, dev, nThreads, 0);
            double lanes = gpu ? 0 : modelAlone(predictor, dev, 1, nThreads);
            Map<String, Object> out = new LinkedHashMap<>();
            try (ModelServer server = ModelServer.start(predictor, options)) {
                URI predict = server.uri().resolve("/v1/predict");
                HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(10)).build();
                if (warmupSeconds > 0) {
                    load(http, predict, body, warmupSeconds);
                }
                ServerStats before = server.stats();
                Load run = load(http, predict, body, seconds);
                ServerStats during = server.stats();
                int afterOk = 0;
                for (int i = 0; i < after; i++) {
                    if (send(http, predict, body) == 200) {
                        afterOk++;
                    }
                }
                long batches = during.batches() - before.batches();
                long images = during.images() - before.images();
                long ok = run.byStatus.getOrDefault(200, 0L);
                out.put("bench", "serve");
                out.put("model", model.getFileName().toString());
                out.put("images_per_s", round(ok / run.wallSeconds));
                out.put("inference_images_per_s", round(inference));
                out.put("ratio", inference > 0 ? round(ok / run.wallSeconds / inference) : null);
                out.put("inference_lanes_images_per_s", round(lanes));
                out.put("ratio_vs_lanes", lanes > 0 ? round(ok / run.wallSeconds / lanes) : null);
                out.put("errors", run.requests - ok);
                out.put("status_counts", run.byStatus);
                out.put("p50_ms", round(percentile(run.okMillis, 0.50)));
                out.put("p99_ms", round(percentile(run.okMillis, 0.99)));
                out.put("mean_batch", batches == 0 ? 0 : round((double) images / batches));
                // The share of the workers' time spent in model runs: below 1, they waited for requests.
                out.put("workers_busy", round((during.inferenceSeconds() - before.inferenceSeconds())
                        / (options.workers() * run.wallSeconds)));
                out.put("requests", run.requests);
                out.put("clients", clients);
                out.put("seconds", round(run.wallSeconds));
                out.put("max_batch", server.maxBatch());
                out.put("max_wait_ms", maxWaitMs);
                out.put("queue", queue);
                out.put("after_ok", afterOk + "/" + after);
                out.put("threads", nThreads);
                out.put("workers", options.workers());
                out.put("image", image != null ? image.getFileName().toString() : "synthetic 640x480 jpeg");
                out.put("image_bytes", body.length);
                out.put("ort", Backbone.ortVersion());
                out.put("cpus", Runtime.getRuntime().availableProcessors());
                out.put("cpu_flags", CpuFlags.here());
            }
            System.out.println(new GsonBuilder().disableHtmlEscaping().serializeNulls().create().toJson(out));
        }
        return 0;
    }

    /**
     * bench.jar backbone's figure for this model at --max-batch: one session with {@code intraOp} threads and
     * spinning (its default) when {@code lanes} is 0, else {@code lanes} batches at once (its --lanes).
     */
    private double modelAlone(Predictor predictor, Device dev, int intraOp, int lanes) throws Exception {
        BackboneOptions opts = BackboneOptions.builder().optDevice(dev).optIntraOpThreads(intraOp)
                .optAllowSpinning(lanes == 0).optSpec(predictor.spec()).build();
        try (Backbone b = Backbone.load(model, opts)) {
            int batch = Math.min(maxBatch, b.maxBatch());
            var buf = BackboneBench.randomBatch(b, batch);
            double timed = inferenceSeconds != null ? inferenceSeconds : seconds;
            if (lanes > 0) {
                if (warmupSeconds > 0) {
                    BackboneBench.timeLanes(b, lanes, batch, warmupSeconds);
                }
                return Stats.median(BackboneBench.timeLanes(b, lanes, batch, timed)) * lanes;
            }
            if (warmupSeconds > 0) {
                BackboneBench.timeBatches(b, buf, batch, warmupSeconds);
            }
            return Stats.median(BackboneBench.timeBatches(b, buf, batch, timed));
        }
    }

    /** What the clients saw: statuses, latencies of the successful requests, wall time. */
    private record Load(Map<Integer, Long> byStatus, List<Double> okMillis, long requests, double wallSeconds) {
    }

    private Load load(HttpClient http, URI predict, byte[] body, double forSeconds) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            long start = System.nanoTime();
            long deadline = start + (long) (forSeconds * 1e9);
            List<Future<Load>> parts = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                parts.add(pool.submit(() -> {
                    Map<Integer, Long> statuses = new TreeMap<>();
                    List<Double> okMs = new ArrayList<>();
                    long n = 0;
                    while (System.nanoTime() < deadline) {
                        long s = System.nanoTime();
                        int status = send(http, predict, body);
                        if (status == 200) {
                            okMs.add((System.nanoTime() - s) / 1e6);
                        }
                        statuses.merge(status, 1L, Long::sum);
                        n++;
                        if (status == 503) {
                            Thread.sleep(1); // a refused client retries at once, not in a hot loop
                        }
                    }
                    return new Load(statuses, okMs, n, 0);
                }));
            }
            Map<Integer, Long> statuses = new TreeMap<>();
            List<Double> okMs = new ArrayList<>();
            long n = 0;
            for (Future<Load> f : parts) {
                Load l = f.get();
                l.byStatus.forEach((k, v) -> statuses.merge(k, v, Long::sum));
                okMs.addAll(l.okMillis);
                n += l.requests;
            }
            double wall = (System.nanoTime() - start) / 1e9;
            Collections.sort(okMs);
            return new Load(statuses, okMs, n, wall);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The status, or -1 when the connection failed (counted as an error). */
    private static int send(HttpClient http, URI predict, byte[] body) throws InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(predict).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        try {
            return http.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    private static byte[] syntheticJpeg() throws java.io.IOException {
        RgbImage img = PredictBench.synthetic(640, 480);
        BufferedImage bi = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.height(); y++) {
            for (int x = 0; x < img.width(); x++) {
                bi.setRGB(x, y, (img.get(x, y, 0) << 16) | (img.get(x, y, 1) << 8) | img.get(x, y, 2));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(bi, "jpg", out);
        return out.toByteArray();
    }

    private static double percentile(List<Double> sorted, double q) {
        if (sorted.isEmpty()) {
            return 0;
        }
        return sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(q * sorted.size()) - 1));
    }

    private static double round(double v) {
        return Double.parseDouble(String.format(Locale.ROOT, "%.2f", v));
    }
}
