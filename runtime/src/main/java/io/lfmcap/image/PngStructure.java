package io.lfmcap.image;

/**
 * Walks a PNG's chunks without inflating pixels: the IHDR size and format, the first {@code eXIf}
 * orientation, and whether the image data is complete.
 *
 * <p>Truncation, matched to Pillow, which reads the data of every chunk before and after the image
 * data (PngImageFile.load_end): a file that ends inside any chunk's data, or before any IDAT, is
 * refused ("image file is truncated" / "Truncated File Read"); a file that ends inside a chunk's CRC
 * or chunk header after the image data (e.g. a cut IEND) is accepted. ImageIO alone would accept a
 * file cut anywhere after the last pixel row.
 */
final class PngStructure {
    private static final int IHDR = 0x49484452, IDAT = 0x49444154, IEND = 0x49454E44, EXIF = 0x65584966;

    private PngStructure() {}

    static ContainerInfo inspect(byte[] b) throws CorruptImageException {
        int n = b.length;
        if (n < 33 || readInt(b, 12) != IHDR || readInt(b, 8) != 13) throw new CorruptImageException("PNG does not start with a valid IHDR chunk");
        long width = readInt(b, 16) & 0xffffffffL, height = readInt(b, 20) & 0xffffffffL;
        int bitDepth = b[24] & 0xff, colorType = b[25] & 0xff;
        if (width == 0 || height == 0 || width > Integer.MAX_VALUE || height > Integer.MAX_VALUE)
            throw new CorruptImageException("PNG declares an invalid size " + width + "x" + height);
        int orientation = 1;
        boolean exifSeen = false, idatSeen = false;
        int pos = 8;
        while (pos + 8 <= n) {
            long length = readInt(b, pos) & 0xffffffffL;
            int type = readInt(b, pos + 4);
            long dataEnd = pos + 8L + length;
            if (dataEnd > n) throw truncated();
            if (type == IDAT) idatSeen = true;
            else if (type == EXIF && !exifSeen) {
                exifSeen = true;
                int data = pos + 8;
                if (ImageFormat.startsWith(b, data, 'E', 'x', 'i', 'f', 0, 0)) data += 6;
                orientation = ExifOrientation.read(b, data, (int) dataEnd);
            } else if (type == IEND) break;
            if (dataEnd + 4 > n) break; // CRC cut short: Pillow ignores it
            pos = (int) dataEnd + 4;
        }
        if (!idatSeen) throw truncated();
        return new ContainerInfo((int) width, (int) height, orientation, null, colorType == 0 && bitDepth == 16);
    }

    private static CorruptImageException truncated() {
        return new CorruptImageException("PNG data is truncated (a chunk is cut short, or no image data); PIL refuses it too (\"image file is truncated\")");
    }

    private static int readInt(byte[] b, int i) {
        return (b[i] & 0xff) << 24 | (b[i + 1] & 0xff) << 16 | (b[i + 2] & 0xff) << 8 | (b[i + 3] & 0xff);
    }
}
