package io.lfmcap.notebooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.pipeline.CaptionSchema;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaptionViewsTest {
    @TempDir Path dir;

    @Test
    void tableHasAHeaderPerColumnEscapesValuesAndLeavesNullsEmpty() {
        StructType schema = new StructType().add("id", DataTypes.StringType).add("caption", DataTypes.StringType).add("tokens", DataTypes.IntegerType);
        List<Row> rows = List.of(new GenericRowWithSchema(new Object[] {"a.jpg", "a <b>cat</b> & \"dog\"", 7}, schema),
                new GenericRowWithSchema(new Object[] {"b.jpg", null, null}, schema));
        assertEquals("<table class=\"lfmcap-table\"><thead><tr><th>id</th><th>caption</th><th>tokens</th></tr></thead><tbody>"
                + "<tr><td>a.jpg</td><td>a &lt;b&gt;cat&lt;/b&gt; &amp; &quot;dog&quot;</td><td>7</td></tr>"
                + "<tr><td>b.jpg</td><td></td><td></td></tr></tbody></table>", CaptionViews.table(rows));
    }

    @Test
    void tableCutsLongValues() {
        StructType schema = new StructType().add("caption", DataTypes.StringType);
        String html = CaptionViews.table(List.of(new GenericRowWithSchema(new Object[] {"x".repeat(500)}, schema)));
        assertTrue(html.contains("<td>" + "x".repeat(CaptionViews.MAX_CELL_CHARS - 1) + "\u2026</td>"), html);
    }

    @Test
    void galleryCardOfACaptionedImageHasItsThumbnailCaptionTokensAndLatency() throws IOException {
        Path photo = Files.write(dir.resolve("wide.jpg"), jpeg(400, 200));
        String html = CaptionViews.gallery(List.of(ok(photo, "a <red> square", 12, 850.4)), new Configuration());

        BufferedImage thumb = ImageIO.read(new ByteArrayInputStream(inlined(html, "data:image/jpeg;base64,")));
        assertEquals(CaptionViews.THUMBNAIL_SIZE, thumb.getWidth());
        assertEquals(CaptionViews.THUMBNAIL_SIZE / 2, thumb.getHeight());
        assertTrue(html.contains("<div>a &lt;red&gt; square</div>"), html);
        assertTrue(html.contains("12 tokens, 850 ms"), html);
        assertTrue(html.contains(">wide.jpg</div>"), html);
    }

    @Test
    void smallImagesAreNotEnlarged() throws IOException {
        Path photo = Files.write(dir.resolve("small.jpg"), jpeg(40, 30));
        String html = CaptionViews.gallery(List.of(ok(photo, "tiny", 3, 10)), new Configuration());
        BufferedImage thumb = ImageIO.read(new ByteArrayInputStream(inlined(html, "data:image/jpeg;base64,")));
        assertEquals(40, thumb.getWidth());
        assertEquals(30, thumb.getHeight());
    }

    @Test
    void galleryCardOfAnErrorRowShowsItsClassAndMessageAndNoPreviewForAFileThatIsNotAnImage() throws IOException {
        Path notes = Files.writeString(dir.resolve("notes.jpg"), "not an image");
        Row row = row(notes.toUri().toString(), null, CaptionSchema.ERROR, "unsupported_format",
                notes + ": not a JPEG, PNG, GIF, BMP or WebP file", null, 1.5);
        String html = CaptionViews.gallery(List.of(row), new Configuration());
        assertTrue(html.contains("<b>unsupported_format</b>: " + notes + ": not a JPEG, PNG, GIF, BMP or WebP file"), html);
        assertTrue(html.contains(">no preview</div>"), html);
        assertFalse(html.contains("<img"), html);
    }

    @Test
    void aMissingFileGetsNoPreviewInsteadOfFailingTheGallery() {
        Row row = row(dir.resolve("gone.jpg").toUri().toString(), null, CaptionSchema.ERROR, "read_error", "gone.jpg: no such file", null, 0.1);
        String html = CaptionViews.gallery(List.of(row), new Configuration());
        assertTrue(html.contains(">no preview</div>"), html);
        assertTrue(html.contains("<b>read_error</b>"), html);
    }

    @Test
    void pngInlinesTheWholeImage() throws IOException {
        // An odd byte count checks that the base64 text is complete (a PNG cut short by its last bytes loses its IEND chunk).
        for (int width : new int[] {31, 32, 33}) {
            BufferedImage image = new BufferedImage(width, 17, BufferedImage.TYPE_INT_RGB);
            image.setRGB(3, 4, 0x12ab34);
            String html = CaptionViews.png(image);
            byte[] png = inlined(html, "data:image/png;base64,");
            assertEquals("IEND", new String(png, png.length - 8, 4, java.nio.charset.StandardCharsets.US_ASCII));
            BufferedImage back = ImageIO.read(new ByteArrayInputStream(png));
            assertEquals(width, back.getWidth());
            assertEquals(0x12ab34, back.getRGB(3, 4) & 0xffffff);
        }
    }

    private static Row ok(Path image, String caption, int tokens, double latencyMs) {
        return row(image.toUri().toString(), caption, CaptionSchema.OK, null, null, tokens, latencyMs);
    }

    private static Row row(String path, String caption, String status, String errorClass, String message, Integer tokens, double latencyMs) {
        return new GenericRowWithSchema(new Object[] {path, path, caption, status, errorClass, message, "Describe this image.",
                null, null, null, null, tokens, tokens == null ? null : "length", latencyMs, "tiny.pte", "abc",
                new Timestamp(0)}, CaptionSchema.OUTPUT);
    }

    private static byte[] inlined(String html, String prefix) {
        Matcher m = Pattern.compile(Pattern.quote(prefix) + "([A-Za-z0-9+/=]+)\"").matcher(html);
        assertTrue(m.find(), "no " + prefix + " in " + html);
        byte[] bytes = Base64.getDecoder().decode(m.group(1));
        assertNotNull(bytes);
        return bytes;
    }

    private static byte[] jpeg(int width, int height) throws IOException {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) img.setRGB(x, y, (x * 255 / width) << 16 | (y * 255 / height) << 8 | 0x40);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpg", out);
        return out.toByteArray();
    }
}
