package org.transfer4j.serve;

import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** The server's endpoints: path, the one method each takes, and whether the bearer token guards it. */
enum Route {
    PAGE("/", "GET", false),
    PAGE_SCRIPT("/app.js", "GET", false),
    PAGE_STYLE("/app.css", "GET", false),
    FAVICON("/favicon.svg", "GET", false),
    LIVE("/health/live", "GET", false),
    READY("/health/ready", "GET", false),
    METRICS("/metrics", "GET", false),
    MODEL("/v1/model", "GET", true),
    PREDICT("/v1/predict", "POST", true);

    /** The metrics label of any path that is not a route (never the raw path: that would be unbounded). */
    static final String OTHER = "other";
    /** Every call under this prefix needs the token when one is set, known path or not. */
    static final String API_PREFIX = "/v1/";

    private static final Map<String, Route> BY_PATH = Stream.of(values())
            .collect(Collectors.toUnmodifiableMap(r -> r.path, Function.identity()));

    final String path;
    final String method;
    final boolean guarded;

    Route(String path, String method, boolean guarded) {
        this.path = path;
        this.method = method;
        this.guarded = guarded;
    }

    /** The route at {@code path}, or null. */
    static Route of(String path) {
        return path == null ? null : BY_PATH.get(path);
    }

    /** The metrics label for {@code path}. */
    static String endpoint(String path) {
        Route r = of(path);
        return r == null ? OTHER : r.path;
    }

    static boolean isApi(String path) {
        return path != null && (path.startsWith(API_PREFIX) || path.equals("/v1"));
    }
}
