package org.transfer4j.tools.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.head.compose.Composer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code model.jar compose}: {@link HeadFiles#read} then {@link Composer#compose}. */
@Command(name = "compose", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Splice a trained head onto its backbone: one ONNX model with outputs 'probabilities' [N,K] "
                + "and 'features' [N,D], carrying the spec, class names and head provenance in its metadata.",
            "Refuses a backbone other than the one the head was trained on (sha256) or one with another feature "
                + "size."})
public final class ComposeCommand implements Callable<Integer> {
    @Option(names = "--backbone", required = true, paramLabel = "BACKBONE.onnx",
            description = "The backbone the head's features came from.")
    Path backbone;

    @Option(names = "--head", required = true, paramLabel = "HEAD_DIR",
            description = "A head folder written by train-head (head.json + head.bin).")
    Path head;

    @Option(names = "--out", paramLabel = "MODEL.onnx", description = "Where to write (default: HEAD_DIR/model.onnx).")
    Path out;

    @Override
    public Integer call() throws ModelException, IOException {
        Path target = out != null ? out : head.resolve("model.onnx");
        Composer.ComposedModel c = Composer.compose(backbone, head, target);
        System.out.printf("wrote %s: %s (features '%s' [N,%d]) + head (%s) over %d classes %s%n", c.model(),
                backbone.getFileName(), c.featuresTensor(), c.featureDim(),
                c.hidden() == 0 ? "softmax" : c.hidden() + " hidden units", c.classes().size(), c.classes());
        System.out.println("outputs: probabilities [N," + c.classes().size() + "], features [N," + c.featureDim()
                + "]; next: java -jar predict.jar --model " + c.model() + " IMAGES...");
        return 0;
    }
}
