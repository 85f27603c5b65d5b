package io.lfmcap.pipeline;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What a captioning run did, from its accumulators: rows, failures by class, tokens, throughput and
 * where the model was loaded. Counts come from successful tasks; a task re-run after its output was
 * lost (rare: the stage has no shuffle after captioning) counts twice.
 */
public record CaptionSummary(long rows, long ok, Map<String, Long> failedByClass, long promptTokens,
                             long generatedTokens, double wallSeconds, List<String> modelLoads) {

    public long failed() { return rows - ok; }

    public double imagesPerSecond() { return wallSeconds > 0 ? rows / wallSeconds : 0; }

    public double tokensPerSecond() { return wallSeconds > 0 ? generatedTokens / wallSeconds : 0; }

    /** One line for the driver log, e.g. {@code rows 100, ok 97, failed 3 (decode_error 2, too_large 1), ...}. */
    public String format() {
        String failures = failedByClass.isEmpty() ? "" : failedByClass.entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ", " (", ")"));
        return String.format(Locale.ROOT,
                "rows %d, ok %d, failed %d%s, %.2f images/s, %.1f generated tokens/s (%d generated, %d prompt tokens), %.1f s, model loads %d%s",
                rows, ok, failed(), failures, imagesPerSecond(), tokensPerSecond(), generatedTokens, promptTokens,
                wallSeconds, modelLoads.size(), modelLoads.isEmpty() ? "" : " " + modelLoads);
    }
}
