package org.transfer4j.backbone.dataset;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A labelled list of images: a folder-per-class tree ({@link #fromFolder}) or a CSV manifest ({@link #fromManifest}).
 * Classes are sorted by name (String order) and images by relative path, so the same files always give the same
 * class indices and the same order, whatever order the file system lists them in.
 *
 * <p>Mistakes that would silently train a useless head are refused here with a message saying what to fix: no
 * images, a class folder without images, a single class, a manifest path escaping the manifest's folder.
 */
public final class Dataset {
    /** File extensions taken as images in folder datasets, matched case-insensitively. */
    public static final Set<String> IMAGE_EXTENSIONS =
            Set.of("jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff");
    /** Folder names that name a dataset split, not a class: seen as class folders, the root is one level too high. */
    public static final Set<String> SPLIT_NAMES = Set.of("train", "val", "valid", "validation", "test");

    /** Where the list came from. */
    public enum Kind {
        FOLDER, MANIFEST;

        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Kind kind;
    private final Path root;
    private final Path source;
    private final List<String> classes;
    private final List<LabeledImage> images;
    private final int skippedHidden;
    private final int skippedOther;
    private final List<String> warnings;

    private Dataset(Kind kind, Path root, Path source, List<String> classes, List<LabeledImage> images,
            int skippedHidden, int skippedOther, List<String> warnings) {
        this.kind = kind;
        this.root = root;
        this.source = source;
        this.classes = List.copyOf(classes);
        this.images = List.copyOf(images);
        this.skippedHidden = skippedHidden;
        this.skippedOther = skippedOther;
        this.warnings = List.copyOf(warnings);
    }

    public Kind kind() {
        return kind;
    }

    /** The folder relative paths are relative to: the dataset folder, or the manifest's folder. */
    public Path root() {
        return root;
    }

    /** The dataset folder or the manifest file. */
    public Path source() {
        return source;
    }

    /** Class names, sorted. */
    public List<String> classes() {
        return classes;
    }

    /** Images sorted by relative path. */
    public List<LabeledImage> images() {
        return images;
    }

    /** Hidden files and folders (name starting with a dot) skipped while walking a folder dataset. */
    public int skippedHidden() {
        return skippedHidden;
    }

    /** Files without an image extension skipped while walking a folder dataset (including loose files at the top). */
    public int skippedOther() {
        return skippedOther;
    }

    /**
     * Things that did not stop the listing but may mean the labels are not what the user thinks: a class folder named
     * like a split, symbolic links to folders that were not followed. Each is one line saying what and what to do.
     */
    public List<String> warnings() {
        return warnings;
    }

    /** True when {@code fileName} ends with one of {@link #IMAGE_EXTENSIONS}, in any case. */
    public static boolean isImageName(String fileName) {
        int dot = fileName.lastIndexOf('.');
        return dot > 0 && IMAGE_EXTENSIONS.contains(fileName.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    private static boolean isHidden(Path p) {
        Path name = p.getFileName();
        return name != null && name.toString().startsWith(".");
    }

    /**
     * Reads a folder-per-class tree: each immediate subfolder of {@code dir} is a class, and every image file below
     * it (recursively, following symbolic links) belongs to that class.
     */
    public static Dataset fromFolder(Path dir) throws DatasetException {
        Path root = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            throw new DatasetException(DatasetException.Reason.NOT_FOUND,
                    "image folder " + root + " does not exist or is not a folder; pass a folder with one subfolder"
                            + " per class");
        }
        int[] hidden = {0};
        int[] other = {0};
        Map<String, List<Path>> byClass = new TreeMap<>();
        Map<String, int[]> skippedPerClass = new HashMap<>();
        try (var top = Files.list(root)) {
            for (Path p : (Iterable<Path>) top::iterator) {
                if (isHidden(p)) {
                    hidden[0]++;
                } else if (Files.isDirectory(p)) {
                    byClass.put(p.getFileName().toString(), new ArrayList<>());
                } else {
                    other[0]++;
                }
            }
        } catch (IOException e) {
            throw new DatasetException(DatasetException.Reason.NOT_FOUND,
                    "cannot list image folder " + root + ": " + e.getMessage(), e);
        }
        List<String> warnings = new ArrayList<>();
        List<String> splits = byClass.keySet().stream()
                .filter(c -> SPLIT_NAMES.contains(c.toLowerCase(Locale.ROOT))).toList();
        if (splits.size() >= 2) {
            throw new DatasetException(DatasetException.Reason.SPLIT_FOLDERS, "the subfolders " + quoted(splits)
                    + " of " + root + " are dataset splits, not classes; give one split as the image folder "
                    + "instead (e.g. " + root.resolve(splits.get(0)) + "), each split into its own cache");
        }
        if (splits.size() == 1) {
            warnings.add("class folder '" + splits.get(0) + "' in " + root + " is named like a dataset split; if it "
                    + "holds class folders of its own, point at " + root.resolve(splits.get(0)) + " instead");
        }
        List<String> linksSkipped = new ArrayList<>();
        for (var entry : byClass.entrySet()) {
            Path classDir = root.resolve(entry.getKey());
            Path classReal;
            try {
                classReal = classDir.toRealPath();
            } catch (IOException e) {
                throw new DatasetException(DatasetException.Reason.NOT_FOUND,
                        "cannot read class folder " + classDir + ": " + e.getMessage(), e);
            }
            List<Path> files = entry.getValue();
            int[] skipped = new int[1];
            skippedPerClass.put(entry.getKey(), skipped);
            try {
                Files.walkFileTree(classDir, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE,
                        new SimpleFileVisitor<>() {
                            @Override
                            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                                if (!d.equals(classDir) && isHidden(d)) {
                                    hidden[0]++;
                                    return FileVisitResult.SKIP_SUBTREE;
                                }
                                if (!d.equals(classDir) && Files.isSymbolicLink(d) && !linkStaysInside(d, classReal)) {
                                    linksSkipped.add(root.relativize(d) + " -> " + linkTarget(d));
                                    return FileVisitResult.SKIP_SUBTREE;
                                }
                                return FileVisitResult.CONTINUE;
                            }

                            @Override
                            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                                if (isHidden(f)) {
                                    hidden[0]++;
                                    skipped[0]++;
                                } else if (attrs.isRegularFile() && isImageName(f.getFileName().toString())) {
                                    files.add(f);
                                } else {
                                    other[0]++;
                                    skipped[0]++;
                                }
                                return FileVisitResult.CONTINUE;
                            }

                            @Override
                            public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
                                if (e instanceof FileSystemLoopException) {
                                    // A link back up the tree below a followed link: its images are already listed.
                                    linksSkipped.add(root.relativize(f) + " -> " + linkTarget(f));
                                    return FileVisitResult.CONTINUE;
                                }
                                throw e;
                            }
                        });
            } catch (IOException e) {
                throw new DatasetException(DatasetException.Reason.NOT_FOUND,
                        "cannot read class folder " + classDir + ": " + e.getMessage(), e);
            }
        }
        if (!linksSkipped.isEmpty()) {
            warnings.add("did not follow " + linksSkipped.size() + " symbolic link" + (linksSkipped.size() == 1
                    ? "" : "s") + " to a folder outside its class folder or back up the tree (its images would get "
                    + "the wrong label or be listed twice): " + String.join(", ", linksSkipped.subList(0,
                    Math.min(3, linksSkipped.size()))) + (linksSkipped.size() > 3 ? ", ..." : ""));
        }
        List<String> empty = new ArrayList<>();
        for (var entry : byClass.entrySet()) {
            if (entry.getValue().isEmpty()) {
                int s = skippedPerClass.get(entry.getKey())[0];
                empty.add("'" + entry.getKey() + "'" + (s > 0 ? " (" + s + " non-image files skipped)" : ""));
            }
        }
        if (byClass.isEmpty() || byClass.values().stream().allMatch(List::isEmpty)) {
            throw new DatasetException(DatasetException.Reason.NO_IMAGES, "no images found in " + root
                    + ": expected one subfolder per class holding image files ("
                    + String.join(", ", new TreeSet<>(IMAGE_EXTENSIONS)) + ")");
        }
        if (!empty.isEmpty()) {
            throw new DatasetException(DatasetException.Reason.EMPTY_CLASS, "class folder" + (empty.size() > 1 ? "s " : " ")
                    + String.join(", ", empty) + " in " + root + " hold" + (empty.size() > 1 ? "" : "s")
                    + " no images; add images or remove the folder");
        }
        if (byClass.size() == 1) {
            throw new DatasetException(DatasetException.Reason.SINGLE_CLASS, "only one class ('"
                    + byClass.keySet().iterator().next() + "') in " + root
                    + "; a classifier needs at least two class folders");
        }
        List<String> classes = new ArrayList<>(byClass.keySet());
        List<LabeledImage> images = new ArrayList<>();
        for (int c = 0; c < classes.size(); c++) {
            for (Path f : byClass.get(classes.get(c))) {
                Path abs = f.toAbsolutePath().normalize();
                images.add(new LabeledImage(abs, relative(root, abs), classes.get(c), c));
            }
        }
        images.sort((a, b) -> a.relativePath().compareTo(b.relativePath()));
        return new Dataset(Kind.FOLDER, root, root, classes, images, hidden[0], other[0], warnings);
    }

    /**
     * A followed directory link is walked only when it leads to a folder inside the class folder that is not one of
     * its own ancestors: a link out (e.g. {@code a/loop -> ..}) would label a sibling class's images as this class,
     * a link up would list the same images again.
     */
    private static boolean linkStaysInside(Path link, Path classReal) {
        try {
            Path target = link.toRealPath();
            Path parent = link.getParent().toRealPath();
            return target.startsWith(classReal) && !parent.startsWith(target);
        } catch (IOException e) {
            return false;
        }
    }

    private static String linkTarget(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "?";
        }
    }

    private static String quoted(java.util.Collection<String> names) {
        return String.join(", ", names.stream().map(n -> "'" + n + "'").toList());
    }

    private static String relative(Path root, Path file) {
        StringBuilder sb = new StringBuilder();
        for (Path part : root.relativize(file)) {
            if (sb.length() > 0) {
                sb.append('/');
            }
            sb.append(part);
        }
        return sb.toString();
    }

    /**
     * Reads a CSV manifest of {@code path,label} records (an optional header {@code path,label}, RFC 4180 quoting,
     * blank lines ignored). Paths are relative to the manifest's folder and must stay inside it; files that do not
     * exist are kept (extraction reports them as unreadable).
     */
    public static Dataset fromManifest(Path manifest) throws DatasetException {
        Path file = manifest.toAbsolutePath().normalize();
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (MalformedInputException e) {
            throw new DatasetException(DatasetException.Reason.BAD_MANIFEST,
                    "manifest " + file + " is not UTF-8 text; save it as UTF-8 CSV", e);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DatasetException(DatasetException.Reason.NOT_FOUND, "manifest " + file + " does not exist; "
                    + "pass a CSV file of path,label lines (paths relative to the CSV's folder)", e);
        } catch (IOException e) {
            throw new DatasetException(DatasetException.Reason.NOT_FOUND, "cannot read manifest " + file + ": "
                    + (e instanceof java.nio.file.FileSystemException f && f.getReason() != null ? f.getReason()
                    : e.getMessage()), e);
        }
        Path root = file.getParent();
        List<Csv.Record> records = Csv.parse(text, file);
        Map<String, Integer> firstLine = new HashMap<>();
        List<String[]> rows = new ArrayList<>();
        List<Integer> lines = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            Csv.Record r = records.get(i);
            List<String> f = r.fields();
            if (f.size() == 1 && f.get(0).isEmpty()) {
                continue;
            }
            if (i == 0 && f.size() == 2 && f.get(0).trim().equalsIgnoreCase("path")
                    && f.get(1).trim().equalsIgnoreCase("label")) {
                continue;
            }
            if (f.size() != 2) {
                throw new DatasetException(DatasetException.Reason.BAD_MANIFEST, "manifest " + file + " line "
                        + r.line() + ": expected 2 fields (path,label), found " + f.size()
                        + "; quote fields that contain commas");
            }
            String p = f.get(0);
            String label = f.get(1);
            if (p.isEmpty() || label.isEmpty()) {
                throw new DatasetException(DatasetException.Reason.BAD_MANIFEST, "manifest " + file + " line "
                        + r.line() + ": " + (p.isEmpty() ? "path" : "label") + " is empty");
            }
            Path resolved;
            try {
                resolved = root.resolve(p).normalize();
            } catch (java.nio.file.InvalidPathException e) {
                throw new DatasetException(DatasetException.Reason.BAD_MANIFEST, "manifest " + file + " line "
                        + r.line() + ": '" + p + "' is not a valid path: " + e.getReason(), e);
            }
            if (!resolved.startsWith(root) || resolved.equals(root)) {
                throw new DatasetException(DatasetException.Reason.ESCAPES_ROOT, "manifest " + file + " line "
                        + r.line() + ": path '" + p + "' escapes the manifest's folder " + root
                        + "; paths must be relative to the manifest and stay inside its folder");
            }
            String rel = relative(root, resolved);
            Integer before = firstLine.putIfAbsent(rel, r.line());
            if (before != null) {
                throw new DatasetException(DatasetException.Reason.BAD_MANIFEST, "manifest " + file + " line "
                        + r.line() + ": '" + p + "' is already listed on line " + before
                        + "; list each image once");
            }
            rows.add(new String[] {rel, label});
            lines.add(r.line());
        }
        if (rows.isEmpty()) {
            throw new DatasetException(DatasetException.Reason.NO_IMAGES,
                    "manifest " + file + " lists no images; expected lines of path,label");
        }
        List<String> classes = new ArrayList<>(new TreeSet<>(rows.stream().map(r -> r[1]).toList()));
        if (classes.size() == 1) {
            throw new DatasetException(DatasetException.Reason.SINGLE_CLASS, "manifest " + file
                    + " has only one class ('" + classes.get(0) + "'); a classifier needs at least two labels");
        }
        Map<String, Integer> index = new HashMap<>();
        for (int c = 0; c < classes.size(); c++) {
            index.put(classes.get(c), c);
        }
        List<LabeledImage> images = new ArrayList<>();
        for (String[] r : rows) {
            images.add(new LabeledImage(root.resolve(r[0]).normalize(), r[0], r[1], index.get(r[1])));
        }
        images.sort((a, b) -> a.relativePath().compareTo(b.relativePath()));
        return new Dataset(Kind.MANIFEST, root, file, classes, images, 0, 0, List.of());
    }

    /** Number of images per class, in class order. */
    public int[] classCounts() {
        int[] counts = new int[classes.size()];
        for (LabeledImage im : images) {
            counts[im.labelIndex()]++;
        }
        return counts;
    }

    @Override
    public String toString() {
        return kind.word() + " dataset " + source + ": " + images.size() + " images, classes "
                + Collections.unmodifiableList(classes);
    }
}
