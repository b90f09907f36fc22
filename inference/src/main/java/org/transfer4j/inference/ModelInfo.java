package org.transfer4j.inference;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.head.HeadInfo;
import org.transfer4j.head.Provenance;
import org.transfer4j.head.TrainingConfig;

/**
 * What a {@link Predictor} loaded, for logs, health endpoints and audits: the classes, the preprocessing, the head's
 * shape and how it was trained, and from what.
 *
 * @param form       a composed model or a backbone plus a head
 * @param source     the file(s) loaded, as given
 * @param classes    class names, index = probability column
 * @param spec       the spec recorded with the model (its metadata, or the head's {@code head.json}), or the
 *                   {@code optSpec} override; it names the backbone's sha256 and its feature output
 * @param featureDim features per image the head takes (D), or -1 when the model does not say
 * @param hidden     the head's hidden units (0 = none), or -1 when the model does not say
 * @param head       how the head was trained and from what (config, epochs, provenance), or null for a head given in
 *                   memory; its members are null or 0 where the model does not record them
 * @param metadata   a composed model's whole ONNX metadata (keys in {@code backbone.onnx.OnnxMetadata}), in file
 *                   order; empty for the two-part form
 */
public record ModelInfo(Form form, String source, List<String> classes, BackboneSpec spec, int featureDim, int hidden,
                        HeadInfo head, Map<String, String> metadata) {

    /** The two ways a Predictor loads a model. */
    public enum Form {
        /** One ONNX file: backbone, head, spec and class names ({@code model.jar compose}, train-head's model.onnx). */
        COMPOSED,
        /** A backbone file and a head folder ({@code head.json} + {@code head.bin}) or in-memory head. */
        TWO_PART
    }

    public ModelInfo {
        Objects.requireNonNull(form, "form");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(spec, "spec");
        classes = List.copyOf(classes);
        metadata = metadata == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** The head's training configuration, or null when the model does not record it. */
    public TrainingConfig training() {
        return head == null ? null : head.training();
    }

    /** Who made the head from what (caches, their hashes, library versions, date), or null when not recorded. */
    public Provenance provenance() {
        return head == null ? null : head.provenance();
    }
}
