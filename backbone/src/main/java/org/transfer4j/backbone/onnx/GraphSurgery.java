package org.transfer4j.backbone.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.backbone.spec.SpecJson;

/**
 * Turns a full ImageNet classifier into a no-top backbone (Keras' {@code include_top=False, pooling="avg"}): find
 * the globally pooled tensor that feeds the classifier, expose it as a float {@code features} [N,D] output, and drop
 * everything after it. Works on float and QDQ/QLinear int8 models without Python or the onnx package.
 *
 * <p>Recognised pooling: GlobalAveragePool, GlobalMaxPool, QLinearGlobalAveragePool, AveragePool whose kernel covers
 * the whole feature map, and ReduceMean over the spatial axes; followed (possibly through Flatten, Reshape, Squeeze,
 * Dropout, Identity, (De)QuantizeLinear) by a classifier: Gemm, MatMul, QLinearMatMul or a 1x1 (QLinear)Conv.
 * Anything else can be cut explicitly at a named tensor.
 */
public final class GraphSurgery {
    /** Name of the exposed features output. */
    public static final String FEATURES = OnnxMetadata.FEATURES_OUTPUT;

    private static final Set<String> POOLS = Set.of("GlobalAveragePool", "GlobalMaxPool",
            "QLinearGlobalAveragePool", "AveragePool", "ReduceMean");
    /** Ops between the pooled tensor and the classifier that only reshape, convert or pass values through. */
    private static final Set<String> PASS_THROUGH = Set.of("Flatten", "Reshape", "Squeeze", "Dropout", "Identity",
            "DequantizeLinear", "QuantizeLinear", "Cast");
    private static final Set<String> CLASSIFIERS = Set.of("Gemm", "MatMul", "QLinearMatMul", "MatMulInteger");
    /** Producers of quantized tensors and where their output scale and zero point are among their inputs. */
    private static final Map<String, int[]> QUANT_PARAMS = Map.ofEntries(
            Map.entry("QuantizeLinear", new int[] {1, 2}),
            Map.entry("QLinearConv", new int[] {6, 7}),
            Map.entry("QLinearMatMul", new int[] {6, 7}),
            Map.entry("QLinearAdd", new int[] {6, 7}),
            Map.entry("QLinearMul", new int[] {6, 7}),
            Map.entry("QLinearGlobalAveragePool", new int[] {3, 4}),
            Map.entry("QLinearAveragePool", new int[] {3, 4}),
            Map.entry("QLinearLeakyRelu", new int[] {3, 4}),
            Map.entry("QLinearSigmoid", new int[] {3, 4}),
            Map.entry("QLinearReduceMean", new int[] {3, 4}),
            Map.entry("QLinearConcat", new int[] {0, 1}));
    /** Ops that keep their input's quantization (so its scale/zero point are found further up). */
    private static final Set<String> QUANT_TRANSPARENT = Set.of("Reshape", "Flatten", "Squeeze", "Unsqueeze",
            "Transpose", "MaxPool", "Identity", "GlobalMaxPool");

    /**
     * What a cut produced.
     *
     * @param model         the no-top model written
     * @param sidecar       its spec sidecar ({@code <model-basename>.json})
     * @param cutTensor     the tensor exposed as features (the pooled tensor, or the one named with --at)
     * @param poolOp        the operator that produced it
     * @param featureDim    D of the [N,D] features output
     * @param dequantized   true when a DequantizeLinear was added for a uint8/int8 tensor
     * @param removedNodes  the nodes dropped, as "OpType name"
     * @param keptNodes     nodes left in the graph
     * @param spec          the spec written to the sidecar (with the new file's sha256)
     * @param warnings      things the user should check (e.g. an assumed preprocessing preset)
     */
    public record CutResult(Path model, Path sidecar, String cutTensor, String poolOp, int featureDim,
                            boolean dequantized, List<String> removedNodes, int keptNodes, BackboneSpec spec,
                            List<String> warnings) {
        public CutResult {
            removedNodes = List.copyOf(removedNodes);
            warnings = List.copyOf(warnings);
        }

        /** A few lines for the command line. */
        public String toText() {
            StringBuilder sb = new StringBuilder();
            sb.append("cut at '").append(cutTensor).append("' (").append(poolOp).append(dequantized
                    ? ", dequantized" : "").append(") -> output '").append(FEATURES).append("' [N,")
                    .append(featureDim).append("]\n");
            sb.append("removed ").append(removedNodes.size()).append(" nodes")
                    .append(removedNodes.isEmpty() ? "" : ": " + summarise(removedNodes)).append("; kept ")
                    .append(keptNodes).append('\n');
            sb.append("wrote ").append(model).append('\n');
            sb.append("wrote ").append(sidecar).append(" (preset ").append(spec.preset()).append(", ")
                    .append(spec.layout()).append(' ').append(spec.height()).append('x').append(spec.width())
                    .append(")\n");
            warnings.forEach(w -> sb.append("warning: ").append(w).append('\n'));
            return sb.toString();
        }

        private static String summarise(List<String> nodes) {
            return nodes.size() <= 8 ? String.join(", ", nodes)
                    : String.join(", ", nodes.subList(0, 8)) + ", ... (" + (nodes.size() - 8) + " more)";
        }
    }

    private GraphSurgery() {
    }

    /** The sidecar path for a model: same folder and base name, {@code .json} extension. */
    public static Path sidecarOf(Path model) {
        String name = model.getFileName().toString();
        String base = name.toLowerCase(java.util.Locale.ROOT).endsWith(".onnx")
                ? name.substring(0, name.length() - 5) : name;
        return model.resolveSibling(base + ".json");
    }

    /**
     * Cuts {@code in} to a no-top backbone written to {@code out} (atomically), plus its spec sidecar.
     *
     * @param atTensorOrNull cut at this tensor instead of searching for the pooled one
     * @throws ModelException INCOMPATIBLE when no pooling feeding a classifier is found (the message lists
     *                        candidate tensors and suggests {@code --at}) or the named tensor does not exist
     */
    public static CutResult cutToNoTop(Path in, Path out, String atTensorOrNull) throws ModelException, IOException {
        ModelProto model = OnnxModels.load(in);
        OnnxModels.requireEmbeddedData(model, in);
        String what = in.toString();
        GraphProto g = model.getGraph();
        ValueInfoProto input = Graphs.imageInput(model, what);
        Map<String, Integer> producer = new HashMap<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            for (String o : g.getNode(i).getOutputList()) {
                producer.put(o, i);
            }
        }
        Map<String, List<NodeProto>> consumers = new HashMap<>();
        for (NodeProto n : g.getNodeList()) {
            for (String i : n.getInputList()) {
                consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
            }
        }

        String cut;
        OrtProbe.Probed probed;
        if (atTensorOrNull != null) {
            cut = atTensorOrNull.trim();
            if (!producer.containsKey(cut)) {
                throw new ModelException(ModelException.Reason.INCOMPATIBLE, "no node in " + what
                        + " produces a tensor named '" + cut + "'" + (isInputOrWeight(g, cut)
                        ? " (it is an input or a weight, not a computed tensor)" : "")
                        + "; tensors near the end of the graph: " + describeCandidates(model, producer, what));
            }
            probed = OrtProbe.probe(model, List.of(cut), what).get(cut);
        } else {
            Found found = findPooled(model, producer, consumers, input, what);
            cut = found.tensor;
            probed = found.probed;
        }
        NodeProto cutProducer = g.getNode(producer.get(cut));

        // Make room for the output name: an existing tensor called "features" (e.g. a model that already exposes
        // one) is renamed so the new output is unambiguous.
        Set<String> names = Graphs.allNames(g);
        if (names.contains(FEATURES)) {
            String renamed = Graphs.uniqueName(FEATURES + "_original", names);
            g = Graphs.renameTensor(g, FEATURES, renamed);
            if (cut.equals(FEATURES)) {
                cut = renamed;
            }
            names = Graphs.allNames(g);
        }

        GraphProto.Builder gb = g.toBuilder();
        String source = cut;
        boolean dequantized = false;
        int elem = probed.elemType();
        if (elem == TensorProto.DataType.UINT8_VALUE || elem == TensorProto.DataType.INT8_VALUE) {
            String[] sz = quantParams(g, producer, cut);
            if (sz == null) {
                throw new ModelException(ModelException.Reason.INCOMPATIBLE, "tensor '" + cut + "' in " + what
                        + " is " + OnnxModels.elemTypeName(elem) + " but its scale and zero point could not be "
                        + "found from the node that makes it (" + cutProducer.getOpType() + "); choose a float "
                        + "tensor with --at");
            }
            String deq = Graphs.uniqueName(cut + "_dequantized", names);
            names.add(deq);
            gb.addNode(node(OnnxOps.DEQUANTIZE_LINEAR, Graphs.uniqueName("transfer4j_features_dequantize", names),
                    List.of(cut, sz[0], sz[1]), deq, Map.of()));
            source = deq;
            dequantized = true;
        } else if (elem == TensorProto.DataType.FLOAT16_VALUE || elem == TensorProto.DataType.DOUBLE_VALUE
                || elem == TensorProto.DataType.BFLOAT16_VALUE) {
            String cast = Graphs.uniqueName(cut + "_float", names);
            names.add(cast);
            gb.addNode(NodeProto.newBuilder().setOpType("Cast").setName(Graphs.uniqueName("transfer4j_features_cast",
                    names)).addInput(cut).addOutput(cast).addAttribute(AttributeProto.newBuilder().setName("to")
                    .setType(AttributeProto.AttributeType.INT).setI(TensorProto.DataType.FLOAT_VALUE)).build());
            source = cast;
        } else if (elem != TensorProto.DataType.FLOAT_VALUE) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "tensor '" + cut + "' in " + what + " is "
                    + OnnxModels.elemTypeName(elem) + "; features must be numeric (float, float16, double, uint8 "
                    + "or int8)");
        }
        gb.addNode(node(OnnxOps.FLATTEN, Graphs.uniqueName("transfer4j_features_flatten", names), List.of(source),
                FEATURES, Map.of("axis", 1)));

        long[] s = probed.shape();
        long dimL = 1;
        for (int i = 1; i < s.length; i++) {
            dimL *= s[i];
        }
        if (s.length < 1 || dimL <= 0 || dimL > Integer.MAX_VALUE) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "tensor '" + cut + "' in " + what
                    + " has shape " + java.util.Arrays.toString(s) + ", which cannot be flattened to [N,D]");
        }
        int dim = (int) dimL;
        ValueInfoProto featuresOut = OnnxModels.tensorInfo(FEATURES, TensorProto.DataType.FLOAT_VALUE,
                List.of(Graphs.batchDim(input), OnnxModels.dim(dim)));
        GraphProto pruned = Graphs.prune(gb.build(), List.of(featuresOut));

        Set<String> keptNames = new HashSet<>();
        pruned.getNodeList().forEach(n -> keptNames.add(n.getName() + "\u0000" + String.join(",", n.getOutputList())));
        List<String> removed = new ArrayList<>();
        for (NodeProto n : g.getNodeList()) {
            if (!keptNames.contains(n.getName() + "\u0000" + String.join(",", n.getOutputList()))) {
                removed.add(n.getOpType() + " " + (n.getName().isEmpty() ? n.getOutput(0) : n.getName()));
            }
        }

        List<String> warnings = new ArrayList<>();
        BackboneSpec spec = sourceSpec(in, model, input, warnings).withOutputName(FEATURES).withFeatureDim(dim)
                .withModelSha256(null);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(OnnxMetadata.SPEC, SpecJson.toJson(spec));
        ModelProto.Builder mb = model.toBuilder().setGraph(pruned).clearMetadataProps();
        OnnxModels.metadata(model).forEach((k, v) -> {
            // A no-top model has no head: drop what described the removed classifier.
            if (!k.equals(OnnxMetadata.CLASSES) && !k.equals(OnnxMetadata.HEAD)) {
                mb.addMetadataProps(ai.onnx.proto.OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v));
            }
        });
        String doc = model.getDocString();
        mb.setDocString((doc.isEmpty() ? "" : doc + "\n") + "Cut to no-top by transfer4j at tensor '" + cut
                + "' of " + in.getFileName() + ": output 'features' [N," + dim + "].");
        ModelProto cutModel = OnnxModels.withMetadata(mb.build(), meta);

        // Prove the result before replacing anything: ORT must load and run it and agree on the features shape.
        long[] check = OrtProbe.probe(cutModel, List.of(FEATURES), "the cut model").get(FEATURES).shape();
        if (check.length != 2 || check[1] != dim) {
            throw new ModelException(ModelException.Reason.INVALID_MODEL, "the cut model's features came out as "
                    + java.util.Arrays.toString(check) + " instead of [1," + dim + "]; please report this model");
        }
        OnnxModels.save(cutModel, out);
        BackboneSpec withSha = spec.withModelSha256(Hashes.sha256(out));
        Path sidecar = sidecarOf(out);
        SpecJson.write(withSha, sidecar);
        return new CutResult(out, sidecar, cut, cutProducer.getOpType(), dim, dequantized, removed,
                pruned.getNodeCount(), withSha, warnings);
    }

    /**
     * A backbone split before its last stage, for fine-tuning: {@code prefix} maps the image to the stage's input
     * (its only output, named {@code tensor}, NCHW, {@code shape} measured at batch 1), and the nodes of the original
     * model that read {@code tensor} (directly or through each other) are the stage.
     */
    public record StageSplit(ModelProto prefix, String tensor, long[] shape) {
    }

    /**
     * Splits {@code model} at the tensor entering its last stage. When {@code tensorOrNull} is null the tensor is
     * found as a ResNet's: the input of the last strided Conv whose input is read by more than one Conv (the first
     * block of a ResNet stage reads its input twice: its main branch and its projection shortcut).
     *
     * @throws ModelException INCOMPATIBLE when no such tensor exists, or the named one is not computed by the graph
     */
    public static StageSplit splitAtStage(ModelProto model, String tensorOrNull, String what) throws ModelException {
        GraphProto g = model.getGraph();
        Map<String, Integer> producer = new HashMap<>();
        Map<String, List<NodeProto>> consumers = new HashMap<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            for (String o : n.getOutputList()) {
                producer.put(o, i);
            }
            for (String in : n.getInputList()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        String split = tensorOrNull == null ? null : tensorOrNull.trim();
        if (split == null) {
            for (NodeProto n : g.getNodeList()) {
                if (!n.getOpType().equals("Conv") || ints(n, "strides").stream().allMatch(s -> s == 1)) {
                    continue;
                }
                String in = n.getInput(0);
                long convReaders = consumers.getOrDefault(in, List.of()).stream()
                        .filter(c -> c.getOpType().equals("Conv")).count();
                if (convReaders > 1 && producer.containsKey(in)) {
                    split = in; // the last one in graph (topological) order wins
                }
            }
            if (split == null) {
                throw new ModelException(ModelException.Reason.INCOMPATIBLE, "no tensor in " + what + " is read by "
                        + "a strided Conv and a second Conv (a ResNet stage's first block); name the tensor entering "
                        + "the last stage explicitly");
            }
        } else if (!producer.containsKey(split)) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "no node in " + what + " produces a tensor "
                    + "named '" + split + "'" + (isInputOrWeight(g, split) ? " (it is an input or a weight)" : "")
                    + "; name the tensor entering the last stage");
        }
        long[] shape = OrtProbe.probe(model, List.of(split), what).get(split).shape();
        if (shape.length != 4) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "tensor '" + split + "' in " + what
                    + " has shape " + java.util.Arrays.toString(shape) + "; a stage input is NCHW feature maps");
        }
        ValueInfoProto input = Graphs.imageInput(model, what);
        List<ai.onnx.proto.OnnxMl.TensorShapeProto.Dimension> dims = new ArrayList<>();
        dims.add(Graphs.batchDim(input));
        for (int i = 1; i < 4; i++) {
            dims.add(OnnxModels.dim(shape[i]));
        }
        ValueInfoProto out = OnnxModels.tensorInfo(split, TensorProto.DataType.FLOAT_VALUE, dims);
        ModelProto prefix = model.toBuilder().setGraph(Graphs.prune(g, List.of(out))).build();
        return new StageSplit(prefix, split, shape);
    }

    /**
     * What {@code extract.jar --maps} runs: the backbone's prefix up to its last stage ({@link #splitAtStage}), with
     * the stage input flattened to a {@code features} [N, C*H*W] output so that the feature extractor and cache store
     * it as rows, written to {@code out} (with its spec sidecar, whose sha256 is {@code out}'s). Its metadata
     * {@link OnnxMetadata#MAPS_SOURCE} names the full model and the split, for fine-tuning.
     *
     * @param chw the stage input's shape without the batch axis, to unflatten the rows
     */
    public record MapsPrefix(Path model, String tensor, int[] chw, BackboneSpec spec) {
    }

    /** Writes the maps prefix of {@code in} to {@code out}; see {@link MapsPrefix}. */
    public static MapsPrefix writeMapsPrefix(Path in, Path out, String tensorOrNull) throws ModelException,
            IOException {
        ModelProto model = OnnxModels.load(in);
        OnnxModels.requireEmbeddedData(model, in);
        String what = in.toString();
        StageSplit split = splitAtStage(model, tensorOrNull, what);
        ValueInfoProto input = Graphs.imageInput(model, what);
        long dimL = split.shape()[1] * split.shape()[2] * split.shape()[3];
        if (dimL > Integer.MAX_VALUE / 2) {
            throw new ModelException(ModelException.Reason.INCOMPATIBLE, "the stage input '" + split.tensor()
                    + "' of " + what + " has " + dimL + " values per image; too many to cache as rows");
        }
        int dim = (int) dimL;
        GraphProto.Builder gb = split.prefix().getGraph().toBuilder().clearOutput();
        Set<String> names = Graphs.allNames(gb.build());
        gb.addNode(node(OnnxOps.FLATTEN, Graphs.uniqueName("transfer4j_maps_flatten", names),
                List.of(split.tensor()), FEATURES, Map.of("axis", 1)));
        gb.addOutput(OnnxModels.tensorInfo(FEATURES, TensorProto.DataType.FLOAT_VALUE,
                List.of(Graphs.batchDim(input), OnnxModels.dim(dim))));
        List<String> warnings = new ArrayList<>();
        BackboneSpec spec = sourceSpec(in, model, input, warnings).withOutputName(FEATURES).withFeatureDim(dim)
                .withModelSha256(null);
        ModelProto.Builder mb = model.toBuilder().setGraph(gb).clearMetadataProps();
        OnnxModels.metadata(model).forEach((k, v) -> {
            if (!k.equals(OnnxMetadata.CLASSES) && !k.equals(OnnxMetadata.HEAD) && !k.equals(OnnxMetadata.SPEC)) {
                mb.addMetadataProps(ai.onnx.proto.OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v));
            }
        });
        mb.setDocString("The prefix of " + in.getFileName() + " up to its last stage's input '" + split.tensor()
                + "', flattened to 'features' [N," + dim + "] (transfer4j extract --maps).");
        com.google.gson.JsonObject source = new com.google.gson.JsonObject();
        source.addProperty("file", in.toAbsolutePath().normalize().toString());
        source.addProperty("sha256", Hashes.sha256(in));
        source.addProperty("split", split.tensor());
        // Ordered: Map.of's iteration order changes from JVM to JVM, and the prefix's bytes (its sha256, which the
        // train and validation caches must share) would with it.
        Map<String, String> entries = new java.util.LinkedHashMap<>();
        entries.put(OnnxMetadata.SPEC, SpecJson.toJson(spec));
        entries.put(OnnxMetadata.MAPS_SOURCE, source.toString());
        ModelProto prefix = OnnxModels.withMetadata(mb.build(), entries);
        OnnxModels.save(prefix, out);
        BackboneSpec withSha = spec.withModelSha256(Hashes.sha256(out));
        SpecJson.write(withSha, sidecarOf(out));
        int[] chw = {(int) split.shape()[1], (int) split.shape()[2], (int) split.shape()[3]};
        return new MapsPrefix(out, split.tensor(), chw, withSha);
    }

    private static NodeProto node(OnnxOps op, String name, List<String> inputs, String output,
                                  Map<String, Object> attrs) {
        // Built through Tribuo's operator definitions, which check arity and attribute types; the node name is then
        // set to ours (Tribuo would number it from its own context).
        NodeProto n = op.build(new org.tribuo.util.onnx.ONNXContext(), inputs.toArray(String[]::new),
                new String[] {output}, attrs);
        return n.toBuilder().setName(name).build();
    }

    private static boolean isInputOrWeight(GraphProto g, String name) {
        return g.getInputList().stream().anyMatch(v -> v.getName().equals(name))
                || g.getInitializerList().stream().anyMatch(t -> t.getName().equals(name));
    }

    /** The spec of the source model: its sidecar, else its metadata, else the torch preset for its input. */
    static BackboneSpec sourceSpec(Path in, ModelProto model, ValueInfoProto input, List<String> warnings)
            throws ModelException {
        Path sidecar = sidecarOf(in);
        try {
            if (Files.isRegularFile(sidecar)) {
                return checkInput(SpecJson.read(sidecar), input, sidecar.toString());
            }
            Optional<String> meta = OnnxModels.metadata(model, OnnxMetadata.SPEC);
            if (meta.isPresent()) {
                return checkInput(SpecJson.fromJson(meta.get()), input, in + " metadata " + OnnxMetadata.SPEC);
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new ModelException(ModelException.Reason.INVALID_SPEC, "cannot use the spec of " + in + ": "
                    + e.getMessage(), e);
        }
        long[] s = OnnxModels.shape(input);
        Layout layout = Layout.NCHW;
        int h = OrtProbe.DEFAULT_SIDE;
        int w = OrtProbe.DEFAULT_SIDE;
        if (s.length == 4 && s[3] == 3 && s[1] != 3) {
            layout = Layout.NHWC;
            h = s[1] > 0 ? (int) s[1] : h;
            w = s[2] > 0 ? (int) s[2] : w;
        } else if (s.length == 4) {
            h = s[2] > 0 ? (int) s[2] : h;
            w = s[3] > 0 ? (int) s[3] : w;
            if (s[1] != 3) {
                warnings.add("input '" + input.getName() + "' has shape " + java.util.Arrays.toString(s)
                        + "; assumed NCHW");
            }
        }
        if (s.length == 4 && (s[layout == Layout.NCHW ? 2 : 1] <= 0 || s[layout == Layout.NCHW ? 3 : 2] <= 0)) {
            warnings.add("the input size is not fixed in the model; assumed " + h + "x" + w);
        }
        warnings.add("no spec sidecar or " + OnnxMetadata.SPEC + " metadata in " + in.getFileName()
                + "; assumed the torch preset (resize 256, crop 224, ImageNet mean/std, RGB). If the model was "
                + "trained with caffe or tf preprocessing, edit the sidecar's preset");
        return Preset.TORCH.spec(input.getName(), layout, h, w);
    }

    private static BackboneSpec checkInput(BackboneSpec spec, ValueInfoProto input, String where)
            throws ModelException {
        if (!spec.inputName().equals(input.getName())) {
            throw new ModelException(ModelException.Reason.INVALID_SPEC, where + " names input '"
                    + spec.inputName() + "' but the model's input is '" + input.getName() + "'; fix inputName");
        }
        return spec;
    }

    // ---- finding the pooled tensor --------------------------------------------------------------------------------

    private record Found(String tensor, OrtProbe.Probed probed) {
    }

    private static Found findPooled(ModelProto model, Map<String, Integer> producer,
                                    Map<String, List<NodeProto>> consumers, ValueInfoProto input, String what)
            throws ModelException {
        GraphProto g = model.getGraph();
        List<NodeProto> pools = new ArrayList<>();
        for (NodeProto n : g.getNodeList()) {
            if (POOLS.contains(n.getOpType()) && n.getOutputCount() > 0) {
                pools.add(n);
            }
        }
        List<String> rejected = new ArrayList<>();
        if (!pools.isEmpty()) {
            List<String> toProbe = new ArrayList<>();
            for (NodeProto p : pools) {
                toProbe.add(p.getInput(0));
                toProbe.add(p.getOutput(0));
            }
            Map<String, OrtProbe.Probed> shapes = OrtProbe.probe(model, toProbe.stream().distinct().toList(), what);
            boolean nhwc = OnnxModels.shape(input).length == 4 && OnnxModels.shape(input)[3] == 3
                    && OnnxModels.shape(input)[1] != 3;
            // Latest first: the pooling nearest the output is the one that feeds the classifier.
            for (int i = pools.size() - 1; i >= 0; i--) {
                NodeProto p = pools.get(i);
                String out = p.getOutput(0);
                String whyNot = notGlobal(p, g, shapes.get(p.getInput(0)).shape(), nhwc);
                if (whyNot == null && gatesItsInput(p, consumers)) {
                    whyNot = "is a squeeze-and-excitation gate (its result scales its own input)";
                }
                if (whyNot == null && !feedsClassifier(out, consumers, 0)) {
                    whyNot = "does not feed a classifier (Gemm, MatMul, QLinearMatMul or 1x1 Conv)"
                            + (leadsToOutput(out, consumers, g) ? "; its result is already a graph output, so "
                            + "this model looks like a no-top backbone already: use it as it is" : "");
                }
                if (whyNot == null) {
                    return new Found(out, shapes.get(out));
                }
                rejected.add(p.getOpType() + " '" + out + "' " + whyNot);
            }
        }
        throw new ModelException(ModelException.Reason.INCOMPATIBLE, "found no global pooling that feeds a "
                + "classifier in " + what + (rejected.isEmpty() ? "" : " (" + String.join("; ", rejected) + ")")
                + ". Cut at a tensor of your choice with --at TENSOR; tensors near the end of the graph: "
                + describeCandidates(model, producer, what));
    }

    /** Null when the pooling node averages over the whole feature map, else why not. */
    private static String notGlobal(NodeProto p, GraphProto g, long[] inShape, boolean nhwc) {
        switch (p.getOpType()) {
            case "GlobalAveragePool", "GlobalMaxPool", "QLinearGlobalAveragePool" -> {
                return null;
            }
            case "AveragePool" -> {
                List<Long> k = ints(p, "kernel_shape");
                if (inShape.length != 4 || k.size() != 2) {
                    return "is not a 2-D pooling of a 4-D tensor";
                }
                return k.get(0) >= inShape[2] && k.get(1) >= inShape[3] ? null
                        : "has kernel " + k + " smaller than the feature map " + inShape[2] + "x" + inShape[3];
            }
            case "ReduceMean" -> {
                List<Long> axes = ints(p, "axes");
                if (axes.isEmpty() && p.getInputCount() > 1) {
                    axes = initializerInts(g, p.getInput(1));
                }
                int rank = inShape.length;
                Set<Long> norm = new HashSet<>();
                axes.forEach(a -> norm.add(a < 0 ? a + rank : a));
                if (rank == 4 && (norm.equals(Set.of(2L, 3L)) && !nhwc || norm.equals(Set.of(1L, 2L)) && nhwc)) {
                    return null;
                }
                return "reduces axes " + axes + " of a rank-" + rank + " tensor, not its spatial axes";
            }
            default -> {
                return "is not a pooling";
            }
        }
    }

    private static boolean feedsClassifier(String tensor, Map<String, List<NodeProto>> consumers, int depth) {
        if (depth > 6) {
            return false;
        }
        for (NodeProto c : consumers.getOrDefault(tensor, List.of())) {
            String op = c.getOpType();
            if (CLASSIFIERS.contains(op)) {
                return true;
            }
            if ((op.equals("Conv") || op.equals("QLinearConv")) && ints(c, "kernel_shape").stream()
                    .allMatch(k -> k == 1)) {
                return true;
            }
            if (PASS_THROUGH.contains(op) && c.getOutputCount() > 0 && c.getInput(0).equals(tensor)
                    && feedsClassifier(c.getOutput(0), consumers, depth + 1)) {
                return true;
            }
        }
        return false;
    }

    /**
     * True for the pooling inside a squeeze-and-excitation block (EfficientNet, MobileNetV3): within a few nodes its
     * result multiplies the very tensor it pooled. Its pooled vector also feeds 1x1 convolutions, so without this
     * check it could pass for a classifier input.
     */
    private static boolean gatesItsInput(NodeProto pool, Map<String, List<NodeProto>> consumers) {
        String pooledInput = pool.getInput(0);
        List<String> frontier = new ArrayList<>(pool.getOutputList());
        Set<String> seen = new HashSet<>(frontier);
        for (int depth = 0; depth < 6 && !frontier.isEmpty(); depth++) {
            List<String> next = new ArrayList<>();
            for (String t : frontier) {
                for (NodeProto c : consumers.getOrDefault(t, List.of())) {
                    if ((c.getOpType().equals("Mul") || c.getOpType().equals("QLinearMul"))
                            && c.getInputList().contains(pooledInput)) {
                        return true;
                    }
                    for (String o : c.getOutputList()) {
                        if (seen.add(o)) {
                            next.add(o);
                        }
                    }
                }
            }
            frontier = next;
        }
        return false;
    }

    /** True when the tensor, possibly through pass-through ops, is a graph output. */
    private static boolean leadsToOutput(String tensor, Map<String, List<NodeProto>> consumers, GraphProto g) {
        for (int depth = 0; depth < 6; depth++) {
            String t = tensor;
            if (g.getOutputList().stream().anyMatch(o -> o.getName().equals(t))) {
                return true;
            }
            NodeProto next = consumers.getOrDefault(t, List.of()).stream()
                    .filter(c -> PASS_THROUGH.contains(c.getOpType()) && c.getOutputCount() > 0).findFirst()
                    .orElse(null);
            if (next == null) {
                return false;
            }
            tensor = next.getOutput(0);
        }
        return false;
    }

    /** The [scale, zero point] tensor names of a quantized tensor, found from the node that made it. */
    private static String[] quantParams(GraphProto g, Map<String, Integer> producer, String tensor) {
        for (int hops = 0; hops < 8; hops++) {
            Integer idx = producer.get(tensor);
            if (idx == null) {
                return null;
            }
            NodeProto p = g.getNode(idx);
            int[] at = QUANT_PARAMS.get(p.getOpType());
            if (at != null && p.getInputCount() > at[1]) {
                return new String[] {p.getInput(at[0]), p.getInput(at[1])};
            }
            if (!QUANT_TRANSPARENT.contains(p.getOpType())) {
                return null;
            }
            tensor = p.getInput(0);
        }
        return null;
    }

    /** The outputs of the last few compute nodes, with op and shape, for error messages. */
    private static String describeCandidates(ModelProto model, Map<String, Integer> producer, String what) {
        GraphProto g = model.getGraph();
        Set<String> skip = Set.of("Shape", "Gather", "Unsqueeze", "Concat", "Constant", "ConstantOfShape", "Cast",
                "Identity");
        List<String> tensors = new ArrayList<>();
        for (int i = g.getNodeCount() - 1; i >= 0 && tensors.size() < 8; i--) {
            NodeProto n = g.getNode(i);
            if (!skip.contains(n.getOpType()) && n.getOutputCount() > 0) {
                tensors.add(n.getOutput(0));
            }
        }
        java.util.Collections.reverse(tensors);
        Map<String, OrtProbe.Probed> shapes;
        try {
            shapes = OrtProbe.probe(model, tensors, what);
        } catch (ModelException e) {
            shapes = Map.of();
        }
        List<String> parts = new ArrayList<>();
        for (String t : tensors) {
            OrtProbe.Probed p = shapes.get(t);
            parts.add("'" + t + "' (" + g.getNode(producer.get(t)).getOpType()
                    + (p == null ? "" : ", " + OnnxModels.elemTypeName(p.elemType()) + " "
                    + java.util.Arrays.toString(p.shape())) + ")");
        }
        return String.join(", ", parts);
    }

    private static List<Long> ints(NodeProto n, String attr) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(attr)) {
                return a.getIntsList();
            }
        }
        return List.of();
    }

    private static List<Long> initializerInts(GraphProto g, String name) {
        for (TensorProto t : g.getInitializerList()) {
            if (t.getName().equals(name) && t.getDataType() == TensorProto.DataType.INT64_VALUE) {
                if (!t.getRawData().isEmpty()) {
                    var buf = t.getRawData().asReadOnlyByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN)
                            .asLongBuffer();
                    List<Long> out = new ArrayList<>();
                    while (buf.hasRemaining()) {
                        out.add(buf.get());
                    }
                    return out;
                }
                return t.getInt64DataList();
            }
        }
        return List.of();
    }
}
