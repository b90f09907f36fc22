package org.transfer4j.backbone.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;

class ResNet50GeneratorTest {
    @TempDir
    static Path dir;
    static Path file;
    static BackboneSpec written;
    static ModelProto model;

    @BeforeAll
    static void generate() throws Exception {
        file = dir.resolve("resnet50-generated.onnx");
        written = ResNet50Generator.write(file, 42);
        model = OnnxModels.load(file);
    }

    @Test
    void hasResNet50sArchitecture() {
        Inspect info = Inspect.of(model, file.toString(), 0);
        assertEquals(53, info.count("Conv"));
        assertEquals(16, info.count("Add"), "one residual add per bottleneck block (3+4+6+3)");
        assertEquals(1, info.count("MaxPool"));
        assertEquals(1, info.count("GlobalAveragePool"));
        assertEquals(List.of("N", "3", "224", "224"), info.inputs().get(0).dims());
        assertEquals("input", info.inputs().get(0).name());
        assertEquals(List.of("N", "2048"), info.outputs().get(0).dims());
        assertEquals("features", info.outputs().get(0).name());
        // torchvision ResNet50 without fc has 23,508,032 parameters: 23,454,912 conv weights and 2 x 26,560 batch
        // norm parameters, which folding turns into 26,560 conv biases.
        assertEquals(23_454_912L + 26_560L, info.parameters());
        List<Long> stem = weight(convs().get(0)).getDimsList();
        assertEquals(List.of(64L, 3L, 7L, 7L), stem);
    }

    @Test
    void lastConvOfEveryBlockIsZeroAndTheOthersAreHeInitialised() {
        Map<String, TensorProto> inits = new HashMap<>();
        model.getGraph().getInitializerList().forEach(t -> inits.put(t.getName(), t));
        int zero = 0;
        for (NodeProto conv : convs()) {
            float[] w = OnnxModels.floats(inits.get(conv.getInput(1)));
            double sq = 0;
            for (float v : w) {
                sq += v * v;
            }
            if (sq == 0) {
                zero++;
            } else {
                TensorProto t = inits.get(conv.getInput(1));
                long fanIn = t.getDims(1) * t.getDims(2) * t.getDims(3);
                double std = Math.sqrt(sq / w.length);
                assertEquals(Math.sqrt(2.0 / fanIn), std, 0.1 * Math.sqrt(2.0 / fanIn), conv.getName());
            }
            // Weights are stored compactly as raw bytes.
            assertEquals(w.length * 4L, inits.get(conv.getInput(1)).getRawData().size());
        }
        assertEquals(16, zero, "zero-init residual: the last conv of each of the 16 blocks");
    }

    @Test
    void runsInOrtWithFiniteDistinctFeatures() throws Exception {
        float[] x = OnnxTestModels.randomInput(2, 3 * 224 * 224, 3);
        float[][] f = OnnxTestModels.run(file, "input", x, new long[] {2, 3, 224, 224}, "features").get("features");
        assertEquals(2, f.length);
        assertEquals(2048, f[0].length);
        for (float[] row : f) {
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (float v : row) {
                assertTrue(Float.isFinite(v));
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            assertTrue(max - min > 1e-3, "features must not be constant: " + min + ".." + max);
        }
        double diff = 0;
        for (int i = 0; i < 2048; i++) {
            diff = Math.max(diff, Math.abs(f[0][i] - f[1][i]));
        }
        assertTrue(diff > 1e-3, "two different images must give different features, max diff " + diff);
    }

    @Test
    void carriesItsSpecInMetadataAndSidecar() throws Exception {
        BackboneSpec meta = SpecJson.fromJson(OnnxModels.metadata(model, OnnxMetadata.SPEC).orElseThrow());
        assertEquals("torch", meta.preset());
        assertEquals("input", meta.inputName());
        assertEquals(2048, meta.featureDim());
        assertEquals("features", meta.outputName());
        BackboneSpec sidecar = SpecJson.read(dir.resolve("resnet50-generated.json"));
        assertEquals(written, sidecar);
        assertEquals(Hashes.sha256(file), sidecar.modelSha256());
        assertTrue(OnnxModels.metadata(model, OnnxMetadata.GENERATOR).orElseThrow().contains("\"seed\":42"));
    }

    @Test
    void weightsAreDeterminedBySeed() {
        // Building is the slow part (23.5M gaussians); compare one block's weights of two fresh builds.
        ModelProto again = ResNet50Generator.build(42);
        ModelProto other = ResNet50Generator.build(43);
        TensorProto a = model.getGraph().getInitializer(40);
        assertEquals(a, again.getGraph().getInitializer(40));
        assertNotEquals(model.getGraph().getInitializer(0).getRawData(),
                other.getGraph().getInitializer(0).getRawData());
        assertArrayEquals(OnnxModels.floats(model.getGraph().getInitializer(0)),
                OnnxModels.floats(again.getGraph().getInitializer(0)));
    }

    private static List<NodeProto> convs() {
        return model.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv")).toList();
    }

    private static TensorProto weight(NodeProto conv) {
        return model.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(conv.getInput(1)))
                .findFirst().orElseThrow();
    }
}
