package org.transfer4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.inference.Prediction;
import org.transfer4j.inference.Predictor;

/**
 * 8 concurrent clients × 200 requests get the answers sequential {@link Predictor} calls give, and the server really
 * batched them (mean batch above 1, read from /metrics).
 */
class ConcurrentClientsTest {
    static final int CLIENTS = 8;
    static final int REQUESTS = 200;

    @TempDir
    Path dir;

    /** One batching worker, and two running batches at once (serve.jar's CPU setting on 2 cores). */
    @ParameterizedTest(name = "workers {0}")
    @ValueSource(ints = {1, 2})
    void concurrentAnswersEqualSequentialOnesAndAreBatched(int workers) throws Exception {
        try (Predictor predictor = ServeTestKit.predictor(dir.resolve("model"))) {
            List<byte[]> images = new ArrayList<>();
            List<Prediction> expected = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                byte[] png = ServeTestKit.png(100 + i, 12 + 3 * i, 40 - i);
                images.add(png);
                expected.add(predictor.predict(png));
            }
            assertTrue(expected.stream().map(Prediction::label).distinct().count() > 1,
                    "the images must not all get the same class, or the comparison proves little");
            ServerOptions opts = ServerOptions.builder().optPort(0).optMaxBatch(8).optMaxWaitMs(20)
                    .optWorkers(workers).build();
            try (ModelServer server = ModelServer.start(predictor, opts)) {
                URI predict = server.uri().resolve("/v1/predict?top_k=3");
                ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
                List<Future<Integer>> done = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    int client = c;
                    done.add(pool.submit(() -> {
                        for (int r = 0; r < REQUESTS; r++) {
                            int i = (client * 7 + r) % images.size();
                            HttpResponse<String> resp = ServeTestKit.post(predict, images.get(i));
                            assertEquals(200, resp.statusCode(), resp.body());
                            assertSame(expected.get(i), ServeTestKit.json(resp), "client " + client + " request "
                                    + r + " image " + i);
                        }
                        return REQUESTS;
                    }));
                }
                int total = 0;
                for (Future<Integer> f : done) {
                    total += f.get();
                }
                pool.shutdown();
                assertEquals(CLIENTS * REQUESTS, total);

                String metrics = ServeTestKit.get(server.uri().resolve("/metrics")).body();
                double batches = ServeTestKit.metric(metrics, "transfer4j_batch_size_count");
                double imagesRun = ServeTestKit.metric(metrics, "transfer4j_batch_size_sum");
                assertEquals(CLIENTS * REQUESTS, imagesRun, 0.0, metrics);
                assertTrue(imagesRun / batches > 1.0, "mean batch " + imagesRun / batches + " over " + batches
                        + " batches: concurrent requests were not batched");
                assertTrue(server.stats().meanBatch() > 1.0);
                assertTrue(metrics.contains("transfer4j_http_requests_total{endpoint=\"/v1/predict\",status=\"200\"} "
                        + CLIENTS * REQUESTS + "\n"), metrics);
                assertEquals(CLIENTS * REQUESTS + 1, server.stats().count(200), "the predictions and one scrape");
            }
        }
    }

    /** Same class, same top-k order, probabilities equal up to float rounding of a batched run. */
    private static void assertSame(Prediction expected, JsonObject got, String where) {
        assertEquals(expected.label(), got.get("label").getAsString(), where);
        assertEquals(expected.probability(), got.get("probability").getAsFloat(), 1e-5, where);
        JsonArray top = got.getAsJsonArray("top");
        assertEquals(3, top.size(), where);
        for (int k = 0; k < top.size(); k++) {
            JsonObject s = top.get(k).getAsJsonObject();
            assertEquals(expected.top().get(k).label(), s.get("label").getAsString(), where);
            assertEquals(expected.top().get(k).probability(), s.get("probability").getAsFloat(), 1e-5, where);
        }
    }
}
