package org.transfer4j.tools.bench;

import com.google.gson.Gson;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import org.transfer4j.backbone.onnx.GraphSurgery;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.head.finetune.StageNetwork;
import org.transfer4j.head.train.Nd4jBinaries;
import org.transfer4j.head.train.NativeThreads;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * bench.jar stage: the fine-tuned stage's speed ({@code train-head --fine-tune}'s inner loop) on random
 * non-negative stage inputs of the real shape: median seconds per batch for the forward pass alone and for forward +
 * backward, and the GFLOP/s the convolutions' products imply.
 */
@Command(name = "stage", mixinStandardHelpOptions = true,
        description = "Speed of the last stage's forward and backward (fine-tuning); prints one JSON line.")
public final class StageBench implements Callable<Integer> {
    @Option(names = "--backbone", required = true, paramLabel = "MODEL.onnx", description = "The full backbone.")
    Path backbone;
    @Option(names = "--split", paramLabel = "TENSOR", description = "The tensor entering the last stage (default: "
            + "found as extract --maps does).")
    String split;
    @Option(names = "--batch", defaultValue = "16", description = "Images per batch (default: ${DEFAULT-VALUE}).")
    int batch;
    @Option(names = "--rounds", defaultValue = "5", description = "Timed rounds after one warm-up round "
            + "(default: ${DEFAULT-VALUE}).")
    int rounds;
    @Option(names = "--threads", defaultValue = "0", description = "ND4J/BLAS threads; 0 = train-head's default "
            + "(OMP_NUM_THREADS if set, else 1) (default: ${DEFAULT-VALUE}).")
    int threads;

    @Override
    public Integer call() throws Exception {
        NativeThreads.setOrTrainingDefault(threads);
        var model = OnnxModels.load(backbone);
        GraphSurgery.StageSplit s = GraphSurgery.splitAtStage(model, split, backbone.toString());
        StageNetwork stage = StageNetwork.fromOnnx(model, s.tensor(), DataType.FLOAT);
        int[] chw = {(int) s.shape()[1], (int) s.shape()[2], (int) s.shape()[3]};
        float[] maps = new float[batch * chw[0] * chw[1] * chw[2]];
        Random r = new Random(1);
        for (int i = 0; i < maps.length; i++) {
            maps[i] = (float) Math.max(0, r.nextGaussian());
        }
        List<Double> forward = new ArrayList<>();
        List<Double> step = new ArrayList<>();
        for (int round = 0; round <= rounds; round++) {
            long t0 = System.nanoTime();
            stage.pooled(maps, batch, chw);
            long t1 = System.nanoTime();
            stage.trainStep(maps, batch, chw, pooled -> pooled);
            long t2 = System.nanoTime();
            if (round > 0) { // the first round grows the workspace
                forward.add((t1 - t0) / 1e9);
                step.add((t2 - t1) / 1e9);
            }
        }
        double[] gflop = stage.gflopPerImage(chw[1], chw[2]);
        double f = Stats.median(forward);
        double fb = Stats.median(step);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("bench", "stage");
        out.put("split", s.tensor());
        out.put("stage_input", chw);
        out.put("parameters", stage.parameterCount());
        out.put("batch", batch);
        out.put("blas_threads", NativeThreads.blasThreads());
        out.put("blas_kernels", String.valueOf(Nd4jBinaries.blasKernels()));
        out.put("forward_seconds_per_batch", HeadBench.round(f));
        out.put("forward_backward_seconds_per_batch", HeadBench.round(fb));
        out.put("forward_gflops", HeadBench.round(gflop[0] * batch / f));
        out.put("forward_backward_gflops", HeadBench.round(gflop[1] * batch / fb));
        out.put("gflop_per_image", new double[] {HeadBench.round(gflop[0]), HeadBench.round(gflop[1])});
        out.put("peak_rss_mb", HeadBench.peakRssMb());
        out.put("cores", Runtime.getRuntime().availableProcessors());
        System.out.println(new Gson().toJson(out));
        return 0;
    }
}
