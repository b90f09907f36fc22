package org.transfer4j.spark;

import java.io.Serializable;
import org.apache.spark.SparkContext;
import org.apache.spark.util.LongAccumulator;

/**
 * The tasks' steady-state throughput, the figure comparable with extract.jar's images/s (which also leaves out model
 * loading and the first batch): each task adds the rows it emitted after its first batch and the nanoseconds from
 * that batch to its last row. A retried task may add twice (Spark accumulators in transformations); the figure is a
 * measurement, not a count anything depends on.
 */
final class TaskClock implements Serializable {
    private static final long serialVersionUID = 1L;

    private final LongAccumulator steadyRows;
    private final LongAccumulator steadyNanos;

    TaskClock(SparkContext sc) {
        this.steadyRows = sc.longAccumulator("transfer4j steady rows");
        this.steadyNanos = sc.longAccumulator("transfer4j steady nanos");
    }

    /** A task's rows after its first batch, and the nanoseconds they took. */
    void add(long rows, long nanos) {
        if (rows > 0 && nanos > 0) {
            steadyRows.add(rows);
            steadyNanos.add(nanos);
        }
    }

    /**
     * Images per second over all tasks, with {@code slots} tasks running at once: the summed task time divided by
     * the slots is the wall time the steady parts took. 0 when no task got past its first batch.
     */
    double imagesPerSecond(int slots) {
        long nanos = steadyNanos.value();
        return nanos <= 0 ? 0 : steadyRows.value() / (nanos / 1e9 / Math.max(1, slots));
    }
}
