package io.lfmcap.cpu;

import io.lfmcap.engine.ModelBackend;

/**
 * Decoder state of one sequence on the CPU: the next position, a {@link KvCache} per attention layer and
 * the ShortConv state per conv layer (the last {@code kernel - 1} values of {@code B*x}, oldest first; the
 * 2-column form of docs/model-lfm2-vl.md section 5, so chunked prefill works).
 */
final class CpuSequence implements ModelBackend.SequenceState {
    private final TextDecoder owner;
    private final int capacity;
    private int position;
    private KvCache[] caches;
    private float[][] convStates;

    CpuSequence(TextDecoder owner, int capacity, KvCache[] caches, float[][] convStates) {
        this.owner = owner;
        this.capacity = capacity;
        this.caches = caches;
        this.convStates = convStates;
    }

    @Override
    public int position() { return position; }

    @Override
    public int capacity() { return capacity; }

    boolean ownedBy(TextDecoder decoder) { return owner == decoder; }

    boolean isClosed() { return caches == null; }

    KvCache cache(int layer) { return open().caches[layer]; }

    float[] convState(int layer) { return open().convStates[layer]; }

    void advance(int tokens) { position += tokens; }

    private CpuSequence open() {
        if (caches == null) throw new IllegalStateException("sequence is closed");
        return this;
    }

    @Override
    public void close() {
        caches = null;
        convStates = null;
    }
}
