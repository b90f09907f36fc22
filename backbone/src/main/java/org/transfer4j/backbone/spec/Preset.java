package org.transfer4j.backbone.spec;

import java.util.Locale;

/** Named spec templates for the common ways ImageNet backbones were trained. */
public enum Preset {
    /** torchvision / ONNX zoo: shorter side 256 (PIL bilinear, antialiased), center-crop 224, /255, ImageNet mean/std, RGB. */
    TORCH,
    /**
     * Keras ResNet50 {@code preprocess_input}: {@code load_img(target_size)} = direct resize with PIL NEAREST,
     * RGB to BGR, subtract the BGR means (103.939, 116.779, 123.68), no scaling.
     */
    CAFFE,
    /** Keras MobileNet / Inception family: direct bilinear resize, scale to [-1, 1]. */
    TF;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code torch}, {@code caffe} or {@code tf} (any case), with a message listing the choices. */
    public static Preset parse(String name) {
        for (Preset p : values()) {
            if (p.id().equalsIgnoreCase(name.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown preset '" + name + "'; choose torch, caffe or tf");
    }

    /** The preset's spec for a model input of the given name, layout and size. */
    public BackboneSpec spec(String inputName, Layout layout, int height, int width) {
        int side = Math.max(height, width);
        return switch (this) {
            // torchvision's 256/224 ratio, kept for other input sizes (e.g. 299 -> 341).
            case TORCH -> new BackboneSpec(id(), inputName, layout, height, width, ChannelOrder.RGB,
                    ResizePolicy.SHORTER_SIDE_THEN_CENTER_CROP, (int) Math.floor(side * 256.0 / 224.0),
                    Interpolation.BILINEAR, 1.0 / 255.0, new double[] {0.485, 0.456, 0.406},
                    new double[] {0.229, 0.224, 0.225}, null, 0, null);
            case CAFFE -> new BackboneSpec(id(), inputName, layout, height, width, ChannelOrder.BGR,
                    ResizePolicy.DIRECT, 0, Interpolation.NEAREST, 1.0, new double[] {103.939, 116.779, 123.68},
                    new double[] {1, 1, 1}, null, 0, null);
            case TF -> new BackboneSpec(id(), inputName, layout, height, width, ChannelOrder.RGB,
                    ResizePolicy.DIRECT, 0, Interpolation.BILINEAR, 1.0 / 127.5, new double[] {1, 1, 1},
                    new double[] {1, 1, 1}, null, 0, null);
        };
    }
}
