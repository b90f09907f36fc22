package org.transfer4j.head.train;

import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * ND4J's native thread counts in one place. libnd4j (OpenMP) and OpenBLAS each read {@code OMP_NUM_THREADS} when
 * they load; this sets both at run time. A head's matrices are small (a 64×2048 by 2048×512 product per step), so
 * one or two threads are often as fast as many, and on a busy machine spinning OpenMP threads make small ops
 * hundreds of times slower. The thread count also decides how sums are split, so bit-identical weights need the
 * same count.
 */
public final class NativeThreads {
    static {
        Nd4jBinaries.select(); // before this class's first ND4J call loads the native library
    }

    private NativeThreads() {
    }

    /** Uses {@code n} threads for ND4J's own ops and for BLAS. */
    public static void set(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("threads " + n + " invalid; allowed: >= 1");
        }
        Nd4j.getEnvironment().setMaxThreads(n);
        Nd4j.getEnvironment().setMaxMasterThreads(n);
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(n);
        Nd4j.factory().blas().setMaxThreads(n);
    }

    /**
     * The trainer's default: {@code OMP_NUM_THREADS} when set (both libraries read it as they load), else one thread:
     * the same sums on every machine, since OpenBLAS cuts a product by its thread count and some of its kernels then
     * give other bits. The head step uses further cores itself, in cuts that do not depend on their number
     * ({@link HeadNetwork}). What train-head.jar and bench.jar head use unless told otherwise. Returns the BLAS thread
     * count now in effect.
     */
    public static int useTrainingDefault() {
        if (System.getenv("OMP_NUM_THREADS") == null) {
            set(1);
        }
        return blasThreads();
    }

    /** {@link #set} {@code n} threads when {@code n > 0}, else {@link #useTrainingDefault()} (a "0 = default" flag). */
    public static void setOrTrainingDefault(int n) {
        if (n > 0) {
            set(n);
        } else {
            useTrainingDefault();
        }
    }

    /** The BLAS thread count now in effect. */
    public static int blasThreads() {
        return Nd4j.factory().blas().getMaxThreads();
    }
}
