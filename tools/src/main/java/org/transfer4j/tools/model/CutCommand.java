package org.transfer4j.tools.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.onnx.GraphSurgery;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code model.jar cut}: {@link GraphSurgery#cutToNoTop}. */
@Command(name = "cut", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Turn a full ImageNet classifier into a no-top backbone: find the globally pooled tensor that "
                + "feeds the classifier, expose it as float output 'features' [N,D] (dequantized for int8 models), "
                + "drop the classifier, and write a spec sidecar <out>.json.",
            "The sidecar copies the input's spec (its <in>.json or transfer4j.spec metadata), else assumes the torch "
                + "preset: check it if the model was trained with other preprocessing."})
public final class CutCommand implements Callable<Integer> {
    @Option(names = "--in", required = true, paramLabel = "FULL.onnx", description = "The full classifier.")
    Path in;

    @Option(names = "--out", required = true, paramLabel = "NOTOP.onnx", description = "The no-top model to write.")
    Path out;

    @Option(names = "--at", paramLabel = "TENSOR",
            description = "Cut at this tensor instead of searching for the pooled one (inspect the error message "
                    + "of a failed cut for candidates).")
    String at;

    @Override
    public Integer call() throws ModelException, IOException {
        if (in.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("--out must differ from --in (" + in + "); keep the full model");
        }
        System.out.print(GraphSurgery.cutToNoTop(in, out, at).toText());
        return 0;
    }
}
