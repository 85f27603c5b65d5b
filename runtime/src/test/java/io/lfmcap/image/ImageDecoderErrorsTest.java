package io.lfmcap.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.engine.CaptionException;
import io.lfmcap.engine.ErrorClass;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/** Every bad input becomes a typed {@link CaptionException} naming the input; nothing else escapes. */
class ImageDecoderErrorsTest {
    private final ImageDecoder decoder = new ImageDecoder();

    @Test
    void emptyBytesAreEmptyInput() {
        CaptionException e = assertThrows(CaptionException.class, () -> decoder.decode(new byte[0], "row-7"));
        assertEquals(ErrorClass.EMPTY_INPUT, e.errorClass());
        assertEquals("row-7", e.input());
    }

    @Test
    void textFileIsUnsupportedAndSaysItIsText() {
        byte[] text = "hello, this is a caption file\nnot an image\n".getBytes(StandardCharsets.UTF_8);
        CaptionException e = assertThrows(CaptionException.class, () -> decoder.decode(text, "notes.jpg"));
        assertEquals(ErrorClass.UNSUPPORTED_FORMAT, e.errorClass());
        assertTrue(e.getMessage().startsWith("notes.jpg: text, not an image (starts \"hello, this is a caption\")"), e.getMessage());
    }

    @Test
    void randomBytesAreUnsupportedWithTheirFirstBytes() {
        byte[] noise = new byte[1000];
        new Random(3).nextBytes(noise);
        noise[0] = 0x00;
        noise[1] = (byte) 0x9C;
        CaptionException e = assertThrows(CaptionException.class, () -> decoder.decode(noise, "blob"));
        assertEquals(ErrorClass.UNSUPPORTED_FORMAT, e.errorClass());
        assertTrue(e.getMessage().contains("unrecognised data (first bytes 00 9C"), e.getMessage());
    }

    @Test
    void tiffIsUnsupportedAndNamed() {
        byte[] tiff = {'I', 'I', 0x2A, 0x00, 8, 0, 0, 0, 0, 0};
        CaptionException e = assertThrows(CaptionException.class, () -> decoder.decode(tiff, "scan.tif"));
        assertEquals(ErrorClass.UNSUPPORTED_FORMAT, e.errorClass());
        assertTrue(e.getMessage().contains("TIFF data (magic 49 49 2A 00)"), e.getMessage());
        assertTrue(e.getMessage().contains("supported formats are JPEG, PNG, GIF, BMP and WebP"), e.getMessage());
    }

    @Test
    void truncatedJpegIsADecodeErrorAsInPil() {
        byte[] jpeg = Fixtures.bytes("plain.jpg");
        for (int cut : new int[] {2, 20, jpeg.length / 2}) {
            byte[] truncated = Arrays.copyOf(jpeg, jpeg.length - cut);
            CaptionException e = assertThrows(CaptionException.class, () -> decoder.decode(truncated, "cut.jpg"), "cut " + cut);
            assertEquals(ErrorClass.DECODE_ERROR, e.errorClass());
            assertTrue(e.getMessage().contains("JPEG data is truncated"), e.getMessage());
        }
    }

    @Test
    void jpegWithoutFrameHeaderIsADecodeError() {
        byte[] bytes = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xDA, 0, 2, 1, 2, 3, (byte) 0xFF, (byte) 0xD9};
        CaptionException e = assertThrows(CaptionException.class, () -> decoder.decode(bytes, "x.jpg"));
        assertEquals(ErrorClass.DECODE_ERROR, e.errorClass());
        assertTrue(e.getMessage().contains("no frame header"), e.getMessage());
    }

    @Test
    void pngCutInsideItsDataIsADecodeError() {
        byte[] png = Fixtures.bytes("rgb16.png");
        CaptionException e = assertThrows(CaptionException.class, () -> decoder.decode(Arrays.copyOf(png, png.length / 2), "half.png"));
        assertEquals(ErrorClass.DECODE_ERROR, e.errorClass());
        assertTrue(e.getMessage().contains("PNG data is truncated"), e.getMessage());
    }

    @Test
    void pngMissingOnlyTheEndChunkCrcStillDecodesAsInPil() {
        byte[] png = Fixtures.bytes("rgb16.png");
        RgbImage image = decoder.decode(Arrays.copyOf(png, png.length - 2), "short-iend.png");
        assertEquals(64, image.width());
    }

    @Test
    void gifCutInsideTheFirstFrameIsADecodeError() {
        byte[] gif = Fixtures.bytes("palette.gif");
        CaptionException e = assertThrows(CaptionException.class, () -> decoder.decode(Arrays.copyOf(gif, gif.length - 40), "cut.gif"));
        assertEquals(ErrorClass.DECODE_ERROR, e.errorClass());
    }

    @Test
    void webpShorterThanItsRiffHeaderIsADecodeError() {
        byte[] webp = Fixtures.bytes("lossless.webp");
        CaptionException e = assertThrows(CaptionException.class, () -> decoder.decode(Arrays.copyOf(webp, webp.length - 2), "cut.webp"));
        assertEquals(ErrorClass.DECODE_ERROR, e.errorClass());
        assertTrue(e.getMessage().contains("WebP data is truncated"), e.getMessage());
    }

    @Test
    void bmpCutShortIsADecodeError() {
        byte[] bmp = Fixtures.bytes("rgb555.bmp");
        CaptionException e = assertThrows(CaptionException.class, () -> decoder.decode(Arrays.copyOf(bmp, bmp.length - 100), "cut.bmp"));
        assertEquals(ErrorClass.DECODE_ERROR, e.errorClass());
    }

    @Test
    void decompressionBombIsRefusedFromItsHeaderWithoutAllocatingTheRaster() {
        byte[] bomb = pngHeaderOnly(30000, 30000);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        CaptionException e = assertThrows(CaptionException.class, () -> decoder.decode(bomb, "bomb.png"));
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertEquals(ErrorClass.TOO_LARGE, e.errorClass());
        assertTrue(e.getMessage().contains("30000x30000 = 900,000,000 pixels, above the limit of 50,000,000"), e.getMessage());
        assertTrue(e.getMessage().contains(ImageDecoder.MAX_PIXELS_PROPERTY), e.getMessage());
        assertTrue(allocated < 16L << 20, "allocated " + allocated + " bytes"); // a decoded raster would be 2.7 GB
    }

    @Test
    void pixelLimitIsConfigurable() {
        byte[] png = Fixtures.bytes("rgb16.png"); // 64x48 = 3072 pixels
        CaptionException e = assertThrows(CaptionException.class, () -> new ImageDecoder(3000, 1 << 20).decode(png, "small.png"));
        assertEquals(ErrorClass.TOO_LARGE, e.errorClass());
        assertEquals(64, new ImageDecoder(3072, 1 << 20).decode(png, "small.png").width());
    }

    @Test
    void fileAboveTheByteLimitIsTooLarge() {
        byte[] png = Fixtures.bytes("rgb16.png");
        CaptionException e = assertThrows(CaptionException.class, () -> new ImageDecoder(1_000_000, 1000).decode(png, "big.png"));
        assertEquals(ErrorClass.TOO_LARGE, e.errorClass());
        assertTrue(e.getMessage().contains("above the limit of 1,000"), e.getMessage());
    }

    @Test
    void limitsOutsideTheirRangeAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new ImageDecoder(0, 100));
        assertThrows(IllegalArgumentException.class, () -> new ImageDecoder(ImageDecoder.HARD_MAX_PIXELS + 1, 100));
        assertThrows(IllegalArgumentException.class, () -> new ImageDecoder(100, 0));
    }

    /** A well-formed PNG (valid IHDR and CRCs) declaring {@code w x h} RGB with a token IDAT. */
    static byte[] pngHeaderOnly(int w, int h) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0).array());
        chunk(out, "IDAT", new byte[] {0x78, (byte) 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(typeBytes);
        out.writeBytes(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
