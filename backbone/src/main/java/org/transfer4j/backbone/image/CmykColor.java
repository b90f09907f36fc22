package org.transfer4j.backbone.image;

import java.awt.color.CMMException;
import java.awt.color.ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.color.ProfileDataException;
import java.awt.image.ColorConvertOp;
import java.awt.image.DataBufferByte;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * CMYK ink to sRGB through an ICC profile: the image's own profile when it embeds a usable CMYK one, else
 * {@value #DEFAULT_PROFILE_NAME} (FOGRA39 conditions; the basICColor build that Apache PDFBox ships, zlib licence).
 *
 * <p>Why not PIL's {@code cmyk2rgb}, when everything else here follows PIL: CMYK values are ink amounts for a
 * press, and only mean a colour through a profile. PIL's formula, {@code (255-C)(255-K)/255}, puts Pillow's
 * {@code pil_sample_cmyk.jpg} 4.72 (mean absolute, 0..255) from Photoshop's RGB rendering of the same picture
 * ({@code pil_sample_rgb.jpg}); this conversion puts it 1.19 away. The reference pipelines (torchvision, Keras) rarely
 * meet CMYK files, and when they do they get PIL's muddy colours; we prefer the right ones.
 *
 * <p>Rendering intent: Java2D renders a printer ("prtr") profile relative-colorimetric <em>without</em> black-point
 * compensation, which lifts the blacks to dark grey (28.8 on the sample); Photoshop's default is relative colorimetric
 * with compensation (1.14 with LittleCMS). A printer profile is therefore relabelled as an input ("scnr") profile,
 * which makes Java2D use its perceptual table, whose black maps to black: 1.19.
 *
 * <p>Thread-safe: {@link ColorConvertOp}s (which cache their native transform) are per thread or per call.
 */
final class CmykColor {
    static final String DEFAULT_PROFILE_NAME = "ISO Coated v2 300% (basICColor)";
    /** Unpacked from PDFBox 2.0.x's jar at build time (see backbone/pom.xml). */
    static final String DEFAULT_PROFILE_RESOURCE = "/org/transfer4j/backbone/image/ISOcoated_v2_300_bas.icc";
    private static final int[] BANDS4 = {0, 1, 2, 3};
    private static final int[] BANDS3 = {0, 1, 2};

    private CmykColor() {
    }

    /** The default profile, loaded once. */
    private static final class DefaultProfile {
        static final ICC_Profile PROFILE = load();

        private static ICC_Profile load() {
            try (InputStream in = CmykColor.class.getResourceAsStream(DEFAULT_PROFILE_RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException(missingProfile());
                }
                return asInputProfile(in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the CMYK profile " + DEFAULT_PROFILE_RESOURCE, e);
            }
        }
    }

    private static final class Srgb {
        static final ICC_Profile PROFILE = ICC_Profile.getInstance(ColorSpace.CS_sRGB);
    }

    /**
     * One op per thread for the default profile: an op builds its native transform on first use (~5 ms) and keeps
     * it, but is not safe to share between threads.
     */
    private static final ThreadLocal<ColorConvertOp> DEFAULT_OP = ThreadLocal.withInitial(
            () -> new ColorConvertOp(new ICC_Profile[] {DefaultProfile.PROFILE, Srgb.PROFILE}, null));

    /**
     * Fails fast when the jar lacks the default profile. Only its presence is checked: reading and parsing it costs
     * 10-25 ms, which waits for the first CMYK image instead of every decoder's start.
     */
    static void requireDefaultProfile() {
        if (CmykColor.class.getResource(DEFAULT_PROFILE_RESOURCE) == null) {
            throw new IllegalStateException(missingProfile());
        }
    }

    private static String missingProfile() {
        return "the CMYK profile " + DEFAULT_PROFILE_RESOURCE + " is missing from the class path: this "
                + "transfer4j-backbone jar was not built by its pom";
    }

    /**
     * @param ink      w*h pixels of (C, M, Y, K), 0 = no ink, 255 = full ink
     * @param embedded the image's ICC profile, or null; an unusable one is reported in {@code warnings} and the
     *                 default is used instead
     * @return w*h*3 sRGB bytes
     */
    static byte[] toRgb(byte[] ink, int w, int h, byte[] embedded, List<String> warnings) {
        if (embedded != null) {
            String problem;
            try {
                ICC_Profile p = asInputProfile(embedded);
                if (p.getColorSpaceType() == ColorSpace.TYPE_CMYK) {
                    return convert(ink, w, h, new ColorConvertOp(new ICC_Profile[] {p, Srgb.PROFILE}, null));
                }
                problem = "it describes colour space type " + p.getColorSpaceType() + ", not CMYK";
            } catch (IllegalArgumentException | CMMException | ProfileDataException e) {
                problem = String.valueOf(e.getMessage());
            }
            warnings.add("icc: embedded colour profile unusable (" + problem + "); CMYK converted with "
                    + DEFAULT_PROFILE_NAME);
        }
        return convert(ink, w, h, DEFAULT_OP.get());
    }

    private static byte[] convert(byte[] ink, int w, int h, ColorConvertOp op) {
        int pixels = Math.multiplyExact(w, h);
        if (ink.length < Math.multiplyExact(pixels, 4)) {
            throw new IllegalArgumentException("expected " + pixels + " CMYK pixels, got " + ink.length / 4);
        }
        byte[] rgb = new byte[Math.multiplyExact(pixels, 3)];
        WritableRaster src = Raster.createInterleavedRaster(new DataBufferByte(ink, ink.length), w, h,
                Math.multiplyExact(w, 4), 4, BANDS4, null);
        WritableRaster dst = Raster.createInterleavedRaster(new DataBufferByte(rgb, rgb.length), w, h,
                Math.multiplyExact(w, 3), 3, BANDS3, null);
        op.filter(src, dst);
        return rgb;
    }

    /** Parses a profile; a printer profile is relabelled as an input profile (see the class comment for why). */
    static ICC_Profile asInputProfile(byte[] data) {
        byte[] d = data;
        if (data.length >= 128 && data[12] == 'p' && data[13] == 'r' && data[14] == 't' && data[15] == 'r') {
            d = data.clone();
            d[12] = 's';
            d[13] = 'c';
            d[14] = 'n';
            d[15] = 'r';
        }
        return ICC_Profile.getInstance(d);
    }
}
