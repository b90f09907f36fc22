package org.transfer4j.backbone.quantize;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtSession;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.function.Consumer;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.image.ImageDecoder;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.onnx.GraphSurgery;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;

/**
 * Static int8 quantization of a float backbone, calibrated on the user's images: what ONNX Runtime's python
 * {@code quantize_static} does, in Java.
 *
 * <pre>{@code
 * QuantizationResult r = Quantizer.builder(Path.of("resnet50-notop.onnx"))
 *         .setCalibration(Dataset.fromFolder(Path.of("data/train")))
 *         .optCount(200).optMethod(CalibrationMethod.PERCENTILE).optSeed(0)
 *         .build().quantizeTo(Path.of("resnet50-notop-int8.onnx"));
 * }</pre>
 *
 * <p>Steps: ONNX Runtime's basic optimiser folds batch norm and constants; {@link QdqRewriter} picks the tensors to
 * quantize; {@link Calibrator} runs the float model on {@code count} images chosen by {@code seed}, decoded and
 * preprocessed with the model's own spec, and streams each tensor into a {@link RangeObserver}; the method turns what
 * was observed into ranges; the QDQ graph is written with the spec, the calibration record
 * ({@value OnnxMetadata#QUANTIZATION}) and a spec sidecar. Same model, images, method and seed give a
 * byte-identical file.
 */
public final class Quantizer {
    /** Calibration images used by default: enough for stable ranges on ImageNet-like photos. */
    public static final int DEFAULT_COUNT = 200;

    private final Path model;
    private final List<Image> images;
    private final int count;
    private final CalibrationMethod method;
    private final long seed;
    private final int threads;
    private final boolean reduceRange;
    private final ImageDecoder decoder;
    private final Consumer<String> progress;

    /** One calibration image: the file, and the name it is hashed and reported under. */
    record Image(Path path, String name) {
    }

    private Quantizer(Builder b) {
        this.model = b.model;
        this.images = List.copyOf(b.images);
        this.count = b.count;
        this.method = b.method;
        this.seed = b.seed;
        this.threads = b.threads;
        this.reduceRange = b.reduceRange;
        this.decoder = b.decoder != null ? b.decoder : ImageDecoder.builder().build();
        this.progress = b.progress;
    }

    /** A quantizer of the float model {@code fp32Model}; {@link Builder#setCalibration} is required. */
    public static Builder builder(Path fp32Model) {
        return new Builder(fp32Model);
    }

    /** Options: count 200, percentile, seed 0, all processors, progress lines dropped. */
    public static final class Builder {
        private final Path model;
        private List<Image> images;
        private int count = DEFAULT_COUNT;
        private CalibrationMethod method = CalibrationMethod.PERCENTILE;
        private long seed;
        private int threads = Runtime.getRuntime().availableProcessors();
        private boolean reduceRange;
        private ImageDecoder decoder;
        private Consumer<String> progress = line -> { };

        private Builder(Path model) {
            this.model = Objects.requireNonNull(model, "fp32Model");
        }

        /** Calibration images: every image of a folder or manifest dataset (labels are not used). */
        public Builder setCalibration(Dataset dataset) {
            List<Image> list = new ArrayList<>();
            for (LabeledImage im : dataset.images()) {
                list.add(new Image(im.path(), im.relativePath()));
            }
            this.images = list;
            return this;
        }

        /** Calibration images as files; they are named by file name in the calibration record. */
        public Builder setCalibration(List<Path> files) {
            List<Image> list = new ArrayList<>();
            for (Path f : files) {
                list.add(new Image(f, f.getFileName().toString()));
            }
            this.images = list;
            return this;
        }

        /** How many images to calibrate on, 1..100000 (default {@value #DEFAULT_COUNT}); all when there are fewer. */
        public Builder optCount(int n) {
            this.count = n;
            return this;
        }

        /**
         * How ranges are chosen (default {@link CalibrationMethod#PERCENTILE}: on the ImageNet ResNet50 and 200
         * hymenoptera photos its features came closest to float, mean cosine 0.9981 on the val photos against 0.9969
         * for min/max and 0.9963 for entropy).
         */
        public Builder optMethod(CalibrationMethod m) {
            this.method = Objects.requireNonNull(m, "method");
            return this;
        }

        /** Seed of the choice of {@code count} images among more (default 0). */
        public Builder optSeed(long s) {
            this.seed = s;
            return this;
        }

        /** ONNX Runtime threads for calibration, 1..1024 (default: all processors). */
        public Builder optThreads(int n) {
            this.threads = n;
            return this;
        }

        /**
         * 7-bit weights (-63..63) instead of 8-bit. On x86 CPUs with AVX2 but without AVX-512 VNNI, ONNX Runtime
         * multiplies uint8 by int8 with {@code vpmaddubsw}, whose 16-bit pair sums saturate when large weights meet
         * large activations; 7-bit weights cannot saturate there, at the price of half the weight resolution.
         * Unneeded with VNNI (which accumulates in 32 bits), ARM and GPUs. Default off.
         */
        public Builder optReduceRange(boolean reduce) {
            this.reduceRange = reduce;
            return this;
        }

        public Builder optDecoder(ImageDecoder d) {
            this.decoder = Objects.requireNonNull(d, "decoder");
            return this;
        }

        /** Receives progress lines ("calibrate: 40/200 images (20%), 9.8 images/s"). */
        public Builder optProgress(Consumer<String> p) {
            this.progress = Objects.requireNonNull(p, "progress");
            return this;
        }

        public Quantizer build() {
            if (images == null) {
                throw new IllegalStateException("quantizer needs calibration images: call setCalibration(dataset) "
                        + "or setCalibration(files)");
            }
            if (count < 1 || count > 100_000) {
                throw new IllegalArgumentException("quantizer option 'count' is " + count + "; allowed: 1..100000");
            }
            if (threads < 1 || threads > 1024) {
                throw new IllegalArgumentException("quantizer option 'threads' is " + threads + "; allowed: 1..1024");
            }
            return new Quantizer(this);
        }
    }

    /**
     * Quantizes the model into {@code out} (written atomically) and writes its spec sidecar beside it.
     *
     * @throws ModelException ALREADY_QUANTIZED, NOTHING_TO_QUANTIZE (no Conv/Gemm/MatMul weights),
     *                        NO_CALIBRATION_IMAGES (an empty set, or no image decoded), and the errors of loading a
     *                        backbone (NOT_FOUND, INVALID_MODEL, INCOMPATIBLE, INVALID_SPEC)
     */
    public QuantizationResult quantizeTo(Path out) throws ModelException, IOException {
        if (out.toAbsolutePath().normalize().equals(model.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("the int8 model must be written to another file than the float model "
                    + model);
        }
        String what = model.toString();
        ModelProto source = OnnxModels.load(model);
        OnnxModels.requireEmbeddedData(source, model);
        QdqRewriter.requireFloat(source, what);
        if (images.isEmpty()) {
            throw new ModelException(ModelException.Reason.NO_CALIBRATION_IMAGES, "the calibration set for " + what
                    + " is empty; give a folder or manifest of images like those the model will see");
        }
        List<String> warnings = new ArrayList<>();
        BackboneSpec spec;
        try (Backbone b = Backbone.load(model, BackboneOptions.builder().optDevice(Device.CPU)
                .optIntraOpThreads(threads).build())) {
            spec = b.spec();
            b.specResolution().warningText().ifPresent(warnings::add);
        }
        ModelProto floatGraph = OrtOptimizer.optimize(source.toByteArray(),
                OrtSession.SessionOptions.OptLevel.BASIC_OPT, what);
        QdqRewriter.Plan plan = QdqRewriter.plan(floatGraph, what);

        List<Image> chosen = choose(images, count, seed);
        String datasetSha = datasetSha256(chosen);
        progress.accept("calibrate: " + plan.calibrate().size() + " tensors of " + model.getFileName() + " on "
                + chosen.size() + " images (" + method.word() + ")");
        Calibrator.Observed seen = Calibrator.run(floatGraph, plan.calibrate(), spec, chosen, method, threads, decoder,
                progress, what);
        Map<String, float[]> ranges = new LinkedHashMap<>();
        seen.observers().forEach((t, o) -> ranges.put(t, o.range(method)));
        ModelProto quantized = QdqRewriter.build(plan, ranges, reduceRange ? 63 : 127, what);

        QuantizationResult.Calibration calibration = new QuantizationResult.Calibration(method, seen.images(), count,
                images.size(), seed, datasetSha, seen.failed(), plan.calibrate().size(), seen.seconds());
        BackboneSpec metaSpec = spec.withModelSha256(null);
        Map<String, String> meta = new LinkedHashMap<>(OnnxModels.metadata(source));
        meta.put(OnnxMetadata.SPEC, SpecJson.toJson(metaSpec));
        meta.put(OnnxMetadata.QUANTIZATION, record(calibration, plan.quantizedOps(), spec.modelSha256(),
                reduceRange));
        String doc = source.getDocString();
        quantized = OnnxModels.withMetadata(quantized.toBuilder().clearMetadataProps()
                .setDocString((doc.isEmpty() ? "" : doc + "\n") + "Quantized to int8 (QDQ) by transfer4j from "
                        + model.getFileName() + ", calibrated on " + seen.images() + " images (" + method.word()
                        + ").").build(), meta);

        // ONNX Runtime must load it, and says what it makes of it; then, and only then, the file is replaced.
        Map<String, Integer> runtime = OrtOptimizer.runtimeOpCounts(quantized, "the int8 model of " + what);
        OnnxModels.save(quantized, out);
        BackboneSpec written = metaSpec.withModelSha256(Hashes.sha256(out));
        Path sidecar = GraphSurgery.sidecarOf(out);
        SpecJson.write(written, sidecar);
        return new QuantizationResult(out, sidecar, written, Files.size(out), plan.quantizedOps(), plan.convs(),
                runtime, calibration, warnings);
    }

    /** {@code count} images chosen by {@code seed} (all when there are no more), kept in the set's own order. */
    static List<Image> choose(List<Image> all, int count, long seed) {
        if (count >= all.size()) {
            return all;
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(seed));
        List<Integer> picked = new ArrayList<>(order.subList(0, count));
        Collections.sort(picked);
        List<Image> out = new ArrayList<>();
        picked.forEach(i -> out.add(all.get(i)));
        return out;
    }

    /** sha256 over "name\nsha256-of-content\n" of each image in order: the list and the bytes, not the folder. */
    static String datasetSha256(List<Image> images) {
        MessageDigest md = Hashes.newSha256();
        for (Image im : images) {
            String content;
            try {
                content = Hashes.sha256(im.path());
            } catch (IOException e) {
                content = "unreadable";
            }
            md.update((im.name() + "\n" + content + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return Hashes.hex(md.digest());
    }

    private static String record(QuantizationResult.Calibration c, Map<String, Integer> ops, String sourceSha,
                                 boolean reduceRange) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", "qdq");
        m.put("weights", (reduceRange ? "7-bit (-63..63)" : "int8 (-127..127)") + " symmetric per output channel");
        m.put("activations", "uint8 per tensor");
        m.put("method", c.method().word());
        m.put("images", c.images());
        m.put("requested", c.requested());
        m.put("available", c.available());
        m.put("seed", c.seed());
        m.put("dataset_sha256", c.datasetSha256());
        m.put("failed", c.failed().size());
        m.put("quantized", ops);
        m.put("source_sha256", sourceSha);
        m.put("onnxruntime", Backbone.ortVersion());
        return new GsonBuilder().disableHtmlEscaping().create().toJson(m);
    }
}
