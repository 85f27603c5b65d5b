package io.lfmcap.image;

/**
 * Walks a WebP RIFF container: the canvas size, the EXIF chunk's orientation, and whether the file
 * holds as many bytes as its RIFF header declares (libwebp, hence PIL, refuses shorter files; the
 * TwelveMonkeys reader would decode some of them).
 */
final class WebpStructure {
    private static final int VP8X = fourCc("VP8X"), VP8 = fourCc("VP8 "), VP8L = fourCc("VP8L"), EXIF = fourCc("EXIF");

    private WebpStructure() {}

    static ContainerInfo inspect(byte[] b) throws CorruptImageException {
        int n = b.length;
        long riffEnd = 8 + (readIntLe(b, 4) & 0xffffffffL);
        if (riffEnd > n) throw new CorruptImageException("WebP data is truncated: the RIFF header declares " + riffEnd
                + " bytes, the file has " + n + "; PIL (libwebp) refuses it too");
        int width = 0, height = 0, orientation = 1;
        int pos = 12;
        while (pos + 8 <= riffEnd) {
            int type = readIntLe(b, pos);
            long size = readIntLe(b, pos + 4) & 0xffffffffL;
            int data = pos + 8;
            long end = data + size;
            if (end > riffEnd) throw new CorruptImageException("WebP chunk extends past the end of the RIFF container");
            if (type == VP8X && size >= 10) {
                width = 1 + u24le(b, data + 4);
                height = 1 + u24le(b, data + 7);
            } else if (type == VP8 && size >= 10 && width == 0) {
                width = u16le(b, data + 6) & 0x3fff;
                height = u16le(b, data + 8) & 0x3fff;
            } else if (type == VP8L && size >= 5 && width == 0) {
                int bits = readIntLe(b, data + 1);
                width = 1 + (bits & 0x3fff);
                height = 1 + ((bits >>> 14) & 0x3fff);
            } else if (type == EXIF) {
                int start = data;
                if (ImageFormat.startsWith(b, start, 'E', 'x', 'i', 'f', 0, 0)) start += 6;
                orientation = ExifOrientation.read(b, start, (int) end);
            }
            pos = (int) (end + (size & 1)); // chunks are padded to even sizes
        }
        if (width == 0 || height == 0) throw new CorruptImageException("WebP has no image chunk (VP8, VP8L or VP8X)");
        return ContainerInfo.of(width, height, orientation);
    }

    private static int fourCc(String s) {
        return s.charAt(0) | s.charAt(1) << 8 | s.charAt(2) << 16 | s.charAt(3) << 24;
    }

    private static int readIntLe(byte[] b, int i) {
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24;
    }

    private static int u24le(byte[] b, int i) { return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16; }

    private static int u16le(byte[] b, int i) { return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8; }
}
