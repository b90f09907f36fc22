package org.transfer4j.serve;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * One request's answer, sent exactly once (from a request thread or, for predictions, from the batcher), counted in
 * the metrics with its endpoint and status.
 */
final class Exchange {
    static final String JSON = "application/json; charset=utf-8";
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    final Request request;
    final Response response;
    private final Callback callback;
    private final Metrics metrics;
    final String endpoint;
    final long startNanos;
    private final AtomicBoolean sent = new AtomicBoolean();

    Exchange(Request request, Response response, Callback callback, Metrics metrics, String endpoint,
             long startNanos) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.metrics = metrics;
        this.endpoint = endpoint;
        this.startNanos = startNanos;
    }

    void json(int status, JsonElement body) {
        send(status, JSON, (GSON.toJson(body) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    void error(ApiError e) {
        error(e.status, e.getMessage(), e.reason);
    }

    void error(int status, String message, String reason) {
        json(status, errorBody(status, message, reason));
    }

    static JsonObject errorBody(int status, String message, String reason) {
        JsonObject o = new JsonObject();
        o.addProperty("error", message != null ? message : HttpStatus.getMessage(status));
        o.addProperty("status", status);
        if (reason != null) {
            o.addProperty("reason", reason);
        }
        return o;
    }

    void send(int status, String contentType, byte[] body) {
        if (!sent.compareAndSet(false, true)) {
            return;
        }
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put("X-Content-Type-Options", "nosniff");
        metrics.request(endpoint, status);
        if (Route.PREDICT.path.equals(endpoint)) {
            metrics.predictLatency(System.nanoTime() - startNanos);
        }
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    boolean isSent() {
        return sent.get();
    }
}
