package io.lfmcap.notebooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** A Jupyter notebook file (nbformat 4) read as JSON: its code cells and what they output. */
record Notebook(Path file, JsonNode json) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Notebook read(Path file) {
        try {
            return new Notebook(file, JSON.readTree(file.toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read notebook " + file, e);
        }
    }

    /** The notebooks of this module: every {@code .ipynb} in its folder, by name. */
    static List<Path> committed() {
        try (Stream<Path> files = Files.list(Path.of(""))) {
            return files.filter(p -> p.getFileName().toString().endsWith(".ipynb")).map(Path::toAbsolutePath).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String name() { return file.getFileName().toString(); }

    List<JsonNode> codeCells() {
        List<JsonNode> cells = new ArrayList<>();
        for (JsonNode c : json.path("cells")) if ("code".equals(c.path("cell_type").asText())) cells.add(c);
        return cells;
    }

    /** Every output of every code cell. */
    List<JsonNode> outputs() {
        List<JsonNode> all = new ArrayList<>();
        for (JsonNode c : codeCells()) c.path("outputs").forEach(all::add);
        return all;
    }

    /** The text of stream outputs ({@code stdout}, {@code stderr}) of all cells, in order. */
    String streams() {
        StringBuilder text = new StringBuilder();
        for (JsonNode o : outputs()) if ("stream".equals(o.path("output_type").asText())) text.append(joined(o.path("text")));
        return text.toString();
    }

    /** The {@code text/html} of all display and result outputs, in order. */
    String html() {
        StringBuilder text = new StringBuilder();
        for (JsonNode o : outputs()) text.append(joined(o.path("data").path("text/html")));
        return text.toString();
    }

    /** nbformat stores multi-line text as a list of lines or as one string. */
    static String joined(JsonNode text) {
        if (!text.isArray()) return text.asText("");
        StringBuilder s = new StringBuilder();
        text.forEach(line -> s.append(line.asText()));
        return s.toString();
    }

    /** The first line of a cell's source, to name it in a message. */
    static String firstLine(JsonNode cell) {
        String source = joined(cell.path("source"));
        int nl = source.indexOf('\n');
        return nl < 0 ? source : source.substring(0, nl);
    }
}
