package io.lfmcap.image;

/**
 * Walks a JPEG's marker segments without decoding pixels: frame size, the facts libjpeg uses to pick a
 * color space (JFIF / Adobe APP14 markers, component ids), the first Exif APP1 orientation, and whether
 * the stream reaches its end-of-image marker.
 *
 * <p>Truncation: ImageIO decodes a truncated JPEG to a partly grey image with only a warning; PIL
 * raises "image file is truncated" (LOAD_TRUNCATED_IMAGES is off by default). We refuse any JPEG
 * whose entropy-coded data does not reach an EOI marker, as PIL does (checked against Pillow on files
 * cut 2, 20 and half their bytes, baseline and progressive).
 */
final class JpegStructure {
    private static final int SOS = 0xDA, EOI = 0xD9, APP0 = 0xE0, APP1 = 0xE1, APP14 = 0xEE;

    private JpegStructure() {}

    static ContainerInfo inspect(byte[] b) throws CorruptImageException {
        int n = b.length;
        int pos = 2;
        boolean jfif = false;
        int adobeTransform = -1;
        int[] componentIds = null;
        int width = 0, height = 0, orientation = 1;
        boolean exifSeen = false;

        // Header segments up to the first start-of-scan.
        while (true) {
            while (pos < n && (b[pos] & 0xff) != 0xFF) pos++; // junk between segments, skipped as PIL does
            while (pos < n && (b[pos] & 0xff) == 0xFF) pos++; // fill bytes
            if (pos >= n) throw truncated("in the headers, before any image data");
            int marker = b[pos++] & 0xff;
            if (marker == EOI) throw new CorruptImageException("JPEG ends (EOI marker) before any image data");
            if (marker == 0x00 || hasNoPayload(marker)) continue; // escaped 0xFF junk, SOI, RSTn
            if (pos + 2 > n) throw truncated("inside a marker segment");
            int length = u16(b, pos);
            int payload = pos + 2, end = pos + length, dataLength = length - 2;
            if (length < 2) throw new CorruptImageException("JPEG marker segment has an invalid length " + length);
            if (end > n) throw truncated("inside a marker segment");
            if (isStartOfFrame(marker) && componentIds == null) {
                if (dataLength < 6) throw new CorruptImageException("JPEG frame header is too short");
                height = u16(b, payload + 1);
                width = u16(b, payload + 3);
                int components = b[payload + 5] & 0xff;
                if (dataLength < 6 + 3 * components) throw new CorruptImageException("JPEG frame header is too short for " + components + " components");
                componentIds = new int[components];
                for (int c = 0; c < components; c++) componentIds[c] = b[payload + 6 + 3 * c] & 0xff;
            } else if (marker == APP0 && dataLength >= 14 && ImageFormat.startsWith(b, payload, 'J', 'F', 'I', 'F', 0)) {
                jfif = true; // libjpeg examine_app0 (APP0_DATA_LEN = 14)
            } else if (marker == APP14 && dataLength >= 12 && ImageFormat.startsWith(b, payload, 'A', 'd', 'o', 'b', 'e')) {
                adobeTransform = b[payload + 11] & 0xff; // libjpeg examine_app14, last marker wins
            } else if (marker == APP1 && !exifSeen && ImageFormat.startsWith(b, payload, 'E', 'x', 'i', 'f', 0, 0)) {
                exifSeen = true; // PIL keeps the first Exif segment only
                orientation = ExifOrientation.read(b, payload + 6, end);
            }
            pos = end;
            if (marker == SOS) break;
        }
        if (componentIds == null) throw new CorruptImageException("JPEG has no frame header (SOF) before its image data");
        if (width == 0 || height == 0) throw new CorruptImageException("JPEG frame declares an empty size " + width + "x" + height);
        JpegColorSpace colorSpace = JpegColorSpace.guess(componentIds, jfif, adobeTransform);

        // Entropy-coded data, with any further segments between progressive scans, up to EOI.
        while (pos < n) {
            if ((b[pos++] & 0xff) != 0xFF) continue;
            while (pos < n && (b[pos] & 0xff) == 0xFF) pos++;
            if (pos >= n) break;
            int marker = b[pos++] & 0xff;
            if (marker == EOI) return new ContainerInfo(width, height, orientation, colorSpace, false);
            if (marker == 0x00 || hasNoPayload(marker)) continue; // stuffed 0xFF byte or RSTn
            if (pos + 2 > n) break;
            int length = u16(b, pos);
            if (length < 2) throw new CorruptImageException("JPEG marker segment has an invalid length " + length);
            pos += length;
        }
        throw truncated("no end-of-image marker after the image data");
    }

    private static CorruptImageException truncated(String where) {
        return new CorruptImageException("JPEG data is truncated (" + where + "); PIL refuses it too (\"image file is truncated\")");
    }

    /** SOI, EOI, TEM and RSTn carry no length field. */
    private static boolean hasNoPayload(int marker) {
        return marker == 0x01 || (marker >= 0xD0 && marker <= 0xD9);
    }

    /** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
    private static boolean isStartOfFrame(int marker) {
        return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    }

    private static int u16(byte[] b, int i) { return (b[i] & 0xff) << 8 | (b[i + 1] & 0xff); }
}
