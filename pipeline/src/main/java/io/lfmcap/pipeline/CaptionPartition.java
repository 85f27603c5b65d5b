package io.lfmcap.pipeline;

import io.lfmcap.engine.EngineOptions;
import java.util.Iterator;
import org.apache.spark.TaskContext;
import org.apache.spark.util.TaskCompletionListener;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The task side of the captioning stage: leases this executor's engine for the task's device (loading
 * it on first use), and captions the partition's rows through a bounded in-flight window. The lease
 * is returned when the task completes; the engine stays for the next task.
 */
final class CaptionPartition implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final ShippedModel model;
    private final CaptionSettings settings;
    private final Broadcast<SerializableConfiguration> hadoopConf;
    private final CaptionMetrics metrics;
    private final boolean hasImageColumn;

    CaptionPartition(ShippedModel model, CaptionSettings settings, Broadcast<SerializableConfiguration> hadoopConf,
                     CaptionMetrics metrics, boolean hasImageColumn) {
        this.model = model;
        this.settings = settings;
        this.hadoopConf = hadoopConf;
        this.metrics = metrics;
        this.hasImageColumn = hasImageColumn;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        TaskContext ctx = TaskContext.get();
        EngineOptions options = TaskDevices.engineOptions(settings, TaskDevices.gpuAddress(ctx), TaskDevices.executorCores());
        var lease = ExecutorEngines.acquire(model, options, settings.localModelDir());
        if (ctx != null) ctx.addTaskCompletionListener((TaskCompletionListener) c -> lease.close());
        if (lease.loadedNow()) metrics.recordModelLoad(lease.value().loadDescription());
        ImageFileReader reader = hasImageColumn ? null : new ImageFileReader(hadoopConf.value().value(), settings.maxFileBytes());
        var loaded = lease.value();
        int inFlight = settings.inFlightPerTask(options.maxBatch(), TaskDevices.taskSlots());
        return new CaptionWindow(rows, hasImageColumn, reader, loaded.engine(), loaded.identity(), settings, inFlight, metrics);
    }
}
