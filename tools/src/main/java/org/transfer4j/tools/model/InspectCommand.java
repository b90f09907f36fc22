package org.transfer4j.tools.model;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.onnx.Inspect;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code model.jar inspect M.onnx}: {@link Inspect}. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Print a model's inputs, outputs, opsets, node counts by operator and metadata (spec, classes, "
                + "head provenance).")
public final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL.onnx", description = "The ONNX file.")
    Path model;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() throws ModelException {
        Inspect info = Inspect.of(model);
        System.out.print(json ? info.toJson() + "\n" : info.toText());
        return 0;
    }
}
