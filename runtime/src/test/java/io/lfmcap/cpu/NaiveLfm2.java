package io.lfmcap.cpu;

import io.lfmcap.model.ModelConfig;

/**
 * A deliberately plain double-precision LFM2-VL written straight from docs/model-lfm2-vl.md: no caches,
 * no blocking, whole sequences at once. The oracle for the CPU backend's tests.
 */
final class NaiveLfm2 {
    private final ModelConfig config;
    private final InMemoryWeights w;

    NaiveLfm2(ModelConfig config, InMemoryWeights weights) {
        this.config = config;
        this.w = weights;
    }

    // ---- building blocks -------------------------------------------------------------------------

    /** y[r][o] = sum_i x[r][i] * W[o][i] (+ b[o]). */
    static double[] linear(double[] x, int rows, float[] weight, int out, int in, float[] bias) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) s += x[r * in + i] * weight[o * in + i];
                y[r * out + o] = s;
            }
        return y;
    }

    static double[] rmsNorm(double[] x, int rows, int n, float[] weight, double eps) {
        double[] y = new double[rows * n];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < n; i++) ss += x[r * n + i] * x[r * n + i];
            double inv = 1 / Math.sqrt(ss / n + eps);
            for (int i = 0; i < n; i++) y[r * n + i] = weight[i] * x[r * n + i] * inv;
        }
        return y;
    }

    static double[] layerNorm(double[] x, int rows, int n, float[] weight, float[] bias, double eps) {
        double[] y = new double[rows * n];
        for (int r = 0; r < rows; r++) {
            double mean = 0;
            for (int i = 0; i < n; i++) mean += x[r * n + i];
            mean /= n;
            double var = 0;
            for (int i = 0; i < n; i++) var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
            var /= n;
            for (int i = 0; i < n; i++) y[r * n + i] = (x[r * n + i] - mean) / Math.sqrt(var + eps) * weight[i] + bias[i];
        }
        return y;
    }

    static double geluTanh(double x) { return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))); }

    static double geluErf(double x) { return 0.5 * x * (1 + Erf.erf(x / Math.sqrt(2))); }

    static double silu(double x) { return x / (1 + Math.exp(-x)); }

    /** softmax over s[0, n) in place. */
    static void softmax(double[] s, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, s[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += s[off + i] = Math.exp(s[off + i] - max);
        for (int i = 0; i < n; i++) s[off + i] /= sum;
    }

    /** RoPE angle per the spec: fp32 inv_freq, fp32 product, cos/sin of that. */
    static double ropeAngle(int position, int j, int headDim, double theta) {
        float invFreq = 1f / (float) Math.pow((float) theta, (float) (2 * j) / headDim);
        return (float) position * invFreq;
    }

    static void rope(double[] x, int off, int headDim, int position, double theta) {
        int half = headDim / 2;
        for (int j = 0; j < half; j++) {
            double a = ropeAngle(position, j, headDim, theta);
            double x1 = x[off + j];
            double x2 = x[off + half + j];
            x[off + j] = x1 * Math.cos(a) - x2 * Math.sin(a);
            x[off + half + j] = x2 * Math.cos(a) + x1 * Math.sin(a);
        }
    }

    /** Attention of one head; q [rows][d] at positions first..; k, v [keys][d]; causal if first >= 0. */
    static double[] attention(double[] q, double[] k, double[] v, int rows, int keys, int d, int first, double scale) {
        double[] out = new double[rows * d];
        double[] s = new double[keys];
        for (int i = 0; i < rows; i++) {
            int visible = first >= 0 ? first + i + 1 : keys;
            for (int j = 0; j < visible; j++) {
                double dot = 0;
                for (int c = 0; c < d; c++) dot += q[i * d + c] * k[j * d + c];
                s[j] = dot * scale;
            }
            softmax(s, 0, visible);
            for (int j = 0; j < visible; j++)
                for (int c = 0; c < d; c++) out[i * d + c] += s[j] * v[j * d + c];
        }
        return out;
    }

    /** The doc's antialiased bilinear taps for one axis, in double. */
    static double[][] resizeTaps(int in, int out) {
        double scale = (double) in / out;
        double support = scale >= 1 ? scale : 1.0;
        double inv = scale >= 1 ? 1 / scale : 1.0;
        double[][] taps = new double[out][in];
        for (int o = 0; o < out; o++) {
            double center = scale * (o + 0.5);
            int lo = Math.max((int) (center - support + 0.5), 0);
            int hi = Math.min((int) (center + support + 0.5), in);
            double total = 0;
            for (int j = lo; j < hi; j++) total += taps[o][j] = Math.max(0, 1 - Math.abs((j - center + 0.5) * inv));
            for (int j = lo; j < hi; j++) taps[o][j] /= total;
        }
        return taps;
    }

    /** Resizes a [side*side, dim] grid to [outH*outW, dim] with {@link #resizeTaps}. */
    static double[] resizeGrid(float[] table, int side, int dim, int outH, int outW) {
        double[][] th = resizeTaps(side, outH);
        double[][] tw = resizeTaps(side, outW);
        double[] out = new double[outH * outW * dim];
        for (int r = 0; r < outH; r++)
            for (int c = 0; c < outW; c++)
                for (int i = 0; i < side; i++)
                    for (int j = 0; j < side; j++) {
                        double wgt = th[r][i] * tw[c][j];
                        if (wgt == 0) continue;
                        for (int ch = 0; ch < dim; ch++) out[(r * outW + c) * dim + ch] += wgt * table[(i * side + j) * dim + ch];
                    }
        return out;
    }

    // ---- vision tower + projector ----------------------------------------------------------------

    /** Projected image tokens of one view [tokens, text hidden]. */
    double[] encodeView(float[] patches, int gh, int gw) {
        var v = config.vision();
        String p = TinyModel.VISION;
        int n = gh * gw;
        int d = v.hiddenSize();
        double[] x = linear(toDouble(patches), n, w.values(p + "embeddings.patch_embedding.weight"), d, v.patchDim(),
                w.values(p + "embeddings.patch_embedding.bias"));
        double[] pos = resizeGrid(w.values(p + "embeddings.position_embedding.weight"), v.positionGridSide(), d, gh, gw);
        for (int i = 0; i < x.length; i++) x[i] += pos[i];
        int hd = v.headDim();
        for (int layer = 0; layer < v.numLayers(); layer++) {
            String l = p + "encoder.layers." + layer + ".";
            double[] h = layerNorm(x, n, d, w.values(l + "layer_norm1.weight"), w.values(l + "layer_norm1.bias"), v.layerNormEps());
            double[] q = linear(h, n, w.values(l + "self_attn.q_proj.weight"), d, d, w.values(l + "self_attn.q_proj.bias"));
            double[] k = linear(h, n, w.values(l + "self_attn.k_proj.weight"), d, d, w.values(l + "self_attn.k_proj.bias"));
            double[] vv = linear(h, n, w.values(l + "self_attn.v_proj.weight"), d, d, w.values(l + "self_attn.v_proj.bias"));
            double[] o = new double[n * d];
            for (int head = 0; head < v.numHeads(); head++) {
                double[] oh = attention(slice(q, n, d, head * hd, hd), slice(k, n, d, head * hd, hd), slice(vv, n, d, head * hd, hd),
                        n, n, hd, -1, 1 / Math.sqrt(hd));
                for (int r = 0; r < n; r++) System.arraycopy(oh, r * hd, o, r * d + head * hd, hd);
            }
            double[] attn = linear(o, n, w.values(l + "self_attn.out_proj.weight"), d, d, w.values(l + "self_attn.out_proj.bias"));
            for (int i = 0; i < x.length; i++) x[i] += attn[i];
            h = layerNorm(x, n, d, w.values(l + "layer_norm2.weight"), w.values(l + "layer_norm2.bias"), v.layerNormEps());
            double[] f = linear(h, n, w.values(l + "mlp.fc1.weight"), v.intermediateSize(), d, w.values(l + "mlp.fc1.bias"));
            for (int i = 0; i < f.length; i++) f[i] = geluTanh(f[i]);
            double[] m = linear(f, n, w.values(l + "mlp.fc2.weight"), d, v.intermediateSize(), w.values(l + "mlp.fc2.bias"));
            for (int i = 0; i < x.length; i++) x[i] += m[i];
        }
        x = layerNorm(x, n, d, w.values(p + "post_layernorm.weight"), w.values(p + "post_layernorm.bias"), v.layerNormEps());

        int f = config.downsampleFactor();
        int tokens = (gh / f) * (gw / f);
        int in = config.projectorInputSize();
        double[] u = new double[tokens * in];
        for (int r = 0; r < gh / f; r++)
            for (int c = 0; c < gw / f; c++)
                for (int dy = 0; dy < f; dy++)
                    for (int dx = 0; dx < f; dx++)
                        for (int ch = 0; ch < d; ch++)
                            u[(r * (gw / f) + c) * in + (dy * f + dx) * d + ch] = x[((f * r + dy) * gw + f * c + dx) * d + ch];
        String q = TinyModel.PROJECTOR;
        if (config.projectorUseLayerNorm()) u = layerNorm(u, tokens, in, w.values(q + "layer_norm.weight"), w.values(q + "layer_norm.bias"), 1e-5);
        int ph = config.projectorHiddenSize();
        double[] z = linear(u, tokens, w.values(q + "linear_1.weight"), ph, in, w.values(q + "linear_1.bias"));
        for (int i = 0; i < z.length; i++) z[i] = geluErf(z[i]);
        return linear(z, tokens, w.values(q + "linear_2.weight"), config.text().hiddenSize(), ph, w.values(q + "linear_2.bias"));
    }

    // ---- text decoder ----------------------------------------------------------------------------

    double[] embed(int[] ids) {
        int h = config.text().hiddenSize();
        float[] table = w.values(TinyModel.TEXT + "embed_tokens.weight");
        double[] x = new double[ids.length * h];
        for (int i = 0; i < ids.length; i++)
            for (int c = 0; c < h; c++) x[i * h + c] = table[ids[i] * h + c];
        return x;
    }

    /** Logits of the last position after running all {@code len} embeddings from position 0. */
    double[] lastLogits(double[] x, int len) {
        var t = config.text();
        int h = t.hiddenSize();
        int hd = t.headDim();
        for (int layer = 0; layer < t.numLayers(); layer++) {
            String l = TinyModel.TEXT + "layers." + layer + ".";
            double[] a = rmsNorm(x, len, h, w.values(l + "operator_norm.weight"), t.normEps());
            double[] mixed;
            if (t.isAttention(layer)) {
                int nh = t.numHeads();
                int kvh = t.numKvHeads();
                double[] q = linear(a, len, w.values(l + "self_attn.q_proj.weight"), nh * hd, h, null);
                double[] k = linear(a, len, w.values(l + "self_attn.k_proj.weight"), kvh * hd, h, null);
                double[] v = linear(a, len, w.values(l + "self_attn.v_proj.weight"), kvh * hd, h, null);
                q = rmsNorm(q, len * nh, hd, w.values(l + "self_attn.q_layernorm.weight"), t.normEps());
                k = rmsNorm(k, len * kvh, hd, w.values(l + "self_attn.k_layernorm.weight"), t.normEps());
                for (int r = 0; r < len; r++) {
                    for (int hh = 0; hh < nh; hh++) rope(q, (r * nh + hh) * hd, hd, r, t.ropeTheta());
                    for (int hh = 0; hh < kvh; hh++) rope(k, (r * kvh + hh) * hd, hd, r, t.ropeTheta());
                }
                double[] o = new double[len * nh * hd];
                for (int hh = 0; hh < nh; hh++) {
                    int kv = hh / (nh / kvh);
                    double[] oh = attention(slice(q, len, nh * hd, hh * hd, hd), slice(k, len, kvh * hd, kv * hd, hd),
                            slice(v, len, kvh * hd, kv * hd, hd), len, len, hd, 0, 1 / Math.sqrt(hd));
                    for (int r = 0; r < len; r++) System.arraycopy(oh, r * hd, o, r * nh * hd + hh * hd, hd);
                }
                mixed = linear(o, len, w.values(l + "self_attn.out_proj.weight"), h, nh * hd, null);
            } else {
                double[] bcx = linear(a, len, w.values(l + "conv.in_proj.weight"), 3 * h, h, null);
                float[] taps = w.values(l + "conv.conv.weight");
                int kernel = t.convKernel();
                double[] y = new double[len * h];
                for (int r = 0; r < len; r++)
                    for (int c = 0; c < h; c++) {
                        double conv = 0;
                        for (int k = 0; k < kernel; k++) {
                            int tt = r - (kernel - 1) + k;
                            if (tt >= 0) conv += taps[c * kernel + k] * bcx[tt * 3 * h + c] * bcx[tt * 3 * h + 2 * h + c];
                        }
                        y[r * h + c] = bcx[r * 3 * h + h + c] * conv;
                    }
                mixed = linear(y, len, w.values(l + "conv.out_proj.weight"), h, h, null);
            }
            for (int i = 0; i < x.length; i++) x[i] += mixed[i];
            double[] b = rmsNorm(x, len, h, w.values(l + "ffn_norm.weight"), t.normEps());
            double[] g = linear(b, len, w.values(l + "feed_forward.w1.weight"), t.ffnDim(), h, null);
            double[] up = linear(b, len, w.values(l + "feed_forward.w3.weight"), t.ffnDim(), h, null);
            for (int i = 0; i < g.length; i++) g[i] = silu(g[i]) * up[i];
            double[] ff = linear(g, len, w.values(l + "feed_forward.w2.weight"), h, t.ffnDim(), null);
            for (int i = 0; i < x.length; i++) x[i] += ff[i];
        }
        double[] last = new double[h];
        System.arraycopy(x, (len - 1) * h, last, 0, h);
        last = rmsNorm(last, 1, h, w.values(TinyModel.TEXT + "embedding_norm.weight"), t.normEps());
        return linear(last, 1, w.values(TinyModel.TEXT + "embed_tokens.weight"), t.vocabSize(), h, null);
    }

    static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    /** Columns [col, col + width) of a [rows, stride] matrix. */
    static double[] slice(double[] m, int rows, int stride, int col, int width) {
        double[] s = new double[rows * width];
        for (int r = 0; r < rows; r++) System.arraycopy(m, r * stride + col, s, r * width, width);
        return s;
    }
}
