package io.lfmcap.image;

/** Reads a BMP's declared size from its info header (truncated pixel data is caught by the reader). */
final class BmpStructure {
    private BmpStructure() {}

    static ContainerInfo inspect(byte[] b) throws CorruptImageException {
        int headerSize = readIntLe(b, 14);
        long width, height;
        if (headerSize == 12) { // OS/2 BITMAPCOREHEADER: unsigned 16-bit size
            width = (b[18] & 0xff) | (b[19] & 0xff) << 8;
            height = (b[20] & 0xff) | (b[21] & 0xff) << 8;
        } else if (headerSize >= 40) { // BITMAPINFOHEADER and later: signed, negative height = top-down
            width = Math.abs((long) readIntLe(b, 18));
            height = Math.abs((long) readIntLe(b, 22));
        } else {
            throw new CorruptImageException("BMP has an unknown info header size " + headerSize);
        }
        if (width == 0 || height == 0 || width > Integer.MAX_VALUE || height > Integer.MAX_VALUE)
            throw new CorruptImageException("BMP declares an invalid size " + width + "x" + height);
        return ContainerInfo.of((int) width, (int) height, 1);
    }

    private static int readIntLe(byte[] b, int i) {
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24;
    }
}
