package org.transfer4j.backbone.quantize;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.transfer4j.backbone.onnx.GraphSurgery;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.onnx.OnnxOps;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.backbone.spec.SpecJson;
import org.tribuo.util.onnx.ONNXContext;
import org.tribuo.util.onnx.ONNXOperators;
import org.tribuo.util.onnx.ONNXRef;

/**
 * Tiny float CNN backbones built in code for the quantization tests (shared with head and tools tests through the
 * backbone test-jar), and seeded photos to calibrate them on. Input {@code image} [N,3,16,16], output
 * {@code features}.
 */
public final class QuantizeTestModels {
    public static final String INPUT = "image";
    public static final int SIDE = 16;

    /** The architectures. */
    public enum Kind {
        /** Conv 3->4 (3x3, bias) + Relu, GlobalAveragePool, Flatten: features [N,4]. Small enough to bound exactly. */
        ONE_CONV(4),
        /**
         * A residual block: Conv 3->8 + Relu, MaxPool 2x2, Conv 8->8 + Relu, Conv 1x1 8->8, Add with the pooled
         * tensor, Relu, GlobalAveragePool, Flatten, Gemm 8->6 + Relu, Gemm 6->5: features [N,5].
         */
        RESIDUAL(5);

        private final int featureDim;

        Kind(int featureDim) {
            this.featureDim = featureDim;
        }

        public int featureDim() {
            return featureDim;
        }
    }

    private QuantizeTestModels() {
    }

    public static ModelProto build(Kind kind, long seed) {
        Random rng = new Random(seed);
        ONNXContext ctx = new ONNXContext();
        ONNXRef<?> x = ctx.floatInput(INPUT, 3);
        ONNXRef<?> f;
        if (kind == Kind.ONE_CONV) {
            f = conv(ctx, x, 3, 4, 3, "conv", rng).apply(OnnxOps.RELU).apply(OnnxOps.GLOBAL_AVERAGE_POOL)
                    .apply(OnnxOps.FLATTEN, Map.of("axis", 1));
        } else {
            ONNXRef<?> pooled = conv(ctx, x, 3, 8, 3, "conv1", rng).apply(OnnxOps.RELU).apply(OnnxOps.MAX_POOL,
                    Map.of("kernel_shape", new int[] {2, 2}, "strides", new int[] {2, 2}));
            ONNXRef<?> y = conv(ctx, pooled, 8, 8, 3, "conv2", rng).apply(OnnxOps.RELU);
            y = conv(ctx, y, 8, 8, 1, "conv3", rng);
            ONNXRef<?> sum = ctx.operation(OnnxOps.ADD, List.of(y, pooled), "residual").apply(OnnxOps.RELU);
            ONNXRef<?> v = sum.apply(OnnxOps.GLOBAL_AVERAGE_POOL).apply(OnnxOps.FLATTEN, Map.of("axis", 1));
            v = gemm(ctx, v, 8, 6, "fc1", rng).apply(OnnxOps.RELU);
            f = gemm(ctx, v, 6, 5, "fc2", rng);
        }
        ctx.assignTo(f, ctx.floatOutput("features", kind.featureDim()));
        var batch = OnnxModels.dim("N");
        GraphProto g = ctx.buildGraph().toBuilder().clearInput()
                .addInput(OnnxModels.tensorInfo(INPUT, TensorProto.DataType.FLOAT_VALUE, List.of(batch,
                        OnnxModels.dim(3), OnnxModels.dim(SIDE), OnnxModels.dim(SIDE))))
                .clearOutput().addOutput(OnnxModels.tensorInfo("features", TensorProto.DataType.FLOAT_VALUE,
                        List.of(batch, OnnxModels.dim(kind.featureDim()))))
                .build();
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("transfer4j-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OnnxOps.OPSET))
                .setGraph(g).build();
    }

    /** The spec of the test models: torch preset at 16x16. */
    public static BackboneSpec spec() {
        return Preset.TORCH.spec(INPUT, Layout.NCHW, SIDE, SIDE);
    }

    /** Writes the model and its spec sidecar. */
    public static Path write(Kind kind, long seed, Path file) throws IOException {
        OnnxModels.save(build(kind, seed), file);
        SpecJson.write(spec(), GraphSurgery.sidecarOf(file));
        return file;
    }

    /**
     * Writes {@code perClass} seeded noise-and-gradient PNGs (24..40 pixels a side) into {@code root/a} and
     * {@code root/b}: a folder dataset.
     */
    public static Path images(Path root, int perClass, long seed) throws IOException {
        Random rng = new Random(seed);
        for (String cls : List.of("a", "b")) {
            Path dir = root.resolve(cls);
            Files.createDirectories(dir);
            for (int i = 0; i < perClass; i++) {
                int w = 24 + rng.nextInt(17);
                int h = 24 + rng.nextInt(17);
                BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
                int tint = rng.nextInt(0xFFFFFF);
                for (int yy = 0; yy < h; yy++) {
                    for (int xx = 0; xx < w; xx++) {
                        int r = (((tint >> 16) & 255) + xx * 4 + rng.nextInt(40)) & 255;
                        int gr = (((tint >> 8) & 255) + yy * 4 + rng.nextInt(40)) & 255;
                        int b = ((tint & 255) + rng.nextInt(80)) & 255;
                        img.setRGB(xx, yy, (r << 16) | (gr << 8) | b);
                    }
                }
                ImageIO.write(img, "png", dir.resolve(String.format("%s%02d.png", cls, i)).toFile());
            }
        }
        return root;
    }

    private static ONNXRef<?> conv(ONNXContext ctx, ONNXRef<?> x, int in, int out, int k, String name, Random rng) {
        double std = Math.sqrt(2.0 / (in * k * k));
        var w = ctx.floatTensor(name + "_w", List.of(out, in, k, k), fb -> fill(fb, rng, std));
        var b = ctx.floatTensor(name + "_b", List.of(out), fb -> fill(fb, rng, 0.1));
        return ctx.operation(OnnxOps.CONV, List.of(x, w, b), name, Map.of("kernel_shape", new int[] {k, k},
                "pads", new int[] {k / 2, k / 2, k / 2, k / 2}));
    }

    private static ONNXRef<?> gemm(ONNXContext ctx, ONNXRef<?> x, int in, int out, String name, Random rng) {
        var w = ctx.floatTensor(name + "_w", List.of(in, out), fb -> fill(fb, rng, Math.sqrt(2.0 / in)));
        var b = ctx.floatTensor(name + "_b", List.of(out), fb -> fill(fb, rng, 0.1));
        return ctx.operation(ONNXOperators.GEMM, List.of(x, w, b), name);
    }

    private static void fill(FloatBuffer fb, Random rng, double std) {
        for (int i = 0; i < fb.capacity(); i++) {
            fb.put(i, (float) (rng.nextGaussian() * std));
        }
    }
}
