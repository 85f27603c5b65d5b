package io.lfmcap.cuda;

/**
 * Launches the attention kernels of kernels.cu: {@code softmax(q k^T * scale + mask) v} over packed
 * variable-length segments, grouped-query, fp32 softmax, no score matrix in memory.
 * <pre>
 *   wgmma   attention_wg_hd72 (direct only, compute capability 9.0): the direct flash kernel's contract with both
 *           products on Hopper's warpgroup MMA, two warpgroups of 64 query rows per block (at head dim 64 the
 *           flash kernel is the faster one: kernels.cu)
 *   flash   attention_[paged_]hd{16,32,64,72,128}: tensor cores (mma m16n8k16 bf16), online softmax,
 *           a block = 16 (query, head-of-group) rows per warp of one kv head x tiles of 64 keys (32 for
 *           head dim 128): 8 warps for the direct kernels (vision), 4 for the paged ones (decoder)
 *   step    attention_step_hd*: the paged flash kernel with one warp per block, for passes whose segments'
 *           rows fit one warp (decode steps); the same values as attention_paged_hd*, bit for bit
 *   simple  attention_simple_{direct,paged}: one warp per (query, head), fp32 throughout; the cross-check
 *           and the fallback (lfmcap.cuda.attention=simple, or a head dim without a flash kernel)
 * </pre>
 * Keys come from a packed row buffer (vision: the q|k|v projection) or, paged, from the KV cache pages of
 * each segment's sequence slot.
 */
final class Attention {
    private static final int[] FLASH_HEAD_DIMS = {16, 32, 64, 72, 128};
    /** Warps per block of attention_hd* and attention_paged_hd* (kernels.cu ATTN_DIRECT_WARPS, ATTN_PAGED_WARPS). */
    static final int DIRECT_WARPS = 8, PAGED_WARPS = 4;

    private Attention() {}

    /** attention_wg_hd72 (SigLIP2 so400m's head dim) exists in an sm_90a module. */
    static boolean hasWarpgroupKernel(GpuContext ctx, int headDim) {
        return headDim == 72 && KernelModule.hasWarpgroupMma(ctx.ccMajor, ctx.ccMinor);
    }

    static boolean hasFlashKernel(int headDim) {
        for (int d : FLASH_HEAD_DIMS) if (d == headDim) return true;
        return false;
    }

    /**
     * @param segQRow     device int[segments]: first query row of each segment
     * @param segRows     device int[segments]: query rows
     * @param segKey      device int[segments]: first key row (direct) or sequence slot (paged)
     * @param segKeyCount device int[segments]: keys 0..count-1 exist
     * @param segCausal   device int[segments]: position of the segment's first query, or -1 (bidirectional)
     * @param maxSegRows  the largest segRows entry (grid size)
     */
    static void run(GpuContext ctx, boolean simple, int headDim, boolean paged, long q, int ldq, long k, long v, int ldkv,
                    long out, int ldo, int heads, int kvHeads, float scale, long segQRow, long segRows, long segKey,
                    long segKeyCount, long segCausal, long pageTable, int maxPages, int maxSegRows, int segments) {
        long rows = (long) maxSegRows * (heads / kvHeads);
        if (simple || !hasFlashKernel(headDim)) {
            Kernels.attentionSimple(ctx, paged ? "attention_simple_paged" : "attention_simple_direct",
                    new Kernels.Grid(rows, kvHeads, segments, 32), q, ldq, k, v, ldkv, out, ldo, heads, kvHeads, scale,
                    segQRow, segRows, segKey, segKeyCount, segCausal, pageTable, maxPages, headDim);
        } else {
            boolean step = paged && rows <= 16;
            int warps = step ? 1 : paged ? PAGED_WARPS : DIRECT_WARPS, rowsPerBlock = 16 * warps;
            String kernel = step ? "attention_step_hd" : paged ? "attention_paged_hd"
                    : hasWarpgroupKernel(ctx, headDim) ? "attention_wg_hd" : "attention_hd";
            Kernels.attentionFlash(ctx, kernel + headDim,
                    new Kernels.Grid((rows + rowsPerBlock - 1) / rowsPerBlock, kvHeads, segments, 32 * warps), q, ldq, k, v, ldkv,
                    out, ldo, heads, kvHeads, scale, segQRow, segRows, segKey, segKeyCount, segCausal, pageTable, maxPages);
        }
    }
}
