package io.lfmcap.cuda;

/**
 * Launches the attention kernels of kernels.cu: {@code softmax(q k^T * scale + mask) v} over packed
 * variable-length segments, grouped-query, fp32 softmax, no score matrix in memory.
 * <pre>
 *   flash   attention_[paged_]hd{16,32,64,72,128}: tensor cores (mma m16n8k16 bf16), online softmax,
 *           a block = 64 (query, head-of-group) rows of one kv head x tiles of 64 keys
 *   simple  attention_simple_{direct,paged}: one warp per (query, head), fp32 throughout; the cross-check
 *           and the fallback (lfmcap.cuda.attention=simple, or a head dim without a flash kernel)
 * </pre>
 * Keys come from a packed row buffer (vision: the q|k|v projection) or, paged, from the KV cache pages of
 * each segment's sequence slot.
 */
final class Attention {
    private static final int[] FLASH_HEAD_DIMS = {16, 32, 64, 72, 128};
    private static final int ROWS_PER_BLOCK = 64;

    private Attention() {}

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
            Kernels.attentionFlash(ctx, (paged ? "attention_paged_hd" : "attention_hd") + headDim,
                    new Kernels.Grid((rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK, kvHeads, segments, 128), q, ldq, k, v, ldkv,
                    out, ldo, heads, kvHeads, scale, segQRow, segRows, segKey, segKeyCount, segCausal, pageTable, maxPages);
        }
    }
}
