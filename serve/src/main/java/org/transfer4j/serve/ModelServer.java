package org.transfer4j.serve;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.net.BindException;
import java.net.URI;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.transfer4j.inference.Predictor;

/**
 * A {@link Predictor} behind HTTP: {@code POST /v1/predict}, {@code GET /v1/model}, health, Prometheus metrics and a
 * page at {@code /} to try the model in a browser. Concurrent predict requests are batched into one model run
 * (dynamic batching); the number of requests waiting is bounded, and one more is refused with 503.
 *
 * <pre>{@code
 * try (Predictor predictor = Predictor.builder(Path.of("model.onnx")).optBatchSize(8).build();
 *      ModelServer server = ModelServer.start(predictor, ServerOptions.builder().optPort(8080).build())) {
 *     server.closeOnTerminationSignals();   // SIGTERM or Ctrl-C: drain, then return from awaitClose
 *     server.awaitClose();
 * }
 * }</pre>
 *
 * <p>{@link #close()} shuts down gracefully: it stops accepting connections, refuses new requests with 503, lets the
 * requests in flight finish (up to the drain timeout), runs what is queued and only then stops. It does not close the
 * Predictor, which the caller owns.
 */
public final class ModelServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ModelServer.class.getName());

    private final Server jetty;
    private final ServerConnector connector;
    private final Admission admission;
    private final Batcher batcher;
    private final Metrics metrics;
    private final ServerOptions options;
    private final int maxBatch;
    private final CountDownLatch closed = new CountDownLatch(1);
    private final Object closeLock = new Object();
    private volatile boolean closing;

    private ModelServer(Predictor predictor, ServerOptions options) {
        this.options = options;
        this.maxBatch = Math.min(options.maxBatch(), predictor.batchSize());
        this.admission = new Admission(options.queue());
        this.metrics = new Metrics(maxBatch, options.queue(), admission::depth);
        this.batcher = new Batcher(predictor, maxBatch, options.maxWait().toNanos(), options.workers(), admission,
                metrics);
        JsonObject model = ModelDescription.of(predictor, options, maxBatch);

        QueuedThreadPool threads = new QueuedThreadPool(options.httpThreads(), Math.min(4, options.httpThreads()));
        threads.setName("transfer4j-http");
        jetty = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        connector = new ServerConnector(jetty, new HttpConnectionFactory(http));
        connector.setHost(options.host());
        connector.setPort(options.port());
        jetty.addConnector(connector);
        ApiHandler api = new ApiHandler(predictor, options, admission, batcher, metrics, new Page(), model,
                () -> !closing && jetty.isStarted());
        // Counts requests in flight so that stop() waits for them (the drain), and refuses new ones meanwhile.
        jetty.setHandler(new GracefulHandler(api));
        jetty.setErrorHandler(new JsonErrorHandler(metrics));
        jetty.setStopTimeout(options.drainTimeout().toMillis());
        jetty.setStopAtShutdown(false);
    }

    /**
     * Starts serving {@code predictor}. Batches are capped at the Predictor's own batch size (build it with
     * {@code optBatchSize} at least {@code options.maxBatch()}).
     *
     * @throws IOException the address cannot be bound (in use, or not an interface of this machine)
     */
    public static ModelServer start(Predictor predictor, ServerOptions options) throws IOException {
        Objects.requireNonNull(predictor, "predictor");
        Objects.requireNonNull(options, "options");
        ModelServer server = new ModelServer(predictor, options);
        try {
            server.jetty.start();
        } catch (Exception e) {
            server.abort();
            Throwable cause = e;
            while (cause.getCause() != null && !(cause instanceof BindException)) {
                cause = cause.getCause();
            }
            throw new IOException("cannot listen on " + options.host() + ":" + options.port() + ": "
                    + (cause.getMessage() != null ? cause.getMessage() : cause.toString())
                    + (cause instanceof BindException ? "; pick another --port or --host" : ""), e);
        }
        LOG.info(() -> "serving " + predictor + " on " + server.uri() + " (max batch " + server.maxBatch
                + ", max wait " + options.maxWait().toMillis() + " ms, queue " + options.queue()
                + (options.token() != null ? ", token required on /v1" : "") + ")");
        return server;
    }

    /** The port listened on (the actual one when the options asked for port 0). */
    public int port() {
        return connector.getLocalPort();
    }

    /** {@code http://host:port/}. */
    public URI uri() {
        String host = options.host().contains(":") ? "[" + options.host() + "]" : options.host();
        return URI.create("http://" + host + ":" + port() + "/");
    }

    /** The largest batch run: {@code options.maxBatch()} capped by the Predictor's batch size. */
    public int maxBatch() {
        return maxBatch;
    }

    public ServerOptions options() {
        return options;
    }

    /** Requests by status, batches, images and the mean batch since start. */
    public ServerStats stats() {
        return metrics.stats();
    }

    /** The {@code /metrics} text, as a scrape would see it now. */
    public String metricsText() {
        return metrics.render();
    }

    /**
     * Makes SIGTERM and SIGINT (Ctrl-C) start {@link #close()} instead of JVM shutdown, so requests in flight are
     * drained before the process exits; pair it with {@link #awaitClose()} on the main thread, then close the
     * Predictor and exit. Do not drain from a shutdown hook instead: ONNX Runtime's own hook frees its native
     * environment concurrently with yours, and a model run still in flight then crashes the JVM.
     *
     * @return false when this JVM has no signal API (then the signals stop the JVM without draining)
     */
    public boolean closeOnTerminationSignals() {
        return TerminationSignals.install(() -> {
            Thread t = new Thread(this::close, "transfer4j-serve-drain");
            t.start();
        });
    }

    /** Blocks until {@link #close()} has finished (for a main thread that has nothing else to do). */
    public void awaitClose() throws InterruptedException {
        closed.await();
    }

    /**
     * Graceful stop: no new connections, new requests get 503, requests in flight finish (up to the drain timeout),
     * queued images run, then threads end. Idempotent; safe from a shutdown hook.
     */
    @Override
    public void close() {
        synchronized (closeLock) {
            if (closed.getCount() == 0) {
                return;
            }
            closing = true;
            URI was = uri();
            long t0 = System.nanoTime();
            try {
                // Graceful: Jetty stops accepting, then waits for the GracefulHandler's in-flight count to reach 0.
                jetty.stop();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "stopping the HTTP server: " + e.getMessage(), e);
            }
            LOG.fine(() -> "jetty stopped after " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            admission.close();
            long left = options.drainTimeout().toMillis() - (System.nanoTime() - t0) / 1_000_000;
            try {
                batcher.stop(Math.max(1000, left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            LOG.info(() -> "stopped " + was + " after " + (System.nanoTime() - t0) / 1_000_000 + " ms drain; "
                    + stats().images() + " images predicted");
            closed.countDown();
        }
    }

    private void abort() {
        admission.close();
        try {
            batcher.stop(1000);
            jetty.stop();
        } catch (Exception e) {
            LOG.log(Level.FINE, "cleanup after a failed start", e);
        }
        closed.countDown();
    }
}
