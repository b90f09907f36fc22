package org.transfer4j.serve;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.inference.Prediction;
import org.transfer4j.inference.Predictor;

/**
 * Every endpoint of the server. Runs on Jetty's request threads, which may block: a predict request reads its body
 * here, hands the encoded image to the {@link Batcher} and returns; the batching worker decodes it (a bad image fails
 * alone, with 422) and sends the answer when the batch has run. Anything that goes
 * wrong ends as a JSON error body; unexpected exceptions are logged and answered with a bare 500.
 */
final class ApiHandler extends Handler.Abstract {
    private static final Logger LOG = Logger.getLogger(ApiHandler.class.getName());

    private final Predictor predictor;
    private final ServerOptions options;
    private final Admission admission;
    private final Batcher batcher;
    private final Metrics metrics;
    private final Page page;
    private final JsonObject model;
    private final byte[] token;
    private final BooleanSupplier ready;

    ApiHandler(Predictor predictor, ServerOptions options, Admission admission, Batcher batcher, Metrics metrics,
               Page page, JsonObject model, BooleanSupplier ready) {
        this.predictor = predictor;
        this.options = options;
        this.admission = admission;
        this.batcher = batcher;
        this.metrics = metrics;
        this.page = page;
        this.model = model;
        this.token = options.token() == null ? null : ("Bearer " + options.token()).getBytes(StandardCharsets.UTF_8);
        this.ready = ready;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        long start = System.nanoTime();
        String path = Request.getPathInContext(request);
        Route route = Route.of(path);
        Exchange ex = new Exchange(request, response, callback, metrics, Route.endpoint(path), start);
        try {
            if (token != null && Route.isApi(path) && !authorized(request)) {
                response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer realm=\"transfer4j\"");
                throw new ApiError(401, "this server needs a token: send the header 'Authorization: Bearer <token>' "
                        + "(the --token the server was started with)");
            }
            if (route == null) {
                throw new ApiError(404, "no endpoint at " + path + "; try GET /, GET /v1/model, POST /v1/predict, "
                        + "GET /health/live, GET /health/ready or GET /metrics");
            }
            if (!route.method.equals(request.getMethod())) {
                response.getHeaders().put(HttpHeader.ALLOW, route.method);
                throw new ApiError(405, request.getMethod() + " is not allowed on " + route.path + "; use "
                        + route.method);
            }
            switch (route) {
                case PAGE, PAGE_SCRIPT, PAGE_STYLE, FAVICON -> page.serve(route, ex);
                case LIVE -> ex.json(200, status("live"));
                case READY -> {
                    boolean ok = ready.getAsBoolean();
                    ex.json(ok ? 200 : 503, status(ok ? "ready" : "shutting down"));
                }
                case METRICS -> ex.send(200, Metrics.CONTENT_TYPE, metrics.render().getBytes(StandardCharsets.UTF_8));
                case MODEL -> ex.json(200, model);
                case PREDICT -> predict(ex);
                default -> throw new IllegalStateException("unrouted " + route);
            }
        } catch (ApiError e) {
            endBody(request, response);
            ex.error(e);
        } catch (Exception | Error e) {
            LOG.log(Level.WARNING, request.getMethod() + " " + path + " failed: " + e, e);
            endBody(request, response);
            ex.error(500, "internal server error; the server log has the details", null);
        }
        return true;
    }

    private boolean authorized(Request request) {
        String given = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        // Constant-time comparison: the time taken says nothing about how much of the token was right.
        return given != null && MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8));
    }

    private static JsonObject status(String s) {
        JsonObject o = new JsonObject();
        o.addProperty("status", s);
        return o;
    }

    private void predict(Exchange ex) throws Exception {
        int topK = topK(ex.request);
        if (!admission.tryAdmit()) {
            ex.response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
            if (admission.isClosed()) {
                throw new ApiError(503, "the server is shutting down", "SHUTTING_DOWN");
            }
            throw new ApiError(503, "the server is busy: " + admission.capacity() + " requests are already "
                    + "queued (--queue " + admission.capacity() + "); retry after a second", "QUEUE_FULL");
        }
        Upload upload;
        long readNanos;
        try {
            upload = Upload.read(ex.request, options.maxBodyBytes());
            readNanos = System.nanoTime() - ex.startNanos;
        } catch (Exception | Error e) {
            admission.release(1);
            throw e;
        }
        // Decoded by the batching worker that takes it (a bad image fails alone, with 422).
        batcher.submit(upload).whenComplete((r, failure) -> {
            if (failure != null) {
                answerFailure(ex, failure);
            } else {
                ex.json(200, predictionJson(r, topK, readNanos, ex.startNanos));
            }
        });
    }

    /** Before an error answered on the request thread: drops the body, or says the connection ends with the answer. */
    private void endBody(Request request, Response response) {
        if (!discardBody(request)) {
            response.getHeaders().put(HttpHeader.CONNECTION, "close"); // bytes may still be on their way
        }
    }

    /**
     * Reads and drops a refused request's body when it is within the limit, so the connection stays usable. Answering
     * while the client still sends makes Jetty close the connection after a complete response that does not say so:
     * the client then sees a reset instead of the 503 (measured: 3 of 3,580 refusals with 64 clients and --queue 4),
     * or puts the connection back in its pool and its next request there fails with no answer at all (seen once in CI
     * after a 400 for a bad {@code top_k}). A body the upload already read is an empty source here.
     *
     * @return false when bytes may be left unread (a body over the limit, or one without a length)
     */
    private boolean discardBody(Request request) {
        long length = request.getLength();
        if (length == 0) {
            return true;
        }
        if (length < 0 || length > options.maxBodyBytes()) {
            return false;
        }
        try {
            org.eclipse.jetty.io.Content.Source.consumeAll(request);
            return true;
        } catch (java.io.IOException e) {
            return false; // the client left; the answer goes nowhere either way
        }
    }

    private static void answerFailure(Exchange ex, Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        if (cause instanceof ImageDecodeException e) {
            ex.error(422, e.getMessage(), e.reason().name());
        } else if (cause instanceof IllegalStateException) {
            ex.response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
            ex.error(503, cause.getMessage(), "SHUTTING_DOWN");
        } else {
            // Logged by the batcher with the model's message; the caller gets no internals.
            ex.error(500, "the model failed on this batch; the server log has the details", "MODEL_ERROR");
        }
    }

    private int topK(Request request) throws ApiError {
        String given = Request.extractQueryParameters(request).getValue("top_k");
        if (given == null) {
            return Math.min(options.topK(), predictor.classes().size());
        }
        int k;
        try {
            k = Integer.parseInt(given.strip());
        } catch (NumberFormatException e) {
            k = -1;
        }
        if (k < 1) {
            throw new ApiError(400, "top_k is '" + given + "'; allowed: an integer from 1 (more than the "
                    + predictor.classes().size() + " classes lists them all)");
        }
        return Math.min(k, predictor.classes().size());
    }

    private JsonObject predictionJson(Batcher.Result r, int topK, long readNanos, long startNanos) {
        Prediction p = r.prediction();
        List<Prediction.Scored> top = p.top().size() >= topK ? p.top().subList(0, topK)
                : Prediction.of(predictor.classes(), p.probabilities(), topK).top();
        JsonObject o = new JsonObject();
        o.addProperty("label", p.label());
        o.addProperty("probability", p.probability());
        o.addProperty("index", p.index());
        JsonArray list = new JsonArray();
        for (Prediction.Scored s : top) {
            JsonObject e = new JsonObject();
            e.addProperty("label", s.label());
            e.addProperty("probability", s.probability());
            e.addProperty("index", s.index());
            list.add(e);
        }
        o.add("top", list);
        JsonObject img = new JsonObject();
        img.addProperty("width", r.width());
        img.addProperty("height", r.height());
        o.add("image", img);
        o.addProperty("batch_size", r.batchSize());
        JsonObject t = new JsonObject();
        t.addProperty("read_ms", ms(readNanos));
        t.addProperty("decode_ms", ms(r.decodeNanos()));
        t.addProperty("preprocess_ms", ms(r.preprocessNanos()));
        t.addProperty("queue_ms", ms(r.queueNanos()));
        t.addProperty("inference_ms", ms(r.inferenceNanos()));
        t.addProperty("total_ms", ms(System.nanoTime() - startNanos));
        o.add("timings", t);
        return o;
    }

    private static double ms(long nanos) {
        return Double.parseDouble(String.format(Locale.ROOT, "%.3f", nanos / 1e6));
    }
}
