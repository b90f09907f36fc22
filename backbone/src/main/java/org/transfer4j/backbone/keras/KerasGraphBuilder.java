package org.transfer4j.backbone.keras;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.transfer4j.ModelException;
import org.transfer4j.ModelException.Reason;
import org.transfer4j.backbone.keras.KerasTopology.Layer;
import org.transfer4j.backbone.keras.KerasTopology.Ref;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.onnx.OnnxOps;
import org.transfer4j.backbone.spec.Layout;
import org.tribuo.util.onnx.ONNXContext;
import org.tribuo.util.onnx.ONNXOperator;
import org.tribuo.util.onnx.ONNXOperators;

/**
 * Turns the Keras layers needed for some tensors into ONNX nodes. Keras computes channels-last; ONNX Runtime's
 * convolutions are channels-first, so every image tensor ([H,W,C] in Keras) is kept NCHW inside the graph: kernels
 * are transposed from HWIO to OIHW once, here, and an NHWC model input is transposed once at the top. Tensors of any
 * other rank keep Keras' order. Flatten and Reshape of an image tensor go back to H,W,C order first, so a Dense after
 * them sees exactly what Keras feeds it.
 *
 * <p>"same" padding is TF's: {@code total = max((ceil(in/s)-1)*s + (k-1)*d + 1 - in, 0)}, {@code before = total/2},
 * the odd pixel after (bottom/right), written as explicit pads from the known input size. A ZeroPadding2D read only
 * by a convolution becomes that convolution's pads; read only by a max pool of a non-negative tensor (after a ReLU),
 * the pool's pads (its -inf padding then gives the same maxima); read only by a "valid" average pool, its pads with
 * {@code count_include_pad=1}. A BatchNormalization whose input is a linear convolution read by nothing else is
 * folded into that convolution's weights and bias (computed in double).
 *
 * <p>Not thread-safe; one instance builds one graph.
 */
final class KerasGraphBuilder {
    /** Keras layers that are the identity at inference. */
    private static final Set<String> IDENTITY_LAYERS = Set.of("Dropout", "SpatialDropout2D", "GaussianNoise",
            "GaussianDropout", "AlphaDropout");
    private static final Set<String> CONVS = Set.of("Conv2D", "DepthwiseConv2D", "SeparableConv2D");
    static final Set<String> POOLINGS = Set.of("MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
            "GlobalMaxPooling2D");
    /** Every layer class this builder converts. */
    static final Set<String> SUPPORTED = Set.of("InputLayer", "ZeroPadding2D", "Conv2D", "DepthwiseConv2D",
            "SeparableConv2D", "BatchNormalization", "Activation", "ReLU", "MaxPooling2D", "AveragePooling2D",
            "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Add", "Multiply", "Concatenate", "Dense", "Flatten",
            "Reshape", "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout");

    /**
     * A converted Keras tensor.
     *
     * @param name        the ONNX tensor
     * @param shape       the Keras shape without the batch axis; a rank-3 (image) tensor is stored NCHW
     * @param nonNegative known to be &gt;= 0 everywhere (after ReLU, ReLU6, sigmoid, softmax, or max pools of them)
     * @param pads        zero padding not applied yet (top, left, bottom, right), or null: {@code name} is then the
     *                    unpadded tensor and {@code shape} the padded one; only the one consumer allowed for it reads it
     * @param softmax     the last operation was a softmax over the last Keras axis
     */
    record T(String name, int[] shape, boolean nonNegative, int[] pads, boolean softmax) {
        T(String name, int[] shape, boolean nonNegative) {
            this(name, shape, nonNegative, null, false);
        }

        boolean image() {
            return shape.length == 3;
        }

        int channels() {
            return shape[shape.length - 1];
        }
    }

    private final KerasTopology topo;
    private final TfjsWeights weights;
    private final Layout layout;
    private final int[] inputSize;
    private final String what;
    private final Set<String> targets;
    private final Map<String, List<Map.Entry<Layer, Integer>>> consumers = new HashMap<>();
    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final ONNXContext ctx = new ONNXContext();
    private final Set<String> names = new HashSet<>();
    private final Map<String, T> tensors = new HashMap<>();
    private long macs;

    /**
     * @param targets   the Keras tensors the graph must compute
     * @param inputSize height and width for an input whose spatial size the model leaves open, or null
     * @param reserved  tensor names the caller will give to outputs
     */
    KerasGraphBuilder(KerasTopology topo, TfjsWeights weights, Layout layout, int[] inputSize, List<Ref> targets,
                      Set<String> reserved, String what) throws ModelException {
        this.topo = topo;
        this.weights = weights;
        this.layout = layout;
        this.inputSize = inputSize;
        this.what = what;
        this.targets = new HashSet<>();
        targets.forEach(t -> this.targets.add(t.key()));
        names.addAll(reserved);
        // Consumers among the calls the targets need, so that a layer used only after the cut does not block a fold.
        for (Map.Entry<Layer, Integer> call : needed(topo, targets, what)) {
            for (Ref r : call.getKey().calls().get(call.getValue())) {
                consumers.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(call);
            }
        }
    }

    /** The layer calls that computing {@code targets} involves, each once. */
    static List<Map.Entry<Layer, Integer>> needed(KerasTopology topo, List<Ref> targets, String what)
            throws ModelException {
        List<Map.Entry<Layer, Integer>> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        List<Ref> stack = new ArrayList<>(targets);
        while (!stack.isEmpty()) {
            Ref r = stack.remove(stack.size() - 1);
            String callKey = r.layer() + "#" + r.node();
            if (!seen.add(callKey)) {
                continue;
            }
            Layer l = topo.producer(r);
            if (l == null) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": a layer reads '" + r.layer()
                        + "', which is not a layer of the model");
            }
            if (r.node() >= l.calls().size()) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": '" + r + "' reads call " + r.node()
                        + " of " + l.describe() + ", which has " + l.calls().size());
            }
            out.add(Map.entry(l, r.node()));
            stack.addAll(l.calls().get(r.node()));
        }
        return out;
    }

    /** Multiply-accumulates of the convolutions and Dense layers built so far, per image. */
    long macs() {
        return macs;
    }

    GraphProto.Builder graph() {
        return graph;
    }

    /** The converted tensor for {@code ref}, converting what it needs first. */
    T tensor(Ref ref) throws ModelException {
        T t = tensors.get(ref.key());
        if (t != null) {
            return t;
        }
        Layer layer = topo.producer(ref);
        if (ref.tensor() != 0) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": '" + ref + "' reads output " + ref.tensor()
                    + " of " + layer.describe() + ", which has one output");
        }
        List<T> inputs = new ArrayList<>();
        for (Ref in : layer.calls().get(ref.node())) {
            inputs.add(tensor(in));
        }
        // Converting an input may have folded this call into it (BatchNormalization into its convolution).
        t = tensors.get(ref.key());
        if (t == null) {
            t = convert(layer, ref, inputs);
            tensors.put(ref.key(), t);
        }
        return t;
    }

    // ---- layers ---------------------------------------------------------------------------------------------------

    private T convert(Layer layer, Ref ref, List<T> in) throws ModelException {
        String cls = layer.className();
        JsonObject c = layer.config();
        if (!SUPPORTED.contains(cls)) {
            throw unsupported(layer, what);
        }
        String df = KerasTopology.str(c, "data_format", "channels_last");
        if (!df.equals("channels_last")) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": " + layer.describe() + " uses data_format '"
                    + df + "'; only channels_last (Keras' default, and what TF.js runs) is supported");
        }
        String key = ref.key();
        if (!cls.equals("InputLayer") && in.isEmpty()) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": " + layer.describe() + " has no input");
        }
        boolean merge = Set.of("Add", "Multiply", "Concatenate").contains(cls);
        if (!merge && !cls.equals("InputLayer") && in.size() != 1) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": " + layer.describe() + " reads " + in.size()
                    + " tensors; it takes one");
        }
        T x = in.isEmpty() ? null : in.get(0);
        return switch (cls) {
            case "InputLayer" -> input(layer);
            case "ZeroPadding2D" -> zeroPadding(layer, ref, x);
            case "Conv2D", "DepthwiseConv2D", "SeparableConv2D" -> conv(layer, ref, x);
            case "BatchNormalization" -> batchNorm(layer, key, materialize(x));
            case "Activation" -> activation(layer, key, materialize(x), KerasTopology.str(c, "activation",
                    "linear"));
            case "ReLU" -> relu(layer, key, materialize(x));
            case "MaxPooling2D", "AveragePooling2D" -> pool(layer, key, x);
            case "GlobalAveragePooling2D", "GlobalMaxPooling2D" -> globalPool(layer, key, materialize(x));
            case "Add", "Multiply" -> elementwise(layer, key, in);
            case "Concatenate" -> concatenate(layer, key, in);
            case "Dense" -> dense(layer, key, materialize(x));
            case "Flatten" -> flatten(layer, key, materialize(x));
            case "Reshape" -> reshape(layer, key, materialize(x));
            default -> IDENTITY_LAYERS.contains(cls) ? materialize(x) : null;
        };
    }

    static ModelException unsupported(Layer layer, String what) {
        return new ModelException(Reason.INCOMPATIBLE, what + ": layer '" + layer.name() + "' is a "
                + layer.className() + ", which the importer does not support (supported: "
                + String.join(", ", SUPPORTED.stream().sorted().toList()) + "); cut before it with --cut LAYER if "
                + "it comes after the features you need");
    }

    private T input(Layer layer) throws ModelException {
        JsonObject c = layer.config();
        JsonElement s = c.has("batch_input_shape") ? c.get("batch_input_shape") : c.get("batch_shape");
        if (s == null || !s.isJsonArray() || s.getAsJsonArray().size() != 4) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": input '" + layer.name() + "' has shape " + s
                    + "; an image model takes [batch, height, width, channels]");
        }
        JsonArray a = s.getAsJsonArray();
        int[] hw = new int[2];
        for (int i = 0; i < 2; i++) {
            JsonElement d = a.get(1 + i);
            int declared = d.isJsonNull() ? -1 : d.getAsInt();
            if (inputSize != null && declared > 0 && declared != inputSize[i]) {
                throw new ModelException(Reason.INVALID_SPEC, what + ": input '" + layer.name() + "' is fixed at "
                        + a.get(1) + "x" + a.get(2) + " but an input size of " + inputSize[0] + "x" + inputSize[1]
                        + " was asked for; drop the option or use the model's size");
            }
            hw[i] = declared > 0 ? declared : inputSize != null ? inputSize[i] : -1;
        }
        if (hw[0] <= 0 || hw[1] <= 0) {
            throw new ModelException(Reason.INVALID_SPEC, what + ": input '" + layer.name() + "' leaves its size "
                    + "open (" + a + "); give the size to import it at with KerasImporter.Builder.optInputSize");
        }
        int ch = a.get(3).isJsonNull() ? -1 : a.get(3).getAsInt();
        if (ch != 3) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": input '" + layer.name() + "' has " + ch
                    + " channels; transfer4j feeds RGB images (3 channels)");
        }
        String dtype = KerasTopology.str(c, "dtype", "float32");
        if (!dtype.equals("float32")) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": input '" + layer.name() + "' is " + dtype
                    + "; image models take float32 input");
        }
        String name = layer.name();
        names.add(name);
        var n = OnnxModels.dim("N");
        var h = OnnxModels.dim(hw[0]);
        var w = OnnxModels.dim(hw[1]);
        var three = OnnxModels.dim(3);
        graph.addInput(OnnxModels.tensorInfo(name, TensorProto.DataType.FLOAT_VALUE, layout == Layout.NCHW
                ? List.of(n, three, h, w) : List.of(n, h, w, three)));
        String t = name;
        if (layout == Layout.NHWC) {
            t = node(OnnxOps.TRANSPOSE, name + "_to_nchw", List.of(name), fresh(name + "_nchw"),
                    Map.of("perm", new int[] {0, 3, 1, 2}));
        }
        return new T(t, new int[] {hw[0], hw[1], 3}, false);
    }

    private T zeroPadding(Layer layer, Ref ref, T x) throws ModelException {
        x = materialize(x);
        requireImage(layer, x);
        int[] p = padding2d(layer, layer.config().get("padding"));
        int[] shape = {x.shape[0] + p[0] + p[2], x.shape[1] + p[1] + p[3], x.shape[2]};
        List<Map.Entry<Layer, Integer>> readers = consumers.getOrDefault(ref.key(), List.of());
        if (readers.size() == 1 && !targets.contains(ref.key()) && absorbsPadding(readers.get(0).getKey(), x, p)) {
            return new T(x.name, shape, x.nonNegative, p, false);
        }
        String out = node(OnnxOps.PAD, layer.name(), List.of(x.name, longs(layer.name() + "_pads",
                new long[] {0, 0, p[0], p[1], 0, 0, p[2], p[3]})), fresh(ref.key()), Map.of());
        return new T(out, shape, x.nonNegative);
    }

    /** Whether the one layer reading a ZeroPadding2D can take the padding as its own pads (see the class comment). */
    private boolean absorbsPadding(Layer reader, T x, int[] p) {
        String cls = reader.className();
        if (CONVS.contains(cls)) {
            return true;
        }
        if (!cls.equals("MaxPooling2D") && !cls.equals("AveragePooling2D")) {
            return false;
        }
        int[] k = pair(reader.config().get("pool_size"), 2);
        // ONNX pooling needs pads smaller than the window, which also keeps a real pixel in every window.
        boolean fits = p[0] < k[0] && p[2] < k[0] && p[1] < k[1] && p[3] < k[1];
        String padding = KerasTopology.str(reader.config(), "padding", "valid");
        return fits && padding.equals("valid") && (cls.equals("AveragePooling2D") || x.nonNegative);
    }

    /** ZeroPadding2D's padding: n, [h, w] or [[top, bottom], [left, right]]; as {top, left, bottom, right}. */
    private int[] padding2d(Layer layer, JsonElement e) throws ModelException {
        try {
            if (e.isJsonPrimitive()) {
                int n = e.getAsInt();
                return new int[] {n, n, n, n};
            }
            JsonArray a = e.getAsJsonArray();
            if (a.get(0).isJsonPrimitive()) {
                int h = a.get(0).getAsInt();
                int w = a.get(1).getAsInt();
                return new int[] {h, w, h, w};
            }
            JsonArray hh = a.get(0).getAsJsonArray();
            JsonArray ww = a.get(1).getAsJsonArray();
            return new int[] {hh.get(0).getAsInt(), ww.get(0).getAsInt(), hh.get(1).getAsInt(), ww.get(1).getAsInt()};
        } catch (RuntimeException ex) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": " + layer.describe() + " has padding " + e
                    + "; expected n, [h, w] or [[top, bottom], [left, right]]", ex);
        }
    }

    /** Pads a pending ZeroPadding2D explicitly (for readers that cannot absorb it). */
    private T materialize(T x) {
        if (x.pads == null) {
            return x;
        }
        int[] p = x.pads;
        String out = node(OnnxOps.PAD, fresh(x.name + "_pad"), List.of(x.name, longs(x.name + "_pads",
                new long[] {0, 0, p[0], p[1], 0, 0, p[2], p[3]})), fresh(x.name + "_padded"), Map.of());
        return new T(out, x.shape, x.nonNegative);
    }

    private T conv(Layer layer, Ref ref, T x) throws ModelException {
        requireImage(layer, x);
        JsonObject c = layer.config();
        String cls = layer.className();
        int[] k = pair(c.get("kernel_size"), 1);
        int[] s = pair(c.get("strides"), 1);
        int[] d = pair(c.get("dilation_rate"), 1);
        Geometry geo = geometry(layer, x, k, s, d);
        int cin = x.channels();
        String act = KerasTopology.str(c, "activation", "linear");
        boolean useBias = !c.has("use_bias") || c.get("use_bias").getAsBoolean();
        Layer bn = foldableBatchNorm(ref, act);
        String key = bn != null ? bn.output(0).key() : ref.key();

        String input = x.name;
        int channels;
        float[] w;
        long[] wDims;
        int group;
        if (cls.equals("Conv2D")) {
            int filters = intOf(layer, "filters");
            group = c.has("groups") ? c.get("groups").getAsInt() : 1;
            if (group < 1 || cin % group != 0 || filters % group != 0) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": " + layer.describe() + " has groups "
                        + group + " for " + cin + " input and " + filters + " output channels");
            }
            float[] kernel = weight(layer, "kernel", k[0], k[1], cin / group, filters);
            w = hwioToOihw(kernel, k[0], k[1], cin / group, filters);
            wDims = new long[] {filters, cin / group, k[0], k[1]};
            channels = filters;
        } else {
            int mult = c.has("depth_multiplier") ? c.get("depth_multiplier").getAsInt() : 1;
            float[] kernel = weight(layer, "depthwise_kernel", k[0], k[1], cin, mult);
            // tf.nn.depthwise_conv2d: output channel i*mult + m filters input channel i with kernel[..., i, m].
            w = hwioToOihw(kernel, k[0], k[1], 1, cin * mult);
            wDims = new long[] {cin * mult, 1, k[0], k[1]};
            group = cin;
            channels = cin * mult;
        }
        float[] bias = null;
        if (cls.equals("SeparableConv2D")) {
            String dw = emitConv(layer.name() + "_depthwise", input, fresh(layer.name() + "_depthwise"), w, wDims,
                    null, geo, s, d, group);
            macs += (long) geo.outH * geo.outW * channels * k[0] * k[1];
            int filters = intOf(layer, "filters");
            float[] pk = weight(layer, "pointwise_kernel", 1, 1, channels, filters);
            w = hwioToOihw(pk, 1, 1, channels, filters);
            wDims = new long[] {filters, channels, 1, 1};
            macs += (long) geo.outH * geo.outW * filters * channels;
            input = dw;
            cin = channels;
            channels = filters;
            group = 1;
            geo = new Geometry(new int[4], geo.outH, geo.outW);
            s = new int[] {1, 1};
            d = new int[] {1, 1};
        } else {
            macs += (long) geo.outH * geo.outW * channels * (cin / group) * k[0] * k[1];
        }
        if (useBias) {
            bias = weight(layer, "bias", channels);
        }
        if (bn != null) {
            float[][] folded = fold(bn, w, bias, channels);
            w = folded[0];
            bias = folded[1];
        }
        boolean linear = act.equals("linear");
        String out = emitConv(layer.name(), input, fresh(linear ? key : key + "_conv"), w, wDims, bias, geo, s, d,
                group);
        T y = new T(out, new int[] {geo.outH, geo.outW, channels}, false);
        y = activation(layer, key, y, act);
        if (bn != null) {
            tensors.put(bn.output(0).key(), y);
        }
        return y;
    }

    /** The BatchNormalization to fold into a linear convolution: its only reader, on the channel axis. */
    private Layer foldableBatchNorm(Ref conv, String activation) {
        List<Map.Entry<Layer, Integer>> readers = consumers.getOrDefault(conv.key(), List.of());
        if (!activation.equals("linear") || readers.size() != 1 || targets.contains(conv.key())) {
            return null;
        }
        Layer r = readers.get(0).getKey();
        if (!r.className().equals("BatchNormalization") || r.calls().size() != 1 || readers.get(0).getValue() != 0) {
            return null;
        }
        int axis = bnAxis(r);
        return axis == -1 || axis == 3 ? r : null;
    }

    private int bnAxis(Layer bn) {
        JsonElement a = bn.config().get("axis");
        if (a == null) {
            return -1;
        }
        if (a.isJsonArray()) {
            return a.getAsJsonArray().size() == 1 ? a.getAsJsonArray().get(0).getAsInt() : Integer.MIN_VALUE;
        }
        return a.getAsInt();
    }

    /** Scale and shift of a BatchNormalization per channel: y = x * s + t. */
    private double[][] bnAffine(Layer bn, int channels) throws ModelException {
        JsonObject c = bn.config();
        double eps = c.has("epsilon") ? c.get("epsilon").getAsDouble() : 1e-3;
        boolean scale = !c.has("scale") || c.get("scale").getAsBoolean();
        boolean center = !c.has("center") || c.get("center").getAsBoolean();
        float[] gamma = scale ? weight(bn, "gamma", channels) : null;
        float[] beta = center ? weight(bn, "beta", channels) : null;
        float[] mean = weight(bn, "moving_mean", channels);
        float[] var = weight(bn, "moving_variance", channels);
        double[] s = new double[channels];
        double[] t = new double[channels];
        for (int i = 0; i < channels; i++) {
            s[i] = (gamma == null ? 1.0 : gamma[i]) / Math.sqrt((double) var[i] + eps);
            t[i] = (beta == null ? 0.0 : beta[i]) - mean[i] * s[i];
        }
        return new double[][] {s, t};
    }

    /** Folds a BatchNormalization into OIHW weights and a bias (which it creates when the conv has none). */
    private float[][] fold(Layer bn, float[] w, float[] bias, int channels) throws ModelException {
        double[][] st = bnAffine(bn, channels);
        int per = w.length / channels;
        float[] w2 = new float[w.length];
        float[] b2 = new float[channels];
        for (int o = 0; o < channels; o++) {
            double s = st[0][o];
            for (int i = 0; i < per; i++) {
                w2[o * per + i] = (float) (w[o * per + i] * s);
            }
            b2[o] = (float) ((bias == null ? 0.0 : bias[o]) * s + st[1][o]);
        }
        return new float[][] {w2, b2};
    }

    private T batchNorm(Layer layer, String key, T x) throws ModelException {
        int axis = bnAxis(layer);
        int rank = x.shape.length + 1;
        if (axis != -1 && axis != rank - 1) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": " + layer.describe() + " normalises axis "
                    + layer.config().get("axis") + " of a rank-" + rank + " tensor; only the last (channel) axis is "
                    + "supported");
        }
        int ch = x.channels();
        double[][] st = bnAffine(layer, ch);
        long[] dims = x.image() ? new long[] {ch, 1, 1} : new long[] {ch};
        String mul = node(ONNXOperators.MUL, layer.name() + "_scale", List.of(x.name,
                floats(layer.name() + "_scale", dims, toFloats(st[0]))), fresh(key + "_scaled"), Map.of());
        String out = node(OnnxOps.ADD, layer.name(), List.of(mul, floats(layer.name() + "_shift", dims,
                toFloats(st[1]))), fresh(key), Map.of());
        return new T(out, x.shape, false);
    }

    private T relu(Layer layer, String key, T x) throws ModelException {
        JsonObject c = layer.config();
        double slope = c.has("negative_slope") && !c.get("negative_slope").isJsonNull()
                ? c.get("negative_slope").getAsDouble() : 0;
        double threshold = c.has("threshold") && !c.get("threshold").isJsonNull()
                ? c.get("threshold").getAsDouble() : 0;
        if (slope != 0 || threshold != 0) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": " + layer.describe() + " has negative_slope "
                    + slope + " and threshold " + threshold + "; only the plain ReLU (both 0, optional max_value) "
                    + "is supported");
        }
        JsonElement max = c.get("max_value");
        if (max == null || max.isJsonNull()) {
            return activation(layer, key, x, "relu");
        }
        return clip(layer.name(), key, x, 0f, max.getAsFloat());
    }

    /** Applies a Keras activation by name; "linear" adds nothing. */
    private T activation(Layer layer, String key, T x, String act) throws ModelException {
        String n = layer.name() + (layer.className().equals("Activation") || layer.className().equals("ReLU")
                ? "" : "_" + act);
        return switch (act) {
            case "linear" -> x;
            case "relu" -> new T(node(OnnxOps.RELU, n, List.of(x.name), fresh(key), Map.of()), x.shape, true);
            case "relu6" -> clip(n, key, x, 0f, 6f);
            case "sigmoid" -> new T(node(ONNXOperators.SIGMOID, n, List.of(x.name), fresh(key), Map.of()), x.shape,
                    true);
            case "tanh" -> new T(node(OnnxOps.TANH, n, List.of(x.name), fresh(key), Map.of()), x.shape, false);
            case "softmax" -> new T(node(ONNXOperators.SOFTMAX, n, List.of(x.name), fresh(key),
                    Map.of("axis", x.image() ? 1 : -1)), x.shape, true, null, true);
            case "swish", "silu" -> {
                String sig = node(ONNXOperators.SIGMOID, n + "_sigmoid", List.of(x.name), fresh(key + "_sigmoid"),
                        Map.of());
                yield new T(node(ONNXOperators.MUL, n, List.of(x.name, sig), fresh(key), Map.of()), x.shape, false);
            }
            default -> throw new ModelException(Reason.INCOMPATIBLE, what + ": " + layer.describe()
                    + " uses activation '" + act + "'; supported: linear, relu, relu6, sigmoid, softmax, swish "
                    + "(silu), tanh");
        };
    }

    private T clip(String nodeName, String key, T x, float min, float max) {
        String lo = floats(nodeName + "_min", new long[0], new float[] {min});
        String hi = floats(nodeName + "_max", new long[0], new float[] {max});
        return new T(node(OnnxOps.CLIP, nodeName, List.of(x.name, lo, hi), fresh(key), Map.of()), x.shape,
                min >= 0);
    }

    private T pool(Layer layer, String key, T x) throws ModelException {
        requireImage(layer, x);
        JsonObject c = layer.config();
        int[] k = pair(c.get("pool_size"), 2);
        JsonElement st = c.get("strides");
        int[] s = st == null || st.isJsonNull() ? k : pair(st, 1);
        boolean max = layer.className().equals("MaxPooling2D");
        String padding = KerasTopology.str(c, "padding", "valid");
        Geometry geo = geometry(layer, x, k, s, new int[] {1, 1});
        Map<String, Object> attrs = new HashMap<>(Map.of("kernel_shape", k, "strides", s, "pads", geo.pads));
        if (!max) {
            // Keras' "same" average leaves the padding out of each mean; a ZeroPadding2D taken in counts it.
            attrs.put("count_include_pad", padding.equals("same") ? 0 : 1);
        }
        String out = node(max ? OnnxOps.MAX_POOL : OnnxOps.AVERAGE_POOL, layer.name(), List.of(x.name), fresh(key),
                attrs);
        return new T(out, new int[] {geo.outH, geo.outW, x.channels()}, x.nonNegative);
    }

    private T globalPool(Layer layer, String key, T x) throws ModelException {
        requireImage(layer, x);
        boolean keep = layer.config().has("keepdims") && layer.config().get("keepdims").getAsBoolean();
        boolean avg = layer.className().equals("GlobalAveragePooling2D");
        String pooled = node(avg ? OnnxOps.GLOBAL_AVERAGE_POOL : OnnxOps.GLOBAL_MAX_POOL, layer.name(),
                List.of(x.name), fresh(keep ? key : key + "_4d"), Map.of());
        if (keep) {
            return new T(pooled, new int[] {1, 1, x.channels()}, x.nonNegative);
        }
        String out = node(OnnxOps.FLATTEN, layer.name() + "_flatten", List.of(pooled), fresh(key),
                Map.of("axis", 1));
        return new T(out, new int[] {x.channels()}, x.nonNegative);
    }

    private T elementwise(Layer layer, String key, List<T> in) throws ModelException {
        boolean add = layer.className().equals("Add");
        int[] shape = in.get(0).shape;
        boolean nonNeg = true;
        for (T t : in) {
            if (t.shape.length != shape.length) {
                throw new ModelException(Reason.INCOMPATIBLE, what + ": " + layer.describe() + " combines shapes "
                        + shapes(in) + " of different ranks; only same-rank inputs are supported");
            }
            shape = broadcast(layer, shape, t.shape, in);
            nonNeg &= t.nonNegative;
        }
        String acc = materialize(in.get(0)).name;
        for (int i = 1; i < in.size(); i++) {
            boolean last = i == in.size() - 1;
            acc = node(add ? OnnxOps.ADD : ONNXOperators.MUL, last ? layer.name() : fresh(layer.name() + "_" + i),
                    List.of(acc, materialize(in.get(i)).name), fresh(last ? key : key + "_" + i), Map.of());
        }
        return new T(acc, shape, nonNeg);
    }

    private int[] broadcast(Layer layer, int[] a, int[] b, List<T> in) throws ModelException {
        int[] out = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            if (a[i] != b[i] && a[i] != 1 && b[i] != 1) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": " + layer.describe()
                        + " combines incompatible shapes " + shapes(in));
            }
            out[i] = Math.max(a[i], b[i]);
        }
        return out;
    }

    private T concatenate(Layer layer, String key, List<T> in) throws ModelException {
        int rank = in.get(0).shape.length;
        int axis = layer.config().has("axis") ? layer.config().get("axis").getAsInt() : -1;
        int kerasAxis = axis < 0 ? axis + rank + 1 : axis; // with the batch axis
        if (kerasAxis < 1 || kerasAxis > rank) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": " + layer.describe() + " concatenates on axis "
                    + axis + " of rank-" + (rank + 1) + " tensors");
        }
        int[] shape = in.get(0).shape.clone();
        shape[kerasAxis - 1] = 0;
        List<String> names = new ArrayList<>();
        for (T t : in) {
            if (t.shape.length != rank) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": " + layer.describe() + " concatenates "
                        + "shapes " + shapes(in));
            }
            shape[kerasAxis - 1] += t.shape[kerasAxis - 1];
            names.add(materialize(t).name);
        }
        int onnxAxis = in.get(0).image() ? new int[] {0, 2, 3, 1}[kerasAxis] : kerasAxis;
        String out = node(ONNXOperators.CONCAT, layer.name(), names, fresh(key), Map.of("axis", onnxAxis));
        return new T(out, shape, in.stream().allMatch(T::nonNegative));
    }

    private T dense(Layer layer, String key, T x) throws ModelException {
        if (x.shape.length != 1) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": " + layer.describe() + " reads a tensor of "
                    + "shape " + Arrays.toString(x.shape) + "; only Dense layers on [batch, features] are supported "
                    + "(add a Flatten or global pooling before it)");
        }
        int units = intOf(layer, "units");
        int d = x.shape[0];
        JsonObject c = layer.config();
        boolean useBias = !c.has("use_bias") || c.get("use_bias").getAsBoolean();
        List<String> inputs = new ArrayList<>(List.of(x.name,
                floats(layer.name() + "_kernel", new long[] {d, units}, weight(layer, "kernel", d, units))));
        if (useBias) {
            inputs.add(floats(layer.name() + "_bias", new long[] {units}, weight(layer, "bias", units)));
        }
        String act = KerasTopology.str(c, "activation", "linear");
        String out = node(ONNXOperators.GEMM, layer.name(), inputs, fresh(act.equals("linear") ? key : key + "_gemm"),
                Map.of());
        macs += (long) d * units;
        return activation(layer, key, new T(out, new int[] {units}, false), act);
    }

    private T flatten(Layer layer, String key, T x) {
        if (x.shape.length == 1) {
            return x;
        }
        String src = toKerasOrder(x, layer.name());
        String out = node(OnnxOps.FLATTEN, layer.name(), List.of(src), fresh(key), Map.of("axis", 1));
        return new T(out, new int[] {product(x.shape)}, x.nonNegative);
    }

    /**
     * Flattens a pooled image tensor into [N, H*W*C] in Keras' H,W,C order: the features of a cut at a pooling
     * layer.
     */
    T flattenPooled(T x, String nodeName) {
        String src = toKerasOrder(x, nodeName);
        String out = node(OnnxOps.FLATTEN, nodeName, List.of(src), fresh(nodeName + "_flat"), Map.of("axis", 1));
        return new T(out, new int[] {product(x.shape)}, x.nonNegative);
    }

    /** Adds a softmax over the last axis of a [N,K] tensor (a classifier that outputs logits). */
    T softmax(T x, String nodeName) {
        String out = node(ONNXOperators.SOFTMAX, nodeName, List.of(x.name), fresh(nodeName), Map.of("axis", -1));
        return new T(out, x.shape, true, null, true);
    }

    /** The tensor in Keras' element order: image tensors are transposed back to NHWC unless that is a no-op. */
    private String toKerasOrder(T x, String base) {
        if (!x.image() || x.shape[2] == 1 || x.shape[0] * x.shape[1] == 1) {
            return x.name;
        }
        return node(OnnxOps.TRANSPOSE, fresh(base + "_to_nhwc"), List.of(x.name), fresh(base + "_nhwc"),
                Map.of("perm", new int[] {0, 2, 3, 1}));
    }

    private T reshape(Layer layer, String key, T x) throws ModelException {
        JsonArray ts = KerasTopology.arr(layer.config().get("target_shape"), what + " " + layer.describe()
                + " target_shape");
        int total = product(x.shape);
        int[] shape = new int[ts.size()];
        int unknown = -1;
        int known = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = ts.get(i).getAsInt();
            if (shape[i] == -1 && unknown < 0) {
                unknown = i;
            } else if (shape[i] <= 0) {
                throw new ModelException(Reason.INVALID_MODEL, what + ": " + layer.describe() + " has target_shape "
                        + ts);
            } else {
                known *= shape[i];
            }
        }
        if (unknown >= 0 && total % known == 0) {
            shape[unknown] = total / known;
        }
        if (product(shape) != total) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": " + layer.describe() + " reshapes "
                    + Arrays.toString(x.shape) + " to " + ts);
        }
        long[] onnxShape = new long[shape.length + 1];
        for (int i = 0; i < shape.length; i++) {
            onnxShape[i + 1] = shape[i]; // dim 0 stays 0: copy the batch size
        }
        boolean image = shape.length == 3;
        String src = toKerasOrder(x, layer.name());
        String out = node(OnnxOps.RESHAPE, layer.name(), List.of(src, longs(layer.name() + "_shape",
                onnxShape)), fresh(image ? key + "_nhwc" : key), Map.of());
        if (image) {
            out = node(OnnxOps.TRANSPOSE, fresh(layer.name() + "_to_nchw"), List.of(out), fresh(key),
                    Map.of("perm", new int[] {0, 3, 1, 2}));
        }
        return new T(out, shape, x.nonNegative);
    }

    // ---- geometry -------------------------------------------------------------------------------------------------

    /** Explicit pads (top, left, bottom, right) and output size of a windowed op. */
    private record Geometry(int[] pads, int outH, int outW) {
    }

    /**
     * Pads and output size for a window of size k, stride s and dilation d over {@code x}, whose pending zero
     * padding (if any) is added to the "same" padding TF would add on the padded size.
     */
    private Geometry geometry(Layer layer, T x, int[] k, int[] s, int[] d) throws ModelException {
        String padding = KerasTopology.str(layer.config(), "padding", "valid");
        if (!padding.equals("valid") && !padding.equals("same")) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": " + layer.describe() + " has padding '"
                    + padding + "'; supported: valid, same");
        }
        int[] pending = x.pads == null ? new int[4] : x.pads;
        int[] pads = new int[4];
        int[] out = new int[2];
        for (int a = 0; a < 2; a++) {
            int in = x.shape[a]; // as Keras sees it, after any zero padding
            int extent = (k[a] - 1) * d[a] + 1;
            int before = 0;
            int after = 0;
            if (padding.equals("same")) {
                out[a] = (in + s[a] - 1) / s[a];
                int total = Math.max((out[a] - 1) * s[a] + extent - in, 0);
                before = total / 2;
                after = total - before;
            } else {
                if (in < extent) {
                    throw new ModelException(Reason.INCOMPATIBLE, what + ": " + layer.describe() + " has a window "
                            + "of " + extent + " over a side of " + in + " pixels");
                }
                out[a] = (in - extent) / s[a] + 1;
            }
            pads[a] = pending[a] + before;
            pads[a + 2] = pending[a + 2] + after;
        }
        return new Geometry(pads, out[0], out[1]);
    }

    private String emitConv(String nodeName, String input, String output, float[] w, long[] wDims, float[] bias,
                            Geometry geo, int[] s, int[] d, int group) {
        List<String> inputs = new ArrayList<>(List.of(input, floats(nodeName + "_W", wDims, w)));
        if (bias != null) {
            inputs.add(floats(nodeName + "_B", new long[] {wDims[0]}, bias));
        }
        Map<String, Object> attrs = new HashMap<>(Map.of("kernel_shape", new int[] {(int) wDims[2], (int) wDims[3]},
                "strides", s, "pads", geo.pads, "dilations", d));
        if (group != 1) {
            attrs.put("group", group);
        }
        return node(OnnxOps.CONV, nodeName, inputs, output, attrs);
    }

    /** Keras kernel [kh, kw, in, out] to ONNX [out, in, kh, kw]. */
    static float[] hwioToOihw(float[] k, int kh, int kw, int in, int out) {
        float[] w = new float[k.length];
        for (int y = 0; y < kh; y++) {
            for (int x = 0; x < kw; x++) {
                for (int i = 0; i < in; i++) {
                    int src = ((y * kw + x) * in + i) * out;
                    for (int o = 0; o < out; o++) {
                        w[((o * in + i) * kh + y) * kw + x] = k[src + o];
                    }
                }
            }
        }
        return w;
    }

    // ---- emitting -------------------------------------------------------------------------------------------------

    private String node(ONNXOperator op, String nodeName, List<String> inputs, String output,
                        Map<String, Object> attrs) {
        // Tribuo's operator definitions check arity and attribute types; the node name is then set to ours.
        NodeProto n = op.build(ctx, inputs.toArray(String[]::new), new String[] {output}, attrs);
        String name = names.contains(nodeName) && !nodeName.equals(output) ? fresh(nodeName) : nodeName;
        names.add(name);
        graph.addNode(n.toBuilder().setName(name));
        return output;
    }

    /** A name no tensor or node has yet (and reserves it). */
    String fresh(String base) {
        String name = base;
        for (int i = 2; names.contains(name); i++) {
            name = base + "_" + i;
        }
        names.add(name);
        return name;
    }

    private String floats(String base, long[] dims, float[] data) {
        String name = fresh(base);
        graph.addInitializer(OnnxModels.floatTensor(name, dims, data));
        return name;
    }

    private String longs(String base, long[] data) {
        String name = fresh(base);
        graph.addInitializer(OnnxModels.longTensor(name, new long[] {data.length}, data));
        return name;
    }

    /** A layer's weight, checked against the expected shape. */
    private float[] weight(Layer layer, String param, int... shape) throws ModelException {
        TfjsWeights.Entry e = weights.find(layer.name(), param);
        if (e == null) {
            List<String> listed = weights.namesFor(layer.name());
            throw new ModelException(Reason.INVALID_MODEL, what + ": " + layer.describe() + " needs weight '"
                    + layer.name() + "/" + param + "', which the weightsManifest does not list"
                    + (listed.isEmpty() ? " (it lists none for this layer)" : " (it lists " + listed + ")")
                    + "; the model.json and its weights do not match");
        }
        if (!Arrays.equals(e.shape(), shape)) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": weight '" + e.name() + "' of "
                    + layer.describe() + " has shape " + Arrays.toString(e.shape()) + " but the layer needs "
                    + Arrays.toString(shape));
        }
        return weights.values(e);
    }

    private int intOf(Layer layer, String key) throws ModelException {
        JsonElement e = layer.config().get(key);
        if (e == null || e.isJsonNull() || e.getAsInt() <= 0) {
            throw new ModelException(Reason.INVALID_MODEL, what + ": " + layer.describe() + " has " + key + " = "
                    + e + "; a positive integer is needed");
        }
        return e.getAsInt();
    }

    /** A Keras size pair: n or [a, b]. */
    private static int[] pair(JsonElement e, int dflt) {
        if (e == null || e.isJsonNull()) {
            return new int[] {dflt, dflt};
        }
        if (e.isJsonPrimitive()) {
            return new int[] {e.getAsInt(), e.getAsInt()};
        }
        JsonArray a = e.getAsJsonArray();
        return new int[] {a.get(0).getAsInt(), a.get(a.size() - 1).getAsInt()};
    }

    private void requireImage(Layer layer, T x) throws ModelException {
        if (!x.image()) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": " + layer.describe() + " reads a tensor of "
                    + "shape " + Arrays.toString(x.shape) + "; it needs [height, width, channels]");
        }
    }

    private static String shapes(List<T> in) {
        return in.stream().map(t -> Arrays.toString(t.shape)).toList().toString();
    }

    private static int product(int[] s) {
        int p = 1;
        for (int v : s) {
            p *= v;
        }
        return p;
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%d nodes, %d initializers", graph.getNodeCount(),
                graph.getInitializerCount());
    }
}
