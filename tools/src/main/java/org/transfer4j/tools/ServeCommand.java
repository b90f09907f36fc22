package org.transfer4j.tools;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.inference.Predictor;
import org.transfer4j.serve.ModelServer;
import org.transfer4j.serve.ServerOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * serve.jar: a composed model over HTTP (see {@link ModelServer}). Flags map one-to-one onto {@link ServerOptions}
 * and {@link Predictor.Builder} options. Stops gracefully on SIGTERM or Ctrl-C: the requests in flight are answered
 * before the process exits with code 0.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve a model over HTTP: POST /v1/predict, GET /v1/model, /health/live, /health/ready, "
            + "/metrics, and a page at / to try it in a browser."},
        footer = {"", "Examples:",
            "  java -jar serve.jar --model head/model.onnx",
            "  curl --data-binary @bee.jpg http://127.0.0.1:8080/v1/predict",
            "  java -jar serve.jar --model model.onnx --host 0.0.0.0 --port 9000 --token \"$TOKEN\""})
public final class ServeCommand implements Callable<Integer> {
    /** Read when --token is absent, so the token need not show in the process list. */
    static final String TOKEN_ENV = "TRANSFER4J_TOKEN";

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "MODEL.onnx", required = true,
            description = "A composed model (model.jar compose, or train-head's HEAD/model.onnx).")
    Path model;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "Interface to listen on (default: ${DEFAULT-VALUE}, this machine only; 0.0.0.0 for all).")
    String host;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8080",
            description = "TCP port, 0 for any free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--max-batch", paramLabel = "N", defaultValue = "8",
            description = "Most images per model run (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-wait-ms", paramLabel = "MS", defaultValue = "5",
            description = "How long a request waits for others to fill its batch (default: ${DEFAULT-VALUE}).")
    long maxWaitMs;

    @Option(names = "--queue", paramLabel = "N", defaultValue = "64",
            description = "Requests admitted and not yet in a batch; more get 503 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "CPU threads for the model: on the CPU, N batches run at once, each with one ONNX Runtime "
                    + "thread (a request decoding on one core then slows one batch, not all); on a GPU, ONNX "
                    + "Runtime's CPU threads for one batch at a time. 0 = one per processor (default).")
    int threads;

    @Option(names = "--token", paramLabel = "T",
            description = "Require 'Authorization: Bearer T' on every /v1 call (default: $" + TOKEN_ENV
                    + " if set, else none).")
    String token;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "5",
            description = "Classes listed per prediction unless the request says ?top_k= (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--max-body-mb", paramLabel = "MB", defaultValue = "20",
            description = "Largest request body; larger ones get 413 (default: ${DEFAULT-VALUE}).")
    int maxBodyMb;

    @Option(names = "--drain-timeout-s", paramLabel = "S", defaultValue = "30",
            description = "On SIGTERM, how long to wait for requests in flight (default: ${DEFAULT-VALUE}).")
    int drainTimeoutS;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto",
            description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Override
    public Integer call() throws Exception {
        if (maxBodyMb < 1 || maxBodyMb > 2047) {
            throw new IllegalArgumentException("--max-body-mb is " + maxBodyMb + "; allowed: 1..2047");
        }
        if (drainTimeoutS < 0 || drainTimeoutS > 3600) {
            throw new IllegalArgumentException("--drain-timeout-s is " + drainTimeoutS + "; allowed: 0..3600");
        }
        String bearer = token != null ? token : System.getenv(TOKEN_ENV);
        int cpuThreads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        boolean gpu = Cli.device(device) instanceof Device.Cuda;
        ServerOptions options = ServerOptions.builder().optWorkers(gpu ? 1 : cpuThreads).optHost(host).optPort(port)
                .optMaxBatch(maxBatch).optMaxWaitMs(maxWaitMs).optQueue(queue).optToken(bearer == null || bearer.isEmpty() ? null : bearer)
                .optTopK(topK).optMaxBodyBytes(maxBodyMb * 1024L * 1024L).optDrainTimeoutMs(drainTimeoutS * 1000L)
                .build();
        Predictor.Builder pb = Predictor.builder(model).optDevice(device).optTopK(topK).optBatchSize(maxBatch)
                .optThreads(gpu ? cpuThreads : 1);
        PrintWriter out = spec.commandLine().getOut();
        try (Predictor predictor = pb.build()) {
            ModelServer server = ModelServer.start(predictor, options);
            // SIGTERM/Ctrl-C drain through close(); then this thread closes the Predictor and the process exits.
            // Not a shutdown hook: ONNX Runtime's own hook would free its environment under a run in flight.
            if (!server.closeOnTerminationSignals()) {
                Runtime.getRuntime().addShutdownHook(new Thread(server::close, "transfer4j-serve-shutdown"));
            }
            out.println("serving " + model.getFileName() + " (" + predictor.classes().size() + " classes) on "
                    + server.uri() + (options.token() != null ? " (token required on /v1)" : "")
                    + "; Ctrl-C or SIGTERM stops it after the requests in flight");
            out.flush();
            server.awaitClose();
        }
        return 0;
    }

    public static void main(String[] args) {
        Cli.main(new ServeCommand(), args);
    }
}
