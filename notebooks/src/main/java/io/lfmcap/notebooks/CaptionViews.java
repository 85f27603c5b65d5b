package io.lfmcap.notebooks;

import io.lfmcap.engine.CaptionException;
import io.lfmcap.image.ImageDecoder;
import io.lfmcap.image.RgbImage;
import io.lfmcap.pipeline.CaptionSchema;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.RenderedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;

/**
 * HTML views of caption rows for notebooks (Jupyter shows them as {@code text/html}): a plain table of
 * collected rows, and a gallery of images with their captions, or with the error that replaced the
 * caption. Every value is HTML-escaped; images are read through Hadoop's file systems (so {@code s3a:}
 * and {@code hdfs:} paths work as {@code file:} ones do), decoded by the runtime's decoder (EXIF
 * orientation applied, as the model saw them) and inlined as small JPEG thumbnails. Charts (or any
 * image) go in as inline PNGs.
 */
public final class CaptionViews {
    /** Longest side of a gallery thumbnail, in pixels. */
    public static final int THUMBNAIL_SIZE = 192;
    /** Table cells are cut to this many characters (the full value stays in the DataFrame). */
    static final int MAX_CELL_CHARS = 160;
    /** Files larger than this are not read for a thumbnail. */
    static final long MAX_PREVIEW_BYTES = 32L << 20;

    private CaptionViews() {}

    /** An HTML table of {@code rows} (collected from one DataFrame), columns in schema order; nulls shown empty. */
    public static String table(List<Row> rows) {
        if (rows.isEmpty()) return "<p><i>no rows</i></p>";
        String[] names = rows.get(0).schema().fieldNames();
        StringBuilder html = new StringBuilder("<table class=\"lfmcap-table\"><thead><tr>");
        for (String n : names) html.append("<th>").append(escape(n)).append("</th>");
        html.append("</tr></thead><tbody>");
        for (Row r : rows) {
            html.append("<tr>");
            for (int i = 0; i < names.length; i++)
                html.append("<td>").append(r.isNullAt(i) ? "" : escape(cut(String.valueOf(r.get(i))))).append("</td>");
            html.append("</tr>");
        }
        return html.append("</tbody></table>").toString();
    }

    /**
     * A gallery card per row of the caption table ({@link CaptionSchema#OUTPUT} columns): the image
     * thumbnail, then the caption with its token count and latency, or, for an error row, its error
     * class and message. An image that cannot be read or decoded (the reason for most error rows)
     * gets a "no preview" box instead of a thumbnail.
     */
    public static String gallery(List<Row> captions, Configuration hadoopConf) {
        StringBuilder html = new StringBuilder("<div style=\"display:flex;flex-wrap:wrap;gap:12px\">");
        for (Row r : captions) html.append(card(r, hadoopConf));
        return html.append("</div>").toString();
    }

    private static String card(Row r, Configuration hadoopConf) {
        boolean ok = CaptionSchema.OK.equals(r.getAs(CaptionSchema.STATUS));
        String location = r.getAs(CaptionSchema.PATH) != null ? r.getAs(CaptionSchema.PATH) : r.getAs(CaptionSchema.ID);
        StringBuilder html = new StringBuilder("<figure style=\"margin:0;width:").append(THUMBNAIL_SIZE)
                .append("px;border:1px solid ").append(ok ? "#ccc" : "#d33")
                .append(";padding:6px;font:12px sans-serif\">");
        String thumbnail = thumbnailDataUri(location, hadoopConf);
        if (thumbnail != null)
            html.append("<img style=\"max-width:100%\" alt=\"").append(escape(fileName(location)))
                    .append("\" src=\"").append(thumbnail).append("\"/>");
        else
            html.append("<div style=\"height:96px;background:#eee;color:#777;display:flex;align-items:center;justify-content:center\">no preview</div>");
        html.append("<figcaption><div style=\"color:#555;word-break:break-all\">").append(escape(fileName(location))).append("</div>");
        if (ok) {
            html.append("<div>").append(escape(r.getAs(CaptionSchema.CAPTION))).append("</div>")
                    .append("<div style=\"color:#777\">").append(r.<Integer>getAs(CaptionSchema.NUM_GENERATED_TOKENS))
                    .append(" tokens, ").append(String.format(Locale.ROOT, "%.0f", r.<Double>getAs(CaptionSchema.LATENCY_MS)))
                    .append(" ms</div>");
        } else {
            html.append("<div style=\"color:#d33\"><b>").append(escape(r.getAs(CaptionSchema.ERROR_CLASS))).append("</b>: ")
                    .append(escape(cut(r.getAs(CaptionSchema.ERROR_MESSAGE)))).append("</div>");
        }
        return html.append("</figcaption></figure>").toString();
    }

    /** An {@code <img>} with {@code image} inlined as PNG (a chart: {@code png(chart.createBufferedImage(640, 260))}). */
    public static String png(RenderedImage image) {
        return "<img src=\"data:image/png;base64," + Base64.getEncoder().encodeToString(encode(image, "png")) + "\"/>";
    }

    /** A {@code data:image/jpeg} URI of the image's thumbnail, or null when it cannot be read or decoded. */
    static String thumbnailDataUri(String location, Configuration hadoopConf) {
        byte[] bytes = readSmallFile(location, hadoopConf);
        if (bytes == null) return null;
        RgbImage image;
        try {
            image = new ImageDecoder().decode(bytes, location);
        } catch (CaptionException notAnImage) {   // empty, corrupt, unsupported or too large: the card says why
            return null;
        }
        return "data:image/jpeg;base64," + Base64.getEncoder().encodeToString(encode(thumbnail(image), "jpg"));
    }

    /** Scales {@code image} to fit {@link #THUMBNAIL_SIZE} (never up), bilinear. */
    static BufferedImage thumbnail(RgbImage image) {
        double scale = Math.min(1.0, (double) THUMBNAIL_SIZE / Math.max(image.width(), image.height()));
        int w = Math.max(1, (int) Math.round(image.width() * scale));
        int h = Math.max(1, (int) Math.round(image.height() * scale));
        BufferedImage full = new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_INT_RGB);
        byte[] p = image.pixels();
        for (int y = 0, i = 0; y < image.height(); y++)
            for (int x = 0; x < image.width(); x++, i += 3)
                full.setRGB(x, y, (p[i] & 0xff) << 16 | (p[i + 1] & 0xff) << 8 | (p[i + 2] & 0xff));
        BufferedImage small = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = small.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(full, 0, 0, w, h, null);
        } finally {
            g.dispose();
        }
        return small;
    }

    private static byte[] readSmallFile(String location, Configuration hadoopConf) {
        try {
            Path path = new Path(location);
            FileSystem fs = path.getFileSystem(hadoopConf);
            if (!fs.exists(path) || fs.getFileStatus(path).getLen() > MAX_PREVIEW_BYTES) return null;
            try (InputStream in = fs.open(path)) {
                return in.readAllBytes();
            }
        } catch (IOException unreadable) {
            return null;
        }
    }

    private static byte[] encode(RenderedImage image, String format) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, format, out)) throw new IllegalStateException("no ImageIO writer for " + format);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode an image as " + format, e);
        }
        return out.toByteArray();
    }

    private static String fileName(String location) {
        return location.substring(location.lastIndexOf('/') + 1);
    }

    private static String cut(String s) {
        return s == null || s.length() <= MAX_CELL_CHARS ? s : s.substring(0, MAX_CELL_CHARS - 1) + "\u2026";
    }

    /** Escapes the five characters HTML gives meaning to; null becomes the empty string. */
    static String escape(String s) {
        if (s == null) return "";
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
