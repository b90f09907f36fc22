package org.transfer4j.tools.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.DatasetException;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.quantize.CalibrationMethod;
import org.transfer4j.backbone.quantize.FeatureAgreement;
import org.transfer4j.backbone.quantize.Quantizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code model.jar quantize}: {@link Quantizer}. */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Quantize a float backbone to int8 (static QDQ: int8 weights per output channel, uint8 "
                + "activations), calibrated on your images preprocessed with the model's own spec. ONNX Runtime "
                + "runs its convolutions as integer kernels (QLinearConv): several times faster on CPUs with "
                + "AVX-512 VNNI, less so with AVX2 alone.",
            "Writes OUT and its spec sidecar; the input stays float and the features output float, so OUT is an "
                + "ordinary backbone for extract, compose, predict and bench. Same model, images, method and seed "
                + "give the same file."})
public final class QuantizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "M.onnx", description = "The float backbone.")
    Path model;

    @Option(names = "--calibrate", required = true, paramLabel = "IMAGES",
            description = "Calibration images: a folder with one subfolder per class (as for extract) or a "
                    + "manifest .csv of path,label lines. Use images like those the model will see.")
    Path calibrate;

    @Option(names = "--count", paramLabel = "N", defaultValue = "" + Quantizer.DEFAULT_COUNT,
            description = "Images to calibrate on, chosen by --seed (default: ${DEFAULT-VALUE}; all when fewer).")
    int count;

    @Option(names = "--method", paramLabel = "METHOD", defaultValue = "percentile",
            description = "How ranges are chosen: percentile (99.999%% of |x|; default, closest to float on the "
                    + "ImageNet ResNet50), minmax (nothing clipped) or entropy (least KL divergence).")
    CalibrationMethod method;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "Seed of the choice of images (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--reduce-range",
            description = "7-bit weights: for CPUs with AVX2 but without AVX-512 VNNI, where ONNX Runtime's 8-bit "
                    + "products can saturate (check with: grep -o avx512_vnni /proc/cpuinfo).")
    boolean reduceRange;

    @Option(names = "--threads", paramLabel = "N",
            description = "ONNX Runtime threads for calibration (default: all processors).")
    Integer threads;

    @Option(names = "--out", required = true, paramLabel = "M-int8.onnx", description = "The int8 model to write.")
    Path out;

    @Option(names = "--check", paramLabel = "IMAGES",
            description = "Afterwards, compare the int8 features with the float ones on these images (folder or "
                    + "manifest, e.g. held-out photos) and print their mean and lowest cosine similarity.")
    Path check;

    @Override
    public Integer call() throws ModelException, DatasetException, IOException {
        Dataset images = images("--calibrate", calibrate);
        Dataset checkImages = check == null ? null : images("--check", check);
        Quantizer.Builder b = Quantizer.builder(model).setCalibration(images).optCount(count)
                .optMethod(method).optSeed(seed).optReduceRange(reduceRange)
                .optProgress(line -> {
                    System.err.println(line);
                    System.err.flush();
                });
        if (threads != null) {
            b.optThreads(threads);
        }
        System.out.print(b.build().quantizeTo(out).toText());
        if (checkImages != null) {
            System.out.println(FeatureAgreement.measure(model, out, checkImages.images().stream()
                    .map(LabeledImage::path).toList(), threads != null ? threads
                    : Runtime.getRuntime().availableProcessors()).toText());
        }
        return 0;
    }

    private static Dataset images(String flag, Path p) throws DatasetException {
        if (Files.isDirectory(p)) {
            return Dataset.fromFolder(p);
        }
        if (p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv")) {
            return Dataset.fromManifest(p);
        }
        throw new IllegalArgumentException(flag + " " + p + " is neither a folder nor a manifest .csv; give a "
                + "folder of class subfolders with images, or a path,label manifest");
    }
}
