package org.transfer4j.tools.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.Color;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.head.HeadWeights;
import org.transfer4j.head.compose.Composer;
import org.transfer4j.testing.TinyModels;
import org.transfer4j.tools.BenchCommand;
import org.transfer4j.tools.CliRun;
import org.transfer4j.tools.ServeCommand;

/**
 * serve.jar as a process (SIGTERM drains the request in flight) and bench.jar serve on a tiny composed model (the
 * JSON line; an overload run gets 503s and the server answers normally afterwards).
 */
class ServeToolsTest {
    @TempDir
    static Path dir;
    static Path composed;
    static Path image;

    @BeforeAll
    static void setUp() throws Exception {
        Path backbone = TinyModels.builder().size(16, 16).write(dir.resolve("tiny.onnx"));
        var spec = org.transfer4j.tools.predict.PredictCommandTestAccess.specOf(backbone);
        java.util.Random r = new java.util.Random(3);
        float[] w1 = new float[12];
        float[] w2 = new float[8];
        for (int i = 0; i < w1.length; i++) {
            w1[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < w2.length; i++) {
            w2[i] = (float) r.nextGaussian();
        }
        HeadWeights w = new HeadWeights(List.of("blue", "red"), 3, 4, w1, new float[4], w2, new float[2], spec);
        composed = Composer.compose(backbone, w, Map.of(), dir.resolve("model.onnx")).model();
        image = dir.resolve("red.png");
        org.transfer4j.tools.predict.PredictCommandTestAccess.write(image, Color.RED, 40, 30);
    }

    private static JsonObject bench(String... extra) {
        List<String> args = new ArrayList<>(List.of("serve", "--model", composed.toString(), "--seconds", "1",
                "--warmup-seconds", "0.2", "--threads", "1", "--image", image.toString(), "--after", "10"));
        args.addAll(List.of(extra));
        CliRun r = CliRun.run(new BenchCommand(), args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return JsonParser.parseString(r.out().strip()).getAsJsonObject();
    }

    @Test
    void benchServePrintsThroughputLatencyBatchAndTheModelAlone() {
        JsonObject o = bench("--clients", "8");
        assertEquals("serve", o.get("bench").getAsString());
        assertEquals(0, o.get("errors").getAsLong(), o.toString());
        assertTrue(o.get("images_per_s").getAsDouble() > 0, o.toString());
        assertTrue(o.get("inference_images_per_s").getAsDouble() > 0, o.toString());
        assertTrue(o.get("inference_lanes_images_per_s").getAsDouble() > 0, o.toString());
        double busy = o.get("workers_busy").getAsDouble();
        assertTrue(busy > 0 && busy <= 1.05, o.toString());
        assertEquals(1, o.get("workers").getAsInt(), "--threads 1: one batching worker");
        assertTrue(o.get("cpu_flags").isJsonPrimitive(), o.toString());
        assertTrue(o.get("p99_ms").getAsDouble() >= o.get("p50_ms").getAsDouble(), o.toString());
        assertTrue(o.get("mean_batch").getAsDouble() >= 1, o.toString());
        assertEquals("10/10", o.get("after_ok").getAsString());
    }

    @Test
    void overloadGets503sAndTheServerServesNormallyAfterwards() {
        JsonObject o = bench("--clients", "32", "--queue", "1", "--max-batch", "1");
        JsonObject statuses = o.getAsJsonObject("status_counts");
        assertTrue(statuses.has("503") && statuses.get("503").getAsLong() > 0, o.toString());
        assertTrue(statuses.has("200") && statuses.get("200").getAsLong() > 0, o.toString());
        assertEquals(2, statuses.size(), "only 200 and 503, no failures: " + o);
        assertEquals("10/10", o.get("after_ok").getAsString());
    }

    private static void waitForQueueDepth(int port, int depth) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        long deadline = System.nanoTime() + 30_000_000_000L;
        String text = "";
        while (System.nanoTime() < deadline) {
            text = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port
                    + "/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            if (text.contains("\ntransfer4j_queue_depth " + depth + "\n")) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("queue depth never reached " + depth + ":\n" + text);
    }

    @Test
    void sigtermDrainsTheRequestInFlight() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path log = dir.resolve("serve.log");
        Process p = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                ServeCommand.class.getName(), "--model", composed.toString(), "--port", "0", "--threads", "1")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            Pattern url = Pattern.compile("(?m)^serving .* on http://127\\.0\\.0\\.1:(\\d+)/");
            int port = -1;
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (port < 0 && System.nanoTime() < deadline && p.isAlive()) {
                Matcher m = url.matcher(Files.readString(log));
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                } else {
                    Thread.sleep(50);
                }
            }
            assertTrue(port > 0, "no 'serving ... on http://127.0.0.1:PORT/' line in:\n" + Files.readString(log));
            byte[] img = Files.readAllBytes(image);
            try (Socket s = new Socket("127.0.0.1", port)) {
                OutputStream out = s.getOutputStream();
                out.write(("POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + img.length
                        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(img, 0, 10);
                out.flush();
                waitForQueueDepth(port, 1); // the server has the request and is reading its body
                out.write(img, 10, 10); // still uploading: Jetty closes connections idle for 1 s during shutdown
                out.flush();
                p.destroy(); // SIGTERM on Linux
                Thread.sleep(200);
                assertTrue(p.isAlive(), "the server exited with a request in flight:\n" + Files.readString(log));
                out.write(img, 20, img.length - 20);
                out.flush();
                s.setSoTimeout(30_000);
                String answer = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
                if (!answer.equals("HTTP/1.1 200")) {
                    p.waitFor(30, TimeUnit.SECONDS);
                }
                assertEquals("HTTP/1.1 200", answer, "server output:\n" + Files.readString(log));
            }
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the server did not exit after draining");
            assertEquals(0, p.exitValue(), Files.readString(log));
            assertTrue(Files.readString(log).contains("1 images predicted"), Files.readString(log));
        } finally {
            p.destroyForcibly();
        }
    }
}
