package io.lfmcap.cuda;

import io.lfmcap.model.ModelConfig;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The decoder's per-sequence state on the device, sized once at load and never grown:
 * <pre>
 *   K, V per attention layer   [pages][kvHeads][PAGE_TOKENS][headDim] bf16 (post-RoPE K)
 *   page table                 [slots][maxPagesPerSequence] int: page of positions [64 p, 64 p + 64)
 *   conv state per conv layer  [slots][convLayers][L-1][H] fp32 (last L-1 values of B*x, oldest first)
 * </pre>
 * A sequence takes a slot and, up front, every page its {@code maxTokens} will need, so a running sequence
 * never runs out; {@link #canAllocate} lets the engine hold requests back while the pool is full.
 * Allocation runs on the GPU thread; release may come from any thread.
 */
final class KvCachePool implements AutoCloseable {
    static final int PAGE_TOKENS = 64;

    private final GpuContext ctx;
    private final DeviceMemory memory;
    private final PinnedBuffer pageRow;
    private final int slots;
    private final int pages;
    private final int maxPagesPerSequence;
    private final int hidden;
    private final int history;
    private final int convLayers;
    private final long[] keys;
    private final long[] values;
    private final long[] convStates;
    private final long pageTable;
    private final long convBase;
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    private final int[] freePages;
    private int freePageCount;
    private boolean closed;

    KvCachePool(GpuContext ctx, ModelConfig.TextConfig cfg, int slots, int pages, int maxSequenceTokens) {
        this.ctx = ctx;
        this.slots = slots;
        this.pages = pages;
        this.maxPagesPerSequence = pagesFor(maxSequenceTokens);
        this.hidden = cfg.hiddenSize();
        this.history = cfg.convKernel() - 1;
        int layers = cfg.numLayers();
        int attention = 0;
        for (int i = 0; i < layers; i++) if (cfg.isAttention(i)) attention++;
        this.convLayers = layers - attention;
        this.memory = DeviceMemory.allocate("KV cache and conv states", bytes(cfg, slots, pages, maxSequenceTokens));
        this.keys = new long[layers];
        this.values = new long[layers];
        this.convStates = new long[layers];
        long pageBytes = (long) cfg.numKvHeads() * PAGE_TOKENS * cfg.headDim() * 2;
        this.convBase = memory.take(4L * slots * Math.max(1, convLayers) * history * hidden);
        int conv = 0;
        for (int i = 0; i < layers; i++) {
            if (cfg.isAttention(i)) {
                keys[i] = memory.take(pageBytes * pages);
                values[i] = memory.take(pageBytes * pages);
            } else {
                convStates[i] = convBase + 4L * conv++ * history * hidden;
            }
        }
        this.pageTable = memory.take(4L * slots * maxPagesPerSequence);
        PinnedBuffer row;
        try {
            row = new PinnedBuffer("page table row", 4L * maxPagesPerSequence);
        } catch (RuntimeException e) {
            memory.close();
            throw e;
        }
        this.pageRow = row;
        for (int s = 0; s < slots; s++) freeSlots.add(s);
        this.freePages = new int[pages];
        for (int p = 0; p < pages; p++) freePages[p] = pages - 1 - p;
        this.freePageCount = pages;
    }

    static int pagesFor(int tokens) { return (tokens + PAGE_TOKENS - 1) / PAGE_TOKENS; }

    /** Device bytes of a pool with these sizes. */
    static long bytes(ModelConfig.TextConfig cfg, int slots, int pages, int maxSequenceTokens) {
        int attention = 0;
        for (int i = 0; i < cfg.numLayers(); i++) if (cfg.isAttention(i)) attention++;
        int conv = cfg.numLayers() - attention;
        long kv = 2L * attention * pages * pageBytesPerLayer(cfg);
        long state = 4L * slots * Math.max(1, conv) * (cfg.convKernel() - 1) * cfg.hiddenSize();
        long table = 4L * slots * pagesFor(maxSequenceTokens);
        return kv + state + table + (2L * attention + 2) * DeviceMemory.ALIGNMENT;
    }

    /** Bytes of one page across all attention layers (K and V). */
    static long pageBytes(ModelConfig.TextConfig cfg) {
        int attention = 0;
        for (int i = 0; i < cfg.numLayers(); i++) if (cfg.isAttention(i)) attention++;
        return 2L * attention * pageBytesPerLayer(cfg);
    }

    private static long pageBytesPerLayer(ModelConfig.TextConfig cfg) {
        return (long) cfg.numKvHeads() * PAGE_TOKENS * cfg.headDim() * 2;
    }

    synchronized boolean canAllocate(int maxTokens) {
        return !closed && !freeSlots.isEmpty() && freePageCount >= pagesFor(maxTokens);
    }

    /** A fresh sequence (zeroed conv state, its pages in the page table); call on the GPU thread. */
    CudaSequence allocate(int maxTokens) {
        if (maxTokens < 1) throw new IllegalArgumentException("a sequence needs room for at least 1 token, got " + maxTokens);
        int need = pagesFor(maxTokens);
        if (need > maxPagesPerSequence)
            throw new IllegalArgumentException("a sequence of " + maxTokens + " tokens exceeds the CUDA backend's limit of "
                    + maxPagesPerSequence * PAGE_TOKENS + " tokens (maxSequenceTokens); raise it when loading the backend");
        int slot;
        int[] own = new int[need];
        synchronized (this) {
            if (closed) throw new IllegalStateException("the CUDA backend is closed");
            if (freeSlots.isEmpty() || freePageCount < need)
                throw new IllegalStateException("KV cache full: " + freeSlots.size() + " free sequence slots of " + slots + ", "
                        + freePageCount + " free pages of " + pages + " (" + need + " needed for " + maxTokens + " tokens)");
            slot = freeSlots.poll();
            for (int i = 0; i < need; i++) own[i] = freePages[--freePageCount];
        }
        ByteBuffer row = pageRow.buffer();
        for (int i = 0; i < need; i++) row.putInt(4 * i, own[i]);
        ctx.toDevice(pageTable + 4L * slot * maxPagesPerSequence, pageRow.address(), 4L * need);
        ctx.zero(convBase + 4L * slot * convSlotStride(), 4L * convSlotStride());
        ctx.sync("allocating a sequence");
        return new CudaSequence(this, slot, own, maxTokens);
    }

    synchronized void release(CudaSequence s) {
        if (closed) return;
        for (int p : s.pages()) freePages[freePageCount++] = p;
        freeSlots.add(s.slot());
    }

    /** Base of layer {@code layer}'s K pages. */
    long keys(int layer) { return keys[layer]; }

    long values(int layer) { return values[layer]; }

    /** Layer {@code layer}'s conv state of slot 0; slot s is {@link #convSlotStride()} floats further. */
    long convState(int layer) { return convStates[layer]; }

    long convSlotStride() { return (long) Math.max(1, convLayers) * history * hidden; }

    long pageTable() { return pageTable; }

    int maxPagesPerSequence() { return maxPagesPerSequence; }

    synchronized int freePages() { return freePageCount; }

    synchronized int freeSlots() { return freeSlots.size(); }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            memory.close();
        } finally {
            pageRow.close();
        }
    }
}
