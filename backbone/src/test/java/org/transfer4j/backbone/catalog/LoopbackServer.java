package org.transfer4j.backbone.catalog;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A file server on 127.0.0.1 (ephemeral port) for download tests: serves one byte array at any path, honours
 * {@code Range: bytes=N-} with 206 unless told to ignore ranges, and can break a response off after some bytes or
 * answer with a fixed status. Records the Range header of every request. Used by backbone and tools tests (test-jar).
 */
public final class LoopbackServer implements AutoCloseable {
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    private final HttpServer server;
    private volatile byte[] content;
    private volatile boolean honourRange = true;
    private volatile int status = 200;
    private final AtomicInteger breakAfterOnce = new AtomicInteger(-1);
    /** The Range header of each request, or "" when it had none. */
    public final List<String> ranges = new CopyOnWriteArrayList<>();

    public LoopbackServer(byte[] content) throws IOException {
        this.content = content;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    /** The URL of a file called {@code name} on this server. */
    public URI url(String name) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/" + name);
    }

    /** Serve other bytes from now on (e.g. a corrupted copy). */
    public LoopbackServer content(byte[] bytes) {
        this.content = bytes;
        return this;
    }

    /** Answer range requests with 200 and the whole file, like servers without range support. */
    public LoopbackServer ignoreRange() {
        this.honourRange = false;
        return this;
    }

    /** Answer every request with this status and no body (e.g. 404). */
    public LoopbackServer status(int code) {
        this.status = code;
        return this;
    }

    /** Break the next response off after {@code bytes} body bytes (the connection drops mid-download). */
    public LoopbackServer breakNextAfter(int bytes) {
        breakAfterOnce.set(bytes);
        return this;
    }

    public int requests() {
        return ranges.size();
    }

    private void handle(HttpExchange ex) throws IOException {
        String range = ex.getRequestHeaders().getFirst("Range");
        ranges.add(range == null ? "" : range);
        if (status != 200) {
            ex.sendResponseHeaders(status, -1);
            ex.close();
            return;
        }
        byte[] data = content;
        int from = 0;
        Matcher m = range == null ? null : RANGE.matcher(range);
        if (honourRange && m != null && m.matches()) {
            long start = Long.parseLong(m.group(1));
            if (start >= data.length) {
                ex.getResponseHeaders().set("Content-Range", "bytes */" + data.length);
                ex.sendResponseHeaders(416, -1);
                ex.close();
                return;
            }
            from = (int) start;
            ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (data.length - 1) + "/" + data.length);
            ex.sendResponseHeaders(206, data.length - from);
        } else {
            ex.sendResponseHeaders(200, data.length);
        }
        OutputStream out = ex.getResponseBody();
        int limit = breakAfterOnce.getAndSet(-1);
        if (limit >= 0) {
            out.write(data, from, Math.min(limit, data.length - from));
            out.flush();
            // Throwing from a handler makes HttpServer drop the connection, so the client sees the body end before
            // its Content-Length: what a dropped connection looks like.
            throw new IOException("simulated broken connection");
        }
        out.write(data, from, data.length - from);
        ex.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
