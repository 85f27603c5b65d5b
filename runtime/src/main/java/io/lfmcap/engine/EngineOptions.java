package io.lfmcap.engine;

/**
 * How an engine is built and how hard it runs.
 *
 * @param backend         which device runs the model
 * @param threads         CPU threads for the math (CPU backend) and for preprocessing
 * @param maxBatch        most sequences decoded together in one step
 * @param deviceIndex     GPU ordinal for the CUDA backend (Spark hands executors GPU addresses)
 * @param maxImagePixels  images whose header declares more pixels are refused before decoding
 * @param maxSequenceTokens longest sequence (prompt + image tokens + generated) a request may reach
 */
public record EngineOptions(Backend backend, int threads, int maxBatch, int deviceIndex,
                            long maxImagePixels, int maxSequenceTokens) {

    public enum Backend {
        /** CUDA when a usable device is present, else the CPU. */
        AUTO,
        CPU,
        CUDA
    }

    public static final long DEFAULT_MAX_IMAGE_PIXELS = 89_478_485L; // PIL's Image.MAX_IMAGE_PIXELS

    public EngineOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (maxBatch < 1) throw new IllegalArgumentException("max batch must be >= 1, got " + maxBatch);
        if (deviceIndex < 0) throw new IllegalArgumentException("device index must be >= 0, got " + deviceIndex);
        if (maxImagePixels < 1) throw new IllegalArgumentException("max image pixels must be >= 1, got " + maxImagePixels);
        if (maxSequenceTokens < 16) throw new IllegalArgumentException("max sequence tokens must be >= 16, got " + maxSequenceTokens);
    }

    public static EngineOptions defaults() {
        return new EngineOptions(Backend.AUTO, Runtime.getRuntime().availableProcessors(), 8, 0,
                DEFAULT_MAX_IMAGE_PIXELS, 4096);
    }

    public EngineOptions withBackend(Backend b) { return new EngineOptions(b, threads, maxBatch, deviceIndex, maxImagePixels, maxSequenceTokens); }

    public EngineOptions withThreads(int t) { return new EngineOptions(backend, t, maxBatch, deviceIndex, maxImagePixels, maxSequenceTokens); }

    public EngineOptions withMaxBatch(int b) { return new EngineOptions(backend, threads, b, deviceIndex, maxImagePixels, maxSequenceTokens); }

    public EngineOptions withDeviceIndex(int d) { return new EngineOptions(backend, threads, maxBatch, d, maxImagePixels, maxSequenceTokens); }

    public EngineOptions withMaxImagePixels(long p) { return new EngineOptions(backend, threads, maxBatch, deviceIndex, p, maxSequenceTokens); }
}
