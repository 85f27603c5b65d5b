package io.lfmcap.image;

/**
 * A decoded image: 8-bit RGB, interleaved, row-major ({@code pixels[(y*width + x)*3 + c]}), after EXIF
 * orientation and alpha compositing. The common currency between decoding and preprocessing. Its pixels are
 * shared, not copied (a same-size resize returns the image itself): do not modify them.
 */
public record RgbImage(int width, int height, byte[] pixels) {
    public RgbImage {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image size must be positive: " + width + "x" + height);
        if (pixels.length != (long) width * height * 3)
            throw new IllegalArgumentException("pixel buffer holds " + pixels.length + " bytes, " + width + "x" + height + " RGB needs " + (long) width * height * 3);
    }

    /** Channel value 0..255 at (x, y, c). */
    public int get(int x, int y, int c) { return pixels[(y * width + x) * 3 + c] & 0xff; }
}
