package io.lfmcap.cuda;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * One typed launcher per kernel of kernels.cu: the Java parameters after the context, (kernel name) and
 * grid are the kernel's parameters in order (a {@code T*} is a {@code long} device address, {@code int},
 * {@code long} and {@code float} as in C), and each body forwards them verbatim. KernelSignaturesTest checks
 * every launcher against the signatures in the .cu source, so an argument list can never drift from its
 * kernel unnoticed (cuLaunchKernel itself cannot tell).
 */
final class Kernels {
    /** Names the kernel(s) a launcher starts; several when they share one signature. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.METHOD)
    @interface Kernel {
        String[] value();
    }

    /** {@code x} blocks (up to 2^31-1) by {@code y} by {@code z}, of {@code block} threads. */
    record Grid(long x, int y, int z, int block) {
        static Grid of(long x, int block) { return new Grid(x, 1, 1, block); }

        /** Enough blocks of 256 threads for a grid-stride loop over {@code n} elements (at most 65536). */
        static Grid stride(long n) { return new Grid(Math.max(1, Math.min((n + 255) / 256, 65536)), 1, 1, 256); }
    }

    private Kernels() {}

    private static void launch(GpuContext ctx, String name, Grid g, Object... args) {
        fill(ctx, name, args);
        ctx.launch(name, g.x(), g.y(), g.z(), g.block(), 0);
    }

    /**
     * Kernels that wait with kernels.cu pdl_wait (decode.cu's, and in a small-batch decode step qk_norm_rope_store and
     * argmax_rows) as programmatic dependents of the kernel before them (GpuContext.launchDependent), with
     * {@code sharedBytes} of dynamic shared memory (at most 48 KiB: no opt-in attribute is set). Only after kernels of
     * ours, whose trigger point is known: in the general path they follow cuBLAS kernels, and a dependent launched early
     * there would hold SM slots with blocks that wait (not measured: the general path launches them plainly).
     */
    private static void launchDependent(GpuContext ctx, String name, Grid g, int sharedBytes, Object... args) {
        fill(ctx, name, args);
        ctx.launchDependent(name, g.x(), g.y(), g.z(), g.block(), sharedBytes);
    }

    private static void fill(GpuContext ctx, String name, Object... args) {
        KernelArgs a = ctx.args();
        for (Object v : args) {
            if (v instanceof Long l) a.i64(l);
            else if (v instanceof Integer i) a.i32(i);
            else if (v instanceof Float f) a.f32(f);
            else throw new IllegalArgumentException(name + ": unsupported argument " + v);
        }
    }

    /**
     * The norm kernels' grid over {@code rows} rows, a warp per row: blocks of up to 8 warps, fewer when rows are few
     * (a decode step of 512 rows in blocks of 8 kept 64 SMs busy: rms_norm at 8 us, s4-2), so that the rows spread
     * over every SM. The layout does not change a row's arithmetic.
     */
    static Grid normRows(int rows) {
        int warps = Math.max(1, Math.min(MAX_NORM_WARPS, rows / 512));
        return Grid.of((rows + warps - 1) / warps, 32 * warps);
    }

    private static final int MAX_NORM_WARPS = 8;

    @Kernel("rms_norm")
    static void rmsNorm(GpuContext ctx, Grid g, long x, int ldx, long rowIndex, long w, long out, int ldo, int n, float eps, int rows) {
        launch(ctx, "rms_norm", g, x, ldx, rowIndex, w, out, ldo, n, eps, rows);
    }

    @Kernel("layer_norm")
    static void layerNorm(GpuContext ctx, Grid g, long x, int ldx, long w, long b, long out, int outF32, int ldo, int n, float eps,
                          int rows) {
        launch(ctx, "layer_norm", g, x, ldx, w, b, out, outF32, ldo, n, eps, rows);
    }

    /** Heads (one warp each) per block of qk_norm_rope_store (kernels.cu QK_HEADS_PER_BLOCK). */
    static final int QK_HEADS_PER_BLOCK = 4;

    /** All {@code heads + 2 kvHeads} heads of {@code rows} rows (a small-batch step does this in decode.cu attention_decode). */
    @Kernel("qk_norm_rope_store")
    static void qkNormRopeStore(GpuContext ctx, int rows, long qkv, int heads, int kvHeads, int hd, long qNormW, long kNormW, float eps,
                                long rowPos, long rowSlot, long pageTable, int maxPages, long invFreq, long qOut, long kPool, long vPool) {
        int blocksPerRow = (heads + 2 * kvHeads + QK_HEADS_PER_BLOCK - 1) / QK_HEADS_PER_BLOCK;
        Grid g = new Grid(rows, blocksPerRow, 1, 32 * QK_HEADS_PER_BLOCK);
        launch(ctx, "qk_norm_rope_store", g, qkv, heads, kvHeads, hd, qNormW, kNormW, eps, rowPos, rowSlot, pageTable, maxPages, invFreq,
                qOut, kPool, vPool);
    }

    /** The most rows per thread of short_conv, and the longest conv kernel it takes (kernels.cu CONV_ROWS, CONV_MAX_L). */
    static final int CONV_ROWS = 8, CONV_MAX_L = 4;

    /**
     * short_conv over {@code rows} rows of {@code h} channels: a thread per channel of 1 to {@link #CONV_ROWS} rows,
     * as many as keep every SM busy (1 up to 1,023 rows, 8 from 4,096).
     */
    @Kernel("short_conv")
    static void shortConv(GpuContext ctx, long bcx, int h, long taps, int l, long state, long slotStride, long rowSegStart,
                          long rowSlot, long y, int rows) {
        int rowsPer = Math.max(1, Math.min(CONV_ROWS, rows / 512));
        launch(ctx, "short_conv", new Grid((h + 255) / 256, (rows + rowsPer - 1) / rowsPer, 1, 256), bcx, h, taps, l, state,
                slotStride, rowSegStart, rowSlot, y, rows);
    }

    @Kernel("short_conv_state")
    static void shortConvState(GpuContext ctx, Grid g, long bcx, int h, int l, long state, long slotStride, long segFirstRow,
                               long segRows, long segSlot) {
        launch(ctx, "short_conv_state", g, bcx, h, l, state, slotStride, segFirstRow, segRows, segSlot);
    }

    /** gu bf16 {@code [rows, 2F]}; a grid of {@code rows * F / 8} threads covers it when F % 8 == 0. */
    @Kernel("silu_mul")
    static void siluMul(GpuContext ctx, Grid g, long gu, long rows, int f, long out) {
        launch(ctx, "silu_mul", g, gu, rows, f, out);
    }

    /** {@code passFrom} (0: none): the pass arrays in mapped host memory that block 0 copies to {@code passTo} ({@code passInts}). */
    @Kernel("embed_rows")
    static void embedRows(GpuContext ctx, Grid g, long gather, long fromPrev, long prevTokens, long table, long image, int h, long x,
                          long passFrom, long passTo, int passInts) {
        launch(ctx, "embed_rows", g, gather, fromPrev, prevTokens, table, image, h, x, passFrom, passTo, passInts);
    }

    /** {@code copy}: a device-visible pinned host address that receives the picks too (0: none). */
    @Kernel("argmax_rows")
    static void argmaxRows(GpuContext ctx, Grid g, long logits, int v, long banned, long out, long copy) {
        launch(ctx, "argmax_rows", g, logits, v, banned, out, copy);
    }

    @Kernel("fill_bf16_noise")
    static void fillBf16Noise(GpuContext ctx, Grid g, long out, long n, int seed) {
        launch(ctx, "fill_bf16_noise", g, out, n, seed);
    }

    @Kernel("f32_to_bf16")
    static void f32ToBf16(GpuContext ctx, Grid g, long in, long out, long n) {
        launch(ctx, "f32_to_bf16", g, in, out, n);
    }

    /** {@code levels} 8-byte and {@code out} 16-byte aligned; a grid of {@code (n + 7) / 8} threads covers it. */
    @Kernel("patch_levels_to_bf16")
    static void patchLevelsToBf16(GpuContext ctx, Grid g, long levels, long table, long out, long n) {
        launch(ctx, "patch_levels_to_bf16", g, levels, table, out, n);
    }

    /** A block of 64 threads per patch: 768 channels are three steps of 4 per thread. */
    @Kernel("vision_position_add")
    static void visionPositionAdd(GpuContext ctx, int patches, long x, int d, long table, int side, long patchView, long viewDesc,
                                  long tapFirst, long tapCount, long tapWeight, int maxTaps) {
        launch(ctx, "vision_position_add", Grid.of(patches, 64), x, d, table, side, patchView, viewDesc, tapFirst, tapCount, tapWeight,
                maxTaps);
    }

    @Kernel("pixel_unshuffle")
    static void pixelUnshuffle(GpuContext ctx, Grid g, long feat, int d, int factor, long tokenView, long viewDesc, long lnW,
                               long lnB, float eps, long out) {
        launch(ctx, "pixel_unshuffle", g, feat, d, factor, tokenView, viewDesc, lnW, lnB, eps, out);
    }

    @Kernel("gelu_erf")
    static void geluErf(GpuContext ctx, Grid g, long x, long n, long out) {
        launch(ctx, "gelu_erf", g, x, n, out);
    }

    @Kernel("bias_act")
    static void biasAct(GpuContext ctx, Grid g, long d, int bf16Data, long bias, long rows, int cols, int act) {
        launch(ctx, "bias_act", g, d, bf16Data, bias, rows, cols, act);
    }

    @Kernel({"attention_hd16", "attention_hd32", "attention_hd64", "attention_hd72", "attention_hd128",
            "attention_paged_hd16", "attention_paged_hd32", "attention_paged_hd64", "attention_paged_hd72", "attention_paged_hd128",
            "attention_step_hd16", "attention_step_hd32", "attention_step_hd64", "attention_step_hd72", "attention_step_hd128",
            "attention_wg_hd72"})
    static void attentionFlash(GpuContext ctx, String name, Grid g, long q, int ldq, long k, long v, int ldkv, long out, int ldo,
                               int heads, int kvHeads, float scale, long segQRow, long segRows, long segKey, long segKeyCount,
                               long segCausalBase, long pageTable, int maxPages) {
        launch(ctx, name, g, q, ldq, k, v, ldkv, out, ldo, heads, kvHeads, scale, segQRow, segRows, segKey, segKeyCount,
                segCausalBase, pageTable, maxPages);
    }

    /** decode.cu's fused small-batch GEMVs; {@code sharedBytes}: the RMS kernels' staged input (rows per block x k x 2). */
    @Kernel({"gemv_rms_r1", "gemv_rms_r2", "gemv_rms_r4", "gemv_rms_r8", "gemv_rms_silu_r1", "gemv_rms_silu_r2", "gemv_rms_silu_r4",
            "gemv_rms_silu_r8", "gemv_add_r1", "gemv_add_r2", "gemv_add_r4", "gemv_add_r8", "gemv_add_narrow_r1"})
    static void gemv(GpuContext ctx, String name, Grid g, int sharedBytes, long in, int rows, long normW, float eps, long w, int nOut,
                     int k, long out, int ldo) {
        launchDependent(ctx, name, g, sharedBytes, in, rows, normW, eps, w, nOut, k, out, ldo);
    }

    /**
     * decode.cu's lm_head with the greedy picks (a small-batch decode step): {@code out = RMSNorm(in) W^T} as {@link #gemv}
     * stores it, and each row's argmax_rows choice (banned: int per row) into {@code picks} and, unless 0, {@code copy}; partial
     * and done: the blocks' scratch ({@code 8 x rows per block x blocks} bytes; done zero between launches).
     */
    @Kernel({"gemv_rms_pick_r1", "gemv_rms_pick_r2", "gemv_rms_pick_r4", "gemv_rms_pick_r8"})
    static void gemvPick(GpuContext ctx, String name, Grid g, int sharedBytes, long in, int rows, long normW, float eps, long w, int nOut,
                         int k, long out, int ldo, long banned, long picks, long copy, long partial, long done) {
        launchDependent(ctx, name, g, sharedBytes, in, rows, normW, eps, w, nOut, k, out, ldo, banned, picks, copy, partial, done);
    }

    /**
     * decode.cu's conv-layer in-projection with its conv step (a decode step: row r is segment r): {@code y = C *
     * conv(B * X)} (bf16 [rows, h], row stride ldy) of [B | C | X] = RMSNorm(in) W^T, the conv state updated as by
     * {@link #shortConvState}.
     */
    @Kernel({"gemv_rms_conv_r1", "gemv_rms_conv_r2", "gemv_rms_conv_r4", "gemv_rms_conv_r8"})
    static void gemvConv(GpuContext ctx, String name, Grid g, int sharedBytes, long in, int rows, long normW, float eps, long w, int h,
                         int k, long y, int ldy, long taps, int l, long state, long slotStride, long segSlot) {
        launchDependent(ctx, name, g, sharedBytes, in, rows, normW, eps, w, h, k, y, ldy, taps, l, state, slotStride, segSlot);
    }

    /** An attention layer of a small-batch step after its in-projection {@code qkv}: q/k norm, RoPE, K/V store, attention. */
    @Kernel("attention_decode")
    static void attentionDecode(GpuContext ctx, Grid g, long qkv, long qNormW, long kNormW, float eps, long invFreq, long kPool,
                                long vPool, long out, int ldo, int heads, int kvHeads, int hd, float scale, long segSlot,
                                long segKeyCount, long pageTable, int maxPages) {
        launchDependent(ctx, "attention_decode", g, 0, qkv, qNormW, kNormW, eps, invFreq, kPool, vPool, out, ldo, heads, kvHeads, hd,
                scale, segSlot, segKeyCount, pageTable, maxPages);
    }

    @Kernel({"attention_simple_direct", "attention_simple_paged"})
    static void attentionSimple(GpuContext ctx, String name, Grid g, long q, int ldq, long k, long v, int ldkv, long out, int ldo,
                                int heads, int kvHeads, float scale, long segQRow, long segRows, long segKey, long segKeyCount,
                                long segCausalBase, long pageTable, int maxPages, int hd) {
        launch(ctx, name, g, q, ldq, k, v, ldkv, out, ldo, heads, kvHeads, scale, segQRow, segRows, segKey, segKeyCount,
                segCausalBase, pageTable, maxPages, hd);
    }

    @Kernel("seen_reset")
    static void seenReset(GpuContext ctx, Grid g, long seen, int seenWords, long slots, long idStart, long ids) {
        launch(ctx, "seen_reset", g, seen, seenWords, slots, idStart, ids);
    }

    @Kernel("logit_candidates")
    static void logitCandidates(GpuContext ctx, Grid g, long logits, int v, long logitRow, long banned, long offset, long seen, int seenWords,
                                long slot, long newSeen, int cap, long count, long ids, long vals) {
        launch(ctx, "logit_candidates", g, logits, v, logitRow, banned, offset, seen, seenWords, slot, newSeen, cap, count, ids, vals);
    }
}
