package io.lfmcap.pipeline;

import io.lfmcap.engine.CaptionResult;
import java.io.Serializable;
import java.util.List;
import org.apache.spark.SparkContext;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * The accumulators of one captioning stage, named {@code lfmcap.*} in the Spark UI: rows, ok rows,
 * failures by error class, prompt and generated tokens, and one entry per model load (which executor,
 * which process, how long).
 */
public final class CaptionMetrics implements Serializable {
    private static final long serialVersionUID = 1L;

    private final LongAccumulator rows;
    private final LongAccumulator ok;
    private final CountsAccumulator failed;
    private final LongAccumulator promptTokens;
    private final LongAccumulator generatedTokens;
    private final CollectionAccumulator<String> modelLoads;

    private CaptionMetrics(SparkContext sc) {
        rows = sc.longAccumulator("lfmcap.rows");
        ok = sc.longAccumulator("lfmcap.ok");
        failed = new CountsAccumulator();
        sc.register(failed, "lfmcap.failed");
        promptTokens = sc.longAccumulator("lfmcap.prompt_tokens");
        generatedTokens = sc.longAccumulator("lfmcap.generated_tokens");
        modelLoads = sc.collectionAccumulator("lfmcap.model_loads");
    }

    /** New accumulators, registered with {@code sc} (driver only). */
    public static CaptionMetrics register(SparkContext sc) {
        return new CaptionMetrics(sc);
    }

    void recordOk(CaptionResult r) {
        rows.add(1);
        ok.add(1);
        promptTokens.add(r.promptTokens());
        generatedTokens.add(r.generatedTokens());
    }

    void recordFailure(String errorClass) {
        rows.add(1);
        failed.add(errorClass);
    }

    void recordModelLoad(String where) { modelLoads.add(where); }

    /** The totals so far (driver; tasks still running are not in them yet). */
    public CaptionSummary summary(double wallSeconds) {
        return new CaptionSummary(rows.value(), ok.value(), failed.value(), promptTokens.value(),
                generatedTokens.value(), wallSeconds, List.copyOf(modelLoads.value()));
    }
}
