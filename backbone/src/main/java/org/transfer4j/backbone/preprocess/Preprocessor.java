package org.transfer4j.backbone.preprocess;

import java.nio.FloatBuffer;
import java.util.Locale;
import java.util.Objects;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.ChannelOrder;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.ResizePolicy;

/**
 * Turns a decoded RGB image into one image's worth of model input, written straight into a batch buffer.
 *
 * <p>Backbones only give useful features when fed exactly what they were trained on, so this reproduces the Python
 * reference pipelines to the bit where the decoded pixels agree: resizing is Pillow 9.4's (see {@link PilResampler}),
 * the torch policy is torchvision 0.14's {@code Resize(S)} + {@code CenterCrop}, and normalisation is torchvision's
 * float32 arithmetic, {@code (pixel / (1/scale) - mean[c]) / std[c]}, tabulated once per channel.
 *
 * <p><b>Not thread-safe</b>: use one per worker thread. It reuses scratch arrays and caches resampling coefficients
 * keyed by image and output sizes, so preprocessing a stream of images allocates nothing per image once the scratch
 * has grown to the largest size seen.
 */
public final class Preprocessor {
    private final BackboneSpec spec;
    private final int height;
    private final int width;
    /** lut[c][v]: the model input value of channel c (model order) for 8-bit value v. */
    private final float[][] lut = new float[3][256];
    /** Source channel (0=R, 1=G, 2=B) feeding model channel c. */
    private final int[] sourceChannel;
    private final float[] row;
    private final PilResampler resampler = new PilResampler();

    public Preprocessor(BackboneSpec spec) {
        this.spec = Objects.requireNonNull(spec, "spec");
        this.height = spec.height();
        this.width = spec.width();
        this.sourceChannel = spec.channelOrder() == ChannelOrder.BGR ? new int[] {2, 1, 0} : new int[] {0, 1, 2};
        // torchvision ToTensor divides by 255 in float32 (not a multiply by 1/255), Keras' "tf" mode by 127.5; a
        // scale of 1/k is applied as a float division by k, which is also exact for scale = 1 (caffe).
        float divisor = (float) (1.0 / spec.scale());
        for (int c = 0; c < 3; c++) {
            float mean = (float) spec.mean(c);
            float std = (float) spec.std(c);
            for (int v = 0; v < 256; v++) {
                float x = v / divisor;
                lut[c][v] = (x - mean) / std;
            }
        }
        this.row = new float[width * 3];
    }

    public BackboneSpec spec() {
        return spec;
    }

    /**
     * Writes the plain (view 0) input for {@code img} at float offset {@code imageIndex * spec.floatsPerImage()} of
     * {@code batch}, with absolute puts (the buffer's position is left alone).
     */
    public void write(RgbImage img, FloatBuffer batch, int imageIndex) {
        checkTarget(img, batch, imageIndex);
        int iw = img.width();
        int ih = img.height();
        if (spec.resize() == ResizePolicy.SHORTER_SIDE_THEN_CENTER_CROP) {
            // torchvision 0.14 _compute_resized_output_size: shorter side -> S, longer = int(S * long / short).
            int s = spec.resizeShorter();
            int newW;
            int newH;
            if (iw <= ih) {
                newW = s;
                newH = (int) ((double) s * ih / iw);
            } else {
                newH = s;
                newW = (int) ((double) s * iw / ih);
            }
            // CenterCrop: int(round((size - crop) / 2.0)) with Python's round half to even.
            int top = (int) Math.rint((newH - height) / 2.0);
            int left = (int) Math.rint((newW - width) / 2.0);
            resampler.resize(img, 0, 0, iw, ih, 0f, 0f, iw, ih, newW, newH, spec.interpolation(), left, top,
                    width, height);
        } else {
            resampler.resize(img, 0, 0, iw, ih, 0f, 0f, iw, ih, width, height, spec.interpolation(), 0, 0, width,
                    height);
        }
        emit(batch, imageIndex, false);
    }

    /**
     * Writes an augmented view: like torchvision's {@code RandomResizedCrop}, the box is cropped out (whole pixels
     * {@code floor(x) .. ceil(x + w)}; a fractional box is kept as PIL's resize box inside that crop), resized straight
     * to the model's height x width with the spec's interpolation, then mirrored if {@link View#flip()}.
     *
     * @throws IllegalArgumentException if the box does not fit inside the image
     */
    public void write(RgbImage img, View view, FloatBuffer batch, int imageIndex) {
        Objects.requireNonNull(view, "view");
        checkTarget(img, batch, imageIndex);
        if (!view.fits(img.width(), img.height())) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "view box x=%s y=%s w=%s h=%s does not fit inside the %dx%d image", view.x(), view.y(), view.w(),
                    view.h(), img.width(), img.height()));
        }
        int rx = (int) Math.floor(view.x());
        int ry = (int) Math.floor(view.y());
        int rw = Math.min(img.width(), (int) Math.ceil(view.x() + view.w())) - rx;
        int rh = Math.min(img.height(), (int) Math.ceil(view.y() + view.h())) - ry;
        float b0 = (float) (view.x() - rx);
        float b1 = (float) (view.y() - ry);
        float b2 = Math.min((float) (view.x() + view.w() - rx), rw);
        float b3 = Math.min((float) (view.y() + view.h() - ry), rh);
        resampler.resize(img, rx, ry, rw, rh, b0, b1, b2, b3, width, height, spec.interpolation(), 0, 0, width,
                height);
        emit(batch, imageIndex, view.flip());
    }

    /** Scratch growth count since construction; package-private so tests can check steady-state reuse. */
    int scratchGrows() {
        return resampler.scratchGrows();
    }

    private void checkTarget(RgbImage img, FloatBuffer batch, int imageIndex) {
        Objects.requireNonNull(img, "img");
        Objects.requireNonNull(batch, "batch");
        long end = ((long) imageIndex + 1) * spec.floatsPerImage();
        if (imageIndex < 0 || end > batch.limit()) {
            throw new IndexOutOfBoundsException(String.format(Locale.ROOT,
                    "image index %d needs floats up to %d but the batch buffer's limit is %d (%d images of %d floats)",
                    imageIndex, end, batch.limit(), batch.limit() / spec.floatsPerImage(), spec.floatsPerImage()));
        }
    }

    /** Normalises the resampler's output and writes it in the spec's layout and channel order. */
    private void emit(FloatBuffer batch, int imageIndex, boolean flip) {
        int[] px = resampler.out;
        int base = imageIndex * spec.floatsPerImage();
        int w = width;
        int plane = height * w;
        float[] r = row;
        if (spec.layout() == Layout.NCHW) {
            for (int c = 0; c < 3; c++) {
                float[] t = lut[c];
                int sc = sourceChannel[c];
                for (int y = 0; y < height; y++) {
                    int p = y * w * 3 + sc;
                    if (flip) {
                        for (int x = w - 1; x >= 0; x--, p += 3) {
                            r[x] = t[px[p]];
                        }
                    } else {
                        for (int x = 0; x < w; x++, p += 3) {
                            r[x] = t[px[p]];
                        }
                    }
                    batch.put(base + c * plane + y * w, r, 0, w);
                }
            }
        } else {
            float[] t0 = lut[0];
            float[] t1 = lut[1];
            float[] t2 = lut[2];
            int s0 = sourceChannel[0];
            int s1 = sourceChannel[1];
            int s2 = sourceChannel[2];
            for (int y = 0; y < height; y++) {
                int p = y * w * 3;
                for (int x = 0; x < w; x++, p += 3) {
                    int o = (flip ? w - 1 - x : x) * 3;
                    r[o] = t0[px[p + s0]];
                    r[o + 1] = t1[px[p + s1]];
                    r[o + 2] = t2[px[p + s2]];
                }
                batch.put(base + y * w * 3, r, 0, w * 3);
            }
        }
    }
}
