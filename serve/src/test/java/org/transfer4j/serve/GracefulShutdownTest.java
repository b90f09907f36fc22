package org.transfer4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.inference.Predictor;

/**
 * close() (what the SIGTERM hook calls) drains: a request in flight when it starts is answered 200, close() waits
 * for it, and after close nothing is accepted.
 */
class GracefulShutdownTest {
    @TempDir
    Path dir;

    @Test
    void closeWaitsForTheRequestInFlightAndAnswersIt() throws Exception {
        try (Predictor predictor = ServeTestKit.predictor(dir.resolve("model"))) {
            ModelServer server = ModelServer.start(predictor, ServerOptions.builder().optPort(0).build());
            URI base = server.uri();
            byte[] img = ServeTestKit.png(9, 30, 30);
            try (Socket s = new Socket(base.getHost(), base.getPort())) {
                OutputStream out = s.getOutputStream();
                out.write(("POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + img.length
                        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(img, 0, 20);
                out.flush();
                ModelServerHttpTest.waitFor(() -> server.metricsText().contains("transfer4j_queue_depth 1"));

                CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
                Thread.sleep(300);
                assertFalse(closing.isDone(), "close() returned while a request was still in flight");
                assertThrows(IOException.class, () -> ServeTestKit.get(base.resolve("/health/live")),
                        "a draining server accepts no new connection");

                out.write(img, 20, img.length - 20);
                out.flush();
                s.setSoTimeout(30_000);
                String head = ModelServerHttpTest.readHead(s.getInputStream());
                assertTrue(head.startsWith("HTTP/1.1 200"), head);
                closing.get(30, TimeUnit.SECONDS);
            }
            assertEquals(1, server.stats().images());
            assertThrows(IOException.class, () -> ServeTestKit.get(base.resolve("/health/live")),
                    "a closed server accepts no connection");
            server.close(); // idempotent
        }
    }
}
