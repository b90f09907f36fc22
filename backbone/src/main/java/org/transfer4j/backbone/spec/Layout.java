package org.transfer4j.backbone.spec;

/** Memory layout of the model's image input. */
public enum Layout {
    /** [N, C, H, W]: PyTorch / torchvision / ONNX zoo exports. */
    NCHW,
    /** [N, H, W, C]: Keras models exported by tf2onnx. */
    NHWC
}
