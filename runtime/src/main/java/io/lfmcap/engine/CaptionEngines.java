package io.lfmcap.engine;

import io.lfmcap.cpu.CpuBackend;
import io.lfmcap.cuda.CudaBackend;
import io.lfmcap.cuda.CudaDevices;
import io.lfmcap.cuda.CudaOptions;
import io.lfmcap.image.ImageDecoder;
import io.lfmcap.image.ImageProcessor;
import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.text.CaptionPrompt;
import io.lfmcap.text.Tokenizer;

/** Builds a {@link CaptionEngine} for a model on the device the options ask for. */
public final class CaptionEngines {
    private CaptionEngines() {}

    /**
     * An engine over {@code model}'s weights. The engine does not own the package: close the engine
     * first, then the package.
     *
     * @throws IllegalStateException when the requested backend cannot run here
     */
    public static CaptionEngine open(ModelPackage model, EngineOptions options) {
        ModelConfig config = model.config();
        Tokenizer tokenizer = Tokenizer.fromJson(model.tokenizerJson(), model.name() + "/tokenizer.json");
        try {
            ModelBackend backend = backend(model, options);
            ModelRequestPreparer preparer = new ModelRequestPreparer(
                    new ImageDecoder(options.maxImagePixels(), ImageDecoder.DEFAULT_MAX_BYTES),
                    new ImageProcessor(model.processor()),
                    new CaptionPrompt(tokenizer, model.processor().useImageSpecialTokens()));
            String description = model.name() + " on " + backend.device();
            return new BatchingCaptionEngine(backend, preparer, ids -> tokenizer.decode(ids, true),
                    config.imageTokenId(), config.text().eosTokenId(),
                    preprocessThreads(backend instanceof CudaBackend, options.threads(), Runtime.getRuntime().availableProcessors()),
                    options.maxBatch(), Runtime.getRuntime().maxMemory() / 4, options.maxSequenceTokens(), description, tokenizer);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    /**
     * The preprocessing pool's size: {@code threads}, but with a GPU backend at most the cores less two, which the
     * engine's thread and the GPU worker need when a wave of requests is admitted and the pool refills at full speed
     * (450M, batch 2048, 16 cores, s13-8: 14 threads 1,004.5 and 1,001.3 images/s against 988.4 and 998.4 for 16).
     */
    static int preprocessThreads(boolean gpu, int threads, int cores) {
        return Math.max(1, gpu ? Math.min(threads, cores - 2) : threads);
    }

    /** CPU, CUDA, or (AUTO) CUDA when device {@code deviceIndex} is usable, else the CPU. */
    private static ModelBackend backend(ModelPackage model, EngineOptions options) {
        return switch (options.backend()) {
            case CPU -> CpuBackend.load(model.config(), model.weights(), options.threads());
            case CUDA -> {
                if (!CudaDevices.usable(options.deviceIndex()))
                    throw new IllegalStateException("the CUDA backend cannot run here: " + cudaProblem(options.deviceIndex())
                            + "; use --backend cpu (or auto)");
                yield cuda(model, options);
            }
            case AUTO -> CudaDevices.usable(options.deviceIndex()) ? cuda(model, options)
                    : CpuBackend.load(model.config(), model.weights(), options.threads());
        };
    }

    private static ModelBackend cuda(ModelPackage model, EngineOptions options) {
        return CudaBackend.load(model.config(), model.weights(), options.deviceIndex(), CudaOptions.forEngine(options));
    }

    private static String cudaProblem(int deviceIndex) {
        String reason = CudaDevices.unavailableReason();
        return reason != null ? reason : "device " + deviceIndex + " does not exist (" + CudaDevices.count() + " visible)";
    }
}
