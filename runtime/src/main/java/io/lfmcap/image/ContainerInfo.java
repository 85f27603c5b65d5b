package io.lfmcap.image;

/**
 * What {@link ImageDecoder} learns from a file's container structure before any pixel is decoded.
 *
 * @param width declared width (for the size limit; the reader's own value is checked again)
 * @param height declared height
 * @param orientation EXIF orientation 1..8 (1 = none), applied after decoding as PIL's
 *     {@code ImageOps.exif_transpose} does
 * @param jpegColorSpace how libjpeg interprets the JPEG components (null for other formats)
 * @param sixteenBitGray a 16-bit grayscale PNG: PIL opens it as mode {@code I;16} and clips values
 *     above 255 when converting to RGB (instead of taking the high byte)
 */
record ContainerInfo(int width, int height, int orientation, JpegColorSpace jpegColorSpace, boolean sixteenBitGray) {

    static ContainerInfo of(int width, int height, int orientation) {
        return new ContainerInfo(width, height, orientation, null, false);
    }
}
