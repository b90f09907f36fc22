package org.transfer4j.head.train;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.random.RandomGenerator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * The head as ND4J arrays: Dense(D→H) + ReLU (+ dropout) + Dense(H→K) + softmax, or Dense(D→K) + softmax when
 * H = 0, with its forward and backward passes and Adam with decoupled weight decay ({@link FusedAdamW}: ND4J's Adam
 * arithmetic in one vectorised Java pass).
 *
 * <p>All parameters live in one flat row vector laid out exactly like {@code HeadWeights} and {@code head.bin}
 * (w1, b1, w2, b2, row-major), with row-major matrices pointing into it for the layers; gradients share the same
 * layout, so Adam runs as one pass over one vector per step and exporting weights is a single copy. OpenBLAS runs the
 * matrix products, called directly on these buffers ({@link NativeMatrix}); the small elementwise work between them
 * runs in Java (see {@link #forwardBackward}). Every per-step array is preallocated per batch size (at most two sizes
 * occur: full and last batch), and no ND4J op runs inside a step, so a step allocates no native memory and needs no
 * workspace.
 *
 * <p>Cores: with OpenBLAS on one thread (train-head's default, {@link NativeThreads}), the two large products of a
 * step are each cut into two fixed halves that run at once on a second core when there is one (with more OpenBLAS
 * threads, OpenBLAS splits each half itself): the first layer's output as two partial sums over halves of the inputs
 * (added in double), w1's gradient by halves of its rows. Each core takes the half of w1 whose update it runs, since
 * Adam's update runs in shares too ({@link FusedAdamW}, whose first share stays on the caller). The cuts never depend
 * on the core count, so a head trained on one core is bit-identical to one trained on two (a thread count handed to
 * OpenBLAS would cut the products where it likes, and its Haswell kernels then give other bits).
 *
 * <p>Not thread-safe; one network per training run.
 */
public final class HeadNetwork implements AutoCloseable {
    static {
        Nd4jBinaries.select(); // before this class's first ND4J call loads the native library
    }

    /** Below this many w1 weights, forking a half to another core costs more than it saves. */
    private static final long PAIR_MIN_WEIGHTS = 1 << 16;

    private final int d;
    private final int h;
    private final int k;
    private final DataType dtype;
    /** Flat, contiguous; the matrices below point into them, so they are never reallocated. */
    private final INDArray params;
    private final INDArray grads;
    private final NativeMatrix w1;
    private final NativeMatrix w2;
    private final NativeMatrix gw1;
    private final NativeMatrix gw2;
    private final FusedAdamW adam;
    /** Whether {@link #inPair} runs its halves at once. */
    private final boolean paired;
    private final long b1Offset;
    private final long b2Offset;
    private final Map<Integer, Scratch> scratch = new HashMap<>();
    private Scratch last;

    /**
     * @param schedule learning rate per (iteration, epoch); Adam reads it, and decoupled weight decay uses the same rate
     */
    public HeadNetwork(int featureDim, int hidden, int classes, DataType dtype, ISchedule schedule) {
        this(featureDim, hidden, classes, dtype, schedule, halvesAtOnce(featureDim, hidden));
    }

    /**
     * Whether a network of these sizes runs its large products' halves at once here: a second core, OpenBLAS on one
     * thread, and a first layer large enough to be worth it.
     */
    public static boolean halvesAtOnce(int featureDim, int hidden) {
        return Runtime.getRuntime().availableProcessors() > 1 && (long) featureDim * hidden >= PAIR_MIN_WEIGHTS
                && NativeThreads.blasThreads() == 1;
    }

    /** As above; {@code paired} says whether the halves of the large products run at once (same result either way). */
    HeadNetwork(int featureDim, int hidden, int classes, DataType dtype, ISchedule schedule, boolean paired) {
        this.paired = paired;
        this.d = featureDim;
        this.h = hidden;
        this.k = classes;
        this.dtype = dtype;
        long n = parameterCount(featureDim, hidden, classes);
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            params = Nd4j.zeros(dtype, 1, n);
            grads = Nd4j.zeros(dtype, 1, n);
        }
        int in2 = hidden == 0 ? featureDim : hidden;
        b1Offset = (long) featureDim * hidden;
        w1 = hidden == 0 ? null : NativeMatrix.in(params, 0, featureDim, hidden);
        gw1 = hidden == 0 ? null : NativeMatrix.in(grads, 0, featureDim, hidden);
        w2 = NativeMatrix.in(params, b1Offset + hidden, in2, classes);
        gw2 = NativeMatrix.in(grads, b1Offset + hidden, in2, classes);
        b2Offset = b1Offset + hidden + (long) in2 * classes;
        long[][] weights = hidden == 0 ? new long[][] {{0, b2Offset}}
                : new long[][] {{0, b1Offset}, {b1Offset + hidden, b2Offset}};
        adam = new FusedAdamW(n, dtype, schedule, weights);
    }

    /**
     * Fills the first {@code n} entries of a dropout mask for {@link #forwardBackward}: each unit is dropped (0) with
     * probability {@code p}, else kept and scaled by 1/(1-p) (inverted dropout), one draw of {@code random} per unit.
     */
    public static void fillDropoutMask(float[] mask, int n, double p, RandomGenerator random) {
        float keep = (float) (1.0 / (1.0 - p));
        for (int i = 0; i < n; i++) {
            // Without a branch: "draw < p" is the sign of draw − p (a rounded difference keeps the exact one's sign,
            // and is +0 only when they are equal). As a branch, mispredicted on half the units at p = 0.5, it took
            // 0.28 ms of each 64×512 step; this takes 0.06 ms and gives the same bits.
            long dropped = Double.doubleToRawLongBits(random.nextDouble() - p) >>> 63;
            mask[i] = (1 - dropped) * keep;
        }
    }

    /** D*H + H + (H or D)*K + K. */
    public static long parameterCount(int d, int h, int k) {
        return (long) d * h + h + (long) (h == 0 ? d : h) * k + k;
    }

    /** He-normal for the ReLU layer, Glorot-uniform for the softmax layer, zero biases; from {@code seed} only. */
    public void initialize(long seed) {
        Random r = new Random(seed);
        float[] p = new float[(int) params.length()];
        int o = 0;
        double he = Math.sqrt(2.0 / d);
        for (int i = 0; i < d * h; i++) {
            p[o++] = (float) (r.nextGaussian() * he);
        }
        o += h;
        int in2 = h == 0 ? d : h;
        double limit = Math.sqrt(6.0 / (in2 + k));
        for (int i = 0; i < in2 * k; i++) {
            p[o++] = (float) ((r.nextDouble() * 2 - 1) * limit);
        }
        setParameters(p);
    }

    public int featureDim() {
        return d;
    }

    public int hidden() {
        return h;
    }

    public int classes() {
        return k;
    }

    /** The flat parameter vector (w1, b1, w2, b2), a copy. */
    public float[] parameters() {
        return params.data().asFloat();
    }

    public void setParameters(float[] p) {
        if (p.length != params.length()) {
            throw new IllegalArgumentException("expected " + params.length() + " parameters, got " + p.length);
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            params.assign(Nd4j.createFromArray(p).reshape(1, p.length).castTo(dtype));
        }
        adam.parametersChanged();
    }

    /** The flat gradient vector of the last {@link #forwardBackward}, a copy (for tests). */
    public double[] gradients() {
        return grads.data().asDouble();
    }

    /** Adam's moment estimates (m then v), a copy, for checkpoints. */
    public float[] updaterState() {
        return adam.state();
    }

    public void setUpdaterState(float[] s) {
        adam.setState(s);
    }

    /** Direct access for tests: parameter i as a double. */
    double parameter(long i) {
        return params.getDouble(0, i);
    }

    void setParameter(long i, double v) {
        params.putScalar(0, i, v);
        adam.parametersChanged();
    }

    /**
     * One minibatch's loss, and (when {@code backward}) its gradient into the gradient vector.
     *
     * @param x          b rows of D features, row-major
     * @param targets    b rows of K target probabilities (one-hot, or smoothed)
     * @param rowWeights b per-row loss weights; the loss is sum(w_i * ce_i) / sum(w_i)
     * @param dropMask   b rows of H dropout multipliers (0 or 1/(1-p)), or null for no dropout
     * @param b          rows in this batch
     * @param probsOut   receives b rows of K softmax probabilities, or null
     * @param ceOut      receives b per-row cross-entropies (unweighted), or null
     * @return the weighted mean cross-entropy
     */
    public double forwardBackward(float[] x, float[] targets, float[] rowWeights, float[] dropMask, int b,
                                  float[] probsOut, double[] ceOut, boolean backward) {
        Scratch s = scratch(b);
        load(s.x, x, b * d);
        return pass(s, b, targets, rowWeights, dropMask, probsOut, ceOut, backward);
    }

    /**
     * Runs two halves of a product, the first on the common fork-join pool and the second on this thread when the
     * machine has a second core (and the product is large), else one after the other. The halves are fixed, so the
     * result does not depend on the core count: OpenBLAS's Haswell kernels give other bits when a product is cut
     * elsewhere (measured), while each half is the same call either way.
     */
    private void inPair(Runnable first, Runnable second) {
        if (!paired) {
            first.run();
            second.run();
            return;
        }
        ForkJoinTask<?> other = ForkJoinPool.commonPool().submit(first);
        second.run();
        other.join();
    }

    /** The first layer's output from inputs [from, to) only: those columns of the batch times those rows of w1. */
    private void firstLayerPart(Scratch s, int from, int to, INDArray out, NativeMatrix outM) {
        if (from == to) {
            out.assign(0); // a one-input layer's empty half
        } else {
            NativeMatrix.multiply(s.xM.columns(from, to), false, w1.rows(from, to), false, outM);
        }
    }

    /** Rows [from, to) of w1's gradient: columns [from, to) of the batch, transposed, times the hidden gradient. */
    private void w1Gradient(Scratch s, int from, int to) {
        if (from < to) {
            NativeMatrix.multiply(s.xM.columns(from, to), true, s.dhM, false, gw1.rows(from, to));
        }
    }

    /**
     * The matrix products run in OpenBLAS; everything between them runs here in Java on the batch's small arrays
     * (bias, ReLU, dropout, softmax, cross-entropy, bias gradients): ND4J's elementwise and reduction ops on a 64×512
     * array cost 30–500 µs each (dispatch, scalar loops), 1.5–2.5 ms of a step, where these loops and the copies
     * in and out take tens of µs. Arithmetic here is in double, stored in the network's type.
     */
    private double pass(Scratch s, int b, float[] targets, float[] rowWeights, float[] dropMask, float[] probsOut,
                        double[] ceOut, boolean backward) {
        NativeMatrix hidden = s.xM;
        if (h > 0) {
            // Two fixed halves of the inputs, at once where there is a second core (see inPair): each core multiplies
            // the half of w1 whose update it runs (FusedAdamW's first share runs on the caller), and the two partial
            // sums are added here in double.
            int half = d / 2;
            inPair(() -> firstLayerPart(s, half, d, s.a2, s.a2M), () -> firstLayerPart(s, 0, half, s.a, s.aM));
            read(s.a, 0, s.act, b * h, s);
            read(s.a2, 0, s.work, b * h, s);
            read(params, b1Offset, s.bias, h, s);
            double[] act = s.act;
            double[] out = s.work;
            double[] bias = s.bias;
            for (int i = 0; i < b; i++) {
                int row = i * h;
                for (int j = 0; j < h; j++) {
                    // out holds the second partial sum until this element is written.
                    double v = Math.max(0.0, act[row + j] + out[row + j] + bias[j]); // NaN propagates
                    act[row + j] = v;
                    out[row + j] = dropMask == null ? v : v * dropMask[row + j];
                }
            }
            write(out, s.a, 0, b * h, s);
            hidden = s.aM;
        }
        NativeMatrix.multiply(hidden, false, w2, false, s.zM);
        read(s.z, 0, s.logits, b * k, s);
        read(params, b2Offset, s.bias, k, s);
        double weightSum = 0;
        for (int i = 0; i < b; i++) {
            weightSum += rowWeights[i];
        }
        double[] z = s.logits;
        double loss = 0;
        for (int i = 0; i < b; i++) {
            int row = i * k;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                z[row + c] += s.bias[c];
                max = Math.max(max, z[row + c]);
            }
            // Stable softmax and cross-entropy from logits: shift each row by its max, so exp never overflows and
            // ce_i = log(sum_c exp(z_ic - m_i)) - sum_c t_ic (z_ic - m_i) (targets sum to 1).
            double sum = 0;
            double dot = 0;
            for (int c = 0; c < k; c++) {
                double shifted = z[row + c] - max;
                dot += targets[row + c] * shifted;
                double e = Math.exp(shifted);
                z[row + c] = e;
                sum += e;
            }
            double ce = Math.log(sum) - dot;
            // dL/dlogits = w_i / sum(w) * (p - t): the weights enter the gradient pre-normalised.
            double scale = rowWeights[i] / weightSum;
            for (int c = 0; c < k; c++) {
                double p = z[row + c] / sum;
                if (probsOut != null) {
                    probsOut[row + c] = (float) p;
                }
                z[row + c] = scale * (p - targets[row + c]);
            }
            loss += rowWeights[i] * ce;
            if (ceOut != null) {
                ceOut[i] = ce;
            }
        }
        loss /= weightSum;
        if (!backward) {
            return loss;
        }
        write(z, s.dz, 0, b * k, s);
        NativeMatrix.multiply(hidden, true, s.dzM, false, gw2);
        columnSums(z, b, k, s.bias);
        write(s.bias, grads, b2Offset, k, s);
        if (h > 0) {
            NativeMatrix.multiply(s.dzM, false, w2, true, s.dhM);
            read(s.dh, 0, s.work, b * h, s);
            double[] dh = s.work;
            double[] act = s.act;
            // ReLU passes gradient where its output was positive; dropout scales by the same mask as forward.
            for (int i = 0; i < b * h; i++) {
                double pass = act[i] > 0 ? (dropMask == null ? 1.0 : dropMask[i]) : 0.0;
                dh[i] *= pass;
            }
            write(dh, s.dh, 0, b * h, s);
            columnSums(dh, b, h, s.bias);
            write(s.bias, grads, b1Offset, h, s);
            int half = d / 2;
            inPair(() -> w1Gradient(s, half, d), () -> w1Gradient(s, 0, half)); // each core its own rows
        }
        return loss;
    }

    /**
     * After {@link #forwardBackward} with {@code backward}: the gradient of that batch's loss with respect to its
     * input rows ({@code b × D}, row-major, into {@code out}), which fine-tuning passes on to the layers below the
     * head.
     */
    public void inputGradient(float[] out) {
        Scratch s = last;
        if (s == null) {
            throw new IllegalStateException("inputGradient needs a forwardBackward pass first");
        }
        if (s.dx == null) {
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                s.dx = Nd4j.create(dtype, s.b, d);
            }
        }
        NativeMatrix.multiply(h > 0 ? s.dhM : s.dzM, false, h > 0 ? w1 : w2, true, NativeMatrix.of(s.dx));
        if (dtype == DataType.FLOAT) {
            s.dx.data().asNioFloat().get(0, out, 0, s.b * d);
        } else {
            DoubleBuffer db = s.dx.data().asNioDouble();
            for (int i = 0; i < s.b * d; i++) {
                out[i] = (float) db.get(i);
            }
        }
    }

    private static void columnSums(double[] m, int rows, int cols, double[] out) {
        java.util.Arrays.fill(out, 0, cols, 0.0);
        for (int i = 0; i < rows; i++) {
            int row = i * cols;
            for (int j = 0; j < cols; j++) {
                out[j] += m[row + j];
            }
        }
    }

    /** n values of a contiguous array (from its buffer's {@code offset}) into {@code dst}. */
    private void read(INDArray src, long offset, double[] dst, int n, Scratch s) {
        long at = src.offset() + offset;
        if (dtype == DataType.FLOAT) {
            src.data().asNioFloat().get((int) at, s.staging, 0, n);
            float[] f = s.staging;
            for (int i = 0; i < n; i++) {
                dst[i] = f[i];
            }
        } else {
            src.data().asNioDouble().get((int) at, dst, 0, n);
        }
    }

    private void write(double[] src, INDArray dst, long offset, int n, Scratch s) {
        long at = dst.offset() + offset;
        if (dtype == DataType.FLOAT) {
            float[] f = s.staging;
            for (int i = 0; i < n; i++) {
                f[i] = (float) src[i];
            }
            dst.data().asNioFloat().put((int) at, f, 0, n);
        } else {
            dst.data().asNioDouble().put((int) at, src, 0, n);
        }
    }

    /**
     * Applies Adam to the current gradient, with decoupled weight decay on the weight matrices (not the biases):
     * {@code w ← w·(1 − lr·wd) − adamUpdate}, as AdamW does.
     *
     * @param iteration 0-based global step (Adam's bias correction and iteration schedules)
     * @param epoch     0-based epoch (epoch schedules)
     */
    public void update(int iteration, int epoch, double weightDecay) {
        adam.step(params.data(), grads.data(), iteration, epoch, weightDecay);
    }

    public double learningRate(int iteration, int epoch) {
        return adam.learningRate(iteration, epoch);
    }

    private Scratch scratch(int b) {
        if (last != null && last.b == b) {
            return last;
        }
        Scratch s = scratch.get(b);
        if (s == null) {
            if (scratch.size() >= 4) {
                scratch.clear();
            }
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                s = new Scratch(b);
            }
            scratch.put(b, s);
        }
        last = s;
        return s;
    }

    private static void load(INDArray dst, float[] src, int n) {
        if (dst.dataType() == DataType.FLOAT) {
            FloatBuffer fb = dst.data().asNioFloat();
            fb.put(src, 0, n);
        } else {
            DoubleBuffer db = dst.data().asNioDouble();
            for (int i = 0; i < n; i++) {
                db.put(i, src[i]);
            }
        }
    }

    /**
     * The preallocated arrays of one batch size: native ones (ND4J's memory, as matrices for OpenBLAS) for the
     * products, Java's for everything between.
     */
    private final class Scratch {
        final int b;
        final INDArray x;
        final INDArray a;
        /** The first layer's second partial sum (inputs d/2..d). */
        final INDArray a2;
        final INDArray z;
        final INDArray dz;
        final INDArray dh;
        final NativeMatrix xM;
        final NativeMatrix aM;
        final NativeMatrix a2M;
        final NativeMatrix zM;
        final NativeMatrix dzM;
        final NativeMatrix dhM;
        /** ReLU outputs (before dropout), kept for the backward pass. */
        final double[] act;
        /** Dropped activations, then the hidden gradient. */
        final double[] work;
        /** Logits, then probabilities, then the logit gradient. */
        final double[] logits;
        /** A bias vector, or its gradient. */
        final double[] bias;
        /** float copies on their way in or out of ND4J's buffers. */
        final float[] staging;
        /** The input gradient, made on the first {@link #inputGradient} (fine-tuning only). */
        INDArray dx;

        Scratch(int b) {
            this.b = b;
            x = Nd4j.create(dtype, b, d);
            a = h > 0 ? Nd4j.create(dtype, b, h) : null;
            a2 = h > 0 ? Nd4j.create(dtype, b, h) : null;
            dh = h > 0 ? Nd4j.create(dtype, b, h) : null;
            z = Nd4j.create(dtype, b, k);
            dz = Nd4j.create(dtype, b, k);
            xM = NativeMatrix.of(x);
            aM = a == null ? null : NativeMatrix.of(a);
            a2M = a2 == null ? null : NativeMatrix.of(a2);
            zM = NativeMatrix.of(z);
            dzM = NativeMatrix.of(dz);
            dhM = dh == null ? null : NativeMatrix.of(dh);
            act = new double[b * h];
            work = new double[b * h];
            logits = new double[b * k];
            bias = new double[Math.max(h, k)];
            staging = new float[Math.max(b * Math.max(h, k), Math.max(h, k))];
        }
    }

    @Override
    public void close() {
        scratch.clear();
        last = null;
    }
}
