package org.transfer4j.backbone.spec;

/** Order of the colour channels the model expects. */
public enum ChannelOrder {
    RGB,
    /** Caffe-style models (Keras ResNet50 {@code preprocess_input} mode "caffe"). */
    BGR
}
