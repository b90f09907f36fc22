package org.transfer4j.serve;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/**
 * The server's counters and histograms, rendered in the Prometheus text exposition format (version 0.0.4). Hand
 * written on purpose: five series do not justify a client library and its transitive jars, and the format is small
 * and stable. Lock-free on the hot path (adders); rendering reads each adder once, so a scrape may straddle an update
 * but never shows a histogram whose {@code +Inf} bucket differs from its count.
 */
final class Metrics {
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final double[] LATENCY_SECONDS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
        5, 10, 30};

    /** Requests by (endpoint, status); the endpoint is one of the known routes or "other", never the raw path. */
    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<Integer, LongAdder> errors = new ConcurrentHashMap<>();
    private final Histogram predictSeconds = new Histogram(LATENCY_SECONDS);
    private final Histogram inferenceSeconds = new Histogram(LATENCY_SECONDS);
    private final Histogram batchSize;
    private final LongAdder images = new LongAdder();
    private final IntSupplier queueDepth;
    private final int queueCapacity;
    private final int maxBatch;

    Metrics(int maxBatch, int queueCapacity, IntSupplier queueDepth) {
        this.maxBatch = maxBatch;
        this.queueCapacity = queueCapacity;
        this.queueDepth = queueDepth;
        this.batchSize = new Histogram(batchBuckets(maxBatch));
    }

    /** 1, 2, 4, ... up to and including maxBatch. */
    private static double[] batchBuckets(int maxBatch) {
        int n = 0;
        for (int b = 1; b < maxBatch; b *= 2) {
            n++;
        }
        double[] bounds = new double[n + 1];
        for (int i = 0, b = 1; i < n; i++, b *= 2) {
            bounds[i] = b;
        }
        bounds[n] = maxBatch;
        return bounds;
    }

    void request(String endpoint, int status) {
        requests.computeIfAbsent(endpoint + '\u0000' + status, k -> new LongAdder()).increment();
        if (status >= 400) {
            errors.computeIfAbsent(status, k -> new LongAdder()).increment();
        }
    }

    void predictLatency(long nanos) {
        predictSeconds.observe(nanos / 1e9);
    }

    void batch(int size, long inferenceNanos) {
        batchSize.observe(size);
        inferenceSeconds.observe(inferenceNanos / 1e9);
        images.add(size);
    }

    /** What {@code bench.jar serve} and tests read without parsing text. */
    ServerStats stats() {
        Map<Integer, Long> byStatus = new TreeMap<>();
        requests.forEach((k, v) -> byStatus.merge(Integer.parseInt(k.substring(k.indexOf('\u0000') + 1)), v.sum(),
                Long::sum));
        long batches = batchSize.count();
        return new ServerStats(byStatus, batches, images.sum(), batches == 0 ? 0 : batchSize.sum() / batches,
                inferenceSeconds.sum());
    }

    String render() {
        StringBuilder out = new StringBuilder(4096);
        header(out, "transfer4j_http_requests_total", "counter", "HTTP requests by endpoint and status.");
        new TreeMap<>(requests).forEach((k, v) -> {
            int cut = k.indexOf('\u0000');
            out.append("transfer4j_http_requests_total{endpoint=\"").append(k, 0, cut).append("\",status=\"")
                    .append(k, cut + 1, k.length()).append("\"} ").append(v.sum()).append('\n');
        });
        header(out, "transfer4j_http_errors_total", "counter", "HTTP responses with status >= 400, by status.");
        new TreeMap<>(errors).forEach((status, v) -> out.append("transfer4j_http_errors_total{status=\"")
                .append(status).append("\"} ").append(v.sum()).append('\n'));
        predictSeconds.render(out, "transfer4j_predict_duration_seconds",
                "POST /v1/predict from request start to response, any status.");
        batchSize.render(out, "transfer4j_batch_size", "Images per model run (dynamic batching, max " + maxBatch
                + ").");
        inferenceSeconds.render(out, "transfer4j_inference_duration_seconds", "Seconds per model run (one batch).");
        header(out, "transfer4j_images_predicted_total", "counter", "Images run through the model.");
        out.append("transfer4j_images_predicted_total ").append(images.sum()).append('\n');
        header(out, "transfer4j_queue_depth", "gauge", "Requests admitted and not yet in a running batch.");
        out.append("transfer4j_queue_depth ").append(queueDepth.getAsInt()).append('\n');
        header(out, "transfer4j_queue_capacity", "gauge", "Admitted requests beyond which the server answers 503.");
        out.append("transfer4j_queue_capacity ").append(queueCapacity).append('\n');
        return out.toString();
    }

    private static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    static String number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return Double.toString(v);
    }

    /** A fixed-bucket histogram: per-bucket adders, cumulated when rendered. */
    static final class Histogram {
        private final double[] bounds;
        private final LongAdder[] buckets;
        private final DoubleAdder sum = new DoubleAdder();

        Histogram(double[] bounds) {
            this.bounds = bounds.clone();
            this.buckets = new LongAdder[bounds.length + 1];
            for (int i = 0; i < buckets.length; i++) {
                buckets[i] = new LongAdder();
            }
        }

        void observe(double v) {
            int i = 0;
            while (i < bounds.length && v > bounds[i]) {
                i++;
            }
            buckets[i].increment();
            sum.add(v);
        }

        long count() {
            long n = 0;
            for (LongAdder b : buckets) {
                n += b.sum();
            }
            return n;
        }

        double sum() {
            return sum.sum();
        }

        void render(StringBuilder out, String name, String help) {
            header(out, name, "histogram", help);
            long cumulative = 0;
            for (int i = 0; i < buckets.length; i++) {
                cumulative += buckets[i].sum();
                String le = i < bounds.length ? number(bounds[i]) : "+Inf";
                out.append(name).append("_bucket{le=\"").append(le).append("\"} ").append(cumulative).append('\n');
            }
            out.append(name).append("_sum ").append(String.format(Locale.ROOT, "%.6f", sum.sum())).append('\n');
            out.append(name).append("_count ").append(cumulative).append('\n');
        }
    }
}
