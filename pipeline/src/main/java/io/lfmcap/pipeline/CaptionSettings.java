package io.lfmcap.pipeline;

import io.lfmcap.engine.CaptionRequest;
import io.lfmcap.engine.EngineOptions;
import io.lfmcap.engine.SamplingParams;
import java.io.Serializable;
import java.util.Objects;

/**
 * What to ask of the model and how hard each executor runs; shipped to executors with the task.
 *
 * @param prompt           the instruction put after the image
 * @param maxNewTokens     longest caption, in tokens
 * @param temperature      sampling settings as in {@link SamplingParams} (temperature 0 = greedy)
 * @param seed             the sampling seed of every request, so a retried task writes the same captions
 * @param backend          AUTO: the task's Spark GPU address when GPU scheduling is on, else the CPU;
 *                         CUDA: the task's GPU address, or device 0 without GPU scheduling; CPU
 * @param engineThreads    threads of each engine for preprocessing (and the math on the CPU backend);
 *                         0: the executor's {@code spark.executor.cores}, else its processors
 * @param maxBatch         sequences one engine decodes together (shared by all tasks of the executor); 0: by
 *                         device, {@value #GPU_MAX_BATCH} on a GPU, the engine's default (8) on the CPU
 * @param maxImagePixels   images declaring more pixels become {@code too_large} rows before decoding
 * @param maxSequenceTokens longest prompt + image tokens + caption a request may reach
 * @param inFlight         requests one task keeps submitted ahead of the row it is writing (each holds
 *                         its decoded image until the engine has preprocessed it); 0: enough that the executor's
 *                         tasks together fill a batch, at least {@value #DEFAULT_IN_FLIGHT} ({@link #inFlightPerTask})
 * @param maxFileBytes     image files larger than this become {@code too_large} rows unread
 * @param localModelDir    executor-local folder for model copies, or null for Spark's per-application
 *                         work folder ({@code SparkFiles.getRootDirectory()})
 */
public record CaptionSettings(String prompt, int maxNewTokens, double temperature, double topP, double minP,
                              double repetitionPenalty, long seed, EngineOptions.Backend backend,
                              int engineThreads, int maxBatch, long maxImagePixels, int maxSequenceTokens,
                              int inFlight, long maxFileBytes, String localModelDir) implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final int DEFAULT_MAX_NEW_TOKENS = 128;
    public static final int DEFAULT_IN_FLIGHT = 8;
    /** The batch a GPU engine decodes when the job does not say (docs/BENCHMARKS.md: 450M 509 images/s at 128). */
    public static final int GPU_MAX_BATCH = 128;
    public static final long DEFAULT_MAX_FILE_BYTES = 64L << 20;

    public CaptionSettings {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(backend, "backend");
        if (maxNewTokens < 1) throw new IllegalArgumentException("max new tokens must be >= 1, got " + maxNewTokens);
        if (inFlight < 0) throw new IllegalArgumentException("in-flight requests per task must be >= 1 (0: by batch), got " + inFlight);
        if (maxBatch < 0) throw new IllegalArgumentException("max batch must be >= 1 (0: by device), got " + maxBatch);
        if (maxFileBytes < 1) throw new IllegalArgumentException("max file bytes must be >= 1, got " + maxFileBytes);
        if (engineThreads < 0) throw new IllegalArgumentException("engine threads must be >= 0 (0: the executor's cores), got " + engineThreads);
        // Validate now, on the driver, rather than in every task (fields are not assigned yet here).
        new SamplingParams(temperature, topP, minP, repetitionPenalty, seed);
        new EngineOptions(backend, Math.max(1, engineThreads), Math.max(1, maxBatch), 0, maxImagePixels, maxSequenceTokens);
    }

    /** Greedy decoding, the default prompt, engine defaults, Spark's default work folder. */
    public static CaptionSettings defaults() {
        EngineOptions e = EngineOptions.defaults();
        return new CaptionSettings(CaptionRequest.DEFAULT_PROMPT, DEFAULT_MAX_NEW_TOKENS, 0, 1, 0, 1, 0,
                EngineOptions.Backend.AUTO, 0, 0, e.maxImagePixels(), e.maxSequenceTokens(), 0, DEFAULT_MAX_FILE_BYTES, null);
    }

    public SamplingParams sampling() { return new SamplingParams(temperature, topP, minP, repetitionPenalty, seed); }

    /**
     * Engine options on {@code resolved} (the backend decided per task, {@link TaskDevices}) for one device: the batch
     * by device when not given.
     */
    EngineOptions engineOptions(EngineOptions.Backend resolved, int deviceIndex, int executorCores) {
        int threads = engineThreads > 0 ? engineThreads : executorCores;
        int batch = maxBatch > 0 ? maxBatch : resolved == EngineOptions.Backend.CUDA ? GPU_MAX_BATCH : EngineOptions.defaults().maxBatch();
        return new EngineOptions(resolved, threads, batch, deviceIndex, maxImagePixels, maxSequenceTokens);
    }

    /**
     * Requests one task keeps submitted: as given, or (0) enough that the executor's {@code taskSlots} tasks, which
     * share one engine, can fill a batch of {@code engineBatch} together, at least {@value #DEFAULT_IN_FLIGHT}. (More
     * would keep the next batch preprocessed ahead, but each request holds its decoded image meanwhile:
     * docs/spark.md.)
     */
    public int inFlightPerTask(int engineBatch, int taskSlots) {
        if (inFlight > 0) return inFlight;
        int slots = Math.max(1, taskSlots);
        return Math.max(DEFAULT_IN_FLIGHT, (engineBatch + slots - 1) / slots);
    }

    public CaptionSettings withPrompt(String p) { return new CaptionSettings(p, maxNewTokens, temperature, topP, minP, repetitionPenalty, seed, backend, engineThreads, maxBatch, maxImagePixels, maxSequenceTokens, inFlight, maxFileBytes, localModelDir); }

    public CaptionSettings withMaxNewTokens(int n) { return new CaptionSettings(prompt, n, temperature, topP, minP, repetitionPenalty, seed, backend, engineThreads, maxBatch, maxImagePixels, maxSequenceTokens, inFlight, maxFileBytes, localModelDir); }

    public CaptionSettings withSampling(SamplingParams s) { return new CaptionSettings(prompt, maxNewTokens, s.temperature(), s.topP(), s.minP(), s.repetitionPenalty(), s.seed(), backend, engineThreads, maxBatch, maxImagePixels, maxSequenceTokens, inFlight, maxFileBytes, localModelDir); }

    public CaptionSettings withBackend(EngineOptions.Backend b) { return new CaptionSettings(prompt, maxNewTokens, temperature, topP, minP, repetitionPenalty, seed, b, engineThreads, maxBatch, maxImagePixels, maxSequenceTokens, inFlight, maxFileBytes, localModelDir); }

    public CaptionSettings withEngineThreads(int t) { return new CaptionSettings(prompt, maxNewTokens, temperature, topP, minP, repetitionPenalty, seed, backend, t, maxBatch, maxImagePixels, maxSequenceTokens, inFlight, maxFileBytes, localModelDir); }

    public CaptionSettings withMaxBatch(int b) { return new CaptionSettings(prompt, maxNewTokens, temperature, topP, minP, repetitionPenalty, seed, backend, engineThreads, b, maxImagePixels, maxSequenceTokens, inFlight, maxFileBytes, localModelDir); }

    public CaptionSettings withMaxImagePixels(long p) { return new CaptionSettings(prompt, maxNewTokens, temperature, topP, minP, repetitionPenalty, seed, backend, engineThreads, maxBatch, p, maxSequenceTokens, inFlight, maxFileBytes, localModelDir); }

    public CaptionSettings withMaxSequenceTokens(int t) { return new CaptionSettings(prompt, maxNewTokens, temperature, topP, minP, repetitionPenalty, seed, backend, engineThreads, maxBatch, maxImagePixels, t, inFlight, maxFileBytes, localModelDir); }

    public CaptionSettings withInFlight(int n) { return new CaptionSettings(prompt, maxNewTokens, temperature, topP, minP, repetitionPenalty, seed, backend, engineThreads, maxBatch, maxImagePixels, maxSequenceTokens, n, maxFileBytes, localModelDir); }

    public CaptionSettings withMaxFileBytes(long b) { return new CaptionSettings(prompt, maxNewTokens, temperature, topP, minP, repetitionPenalty, seed, backend, engineThreads, maxBatch, maxImagePixels, maxSequenceTokens, inFlight, b, localModelDir); }

    public CaptionSettings withLocalModelDir(String d) { return new CaptionSettings(prompt, maxNewTokens, temperature, topP, minP, repetitionPenalty, seed, backend, engineThreads, maxBatch, maxImagePixels, maxSequenceTokens, inFlight, maxFileBytes, d); }
}
