package io.lfmcap.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lfmcap.cli.Lfmcap;
import io.lfmcap.pipeline.CaptionOutput;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CaptionJob in Spark local mode on the tiny model. */
class CaptionJobTest {
    @TempDir Path tmp;
    private final SparkSession spark = JobTestSupport.spark();
    private final String model = JobTestSupport.demo().model().toString();

    private int job(String... args) {
        List<String> all = new ArrayList<>(List.of("--backend", "cpu", "--progress-interval", "60"));
        all.addAll(List.of(args));
        return CaptionJob.run(all.toArray(String[]::new));
    }

    private Map<String, Row> output(Path out) {
        return JobTestSupport.byFileName(CaptionOutput.read(spark, out.toUri().toString()).collectAsList());
    }

    @Test
    void theEmbeddedDefaultCaptionsTheDemoImagesAndShowsTheBrokenOne() {
        Path out = tmp.resolve("captions.parquet");
        PrintStream stdout = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = job("--demo", "--demo-dir", tmp.resolve("demo").toString(), "--output", out.toString(), "--max-new-tokens", "3");
        } finally {
            System.setOut(stdout);
        }
        assertEquals(0, code);
        Map<String, Row> rows = output(out);
        assertEquals(JobTestSupport.demo().images(), rows.size());
        assertEquals("decode_error", rows.get(DemoInputs.BROKEN_IMAGE).getAs("error_class"));
        assertEquals(JobTestSupport.demo().images() - 1, rows.values().stream().filter(r -> "ok".equals(r.getAs("status"))).count());
        String text = printed.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("lfmcap summary: rows 7, ok 6, failed 1 (decode_error 1)"), text);
        assertTrue(text.contains(DemoInputs.BROKEN_IMAGE), "the rows are printed: " + text);
    }

    @Test
    void captionsEqualTheClisForTheSameImages() throws Exception {
        Path images = tmp.resolve("images");
        JobTestSupport.images(images, 0, 5);
        JobTestSupport.write(images, "broken.jpg", JobTestSupport.truncated(JobTestSupport.jpeg(48, 40, 9)));
        Path out = tmp.resolve("out");
        assertEquals(0, job("--input", images.toString(), "--output", out.toString(), "--model", model, "--max-new-tokens", "10",
                "--prompt", "What is in the picture?"));

        List<String> cli = new ArrayList<>(List.of("caption", "--model", model, "--format", "jsonl", "--no-progress", "--backend", "cpu",
                "--max-new-tokens", "10", "--prompt", "What is in the picture?"));
        try (Stream<Path> files = Files.list(images)) {
            files.sorted().forEach(p -> cli.add(p.toString()));
        }
        StringWriter cliOut = new StringWriter();
        var cl = Lfmcap.commandLine();
        cl.setOut(new PrintWriter(cliOut));
        assertEquals(3, cl.execute(cli.toArray(String[]::new)), "the CLI exits 3 when some image failed");
        Map<String, String> expected = new HashMap<>();
        Map<String, String> expectedErrors = new HashMap<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : cliOut.toString().split("\n")) {
            JsonNode row = json.readTree(line);
            String name = Path.of(row.get("path").asText()).getFileName().toString();
            if ("ok".equals(row.get("status").asText())) expected.put(name, row.get("caption").asText());
            else expectedErrors.put(name, row.get("error_class").asText());
        }

        Map<String, String> captions = new HashMap<>();
        Map<String, String> errors = new HashMap<>();
        output(out).forEach((name, r) -> {
            if ("ok".equals(r.getAs("status"))) captions.put(name, r.getAs("caption"));
            else errors.put(name, r.getAs("error_class"));
        });
        assertEquals(5, expected.size());
        assertEquals(expected, captions);
        assertEquals(expectedErrors, errors);
    }

    @Test
    void aParquetTableWithNamedColumnsIsCaptionedRowForRow() {
        StructType schema = new StructType().add("key", DataTypes.IntegerType).add("jpeg", DataTypes.BinaryType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 5; i++) rows.add(RowFactory.create(i, JobTestSupport.jpeg(32, 32, i)));
        rows.add(RowFactory.create(5, "not an image".getBytes(StandardCharsets.UTF_8)));
        Path table = tmp.resolve("table");
        spark.createDataFrame(rows, schema).write().parquet(table.toString());
        Path out = tmp.resolve("out");
        assertEquals(0, job("--input", table.toString(), "--input-format", "parquet", "--id-column", "key", "--image-column", "jpeg",
                "--output", out.toString(), "--model", model, "--max-new-tokens", "4", "--model-distribution", "shared"));
        List<Row> written = CaptionOutput.read(spark, out.toString()).collectAsList();
        assertEquals(6, written.size());
        Map<String, String> status = new HashMap<>();
        for (Row r : written) status.put(r.getString(0), r.getAs("error_class") == null ? "ok" : r.getAs("error_class"));
        assertEquals(Map.of("0", "ok", "1", "ok", "2", "ok", "3", "ok", "4", "ok", "5", "unsupported_format"), status);
    }

    @Test
    void resumeCaptionsOnlyWhatIsMissingAndLeavesOneRowPerId() {
        Path images = tmp.resolve("images");
        JobTestSupport.images(images, 0, 4);
        JobTestSupport.write(images, "broken.jpg", JobTestSupport.truncated(JobTestSupport.jpeg(48, 40, 9)));
        Path out = tmp.resolve("out");
        assertEquals(0, job("--input", images.toString(), "--output", out.toString(), "--model", model, "--max-new-tokens", "4"));
        Map<String, Row> first = output(out);

        JobTestSupport.images(images, 4, 3);
        assertEquals(0, job("--input", images.toString(), "--output", out.toString(), "--model", model, "--max-new-tokens", "4", "--resume"));
        Map<String, Row> second = output(out);
        assertEquals(8, second.size(), second.keySet().toString());
        for (int i = 0; i < 4; i++) {
            String name = "img-" + i + ".jpg";
            Object before = first.get(name).getAs("created_at");
            Object after = second.get(name).getAs("created_at");
            assertEquals(before, after, name + " was not captioned again");
        }
        assertEquals("ok", second.get("img-6.jpg").getAs("status"));
        assertEquals("decode_error", second.get("broken.jpg").getAs("error_class"));
        Object brokenBefore = first.get("broken.jpg").getAs("created_at");
        Object brokenAfter = second.get("broken.jpg").getAs("created_at");
        assertNotEquals(brokenBefore, brokenAfter, "the error row was replaced by the retry's");
    }

    @Test
    void anExistingOutputIsAnErrorUnlessAppendOverwriteOrResumeIsAsked() {
        Path images = tmp.resolve("images");
        JobTestSupport.images(images, 0, 2);
        Path out = tmp.resolve("out");
        assertEquals(0, job("--input", images.toString(), "--output", out.toString(), "--model", model, "--max-new-tokens", "2"));
        assertEquals(2, job("--input", images.toString(), "--output", out.toString(), "--model", model, "--max-new-tokens", "2"));
        assertEquals(0, job("--input", images.toString(), "--output", out.toString(), "--model", model, "--max-new-tokens", "2", "--mode", "overwrite"));
        assertEquals(2, output(out).size());
        assertEquals(0, job("--input", images.toString(), "--output", out.toString(), "--model", model, "--max-new-tokens", "2", "--mode", "append"));
        assertEquals(4, CaptionOutput.read(spark, out.toString()).count());
    }

    @Test
    void contradictoryOrMissingArgumentsExitWithTwoAndAMessage() {
        PrintStream stderr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertEquals(2, job("--input", "x", "--output", tmp.resolve("o").toString(), "--model", model, "--resume", "--mode", "overwrite"));
            assertEquals(2, job("--input", tmp.toString(), "--output", tmp.resolve("o").toString(), "--model", tmp.resolve("missing.pte").toString()));
            assertEquals(2, job("--input", tmp.toString()));
        } finally {
            System.setErr(stderr);
        }
        String text = err.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("--resume keeps what the output holds"), text);
        assertTrue(text.contains("missing.pte does not exist"), text);
        assertTrue(text.contains("--input, --output and --model are required"), text);
    }
}
