package org.transfer4j.head.inference;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.file.Path;
import java.util.Locale;
import org.transfer4j.backbone.ModelException;
import org.transfer4j.backbone.ModelException.Reason;

/** Opens ORT sessions with the Predictor's device and thread settings. */
final class SessionFactory {
    private final String device;
    private final int threads;

    SessionFactory(String device, int threads) {
        this.device = device;
        this.threads = threads;
    }

    OrtSession open(Path file) throws ModelException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (threads > 0) {
                opts.setIntraOpNumThreads(threads);
            }
            addDevice(opts);
            return env.createSession(file.toString(), opts);
        } catch (OrtException e) {
            throw new ModelException(Reason.INVALID_MODEL, file + ": ONNX Runtime cannot load it as a model: "
                    + e.getMessage(), e);
        }
    }

    private void addDevice(OrtSession.SessionOptions opts) throws ModelException {
        String d = device.toLowerCase(Locale.ROOT);
        if (d.equals("cpu") || d.equals("auto")) {
            return;
        }
        if (d.startsWith("cuda")) {
            int id = d.equals("cuda") ? 0 : Integer.parseInt(d.substring(5));
            try {
                opts.addCUDA(id);
            } catch (OrtException | UnsatisfiedLinkError e) {
                throw new ModelException(Reason.DEVICE_UNAVAILABLE, "device " + device + " cannot be used: "
                        + e.getMessage() + "; build with -Pgpu on a CUDA 12 machine, or use --device cpu", e);
            }
        }
    }
}
