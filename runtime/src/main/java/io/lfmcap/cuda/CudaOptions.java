package io.lfmcap.cuda;

import io.lfmcap.engine.EngineOptions;
import java.nio.file.Path;

/**
 * Sizes and switches of the CUDA backend, all fixed at load: the device memory it takes is decided then
 * (weights, vision and decoder workspaces, KV cache) and never grows.
 *
 * @param maxSequences      sequences alive at once (KV-cache slots; the engine's max batch)
 * @param maxSequenceTokens longest sequence (prompt, image tokens and generated); prefill takes a whole prompt in one pass
 * @param maxPrefillTokens  rows of one prefill pass (several prompts packed), at least maxSequenceTokens
 * @param maxVisionPatches  patches of one vision pass (1024 per 512x512 tile); more views run in several passes
 * @param memoryFraction    share of the device's free memory (after weights and workspaces) the KV cache may take
 * @param kvCacheTokens     KV-cache size in tokens over all sequences; 0 sizes it for maxSequences x maxSequenceTokens
 *                          (or what fits)
 * @param kernelCacheDir    where compiled kernels are cached (null: no cache)
 * @param fusedEpilogues    cuBLASLt bias / GELU epilogues (else cuBLAS plus a kernel)
 * @param simpleAttention   the plain fp32 attention kernel instead of the tensor-core one
 * @param decodeGraphs      replay decode steps as CUDA graphs, one per batch size (DecodeGraphs)
 * @param smallBatchKernels decode steps of up to 8 sequences through decode.cu's fused kernels (else cuBLAS and the
 *                          general kernels, as larger steps)
 * @param logitCandidates   host picks that need only a few logits (ModelBackend.Candidates: the recommended min-p
 *                          sampling, greedy under a repetition penalty) get only those (LogitCandidates), not the row
 * @param gemmTuning        at load, time cuBLASLt's candidate algorithms for the vision and prefill linear layers and
 *                          keep the fastest (Gemm.tune); else cuBLAS's first choice
 * @param cudnnAttention    the vision tower's attention through cuDNN's fused SDPA when cuDNN 9 loads and has an engine
 *                          for the card (CudnnAttention); else, or for shapes cuDNN refuses, the flash kernels
 */
public record CudaOptions(int maxSequences, int maxSequenceTokens, int maxPrefillTokens, int maxVisionPatches,
                          double memoryFraction, long kvCacheTokens, Path kernelCacheDir, boolean fusedEpilogues,
                          boolean simpleAttention, boolean decodeGraphs, boolean smallBatchKernels, boolean logitCandidates,
                          boolean gemmTuning, boolean cudnnAttention) {
    /** System properties read by {@link #defaults()}. */
    public static final String CACHE_DIR_PROPERTY = "lfmcap.cuda.cacheDir";
    public static final String FUSED_PROPERTY = "lfmcap.cuda.fusedEpilogues";
    public static final String ATTENTION_PROPERTY = "lfmcap.cuda.attention";
    public static final String MEMORY_FRACTION_PROPERTY = "lfmcap.cuda.memoryFraction";
    public static final String GRAPHS_PROPERTY = "lfmcap.cuda.graphs";
    public static final String KV_CACHE_TOKENS_PROPERTY = "lfmcap.cuda.kvCacheTokens";
    public static final String VISION_PATCHES_PROPERTY = "lfmcap.cuda.maxVisionPatches";
    public static final String PREFILL_TOKENS_PROPERTY = "lfmcap.cuda.maxPrefillTokens";
    public static final String SMALL_BATCH_PROPERTY = "lfmcap.cuda.smallBatchKernels";
    public static final String CANDIDATES_PROPERTY = "lfmcap.cuda.logitCandidates";
    public static final String GEMM_TUNING_PROPERTY = "lfmcap.cuda.gemmTuning";
    public static final String CUDNN_ATTENTION_PROPERTY = "lfmcap.cuda.cudnnAttention";

    public CudaOptions {
        if (maxSequences < 1) throw new IllegalArgumentException("max sequences must be >= 1, got " + maxSequences);
        if (maxSequenceTokens < 1) throw new IllegalArgumentException("max sequence tokens must be >= 1, got " + maxSequenceTokens);
        if (maxVisionPatches < 1) throw new IllegalArgumentException("max vision patches must be >= 1, got " + maxVisionPatches);
        if (!(memoryFraction > 0 && memoryFraction <= 1)) throw new IllegalArgumentException("memory fraction must be in (0, 1], got " + memoryFraction);
        if (kvCacheTokens < 0) throw new IllegalArgumentException("KV cache tokens must be >= 0, got " + kvCacheTokens);
        maxPrefillTokens = Math.max(maxPrefillTokens, maxSequenceTokens);
    }

    /**
     * 64 sequences of up to 4096 tokens, prefill passes of 16384 rows, vision passes of 32 tiles, 90% of free
     * memory; system properties {@value #CACHE_DIR_PROPERTY} (default ~/.cache/lfmcap/cuda-kernels),
     * {@value #FUSED_PROPERTY} (true), {@value #ATTENTION_PROPERTY} (flash | simple) and
     * {@value #MEMORY_FRACTION_PROPERTY}, {@value #GRAPHS_PROPERTY} (true), {@value #SMALL_BATCH_PROPERTY} (true),
     * {@value #CANDIDATES_PROPERTY} (true), {@value #GEMM_TUNING_PROPERTY} (true), {@value #CUDNN_ATTENTION_PROPERTY} (true),
     * and the sizes
     * {@value #KV_CACHE_TOKENS_PROPERTY} (0: as many as maxSequences x maxSequenceTokens), {@value #VISION_PATCHES_PROPERTY}
     * (32768) and {@value #PREFILL_TOKENS_PROPERTY} (16384) override them (to fit a memory budget: docs/CUDA.md).
     */
    public static CudaOptions defaults() {
        String dir = System.getProperty(CACHE_DIR_PROPERTY);
        Path cache = dir != null ? (dir.isBlank() ? null : Path.of(dir))
                : Path.of(System.getProperty("user.home"), ".cache", "lfmcap", "cuda-kernels");
        boolean fused = !"false".equalsIgnoreCase(System.getProperty(FUSED_PROPERTY, "true"));
        boolean simple = "simple".equalsIgnoreCase(System.getProperty(ATTENTION_PROPERTY, "flash"));
        double fraction = Double.parseDouble(System.getProperty(MEMORY_FRACTION_PROPERTY, "0.9"));
        boolean graphs = !"false".equalsIgnoreCase(System.getProperty(GRAPHS_PROPERTY, "true"));
        long kvTokens = Long.parseLong(System.getProperty(KV_CACHE_TOKENS_PROPERTY, "0"));
        int visionPatches = Integer.parseInt(System.getProperty(VISION_PATCHES_PROPERTY, "32768"));
        int prefillTokens = Integer.parseInt(System.getProperty(PREFILL_TOKENS_PROPERTY, "16384"));
        boolean smallBatch = !"false".equalsIgnoreCase(System.getProperty(SMALL_BATCH_PROPERTY, "true"));
        boolean candidates = !"false".equalsIgnoreCase(System.getProperty(CANDIDATES_PROPERTY, "true"));
        boolean tuning = !"false".equalsIgnoreCase(System.getProperty(GEMM_TUNING_PROPERTY, "true"));
        boolean cudnn = !"false".equalsIgnoreCase(System.getProperty(CUDNN_ATTENTION_PROPERTY, "true"));
        return new CudaOptions(64, 4096, prefillTokens, visionPatches, fraction, kvTokens, cache, fused, simple, graphs, smallBatch, candidates,
                tuning, cudnn);
    }

    /** {@link #defaults()} sized for an engine: its max batch and longest sequence. */
    public static CudaOptions forEngine(EngineOptions engine) {
        return defaults().withMaxSequences(engine.maxBatch()).withMaxSequenceTokens(engine.maxSequenceTokens());
    }

    public CudaOptions withMaxSequences(int n) {
        return new CudaOptions(n, maxSequenceTokens, maxPrefillTokens, maxVisionPatches, memoryFraction, kvCacheTokens, kernelCacheDir, fusedEpilogues, simpleAttention, decodeGraphs, smallBatchKernels, logitCandidates, gemmTuning, cudnnAttention);
    }

    public CudaOptions withMaxSequenceTokens(int n) {
        return new CudaOptions(maxSequences, n, maxPrefillTokens, maxVisionPatches, memoryFraction, kvCacheTokens, kernelCacheDir, fusedEpilogues, simpleAttention, decodeGraphs, smallBatchKernels, logitCandidates, gemmTuning, cudnnAttention);
    }

    public CudaOptions withMaxPrefillTokens(int n) {
        return new CudaOptions(maxSequences, maxSequenceTokens, n, maxVisionPatches, memoryFraction, kvCacheTokens, kernelCacheDir, fusedEpilogues, simpleAttention, decodeGraphs, smallBatchKernels, logitCandidates, gemmTuning, cudnnAttention);
    }

    public CudaOptions withMaxVisionPatches(int n) {
        return new CudaOptions(maxSequences, maxSequenceTokens, maxPrefillTokens, n, memoryFraction, kvCacheTokens, kernelCacheDir, fusedEpilogues, simpleAttention, decodeGraphs, smallBatchKernels, logitCandidates, gemmTuning, cudnnAttention);
    }

    public CudaOptions withKvCacheTokens(long n) {
        return new CudaOptions(maxSequences, maxSequenceTokens, maxPrefillTokens, maxVisionPatches, memoryFraction, n, kernelCacheDir, fusedEpilogues, simpleAttention, decodeGraphs, smallBatchKernels, logitCandidates, gemmTuning, cudnnAttention);
    }

    public CudaOptions withFusedEpilogues(boolean b) {
        return new CudaOptions(maxSequences, maxSequenceTokens, maxPrefillTokens, maxVisionPatches, memoryFraction, kvCacheTokens, kernelCacheDir, b, simpleAttention, decodeGraphs, smallBatchKernels, logitCandidates, gemmTuning, cudnnAttention);
    }

    public CudaOptions withSimpleAttention(boolean b) {
        return new CudaOptions(maxSequences, maxSequenceTokens, maxPrefillTokens, maxVisionPatches, memoryFraction, kvCacheTokens, kernelCacheDir, fusedEpilogues, b, decodeGraphs, smallBatchKernels, logitCandidates, gemmTuning, cudnnAttention);
    }

    public CudaOptions withDecodeGraphs(boolean b) {
        return new CudaOptions(maxSequences, maxSequenceTokens, maxPrefillTokens, maxVisionPatches, memoryFraction, kvCacheTokens, kernelCacheDir, fusedEpilogues, simpleAttention, b, smallBatchKernels, logitCandidates, gemmTuning, cudnnAttention);
    }

    public CudaOptions withSmallBatchKernels(boolean b) {
        return new CudaOptions(maxSequences, maxSequenceTokens, maxPrefillTokens, maxVisionPatches, memoryFraction, kvCacheTokens, kernelCacheDir, fusedEpilogues, simpleAttention, decodeGraphs, b, logitCandidates, gemmTuning, cudnnAttention);
    }

    public CudaOptions withLogitCandidates(boolean b) {
        return new CudaOptions(maxSequences, maxSequenceTokens, maxPrefillTokens, maxVisionPatches, memoryFraction, kvCacheTokens, kernelCacheDir, fusedEpilogues, simpleAttention, decodeGraphs, smallBatchKernels, b, gemmTuning, cudnnAttention);
    }

    public CudaOptions withGemmTuning(boolean b) {
        return new CudaOptions(maxSequences, maxSequenceTokens, maxPrefillTokens, maxVisionPatches, memoryFraction, kvCacheTokens, kernelCacheDir, fusedEpilogues, simpleAttention, decodeGraphs, smallBatchKernels, logitCandidates, b, cudnnAttention);
    }

    public CudaOptions withCudnnAttention(boolean b) {
        return new CudaOptions(maxSequences, maxSequenceTokens, maxPrefillTokens, maxVisionPatches, memoryFraction, kvCacheTokens, kernelCacheDir, fusedEpilogues, simpleAttention, decodeGraphs, smallBatchKernels, logitCandidates, gemmTuning, b);
    }
}
