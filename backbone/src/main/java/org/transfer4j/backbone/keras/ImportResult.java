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
 *                      preset, GFLOP), as stored in the model's {@value KerasImporter#META_IMPORT} metadata
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
}
