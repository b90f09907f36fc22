package org.transfer4j.head.train;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * ND4J's Adam ({@code org.nd4j.linalg.learning.AdamUpdater}, the {@code adam_updater} op) followed by decoupled
 * (AdamW) weight decay, as one pass over plain Java arrays.
 *
 * <p>Why not ND4J's op: in nd4j-native 1.0.0-M2.1 it is scalar code (a {@code sqrtss} and a {@code divss} per
 * element, ~7 ns per parameter), 7 ms of a 2048→512→10 head's step, more than the matrix products. The same loop over
 * {@code float[]} is vectorised by HotSpot's C2 (sqrt and division included, ~0.3 ns per parameter); copying the
 * gradient out of ND4J's buffer and the parameters back costs about as much again. Array-op chains in ND4J were no
 * option: eight passes over 4 MB each.
 *
 * <p>The arithmetic is the op's, in the network's precision: {@code m ← β1·m + g·(1−β1)},
 * {@code v ← β2·v + g·g·(1−β2)}, {@code update = m·α_t / (√v + ε)} with
 * {@code α_t = lr·√(1−β2^(t+1)) / (1−β1^(t+1))} (ε outside the square root and not bias-corrected, as ND4J does),
 * then {@code p ← p·(1 − lr·wd) − update} on the weight matrices and {@code p ← p − update} on the biases, which is
 * what {@code w.muli(keep); params.subi(update)} computed before. β1, β2 and ε are ND4J's {@link Adam} defaults.
 *
 * <p>The moments live here, {@code m} then {@code v} ({@link #state()}), the layout of ND4J's Adam state view, so
 * checkpoints keep their format. The parameters are mirrored in a Java array between steps; whoever writes the
 * native parameters outside {@link #step} calls {@link #parametersChanged()} so the next step reloads them.
 *
 * <p>Not thread-safe; one per network (the head's {@link HeadNetwork}, the fine-tuned stage's
 * {@code org.transfer4j.head.finetune.StageNetwork}). Public for the fine-tuning package only; not API.
 */
public final class FusedAdamW {
    static final double BETA1 = Adam.DEFAULT_ADAM_BETA1_MEAN_DECAY;
    static final double BETA2 = Adam.DEFAULT_ADAM_BETA2_VAR_DECAY;
    static final double EPSILON = Adam.DEFAULT_ADAM_EPSILON;

    /** Below this many parameters per share a step is not worth splitting (fork and join cost ~10 µs). */
    private static final int MIN_SHARE = 1 << 18;

    private final int n;
    /** Shares of each step run at once ({@link #inParts}). */
    private final int parts;
    private final boolean single;
    private final ISchedule schedule;
    /** [from, to) index ranges of the weight matrices (decayed); everything else is a bias. */
    private final long[][] decayed;
    private float[] pF;
    private float[] gF;
    private float[] mF;
    private float[] vF;
    private double[] pD;
    private double[] gD;
    private double[] mD;
    private double[] vD;
    private boolean mirrored;

    /**
     * @param parameters how many parameters (one flat vector)
     * @param dtype      FLOAT or DOUBLE, the network's precision
     * @param decayed    [from, to) ranges that get weight decay, ascending and disjoint
     */
    public FusedAdamW(long parameters, DataType dtype, ISchedule schedule, long[][] decayed) {
        this(parameters, dtype, schedule, decayed, defaultParts(parameters));
    }

    /** As above, split into {@code parts} shares per step (tests pin it; the result does not depend on it). */
    FusedAdamW(long parameters, DataType dtype, ISchedule schedule, long[][] decayed, int parts) {
        if (parts < 1) {
            throw new IllegalArgumentException("parts " + parts + " invalid; allowed: >= 1");
        }
        this.parts = parts;
        if (parameters > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("parameters " + parameters + " too many; allowed: < 2^31 - 8");
        }
        if (dtype != DataType.FLOAT && dtype != DataType.DOUBLE) {
            throw new IllegalArgumentException("data type " + dtype + " unsupported; allowed: FLOAT, DOUBLE");
        }
        this.n = (int) parameters;
        this.single = dtype == DataType.FLOAT;
        this.schedule = schedule;
        this.decayed = decayed.clone();
        if (single) {
            pF = new float[n];
            gF = new float[n];
            mF = new float[n];
            vF = new float[n];
        } else {
            pD = new double[n];
            gD = new double[n];
            mD = new double[n];
            vD = new double[n];
        }
    }

    /** One share per processor the common pool can use (and the caller), none smaller than {@link #MIN_SHARE}. */
    private static int defaultParts(long parameters) {
        int cores = ForkJoinPool.getCommonPoolParallelism() + 1;
        return (int) Math.max(1, Math.min(cores, parameters / MIN_SHARE));
    }

    /** The learning rate at this step, as Adam reads it. */
    public double learningRate(int iteration, int epoch) {
        return schedule.valueAt(iteration, epoch);
    }

    /** The native parameters were written by someone else: reload them before the next step. */
    public void parametersChanged() {
        mirrored = false;
    }

    /**
     * One step: reads the gradient from {@code grads}, updates the moments, writes the new parameters to
     * {@code params} (both flat, contiguous, of the network's type).
     *
     * @param iteration 0-based global step (bias correction, iteration schedules)
     * @param epoch     0-based epoch (epoch schedules)
     */
    public void step(DataBuffer params, DataBuffer grads, int iteration, int epoch, double weightDecay) {
        Part part = single ? floatPart(params, grads, iteration, epoch, weightDecay)
                : doublePart(params, grads, iteration, epoch, weightDecay);
        inParts(0, n, part);
        mirrored = true;
    }

    /** Updates float parameters in [lo, hi): the gradient comes in, and the parameters go out, a share at a time. */
    private Part floatPart(DataBuffer params, DataBuffer grads, int iteration, int epoch, double weightDecay) {
        double lr = learningRate(iteration, epoch);
        float keep = (float) (weightDecay > 0 ? 1.0 - lr * weightDecay : 1.0);
        boolean reload = !mirrored;
        FloatBuffer pb = params.asNioFloat();
        FloatBuffer gb = grads.asNioFloat();
        float b1 = (float) BETA1;
        float b2 = (float) BETA2;
        // α_t as the op computes it for float: float powers of the float betas, a float square root, a float
        // product and a double quotient rounded to float.
        float t = iteration + 1;
        float beta1T = (float) Math.pow(b1, t);
        float beta2T = (float) Math.pow(b2, t);
        float root = (float) Math.sqrt((float) (1.0 - beta2T));
        float a = (float) ((float) lr * root / (1.0 - beta1T));
        float alpha = !Float.isFinite(a) || a == 0 ? (float) EPSILON : a; // the op's fallback
        return (lo, hi) -> {
            if (reload) {
                pb.get(lo, pF, lo, hi - lo);
            }
            gb.get(lo, gF, lo, hi - lo);
            forEachSegment(lo, hi, (from, to, decay) -> stepF(from, to, alpha, decay ? keep : 1f));
            pb.put(lo, pF, lo, hi - lo);
        };
    }

    private Part doublePart(DataBuffer params, DataBuffer grads, int iteration, int epoch, double weightDecay) {
        double lr = learningRate(iteration, epoch);
        double keep = weightDecay > 0 ? 1.0 - lr * weightDecay : 1.0;
        boolean reload = !mirrored;
        DoubleBuffer pb = params.asNioDouble();
        DoubleBuffer gb = grads.asNioDouble();
        double t = iteration + 1;
        double a = lr * Math.sqrt(1.0 - Math.pow(BETA2, t)) / (1.0 - Math.pow(BETA1, t));
        double alpha = !Double.isFinite(a) || a == 0 ? EPSILON : a;
        return (lo, hi) -> {
            if (reload) {
                pb.get(lo, pD, lo, hi - lo);
            }
            gb.get(lo, gD, lo, hi - lo);
            forEachSegment(lo, hi, (from, to, decay) -> stepD(from, to, alpha, decay ? keep : 1.0));
            pb.put(lo, pD, lo, hi - lo);
        };
    }

    /**
     * Runs {@code part} on {@link #parts} contiguous, equal shares of [lo, hi): the caller takes the first, the common
     * fork-join pool the others. The update is elementwise, so the shares give the same bits as one pass; on a
     * 2048→512 head it is bound by memory traffic (p, g, m, v: 28 MB a step), which a second core nearly halves.
     */
    private void inParts(int lo, int hi, Part part) {
        int shares = Math.max(1, Math.min(parts, (hi - lo) / 16));
        if (shares == 1) {
            if (lo < hi) {
                part.run(lo, hi);
            }
            return;
        }
        ForkJoinTask<?>[] others = new ForkJoinTask<?>[shares - 1];
        for (int i = 1; i < shares; i++) {
            int from = bound(lo, hi, i, shares);
            int to = bound(lo, hi, i + 1, shares);
            others[i - 1] = ForkJoinPool.commonPool().submit(() -> part.run(from, to));
        }
        part.run(lo, bound(lo, hi, 1, shares));
        for (ForkJoinTask<?> other : others) {
            other.join();
        }
    }

    /** Where share {@code i} of {@code shares} of [lo, hi) starts, on a 16-element boundary (whole cache lines). */
    private static int bound(int lo, int hi, int i, int shares) {
        return i == shares ? hi : lo + ((int) ((long) (hi - lo) * i / shares) & ~15);
    }

    /** Calls {@code segment} for each piece of [lo, hi) with or without weight decay, in order. */
    private void forEachSegment(int lo, int hi, Segment segment) {
        int from = 0;
        for (long[] range : decayed) {
            clip(lo, hi, from, (int) range[0], false, segment);
            clip(lo, hi, (int) range[0], (int) range[1], true, segment);
            from = (int) range[1];
        }
        clip(lo, hi, from, n, false, segment);
    }

    private static void clip(int lo, int hi, int from, int to, boolean decay, Segment segment) {
        int a = Math.max(lo, from);
        int b = Math.min(hi, to);
        if (a < b) {
            segment.run(a, b, decay);
        }
    }

    @FunctionalInterface
    private interface Part {
        void run(int lo, int hi);
    }

    @FunctionalInterface
    private interface Segment {
        void run(int from, int to, boolean decay);
    }

    /** The fused loop; one index for every array so that C2 vectorises it. */
    private void stepF(int from, int to, float alpha, float keep) {
        float[] p = pF;
        float[] g = gF;
        float[] m = mF;
        float[] v = vF;
        float b1 = (float) BETA1;
        float b2 = (float) BETA2;
        float mb1 = 1f - b1;
        float mb2 = 1f - b2;
        float eps = (float) EPSILON;
        for (int i = from; i < to; i++) {
            float gi = g[i];
            float mi = b1 * m[i] + gi * mb1;
            float vi = b2 * v[i] + gi * gi * mb2;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * keep - (mi * alpha) / ((float) Math.sqrt(vi) + eps);
        }
    }

    private void stepD(int from, int to, double alpha, double keep) {
        double[] p = pD;
        double[] g = gD;
        double[] m = mD;
        double[] v = vD;
        double mb1 = 1 - BETA1;
        double mb2 = 1 - BETA2;
        for (int i = from; i < to; i++) {
            double gi = g[i];
            double mi = BETA1 * m[i] + gi * mb1;
            double vi = BETA2 * v[i] + gi * gi * mb2;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * keep - (mi * alpha) / (Math.sqrt(vi) + EPSILON);
        }
    }

    /** m then v, as float32 (the checkpoint's layout). */
    public float[] state() {
        float[] s = new float[2 * n];
        if (single) {
            System.arraycopy(mF, 0, s, 0, n);
            System.arraycopy(vF, 0, s, n, n);
        } else {
            for (int i = 0; i < n; i++) {
                s[i] = (float) mD[i];
                s[n + i] = (float) vD[i];
            }
        }
        return s;
    }

    public void setState(float[] s) {
        if (s.length != 2L * n) {
            throw new IllegalArgumentException("expected " + 2L * n + " updater values, got " + s.length);
        }
        if (single) {
            System.arraycopy(s, 0, mF, 0, n);
            System.arraycopy(s, n, vF, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                mD[i] = s[i];
                vD[i] = s[n + i];
            }
        }
    }
}
