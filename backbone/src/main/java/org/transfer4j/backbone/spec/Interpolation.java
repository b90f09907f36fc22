package org.transfer4j.backbone.spec;

/** Resampling filter, with PIL's semantics (the reference pipelines use PIL). */
public enum Interpolation {
    /** PIL {@code Image.NEAREST}. */
    NEAREST,
    /** PIL {@code Image.BILINEAR} with its antialiasing (support scales with the downscale factor). */
    BILINEAR,
    /** PIL {@code Image.BICUBIC} (a = -0.5), antialiased like PIL. */
    BICUBIC
}
