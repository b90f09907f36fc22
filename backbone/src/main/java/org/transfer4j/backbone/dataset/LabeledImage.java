package org.transfer4j.backbone.dataset;

import java.nio.file.Path;

/**
 * One image of a dataset and its class.
 *
 * @param path         the file on disk (absolute, normalised)
 * @param relativePath the path relative to the dataset root with {@code /} separators; the image's identity in a
 *                     feature cache, so a dataset moved elsewhere keeps its cached rows
 * @param label        the class name
 * @param labelIndex   index of {@code label} in the dataset's sorted class list
 */
public record LabeledImage(Path path, String relativePath, String label, int labelIndex) {
    public LabeledImage {
        if (path == null || relativePath == null || relativePath.isEmpty() || label == null || label.isEmpty()) {
            throw new IllegalArgumentException("path, relativePath and label must be non-empty");
        }
        if (labelIndex < 0) {
            throw new IllegalArgumentException("labelIndex must be >= 0, is " + labelIndex);
        }
    }
}
