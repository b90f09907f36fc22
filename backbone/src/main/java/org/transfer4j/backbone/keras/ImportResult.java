package org.transfer4j.backbone.keras;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.transfer4j.backbone.spec.BackboneSpec;

/**
 * What {@link KerasImporter#importTo} wrote.
 *
 * @param model         the ONNX model
 * @param sidecar       its spec sidecar ({@code <model-basename>.json})
 * @param spec          the spec written to the sidecar, with the model file's sha256
 * @param classes       the class names of a full model (from the package's {@code assets/labels.json}); empty for a
 *                      no-top model
 * @param provenance    what was imported from what (package, version, source sha256, converter, cut layer, layout,
 *                      preset, GFLOP), as stored in the model's {@value org.transfer4j.backbone.onnx.OnnxMetadata#IMPORT} metadata
 * @param gflopPerImage 2 x the multiply-accumulates of the convolutions and Dense layers in the written graph, per
 *                      image at the model's input size, in 10^9
 * @param cutLayer      the Keras layer whose output is {@code features}
 * @param warnings      things the user should check (an assumed preset, class names missing from the package)
 */
public record ImportResult(Path model, Path sidecar, BackboneSpec spec, List<String> classes,
                           Map<String, String> provenance, double gflopPerImage, String cutLayer,
                           List<String> warnings) {
    public ImportResult {
        classes = List.copyOf(classes);
        provenance = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(provenance));
        warnings = List.copyOf(warnings);
    }

    /** A few lines for the command line. */
    public String toText() {
        StringBuilder sb = new StringBuilder();
        String pkg = provenance.getOrDefault("package", "");
        String version = provenance.getOrDefault("version", "");
        sb.append("imported Keras model '").append(provenance.getOrDefault("kerasModel", "?")).append("' from ")
                .append(pkg.isEmpty() ? provenance.getOrDefault("source", "?") : pkg + (version.isEmpty() ? ""
                        : "@" + version)).append('\n');
        sb.append(classes.isEmpty() ? "no-top" : "full classifier (" + classes.size() + " classes)")
                .append(": features after '").append(cutLayer).append("' [N,").append(spec.featureDim())
                .append("]").append(classes.isEmpty() ? "" : ", probabilities [N," + classes.size() + "]")
                .append(String.format(java.util.Locale.ROOT, ", %.2f GFLOP/image%n", gflopPerImage));
        sb.append("wrote ").append(model).append('\n');
        sb.append("wrote ").append(sidecar).append(" (preset ").append(spec.preset()).append(", input '")
                .append(spec.inputName()).append("' ").append(spec.layout()).append(' ').append(spec.height())
                .append('x').append(spec.width()).append(")\n");
        warnings.forEach(w -> sb.append("warning: ").append(w).append('\n'));
        return sb.toString();
    }
}
