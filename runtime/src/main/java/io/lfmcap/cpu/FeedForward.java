package io.lfmcap.cpu;

/** HF {@code Lfm2MLP}: {@code w2(silu(w1 x) * w3 x)}, no biases; the result is added onto the residual stream. */
final class FeedForward {
    private final PackedMatrix w1;
    private final PackedMatrix w3;
    private final PackedMatrix w2;

    FeedForward(WeightLoader w, String prefix, int hidden, int ffn) {
        w1 = w.matrix(prefix + "w1.weight", ffn, hidden);
        w3 = w.matrix(prefix + "w3.weight", ffn, hidden);
        w2 = w.matrix(prefix + "w2.weight", hidden, ffn);
    }

    /** {@code x += w2(silu(w1 normed) * w3 normed)}; gate and up are scratch {@code [rows, F]}. */
    void forward(Parallel parallel, int rows, float[] normed, float[] x, float[] gate, float[] up) {
        MatMul.multiply(parallel, normed, rows, w1, null, gate, false);
        MatMul.multiply(parallel, normed, rows, w3, null, up, false);
        int width = w1.rows;
        parallel.forRange(rows, 4, (from, to) -> Activations.siluTimes(gate, from * width, up, (to - from) * width));
        MatMul.multiply(parallel, gate, rows, w2, null, x, true);
    }
}
