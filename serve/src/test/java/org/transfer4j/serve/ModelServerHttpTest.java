package org.transfer4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.transfer4j.serve.ServeTestKit.get;
import static org.transfer4j.serve.ServeTestKit.json;
import static org.transfer4j.serve.ServeTestKit.png;
import static org.transfer4j.serve.ServeTestKit.post;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.inference.Prediction;
import org.transfer4j.inference.Predictor;

/** Every status the server answers, each with its JSON body, on an ephemeral loopback port with a tiny model. */
class ModelServerHttpTest {
    @TempDir
    static Path dir;
    static Predictor predictor;
    static ModelServer server;
    static URI base;

    @BeforeAll
    static void start() throws Exception {
        predictor = ServeTestKit.predictor(dir.resolve("model"));
        server = ModelServer.start(predictor, ServerOptions.builder().optPort(0).optMaxBodyBytes(64 * 1024)
                .optQueue(2).build());
        base = server.uri();
    }

    @AfterAll
    static void stop() {
        server.close();
        predictor.close();
    }

    private static void assertError(HttpResponse<String> r, int status) {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"), r.headers()
                .toString());
        JsonObject o = json(r);
        assertEquals(status, o.get("status").getAsInt(), r.body());
        assertFalse(o.get("error").getAsString().isBlank());
        assertFalse(r.body().contains("\tat ") || r.body().contains("Exception"), "no stack trace: " + r.body());
    }

    @Test
    void predictsARawBodyLikeThePredictor() throws Exception {
        byte[] img = png(1, 40, 30);
        HttpResponse<String> r = post(base.resolve("/v1/predict"), img, "Content-Type", "image/png");
        assertEquals(200, r.statusCode(), r.body());
        JsonObject o = json(r);
        Prediction expected = predictor.predict(img);
        assertEquals(expected.label(), o.get("label").getAsString());
        assertEquals(expected.probability(), o.get("probability").getAsFloat(), 1e-6);
        JsonArray top = o.getAsJsonArray("top");
        assertEquals(3, top.size(), "default top-5 capped at the 3 classes");
        for (int i = 0; i < top.size(); i++) {
            assertEquals(expected.top().get(i).label(), top.get(i).getAsJsonObject().get("label").getAsString());
        }
        assertEquals(40, o.getAsJsonObject("image").get("width").getAsInt());
        JsonObject t = o.getAsJsonObject("timings");
        for (String k : new String[] {"read_ms", "decode_ms", "queue_ms", "inference_ms", "total_ms"}) {
            assertTrue(t.get(k).getAsDouble() >= 0, k);
        }
        assertTrue(o.get("batch_size").getAsInt() >= 1);
    }

    @Test
    void topKFromTheQuery() throws Exception {
        HttpResponse<String> r = post(base.resolve("/v1/predict?top_k=1"), png(2, 20, 20));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(1, json(r).getAsJsonArray("top").size());
        assertError(post(base.resolve("/v1/predict?top_k=zero"), png(2, 20, 20)), 400);
        assertError(post(base.resolve("/v1/predict?top_k=0"), png(2, 20, 20)), 400);
    }

    @Test
    void aRefusedRequestKeepsItsConnectionUsable() throws Exception {
        // The body arrives after the server could already refuse the query: it must wait for it, answer, and keep the
        // connection, or a client that pools connections fails its next request on it with no answer (seen in CI).
        byte[] img = png(2, 20, 20);
        try (Socket s = new Socket(base.getHost(), base.getPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/predict?top_k=0 HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + img.length
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Thread.sleep(300);
            out.write(img);
            out.flush();
            String first = readResponse(s.getInputStream());
            assertTrue(first.startsWith("HTTP/1.1 400"), first);
            assertFalse(first.toLowerCase(java.util.Locale.ROOT).contains("connection: close"), first);
            out.write("GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String second = readResponse(s.getInputStream());
            assertTrue(second.startsWith("HTTP/1.1 200"), "the same connection answers again: " + second);
        }
    }

    @Test
    void predictsAMultipartForm() throws Exception {
        byte[] img = png(3, 25, 25);
        String boundary = "----t4jboundary";
        byte[] head = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--"
                + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"bee.png\"\r\n"
                + "Content-Type: image/png\r\n\r\n").getBytes(StandardCharsets.UTF_8);
        byte[] tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
        byte[] body = concat(head, img, tail);
        HttpResponse<String> r = post(base.resolve("/v1/predict"), body, "Content-Type",
                "multipart/form-data; boundary=" + boundary);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(predictor.predict(img).label(), json(r).get("label").getAsString());
    }

    @Test
    void notAnImageIs422WithTheDecodersReason() throws Exception {
        byte[] text = "hello, not an image".getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> r = post(base.resolve("/v1/predict"), text);
        assertError(r, 422);
        ImageDecodeException direct = assertThrows(ImageDecodeException.class, () -> predictor.decoder().decode(text,
                "x"));
        assertEquals(direct.reason().name(), json(r).get("reason").getAsString());

        byte[] png = png(4, 30, 30);
        byte[] corrupt = Arrays.copyOf(png, 60); // the header survives, the pixels do not
        HttpResponse<String> c = post(base.resolve("/v1/predict"), corrupt);
        assertError(c, 422);
        ImageDecodeException d = assertThrows(ImageDecodeException.class, () -> predictor.decoder().decode(corrupt,
                "x"));
        assertEquals(d.reason().name(), json(c).get("reason").getAsString());
        assertEquals(200, post(base.resolve("/v1/predict"), png).statusCode(), "a bad image fails alone");
    }

    @Test
    void emptyBodyIs400() throws Exception {
        assertError(post(base.resolve("/v1/predict"), new byte[0]), 400);
    }

    @Test
    void bodyOverTheLimitIs413WithOrWithoutALength() throws Exception {
        byte[] big = new byte[100 * 1024];
        HttpResponse<String> tooBig = post(base.resolve("/v1/predict"), big);
        assertError(tooBig, 413);
        assertEquals("close", tooBig.headers().firstValue("connection").orElse(null), "the rest is not read");
        // Chunked (no Content-Length): refused while reading, once past the limit.
        HttpRequest chunked = HttpRequest.newBuilder(base.resolve("/v1/predict")).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build();
        assertError(ServeTestKit.HTTP.send(chunked, HttpResponse.BodyHandlers.ofString()), 413);
        assertEquals(200, post(base.resolve("/v1/predict"), png(5, 20, 20)).statusCode());
    }

    @Test
    void wrongMethodIs405WithAllow() throws Exception {
        HttpResponse<String> r = get(base.resolve("/v1/predict"));
        assertError(r, 405);
        assertEquals("POST", r.headers().firstValue("allow").orElse(null));
        HttpResponse<String> m = post(base.resolve("/v1/model"), new byte[] {1});
        assertError(m, 405);
        assertEquals("GET", m.headers().firstValue("allow").orElse(null));
    }

    @Test
    void unknownPathIs404() throws Exception {
        assertError(get(base.resolve("/nothing/here")), 404);
        assertError(get(base.resolve("/v1/predictions")), 404);
    }

    @Test
    void malformedHttpGetsAJsonError() throws Exception {
        try (Socket s = new Socket(base.getHost(), base.getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GARBAGE\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
            assertTrue(answer.contains("\"status\":400"), answer);
            assertFalse(answer.contains("<html"), answer);
        }
    }

    @Test
    void fullQueueIs503WithRetryAfterAndTheServerRecovers() throws Exception {
        // Two slow uploads take both queue slots (--queue 2): each sent its headers, not yet its whole body.
        byte[] img = png(6, 20, 20);
        Socket[] slow = new Socket[2];
        try {
            for (int i = 0; i < slow.length; i++) {
                slow[i] = new Socket(base.getHost(), base.getPort());
                OutputStream out = slow[i].getOutputStream();
                out.write(("POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + img.length
                        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(img, 0, 10);
                out.flush();
            }
            waitFor(() -> server.metricsText().contains("transfer4j_queue_depth 2"));
            HttpResponse<String> r = post(base.resolve("/v1/predict"), img);
            assertError(r, 503);
            assertEquals("1", r.headers().firstValue("retry-after").orElse(null));
            assertEquals("QUEUE_FULL", json(r).get("reason").getAsString());
            // The slow ones finish their bodies and are answered normally.
            for (Socket s : slow) {
                s.getOutputStream().write(img, 10, img.length - 10);
                s.getOutputStream().flush();
                s.setSoTimeout(30_000);
                String head = readHead(s.getInputStream());
                assertTrue(head.startsWith("HTTP/1.1 200"), head);
            }
        } finally {
            for (Socket s : slow) {
                if (s != null) {
                    s.close();
                }
            }
        }
        waitFor(() -> server.metricsText().contains("transfer4j_queue_depth 0"));
        assertEquals(200, post(base.resolve("/v1/predict"), img).statusCode());
    }

    @Test
    void modelHealthAndMetrics() throws Exception {
        HttpResponse<String> m = get(base.resolve("/v1/model"));
        assertEquals(200, m.statusCode());
        JsonObject o = json(m);
        assertEquals("model.onnx", o.get("name").getAsString());
        assertEquals(predictor.classes().size(), o.getAsJsonArray("classes").size());
        assertEquals(predictor.info().spec().modelSha256(), o.getAsJsonObject("backbone").get("sha256").getAsString());
        assertEquals(8, o.getAsJsonObject("server").get("max_batch").getAsInt());
        assertNotNull(o.getAsJsonObject("spec"));

        assertEquals("live", json(get(base.resolve("/health/live"))).get("status").getAsString());
        assertEquals("ready", json(get(base.resolve("/health/ready"))).get("status").getAsString());

        post(base.resolve("/v1/predict"), png(7, 20, 20));
        get(base.resolve("/no/such/path"));
        HttpResponse<String> metrics = get(base.resolve("/metrics"));
        assertEquals(200, metrics.statusCode());
        assertTrue(metrics.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"));
        String text = metrics.body();
        assertTrue(text.contains("transfer4j_http_requests_total{endpoint=\"/v1/predict\",status=\"200\"}"), text);
        assertTrue(text.contains("transfer4j_http_errors_total{status=\"404\"}"), text);
        assertTrue(text.contains("# TYPE transfer4j_predict_duration_seconds histogram"), text);
        assertTrue(text.contains("transfer4j_batch_size_bucket{le=\"+Inf\"}"), text);
        assertTrue(text.contains("transfer4j_queue_depth "), text);
        assertFalse(text.contains("/no/such/path"), "unknown paths are labelled 'other', not by their raw path");
        assertTrue(ServeTestKit.metric(text, "transfer4j_batch_size_count") >= 1);
    }

    @Test
    void pageAndAssetsComeFromTheJar() throws Exception {
        HttpResponse<String> page = get(base);
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<script src=\"/app.js\">"));
        assertFalse(page.body().contains("http://") || page.body().contains("https://"), "no external asset");
        assertTrue(page.headers().firstValue("content-security-policy").orElse("").contains("default-src 'self'"));
        for (String asset : new String[] {"/app.js", "/app.css", "/favicon.svg"}) {
            HttpResponse<String> a = get(base.resolve(asset));
            assertEquals(200, a.statusCode(), asset);
            assertFalse(a.body().contains("https://"), asset + " loads nothing from elsewhere");
        }
    }

    @Test
    void tokenGuardsEveryV1Call() throws Exception {
        try (ModelServer guarded = ModelServer.start(predictor, ServerOptions.builder().optPort(0)
                .optToken("s3cret").build())) {
            URI b = guarded.uri();
            HttpResponse<String> none = post(b.resolve("/v1/predict"), png(8, 20, 20));
            assertError(none, 401);
            assertTrue(none.headers().firstValue("www-authenticate").orElse("").startsWith("Bearer"));
            assertError(get(b.resolve("/v1/model"), "Authorization", "Bearer wrong"), 401);
            assertError(get(b.resolve("/v1/anything")), 401);
            assertEquals(200, post(b.resolve("/v1/predict"), png(8, 20, 20), "Authorization", "Bearer s3cret")
                    .statusCode());
            assertEquals(200, get(b.resolve("/v1/model"), "Authorization", "Bearer s3cret").statusCode());
            // Health, metrics and the page stay open (the page asks for the token itself).
            assertEquals(200, get(b.resolve("/health/ready")).statusCode());
            assertEquals(200, get(b).statusCode());
            assertTrue(json(get(b.resolve("/v1/model"), "Authorization", "Bearer s3cret"))
                    .getAsJsonObject("server").get("token_required").getAsBoolean());
        }
    }

    @Test
    void bindsLoopbackByDefault() {
        assertEquals("127.0.0.1", ServerOptions.defaults().host());
        assertEquals("127.0.0.1", server.uri().getHost());
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    static String readHead(InputStream in) throws java.io.IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            sb.append((char) c);
            if (sb.length() >= 4 && sb.substring(sb.length() - 4).equals("\r\n\r\n")) {
                break;
            }
        }
        return sb.toString();
    }

    /** One response with a Content-Length body, read from a kept-alive connection. */
    private static String readResponse(InputStream in) throws java.io.IOException {
        String head = readHead(in);
        int length = 0;
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(line.indexOf(':') + 1).strip());
            }
        }
        return head + new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting");
            }
            Thread.sleep(10);
        }
    }
}
