package io.lfmcap.cuda;

import io.lfmcap.model.ModelConfig;
import java.util.List;

/**
 * The LFM2 hybrid decoder (HF {@code Lfm2Model} + tied lm_head, docs/model-lfm2-vl.md section 5) on packed
 * passes: the rows of several sequences (a prefill chunk each, or one decode token each) go through every
 * linear layer together; ShortConv and attention read each sequence's own state.
 * <pre>
 *   x fp32 [R, H]  (embed_rows: token embeddings and image features)
 *   per layer:
 *     a = RMSNorm_op(x) bf16
 *     attention:  qkv = a Wqkv^T fp32 -> qk_norm_rope_store: q bf16, K/V into the sequence's pages
 *                 o = paged causal GQA attention bf16;  x += o Wo^T
 *     conv:       bcx = a Win^T fp32 -> short_conv (state from the slot) bf16, short_conv_state;  x += y Wout^T
 *     f = RMSNorm_ffn(x);  gu = f W13^T bf16 (as HF's bf16 Linear) -> silu_mul bf16;  x += m W2^T
 *   logits fp32 [S, V] = RMSNorm_final(x[last row of each sequence]) E^T
 * </pre>
 * Residual stream, GEMM outputs feeding element-wise kernels (but the gate/up pair), norms and softmax are fp32;
 * GEMM inputs bf16.
 * Workspaces are sized for {@code maxRows} rows and {@code maxSequences} sequences at construction.
 */
final class TextDecoder implements AutoCloseable {
    /** A sequence's part of a pass: {@code rows} new positions from its current one. */
    record Segment(CudaSequence sequence, int rows) {}

    private final GpuContext ctx;
    private final ModelConfig.TextConfig cfg;
    private final DeviceWeights.Text w;
    private final KvCachePool kv;
    private final boolean simpleAttention;
    /** Decode steps of at most this many sequences take the fused small-batch kernels (0: never). */
    private final int smallBatchRows;
    /** Blocks of {@link #ADD_NARROW} the device holds at once. */
    private final int addNarrowResident;
    private final int maxRows;
    private final int maxSequences;
    private final int hidden;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int ffn;
    private final int vocab;
    private final float eps;
    private final float scale;
    private final DeviceMemory memory;
    private final long x, normed, big, q, mixed, act, imageFeatures, finalNormed, logits, tokens;
    /** gemv_rms_pick_rN's count of finished blocks (zero between launches) and its blocks' best logits per row. */
    private final long pickDone, pickPartial;

    TextDecoder(GpuContext ctx, ModelConfig.TextConfig cfg, DeviceWeights.Text w, KvCachePool kv, int maxRows, int maxSequences,
                boolean simpleAttention, boolean smallBatchKernels) {
        if (cfg.headDim() > 128 || cfg.headDim() % 8 != 0)
            throw new UnsupportedOperationException("text head dim " + cfg.headDim() + " is not supported by the CUDA kernels (multiples of 8 up to 128)");
        if (cfg.hiddenSize() % 4 != 0)
            throw new UnsupportedOperationException("text hidden size " + cfg.hiddenSize() + " is not supported by the CUDA kernels (multiples of 4)");
        if (cfg.numHeads() % cfg.numKvHeads() != 0)
            throw new IllegalArgumentException("num_attention_heads " + cfg.numHeads() + " is not a multiple of num_key_value_heads " + cfg.numKvHeads());
        if (cfg.convKernel() < 1 || cfg.convKernel() > Kernels.CONV_MAX_L)
            throw new UnsupportedOperationException("conv_L_cache " + cfg.convKernel() + " is not supported by the CUDA kernels (1 to "
                    + Kernels.CONV_MAX_L + "; LFM2 uses 3)");
        this.ctx = ctx;
        this.cfg = cfg;
        this.w = w;
        this.kv = kv;
        this.simpleAttention = simpleAttention || !Attention.hasFlashKernel(cfg.headDim());
        this.maxRows = maxRows;
        this.maxSequences = maxSequences;
        this.hidden = cfg.hiddenSize();
        this.heads = cfg.numHeads();
        this.kvHeads = cfg.numKvHeads();
        this.headDim = cfg.headDim();
        this.ffn = cfg.ffnDim();
        this.vocab = cfg.vocabSize();
        this.eps = (float) cfg.normEps();
        this.scale = (float) Math.pow(headDim, -0.5);
        this.smallBatchRows = smallBatchKernels && fitsSmallBatchKernels(cfg) ? SMALL_BATCH_ROWS : 0;
        for (int r = 1; r <= smallBatchRows; r *= 2)  // asked once here, not while a step is being captured (DecodeGraphs)
            for (RmsGemv kind : RmsGemv.values()) gemvRmsResident(kind, r);
        this.addNarrowResident = smallBatchRows > 0 ? ctx.residentBlocks(ADD_NARROW, 128, 0) : 0;
        this.memory = DeviceMemory.allocate("decoder workspace", workspaceBytes(cfg, maxRows, maxSequences));
        x = memory.take(4L * maxRows * hidden);
        normed = memory.take(2L * maxRows * hidden);
        big = memory.take(4L * maxRows * bigWidth(cfg));
        q = memory.take(2L * maxRows * heads * headDim);
        mixed = memory.take(2L * maxRows * Math.max(hidden, heads * headDim));
        act = memory.take(2L * maxRows * ffn);
        imageFeatures = memory.take(4L * maxRows * hidden);
        finalNormed = memory.take(2L * maxSequences * hidden);
        logits = memory.take(4L * maxSequences * vocab);
        tokens = memory.take(4L * maxSequences);
        pickDone = memory.take(4);
        pickPartial = memory.take(PICK_PARTIAL_BYTES);
        ctx.zero(pickDone, 4);
    }

    /** Rows per block of the widest small-batch kernels (decode.cu gemv_*_r8). */
    private static final int SMALL_BATCH_ROWS = 8;
    /** Blocks of a gemv_rms_pick_rN launch at most (decode.cu GEMV_PICK_BLOCKS; an H200 holds ~400 at once), and their best logits. */
    static final int PICK_BLOCKS = 1024;
    private static final long PICK_PARTIAL_BYTES = 8L * SMALL_BATCH_ROWS * PICK_BLOCKS;
    /** Threads of an attention_decode block: decode.cu's DEC_WARPS x 32 (its __launch_bounds__). */
    private static final int DECODE_ATTENTION_THREADS = 512;

    /**
     * What decode.cu's small-batch kernels assume: 16-byte rows (widths multiples of 8), the normalised input of
     * 8 rows in 48 KiB of shared memory, head dim up to 128 and at most 8 query heads per kv head.
     */
    static boolean fitsSmallBatchKernels(ModelConfig.TextConfig cfg) {
        int qWidth = cfg.numHeads() * cfg.headDim();
        return cfg.hiddenSize() % 8 == 0 && cfg.ffnDim() % 8 == 0 && qWidth % 8 == 0
                && 2L * SMALL_BATCH_ROWS * cfg.hiddenSize() <= 48 * 1024
                && cfg.headDim() <= 128 && cfg.numHeads() / cfg.numKvHeads() <= 8 && KvCachePool.PAGE_TOKENS % 32 == 0;
    }

    private static int bigWidth(ModelConfig.TextConfig cfg) {
        int qkv = (cfg.numHeads() + 2 * cfg.numKvHeads()) * cfg.headDim();
        return Math.max(Math.max(3 * cfg.hiddenSize(), qkv), 2 * cfg.ffnDim());
    }

    static long workspaceBytes(ModelConfig.TextConfig cfg, int maxRows, int maxSequences) {
        long perRow = 4L * cfg.hiddenSize() * 2 + 2L * cfg.hiddenSize() + 4L * bigWidth(cfg) + 2L * cfg.numHeads() * cfg.headDim()
                + 2L * Math.max(cfg.hiddenSize(), cfg.numHeads() * cfg.headDim()) + 2L * cfg.ffnDim();
        long perSequence = 2L * cfg.hiddenSize() + 4L * cfg.vocabSize() + 4;
        return perRow * maxRows + perSequence * maxSequences + 4 + PICK_PARTIAL_BYTES + 14 * DeviceMemory.ALIGNMENT;
    }

    int maxRows() { return maxRows; }

    /**
     * Gemm.tune for the linear layers of prefill passes (conv and attention layers' in- and out-projections, gate/up,
     * down; lm_head only ever sees a row per sequence), on this decoder's own workspaces as scratch (nothing lives in
     * them between passes).
     */
    void tuneLinears() {
        Gemm g = ctx.gemm;
        for (int layer = 0; layer < cfg.numLayers(); layer++) {
            DeviceWeights.TextLayer lw = w.layers()[layer];
            g.tune(normed, maxRows, lw.mix(), 0, big, true, false, false);
            g.tune(mixed, maxRows, lw.out(), 0, x, true, true, false);
            g.tune(normed, maxRows, lw.gateUp(), 0, big, false, false, false);
            g.tune(act, maxRows, lw.down(), 0, x, true, true, false);
        }
    }

    /** The pass input rows, fp32 {@code [maxRows, H]}. */
    long input() { return x; }

    /** Where image features (fp32 {@code [tokens, H]}) wait for {@link #embed}. */
    long imageFeatures() { return imageFeatures; }

    /** Logits of the last pass, fp32 {@code [segments, V]}. */
    long logits() { return logits; }

    /** Token ids written by {@link #argmax}, int {@code [segments]}. */
    long tokens() { return tokens; }

    /**
     * Input rows from a device gather list (int per row: an image feature row when >= 0, else token id
     * {@code -value-1}): HF's embed_tokens lookup and masked_scatter in one kernel.
     */
    void embed(long gather, int rows) { embed(gather, 0L, rows, PassUpload.Staged.NONE); }

    /**
     * {@link #embed(long, int)} where {@code fromPrev} (0: none) may feed rows the last step's picks; a small decode step's
     * kernel also copies the step's pass arrays to the device ({@code staged}; NONE: sent already), and then reads gather
     * and fromPrev at their staging.
     */
    private void embed(long gather, long fromPrev, int rows, PassUpload.Staged staged) {
        Kernels.embedRows(ctx, Kernels.Grid.of(rows, 256), gather, fromPrev, tokens, w.embed().address(), imageFeatures, hidden, x,
                staged.from(), staged.to(), staged.ints());
    }

    /** A pass's shape and its per-row / per-segment device arrays (uploaded through {@link PassUpload}). */
    private record Pass(int rows, int segments, int maxSegRows, long rowPos, long rowSlot, long rowSegStart, long segFirst,
                        long segRows, long segSlot, long segStart, long segKeys, long lastRow) {}

    /**
     * Runs the input rows of {@code segments} (packed in order) through the decoder, appending to each
     * sequence's caches and advancing it; the logits of each segment's last row land in {@link #logits()}.
     */
    void forward(List<Segment> segments, PassUpload up) {
        Pass p = stage(segments, up);
        up.send();
        layers(p);
        for (Segment seg : segments) seg.sequence().advance(seg.rows());
    }

    /**
     * One decode step of one token per sequence, from token ids to greedy picks in {@link #tokens()}: embed,
     * every layer, final norm, lm_head and argmax as one replayable unit ({@link DecodeGraphs}: a CUDA graph per batch
     * size). {@code up} must have been reset just before, so that a batch size always gets the same device addresses;
     * fromPrev[i] >= 0 feeds sequence i the previous step's pick in row fromPrev[i] of {@link #tokens()} instead of
     * tokenIds[i]; banned: one id per sequence (-1: none); pickCopy: a pinned host slot that receives the picks too
     * ({@link LaunchedSteps#slot}; 0: none). At small batches the embed copies the step's pass arrays to the device
     * ({@link PassUpload#sendByKernel}: a few hundred bytes) and lm_head makes the picks; at large ones (tens of KB of
     * pass arrays, which one block would read over PCIe 4 bytes at a time) the arrays go by a copy on the stream.
     */
    void decodeStep(List<Segment> segments, PassUpload up, int[] tokenIds, int[] fromPrev, int[] banned, long pickCopy,
                    DecodeGraphs graphs) {
        int n = segments.size();
        int[] gather = new int[n];
        for (int i = 0; i < n; i++) gather[i] = fromPrev[i] >= 0 ? -1 : -tokenIds[i] - 1;
        long dGather = up.ints(gather), dFromPrev = up.ints(fromPrev);
        Pass p = stage(segments, up);
        long dBanned = up.ints(banned);
        if (n <= smallBatchRows) {
            long hGather = up.staging(dGather), hFromPrev = up.staging(dFromPrev);
            PassUpload.Staged staged = up.sendByKernel();
            graphs.run(n, pickCopy, staged.from(), dBanned, () -> {
                embed(hGather, hFromPrev, n, staged);
                smallBatchLayers(p);
                lmHeadPicks(n, dBanned, pickCopy);
            });
        } else {
            up.send();
            graphs.run(n, pickCopy, 0L, dBanned, () -> {
                embed(dGather, dFromPrev, n, PassUpload.Staged.NONE);
                layers(p);
                argmax(n, dBanned, pickCopy);
            });
        }
        for (Segment seg : segments) seg.sequence().advance(seg.rows());
    }

    /** Host-side pass arrays (row positions and slots, segment bounds and key counts), staged for upload. */
    private Pass stage(List<Segment> segments, PassUpload up) {
        int s = segments.size();
        int rows = 0, maxSegRows = 0;
        for (Segment seg : segments) {
            rows += seg.rows();
            maxSegRows = Math.max(maxSegRows, seg.rows());
        }
        if (rows > maxRows || s > maxSequences)
            throw new IllegalArgumentException("a pass of " + rows + " rows over " + s + " sequences exceeds the decoder workspace ("
                    + maxRows + " rows, " + maxSequences + " sequences)");
        int[] rowPos = new int[rows], rowSlot = new int[rows], rowSegStart = new int[rows];
        int[] segFirst = new int[s], segRows = new int[s], segSlot = new int[s], segStart = new int[s], segKeys = new int[s], lastRow = new int[s];
        int r = 0;
        for (int i = 0; i < s; i++) {
            Segment seg = segments.get(i);
            CudaSequence sq = seg.sequence();
            segFirst[i] = r;
            segRows[i] = seg.rows();
            segSlot[i] = sq.slot();
            segStart[i] = sq.position();
            segKeys[i] = sq.position() + seg.rows();
            lastRow[i] = r + seg.rows() - 1;
            for (int j = 0; j < seg.rows(); j++, r++) {
                rowPos[r] = sq.position() + j;
                rowSlot[r] = sq.slot();
                rowSegStart[r] = segFirst[i];
            }
        }
        return new Pass(rows, s, maxSegRows, up.ints(rowPos), up.ints(rowSlot), up.ints(rowSegStart), up.ints(segFirst),
                up.ints(segRows), up.ints(segSlot), up.ints(segStart), up.ints(segKeys), up.ints(lastRow));
    }

    /** Every layer, the final norm and lm_head over a staged pass (launches only: capturable). */
    private void layers(Pass p) {
        int rows = p.rows(), s = p.segments();
        int qWidth = heads * headDim;
        int convBlocks = (hidden + 255) / 256;
        int kernel = cfg.convKernel();
        for (int layer = 0; layer < cfg.numLayers(); layer++) {
            DeviceWeights.TextLayer lw = w.layers()[layer];
            rmsNorm(x, 0, lw.operatorNorm(), normed, rows);
            if (cfg.isAttention(layer)) {
                ctx.gemm.linear(normed, rows, lw.mix(), big, true, false);
                Kernels.qkNormRopeStore(ctx, rows, big, heads, kvHeads, headDim,
                        lw.qNorm(), lw.kNorm(), eps, p.rowPos(), p.rowSlot(), kv.pageTable(), kv.maxPagesPerSequence(), w.invFreq(),
                        q, kv.keys(layer), kv.values(layer));
                Attention.run(ctx, simpleAttention, headDim, true, q, qWidth, kv.keys(layer), kv.values(layer), 0, mixed, qWidth,
                        heads, kvHeads, scale, p.segFirst(), p.segRows(), p.segSlot(), p.segKeys(), p.segStart(), kv.pageTable(),
                        kv.maxPagesPerSequence(), p.maxSegRows(), s);
            } else {
                ctx.gemm.linear(normed, rows, lw.mix(), big, true, false);
                Kernels.shortConv(ctx, big, hidden, lw.convTaps(), kernel,
                        kv.convState(layer), kv.convSlotStride(), p.rowSegStart(), p.rowSlot(), mixed, rows);
                Kernels.shortConvState(ctx, new Kernels.Grid(convBlocks, s, 1, 256), big, hidden, kernel, kv.convState(layer),
                        kv.convSlotStride(), p.segFirst(), p.segRows(), p.segSlot());
            }
            ctx.gemm.linear(mixed, rows, lw.out(), x, true, true);
            rmsNorm(x, 0, lw.ffnNorm(), normed, rows);
            ctx.gemm.linear(normed, rows, lw.gateUp(), big, false, false);
            Kernels.siluMul(ctx, Kernels.Grid.stride((long) rows * ffn / 8), big, rows, ffn, act);
            ctx.gemm.linear(act, rows, lw.down(), x, true, true);
        }
        rmsNorm(x, p.lastRow(), w.finalNorm(), finalNormed, s);
        ctx.gemm.linear(finalNormed, s, w.lmHead(), logits, true, false);
    }

    /**
     * {@link #layers} for a decode step of a few sequences (one row each), with decode.cu's fused kernels: per
     * layer RMSNorm + in-projection + conv step, or RMSNorm + in-projection and (q/k norm, RoPE, store) + decode
     * attention; out-projection + residual, RMSNorm + gate/up + SiLU-mul, down-projection + residual; then final
     * RMSNorm (into lm_head: {@link #lmHeadPicks}). Same rounding points as {@link #layers}; 4-5 launches per layer instead
     * of 8-9 plus split-K reductions.
     */
    private void smallBatchLayers(Pass p) {
        int rows = p.rows(), s = p.segments();
        int qWidth = heads * headDim;
        for (int layer = 0; layer < cfg.numLayers(); layer++) {
            DeviceWeights.TextLayer lw = w.layers()[layer];
            if (cfg.isAttention(layer)) {
                gemvNormed(RmsGemv.STORE, x, lw.operatorNorm(), lw.mix(), lw.mix().rows(), big, rows);
                Kernels.attentionDecode(ctx, new Kernels.Grid(kvHeads, s, 1, DECODE_ATTENTION_THREADS), big, lw.qNorm(), lw.kNorm(), eps,
                        w.invFreq(), kv.keys(layer), kv.values(layer), mixed, qWidth, heads, kvHeads, headDim, scale, p.segSlot(),
                        p.segKeys(), kv.pageTable(), kv.maxPagesPerSequence());
            } else {
                gemvConv(layer, lw, p.segSlot(), rows);
            }
            gemvAdd(mixed, lw.out(), x, rows);
            gemvNormed(RmsGemv.SILU, x, lw.ffnNorm(), lw.gateUp(), ffn, act, rows);
            gemvAdd(act, lw.down(), x, rows);
        }
    }

    /**
     * A small-batch step's final RMSNorm + lm_head into {@link #logits} and its greedy picks (argmax_rows' choice, banned:
     * device int per row) into {@link #tokens()} and, unless 0, the pinned host slot {@code copy}, in one launch (decode.cu
     * gemv_rms_pick_rN).
     */
    private void lmHeadPicks(int rows, long banned, long copy) {
        int r = gemvRowsPerBlock(rows);
        Kernels.Grid g = gemvRmsGrid(RmsGemv.PICK, vocab, r);
        Kernels.gemvPick(ctx, RmsGemv.PICK.kernel(r), new Kernels.Grid(Math.min(g.x(), PICK_BLOCKS), 1, 1, 128), 2 * r * hidden, x,
                rows, w.finalNorm(), eps, w.lmHead().address(), vocab, hidden, logits, vocab, banned, tokens, copy, pickPartial, pickDone);
    }

    /**
     * decode.cu's RMS-fused GEMVs: out = RMSNorm(x) W^T stored (fp32), as silu(g) * u (bf16; W's rows gate then up), a
     * conv layer's in-projection with its conv step (bf16 y; W's rows B, C, X), or stored with each row's greedy pick. Their column groups hold GEMV_COLS(N)
     * weight rows, GEMV_CONV_COLS(N) for the conv kernel (two channels' three rows each).
     */
    enum RmsGemv {
        STORE("gemv_rms_r", 8, 4, 1), SILU("gemv_rms_silu_r", 8, 4, 2), CONV("gemv_rms_conv_r", 6, 6, 3), PICK("gemv_rms_pick_r", 8, 4, 1);

        private final String prefix;
        private final int colsOneRow, colsMoreRows, parts;

        RmsGemv(String prefix, int colsOneRow, int colsMoreRows, int parts) {
            this.prefix = prefix;
            this.colsOneRow = colsOneRow;
            this.colsMoreRows = colsMoreRows;
            this.parts = parts;
        }

        String kernel(int rowsPerBlock) { return prefix + rowsPerBlock; }

        /** Weight rows of a column group (decode.cu's GEMV_COLS or GEMV_CONV_COLS). */
        int weightRowsPerGroup(int rowsPerBlock) { return rowsPerBlock == 1 ? colsOneRow : colsMoreRows; }

        /** Output columns of a column group. */
        int outputsPerGroup(int rowsPerBlock) { return weightRowsPerGroup(rowsPerBlock) / parts; }
    }

    /**
     * {@code out[rows, nOut] = RMSNorm(x) W^T} (fp32, {@link RmsGemv#STORE}), or {@code silu(g) * u} (bf16, {@link
     * RmsGemv#SILU}) where g and u are the products with W's first and second {@code nOut} rows (HF Lfm2MLP's w1 and w3).
     */
    private void gemvNormed(RmsGemv kind, long in, long norm, DeviceMatrix wt, int nOut, long out, int rows) {
        int r = gemvRowsPerBlock(rows);
        Kernels.gemv(ctx, kind.kernel(r), gemvRmsGrid(kind, nOut, r), 2 * r * hidden, in, rows, norm, eps, wt.address(), nOut,
                wt.cols(), out, nOut);
    }

    /**
     * A conv layer's RMSNorm + in-projection + conv step (HF Lfm2ShortConv.slow_forward for one new token per sequence)
     * into {@link #mixed}: the general path's in-projection, short_conv and short_conv_state, bit for bit.
     */
    private void gemvConv(int layer, DeviceWeights.TextLayer lw, long segSlot, int rows) {
        int r = gemvRowsPerBlock(rows);
        Kernels.gemvConv(ctx, RmsGemv.CONV.kernel(r), gemvRmsGrid(RmsGemv.CONV, hidden, r), 2 * r * hidden, x, rows, lw.operatorNorm(),
                eps, lw.mix().address(), hidden, hidden, mixed, hidden, lw.convTaps(), cfg.convKernel(), kv.convState(layer),
                kv.convSlotStride(), segSlot);
    }

    private Kernels.Grid gemvRmsGrid(RmsGemv kind, int nOut, int rowsPerBlock) {
        int perGroup = kind.outputsPerGroup(rowsPerBlock);
        return new Kernels.Grid(gemvRmsBlocks(kind, (nOut + perGroup - 1) / perGroup, rowsPerBlock), 1, 1, 128);
    }

    /**
     * Blocks of an RMS-fused GEMV launch over {@code groups} column groups: no more than are resident at once. Each walks
     * its groups with one stream of weight loads (decode.cu gemv_team) and normalises its input rows once. At one row,
     * where the weight stream bounds the kernel, every block gets as many groups (with as many blocks as are resident the
     * last round of groups ran on a few of them: decode_bench s7-5, H100, 1.6B one-row step 1,123 -> 1,088 us); at more
     * rows the arithmetic bounds it and fewer blocks cost more than the uneven last round (450M, 8 rows: 1,021 -> 1,051).
     */
    private long gemvRmsBlocks(RmsGemv kind, long groups, int rowsPerBlock) {
        long resident = gemvRmsResident(kind, rowsPerBlock);
        if (groups <= resident || rowsPerBlock > 1) return Math.min(groups, resident);
        long each = (groups + resident - 1) / resident;
        return (groups + each - 1) / each;
    }

    /** Blocks of an RMS-fused GEMV kernel that the device holds at once (its input rows, hidden wide, in shared memory). */
    private int gemvRmsResident(RmsGemv kind, int rowsPerBlock) {
        return ctx.residentBlocks(kind.kernel(rowsPerBlock), 128, 2 * rowsPerBlock * hidden);
    }

    /** decode.cu's one-row gemv_add with GEMV_ADD_NARROW_COLS weight rows a group and more of them in flight. */
    static final String ADD_NARROW = "gemv_add_narrow_r1";
    static final int ADD_NARROW_COLS = 4;

    /**
     * {@code out[rows, W.rows] += in W^T} (in bf16 {@code [rows, W.cols]}): the residual add of a projection. At one row, a
     * projection whose rows span more than two rounds of a block's 4 warps (256 values each) and whose narrow groups fit
     * one wave takes {@link #ADD_NARROW}: twice the blocks, each with more weights in flight (450M's down projection:
     * 4.40 -> 4.12 us; at 1.6B its 512 groups would make two waves: 9.7 -> 12.5 us; decode_bench, H200, s12-7).
     */
    private void gemvAdd(long in, DeviceMatrix wt, long out, int rows) {
        long narrowGroups = (wt.rows() + ADD_NARROW_COLS - 1) / ADD_NARROW_COLS;
        if (rows == 1 && narrowGroups <= addNarrowResident && wt.cols() > 2 * 4 * 256) {
            Kernels.gemv(ctx, ADD_NARROW, new Kernels.Grid(narrowGroups, 1, 1, 128), 0, in, rows, 0L, 0f, wt.address(), wt.rows(),
                    wt.cols(), out, hidden);
            return;
        }
        int r = gemvRowsPerBlock(rows);
        int perGroup = RmsGemv.STORE.outputsPerGroup(r);  // gemv_add's groups are GEMV_COLS(N) rows too
        long groups = (wt.rows() + perGroup - 1) / perGroup;
        Kernels.gemv(ctx, "gemv_add_r" + r, new Kernels.Grid(groups, 1, 1, 128), 0, in, rows, 0L, 0f, wt.address(), wt.rows(),
                wt.cols(), out, hidden);
    }

    private static int gemvRowsPerBlock(int rows) { return rows <= 1 ? 1 : rows <= 2 ? 2 : rows <= 4 ? 4 : 8; }

    /**
     * Greedy tokens of the last pass's {@code rows} logits rows into {@link #tokens()}; banned: device int per row (-1:
     * none); copy: a pinned host slot that receives them too (0: none).
     */
    void argmax(int rows, long banned, long copy) {
        Kernels.argmaxRows(ctx, Kernels.Grid.of(rows, 1024), logits, vocab, banned, tokens, copy);
    }

    private void rmsNorm(long in, long rowIndex, long weight, long out, int rows) {
        Kernels.rmsNorm(ctx, Kernels.normRows(rows), in, hidden, rowIndex, weight, out, hidden, hidden, eps, rows);
    }

    @Override
    public void close() { memory.close(); }
}
