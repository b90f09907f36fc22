package org.transfer4j.backbone.quantize;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.onnx.OnnxModels;

/**
 * ONNX Runtime's own graph optimiser, used twice: before quantization at the basic level (constant folding, batch
 * norm folded into Conv, identities removed: portable ONNX, so calibration sees the graph ORT would run), and after it
 * at the level backbones run with, to count what the QDQ graph became (QLinearConv, ...).
 */
public final class OrtOptimizer {
    private OrtOptimizer() {
    }

    /** The model as ONNX Runtime rewrites it at {@code level} (saved through its optimized-model output). */
    static ModelProto optimize(byte[] model, OrtSession.SessionOptions.OptLevel level, String what)
            throws ModelException {
        Path tmp = null;
        try {
            tmp = Files.createTempFile("transfer4j-optimized-", ".onnx");
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                so.setOptimizationLevel(level);
                so.setOptimizedModelFilePath(tmp.toString());
                so.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
                so.setIntraOpNumThreads(1);
                try (OrtSession s = env.createSession(model, so)) {
                    s.getNumInputs();
                }
            }
            return OnnxModels.load(tmp);
        } catch (OrtException e) {
            throw new ModelException(ModelException.Reason.INVALID_MODEL, "ONNX Runtime cannot optimize " + what
                    + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ModelException(ModelException.Reason.RUNTIME, "cannot write ONNX Runtime's optimized copy of "
                    + what + " to a temporary file: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // A leftover temp file is harmless; the result is already read.
                }
            }
        }
    }

    /**
     * Operator counts of the graph ONNX Runtime actually runs for {@code model} on the CPU with all optimisations
     * (what {@code Backbone} uses), e.g. {@code QLinearConv=53}: the proof that a QDQ model was fused into integer
     * kernels.
     */
    public static Map<String, Integer> runtimeOpCounts(ModelProto model, String what) throws ModelException {
        Map<String, Integer> counts = new TreeMap<>();
        for (NodeProto n : optimize(model.toByteArray(), OrtSession.SessionOptions.OptLevel.ALL_OPT, what)
                .getGraph().getNodeList()) {
            counts.merge(n.getOpType(), 1, Integer::sum);
        }
        return counts;
    }

    /** {@link #runtimeOpCounts(ModelProto, String)} of a model file. */
    public static Map<String, Integer> runtimeOpCounts(Path model) throws ModelException {
        return runtimeOpCounts(OnnxModels.load(model), model.toString());
    }
}
