package io.lfmcap.notebooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every notebook, executed top to bottom by Jupyter (nbconvert) on the lfmcap kernel that this
 * build wrote, on the embedded default (tiny model, bundled images), as CI runs them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NotebooksRunTest {
    private final Path runDir = Path.of(System.getProperty("lfmcap.notebookRunDir"));
    private Map<String, Jupyter.Run> runs;
    private Jupyter jupyter;

    /** Jupyter, or this test skipped (locally) or failed (CI) where it is not installed. */
    private Jupyter jupyter() {
        if (jupyter == null) jupyter = Jupyter.require(runDir);
        return jupyter;
    }

    /** Every notebook executed once, on the first test that looks at them. */
    private Map<String, Jupyter.Run> runs() throws IOException {
        if (runs == null) {
            Jupyter j = jupyter();
            deleteTree(runDir);
            // Where the notebooks' defaults write (their LFMCAP_OUT; users get ../out, the quick start's folder).
            Map<String, String> env = Map.of("LFMCAP_OUT", runDir.resolve("out").toString());
            runs = new LinkedHashMap<>();
            for (Path nb : Notebook.committed()) runs.put(nb.getFileName().toString(), j.execute(nb, runDir.resolve("executed"), env));
        }
        return runs;
    }

    @Test
    void everyNotebookRunsWithoutAnError() throws IOException {
        for (var run : runs().entrySet())
            assertEquals(0, run.getValue().exitCode(), run.getKey() + " failed; nbconvert log " + run.getValue().logFile() + ":\n" + tail(run.getValue().log()));
    }

    @Test
    void everyCodeCellRanAndNoLibraryLoggedAnError() throws IOException {
        for (String name : runs().keySet()) {
            Notebook nb = executed(name);
            for (JsonNode cell : nb.codeCells())
                assertTrue(cell.path("execution_count").isInt(), name + ": cell '" + Notebook.firstLine(cell) + "' did not run");
            // Spark logs some failures and carries on (a SQL code generation failure falls back to
            // slower code): an ERROR line or a stack trace in any cell's output fails the notebook too.
            String streams = nb.streams();
            assertFalse(Pattern.compile("(?m)^(ERROR|FATAL) ").matcher(streams).find(), name + " logged an error:\n" + streams);
            assertFalse(streams.contains("\tat "), name + " printed a stack trace:\n" + streams);
        }
    }

    @Test
    void exploreCaptionsChartsTheDemoOutputAndShowsItsImagesAndTheBrokenFile() throws IOException {
        Notebook nb = executed("explore-captions.ipynb");
        String html = nb.html();
        // The quick start's rows: 6 captioned images and the truncated JPEG as a decode_error row.
        assertTrue(html.contains("<td>ok</td><td></td><td>6</td>"), "rows by status:\n" + html);
        assertTrue(html.contains("<td>error</td><td>decode_error</td><td>1</td>"), "rows by status:\n" + html);
        assertTrue(html.contains("broken-truncated.jpg</td><td>decode_error</td>"), "failed rows table");
        assertEquals(5, count(html, "<img src=\"data:image/png;base64,"), "charts: by class, 2 length histograms, latency histogram and scatter");
        assertEquals(6, count(html, "src=\"data:image/jpeg;base64,"), "gallery thumbnails of the 6 good rows");
        assertTrue(nb.streams().contains("latency over 6 captions: p50 "), nb.streams());
    }

    @Test
    void captionAFolderCaptionsTheDemoImagesThroughTheSparkApiAndWritesParquet() throws IOException {
        Notebook nb = executed("caption-a-folder.ipynb");
        String html = nb.html();
        assertTrue(nb.streams().contains("rows 7, ok 6, failed 1 (unsupported_format 1)"), nb.streams());
        assertEquals(6, count(html, "src=\"data:image/jpeg;base64,"), "gallery thumbnails of the 6 demo images");
        assertTrue(html.contains("<b>unsupported_format</b>"), "the text file's card shows its error class");
        assertTrue(html.contains("<td>Describe this image in one short sentence.</td>"), "the second prompt's table");
        // read back from Parquet: the same 7 rows
        assertTrue(html.contains("<td>error</td><td>unsupported_format</td><td>1</td></tr><tr><td>ok</td><td></td><td>6</td>"), html);
        List<JsonNode> cells = nb.codeCells();
        JsonNode last = cells.get(cells.size() - 1).path("outputs");
        assertEquals("7", Notebook.joined(last.get(last.size() - 1).path("data").path("text/html")));
    }

    @Test
    void theKernelAnswersJupyterOnEveryStart() {
        // rapaio-jupyter-kernel 3.0.1 could lose Jupyter's first request at start-up (NotebookKernel's
        // Javadoc); start it as Jupyter does, several times, each start must answer and run a cell.
        String script = String.join("\n",
                "from jupyter_client.manager import start_new_kernel",
                "for i in range(4):",
                "    km, kc = start_new_kernel(kernel_name='lfmcap-java', startup_timeout=60)",
                "    try:",
                "        reply = kc.execute_interactive('System.out.println(6 * 7);', timeout=60)",
                "        assert reply['content']['status'] == 'ok', reply",
                "        print('start', i, 'ok', flush=True)",
                "    finally:",
                "        kc.stop_channels()",
                "        km.shutdown_kernel(now=True)");
        Jupyter.Run run = jupyter().run(List.of(jupyter().python(), "-c", script), Map.of(), runDir.resolve("kernel-starts.log"));
        assertEquals(0, run.exitCode(), tail(run.log()));
        assertEquals(4, count(run.log(), " ok\n"), run.log());
    }

    private Notebook executed(String name) throws IOException {
        Jupyter.Run run = runs().get(name);
        assertEquals(0, run.exitCode(), name + " failed:\n" + tail(run.log()));
        return Notebook.read(runDir.resolve("executed").resolve(name));
    }

    private static int count(String text, String needle) {
        Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(text);
        int n = 0;
        while (m.find()) n++;
        return n;
    }

    private static String tail(String log) {
        return log.length() <= 6000 ? log : "..." + log.substring(log.length() - 6000);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted((a, b) -> b.compareTo(a)).toList()) Files.delete(p);
        }
    }
}
