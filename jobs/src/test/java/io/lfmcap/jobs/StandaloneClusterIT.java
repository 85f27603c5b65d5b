package io.lfmcap.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.engine.CaptionEngine;
import io.lfmcap.engine.CaptionEngines;
import io.lfmcap.engine.CaptionRequest;
import io.lfmcap.engine.EngineOptions;
import io.lfmcap.engine.ImageInput;
import io.lfmcap.engine.SamplingParams;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.pipeline.CaptionOutput;
import io.lfmcap.pte.ModelPackages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * CaptionJob on a real standalone cluster (a Master and two Workers on 127.0.0.1, each in its own
 * JVM), submitted through SparkSubmit with lfmcap-jobs.jar, the model distributed by broadcast.
 * The worker-kill test goes last: it takes a worker away.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StandaloneClusterIT {
    private static final int IMAGES = 48;
    private static final int TASKS = 16;
    private static final int MAX_NEW_TOKENS = 24;
    private static final String BROKEN = "broken.jpg";
    private static final Pattern APP_ID = Pattern.compile("app-\\d{14}-\\d{4}");
    private static final String LOADED = "lfmcap: model loaded";

    private static Path root;
    private static Path jar;
    private static Path model;
    private static Path images;
    private static Map<String, String> expected;
    private static StandaloneCluster cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        root = Files.createTempDirectory("lfmcap-cluster-");
        jar = Paths.get(System.getProperty("lfmcap.jobsJar", "target/lfmcap-jobs.jar")).toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), jar + " is built by `mvn package` before the integration tests");
        model = DemoInputs.prepare(root.resolve("demo")).model();
        images = root.resolve("images");
        JobTestSupport.images(images, 0, IMAGES);
        JobTestSupport.write(images, BROKEN, JobTestSupport.truncated(JobTestSupport.jpeg(48, 40, 99)));
        expected = engineCaptions();
        cluster = new StandaloneCluster(root.resolve("cluster"), jar, 2, 2);
    }

    @AfterAll
    static void stopCluster() throws IOException {
        if (cluster != null) cluster.close();
        // Each executor keeps a copy of the application jar: about 200 MB per run. -Dlfmcap.keepClusterLogs=true keeps it all.
        if (root != null && !Boolean.getBoolean("lfmcap.keepClusterLogs")) {
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    /** Captions of the bundled engine alone, in this JVM, keyed by file name. */
    private static Map<String, String> engineCaptions() throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (ModelPackage pkg = ModelPackages.open(model);
             CaptionEngine engine = CaptionEngines.open(pkg, EngineOptions.defaults().withBackend(EngineOptions.Backend.CPU))) {
            for (int i = 0; i < IMAGES; i++) {
                String name = "img-" + i + ".jpg";
                byte[] bytes = Files.readAllBytes(images.resolve(name));
                out.put(name, engine.submit(new CaptionRequest(name, ImageInput.of(name, bytes), CaptionRequest.DEFAULT_PROMPT,
                        SamplingParams.GREEDY, MAX_NEW_TOKENS)).get().text());
            }
        }
        return out;
    }

    private static List<String> sparkConf() {
        List<String> c = new ArrayList<>();
        for (String kv : List.of("spark.executor.memory=768m", "spark.executor.cores=2", "spark.cores.max=4",
                "spark.executor.extraJavaOptions=--add-modules=jdk.incubator.vector",
                "spark.default.parallelism=" + TASKS, "spark.task.maxFailures=4",
                "spark.scheduler.minRegisteredResourcesRatio=1.0", "spark.scheduler.maxRegisteredResourcesWaitingTime=60s")) {
            c.add("--conf");
            c.add(kv);
        }
        return c;
    }

    private static StandaloneCluster.Submission submit(String name, Path out, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("--input", images.toUri().toString(), "--output", out.toUri().toString(),
                "--model", model.toUri().toString(), "--model-distribution", "broadcast", "--backend", "cpu",
                "--max-new-tokens", "" + MAX_NEW_TOKENS, "--in-flight", "2", "--progress-interval", "2"));
        args.addAll(List.of(extra));
        return cluster.submit(name, sparkConf(), jar, CaptionJob.class.getName(), args);
    }

    private static void awaitSuccess(StandaloneCluster.Submission s) throws InterruptedException {
        assertTrue(s.process().waitFor(240, TimeUnit.SECONDS), "the job did not finish in time:\n" + s.output());
        assertEquals(0, s.process().exitValue(), "the job failed:\n" + s.output());
    }

    private static String appId(StandaloneCluster.Submission s) {
        Matcher m = APP_ID.matcher(s.output());
        assertTrue(m.find(), "no application id in the driver log:\n" + s.output());
        return m.group();
    }

    /** Committed part files (one per finished task) under the output's status folders. */
    private static int committedFiles(Path out) {
        int n = 0;
        for (String status : List.of("status=ok", "status=error")) {
            Path dir = out.resolve(status);
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> files = Files.list(dir)) {
                n += (int) files.filter(p -> p.getFileName().toString().startsWith("part-")).count();
            } catch (IOException e) {
                // the directory is being written; count again on the next poll
            }
        }
        return n;
    }

    /** The output: exactly one row per input file, captions equal to the engine's, the broken file a decode_error. */
    private static void assertCompleteAndCorrect(Path out) {
        Map<String, Row> rows = JobTestSupport.byFileName(CaptionOutput.read(JobTestSupport.spark(), out.toUri().toString()).collectAsList());
        assertEquals(IMAGES + 1, rows.size(), "one row per input image: " + rows.keySet());
        assertEquals("decode_error", rows.get(BROKEN).getAs("error_class"));
        Map<String, String> captions = new TreeMap<>();
        rows.forEach((name, r) -> {
            if (!name.equals(BROKEN)) captions.put(name, r.getAs("caption"));
        });
        assertEquals(expected, captions);
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) n++;
        return n;
    }

    @Test
    @Order(1)
    void aBroadcastJobWritesEveryRowAndEachExecutorLoadsTheModelOnce() throws Exception {
        Path out = root.resolve("out-broadcast");
        StandaloneCluster.Submission s = submit("broadcast", out);
        awaitSuccess(s);
        assertCompleteAndCorrect(out);

        // Evidence: each executor's own log has exactly one load line, and both executors worked.
        Map<String, String> logs = cluster.executorLogs(appId(s));
        assertEquals(2, logs.size(), "one executor per worker: " + logs.keySet());
        logs.forEach((executor, log) -> assertEquals(1, count(log, LOADED), executor + " loaded the model once:\n" + log));
        String driver = s.output();
        assertTrue(driver.contains("shipped by broadcast"), driver);
        assertTrue(driver.contains("lfmcap summary: rows " + (IMAGES + 1) + ", ok " + IMAGES + ", failed 1 (decode_error 1)"), driver);
        assertTrue(driver.contains("model loads 2 "), "the summary lists one load per executor:\n" + driver);
    }

    @Test
    @Order(2)
    void aJobKilledMidWayAndRerunWithResumeEndsWithOneRowPerId() throws Exception {
        Path out = root.resolve("out-resume");
        StandaloneCluster.Submission first = submit("killed", out);
        StandaloneCluster.await(() -> committedFiles(out) >= TASKS / 4 || !first.process().isAlive(), Duration.ofSeconds(180),
                "a quarter of the tasks to commit");
        assertTrue(first.process().isAlive(), "the job finished before it could be killed:\n" + first.output());
        first.process().destroyForcibly().waitFor();
        int committed = committedFiles(out);
        assertTrue(committed < TASKS, "killed mid-way: " + committed + " of " + TASKS + " tasks had committed");

        StandaloneCluster.Submission rerun = submit("resumed", out, "--resume");
        awaitSuccess(rerun);
        assertCompleteAndCorrect(out);
        Matcher done = Pattern.compile("lfmcap resume: (\\d+) ids already have an ok row").matcher(rerun.output());
        assertTrue(done.find(), rerun.output());
        int skipped = Integer.parseInt(done.group(1));
        assertTrue(skipped > 0 && skipped < IMAGES, "the rerun skipped the " + skipped + " ids the killed job had written");
    }

    @Test
    @Order(3)
    void aWorkerKilledMidJobLeavesTheJobToFinishWithOneRowPerId() throws Exception {
        Path out = root.resolve("out-worker-killed");
        StandaloneCluster.Submission s = submit("worker-killed", out);
        StandaloneCluster.await(() -> committedFiles(out) >= 2 || !s.process().isAlive(), Duration.ofSeconds(180), "two tasks to commit");
        assertTrue(s.process().isAlive(), "the job finished before the worker could be killed:\n" + s.output());
        cluster.killWorker(1);
        int committed = committedFiles(out);
        assertTrue(committed < TASKS, "killed mid-job: " + committed + " of " + TASKS + " tasks had committed");
        awaitSuccess(s);
        assertCompleteAndCorrect(out);
        assertTrue(s.output().contains("Executor lost") || s.output().contains("Lost executor") || s.output().contains("ExecutorLostFailure")
                || s.output().contains("removed"), "the driver saw the executor go:\n" + s.output());
    }
}
