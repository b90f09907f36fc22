package org.transfer4j.backbone.image;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

import org.apache.commons.imaging.ImageFormat;
import org.apache.commons.imaging.ImageFormats;
import org.apache.commons.imaging.Imaging;
import org.apache.commons.imaging.ImagingException;
import org.apache.commons.imaging.bytesource.ByteSource;
import org.transfer4j.backbone.image.ImageDecodeException.Reason;
import org.transfer4j.backbone.spec.BackboneSpec;

/**
 * Image bytes to oriented 8-bit RGB, matching what the reference pipelines see from PIL's
 * {@code Image.open(f).convert("RGB")} (plus EXIF orientation, which PIL only applies on request).
 *
 * <p>How each format is read, and why:
 * <ul>
 * <li><b>JPEG</b>: the header is parsed here (size for the pixel limit, JFIF/Adobe markers, EXIF), then ImageIO's
 * JPEG reader (TwelveMonkeys, delegating to the JDK's libjpeg) decodes the <em>raw</em> components with
 * {@code readRaster} and the colour transform is done here with libjpeg's tables. That is what PIL does: YCbCr and
 * RGB are handled the libjpeg way and embedded ICC profiles are ignored, whereas {@code ImageReader.read} would
 * colour-convert through the profile (mean difference 9 on Pillow's {@code icc_profile_big.jpg}). CMYK and YCCK
 * (Adobe APP14) are the exception: their ink values go through the embedded CMYK profile, or a default press
 * profile, to sRGB ({@link CmykColor} says why).
 * <li><b>PNG, GIF, BMP, WebP, TIFF</b>: ImageIO (JDK, TwelveMonkeys WebP/BMP); samples are converted with PIL's
 * rules (see {@link Pixels}). PNG chunks and the GIF screen are checked here first.
 * <li><b>Anything else</b> ImageIO has no reader for: Apache Commons Imaging (PNM, PCX, ICO, PSD, ...). It is never
 * used for JPEG or PNG (its JPEG decoder is baseline-only and it applies PNG gamma).
 * </ul>
 * The image size is read from the header and checked against the pixel limit before any pixel buffer is allocated;
 * for GIF the size is PIL's canvas (screen grown to hold the first frame). Animated images give their first frame.
 *
 * <p>Immutable and thread-safe; one instance can serve all decode threads.
 */
public final class ImageDecoder {
    private static final String WHAT_TO_DO = "re-save the file as JPEG or PNG";

    private final long maxPixels;
    private final boolean applyExifOrientation;

    private ImageDecoder(Builder b) {
        this.maxPixels = b.maxPixels;
        this.applyExifOrientation = b.applyExifOrientation;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Images with more pixels than this are refused before decoding. */
    public long maxPixels() {
        return maxPixels;
    }

    public boolean applyExifOrientation() {
        return applyExifOrientation;
    }

    /** Builder; all options have defaults. */
    public static final class Builder {
        private long maxPixels = BackboneSpec.DEFAULT_MAX_PIXELS;
        private boolean applyExifOrientation = true;

        private Builder() {
        }

        /**
         * Pixel limit (width x height), default {@link BackboneSpec#DEFAULT_MAX_PIXELS} = PIL's
         * {@code Image.MAX_IMAGE_PIXELS}. Must be &ge; 1.
         */
        public Builder optMaxPixels(long maxPixels) {
            if (maxPixels < 1) {
                throw new IllegalArgumentException("maxPixels must be >= 1, got " + maxPixels);
            }
            this.maxPixels = maxPixels;
            return this;
        }

        /**
         * Whether to rotate/mirror images by their EXIF orientation (JPEG APP1, TIFF IFD0, PNG eXIf, WebP EXIF;
         * default true, like PIL's {@code ImageOps.exif_transpose}). Set false to reproduce a pipeline that calls only
         * {@code Image.open(f).convert("RGB")}, which leaves pixels as stored.
         */
        public Builder optApplyExifOrientation(boolean apply) {
            this.applyExifOrientation = apply;
            return this;
        }

        public ImageDecoder build() {
            CmykColor.requireDefaultProfile(); // a packaging fault shows here, not as "corrupt" CMYK images later
            return new ImageDecoder(this);
        }
    }

    // ----------------------------------------------------------------------------------------------------------------

    /** Decodes a file. */
    public RgbImage decode(Path file) throws ImageDecodeException {
        String name = file.toString();
        byte[] bytes;
        try {
            if (Files.isDirectory(file)) {
                throw new ImageDecodeException(name, Reason.UNREADABLE, "is a directory, not an image file");
            }
            long size = Files.size(file);
            if (size > Integer.MAX_VALUE - 16) {
                throw new ImageDecodeException(name, Reason.TOO_LARGE, String.format(Locale.ROOT,
                        "the file is %d bytes; files over 2 GB are not supported, downscale or re-encode it", size));
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ImageDecodeException(name, Reason.UNREADABLE, "no such file; check the path", e);
        } catch (AccessDeniedException e) {
            throw new ImageDecodeException(name, Reason.UNREADABLE, "permission denied; check the file's permissions",
                    e);
        } catch (IOException e) {
            throw new ImageDecodeException(name, Reason.UNREADABLE, "could not be read (" + e + ")", e);
        }
        return decode(bytes, name);
    }

    /** Decodes a stream (read to its end, not closed). {@code name} is used in messages. */
    public RgbImage decode(InputStream in, String name) throws ImageDecodeException {
        String file = name == null ? "<stream>" : name;
        byte[] bytes;
        try {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new ImageDecodeException(file, Reason.UNREADABLE, "could not be read (" + e + ")", e);
        } catch (OutOfMemoryError e) {
            // readAllBytes past 2 GB: not a heap problem of ours, a stream no image decoder here can hold
            throw new ImageDecodeException(file, Reason.TOO_LARGE, "the stream is too large to hold in memory");
        }
        return decode(bytes, file);
    }

    /** Decodes encoded image bytes. {@code name} (e.g. the file name) is used in messages. */
    public RgbImage decode(byte[] bytes, String name) throws ImageDecodeException {
        String file = name == null ? "<bytes>" : name;
        if (bytes.length == 0) {
            throw new ImageDecodeException(file, Reason.EMPTY, "the file is empty (0 bytes)");
        }
        try {
            if (JpegHeader.sniff(bytes)) {
                return decodeJpeg(bytes, file);
            }
            if (PngHeader.sniff(bytes)) {
                PngHeader png;
                try {
                    png = PngHeader.parseIhdr(bytes);
                } catch (IllegalArgumentException e) {
                    throw corrupt(file, "broken PNG header: " + e.getMessage(), e);
                }
                checkSize(file, "PNG", png.width, png.height);
                try {
                    PngHeader.checkChunks(bytes);
                    png.checkDataVolume(bytes);
                } catch (IllegalArgumentException e) {
                    throw corrupt(file, "broken PNG: " + e.getMessage(), e);
                }
                return decodeWithImageIO(bytes, file, "PNG", null, png.colorType == 0);
            }
            if (GifHeader.sniff(bytes)) {
                GifHeader gif;
                try {
                    gif = GifHeader.parse(bytes);
                } catch (IllegalArgumentException e) {
                    throw corrupt(file, "broken GIF: " + e.getMessage(), e);
                }
                if (gif.frameWidth == 0 || gif.frameHeight == 0) {
                    throw new ImageDecodeException(file, Reason.EMPTY, String.format(Locale.ROOT,
                            "the first GIF frame is %dx%d pixels (empty); %s", gif.frameWidth, gif.frameHeight,
                            WHAT_TO_DO));
                }
                checkSize(file, "GIF canvas", gif.canvasWidth(), gif.canvasHeight());
                return decodeWithImageIO(bytes, file, "GIF", gif, null);
            }
            return decodeOther(bytes, file);
        } catch (ImageDecodeException e) {
            throw e;
        } catch (IOException e) {
            String why = e.getMessage();
            if (e.getCause() != null && e.getCause() != e) {
                why += " (" + e.getCause() + ")";
            }
            throw corrupt(file, "the decoder failed: " + why, e);
        } catch (RuntimeException e) {
            // Decoders throw unchecked exceptions on corrupt data (ArrayIndexOutOfBounds in LZW, NegativeArraySize,
            // IllegalArgumentException "Empty region!"...). They describe the data, not a bug here.
            throw corrupt(file, "the decoder failed on corrupt data (" + e + ")", e);
        } catch (OutOfMemoryError e) {
            throw e; // the pixel limit is there to prevent this; hiding it would hide a real memory problem
        } catch (Error e) {
            // StackOverflowError, InternalError and friends from a decoder's native or recursive code on bad data.
            throw corrupt(file, "the decoder failed on corrupt data (" + e + ")", e);
        }
    }

    /**
     * Converts an image a caller already holds with the same rules as {@link #decode(Path)} (palette looked up,
     * alpha dropped without compositing, 16-bit to 8-bit as PIL does). No pixel limit and no orientation.
     */
    public static RgbImage fromBufferedImage(BufferedImage image) {
        return new RgbImage(image.getWidth(), image.getHeight(), Pixels.fromBufferedImage(image));
    }

    // ----------------------------------------------------------------------------------------------------------------

    private RgbImage decodeJpeg(byte[] bytes, String file) throws ImageDecodeException, IOException {
        JpegHeader hdr;
        try {
            hdr = JpegHeader.parse(bytes);
        } catch (IllegalArgumentException e) {
            throw corrupt(file, "broken JPEG header: " + e.getMessage(), e);
        }
        checkSize(file, "JPEG", hdr.width, hdr.height);
        // Every 8x8 block of a full-resolution component needs at least one bit (its DC code), so a file smaller
        // than blocks/8 bytes cannot hold the image it declares: the size field is corrupt or most of the data is
        // missing. Refusing here also spares libjpeg from "decoding" megapixels of nothing (seconds of work).
        long blocks = ((hdr.width + 7L) / 8) * ((hdr.height + 7L) / 8);
        if (bytes.length * 8L < blocks) {
            throw corrupt(file, String.format(Locale.ROOT, "the JPEG header declares %dx%d pixels, which needs at "
                    + "least %,d bytes of image data, but the file has %,d bytes (truncated, or a corrupt size "
                    + "field)", hdr.width, hdr.height, (blocks + 7) / 8, bytes.length), null);
        }
        if (hdr.lossless() || hdr.arithmetic()) {
            // PIL (libjpeg-turbo) refuses lossless JPEG; neither ImageIO path handles arithmetic coding reliably.
            throw new ImageDecodeException(file, Reason.UNSUPPORTED_FORMAT, String.format(Locale.ROOT,
                    "%s JPEG (SOF 0x%02X) is not supported; %s", hdr.lossless() ? "lossless" : "arithmetic-coded",
                    hdr.sofMarker, WHAT_TO_DO));
        }
        List<String> warnings = new ArrayList<>();
        ImageReader reader = firstReader(ImageIO.getImageReadersByFormatName("jpeg"));
        if (reader == null) {
            throw new ImageDecodeException(file, Reason.UNSUPPORTED_FORMAT, "no JPEG reader is installed in ImageIO");
        }
        Raster raster;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            reader.setInput(in, true, true);
            reader.addIIOReadWarningListener((source, warning) -> addWarning(warnings, warning));
            ImageReadParam param = reader.getDefaultReadParam();
            raster = reader.readRaster(0, param);
        } finally {
            reader.dispose();
        }
        if (raster.getWidth() != hdr.width || raster.getHeight() != hdr.height) {
            throw corrupt(file, String.format(Locale.ROOT, "the decoder returned %dx%d for a %dx%d JPEG",
                    raster.getWidth(), raster.getHeight(), hdr.width, hdr.height), null);
        }
        JpegHeader.ColorTransform transform = hdr.transform();
        byte[] icc = transform.isInk() ? hdr.iccProfile(bytes, warnings) : null;
        byte[] rgb = Pixels.fromJpegRaster(raster, transform, icc, warnings);
        return oriented(bytes, hdr.exifLength > 0 ? new int[] {hdr.exifOffset, hdr.exifLength} : null, hdr.width,
                hdr.height, rgb, warnings);
    }

    /**
     * The image turned upright by the EXIF orientation in {@code bytes[block[0] .. block[0]+block[1])} (a TIFF
     * structure), when orientation is applied and the block exists.
     */
    private RgbImage oriented(byte[] bytes, int[] block, int w, int h, byte[] rgb, List<String> warnings) {
        if (applyExifOrientation && block != null && block[1] > 0) {
            int o = exifOrientation(bytes, block[0], block[1], warnings);
            if (o >= 2 && o <= 8) {
                rgb = Pixels.orient(rgb, w, h, o);
                int ow = Pixels.orientedWidth(w, h, o);
                h = ow == w ? h : w;
                w = ow;
            }
        }
        return new RgbImage(w, h, rgb, warnings);
    }

    /** The file's ICC profile (TIFF tag 34675 and the like, through Commons Imaging), or null; problems warn. */
    private static byte[] embeddedProfile(byte[] bytes, List<String> warnings) {
        try {
            return Imaging.getIccProfileBytes(bytes);
        } catch (IOException | RuntimeException e) {
            warnings.add("icc: unreadable embedded colour profile (" + e.getMessage() + "); ignored");
            return null;
        }
    }

    /** EXIF orientation from IFD0 (as PIL's getexif() reads it), or 1; problems become warnings. */
    private static int exifOrientation(byte[] bytes, int offset, int length, List<String> warnings) {
        int o;
        try {
            o = ExifBlocks.orientation(bytes, offset, length);
        } catch (IllegalArgumentException e) {
            // A damaged EXIF block must not cost the image: PIL would still open it.
            warnings.add("exif: unreadable EXIF block (" + e.getMessage() + "); orientation not applied");
            return 1;
        }
        if (o == 0) {
            return 1;
        }
        if (o < 1 || o > 8) {
            warnings.add("exif: orientation " + o + " is not 1..8; pixels left as stored");
            return 1;
        }
        return o;
    }

    private RgbImage decodeWithImageIO(byte[] bytes, String file, String format, GifHeader gif,
            Boolean grayIsModeI) throws ImageDecodeException, IOException {
        List<String> warnings = new ArrayList<>();
        BufferedImage img;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            ImageReader reader = firstReader(ImageIO.getImageReaders(in));
            if (reader == null) {
                throw new ImageDecodeException(file, Reason.UNSUPPORTED_FORMAT,
                        "no ImageIO reader for this " + format + " file; " + WHAT_TO_DO);
            }
            try {
                reader.setInput(in, true, true);
                int w = reader.getWidth(0);
                int h = reader.getHeight(0);
                checkSize(file, format, w, h);
                reader.addIIOReadWarningListener((source, warning) -> addWarning(warnings, warning));
                img = reader.read(0, reader.getDefaultReadParam());
            } finally {
                reader.dispose();
            }
        }
        if (gif != null && (gif.canvasWidth() != img.getWidth() || gif.canvasHeight() != img.getHeight())) {
            return new RgbImage(gif.canvasWidth(), gif.canvasHeight(), gifCanvas(img, gif), warnings);
        }
        // PNG eXIf, WebP EXIF and TIFF IFD0 carry orientation too (Pillow's getexif reads all three).
        return oriented(bytes, ExifBlocks.find(bytes), img.getWidth(), img.getHeight(),
                Pixels.fromBufferedImage(img, grayIsModeI, () -> embeddedProfile(bytes, warnings), warnings),
                warnings);
    }

    /**
     * PIL places the first GIF frame on a canvas (screen grown to hold it) filled with the transparent index, or
     * index 0 without one.
     */
    private static byte[] gifCanvas(BufferedImage frame, GifHeader gif) {
        int cw = gif.canvasWidth();
        int ch = gif.canvasHeight();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(cw, ch), 3)];
        if (frame.getColorModel() instanceof IndexColorModel icm) {
            int idx = gif.transparentIndex >= 0 && gif.transparentIndex < icm.getMapSize() ? gif.transparentIndex : 0;
            byte r = (byte) icm.getRed(idx);
            byte g = (byte) icm.getGreen(idx);
            byte b = (byte) icm.getBlue(idx);
            for (int i = 0; i < out.length; i += 3) {
                out[i] = r;
                out[i + 1] = g;
                out[i + 2] = b;
            }
        }
        byte[] f = Pixels.fromBufferedImage(frame);
        int fw = Math.min(frame.getWidth(), cw - gif.frameLeft);
        int fh = Math.min(frame.getHeight(), ch - gif.frameTop);
        for (int y = 0; y < fh; y++) {
            System.arraycopy(f, y * frame.getWidth() * 3, out, ((gif.frameTop + y) * cw + gif.frameLeft) * 3,
                    fw * 3);
        }
        return out;
    }

    private RgbImage decodeOther(byte[] bytes, String file) throws ImageDecodeException, IOException {
        try (ImageInputStream probe = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            if (ImageIO.getImageReaders(probe).hasNext()) {
                try {
                    return decodeWithImageIO(bytes, file, formatName(bytes), null, null);
                } catch (ImageDecodeException e) {
                    if (e.reason() == Reason.TOO_LARGE || e.reason() == Reason.EMPTY) {
                        throw e;
                    }
                    RgbImage fallback = tryCommonsImaging(bytes, file);
                    if (fallback != null) {
                        return fallback;
                    }
                    throw e;
                } catch (IOException | RuntimeException e) {
                    RgbImage fallback = tryCommonsImaging(bytes, file);
                    if (fallback != null) {
                        return fallback;
                    }
                    throw e;
                }
            }
        }
        RgbImage img = tryCommonsImaging(bytes, file);
        if (img != null) {
            return img;
        }
        throw new ImageDecodeException(file, Reason.UNSUPPORTED_FORMAT,
                "not a recognised image format (supported: " + String.join(", ", supportedFormats()) + "); "
                        + WHAT_TO_DO);
    }

    /** Commons Imaging for formats ImageIO lacks; null when it does not recognise the bytes either. */
    private RgbImage tryCommonsImaging(byte[] bytes, String file) throws ImageDecodeException {
        ImageFormat fmt;
        try {
            fmt = Imaging.guessFormat(ByteSource.array(bytes));
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (fmt == null || fmt == ImageFormats.UNKNOWN || fmt == ImageFormats.JPEG || fmt == ImageFormats.PNG) {
            return null;
        }
        try {
            java.awt.Dimension d = Imaging.getImageSize(bytes);
            checkSize(file, fmt.getName(), d.width, d.height);
            BufferedImage img = Imaging.getBufferedImage(bytes);
            List<String> warnings = new ArrayList<>();
            return oriented(bytes, ExifBlocks.find(bytes), img.getWidth(), img.getHeight(),
                    Pixels.fromBufferedImage(img, null, () -> embeddedProfile(bytes, warnings), warnings), warnings);
        } catch (ImagingException e) {
            throw corrupt(file, fmt.getName() + " decoder (Commons Imaging) failed: " + e.getMessage(), e);
        } catch (IOException e) {
            throw corrupt(file, fmt.getName() + " decoder (Commons Imaging) failed: " + e, e);
        }
    }

    /** Format names ImageIO and Commons Imaging can read, for messages. */
    static Set<String> supportedFormats() {
        Set<String> names = new TreeSet<>();
        for (String s : ImageIO.getReaderFileSuffixes()) {
            names.add(s.toLowerCase(Locale.ROOT));
        }
        for (ImageFormats f : ImageFormats.values()) {
            if (f != ImageFormats.UNKNOWN) {
                names.add(f.getDefaultExtension().toLowerCase(Locale.ROOT));
            }
        }
        return names;
    }

    private static String formatName(byte[] b) {
        if (ExifBlocks.isWebp(b)) {
            return "WebP";
        }
        if (b.length >= 2 && b[0] == 'B' && b[1] == 'M') {
            return "BMP";
        }
        if (b.length >= 4 && ((b[0] == 'I' && b[1] == 'I') || (b[0] == 'M' && b[1] == 'M'))) {
            return "TIFF";
        }
        return "image";
    }

    private static ImageReader firstReader(Iterator<ImageReader> it) {
        return it.hasNext() ? it.next() : null;
    }

    private void checkSize(String file, String format, long w, long h) throws ImageDecodeException {
        if (w <= 0 || h <= 0) {
            throw new ImageDecodeException(file, Reason.EMPTY, String.format(Locale.ROOT,
                    "the %s header declares %dx%d pixels (empty image); %s", format, w, h, WHAT_TO_DO));
        }
        if (w * h > maxPixels) {
            throw new ImageDecodeException(file, Reason.TOO_LARGE, String.format(Locale.ROOT,
                    "the %s header declares %dx%d = %,d pixels, over the limit of %,d (a decompression-bomb guard, "
                            + "like PIL's); downscale the image, or raise the limit with "
                            + "ImageDecoder.builder().optMaxPixels(n) if you trust the file",
                    format, w, h, w * h, maxPixels));
        }
    }

    /** Truncation and corrupt-data warnings are kept; informational ones (16-bit DQT, ICC notes) are not. */
    private static void addWarning(List<String> warnings, String warning) {
        String w = warning == null ? "" : warning;
        String lower = w.toLowerCase(Locale.ROOT);
        String entry;
        if (lower.contains("truncat") || lower.contains("premature end") || lower.contains("missing eoi")) {
            entry = "truncated: " + w;
        } else if (lower.contains("corrupt")) {
            entry = "corrupt data: " + w;
        } else {
            return;
        }
        synchronized (warnings) {
            if (!warnings.contains(entry)) {
                warnings.add(entry);
            }
        }
    }

    private static ImageDecodeException corrupt(String file, String what, Throwable cause) {
        return new ImageDecodeException(file, Reason.CORRUPT, what + "; the file is damaged or not what its "
                + "contents claim: " + WHAT_TO_DO + " (or remove it from the set)", cause);
    }
}
