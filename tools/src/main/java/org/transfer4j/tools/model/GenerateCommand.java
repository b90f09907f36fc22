package org.transfer4j.tools.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.transfer4j.backbone.onnx.GraphSurgery;
import org.transfer4j.backbone.onnx.ResNet50Generator;
import org.transfer4j.backbone.spec.BackboneSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code model.jar generate resnet50}: {@link ResNet50Generator#write}. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write the project's default backbone: ResNet50 (53 convolutions, 2048-d features) with "
                + "seeded He-initialised weights and zero-init residual blocks, plus its spec sidecar.",
            "It is NOT pretrained: it runs the pipeline and separates colours and textures, nothing more. For real "
                + "photos use 'model.jar fetch resnet50-keras'."})
public final class GenerateCommand implements Callable<Integer> {
    enum Architecture { resnet50 }

    @Parameters(index = "0", paramLabel = "ARCH", description = "Architecture to generate: ${COMPLETION-CANDIDATES}.")
    Architecture architecture;

    @Option(names = "--out", required = true, paramLabel = "FILE.onnx", description = "Where to write the model.")
    Path out;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "42",
            description = "Seed of the random weights (default: ${DEFAULT-VALUE}); same seed, same file.")
    long seed;

    @Override
    public Integer call() throws IOException {
        BackboneSpec spec = ResNet50Generator.write(out, seed);
        System.out.printf("wrote %s (ResNet50, seed %d, NOT pretrained; input '%s' [N,3,224,224], output '%s' "
                + "[N,%d])%n", out, seed, spec.inputName(), spec.outputName(), spec.featureDim());
        System.out.printf("wrote %s (preset %s, sha256 %s)%n", GraphSurgery.sidecarOf(out), spec.preset(),
                spec.modelSha256());
        return 0;
    }
}
