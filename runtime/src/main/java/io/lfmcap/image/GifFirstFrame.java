package io.lfmcap.image;

/**
 * The first frame of a GIF, decoded as Pillow decodes it (GifImagePlugin + libImaging/GifDecode.c) and
 * converted to RGB through its palette.
 *
 * <p>Our own decoder rather than ImageIO's: the JDK GIF reader loses rows of interlaced images only 2
 * or 3 rows high, fills frames whose LZW data ends early with index 0 without error, and returns the
 * frame instead of the logical screen. Pillow's behaviour, reproduced here: the canvas is the logical
 * screen, grown to hold the frame; pixels outside the frame hold index 0, or the frame's transparent
 * index when its graphic control extension sets one; the palette is the local one, else the global
 * one, and indices past its end map to gray i (Pillow's palette starts as a gray ramp); without any
 * palette indices are gray levels (mode L); transparency never changes colors ({@code convert("RGB")}).
 * The LZW stream is Pillow's: code size grows when the next code reaches the mask, at most 12 bits, a
 * full table stops adding entries. Decoding stops at the frame's last row, so a file missing only its
 * terminator or trailer is fine, while data (whole sub-blocks) that ends before the last row is
 * refused, as Pillow refuses it ("image file is truncated"); so is a broken code.
 */
final class GifFirstFrame {
    private static final int MAX_CODES = 4096, MAX_BITS = 12;

    private final int canvasWidth, canvasHeight, x0, y0, width, height;
    private final boolean interlaced;
    private final int[] palette; // 256 RGB entries
    private final int background; // index outside the frame
    private final int minCodeSize, dataStart;

    private GifFirstFrame(int canvasWidth, int canvasHeight, int x0, int y0, int width, int height, boolean interlaced,
                          int[] palette, int background, int minCodeSize, int dataStart) {
        this.canvasWidth = canvasWidth;
        this.canvasHeight = canvasHeight;
        this.x0 = x0;
        this.y0 = y0;
        this.width = width;
        this.height = height;
        this.interlaced = interlaced;
        this.palette = palette;
        this.background = background;
        this.minCodeSize = minCodeSize;
        this.dataStart = dataStart;
    }

    /** Reads the blocks up to the first frame's image data. */
    static GifFirstFrame parse(byte[] b) throws CorruptImageException {
        int n = b.length;
        if (n < 13) throw truncated();
        int screenWidth = u16le(b, 6), screenHeight = u16le(b, 8);
        int flags = b[10] & 0xff;
        int[] palette = grayRamp();
        int pos = 13;
        boolean globalPalette = (flags & 0x80) != 0;
        if (globalPalette) pos = readPalette(b, pos, 2 << (flags & 7), palette);
        int transparent = -1;
        while (true) {
            if (pos >= n) throw truncated();
            int block = b[pos] & 0xff;
            if (block == 0x21) { // extension: label, data sub-blocks
                if (pos + 1 >= n) throw truncated();
                int label = b[pos + 1] & 0xff;
                if (label == 0xF9 && pos + 6 < n && (b[pos + 2] & 0xff) >= 4 && (b[pos + 3] & 1) != 0) transparent = b[pos + 6] & 0xff;
                pos = skipSubBlocks(b, pos + 2);
            } else if (block == 0x2C) { // image descriptor
                if (pos + 10 > n) throw truncated();
                int x0 = u16le(b, pos + 1), y0 = u16le(b, pos + 3), w = u16le(b, pos + 5), h = u16le(b, pos + 7);
                int localFlags = b[pos + 9] & 0xff;
                pos += 10;
                if ((localFlags & 0x80) != 0) {
                    palette = grayRamp();
                    pos = readPalette(b, pos, 2 << (localFlags & 7), palette);
                } else if (!globalPalette) {
                    palette = grayRamp();
                }
                if (pos >= n) throw truncated();
                int minCodeSize = b[pos] & 0xff;
                if (w == 0 || h == 0) throw new CorruptImageException("GIF frame has an empty size " + w + "x" + h);
                int canvasWidth = Math.max(screenWidth, x0 + w), canvasHeight = Math.max(screenHeight, y0 + h);
                return new GifFirstFrame(canvasWidth, canvasHeight, x0, y0, w, h, (localFlags & 0x40) != 0, palette,
                        transparent >= 0 ? transparent : 0, minCodeSize, pos + 1);
            } else if (block == 0x3B) {
                throw new CorruptImageException("GIF contains no image (trailer before the first frame)");
            } else {
                throw new CorruptImageException(String.format("GIF has an unknown block type 0x%02X", block));
            }
        }
    }

    /** Width of the decoded image: the logical screen, grown to hold the frame. */
    int width() { return canvasWidth; }

    int height() { return canvasHeight; }

    /** Decodes the frame's LZW data into the canvas and maps it through the palette. */
    RgbImage decode(byte[] b) throws CorruptImageException {
        if (minCodeSize > MAX_BITS) throw new CorruptImageException("GIF has an invalid LZW code size " + minCodeSize);
        byte[] indices = new byte[Math.multiplyExact(canvasWidth, canvasHeight)];
        if (background != 0) java.util.Arrays.fill(indices, (byte) background);
        new Lzw(b).decodeInto(indices);
        byte[] rgb = new byte[Math.multiplyExact(indices.length, 3)];
        for (int i = 0, o = 0; i < indices.length; i++) {
            int c = palette[indices[i] & 0xff];
            rgb[o++] = (byte) (c >> 16);
            rgb[o++] = (byte) (c >> 8);
            rgb[o++] = (byte) c;
        }
        return new RgbImage(canvasWidth, canvasHeight, rgb);
    }

    /** GifDecode.c: an LZW decoder over the data sub-blocks writing rows in (interlaced) order. */
    private final class Lzw {
        private final byte[] in;
        private int pos, blockLeft, bitBuffer, bitCount;
        private int x, y, step, pass;

        Lzw(byte[] in) {
            this.in = in;
            this.pos = dataStart;
            this.step = interlaced ? 8 : 1;
            this.pass = interlaced ? 1 : 0;
        }

        void decodeInto(byte[] canvas) throws CorruptImageException {
            int clear = 1 << minCodeSize, end = clear + 1;
            int[] link = new int[MAX_CODES];
            byte[] suffix = new byte[MAX_CODES];
            byte[] string = new byte[MAX_CODES];
            int next = 0, codeSize = 0, codeMask = 0, lastCode = 0, lastData = 0;
            boolean afterClear = true, reset = true;
            while (true) {
                if (reset) {
                    next = clear + 2;
                    codeSize = minCodeSize + 1;
                    codeMask = (1 << codeSize) - 1;
                    afterClear = true;
                    reset = false;
                }
                int c = readCode(codeSize, codeMask);
                if (c == clear) {
                    reset = !afterClear;
                    continue;
                }
                if (c == end) throw endsEarly();
                int length;
                if (afterClear) { // first code after a clear is a literal
                    if (c > clear) throw broken();
                    lastData = lastCode = c;
                    afterClear = false;
                    string[0] = (byte) c;
                    length = 1;
                } else {
                    int thisCode = c;
                    if (c > next) throw broken();
                    int tail = MAX_CODES; // string is built right to left in string[tail..MAX_CODES)
                    if (c == next) {
                        string[--tail] = (byte) lastData;
                        c = lastCode;
                    }
                    while (c >= clear) {
                        if (tail <= 1 || c >= MAX_CODES) throw broken();
                        string[--tail] = suffix[c];
                        c = link[c];
                    }
                    lastData = c;
                    string[--tail] = (byte) c;
                    length = MAX_CODES - tail;
                    System.arraycopy(string, tail, string, 0, length);
                    if (next < MAX_CODES) {
                        suffix[next] = (byte) c;
                        link[next] = lastCode;
                        if (next == codeMask && codeSize < MAX_BITS) {
                            codeSize++;
                            codeMask = (1 << codeSize) - 1;
                        }
                        next++;
                    }
                    lastCode = thisCode;
                }
                for (int i = 0; i < length; i++) {
                    canvas[(y0 + y) * canvasWidth + x0 + x] = string[i];
                    if (++x >= width && !newLine()) return;
                }
            }
        }

        /** Pillow's NEWLINE: next row of the current pass, then the next pass; false when the frame is complete. */
        private boolean newLine() {
            x = 0;
            y += step;
            while (y >= height) {
                switch (pass) {
                    case 1 -> { y = 4; pass = 2; }
                    case 2 -> { step = 4; y = 2; pass = 3; }
                    case 3 -> { step = 2; y = 1; pass = 0; }
                    default -> { return false; }
                }
            }
            return true;
        }

        private int readCode(int codeSize, int codeMask) throws CorruptImageException {
            while (bitCount < codeSize) {
                if (blockLeft > 0) {
                    bitBuffer |= (in[pos++] & 0xff) << bitCount;
                    bitCount += 8;
                    blockLeft--;
                } else { // like Pillow, only whole sub-blocks are decoded
                    int size = pos < in.length ? in[pos] & 0xff : 0;
                    if (size == 0 || pos + 1 + size > in.length) throw endsEarly();
                    pos++;
                    blockLeft = size;
                }
            }
            int c = bitBuffer & codeMask;
            bitBuffer >>>= codeSize;
            bitCount -= codeSize;
            return c;
        }
    }

    private static int[] grayRamp() {
        int[] p = new int[256];
        for (int i = 0; i < 256; i++) p[i] = i << 16 | i << 8 | i;
        return p;
    }

    private static int readPalette(byte[] b, int pos, int entries, int[] palette) throws CorruptImageException {
        if (pos + 3 * entries > b.length) throw truncated();
        for (int i = 0; i < entries; i++, pos += 3)
            palette[i] = (b[pos] & 0xff) << 16 | (b[pos + 1] & 0xff) << 8 | (b[pos + 2] & 0xff);
        return pos;
    }

    /** Position after the empty block that ends a chain of data sub-blocks starting at {@code pos}. */
    private static int skipSubBlocks(byte[] b, int pos) throws CorruptImageException {
        while (true) {
            if (pos >= b.length) throw truncated();
            int size = b[pos] & 0xff;
            pos += 1 + size;
            if (size == 0) return pos;
        }
    }

    private static CorruptImageException truncated() {
        return new CorruptImageException("GIF data is truncated (first frame incomplete); PIL refuses it too (\"image file is truncated\")");
    }

    private static CorruptImageException endsEarly() {
        return new CorruptImageException("GIF image data ends before the frame's last row; PIL refuses it too (\"image file is truncated\")");
    }

    private static CorruptImageException broken() {
        return new CorruptImageException("GIF image data is broken (invalid LZW code); PIL refuses it too (\"broken data stream\")");
    }

    private static int u16le(byte[] b, int i) { return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8; }
}
