package org.transfer4j.tools.predict;

import java.awt.Color;
import java.nio.file.Path;
import org.transfer4j.backbone.spec.BackboneSpec;

/** PredictCommandTest's model and image helpers for tests in other packages. */
public final class PredictCommandTestAccess {
    private PredictCommandTestAccess() {
    }

    public static BackboneSpec specOf(Path model) throws Exception {
        return PredictCommandTest.specOf(model);
    }

    public static void write(Path file, Color color, int w, int h) throws java.io.IOException {
        PredictCommandTest.write(file, color, w, h);
    }
}
