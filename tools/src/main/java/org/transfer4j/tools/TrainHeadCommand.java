package org.transfer4j.tools;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.transfer4j.head.ClassWeights;
import org.transfer4j.head.TrainingConfig;
import org.transfer4j.head.finetune.FineTuneRun;
import org.transfer4j.head.train.EpochStats;
import org.transfer4j.head.train.HeadTrainingRun;
import org.transfer4j.head.train.NativeThreads;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * train-head.jar: a feature cache → a trained head folder with reports. Flags map onto {@link TrainingConfig} and
 * {@link HeadTrainingRun}.
 */
@Command(name = "train-head", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a Dense+ReLU+softmax head on cached backbone features (ND4J, Adam), with early "
            + "stopping on validation loss, and write head.json, head.bin, metrics.json, report.html, curves.png, "
            + "confusion.png and misclassified.csv into --out.",
            "A checkpoint is written after every epoch; after a crash, rerun with --resume to continue exactly "
                + "where it stopped.",
            "Native threads: OMP_NUM_THREADS if set, else 1 (fastest for head-sized matrices on a busy machine, and "
                + "the same result on every machine). Same inputs, options, seed and thread count give "
                + "byte-identical head.bin."},
        footer = {"", "Examples:",
            "  java -jar train-head.jar --train cache/train --val cache/val --out head",
            "  java -jar train-head.jar --train cache/train --val-split 0.2 --out head \\",
            "      --hidden 0 --baseline logistic",
            "  java -jar train-head.jar --train cache/train --val cache/val --out head --resume",
            "  java -jar train-head.jar --train maps/train --val maps/val --out head --fine-tune \\",
            "      --warmup-epochs 10 --fine-tune-lr 1e-5 --epochs 5"})
public final class TrainHeadCommand implements Callable<Integer> {
    /** Held so the level sticks (java.util.logging keeps loggers weakly); Tribuo logs every SGD run at INFO. */
    private static final Logger TRIBUO_LOG = Logger.getLogger("org.tribuo");

    @Spec
    CommandSpec command;

    @Option(names = "--train", paramLabel = "CACHE", required = true,
            description = "The training feature cache (from extract.jar); every augmented view is used.")
    Path train;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Validation validation = new Validation();

    static final class Validation {
        @Option(names = "--val", paramLabel = "CACHE",
                description = "A validation feature cache of the same backbone and classes (view 0 is used).")
        Path val;

        @Option(names = "--val-split", paramLabel = "F", defaultValue = "0.2",
                description = "Without --val: hold out this fraction of each class's images (default: "
                        + "${DEFAULT-VALUE}; 0 = no validation, no early stopping).")
        double valSplit = TrainingConfig.DEFAULT_VAL_SPLIT;
    }

    @Option(names = "--out", paramLabel = "HEAD", required = true, description = "The head folder to write.")
    Path out;

    @Option(names = "--hidden", paramLabel = "N", defaultValue = "512",
            description = "Hidden units; 0 = a single softmax layer (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "30",
            description = "Maximum epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "64",
            description = "Minibatch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", paramLabel = "F", defaultValue = "1e-3",
            description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--weight-decay", paramLabel = "F", defaultValue = "1e-4",
            description = "Decoupled (AdamW) weight decay on the weights, not biases (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--dropout", paramLabel = "F", defaultValue = "0.5",
            description = "Dropout on the hidden units; ignored with --hidden 0 (default: ${DEFAULT-VALUE}).")
    double dropout;

    @Option(names = "--label-smoothing", paramLabel = "F", defaultValue = "0",
            description = "Label smoothing (default: ${DEFAULT-VALUE}).")
    double labelSmoothing;

    @Option(names = "--class-weights", paramLabel = "none|balanced", defaultValue = "none",
            description = "Loss weights per class; balanced = n / (classes × n_class) (default: ${DEFAULT-VALUE}).")
    String classWeights;

    @Option(names = "--patience", paramLabel = "N", defaultValue = "5",
            description = "Stop after N epochs without a lower validation loss; the best epoch is kept "
                    + "(default: ${DEFAULT-VALUE}).")
    int patience;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "42",
            description = "Seed for initialisation, shuffling, dropout and the split (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--baseline", paramLabel = "logistic",
            description = "Also fit a logistic regression on the same features (standardised; L2 strength C "
                    + "chosen by 5-fold cross-validation on the training images) and report it.")
    String baseline;

    @Option(names = "--resume", description = "Continue from HEAD/checkpoint.bin when present (same options); "
            + "without one, start fresh.")
    boolean resume;

    @Option(names = "--overwrite", description = "Replace a head already in --out (refused otherwise).")
    boolean overwrite;

    @Option(names = "--fine-tune", description = "Fine-tune the backbone's last stage with the head (Keras' second "
            + "step): --train and --val are maps caches (extract.jar --maps); a head warms up on the frozen stage, "
            + "then stage and head train together with Adam at --fine-tune-lr. HEAD/model.onnx is the backbone "
            + "with the tuned stage plus the head.")
    boolean fineTune;

    @Option(names = "--warmup-epochs", paramLabel = "N", defaultValue = "10",
            description = "With --fine-tune: epochs of head training on the frozen stage first, with early "
                    + "stopping (default: ${DEFAULT-VALUE}).")
    int warmupEpochs;

    @Option(names = "--fine-tune-lr", paramLabel = "F", defaultValue = "1e-5",
            description = "With --fine-tune: Adam's rate for stage and head (default: ${DEFAULT-VALUE}).")
    double fineTuneLr;

    @Option(names = "--fine-tune-batch", paramLabel = "N", defaultValue = "16",
            description = "With --fine-tune: minibatch of the joint phase (default: ${DEFAULT-VALUE}).")
    int fineTuneBatch;

    @Option(names = "--backbone", paramLabel = "MODEL.onnx",
            description = "With --fine-tune: the full backbone the maps were cut from, when it moved (default: the "
                    + "file the maps prefix names; its sha256 must match).")
    Path backbone;

    @Override
    public Integer call() throws Exception {
        if (baseline != null && !baseline.equalsIgnoreCase("logistic")) {
            throw Cli.badValue(command, "--baseline", "'" + baseline + "'", "logistic");
        }
        NativeThreads.useTrainingDefault();
        TRIBUO_LOG.setLevel(Level.WARNING);
        ClassWeights weights = Cli.parse(command, "--class-weights", () -> ClassWeights.parse(classWeights));
        // TrainingConfig names its options like the flags (without the dashes).
        Map<String, String> flags = new java.util.HashMap<>();
        for (String f : List.of("hidden", "epochs", "batch", "lr", "weight-decay", "dropout", "label-smoothing",
                "patience", "val-split")) {
            flags.put(f, "--" + f);
        }
        TrainingConfig config = Cli.withFlags(command, flags, () -> new TrainingConfig(hidden, epochs, batch, lr,
                weightDecay, hidden == 0 ? 0 : dropout, labelSmoothing, weights,
                TrainingConfig.defaults().schedule(), patience, seed, validation.val != null ? 0
                : validation.valSplit));
        PrintWriter o = command.commandLine().getOut();
        if (fineTune) {
            return fineTune(config, o);
        }
        for (String flag : List.of("--warmup-epochs", "--fine-tune-lr", "--fine-tune-batch", "--backbone")) {
            if (command.commandLine().getParseResult().hasMatchedOption(flag)) {
                throw new picocli.CommandLine.ParameterException(command.commandLine(), flag + " applies to "
                        + "--fine-tune only; add --fine-tune (with maps caches) or drop " + flag);
            }
        }
        if (resume && !Files.exists(out.resolve(HeadTrainingRun.CHECKPOINT))) {
            o.println("no checkpoint in " + out.resolve(HeadTrainingRun.CHECKPOINT) + "; starting fresh");
            o.flush();
        }
        HeadTrainingRun.Builder run = HeadTrainingRun.builder(train, out, config).optValCache(validation.val)
                .optResume(resume).optOverwrite(overwrite).optBaseline(baseline != null)
                .optCommand(Cli.shellCommand("train-head.jar",
                        command.commandLine().getParseResult().originalArgs().toArray(String[]::new)))
                .optListener(s -> {
                    o.println(line(s, epochs));
                    o.flush();
                });
        var summary = run.build().run();
        var r = summary.result();
        if (r.resumed()) {
            o.println("(resumed from a checkpoint)");
        }
        if (summary.validation() != null) {
            o.printf(Locale.ROOT, "best epoch %d of %d: val_accuracy %.4f  val_loss %.4f  macro_f1 %.4f  "
                            + "train_accuracy %.4f%n", r.bestEpoch(), r.epochsRun(), summary.validation().accuracy(),
                    summary.validation().loss(), summary.validation().macroF1(), summary.training().accuracy());
        } else {
            o.printf(Locale.ROOT, "trained %d epochs without validation: train_accuracy %.4f%n", r.epochsRun(),
                    summary.training().accuracy());
        }
        if (summary.baseline() != null) {
            o.printf(Locale.ROOT, "baseline %s: val_accuracy %.4f  macro_f1 %.4f%n", summary.baseline().name(),
                    summary.baseline().validation().accuracy(), summary.baseline().validation().macroF1());
        }
        o.println("wrote " + out.resolve("head.json") + ", head.bin, metrics.json, report.html");
        if (summary.composeNote() != null) {
            o.println(summary.composeNote());
        }
        o.flush();
        return 0;
    }

    private Integer fineTune(TrainingConfig config, PrintWriter o) throws Exception {
        if (validation.val == null) {
            throw new picocli.CommandLine.ParameterException(command.commandLine(), "--fine-tune needs --val (a "
                    + "maps cache of the validation images: extract.jar --maps); early stopping and the kept epoch "
                    + "are chosen on it");
        }
        if (baseline != null) {
            throw new picocli.CommandLine.ParameterException(command.commandLine(), "--baseline does not apply to "
                    + "--fine-tune (it fits pooled features); run it on a plain feature cache");
        }
        Cli.range(command, "--warmup-epochs", warmupEpochs, 0, 10_000, "0..10000");
        Cli.range(command, "--fine-tune-batch", fineTuneBatch, 1, 4096, "1..4096");
        if (!(fineTuneLr > 0 && fineTuneLr < 1)) {
            throw Cli.badValue(command, "--fine-tune-lr", fineTuneLr, "0 < F < 1");
        }
        if (resume && !Files.exists(out.resolve(HeadTrainingRun.CHECKPOINT))
                && !Files.exists(out.resolve(FineTuneRun.WARMUP_CHECKPOINT))) {
            o.println("no checkpoint in " + out + "; starting fresh");
            o.flush();
        }
        FineTuneRun run = FineTuneRun.builder(train, validation.val, out, config).optWarmupEpochs(warmupEpochs)
                .optFineTuneLr(fineTuneLr).optFineTuneBatch(fineTuneBatch).optBackbone(backbone).optResume(resume)
                .optOverwrite(overwrite)
                .optCommand(Cli.shellCommand("train-head.jar",
                        command.commandLine().getParseResult().originalArgs().toArray(String[]::new)))
                .optListener((tuning, s) -> {
                    o.println((tuning ? "fine-tune " : "warm-up ") + line(s, warmupEpochs + epochs));
                    o.flush();
                }).build();
        var summary = run.run();
        if (summary.resumed()) {
            o.println("(resumed from a checkpoint)");
        }
        o.printf(Locale.ROOT, "best epoch %d of %d (%d warm-up): val_accuracy %.4f  val_loss %.4f  macro_f1 %.4f  "
                        + "train_accuracy %.4f%n", summary.bestEpoch(), summary.history().size(),
                summary.warmupEpochs(), summary.validation().accuracy(), summary.validation().loss(),
                summary.validation().macroF1(), summary.training().accuracy());
        o.println("wrote " + summary.model() + " (backbone with the tuned last stage + head in one ONNX model; base "
                + "backbone sha256 " + summary.baseSha256() + "), head.json, head.bin, metrics.json, report.html");
        o.flush();
        return 0;
    }

    static String line(EpochStats s, int epochs) {
        String val = Double.isNaN(s.valLoss()) ? "" : String.format(Locale.ROOT, "  val_loss %.4f  val_acc %.4f",
                s.valLoss(), s.valAccuracy());
        return String.format(Locale.ROOT, "epoch %d/%d  loss %.4f  acc %.4f%s  lr %.2e  %.1fs%s", s.epoch(), epochs,
                s.trainLoss(), s.trainAccuracy(), val, s.learningRate(), s.seconds(), s.improved() ? "  *" : "");
    }

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        Cli.main(new TrainHeadCommand(), args);
    }
}
