package org.transfer4j.tools.bench;

import com.google.gson.Gson;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.head.TrainingConfig;
import org.transfer4j.head.train.ArrayRows;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.transfer4j.head.train.HeadNetwork;
import org.transfer4j.head.train.HeadTrainer;
import org.transfer4j.head.train.Nd4jBinaries;
import org.transfer4j.head.train.NativeThreads;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * bench.jar head: trains the head on synthetic features (no validation, no checkpoint) and prints one JSON line with
 * the median seconds per epoch and the GFLOP/s it implies. FLOPs per row and epoch: 4·D·H for the first layer
 * (forward and weight gradient; the input gradient is never needed) plus 6·H·K for the second (forward, weight and
 * input gradients); with H = 0, 4·D·K. It also times a step's two halves (forward+backward, and the Adam update)
 * on the same shapes and rows, and reports the rest of an epoch's time per step (batch assembly) as the
 * difference. Native threads default to train-head's ({@link NativeThreads#useTrainingDefault()}).
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
    @Option(names = "--threads", defaultValue = "0", description = "ND4J/BLAS threads; 0 = train-head's default "
            + "(OMP_NUM_THREADS if set, else 1) (default: ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        NativeThreads.setOrTrainingDefault(threads);
        var spec = Preset.TORCH.spec("input", Layout.NCHW, 224, 224);
        ArrayRows data = ArrayRows.synthetic(rows, dim, classes, spec, seed);
        TrainingConfig config = TrainingConfig.defaults().withHidden(hidden).withEpochs(epochs).withBatchSize(batch)
                .withDropout(hidden == 0 ? 0 : dropout).withValSplit(0).withSeed(seed);
        List<Double> seconds = new ArrayList<>();
        // Process CPU time per epoch as well: on a shared machine it varies far less than wall time.
        List<Double> cpuSeconds = new ArrayList<>();
        long[] cpuAt = {processCpuNanos()};
        HeadTrainer trainer = HeadTrainer.builder(config)
                .optListener(s -> {
                    seconds.add(s.seconds());
                    long now = processCpuNanos();
                    cpuSeconds.add((now - cpuAt[0]) / 1e9);
                    cpuAt[0] = now;
                }).build();
        trainer.train(data, null);
        double median = Stats.median(seconds);
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
        out.put("blas_threads", NativeThreads.blasThreads());
        // The step's two large products in two fixed halves at once (a second core), and Adam in shares.
        out.put("halves_at_once", HeadNetwork.halvesAtOnce(dim, hidden));
        out.put("nd4j_native", "linux-x86_64" + Nd4jBinaries.select());
        out.put("blas_kernels", String.valueOf(Nd4jBinaries.blasKernels()));
        out.put("seconds_per_epoch", round(median));
        out.put("epoch_seconds", seconds.stream().map(HeadBench::round).toList());
        out.put("cpu_seconds_per_epoch", round(Stats.median(cpuSeconds)));
        out.put("gflop_per_epoch", round(gflop));
        out.put("gflops", round(gflop / median));
        // Where a step's time goes, on the same shapes: the Adam update (with weight decay) vs forward and backward.
        double[] split = stepSplitMs(data);
        int steps = (rows + batch - 1) / batch;
        out.put("steps_per_epoch", steps);
        out.put("forward_backward_ms_per_step", round(split[0]));
        out.put("update_ms_per_step", round(split[1]));
        out.put("update_seconds_per_epoch", round(split[1] * steps / 1000));
        // The rest of an epoch's step: assembling the batch (rows, targets, dropout mask), counting hits.
        out.put("other_ms_per_step", round(median * 1000 / steps - split[0] - split[1]));
        // The same halves in this thread's CPU time: on a shared machine wall time also counts waiting for a core.
        out.put("forward_backward_cpu_ms_per_step", round(split[2]));
        out.put("update_cpu_ms_per_step", round(split[3]));
        out.put("peak_rss_mb", peakRssMb());
        out.put("cores", Runtime.getRuntime().availableProcessors());
        out.put("cpu_flags", CpuFlags.here());
        System.out.println(new Gson().toJson(out));
        return 0;
    }

    /**
     * Median ms per step of {forward+backward, update} in wall time, then the same two in this thread's CPU time, over
     * 5 rounds of 50 steps (after one warm-up round), on consecutive batches of the training rows (so that, as in
     * training, each step's input comes from memory).
     */
    private double[] stepSplitMs(ArrayRows data) {
        int h = hidden;
        int k = classes;
        Random r = new Random(seed);
        float[] x = new float[batch * dim];
        float[] t = new float[batch * k];
        float[] w = new float[batch];
        Arrays.fill(w, 1);
        float[] mask = null;
        if (h > 0 && dropout > 0) {
            mask = new float[batch * h];
            HeadNetwork.fillDropoutMask(mask, mask.length, dropout, r);
        }
        List<Double> fb = new ArrayList<>();
        List<Double> up = new ArrayList<>();
        List<Double> fbCpu = new ArrayList<>();
        List<Double> upCpu = new ArrayList<>();
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        int batches = Math.max(1, data.rowCount() / batch);
        try (HeadNetwork net = new HeadNetwork(dim, h, k, DataType.FLOAT, new FixedSchedule(1e-3))) {
            net.initialize(seed);
            int it = 0;
            for (int round = 0; round < 6; round++) {
                long f = 0;
                long u = 0;
                long fc = 0;
                long uc = 0;
                for (int i = 0; i < 50; i++, it++) {
                    int first = (it % batches) * batch;
                    Arrays.fill(t, 0f);
                    for (int j = 0; j < batch; j++) {
                        int row = (first + j) % data.rowCount();
                        data.read(row, x, j * dim);
                        t[j * k + data.label(row)] = 1f;
                    }
                    long c0 = cpu.getCurrentThreadCpuTime();
                    long t0 = System.nanoTime();
                    net.forwardBackward(x, t, w, mask, batch, null, null, true);
                    long t1 = System.nanoTime();
                    long c1 = cpu.getCurrentThreadCpuTime();
                    net.update(it, 0, TrainingConfig.defaults().weightDecay());
                    f += t1 - t0;
                    u += System.nanoTime() - t1;
                    fc += c1 - c0;
                    uc += cpu.getCurrentThreadCpuTime() - c1;
                }
                if (round > 0) { // the first round warms up
                    fb.add(f / 50 / 1e6);
                    up.add(u / 50 / 1e6);
                    fbCpu.add(fc / 50 / 1e6);
                    upCpu.add(uc / 50 / 1e6);
                }
            }
        }
        return new double[] {Stats.median(fb), Stats.median(up), Stats.median(fbCpu), Stats.median(upCpu)};
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** CPU time of the whole process (all threads), or -1 where the JVM cannot tell. */
    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** VmHWM from /proc/self/status (Linux); -1 elsewhere. */
    static long peakRssMb() {
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
