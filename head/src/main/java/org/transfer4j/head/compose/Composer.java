package org.transfer4j.head.compose;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.transfer4j.ModelException;
import org.transfer4j.ModelException.Reason;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.io.ReproducibleTime;
import org.transfer4j.backbone.onnx.Graphs;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.onnx.OnnxOps;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.head.HeadWeights;
import org.tribuo.util.onnx.ONNXContext;
import org.tribuo.util.onnx.ONNXOperators;
import org.tribuo.util.onnx.ONNXPlaceholder;
import org.tribuo.util.onnx.ONNXRef;

/**
 * Splices a head onto its backbone so users deploy one file: backbone graph, then (Flatten when the features are
 * [N,C,1,1]) Gemm, Relu, Gemm, Softmax (or Gemm, Softmax for a head without hidden layer). The model's outputs are
 * {@code probabilities} [N,K] and {@code features} [N,D]; its metadata ({@link OnnxMetadata}) carries the spec,
 * the class names (a JSON array), the head's description and provenance, and what was composed when.
 *
 * <p>The head is built with Tribuo's {@link ONNXContext} and its node, tensor and initializer names are prefixed with
 * {@value #PREFIX} so they cannot collide with the backbone's. Composition refuses a backbone whose file hash differs
 * from the one the head was trained on: its features would mean something else and the head would answer nonsense.
 */
public final class Composer {
    /** Prefix of every name the head adds to the graph. */
    public static final String PREFIX = "transfer4j_head/";
    private static final String PROBABILITIES = OnnxMetadata.PROBABILITIES_OUTPUT;
    private static final String FEATURES = OnnxMetadata.FEATURES_OUTPUT;

    /**
     * What was composed.
     *
     * @param model          the file written
     * @param backboneSha256 sha256 of the backbone file
     * @param featuresTensor the backbone tensor the head reads
     * @param featureDim     D
     * @param hidden         H (0 = no hidden layer)
     * @param classes        class names, index = probability column
     */
    public record ComposedModel(Path model, String backboneSha256, String featuresTensor, int featureDim, int hidden,
                                List<String> classes) {
        public ComposedModel {
            classes = List.copyOf(classes);
        }
    }

    private Composer() {
    }

    /**
     * Composes {@code backbone} and the head train-head wrote in {@code headDir} into {@code out}, with the head's
     * provenance as its {@code transfer4j.head} metadata (what {@code model.jar compose} writes).
     */
    public static ComposedModel compose(Path backbone, Path headDir, Path out) throws ModelException, IOException {
        HeadFiles.Contents h = HeadFiles.read(headDir);
        return compose(backbone, h.weights(), Map.of(OnnxMetadata.HEAD, HeadFiles.metadataJson(h.weights(), h.info())),
                out);
    }

    /**
     * Composes {@code backbone} and {@code head} into {@code out} (written atomically).
     *
     * @param extraMetadata more metadata entries, written as given; pass the head's provenance as
     *                      {@code transfer4j.head} (e.g. {@link HeadFiles#metadataJson}), otherwise a summary of the
     *                      head is written there. {@code transfer4j.spec} and {@code transfer4j.classes} come from
     *                      the head and cannot be overridden.
     * @throws ModelException INCOMPATIBLE when the backbone is not the one the head was trained on (sha256) or its
     *                        features do not have the head's dimension
     */
    public static ComposedModel compose(Path backbone, HeadWeights head, Map<String, String> extraMetadata, Path out)
            throws ModelException, IOException {
        Map<String, String> extra = extraMetadata == null ? Map.of() : extraMetadata;
        for (String reserved : List.of(OnnxMetadata.SPEC, OnnxMetadata.CLASSES)) {
            if (extra.containsKey(reserved)) {
                throw new IllegalArgumentException("extra metadata may not set '" + reserved
                        + "'; the composer derives it from the head");
            }
        }
        String headJson = extra.get(OnnxMetadata.HEAD);
        if (headJson != null) {
            try {
                if (!JsonParser.parseString(headJson).isJsonObject()) {
                    throw new JsonParseException("not a JSON object");
                }
            } catch (JsonParseException e) {
                throw new IllegalArgumentException("extra metadata '" + OnnxMetadata.HEAD
                        + "' must be a JSON object: " + e.getMessage(), e);
            }
        }

        ModelProto model = OnnxModels.load(backbone);
        OnnxModels.requireEmbeddedData(model, backbone);
        String sha = Hashes.sha256(backbone);
        BackboneSpec spec = head.spec();
        if (spec.modelSha256() != null && !spec.modelSha256().equals(sha)) {
            throw new ModelException(Reason.INCOMPATIBLE, "the head was trained on features of a backbone with "
                    + "sha256 " + spec.modelSha256() + ", but " + backbone + " has sha256 " + sha + "; compose with "
                    + "the backbone the head was trained on (the model named in its feature cache), or extract "
                    + "features with " + backbone.getFileName() + " and train a new head");
        }
        long opset = OnnxModels.opsetVersion(model, "");
        if (opset < 7) {
            throw new ModelException(Reason.INCOMPATIBLE, backbone + " imports ONNX opset " + opset
                    + "; composing needs opset 7 or newer (Gemm with broadcasting); convert the model first");
        }
        String what = "backbone " + backbone;
        Graphs.FeatureOutput feat = Graphs.featureOutput(model, spec.outputName(), what);
        if (feat.dim() != head.featureDim()) {
            throw new ModelException(Reason.INCOMPATIBLE, "the head takes " + head.featureDim()
                    + " features but " + backbone + " gives " + feat.dim() + " (output '" + feat.name()
                    + "'); compose with the backbone the head was trained on, or train a head on this backbone's "
                    + "features");
        }

        GraphProto g = model.getGraph();
        String featTensor = feat.name();
        // The composed outputs must own their names: rename backbone tensors that already use them.
        for (String name : List.of(PROBABILITIES, FEATURES)) {
            boolean keepAsIs = name.equals(FEATURES) && featTensor.equals(FEATURES) && feat.rank() == 2;
            Set<String> names = Graphs.allNames(g);
            if (names.contains(name) && !keepAsIs) {
                String renamed = Graphs.uniqueName(name + "_backbone", names);
                g = Graphs.renameTensor(g, name, renamed);
                if (featTensor.equals(name)) {
                    featTensor = renamed;
                }
            }
        }
        Set<String> taken = Graphs.allNames(g);
        String prefix = PREFIX;
        for (int i = 2; startsWithAny(taken, prefix); i++) {
            prefix = "transfer4j_head" + i + "/";
        }

        GraphProto headGraph = headGraph(head, featTensor, feat.rank() != 2);
        GraphProto.Builder merged = g.toBuilder();
        Map<String, String> rename = new HashMap<>();
        for (TensorProto t : headGraph.getInitializerList()) {
            rename.put(t.getName(), prefix + t.getName());
            merged.addInitializer(t.toBuilder().setName(prefix + t.getName()));
        }
        for (NodeProto n : headGraph.getNodeList()) {
            for (String o : n.getOutputList()) {
                if (!o.equals(PROBABILITIES) && !o.equals(FEATURES)) {
                    rename.put(o, prefix + o);
                }
            }
        }
        for (NodeProto n : headGraph.getNodeList()) {
            NodeProto.Builder nb = n.toBuilder().setName(prefix + n.getName());
            for (int i = 0; i < nb.getInputCount(); i++) {
                nb.setInput(i, rename.getOrDefault(nb.getInput(i), nb.getInput(i)));
            }
            for (int i = 0; i < nb.getOutputCount(); i++) {
                nb.setOutput(i, rename.getOrDefault(nb.getOutput(i), nb.getOutput(i)));
            }
            merged.addNode(nb);
        }
        int k = head.numClasses();
        List<ValueInfoProto> outputs = List.of(
                OnnxModels.tensorInfo(PROBABILITIES, TensorProto.DataType.FLOAT_VALUE,
                        List.of(feat.batchDim(), OnnxModels.dim(k))),
                OnnxModels.tensorInfo(FEATURES, TensorProto.DataType.FLOAT_VALUE,
                        List.of(feat.batchDim(), OnnxModels.dim(feat.dim()))));
        GraphProto composedGraph = Graphs.prune(merged.build(), outputs);

        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(OnnxMetadata.SPEC, SpecJson.toJson(spec.featureDim() == 0 ? spec.withFeatureDim(feat.dim())
                : spec));
        JsonArray classes = new JsonArray();
        head.classes().forEach(classes::add);
        meta.put(OnnxMetadata.CLASSES, classes.toString());
        meta.put(OnnxMetadata.HEAD, headJson != null ? headJson : HeadFiles.metadataJson(head, null));
        JsonObject composed = new JsonObject();
        composed.addProperty("backboneFile", backbone.getFileName().toString());
        composed.addProperty("backboneSha256", sha);
        composed.addProperty("featuresTensor", feat.name());
        composed.addProperty("createdAt", ReproducibleTime.now().toString());
        meta.put(OnnxMetadata.COMPOSED, composed.toString());
        extra.forEach((key, v) -> {
            if (!key.equals(OnnxMetadata.HEAD)) {
                meta.put(key, v);
            }
        });
        String doc = model.getDocString();
        ModelProto result = OnnxModels.withMetadata(model.toBuilder().setGraph(composedGraph)
                .setDocString((doc.isEmpty() ? "" : doc + "\n") + "Composed by transfer4j: " + backbone.getFileName()
                        + " + a " + (head.hidden() == 0 ? "softmax" : head.hidden() + "-unit") + " head over "
                        + k + " classes.").build(), meta);

        // Prove it before writing: ORT must run it and agree on both output shapes.
        Map<String, long[]> shapes = Graphs.measure(result, List.of(PROBABILITIES, FEATURES), "the composed model");
        if (!Arrays.equals(shapes.get(PROBABILITIES), new long[] {1, k})
                || !Arrays.equals(shapes.get(FEATURES), new long[] {1, feat.dim()})) {
            throw new ModelException(Reason.INVALID_MODEL, "the composed model gives probabilities "
                    + Arrays.toString(shapes.get(PROBABILITIES)) + " and features "
                    + Arrays.toString(shapes.get(FEATURES)) + " instead of [1," + k + "] and [1," + feat.dim()
                    + "]; please report this backbone");
        }
        OnnxModels.save(result, out);
        return new ComposedModel(out, sha, feat.name(), feat.dim(), head.hidden(), head.classes());
    }

    private static boolean startsWithAny(Set<String> names, String prefix) {
        return names.stream().anyMatch(n -> n.startsWith(prefix));
    }

    /**
     * The head alone, reading {@code featTensor}; its initializers and intermediate names are unprefixed here (the
     * caller prefixes them), its outputs are {@code probabilities} and, unless the backbone already provides it as
     * [N,D], {@code features}.
     */
    static GraphProto headGraph(HeadWeights head, String featTensor, boolean flatten) {
        ONNXContext ctx = new ONNXContext();
        int d = head.featureDim();
        int h = head.hidden();
        int k = head.numClasses();
        ONNXPlaceholder x = ctx.floatInput(featTensor, d);
        ONNXRef<?> f = flatten ? x.apply(OnnxOps.FLATTEN, Map.of("axis", 1)) : x;
        ONNXRef<?> z = f;
        int in = d;
        if (h > 0) {
            var w1 = ctx.floatTensor("w1", List.of(d, h), fb -> fb.put(head.w1()));
            var b1 = ctx.floatTensor("b1", List.of(h), fb -> fb.put(head.b1()));
            z = ctx.operation(ONNXOperators.GEMM, List.of(f, w1, b1), "hidden").apply(OnnxOps.RELU);
            in = h;
        }
        var w2 = ctx.floatTensor("w2", List.of(in, k), fb -> fb.put(head.w2()));
        var b2 = ctx.floatTensor("b2", List.of(k), fb -> fb.put(head.b2()));
        ONNXRef<?> probs = ctx.operation(ONNXOperators.GEMM, List.of(z, w2, b2), "logits")
                .apply(ONNXOperators.SOFTMAX, Map.of("axis", 1));
        ctx.assignTo(probs, ctx.floatOutput(PROBABILITIES, k));
        if (!featTensor.equals(FEATURES)) {
            ctx.assignTo(f, ctx.floatOutput(FEATURES, d));
        }
        return ctx.buildGraph();
    }
}
