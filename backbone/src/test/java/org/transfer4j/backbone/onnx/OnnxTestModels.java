package org.transfer4j.backbone.onnx;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.tribuo.util.onnx.ONNXContext;
import org.tribuo.util.onnx.ONNXOperators;
import org.tribuo.util.onnx.ONNXRef;

/**
 * Tiny image models built in code for the graph-tool tests (and, through the backbone test-jar, for composition
 * tests in head): input {@code image} float [N,3,8,8], one 3x3 conv with 4 channels, ReLU, then a variable ending.
 */
public final class OnnxTestModels {
    public static final String INPUT = "image";
    public static final int SIDE = 8;
    public static final int CHANNELS = 4;
    public static final int CLASSES = 3;

    /** How the tiny model ends. */
    public enum Ending {
        /** GAP, Flatten, Gemm, Softmax: a full classifier; also exposes {@code pooled_check} = Flatten(GAP). */
        CLASSIFIER,
        /** Flatten, Gemm, Softmax with no pooling at all: cutting must ask for --at. */
        NO_POOLING,
        /** GAP only: output {@code pooled} [N,4,1,1], a no-top backbone whose features need flattening. */
        BACKBONE_RANK4,
        /** GAP and Flatten: output {@code features} [N,4]. */
        BACKBONE_RANK2,
        /**
         * Keras/tf2onnx style: NHWC input [N,8,8,3], conv between Transposes, ReduceMean over axes 1,2 (keepdims 0),
         * MatMul + Add, Softmax; also exposes {@code pooled_check} = the ReduceMean output [N,4].
         */
        KERAS_NHWC,
        /**
         * A squeeze-and-excitation block (GAP, 1x1 conv, Sigmoid, Mul back onto the conv output) and then Flatten,
         * Gemm, Softmax with no global pooling: the SE pooling must not be taken for the classifier's input.
         */
        SQUEEZE_EXCITE
    }

    private OnnxTestModels() {
    }

    public static ModelProto build(Ending ending, long seed) {
        Random rng = new Random(seed);
        ONNXContext ctx = new ONNXContext();
        ONNXRef<?> x = ctx.floatInput(INPUT, 3);
        if (ending == Ending.KERAS_NHWC) {
            return keras(ctx, x, rng);
        }
        var w = ctx.floatTensor("w", List.of(CHANNELS, 3, 3, 3), fb -> fill(fb, rng, 0.5));
        var b = ctx.floatTensor("b", List.of(CHANNELS), fb -> fill(fb, rng, 0.1));
        x = ctx.operation(OnnxOps.CONV, List.of(x, w, b), "conv", Map.of("kernel_shape", new int[] {3, 3},
                "pads", new int[] {1, 1, 1, 1})).apply(OnnxOps.RELU);
        List<ValueInfoProto> outputs = new ArrayList<>();
        var batch = OnnxModels.dim("batch");
        int flat = CHANNELS * SIDE * SIDE;
        switch (ending) {
            case CLASSIFIER -> {
                ONNXRef<?> pooled = x.apply(OnnxOps.GLOBAL_AVERAGE_POOL);
                ONNXRef<?> f = pooled.apply(OnnxOps.FLATTEN, Map.of("axis", 1));
                ctx.assignTo(f, ctx.floatOutput("pooled_check", CHANNELS));
                ONNXRef<?> probs = classifier(ctx, f, CHANNELS, rng);
                ctx.assignTo(probs, ctx.floatOutput("probs", CLASSES));
                outputs.add(OnnxModels.tensorInfo("probs", 1, List.of(batch, OnnxModels.dim(CLASSES))));
                outputs.add(OnnxModels.tensorInfo("pooled_check", 1, List.of(batch, OnnxModels.dim(CHANNELS))));
            }
            case NO_POOLING -> {
                ONNXRef<?> f = x.apply(OnnxOps.FLATTEN, Map.of("axis", 1));
                ctx.assignTo(f, ctx.floatOutput("flat_check", flat));
                ONNXRef<?> probs = classifier(ctx, f, flat, rng);
                ctx.assignTo(probs, ctx.floatOutput("probs", CLASSES));
                outputs.add(OnnxModels.tensorInfo("probs", 1, List.of(batch, OnnxModels.dim(CLASSES))));
                outputs.add(OnnxModels.tensorInfo("flat_check", 1, List.of(batch, OnnxModels.dim(flat))));
            }
            case BACKBONE_RANK4 -> {
                ctx.assignTo(x.apply(OnnxOps.GLOBAL_AVERAGE_POOL), ctx.floatOutput("pooled", CHANNELS));
                outputs.add(OnnxModels.tensorInfo("pooled", 1, List.of(batch, OnnxModels.dim(CHANNELS),
                        OnnxModels.dim(1), OnnxModels.dim(1))));
            }
            case SQUEEZE_EXCITE -> {
                var sw = ctx.floatTensor("se_w", List.of(CHANNELS, CHANNELS, 1, 1), fb -> fill(fb, rng, 0.5));
                var sb = ctx.floatTensor("se_b", List.of(CHANNELS), fb -> fill(fb, rng, 0.1));
                ONNXRef<?> gate = ctx.operation(OnnxOps.CONV, List.of(x.apply(OnnxOps.GLOBAL_AVERAGE_POOL), sw, sb),
                        "se_conv", Map.of("kernel_shape", new int[] {1, 1})).apply(ONNXOperators.SIGMOID);
                ONNXRef<?> scaled = ctx.operation(ONNXOperators.MUL, List.of(x, gate), "se_scaled");
                ONNXRef<?> probs = classifier(ctx, scaled.apply(OnnxOps.FLATTEN, Map.of("axis", 1)), flat, rng);
                ctx.assignTo(probs, ctx.floatOutput("probs", CLASSES));
                outputs.add(OnnxModels.tensorInfo("probs", 1, List.of(batch, OnnxModels.dim(CLASSES))));
            }
            case BACKBONE_RANK2 -> {
                ONNXRef<?> f = x.apply(OnnxOps.GLOBAL_AVERAGE_POOL).apply(OnnxOps.FLATTEN, Map.of("axis", 1));
                ctx.assignTo(f, ctx.floatOutput("features", CHANNELS));
                outputs.add(OnnxModels.tensorInfo("features", 1, List.of(batch, OnnxModels.dim(CHANNELS))));
            }
        }
        GraphProto g = ctx.buildGraph().toBuilder().clearInput()
                .addInput(OnnxModels.tensorInfo(INPUT, TensorProto.DataType.FLOAT_VALUE, List.of(batch,
                        OnnxModels.dim(3), OnnxModels.dim(SIDE), OnnxModels.dim(SIDE))))
                .clearOutput().addAllOutput(outputs).build();
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("transfer4j-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OnnxOps.OPSET))
                .setGraph(g).build();
    }

    private static ModelProto keras(ONNXContext ctx, ONNXRef<?> input, Random rng) {
        var w = ctx.floatTensor("w", List.of(CHANNELS, 3, 3, 3), fb -> fill(fb, rng, 0.5));
        var b = ctx.floatTensor("b", List.of(CHANNELS), fb -> fill(fb, rng, 0.1));
        ONNXRef<?> nchw = input.apply(OnnxOps.TRANSPOSE, Map.of("perm", new int[] {0, 3, 1, 2}));
        ONNXRef<?> y = ctx.operation(OnnxOps.CONV, List.of(nchw, w, b), "conv", Map.of("kernel_shape",
                new int[] {3, 3}, "pads", new int[] {1, 1, 1, 1})).apply(OnnxOps.RELU);
        ONNXRef<?> nhwc = y.apply(OnnxOps.TRANSPOSE, Map.of("perm", new int[] {0, 2, 3, 1}));
        ONNXRef<?> pooled = nhwc.apply(ONNXOperators.REDUCE_MEAN, Map.of("axes", new int[] {1, 2}, "keepdims", 0));
        ctx.assignTo(pooled, ctx.floatOutput("pooled_check", CHANNELS));
        var fw = ctx.floatTensor("dense_w", List.of(CHANNELS, CLASSES), fb -> fill(fb, rng, 0.5));
        var fbias = ctx.floatTensor("dense_b", List.of(CLASSES), fb -> fill(fb, rng, 0.1));
        ONNXRef<?> product = ctx.operation(OnnxOps.MAT_MUL, List.of(pooled, fw), "matmul");
        ONNXRef<?> logits = ctx.operation(ONNXOperators.ADD, List.of(product, fbias), "logits");
        ctx.assignTo(logits.apply(ONNXOperators.SOFTMAX, Map.of("axis", 1)), ctx.floatOutput("probs", CLASSES));
        var batch = OnnxModels.dim("unk__1");
        GraphProto g = ctx.buildGraph().toBuilder().clearInput()
                .addInput(OnnxModels.tensorInfo(INPUT, TensorProto.DataType.FLOAT_VALUE, List.of(batch,
                        OnnxModels.dim(SIDE), OnnxModels.dim(SIDE), OnnxModels.dim(3))))
                .clearOutput()
                .addOutput(OnnxModels.tensorInfo("probs", 1, List.of(batch, OnnxModels.dim(CLASSES))))
                .addOutput(OnnxModels.tensorInfo("pooled_check", 1, List.of(batch, OnnxModels.dim(CHANNELS))))
                .build();
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("tf2onnx-like test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OnnxOps.OPSET))
                .setGraph(g).build();
    }

    public static Path write(Ending ending, long seed, Path file) throws IOException {
        OnnxModels.save(build(ending, seed), file);
        return file;
    }

    private static ONNXRef<?> classifier(ONNXContext ctx, ONNXRef<?> f, int in, Random rng) {
        var w = ctx.floatTensor("fc_w", List.of(in, CLASSES), fb -> fill(fb, rng, 0.5));
        var b = ctx.floatTensor("fc_b", List.of(CLASSES), fb -> fill(fb, rng, 0.1));
        return ctx.operation(ONNXOperators.GEMM, List.of(f, w, b), "logits")
                .apply(ONNXOperators.SOFTMAX, Map.of("axis", 1));
    }

    private static void fill(FloatBuffer fb, Random rng, double scale) {
        for (int i = 0; i < fb.capacity(); i++) {
            fb.put(i, (float) (rng.nextGaussian() * scale));
        }
    }

    /** Deterministic inputs in [-2, 2]. */
    public static float[] randomInput(int n, int floatsPerImage, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * floatsPerImage];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 4 - 2);
        }
        return x;
    }

    /** Runs a model once and returns the named float outputs as [N][D] (rank-4 outputs flattened per row). */
    public static Map<String, float[][]> run(Path model, String input, float[] data, long[] shape,
                                             String... outputs) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
             OrtSession s = env.createSession(model.toString(), opts);
             OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape);
             OrtSession.Result r = s.run(Map.of(input, x), java.util.Set.of(outputs))) {
            Map<String, float[][]> out = new java.util.HashMap<>();
            for (String name : outputs) {
                OnnxTensor t = (OnnxTensor) r.get(name).orElseThrow();
                long[] sh = t.getInfo().getShape();
                int rows = (int) sh[0];
                int cols = (int) (t.getInfo().getNumElements() / rows);
                FloatBuffer fb = t.getFloatBuffer();
                float[][] m = new float[rows][cols];
                for (int i = 0; i < rows; i++) {
                    fb.get(m[i]);
                }
                out.put(name, m);
            }
            return out;
        }
    }
}
