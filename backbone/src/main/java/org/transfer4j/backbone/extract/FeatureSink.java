package org.transfer4j.backbone.extract;

import java.io.IOException;
import org.transfer4j.backbone.image.ImageDecodeException;

/**
 * Receives extraction results. {@link FeatureExtractor} calls it from one thread only (the caller's), in task
 * order, so implementations need no locking and can write files sequentially.
 */
public interface FeatureSink {
    /** Features for one task; the array is the sink's to keep. */
    void accept(ImageTask task, float[] features) throws IOException;

    /**
     * Features for one task whose image decoded with warnings (e.g. {@code "truncated: ..."}); the default ignores
     * them. Sinks that keep records (the feature cache) override this so such images are reported, not cached
     * silently as whole.
     */
    default void accept(ImageTask task, float[] features, java.util.List<String> warnings) throws IOException {
        accept(task, features);
    }

    /** The task's image could not be decoded; the run goes on. */
    void failed(ImageTask task, ImageDecodeException error) throws IOException;
}
