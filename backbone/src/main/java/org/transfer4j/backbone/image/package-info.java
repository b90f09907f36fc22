/**
 * API. Image bytes to oriented 8-bit RGB ({@link org.transfer4j.backbone.image.RgbImage}), matching PIL's
 * {@code Image.open(...).convert("RGB")}: {@link org.transfer4j.backbone.image.ImageDecoder} reads JPEG components
 * raw and applies libjpeg's colour transforms (YCbCr and RGB ignoring ICC profiles, as PIL does), takes CMYK/YCCK
 * through a CMYK colour profile to sRGB (where PIL's formula would be visibly off), converts gray/palette/16-bit/alpha
 * images with Pillow's rules, applies EXIF orientation, and enforces a pixel limit from the
 * header before any large allocation. Failures are {@link org.transfer4j.backbone.image.ImageDecodeException}s with a
 * stable reason. The package-private header readers ({@code JpegHeader}, {@code PngHeader}, {@code GifHeader})
 * validate structure cheaply so that corrupt files are refused before a decoder spends memory or time on them.
 */
package org.transfer4j.backbone.image;
