package org.transfer4j.tools;

import com.google.gson.JsonObject;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.cache.CacheReader;
import org.transfer4j.backbone.cache.CacheWriter;
import org.transfer4j.backbone.cache.Dtype;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.extract.Extraction;
import org.transfer4j.backbone.extract.FeatureExtractor;
import org.transfer4j.backbone.extract.ImageTask;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.onnx.GraphSurgery;
import org.transfer4j.tools.extract.Progress;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * extract.jar: images → backbone features → a feature cache (see FORMAT.md). Resumable: rerunning after a crash or
 * after the images changed extracts only what is missing or changed. Flags map onto {@link CacheWriter},
 * {@link Backbone} and {@link FeatureExtractor} options.
 */
@Command(name = "extract", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compute backbone features for a labelled image set and store them in a feature cache.",
            "Rerunning resumes: unchanged images are skipped, changed ones re-extracted, deleted ones dropped. "
                + "Files that cannot be decoded are listed in CACHE/errors.jsonl, summed up by reason at the end, and "
                + "the run goes on (exit 0; exit 1 with --strict)."},
        footer = {"", "Examples:",
            "  java -jar extract.jar --backbone resnet50-notop.onnx \\",
            "      --images data/train --out cache/train",
            "  java -jar extract.jar --backbone m.onnx --manifest labels.csv \\",
            "      --out cache/train --augment 4 --seed 7",
            "  java -jar extract.jar --backbone m.onnx --images data/val \\",
            "      --out cache/val --dtype f16 --json"})
public final class ExtractCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Option(names = "--backbone", paramLabel = "MODEL.onnx", required = true,
            description = "The backbone model (a no-top ONNX model giving pooled features).")
    Path backbone;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--images", paramLabel = "DIR", required = true,
                description = "A folder with one subfolder per class (images found recursively inside).")
        Path images;

        @Option(names = "--manifest", paramLabel = "FILE.csv", required = true,
                description = "A CSV of path,label lines, paths relative to the manifest's folder.")
        Path manifest;
    }

    @Option(names = "--out", paramLabel = "CACHE", required = true,
            description = "The cache folder (created; resumed when it already holds a cache of this backbone).")
    Path out;

    @Option(names = "--spec", paramLabel = "SPEC.json",
            description = "Preprocessing spec overriding the model's sidecar and metadata.")
    Path specFile;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "32",
            description = "Images per inference batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "CPU threads: on the CPU, N batches are decoded and run at once, each on its own thread with one "
                    + "ONNX Runtime thread (no core waits for another); on a GPU, ONNX Runtime's CPU threads. "
                    + "0 = one per processor (default).")
    int threads;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto",
            description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--augment", paramLabel = "K", defaultValue = "0",
            description = "Extra augmented views per image (random resized crop + flip), 0..1000 (default: 0).")
    int augment;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "42",
            description = "Seed of the augmented views (default: ${DEFAULT-VALUE}, as in train-head).")
    long seed;

    @Option(names = "--dtype", paramLabel = "f32|f16",
            description = "Stored value type: f32 (default; f16 with --maps) or f16 (half the disk, ~3 significant "
                    + "digits).")
    String dtype;

    @Option(names = "--maps", description = "Cache the feature maps entering the backbone's last stage (e.g. "
            + "1024x14x14 for ResNet50) instead of pooled features, for fine-tuning the last stage. The backbone's "
            + "prefix is written next to the cache, as CACHE" + MAPS_PREFIX_SUFFIX + ".")
    boolean maps;

    @Option(names = "--split", paramLabel = "TENSOR", description = "With --maps: the tensor entering the last "
            + "stage (default: found for ResNet-style backbones).")
    String split;

    /**
     * The prefix model extract --maps runs is written next to the cache folder with this suffix (the cache folder
     * holds only cache files; the header's backbone_file names the prefix).
     */
    public static final String MAPS_PREFIX_SUFFIX = ".maps-prefix.onnx";

    @Option(names = "--overwrite", description = "Discard an existing cache in --out (e.g. of another backbone).")
    boolean overwrite;

    @Option(names = "--strict", description = "Exit 1 when any image could not be read or decoded (the cache "
            + "still keeps the others).")
    boolean strict;

    @Option(names = "--json", description = "Print the final summary as one JSON line.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        validate();
        Dtype type = Cli.parse(command, "--dtype", () -> Dtype.parse(dtype != null ? dtype : maps ? "f16" : "f32"));
        Path modelFile = backbone;
        int[] tensorShape = {};
        if (maps) {
            Path absolute = this.out.toAbsolutePath().normalize();
            java.nio.file.Files.createDirectories(absolute.getParent());
            GraphSurgery.MapsPrefix prefix = GraphSurgery.writeMapsPrefix(backbone,
                    absolute.resolveSibling(absolute.getFileName() + MAPS_PREFIX_SUFFIX), split);
            modelFile = prefix.model();
            tensorShape = prefix.chw();
            err.println("extract: --maps caches '" + prefix.tensor() + "' " + java.util.Arrays.toString(prefix.chw())
                    + " (CHW) of " + backbone);
            err.flush();
        }
        Dataset dataset = source.images != null ? Dataset.fromFolder(source.images)
                : Dataset.fromManifest(source.manifest);
        dataset.warnings().forEach(w -> err.println("warning: " + w));
        err.flush();
        Device wanted = Cli.device(device);
        BackboneOptions.Builder opts = BackboneOptions.builder().optDevice(wanted);
        int cpuThreads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        // One intra-op thread per session: the CPU's cores go to lanes (FeatureExtractor). A CUDA session ignores it
        // for the GPU's work and keeps one batch at a time below.
        opts.optIntraOpThreads(wanted instanceof Device.Cuda ? cpuThreads : 1);
        if (specFile != null) {
            opts.optSpecFile(specFile);
        }
        boolean terminal = System.console() != null;
        Extraction.Result extraction;
        double extractSeconds;
        int processed;
        double rate;
        double rateWithWarmup;
        try (Backbone model = Backbone.load(modelFile, opts.build());
                Progress progress = new Progress(terminal, System.err, 5000).withWarmup(batch)) {
            Extraction.Listener report = new Extraction.Listener() {
                @Override
                public void planned(CacheWriter.Plan plan, Backbone backbone) {
                    if (!json) {
                        out.println(String.format(Locale.ROOT,
                                "extract: %d images in %d classes (%s); %d new, %d changed, %d unchanged, %d removed; "
                                        + "%d tasks to run on %s", plan.images(), dataset.classes().size(),
                                String.join(", ", dataset.classes()), plan.newImages(), plan.changedImages(),
                                plan.unchangedImages(), plan.removedImages(), plan.tasks().size(), backbone));
                        out.flush();
                    }
                    progress.planned(plan, backbone);
                }

                @Override
                public void done(ImageTask task, ImageDecodeException failure) {
                    progress.done(task, failure);
                }
            };
            extraction = Extraction.builder(model, dataset, this.out).optBatchSize(batch).optAugment(augment)
                    .optLanes(model.device() instanceof Device.Cuda ? 0 : cpuThreads)
                    .optSeed(seed).optDtype(type).optOverwrite(overwrite).optTensorShape(tensorShape)
                    .optListener(report).run();
            extractSeconds = progress.seconds();
            processed = progress.done();
            rate = progress.steadyImagesPerSecond();
            rateWithWarmup = progress.imagesPerSecond();
        }
        CacheWriter.Plan plan = extraction.plan();
        CacheWriter.Result result = extraction.cache();
        List<CacheReader.SameContent> sameContent;
        try (CacheReader reader = CacheReader.open(this.out)) {
            sameContent = reader.sameContentUnderSeveralLabels();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (json) {
            JsonObject o = new JsonObject();
            o.addProperty("extracted", result.extracted());
            o.addProperty("unchanged", result.unchanged());
            o.addProperty("failed", result.failed());
            o.addProperty("rows", result.rows());
            o.addProperty("rows_added", result.rowsAdded());
            o.addProperty("images", result.images());
            o.addProperty("removed", plan.removedImages());
            o.addProperty("seconds", round(seconds));
            o.addProperty("extract_seconds", round(extractSeconds));
            o.addProperty("images_per_s", round(processed == 0 ? 0 : rate));
            o.addProperty("images_per_s_incl_warmup", round(processed == 0 ? 0 : rateWithWarmup));
            JsonObject reasons = new JsonObject();
            result.failuresByReason().forEach((reason, paths) -> reasons.addProperty(reason, paths.size()));
            o.add("failed_by_reason", reasons);
            o.addProperty("same_content_several_labels", sameContent.size());
            o.addProperty("cache", this.out.toAbsolutePath().normalize().toString());
            out.println(o);
        } else {
            out.println(String.format(Locale.ROOT,
                    "extracted %d, unchanged %d, failed %d, rows %d (%d images) in %s; %.1f images/s after the "
                            + "first batch (%.1f with it), %.1f s",
                    result.extracted(), result.unchanged(), result.failed(), result.rows(), result.images(),
                    this.out, processed == 0 ? 0 : rate, processed == 0 ? 0 : rateWithWarmup, seconds));
        }
        out.flush();
        for (CacheReader.SameContent c : sameContent.subList(0, Math.min(10, sameContent.size()))) {
            List<String> where = new ArrayList<>();
            for (int i = 0; i < c.paths().size(); i++) {
                where.add(c.paths().get(i) + " (" + c.labels().get(i) + ")");
            }
            err.println("warning: the same image (sha256 " + c.sha256().substring(0, 12) + ") is under several "
                    + "labels: " + String.join(", ", where) + "; keep it in one class");
        }
        if (sameContent.size() > 10) {
            err.println("warning: " + (sameContent.size() - 10) + " more images are under several labels");
        }
        if (result.failed() > 0) {
            err.println(failureSummary(result, this.out.resolve("errors.jsonl")));
        }
        err.flush();
        if (strict && result.failed() > 0) {
            err.println("error: --strict: " + result.failed() + " image" + (result.failed() == 1 ? "" : "s")
                    + " could not be extracted");
            err.flush();
            return Cli.EXIT_FAILED;
        }
        return 0;
    }

    /** {@code failed 3: unreadable 1 (a/x.jpg), corrupt 2 (a/b.jpg, b/c.png); details in CACHE/errors.jsonl}. */
    static String failureSummary(CacheWriter.Result result, Path errors) {
        List<String> parts = new ArrayList<>();
        result.failuresByReason().forEach((reason, paths) -> parts.add(reason + " " + paths.size() + " ("
                + String.join(", ", paths.subList(0, Math.min(3, paths.size()))) + (paths.size() > 3 ? ", ..." : "")
                + ")"));
        return "failed " + result.failed() + ": " + String.join(", ", parts) + "; details in " + errors;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    private void validate() throws ModelException {
        Cli.range(command, "--batch", batch, 1, 4096, "1..4096");
        Cli.range(command, "--threads", threads, 0, 1024, "0 (automatic) or 1..1024");
        Cli.range(command, "--augment", augment, 0, 1000, "0..1000");
        if (split != null && !maps) {
            throw new picocli.CommandLine.ParameterException(command.commandLine(), "--split " + split
                    + " names the tensor --maps caches; add --maps or drop --split");
        }
        if (!java.nio.file.Files.isRegularFile(backbone)) {
            throw new ModelException(ModelException.Reason.NOT_FOUND, "backbone model " + backbone
                    + " not found; pass the .onnx file of a no-top backbone with --backbone");
        }
    }

    public static void main(String[] args) {
        Cli.main(new ExtractCommand(), args);
    }
}
