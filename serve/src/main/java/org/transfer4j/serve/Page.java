package org.transfer4j.serve;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.EnumMap;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;

/**
 * The page at {@code /} and its script, style and icon, read once from the jar. Nothing is fetched from elsewhere:
 * the Content-Security-Policy allows only this origin (and the browser's own blob: URLs for the picked image), so a
 * page that tried to load a CDN asset would fail visibly.
 */
final class Page {
    private static final String DIR = "/org/transfer4j/serve/page/";
    static final String CSP = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
            + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private record Asset(String contentType, byte[] bytes) {
    }

    private final Map<Route, Asset> assets = new EnumMap<>(Route.class);

    Page() {
        assets.put(Route.PAGE, load("index.html", "text/html; charset=utf-8"));
        assets.put(Route.PAGE_SCRIPT, load("app.js", "text/javascript; charset=utf-8"));
        assets.put(Route.PAGE_STYLE, load("app.css", "text/css; charset=utf-8"));
        assets.put(Route.FAVICON, load("favicon.svg", "image/svg+xml"));
    }

    private static Asset load(String name, String contentType) {
        try (InputStream in = Page.class.getResourceAsStream(DIR + name)) {
            if (in == null) {
                throw new IllegalStateException("the serve jar lacks " + DIR + name + "; rebuild it");
            }
            return new Asset(contentType, in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void serve(Route route, Exchange ex) {
        Asset a = assets.get(route);
        ex.response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        ex.response.getHeaders().put("Content-Security-Policy", CSP);
        ex.response.getHeaders().put("Referrer-Policy", "no-referrer");
        ex.response.getHeaders().put("X-Frame-Options", "DENY");
        ex.send(200, a.contentType(), a.bytes());
    }
}
