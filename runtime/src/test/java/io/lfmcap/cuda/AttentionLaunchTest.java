package io.lfmcap.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Attention's launch geometry against kernels.cu's (no GPU needed): the flash kernels are built for blocks of
 * ATTN_*_WARPS x 32 threads (launch bounds, rows per block), so a different block size fails the launch or
 * leaves query rows unattended.
 */
class AttentionLaunchTest {
    private static int define(String name) {
        Matcher m = Pattern.compile("#define " + name + " (\\d+)").matcher(KernelModule.source());
        assertTrue(m.find(), name + " is defined in kernels.cu");
        return Integer.parseInt(m.group(1));
    }

    @Test
    void warpsPerBlockAreTheKernelsOwn() {
        assertEquals(define("ATTN_DIRECT_WARPS"), Attention.DIRECT_WARPS, "attention_hd* warps");
        assertEquals(define("ATTN_PAGED_WARPS"), Attention.PAGED_WARPS, "attention_paged_hd* warps");
    }
}
