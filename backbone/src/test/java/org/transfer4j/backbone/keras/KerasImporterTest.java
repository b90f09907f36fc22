package org.transfer4j.backbone.keras;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.transfer4j.backbone.keras.TinyTfjs.cfg;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;

/**
 * Tiny TF.js models written here, imported, run in ONNX Runtime and compared with {@link Nhwc}'s plain loops; the
 * paddings and output sizes in each case are worked out by hand (TF: out = ceil(in/s) for "same", the odd padding
 * pixel at the bottom/right). Every layer test runs in both input layouts.
 */
class KerasImporterTest {
    private static final BackboneOptions CPU = BackboneOptions.builder().optDevice(Device.CPU).build();
    private static final double TOL = 1e-5;

    @TempDir
    Path dir;
    private int models;

    // ---- harness --------------------------------------------------------------------------------------------------

    private ImportResult importModel(TinyTfjs m, String cut, Layout layout) throws Exception {
        Path src = m.write(dir.resolve("src" + (++models)), 2);
        KerasImporter.Builder b = KerasImporter.builder(src).optLayout(layout);
        if (cut != null) {
            b.optCut(cut);
        }
        return b.build().importTo(dir.resolve("m" + models + ".onnx"));
    }

    /** Runs the imported model on one channels-last image and returns its features. */
    private static float[] run(ImportResult r, Nhwc x) throws Exception {
        try (Backbone b = Backbone.load(r.model(), CPU)) {
            FloatBuffer batch = b.newBatchBuffer(1);
            if (r.spec().layout() == Layout.NHWC) {
                batch.put(x.v());
            } else {
                for (int ch = 0; ch < 3; ch++) {
                    for (int y = 0; y < x.h(); y++) {
                        for (int xx = 0; xx < x.w(); xx++) {
                            batch.put(x.at(y, xx, ch));
                        }
                    }
                }
            }
            batch.flip();
            return b.features(batch, 1)[0];
        }
    }

    private static void assertClose(float[] expected, float[] got, String what) {
        assertEquals(expected.length, got.length, what + ": feature count");
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            // Relative above 1: products of activations reach ~100, where a float's step is ~1e-5.
            worst = Math.max(worst, Math.abs(expected[i] - got[i]) / Math.max(1, Math.abs(expected[i])));
        }
        final double w = worst;
        assertTrue(worst <= TOL, () -> what + ": max difference (relative above 1) " + w);
    }

    private static Nhwc image(TinyTfjs m, int h, int w, float scale) {
        float[] v = m.random(h * w * 3);
        for (int i = 0; i < v.length; i++) {
            v[i] *= scale;
        }
        return new Nhwc(h, w, 3, v);
    }

    private static List<NodeProto> nodes(ImportResult r, String op) throws Exception {
        return OnnxModels.load(r.model()).getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op))
                .toList();
    }

    private static List<Long> ints(NodeProto n, String attr) {
        return n.getAttributeList().stream().filter(a -> a.getName().equals(attr)).findFirst()
                .map(AttributeProto::getIntsList).orElse(List.of());
    }

    // ---- convolutions and padding ---------------------------------------------------------------------------------

    /**
     * h, w, kernel, strides, dilation, padding, bias; then the hand-computed pads (top, left, bottom, right) and
     * output size.
     */
    record ConvCase(String label, int h, int w, int kh, int kw, int sh, int sw, int d, String padding, boolean bias,
                    int[] pads, int outH, int outW) {
        @Override
        public String toString() {
            return label;
        }
    }

    static Stream<Arguments> convCases() {
        List<ConvCase> cases = List.of(
                new ConvCase("same k3 s1 on 8", 8, 8, 3, 3, 1, 1, 1, "same", true, new int[] {1, 1, 1, 1}, 8, 8),
                new ConvCase("same k2 s1 on 8 (pad after)", 8, 8, 2, 2, 1, 1, 1, "same", true,
                        new int[] {0, 0, 1, 1}, 8, 8),
                new ConvCase("same k3 s2 on 8 (pad after)", 8, 8, 3, 3, 2, 2, 1, "same", true,
                        new int[] {0, 0, 1, 1}, 4, 4),
                new ConvCase("same k2 s2 on 8 (no pad)", 8, 8, 2, 2, 2, 2, 1, "same", true, new int[4], 4, 4),
                new ConvCase("same k3 s2 on 9", 9, 9, 3, 3, 2, 2, 1, "same", true, new int[] {1, 1, 1, 1}, 5, 5),
                new ConvCase("same k4 s2 on 9", 9, 9, 4, 4, 2, 2, 1, "same", true, new int[] {1, 1, 2, 2}, 5, 5),
                new ConvCase("same k4 s1 on 8", 8, 8, 4, 4, 1, 1, 1, "same", true, new int[] {1, 1, 2, 2}, 8, 8),
                new ConvCase("valid k3 s2 on 9", 9, 9, 3, 3, 2, 2, 1, "valid", true, new int[4], 4, 4),
                new ConvCase("valid k2 s2 on 8 no bias", 8, 8, 2, 2, 2, 2, 1, "valid", false, new int[4], 4, 4),
                new ConvCase("same k3 dilation 2", 8, 8, 3, 3, 1, 1, 2, "same", true, new int[] {2, 2, 2, 2}, 8, 8),
                new ConvCase("same k2 dilation 2", 8, 8, 2, 2, 1, 1, 2, "same", true, new int[] {1, 1, 1, 1}, 8, 8),
                new ConvCase("valid k3 dilation 2", 8, 8, 3, 3, 1, 1, 2, "valid", true, new int[4], 4, 4),
                new ConvCase("same k2x3 s2x1 on 8x9", 8, 9, 2, 3, 2, 1, 1, "same", true, new int[] {0, 1, 0, 1}, 4,
                        9));
        List<Arguments> out = new ArrayList<>();
        for (ConvCase c : cases) {
            for (Layout l : Layout.values()) {
                out.add(Arguments.of(c, l));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("convCases")
    void conv2dPaddingCasesMatchHandComputedOutputs(ConvCase c, Layout layout) throws Exception {
        TinyTfjs m = new TinyTfjs(c.label().hashCode()).input("in", c.h(), c.w());
        m.layer("Conv2D", "conv", cfg("filters", 4, "kernel_size", List.of(c.kh(), c.kw()), "strides",
                List.of(c.sh(), c.sw()), "padding", c.padding(), "dilation_rate", List.of(c.d(), c.d()),
                "activation", "linear", "use_bias", c.bias(), "data_format", "channels_last"));
        float[] k = m.f32("conv/kernel", c.kh(), c.kw(), 3, 4);
        float[] b = c.bias() ? m.f32("conv/bias", 4) : null;
        m.layer("Flatten", "flat", cfg());
        ImportResult r = importModel(m, "flat", layout);

        NodeProto conv = nodes(r, "Conv").get(0);
        assertEquals(Arrays.stream(c.pads()).mapToObj(Long::valueOf).toList(), ints(conv, "pads"), "pads");
        Nhwc x = image(m, c.h(), c.w(), 1f);
        Nhwc expected = x.conv(k, c.kh(), c.kw(), 4, b, c.sh(), c.sw(), c.d(), c.d(), c.pads()[0], c.pads()[1],
                c.outH(), c.outW());
        assertClose(expected.v(), run(r, x), c.label());
        assertEquals(2L * c.outH() * c.outW() * 4 * 3 * c.kh() * c.kw() / 1e9, r.gflopPerImage(), 1e-15);
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void depthwiseAndSeparableConvolutions(Layout layout) throws Exception {
        TinyTfjs m = new TinyTfjs(5).input("in", 9, 9);
        // Depthwise 3x3/2 same on 9: out 5, pads 1/1; multiplier 2 -> 6 channels.
        m.layer("DepthwiseConv2D", "dw", cfg("kernel_size", List.of(3, 3), "strides", List.of(2, 2), "padding",
                "same", "depth_multiplier", 2, "activation", "linear", "use_bias", true));
        float[] dk = m.f32("dw/depthwise_kernel", 3, 3, 3, 2);
        float[] db = m.f32("dw/bias", 6);
        // Separable 2x2/1 same on 5: out 5, pads 0/1 (after); depthwise multiplier 1 then 1x1 to 4, relu.
        m.layer("SeparableConv2D", "sep", cfg("filters", 4, "kernel_size", 2, "strides", 1, "padding", "same",
                "depth_multiplier", 1, "activation", "relu", "use_bias", true));
        float[] sdk = m.f32("sep/depthwise_kernel", 2, 2, 6, 1);
        float[] spk = m.f32("sep/pointwise_kernel", 1, 1, 6, 4);
        float[] sb = m.f32("sep/bias", 4);
        m.layer("Flatten", "flat", cfg());
        ImportResult r = importModel(m, "flat", layout);

        Nhwc x = image(m, 9, 9, 1f);
        Nhwc y = x.depthwise(dk, 3, 3, 2, db, 2, 2, 1, 1, 5, 5);
        y = y.depthwise(sdk, 2, 2, 1, null, 1, 1, 0, 0, 5, 5).conv(spk, 1, 1, 4, sb, 1, 1, 1, 1, 0, 0, 5, 5)
                .map(v -> Math.max(0, v));
        assertClose(y.v(), run(r, x), "depthwise + separable");
        // MACs: 5*5*6*9 + 5*5*6*4 + 5*5*4*6.
        assertEquals(2.0 * (5 * 5 * 6 * 9 + 5 * 5 * 6 * 4 + 5 * 5 * 4 * 6) / 1e9, r.gflopPerImage(), 1e-15);
    }

    // ---- batch normalization --------------------------------------------------------------------------------------

    private static Nhwc applyBn(Nhwc x, float[] gamma, float[] beta, float[] mean, float[] var, double eps) {
        Nhwc out = Nhwc.zeros(x.h(), x.w(), x.c());
        for (int y = 0; y < x.h(); y++) {
            for (int xx = 0; xx < x.w(); xx++) {
                for (int ch = 0; ch < x.c(); ch++) {
                    out.set(y, xx, ch, gamma[ch] * (x.at(y, xx, ch) - mean[ch]) / Math.sqrt(var[ch] + eps)
                            + beta[ch]);
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void batchNormIsFoldedIntoALinearConvAndAppliedExplicitlyElsewhere(Layout layout) throws Exception {
        TinyTfjs m = new TinyTfjs(9).input("in", 8, 8);
        m.layer("Conv2D", "conv", cfg("filters", 4, "kernel_size", 3, "strides", 1, "padding", "same",
                "activation", "linear", "use_bias", true));
        float[] k = m.f32("conv/kernel", 3, 3, 3, 4);
        float[] b = m.f32("conv/bias", 4);
        m.layer("BatchNormalization", "bn1", cfg("axis", List.of(3), "epsilon", 0.001));
        float[] g1 = m.f32("bn1/gamma", 4);
        float[] be1 = m.f32("bn1/beta", 4);
        float[] mu1 = m.f32("bn1/moving_mean", 4);
        float[] v1 = positive(m, "bn1/moving_variance", 4);
        m.layer("Activation", "act", cfg("activation", "relu"));
        m.layer("BatchNormalization", "bn2", cfg("axis", -1, "epsilon", 0.01, "center", false));
        float[] g2 = m.f32("bn2/gamma", 4);
        float[] mu2 = m.f32("bn2/moving_mean", 4);
        float[] v2 = positive(m, "bn2/moving_variance", 4);
        m.layer("Flatten", "flat", cfg());
        ImportResult r = importModel(m, "flat", layout);

        assertEquals(1, nodes(r, "Conv").size());
        assertEquals(1, nodes(r, "Mul").size(), "only the BN after the ReLU stays explicit");
        Nhwc x = image(m, 8, 8, 1f);
        Nhwc y = applyBn(x.conv(k, 3, 3, 4, b, 1, 1, 1, 1, 1, 1, 8, 8), g1, be1, mu1, v1, 0.001)
                .map(v -> Math.max(0, v));
        y = applyBn(y, g2, new float[4], mu2, v2, 0.01);
        assertClose(y.v(), run(r, x), "conv + bn + relu + bn");
    }

    private static float[] positive(TinyTfjs m, String name, int n) {
        float[] v = m.random(n);
        for (int i = 0; i < n; i++) {
            v[i] = Math.abs(v[i]) + 0.1f;
        }
        return m.f32(name, new int[] {n}, v);
    }

    // ---- activations, merges --------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Layout.class)
    void activationsAndMergeLayers(Layout layout) throws Exception {
        TinyTfjs m = new TinyTfjs(11).input("in", 8, 8);
        m.layer("Conv2D", "conv", cfg("filters", 2, "kernel_size", 1, "padding", "valid", "activation", "linear"));
        float[] k = m.f32("conv/kernel", 1, 1, 3, 2);
        float[] b = m.f32("conv/bias", 2);
        String[] acts = {"relu", "relu6", "sigmoid", "tanh", "swish", "softmax", "linear"};
        List<String> branches = new ArrayList<>();
        for (String a : acts) {
            m.layer("Activation", "act_" + a, cfg("activation", a), "conv");
            branches.add("act_" + a);
        }
        m.layer("ReLU", "relu_max", cfg("max_value", 1.5, "negative_slope", 0.0, "threshold", 0.0), "conv");
        branches.add("relu_max");
        m.layer("Add", "add", cfg(), "act_tanh", "act_sigmoid", "act_linear");
        m.layer("Multiply", "mul", cfg(), "act_swish", "act_relu");
        branches.add("add");
        branches.add("mul");
        m.layer("Dropout", "drop", cfg("rate", 0.5), "mul");
        branches.add("drop");
        m.layer("Concatenate", "cat", cfg("axis", -1), branches.toArray(String[]::new));
        m.layer("Flatten", "flat", cfg());
        ImportResult r = importModel(m, "flat", layout);

        Nhwc x = image(m, 8, 8, 10f); // wide enough that relu6 and max_value 1.5 clip
        Nhwc c = x.conv(k, 1, 1, 2, b, 1, 1, 1, 1, 0, 0, 8, 8);
        Nhwc relu = c.map(v -> Math.max(0, v));
        Nhwc relu6 = c.map(v -> Math.min(6, Math.max(0, v)));
        Nhwc sigmoid = c.map(v -> 1 / (1 + Math.exp(-v)));
        Nhwc tanh = c.map(Math::tanh);
        Nhwc swish = c.map(v -> v / (1 + Math.exp(-v)));
        Nhwc softmax = c.softmaxChannels();
        Nhwc reluMax = c.map(v -> Math.min(1.5, Math.max(0, v)));
        Nhwc add = tanh.zip(sigmoid, Double::sum).zip(c, Double::sum);
        Nhwc mul = swish.zip(relu, (p, q) -> p * q);
        Nhwc expected = Nhwc.concat(relu, relu6, sigmoid, tanh, swish, softmax, c, reluMax, add, mul, mul);
        assertTrue(Arrays.stream(boxed(relu6.v())).anyMatch(v -> v == 6f), "relu6 clipped somewhere");
        assertClose(expected.v(), run(r, x), "activations and merges");
    }

    private static Float[] boxed(float[] v) {
        Float[] out = new Float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    // ---- pooling and zero padding ---------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Layout.class)
    void poolingLayers(Layout layout) throws Exception {
        Nhwc[] xs = new Nhwc[4];
        // MaxPool 3x3/2 same on 8: out 4, pads 0/1, padding ignored.
        TinyTfjs m1 = new TinyTfjs(21).input("in", 8, 8);
        m1.layer("MaxPooling2D", "pool", cfg("pool_size", List.of(3, 3), "strides", List.of(2, 2), "padding",
                "same"));
        xs[0] = image(m1, 8, 8, 1f);
        assertClose(xs[0].pool(true, 3, 3, 2, 2, 0, 0, 4, 4, false).v(), run(importModel(m1, "pool", layout),
                xs[0]), "max same (cut at the pool: flattened H,W,C)");
        // AveragePool 3x3/1 same on 8: pads 1/1, Keras leaves the padding out of each mean.
        TinyTfjs m2 = new TinyTfjs(22).input("in", 8, 8);
        m2.layer("AveragePooling2D", "pool", cfg("pool_size", 3, "strides", 1, "padding", "same"));
        m2.layer("Flatten", "flat", cfg());
        xs[1] = image(m2, 8, 8, 1f);
        ImportResult r2 = importModel(m2, "flat", layout);
        assertEquals(List.of(1L, 1L, 1L, 1L), ints(nodes(r2, "AveragePool").get(0), "pads"));
        assertClose(xs[1].pool(false, 3, 3, 1, 1, 1, 1, 8, 8, false).v(), run(r2, xs[1]), "avg same");
        // AveragePool 2x2 valid, strides defaulting to the pool size: out 4.
        TinyTfjs m3 = new TinyTfjs(23).input("in", 8, 8);
        m3.layer("AveragePooling2D", "pool", cfg("pool_size", List.of(2, 2), "strides", null, "padding", "valid"));
        xs[2] = image(m3, 8, 8, 1f);
        assertClose(xs[2].pool(false, 2, 2, 2, 2, 0, 0, 4, 4, false).v(), run(importModel(m3, "pool", layout),
                xs[2]), "avg valid");
        // Global pools: average by default cut (it feeds the Dense classifier), max by an explicit cut.
        TinyTfjs m4 = new TinyTfjs(24).input("in", 8, 8);
        m4.layer("GlobalMaxPooling2D", "gmax", cfg(), "in");
        m4.layer("GlobalAveragePooling2D", "gap", cfg(), "in");
        m4.layer("Add", "sum", cfg(), "gap", "gmax");
        m4.layer("Dense", "fc", cfg("units", 2, "activation", "softmax"), "gap");
        m4.f32("fc/kernel", 3, 2);
        m4.f32("fc/bias", 2);
        xs[3] = image(m4, 8, 8, 1f);
        ImportResult byDefault = importModel(m4, null, layout);
        assertEquals("gap", byDefault.cutLayer());
        assertClose(xs[3].channelMeans(), run(byDefault, xs[3]), "global average (default cut)");
        Path src = dir.resolve("src" + models);
        ImportResult gmax = KerasImporter.builder(src).optCut("gmax").optLayout(layout).build()
                .importTo(dir.resolve("gmax.onnx"));
        assertClose(xs[3].pool(true, 8, 8, 1, 1, 0, 0, 1, 1, false).v(), run(gmax, xs[3]), "global max");
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void zeroPaddingIsFusedWhereExactAndExplicitOtherwise(Layout layout) throws Exception {
        // (a) asymmetric ZeroPadding [[1,0],[0,2]] into a valid 3x3 conv: pads (1,0,0,2), 8x8 -> 9x10 -> 7x8.
        TinyTfjs a = new TinyTfjs(31).input("in", 8, 8);
        a.layer("ZeroPadding2D", "zp", cfg("padding", List.of(List.of(1, 0), List.of(0, 2))));
        a.layer("Conv2D", "conv", cfg("filters", 2, "kernel_size", 3, "padding", "valid", "use_bias", false));
        float[] ka = a.f32("conv/kernel", 3, 3, 3, 2);
        a.layer("Flatten", "flat", cfg());
        ImportResult ra = importModel(a, "flat", layout);
        assertEquals(0, nodes(ra, "Pad").size());
        assertEquals(List.of(1L, 0L, 0L, 2L), ints(nodes(ra, "Conv").get(0), "pads"));
        Nhwc xa = image(a, 8, 8, 1f);
        assertClose(xa.pad(1, 0, 0, 2).conv(ka, 3, 3, 2, null, 1, 1, 1, 1, 0, 0, 7, 8).v(), run(ra, xa),
                "zero padding into conv");

        // (b) after a ReLU, ZeroPadding(1) + 3x3/2 valid max pool = pool pads (ResNet's stem): 8 -> 10 -> 4.
        // (c) the same without the ReLU keeps a Pad: zeros beat negative values.
        for (boolean relu : new boolean[] {true, false}) {
            TinyTfjs m = new TinyTfjs(32).input("in", 8, 8);
            m.layer("Activation", "act", cfg("activation", relu ? "relu" : "linear"));
            m.layer("ZeroPadding2D", "zp", cfg("padding", 1));
            m.layer("MaxPooling2D", "pool", cfg("pool_size", 3, "strides", 2, "padding", "valid"));
            m.layer("Flatten", "flat", cfg());
            ImportResult r = importModel(m, "flat", layout);
            assertEquals(relu ? 0 : 1, nodes(r, "Pad").size(), "Pad nodes with relu=" + relu);
            Nhwc x = image(m, 8, 8, 1f);
            Nhwc in = relu ? x.map(v -> Math.max(0, v)) : x;
            Nhwc expected = in.pad(1, 1, 1, 1).pool(true, 3, 3, 2, 2, 0, 0, 4, 4, false);
            assertClose(expected.v(), run(r, x), "zero padding + max pool, relu=" + relu);
        }

        // (d) ZeroPadding(1) + 2x2 valid average pool counts the zeros; (e) a ZeroPadding read by Flatten is a Pad.
        TinyTfjs d = new TinyTfjs(33).input("in", 8, 8);
        d.layer("ZeroPadding2D", "zp", cfg("padding", List.of(1, 1)));
        d.layer("AveragePooling2D", "pool", cfg("pool_size", 2, "strides", 2, "padding", "valid"));
        d.layer("ZeroPadding2D", "zp2", cfg("padding", 2));
        d.layer("Flatten", "flat", cfg());
        ImportResult rd = importModel(d, "flat", layout);
        assertEquals(1, nodes(rd, "Pad").size());
        Nhwc xd = image(d, 8, 8, 1f);
        assertClose(xd.pad(1, 1, 1, 1).pool(false, 2, 2, 2, 2, 0, 0, 5, 5, true).pad(2, 2, 2, 2).v(), run(rd, xd),
                "zero padding + avg pool + zero padding");
    }

    // ---- dense, flatten, reshape ----------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Layout.class)
    void flattenFeedsDenseInKerasOrderAndReshapeKeepsIt(Layout layout) throws Exception {
        TinyTfjs m = new TinyTfjs(41).input("in", 8, 8);
        m.layer("Conv2D", "conv", cfg("filters", 2, "kernel_size", 2, "strides", 2, "padding", "valid"));
        float[] k = m.f32("conv/kernel", 2, 2, 3, 2);
        float[] b = m.f32("conv/bias", 2);
        // [4,4,2] -> Reshape (2,4,4) (an image again: stored channels-first) -> 1x1 conv -> Reshape (8, 4) -> Flatten
        m.layer("Reshape", "rs", cfg("target_shape", List.of(2, 4, -1)));
        m.layer("Conv2D", "pw", cfg("filters", 3, "kernel_size", 1, "use_bias", false));
        float[] pk = m.f32("pw/kernel", 1, 1, 4, 3);
        m.layer("Reshape", "rs2", cfg("target_shape", List.of(8, 3)));
        m.layer("Flatten", "flat", cfg());
        m.layer("Dense", "fc1", cfg("units", 5, "activation", "relu"));
        float[] w1 = m.f32("fc1/kernel", 24, 5);
        float[] b1 = m.f32("fc1/bias", 5);
        m.layer("Dense", "fc2", cfg("units", 3, "activation", "linear", "use_bias", false));
        float[] w2 = m.f32("fc2/kernel", 5, 3);
        ImportResult r = importModel(m, "fc2", layout);

        Nhwc x = image(m, 8, 8, 1f);
        Nhwc c = x.conv(k, 2, 2, 2, b, 2, 2, 1, 1, 0, 0, 4, 4);
        // A reshape keeps Keras' row-major H,W,C element order.
        Nhwc reshaped = new Nhwc(2, 4, 4, c.v());
        Nhwc p = reshaped.conv(pk, 1, 1, 3, null, 1, 1, 1, 1, 0, 0, 2, 4);
        float[] h = Nhwc.dense(p.v(), w1, b1, 5);
        for (int i = 0; i < h.length; i++) {
            h[i] = Math.max(0, h[i]);
        }
        assertClose(Nhwc.dense(h, w2, null, 3), run(r, x), "conv, reshape, flatten, dense");
    }

    // ---- full model, sequential, dict inbound nodes ---------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Layout.class)
    void fullModelOutputsProbabilitiesFeaturesAndClassNames(Layout layout) throws Exception {
        for (String act : new String[] {"softmax", "linear"}) {
            TinyTfjs m = new TinyTfjs(51).named("mobilenet_tiny").input("in", 8, 8);
            m.layer("Conv2D", "conv", cfg("filters", 4, "kernel_size", 3, "padding", "same", "activation", "relu"));
            float[] k = m.f32("conv/kernel", 3, 3, 3, 4);
            float[] b = m.f32("conv/bias", 4);
            m.layer("GlobalAveragePooling2D", "gap", cfg());
            m.layer("Dropout", "drop", cfg("rate", 0.2));
            m.layer("Dense", "predictions", cfg("units", 3, "activation", act));
            float[] w = m.f32("predictions/kernel", 4, 3);
            float[] wb = m.f32("predictions/bias", 3);
            // npm layout: package/package.json, package/assets/labels.json, package/model/model.json + shards.
            Path root = dir.resolve("pkg-" + act + "-" + layout);
            m.write(root.resolve("package/model"), 3);
            Files.writeString(root.resolve("package/package.json"), "{\"name\":\"tiny-net\",\"version\":\"2.0.1\"}");
            Files.createDirectories(root.resolve("package/assets"));
            Files.writeString(root.resolve("package/assets/labels.json"),
                    "{\"2\": \"cat\", \"0\": \"ant\", \"1\": \"bee\"}");
            ImportResult r = KerasImporter.builder(root).optFull(true).optLayout(layout).build()
                    .importTo(dir.resolve("full-" + act + "-" + layout + ".onnx"));
            assertEquals(List.of("ant", "bee", "cat"), r.classes());
            assertEquals("tf", r.spec().preset(), "mobilenet* models use the tf preset");
            assertEquals("tiny-net", r.provenance().get("package"));
            assertEquals("2.0.1", r.provenance().get("version"));
            assertEquals("true", r.provenance().get("full"));
            assertEquals(act.equals("linear"), r.warnings().stream().anyMatch(s -> s.contains("softmax was added")));
            ModelProto model = OnnxModels.load(r.model());
            assertEquals("[\"ant\",\"bee\",\"cat\"]", OnnxModels.metadata(model, OnnxMetadata.CLASSES).orElseThrow());
            assertEquals(List.of("probabilities", "features"), model.getGraph().getOutputList().stream()
                    .map(o -> o.getName()).toList());

            Nhwc x = image(m, 8, 8, 1f);
            float[] feat = x.conv(k, 3, 3, 4, b, 1, 1, 1, 1, 1, 1, 8, 8).map(v -> Math.max(0, v)).channelMeans();
            float[] logits = Nhwc.dense(feat, w, wb, 3);
            double sum = 0;
            for (float l : logits) {
                sum += Math.exp(l);
            }
            float[] probs = new float[3];
            for (int i = 0; i < 3; i++) {
                probs[i] = (float) (Math.exp(logits[i]) / sum);
            }
            assertClose(feat, run(r, x), "full model features");
            Path probsSpec = Files.writeString(dir.resolve("probs-" + act + layout + ".json"),
                    org.transfer4j.backbone.spec.SpecJson.toJson(r.spec().withOutputName("probabilities")
                            .withFeatureDim(0).withModelSha256(null)));
            try (Backbone bb = Backbone.load(r.model(), BackboneOptions.builder().optDevice(Device.CPU)
                    .optSpecFile(probsSpec).build())) {
                FloatBuffer in = bb.newBatchBuffer(1);
                float[] nchwOrNot = layout == Layout.NHWC ? x.v() : toNchw(x);
                in.put(nchwOrNot).flip();
                assertClose(probs, bb.features(in, 1)[0], "full model probabilities (" + act + ")");
            }
        }
    }

    private static float[] toNchw(Nhwc x) {
        float[] out = new float[x.v().length];
        int i = 0;
        for (int ch = 0; ch < 3; ch++) {
            for (int y = 0; y < x.h(); y++) {
                for (int xx = 0; xx < x.w(); xx++) {
                    out[i++] = x.at(y, xx, ch);
                }
            }
        }
        return out;
    }

    @Test
    void sequentialModelAndKeras3DictInboundNodes() throws Exception {
        TinyTfjs m = new TinyTfjs(61).input("in", 8, 8);
        m.layer("Conv2D", "conv", cfg("filters", 2, "kernel_size", 3, "padding", "valid"));
        float[] k = m.f32("conv/kernel", 3, 3, 3, 2);
        float[] b = m.f32("conv/bias", 2);
        m.layer("Flatten", "flat", cfg());
        JsonObject json = m.modelJson(1);
        Nhwc x = image(m, 8, 8, 1f);
        float[] expected = x.conv(k, 3, 3, 2, b, 1, 1, 1, 1, 0, 0, 6, 6).v();

        // Sequential (Keras 2.2 form: config is the list of layers; the first carries batch_input_shape).
        JsonObject seq = json.deepCopy();
        JsonObject mc = seq.getAsJsonObject("modelTopology").getAsJsonObject("model_config");
        JsonArray layers = mc.getAsJsonObject("config").getAsJsonArray("layers");
        JsonArray list = new JsonArray();
        for (int i = 1; i < layers.size(); i++) {
            JsonObject l = layers.get(i).getAsJsonObject().deepCopy();
            l.remove("inbound_nodes");
            list.add(l);
        }
        list.get(0).getAsJsonObject().getAsJsonObject("config").add("batch_input_shape",
                layers.get(0).getAsJsonObject().getAsJsonObject("config").get("batch_input_shape"));
        mc.addProperty("class_name", "Sequential");
        mc.add("config", list);
        assertClose(expected, run(importJson(seq, m, "flat"), x), "sequential");

        // Keras 3: inbound nodes as {"args": [keras tensors], "kwargs": {}}, InputLayer with batch_shape.
        JsonObject k3 = json.deepCopy();
        JsonObject cfg3 = k3.getAsJsonObject("modelTopology").getAsJsonObject("model_config")
                .getAsJsonObject("config");
        for (JsonElement e : cfg3.getAsJsonArray("layers")) {
            JsonObject l = e.getAsJsonObject();
            if (l.get("class_name").getAsString().equals("InputLayer")) {
                JsonObject c = l.getAsJsonObject("config");
                c.add("batch_shape", c.remove("batch_input_shape"));
            }
            JsonArray nodes = new JsonArray();
            for (JsonElement call : l.getAsJsonArray("inbound_nodes")) {
                JsonArray args = new JsonArray();
                for (JsonElement ref : call.getAsJsonArray()) {
                    JsonObject t = new JsonObject();
                    t.addProperty("class_name", "__keras_tensor__");
                    t.add("config", cfg("shape", List.of(), "dtype", "float32", "keras_history",
                            List.of(ref.getAsJsonArray().get(0).getAsString(), 0, 0)));
                    args.add(t);
                }
                JsonObject node = new JsonObject();
                node.add("args", args);
                node.add("kwargs", new JsonObject());
                nodes.add(node);
            }
            l.add("inbound_nodes", nodes);
        }
        k3.getAsJsonObject("modelTopology").getAsJsonObject("model_config").addProperty("class_name", "Functional");
        assertClose(expected, run(importJson(k3, m, "flat"), x), "keras 3 inbound nodes");
    }

    private ImportResult importJson(JsonObject modelJson, TinyTfjs m, String cut) throws Exception {
        Path src = dir.resolve("json" + (++models));
        m.write(src, 1);
        Files.writeString(src.resolve("model.json"), modelJson.toString());
        return KerasImporter.builder(src).optCut(cut).build().importTo(dir.resolve("json" + models + ".onnx"));
    }

    // ---- weight storage -------------------------------------------------------------------------------------------

    @Test
    void float16AndQuantizedWeightsDecodeAsTfjsDoes() throws Exception {
        TinyTfjs m = new TinyTfjs(71).input("in", 8, 8);
        m.layer("Conv2D", "c1", cfg("filters", 3, "kernel_size", 3, "padding", "same", "activation", "linear"));
        float[] k1 = m.f16("c1/kernel", new int[] {3, 3, 3, 3}, false);
        float[] b1 = m.quantized("c1/bias", new int[] {3}, 8);
        m.layer("Conv2D", "c2", cfg("filters", 2, "kernel_size", 1, "padding", "valid", "activation", "linear"));
        float[] k2 = m.quantized("c2/kernel", new int[] {1, 1, 3, 2}, 16);
        float[] b2 = m.f16("c2/bias", new int[] {2}, true);
        m.layer("Flatten", "flat", cfg());
        ImportResult r = importModel(m, "flat", Layout.NCHW);
        Nhwc x = image(m, 8, 8, 1f);
        Nhwc expected = x.conv(k1, 3, 3, 3, b1, 1, 1, 1, 1, 1, 1, 8, 8).conv(k2, 1, 1, 2, b2, 1, 1, 1, 1, 0, 0, 8, 8);
        assertClose(expected.v(), run(r, x), "float16 / uint8 / uint16 weights");
    }

    // ---- errors ---------------------------------------------------------------------------------------------------

    private TinyTfjs convModel(long seed) {
        TinyTfjs m = new TinyTfjs(seed).input("in", 8, 8);
        m.layer("Conv2D", "conv", cfg("filters", 2, "kernel_size", 3, "padding", "same"));
        m.f32("conv/kernel", 3, 3, 3, 2);
        m.f32("conv/bias", 2);
        m.layer("GlobalAveragePooling2D", "gap", cfg());
        return m;
    }

    @Test
    void unknownLayerIsNamedWithItsClass() throws Exception {
        TinyTfjs m = convModel(81);
        m.layer("LSTM", "lstm_7", cfg("units", 4));
        Path src = m.write(dir.resolve("unknown"), 1);
        ModelException e = assertThrows(ModelException.class, () -> KerasImporter.builder(src).optCut("lstm_7")
                .build());
        assertEquals(ModelException.Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("'lstm_7' is a LSTM"), e.getMessage());
        assertTrue(e.getMessage().contains("supported"), e.getMessage());
        // A model that ends at its pooling has no classifier for --full.
        Path noTop = convModel(88).write(dir.resolve("notop"), 1);
        ModelException e2 = assertThrows(ModelException.class, () -> KerasImporter.builder(noTop).optFull(true)
                .build());
        assertTrue(e2.getMessage().contains("no classifier to keep"), e2.getMessage());
        // Cut before it, the same model imports.
        assertEquals("gap", KerasImporter.builder(src).optCut("gap").build().cutLayer());
    }

    @Test
    void missingShardIsNamed() throws Exception {
        Path src = convModel(82).write(dir.resolve("missing"), 2);
        Files.delete(src.resolve("group1-shard2of2.bin"));
        KerasImporter imp = KerasImporter.builder(src).build();
        ModelException e = assertThrows(ModelException.class, () -> imp.importTo(dir.resolve("x.onnx")));
        assertEquals(ModelException.Reason.NOT_FOUND, e.reason());
        assertTrue(e.getMessage().contains("group1-shard2of2.bin is missing"), e.getMessage());
        assertTrue(Files.notExists(dir.resolve("x.onnx")));
    }

    @Test
    void shardOfTheWrongLengthIsReportedWithBothSizes() throws Exception {
        TinyTfjs m = convModel(83);
        Path src = m.write(dir.resolve("short"), 2);
        Path shard = src.resolve("group1-shard2of2.bin");
        byte[] bytes = Files.readAllBytes(shard);
        Files.write(shard, Arrays.copyOf(bytes, bytes.length - 4));
        int expected = (3 * 3 * 3 * 2 + 2) * 4;
        ModelException e = assertThrows(ModelException.class, () -> KerasImporter.builder(src).build()
                .importTo(dir.resolve("y.onnx")));
        assertEquals(ModelException.Reason.INVALID_MODEL, e.reason());
        assertTrue(e.getMessage().contains("hold " + (expected - 4) + " bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("describes " + expected + " bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("group1-shard1of2.bin"), e.getMessage());
    }

    @Test
    void missingWeightChannelsFirstAndBadCutsAreClearErrors() throws Exception {
        TinyTfjs m = new TinyTfjs(84).input("in", 8, 8);
        m.layer("Conv2D", "conv", cfg("filters", 2, "kernel_size", 3, "padding", "same"));
        m.f32("conv/kernel", 3, 3, 3, 2); // no bias listed
        m.layer("MaxPooling2D", "pool", cfg("pool_size", 2));
        Path src = m.write(dir.resolve("noweight"), 1);
        ModelException e = assertThrows(ModelException.class, () -> KerasImporter.builder(src).optCut("pool")
                .build().importTo(dir.resolve("z.onnx")));
        assertTrue(e.getMessage().contains("needs weight 'conv/bias'"), e.getMessage());
        assertTrue(e.getMessage().contains("conv/kernel"), e.getMessage());

        Path withBias = convModel(86).write(dir.resolve("withbias"), 1);
        ModelException notPooled = assertThrows(ModelException.class, () -> KerasImporter.builder(withBias)
                .optCut("conv").build().importTo(dir.resolve("z.onnx")));
        assertTrue(notPooled.getMessage().contains("Conv2D 'conv' outputs [batch, 8, 8, 2]"),
                notPooled.getMessage());
        ModelException noLayer = assertThrows(ModelException.class, () -> KerasImporter.builder(src)
                .optCut("nope").build());
        assertTrue(noLayer.getMessage().contains("no layer 'nope'"), noLayer.getMessage());
        ModelException noDefault = assertThrows(ModelException.class, () -> KerasImporter.builder(src).build());
        assertTrue(noDefault.getMessage().contains("--cut LAYER"), noDefault.getMessage());
        ModelException both = assertThrows(ModelException.class, () -> KerasImporter.builder(src).optCut("pool")
                .optFull(true).build());
        assertEquals(ModelException.Reason.INVALID_SPEC, both.reason());

        TinyTfjs cf = new TinyTfjs(85).input("in", 8, 8);
        cf.layer("Conv2D", "conv", cfg("filters", 2, "kernel_size", 1, "data_format", "channels_first"));
        cf.f32("conv/kernel", 1, 1, 3, 2);
        cf.f32("conv/bias", 2);
        cf.layer("Flatten", "flat", cfg());
        Path cfSrc = cf.write(dir.resolve("cf"), 1);
        ModelException chf = assertThrows(ModelException.class, () -> KerasImporter.builder(cfSrc).optCut("flat")
                .build().importTo(dir.resolve("cf.onnx")));
        assertTrue(chf.getMessage().contains("channels_first"), chf.getMessage());
    }

    @Test
    void openInputSizeNeedsOptInputSize() throws Exception {
        TinyTfjs m = convModel(87);
        JsonObject json = m.modelJson(1);
        JsonObject in = json.getAsJsonObject("modelTopology").getAsJsonObject("model_config")
                .getAsJsonObject("config").getAsJsonArray("layers").get(0).getAsJsonObject().getAsJsonObject("config");
        in.add("batch_input_shape", com.google.gson.JsonParser.parseString("[null, null, null, 3]"));
        Path src = dir.resolve("open");
        m.write(src, 1);
        Files.writeString(src.resolve("model.json"), json.toString());
        ModelException e = assertThrows(ModelException.class, () -> KerasImporter.builder(src).build()
                .importTo(dir.resolve("open.onnx")));
        assertTrue(e.getMessage().contains("leaves its size open"), e.getMessage());
        ImportResult r = KerasImporter.builder(src).optInputSize(12, 10).build().importTo(dir.resolve("open.onnx"));
        assertEquals(12, r.spec().height());
        assertEquals(10, r.spec().width());
        ModelException bad = assertThrows(ModelException.class, () -> KerasImporter.builder(src)
                .optInputSize(4, 10).build());
        assertTrue(bad.getMessage().contains("optInputSize is 4x10"), bad.getMessage());
    }

    // ---- npm tarball ----------------------------------------------------------------------------------------------

    @Test
    void npmTarballImportsLikeItsFolderAndRecordsProvenance() throws Exception {
        TinyTfjs m = convModel(91).named("resnet50");
        JsonObject json = m.modelJson(2);
        byte[][] shards = m.shards(2);
        Path tgz = dir.resolve("tiny-resnet-0.3.0.tgz");
        TinyTfjs.writeTgz(tgz, List.of(
                Map.entry("package/package.json", "{\"name\":\"tiny-resnet\",\"version\":\"0.3.0\"}"
                        .getBytes(StandardCharsets.UTF_8)),
                Map.entry("package/ResNet/model.json", json.toString().getBytes(StandardCharsets.UTF_8)),
                Map.entry("package/ResNet/group1-shard1of2.bin", shards[0]),
                Map.entry("package/ResNet/group1-shard2of2.bin", shards[1])));
        ImportResult r = KerasImporter.builder(tgz).build().importTo(dir.resolve("tgz.onnx"));
        assertEquals("gap", r.cutLayer());
        assertEquals(Preset.CAFFE.id(), r.spec().preset(), "resnet50 is caffe-preprocessed");
        assertEquals("in", r.spec().inputName());
        assertEquals(KerasImporter.DEFAULT_LAYOUT, r.spec().layout());
        assertEquals(Hashes.sha256(tgz), r.provenance().get("sourceSha256"));
        assertEquals("tiny-resnet", r.provenance().get("package"));
        assertEquals("0.3.0", r.provenance().get("version"));
        assertEquals("package/ResNet/model.json", r.provenance().get("modelJson"));
        assertEquals(r.provenance().get("gflopPerImage"), String.format(java.util.Locale.ROOT, "%.4f",
                r.gflopPerImage()));
        assertTrue(r.toText().contains("from tiny-resnet@0.3.0"), r.toText());
        assertTrue(r.toText().contains("no-top: features after 'gap' [N,2]"), r.toText());
        String meta = OnnxModels.metadata(OnnxModels.load(r.model()), OnnxMetadata.IMPORT).orElseThrow();
        assertTrue(meta.contains("\"package\":\"tiny-resnet\""), meta);
        // What bench.jar backbone reads back to report GFLOP/s; absent for a model without an import record.
        assertEquals(r.gflopPerImage(), KerasImporter.recordedGflopPerImage(
                OnnxMetadata.read(r.model())).orElseThrow(), 1e-4);
        assertTrue(KerasImporter.recordedGflopPerImage(java.util.Map.of()).isEmpty());

        Path folder = m.write(dir.resolve("same-as-folder/package/ResNet"), 2);
        ImportResult f = KerasImporter.builder(dir.resolve("same-as-folder")).build()
                .importTo(dir.resolve("folder.onnx"));
        Nhwc x = image(m, 8, 8, 1f);
        assertArrayEquals(run(f, x), run(r, x));
        assertTrue(Files.isDirectory(folder));

        // Deterministic: the same import twice gives the same file.
        ImportResult again = KerasImporter.builder(tgz).build().importTo(dir.resolve("tgz2.onnx"));
        assertEquals(r.spec().modelSha256(), again.spec().modelSha256());

        byte[] whole = Files.readAllBytes(tgz);
        Path cut = Files.write(dir.resolve("cut.tgz"), Arrays.copyOf(whole, whole.length / 2));
        ModelException truncated = assertThrows(ModelException.class, () -> KerasImporter.builder(cut).build());
        assertTrue(truncated.getMessage().contains("download is incomplete"), truncated.getMessage());
        Path notGzip = Files.writeString(dir.resolve("bad.tgz"), "not a tarball");
        ModelException e = assertThrows(ModelException.class, () -> KerasImporter.builder(notGzip).build());
        assertTrue(e.getMessage().contains("not a gzip file"), e.getMessage());
    }
}
