package org.transfer4j.backbone.quantize;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.ImageDecoder;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.preprocess.Preprocessor;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;

/**
 * Runs the float model on the calibration images, one at a time, with every tensor that needs a range exposed as an
 * output, and feeds each tensor to its {@link RangeObserver}; nothing is kept of an image once it is observed.
 * Images are decoded and preprocessed exactly as extraction does ({@link ImageDecoder}, {@link Preprocessor} of the
 * model's own spec), so the ranges are those the model will meet.
 */
final class Calibrator {
    private static final long PROGRESS_NANOS = 5_000_000_000L;

    /** What calibration saw: observers per tensor, and the images it could not read. */
    record Observed(Map<String, RangeObserver> observers, int images, List<String> failed, double seconds) {
    }

    private Calibrator() {
    }

    /** Direct float tensors shaped like the outputs of {@code r}, for ORT to write later runs into. */
    private static void pin(OrtEnvironment env, OrtSession.Result r, List<String> names, Map<String, OnnxTensor> pinned,
                            String what) throws OrtException, ModelException {
        for (String t : names) {
            OnnxValue v = r.get(t).orElseThrow();
            if (!(v instanceof OnnxTensor ot) || ot.getInfo().type != ai.onnxruntime.OnnxJavaType.FLOAT) {
                throw new ModelException(ModelException.Reason.INCOMPATIBLE, "tensor '" + t + "' of " + what
                        + " is not a float tensor; only float models can be quantized");
            }
            long[] shape = ot.getInfo().getShape();
            long n = ot.getInfo().getNumElements();
            if (n * Float.BYTES > Integer.MAX_VALUE) {
                throw new ModelException(ModelException.Reason.INCOMPATIBLE, "tensor '" + t + "' of " + what + " has "
                        + n + " values for one image, too many to calibrate");
            }
            FloatBuffer buf = java.nio.ByteBuffer.allocateDirect((int) n * Float.BYTES)
                    .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
            pinned.put(t, OnnxTensor.createTensor(env, buf, shape));
        }
    }

    static Observed run(ModelProto model, List<String> tensors, BackboneSpec spec, List<Quantizer.Image> images,
                        CalibrationMethod method, int threads, ImageDecoder decoder, Consumer<String> progress,
                        String what) throws ModelException {
        GraphProto g = model.getGraph();
        Set<String> inits = new HashSet<>();
        g.getInitializerList().forEach(t -> inits.add(t.getName()));
        Set<String> inputs = new HashSet<>();
        for (ValueInfoProto v : g.getInputList()) {
            if (!inits.contains(v.getName())) {
                inputs.add(v.getName());
            }
        }
        Map<String, RangeObserver> observers = new LinkedHashMap<>();
        List<String> fromOutputs = new ArrayList<>();
        for (String t : tensors) {
            observers.put(t, new RangeObserver(method != CalibrationMethod.MINMAX));
            if (!inputs.contains(t)) {
                fromOutputs.add(t);
            }
        }
        // The tensors to observe become the graph's outputs; bare names are typed by ORT's own inference.
        GraphProto.Builder gb = g.toBuilder().clearOutput();
        fromOutputs.forEach(t -> gb.addOutput(ValueInfoProto.newBuilder().setName(t)));
        byte[] calibrationModel = model.toBuilder().setGraph(gb).build().toByteArray();

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Preprocessor pre = new Preprocessor(spec);
        FloatBuffer batch = Backbone.newBatchBuffer(spec, 1);
        float[] input = new float[spec.floatsPerImage()];
        long[] shape = spec.layout() == Layout.NCHW ? new long[] {1, 3, spec.height(), spec.width()}
                : new long[] {1, spec.height(), spec.width(), 3};
        List<String> failed = new ArrayList<>();
        float[] scratch = new float[0];
        Map<String, OnnxTensor> pinned = new LinkedHashMap<>();
        long start = System.nanoTime();
        long lastLine = start;
        int done = 0;
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setIntraOpNumThreads(threads);
            so.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            so.addConfigEntry("session.intra_op.allow_spinning", "0");
            try (OrtSession session = env.createSession(calibrationModel, so)) {
                for (int i = 0; i < images.size(); i++) {
                    Quantizer.Image image = images.get(i);
                    RgbImage rgb;
                    try {
                        rgb = decoder.decode(image.path());
                    } catch (ImageDecodeException e) {
                        failed.add(image.name() + ": " + e.getMessage());
                        progress.accept("calibrate: skipped " + image.name() + " (" + e.getMessage() + ")");
                        continue;
                    }
                    pre.write(rgb, batch, 0);
                    if (tensors.stream().anyMatch(inputs::contains)) {
                        batch.duplicate().clear().get(input);
                    }
                    try (OnnxTensor x = OnnxTensor.createTensor(env, batch.duplicate().clear(), shape)) {
                        if (pinned.isEmpty()) {
                            // The first run learns the output shapes; later runs write into buffers allocated once,
                            // so a large model does not leave tens of MB of garbage per image on the heap.
                            try (OrtSession.Result r = session.run(Map.of(spec.inputName(), x))) {
                                pin(env, r, fromOutputs, pinned, what);
                            }
                        }
                        try (OrtSession.Result r = session.run(Map.of(spec.inputName(), x), pinned)) {
                            for (String t : tensors) {
                                if (inputs.contains(t)) {
                                    observers.get(t).observe(input, input.length);
                                    continue;
                                }
                                // The buffer ORT wrote into: read in place, no copy made by ORT's Java API.
                                FloatBuffer fb = ((FloatBuffer) pinned.get(t).getBufferRef().orElseThrow())
                                        .duplicate().clear();
                                int n = fb.remaining();
                                if (scratch.length < n) {
                                    scratch = new float[n];
                                }
                                fb.get(scratch, 0, n);
                                observers.get(t).observe(scratch, n);
                            }
                        }
                    }
                    done++;
                    long now = System.nanoTime();
                    if (now - lastLine >= PROGRESS_NANOS || i == images.size() - 1) {
                        lastLine = now;
                        double secs = (now - start) / 1e9;
                        progress.accept(String.format(Locale.ROOT, "calibrate: %d/%d images (%.0f%%), %.1f images/s%s",
                                i + 1, images.size(), 100.0 * (i + 1) / images.size(), done / Math.max(secs, 1e-9),
                                failed.isEmpty() ? "" : ", " + failed.size() + " skipped"));
                    }
                }
            }
        } catch (OrtException e) {
            throw new ModelException(ModelException.Reason.RUNTIME, "ONNX Runtime failed calibrating " + what + ": "
                    + e.getMessage(), e);
        } finally {
            pinned.values().forEach(OnnxTensor::close);
        }
        if (done == 0) {
            throw new ModelException(ModelException.Reason.NO_CALIBRATION_IMAGES, "none of the " + images.size()
                    + " calibration images could be decoded (first: " + failed.get(0) + "); give readable images");
        }
        return new Observed(observers, done, failed, (System.nanoTime() - start) / 1e9);
    }
}
