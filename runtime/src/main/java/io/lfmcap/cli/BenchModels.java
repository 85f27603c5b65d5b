package io.lfmcap.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lfmcap.model.tiny.RandomCheckpoint;
import io.lfmcap.model.tiny.TinyCheckpoint;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Random-weight checkpoints with the published shapes, for benchmarks: {@code 450m} and {@code 1.6b}
 * (shapes from bench-shapes.json, the same file the transformers peer baseline builds its models
 * from) and {@code tiny}. Written once into a cache folder and reused.
 */
final class BenchModels {
    private static final long SEED = 0;

    private BenchModels() {}

    static Path randomCheckpoint(String shape, Path cacheDir, PrintStream log) throws IOException {
        Path root = cacheDir != null ? cacheDir : Path.of(System.getProperty("user.home"), ".cache", "lfmcap", "bench");
        Path dir = root.resolve("random-" + shape);
        if (Files.isRegularFile(dir.resolve(".complete"))) return dir;
        log.println("writing random " + shape + " checkpoint to " + dir + " (once) ...");
        Files.createDirectories(dir);
        if (shape.equals("tiny")) {
            TinyCheckpoint.write(dir, TinyCheckpoint.Variant.LFM2_5_VL, SEED);
        } else {
            RandomCheckpoint.write(dir, configJson(shape), SEED);
        }
        Files.writeString(dir.resolve(".complete"), shape);
        return dir;
    }

    /** The shape's config.json: the bench-shapes entry with the model type added. */
    static String configJson(String shape) {
        ObjectMapper json = new ObjectMapper();
        try (InputStream in = BenchModels.class.getResourceAsStream("bench-shapes.json")) {
            ObjectNode shapes = (ObjectNode) json.readTree(in);
            if (!shapes.has(shape))
                throw new IllegalArgumentException("unknown shape '" + shape + "'; choose one of " + iterableNames(shapes) + " or tiny");
            ObjectNode config = (ObjectNode) shapes.get(shape).deepCopy();
            config.put("model_type", "lfm2_vl");
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(config);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String iterableNames(ObjectNode node) {
        StringBuilder b = new StringBuilder();
        node.fieldNames().forEachRemaining(n -> b.append(b.length() == 0 ? "" : ", ").append(n));
        return b.toString();
    }
}
