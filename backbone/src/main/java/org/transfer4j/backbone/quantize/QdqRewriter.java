package org.transfer4j.backbone.quantize;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.UnsafeByteOperations;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.onnx.Graphs;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.onnx.OnnxOps;

/**
 * Rewrites a float graph into the QDQ form ONNX Runtime fuses into integer kernels. In two steps, because the ranges
 * come from running the float graph in between: {@link #plan} decides which nodes and tensors are quantized (and so
 * which tensors calibration must observe), {@link #build} writes the graph from the plan and the ranges found.
 *
 * <p>The shape ORT's QDQ selectors need (onnxruntime/core/optimizer/qdq_transformer), which decides every rule here:
 * <ul>
 * <li>Conv, Gemm, MatMul with constant weights: input through DequantizeLinear from uint8, weight an int8
 * initializer behind a per-output-channel DequantizeLinear (symmetric, zero point 0), bias an int32 initializer with
 * scale input scale x weight scale behind a DequantizeLinear, and the output read by exactly one QuantizeLinear.</li>
 * <li>A Relu right after such a node (or after a quantized Add) is removed: its output range starts at 0, so the
 * uint8 zero point is 0 and QuantizeLinear's saturation at 0 is the Relu (ONNX Runtime's python tool does the
 * same).</li>
 * <li>Add with two activation inputs: both inputs and the output quantized (QLinearAdd).</li>
 * <li>MaxPool: its output quantized with exactly its input's scale and zero point (8-bit MaxPool); max commutes with
 * a monotonic quantizer, so no range is needed for it.</li>
 * </ul>
 * Everything else stays float and reads dequantized tensors; graph inputs and outputs keep their float type.
 */
final class QdqRewriter {
    /** Operators that only appear in models that are already quantized. */
    static final Set<String> QUANTIZED_OPS = Set.of("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
            "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "QGemm", "QLinearAdd", "QLinearMul",
            "QLinearGlobalAveragePool", "QLinearAveragePool", "QLinearConcat", "QLinearLeakyRelu", "QLinearSigmoid",
            "QLinearSoftmax", "QLinearReduceMean", "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "QAttention");
    /** Operators whose weights are quantized (int8 per output channel). */
    static final Set<String> WEIGHTED = Set.of("Conv", "Gemm", "MatMul");
    /** Per-axis DequantizeLinear needs ai.onnx 13. */
    static final int MIN_OPSET = 13;
    /**
     * Operators whose meaning is the same from opset 11 to 13, so a graph made only of them may be lifted to opset 13
     * (e.g. the ONNX zoo's ResNet50 v1, opset 12). Squeeze, Unsqueeze, Split, ReduceSum and Softmax changed in 13.
     */
    private static final Set<String> SAME_SINCE_11 = Set.of("Conv", "Relu", "MaxPool", "AveragePool",
            "GlobalAveragePool", "GlobalMaxPool", "Add", "Sub", "Mul", "Div", "Flatten", "Reshape", "Gemm", "MatMul",
            "Transpose", "Concat", "Pad", "Clip", "BatchNormalization", "Identity", "Sigmoid", "Constant", "Shape",
            "Gather", "Dropout", "Cast", "ReduceMean", "ReduceMax", "Sqrt", "Pow", "HardSigmoid", "LeakyRelu",
            "Tanh", "Exp");
    /** Largest |int32 bias| allowed before the weight scale is raised to make room (half the int32 range). */
    private static final double BIAS_LIMIT = (double) (1L << 30);

    private QdqRewriter() {
    }

    /** A weighted node and where its weight's output channels lie. */
    record Weighted(int node, String op, int axis) {
    }

    /**
     * What will be quantized.
     *
     * @param model     the float model the plan is for
     * @param weighted  Conv/Gemm/MatMul nodes, by node index
     * @param adds      Add nodes quantized as QLinearAdd
     * @param maxPools  MaxPool nodes kept 8-bit
     * @param merged    producer output to the output of the Relu removed after it
     * @param tensors   every quantized tensor (after merging), in graph order
     * @param inherits  MaxPool output to the tensor whose scale and zero point it reuses
     * @param calibrate tensors that need a range from calibration, in graph order
     * @param convs     Conv nodes in the graph, quantized or not
     */
    record Plan(ModelProto model, List<Weighted> weighted, Set<Integer> adds, Set<Integer> maxPools,
                Map<String, String> merged, Set<Integer> removedRelus, List<String> tensors,
                Map<String, String> inherits, List<String> calibrate, int convs) {
        /** Quantized node count per operator type (Relu removed into its producer not counted). */
        Map<String, Integer> quantizedOps() {
            Map<String, Integer> counts = new TreeMap<>();
            List<NodeProto> nodes = model.getGraph().getNodeList();
            weighted.forEach(w -> counts.merge(w.op(), 1, Integer::sum));
            adds.forEach(i -> counts.merge(nodes.get(i).getOpType(), 1, Integer::sum));
            maxPools.forEach(i -> counts.merge(nodes.get(i).getOpType(), 1, Integer::sum));
            return counts;
        }
    }

    /** Refuses a model that already holds quantization operators, naming them. */
    static void requireFloat(ModelProto model, String what) throws ModelException {
        Map<String, Integer> found = new TreeMap<>();
        for (NodeProto n : model.getGraph().getNodeList()) {
            if (QUANTIZED_OPS.contains(n.getOpType())) {
                found.merge(n.getOpType(), 1, Integer::sum);
            }
        }
        if (!found.isEmpty()) {
            throw new ModelException(ModelException.Reason.ALREADY_QUANTIZED, what + " is already quantized (it has "
                    + found + "); quantize the float model it was made from instead");
        }
    }

    /** Decides what to quantize. */
    static Plan plan(ModelProto model, String what) throws ModelException {
        requireFloat(model, what);
        GraphProto g = model.getGraph();
        List<NodeProto> nodes = g.getNodeList();
        Map<String, TensorProto> inits = initializers(g);
        Set<String> outputs = new HashSet<>();
        g.getOutputList().forEach(o -> outputs.add(o.getName()));
        Map<String, Integer> producer = new HashMap<>();
        Map<String, List<Integer>> consumers = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            for (String o : nodes.get(i).getOutputList()) {
                producer.put(o, i);
            }
            for (String in : nodes.get(i).getInputList()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
            }
        }

        List<Weighted> weighted = new ArrayList<>();
        Set<Integer> adds = new LinkedHashSet<>();
        Set<Integer> maxPools = new LinkedHashSet<>();
        int convs = 0;
        Map<String, Integer> opCounts = new TreeMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            NodeProto n = nodes.get(i);
            opCounts.merge(n.getOpType(), 1, Integer::sum);
            convs += n.getOpType().equals("Conv") ? 1 : 0;
            if (n.getOutputCount() < 1 || outputs.contains(n.getOutput(0))) {
                continue;
            }
            switch (n.getOpType()) {
                case "Conv" -> {
                    TensorProto w = floatInit(inits, n, 1);
                    if (isActivation(n, 0, inits) && w != null && w.getDimsCount() >= 3
                            && biasFits(inits, n, 2, w.getDims(0))) {
                        weighted.add(new Weighted(i, "Conv", 0));
                    }
                }
                case "Gemm" -> {
                    TensorProto w = floatInit(inits, n, 1);
                    boolean transB = intAttr(n, "transB", 0) == 1;
                    if (isActivation(n, 0, inits) && w != null && w.getDimsCount() == 2
                            && intAttr(n, "transA", 0) == 0 && floatAttr(n, "alpha", 1f) == 1f
                            && floatAttr(n, "beta", 1f) == 1f && biasFits(inits, n, 2, w.getDims(transB ? 0 : 1))) {
                        weighted.add(new Weighted(i, "Gemm", transB ? 0 : 1));
                    }
                }
                case "MatMul" -> {
                    TensorProto w = floatInit(inits, n, 1);
                    if (isActivation(n, 0, inits) && w != null && w.getDimsCount() == 2) {
                        weighted.add(new Weighted(i, "MatMul", 1));
                    }
                }
                case "Add" -> {
                    if (n.getInputCount() == 2 && isActivation(n, 0, inits) && isActivation(n, 1, inits)) {
                        adds.add(i);
                    }
                }
                case "MaxPool" -> {
                    if (isActivation(n, 0, inits) && (n.getOutputCount() == 1 || n.getOutput(1).isEmpty())) {
                        maxPools.add(i);
                    }
                }
                default -> {
                }
            }
        }
        if (weighted.isEmpty()) {
            throw new ModelException(ModelException.Reason.NOTHING_TO_QUANTIZE, what + " has no Conv, Gemm or MatMul "
                    + "with constant weights to quantize (its operators: " + opCounts + "); int8 pays off for "
                    + "convolutional and dense layers only, so use the float model as it is");
        }

        // Relu folded into the quantizer of the node before it.
        Set<Integer> producesQuantized = new HashSet<>(adds);
        weighted.forEach(w -> producesQuantized.add(w.node()));
        Map<String, String> merged = new HashMap<>();
        Set<Integer> removedRelus = new LinkedHashSet<>();
        for (int i = 0; i < nodes.size(); i++) {
            NodeProto n = nodes.get(i);
            if (!n.getOpType().equals("Relu") || n.getInputCount() != 1) {
                continue;
            }
            String x = n.getInput(0);
            Integer p = producer.get(x);
            if (p != null && producesQuantized.contains(p) && consumers.get(x).size() == 1 && !outputs.contains(x)
                    && !outputs.contains(n.getOutput(0))) {
                merged.put(x, n.getOutput(0));
                removedRelus.add(i);
            }
        }

        // Tensors in graph order: each quantized node's activation inputs, then its output.
        Set<String> tensors = new LinkedHashSet<>();
        Map<String, String> inherits = new LinkedHashMap<>();
        Set<Integer> weightedNodes = new HashSet<>();
        weighted.forEach(w -> weightedNodes.add(w.node()));
        for (int i = 0; i < nodes.size(); i++) {
            NodeProto n = nodes.get(i);
            if (weightedNodes.contains(i)) {
                tensors.add(n.getInput(0));
                tensors.add(merged.getOrDefault(n.getOutput(0), n.getOutput(0)));
            } else if (adds.contains(i)) {
                tensors.add(n.getInput(0));
                tensors.add(n.getInput(1));
                tensors.add(merged.getOrDefault(n.getOutput(0), n.getOutput(0)));
            } else if (maxPools.contains(i)) {
                tensors.add(n.getInput(0));
                tensors.add(n.getOutput(0));
                inherits.put(n.getOutput(0), n.getInput(0));
            }
        }
        List<String> calibrate = tensors.stream().filter(t -> !inherits.containsKey(t)).toList();
        return new Plan(model, weighted, adds, maxPools, merged, removedRelus, List.copyOf(tensors), inherits,
                calibrate, convs);
    }

    /** Scale and zero point of one uint8 activation, with the names of their initializers. */
    private record ActParams(float scale, int zeroPoint, String scaleName, String zeroPointName) {
    }

    /**
     * Writes the QDQ graph.
     *
     * @param ranges       the calibrated [min, max] of every tensor in {@link Plan#calibrate()}
     * @param weightLevels largest |int8 weight|: 127, or 63 for 7-bit weights (see {@code Quantizer.optReduceRange})
     */
    static ModelProto build(Plan plan, Map<String, float[]> ranges, int weightLevels, String what)
            throws ModelException {
        ModelProto model = plan.model();
        GraphProto g = model.getGraph();
        List<NodeProto> nodes = g.getNodeList();
        Map<String, TensorProto> inits = initializers(g);
        Set<String> names = Graphs.allNames(g);
        names.addAll(plan.merged().values());
        List<TensorProto> newInits = new ArrayList<>();

        // Activation parameters, in graph order so that names and bytes never depend on hash order.
        Map<String, ActParams> params = new LinkedHashMap<>();
        for (String t : plan.tensors()) {
            String source = t;
            while (plan.inherits().containsKey(source)) {
                source = plan.inherits().get(source);
            }
            if (!source.equals(t)) {
                params.put(t, params.get(source));
                continue;
            }
            float[] r = ranges.get(t);
            if (r == null) {
                throw new IllegalStateException("no calibrated range for tensor '" + t + "'");
            }
            ActParams p = activationParams(r[0], r[1], unique(t + "_scale", names), unique(t + "_zero_point",
                    names));
            newInits.add(scalarFloat(p.scaleName(), p.scale()));
            newInits.add(scalarUint8(p.zeroPointName(), p.zeroPoint()));
            params.put(t, p);
        }
        Map<String, String> dequantized = new HashMap<>();
        for (String t : plan.tensors()) {
            dequantized.put(t, unique(t + "_dequantized", names));
        }

        Map<Integer, Weighted> weightedAt = new HashMap<>();
        plan.weighted().forEach(w -> weightedAt.put(w.node(), w));
        Set<String> realInputs = new HashSet<>();
        for (ValueInfoProto v : g.getInputList()) {
            if (!inits.containsKey(v.getName())) {
                realInputs.add(v.getName());
            }
        }
        List<NodeProto> out = new ArrayList<>();
        for (String t : plan.tensors()) {
            if (realInputs.contains(t)) {
                addQdq(out, t, params.get(t), dequantized.get(t), names);
            }
        }
        for (int i = 0; i < nodes.size(); i++) {
            if (plan.removedRelus().contains(i)) {
                continue;
            }
            NodeProto.Builder n = nodes.get(i).toBuilder();
            for (int k = 0; k < n.getInputCount(); k++) {
                String in = n.getInput(k);
                if (dequantized.containsKey(in)) {
                    n.setInput(k, dequantized.get(in));
                }
            }
            for (int k = 0; k < n.getOutputCount(); k++) {
                String merged = plan.merged().get(n.getOutput(k));
                if (merged != null) {
                    n.setOutput(k, merged);
                }
            }
            Weighted w = weightedAt.get(i);
            if (w != null) {
                ActParams input = params.get(nodes.get(i).getInput(0));
                quantizeWeights(n, w, input.scale(), weightLevels, inits, newInits, out, names);
            }
            out.add(n.build());
            for (String o : n.getOutputList()) {
                if (params.containsKey(o)) {
                    addQdq(out, o, params.get(o), dequantized.get(o), names);
                }
            }
        }

        Set<String> used = new HashSet<>();
        out.forEach(n -> used.addAll(n.getInputList()));
        g.getOutputList().forEach(o -> used.add(o.getName()));
        GraphProto.Builder gb = g.toBuilder().clearNode().addAllNode(out).clearInitializer().clearValueInfo();
        for (TensorProto t : g.getInitializerList()) {
            if (used.contains(t.getName())) {
                gb.addInitializer(t);
            }
        }
        gb.addAllInitializer(newInits);
        // Inputs that were initializers (old exports list weights as inputs) go with their initializer.
        gb.clearInput();
        for (ValueInfoProto v : g.getInputList()) {
            if (realInputs.contains(v.getName()) || used.contains(v.getName())) {
                gb.addInput(v);
            }
        }
        return withOpset(model.toBuilder().setGraph(gb).build(), what);
    }

    /** ai.onnx opset at least {@value #MIN_OPSET}: lifted when every operator means the same there. */
    static ModelProto withOpset(ModelProto model, String what) throws ModelException {
        long opset = OnnxModels.opsetVersion(model, "");
        if (opset >= MIN_OPSET) {
            return model;
        }
        Set<String> changed = new java.util.TreeSet<>();
        for (NodeProto n : model.getGraph().getNodeList()) {
            boolean defaultDomain = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
            if (defaultDomain && !SAME_SINCE_11.contains(n.getOpType()) && !n.getOpType().equals("QuantizeLinear")
                    && !n.getOpType().equals("DequantizeLinear")) {
                changed.add(n.getOpType());
            }
        }
        if (opset < 11 || !changed.isEmpty()) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, what + " imports ai.onnx opset " + opset
                    + "; per-channel int8 weights need opset " + MIN_OPSET + " and "
                    + (changed.isEmpty() ? "opsets below 11 differ too much" : "its operators " + changed
                    + " changed meaning on the way") + ". Re-export the model with opset " + MIN_OPSET
                    + " or later");
        }
        ModelProto.Builder b = model.toBuilder().clearOpsetImport();
        for (OperatorSetIdProto op : model.getOpsetImportList()) {
            boolean defaultDomain = op.getDomain().isEmpty() || op.getDomain().equals("ai.onnx");
            b.addOpsetImport(defaultDomain ? op.toBuilder().setVersion(MIN_OPSET).build() : op);
        }
        // IR version 7 is the first that can carry opset 13.
        return b.setIrVersion(Math.max(7, model.getIrVersion())).build();
    }

    /**
     * uint8 parameters for [lo, hi] widened to hold 0 (so zero, i.e. padding and ReLU's floor, is exact): scale
     * (hi - lo) / 255 and the zero point that maps 0 to an integer.
     */
    private static ActParams activationParams(float lo, float hi, String scaleName, String zpName) {
        double rmin = Math.min(lo, 0f);
        double rmax = Math.max(hi, 0f);
        if (!(rmax > rmin)) {
            return new ActParams(1f, 0, scaleName, zpName);
        }
        float scale = (float) ((rmax - rmin) / 255.0);
        int zp = (int) Math.max(0, Math.min(255, Math.rint(-rmin / scale)));
        return new ActParams(scale, zp, scaleName, zpName);
    }

    private static void addQdq(List<NodeProto> out, String tensor, ActParams p, String dequantized,
                               Set<String> names) {
        String quantized = unique(tensor + "_quantized", names);
        out.add(node(OnnxOps.QUANTIZE_LINEAR, unique(tensor + "_QuantizeLinear", names),
                List.of(tensor, p.scaleName(), p.zeroPointName()), quantized, Map.of()));
        out.add(node(OnnxOps.DEQUANTIZE_LINEAR, unique(tensor + "_DequantizeLinear", names),
                List.of(quantized, p.scaleName(), p.zeroPointName()), dequantized, Map.of()));
    }

    /**
     * Replaces the node's float weight (and bias) with int8 (int32) initializers behind DequantizeLinear nodes added
     * to {@code out}. Weight scales are per output channel, max|w| / levels; a channel whose bias would not fit in half
     * the int32 range at scale input x weight gets a larger weight scale.
     */
    private static void quantizeWeights(NodeProto.Builder n, Weighted w, float inputScale, int levels,
                                        Map<String, TensorProto> inits, List<TensorProto> newInits,
                                        List<NodeProto> out, Set<String> names) {
        String weightName = n.getInput(1);
        TensorProto weight = inits.get(weightName);
        float[] values = OnnxModels.floats(weight);
        long[] dims = weight.getDimsList().stream().mapToLong(Long::longValue).toArray();
        int channels = (int) dims[w.axis()];
        int inner = 1;
        for (int d = w.axis() + 1; d < dims.length; d++) {
            inner *= (int) dims[d];
        }
        float[] maxAbs = new float[channels];
        for (int i = 0; i < values.length; i++) {
            int c = (i / inner) % channels;
            maxAbs[c] = Math.max(maxAbs[c], Math.abs(values[i]));
        }
        boolean hasBias = n.getInputCount() > 2 && !n.getInput(2).isEmpty();
        float[] bias = hasBias ? OnnxModels.floats(inits.get(n.getInput(2))) : null;
        float[] scales = new float[channels];
        for (int c = 0; c < channels; c++) {
            double s = maxAbs[c] / (double) levels;
            if (bias != null) {
                s = Math.max(s, Math.abs(bias[c]) / (inputScale * BIAS_LIMIT));
            }
            scales[c] = s > 0 ? (float) s : 1f;
        }
        byte[] q = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            int c = (i / inner) % channels;
            q[i] = (byte) Math.max(-levels, Math.min(levels, Math.rint(values[i] / scales[c])));
        }
        String base = unique(weightName + "_quantized", names);
        String scaleName = unique(weightName + "_scale", names);
        String zpName = unique(weightName + "_zero_point", names);
        String deq = unique(weightName + "_dequantized", names);
        newInits.add(tensor(base, TensorProto.DataType.INT8, dims, q));
        newInits.add(floatVector(scaleName, scales));
        newInits.add(tensor(zpName, TensorProto.DataType.INT8, new long[] {channels}, new byte[channels]));
        out.add(node(OnnxOps.DEQUANTIZE_LINEAR, unique(weightName + "_DequantizeLinear", names),
                List.of(base, scaleName, zpName), deq, Map.of("axis", w.axis())));
        n.setInput(1, deq);

        if (bias != null) {
            String biasName = n.getInput(2);
            float[] biasScales = new float[channels];
            ByteBuffer ints = ByteBuffer.allocate(channels * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (int c = 0; c < channels; c++) {
                // The product as the integer kernel forms it (float32), so fused and unfused paths agree.
                biasScales[c] = inputScale * scales[c];
                ints.putInt((int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE,
                        Math.rint(bias[c] / (double) biasScales[c]))));
            }
            String bq = unique(biasName + "_quantized", names);
            String bs = unique(biasName + "_scale", names);
            String bz = unique(biasName + "_zero_point", names);
            String bd = unique(biasName + "_dequantized", names);
            newInits.add(tensor(bq, TensorProto.DataType.INT32, new long[] {channels}, ints.array()));
            newInits.add(floatVector(bs, biasScales));
            newInits.add(tensor(bz, TensorProto.DataType.INT32, new long[] {channels}, new byte[channels * 4]));
            out.add(node(OnnxOps.DEQUANTIZE_LINEAR, unique(biasName + "_DequantizeLinear", names),
                    List.of(bq, bs, bz), bd, Map.of("axis", 0)));
            n.setInput(2, bd);
        }
    }

    // ---- small helpers --------------------------------------------------------------------------------------------

    private static Map<String, TensorProto> initializers(GraphProto g) {
        Map<String, TensorProto> m = new HashMap<>();
        g.getInitializerList().forEach(t -> m.put(t.getName(), t));
        return m;
    }

    private static boolean isActivation(NodeProto n, int k, Map<String, TensorProto> inits) {
        return n.getInputCount() > k && !n.getInput(k).isEmpty() && !inits.containsKey(n.getInput(k));
    }

    private static TensorProto floatInit(Map<String, TensorProto> inits, NodeProto n, int k) {
        if (n.getInputCount() <= k) {
            return null;
        }
        TensorProto t = inits.get(n.getInput(k));
        return t != null && t.getDataType() == TensorProto.DataType.FLOAT_VALUE
                && t.getDataLocation() != TensorProto.DataLocation.EXTERNAL ? t : null;
    }

    /** No bias, or a float initializer of one value per output channel. */
    private static boolean biasFits(Map<String, TensorProto> inits, NodeProto n, int k, long channels) {
        if (n.getInputCount() <= k || n.getInput(k).isEmpty()) {
            return true;
        }
        TensorProto b = floatInit(inits, n, k);
        return b != null && b.getDimsCount() == 1 && b.getDims(0) == channels;
    }

    private static long intAttr(NodeProto n, String name, long dflt) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return dflt;
    }

    private static float floatAttr(NodeProto n, String name, float dflt) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getF();
            }
        }
        return dflt;
    }

    private static String unique(String base, Set<String> names) {
        String name = Graphs.uniqueName(base, names);
        names.add(name);
        return name;
    }

    private static NodeProto node(OnnxOps op, String name, List<String> inputs, String output,
                                  Map<String, Object> attrs) {
        // Tribuo's operator definitions check arity and attribute types; the node name is then set to ours.
        NodeProto n = op.build(new org.tribuo.util.onnx.ONNXContext(), inputs.toArray(String[]::new),
                new String[] {output}, attrs);
        return n.toBuilder().setName(name).build();
    }

    private static TensorProto tensor(String name, TensorProto.DataType type, long[] dims, byte[] raw) {
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(type.getNumber())
                .setRawData(UnsafeByteOperations.unsafeWrap(raw));
        for (long d : dims) {
            b.addDims(d);
        }
        return b.build();
    }

    private static TensorProto scalarFloat(String name, float v) {
        return tensor(name, TensorProto.DataType.FLOAT, new long[0],
                ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array());
    }

    private static TensorProto scalarUint8(String name, int v) {
        return tensor(name, TensorProto.DataType.UINT8, new long[0], new byte[] {(byte) v});
    }

    private static TensorProto floatVector(String name, float[] v) {
        return OnnxModels.floatTensor(name, new long[] {v.length}, v);
    }
}
