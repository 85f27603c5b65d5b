package io.lfmcap.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.engine.ModelBackend.SequenceState;
import io.lfmcap.image.PatchGrid;
import io.lfmcap.model.DType;
import io.lfmcap.model.ModelConfig;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CpuBackendTest {
    private static final ModelConfig CONFIG = TinyModel.config(true);
    private static InMemoryWeights weights;
    private static CpuBackend backend;
    private static NaiveLfm2 naive;

    @BeforeAll
    static void load() {
        weights = TinyModel.weights(CONFIG, 81, DType.F32);
        backend = CpuBackend.load(CONFIG, weights, 2);
        naive = new NaiveLfm2(CONFIG, weights);
    }

    @AfterAll
    static void close() { backend.close(); }

    private static int[] tokens(long seed, int n) {
        Random rnd = new Random(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rnd.nextInt(CONFIG.text().vocabSize());
        return ids;
    }

    private static float[] prefill(CpuBackend b, SequenceState s, int[] ids) {
        return b.prefill(s, b.embedTokens(ids), ids.length);
    }

    private static PatchGrid view(long seed, int gh, int gw) {
        return new PatchGrid(gh, gw, 768, TinyModel.uniform(new Random(seed), gh * gw * 768, 1));
    }

    @Test
    void textLogitsMatchTheNaiveDecoder() {
        int[] ids = tokens(1, 11);
        try (SequenceState s = backend.newSequence(16)) {
            float[] logits = prefill(backend, s, ids);
            Close.assertClose(naive.lastLogits(naive.embed(ids), ids.length), logits, 1e-5, "logits");
            assertEquals(11, s.position());
        }
    }

    @Test
    void imageEmbeddingsMatchTheNaiveVisionTowerAndProjector() {
        PatchGrid a = view(2, 4, 6);   // 16 -> 4 and 16 -> 6: antialiased position-embedding downsampling
        PatchGrid b = view(3, 2, 2);
        float[] got = backend.encodeImage(List.of(a, b));
        double[] wantA = naive.encodeView(a.patches(), 4, 6);
        double[] wantB = naive.encodeView(b.patches(), 2, 2);
        double[] want = new double[wantA.length + wantB.length];
        System.arraycopy(wantA, 0, want, 0, wantA.length);
        System.arraycopy(wantB, 0, want, wantA.length, wantB.length);
        assertEquals((2 * 3 + 1) * 64, got.length);
        Close.assertClose(want, got, 1e-5, "image tokens");
    }

    @Test
    void projectorWithoutLayerNormMatchesNaive() {
        ModelConfig config = TinyModel.config(false);
        InMemoryWeights w = TinyModel.weights(config, 82, DType.F32);
        PatchGrid v = view(4, 6, 4);
        try (CpuBackend b = CpuBackend.load(config, w, 1)) {
            Close.assertClose(new NaiveLfm2(config, w).encodeView(v.patches(), 6, 4), b.encodeImage(List.of(v)), 1e-5, "image tokens");
        }
    }

    @Test
    void prefillOfLTokensEqualsOneTokenThenDecodeSteps() {
        int[] ids = tokens(5, 9);
        float[] once;
        try (SequenceState s = backend.newSequence(9)) {
            once = prefill(backend, s, ids);
        }
        try (SequenceState s = backend.newSequence(9)) {
            float[] logits = prefill(backend, s, new int[] {ids[0]});
            for (int i = 1; i < ids.length; i++) logits = backend.decode(List.of(s), new int[] {ids[i]})[0];
            Close.assertClose(once, logits, 1e-5, "decode steps vs prefill");
            assertEquals(9, s.position());
        }
    }

    @Test
    void twoPrefillCallsEqualOne() {
        int[] ids = tokens(6, 12);
        float[] once;
        try (SequenceState s = backend.newSequence(12)) {
            once = prefill(backend, s, ids);
        }
        try (SequenceState s = backend.newSequence(12)) {
            prefill(backend, s, java.util.Arrays.copyOfRange(ids, 0, 5));
            float[] chunked = prefill(backend, s, java.util.Arrays.copyOfRange(ids, 5, 12));
            Close.assertClose(once, chunked, 1e-5, "chunked prefill");
        }
    }

    @Test
    void batchedDecodeOfThreeSequencesIsBitIdenticalToEachAlone() {
        int[][] prompts = {tokens(7, 3), tokens(8, 10), tokens(9, 1)};
        int[] next = {11, 22, 33};
        SequenceState[] batched = new SequenceState[3];
        float[][] alone = new float[3][];
        for (int i = 0; i < 3; i++) {
            batched[i] = backend.newSequence(20);
            prefill(backend, batched[i], prompts[i]);
            try (SequenceState s = backend.newSequence(20)) {
                prefill(backend, s, prompts[i]);
                backend.decode(List.of(s), new int[] {next[i]});
                alone[i] = backend.decode(List.of(s), new int[] {next[(i + 1) % 3]})[0];
            }
        }
        backend.decode(List.of(batched), next);
        float[][] together = backend.decode(List.of(batched), new int[] {next[1], next[2], next[0]});
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(alone[i], together[i], "sequence " + i);
            batched[i].close();
        }
    }

    @Test
    void bf16CheckpointGivesBitIdenticalResultsToItsWidenedF32Copy() {
        InMemoryWeights bf16 = TinyModel.weights(CONFIG, 83, DType.BF16);
        InMemoryWeights f32 = new InMemoryWeights();
        for (String name : bf16.names()) f32.put(name, DType.F32, bf16.values(name), bf16.get(name).shape());
        int[] ids = tokens(10, 6);
        PatchGrid v = view(11, 2, 4);
        try (CpuBackend a = CpuBackend.load(CONFIG, bf16, 2); CpuBackend b = CpuBackend.load(CONFIG, f32, 2);
             SequenceState sa = a.newSequence(8); SequenceState sb = b.newSequence(8)) {
            assertTrue(a.weightBytes() < b.weightBytes(), "bf16 weights stay 2 bytes per element");
            assertArrayEquals(b.encodeImage(List.of(v)), a.encodeImage(List.of(v)));
            assertArrayEquals(prefill(b, sb, ids), prefill(a, sa, ids));
        }
    }

    @Test
    void oneThreadAndTwoThreadsGiveBitIdenticalLogits() {
        int[] ids = tokens(12, 7);
        try (CpuBackend single = CpuBackend.load(CONFIG, weights, 1);
             SequenceState s1 = single.newSequence(7); SequenceState s2 = backend.newSequence(7)) {
            assertArrayEquals(prefill(single, s1, ids), prefill(backend, s2, ids));
        }
    }

    @Test
    void embeddingsAreRowsOfTheTable() {
        float[] table = weights.values(TinyModel.TEXT + "embed_tokens.weight");
        float[] e = backend.embedTokens(new int[] {5, 0, 511});
        assertArrayEquals(java.util.Arrays.copyOfRange(table, 5 * 64, 6 * 64), java.util.Arrays.copyOfRange(e, 0, 64));
        assertArrayEquals(java.util.Arrays.copyOfRange(table, 511 * 64, 512 * 64), java.util.Arrays.copyOfRange(e, 128, 192));
    }

    @Test
    void prefillBeyondCapacityIsRejected() {
        try (SequenceState s = backend.newSequence(4)) {
            var e = assertThrows(IllegalArgumentException.class, () -> prefill(backend, s, tokens(13, 5)));
            assertTrue(e.getMessage().contains("capacity 4"), e.getMessage());
            assertEquals(0, s.position());
        }
    }

    @Test
    void outOfVocabularyTokenIsRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> backend.embedTokens(new int[] {3, 512}));
        assertTrue(e.getMessage().contains("512"), e.getMessage());
    }

    @Test
    void sameSequenceTwiceInOneStepIsRejected() {
        try (SequenceState s = backend.newSequence(4)) {
            prefill(backend, s, new int[] {1});
            assertThrows(IllegalArgumentException.class, () -> backend.decode(List.of(s, s), new int[] {1, 2}));
        }
    }

    @Test
    void closedSequenceCannotBeUsed() {
        SequenceState s = backend.newSequence(4);
        s.close();
        assertThrows(IllegalStateException.class, () -> prefill(backend, s, new int[] {1}));
    }

    @Test
    void weightsThatDoNotMatchTheConfigFailNamingTheTensor() {
        var t = CONFIG.text();
        var wider = new ModelConfig.TextConfig(t.hiddenSize(), t.numLayers(), t.numHeads(), t.numKvHeads(), t.headDim(), 128,
                t.attentionLayers(), t.convKernel(), t.convBias(), t.normEps(), t.ropeTheta(), t.vocabSize(),
                t.maxPositionEmbeddings(), t.bosTokenId(), t.eosTokenId(), t.padTokenId(), t.tieWordEmbeddings());
        ModelConfig config = new ModelConfig(wider, CONFIG.vision(), CONFIG.projectorHiddenSize(), true, true, 2, 396, -1);
        var e = assertThrows(IllegalArgumentException.class, () -> CpuBackend.load(config, weights, 1));
        assertTrue(e.getMessage().contains("feed_forward.w1.weight") && e.getMessage().contains("[128, 64]"), e.getMessage());
    }

    @Test
    void reportsItsShape() {
        assertEquals(64, backend.hiddenSize());
        assertEquals(512, backend.vocabSize());
        assertTrue(backend.device().startsWith("cpu (2 threads"), backend.device());
    }
}
