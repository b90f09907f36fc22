package org.transfer4j.tools.bench;

import com.google.gson.Gson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.head.TrainingConfig;
import org.transfer4j.head.train.ArrayRows;
import org.transfer4j.head.train.HeadTrainer;
import org.transfer4j.head.train.NativeThreads;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * bench.jar head: trains the head on synthetic features (no validation, no checkpoint) and prints one JSON line with
 * the median seconds per epoch and the GFLOP/s it implies. FLOPs per row and epoch: 4·D·H for the first layer
 * (forward and weight gradient; the input gradient is never needed) plus 6·H·K for the second (forward, weight and
 * input gradients); with H = 0, 4·D·K.
 */
@Command(name = "head", mixinStandardHelpOptions = true,
        description = "Head training speed on synthetic features; prints one JSON line.")
public final class HeadBench implements Callable<Integer> {
    @Option(names = "--rows", defaultValue = "10000", description = "Training rows (default: ${DEFAULT-VALUE}).")
    int rows;
    @Option(names = "--dim", defaultValue = "2048", description = "Feature dimension (default: ${DEFAULT-VALUE}).")
    int dim;
    @Option(names = "--hidden", defaultValue = "512", description = "Hidden size, 0 = softmax regression "
            + "(default: ${DEFAULT-VALUE}).")
    int hidden;
    @Option(names = "--classes", defaultValue = "10", description = "Classes (default: ${DEFAULT-VALUE}).")
    int classes;
    @Option(names = "--batch", defaultValue = "64", description = "Minibatch size (default: ${DEFAULT-VALUE}).")
    int batch;
    @Option(names = "--epochs", defaultValue = "5", description = "Epochs to time (default: ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--dropout", defaultValue = "0.5", description = "Dropout (default: ${DEFAULT-VALUE}).")
    double dropout;
    @Option(names = "--threads", defaultValue = "0", description = "ND4J/BLAS threads; 0 = leave as configured "
            + "(OMP_NUM_THREADS or all cores) (default: ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--no-workspace", description = "Run steps without an ND4J workspace (to measure what it saves).")
    boolean noWorkspace;
    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        if (threads > 0) {
            NativeThreads.set(threads);
        }
        var spec = Preset.TORCH.spec("input", Layout.NCHW, 224, 224);
        ArrayRows data = ArrayRows.synthetic(rows, dim, classes, spec, seed);
        TrainingConfig config = TrainingConfig.defaults().withHidden(hidden).withEpochs(epochs).withBatchSize(batch)
                .withDropout(hidden == 0 ? 0 : dropout).withValSplit(0).withSeed(seed);
        List<Double> seconds = new ArrayList<>();
        HeadTrainer trainer = HeadTrainer.builder(config).optWorkspace(!noWorkspace)
                .optListener(s -> seconds.add(s.seconds())).build();
        trainer.train(data, null);
        List<Double> sorted = new ArrayList<>(seconds);
        sorted.sort(Double::compare);
        int n = sorted.size();
        double median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
        double flopsPerRow = hidden == 0 ? 4.0 * dim * classes : 4.0 * dim * hidden + 6.0 * hidden * classes;
        double gflop = flopsPerRow * rows / 1e9;
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("bench", "head");
        out.put("rows", rows);
        out.put("dim", dim);
        out.put("hidden", hidden);
        out.put("classes", classes);
        out.put("batch", batch);
        out.put("epochs", epochs);
        out.put("dropout", hidden == 0 ? 0 : dropout);
        out.put("workspace", !noWorkspace);
        out.put("blas_threads", NativeThreads.blasThreads());
        out.put("seconds_per_epoch", round(median));
        out.put("epoch_seconds", seconds.stream().map(HeadBench::round).toList());
        out.put("gflop_per_epoch", round(gflop));
        out.put("gflops", round(gflop / median));
        out.put("peak_rss_mb", peakRssMb());
        out.put("cores", Runtime.getRuntime().availableProcessors());
        System.out.println(new Gson().toJson(out));
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** VmHWM from /proc/self/status (Linux); -1 elsewhere. */
    private static long peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
