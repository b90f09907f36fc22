package org.transfer4j.backbone.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.SparseTensorProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.transfer4j.ModelException;

/**
 * Graph-level operations shared by cutting and composing: pruning to the outputs that matter, renaming tensors,
 * collecting names, and finding and measuring a backbone's features output.
 */
public final class Graphs {
    private Graphs() {
    }

    /**
     * A backbone's features output.
     *
     * @param name     graph output name
     * @param rank     rank of the output (2 for [N,D], 4 for [N,C,1,1])
     * @param dim      features per image (product of the non-batch dimensions)
     * @param batchDim the batch dimension as declared by the model's image input (fixed or symbolic)
     */
    public record FeatureOutput(String name, int rank, int dim,
                                ai.onnx.proto.OnnxMl.TensorShapeProto.Dimension batchDim) {
    }

    /**
     * Keeps only what {@code outputs} need: nodes reachable backwards from them, the initializers, graph inputs and
     * value_infos those nodes use. The caller's output list becomes the graph's outputs. The image inputs (graph
     * inputs that are not initializers) are always kept, so the model keeps its calling convention.
     */
    public static GraphProto prune(GraphProto graph, List<ValueInfoProto> outputs) {
        Set<String> needed = new HashSet<>();
        outputs.forEach(o -> needed.add(o.getName()));
        List<NodeProto> nodes = graph.getNodeList();
        boolean[] keep = new boolean[nodes.size()];
        // ONNX requires nodes in topological order, so one reverse sweep finds every producer.
        for (int i = nodes.size() - 1; i >= 0; i--) {
            NodeProto n = nodes.get(i);
            if (n.getOutputList().stream().anyMatch(needed::contains)) {
                keep[i] = true;
                for (String in : n.getInputList()) {
                    if (!in.isEmpty()) {
                        needed.add(in);
                    }
                }
                collectSubgraphInputs(n, needed);
            }
        }
        Set<String> realInputs = new HashSet<>();
        OrtProbe.realInputs(graph).forEach(v -> realInputs.add(v.getName()));
        GraphProto.Builder b = graph.toBuilder().clearNode().clearInitializer().clearSparseInitializer()
                .clearInput().clearValueInfo().clearOutput();
        for (int i = 0; i < nodes.size(); i++) {
            if (keep[i]) {
                b.addNode(nodes.get(i));
            }
        }
        for (TensorProto t : graph.getInitializerList()) {
            if (needed.contains(t.getName())) {
                b.addInitializer(t);
            }
        }
        for (SparseTensorProto t : graph.getSparseInitializerList()) {
            if (needed.contains(t.getValues().getName())) {
                b.addSparseInitializer(t);
            }
        }
        for (ValueInfoProto in : graph.getInputList()) {
            if (realInputs.contains(in.getName()) || needed.contains(in.getName())) {
                b.addInput(in);
            }
        }
        Set<String> outNames = new HashSet<>();
        outputs.forEach(o -> outNames.add(o.getName()));
        for (ValueInfoProto v : graph.getValueInfoList()) {
            if (needed.contains(v.getName()) && !outNames.contains(v.getName())) {
                b.addValueInfo(v);
            }
        }
        b.addAllOutput(outputs);
        return b.build();
    }

    /** Control-flow nodes (If, Loop, Scan) may read outer-scope tensors inside their subgraphs. */
    private static void collectSubgraphInputs(NodeProto n, Set<String> needed) {
        for (AttributeProto a : n.getAttributeList()) {
            List<GraphProto> subs = new ArrayList<>(a.getGraphsList());
            if (a.hasG()) {
                subs.add(a.getG());
            }
            for (GraphProto g : subs) {
                for (NodeProto sn : g.getNodeList()) {
                    sn.getInputList().stream().filter(s -> !s.isEmpty()).forEach(needed::add);
                    collectSubgraphInputs(sn, needed);
                }
            }
        }
    }

    /** Renames a tensor everywhere in the top-level graph (node inputs/outputs, graph inputs/outputs, value_info). */
    public static GraphProto renameTensor(GraphProto graph, String from, String to) {
        GraphProto.Builder b = graph.toBuilder();
        for (NodeProto.Builder n : b.getNodeBuilderList()) {
            for (int i = 0; i < n.getInputCount(); i++) {
                if (n.getInput(i).equals(from)) {
                    n.setInput(i, to);
                }
            }
            for (int i = 0; i < n.getOutputCount(); i++) {
                if (n.getOutput(i).equals(from)) {
                    n.setOutput(i, to);
                }
            }
        }
        for (ValueInfoProto.Builder v : b.getOutputBuilderList()) {
            if (v.getName().equals(from)) {
                v.setName(to);
            }
        }
        for (ValueInfoProto.Builder v : b.getValueInfoBuilderList()) {
            if (v.getName().equals(from)) {
                v.setName(to);
            }
        }
        for (ValueInfoProto.Builder v : b.getInputBuilderList()) {
            if (v.getName().equals(from)) {
                v.setName(to);
            }
        }
        for (TensorProto.Builder t : b.getInitializerBuilderList()) {
            if (t.getName().equals(from)) {
                t.setName(to);
            }
        }
        return b.build();
    }

    /** Every tensor and node name used in the top-level graph, to pick names that cannot collide. */
    public static Set<String> allNames(GraphProto graph) {
        Set<String> names = new HashSet<>();
        for (NodeProto n : graph.getNodeList()) {
            names.add(n.getName());
            names.addAll(n.getInputList());
            names.addAll(n.getOutputList());
        }
        graph.getInitializerList().forEach(t -> names.add(t.getName()));
        graph.getInputList().forEach(v -> names.add(v.getName()));
        graph.getOutputList().forEach(v -> names.add(v.getName()));
        graph.getValueInfoList().forEach(v -> names.add(v.getName()));
        names.remove("");
        return names;
    }

    /** {@code base}, or {@code base_2}, {@code base_3}... whichever is not in {@code taken}. */
    public static String uniqueName(String base, Set<String> taken) {
        if (!taken.contains(base)) {
            return base;
        }
        for (int i = 2; ; i++) {
            String candidate = base + "_" + i;
            if (!taken.contains(candidate)) {
                return candidate;
            }
        }
    }

    /** The single image input of a backbone, or INCOMPATIBLE naming what the model takes instead. */
    public static ValueInfoProto imageInput(ModelProto model, String what) throws ModelException {
        List<ValueInfoProto> inputs = OrtProbe.realInputs(model.getGraph());
        if (inputs.size() != 1) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, what + " has " + inputs.size()
                    + " inputs " + inputs.stream().map(ValueInfoProto::getName).toList()
                    + "; an image backbone takes exactly one image tensor");
        }
        return inputs.get(0);
    }

    /** The batch dimension of the image input: its first dimension, or a symbolic "N" when undeclared. */
    public static ai.onnx.proto.OnnxMl.TensorShapeProto.Dimension batchDim(ValueInfoProto input) {
        var dims = OnnxModels.dims(input);
        if (dims.isEmpty() || (!dims.get(0).hasDimValue() && dims.get(0).getDimParam().isEmpty())) {
            return OnnxModels.dim("N");
        }
        return dims.get(0);
    }

    /**
     * Finds the backbone output that carries features and measures it. {@code preferred} (e.g. a spec's
     * outputName) wins when it names an output; otherwise the only output, or the one named "features".
     * Dimensions the model leaves symbolic are measured by running it once in ONNX Runtime.
     */
    public static FeatureOutput featureOutput(ModelProto model, String preferred, String what)
            throws ModelException {
        ValueInfoProto input = imageInput(model, what);
        Map<String, ValueInfoProto> outs = new LinkedHashMap<>();
        model.getGraph().getOutputList().forEach(o -> outs.put(o.getName(), o));
        ValueInfoProto out;
        if (preferred != null && outs.containsKey(preferred)) {
            out = outs.get(preferred);
        } else if (outs.size() == 1) {
            out = outs.values().iterator().next();
        } else if (outs.containsKey("features")) {
            out = outs.get("features");
        } else {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, what + " has outputs " + outs.keySet()
                    + (preferred == null ? "" : " but none named '" + preferred + "'")
                    + "; say which one holds the features with outputName in its spec sidecar");
        }
        long[] shape = OnnxModels.shape(out);
        boolean known = shape.length >= 2;
        for (int i = 1; i < shape.length; i++) {
            known &= shape[i] > 0;
        }
        if (!known) {
            shape = OrtProbe.probe(model, List.of(out.getName()), what).get(out.getName()).shape();
        }
        long dim = 1;
        for (int i = 1; i < shape.length; i++) {
            dim *= shape[i];
        }
        if (shape.length < 2 || dim <= 0 || dim > Integer.MAX_VALUE) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, what + " output '" + out.getName()
                    + "' has shape " + java.util.Arrays.toString(shape) + "; expected [N,D] or [N,C,1,1] features");
        }
        return new FeatureOutput(out.getName(), shape.length, (int) dim, batchDim(input));
    }

    /**
     * Runs the model once on zeros (batch 1; symbolic image sides 224) and returns the shapes ONNX Runtime gives the
     * named tensors. Used to measure what a graph does not declare, and to prove a rewritten graph runs.
     */
    public static Map<String, long[]> measure(ModelProto model, List<String> tensors, String what)
            throws ModelException {
        Map<String, long[]> out = new LinkedHashMap<>();
        OrtProbe.probe(model, tensors, what).forEach((k, v) -> out.put(k, v.shape()));
        return out;
    }

    /** Loads the model in ONNX Runtime once; INVALID_MODEL (naming {@code what}) when ORT refuses it. */
    public static void requireLoads(ModelProto model, String what) throws ModelException {
        OrtProbe.checkLoads(model, what);
    }
}
