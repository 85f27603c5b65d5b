package io.lfmcap.cuda;

import io.lfmcap.image.PatchGrid;
import io.lfmcap.model.ModelConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The SigLIP2 NaFlex encoder and the projector on packed batches of views (images, tiles, thumbnails of any
 * sizes): rows of all views run through every linear layer together, attention stays within each view.
 * <pre>
 *   levels (host uint8) --copy--> staging u8 --patch_levels_to_bf16(level table)--> patches bf16 [P, 768]
 *     (float-form views: fp32 pieces through the same staging --f32_to_bf16--> their rows of patches)
 *   x  = patch_embedding(patches) + bias               cuBLASLt BIAS epilogue, bf16 [P, D]
 *   x += bf16(resize(position_embedding, gridH x gridW))   vision_position_add (per view, host-computed taps)
 *   per layer (pre-LN, HF Siglip2EncoderLayer):
 *     h = LN1(x) bf16;  qkv = h Wqkv^T + b  bf16 [P, 3D]
 *     a = attention per view (bidirectional, fp32 softmax)            bf16 [P, D]
 *         runs of equal views: cuDNN's fused SDPA (CudnnAttention), 1.9x the flash kernel at head dim 64 (s13-3);
 *         other views, or without cuDNN 9: the flash kernels (Attention)
 *     x += a Wo^T + bo                                  (beta = 1: the residual add in fp32, rounded once to bf16)
 *     h = LN2(x);  m = gelu_tanh(h W1^T + b1)  bf16 [P, I]            (GELU_BIAS epilogue)
 *     x += m W2^T + b2
 *   f = post_layernorm(x) fp32 [P, D]                  (in the MLP's buffer, free by then)
 *   u = pixel_unshuffle(f) [+ LayerNorm]  bf16 [T, 4D]               (HF Lfm2VlMultiModalProjector)
 *   out = linear_2(gelu_erf(linear_1(u)))  fp32 [T, text hidden]
 * </pre>
 * The residual stream x is bf16, as in HF's bf16 model (HF rounds each layer's output and then the sum; here the
 * GEMM adds onto x in fp32 and rounds once). Before s9 it was fp32, which doubled the bytes of the out-projection's
 * and fc2's epilogues and of the norms' reads: 450M vision 0.552 -> 0.545 ms per image at batch 2048 (s9-9), and
 * against transformers fp32 the logits' relative error 1.06e-2 -> 1.07e-2 (450M), 1.52e-2 -> 1.62e-2 (1.6B), where
 * transformers bf16 has 1.85e-2 and 2.54e-2 (CudaTransformersComparisonTest, s9-7).
 * Workspaces are sized for {@code maxPatches} at construction; nothing is allocated per call.
 */
final class VisionTower implements AutoCloseable {

    private final GpuContext ctx;
    private final DeviceWeights.Vision w;
    private final boolean simpleAttention;
    private final int maxPatches;
    private final int dim;
    private final int patchDim;
    private final int heads;
    private final int headDim;
    private final int side;
    private final int factor;
    private final int projectorHidden;
    private final int textHidden;
    private final float eps;
    private final float scale;
    private final DeviceMemory memory;
    private final PatchStaging hostStaging;
    /** cuDNN's fused attention for runs of equal-size views, or null (CudnnAttention.open said why). */
    private final CudnnAttention cudnn;
    private final String attentionPath;
    private final long mlpBytes;
    private final long staging, patches, x, h, qkv, attn, mlp, unshuffled, projHidden, projAct;

    VisionTower(GpuContext ctx, ModelConfig cfg, DeviceWeights.Vision w, int maxPatches, boolean simpleAttention, boolean cudnnAttention) {
        var v = cfg.vision();
        if (!v.hiddenAct().equals("gelu_pytorch_tanh") && !v.hiddenAct().equals("gelu_new"))
            throw new UnsupportedOperationException("vision hidden_act '" + v.hiddenAct() + "' is not supported by the CUDA backend (gelu_pytorch_tanh is)");
        if (v.headDim() > 128 || v.headDim() % 8 != 0 || v.hiddenSize() % 8 != 0)
            throw new UnsupportedOperationException("vision head dim " + v.headDim() + " is not supported by the CUDA attention kernels (multiples of 8 up to 128)");
        this.ctx = ctx;
        this.w = w;
        this.simpleAttention = simpleAttention || !Attention.hasFlashKernel(v.headDim());
        this.maxPatches = maxPatches;
        this.dim = v.hiddenSize();
        this.patchDim = v.patchDim();
        this.heads = v.numHeads();
        this.headDim = v.headDim();
        this.side = v.positionGridSide();
        this.factor = cfg.downsampleFactor();
        this.projectorHidden = cfg.projectorHiddenSize();
        this.textHidden = cfg.text().hiddenSize();
        this.eps = (float) v.layerNormEps();
        this.scale = (float) Math.pow(headDim, -0.5);
        this.memory = DeviceMemory.allocate("vision workspace", workspaceBytes(cfg, maxPatches));
        int tokens = maxPatches / (factor * factor);
        staging = memory.take(stagingBytes(patchDim, maxPatches));
        patches = memory.take(2L * maxPatches * patchDim);
        x = memory.take(2L * maxPatches * dim);
        h = memory.take(2L * maxPatches * dim);
        qkv = memory.take(2L * maxPatches * 3 * dim);
        attn = memory.take(2L * maxPatches * dim);
        mlpBytes = mlpBytesPerPatch(v) * maxPatches;
        mlp = memory.take(mlpBytes);
        unshuffled = memory.take(2L * tokens * cfg.projectorInputSize());
        projHidden = memory.take(4L * tokens * projectorHidden);
        projAct = memory.take(2L * tokens * projectorHidden);
        try {
            this.hostStaging = new PatchStaging(ctx, stagingBytes(patchDim, maxPatches));
        } catch (RuntimeException e) {
            memory.close();
            throw e;
        }
        // probed on a full pass of 1024-patch views (512x512 images or tiles): the plan the busiest passes use
        String[] why = {"off (" + CudaOptions.CUDNN_ATTENTION_PROPERTY + "=false)"};
        int probeRows = Math.min(maxPatches, 1024);
        this.cudnn = cudnnAttention && !this.simpleAttention ? CudnnAttention.open(ctx,
                new CudnnAttention.Shape(Integer.highestOneBit(maxPatches / probeRows), probeRows, heads, headDim, 3 * dim, dim), why) : null;
        this.attentionPath = cudnn != null ? "cuDNN " + cudnn.version() + " SDPA" : "flash kernels; cuDNN: " + why[0];
    }

    /** Which attention the tower runs, for reports: cuDNN's with its version, or the flash kernels and why. */
    String attentionPath() { return attentionPath; }

    /** The patch staging, on the device and pinned on the host: one pass of uint8 levels (at least one fp32 value). */
    private static long stagingBytes(int patchDim, int maxPatches) { return Math.max(4L, (long) maxPatches * patchDim); }

    /** The MLP's activations (bf16 [P, I]), which later hold post_layernorm's fp32 output [P, D]. */
    private static long mlpBytesPerPatch(ModelConfig.VisionConfig v) {
        return Math.max(2L * v.intermediateSize(), 4L * v.hiddenSize());
    }

    static long workspaceBytes(ModelConfig cfg, int maxPatches) {
        var v = cfg.vision();
        long p = maxPatches;
        long t = p / ((long) cfg.downsampleFactor() * cfg.downsampleFactor());
        long bytes = stagingBytes(v.patchDim(), maxPatches)
                + p * (2L * v.patchDim() + 2L * v.hiddenSize() * 6 + mlpBytesPerPatch(v))
                + t * (2L * cfg.projectorInputSize() + 6L * cfg.projectorHiddenSize());
        return bytes + 16 * DeviceMemory.ALIGNMENT;
    }

    int maxPatches() { return maxPatches; }

    /** Image tokens of a view after the projector. */
    int tokens(PatchGrid view) { return view.numTokens(factor); }

    /** Checks that a view can run here (patch length, even grid, size); the message names the problem. */
    void validate(PatchGrid view) {
        if (view.patchDim() != patchDim)
            throw new IllegalArgumentException("patch length " + view.patchDim() + " does not match the vision encoder's " + patchDim);
        if (view.gridH() % factor != 0 || view.gridW() % factor != 0)
            throw new IllegalArgumentException("view patch grid " + view.gridH() + "x" + view.gridW()
                    + " is not divisible by the downsample factor " + factor);
        if (view.numPatches() > maxPatches)
            throw new IllegalArgumentException("a view of " + view.numPatches() + " patches exceeds the CUDA backend's vision batch of "
                    + maxPatches + " patches");
    }

    /**
     * Encodes {@code views} (together at most {@link #maxPatches()} patches) and writes their projected
     * tokens, views in order, to {@code out} (fp32 {@code [tokens, text hidden]}).
     */
    void encode(List<PatchGrid> views, PassUpload up, long out) {
        int n = views.size();
        int totalPatches = 0, totalTokens = 0;
        for (PatchGrid view : views) {
            validate(view);
            totalPatches += view.numPatches();
            totalTokens += tokens(view);
        }
        if (totalPatches > maxPatches) throw new IllegalArgumentException(totalPatches + " patches in one vision pass (at most " + maxPatches + ")");
        if (n == 0) return;

        // Per-view descriptors, per-patch and per-token view index, position taps (kernels.cu VIEW_FIELDS).
        int[] desc = new int[6 * n];
        int[] patchView = new int[totalPatches];
        int[] tokenView = new int[totalTokens];
        List<int[]> cudnnRuns = cudnnRuns(views);
        boolean[] viaCudnn = new boolean[n];
        for (int[] run : cudnnRuns) Arrays.fill(viaCudnn, run[0], run[0] + run[1], true);
        int kernelViews = 0;
        for (boolean c : viaCudnn) if (!c) kernelViews++;
        int[] segRows = new int[kernelViews], segFirst = new int[kernelViews], causal = new int[kernelViews];
        PositionTaps.Axis[] axes = new PositionTaps.Axis[2 * n];
        int taps = 0, maxTaps = 1, patch = 0, token = 0, maxRows = 0, seg = 0;
        for (int i = 0; i < n; i++) {
            PatchGrid view = views.get(i);
            axes[2 * i] = PositionTaps.axis(side, view.gridH());
            axes[2 * i + 1] = PositionTaps.axis(side, view.gridW());
            desc[6 * i] = patch;
            desc[6 * i + 1] = view.gridH();
            desc[6 * i + 2] = view.gridW();
            desc[6 * i + 3] = taps;
            desc[6 * i + 4] = taps + view.gridH();
            desc[6 * i + 5] = token;
            taps += view.gridH() + view.gridW();
            maxTaps = Math.max(maxTaps, Math.max(axes[2 * i].maxTaps(), axes[2 * i + 1].maxTaps()));
            if (!viaCudnn[i]) {
                int k = seg++;
                segFirst[k] = patch;
                segRows[k] = view.numPatches();
                causal[k] = -1;
                maxRows = Math.max(maxRows, view.numPatches());
            }
            for (int k = 0; k < view.numPatches(); k++) patchView[patch++] = i;
            for (int k = 0; k < tokens(view); k++) tokenView[token++] = i;
        }
        int[] tapFirst = new int[taps], tapCount = new int[taps];
        float[] tapWeight = new float[taps * maxTaps];
        int t = 0;
        for (PositionTaps.Axis a : axes) {
            for (int o = 0; o < a.first().length; o++, t++) {
                tapFirst[t] = a.first()[o];
                tapCount[t] = a.count()[o];
                System.arraycopy(a.weights(), o * a.maxTaps(), tapWeight, t * maxTaps, a.count()[o]);
            }
        }
        long dDesc = up.ints(desc), dPatchView = up.ints(patchView), dTokenView = up.ints(tokenView);
        long dSegFirst = up.ints(segFirst), dSegRows = up.ints(segRows), dCausal = up.ints(causal);
        long dTapFirst = up.ints(tapFirst), dTapCount = up.ints(tapCount), dTapWeight = up.floats(tapWeight);
        float[] levelTable = sharedLevelTable(views);
        long dLevelTable = levelTable == null ? 0 : up.floats(levelTable);
        up.send();
        if (levelTable != null) stageLevels(views, dLevelTable);
        else stageFloats(views);

        ctx.gemm.linearBias(patches, totalPatches, w.patch(), w.patchBias(), x, false, false, false);
        Kernels.visionPositionAdd(ctx, totalPatches, x, dim, w.positionTable(), side, dPatchView, dDesc,
                dTapFirst, dTapCount, dTapWeight, maxTaps);

        long bf16Dim = 2L * dim;
        for (DeviceWeights.VisionLayer layer : w.layers()) {
            layerNorm(x, layer.norm1W(), layer.norm1B(), h, false, totalPatches, dim);
            ctx.gemm.linearBias(h, totalPatches, layer.qkv(), layer.qkvBias(), qkv, false, false, false);
            for (int[] run : cudnnRuns) {
                long q = qkv + 3 * bf16Dim * run[2];
                cudnn.run(new CudnnAttention.Shape(run[1], views.get(run[0]).numPatches(), heads, headDim, 3 * dim, dim), scale,
                        q, q + bf16Dim, q + 2 * bf16Dim, attn + bf16Dim * run[2]);
            }
            if (kernelViews > 0)
                Attention.run(ctx, simpleAttention, headDim, false, qkv, 3 * dim, qkv + bf16Dim, qkv + 2 * bf16Dim, 3 * dim,
                        attn, dim, heads, heads, scale, dSegFirst, dSegRows, dSegFirst, dSegRows, dCausal, 0, 0, maxRows, kernelViews);
            ctx.gemm.linearBias(attn, totalPatches, layer.out(), layer.outBias(), x, false, true, false);
            layerNorm(x, layer.norm2W(), layer.norm2B(), h, false, totalPatches, dim);
            ctx.gemm.linearBias(h, totalPatches, layer.fc1(), layer.fc1Bias(), mlp, false, false, true);
            ctx.gemm.linearBias(mlp, totalPatches, layer.fc2(), layer.fc2Bias(), x, false, true, false);
        }
        long features = mlp;
        layerNorm(x, w.postNormW(), w.postNormB(), features, true, totalPatches, dim);

        Kernels.pixelUnshuffle(ctx, Kernels.Grid.of(totalTokens, 256), features, dim, factor, dTokenView, dDesc, w.projectorNormW(),
                w.projectorNormB(), 1e-5f, unshuffled);
        ctx.gemm.linearBias(unshuffled, totalTokens, w.linear1(), w.linear1Bias(), projHidden, true, false, false);
        long hiddenElements = (long) totalTokens * projectorHidden;
        Kernels.geluErf(ctx, Kernels.Grid.stride(hiddenElements), projHidden, hiddenElements, projAct);
        ctx.gemm.linearBias(projAct, totalTokens, w.linear2(), w.linear2Bias(), out, true, false, false);
    }

    /**
     * The pieces of {@link #equalViewPieces} that cuDNN runs: those that fill the device (at least one tile of 128
     * query rows per multiprocessor over their views and heads: a lone 1024-patch view at 12 heads is 96 tiles on 132
     * SMs) and whose shapes cuDNN takes (building their plans). The small pieces of a pass that mixes view sizes join
     * the flash kernel's one launch instead of each running a launch of its own. Empty without cuDNN.
     */
    private List<int[]> cudnnRuns(List<PatchGrid> views) {
        List<int[]> runs = new ArrayList<>();
        if (cudnn == null) return runs;
        int[] patches = new int[views.size()];
        for (int i = 0; i < patches.length; i++) patches[i] = views.get(i).numPatches();
        for (int[] piece : equalViewPieces(patches)) {
            int rows = patches[piece[0]];
            if ((long) piece[1] * heads * ((rows + 127) / 128) < ctx.sms) continue;
            if (cudnn.supports(new CudnnAttention.Shape(piece[1], rows, heads, headDim, 3 * dim, dim))) runs.add(piece);
        }
        return runs;
    }

    /**
     * A pass's views (their patch counts, in pass order) as pieces of consecutive views of one patch count, each
     * (first view, views, first patch): every run of equal views split into power-of-two counts, largest first, so
     * that a few cuDNN plans per view size serve any pass (a 32-view pass of 512x512 images is one piece).
     */
    static List<int[]> equalViewPieces(int[] patches) {
        List<int[]> pieces = new ArrayList<>();
        int patch = 0;
        for (int i = 0; i < patches.length; ) {
            int end = i + 1;
            while (end < patches.length && patches[end] == patches[i]) end++;
            while (i < end) {
                int count = Integer.highestOneBit(end - i);
                pieces.add(new int[] {i, count, patch});
                patch += count * patches[i];
                i += count;
            }
        }
        return pieces;
    }

    /**
     * Gemm.tune for the tower's and the projector's linear layers (every encoder layer has the same shapes), on this
     * tower's own workspaces as scratch (nothing lives in them between passes).
     */
    void tuneLinears() {
        DeviceWeights.VisionLayer l = w.layers()[0];
        Gemm g = ctx.gemm;
        g.tune(patches, maxPatches, w.patch(), w.patchBias(), x, false, false, false);
        g.tune(h, maxPatches, l.qkv(), l.qkvBias(), qkv, false, false, false);
        g.tune(attn, maxPatches, l.out(), l.outBias(), x, false, true, false);
        g.tune(h, maxPatches, l.fc1(), l.fc1Bias(), mlp, false, false, true);
        g.tune(mlp, maxPatches, l.fc2(), l.fc2Bias(), x, false, true, false);
        int tokens = maxPatches / (factor * factor);
        g.tune(unshuffled, tokens, w.linear1(), w.linear1Bias(), projHidden, true, false, false);
        if (4L * tokens * textHidden <= mlpBytes) // linear_2's output [T, text hidden] fp32 into the MLP's buffer
            g.tune(projAct, tokens, w.linear2(), w.linear2Bias(), mlp, true, false, false);
    }

    private void layerNorm(long in, long weight, long bias, long out, boolean outF32, int rows, int n) {
        Kernels.layerNorm(ctx, Kernels.normRows(rows), in, n, weight, bias, out, outF32 ? 1 : 0, n, n, eps, rows);
    }

    /**
     * The level table of a pass whose views are all in level form with one table (by content); null otherwise,
     * and then the pass goes the fp32 way ({@link #stageFloats}), which is exact for any mix.
     */
    private static float[] sharedLevelTable(List<PatchGrid> views) {
        float[] table = views.get(0).levelTable();
        for (PatchGrid view : views) {
            float[] t = view.levelTable();
            if (t == null || (t != table && !Arrays.equals(t, table))) return null;
        }
        return table;
    }

    /**
     * Writes the uint8 levels of a coming pass's {@code views} into pinned memory now (the pass must then be encoded
     * with this same list), so that this host work overlaps the device's current work; views that will not take the
     * level path are left for {@link #encode}.
     */
    void fillAhead(List<PatchGrid> views) {
        int total = 0;
        for (PatchGrid v : views) total += v.numPatches();
        if (!views.isEmpty() && total <= maxPatches && sharedLevelTable(views) != null) hostStaging.fillAhead(views);
    }

    /** Vision passes whose patches were staged ahead ({@link #fillAhead}) so far. */
    long passesFilledAhead() { return hostStaging.passesFilledAhead(); }

    /**
     * Host levels -> u8 staging on the device -> bf16 patches: one asynchronous copy of the whole pass (1 byte a
     * value) from pinned memory (PatchStaging: filled now or ahead), expanded through the level table by
     * patch_levels_to_bf16.
     */
    private void stageLevels(List<PatchGrid> views, long dLevelTable) {
        long fill = hostStaging.copyLevels(views, staging);
        Kernels.patchLevelsToBf16(ctx, Kernels.Grid.stride((fill + 7) / 8), staging, dLevelTable, patches, fill);
    }

    /**
     * Float-form views (fixtures, tests) or a pass mixing forms or tables: fp32 values through the same staging in
     * pieces, each converted by f32_to_bf16 into its place in {@code patches}.
     */
    private void stageFloats(List<PatchGrid> views) {
        hostStaging.copyFloats(views, staging,
                (offset, count) -> Kernels.f32ToBf16(ctx, Kernels.Grid.stride(count), staging, patches + 2L * offset, count));
    }

    @Override
    public void close() {
        try {
            memory.close();
            if (cudnn != null) cudnn.close();
        } finally {
            hostStaging.close();
        }
    }
}
