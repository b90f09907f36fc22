package org.transfer4j.testing;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.List;
import java.util.Random;

/**
 * Tiny ResNets in ONNX, built in code: bottleneck blocks (1x1, 3x3, 1x1 convs with bias, i.e. BatchNorm folded, a
 * projection shortcut on a stage's first block), Relu, Add, GlobalAveragePool, Flatten to {@code features}. What the
 * fine-tuning split and stage translation are tested on.
 */
public final class TinyResNet {
    private TinyResNet() {
    }

    /**
     * An image model: input [N,3,side,side] → 3x3 conv stem + Relu → stage a (one stride-2 projection block, 4→4
     * channels) → stage b (stride-2 projection block 4→8, identity block) → features [N,8]. The last stage's input is
     * {@code a0_out}, [N,4,side/2,side/2].
     */
    public static ModelProto image(int side, long seed) {
        Random r = new Random(seed);
        GraphProto.Builder g = GraphProto.newBuilder().setName("tiny-resnet");
        String stem = conv(g, r, "stem", "input", 3, 4, 3, 1);
        g.addNode(node("Relu", "stem.relu", List.of(stem), "x0"));
        String a = bottleneck(g, r, "a0", "x0", 4, 2, 4, 2, true);
        String x = bottleneck(g, r, "b0", a, 4, 2, 8, 2, true);
        x = bottleneck(g, r, "b1", x, 8, 2, 8, 1, false);
        g.addNode(node("GlobalAveragePool", "gap", List.of(x), "pooled"));
        g.addNode(node("Flatten", "flatten", List.of("pooled"), "features"));
        g.addInput(value("input", -1, 3, side, side));
        g.addOutput(value("features", -1, 8));
        return model(g);
    }

    public static ModelProto model(GraphProto.Builder g) {
        return ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13)).build();
    }

    /** A bottleneck block reading {@code x}; returns its output tensor {@code name + "_out"}. */
    public static String bottleneck(GraphProto.Builder g, Random r, String name, String x, int in, int mid, int out,
                                    int stride, boolean project) {
        String a = conv(g, r, name + ".c1", x, in, mid, 1, 1);
        g.addNode(node("Relu", name + ".r1", List.of(a), a + "_r"));
        String b = conv(g, r, name + ".c2", a + "_r", mid, mid, 3, stride);
        g.addNode(node("Relu", name + ".r2", List.of(b), b + "_r"));
        String c = conv(g, r, name + ".c3", b + "_r", mid, out, 1, 1);
        String shortcut = project ? conv(g, r, name + ".ds", x, in, out, 1, stride) : x;
        g.addNode(node("Add", name + ".add", List.of(c, shortcut), name + "_sum"));
        g.addNode(node("Relu", name + ".r3", List.of(name + "_sum"), name + "_out"));
        return name + "_out";
    }

    /** A Conv with He-initialised weight {@code name.w} and bias {@code name.b}, "same" padding. */
    public static String conv(GraphProto.Builder g, Random r, String name, String x, int in, int out, int k,
                              int stride) {
        float[] w = new float[out * in * k * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * Math.sqrt(2.0 / (in * k * k)));
        }
        float[] b = new float[out];
        for (int i = 0; i < out; i++) {
            b[i] = (float) (0.1 * r.nextGaussian());
        }
        g.addInitializer(tensor(name + ".w", w, out, in, k, k));
        g.addInitializer(tensor(name + ".b", b, out));
        int p = k / 2;
        g.addNode(node("Conv", name, List.of(x, name + ".w", name + ".b"), name + "_y").toBuilder()
                .addAttribute(ints("kernel_shape", k, k)).addAttribute(ints("strides", stride, stride))
                .addAttribute(ints("pads", p, p, p, p)).build());
        return name + "_y";
    }

    public static NodeProto node(String op, String name, List<String> in, String out) {
        return NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(in).addOutput(out).build();
    }

    public static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    public static TensorProto tensor(String name, float[] v, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT.getNumber());
        for (long d : dims) {
            t.addDims(d);
        }
        for (float f : v) {
            t.addFloatData(f);
        }
        return t.build();
    }

    /** A float tensor value info; a negative size is the symbolic batch {@code N}. */
    public static ValueInfoProto value(String name, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N").build()
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d).build());
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT.getNumber()).setShape(s)))
                .build();
    }
}
