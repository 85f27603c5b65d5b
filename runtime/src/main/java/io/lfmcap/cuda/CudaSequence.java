package io.lfmcap.cuda;

import io.lfmcap.engine.ModelBackend;

/**
 * One sequence's place in the {@link KvCachePool}: a slot (conv state, page-table row) and its pages.
 * Closing gives them back; idempotent, from any thread.
 */
final class CudaSequence implements ModelBackend.SequenceState {
    private final KvCachePool pool;
    private final int slot;
    private final int[] pages;
    private final int capacity;
    private int position;
    private boolean closed;

    CudaSequence(KvCachePool pool, int slot, int[] pages, int capacity) {
        this.pool = pool;
        this.slot = slot;
        this.pages = pages;
        this.capacity = capacity;
    }

    @Override
    public int position() { return position; }

    @Override
    public int capacity() { return capacity; }

    int slot() { return slot; }

    int[] pages() { return pages; }

    boolean ownedBy(KvCachePool p) { return pool == p; }

    synchronized boolean isClosed() { return closed; }

    void advance(int tokens) { position += tokens; }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        pool.release(this);
    }
}
