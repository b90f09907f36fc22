package org.transfer4j.backbone.extract;

import java.nio.file.Path;

/**
 * One unit of extraction work: an image file and which view of it to compute.
 *
 * @param id       caller's identifier, handed back with the result (e.g. a row number)
 * @param path     the image file
 * @param view     0 = the plain preprocessed image; k &gt; 0 = the k-th augmented view
 * @param viewSeed seed of the augmented view's random crop/flip (ignored for view 0); same seed, same pixels
 */
public record ImageTask(long id, Path path, int view, long viewSeed) {
    public ImageTask {
        if (view < 0) {
            throw new IllegalArgumentException("view must be >= 0, is " + view);
        }
    }

    public static ImageTask plain(long id, Path path) {
        return new ImageTask(id, path, 0, 0L);
    }
}
