package io.lfmcap.engine;

import io.lfmcap.image.PatchGrid;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A deterministic stand-in for a model, to test scheduling apart from numerics: each sequence keeps a
 * running hash of everything it was fed (embeddings and tokens, in order) and its logits peak at
 * {@code hash % vocab}. So the tokens depend on the whole history, and batching changes nothing
 * unless the scheduler mixes sequences up.
 */
final class ScriptedBackend implements ModelBackend {
    static final int HIDDEN = 4;
    final int vocab;
    final AtomicInteger openSequences = new AtomicInteger();
    final List<Integer> decodeBatchSizes = new ArrayList<>();
    volatile boolean failDecode;
    volatile boolean closed;

    ScriptedBackend(int vocab) { this.vocab = vocab; }

    @Override
    public float[] encodeImage(List<PatchGrid> views) {
        int rows = 0;
        for (PatchGrid v : views) rows += v.numTokens(2);
        float[] out = new float[rows * HIDDEN];
        int o = 0;
        for (PatchGrid v : views) {
            float[] patches = v.patches();
            for (int i = 0; i < v.numTokens(2) * HIDDEN; i++) out[o++] = patches[i % patches.length];
        }
        return out;
    }

    @Override
    public float[] embedTokens(int[] ids) {
        float[] out = new float[ids.length * HIDDEN];
        for (int i = 0; i < ids.length; i++) for (int j = 0; j < HIDDEN; j++) out[i * HIDDEN + j] = ids[i] * 0.5f + j;
        return out;
    }

    final class State implements SequenceState {
        final int capacity;
        int position;
        long hash = 17;
        boolean closed;

        State(int capacity) { this.capacity = capacity; openSequences.incrementAndGet(); }

        float[] logits() {
            float[] l = new float[vocab];
            l[(int) Math.floorMod(hash, (long) vocab)] = 1;
            return l;
        }

        @Override public int position() { return position; }
        @Override public int capacity() { return capacity; }
        @Override public void close() {
            if (!closed) openSequences.decrementAndGet();
            closed = true;
        }
    }

    @Override
    public SequenceState newSequence(int maxTokens) { return new State(maxTokens); }

    @Override
    public float[] prefill(SequenceState sequence, float[] embeddings, int length) {
        State s = (State) sequence;
        for (int i = 0; i < length * HIDDEN; i++) s.hash = s.hash * 31 + Float.floatToIntBits(embeddings[i]);
        s.position += length;
        return s.logits();
    }

    @Override
    public synchronized float[][] decode(List<SequenceState> sequences, int[] tokens) {
        decodeBatchSizes.add(sequences.size());
        if (failDecode) throw new IllegalStateException("scripted decode failure");
        float[][] out = new float[sequences.size()][];
        for (int i = 0; i < tokens.length; i++) {
            State s = (State) sequences.get(i);
            if (s.position >= s.capacity) throw new IllegalStateException("sequence overflow");
            s.hash = s.hash * 31 + tokens[i];
            s.position++;
            out[i] = s.logits();
        }
        return out;
    }

    @Override public int hiddenSize() { return HIDDEN; }
    @Override public int vocabSize() { return vocab; }
    @Override public String device() { return "scripted"; }
    @Override public void close() { closed = true; }
}
