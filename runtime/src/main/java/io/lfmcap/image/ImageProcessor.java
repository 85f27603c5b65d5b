package io.lfmcap.image;

import io.lfmcap.model.ProcessorConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * transformers' {@code Lfm2VlImageProcessor} (5.x, TorchvisionBackend) on one decoded image:
 * smart resize, the "too large" test, tile grid choice, canvas resize + row-major tile crops, thumbnail
 * or single view, then normalisation and patchify (docs/model-lfm2-vl.md sections 2 and 6). Resizes are
 * {@link PilResize} (antialiased bilinear, what torchvision's uint8 path matches). Arithmetic follows
 * HF's Python: doubles, {@code round} half-to-even ({@link Math#rint}), floor/ceil in the same order.
 *
 * <p>One deliberate difference: with {@code min_tiles <= 1} a "too large" image can get a 1x1 grid; HF
 * then emits one {@code tile x tile} view but counts prompt tokens from the smart-resize size (its
 * processor and prompt disagree). We emit the {@code tile x tile} view as a single, untiled view, so
 * views and token count agree. Unreachable with the shipped configs (min_tiles = 2).
 *
 * <p>Immutable and thread-safe.
 */
public final class ImageProcessor {
    private final ProcessorConfig config;
    private final int patch, factor, minTiles, maxTiles;
    private final Patchifier patchifier;

    public ImageProcessor(ProcessorConfig config) {
        if (config.resample() != 2)
            throw new IllegalArgumentException("processor resample=" + config.resample() + " is not supported; only bilinear (2) is implemented");
        if (config.encoderPatchSize() <= 0 || config.downsampleFactor() <= 0 || config.tileSize() <= 0)
            throw new IllegalArgumentException("encoder_patch_size, downsample_factor and tile_size must be positive");
        if (config.tileSize() % (config.encoderPatchSize() * config.downsampleFactor()) != 0)
            throw new IllegalArgumentException("tile_size " + config.tileSize() + " is not a multiple of encoder_patch_size * downsample_factor");
        if (config.doImageSplitting() && config.minTiles() > config.maxTiles())
            throw new IllegalArgumentException("min_tiles must be less than or equal to max_tiles, got " + config.minTiles() + " > " + config.maxTiles());
        if (config.minImageTokens() < 0 || config.maxImageTokens() <= 0)
            throw new IllegalArgumentException("min/max_image_tokens must be non-negative/positive");
        this.config = config;
        this.patch = config.encoderPatchSize();
        this.factor = config.downsampleFactor();
        this.minTiles = config.doImageSplitting() ? config.minTiles() : 1;
        this.maxTiles = config.doImageSplitting() ? config.maxTiles() : 1;
        this.patchifier = new Patchifier(patch, config.imageMean(), config.imageStd(), config.rescaleFactor());
    }

    public ProcessorConfig config() { return config; }

    /** The image's views, normalised and cut into patches, in HF order. */
    public ProcessedImage process(RgbImage image) {
        ImageLayout layout = layout(image.width(), image.height());
        List<PatchGrid> views = new ArrayList<>(layout.numViews());
        if (layout.isTiled()) {
            int tile = layout.tileSize();
            RgbImage canvas = PilResize.resize(image, layout.tileCols() * tile, layout.tileRows() * tile);
            for (int row = 0; row < layout.tileRows(); row++)
                for (int col = 0; col < layout.tileCols(); col++)
                    views.add(patchifier.patchify(crop(canvas, col * tile, row * tile, tile, tile)));
        }
        if (!layout.isTiled() || layout.thumbnail())
            views.add(patchifier.patchify(PilResize.resize(image, layout.resizedWidth(), layout.resizedHeight())));
        return new ProcessedImage(List.copyOf(views), layout.tileRows(), layout.tileCols(), layout.thumbnail(),
                image.width(), image.height(), factor);
    }

    /** HF {@code resize_and_split} geometry for a {@code width x height} image. */
    public ImageLayout layout(int width, int height) {
        int[] resized = smartResize(width, height);
        boolean split = isTooLarge(width, height) && !(minTiles == 1 && maxTiles == 1);
        if (!split) return new ImageLayout(0, 0, config.tileSize(), resized[0], resized[1], false);
        int[] grid = TileGrid.choose(width, height, minTiles, maxTiles, config.tileSize());
        if (grid[0] * grid[1] == 1) return new ImageLayout(0, 0, config.tileSize(), config.tileSize(), config.tileSize(), false);
        return new ImageLayout(grid[0], grid[1], config.tileSize(), resized[0], resized[1], config.useThumbnail());
    }

    /**
     * HF {@code smart_resize}: both sides multiples of patch * factor, pixel count within
     * [min_image_tokens, max_image_tokens] * (patch * factor)^2, aspect ratio kept as well as possible.
     *
     * @return {width, height}
     */
    int[] smartResize(int width, int height) {
        int fac = patch * factor;
        long minPixels = (long) config.minImageTokens() * fac * fac, maxPixels = (long) config.maxImageTokens() * fac * fac;
        long hBar = Math.max(fac, roundByFactor(height, fac)), wBar = Math.max(fac, roundByFactor(width, fac));
        if (hBar * wBar > maxPixels) {
            double beta = Math.sqrt((double) ((long) height * width) / maxPixels);
            hBar = Math.max(fac, (long) Math.floor(height / beta / fac) * fac);
            wBar = Math.max(fac, (long) Math.floor(width / beta / fac) * fac);
        } else if (hBar * wBar < minPixels) {
            double beta = Math.sqrt((double) minPixels / ((long) height * width));
            hBar = (long) Math.ceil(height * beta / fac) * fac;
            wBar = (long) Math.ceil(width * beta / fac) * fac;
        }
        return new int[] {Math.toIntExact(wBar), Math.toIntExact(hBar)};
    }

    /** HF {@code _is_image_too_large}: rounded size (sides at least one patch) above max pixels * tolerance. */
    boolean isTooLarge(int width, int height) {
        int fac = patch * factor;
        long hBar = Math.max(patch, roundByFactor(height, fac)), wBar = Math.max(patch, roundByFactor(width, fac));
        double limit = (double) ((long) config.maxImageTokens() * patch * patch * factor * factor) * config.maxPixelsTolerance();
        return hBar * wBar > limit;
    }

    /** Python {@code round(number / factor) * factor}: true division, then round half to even. */
    static long roundByFactor(int number, int factor) {
        return (long) Math.rint((double) number / factor) * factor;
    }

    private static RgbImage crop(RgbImage src, int x0, int y0, int w, int h) {
        byte[] out = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            System.arraycopy(src.pixels(), ((y0 + y) * src.width() + x0) * 3, out, y * w * 3, w * 3);
        return new RgbImage(w, h, out);
    }
}
