package io.lfmcap.cpu;

import io.lfmcap.engine.ModelBackend;
import io.lfmcap.image.PatchGrid;
import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.WeightStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The fp32 reference backend: LFM2-VL in plain Java (docs/model-lfm2-vl.md sections 2, 3, 5), the oracle
 * every other backend is checked against, and the path users run without a GPU.
 *
 * <p>Weights are copied out of the {@link WeightStore} at load (bf16 kept as bf16 and widened exactly inside
 * the matmul kernels, f16 widened to fp32, f32 as is), so the store may be closed once {@link #load}
 * returns. Math is fp32 with the reference's operation order; matmuls use the Vector API and
 * {@code threads} threads. Not thread-safe: one caller at a time (the engine's worker).
 */
public final class CpuBackend implements ModelBackend {
    /** System property overriding the default thread count. */
    public static final String THREADS_PROPERTY = "lfmcap.cpu.threads";

    private final Parallel parallel;
    private final VisionEncoder vision;
    private final Projector projector;
    private final TextDecoder decoder;
    private final long weightBytes;
    private boolean closed;

    private CpuBackend(Parallel parallel, VisionEncoder vision, Projector projector, TextDecoder decoder, long weightBytes) {
        this.parallel = parallel;
        this.vision = vision;
        this.projector = projector;
        this.decoder = decoder;
        this.weightBytes = weightBytes;
    }

    /**
     * Loads every weight the config names from {@code weights} (shapes checked against the config).
     *
     * @param threads worker threads for matmuls and attention, at least 1 (see {@link #defaultThreads()})
     */
    public static CpuBackend load(ModelConfig config, WeightStore weights, int threads) {
        Parallel parallel = new Parallel(threads);
        try {
            WeightLoader loader = new WeightLoader(weights, parallel);
            VisionEncoder vision = new VisionEncoder(config, loader, parallel);
            Projector projector = new Projector(config, loader, parallel);
            TextDecoder decoder = new TextDecoder(config.text(), loader, parallel);
            return new CpuBackend(parallel, vision, projector, decoder, loader.bytes());
        } catch (RuntimeException | Error e) {
            parallel.close();
            throw e;
        }
    }

    /** {@link #load(ModelConfig, WeightStore, int)} with {@link #defaultThreads()}. */
    public static CpuBackend load(ModelConfig config, WeightStore weights) {
        return load(config, weights, defaultThreads());
    }

    /** The system property {@value #THREADS_PROPERTY} if set, else the number of available processors. */
    public static int defaultThreads() {
        String v = System.getProperty(THREADS_PROPERTY);
        if (v == null || v.isBlank()) return Runtime.getRuntime().availableProcessors();
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= 1) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("system property " + THREADS_PROPERTY + "='" + v + "' is not a positive integer");
    }

    @Override
    public float[] encodeImage(List<PatchGrid> views) {
        ensureOpen();
        int factor = projector.factor();
        int total = 0;
        for (PatchGrid view : views) {
            if (view.gridH() % factor != 0 || view.gridW() % factor != 0)
                throw new IllegalArgumentException("view patch grid " + view.gridH() + "x" + view.gridW()
                        + " is not divisible by the downsample factor " + factor);
            total += view.numTokens(factor);
        }
        int hidden = decoder.hiddenSize();
        float[] out = new float[total * hidden];
        int at = 0;
        for (PatchGrid view : views) {
            float[] features = vision.forward(view);
            float[] tokens = projector.forward(features, view.gridH(), view.gridW());
            System.arraycopy(tokens, 0, out, at, tokens.length);
            at += tokens.length;
        }
        return out;
    }

    @Override
    public float[] embedTokens(int[] ids) {
        ensureOpen();
        float[] out = new float[ids.length * decoder.hiddenSize()];
        decoder.embed(ids, out);
        return out;
    }

    @Override
    public SequenceState newSequence(int maxTokens) {
        ensureOpen();
        return decoder.newSequence(maxTokens);
    }

    @Override
    public float[] prefill(SequenceState sequence, float[] embeddings, int length) {
        ensureOpen();
        int hidden = decoder.hiddenSize();
        if (length < 1) throw new IllegalArgumentException("prefill needs at least 1 token, got " + length);
        if ((long) length * hidden > embeddings.length)
            throw new IllegalArgumentException("prefill of " + length + " tokens needs " + (long) length * hidden
                    + " embedding values, got " + embeddings.length);
        float[] x = Arrays.copyOf(embeddings, length * hidden);
        return decoder.forward(x, length, List.of(new Segment(cpuSequence(sequence), 0, length)));
    }

    @Override
    public float[][] decode(List<SequenceState> sequences, int[] tokens) {
        ensureOpen();
        if (tokens.length != sequences.size())
            throw new IllegalArgumentException(sequences.size() + " sequences but " + tokens.length + " tokens");
        if (sequences.isEmpty()) return new float[0][];
        Set<CpuSequence> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Segment> segments = new ArrayList<>(sequences.size());
        for (int i = 0; i < sequences.size(); i++) {
            CpuSequence s = cpuSequence(sequences.get(i));
            if (!seen.add(s)) throw new IllegalArgumentException("sequence at index " + i + " appears twice in one decode step");
            segments.add(new Segment(s, i, 1));
        }
        float[] x = embedTokens(tokens);
        float[] logits = decoder.forward(x, tokens.length, segments);
        int vocab = decoder.vocabSize();
        float[][] out = new float[tokens.length][];
        for (int i = 0; i < out.length; i++) out[i] = Arrays.copyOfRange(logits, i * vocab, (i + 1) * vocab);
        return out;
    }

    @Override
    public int hiddenSize() { return decoder.hiddenSize(); }

    @Override
    public int vocabSize() { return decoder.vocabSize(); }

    @Override
    public String device() {
        return "cpu (" + parallel.threads() + (parallel.threads() == 1 ? " thread" : " threads") + ", "
                + PackedMatrix.FLOATS.vectorBitSize() + "-bit vectors)";
    }

    /** Worker threads used by matmuls and attention. */
    public int threads() { return parallel.threads(); }

    /** Bytes of weights held in memory (bf16 weights count 2 bytes per element, others 4). */
    public long weightBytes() { return weightBytes; }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        parallel.close();
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("CPU backend is closed");
    }

    private CpuSequence cpuSequence(SequenceState s) {
        if (!(s instanceof CpuSequence cpu) || !cpu.ownedBy(decoder))
            throw new IllegalArgumentException("sequence was not created by this CPU backend");
        return cpu;
    }
}
