package io.lfmcap.engine;

import io.lfmcap.image.PatchGrid;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A deterministic stand-in for a model, to test scheduling apart from numerics: each sequence keeps a
 * running hash of everything it was fed (embeddings and tokens, in order) and its logits peak at
 * {@code hash % vocab}. So the tokens depend on the whole history, and batching changes nothing
 * unless the scheduler mixes sequences up. With {@code overlaps} it also plays an overlapping backend
 * ({@link #launchDecode}): a step may be fed the picks of the step launched before it (token -1), which it keeps
 * as a device would, forgetting them at a prefill or a plain step; at most two steps may be unread.
 */
final class ScriptedBackend implements ModelBackend {
    static final int HIDDEN = 4;
    final int vocab;
    final boolean overlaps;
    final AtomicInteger openSequences = new AtomicInteger();
    final List<Integer> decodeBatchSizes = new ArrayList<>();
    /** Steps launched with device-fed tokens (overlapping mode). */
    final AtomicInteger fedFromDevice = new AtomicInteger();
    volatile boolean failDecode;
    volatile boolean closed;
    private Map<SequenceState, Integer> lastPicks;
    private int unread;

    ScriptedBackend(int vocab) { this(vocab, false); }

    ScriptedBackend(int vocab, boolean overlaps) {
        this.vocab = vocab;
        this.overlaps = overlaps;
    }

    @Override
    public boolean overlapsDecode() { return overlaps; }

    @Override
    public synchronized LaunchedStep launchDecode(List<SequenceState> sequences, int[] tokens, List<Pick> picks) {
        if (!overlaps) return ModelBackend.super.launchDecode(sequences, tokens, picks);
        if (unread == 2) throw new IllegalStateException("a third decode step launched before the first was read");
        int[] fed = tokens.clone();
        boolean fromDevice = false;
        for (int i = 0; i < fed.length; i++) {
            if (fed[i] >= 0) continue;
            Integer pick = lastPicks == null ? null : lastPicks.get(sequences.get(i));
            if (pick == null) throw new IllegalStateException("sequence " + i + " fed from a step that did not run it");
            fed[i] = pick;
            fromDevice = true;
        }
        if (fromDevice) fedFromDevice.incrementAndGet();
        PassResult result = decode(sequences, fed, picks);
        Map<SequenceState, Integer> map = new IdentityHashMap<>();
        for (int i = 0; i < fed.length; i++) map.put(sequences.get(i), result.tokens()[i]);
        lastPicks = map;
        unread++;
        return () -> {
            synchronized (ScriptedBackend.this) {
                unread--;
            }
            return result;
        };
    }

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

    /** When set, decode steps throw it (a failure outside what the engine handles per request). */
    volatile Error decodeError;

    /** When set, a prefill waits for it to open (a backend busy with a long pass). */
    volatile java.util.concurrent.CountDownLatch prefillGate;

    @Override
    public synchronized float[] prefill(SequenceState sequence, float[] embeddings, int length) {
        java.util.concurrent.CountDownLatch gate = prefillGate;
        if (gate != null) {
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        lastPicks = null;
        State s = (State) sequence;
        for (int i = 0; i < length * HIDDEN; i++) s.hash = s.hash * 31 + Float.floatToIntBits(embeddings[i]);
        s.position += length;
        return s.logits();
    }

    @Override
    public synchronized float[][] decode(List<SequenceState> sequences, int[] tokens) {
        decodeBatchSizes.add(sequences.size());
        lastPicks = null;
        if (failDecode) throw new IllegalStateException("scripted decode failure");
        if (decodeError != null) throw decodeError;
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
