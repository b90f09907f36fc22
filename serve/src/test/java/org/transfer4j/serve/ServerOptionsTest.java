package org.transfer4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Options are validated once, with messages naming the option, its flag, the value and the allowed range. */
class ServerOptionsTest {
    @Test
    void defaultsAreLoopbackAndBounded() {
        ServerOptions o = ServerOptions.defaults();
        assertEquals("127.0.0.1", o.host());
        assertEquals(8080, o.port());
        assertEquals(8, o.maxBatch());
        assertEquals(5, o.maxWait().toMillis());
        assertEquals(64, o.queue());
        assertEquals(20L * 1024 * 1024, o.maxBodyBytes());
        assertEquals(null, o.token());
        assertEquals(1, o.workers());
    }

    @Test
    void badValuesNameOptionFlagValueAndRange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ServerOptions.builder().optMaxBatch(0).build());
        assertEquals("server option 'maxBatch' (--max-batch) is 0; allowed: 1..4096", e.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ServerOptions.builder().optPort(70000)
                .build()).getMessage().contains("(--port) is 70000"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ServerOptions.builder().optQueue(0)
                .build()).getMessage().contains("(--queue) is 0; allowed: 1..100000"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ServerOptions.builder().optMaxWaitMs(-1)
                .build()).getMessage().contains("(--max-wait-ms) is -1"));
        assertEquals("server option 'workers' (--threads) is 0; allowed: 1..256", assertThrows(
                IllegalArgumentException.class, () -> ServerOptions.builder().optWorkers(0).build()).getMessage());
    }

    @Test
    void theTokenNeverShows() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ServerOptions.builder().optToken("has space").build());
        assertFalse(e.getMessage().contains("has space"), e.getMessage());
        String shown = ServerOptions.builder().optToken("s3cret").build().toString();
        assertFalse(shown.contains("s3cret"), shown);
        assertTrue(shown.contains("token=set"), shown);
    }
}
