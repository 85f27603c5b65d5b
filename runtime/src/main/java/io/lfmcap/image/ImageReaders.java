package io.lfmcap.image;

import com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReaderSpi;
import com.twelvemonkeys.imageio.plugins.webp.WebPImageReaderSpi;

import java.io.IOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.function.Supplier;
import javax.imageio.ImageReader;
import javax.imageio.spi.IIORegistry;
import javax.imageio.spi.ImageReaderSpi;

/**
 * A fresh {@link ImageReader} per decode (readers are not thread-safe), from providers chosen once:
 * TwelveMonkeys JPEG (wraps the JDK's libjpeg reader and makes it robust against broken APP/ICC
 * segments) and WebP, and the JDK's own PNG and BMP readers.
 *
 * <p>The TwelveMonkeys providers are registered explicitly in {@link IIORegistry} on first use instead
 * of relying on {@code META-INF/services} discovery, which breaks in shaded jars whose service files
 * were not merged and in Spark executors, where plugins on the user class path are invisible to
 * {@code ImageIO}'s scan unless {@code scanForPlugins()} runs with the right context class loader.
 * (The JPEG provider must be registered: it finds its JDK delegate in {@code onRegistration}.)
 */
final class ImageReaders {
    private ImageReaders() {}

    static ImageReader create(ImageFormat format) throws IOException {
        ImageReaderSpi spi = switch (format) {
            case JPEG -> Providers.JPEG;
            case PNG -> Providers.PNG;
            case BMP -> Providers.BMP;
            case WEBP -> Providers.WEBP;
            case GIF -> throw new IllegalArgumentException("GIF is decoded by GifFirstFrame, not by an ImageIO reader");
        };
        return spi.createReaderInstance();
    }

    /** Initialised on first use (class initialisation is thread-safe). */
    private static final class Providers {
        static final ImageReaderSpi JPEG = registered(JPEGImageReaderSpi.class, JPEGImageReaderSpi::new);
        static final ImageReaderSpi WEBP = registered(WebPImageReaderSpi.class, WebPImageReaderSpi::new);
        static final ImageReaderSpi PNG = jdk("com.sun.imageio.plugins.png.PNGImageReaderSpi", "png");
        static final ImageReaderSpi BMP = jdk("com.sun.imageio.plugins.bmp.BMPImageReaderSpi", "bmp");

        private static <T extends ImageReaderSpi> ImageReaderSpi registered(Class<T> type, Supplier<T> factory) {
            IIORegistry registry = IIORegistry.getDefaultInstance();
            T spi = registry.getServiceProviderByClass(type);
            if (spi == null) {
                registry.registerServiceProvider(factory.get(), ImageReaderSpi.class);
                spi = registry.getServiceProviderByClass(type);
            }
            if (spi == null) throw new IllegalStateException(type.getName() + " could not be registered with ImageIO (JDK JPEG reader missing?)");
            return spi;
        }

        /** The JDK's built-in reader (always registered), or any reader for the format if it is absent. */
        private static ImageReaderSpi jdk(String className, String formatName) {
            ImageReaderSpi fallback = null;
            Iterator<ImageReaderSpi> it = IIORegistry.getDefaultInstance().getServiceProviders(ImageReaderSpi.class, false);
            while (it.hasNext()) {
                ImageReaderSpi spi = it.next();
                if (spi.getClass().getName().equals(className)) return spi;
                if (fallback == null && Arrays.asList(spi.getFormatNames()).contains(formatName)) fallback = spi;
            }
            if (fallback == null) throw new IllegalStateException("no ImageIO reader for " + formatName);
            return fallback;
        }
    }
}
