package org.transfer4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The Prometheus text: cumulative buckets, +Inf equal to the count, batch buckets ending at the max batch. */
class MetricsTest {
    @Test
    void histogramsAreCumulativeAndCountsAgree() {
        Metrics m = new Metrics(6, 10, () -> 3);
        m.batch(1, 2_000_000);
        m.batch(3, 4_000_000);
        m.batch(6, 30_000_000);
        m.request("/v1/predict", 200);
        m.request("/v1/predict", 422);
        m.request(Route.OTHER, 404);
        String text = m.render();
        assertTrue(text.contains("transfer4j_batch_size_bucket{le=\"1\"} 1\n"), text);
        assertTrue(text.contains("transfer4j_batch_size_bucket{le=\"2\"} 1\n"), text);
        assertTrue(text.contains("transfer4j_batch_size_bucket{le=\"4\"} 2\n"), text);
        assertTrue(text.contains("transfer4j_batch_size_bucket{le=\"6\"} 3\n"), text);
        assertTrue(text.contains("transfer4j_batch_size_bucket{le=\"+Inf\"} 3\n"), text);
        assertTrue(text.contains("transfer4j_batch_size_count 3\n"), text);
        assertEquals(10.0, ServeTestKit.metric(text, "transfer4j_batch_size_sum"), 1e-9);
        assertTrue(text.contains("transfer4j_inference_duration_seconds_bucket{le=\"0.0025\"} 1\n"), text);
        assertTrue(text.contains("transfer4j_inference_duration_seconds_bucket{le=\"0.05\"} 3\n"), text);
        assertTrue(text.contains("transfer4j_http_requests_total{endpoint=\"/v1/predict\",status=\"422\"} 1\n"),
                text);
        assertTrue(text.contains("transfer4j_http_errors_total{status=\"404\"} 1\n"), text);
        assertTrue(text.contains("transfer4j_queue_depth 3\n"), text);
        assertTrue(text.contains("transfer4j_queue_capacity 10\n"), text);
        assertEquals(10.0 / 3, m.stats().meanBatch(), 1e-9);
        assertEquals(1, m.stats().count(404));
        for (String line : text.split("\n")) {
            assertTrue(line.startsWith("# HELP ") || line.startsWith("# TYPE ") || line.matches(
                    "[a-z0-9_]+(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\\})? [0-9.]+"), "not exposition: " + line);
        }
    }
}
