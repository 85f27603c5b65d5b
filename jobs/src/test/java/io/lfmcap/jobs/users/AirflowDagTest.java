package io.lfmcap.jobs.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lfmcap.image.DemoImages;
import io.lfmcap.jobs.CaptionJob;
import io.lfmcap.model.tiny.TinyCheckpoint;
import io.lfmcap.pipeline.CaptionOutput;
import io.lfmcap.pte.ProgressListener;
import io.lfmcap.pte.PteExporter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * conf/airflow/lfmcap_captions_dag.py, checked as deep as a machine without Airflow allows:
 * conf/airflow/dag_spec.py runs the DAG file with stand-ins for DAG and SparkSubmitOperator that take
 * exactly the real ones' keyword arguments, and renders its templates for one date with Jinja; this
 * test holds the result to CaptionJob's real argument parser and to lfmcap's conf/ templates, and
 * runs the job with the rendered arguments, twice, as a retry would.
 */
class AirflowDagTest {
    private static final Path REPO = Path.of("").toAbsolutePath().getParent();
    private static final Path SPEC_TOOL = REPO.resolve("conf/airflow/dag_spec.py");
    private static final String DS = "2026-11-27";
    private static final ObjectMapper JSON = new ObjectMapper();

    private static String python;

    /**
     * A python3 that has Jinja2 (Debian's first: apt's python3-jinja2 goes there), or the test
     * skipped; under CI (the CI variable set) failed instead, as .ci/run installs it.
     */
    private static synchronized String python() {
        if (python != null) return python;
        for (String candidate : List.of("/usr/bin/python3", "python3")) {
            try {
                Process p = new ProcessBuilder(candidate, "-c", "import jinja2").redirectErrorStream(true).start();
                if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) return python = candidate;
            } catch (IOException notThere) {
                // try the next one
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        String what = "no python3 with Jinja2 (Debian: apt-get install python3-jinja2) to render the Airflow DAG";
        String ci = System.getenv("CI");
        if (ci != null && !ci.isEmpty()) fail(what + "; CI must check the DAG: .ci/run installs it");
        Assumptions.abort(what);
        return null;
    }

    /** The DAG's one task for {@link #DS}, rendered, with {@code params} overriding the DAG's. */
    private static JsonNode task(String... params) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(python(), SPEC_TOOL.toString(), "--ds", DS));
        for (String p : params) cmd.addAll(List.of("--param", p));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "dag_spec.py failed: " + out);
        JsonNode spec = JSON.readTree(out);
        assertEquals(1, spec.path("tasks").size(), "one task: " + out);
        return spec.path("tasks").get(0);
    }

    private static List<String> strings(JsonNode array) {
        List<String> list = new ArrayList<>();
        array.forEach(n -> list.add(n.asText()));
        return list;
    }

    @Test
    void theDagSubmitsCaptionJobsShadedJarDailyWithRetriesAndAnSla() throws Exception {
        Process p = new ProcessBuilder(python(), SPEC_TOOL.toString(), "--ds", DS).start();
        JsonNode spec = JSON.readTree(p.getInputStream());
        assertEquals(0, p.waitFor());
        assertEquals("lfmcap_daily_captions", spec.path("dag_id").asText());
        assertEquals("@daily", spec.path("schedule").asText());
        assertEquals(1, spec.path("max_active_runs").asInt(), "one writer per output at a time (--resume)");

        JsonNode task = spec.path("tasks").get(0);
        assertEquals("SparkSubmitOperator", task.path("operator").asText());
        assertEquals("spark_lfmcap", task.path("conn_id").asText());
        assertEquals(CaptionJob.class.getName(), task.path("java_class").asText());
        assertTrue(task.path("application").asText().endsWith("/lfmcap-jobs.jar"), "the shaded jar jobs/ builds: " + task.path("application"));
        assertTrue(task.path("retries").asInt() >= 1, "retries");
        assertTrue(task.path("retry_delay_s").asDouble() > 0, "retry_delay");
        double sla = task.path("sla_s").asDouble();
        assertTrue(sla > 0, "sla");
        assertTrue(sla >= task.path("execution_timeout_s").asDouble(), "an SLA shorter than one attempt's timeout fires on healthy runs");
        assertTrue(task.path("name").asText().contains(DS), "the Spark application is named for its date");
    }

    @Test
    void everyArgumentIsAnOptionOfCaptionJobAndItsParserAcceptsThemAll() throws Exception {
        List<String> args = strings(task().path("application_args"));
        CommandLine parser = new CommandLine(new CaptionJob());
        Set<String> options = parser.getCommandSpec().optionsMap().keySet();
        for (String a : args)
            if (a.startsWith("--")) assertTrue(options.contains(a), a + " is not an option of CaptionJob (" + options + ")");
        CommandLine.ParseResult parsed = parser.parseArgs(args.toArray(String[]::new));
        assertTrue(parsed.unmatched().isEmpty(), "unmatched: " + parsed.unmatched());
        assertTrue(parsed.hasMatchedOption("--resume"), "a retry must resume, never duplicate rows");
        assertFalse(args.contains("--demo"));
        assertTrue(parsed.matchedOptionValue("--input", "").endsWith("/" + DS + "/"), "input is the day's folder: " + args);
        assertTrue(parsed.matchedOptionValue("--output", "").contains("date=" + DS), "output is the day's partition: " + args);
        assertTrue(parsed.hasMatchedOption("--model"));
        assertEquals(96, (int) parsed.matchedOptionValue("--max-new-tokens", 0));
    }

    @Test
    void theSparkTemplatesItNamesAreLfmcapsConfFiles() throws Exception {
        JsonNode task = task();
        Path properties = REPO.resolve("conf").resolve(Path.of(task.path("properties_file").asText()).getFileName());
        assertTrue(Files.isRegularFile(properties), "no conf/ template " + properties.getFileName());
        String template = Files.readString(properties);
        assertTrue(template.matches("(?s).*spark\\.executor\\.extraJavaOptions\\s+[^\\n]*--add-modules=jdk\\.incubator\\.vector.*"),
                properties + " gives executors the Vector API");
        // the YARN template finds GPUs with ./getGpusResources.sh: the DAG must ship it
        assertTrue(template.contains("./getGpusResources.sh"));
        for (String file : task.path("files").asText().split(","))
            assertTrue(Files.isRegularFile(REPO.resolve("conf").resolve(Path.of(file).getFileName())), "shipped file not in conf/: " + file);
        task.path("conf").fieldNames().forEachRemaining(k -> assertTrue(k.startsWith("spark."), "not a Spark property: " + k));
        assertEquals("4", task.path("conf").path("spark.executor.instances").asText());
    }

    @Test
    void theImpliedSparkSubmitCommandRunsTheJarWithTheRenderedArguments() throws Exception {
        JsonNode task = task();
        List<String> cmd = strings(task.path("spark_submit"));
        List<String> args = strings(task.path("application_args"));
        assertEquals("spark-submit", cmd.get(0));
        assertEquals(CaptionJob.class.getName(), cmd.get(cmd.indexOf("--class") + 1));
        assertEquals(task.path("properties_file").asText(), cmd.get(cmd.indexOf("--properties-file") + 1));
        int jar = cmd.indexOf(task.path("application").asText());
        assertEquals(args, cmd.subList(jar + 1, cmd.size()), "everything after the jar goes to CaptionJob");
        assertTrue(cmd.subList(0, jar).containsAll(List.of("--conf", "spark.executor.instances=4", "--deploy-mode", "cluster")), cmd.toString());
    }

    @Test
    void theCheckRefusesAnArgumentSparkSubmitOperatorDoesNotTakeAndAnUndefinedTemplateName(@TempDir Path dir) throws Exception {
        String dag = Files.readString(REPO.resolve("conf/airflow/lfmcap_captions_dag.py"));
        Path misspelt = Files.writeString(dir.resolve("misspelt.py"), dag.replace("java_class=", "main_class="));
        assertSpecFails(misspelt, "SparkSubmitOperator() got arguments it does not take: ['main_class']");
        Path undefined = Files.writeString(dir.resolve("undefined.py"), dag.replace("{{ params.model }}", "{{ params.modle }}"));
        assertSpecFails(undefined, "template error");
    }

    private static void assertSpecFails(Path dag, String message) throws Exception {
        Process p = new ProcessBuilder(python(), SPEC_TOOL.toString(), "--dag", dag.toString(), "--ds", DS).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(2, p.waitFor(), out);
        assertTrue(out.contains(message), out);
    }

    @Test
    void aRunAndItsRetryWithTheDagsRenderedArgumentsLeaveOneRowPerImage(@TempDir Path dir) throws Exception {
        Path day = Files.createDirectories(dir.resolve("incoming").resolve(DS));
        List<String> names = DemoImages.list().subList(0, 3);
        for (String name : names) Files.write(day.resolve(name), DemoImages.bytes(name));
        byte[] jpeg = DemoImages.bytes(names.get(0));
        Files.write(day.resolve("cut-short.jpg"), Arrays.copyOf(jpeg, jpeg.length / 3));
        Path checkpoint = dir.resolve("tiny-checkpoint");
        TinyCheckpoint.write(checkpoint, TinyCheckpoint.Variant.LFM2_5_VL, TinyCheckpoint.DEFAULT_SEED);
        Path model = PteExporter.export(checkpoint, dir.resolve("tiny.pte"), false, ProgressListener.NONE).pte();

        // What a manual trigger's configuration would set: local folders, the tiny model, short captions.
        String[] args = strings(task("input_root=" + dir.resolve("incoming").toUri().toString().replaceAll("/$", ""),
                "output_root=" + dir.resolve("captions").toUri().toString().replaceAll("/$", ""),
                "model=" + model.toUri(), "max_new_tokens=6").path("application_args")).toArray(String[]::new);
        String output = dir.resolve("captions").resolve("date=" + DS).toUri().toString();
        SparkSession spark = SparkSession.builder().master("local[2]").appName("lfmcap airflow dag test")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();

        assertEquals(0, CaptionJob.run(args), "first attempt");
        assertOneRowPerImage(spark, output, names);

        // An attempt that died before one task committed: its rows are missing; the retry adds them.
        List<Path> okFiles = parquetFiles(Path.of(java.net.URI.create(output)).resolve("status=ok"));
        assertTrue(okFiles.size() >= 2, "several tasks wrote ok rows: " + okFiles);
        Files.delete(okFiles.get(0));
        assertEquals(0, CaptionJob.run(args), "retry");
        assertOneRowPerImage(spark, output, names);

        assertEquals(0, CaptionJob.run(args), "a retry after success");
        assertOneRowPerImage(spark, output, names);
    }

    private static void assertOneRowPerImage(SparkSession spark, String output, List<String> names) {
        List<Row> rows = CaptionOutput.read(spark, output).collectAsList();
        Set<String> ids = new HashSet<>();
        for (Row r : rows) assertTrue(ids.add(r.getString(0)), "two rows for " + r.getString(0));
        assertEquals(names.size() + 1, rows.size(), "rows: " + rows);
        for (Row r : rows) {
            String file = r.getString(0).substring(r.getString(0).lastIndexOf('/') + 1);
            if (file.equals("cut-short.jpg")) assertEquals(List.of("error", "decode_error"), List.of(r.getString(3), r.getString(4)));
            else assertTrue(names.contains(file) && "ok".equals(r.getString(3)), "row " + r);
        }
    }

    private static List<Path> parquetFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".parquet")).sorted().toList();
        }
    }
}
