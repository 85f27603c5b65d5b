package io.lfmcap.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Launch geometry in Java against kernels.cu's (no GPU needed): the flash kernels are built for blocks of
 * ATTN_*_WARPS x 32 threads (launch bounds, rows per block), qk_norm_rope_store for QK_HEADS_PER_BLOCK warps, and short_conv
 * for at most CONV_ROWS rows per thread and kernels of CONV_MAX_L taps; a different size fails the launch or leaves
 * rows or heads undone.
 */
class KernelLaunchGeometryTest {
    private static int define(String name) {
        Matcher m = Pattern.compile("#define " + name + " (\\d+)").matcher(KernelModule.source());
        assertTrue(m.find(), name + " is defined in kernels.cu");
        return Integer.parseInt(m.group(1));
    }

    @Test
    void warpsPerBlockAreTheKernelsOwn() {
        assertEquals(define("ATTN_DIRECT_WARPS"), Attention.DIRECT_WARPS, "attention_hd* warps");
        assertEquals(define("ATTN_PAGED_WARPS"), Attention.PAGED_WARPS, "attention_paged_hd* warps");
        assertEquals(define("QK_HEADS_PER_BLOCK"), Kernels.QK_HEADS_PER_BLOCK, "qk_norm_rope_store warps");
    }

    @Test
    void shortConvRowsAndTapsAreTheKernelsOwn() {
        assertEquals(define("CONV_ROWS"), Kernels.CONV_ROWS, "short_conv rows per thread");
        assertEquals(define("CONV_MAX_L"), Kernels.CONV_MAX_L, "short_conv taps");
    }
}
