package org.transfer4j.head.train;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.random.RandomGenerator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * The head as ND4J arrays: Dense(D→H) + ReLU (+ dropout) + Dense(H→K) + softmax, or Dense(D→K) + softmax when
 * H = 0, with its forward and backward passes and Adam with decoupled weight decay ({@link FusedAdamW}: ND4J's Adam
 * arithmetic in one vectorised Java pass).
 *
 * <p>All parameters live in one flat row vector laid out exactly like {@code HeadWeights} and {@code head.bin}
 * (w1, b1, w2, b2, row-major), with 2-D views for the layers; gradients share the same layout, so Adam runs as one
 * pass over one vector per step and exporting weights is a single copy. Every per-step array is preallocated per batch
 * size (at most two sizes occur: full and last batch); what ND4J still allocates inside an op (reductions) goes to a
 * workspace that is reset every step, so a step allocates no fresh native memory.
 *
 * <p>Not thread-safe; one network per training run.
 */
public final class HeadNetwork implements AutoCloseable {
    static {
        Nd4jBinaries.select(); // before this class's first ND4J call loads the native library
    }

    private static final String WORKSPACE_ID = "transfer4j-head-step";
    /** Grows to the largest step on the first iterations, then reuses one block; spills go to ordinary memory. */
    private static final WorkspaceConfiguration WORKSPACE = WorkspaceConfiguration.builder()
            .initialSize(0).policyAllocation(AllocationPolicy.OVERALLOCATE).overallocationLimit(0.3)
            .policyLearning(LearningPolicy.FIRST_LOOP).policyReset(ResetPolicy.BLOCK_LEFT)
            .policySpill(SpillPolicy.REALLOCATE).build();

    private final int d;
    private final int h;
    private final int k;
    private final DataType dtype;
    private final boolean useWorkspace;
    private final INDArray params;
    private final INDArray grads;
    private final INDArray w1;
    private final INDArray b1;
    private final INDArray w2;
    private final INDArray b2;
    private final INDArray gw1;
    private final INDArray gb1;
    private final INDArray gw2;
    private final INDArray gb2;
    private final FusedAdamW adam;
    private final Map<Integer, Scratch> scratch = new HashMap<>();
    private Scratch last;

    /**
     * @param schedule learning rate per (iteration, epoch); Adam reads it, and decoupled weight decay uses the same rate
     * @param useWorkspace false only to measure what the workspace saves
     */
    public HeadNetwork(int featureDim, int hidden, int classes, DataType dtype, ISchedule schedule,
                       boolean useWorkspace) {
        this.d = featureDim;
        this.h = hidden;
        this.k = classes;
        this.dtype = dtype;
        this.useWorkspace = useWorkspace;
        long n = parameterCount(featureDim, hidden, classes);
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            params = Nd4j.zeros(dtype, 1, n);
            grads = Nd4j.zeros(dtype, 1, n);
            long in2 = hidden == 0 ? featureDim : hidden;
            long o = 0;
            w1 = view(params, o, featureDim, hidden);
            gw1 = view(grads, o, featureDim, hidden);
            o += (long) featureDim * hidden;
            b1 = view(params, o, 1, hidden);
            gb1 = view(grads, o, 1, hidden);
            o += hidden;
            w2 = view(params, o, in2, classes);
            gw2 = view(grads, o, in2, classes);
            o += in2 * classes;
            b2 = view(params, o, 1, classes);
            gb2 = view(grads, o, 1, classes);
        }
        long w1Size = (long) featureDim * hidden;
        long w2From = w1Size + hidden;
        long w2To = w2From + (hidden == 0 ? featureDim : hidden) * (long) classes;
        long[][] weights = hidden == 0 ? new long[][] {{w2From, w2To}} : new long[][] {{0, w1Size}, {w2From, w2To}};
        adam = new FusedAdamW(n, dtype, schedule, weights);
    }

    /**
     * Fills the first {@code n} entries of a dropout mask for {@link #forwardBackward}: each unit is dropped (0) with
     * probability {@code p}, else kept and scaled by 1/(1-p) (inverted dropout), one draw of {@code random} per unit.
     */
    public static void fillDropoutMask(float[] mask, int n, double p, RandomGenerator random) {
        float keep = (float) (1.0 / (1.0 - p));
        for (int i = 0; i < n; i++) {
            mask[i] = random.nextDouble() < p ? 0f : keep;
        }
    }

    /** D*H + H + (H or D)*K + K. */
    public static long parameterCount(int d, int h, int k) {
        return (long) d * h + h + (long) (h == 0 ? d : h) * k + k;
    }

    private static INDArray view(INDArray flat, long offset, long rows, long cols) {
        if (rows * cols == 0) {
            return null;
        }
        INDArray slice = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(offset, offset + rows * cols));
        INDArray v = Shape.newShapeNoCopy(slice, new long[] {rows, cols}, false);
        if (v == null) {
            throw new IllegalStateException("cannot view parameters as [" + rows + "," + cols + "] without a copy");
        }
        return v;
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
        load(s.t, targets, b * k);
        double weightSum = 0;
        for (int i = 0; i < b; i++) {
            weightSum += rowWeights[i];
        }
        // dL/dlogits = w_i / sum(w) * (p - t): the weights enter the gradient pre-normalised.
        for (int i = 0; i < b; i++) {
            s.wNormJava[i] = (float) (rowWeights[i] / weightSum);
        }
        load(s.wNorm, s.wNormJava, b);
        if (dropMask != null) {
            load(s.mask, dropMask, b * h);
        }
        double loss;
        if (useWorkspace) {
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(WORKSPACE, WORKSPACE_ID)) {
                loss = pass(s, b, rowWeights, weightSum, dropMask != null, probsOut, ceOut, backward);
            }
        } else {
            loss = pass(s, b, rowWeights, weightSum, dropMask != null, probsOut, ceOut, backward);
        }
        return loss;
    }

    private double pass(Scratch s, int b, float[] rowWeights, double weightSum, boolean dropout, float[] probsOut,
                        double[] ceOut, boolean backward) {
        INDArray hidden = s.x;
        if (h > 0) {
            Nd4j.gemm(s.x, w1, s.a, false, false, 1.0, 0.0);
            s.a.addiRowVector(b1);
            Transforms.relu(s.a, false);
            hidden = s.a;
            if (dropout) {
                s.dropped.assign(s.a).muli(s.mask);
                hidden = s.dropped;
            }
        }
        Nd4j.gemm(hidden, w2, s.z, false, false, 1.0, 0.0);
        s.z.addiRowVector(b2);
        // Stable softmax and cross-entropy from logits: shift each row by its max, so exp never overflows and
        // ce_i = log(sum_k exp(z_ik - m_i)) - sum_k t_ik (z_ik - m_i) (targets sum to 1).
        INDArray max = s.z.max(true, 1);
        s.z.subiColumnVector(max);
        s.p.assign(s.z);
        Transforms.exp(s.p, false);
        INDArray sum = s.p.sum(true, 1);
        s.p.diviColumnVector(sum);
        INDArray ce = Transforms.log(sum, true).subi(s.t.mul(s.z).sum(true, 1));
        double[] ceRows = ce.data().asDouble();
        double loss = 0;
        for (int i = 0; i < b; i++) {
            loss += rowWeights[i] * ceRows[i];
            if (ceOut != null) {
                ceOut[i] = ceRows[i];
            }
        }
        loss /= weightSum;
        if (probsOut != null) {
            store(s.p, probsOut, b * k);
        }
        if (!backward) {
            return loss;
        }
        s.dz.assign(s.p).subi(s.t).muliColumnVector(s.wNorm);
        Nd4j.gemm(hidden, s.dz, gw2, true, false, 1.0, 0.0);
        gb2.assign(s.dz.sum(true, 0));
        if (h > 0) {
            Nd4j.gemm(s.dz, w2, s.dh, false, true, 1.0, 0.0);
            // ReLU passes gradient where its output was positive; dropout scales by the same mask as forward.
            s.dh.muli(Transforms.step(s.a, true));
            if (dropout) {
                s.dh.muli(s.mask);
            }
            Nd4j.gemm(s.x, s.dh, gw1, true, false, 1.0, 0.0);
            gb1.assign(s.dh.sum(true, 0));
        }
        return loss;
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

    private static void store(INDArray src, float[] dst, int n) {
        if (src.dataType() == DataType.FLOAT) {
            src.data().asNioFloat().get(dst, 0, n);
        } else {
            DoubleBuffer db = src.data().asNioDouble();
            for (int i = 0; i < n; i++) {
                dst[i] = (float) db.get(i);
            }
        }
    }

    /** The preallocated arrays of one batch size. */
    private final class Scratch {
        final int b;
        final INDArray x;
        final INDArray a;
        final INDArray dropped;
        final INDArray mask;
        final INDArray z;
        final INDArray p;
        final INDArray t;
        final INDArray wNorm;
        final float[] wNormJava;
        final INDArray dz;
        final INDArray dh;

        Scratch(int b) {
            this.b = b;
            x = Nd4j.create(dtype, b, d);
            a = h > 0 ? Nd4j.create(dtype, b, h) : null;
            dropped = h > 0 ? Nd4j.create(dtype, b, h) : null;
            mask = h > 0 ? Nd4j.create(dtype, b, h) : null;
            dh = h > 0 ? Nd4j.create(dtype, b, h) : null;
            z = Nd4j.create(dtype, b, k);
            p = Nd4j.create(dtype, b, k);
            t = Nd4j.create(dtype, b, k);
            dz = Nd4j.create(dtype, b, k);
            wNorm = Nd4j.create(dtype, b, 1);
            wNormJava = new float[b];
        }
    }

    @Override
    public void close() {
        scratch.clear();
        last = null;
        if (useWorkspace) {
            Nd4j.getWorkspaceManager().destroyWorkspace(Nd4j.getWorkspaceManager()
                    .getWorkspaceForCurrentThread(WORKSPACE, WORKSPACE_ID));
        }
    }
}
