package org.transfer4j.tools.bench;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.lang.management.ManagementFactory;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.FeatureExtractor;
import org.transfer4j.backbone.extract.FeatureSink;
import org.transfer4j.backbone.extract.ImageTask;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.keras.KerasImporter;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench.jar backbone}: inference only, on random input already in a direct batch buffer, so the number is the
 * backbone's own throughput (no decoding, no preprocessing). Prints one JSON line; {@code images_per_s} is the median
 * over timed batches (robust to the odd slow batch on a shared machine), p10/p90 show the spread.
 */
@Command(name = "backbone", mixinStandardHelpOptions = true,
        description = "Backbone inference throughput on random input; prints one JSON line.")
public final class BackboneBench implements Callable<Integer> {
    /** The ImageNet ResNet50 that {@code model.jar fetch resnet50-keras} writes (and demo.sh uses). */
    static final Path DEFAULT_BACKBONE = Path.of("models", "resnet50-keras-notop.onnx");

    @Option(names = "--backbone", paramLabel = "MODEL.onnx",
            description = "The model to run (default: ${DEFAULT-VALUE}, from model.jar fetch resnet50-keras).")
    Path model = DEFAULT_BACKBONE;

    @Option(names = "--batch", defaultValue = "8", description = "Images per run (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seconds", defaultValue = "20", description = "Timed seconds (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--threads", description = "ORT intra-op threads (default: available processors; 1 with --lanes).")
    Integer threads;

    @Option(names = "--lanes", paramLabel = "N", defaultValue = "0",
            description = "Run N batches at once, each on its own thread (with --images: decoded there too), on a "
                    + "session with one intra-op thread unless --threads says otherwise: how extract.jar uses the "
                    + "CPU. 0 = one batch at a time (default: ${DEFAULT-VALUE}).")
    int lanes;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed batches first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--device", defaultValue = "cpu", description = "auto, cpu, cuda or cuda:N "
            + "(default: ${DEFAULT-VALUE}, not auto: recorded figures then measure the CPU whatever the build).")
    String device;

    @Option(names = "--spinning", defaultValue = "true", arity = "1",
            description = "Let idle ORT threads spin (default: ${DEFAULT-VALUE} for inference alone; always off "
                    + "with --images, where decode threads share the cores).")
    boolean spinning;

    @Option(names = "--gflop-per-image", paramLabel = "G",
            description = "Model cost (e.g. 8.17 for torchvision's ResNet50 at 224); adds achieved GFLOP/s to the "
                    + "output. Default: the count an imported model records in its metadata.")
    Double gflopPerImage;

    @Option(names = "--images", paramLabel = "DIR",
            description = "Benchmark the whole pipeline (decode, preprocess, inference) on the images under DIR "
                    + "instead of inference alone; cycles through them for --seconds.")
    Path images;

    @Option(names = "--decode-threads", description = "With --images: decode threads (default: half the cores).")
    Integer decodeThreads;

    @Option(names = "--config", paramLabel = "KEY=VALUE",
            description = "Extra ORT session config entry, repeatable (e.g. session.set_denormal_as_zero=1).")
    Map<String, String> config = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || batch > 4096) {
            throw new IllegalArgumentException("--batch is " + batch + "; allowed: 1..4096");
        }
        if (!(seconds > 0) || seconds > 86_400) {
            throw new IllegalArgumentException("--seconds is " + seconds + "; allowed: > 0 and <= 86400");
        }
        if (warmup < 0) {
            throw new IllegalArgumentException("--warmup is " + warmup + "; allowed: >= 0");
        }
        if (lanes < 0 || lanes > 256) {
            throw new IllegalArgumentException("--lanes is " + lanes + "; allowed: 0..256");
        }
        BackboneOptions.Builder ob = BackboneOptions.builder().optDevice(org.transfer4j.tools.Cli.device(device))
                .optAllowSpinning(spinning && images == null);
        if (threads != null) {
            ob.optIntraOpThreads(threads);
        } else if (lanes > 0) {
            ob.optIntraOpThreads(1);
        }
        config.forEach(ob::optSessionConfig);
        BackboneOptions opts = ob.build();
        if (!Files.exists(model) && model.equals(DEFAULT_BACKBONE)) {
            throw new IllegalArgumentException("no --backbone given and the default " + DEFAULT_BACKBONE + " is not "
                    + "here; run 'java -jar tools/target/model.jar fetch resnet50-keras' or pass --backbone M.onnx");
        }
        if (gflopPerImage == null) {
            gflopPerImage = KerasImporter.recordedGflopPerImage(OnnxMetadata.read(model)).orElse(null);
        }
        long t0 = System.nanoTime();
        try (Backbone b = Backbone.load(model, opts)) {
            double loadS = (System.nanoTime() - t0) / 1e9;
            if (images != null) {
                return pipeline(b, loadS);
            }
            FloatBuffer buf = randomBatch(b, batch);
            for (int i = 0; i < warmup; i++) {
                b.features(buf, batch);
            }
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long cpu0 = os.getProcessCpuTime();
            long start = System.nanoTime();
            // With lanes, every lane's runs are timed separately and merged: the median of per-run rates times the
            // lanes is the throughput when the lanes overlap (they do: they start together and run until the end).
            List<Double> rates = lanes > 0 ? timeLanes(b, lanes, batch, seconds) : timeBatches(b, buf, batch, seconds);
            double wall = (System.nanoTime() - start) / 1e9;
            double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
            int concurrent = Math.max(1, lanes);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("bench", "backbone");
            out.put("model", model.getFileName().toString());
            out.put("images_per_s", round(Stats.median(rates) * concurrent));
            out.put("p10", round(rates.get((int) Math.floor(0.1 * (rates.size() - 1))) * concurrent));
            out.put("p90", round(rates.get((int) Math.ceil(0.9 * (rates.size() - 1))) * concurrent));
            out.put("mean_images_per_s", round(rates.size() * batch / wall));
            out.put("batch", batch);
            out.put("lanes", lanes);
            out.put("threads", b.intraOpThreads());
            out.put("spinning", spinning);
            out.put("device", b.device().toString());
            out.put("batches", rates.size());
            out.put("seconds", round(wall));
            // Images per CPU-second: compares configurations fairly when other processes share the cores.
            out.put("images_per_cpu_s", cpu > 0 ? round(rates.size() * batch / cpu) : null);
            if (gflopPerImage != null) {
                out.put("gflop_per_image", gflopPerImage);
                out.put("gflop_per_s", round(Stats.median(rates) * gflopPerImage));
                out.put("gflop_per_cpu_s", cpu > 0 ? round(rates.size() * batch / cpu * gflopPerImage) : null);
            }
            out.put("feature_dim", b.featureDim());
            out.put("load_s", round(loadS));
            out.put("ort", Backbone.ortVersion());
            out.put("java", System.getProperty("java.version"));
            out.put("cpus", Runtime.getRuntime().availableProcessors());
            out.put("cpu_flags", CpuFlags.here());
            if (!config.isEmpty()) {
                out.put("config", config);
            }
            Gson gson = new GsonBuilder().disableHtmlEscaping().serializeNulls().create();
            System.out.println(gson.toJson(out));
        }
        return 0;
    }

    /** A direct batch buffer of plausible normalised pixel values (speed does not depend on them; NaNs would). */
    static FloatBuffer randomBatch(Backbone b, int batch) {
        FloatBuffer buf = b.newBatchBuffer(batch);
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < buf.capacity(); i++) {
            buf.put(i, (float) (r.nextDouble() * 4 - 2));
        }
        return buf;
    }

    /**
     * The timing loop of {@code bench.jar backbone}, shared with benchmarks that compare against it (bench serve):
     * runs {@code batch} images from {@code buf} until {@code seconds} pass (at least 3 runs) and returns each run's
     * images per second, sorted; the figure reported is their median.
     */
    static List<Double> timeBatches(Backbone b, FloatBuffer buf, int batch, double seconds)
            throws org.transfer4j.ModelException {
        List<Double> rates = new ArrayList<>();
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < deadline || rates.size() < 3) {
            long s = System.nanoTime();
            b.features(buf, batch);
            rates.add(batch / ((System.nanoTime() - s) / 1e9));
        }
        Collections.sort(rates);
        return rates;
    }

    /**
     * {@link #timeBatches} on {@code lanes} threads at once, each with its own batch of the same values: every run's
     * images per second, all lanes together, sorted.
     */
    static List<Double> timeLanes(Backbone b, int lanes, int batch, double seconds) throws Exception {
        List<java.util.concurrent.Future<List<Double>>> parts = new ArrayList<>();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(lanes);
        try {
            for (int l = 0; l < lanes; l++) {
                parts.add(pool.submit(() -> timeBatches(b, randomBatch(b, batch), batch, seconds)));
            }
            List<Double> rates = new ArrayList<>();
            for (var p : parts) {
                try {
                    rates.addAll(p.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof Exception c ? c : e;
                }
            }
            Collections.sort(rates);
            return rates;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Decode + preprocess + inference through FeatureExtractor, in passes over the images until time is up. */
    private int pipeline(Backbone b, double loadS) throws Exception {
        List<ImageTask> tasks = new ArrayList<>();
        for (Path p : org.transfer4j.tools.predict.ImageFiles.expand(List.of(images))) {
            tasks.add(ImageTask.plain(tasks.size(), p));
        }
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException("--images " + images + " holds no image files (extensions: "
                    + String.join(", ", new java.util.TreeSet<>(org.transfer4j.backbone.dataset.Dataset.IMAGE_EXTENSIONS))
                    + ")");
        }
        FeatureExtractor.Builder fb = FeatureExtractor.builder(b).optBatchSize(batch).optLanes(lanes);
        if (decodeThreads != null) {
            fb.optDecodeThreads(decodeThreads);
        }
        long[] failed = new long[1];
        FeatureSink sink = new FeatureSink() {
            @Override
            public void accept(ImageTask task, float[] features) {
                // discarded: only the rate matters
            }

            @Override
            public void failed(ImageTask task, ImageDecodeException error) {
                failed[0]++;
            }
        };
        try (FeatureExtractor fx = fb.build()) {
            fx.run(tasks.subList(0, Math.min(tasks.size(), warmup * batch)), sink);
            failed[0] = 0;
            List<Double> rates = new ArrayList<>();
            long images = 0;
            double wall = 0;
            double infer = 0;
            double wait = 0;
            long deadline = System.nanoTime() + (long) (seconds * 1e9);
            while (System.nanoTime() < deadline || rates.isEmpty()) {
                FeatureExtractor.RunStats s = fx.run(tasks, sink);
                rates.add(s.imagesPerSecond());
                images += s.images();
                wall += s.wallSeconds();
                infer += s.inferenceSeconds();
                wait += s.waitSeconds();
            }
            Collections.sort(rates);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("bench", "pipeline");
            out.put("model", model.getFileName().toString());
            out.put("images_per_s", round(images / wall));
            out.put("passes", rates.size());
            out.put("images", images);
            out.put("failed", failed[0]);
            out.put("batch", batch);
            out.put("threads", b.intraOpThreads());
            out.put("decode_threads", fx.lanes() > 0 ? 0 : fx.decodeThreads());
            out.put("lanes", fx.lanes());
            out.put("inference_share", round(infer / wall));
            out.put("decode_wait_share", round(wait / wall));
            out.put("seconds", round(wall));
            out.put("load_s", round(loadS));
            out.put("ort", Backbone.ortVersion());
            out.put("cpus", Runtime.getRuntime().availableProcessors());
            out.put("cpu_flags", CpuFlags.here());
            System.out.println(new GsonBuilder().disableHtmlEscaping().create().toJson(out));
        }
        return 0;
    }

    private static double round(double v) {
        return Double.parseDouble(String.format(Locale.ROOT, "%.2f", v));
    }
}
