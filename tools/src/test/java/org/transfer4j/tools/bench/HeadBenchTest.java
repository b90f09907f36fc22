package org.transfer4j.tools.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.transfer4j.tools.BenchCommand;
import org.transfer4j.tools.CliRun;

/** bench.jar head on small shapes: the JSON fields the benchmarks record, and that they are consistent. */
class HeadBenchTest {
    @Test
    void printsEpochTimeAndTheStepSplit() {
        CliRun r = CliRun.run(new BenchCommand(), "head", "--rows", "300", "--dim", "64", "--hidden", "16",
                "--classes", "3", "--batch", "32", "--epochs", "3", "--threads", "1");
        assertEquals(0, r.code(), r.err());
        JsonObject o = JsonParser.parseString(r.out().strip()).getAsJsonObject();
        assertEquals("head", o.get("bench").getAsString());
        assertEquals(3, o.getAsJsonArray("epoch_seconds").size());
        // Printed in whole milliseconds: an epoch of 10 tiny steps on a fast CPU can round to 0.000 (seen in CI).
        assertTrue(o.get("seconds_per_epoch").getAsDouble() >= 0, o.toString());
        // Measured process CPU time; on a tiny problem and a fast CPU it rounds to 0.000, so only its range is fixed.
        double cpu = o.get("cpu_seconds_per_epoch").getAsDouble();
        assertTrue(cpu >= 0 && cpu < 60, o.toString());
        assertTrue(o.has("blas_kernels"), o.toString());
        assertEquals(1, o.get("blas_threads").getAsInt());
        assertFalse(o.get("halves_at_once").getAsBoolean(), "a 64→16 layer is too small to split: " + o);
        assertTrue(o.has("cpu_flags"), o.toString());
        assertEquals(10, o.get("steps_per_epoch").getAsInt()); // ceil(300 / 32)
        double fb = o.get("forward_backward_ms_per_step").getAsDouble();
        double up = o.get("update_ms_per_step").getAsDouble();
        assertTrue(fb > 0 && up > 0, o.toString());
        // CPU time of the same halves: positive, and (one thread) not more than the wall time plus timer granularity.
        double fbCpu = o.get("forward_backward_cpu_ms_per_step").getAsDouble();
        double upCpu = o.get("update_cpu_ms_per_step").getAsDouble();
        assertTrue(fbCpu > 0 && fbCpu <= fb + 0.05 && upCpu >= 0 && upCpu <= up + 0.05, o.toString());
        assertEquals(up * 10 / 1000, o.get("update_seconds_per_epoch").getAsDouble(), 0.002, o.toString());
        // The rest of a step in an epoch (batch assembly): the epoch's time per step less the two measured halves
        // (up to 0.05 ms apart here, because the epoch time is printed rounded to the millisecond).
        double epochMsPerStep = o.get("seconds_per_epoch").getAsDouble() * 1000 / 10;
        assertEquals(epochMsPerStep - fb - up, o.get("other_ms_per_step").getAsDouble(), 0.06, o.toString());
        // FLOPs per epoch: rows * (4*D*H + 6*H*K).
        assertEquals(300 * (4.0 * 64 * 16 + 6.0 * 16 * 3) / 1e9, o.get("gflop_per_epoch").getAsDouble(), 0.001);
    }
}
