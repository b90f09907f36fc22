package org.transfer4j.head.finetune;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.linalg.schedule.ISchedule;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.head.train.FusedAdamW;
import org.transfer4j.head.train.Nd4jBinaries;

/**
 * The part of an ONNX backbone after a split tensor, up to its global average pool, as a trainable network with a
 * hand-written forward and backward pass: what fine-tuning the last stage of a ResNet trains. Only the ops a ResNet
 * stage with folded BatchNorm is made of are translated (Conv, Relu, Add, GlobalAveragePool); anything else is refused
 * with its name.
 *
 * <p>Why not SameDiff: on the Keras ResNet50 last stage (batch 16, one thread) SameDiff's forward + backward took
 * 2.2 s, its backward about 4× its forward, and on tiny test models every call costs 0.3–0.8 s of overhead
 * (BENCHMARKS.md). Here every convolution is one BLAS product in NHWC layout: a tensor is a matrix
 * {@code [N·H·W, C]}, a 1×1 convolution multiplies it by the weight {@code [Cin, Cout]}, a k×k or strided one first
 * gathers its patches (im2col, {@code [N·Ho·Wo, k·k·Cin]}); backward is {@code dW = colᵀ·dY},
 * {@code dX = col2im(dY·Wᵀ)}, and no gradient is computed for the stage input (the cached maps are not trained).
 *
 * <p>Parameters live in one flat array (ONNX initializer order of first use), each weight as
 * {@code [kH·kW·Cin, Cout]} (ONNX's {@code [Cout, Cin, kH, kW]} permuted), so Adam ({@link FusedAdamW}) runs over
 * one buffer and checkpoints save it as it is. Every step's temporaries live in an ND4J workspace reused across
 * steps. Not thread-safe.
 */
public final class StageNetwork {
    static {
        Nd4jBinaries.select();
    }

    private static final String WORKSPACE_ID = "transfer4j-stage-step";
    private static final WorkspaceConfiguration WORKSPACE = WorkspaceConfiguration.builder()
            .initialSize(0).policyAllocation(AllocationPolicy.OVERALLOCATE).overallocationLimit(0.2)
            .policyLearning(LearningPolicy.FIRST_LOOP).policyReset(ResetPolicy.BLOCK_LEFT)
            .policySpill(SpillPolicy.REALLOCATE).build();

    private final String input;
    private final List<Op> ops;
    private final DataType dtype;
    private final int featureDim;
    private final INDArray params;
    private final INDArray grads;
    /** ONNX initializer name → [offset, length, isConvWeight (1/0), Cout, Cin, kH, kW] in {@link #params}. */
    private final Map<String, long[]> layout;
    private FusedAdamW adam;
    /** Tensor values of the last forward pass (NHWC), kept for backward. */
    private Map<String, INDArray> values = Map.of();

    /** One translated ONNX node. */
    private sealed interface Op permits Conv, Relu, Add, Pool {
        String output();
    }

    /**
     * A convolution: weight [k·k·Cin, Cout] and bias [Cout] (or null) are views of the flat parameters and
     * gradients; pads are top, left, bottom, right.
     */
    private record Conv(String in, String output, int k, int stride, int[] pads, int cin, int cout, INDArray w,
                        INDArray b, INDArray gw, INDArray gb) implements Op {
        boolean isPlainProduct() {
            return k == 1 && stride == 1 && pads[0] == 0 && pads[1] == 0 && pads[2] == 0 && pads[3] == 0;
        }
    }

    private record Relu(String in, String output) implements Op {
    }

    private record Add(String a, String b, String output) implements Op {
    }

    private record Pool(String in, String output) implements Op {
    }

    private StageNetwork(String input, List<Op> ops, DataType dtype, int featureDim, INDArray params,
                         INDArray grads, Map<String, long[]> layout) {
        this.input = input;
        this.ops = ops;
        this.dtype = dtype;
        this.featureDim = featureDim;
        this.params = params;
        this.grads = grads;
        this.layout = layout;
    }

    /**
     * Translates the nodes that consume {@code splitTensor} (directly or through each other) up to the first
     * GlobalAveragePool, with the backbone's weights as the initial parameters.
     *
     * @param dtype FLOAT for training, DOUBLE for gradient checks
     * @throws ModelException INCOMPATIBLE when the stage has an op, attribute or input this cannot translate, or no
     *                        GlobalAveragePool
     */
    public static StageNetwork fromOnnx(ModelProto model, String splitTensor, DataType dtype) throws ModelException {
        if (dtype != DataType.FLOAT && dtype != DataType.DOUBLE) {
            throw new IllegalArgumentException("data type " + dtype + " unsupported; allowed: FLOAT, DOUBLE");
        }
        GraphProto g = model.getGraph();
        Map<String, TensorProto> inits = new HashMap<>();
        for (TensorProto t : g.getInitializerList()) {
            inits.put(t.getName(), t);
        }
        Map<String, Integer> channels = new HashMap<>(); // -1: the input's, known at run time
        channels.put(splitTensor, -1);
        List<NodeProto> nodes = new ArrayList<>();
        String pooled = null;
        for (NodeProto n : g.getNodeList()) {
            if (n.getInputList().stream().noneMatch(channels::containsKey)) {
                continue;
            }
            for (String in : n.getInputList()) {
                if (!in.isEmpty() && !channels.containsKey(in) && !inits.containsKey(in)) {
                    throw new ModelException(ModelException.Reason.INCOMPATIBLE, "node " + n.getName() + " reads "
                            + in + ", which is neither made after the split tensor " + splitTensor + " nor a weight; "
                            + "split at the tensor entering the last stage");
                }
            }
            int c = switch (n.getOpType()) {
                case "Conv" -> (int) convWeight(n, inits).getDims(0);
                case "Relu", "GlobalAveragePool" -> channels.get(n.getInput(0));
                case "Add" -> Math.max(channels.get(n.getInput(0)), channels.getOrDefault(n.getInput(1), -1));
                default -> throw new ModelException(ModelException.Reason.INCOMPATIBLE, "the stage after "
                        + splitTensor + " has a " + n.getOpType() + " node (" + n.getName() + "); fine-tuning "
                        + "translates only Conv, Relu, Add and GlobalAveragePool (a ResNet stage with BatchNorm "
                        + "folded into the convolutions)");
            };
            channels.put(n.getOutput(0), c);
            nodes.add(n);
            if (n.getOpType().equals("GlobalAveragePool")) {
                pooled = n.getOutput(0);
                break;
            }
        }
        if (pooled == null) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "no GlobalAveragePool after " + splitTensor
                    + "; pass the tensor entering the last stage of a ResNet-style backbone");
        }
        // Parameter layout: conv weight then its bias, in node order.
        Map<String, long[]> layout = new LinkedHashMap<>();
        long total = 0;
        for (NodeProto n : nodes) {
            if (n.getOpType().equals("Conv")) {
                TensorProto w = convWeight(n, inits);
                layout.put(w.getName(), new long[] {total, product(w), 1, w.getDims(0), w.getDims(1), w.getDims(2),
                        w.getDims(3)});
                total += product(w);
                if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
                    TensorProto b = inits.get(n.getInput(2));
                    layout.put(b.getName(), new long[] {total, product(b), 0, product(b), 0, 0, 0});
                    total += product(b);
                }
            }
        }
        INDArray params;
        INDArray grads;
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            params = Nd4j.zeros(dtype, 1, total);
            grads = Nd4j.zeros(dtype, 1, total);
        }
        List<Op> ops = new ArrayList<>();
        for (NodeProto n : nodes) {
            String out = n.getOutput(0);
            ops.add(switch (n.getOpType()) {
                case "Conv" -> conv(n, inits, layout, params, grads, channels);
                case "Relu" -> new Relu(n.getInput(0), out);
                case "Add" -> new Add(n.getInput(0), n.getInput(1), out);
                default -> new Pool(n.getInput(0), out);
            });
        }
        StageNetwork net = new StageNetwork(splitTensor, List.copyOf(ops), dtype, channels.get(pooled), params,
                grads, layout);
        Map<String, float[]> initial = new HashMap<>();
        for (String name : layout.keySet()) {
            initial.put(name, OnnxModels.floats(inits.get(name)));
        }
        net.setOnnxInitializers(initial);
        return net;
    }

    private static TensorProto convWeight(NodeProto n, Map<String, TensorProto> inits) throws ModelException {
        TensorProto w = n.getInputCount() > 1 ? inits.get(n.getInput(1)) : null;
        if (w == null || w.getDimsCount() != 4) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "Conv " + n.getName() + " needs the stage "
                    + "tensor and a 4-D weight initializer as its inputs");
        }
        return w;
    }

    private static long product(TensorProto t) {
        long p = 1;
        for (long d : t.getDimsList()) {
            p *= d;
        }
        return p;
    }

    private static Conv conv(NodeProto n, Map<String, TensorProto> inits, Map<String, long[]> layout,
                             INDArray params, INDArray grads, Map<String, Integer> channels) throws ModelException {
        TensorProto w = convWeight(n, inits);
        int cout = (int) w.getDims(0);
        int cin = (int) w.getDims(1);
        long[] kernel = ints(n, "kernel_shape", new long[] {w.getDims(2), w.getDims(3)});
        long[] strides = ints(n, "strides", new long[] {1, 1});
        long[] pads = ints(n, "pads", new long[] {0, 0, 0, 0});
        long[] dilations = ints(n, "dilations", new long[] {1, 1});
        long group = ints(n, "group", new long[] {1})[0];
        String autoPad = string(n, "auto_pad", "NOTSET");
        int k = (int) kernel[0];
        int stride = (int) strides[0];
        if (kernel[0] != kernel[1] || strides[0] != strides[1] || group != 1 || dilations[0] != 1
                || dilations[1] != 1 || !(autoPad.equals("NOTSET") || autoPad.equals("VALID")
                || (autoPad.startsWith("SAME") && stride == 1 && k % 2 == 1))) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "Conv " + n.getName() + " has kernel "
                    + Arrays.toString(kernel) + ", strides " + Arrays.toString(strides) + ", group " + group
                    + ", dilations " + Arrays.toString(dilations) + ", auto_pad " + autoPad + "; fine-tuning "
                    + "translates square kernels and strides, group 1, dilation 1, explicit pads (or SAME with "
                    + "stride 1)");
        }
        int[] p = autoPad.startsWith("SAME") ? new int[] {k / 2, k / 2, k / 2, k / 2}
                : autoPad.equals("VALID") ? new int[4]
                : new int[] {(int) pads[0], (int) pads[1], (int) pads[2], (int) pads[3]};
        Integer inChannels = channels.get(n.getInput(0));
        if (inChannels != null && inChannels >= 0 && inChannels != cin) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "Conv " + n.getName() + " takes " + cin
                    + " channels but its input " + n.getInput(0) + " has " + inChannels);
        }
        long[] wl = layout.get(w.getName());
        INDArray wv = view(params, wl[0], (long) k * k * cin, cout);
        INDArray gwv = view(grads, wl[0], (long) k * k * cin, cout);
        INDArray bv = null;
        INDArray gbv = null;
        if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
            long[] bl = layout.get(n.getInput(2));
            bv = view(params, bl[0], 1, cout);
            gbv = view(grads, bl[0], 1, cout);
        }
        return new Conv(n.getInput(0), n.getOutput(0), k, stride, p, cin, cout, wv, bv, gwv, gbv);
    }

    private static INDArray view(INDArray flat, long offset, long rows, long cols) {
        INDArray slice = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(offset, offset + rows * cols));
        INDArray v = Shape.newShapeNoCopy(slice, new long[] {rows, cols}, false);
        if (v == null) {
            throw new IllegalStateException("cannot view parameters as [" + rows + "," + cols + "] without a copy");
        }
        return v;
    }

    private static long[] ints(NodeProto n, String name, long[] otherwise) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getIntsCount() > 0 ? a.getIntsList().stream().mapToLong(Long::longValue).toArray()
                        : new long[] {a.getI()};
            }
        }
        return otherwise;
    }

    private static String string(NodeProto n, String name, String otherwise) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getS().toStringUtf8();
            }
        }
        return otherwise;
    }

    /** Channels of the pooled output (the head's input dimension). */
    public int featureDim() {
        return featureDim;
    }

    public long parameterCount() {
        return params.length();
    }

    public DataType dataType() {
        return dtype;
    }

    /**
     * Floating-point operations per image for an {@code h × w} stage input, counting the convolutions' products:
     * {forward, forward + backward} where backward is the weight gradients plus the input gradients of every
     * convolution that does not read the stage input.
     */
    public double[] gflopPerImage(int h, int w) {
        Map<String, long[]> size = new HashMap<>();
        size.put(input, new long[] {h, w});
        double forward = 0;
        double backward = 0;
        for (Op op : ops) {
            long[] in = size.get(op instanceof Conv c ? c.in() : op instanceof Relu r ? r.in()
                    : op instanceof Add a ? a.a() : ((Pool) op).in());
            long[] outSize = in;
            if (op instanceof Conv c) {
                long ho = (in[0] + c.pads()[0] + c.pads()[2] - c.k()) / c.stride() + 1;
                long wo = (in[1] + c.pads()[1] + c.pads()[3] - c.k()) / c.stride() + 1;
                double flops = 2.0 * ho * wo * c.k() * c.k() * c.cin() * c.cout();
                forward += flops;
                backward += c.in().equals(input) ? flops : 2 * flops;
                outSize = new long[] {ho, wo};
            }
            size.put(op.output(), outSize);
        }
        return new double[] {forward / 1e9, (forward + backward) / 1e9};
    }

    /** The ONNX initializer names this network trains, in parameter order. */
    public List<String> parameterNames() {
        return List.copyOf(layout.keySet());
    }

    /**
     * Forward pass on stage inputs {@code [N, C, H, W]} (NCHW, as cached); returns the pooled output {@code [N, D]}.
     * With {@code keep} the intermediate values stay for {@link #backward}. Temporaries are allocated in the
     * current workspace, if any.
     */
    public INDArray forward(INDArray nchw, boolean keep) {
        Map<String, INDArray> v = new HashMap<>();
        v.put(input, nchw.castTo(dtype).permute(0, 2, 3, 1).dup('c'));
        INDArray out = null;
        for (Op op : ops) {
            if (op instanceof Conv c) {
                out = convForward(c, v.get(c.in()), keep ? v : null);
            } else if (op instanceof Relu r) {
                out = v.get(r.in()).dup('c');
                Transforms.relu(out, false);
            } else if (op instanceof Add a) {
                out = v.get(a.a()).add(v.get(a.b()));
            } else {
                INDArray x = v.get(((Pool) op).in());
                long[] s = x.shape();
                out = x.reshape('c', s[0], s[1] * s[2], s[3]).mean(1);
            }
            v.put(op.output(), out);
        }
        values = keep ? v : Map.of();
        return out;
    }

    private static final String COLUMNS = "#columns:";

    private INDArray convForward(Conv c, INDArray x, Map<String, INDArray> keep) {
        long n = x.size(0);
        long h = x.size(1);
        long w = x.size(2);
        long ho = (h + c.pads()[0] + c.pads()[2] - c.k()) / c.stride() + 1;
        long wo = (w + c.pads()[1] + c.pads()[3] - c.k()) / c.stride() + 1;
        INDArray cols = c.isPlainProduct() ? x.reshape('c', n * h * w, c.cin()) : im2col(c, x, ho, wo);
        INDArray y = Nd4j.createUninitialized(dtype, n * ho * wo, c.cout());
        Nd4j.gemm(cols, c.w(), y, false, false, 1.0, 0.0);
        if (c.b() != null) {
            y.addiRowVector(c.b());
        }
        if (keep != null) {
            keep.put(COLUMNS + c.output(), cols);
        }
        return y.reshape('c', n, ho, wo, c.cout());
    }

    /** [N, H, W, C] → [N·Ho·Wo, k·k·C], column block (ky·k + kx) holding the input at each kernel offset. */
    private INDArray im2col(Conv c, INDArray x, long ho, long wo) {
        long n = x.size(0);
        INDArray padded = pad(c, x);
        INDArray cols = Nd4j.createUninitialized(dtype, n, ho, wo, (long) c.k() * c.k() * c.cin());
        for (int ky = 0; ky < c.k(); ky++) {
            for (int kx = 0; kx < c.k(); kx++) {
                long off = (long) (ky * c.k() + kx) * c.cin();
                cols.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(),
                        NDArrayIndex.interval(off, off + c.cin())).assign(padded.get(window(c, ky, kx, ho, wo)));
            }
        }
        return cols.reshape('c', n * ho * wo, (long) c.k() * c.k() * c.cin());
    }

    private INDArray pad(Conv c, INDArray x) {
        int[] p = c.pads();
        if (p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0) {
            return x;
        }
        INDArray padded = Nd4j.zeros(dtype, x.size(0), x.size(1) + p[0] + p[2], x.size(2) + p[1] + p[3], x.size(3));
        padded.get(NDArrayIndex.all(), NDArrayIndex.interval(p[0], p[0] + x.size(1)),
                NDArrayIndex.interval(p[1], p[1] + x.size(2)), NDArrayIndex.all()).assign(x);
        return padded;
    }

    /** The strided window of the padded input that kernel offset (ky, kx) sees: [N, Ho, Wo, C]. */
    private static INDArrayIndex[] window(Conv c, int ky, int kx, long ho, long wo) {
        int s = c.stride();
        return new INDArrayIndex[] {NDArrayIndex.all(), NDArrayIndex.interval(ky, s, ky + s * (ho - 1) + 1),
            NDArrayIndex.interval(kx, s, kx + s * (wo - 1) + 1), NDArrayIndex.all()};
    }

    /**
     * Backward pass from the gradient of the loss with respect to the pooled output {@code [N, D]}, after
     * {@link #forward} with {@code keep}; writes every parameter's gradient (replacing the previous ones).
     */
    public void backward(INDArray dPooled) {
        if (values.isEmpty()) {
            throw new IllegalStateException("backward needs a forward pass with keep=true first");
        }
        Map<String, INDArray> g = new HashMap<>();
        g.put(ops.get(ops.size() - 1).output(), dPooled.castTo(dtype));
        for (int i = ops.size() - 1; i >= 0; i--) {
            Op op = ops.get(i);
            INDArray dy = g.remove(op.output());
            if (dy == null) {
                continue; // does not reach the loss
            }
            if (op instanceof Conv c) {
                INDArray dx = convBackward(c, dy, !c.in().equals(input));
                if (dx != null) {
                    accumulate(g, c.in(), dx);
                }
            } else if (op instanceof Relu r) {
                INDArray y = values.get(r.output());
                accumulate(g, r.in(), dy.mul(y.gt(0).castTo(dtype)));
            } else if (op instanceof Add a) {
                accumulate(g, a.a(), dy);
                accumulate(g, a.b(), dy);
            } else {
                String in = ((Pool) op).in();
                long[] s = values.get(in).shape();
                INDArray dx = Nd4j.createUninitialized(dtype, s[0], s[1] * s[2], s[3]);
                dx.assign(dy.div(s[1] * s[2]).reshape(s[0], 1, s[3]).broadcast(s[0], s[1] * s[2], s[3]));
                accumulate(g, in, dx.reshape('c', s));
            }
        }
        values = Map.of();
    }

    private static void accumulate(Map<String, INDArray> g, String name, INDArray d) {
        INDArray prev = g.get(name);
        g.put(name, prev == null ? d : prev.add(d));
    }

    private INDArray convBackward(Conv c, INDArray dy, boolean needDx) {
        long n = dy.size(0);
        long ho = dy.size(1);
        long wo = dy.size(2);
        INDArray dy2 = dy.dup('c').reshape('c', n * ho * wo, c.cout());
        INDArray cols = values.get(COLUMNS + c.output());
        Nd4j.gemm(cols, dy2, c.gw(), true, false, 1.0, 0.0);
        if (c.gb() != null) {
            c.gb().assign(dy2.sum(0).reshape(1, c.cout()));
        }
        if (!needDx) {
            return null;
        }
        INDArray x = values.get(c.in());
        INDArray dcols = Nd4j.createUninitialized(dtype, n * ho * wo, (long) c.k() * c.k() * c.cin());
        Nd4j.gemm(dy2, c.w(), dcols, false, true, 1.0, 0.0);
        if (c.isPlainProduct()) {
            return dcols.reshape('c', x.shape());
        }
        // col2im: every kernel offset adds its column block back where it was gathered from.
        int[] p = c.pads();
        INDArray dxp = Nd4j.zeros(dtype, n, x.size(1) + p[0] + p[2], x.size(2) + p[1] + p[3], c.cin());
        INDArray d4 = dcols.reshape('c', n, ho, wo, (long) c.k() * c.k() * c.cin());
        for (int ky = 0; ky < c.k(); ky++) {
            for (int kx = 0; kx < c.k(); kx++) {
                long off = (long) (ky * c.k() + kx) * c.cin();
                dxp.get(window(c, ky, kx, ho, wo)).addi(d4.get(NDArrayIndex.all(), NDArrayIndex.all(),
                        NDArrayIndex.all(), NDArrayIndex.interval(off, off + c.cin())));
            }
        }
        if (p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0) {
            return dxp;
        }
        return dxp.get(NDArrayIndex.all(), NDArrayIndex.interval(p[0], p[0] + x.size(1)),
                NDArrayIndex.interval(p[1], p[1] + x.size(2)), NDArrayIndex.all()).dup('c');
    }

    /**
     * One training step inside this network's workspace: forward on {@code maps} ({@code n} rows of C·H·W values,
     * NCHW per row, as cached), {@code head} turns the pooled features ({@code n × D}, row-major) into their
     * gradient (same layout; it runs the head's forward, loss and backward), then backward. Call {@link #update}
     * afterwards to apply the gradients.
     */
    public void trainStep(float[] maps, int n, int[] chw, HeadStep head) {
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(WORKSPACE, WORKSPACE_ID)) {
            INDArray x = Nd4j.create(maps, new long[] {n, chw[0], chw[1], chw[2]}, 'c');
            INDArray pooled = forward(x, true);
            float[] dPooled = head.gradient(pooled.castTo(DataType.FLOAT).dup('c').data().asFloat());
            backward(Nd4j.create(dPooled, new long[] {n, featureDim}, 'c'));
        }
    }

    /** The head's part of a training step: pooled features in, their gradient out (both n × D, row-major). */
    @FunctionalInterface
    public interface HeadStep {
        float[] gradient(float[] pooled);
    }

    /** The pooled features of {@code n} cached rows ({@code n × D} floats, row-major), without keeping anything. */
    public float[] pooled(float[] maps, int n, int[] chw) {
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(WORKSPACE, WORKSPACE_ID)) {
            INDArray x = Nd4j.create(maps, new long[] {n, chw[0], chw[1], chw[2]}, 'c');
            return forward(x, false).castTo(DataType.FLOAT).dup('c').data().asFloat();
        }
    }

    /** Uses Adam (ND4J's arithmetic, {@link FusedAdamW}) with this schedule and decoupled weight decay on weights. */
    public void useAdam(ISchedule schedule) {
        List<long[]> decayed = new ArrayList<>();
        for (long[] l : layout.values()) {
            if (l[2] == 1) {
                decayed.add(new long[] {l[0], l[0] + l[1]});
            }
        }
        adam = new FusedAdamW(params.length(), dtype, schedule, decayed.toArray(long[][]::new));
    }

    /** One Adam step with the gradients of the last {@link #backward}. */
    public void update(int iteration, int epoch, double weightDecay) {
        if (adam == null) {
            throw new IllegalStateException("call useAdam first");
        }
        adam.step(params.data(), grads.data(), iteration, epoch, weightDecay);
    }

    /** Adam's moments (m then v, float32), for checkpoints. */
    public float[] updaterState() {
        return adam.state();
    }

    public void setUpdaterState(float[] s) {
        adam.setState(s);
    }

    /** All parameters, flat, as float32 (checkpoint layout). */
    public float[] parameters() {
        return params.castTo(DataType.FLOAT).dup().data().asFloat();
    }

    public void setParameters(float[] p) {
        if (p.length != params.length()) {
            throw new IllegalArgumentException("expected " + params.length() + " stage parameters, got " + p.length);
        }
        params.assign(Nd4j.createFromArray(p).castTo(dtype));
        if (adam != null) {
            adam.parametersChanged();
        }
    }

    /** The gradient of the last backward pass, flat, in the parameter layout (for tests). */
    public INDArray gradients() {
        return grads;
    }

    /** The parameters, flat (a live view: writing it changes the network; for tests). */
    public INDArray parameterArray() {
        return params;
    }

    /** The current parameter values in ONNX layout, keyed by initializer name (to write the tuned stage back). */
    public Map<String, float[]> onnxInitializers() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (var e : layout.entrySet()) {
            long[] l = e.getValue();
            INDArray v = params.get(NDArrayIndex.point(0), NDArrayIndex.interval(l[0], l[0] + l[1]));
            if (l[2] == 1) {
                // [kH, kW, Cin, Cout] → [Cout, Cin, kH, kW]
                v = v.reshape('c', l[5], l[6], l[4], l[3]).permute(3, 2, 0, 1);
            }
            out.put(e.getKey(), v.castTo(DataType.FLOAT).dup('c').data().asFloat());
        }
        return out;
    }

    private void setOnnxInitializers(Map<String, float[]> values) {
        for (var e : layout.entrySet()) {
            long[] l = e.getValue();
            INDArray v = Nd4j.createFromArray(values.get(e.getKey())).castTo(dtype);
            if (l[2] == 1) {
                v = v.reshape('c', l[3], l[4], l[5], l[6]).permute(2, 3, 1, 0).dup('c');
            }
            params.get(NDArrayIndex.point(0), NDArrayIndex.interval(l[0], l[0] + l[1])).assign(v.reshape(l[1]));
        }
    }

    /**
     * The backbone with this stage's current weights in place of its initializers: same graph, same names, so the
     * existing Composer can put the head on top and predict.jar / serve.jar run it unchanged.
     */
    public ModelProto tunedBackbone(ModelProto backbone) throws ModelException {
        Map<String, float[]> tuned = onnxInitializers();
        GraphProto.Builder g = backbone.getGraph().toBuilder();
        int replaced = 0;
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            float[] v = tuned.get(t.getName());
            if (v != null) {
                ByteBuffer raw = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                raw.asFloatBuffer().put(v);
                g.setInitializer(i, TensorProto.newBuilder().setName(t.getName())
                        .setDataType(TensorProto.DataType.FLOAT.getNumber()).addAllDims(t.getDimsList())
                        .setRawData(ByteString.copyFrom(raw.array())).build());
                replaced++;
            }
        }
        if (replaced != tuned.size()) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "the backbone has " + replaced + " of the "
                    + tuned.size() + " stage weights this network was made from; tune and compose with the same "
                    + "model");
        }
        return backbone.toBuilder().setGraph(g).build();
    }
}
