package io.lfmcap.cpu;

import io.lfmcap.model.ModelConfig;
import java.util.List;

/**
 * The LFM2 hybrid decoder (HF {@code Lfm2Model} + tied {@code lm_head}; docs/model-lfm2-vl.md section 5):
 * <pre>
 *   for each layer: x += (attention or short conv)(operator_norm(x));  x += feed_forward(ffn_norm(x))
 *   logits = embedding_norm(x[last row of each sequence]) · lm_head^T      (lm_head = embed_tokens when tied)
 * </pre>
 * One pass handles any mix of sequences ({@link Segment}s): linear layers run on all rows together,
 * convolution and attention per sequence against its own state.
 */
final class TextDecoder {
    private static final String PREFIX = "model.language_model.";
    /** Passes with at most this many rows (decode steps) reuse one workspace; larger ones allocate their own. */
    private static final int REUSED_WORKSPACE_ROWS = 64;

    private final ModelConfig.TextConfig config;
    private final Parallel parallel;
    private final PackedMatrix embedding;
    private final PackedMatrix lmHead;
    private final float[][] operatorNorms;
    private final float[][] ffnNorms;
    private final ShortConvLayer[] convs;
    private final AttentionLayer[] attentions;
    private final FeedForward[] feedForwards;
    private final float[] finalNorm;
    private final Rope rope;
    private final float eps;
    private final Workspace decodeWorkspace;

    TextDecoder(ModelConfig.TextConfig config, WeightLoader w, Parallel parallel) {
        this.config = config;
        this.parallel = parallel;
        int hidden = config.hiddenSize();
        int layers = config.numLayers();
        if (config.attentionLayers().size() != layers)
            throw new IllegalArgumentException("text config lists " + config.attentionLayers().size() + " layer types for " + layers + " layers");
        this.eps = (float) config.normEps();
        embedding = w.matrix(PREFIX + "embed_tokens.weight", config.vocabSize(), hidden);
        lmHead = config.tieWordEmbeddings() ? embedding : w.matrix("lm_head.weight", config.vocabSize(), hidden);
        operatorNorms = new float[layers][];
        ffnNorms = new float[layers][];
        convs = new ShortConvLayer[layers];
        attentions = new AttentionLayer[layers];
        feedForwards = new FeedForward[layers];
        for (int i = 0; i < layers; i++) {
            String p = PREFIX + "layers." + i + ".";
            operatorNorms[i] = w.floats(p + "operator_norm.weight", hidden);
            if (config.isAttention(i)) {
                attentions[i] = new AttentionLayer(w, p + "self_attn.", hidden, config.numHeads(), config.numKvHeads(), config.headDim(), eps);
            } else {
                convs[i] = new ShortConvLayer(w, p + "conv.", hidden, config.convKernel(), config.convBias());
            }
            ffnNorms[i] = w.floats(p + "ffn_norm.weight", hidden);
            feedForwards[i] = new FeedForward(w, p + "feed_forward.", hidden, config.ffnDim());
        }
        finalNorm = w.floats(PREFIX + "embedding_norm.weight", hidden);
        rope = new Rope(config.headDim(), config.ropeTheta());
        decodeWorkspace = new Workspace(REUSED_WORKSPACE_ROWS);
    }

    int hiddenSize() { return config.hiddenSize(); }

    int vocabSize() { return config.vocabSize(); }

    CpuSequence newSequence(int maxTokens) {
        if (maxTokens < 1) throw new IllegalArgumentException("a sequence needs room for at least 1 token, got " + maxTokens);
        int layers = config.numLayers();
        KvCache[] caches = new KvCache[layers];
        float[][] states = new float[layers][];
        for (int i = 0; i < layers; i++) {
            if (attentions[i] != null) caches[i] = new KvCache(config.numKvHeads(), config.headDim(), maxTokens);
            else states[i] = convs[i].newState();
        }
        return new CpuSequence(this, maxTokens, caches, states);
    }

    /** {@code embed_tokens[ids]} into {@code out [ids.length, H]}. */
    void embed(int[] ids, float[] out) {
        int hidden = config.hiddenSize();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= config.vocabSize())
                throw new IllegalArgumentException("token id " + ids[i] + " at index " + i + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            embedding.row(ids[i], out, i * hidden);
        }
    }

    /**
     * Runs {@code x [rows, H]} (overwritten) through the decoder, appending to each segment's sequence and
     * advancing it; returns the logits of each segment's last row, {@code [segments, vocab]}.
     */
    float[] forward(float[] x, int rows, List<Segment> segments) {
        for (Segment s : segments) check(s);
        int hidden = config.hiddenSize();
        Workspace ws = rows <= REUSED_WORKSPACE_ROWS ? decodeWorkspace : new Workspace(rows);
        for (Segment s : segments)
            for (int i = 0; i < s.rows(); i++) rope.angles(s.sequence().position() + i, ws.cos, ws.sin, (s.firstRow() + i) * rope.half());
        for (int layer = 0; layer < config.numLayers(); layer++) {
            Norms.rmsNorm(x, 0, hidden, rows, hidden, operatorNorms[layer], eps, ws.normed);
            if (attentions[layer] != null) {
                attentions[layer].forward(parallel, rope, layer, segments, rows, ws.normed, x, ws.cos, ws.sin, ws.q, ws.k, ws.v, ws.mixed);
            } else {
                convs[layer].forward(parallel, layer, segments, rows, ws.normed, x, ws.bcx, ws.mixed);
            }
            Norms.rmsNorm(x, 0, hidden, rows, hidden, ffnNorms[layer], eps, ws.normed);
            feedForwards[layer].forward(parallel, rows, ws.normed, x, ws.gate, ws.up);
        }
        for (Segment s : segments) s.sequence().advance(s.rows());

        float[] last = new float[segments.size() * hidden];
        for (int i = 0; i < segments.size(); i++) {
            Segment s = segments.get(i);
            System.arraycopy(x, (s.firstRow() + s.rows() - 1) * hidden, last, i * hidden, hidden);
        }
        Norms.rmsNorm(last, 0, hidden, segments.size(), hidden, finalNorm, eps, last);
        float[] logits = new float[segments.size() * config.vocabSize()];
        MatMul.multiply(parallel, last, segments.size(), lmHead, null, logits, false);
        return logits;
    }

    private void check(Segment s) {
        CpuSequence seq = s.sequence();
        if (!seq.ownedBy(this)) throw new IllegalArgumentException("sequence was not created by this CPU backend");
        if (seq.isClosed()) throw new IllegalStateException("sequence is closed");
        if (seq.position() + s.rows() > seq.capacity())
            throw new IllegalArgumentException("sequence capacity exceeded: position " + seq.position() + " + " + s.rows()
                    + " tokens > capacity " + seq.capacity());
    }

    /** Activation scratch for a pass of up to {@code rows} rows. */
    private final class Workspace {
        final float[] normed;
        final float[] bcx;
        final float[] q;
        final float[] k;
        final float[] v;
        final float[] mixed;
        final float[] gate;
        final float[] up;
        final float[] cos;
        final float[] sin;

        Workspace(int rows) {
            int hidden = config.hiddenSize();
            int qWidth = config.numHeads() * config.headDim();
            int kvWidth = config.numKvHeads() * config.headDim();
            normed = new float[rows * hidden];
            bcx = new float[rows * 3 * hidden];
            q = new float[rows * qWidth];
            k = new float[rows * kvWidth];
            v = new float[rows * kvWidth];
            mixed = new float[rows * Math.max(hidden, qWidth)];
            gate = new float[rows * config.ffnDim()];
            up = new float[rows * config.ffnDim()];
            cos = new float[rows * rope.half()];
            sin = new float[rows * rope.half()];
        }
    }
}
