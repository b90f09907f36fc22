package org.transfer4j.backbone.spec;

/** How an image of any size becomes the model's input size. */
public enum ResizePolicy {
    /** Resize the shorter side to {@link BackboneSpec#resizeShorter()}, keep aspect, then center-crop (torchvision). */
    SHORTER_SIDE_THEN_CENTER_CROP,
    /** Resize straight to height x width, ignoring aspect (Keras {@code load_img(target_size=...)}). */
    DIRECT
}
