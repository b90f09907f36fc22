package org.transfer4j.tools.predict;

import java.io.IOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.transfer4j.backbone.dataset.Dataset;

/** Expands command-line paths into image files: files as given, folders searched recursively in sorted order. */
public final class ImageFiles {
    private ImageFiles() {
    }

    /**
     * Files are kept whatever their name (the user named them; a bad one gets its own error line); folders contribute
     * their image files ({@link Dataset#isImageName}), hidden files and folders skipped, sorted so runs repeat.
     * Duplicates are dropped, keeping the first occurrence.
     */
    public static List<Path> expand(List<Path> paths) throws IOException {
        Set<Path> out = new LinkedHashSet<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                List<Path> found = new ArrayList<>();
                try (Stream<Path> walk = Files.walk(p, Integer.MAX_VALUE,
                        EnumSet.of(FileVisitOption.FOLLOW_LINKS).toArray(FileVisitOption[]::new))) {
                    walk.filter(f -> Files.isRegularFile(f) && !hidden(p, f)
                            && Dataset.isImageName(f.getFileName().toString())).forEach(found::add);
                }
                found.sort(null);
                out.addAll(found);
            } else if (Files.exists(p)) {
                out.add(p);
            } else {
                throw new NoSuchFileException(p.toString());
            }
        }
        return new ArrayList<>(out);
    }

    private static boolean hidden(Path root, Path f) {
        for (Path part : root.relativize(f)) {
            if (part.toString().startsWith(".")) {
                return true;
            }
        }
        return false;
    }
}
