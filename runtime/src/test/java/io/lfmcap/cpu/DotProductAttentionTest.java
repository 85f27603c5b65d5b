package io.lfmcap.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class DotProductAttentionTest {
    @Test
    void bidirectionalHeadMatchesNaiveSoftmaxAttention() {
        Random rnd = new Random(61);
        int n = 37;
        int d = 24;   // not a multiple of the panel width
        float[] q = TinyModel.uniform(rnd, n * d, 1);
        float[] k = TinyModel.uniform(rnd, n * d, 1);
        float[] v = TinyModel.uniform(rnd, n * d, 1);
        int padded = PackedMatrix.panels(d) * PackedMatrix.PANEL;
        float[] vPadded = new float[n * padded];
        for (int t = 0; t < n; t++) System.arraycopy(v, t * d, vPadded, t * padded, d);
        float[] out = new float[n * d];
        float scale = (float) Math.pow(d, -0.5);
        DotProductAttention.head(q, 0, d, n, PackedMatrix.packRows(k, 0, d, n, d), PackedMatrix.view(vPadded, 0, PackedMatrix.PANEL, padded, d, n),
                n, DotProductAttention.NOT_CAUSAL, scale, out, 0, d);
        double[] want = NaiveLfm2.attention(NaiveLfm2.toDouble(q), NaiveLfm2.toDouble(k), NaiveLfm2.toDouble(v), n, n, d, -1, scale);
        Close.assertClose(want, out, 1e-6, "vision-style attention");
    }

    /** A cache with 45 tokens of 2 kv heads; the last 8 are the queries' own positions (37..44). */
    private static final int KV_HEADS = 2;
    private static final int D = 16;
    private static final int TOKENS = 45;
    private static final int FIRST = 37;

    private static KvCache cache(float[] k, float[] v) {
        KvCache c = new KvCache(KV_HEADS, D, 64);
        for (int t = 0; t < TOKENS; t++) c.put(t, k, t * KV_HEADS * D, v, t * KV_HEADS * D);
        return c;
    }

    @Test
    void causalHeadOverCacheMatchesNaiveAttentionWithOffset() {
        Random rnd = new Random(62);
        int rows = TOKENS - FIRST;
        float[] q = TinyModel.uniform(rnd, rows * D, 1);
        float[] k = TinyModel.uniform(rnd, TOKENS * KV_HEADS * D, 1);
        float[] v = TinyModel.uniform(rnd, TOKENS * KV_HEADS * D, 1);
        KvCache c = cache(k, v);
        int head = 1;
        float[] out = new float[rows * D];
        DotProductAttention.head(q, 0, D, rows, c.keys(head, TOKENS), c.values(head, TOKENS), TOKENS, FIRST, 0.25f, out, 0, D);
        double[] kh = NaiveLfm2.slice(NaiveLfm2.toDouble(k), TOKENS, KV_HEADS * D, head * D, D);
        double[] vh = NaiveLfm2.slice(NaiveLfm2.toDouble(v), TOKENS, KV_HEADS * D, head * D, D);
        double[] want = NaiveLfm2.attention(NaiveLfm2.toDouble(q), kh, vh, rows, TOKENS, D, FIRST, 0.25);
        Close.assertClose(want, out, 1e-6, "causal attention");
    }

    @Test
    void causalRowsGiveTheSameResultInOneCallOrOnePerCall() {
        Random rnd = new Random(63);
        int rows = TOKENS - FIRST;
        float[] q = TinyModel.uniform(rnd, rows * D, 1);
        KvCache c = cache(TinyModel.uniform(rnd, TOKENS * KV_HEADS * D, 1), TinyModel.uniform(rnd, TOKENS * KV_HEADS * D, 1));
        float[] together = new float[rows * D];
        DotProductAttention.head(q, 0, D, rows, c.keys(0, TOKENS), c.values(0, TOKENS), TOKENS, FIRST, 0.25f, together, 0, D);
        float[] single = new float[rows * D];
        for (int i = 0; i < rows; i++) {
            int keys = FIRST + i + 1;
            DotProductAttention.head(q, i * D, D, 1, c.keys(0, keys), c.values(0, keys), keys, FIRST + i, 0.25f, single, i * D, D);
        }
        assertArrayEquals(together, single);
    }
}
