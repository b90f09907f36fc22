package org.transfer4j.serve;

import java.util.Map;

/**
 * A snapshot of what a {@link ModelServer} has done since it started: the numbers {@code /metrics} exposes, for
 * callers in the same process (benchmarks, tests) that should not parse text.
 *
 * @param requestsByStatus HTTP responses by status code, all endpoints
 * @param batches          model runs
 * @param images           images predicted
 * @param meanBatch        images per model run, 0 before the first
 * @param inferenceSeconds time in model runs, summed over the batching workers
 */
public record ServerStats(Map<Integer, Long> requestsByStatus, long batches, long images, double meanBatch,
                          double inferenceSeconds) {
    public ServerStats {
        requestsByStatus = Map.copyOf(requestsByStatus);
    }

    /** Responses with this status so far. */
    public long count(int status) {
        return requestsByStatus.getOrDefault(status, 0L);
    }
}
