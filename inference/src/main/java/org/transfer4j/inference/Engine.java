package org.transfer4j.inference;

import java.nio.FloatBuffer;
import java.util.List;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.spec.BackboneSpec;

/**
 * What turns a batch of preprocessed images into class probabilities: one composed ONNX session, or a backbone
 * session followed by the head in plain Java. The {@link Predictor} owns decoding, preprocessing, buffers and top-k;
 * an engine owns only the model. Implementations are thread-safe (ORT sessions are).
 */
interface Engine extends AutoCloseable {
    /** The spec images must be preprocessed with. */
    BackboneSpec spec();

    /** Class names, output index order. */
    List<String> classes();

    /** The largest batch one run accepts (1 for models whose batch dimension is fixed to 1). */
    int maxBatch();

    /**
     * Probabilities for the first {@code n} images in {@code batch} (floats from position 0, in the spec's layout).
     * Every native tensor and result made here is closed before returning.
     */
    float[][] probabilities(FloatBuffer batch, int n) throws ModelException;

    /** What was loaded: form, files, classes, spec, head config and provenance. */
    ModelInfo info();

    /** Short description for messages, e.g. the model file names. */
    String describe();

    @Override
    void close() throws ModelException;
}
