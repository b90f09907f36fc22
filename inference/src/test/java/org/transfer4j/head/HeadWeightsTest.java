package org.transfer4j.head;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;

class HeadWeightsTest {
    @Test
    void validatesShapes() {
        var spec = Preset.TORCH.spec("input", Layout.NCHW, 224, 224);
        var ok = new HeadWeights(List.of("a", "b"), 3, 0, new float[0], new float[0], new float[6], new float[2], spec);
        assertEquals(2, ok.numClasses());
        var e = assertThrows(IllegalArgumentException.class, () -> new HeadWeights(List.of("a", "b"), 3, 4,
                new float[12], new float[4], new float[6], new float[2], spec));
        assertEquals("head field 'w2.length' is 6; must be (hidden or featureDim)*classes", e.getMessage());
    }
}
