package io.lfmcap.image;

import com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream;
import io.lfmcap.engine.CaptionException;
import io.lfmcap.engine.ErrorClass;

import java.io.EOFException;
import java.io.IOException;
import java.util.Locale;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Encoded image bytes to {@link RgbImage}, as transformers' {@code load_image} + Pillow produce them:
 * JPEG (incl. CMYK/YCCK), PNG (1..16 bit, palette, alpha), GIF (first frame), BMP and WebP (lossy,
 * lossless); EXIF orientation applied ({@link ExifOrientation}); alpha dropped and modes converted as
 * Pillow's {@code convert("RGB")} ({@link RgbConversion}, {@link JpegColor}).
 *
 * <p>Safety. The format comes from magic bytes; the container is walked first ({@link JpegStructure},
 * {@link PngStructure}, ...) so truncated files fail as in PIL (GIF is decoded by our own
 * {@link GifFirstFrame}, Pillow's algorithm), and the declared pixel count is checked
 * against {@link #maxPixels()} before any raster is allocated (PIL's {@code MAX_IMAGE_PIXELS} idea,
 * against decompression bombs); the reader's own header size is checked again before reading. Peak
 * memory per decode is the reader's raster plus the RGB copy (plus a rotated copy when EXIF says so):
 * 6 to 14 bytes per pixel, 6 for a plain JPEG, i.e. 300-700 MB at the default 50 megapixel limit. Every failure is a {@link CaptionException} of class
 * EMPTY_INPUT, TOO_LARGE, UNSUPPORTED_FORMAT or DECODE_ERROR naming the input.
 *
 * <p>Thread-safe: immutable; each call uses its own ImageIO reader.
 *
 * <p>Known differences from Pillow: lossy WebP (TwelveMonkeys' VP8 decoder is not libwebp: mean
 * absolute difference 4-8 levels on our test images, up to ~90 at sharp chroma edges); XMP-only
 * orientation is ignored.
 */
public final class ImageDecoder {
    /** System property overriding {@link #DEFAULT_MAX_PIXELS} for {@link #ImageDecoder()}. */
    public static final String MAX_PIXELS_PROPERTY = "lfmcap.image.maxPixels";
    /** System property overriding {@link #DEFAULT_MAX_BYTES} for {@link #ImageDecoder()}. */
    public static final String MAX_BYTES_PROPERTY = "lfmcap.image.maxBytes";
    public static final long DEFAULT_MAX_PIXELS = 50_000_000L;
    public static final long DEFAULT_MAX_BYTES = 100L << 20;
    /** Upper bound for any limit: a 4-byte-per-pixel raster must fit one Java array. */
    public static final long HARD_MAX_PIXELS = (Integer.MAX_VALUE - 8) / 4;

    private final long maxPixels;
    private final long maxBytes;

    /** Limits from the system properties {@value #MAX_PIXELS_PROPERTY} and {@value #MAX_BYTES_PROPERTY}, else the defaults. */
    public ImageDecoder() {
        this(Long.getLong(MAX_PIXELS_PROPERTY, DEFAULT_MAX_PIXELS), Long.getLong(MAX_BYTES_PROPERTY, DEFAULT_MAX_BYTES));
    }

    /**
     * @param maxPixels largest accepted width*height (1..{@link #HARD_MAX_PIXELS})
     * @param maxBytes largest accepted encoded size in bytes
     */
    public ImageDecoder(long maxPixels, long maxBytes) {
        if (maxPixels < 1 || maxPixels > HARD_MAX_PIXELS)
            throw new IllegalArgumentException("maxPixels must be in 1.." + HARD_MAX_PIXELS + ", got " + maxPixels);
        if (maxBytes < 1) throw new IllegalArgumentException("maxBytes must be positive, got " + maxBytes);
        this.maxPixels = maxPixels;
        this.maxBytes = maxBytes;
    }

    public long maxPixels() { return maxPixels; }

    public long maxBytes() { return maxBytes; }

    /**
     * Decodes one image.
     *
     * @param bytes the encoded file
     * @param name the input's name for error messages (a path or an id)
     * @throws CaptionException EMPTY_INPUT, TOO_LARGE, UNSUPPORTED_FORMAT or DECODE_ERROR
     */
    public RgbImage decode(byte[] bytes, String name) {
        if (bytes == null || bytes.length == 0)
            throw new CaptionException(ErrorClass.EMPTY_INPUT, name, "the image has no bytes (empty file or empty column value)");
        if (bytes.length > maxBytes)
            throw new CaptionException(ErrorClass.TOO_LARGE, name, String.format(Locale.ROOT,
                    "the image file has %,d bytes, above the limit of %,d; raise it (ImageDecoder maxBytes, system property %s) if such files are expected",
                    bytes.length, maxBytes, MAX_BYTES_PROPERTY));
        ImageFormat format = ImageFormat.sniff(bytes);
        if (format == null)
            throw new CaptionException(ErrorClass.UNSUPPORTED_FORMAT, name,
                    ImageFormat.describeUnsupported(bytes) + "; supported formats are JPEG, PNG, GIF, BMP and WebP");
        try {
            if (format == ImageFormat.GIF) {
                GifFirstFrame frame = GifFirstFrame.parse(bytes);
                checkPixels(format, frame.width(), frame.height(), name);
                return frame.decode(bytes);
            }
            ContainerInfo info = switch (format) {
                case JPEG -> JpegStructure.inspect(bytes);
                case PNG -> PngStructure.inspect(bytes);
                case BMP -> BmpStructure.inspect(bytes);
                default -> WebpStructure.inspect(bytes);
            };
            checkPixels(format, info.width(), info.height(), name);
            RgbImage image = decodePixels(format, bytes, info, name);
            return ExifOrientation.apply(image, info.orientation());
        } catch (CaptionException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            String detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            String message = e instanceof CorruptImageException ? detail
                    : e instanceof EOFException ? format.displayName() + " data is truncated (the decoder ran out of bytes)"
                    : "cannot decode " + format.displayName() + " data: " + detail;
            throw new CaptionException(ErrorClass.DECODE_ERROR, name, message, e);
        }
    }

    private RgbImage decodePixels(ImageFormat format, byte[] bytes, ContainerInfo info, String name) throws IOException {
        ImageReader reader = ImageReaders.create(format);
        try (ImageInputStream in = new ByteArrayImageInputStream(bytes)) {
            reader.setInput(in, true, true);
            checkPixels(format, reader.getWidth(0), reader.getHeight(0), name);
            if (format == ImageFormat.JPEG) return JpegColor.toRgb(reader.readRaster(0, null), info.jpegColorSpace());
            return RgbConversion.toRgb(reader.read(0, null), info.sixteenBitGray());
        } finally {
            reader.dispose();
        }
    }

    private void checkPixels(ImageFormat format, int width, int height, String name) {
        long pixels = (long) width * height;
        if (width <= 0 || height <= 0)
            throw new CaptionException(ErrorClass.DECODE_ERROR, name, format.displayName() + " declares an invalid size " + width + "x" + height);
        if (pixels > maxPixels)
            throw new CaptionException(ErrorClass.TOO_LARGE, name, String.format(Locale.ROOT,
                    "%s declares %dx%d = %,d pixels, above the limit of %,d (a guard against decompression bombs, like PIL's MAX_IMAGE_PIXELS); "
                            + "raise it (ImageDecoder maxPixels, system property %s) if such images are expected",
                    format.displayName(), width, height, pixels, maxPixels, MAX_PIXELS_PROPERTY));
    }
}
