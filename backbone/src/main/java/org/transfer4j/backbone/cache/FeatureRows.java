package org.transfer4j.backbone.cache;

import java.util.List;
import org.transfer4j.backbone.spec.BackboneSpec;

/**
 * Random access to labelled feature rows: what training needs from a cache. The feature cache's reader implements
 * it over memory-mapped shards; tests implement it in memory.
 */
public interface FeatureRows {
    int rowCount();

    int featureDim();

    /** Class names, sorted; a row's label is an index into this list. */
    List<String> classes();

    /** The spec (with model sha256) the features were computed with. */
    BackboneSpec spec();

    int label(int row);

    /** 0 = plain image, k &gt; 0 = augmented view k. */
    int view(int row);

    /** The image's path relative to the dataset root (the same for all views of one image). */
    String path(int row);

    /** Copies row {@code row}'s features into {@code dst[offset .. offset + featureDim)}. */
    void read(int row, float[] dst, int offset);
}
