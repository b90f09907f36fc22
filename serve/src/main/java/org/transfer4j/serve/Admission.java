package org.transfer4j.serve;

import java.util.concurrent.Semaphore;

/**
 * The bounded queue, as slots: a request takes one before its body is read and gives it back when its image enters a
 * batch, or when it fails earlier. So at most {@code capacity} requests are being read, decoded or waiting for a batch
 * at any moment (bounding memory as well as latency), and one more is refused with 503 before it costs anything.
 */
final class Admission {
    private final int capacity;
    private final Semaphore slots;
    private volatile boolean closed;

    Admission(int capacity) {
        this.capacity = capacity;
        this.slots = new Semaphore(capacity);
    }

    /** Takes a slot, or returns false when all are taken or the server is shutting down. */
    boolean tryAdmit() {
        return !closed && slots.tryAcquire();
    }

    void release(int n) {
        slots.release(n);
    }

    /** Admitted requests not yet in a running batch. */
    int depth() {
        return capacity - slots.availablePermits();
    }

    int capacity() {
        return capacity;
    }

    /** Refuses every later request (shutdown); those already admitted go on. */
    void close() {
        closed = true;
    }

    boolean isClosed() {
        return closed;
    }
}
