package org.transfer4j.backbone.keras;

import java.util.function.DoubleUnaryOperator;

/**
 * Reference arithmetic for the importer tests: Keras layers computed by plain loops on one channels-last image, with
 * every padding and output size given by the caller (worked out by hand in each test), so nothing here shares code
 * or formulas with the importer. Sums are in double.
 */
record Nhwc(int h, int w, int c, float[] v) {
    Nhwc {
        if (v.length != h * w * c) {
            throw new IllegalArgumentException(v.length + " values for " + h + "x" + w + "x" + c);
        }
    }

    static Nhwc zeros(int h, int w, int c) {
        return new Nhwc(h, w, c, new float[h * w * c]);
    }

    /** The value at (y, x, ch), 0 outside the image (zero padding). */
    float at(int y, int x, int ch) {
        return y < 0 || y >= h || x < 0 || x >= w ? 0f : v[(y * w + x) * c + ch];
    }

    boolean inside(int y, int x) {
        return y >= 0 && y < h && x >= 0 && x < w;
    }

    void set(int y, int x, int ch, double value) {
        v[(y * w + x) * c + ch] = (float) value;
    }

    /**
     * Conv2D with a Keras kernel [kh, kw, c, cout] (HWIO), the input's top/left padding and the output size given.
     */
    Nhwc conv(float[] k, int kh, int kw, int cout, float[] bias, int sh, int sw, int dh, int dw, int padTop,
              int padLeft, int outH, int outW) {
        Nhwc out = zeros(outH, outW, cout);
        for (int oy = 0; oy < outH; oy++) {
            for (int ox = 0; ox < outW; ox++) {
                for (int o = 0; o < cout; o++) {
                    double s = bias == null ? 0 : bias[o];
                    for (int ky = 0; ky < kh; ky++) {
                        for (int kx = 0; kx < kw; kx++) {
                            for (int i = 0; i < c; i++) {
                                s += (double) at(oy * sh - padTop + ky * dh, ox * sw - padLeft + kx * dw, i)
                                        * k[((ky * kw + kx) * c + i) * cout + o];
                            }
                        }
                    }
                    out.set(oy, ox, o, s);
                }
            }
        }
        return out;
    }

    /** DepthwiseConv2D with kernel [kh, kw, c, mult]: output channel i*mult+m filters input channel i. */
    Nhwc depthwise(float[] k, int kh, int kw, int mult, float[] bias, int sh, int sw, int padTop, int padLeft,
                   int outH, int outW) {
        Nhwc out = zeros(outH, outW, c * mult);
        for (int oy = 0; oy < outH; oy++) {
            for (int ox = 0; ox < outW; ox++) {
                for (int i = 0; i < c; i++) {
                    for (int m = 0; m < mult; m++) {
                        double s = bias == null ? 0 : bias[i * mult + m];
                        for (int ky = 0; ky < kh; ky++) {
                            for (int kx = 0; kx < kw; kx++) {
                                s += (double) at(oy * sh - padTop + ky, ox * sw - padLeft + kx, i)
                                        * k[((ky * kw + kx) * c + i) * mult + m];
                            }
                        }
                        out.set(oy, ox, i * mult + m, s);
                    }
                }
            }
        }
        return out;
    }

    /**
     * Max or average pooling; positions in the padding are skipped (TF "same" semantics) unless {@code countPad},
     * which averages over the whole window.
     */
    Nhwc pool(boolean max, int kh, int kw, int sh, int sw, int padTop, int padLeft, int outH, int outW,
              boolean countPad) {
        Nhwc out = zeros(outH, outW, c);
        for (int oy = 0; oy < outH; oy++) {
            for (int ox = 0; ox < outW; ox++) {
                for (int ch = 0; ch < c; ch++) {
                    double best = Double.NEGATIVE_INFINITY;
                    double sum = 0;
                    int n = 0;
                    for (int ky = 0; ky < kh; ky++) {
                        for (int kx = 0; kx < kw; kx++) {
                            int y = oy * sh - padTop + ky;
                            int x = ox * sw - padLeft + kx;
                            if (inside(y, x)) {
                                best = Math.max(best, at(y, x, ch));
                                sum += at(y, x, ch);
                                n++;
                            }
                        }
                    }
                    out.set(oy, ox, ch, max ? best : sum / (countPad ? kh * kw : n));
                }
            }
        }
        return out;
    }

    Nhwc pad(int top, int left, int bottom, int right) {
        Nhwc out = zeros(h + top + bottom, w + left + right, c);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int ch = 0; ch < c; ch++) {
                    out.set(y + top, x + left, ch, at(y, x, ch));
                }
            }
        }
        return out;
    }

    Nhwc map(DoubleUnaryOperator f) {
        float[] o = new float[v.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = (float) f.applyAsDouble(v[i]);
        }
        return new Nhwc(h, w, c, o);
    }

    /** Softmax over the channels of each pixel. */
    Nhwc softmaxChannels() {
        Nhwc out = zeros(h, w, c);
        for (int p = 0; p < h * w; p++) {
            double sum = 0;
            for (int ch = 0; ch < c; ch++) {
                sum += Math.exp(v[p * c + ch]);
            }
            for (int ch = 0; ch < c; ch++) {
                out.v[p * c + ch] = (float) (Math.exp(v[p * c + ch]) / sum);
            }
        }
        return out;
    }

    /** Channel-wise concatenation. */
    static Nhwc concat(Nhwc... parts) {
        int total = 0;
        for (Nhwc p : parts) {
            total += p.c;
        }
        Nhwc out = zeros(parts[0].h, parts[0].w, total);
        for (int y = 0; y < out.h; y++) {
            for (int x = 0; x < out.w; x++) {
                int off = 0;
                for (Nhwc p : parts) {
                    for (int ch = 0; ch < p.c; ch++) {
                        out.set(y, x, off + ch, p.at(y, x, ch));
                    }
                    off += p.c;
                }
            }
        }
        return out;
    }

    /** Element-wise combination of two same-shape images. */
    Nhwc zip(Nhwc o, java.util.function.DoubleBinaryOperator f) {
        float[] r = new float[v.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) f.applyAsDouble(v[i], o.v[i]);
        }
        return new Nhwc(h, w, c, r);
    }

    /** Per-channel means (global average pooling). */
    float[] channelMeans() {
        float[] out = new float[c];
        for (int ch = 0; ch < c; ch++) {
            double s = 0;
            for (int p = 0; p < h * w; p++) {
                s += v[p * c + ch];
            }
            out[ch] = (float) (s / (h * w));
        }
        return out;
    }

    /** Dense: x [d] times kernel [d, units] plus bias. */
    static float[] dense(float[] x, float[] kernel, float[] bias, int units) {
        float[] out = new float[units];
        for (int u = 0; u < units; u++) {
            double s = bias == null ? 0 : bias[u];
            for (int i = 0; i < x.length; i++) {
                s += (double) x[i] * kernel[i * units + u];
            }
            out[u] = (float) s;
        }
        return out;
    }
}
