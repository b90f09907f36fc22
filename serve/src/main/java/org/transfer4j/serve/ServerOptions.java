package org.transfer4j.serve;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * How a {@link ModelServer} listens, batches and protects itself. Built with {@link #builder()}; every value is
 * checked once in {@link Builder#build()}, and a bad one fails with a message naming the option, its command-line flag,
 * the value and the allowed range.
 *
 * @param host         interface to bind; {@code 127.0.0.1} by default, so nothing outside the machine can reach the
 *                     server unless asked to
 * @param port         TCP port, 0 for an ephemeral one (see {@link ModelServer#port()})
 * @param maxBatch     most images in one model run; capped by the Predictor's own batch size
 * @param maxWait      how long the first request of a batch waits for company before the batch runs anyway
 * @param queue        requests admitted but not yet in a running batch (reading, decoding or waiting); one more is
 *                     refused with 503 and {@code Retry-After}
 * @param maxBodyBytes largest request body; a larger one is refused with 413
 * @param topK         classes listed per prediction when the request does not say ({@code ?top_k=})
 * @param token        when not null, every {@code /v1} call needs {@code Authorization: Bearer <token>}
 * @param drainTimeout how long {@link ModelServer#close()} waits for requests in flight before it gives up on them
 * @param httpThreads  Jetty's request threads (reading bodies and decoding happen on them)
 * @param workers      batches run at once, each on its own thread: 1 for a Predictor whose session uses every core
 *                     (or a GPU); one per core for a Predictor opened with one thread (what serve.jar does on the
 *                     CPU)
 */
public record ServerOptions(String host, int port, int maxBatch, Duration maxWait, int queue, long maxBodyBytes,
                            int topK, String token, Duration drainTimeout, int httpThreads, int workers) {
    /** 20 MB: larger than any photo a phone takes, small enough that a few dozen at once fit in memory. */
    public static final long DEFAULT_MAX_BODY_BYTES = 20L * 1024 * 1024;

    public ServerOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(maxWait, "maxWait");
        Objects.requireNonNull(drainTimeout, "drainTimeout");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Loopback, port 8080, batches of up to 8 within 5 ms, queue 64, 20 MB bodies, top-5, no token. */
    public static ServerOptions defaults() {
        return builder().build();
    }

    /** Options; {@code optX} methods set one each, {@link #build()} validates them together. */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port = 8080;
        private int maxBatch = 8;
        private long maxWaitMs = 5;
        private int queue = 64;
        private long maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
        private int topK = 5;
        private String token;
        private long drainTimeoutMs = 30_000;
        private int httpThreads = 200;
        private int workers = 1;

        private Builder() {
        }

        public Builder optHost(String host) {
            this.host = host;
            return this;
        }

        public Builder optPort(int port) {
            this.port = port;
            return this;
        }

        public Builder optMaxBatch(int maxBatch) {
            this.maxBatch = maxBatch;
            return this;
        }

        public Builder optMaxWaitMs(long maxWaitMs) {
            this.maxWaitMs = maxWaitMs;
            return this;
        }

        public Builder optQueue(int queue) {
            this.queue = queue;
            return this;
        }

        public Builder optMaxBodyBytes(long maxBodyBytes) {
            this.maxBodyBytes = maxBodyBytes;
            return this;
        }

        public Builder optTopK(int topK) {
            this.topK = topK;
            return this;
        }

        /** A bearer token for {@code /v1}; null or absent for none. */
        public Builder optToken(String token) {
            this.token = token;
            return this;
        }

        public Builder optDrainTimeoutMs(long drainTimeoutMs) {
            this.drainTimeoutMs = drainTimeoutMs;
            return this;
        }

        public Builder optHttpThreads(int httpThreads) {
            this.httpThreads = httpThreads;
            return this;
        }

        /** Batches run at once (default 1); see {@link ServerOptions#workers()}. */
        public Builder optWorkers(int workers) {
            this.workers = workers;
            return this;
        }

        public ServerOptions build() {
            require(host != null && !host.isBlank(), "host", "--host", host, "an interface name or address");
            require(port >= 0 && port <= 65_535, "port", "--port", port, "0..65535 (0: any free port)");
            require(maxBatch >= 1 && maxBatch <= 4096, "maxBatch", "--max-batch", maxBatch, "1..4096");
            require(maxWaitMs >= 0 && maxWaitMs <= 10_000, "maxWaitMs", "--max-wait-ms", maxWaitMs, "0..10000");
            require(queue >= 1 && queue <= 100_000, "queue", "--queue", queue, "1..100000");
            require(maxBodyBytes >= 1024 && maxBodyBytes <= Integer.MAX_VALUE - 8, "maxBodyBytes", "--max-body-mb",
                    maxBodyBytes, "1024..2147483639 bytes");
            require(topK >= 1 && topK <= 10_000, "topK", "--top-k", topK, "1..10000");
            require(token == null || (!token.isBlank() && token.chars().allMatch(c -> c > 0x20 && c < 0x7f)),
                    "token", "--token", token == null ? null : "(hidden)", "printable ASCII without spaces");
            require(drainTimeoutMs >= 0 && drainTimeoutMs <= 3_600_000, "drainTimeoutMs", "--drain-timeout-ms",
                    drainTimeoutMs, "0..3600000");
            require(httpThreads >= 4 && httpThreads <= 10_000, "httpThreads", "--http-threads", httpThreads,
                    "4..10000");
            require(workers >= 1 && workers <= 256, "workers", "--threads", workers, "1..256");
            return new ServerOptions(host, port, maxBatch, Duration.ofMillis(maxWaitMs), queue, maxBodyBytes, topK,
                    token, Duration.ofMillis(drainTimeoutMs), httpThreads, workers);
        }

        private static void require(boolean ok, String option, String flag, Object value, String allowed) {
            if (!ok) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "server option '%s' (%s) is %s; allowed: %s", option, flag, value, allowed));
            }
        }
    }

    @Override
    public String toString() {
        // Never print the token.
        return String.format(Locale.ROOT, "ServerOptions[%s:%d, maxBatch=%d, maxWait=%dms, queue=%d, maxBody=%d, "
                + "topK=%d, token=%s, drain=%dms, httpThreads=%d, workers=%d]", host, port, maxBatch, maxWait.toMillis(),
                queue, maxBodyBytes, topK, token == null ? "none" : "set", drainTimeout.toMillis(), httpThreads,
                workers);
    }
}
