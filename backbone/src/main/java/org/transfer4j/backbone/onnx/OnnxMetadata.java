package org.transfer4j.backbone.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.transfer4j.ModelException;
import org.transfer4j.ModelException.Reason;

/**
 * The custom metadata ({@code ModelProto.metadata_props}) of transfer4j's ONNX models: every key any tool writes, in
 * one place (as Tribuo keeps its provenance keys), the output names a composed model promises, and {@link #read}, a
 * fast reader of the metadata alone.
 *
 * <p>{@link #read} exists because the Predictor needs the spec and class names before it can open the session with
 * the right output; it skips over the graph (the weights) without building it, so it costs one sequential read of the
 * file and no second copy of the model in memory.
 */
public final class OnnxMetadata {
    /** The backbone spec as JSON ({@code SpecJson}): on cut backbones, generated backbones and composed models. */
    public static final String SPEC = "transfer4j.spec";
    /** A composed model's class names as a JSON array, index = probability column. */
    public static final String CLASSES = "transfer4j.classes";
    /** A composed model's head: head.json without its weights section (config, epochs, provenance), a JSON object. */
    public static final String HEAD = "transfer4j.head";
    /** A composed model's composition record: backbone file name and sha256, features tensor, date (JSON object). */
    public static final String COMPOSED = "transfer4j.composed";
    /** An imported model's provenance: source package, version, sha256, cut layer, layout, GFLOP (JSON object). */
    public static final String IMPORT = "transfer4j.import";
    /** How an int8 model was quantized and calibrated: method, image count, seed, dataset hash (JSON object). */
    public static final String QUANTIZATION = "transfer4j.quantization";
    /**
     * A maps prefix ({@code extract --maps}): the full backbone it was cut from (absolute file path and sha256) and the
     * split tensor, so fine-tuning finds the stage and the model to compose with (JSON object).
     */
    public static final String MAPS_SOURCE = "transfer4j.maps_source";
    /**
     * A model whose last stage was fine-tuned: the base backbone's sha256, the split tensor, the tuned parameters
     * and the fine-tuning options (JSON object).
     */
    public static final String FINE_TUNE = "transfer4j.fine_tune";
    /** A generated backbone's recipe: model, seed, whether pretrained (JSON object). */
    public static final String GENERATOR = "transfer4j.generator";
    /** A composed model's output: class probabilities [N,K]. */
    public static final String PROBABILITIES_OUTPUT = "probabilities";
    /** A composed model's output: the backbone's features [N,D]. */
    public static final String FEATURES_OUTPUT = "features";

    /** ModelProto field numbers (onnx.proto). */
    private static final int MODEL_METADATA_PROPS = 14;
    private static final int ENTRY_KEY = 1;
    private static final int ENTRY_VALUE = 2;

    private OnnxMetadata() {
    }

    public static Map<String, String> read(Path file) throws ModelException {
        if (!Files.isRegularFile(file)) {
            throw new ModelException(Reason.NOT_FOUND, "model file " + file + " does not exist");
        }
        Map<String, String> out = new LinkedHashMap<>();
        try (InputStream in = Files.newInputStream(file)) {
            CodedInputStream cis = CodedInputStream.newInstance(in, 1 << 16);
            cis.setSizeLimit(Integer.MAX_VALUE);
            for (int tag; (tag = cis.readTag()) != 0; ) {
                if (WireFormat.getTagFieldNumber(tag) == MODEL_METADATA_PROPS
                        && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    int limit = cis.pushLimit(cis.readRawVarint32());
                    String key = null;
                    String value = "";
                    for (int t; (t = cis.readTag()) != 0; ) {
                        switch (WireFormat.getTagFieldNumber(t)) {
                            case ENTRY_KEY -> key = cis.readStringRequireUtf8();
                            case ENTRY_VALUE -> value = cis.readStringRequireUtf8();
                            default -> cis.skipField(t);
                        }
                    }
                    cis.popLimit(limit);
                    if (key != null) {
                        out.put(key, value);
                    }
                } else if (!cis.skipField(tag)) {
                    break;
                }
                // The size counter only guards against hostile messages; this is a plain file scan.
                cis.resetSizeCounter();
            }
        } catch (IOException e) {
            throw new ModelException(Reason.INVALID_MODEL, file + " is not a readable ONNX model (cannot read its "
                    + "metadata: " + e.getMessage() + ")", e);
        }
        return out;
    }
}
