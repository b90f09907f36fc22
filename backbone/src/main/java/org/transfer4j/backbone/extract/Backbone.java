package org.transfer4j.backbone.extract;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.transfer4j.ModelException;
import org.transfer4j.ModelException.Reason;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;

/**
 * One ONNX Runtime session on an image backbone plus its resolved {@link BackboneSpec}: a batch of preprocessed
 * images in, one pooled feature vector per image out.
 *
 * <p>{@link #features} is thread-safe (ORT sessions are); the model file is read once at {@link #load}. The spec
 * returned by {@link #spec()} has the output name, the feature dimension and the model's sha256 filled in, so it can
 * be stored with cached features and compared later.
 */
public final class Backbone implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Backbone.class.getName());
    /** Preferred output name when a model has several. */
    public static final String FEATURES_OUTPUT = "features";

    private final OrtEnvironment env;
    private final OrtSession session;
    private final Path model;
    private final BackboneSpec spec;
    private final SpecResolver.Resolution resolution;
    private final Device device;
    private final int threads;
    private final long[] inputShape;
    private final int fixedBatch;
    private final Set<String> requested;
    private FloatBuffer padded; // only for models with a fixed batch > 1; guarded by this

    private Backbone(OrtEnvironment env, OrtSession session, Path model, BackboneSpec spec,
            SpecResolver.Resolution resolution, Device device, int threads, long[] inputShape) {
        this.env = env;
        this.session = session;
        this.model = model;
        this.spec = spec;
        this.resolution = resolution;
        this.device = device;
        this.threads = threads;
        this.inputShape = inputShape;
        this.fixedBatch = inputShape[0] > 0 ? (int) inputShape[0] : 0;
        this.requested = Set.of(spec.outputName());
    }

    /** Opens {@code model} with {@link BackboneOptions#defaults()}: CUDA if available, else all CPU cores. */
    public static Backbone load(Path model) throws ModelException {
        return load(model, BackboneOptions.defaults());
    }

    /**
     * Opens {@code model} on the device and threads of {@code opts}, resolves its spec ({@link SpecResolver}) and
     * chooses its features output.
     *
     * @throws ModelException NOT_FOUND (no such file), INVALID_MODEL (not ONNX / refused by ORT), INCOMPATIBLE (not
     *                        an image backbone, or the spec does not fit), INVALID_SPEC (malformed spec),
     *                        DEVICE_UNAVAILABLE (explicit CUDA that cannot be used)
     */
    public static Backbone load(Path model, BackboneOptions opts) throws ModelException {
        if (!Files.isRegularFile(model)) {
            throw new ModelException(Reason.NOT_FOUND, "model file " + model + " does not exist"
                    + (Files.isDirectory(model) ? " (it is a directory; give the .onnx file inside)" : ""));
        }
        if (!Files.isReadable(model)) {
            throw new ModelException(Reason.NOT_FOUND, "model file " + model + " is not readable (check permissions)");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Opened opened = open(env, model, opts);
        OrtSession session = opened.session();
        try {
            Map<String, NodeInfo> inputs = session.getInputInfo();
            Map<String, NodeInfo> outputs = session.getOutputInfo();
            Map<String, String> metadata = session.getMetadata().getCustomMetadata();
            SpecResolver.Resolution r = SpecResolver.resolve(model, opts, inputs, metadata);
            SpecResolver.ImageInput in = SpecResolver.imageInput(inputs, r.spec().inputName(), r.spec().layout());
            String out = chooseOutput(model, r.spec().outputName(), outputs);
            long[] shape = in.shape().clone();
            // The declared shape with the spec's size where the model leaves it dynamic; dim 0 is set per run.
            boolean nchw = r.spec().layout() == Layout.NCHW;
            shape[nchw ? 2 : 1] = r.spec().height();
            shape[nchw ? 3 : 2] = r.spec().width();
            shape[nchw ? 1 : 3] = 3;
            String sha = sha256(model);
            if (r.source() == SpecResolver.Source.SIDECAR && r.spec().modelSha256() != null
                    && !r.spec().modelSha256().equals(sha)) {
                // A sidecar copied from another model (e.g. before re-exporting) may no longer fit its pixels.
                LOG.log(System.Logger.Level.WARNING, "the spec sidecar " + r.origin() + " was written for a model "
                        + "with sha256 " + r.spec().modelSha256() + " but " + model.getFileName() + " has " + sha
                        + "; check that the sidecar belongs to this model (then delete its modelSha256 field)");
            }
            BackboneSpec spec = r.spec().withOutputName(out).withModelSha256(sha);
            int dim = declaredFeatureDim((TensorInfo) outputs.get(out).getInfo());
            Backbone b = new Backbone(env, session, model, spec, r, opened.device(), opts.intraOpThreads(), shape);
            if (dim <= 0) {
                dim = b.probeFeatureDim();
            }
            if (r.spec().featureDim() > 0 && r.spec().featureDim() != dim) {
                throw new ModelException(Reason.INCOMPATIBLE, "the spec from " + r.origin() + " says featureDim "
                        + r.spec().featureDim() + " but output '" + out + "' of " + model + " gives " + dim
                        + "; fix or remove featureDim in the spec");
            }
            return b.withFeatureDim(dim);
        } catch (ModelException | RuntimeException e) {
            closeQuietly(session, e);
            throw e;
        } catch (OrtException e) {
            closeQuietly(session, e);
            throw new ModelException(Reason.INVALID_MODEL, "cannot read the inputs/outputs of " + model + ": "
                    + e.getMessage(), e);
        }
    }

    private Backbone withFeatureDim(int dim) {
        return new Backbone(env, session, model, spec.withFeatureDim(dim), resolution, device, threads, inputShape);
    }

    private record Opened(OrtSession session, Device device) {
    }

    private static final java.util.concurrent.atomic.AtomicBoolean CPU_FALLBACK_REPORTED =
            new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Creates the session on the requested device. Auto uses CUDA when this ONNX Runtime build has the provider and
     * falls back to the CPU when it cannot be added; on the CPU-only build (the default) it goes straight to the CPU
     * and says so only at debug level, because nothing went wrong. An explicit CUDA request that cannot be served
     * fails clearly.
     */
    private static Opened open(OrtEnvironment env, Path model, BackboneOptions opts) throws ModelException {
        Device want = opts.device();
        if (want instanceof Device.Cpu) {
            return new Opened(createCpu(env, model, opts), Device.CPU);
        }
        int gpu = want instanceof Device.Cuda c ? c.id() : 0;
        if (!cudaInThisBuild()) {
            if (want instanceof Device.Cuda) {
                throw new ModelException(Reason.DEVICE_UNAVAILABLE, "device " + want + " was requested but this "
                        + "ONNX Runtime build has no CUDA provider (the CPU-only onnxruntime jar). Build with -Pgpu "
                        + "(onnxruntime_gpu) on a machine with an NVIDIA GPU, CUDA 12 and cuDNN 9, or use --device "
                        + "cpu (or auto)");
            }
            LOG.log(System.Logger.Level.DEBUG, () -> "device auto: this ONNX Runtime build has no CUDA provider; "
                    + "running on the CPU with " + opts.intraOpThreads() + " threads");
            return new Opened(createCpu(env, model, opts), Device.CPU);
        }
        try {
            return new Opened(create(env, model, opts, gpu), new Device.Cuda(gpu));
        } catch (CudaUnavailable e) {
            if (want instanceof Device.Cuda) {
                throw new ModelException(Reason.DEVICE_UNAVAILABLE, "device " + want + " was requested but CUDA "
                        + "cannot be used here (" + e.getMessage() + "). Build with -Pgpu (onnxruntime_gpu) on a "
                        + "machine with an NVIDIA GPU, CUDA 12 and cuDNN 9, or use --device cpu (or auto)", e);
            }
            // The GPU build without a usable GPU: worth one line per process (a service loading several models
            // needs to hear it once), since the user built for CUDA.
            if (CPU_FALLBACK_REPORTED.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.INFO, "CUDA is not available (" + firstLine(e.getMessage())
                        + "); running on the CPU with " + opts.intraOpThreads() + " threads");
            }
            return new Opened(createCpu(env, model, opts), Device.CPU);
        }
    }

    /** Whether the loaded ONNX Runtime has the CUDA provider compiled in (the GPU jar), whether or not it works. */
    private static boolean cudaInThisBuild() {
        try {
            return OrtEnvironment.getAvailableProviders().contains(ai.onnxruntime.OrtProvider.CUDA);
        } catch (RuntimeException | LinkageError e) {
            return true; // cannot tell: try to add it and fall back as before
        }
    }

    private static OrtSession createCpu(OrtEnvironment env, Path model, BackboneOptions opts)
            throws ModelException {
        try {
            return create(env, model, opts, -1);
        } catch (CudaUnavailable e) {
            throw new IllegalStateException("CUDA was not requested", e);
        }
    }

    /** CUDA could not be added or a session on it could not be created. */
    private static final class CudaUnavailable extends Exception {
        private static final long serialVersionUID = 1L;

        CudaUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static OrtSession create(OrtEnvironment env, Path model, BackboneOptions opts, int cudaDevice)
            throws ModelException, CudaUnavailable {
        try (OrtSession.SessionOptions so = sessionOptions(opts)) {
            if (cudaDevice >= 0) {
                try {
                    so.addCUDA(cudaDevice);
                } catch (OrtException | RuntimeException | LinkageError e) {
                    // The CPU jar has no CUDA provider; the GPU jar claims one but fails without CUDA/cuDNN libs.
                    throw new CudaUnavailable(e.getMessage(), e);
                }
            }
            try {
                return env.createSession(model.toString(), so);
            } catch (OrtException e) {
                if (cudaDevice >= 0 && !isModelProblem(e)) {
                    throw new CudaUnavailable(e.getMessage(), e);
                }
                throw modelError(model, e);
            }
        } catch (OrtException e) {
            throw new ModelException(Reason.RUNTIME, "cannot set ONNX Runtime session options for " + model + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Session options tuned for CNN inference on the CPU (see the notes in BENCHMARKS.md): all graph optimisations
     * (on x86 this includes the NCHWc layout transform that lets MLAS run blocked convolutions), a fixed intra-op
     * pool, one inter-op thread and sequential execution (a backbone is a chain; parallel branches do not pay),
     * memory patterns and the arena on so steady-state runs do not allocate.
     */
    static OrtSession.SessionOptions sessionOptions(BackboneOptions opts) throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        try {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            so.setIntraOpNumThreads(opts.intraOpThreads());
            so.setInterOpNumThreads(1);
            so.setMemoryPatternOptimization(true);
            so.setCPUArenaAllocator(true);
            // ORT's warnings (e.g. unused initializers in old exports) are noise to our users; errors still show.
            so.setSessionLogLevel(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            so.addConfigEntry("session.intra_op.allow_spinning", opts.allowSpinning() ? "1" : "0");
            so.addConfigEntry("session.inter_op.allow_spinning", "0");
            for (Map.Entry<String, String> e : opts.sessionConfig().entrySet()) {
                so.addConfigEntry(e.getKey(), e.getValue());
            }
            return so;
        } catch (OrtException | RuntimeException e) {
            so.close();
            throw e;
        }
    }

    private static boolean isModelProblem(OrtException e) {
        return switch (e.getCode()) {
            case ORT_INVALID_PROTOBUF, ORT_INVALID_GRAPH, ORT_NO_MODEL, ORT_NO_SUCHFILE -> true;
            default -> false;
        };
    }

    private static ModelException modelError(Path model, OrtException e) {
        if (e.getCode() == OrtException.OrtErrorCode.ORT_NO_SUCHFILE) {
            return new ModelException(Reason.NOT_FOUND, "model file " + model + " cannot be read: " + e.getMessage(),
                    e);
        }
        return new ModelException(Reason.INVALID_MODEL, "ONNX Runtime cannot load " + model + " (is it an ONNX "
                + "model?): " + firstLine(e.getMessage()), e);
    }

    /**
     * The features output: the spec's, else one named {@value #FEATURES_OUTPUT}, else the only rank-2 or
     * [N,D,1,1] output.
     */
    static String chooseOutput(Path model, String wanted, Map<String, NodeInfo> outputs) throws ModelException {
        if (wanted != null) {
            NodeInfo n = outputs.get(wanted);
            if (n == null) {
                throw new ModelException(Reason.INCOMPATIBLE, "the spec names output '" + wanted + "' but " + model
                        + " has no such output; its outputs: " + SpecResolver.describe(outputs)
                        + ". Set outputName in the spec sidecar " + SpecResolver.sidecarPath(model).getFileName()
                        + " to one of them");
            }
            requirePooled(model, n, outputs);
            return wanted;
        }
        if (outputs.containsKey(FEATURES_OUTPUT)) {
            requirePooled(model, outputs.get(FEATURES_OUTPUT), outputs);
            return FEATURES_OUTPUT;
        }
        List<String> pooled = new ArrayList<>();
        for (NodeInfo n : outputs.values()) {
            if (isPooled(n)) {
                pooled.add(n.getName());
            }
        }
        if (pooled.size() == 1) {
            return pooled.get(0);
        }
        throw new ModelException(Reason.INCOMPATIBLE, String.format(Locale.ROOT,
                "cannot tell which output of %s holds the features: %s; its outputs: %s. Choose one with "
                        + "\"outputName\" in the spec sidecar %s (e.g. {\"preset\":\"torch\",\"outputName\":\"%s\"}), "
                        + "or cut the model to its pooled features (model.jar cut)",
                model, pooled.isEmpty() ? "none is a float [N,D] or [N,D,1,1] tensor"
                        : pooled.size() + " are float [N,D] or [N,D,1,1] tensors and none is named 'features'",
                SpecResolver.describe(outputs), SpecResolver.sidecarPath(model).getFileName(),
                pooled.isEmpty() ? outputs.keySet().iterator().next() : pooled.get(0)));
    }

    private static boolean isPooled(NodeInfo n) {
        if (!(n.getInfo() instanceof TensorInfo t) || t.type != OnnxJavaType.FLOAT) {
            return false;
        }
        long[] s = t.getShape();
        return s.length == 2 || (s.length == 4 && s[2] == 1 && s[3] == 1);
    }

    private static void requirePooled(Path model, NodeInfo n, Map<String, NodeInfo> outputs) throws ModelException {
        if (!(n.getInfo() instanceof TensorInfo t) || t.type != OnnxJavaType.FLOAT) {
            throw new ModelException(Reason.INCOMPATIBLE, "output '" + n.getName() + "' of " + model
                    + " is not a float tensor; its outputs: " + SpecResolver.describe(outputs));
        }
        long[] s = t.getShape();
        boolean ok = s.length == 2 || (s.length == 4 && (s[2] == 1 || s[2] < 0) && (s[3] == 1 || s[3] < 0));
        if (!ok) {
            throw new ModelException(Reason.INCOMPATIBLE, "output '" + n.getName() + "' of " + model + " is "
                    + SpecResolver.shapeText(s, t.getDimensionNames()) + ", not pooled features ([N,D] or "
                    + "[N,D,1,1]); cut the model after its global pooling (model.jar cut) or choose another output; "
                    + "its outputs: " + SpecResolver.describe(outputs));
        }
    }

    private static int declaredFeatureDim(TensorInfo t) {
        long[] s = t.getShape();
        return s[1] > 0 ? (int) s[1] : -1;
    }

    /** Runs one black image to learn a dynamic feature dimension. */
    private int probeFeatureDim() throws ModelException {
        int n = Math.max(1, fixedBatch);
        FloatBuffer zeros = newBatchBuffer(spec, n);
        return runChunk(zeros, 0, 1, null).length;
    }

    /** The model's sha256 (streamed by {@link Hashes}; models are large). */
    static String sha256(Path file) throws ModelException {
        try {
            return Hashes.sha256(file);
        } catch (IOException e) {
            throw new ModelException(Reason.NOT_FOUND, "cannot read model file " + file + ": " + e.getMessage(), e);
        }
    }

    /** The resolved spec: output name, feature dimension and model sha256 filled in. */
    public BackboneSpec spec() {
        return spec;
    }

    public int featureDim() {
        return spec.featureDim();
    }

    /** 1 (or the fixed size) when the model's batch dimension is fixed, else {@link Integer#MAX_VALUE}. */
    public int maxBatch() {
        return fixedBatch > 0 ? fixedBatch : Integer.MAX_VALUE;
    }

    /** Where the spec came from, and the warning when it was guessed. */
    public SpecResolver.Resolution specResolution() {
        return resolution;
    }

    /** The device the session runs on: {@link Device#CPU} or a {@link Device.Cuda} (never auto). */
    public Device device() {
        return device;
    }

    public int intraOpThreads() {
        return threads;
    }

    public Path modelPath() {
        return model;
    }

    /** The ONNX Runtime library version, e.g. {@code 1.28.0}. */
    public static String ortVersion() {
        return OrtEnvironment.getEnvironment().getVersion();
    }

    /** A direct, native-order buffer for {@code images} preprocessed images of this backbone's spec. */
    public FloatBuffer newBatchBuffer(int images) {
        return newBatchBuffer(spec, images);
    }

    /** A direct, native-order buffer for {@code images} images of {@code spec}: what {@link #features} reads. */
    public static FloatBuffer newBatchBuffer(BackboneSpec spec, int images) {
        if (images < 1) {
            throw new IllegalArgumentException("images must be >= 1, is " + images);
        }
        long bytes = 4L * images * spec.floatsPerImage();
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a batch of " + images + " images of " + spec.height() + "x"
                    + spec.width() + " needs " + bytes + " bytes, more than one buffer holds; use a smaller batch");
        }
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /**
     * Features of the first {@code n} images in {@code batch} (image {@code i} at {@code i * spec().floatsPerImage()},
     * position and limit ignored). Direct native-order buffers ({@link #newBatchBuffer}) are passed to ORT without a
     * copy. Any {@code n} works: models with a fixed batch run in chunks.
     *
     * @return {@code n} arrays of {@link #featureDim()} floats, [N,D,1,1] outputs flattened
     * @throws ModelException RUNTIME when ORT fails, INCOMPATIBLE when the output is not pooled
     */
    public float[][] features(FloatBuffer batch, int n) throws ModelException {
        int fpi = spec.floatsPerImage();
        if (n < 1) {
            throw new IllegalArgumentException("n must be >= 1, is " + n);
        }
        if ((long) n * fpi > batch.capacity()) {
            throw new IllegalArgumentException("the batch buffer holds " + batch.capacity() / fpi + " images of "
                    + fpi + " floats, " + n + " requested");
        }
        if (batch.isDirect() && batch.order() != ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException("the batch buffer is direct but not in native byte order; ORT would "
                    + "read it byte-swapped. Use Backbone.newBatchBuffer");
        }
        float[][] out = new float[n][];
        int chunk = Math.min(n, maxBatch());
        for (int first = 0; first < n; first += chunk) {
            runChunk(batch, first, Math.min(chunk, n - first), out);
        }
        return out;
    }

    /** Runs images [first, first+m) and stores their rows in {@code out} (or returns the first row if null). */
    private float[] runChunk(FloatBuffer batch, int first, int m, float[][] out) throws ModelException {
        int fpi = spec.floatsPerImage();
        FloatBuffer view = batch.duplicate();
        view.clear();
        view.position(first * fpi).limit((first + m) * fpi);
        if (fixedBatch > 1 && m < fixedBatch) {
            synchronized (this) {
                // A model compiled for exactly B images: pad with zeros, drop the extra rows.
                if (padded == null) {
                    padded = newBatchBuffer(spec, fixedBatch);
                }
                padded.clear();
                padded.put(view);
                while (padded.hasRemaining()) {
                    padded.put(0f);
                }
                padded.flip();
                return run(padded, fixedBatch, m, first, out);
            }
        }
        return run(view, m, m, first, out);
    }

    private float[] run(FloatBuffer input, int rows, int keep, int first, float[][] out) throws ModelException {
        long[] shape = inputShape.clone();
        shape[0] = rows;
        try (OnnxTensor t = OnnxTensor.createTensor(env, input, shape);
                OrtSession.Result r = session.run(Map.of(spec.inputName(), t), requested)) {
            OnnxValue v = r.get(0);
            if (!(v instanceof OnnxTensor o)) {
                throw new ModelException(Reason.INCOMPATIBLE, "output '" + spec.outputName() + "' of " + model
                        + " is not a tensor");
            }
            long[] s = o.getInfo().getShape();
            long per = 1;
            for (int i = 1; i < s.length; i++) {
                per *= s[i];
            }
            boolean pooled = s.length == 2 || (s.length == 4 && s[2] == 1 && s[3] == 1);
            if (s[0] != rows || !pooled || (spec.featureDim() > 0 && per != spec.featureDim())) {
                throw new ModelException(Reason.INCOMPATIBLE, "output '" + spec.outputName() + "' of " + model
                        + " came back as " + SpecResolver.shapeText(s, null) + " for " + rows + " images; expected ["
                        + rows + "," + (spec.featureDim() > 0 ? spec.featureDim() : "D") + "] or [" + rows + ",D,1,1]");
            }
            FloatBuffer fb = o.getFloatBuffer();
            float[] firstRow = null;
            for (int i = 0; i < keep; i++) {
                float[] row = new float[(int) per];
                fb.get(row);
                if (out != null) {
                    out[first + i] = row;
                }
                if (i == 0) {
                    firstRow = row;
                }
            }
            return firstRow;
        } catch (OrtException e) {
            throw new ModelException(Reason.RUNTIME, "ONNX Runtime failed running " + model + " on " + rows
                    + " images: " + firstLine(e.getMessage()), e);
        }
    }

    @Override
    public void close() throws ModelException {
        try {
            session.close();
        } catch (OrtException e) {
            throw new ModelException(Reason.RUNTIME, "closing the ONNX Runtime session of " + model + " failed: "
                    + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "Backbone[" + model + ", " + device + ", " + threads + " threads, input " + spec.inputName() + " "
                + SpecResolver.shapeText(inputShape, null) + ", output " + spec.outputName() + " dim "
                + spec.featureDim() + "]";
    }

    private static void closeQuietly(OrtSession s, Exception primary) {
        try {
            s.close();
        } catch (OrtException e) {
            primary.addSuppressed(e);
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "no message";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
