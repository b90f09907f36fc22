package org.transfer4j.testing;

import ai.onnx.proto.OnnxMl;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.transfer4j.backbone.spec.Layout;
import org.tribuo.util.onnx.ONNXAttribute;
import org.tribuo.util.onnx.ONNXContext;
import org.tribuo.util.onnx.ONNXNode;
import org.tribuo.util.onnx.ONNXOperator;
import org.tribuo.util.onnx.ONNXOperators;
import org.tribuo.util.onnx.ONNXPlaceholder;
import org.tribuo.util.onnx.ONNXRef;

/**
 * Tiny ONNX image "backbones" built in code with Tribuo's {@link ONNXContext}, so unit tests need nothing outside the
 * repository (the way ONNX Runtime's own tests use {@code ModelGenerators}).
 *
 * <p>The math is simple enough to assert exact features: each channel is multiplied by {@link #WEIGHTS} and averaged
 * over the image, so {@code features[c] = WEIGHTS[c] * mean(channel c)} with channels in tensor order. See
 * {@link #expected}.
 *
 * <pre>
 *   NCHW: input [N,3,H,W] → Mul(w[1,3,1,1]) → GlobalAveragePool [N,3,1,1] → Flatten → features [N,3]
 *   NHWC: input [N,H,W,3] → Mul(w[3])        → ReduceMean(axes 1,2)      →           features [N,3]
 * </pre>
 */
public final class TinyModels {
    /** Per-channel multipliers (tensor channel order). */
    public static final float[] WEIGHTS = {1f, -2f, 0.5f};

    private TinyModels() {
    }

    /** Features the tiny model computes for one image of {@code h*w*3} floats in {@code layout}. */
    public static float[] expected(FloatBuffer batch, int image, Layout layout, int h, int w) {
        FloatBuffer all = batch.duplicate().clear();
        double[] sum = new double[3];
        int base = image * 3 * h * w;
        for (int c = 0; c < 3; c++) {
            for (int p = 0; p < h * w; p++) {
                int idx = layout == Layout.NCHW ? c * h * w + p : p * 3 + c;
                sum[c] += all.get(base + idx);
            }
        }
        float[] f = new float[3];
        for (int c = 0; c < 3; c++) {
            f[c] = (float) (WEIGHTS[c] * sum[c] / (h * w));
        }
        return f;
    }

    /** Operators Tribuo's opset enum lacks; same opset (13), default domain. */
    private enum Ops implements ONNXOperator {
        GLOBAL_AVERAGE_POOL("GlobalAveragePool", Map.of()),
        FLATTEN("Flatten", Map.of("axis", new ONNXAttribute("axis", OnnxMl.AttributeProto.AttributeType.INT, false)));

        private final String name;
        private final Map<String, ONNXAttribute> attributes;

        Ops(String name, Map<String, ONNXAttribute> attributes) {
            this.name = name;
            this.attributes = attributes;
        }

        @Override
        public String getOpName() {
            return name;
        }

        @Override
        public int getNumInputs() {
            return 1;
        }

        @Override
        public int getNumOptionalInputs() {
            return 0;
        }

        @Override
        public int getNumOutputs() {
            return 1;
        }

        @Override
        public Map<String, ONNXAttribute> getAttributes() {
            return attributes;
        }

        @Override
        public Set<String> getMandatoryAttributeNames() {
            return Set.of();
        }

        @Override
        public int getOpVersion() {
            return ONNXOperators.getOpsetVersion();
        }

        @Override
        public String getOpDomain() {
            return null;
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Defaults: NCHW, 8x8, dynamic batch, input "image", output "features" [N,3]. */
    public static final class Builder {
        private Layout layout = Layout.NCHW;
        private int height = 8;
        private int width = 8;
        private boolean dynamicSize;
        private int batch;
        private String inputName = "image";
        private String outputName = "features";
        private boolean rank4;
        private boolean logits;
        private boolean featureMap;
        private final Map<String, String> metadata = new LinkedHashMap<>();

        private Builder() {
        }

        public Builder layout(Layout l) {
            this.layout = l;
            return this;
        }

        public Builder size(int h, int w) {
            this.height = h;
            this.width = w;
            return this;
        }

        /** Height and width declared as symbolic dimensions. */
        public Builder dynamicSize() {
            this.dynamicSize = true;
            return this;
        }

        /** A fixed batch dimension (0 = dynamic, the default). */
        public Builder fixedBatch(int n) {
            this.batch = n;
            return this;
        }

        public Builder inputName(String n) {
            this.inputName = n;
            return this;
        }

        /** Name of the pooled output (default {@code features}). */
        public Builder outputName(String n) {
            this.outputName = n;
            return this;
        }

        /** Pooled output as [N,3,1,1] (NCHW only) instead of [N,3]. */
        public Builder rank4Output() {
            this.rank4 = true;
            return this;
        }

        /** Adds an output {@code logits} [N,1] = sum of the features. */
        public Builder withLogits() {
            this.logits = true;
            return this;
        }

        /** Adds an output {@code map}: the un-pooled weighted image, same shape as the input. */
        public Builder withFeatureMap() {
            this.featureMap = true;
            return this;
        }

        public Builder metadata(String key, String value) {
            metadata.put(key, value);
            return this;
        }

        /** Writes the model to {@code file} and returns it. */
        public Path write(Path file) {
            if (rank4 && layout != Layout.NCHW) {
                throw new IllegalArgumentException("rank-4 output is built for NCHW only");
            }
            ONNXContext ctx = new ONNXContext();
            ctx.setName("tiny-" + layout.name().toLowerCase(java.util.Locale.ROOT));
            // Placeholders only provide names here; the real rank-4 value infos replace them below.
            ONNXPlaceholder in = ctx.floatInput(inputName, 3);
            ONNXRef<?> w = ctx.floatTensor("w", layout == Layout.NCHW ? List.of(1, 3, 1, 1) : List.of(3),
                    fb -> fb.put(WEIGHTS));
            ONNXNode weighted = in.apply(ONNXOperators.MUL, w, "weighted");
            ONNXRef<?> pooled;
            if (layout == Layout.NCHW) {
                ONNXNode gap = ctx.operation(Ops.GLOBAL_AVERAGE_POOL, List.of(weighted), "gap");
                pooled = rank4 ? gap : ctx.operation(Ops.FLATTEN, List.of(gap), "flat", Map.of("axis", 1));
            } else {
                pooled = weighted.apply(ONNXOperators.REDUCE_MEAN, Map.of("axes", new int[] {1, 2}, "keepdims", 0));
            }
            List<OnnxMl.ValueInfoProto> outs = new ArrayList<>();
            ctx.assignTo(pooled, ctx.floatOutput(outputName, 3));
            outs.add(value(outputName, rank4 ? new Object[] {batchDim(), 3, 1, 1} : new Object[] {batchDim(), 3}));
            if (logits) {
                ONNXNode sum = ctx.operation(ONNXOperators.REDUCE_SUM,
                        List.of(pooled, ctx.array("axes", new long[] {1})), "sum", Map.of("keepdims", 1));
                ONNXRef<?> flatSum = rank4 ? ctx.operation(Ops.FLATTEN, List.of(sum), "flat_sum", Map.of("axis", 1))
                        : sum;
                ctx.assignTo(flatSum, ctx.floatOutput("logits", 1));
                outs.add(value("logits", new Object[] {batchDim(), 1}));
            }
            if (featureMap) {
                ctx.assignTo(weighted, ctx.floatOutput("map", 3));
                outs.add(value("map", inputDims()));
            }
            OnnxMl.GraphProto graph = ctx.buildGraph().toBuilder()
                    .clearInput().addInput(value(inputName, inputDims()))
                    .clearOutput().addAllOutput(outs)
                    .build();
            return save(graph, metadata, file);
        }

        private Object batchDim() {
            return batch > 0 ? (Object) batch : "batch";
        }

        private Object[] inputDims() {
            Object h = dynamicSize ? "height" : (Object) height;
            Object wd = dynamicSize ? "width" : (Object) width;
            return layout == Layout.NCHW ? new Object[] {batchDim(), 3, h, wd} : new Object[] {batchDim(), h, wd, 3};
        }
    }

    /** A model whose only input is a float [N,10] vector (not an image): output {@code features} [N,1]. */
    public static Path nonImage(Path file) {
        ONNXContext ctx = new ONNXContext();
        ONNXPlaceholder in = ctx.floatInput("vector", 10);
        ONNXNode sum = ctx.operation(ONNXOperators.REDUCE_SUM, List.of(in, ctx.array("axes", new long[] {1})), "sum",
                Map.of("keepdims", 1));
        ctx.assignTo(sum, ctx.floatOutput("features", 1));
        return save(ctx.buildGraph(), Collections.emptyMap(), file);
    }

    /** A float tensor value info; dims are Integers (fixed) or Strings (symbolic). */
    private static OnnxMl.ValueInfoProto value(String name, Object[] dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (Object d : dims) {
            OnnxMl.TensorShapeProto.Dimension.Builder b = OnnxMl.TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Integer i) {
                b.setDimValue(i);
            } else {
                b.setDimParam((String) d);
            }
            shape.addDim(b);
        }
        OnnxMl.TypeProto type = OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                .setElemType(OnnxMl.TensorProto.DataType.FLOAT.getNumber()).setShape(shape)).build();
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(type).build();
    }

    private static Path save(OnnxMl.GraphProto graph, Map<String, String> metadata, Path file) {
        OnnxMl.ModelProto.Builder model = OnnxMl.ModelProto.newBuilder()
                .setIrVersion(8)
                .addOpsetImport(ONNXOperators.getOpsetProto())
                .setProducerName("transfer4j-tests")
                .setGraph(graph);
        metadata.forEach((k, v) -> model.addMetadataProps(
                OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        try (OutputStream out = Files.newOutputStream(file)) {
            model.build().writeTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write tiny model " + file, e);
        }
        return file;
    }
}
