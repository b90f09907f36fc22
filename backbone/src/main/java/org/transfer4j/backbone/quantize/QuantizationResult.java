package org.transfer4j.backbone.quantize;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.transfer4j.backbone.spec.BackboneSpec;

/**
 * What {@link Quantizer#quantizeTo} wrote.
 *
 * @param model          the int8 model
 * @param sidecar        its spec sidecar (the source's spec, with the new file's sha256)
 * @param spec           the spec written
 * @param bytes          size of the int8 model file
 * @param quantizedNodes quantized nodes per operator (Conv, Gemm, MatMul, Add, MaxPool)
 * @param convs          Conv nodes in the float graph (after ONNX Runtime's basic optimisation)
 * @param runtimeOps     operator counts of the graph ONNX Runtime runs for the int8 model (e.g. QLinearConv)
 * @param calibration    how the ranges were found
 * @param warnings       things to check, e.g. a spec that had to be guessed
 */
public record QuantizationResult(Path model, Path sidecar, BackboneSpec spec, long bytes,
                                 Map<String, Integer> quantizedNodes, int convs, Map<String, Integer> runtimeOps,
                                 Calibration calibration, List<String> warnings) {
    public QuantizationResult {
        quantizedNodes = Map.copyOf(quantizedNodes);
        runtimeOps = Map.copyOf(runtimeOps);
        warnings = List.copyOf(warnings);
    }

    /**
     * The calibration behind the ranges, as recorded in the model's metadata.
     *
     * @param method        how ranges were chosen
     * @param images        images observed
     * @param requested     images asked for ({@code --count})
     * @param available     images in the calibration set before the count was applied
     * @param seed          seed of the choice among the available images
     * @param datasetSha256 sha256 over the chosen images' names and content hashes, in order
     * @param failed        images that could not be decoded ("name: reason")
     * @param tensors       activation tensors calibrated
     * @param seconds       time spent running the float model on the images
     */
    public record Calibration(CalibrationMethod method, int images, int requested, int available, long seed,
                              String datasetSha256, List<String> failed, int tensors, double seconds) {
        public Calibration {
            failed = List.copyOf(failed);
        }
    }

    /** Convolutions ONNX Runtime runs as integer kernels (QLinearConv, or ConvInteger). */
    public int fusedConvs() {
        return runtimeOps.getOrDefault("QLinearConv", 0) + runtimeOps.getOrDefault("ConvInteger", 0);
    }

    /** Convolutions ONNX Runtime still runs in float. */
    public int floatConvs() {
        return runtimeOps.getOrDefault("Conv", 0) + runtimeOps.getOrDefault("FusedConv", 0);
    }

    /** A few lines for the command line. */
    public String toText() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "calibrated %d tensors on %d images (%s, seed %d, %.1f s)%s%n",
                calibration.tensors(), calibration.images(), calibration.method().word(), calibration.seed(),
                calibration.seconds(), calibration.failed().isEmpty() ? ""
                        : "; " + calibration.failed().size() + " images skipped"));
        sb.append("quantized ").append(quantizedNodes).append(" (int8 weights per output channel, uint8 "
                + "activations)\n");
        sb.append(String.format(Locale.ROOT, "ONNX Runtime runs %d of %d convolutions as integer kernels "
                + "(QLinearConv)%n", fusedConvs(), convs));
        sb.append(String.format(Locale.ROOT, "wrote %s (%,d bytes)%n", model, bytes));
        sb.append("wrote ").append(sidecar).append(" (preset ").append(spec.preset()).append(", sha256 ")
                .append(spec.modelSha256()).append(")\n");
        warnings.forEach(w -> sb.append("warning: ").append(w).append('\n'));
        return sb.toString();
    }
}
