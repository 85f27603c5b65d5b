package io.lfmcap.jobs;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** What the job tests share: one local Spark session, the demo model, small images. */
final class JobTestSupport {
    private static SparkSession session;
    private static DemoInputs.Prepared demo;

    private JobTestSupport() {}

    /** Local mode; the job finds this session and leaves it running. */
    static synchronized SparkSession spark() {
        if (session == null) {
            session = SparkSession.builder().master("local[2]").appName("lfmcap job tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.sql.shuffle.partitions", "4")
                    .getOrCreate();
            session.sparkContext().setLogLevel("WARN");
        }
        return session;
    }

    /** The tiny model and the bundled images, made once per test JVM. */
    static synchronized DemoInputs.Prepared demo() {
        if (demo == null) {
            try {
                demo = DemoInputs.prepare(Files.createTempDirectory("lfmcap-demo-"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return demo;
    }

    /** {@code n} small JPEGs img-K.jpg (K from {@code first}) with distinct colours. */
    static void images(Path dir, int first, int n) {
        for (int i = first; i < first + n; i++) write(dir, "img-" + i + ".jpg", jpeg(48, 40, i));
    }

    static byte[] jpeg(int width, int height, int seed) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                img.setRGB(x, y, (((x * 5 + seed * 37) & 0xff) << 16) | (((y * 6 + seed * 71) & 0xff) << 8) | ((x + y + seed * 13) & 0xff));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "jpg", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static byte[] truncated(byte[] bytes) { return Arrays.copyOf(bytes, bytes.length / 3); }

    static Path write(Path dir, String name, byte[] bytes) {
        try {
            Files.createDirectories(dir);
            return Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last path segment of a row's id (a file URI). */
    static String fileName(String id) {
        return id.substring(id.lastIndexOf('/') + 1);
    }

    /** Rows of a caption table keyed by file name; fails on a duplicate id. */
    static Map<String, Row> byFileName(Iterable<Row> rows) {
        Map<String, Row> m = new TreeMap<>();
        for (Row r : rows) {
            Row before = m.put(fileName(r.getString(0)), r);
            if (before != null) throw new AssertionError("two rows for " + r.getString(0));
        }
        return m;
    }
}
