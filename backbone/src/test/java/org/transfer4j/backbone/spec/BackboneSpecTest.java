package org.transfer4j.backbone.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackboneSpecTest {
    @Test
    void presetsMatchTheReferencePipelines() {
        BackboneSpec torch = Preset.TORCH.spec("input", Layout.NCHW, 224, 224);
        assertEquals(256, torch.resizeShorter());
        assertEquals(ResizePolicy.SHORTER_SIDE_THEN_CENTER_CROP, torch.resize());
        assertEquals(Interpolation.BILINEAR, torch.interpolation());
        assertArrayEquals(new double[] {0.485, 0.456, 0.406}, torch.mean());
        BackboneSpec caffe = Preset.CAFFE.spec("input_1", Layout.NHWC, 224, 224);
        assertEquals(ChannelOrder.BGR, caffe.channelOrder());
        assertEquals(ResizePolicy.DIRECT, caffe.resize());
        assertEquals(Interpolation.NEAREST, caffe.interpolation());
        assertEquals(1.0, caffe.scale());
        assertArrayEquals(new double[] {103.939, 116.779, 123.68}, caffe.mean());
        BackboneSpec tf = Preset.TF.spec("x", Layout.NHWC, 224, 224);
        assertEquals(-1.0, (0 * tf.scale() - tf.mean(0)) / tf.std(0));
        assertEquals(1.0, (255 * tf.scale() - tf.mean(0)) / tf.std(0), 1e-12);
    }

    @Test
    void jsonRoundTripKeepsEveryField(@TempDir Path dir) throws Exception {
        BackboneSpec spec = Preset.CAFFE.spec("input_1", Layout.NHWC, 224, 224).withOutputName("avg_pool")
                .withFeatureDim(2048).withModelSha256("ab".repeat(32));
        Path file = dir.resolve("m.json");
        SpecJson.write(spec, file);
        BackboneSpec back = SpecJson.read(file);
        assertEquals(spec, back);
        assertTrue(spec.samePreprocessing(back));
        assertNotEquals(spec, back.withFeatureDim(1280));
    }

    @Test
    void presetShorthandInJson() {
        BackboneSpec s = SpecJson.fromJson("{\"preset\":\"caffe\",\"inputName\":\"input_1\",\"layout\":\"NHWC\"}");
        assertEquals(Preset.CAFFE.spec("input_1", Layout.NHWC, 224, 224), s);
    }

    @Test
    void invalidFieldsAreNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> SpecJson.fromJson(
                "{\"preset\":\"torch\",\"inputName\":\"input\",\"layout\":\"NCHW\",\"std\":[1,0,1]}"));
        assertTrue(e.getMessage().contains("'std'"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> Preset.TORCH.spec("input", Layout.NCHW, 4, 224));
        assertTrue(e2.getMessage().contains("'height' is 4"), e2.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Preset.parse("keras"));
    }
}
