package io.lfmcap.image;

/**
 * EXIF orientation (TIFF tag 0x0112 in IFD0), read from the bytes of an Exif block and applied the
 * way Pillow's {@code ImageOps.exif_transpose} applies it: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180,
 * 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90; any other value is ignored.
 *
 * <p>Why we apply it: transformers' {@code load_image} (used by {@code Lfm2VlProcessor} for images
 * given as paths, URLs or base64, via {@code fetch_images}) runs {@code exif_transpose} then
 * {@code convert("RGB")}; a caller who opens the file with PIL and passes the object directly gets no
 * transpose. Batch captioning of files corresponds to the first path. XMP-only orientation
 * ({@code tiff:Orientation} without an Exif tag) is not read.
 */
final class ExifOrientation {
    private ExifOrientation() {}

    /** Orientation 1..8 from the TIFF structure in {@code b[start, end)}, or 1 when absent or unreadable. */
    static int read(byte[] b, int start, int end) {
        if (start < 0 || end > b.length || end - start < 8) return 1;
        boolean little;
        if (b[start] == 'I' && b[start + 1] == 'I') little = true;
        else if (b[start] == 'M' && b[start + 1] == 'M') little = false;
        else return 1;
        if (u16(b, start + 2, little) != 42) return 1;
        long ifd = start + (u32(b, start + 4, little) & 0xffffffffL);
        if (ifd + 2 > end) return 1;
        int count = u16(b, (int) ifd, little);
        for (int i = 0; i < count; i++) {
            int entry = (int) ifd + 2 + 12 * i;
            if (entry + 12 > end) return 1;
            if (u16(b, entry, little) != 0x0112) continue;
            int type = u16(b, entry + 2, little);
            int value = switch (type) {
                case 3, 8 -> u16(b, entry + 8, little); // SHORT, SSHORT
                case 4, 9 -> u32(b, entry + 8, little); // LONG, SLONG
                case 1, 6 -> b[entry + 8] & 0xff; // BYTE, SBYTE
                default -> 1;
            };
            return value >= 1 && value <= 8 ? value : 1;
        }
        return 1;
    }

    /** The image as Pillow's exif_transpose leaves it for this orientation. */
    static RgbImage apply(RgbImage in, int orientation) {
        if (orientation <= 1 || orientation > 8) return in;
        int w = in.width(), h = in.height();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w, oh = swap ? w : h;
        byte[] src = in.pixels(), dst = new byte[src.length];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx, sy;
                switch (orientation) {
                    case 2 -> { sx = w - 1 - x; sy = y; }          // FLIP_LEFT_RIGHT
                    case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }  // ROTATE_180
                    case 4 -> { sx = x; sy = h - 1 - y; }          // FLIP_TOP_BOTTOM
                    case 5 -> { sx = y; sy = x; }                  // TRANSPOSE
                    case 6 -> { sx = y; sy = h - 1 - x; }          // ROTATE_270 (90 degrees clockwise)
                    case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }  // TRANSVERSE
                    default -> { sx = w - 1 - y; sy = x; }         // 8: ROTATE_90 (counter-clockwise)
                }
                int s = (sy * w + sx) * 3, d = (y * ow + x) * 3;
                dst[d] = src[s];
                dst[d + 1] = src[s + 1];
                dst[d + 2] = src[s + 2];
            }
        }
        return new RgbImage(ow, oh, dst);
    }

    private static int u16(byte[] b, int i, boolean little) {
        return little ? (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 : (b[i] & 0xff) << 8 | (b[i + 1] & 0xff);
    }

    private static int u32(byte[] b, int i, boolean little) {
        return little
                ? (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24
                : (b[i] & 0xff) << 24 | (b[i + 1] & 0xff) << 16 | (b[i + 2] & 0xff) << 8 | (b[i + 3] & 0xff);
    }
}
