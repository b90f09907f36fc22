package org.transfer4j.inference;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.gson.JsonArray;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.head.HeadWeights;

/**
 * Tiny image classifiers built in code for the Predictor tests: a backbone (3×3 Conv → Relu → GlobalAveragePool →
 * Flatten → {@code features}, with its spec sidecar), a seeded head as {@link HeadWeights}, and the composed form:
 * the same backbone graph followed by the head as ONNX nodes (Gemm → Relu → Gemm → Softmax) with the spec and class
 * names in its metadata. The composed head runs in ORT and the two-part head in {@link JavaHead}, so agreeing
 * predictions check both. (The real Composer lives in the head module, which depends on this one; its own tests run
 * the Predictor on what it writes.)
 */
final class PredictorTestModels {
    private static final String FEATURES = OnnxMetadata.FEATURES_OUTPUT;
    private static final String PROBABILITIES = OnnxMetadata.PROBABILITIES_OUTPUT;

    private PredictorTestModels() {
    }

    /** The files and weights of one tiny model family. */
    record Tiny(Path composed, Path backbone, HeadWeights head, BackboneSpec spec) {
        List<String> classes() {
            return head.classes();
        }
    }

    /** A 16×16 NCHW torch-preset model, dynamic batch, 8 features, 6 hidden, 3 classes. */
    static Tiny small(Path dir) {
        return write(dir, 42, 16, 8, 6, 3, false);
    }

    static Tiny write(Path dir, long seed, int size, int features, int hidden, int numClasses, boolean fixedBatch1) {
        try {
            Files.createDirectories(dir);
            Random r = new Random(seed);
            float[] convW = gaussian(r, features * 3 * 3 * 3, 0.5f);
            float[] convB = gaussian(r, features, 0.1f);
            float[] w1 = gaussian(r, features * hidden, 1f);
            float[] b1 = gaussian(r, hidden, 0.1f);
            int in2 = hidden == 0 ? features : hidden;
            float[] w2 = gaussian(r, in2 * numClasses, 1f);
            float[] b2 = gaussian(r, numClasses, 0.1f);
            List<String> classes = new ArrayList<>();
            for (int i = 0; i < numClasses; i++) {
                classes.add("class_" + i);
            }

            Path backbone = dir.resolve("backbone.onnx");
            ModelProto bb = model(graph(size, features, convW, convB, fixedBatch1));
            Files.write(backbone, bb.toByteArray());
            BackboneSpec spec = Preset.TORCH.spec("input", Layout.NCHW, size, size).withOutputName("features")
                    .withFeatureDim(features).withModelSha256(Hashes.sha256(backbone));
            SpecJson.write(spec, dir.resolve("backbone.json"));

            HeadWeights head = new HeadWeights(classes, features, hidden, hidden == 0 ? new float[0] : w1,
                    hidden == 0 ? new float[0] : b1, w2, b2, spec);
            Path composed = dir.resolve("model.onnx");
            Files.write(composed, composed(bb, head).toByteArray());
            return new Tiny(composed, backbone, head, spec);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The backbone with the head appended: outputs {@code probabilities} [N,K] and {@code features} [N,D]. */
    private static ModelProto composed(ModelProto backbone, HeadWeights head) {
        GraphProto.Builder g = backbone.getGraph().toBuilder();
        TensorShapeProto.Dimension batch = g.getOutput(0).getType().getTensorType().getShape().getDim(0);
        int d = head.featureDim();
        int h = head.hidden();
        int k = head.numClasses();
        String in = FEATURES;
        if (h > 0) {
            g.addInitializer(tensor("head_w1", head.w1(), d, h));
            g.addInitializer(tensor("head_b1", head.b1(), h));
            g.addNode(node("Gemm", List.of(in, "head_w1", "head_b1"), "head_hidden"));
            g.addNode(node("Relu", List.of("head_hidden"), "head_relu"));
            in = "head_relu";
        }
        g.addInitializer(tensor("head_w2", head.w2(), h > 0 ? h : d, k));
        g.addInitializer(tensor("head_b2", head.b2(), k));
        g.addNode(node("Gemm", List.of(in, "head_w2", "head_b2"), "head_logits"));
        g.addNode(node("Softmax", List.of("head_logits"), PROBABILITIES, intAttr("axis", 1)));
        g.clearOutput().addOutput(value(PROBABILITIES, batch, k)).addOutput(value(FEATURES, batch, d));
        JsonArray classes = new JsonArray();
        head.classes().forEach(classes::add);
        return OnnxModels.withMetadata(backbone.toBuilder().setGraph(g).build(), Map.of(
                OnnxMetadata.SPEC, SpecJson.toJson(head.spec()), OnnxMetadata.CLASSES, classes.toString()));
    }

    private static float[] gaussian(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian() * scale;
        }
        return a;
    }


    private static ModelProto model(GraphProto graph) {
        return ModelProto.newBuilder().setIrVersion(7).setProducerName("transfer4j-tests")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
                .setGraph(graph).build();
    }

    private static GraphProto graph(int size, int features, float[] convW, float[] convB, boolean fixedBatch1) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("tiny_backbone");
        TensorShapeProto.Dimension batch = fixedBatch1
                ? TensorShapeProto.Dimension.newBuilder().setDimValue(1).build()
                : TensorShapeProto.Dimension.newBuilder().setDimParam("N").build();
        g.addInput(value("input", batch, 3, size, size));
        g.addInitializer(tensor("conv_w", convW, features, 3, 3, 3));
        g.addInitializer(tensor("conv_b", convB, features));
        g.addNode(node("Conv", List.of("input", "conv_w", "conv_b"), "conv",
                ints("pads", 1, 1, 1, 1), ints("kernel_shape", 3, 3)));
        g.addNode(node("Relu", List.of("conv"), "conv_relu"));
        g.addNode(node("GlobalAveragePool", List.of("conv_relu"), "pooled"));
        g.addNode(node("Flatten", List.of("pooled"), "features", intAttr("axis", 1)));
        g.addOutput(value("features", batch, features));
        return g.build();
    }

    private static ValueInfoProto value(String name, TensorShapeProto.Dimension batch, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder().addDim(batch);
        for (long d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT.getNumber()).setShape(shape)))
                .build();
    }

    private static TensorProto tensor(String name, float[] data, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name)
                .setDataType(TensorProto.DataType.FLOAT.getNumber());
        for (long d : dims) {
            t.addDims(d);
        }
        for (float f : data) {
            t.addFloatData(f);
        }
        return t.build();
    }

    private static NodeProto node(String op, List<String> inputs, String output, AttributeProto... attrs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(output + "_node").addOutput(output);
        inputs.forEach(n::addInput);
        for (AttributeProto a : attrs) {
            n.addAttribute(a);
        }
        return n.build();
    }

    private static AttributeProto ints(String name, long... values) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name)
                .setType(AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    private static AttributeProto intAttr(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value)
                .build();
    }
}
