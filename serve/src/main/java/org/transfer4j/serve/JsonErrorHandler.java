package org.transfer4j.serve;

import com.google.gson.JsonObject;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's own error responses (a request it cannot parse, a header too large, a request refused while shutting
 * down, an exception that escaped a handler) as the same JSON error body as the API's, instead of Jetty's HTML page.
 * Never shows a stack trace or an exception's text: a 500 says only that the log has the details.
 */
final class JsonErrorHandler implements Request.Handler {
    private final Metrics metrics;

    JsonErrorHandler(Metrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        int status = response.getStatus();
        Object cause = request.getAttribute(ErrorHandler.ERROR_EXCEPTION);
        String message = (String) request.getAttribute(ErrorHandler.ERROR_MESSAGE);
        if (cause instanceof HttpException h) {
            status = h.getCode();
            response.setStatus(status);
            message = message != null ? message : h.getReason();
        }
        if (status >= 500 && status != 503) {
            message = "internal server error; the server log has the details";
        } else if (status == 503) {
            message = "the server is shutting down";
            response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        }
        metrics.request(Route.endpoint(safePath(request)), status);
        if (HttpStatus.hasNoBody(status)) {
            callback.succeeded();
            return true;
        }
        JsonObject body = Exchange.errorBody(status, message, null);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, Exchange.JSON);
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        response.write(true, ByteBuffer.wrap((body + "\n").getBytes(StandardCharsets.UTF_8)), callback);
        return true;
    }

    private static String safePath(Request request) {
        try {
            return Request.getPathInContext(request);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
