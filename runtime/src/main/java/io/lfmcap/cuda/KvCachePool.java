package io.lfmcap.cuda;

import io.lfmcap.model.ModelConfig;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.BitSet;

/**
 * The decoder's per-sequence state on the device, sized once at load and never grown:
 * <pre>
 *   K, V per attention layer   [pages][kvHeads][PAGE_TOKENS][headDim] bf16 (post-RoPE K)
 *   page table                 [slots][maxPagesPerSequence] int: page of positions [64 p, 64 p + 64)
 *   conv state per conv layer  [slots][convLayers][L-1][H] fp32 (last L-1 values of B*x, oldest first)
 * </pre>
 * A sequence takes a slot and, up front, every page its {@code maxTokens} will need, so a running sequence
 * never runs out; {@link #canAllocate} lets the engine hold requests back while the pool is full.
 * <p>Allocation and release are host bookkeeping, from any thread: a new sequence's page-table row goes into a
 * pinned host copy of the whole table, and its slot is marked; {@link #writeNewSequences}, on the GPU thread before
 * any pass, enqueues the marked rows' copies and the zeroing of their conv states, without waiting. A row of the host
 * copy is rewritten only when its slot is allocated again, after which the slot is marked again: the device row
 * ends up as the last host row whatever order a pending copy reads it in.
 */
final class KvCachePool implements AutoCloseable {
    static final int PAGE_TOKENS = 64;

    private final GpuContext ctx;
    private final DeviceMemory memory;
    private final PinnedBuffer hostTable;
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
    private final BitSet unwritten = new BitSet();  // slots allocated since the last writeNewSequences
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
        PinnedBuffer table;
        try {
            table = new PinnedBuffer("page table (host copy)", 4L * slots * maxPagesPerSequence);
        } catch (RuntimeException e) {
            memory.close();
            throw e;
        }
        this.hostTable = table;
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

    /**
     * A fresh sequence: its slot and pages, its page-table row in the host copy. Its device state (that row, a zeroed
     * conv state) is written by the next {@link #writeNewSequences}, before any pass can use it. Any thread.
     */
    CudaSequence allocate(int maxTokens) {
        if (maxTokens < 1) throw new IllegalArgumentException("a sequence needs room for at least 1 token, got " + maxTokens);
        int need = pagesFor(maxTokens);
        if (need > maxPagesPerSequence)
            throw new IllegalArgumentException("a sequence of " + maxTokens + " tokens exceeds the CUDA backend's limit of "
                    + maxPagesPerSequence * PAGE_TOKENS + " tokens (maxSequenceTokens); raise it when loading the backend");
        int[] own = new int[need];
        synchronized (this) {
            if (closed) throw new IllegalStateException("the CUDA backend is closed");
            if (freeSlots.isEmpty() || freePageCount < need)
                throw new IllegalStateException("KV cache full: " + freeSlots.size() + " free sequence slots of " + slots + ", "
                        + freePageCount + " free pages of " + pages + " (" + need + " needed for " + maxTokens + " tokens)");
            int slot = freeSlots.poll();
            ByteBuffer table = hostTable.buffer();
            int row = 4 * slot * maxPagesPerSequence;
            for (int i = 0; i < need; i++) {
                own[i] = freePages[--freePageCount];
                table.putInt(row + 4 * i, own[i]);
            }
            unwritten.set(slot);
            return new CudaSequence(this, slot, own, maxTokens);
        }
    }

    /**
     * Enqueues the device state of the sequences allocated since the last call: their page-table rows from the host
     * copy and their conv states zeroed, one copy and one memset per run of adjacent slots; does not wait. Call on
     * the GPU thread before every pass. A slot released meanwhile is written too, harmlessly: nothing reads it.
     */
    void writeNewSequences() {
        BitSet marked;
        synchronized (this) {
            if (closed || unwritten.isEmpty()) return;
            marked = (BitSet) unwritten.clone();
            unwritten.clear();
        }
        long rowBytes = 4L * maxPagesPerSequence, convBytes = 4L * convSlotStride();
        for (int from = marked.nextSetBit(0); from >= 0; ) {
            int to = marked.nextClearBit(from);
            ctx.toDevice(pageTable + rowBytes * from, hostTable.address() + rowBytes * from, rowBytes * (to - from));
            ctx.zero(convBase + convBytes * from, convBytes * (to - from));
            from = marked.nextSetBit(to);
        }
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
            hostTable.close();
        }
    }
}
