package org.transfer4j.backbone.onnx;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.backbone.spec.SpecJson;
import org.tribuo.util.onnx.ONNXContext;
import org.tribuo.util.onnx.ONNXInitializer;
import org.tribuo.util.onnx.ONNXOperators;
import org.tribuo.util.onnx.ONNXPlaceholder;
import org.tribuo.util.onnx.ONNXRef;

/**
 * The project's embedded default backbone: ResNet50 (torchvision v1.5 layout) with seeded random weights, so the
 * whole pipeline runs on a fresh machine with nothing downloaded. It is NOT pretrained: its features only capture
 * colour and texture energy, enough for the drawn demo set but not for real photos (fetch or export a pretrained
 * backbone for those).
 *
 * <p>Architecture: 7x7/2 conv 64 + ReLU + 3x3/2 max pool; four stages of 3, 4, 6 and 3 bottleneck blocks (1x1, 3x3,
 * 1x1 convolutions of width 64, 128, 256, 512, expansion 4, stride on the 3x3 conv, a 1x1 projection shortcut on the
 * first block of each stage); global average pool; Flatten to {@code features} [N,2048]. 53 convolutions, batch norm
 * folded into their biases (freshly initialised BN is the identity, so the biases are zero).
 *
 * <p>Weights: He-normal (fan-in) convolutions from {@link Random} seeded by the caller, and the last convolution of
 * every residual block zero ("zero-init residual", Goyal et al. 2017): each block starts as the identity, so an
 * untrained network passes its input's statistics through instead of collapsing to noise.
 */
public final class ResNet50Generator {
    /** Input name, and the spec's input. */
    public static final String INPUT = "input";
    /** Features per image. */
    public static final int FEATURE_DIM = 2048;

    private static final int[] BLOCKS = {3, 4, 6, 3};
    private static final int[] WIDTHS = {64, 128, 256, 512};
    private static final int EXPANSION = 4;

    private final ONNXContext ctx = new ONNXContext();
    private final Random rng;
    private int convs;

    private ResNet50Generator(long seed) {
        this.rng = new Random(seed);
    }

    /**
     * Writes the model to {@code out} (atomically) and its spec sidecar beside it; returns the spec written (with
     * the file's sha256).
     */
    public static BackboneSpec write(Path out, long seed) throws IOException {
        ModelProto model = build(seed);
        OnnxModels.save(model, out);
        BackboneSpec spec = spec().withModelSha256(Hashes.sha256(out));
        SpecJson.write(spec, GraphSurgery.sidecarOf(out));
        return spec;
    }

    /** The spec of generated models (torch preset, NCHW 224x224, output features [N,2048]), without sha256. */
    public static BackboneSpec spec() {
        return Preset.TORCH.spec(INPUT, Layout.NCHW, 224, 224).withOutputName(GraphSurgery.FEATURES)
                .withFeatureDim(FEATURE_DIM);
    }

    /** Builds the model in memory. */
    public static ModelProto build(long seed) {
        return new ResNet50Generator(seed).model(seed);
    }

    private ModelProto model(long seed) {
        ctx.setName("resnet50_notop_seeded");
        // Tribuo's floatInput declares [batch, 3]; the graph input is replaced by the real 4-D one below.
        ONNXPlaceholder input = ctx.floatInput(INPUT, 3);
        ONNXRef<?> x = conv(input, 3, 64, 7, 2, 3, false);
        x = x.apply(OnnxOps.RELU);
        x = x.apply(OnnxOps.MAX_POOL, Map.of("kernel_shape", new int[] {3, 3}, "strides", new int[] {2, 2},
                "pads", new int[] {1, 1, 1, 1}));
        int in = 64;
        for (int stage = 0; stage < BLOCKS.length; stage++) {
            for (int b = 0; b < BLOCKS[stage]; b++) {
                int stride = stage > 0 && b == 0 ? 2 : 1;
                x = bottleneck(x, in, WIDTHS[stage], stride);
                in = WIDTHS[stage] * EXPANSION;
            }
        }
        x = x.apply(OnnxOps.GLOBAL_AVERAGE_POOL);
        x = x.apply(OnnxOps.FLATTEN, Map.of("axis", 1));
        ONNXPlaceholder features = ctx.floatOutput(GraphSurgery.FEATURES, FEATURE_DIM);
        ctx.assignTo(x, features);
        if (convs != 53) {
            throw new IllegalStateException("built " + convs + " convolutions instead of ResNet50's 53");
        }

        GraphProto g = ctx.buildGraph();
        GraphProto graph = g.toBuilder().clearInput().addInput(OnnxModels.tensorInfo(INPUT,
                TensorProto.DataType.FLOAT_VALUE, List.of(OnnxModels.dim("N"), OnnxModels.dim(3),
                        OnnxModels.dim(224), OnnxModels.dim(224))))
                .clearOutput().addOutput(OnnxModels.tensorInfo(GraphSurgery.FEATURES,
                        TensorProto.DataType.FLOAT_VALUE, List.of(OnnxModels.dim("N"),
                                OnnxModels.dim(FEATURE_DIM))))
                .build();
        ModelProto model = ModelProto.newBuilder()
                .setIrVersion(8)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OnnxOps.OPSET))
                .setProducerName("transfer4j")
                .setProducerVersion("0.1.0")
                .setDocString("ResNet50 no-top with seeded random weights (seed " + seed + "). NOT PRETRAINED: "
                        + "it only runs the pipeline. Use `model.jar fetch resnet50-keras` for ImageNet weights.")
                .setGraph(graph)
                .build();
        return OnnxModels.withMetadata(model, Map.of(
                OnnxMetadata.SPEC, SpecJson.toJson(spec()),
                OnnxMetadata.GENERATOR, "{\"model\":\"resnet50\",\"seed\":" + seed + ",\"pretrained\":false,"
                        + "\"init\":\"he-normal fan-in, zero-init residual, folded identity batch norm\"}"));
    }

    /** Bottleneck: 1x1 reduce, 3x3 (with the stride), 1x1 expand (zero-init), plus identity or projection. */
    private ONNXRef<?> bottleneck(ONNXRef<?> x, int in, int width, int stride) {
        int out = width * EXPANSION;
        ONNXRef<?> y = conv(x, in, width, 1, 1, 0, false).apply(OnnxOps.RELU);
        y = conv(y, width, width, 3, stride, 1, false).apply(OnnxOps.RELU);
        y = conv(y, width, out, 1, 1, 0, true);
        ONNXRef<?> shortcut = in == out && stride == 1 ? x : conv(x, in, out, 1, stride, 0, false);
        return ctx.operation(ONNXOperators.ADD, List.of(y, shortcut), "add").apply(OnnxOps.RELU);
    }

    private ONNXRef<?> conv(ONNXRef<?> x, int in, int out, int k, int stride, int pad, boolean zero) {
        convs++;
        int fanIn = in * k * k;
        double std = Math.sqrt(2.0 / fanIn);
        ONNXInitializer w = ctx.floatTensor("conv" + convs + "_w", List.of(out, in, k, k), fb -> {
            if (!zero) {
                for (int i = 0, n = fb.capacity(); i < n; i++) {
                    fb.put(i, (float) (rng.nextGaussian() * std));
                }
            }
        });
        ONNXInitializer b = ctx.floatTensor("conv" + convs + "_b", List.of(out), fb -> { });
        return ctx.operation(OnnxOps.CONV, List.of(x, w, b), "conv" + convs, Map.of(
                "kernel_shape", new int[] {k, k}, "strides", new int[] {stride, stride},
                "pads", new int[] {pad, pad, pad, pad}));
    }
}
