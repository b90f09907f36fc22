/**
 * Image bytes to oriented 8-bit RGB ({@link org.transfer4j.backbone.image.RgbImage}), matching PIL's
 * {@code Image.open(...).convert("RGB")}: ImageIO first, EXIF orientation applied, CMYK/YCCK converted, a pixel
 * limit enforced from the header before any large allocation.
 */
package org.transfer4j.backbone.image;
