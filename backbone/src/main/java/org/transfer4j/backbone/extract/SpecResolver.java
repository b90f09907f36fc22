package org.transfer4j.backbone.extract;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;
import org.transfer4j.ModelException;
import org.transfer4j.ModelException.Reason;
import org.transfer4j.backbone.onnx.GraphSurgery;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.backbone.spec.SpecJson;

/**
 * Finds the spec of a model, in order: the caller's override (options), the sidecar {@code X.json} beside
 * {@code X.onnx}, the ONNX custom metadata {@value OnnxMetadata#SPEC}, and finally a guess from the input shape with the
 * {@code torch} preset and a warning saying how to pin it. Every spec found is checked against the model's input, so
 * a spec that does not fit fails here, naming where it came from.
 *
 * <p>Sidecar and metadata specs may name a preset and leave the rest out, e.g.
 * {@code {"preset":"caffe","inputName":"input_1","layout":"NHWC"}}: missing input name, layout and size are taken
 * from the model's input.
 */
public final class SpecResolver {
    /** Input size assumed when the model's height/width are dynamic (the ImageNet size). */
    public static final int DEFAULT_SIZE = 224;

    private static final System.Logger LOG = System.getLogger(SpecResolver.class.getName());

    private SpecResolver() {
    }

    /** Where a spec came from. */
    public enum Source {
        /** {@link BackboneOptions#spec()} or {@link BackboneOptions#specFile()}. */
        OPTIONS,
        /** The sidecar {@code X.json} beside the model. */
        SIDECAR,
        /** The model's custom metadata {@value OnnxMetadata#SPEC}. */
        METADATA,
        /** Guessed from the input shape with the torch preset. */
        INFERRED
    }

    /**
     * A resolved spec (input checked; output name, feature dim and sha256 not yet filled in).
     *
     * @param spec    the spec
     * @param source  where it came from
     * @param origin  human description of the source (a file path, or "metadata of X")
     * @param warning non-null when the spec was guessed: says what was assumed and how to pin it
     */
    public record Resolution(BackboneSpec spec, Source source, String origin, String warning) {
        public Optional<String> warningText() {
            return Optional.ofNullable(warning);
        }
    }

    /**
     * The model's image input as seen in its shape.
     *
     * @param name   tensor name
     * @param layout NCHW or NHWC
     * @param height fixed height, or {@link #DEFAULT_SIZE} when dynamic
     * @param width  fixed width, or {@link #DEFAULT_SIZE} when dynamic
     * @param shape  the declared shape (-1 = dynamic)
     */
    public record ImageInput(String name, Layout layout, int height, int width, long[] shape) {
        /** The declared batch dimension: &gt; 0 when fixed, else -1. */
        public long batchDim() {
            return shape[0];
        }
    }

    /**
     * The sidecar of {@code model}: {@code X.onnx} → {@code X.json}; other names get {@code .json} appended. The same
     * rule as the writers of sidecars ({@link GraphSurgery#sidecarOf}), so what they write is what is read here.
     */
    public static Path sidecarPath(Path model) {
        return GraphSurgery.sidecarOf(model);
    }

    /**
     * Resolves the spec of {@code model} given its inputs (from the ORT session) and custom metadata.
     *
     * @throws ModelException INVALID_SPEC when a given spec is malformed, INCOMPATIBLE when it (or the model's
     *                        input) does not fit an image backbone
     */
    public static Resolution resolve(Path model, BackboneOptions opts, Map<String, NodeInfo> inputs,
            Map<String, String> metadata) throws ModelException {
        Resolution found;
        if (opts.spec() != null) {
            found = new Resolution(opts.spec(), Source.OPTIONS, "the spec given in the options", null);
        } else if (opts.specFile() != null) {
            found = fromFile(opts.specFile(), Source.OPTIONS, model, inputs);
        } else if (Files.exists(sidecarPath(model))) {
            found = fromFile(sidecarPath(model), Source.SIDECAR, model, inputs);
        } else if (metadata.get(OnnxMetadata.SPEC) != null && !metadata.get(OnnxMetadata.SPEC).isBlank()) {
            String origin = "metadata '" + OnnxMetadata.SPEC + "' of " + model;
            found = new Resolution(parse(metadata.get(OnnxMetadata.SPEC), origin, model, inputs), Source.METADATA,
                    origin, null);
        } else {
            found = infer(model, inputs);
        }
        checkInput(found, model, inputs);
        return found;
    }

    private static Resolution fromFile(Path file, Source source, Path model, Map<String, NodeInfo> inputs)
            throws ModelException {
        String json;
        try {
            json = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ModelException(Reason.NOT_FOUND, "spec file " + file + " does not exist", e);
        } catch (IOException e) {
            throw new ModelException(Reason.NOT_FOUND, "cannot read spec file " + file + ": " + e.getMessage(), e);
        }
        return new Resolution(parse(json, file.toString(), model, inputs), source, file.toString(), null);
    }

    /** Parses a spec; a preset-only spec gets its missing input name, layout and size from the model. */
    private static BackboneSpec parse(String json, String origin, Path model, Map<String, NodeInfo> inputs)
            throws ModelException {
        try {
            JsonElement tree = JsonParser.parseString(json);
            if (tree.isJsonObject()) {
                JsonObject obj = tree.getAsJsonObject();
                if (obj.has("preset") && !obj.has("scale")) {
                    fillFromModel(obj, inputs);
                }
            }
            return SpecJson.fromTree(tree);
        } catch (JsonParseException e) {
            throw new ModelException(Reason.INVALID_SPEC, "spec in " + origin + " is not valid JSON: "
                    + e.getMessage() + "; fix it or delete it to use the model's own spec", e);
        } catch (IllegalArgumentException e) {
            throw new ModelException(Reason.INVALID_SPEC, "spec in " + origin + " is invalid: " + e.getMessage(),
                    e);
        }
    }

    private static void fillFromModel(JsonObject obj, Map<String, NodeInfo> inputs) {
        ImageInput in;
        try {
            String name = obj.has("inputName") ? obj.get("inputName").getAsString() : null;
            in = imageInput(inputs, name, obj.has("layout") ? Layout.valueOf(obj.get("layout").getAsString()) : null);
        } catch (ModelException | IllegalArgumentException e) {
            // The model's input does not tell; the spec's own values (or SpecJson's defaults) stand, and
            // checkInput reports a mismatch with the full story.
            return;
        }
        if (!obj.has("inputName")) {
            obj.addProperty("inputName", in.name());
        }
        if (!obj.has("layout")) {
            obj.addProperty("layout", in.layout().name());
        }
        if (!obj.has("height")) {
            obj.addProperty("height", in.height());
        }
        if (!obj.has("width")) {
            obj.addProperty("width", in.width());
        }
    }

    private static Resolution infer(Path model, Map<String, NodeInfo> inputs) throws ModelException {
        ImageInput in = imageInput(inputs, null, null);
        BackboneSpec spec;
        try {
            spec = Preset.TORCH.spec(in.name(), in.layout(), in.height(), in.width());
        } catch (IllegalArgumentException e) {
            throw incompatible("input '" + in.name() + "' cannot take an image: " + e.getMessage(), inputs);
        }
        Path sidecar = sidecarPath(model);
        String warning = String.format(java.util.Locale.ROOT,
                "%s has no spec (no sidecar %s, no '%s' metadata): assuming the torch preset (shorter side %d, "
                        + "center crop %dx%d, ImageNet mean/std, RGB) for input '%s' %s%s. If the model was trained "
                        + "differently, pin its spec by writing %s, e.g. {\"preset\":\"caffe\",\"inputName\":\"%s\","
                        + "\"layout\":\"%s\"}, or, if that folder is read-only, write that JSON anywhere and pass it "
                        + "with --spec FILE.json (BackboneOptions.optSpecFile)",
                model.getFileName(), sidecar.getFileName(), OnnxMetadata.SPEC, spec.resizeShorter(), in.height(),
                in.width(), in.name(), in.layout(),
                dynamicSize(in) ? " (size is dynamic; " + DEFAULT_SIZE + " assumed)" : "", sidecar, in.name(),
                in.layout());
        LOG.log(System.Logger.Level.WARNING, warning);
        return new Resolution(spec, Source.INFERRED, "inferred from the input shape of " + model, warning);
    }

    private static boolean dynamicSize(ImageInput in) {
        int h = in.layout() == Layout.NCHW ? 2 : 1;
        return in.shape()[h] <= 0 || in.shape()[h + 1] <= 0;
    }

    /**
     * The model's image input: the named one, or the only one. Layout comes from {@code layout} when given, else from
     * the shape: NCHW when dim 1 is 3, NHWC when dim 3 is 3.
     *
     * @throws ModelException INCOMPATIBLE, listing the inputs, when there is no single float rank-4 input with
     *                        three channels
     */
    public static ImageInput imageInput(Map<String, NodeInfo> inputs, String name, Layout layout)
            throws ModelException {
        NodeInfo node;
        if (name != null) {
            node = inputs.get(name);
            if (node == null) {
                throw incompatible("has no input named '" + name + "'", inputs);
            }
        } else if (inputs.size() == 1) {
            node = inputs.values().iterator().next();
        } else {
            throw incompatible("must have exactly one input (an image tensor) but has " + inputs.size(), inputs);
        }
        if (!(node.getInfo() instanceof TensorInfo t) || t.type != OnnxJavaType.FLOAT) {
            throw incompatible("input '" + node.getName() + "' is not a float tensor", inputs);
        }
        long[] shape = t.getShape();
        if (shape.length != 4) {
            throw incompatible("input '" + node.getName() + "' has rank " + shape.length
                    + ", an image input needs rank 4 ([N,3,H,W] or [N,H,W,3])", inputs);
        }
        Layout l = layout;
        if (l == null) {
            if (shape[1] == 3) {
                l = Layout.NCHW;
            } else if (shape[3] == 3) {
                l = Layout.NHWC;
            } else {
                throw incompatible("input '" + node.getName() + "' has no dimension of size 3 where the channels "
                        + "must be (dim 1 for NCHW, dim 3 for NHWC); if its channels are dynamic, give the layout in "
                        + "a spec sidecar", inputs);
            }
        }
        long c = l == Layout.NCHW ? shape[1] : shape[3];
        if (c > 0 && c != 3) {
            throw incompatible("input '" + node.getName() + "' has " + c + " channels in its " + l
                    + " channel dimension, an RGB image needs 3", inputs);
        }
        int hi = l == Layout.NCHW ? 2 : 1;
        int h = shape[hi] > 0 ? (int) shape[hi] : DEFAULT_SIZE;
        int w = shape[hi + 1] > 0 ? (int) shape[hi + 1] : DEFAULT_SIZE;
        return new ImageInput(node.getName(), l, h, w, shape.clone());
    }

    /** Checks that the resolved spec's input exists and fits; the message names the spec's origin. */
    private static void checkInput(Resolution r, Path model, Map<String, NodeInfo> inputs) throws ModelException {
        BackboneSpec s = r.spec();
        ImageInput in;
        try {
            in = imageInput(inputs, s.inputName(), s.layout());
        } catch (ModelException e) {
            throw new ModelException(Reason.INCOMPATIBLE, "the spec from " + r.origin() + " does not fit: "
                    + e.getMessage(), e);
        }
        int hi = s.layout() == Layout.NCHW ? 2 : 1;
        long h = in.shape()[hi];
        long w = in.shape()[hi + 1];
        if ((h > 0 && h != s.height()) || (w > 0 && w != s.width())) {
            throw new ModelException(Reason.INCOMPATIBLE, String.format(java.util.Locale.ROOT,
                    "the spec from %s asks for %dx%d (height x width) images but input '%s' of %s is %s; fix "
                            + "height/width in the spec", r.origin(), s.height(), s.width(), in.name(), model,
                    shapeText(in.shape(), null)));
        }
    }

    private static ModelException incompatible(String what, Map<String, NodeInfo> inputs) {
        return new ModelException(Reason.INCOMPATIBLE, "the model " + what + "; its inputs: " + describe(inputs));
    }

    /** "name: FLOAT[N,3,224,224], other: INT64[N,10]", dynamic dimensions by their symbolic names. */
    public static String describe(Map<String, NodeInfo> values) {
        StringJoiner j = new StringJoiner(", ");
        for (NodeInfo n : values.values()) {
            if (n.getInfo() instanceof TensorInfo t) {
                j.add(n.getName() + ": " + t.type + shapeText(t.getShape(), t.getDimensionNames()));
            } else {
                j.add(n.getName() + ": " + n.getInfo());
            }
        }
        return values.isEmpty() ? "(none)" : j.toString();
    }

    static String shapeText(long[] shape, String[] names) {
        StringJoiner j = new StringJoiner(",", "[", "]");
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] > 0) {
                j.add(Long.toString(shape[i]));
            } else if (names != null && i < names.length && names[i] != null && !names[i].isEmpty()) {
                j.add(names[i]);
            } else {
                j.add("?");
            }
        }
        return j.toString();
    }
}
