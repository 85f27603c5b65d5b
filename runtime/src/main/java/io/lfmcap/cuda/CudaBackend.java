package io.lfmcap.cuda;

import io.lfmcap.engine.ModelBackend;
import io.lfmcap.image.PatchGrid;
import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.WeightStore;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * LFM2-VL on one CUDA device through JavaCPP: bf16 weights uploaded once per process per GPU, bf16
 * activations with fp32 accumulation, fp32 residual streams, softmax and norm statistics; cuBLAS/cuBLASLt
 * GEMMs and NVRTC-compiled kernels (kernels.cu). The CPU backend ({@code io.lfmcap.cpu.CpuBackend}) is its
 * oracle in tests.
 * <pre>
 *   load:    device context, kernels (NVRTC, disk-cached), weights, workspaces, then a KV cache from what
 *            memory is left (CudaOptions) -- no device allocation after this
 *   prefill: prompts packed into passes; every view of a pass through the vision tower together
 *            (VisionTower), image features scattered into the prompt rows on the device (embed_rows),
 *            one packed decoder pass (TextDecoder), first tokens by device argmax or logits to the host
 *   decode:  one row per sequence, one pass, argmax on the device: only token ids cross PCIe
 * </pre>
 * All device work runs on one worker thread ({@link GpuWorker}) that owns the stream, handles and buffers;
 * any number of threads may call. A CUDA error surfaces as a {@link CudaException} naming the operation; an
 * error that leaves the device context unusable marks the backend broken, and every later call says so.
 */
public final class CudaBackend implements ModelBackend {
    private static final int PASS_ARRAY_INTS = 4 << 20;

    private final ModelConfig config;
    private final CudaOptions options;
    private final GpuWorker worker;
    private GpuContext ctx;
    private DeviceWeights weights;
    private VisionTower vision;
    private TextDecoder decoder;
    private KvCachePool pool;
    private PassUpload up;
    private PinnedBuffer transfer;
    private LogitCandidates candidates;  // null: host picks read whole rows (CudaOptions.logitCandidates off)
    private DecodeGraphs graphs;
    private LaunchedSteps steps;
    private PhaseClock clock;
    private long kvBytes;
    private long kvTokens;
    private long workspaceBytes;
    private String device;
    private volatile String broken;
    private volatile boolean closed;

    private CudaBackend(ModelConfig config, CudaOptions options, GpuWorker worker) {
        this.config = config;
        this.options = options;
        this.worker = worker;
    }

    /**
     * Loads {@code weights} onto CUDA device {@code deviceIndex} and sizes every buffer. The store must stay
     * open only during this call.
     *
     * @throws IllegalArgumentException when the device does not exist or the weights do not match the config
     * @throws CudaException            when CUDA fails (the message names the operation)
     * @throws IllegalStateException    when the device has too little memory for the options
     */
    public static CudaBackend load(ModelConfig config, WeightStore weights, int deviceIndex, CudaOptions options) {
        GpuWorker worker = new GpuWorker("lfmcap-gpu-" + deviceIndex);
        CudaBackend b = new CudaBackend(config, options, worker);
        try {
            worker.call(() -> {
                b.open(weights, deviceIndex);
                return null;
            });
            return b;
        } catch (RuntimeException | Error e) {
            try {
                worker.call(() -> {
                    b.release();
                    return null;
                });
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            worker.close();
            throw e;
        }
    }

    /** Runs on the worker: context, weights, workspaces, KV cache, in that order. */
    private void open(WeightStore store, int deviceIndex) {
        ctx = GpuContext.open(deviceIndex, options);
        weights = DeviceWeights.acquire(ctx, config, store);
        long freeAfterWeights = GpuContext.memoryInfo()[0];
        int maxRows = Math.max(options.maxPrefillTokens(), KvCachePool.pagesFor(options.maxSequenceTokens()) * KvCachePool.PAGE_TOKENS);
        int maxSequences = options.maxSequences();
        int visionPatches = Math.min(options.maxVisionPatches(), maxRows * config.downsampleFactor() * config.downsampleFactor());
        vision = new VisionTower(ctx, config, weights.vision, visionPatches, options.simpleAttention(), options.cudnnAttention());
        up = new PassUpload(ctx, PASS_ARRAY_INTS);
        long vocabBytes = 4L * config.text().vocabSize();
        transfer = new PinnedBuffer("transfers", Math.max(16L << 20, (vocabBytes + 4) * maxSequences + 4096));
        if (options.logitCandidates()) candidates = new LogitCandidates(ctx, config.text().vocabSize(), maxSequences, LogitCandidates.CAP);
        var text = config.text();
        long[] memory = GpuContext.memoryInfo();
        long decoderBytes = TextDecoder.workspaceBytes(text, maxRows, maxSequences);
        long pageBytes = KvCachePool.pageBytes(text);
        long room = (long) (memory[0] * options.memoryFraction()) - decoderBytes - KvCachePool.bytes(text, maxSequences, 0, options.maxSequenceTokens());
        long wanted = options.kvCacheTokens() > 0 ? KvCachePool.pagesFor((int) Math.min(Integer.MAX_VALUE, options.kvCacheTokens()))
                : (long) maxSequences * KvCachePool.pagesFor(options.maxSequenceTokens());
        long pages = Math.min(wanted, Math.max(0, room / pageBytes));
        int perSequence = KvCachePool.pagesFor(options.maxSequenceTokens());
        if (pages < perSequence)
            throw new IllegalStateException(String.format(Locale.ROOT, "device %d has %s free after the weights and workspaces: not enough for a KV cache"
                    + " of one %d-token sequence (%s); lower maxSequenceTokens, maxPrefillTokens or maxVisionPatches",
                    deviceIndex, Cuda.mib(Math.max(0, room)), options.maxSequenceTokens(), Cuda.mib(perSequence * pageBytes)));
        pool = new KvCachePool(ctx, text, maxSequences, (int) pages, options.maxSequenceTokens());
        decoder = new TextDecoder(ctx, text, weights.text, pool, maxRows, maxSequences, options.simpleAttention(),
                options.smallBatchKernels());
        vision.tuneLinears();
        decoder.tuneLinears();
        graphs = new DecodeGraphs(ctx, options.decodeGraphs());
        steps = new LaunchedSteps(ctx, maxSequences);
        clock = new PhaseClock(ctx);
        kvBytes = KvCachePool.bytes(text, maxSequences, (int) pages, options.maxSequenceTokens());
        kvTokens = pages * KvCachePool.PAGE_TOKENS;
        workspaceBytes = freeAfterWeights - GpuContext.memoryInfo()[0] - kvBytes;
        device = String.format(Locale.ROOT, "cuda:%d (%s, sm_%d%d; weights %s, KV cache %d tokens; vision attention: %s)", deviceIndex,
                ctx.name, ctx.ccMajor, ctx.ccMinor, Cuda.mib(weights.bytes()), pages * KvCachePool.PAGE_TOKENS, vision.attentionPath());
    }

    // ------------------------------------------------------------------------------------------------
    // ModelBackend
    // ------------------------------------------------------------------------------------------------

    @Override
    public float[] encodeImage(List<PatchGrid> views) {
        for (PatchGrid v : views) vision.validate(v);
        return onGpu("vision encoder", () -> {
            int hidden = hiddenSize();
            int total = 0;
            for (PatchGrid v : views) total += vision.tokens(v);
            float[] out = new float[total * hidden];
            int row = 0;
            for (List<PatchGrid> chunk : visionChunks(views)) {
                up.reset();
                vision.encode(chunk, up, decoder.imageFeatures());
                int tokens = 0;
                for (PatchGrid v : chunk) tokens += vision.tokens(v);
                download(decoder.imageFeatures(), out, row * hidden, tokens * hidden);
                row += tokens;
            }
            return out;
        });
    }

    @Override
    public float[] embedTokens(int[] ids) {
        checkIds(ids);
        return onGpu("token embedding", () -> {
            int hidden = hiddenSize();
            float[] out = new float[ids.length * hidden];
            for (int first = 0; first < ids.length; first += decoder.maxRows()) {
                int n = Math.min(decoder.maxRows(), ids.length - first);
                int[] gather = new int[n];
                for (int i = 0; i < n; i++) gather[i] = -ids[first + i] - 1;
                up.reset();
                long dGather = up.ints(gather);
                up.send();
                decoder.embed(dGather, n);
                download(decoder.input(), out, first * hidden, n * hidden);
            }
            return out;
        });
    }

    @Override
    public boolean canAllocate(int maxTokens) {
        KvCachePool p = pool;
        return p != null && broken == null && p.canAllocate(maxTokens);
    }

    /** Host bookkeeping only (KvCachePool): the sequence's device state is written before the next pass. */
    @Override
    public SequenceState newSequence(int maxTokens) {
        checkUsable();
        return pool.allocate(maxTokens);
    }

    @Override
    public float[] prefill(SequenceState sequence, float[] embeddings, int length) {
        CudaSequence s = own(sequence);
        int hidden = hiddenSize();
        if (length < 1) throw new IllegalArgumentException("prefill needs at least 1 token, got " + length);
        if ((long) length * hidden > embeddings.length)
            throw new IllegalArgumentException("prefill of " + length + " tokens needs " + (long) length * hidden + " embedding values, got " + embeddings.length);
        checkRoom(s, length);
        return onGpu("prefill", () -> {
            steps.forget();
            upload(embeddings, length * hidden, decoder.input());
            up.reset();
            decoder.forward(List.of(new TextDecoder.Segment(s, length)), up);
            float[][] logits = new float[1][];
            choose(List.of(Pick.HOST), List.of(s), null, new int[1], logits, new SparseLogits[1]);
            return logits[0];
        });
    }

    @Override
    public float[][] decode(List<SequenceState> sequences, int[] tokens) {
        List<Pick> host = Collections.nCopies(sequences.size(), Pick.HOST);
        return decode(sequences, tokens, host).logits();
    }

    @Override
    public PassResult decode(List<SequenceState> sequences, int[] tokens, List<Pick> picks) {
        int n = sequences.size();
        if (tokens.length != n || picks.size() != n)
            throw new IllegalArgumentException(n + " sequences, " + tokens.length + " tokens and " + picks.size() + " picks");
        if (n == 0) return new PassResult(new int[0], new float[0][], 0);
        List<TextDecoder.Segment> segments = segments(sequences, 1);
        checkIds(tokens);
        return onGpu("decode step", () -> {
            up.reset();
            clock.start(PhaseClock.Phase.DECODE);
            int[] fromHost = new int[n];
            Arrays.fill(fromHost, -1);
            decoder.decodeStep(segments, up, tokens, fromHost, banned(picks), 0L, graphs);
            clock.stop();
            steps.forget();
            int[] next = new int[n];
            float[][] logits = new float[n][];
            SparseLogits[] sparse = new SparseLogits[n];
            read(picks, sequencesOf(segments), tokens, next, logits, sparse);
            clock.settle();
            return new PassResult(next, logits, sparse, 0);
        });
    }

    @Override
    public boolean overlapsDecode() { return true; }

    /**
     * A decode step enqueued without waiting: its greedy picks are copied back behind it (LaunchedSteps) and read
     * by {@link LaunchedStep#result()}, so the caller can launch the next step first, feeding it (tokens[i] < 0)
     * the picks this step leaves on the device. A step with a host pick (logits wanted) runs at once.
     */
    @Override
    public LaunchedStep launchDecode(List<SequenceState> sequences, int[] tokens, List<Pick> picks) {
        int n = sequences.size();
        if (tokens.length != n || picks.size() != n)
            throw new IllegalArgumentException(n + " sequences, " + tokens.length + " tokens and " + picks.size() + " picks");
        boolean fromDevice = false;
        for (int t : tokens) fromDevice |= t < 0;
        boolean allGreedy = allGreedy(picks);
        if (!fromDevice && (!allGreedy || n == 0)) {
            PassResult result = decode(sequences, tokens, picks);
            return () -> result;
        }
        if (!allGreedy) throw new IllegalArgumentException("a decode step fed from the device's picks must pick greedily on the device");
        List<TextDecoder.Segment> segments = segments(sequences, 1);
        checkIds(tokens, true);
        long number = onGpu("decode step", () -> {
            int[] fromPrev = new int[n];
            List<CudaSequence> rows = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                CudaSequence s = own(sequences.get(i));
                rows.add(s);
                fromPrev[i] = tokens[i] >= 0 ? -1 : steps.lastRow(s);
                if (tokens[i] < 0 && fromPrev[i] < 0)
                    throw new IllegalArgumentException("sequence at index " + i + " is to be fed its pick from the previous decode step, which did not run it");
            }
            up.reset();
            clock.start(PhaseClock.Phase.DECODE);
            decoder.decodeStep(segments, up, tokens, fromPrev, banned(picks), steps.slot(), graphs);
            clock.stop();
            return steps.record(rows);
        });
        return () -> onGpu("decode step", () -> {
            int[] next = steps.read(number, n);
            clock.settle();
            return new PassResult(next, new float[n][], 0);
        });
    }

    /**
     * Vision for every view of every prompt, the image-row merge and one packed prefill per group of prompts
     * that fits a pass ({@link CudaOptions#maxPrefillTokens()} rows), all on the device.
     */
    @Override
    public PassResult prefill(List<SequenceState> sequences, List<Prompt> prompts, int imageTokenId, List<Pick> picks) {
        int n = sequences.size();
        if (prompts.size() != n || picks.size() != n)
            throw new IllegalArgumentException(n + " sequences, " + prompts.size() + " prompts and " + picks.size() + " picks");
        List<CudaSequence> seqs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Prompt p = prompts.get(i);
            CudaSequence s = own(sequences.get(i));
            if (p.ids().length < 1) throw new IllegalArgumentException("prompt " + i + " is empty");
            checkIds(p.ids());
            checkRoom(s, p.ids().length);
            int placeholders = 0, imageRows = 0;
            for (int id : p.ids()) if (id == imageTokenId) placeholders++;
            for (PatchGrid v : p.views()) {
                vision.validate(v);
                imageRows += vision.tokens(v);
            }
            if (placeholders != imageRows)
                throw new IllegalArgumentException("prompt " + i + " has " + placeholders + " image tokens but its views give " + imageRows + " feature rows");
            seqs.add(s);
        }
        segments(sequences, 0); // rejects a sequence given twice
        return onGpu("prefill", () -> {
            steps.forget();  // the prefill's picks overwrite the device's pick buffer
            int[] tokens = new int[n];
            float[][] logits = new float[n][];
            SparseLogits[] sparse = new SparseLogits[n];
            long visionNanos = 0;
            List<Integer> starts = new ArrayList<>();  // each prefill group's first prompt, then n
            for (int first = 0; first < n; ) {
                starts.add(first);
                int rows = prompts.get(first++).ids().length;
                while (first < n && rows + prompts.get(first).ids().length <= decoder.maxRows()) rows += prompts.get(first++).ids().length;
            }
            starts.add(n);
            List<List<List<PatchGrid>>> passes = new ArrayList<>();  // each group's vision passes, made once
            for (int g = 0; g + 1 < starts.size(); g++) passes.add(visionChunks(views(prompts.subList(starts.get(g), starts.get(g + 1)))));
            // a group whose picks are all greedy has them copied back behind it and read only after the next group is
            // launched, so the device goes from group to group without waiting for the host (steps: two outstanding at
            // most); a group with host picks is read at once, after any group still outstanding
            boolean overlap = steps.idle();
            long pending = -1;  // the outstanding group's number in steps, or -1
            int pendingFirst = 0, pendingCount = 0;
            for (int g = 0; g < passes.size(); g++) {
                int first = starts.get(g), end = starts.get(g + 1);
                List<Pick> groupPicks = picks.subList(first, end);
                boolean deferred = overlap && allGreedy(groupPicks);
                if (!deferred && pending >= 0) {
                    takePicks(pending, tokens, pendingFirst, pendingCount);
                    pending = -1;
                }
                List<CudaSequence> groupSeqs = seqs.subList(first, end);
                visionNanos += launchPrefillGroup(groupSeqs, prompts.subList(first, end), passes.get(g), imageTokenId, groupPicks);
                // the next group's first vision pass (this very list: PatchStaging matches it by identity) is staged on
                // the host before this group's results are awaited
                if (g + 1 < passes.size() && !passes.get(g + 1).isEmpty()) vision.fillAhead(passes.get(g + 1).get(0));
                if (deferred) {
                    long dBanned = up.ints(banned(groupPicks));
                    up.send();
                    decoder.argmax(groupSeqs.size(), dBanned, steps.slot());
                    long number = steps.record(groupSeqs);
                    if (pending >= 0) takePicks(pending, tokens, pendingFirst, pendingCount);
                    pending = number;
                    pendingFirst = first;
                    pendingCount = end - first;
                } else {
                    int k = end - first;
                    int[] groupTokens = new int[k];
                    float[][] groupLogits = new float[k][];
                    SparseLogits[] groupSparse = new SparseLogits[k];
                    choose(groupPicks, groupSeqs, null, groupTokens, groupLogits, groupSparse);
                    clock.settle();
                    System.arraycopy(groupTokens, 0, tokens, first, k);
                    System.arraycopy(groupLogits, 0, logits, first, k);
                    System.arraycopy(groupSparse, 0, sparse, first, k);
                }
            }
            if (pending >= 0) takePicks(pending, tokens, pendingFirst, pendingCount);
            steps.forget();
            return new PassResult(tokens, logits, sparse, visionNanos);
        });
    }

    private static List<PatchGrid> views(List<Prompt> prompts) {
        List<PatchGrid> views = new ArrayList<>();
        for (Prompt p : prompts) views.addAll(p.views());
        return views;
    }

    /**
     * Launches one packed prefill pass over its vision passes ({@code visionPasses}: the group's views in order) and,
     * for its host picks, the candidate tracking; its picks are left to the caller. Returns the nanoseconds spent
     * enqueueing the vision tower.
     */
    private long launchPrefillGroup(List<CudaSequence> seqs, List<Prompt> prompts, List<List<PatchGrid>> visionPasses, int imageTokenId,
                                    List<Pick> picks) {
        long start = System.nanoTime();
        int featureRow = 0;
        // no sync between vision passes and the decoder pass: the pass arrays only grow until the group's end; the
        // next vision pass's patches are staged on the host while the previous pass computes (VisionTower.stageLevels)
        up.reset();
        for (List<PatchGrid> chunk : visionPasses) {
            clock.start(PhaseClock.Phase.VISION);
            vision.encode(chunk, up, decoder.imageFeatures() + 4L * featureRow * hiddenSize());
            clock.stop();
            for (PatchGrid v : chunk) featureRow += vision.tokens(v);
        }
        long visionNanos = visionPasses.isEmpty() ? 0 : System.nanoTime() - start; // host time to enqueue (device time: PhaseClock)
        int rows = 0;
        for (Prompt p : prompts) rows += p.ids().length;
        int[] gather = new int[rows];
        int r = 0, image = 0;
        List<TextDecoder.Segment> segments = new ArrayList<>(seqs.size());
        for (int i = 0; i < prompts.size(); i++) {
            int[] ids = prompts.get(i).ids();
            for (int id : ids) gather[r++] = id == imageTokenId ? image++ : -id - 1;
            segments.add(new TextDecoder.Segment(seqs.get(i), ids.length));
        }
        long dGather = up.ints(gather);
        up.send();
        clock.start(PhaseClock.Phase.PREFILL);
        decoder.embed(dGather, rows);
        decoder.forward(segments, up);
        clock.stop();
        if (candidates != null) {
            List<int[]> promptIds = new ArrayList<>(prompts.size());
            for (Prompt p : prompts) promptIds.add(p.ids());
            candidates.track(slots(seqs), promptIds, picks, up);
        }
        return visionNanos;
    }

    /** Waits for the greedy picks of an outstanding prefill group ({@code number} in steps) and puts them at {@code first}. */
    private void takePicks(long number, int[] tokens, int first, int count) {
        System.arraycopy(steps.read(number, count), 0, tokens, first, count);
        clock.settle();
    }

    private static boolean allGreedy(List<Pick> picks) {
        for (Pick p : picks) if (!p.greedy()) return false;
        return true;
    }

    @Override
    public int hiddenSize() { return config.text().hiddenSize(); }

    @Override
    public int vocabSize() { return config.text().vocabSize(); }

    @Override
    public String device() { return device; }

    /**
     * Device time per phase and between phases (CUDA events), vision passes whose patches were staged ahead, decode graphs captured and
     * device memory: what this backend holds
     * (weights, workspaces, KV cache with its capacity in tokens) and what the whole device has in use.
     */
    @Override
    public Map<String, Double> stats() {
        return onGpu("reading stats", () -> {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("gpu ms: vision", clock.millis(PhaseClock.Phase.VISION));
            m.put("gpu ms: prefill (decoder)", clock.millis(PhaseClock.Phase.PREFILL));
            m.put("gpu ms: decode", clock.millis(PhaseClock.Phase.DECODE));
            // the device between phases, by the pair (an idle engine's wait counts too; a stats read starts a new
            // chain, so a bench's pause between runs does not)
            for (PhaseClock.Phase before : PhaseClock.Phase.values())
                for (PhaseClock.Phase after : PhaseClock.Phase.values())
                    m.put("gpu idle ms: " + before.label + " -> " + after.label, clock.gapMillis(before, after));
            clock.endChain();
            m.put("decode steps", (double) clock.count(PhaseClock.Phase.DECODE));
            m.put("vision passes staged ahead", (double) vision.passesFilledAhead());
            m.put("decode graphs captured", (double) graphs.captured());
            m.put("GEMM shapes tuned at load", (double) ctx.gemm.tunedShapes());
            m.put("GEMM tuning ms at load", ctx.gemm.tuningMillis());
            if (candidates != null) {
                m.put("host picks from candidates", (double) candidates.rowsSelected());
                m.put("host picks read whole (too many candidates)", (double) candidates.rowsReadWhole());
            }
            m.put("gpu MiB: decode batch sizes", graphs.bytes() / 1048576.0);
            m.put("gpu MiB: weights", weights.bytes() / 1048576.0);
            m.put("gpu MiB: workspaces", workspaceBytes / 1048576.0);
            m.put("gpu MiB: KV cache + conv states", kvBytes / 1048576.0);
            m.put("KV cache tokens", (double) kvTokens);
            long[] info = GpuContext.memoryInfo();
            m.put("gpu MiB: device in use (all processes)", (info[1] - info[0]) / 1048576.0);
            return m;
        });
    }

    /** Device bytes of the weights (shared with other backends of this process on the same device). */
    long weightBytes() { return weights.bytes(); }

    /** KV-cache pages and sequence slots free now (for tests). */
    int freePages() { return pool.freePages(); }

    int freeSlots() { return pool.freeSlots(); }

    /** The reason this backend stopped working, or null. */
    public String brokenReason() { return broken; }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            worker.call(() -> {
                release();
                return null;
            });
        } finally {
            worker.close();
        }
    }

    /** Frees everything on the worker, last created first; keeps going past failures (a broken context). */
    private void release() {
        RuntimeException first = null;
        for (AutoCloseable c : new AutoCloseable[] {steps, graphs, clock, decoder, pool, candidates, transfer, up, vision}) {
            try {
                if (c != null) c.close();
            } catch (Exception e) {
                if (first == null) first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
            }
        }
        try {
            if (weights != null) weights.release();
        } catch (RuntimeException e) {
            if (first == null) first = e;
        }
        try {
            if (ctx != null) ctx.close();
        } catch (RuntimeException e) {
            if (first == null) first = e;
        }
        if (first != null && broken == null) throw first;
    }

    // ------------------------------------------------------------------------------------------------
    // helpers (worker thread unless noted)
    // ------------------------------------------------------------------------------------------------

    /**
     * Runs {@code task} on the GPU worker, after enqueueing the device state of sequences allocated since the last
     * task; a context-breaking CUDA error marks the backend broken.
     */
    private <T> T onGpu(String what, Callable<T> task) {
        checkUsable();
        return worker.call(() -> {
            try {
                if (pool != null) pool.writeNewSequences();
                return task.call();
            } catch (CudaException e) {
                if (e.breaksContext()) broken = what + ": " + e.getMessage();
                else settle();
                steps.abandon();
                throw e;
            } catch (RuntimeException e) {
                settle();
                steps.abandon();
                throw e;
            }
        });
    }

    /** Throws when the backend is closed or broken (any thread). */
    private void checkUsable() {
        if (closed) throw new IllegalStateException("the CUDA backend is closed");
        String why = broken;
        if (why != null) throw new IllegalStateException("the CUDA backend on " + device + " is broken (" + why + "); recreate the engine");
    }

    /** After a failed call: waits for queued work so that staging buffers are free again. */
    private void settle() {
        try {
            ctx.sync("a failed call");
        } catch (CudaException e) {
            if (e.breaksContext()) broken = e.getMessage();
        }
    }

    /** The token each greedy pick bans (-1: none); host picks get -1 (their argmax is unused). */
    private int[] banned(List<Pick> picks) {
        int vocab = vocabSize();
        int[] banned = new int[picks.size()];
        for (int i = 0; i < banned.length; i++) {
            Pick p = picks.get(i);
            banned[i] = p.greedy() && p.bannedToken() >= 0 && p.bannedToken() < vocab ? p.bannedToken() : -1;
        }
        return banned;
    }

    /**
     * Reads the last pass's results for its first {@code picks.size()} sequences: greedy picks by device argmax
     * (only ids are copied back), host picks as logits rows or, where they name them, their candidates.
     */
    private void choose(List<Pick> picks, List<CudaSequence> seqs, int[] fed, int[] tokens, float[][] logits, SparseLogits[] sparse) {
        boolean greedy = false;
        for (Pick p : picks) greedy |= p.greedy();
        if (greedy) {
            long dBanned = up.ints(banned(picks));
            up.send();
            decoder.argmax(picks.size(), dBanned, 0L);
        }
        read(picks, seqs, fed, tokens, logits, sparse);
    }

    /**
     * Copies the device argmax ids of greedy picks, the candidates of host picks that name them (LogitCandidates;
     * {@code fed}: the tokens the pass was fed, null for a prefill) and the logits rows of the other host picks, then
     * waits for the stream; a row with too many candidates is then read whole.
     */
    private void read(List<Pick> picks, List<CudaSequence> seqs, int[] fed, int[] tokens, float[][] logits, SparseLogits[] sparse) {
        int n = picks.size();
        boolean greedy = false;
        for (Pick p : picks) greedy |= p.greedy();
        boolean fromCandidates = candidates != null && LogitCandidates.wanted(picks);
        if (fromCandidates) candidates.select(picks, slots(seqs), fed, decoder.logits(), up);
        long logitsAt = DeviceMemory.align(4L * n);
        if (greedy) ctx.toHost(transfer.address(), decoder.tokens(), 4L * n);
        List<Integer> whole = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Pick p = picks.get(i);
            if (!p.greedy() && (!fromCandidates || p.candidates() == null)) whole.add(i);
        }
        copyRows(whole, logitsAt);
        ctx.sync("reading results");
        ByteBuffer b = transfer.buffer();
        SparseLogits[] got = fromCandidates ? candidates.read(n) : null;
        List<Integer> tooMany = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Pick p = picks.get(i);
            if (p.greedy()) {
                tokens[i] = b.getInt(4 * i);
                continue;
            }
            tokens[i] = -1;
            if (got != null && p.candidates() != null) {
                sparse[i] = got[i];
                if (got[i] == null) tooMany.add(i);
            }
        }
        takeRows(whole, logitsAt, logits);
        if (tooMany.isEmpty()) return;
        copyRows(tooMany, logitsAt);
        ctx.sync("reading logits rows");
        takeRows(tooMany, logitsAt, logits);
    }

    /** Enqueues the copies of the given logits rows of the last pass into the transfer buffer, from {@code at}. */
    private void copyRows(List<Integer> rows, long at) {
        long rowBytes = 4L * vocabSize();
        for (int k = 0; k < rows.size(); k++) ctx.toHost(transfer.address() + at + rowBytes * k, decoder.logits() + rowBytes * rows.get(k), rowBytes);
    }

    /** The rows {@link #copyRows} brought, as arrays into {@code logits}. */
    private void takeRows(List<Integer> rows, long at, float[][] logits) {
        int vocab = vocabSize();
        FloatBuffer floats = transfer.buffer().asFloatBuffer();
        for (int k = 0; k < rows.size(); k++) {
            float[] row = new float[vocab];
            floats.get((int) (at / 4 + (long) vocab * k), row);
            logits[rows.get(k)] = row;
        }
    }

    /** Device fp32 -> host array, through the pinned transfer buffer. */
    private void download(long src, float[] dst, int offset, int count) {
        int chunk = transfer.bytes() / 4;
        FloatBuffer floats = transfer.buffer().asFloatBuffer();
        for (int done = 0; done < count; done += chunk) {
            int n = Math.min(chunk, count - done);
            ctx.toHost(transfer.address(), src + 4L * done, 4L * n);
            ctx.sync("copying results to the host");
            floats.get(0, dst, offset + done, n);
        }
    }

    /** Host fp32 -> device, through the pinned transfer buffer. */
    private void upload(float[] src, int count, long dst) {
        int chunk = transfer.bytes() / 4;
        FloatBuffer floats = transfer.buffer().asFloatBuffer();
        for (int done = 0; done < count; done += chunk) {
            int n = Math.min(chunk, count - done);
            floats.put(0, src, done, n);
            ctx.toDevice(dst + 4L * done, transfer.address(), 4L * n);
            ctx.sync("copying inputs to the device");
        }
    }

    /** Views split into vision passes that fit the vision workspace (in order). */
    private List<List<PatchGrid>> visionChunks(List<PatchGrid> views) {
        List<List<PatchGrid>> chunks = new ArrayList<>();
        List<PatchGrid> current = new ArrayList<>();
        int patches = 0;
        for (PatchGrid v : views) {
            if (!current.isEmpty() && patches + v.numPatches() > vision.maxPatches()) {
                chunks.add(current);
                current = new ArrayList<>();
                patches = 0;
            }
            current.add(v);
            patches += v.numPatches();
        }
        if (!current.isEmpty()) chunks.add(current);
        return chunks;
    }

    /** One segment of {@code rows} per sequence (any thread); rejects foreign, closed, repeated or full sequences. */
    private List<TextDecoder.Segment> segments(List<SequenceState> sequences, int rows) {
        Set<CudaSequence> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<TextDecoder.Segment> out = new ArrayList<>(sequences.size());
        for (int i = 0; i < sequences.size(); i++) {
            CudaSequence s = own(sequences.get(i));
            if (!seen.add(s)) throw new IllegalArgumentException("sequence at index " + i + " appears twice in one pass");
            if (rows > 0) checkRoom(s, rows);
            out.add(new TextDecoder.Segment(s, rows));
        }
        return out;
    }

    private static int[] slots(List<CudaSequence> sequences) {
        int[] slots = new int[sequences.size()];
        for (int i = 0; i < slots.length; i++) slots[i] = sequences.get(i).slot();
        return slots;
    }

    private static List<CudaSequence> sequencesOf(List<TextDecoder.Segment> segments) {
        List<CudaSequence> out = new ArrayList<>(segments.size());
        for (TextDecoder.Segment seg : segments) out.add(seg.sequence());
        return out;
    }

    private CudaSequence own(SequenceState s) {
        if (!(s instanceof CudaSequence c) || !c.ownedBy(pool))
            throw new IllegalArgumentException("sequence was not created by this CUDA backend");
        if (c.isClosed()) throw new IllegalStateException("sequence is closed");
        return c;
    }

    private static void checkRoom(CudaSequence s, int rows) {
        if (s.position() + rows > s.capacity())
            throw new IllegalArgumentException("sequence capacity exceeded: position " + s.position() + " + " + rows
                    + " tokens > capacity " + s.capacity());
    }

    private void checkIds(int[] ids) { checkIds(ids, false); }

    /** Rejects ids outside the vocabulary; {@code deviceFed}: negative ids (the device's picks, launchDecode) pass. */
    private void checkIds(int[] ids, boolean deviceFed) {
        int vocab = vocabSize();
        for (int i = 0; i < ids.length; i++)
            if ((ids[i] < 0 && !deviceFed) || ids[i] >= vocab)
                throw new IllegalArgumentException("token id " + ids[i] + " at index " + i + " is outside the vocabulary [0, " + vocab + ")");
    }
}
