package org.transfer4j.tools.bench;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.onnx.Graphs;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.backbone.preprocess.Preprocessor;
import org.transfer4j.head.compose.Composer;
import org.transfer4j.inference.Predictor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench.jar predict}: single-image latency of a composed model against its backbone alone, measured
 * interleaved in one process (one run of each per round) so both see the same machine load. Both run on the same
 * preprocessed image through the same path ({@link Predictor#predictPreprocessed} vs {@link Backbone#features}), so
 * the difference is what the head costs. The backbone is, in order: {@code --backbone}; the file named in the model's
 * {@code transfer4j.composed} metadata if it sits beside the model with the recorded sha256; else the composed graph
 * pruned to its {@code features} output (the same backbone nodes, weights and optimisations). ORT cannot skip the
 * head by fetching only {@code features}: it runs every node whatever the requested outputs.
 */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Composed-model vs backbone-alone single-image latency (median ms); prints one JSON line.")
public final class PredictBench implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "MODEL.onnx", description = "A composed model.")
    Path model;

    @Option(names = "--backbone", paramLabel = "BACKBONE.onnx",
            description = "The backbone to compare with (default: from the model's metadata, else pruned from it).")
    Path backbone;

    @Option(names = "--image", paramLabel = "PATH",
            description = "Image to predict (default: a synthetic 640x480 picture).")
    Path image;

    @Option(names = "--seconds", defaultValue = "20", description = "Timed seconds (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--warmup", defaultValue = "20",
            description = "Untimed runs of each model first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--threads", description = "ORT intra-op threads (default: available processors).")
    Integer threads;

    @Option(names = "--device", defaultValue = "cpu", description = "auto, cpu, cuda or cuda:N "
            + "(default: ${DEFAULT-VALUE}, not auto: recorded figures then measure the CPU whatever the build).")
    String device;

    // Off by default: the two sessions run alternately, and a session's idle threads spinning after its run steal
    // the cores from the other one (measured: ~75 ms instead of ~52 ms per ResNet50 image with spinning on).
    @Option(names = "--spinning", defaultValue = "false", arity = "1",
            description = "Let idle ORT threads spin (default: ${DEFAULT-VALUE}; the two sessions alternate).")
    boolean spinning;

    @Override
    public Integer call() throws Exception {
        if (!(seconds > 0) || seconds > 86_400) {
            throw new IllegalArgumentException("--seconds is " + seconds + "; allowed: > 0 and <= 86400");
        }
        if (warmup < 0) {
            throw new IllegalArgumentException("--warmup is " + warmup + "; allowed: >= 0");
        }
        Device dev = org.transfer4j.tools.Cli.device(device);
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        Path tmp = null;
        try (Predictor composed = Predictor.builder(model).optDevice(dev).optThreads(nThreads)
                .optAllowSpinning(spinning).optTopK(1).build()) {
            String source;
            Path bbFile = backbone;
            if (bbFile != null) {
                source = "given";
            } else {
                bbFile = besideModel();
                source = "metadata";
                if (bbFile == null) {
                    tmp = Files.createTempFile("transfer4j-bench-backbone", ".onnx");
                    prunedToFeatures(model, tmp);
                    bbFile = tmp;
                    source = "pruned";
                }
            }
            BackboneOptions opts = BackboneOptions.builder().optDevice(dev).optIntraOpThreads(nThreads)
                    .optAllowSpinning(spinning).optSpec(composed.spec().withOutputName(null).withFeatureDim(0))
                    .build();
            try (Backbone bb = Backbone.load(bbFile, opts)) {
                RgbImage img = image != null ? composed.decoder().decode(image) : synthetic(640, 480);
                FloatBuffer buf = Backbone.newBatchBuffer(composed.spec(), 1);
                double preprocessMs = timePreprocess(new Preprocessor(composed.spec()), img, buf);
                for (int i = 0; i < warmup; i++) {
                    composed.predictPreprocessed(buf, 1);
                    bb.features(buf, 1);
                }
                List<Double> modelMs = new ArrayList<>();
                List<Double> backboneMs = new ArrayList<>();
                long start = System.nanoTime();
                long deadline = start + (long) (seconds * 1e9);
                boolean modelFirst = true;
                while (System.nanoTime() < deadline || modelMs.size() < 5) {
                    // Alternate which goes first so neither always runs with warmer caches.
                    if (modelFirst) {
                        modelMs.add(timeModel(composed, buf));
                        backboneMs.add(timeBackbone(bb, buf));
                    } else {
                        backboneMs.add(timeBackbone(bb, buf));
                        modelMs.add(timeModel(composed, buf));
                    }
                    modelFirst = !modelFirst;
                }
                double predictMs = timePredict(composed, img);
                Collections.sort(modelMs);
                Collections.sort(backboneMs);
                double m = Stats.median(modelMs);
                double b = Stats.median(backboneMs);
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("bench", "predict");
                out.put("model", model.getFileName().toString());
                out.put("model_ms", round(m));
                out.put("backbone_ms", round(b));
                out.put("ratio", Double.parseDouble(String.format(Locale.ROOT, "%.4f", m / b)));
                out.put("model_p90_ms", round(p90(modelMs)));
                out.put("backbone_p90_ms", round(p90(backboneMs)));
                out.put("predict_ms", round(predictMs));
                out.put("preprocess_ms", round(preprocessMs));
                out.put("backbone", source.equals("pruned") ? "pruned from the model" : bbFile.getFileName()
                        .toString());
                out.put("backbone_source", source);
                out.put("runs", modelMs.size());
                out.put("classes", composed.classes().size());
                out.put("image", image != null ? image.getFileName().toString() + " " + img.width() + "x"
                        + img.height() : "synthetic 640x480");
                out.put("threads", nThreads);
                out.put("spinning", spinning);
                out.put("device", bb.device().toString());
                out.put("ort", Backbone.ortVersion());
                out.put("java", System.getProperty("java.version"));
                out.put("cpus", Runtime.getRuntime().availableProcessors());
                System.out.println(new GsonBuilder().disableHtmlEscaping().serializeNulls().create().toJson(out));
            }
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(tmp);
            }
        }
        return 0;
    }

    private static double timeModel(Predictor p, FloatBuffer buf) throws ModelException {
        long s = System.nanoTime();
        p.predictPreprocessed(buf, 1);
        return (System.nanoTime() - s) / 1e6;
    }

    private static double timeBackbone(Backbone b, FloatBuffer buf) throws ModelException {
        long s = System.nanoTime();
        b.features(buf, 1);
        return (System.nanoTime() - s) / 1e6;
    }

    /** Median of 15 warm runs (a single first call would time JIT compilation, not preprocessing). */
    private static double timePreprocess(Preprocessor pre, RgbImage img, FloatBuffer buf) throws ModelException {
        return medianMs(5, 15, () -> pre.write(img, buf, 0));
    }

    /** Median of 15 end-to-end predictions of the decoded image (preprocessing included), for context. */
    private static double timePredict(Predictor p, RgbImage img) throws ModelException {
        return medianMs(0, 15, () -> p.predict(img));
    }

    private interface Timed {
        void run() throws ModelException;
    }

    /** Median milliseconds of {@code runs} calls after {@code warmups} untimed ones. */
    private static double medianMs(int warmups, int runs, Timed call) throws ModelException {
        for (int i = 0; i < warmups; i++) {
            call.run();
        }
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            long s = System.nanoTime();
            call.run();
            ms.add((System.nanoTime() - s) / 1e6);
        }
        return Stats.median(ms);
    }

    /** The backbone file the composer recorded, if it sits beside the model unchanged; else null. */
    private Path besideModel() throws ModelException, java.io.IOException {
        Map<String, String> meta = OnnxModels.metadata(OnnxModels.load(model));
        String composed = meta.get(OnnxMetadata.COMPOSED);
        if (composed == null) {
            return null;
        }
        JsonObject o = JsonParser.parseString(composed).getAsJsonObject();
        if (!o.has("backboneFile") || !o.has("backboneSha256")) {
            return null;
        }
        Path dir = model.toAbsolutePath().getParent();
        Path file = dir.resolve(o.get("backboneFile").getAsString());
        if (!Files.isRegularFile(file) || file.equals(model.toAbsolutePath())
                || !Hashes.sha256(file).equals(o.get("backboneSha256").getAsString())) {
            return null;
        }
        return file;
    }

    /** Writes the composed graph cut back to its {@code features} output: the backbone exactly as composed. */
    static void prunedToFeatures(Path composedModel, Path out) throws ModelException, java.io.IOException {
        ModelProto m = OnnxModels.load(composedModel);
        GraphProto g = m.getGraph();
        ValueInfoProto features = g.getOutputList().stream().filter(v -> v.getName().equals(OnnxMetadata.FEATURES_OUTPUT))
                .findFirst().orElseThrow(() -> new ModelException(ModelException.Reason.INCOMPATIBLE, composedModel
                        + " has no '" + OnnxMetadata.FEATURES_OUTPUT + "' output to prune to; give the backbone with --backbone"));
        OnnxModels.save(m.toBuilder().setGraph(Graphs.prune(g, List.of(features))).build(), out);
    }

    /** A smooth colour gradient with some texture: realistic enough for resizing, deterministic. */
    static RgbImage synthetic(int w, int h) {
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                rgb[i] = (byte) (255 * x / w);
                rgb[i + 1] = (byte) (255 * y / h);
                rgb[i + 2] = (byte) (((x / 16 + y / 16) % 2) * 200);
            }
        }
        return new RgbImage(w, h, rgb);
    }

    private static double p90(List<Double> sorted) {
        return sorted.get((int) Math.ceil(0.9 * (sorted.size() - 1)));
    }

    private static double round(double v) {
        return Double.parseDouble(String.format(Locale.ROOT, "%.3f", v));
    }
}
