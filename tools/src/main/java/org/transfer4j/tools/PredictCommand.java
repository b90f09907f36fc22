package org.transfer4j.tools;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.transfer4j.ModelException;
import org.transfer4j.Transfer4jException;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.onnx.OnnxMetadata;
import org.transfer4j.backbone.onnx.OnnxModels;
import org.transfer4j.head.train.HeadTrainingRun;
import org.transfer4j.inference.Prediction;
import org.transfer4j.inference.Predictor;
import org.transfer4j.tools.predict.FolderEvaluation;
import org.transfer4j.tools.predict.ImageFiles;
import org.transfer4j.tools.predict.PredictionOutput;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * predict.jar: classify image files with a composed model (or a backbone and a head), or evaluate on a labelled
 * folder. Flags map one-to-one onto {@link Predictor.Builder} options.
 */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Classify images with a trained model, or evaluate it on a folder-per-class set.",
            "A file that cannot be read prints an error line and the run goes on; the exit code is 0 unless no image "
                + "could be predicted."},
        footer = {"", "Examples:",
            "  java -jar predict.jar --model model.onnx photos/",
            "  java -jar predict.jar --backbone mobilenet-features.onnx --head head/ \\",
            "      --top 3 --json a.jpg b.png",
            "  java -jar predict.jar --model model.onnx --evaluate data/val",
            "  java -jar predict.jar --model model.onnx --evaluate --manifest test.csv"})
public final class PredictCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    ModelChoice model;

    static final class ModelChoice {
        @Option(names = "--model", paramLabel = "MODEL.onnx", required = true,
                description = "A composed model (model.jar compose, or train-head's HEAD/model.onnx).")
        Path composed;

        @ArgGroup(exclusive = false)
        TwoPart twoPart;
    }

    static final class TwoPart {
        @Option(names = "--backbone", paramLabel = "BACKBONE.onnx", required = true,
                description = "The backbone the head was trained on (its sha256 is checked).")
        Path backbone;

        @Option(names = "--head", paramLabel = "HEAD_DIR", required = true,
                description = "A head folder written by train-head (head.json + head.bin).")
        Path head;
    }

    @Option(names = "--top", paramLabel = "K", defaultValue = "3",
            description = "How many classes to list per image (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--json", description = "One JSON object per line (per image), or one object for --evaluate.")
    boolean json;

    @Option(names = "--evaluate", paramLabel = "DIR", arity = "0..1", fallbackValue = "",
            description = "Evaluate on a folder with one subfolder per class (or on --manifest): accuracy, per-class "
                + "precision/recall/F1, confusion matrix.")
    String evaluate;

    @Option(names = "--manifest", paramLabel = "FILE.csv",
            description = "With --evaluate: a CSV of path,label lines (as extract.jar takes), paths relative to its "
                + "folder.")
    Path manifest;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto",
            description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "ONNX Runtime intra-op threads; 0 = one per processor (default).")
    int threads;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "8",
            description = "Images per model run (default: ${DEFAULT-VALUE}).")
    int batch;

    @Parameters(paramLabel = "PATH", arity = "0..*",
            description = "Image files or folders (searched recursively for image files).")
    List<Path> paths = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (evaluate == null && paths.isEmpty()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "give image files or folders to classify, or --evaluate DIR (or --evaluate --manifest F.csv)");
        }
        if (evaluate != null && !paths.isEmpty()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--evaluate takes no other paths (got " + paths + ")");
        }
        if (manifest != null && evaluate == null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--manifest is for --evaluate: use --evaluate --manifest " + manifest);
        }
        if (evaluate != null && (evaluate.isEmpty() == (manifest == null))) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), manifest == null
                    ? "--evaluate needs a folder (--evaluate DIR) or a manifest (--evaluate --manifest F.csv)"
                    : "give --evaluate a folder or --manifest, not both");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (Predictor predictor = open()) {
            int code = evaluate != null ? evaluate(predictor, out, err) : classify(predictor, out, err);
            out.flush();
            err.flush();
            return code;
        }
    }

    private Predictor open() throws Exception {
        Path composed = model.composed;
        if (composed != null && Files.isDirectory(composed)) {
            throw new ModelException(ModelException.Reason.NOT_FOUND, "--model " + composed + " is a folder; pass "
                    + "the model file (" + composed.resolve(HeadTrainingRun.MODEL_FILE) + (Files.isRegularFile(
                    composed.resolve(HeadTrainingRun.MODEL_FILE)) ? ", which is there" : "") + "), or a backbone and "
                    + "a head folder: --backbone B.onnx --head " + composed);
        }
        Predictor.Builder b = composed != null
                ? Predictor.builder(composed)
                : Predictor.builder(model.twoPart.backbone, model.twoPart.head);
        b.optDevice(Cli.device(device)).optTopK(top).optBatchSize(batch);
        if (threads > 0) {
            b.optThreads(threads);
        }
        try {
            return Cli.withFlags(spec, Map.of("topK", "--top", "batchSize", "--batch", "threads", "--threads"),
                    b::build);
        } catch (ModelException e) {
            if (composed != null && e.reason() == ModelException.Reason.INCOMPATIBLE && isBackboneOnly(composed)) {
                throw new ModelException(ModelException.Reason.INCOMPATIBLE, composed + " is a backbone without a "
                        + "head (no " + OnnxMetadata.CLASSES + " metadata); pass it with its head: --backbone "
                        + composed + " --head HEAD, or compose the two first: java -jar model.jar compose "
                        + "--backbone " + composed + " --head HEAD --out model.onnx", e);
            }
            throw e;
        }
    }

    /** Read only on the error path: the whole model is parsed to look at its metadata. */
    private static boolean isBackboneOnly(Path file) {
        try {
            return OnnxModels.metadata(OnnxModels.load(file), OnnxMetadata.CLASSES).isEmpty();
        } catch (ModelException e) {
            return false;
        }
    }

    /** Classifies every file, in order, batching decoded images; bad files get an error line and are skipped. */
    private int classify(Predictor predictor, PrintWriter out, PrintWriter err) throws Transfer4jException,
            java.io.IOException {
        List<Path> files = ImageFiles.expand(paths);
        if (files.isEmpty()) {
            err.println("error: no image files found in " + paths);
            return Cli.EXIT_FAILED;
        }
        PredictionOutput printer = new PredictionOutput(out, err, json);
        int predicted = 0;
        List<Path> pending = new ArrayList<>();
        List<Object> decoded = new ArrayList<>(); // RgbImage or ImageDecodeException, in file order
        for (int i = 0; i < files.size(); i++) {
            Path f = files.get(i);
            try {
                decoded.add(predictor.decoder().decode(f));
            } catch (ImageDecodeException e) {
                decoded.add(e);
            }
            pending.add(f);
            if (pending.size() == predictor.batchSize() || i == files.size() - 1) {
                predicted += flush(predictor, pending, decoded, printer);
                pending.clear();
                decoded.clear();
            }
        }
        if (predicted == 0) {
            err.println("error: none of the " + files.size() + " files could be predicted");
            return Cli.EXIT_FAILED;
        }
        return 0;
    }

    private static int flush(Predictor predictor, List<Path> files, List<Object> decoded, PredictionOutput printer)
            throws Transfer4jException {
        List<RgbImage> images = new ArrayList<>();
        for (Object o : decoded) {
            if (o instanceof RgbImage img) {
                images.add(img);
            }
        }
        List<Prediction> predictions = images.isEmpty() ? List.of() : predictor.predictImages(images);
        int next = 0;
        for (int i = 0; i < files.size(); i++) {
            if (decoded.get(i) instanceof ImageDecodeException e) {
                printer.error(files.get(i), e);
            } else {
                printer.prediction(files.get(i), predictions.get(next++));
            }
        }
        return predictions.size();
    }

    private int evaluate(Predictor predictor, PrintWriter out, PrintWriter err) throws Transfer4jException {
        Dataset data = manifest != null ? Dataset.fromManifest(manifest) : Dataset.fromFolder(Path.of(evaluate));
        data.warnings().forEach(w -> err.println("warning: " + w));
        FolderEvaluation eval = FolderEvaluation.run(predictor, data, (file, e) -> {
            if (!json) {
                err.println("error: " + e.getMessage());
            }
        });
        if (eval.predicted() == 0) {
            err.println("error: none of the " + data.images().size() + " images in " + data.source()
                    + " could be predicted");
            return Cli.EXIT_FAILED;
        }
        out.println(json ? eval.toJson() : eval.toText());
        return 0;
    }

    public static void main(String[] args) {
        Cli.main(new PredictCommand(), args);
    }
}
