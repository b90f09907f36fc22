package org.transfer4j.tools;

import com.google.gson.JsonObject;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.cache.CacheWriter;
import org.transfer4j.backbone.cache.Dtype;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.FeatureExtractor;
import org.transfer4j.backbone.image.ImageDecoder;
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
                + "Files that cannot be decoded are listed in CACHE/errors.jsonl and the run goes on (exit 0)."},
        footer = {"", "Examples:",
            "  java -jar extract.jar --backbone resnet50-notop.onnx --images data/train --out cache/train",
            "  java -jar extract.jar --backbone m.onnx --manifest labels.csv --out cache/train --augment 4 --seed 7",
            "  java -jar extract.jar --backbone m.onnx --images data/val --out cache/val --dtype f16 --json"})
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
            description = "ONNX Runtime intra-op threads; 0 = one per processor (default).")
    int threads;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto",
            description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--augment", paramLabel = "K", defaultValue = "0",
            description = "Extra augmented views per image (random resized crop + flip), 0..1000 (default: 0).")
    int augment;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "Seed of the augmented views (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--dtype", paramLabel = "f32|f16", defaultValue = "f32",
            description = "Stored value type: f32 (default) or f16 (half the disk, ~3 significant digits).")
    String dtype;

    @Option(names = "--overwrite", description = "Discard an existing cache in --out (e.g. of another backbone).")
    boolean overwrite;

    @Option(names = "--json", description = "Print the final summary as one JSON line.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        PrintWriter out = command.commandLine().getOut();
        validate();
        Dtype type = Dtype.parse(dtype);
        Dataset dataset = source.images != null ? Dataset.fromFolder(source.images)
                : Dataset.fromManifest(source.manifest);
        BackboneOptions.Builder opts = BackboneOptions.builder().optDevice(device);
        if (threads > 0) {
            opts.optIntraOpThreads(threads);
        }
        if (specFile != null) {
            opts.optSpecFile(specFile);
        }
        CacheWriter.Result result;
        CacheWriter.Plan plan;
        double extractSeconds;
        int processed;
        try (Backbone model = Backbone.load(backbone, opts.build());
                CacheWriter writer = CacheWriter.builder(this.out, model.spec())
                        .optDtype(type).optOverwrite(overwrite).optCommitEveryRows(batch)
                        .optBackboneFile(model.modelPath()).open()) {
            plan = writer.update(dataset, augment, seed);
            if (!json) {
                out.println(String.format(Locale.ROOT,
                        "extract: %d images in %d classes (%s); %d new, %d changed, %d unchanged, %d removed; "
                                + "%d tasks to run on %s", plan.images(), dataset.classes().size(),
                        String.join(", ", dataset.classes()), plan.newImages(), plan.changedImages(),
                        plan.unchangedImages(), plan.removedImages(), plan.tasks().size(), model));
                out.flush();
            }
            boolean terminal = System.console() != null;
            try (Progress progress = new Progress(writer, plan.tasks().size(), terminal, System.err, 5000)) {
                if (!plan.tasks().isEmpty()) {
                    FeatureExtractor.Builder fx = FeatureExtractor.builder(model).optBatchSize(batch)
                            .optDecoder(ImageDecoder.builder().build());
                    try (FeatureExtractor extractor = fx.build()) {
                        extractor.run(plan.tasks(), progress);
                    }
                }
                extractSeconds = progress.seconds();
                processed = progress.done();
            }
            result = writer.finish();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double rate = processed / Math.max(extractSeconds, 1e-9);
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
            o.addProperty("cache", this.out.toAbsolutePath().normalize().toString());
            out.println(o);
        } else {
            out.println(String.format(Locale.ROOT,
                    "extracted %d, unchanged %d, failed %d, rows %d (%d images) in %s; %.1f images/s, %.1f s%s",
                    result.extracted(), result.unchanged(), result.failed(), result.rows(), result.images(),
                    this.out, processed == 0 ? 0 : rate, seconds,
                    result.failed() > 0 ? "; failures are listed in " + this.out.resolve("errors.jsonl") : ""));
        }
        out.flush();
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    private void validate() throws ModelException {
        if (batch < 1 || batch > 4096) {
            throw new IllegalArgumentException("--batch is " + batch + "; allowed: 1..4096");
        }
        if (threads < 0 || threads > 1024) {
            throw new IllegalArgumentException("--threads is " + threads + "; allowed: 0 (automatic) or 1..1024");
        }
        if (augment < 0 || augment > 1000) {
            throw new IllegalArgumentException("--augment is " + augment + "; allowed: 0..1000");
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
