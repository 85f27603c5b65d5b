package io.lfmcap.pipeline;

import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkStageInfo;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.JavaSparkStatusTracker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs one progress line every interval on the driver while a captioning job runs:
 * {@code lfmcap progress: tasks 12/40, rows 1200 (ok 1190, failed 10), 35.2 images/s}. Rows count
 * finished tasks only (accumulators arrive with task results). Close it when the job is over.
 */
public final class ProgressReporter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProgressReporter.class);

    private final ScheduledExecutorService timer;

    private ProgressReporter(SparkContext sc, CaptionMetrics metrics, long intervalSeconds) {
        long start = System.nanoTime();
        JavaSparkStatusTracker tracker = JavaSparkContext.fromSparkContext(sc).statusTracker();
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "lfmcap-progress");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleAtFixedRate(() -> LOG.info("lfmcap progress: {}", line(tracker, metrics, start)),
                intervalSeconds, intervalSeconds, TimeUnit.SECONDS);
    }

    /** Starts reporting every {@code intervalSeconds} (>= 1). */
    public static ProgressReporter start(SparkContext sc, CaptionMetrics metrics, long intervalSeconds) {
        if (intervalSeconds < 1) throw new IllegalArgumentException("progress interval must be >= 1 s, got " + intervalSeconds);
        return new ProgressReporter(sc, metrics, intervalSeconds);
    }

    static String line(JavaSparkStatusTracker tracker, CaptionMetrics metrics, long startNanos) {
        int done = 0, total = 0;
        for (int stageId : tracker.getActiveStageIds()) {
            SparkStageInfo s = tracker.getStageInfo(stageId);
            if (s == null) continue;
            done += s.numCompletedTasks();
            total += s.numTasks();
        }
        CaptionSummary now = metrics.summary((System.nanoTime() - startNanos) / 1e9);
        return String.format(Locale.ROOT, "tasks %d/%d, rows %d (ok %d, failed %d), %.2f images/s, %.1f tokens/s",
                done, total, now.rows(), now.ok(), now.failed(), now.imagesPerSecond(), now.tokensPerSecond());
    }

    @Override
    public void close() { timer.shutdownNow(); }
}
