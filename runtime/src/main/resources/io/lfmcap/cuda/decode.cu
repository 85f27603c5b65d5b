// Decode-step kernels for small batches (io.lfmcap.cuda.TextDecoder's fused path). Compiled after kernels.cu
// as one NVRTC program (io.lfmcap.cuda.KernelModule): bf16, Vec16, f2bf, block_sum and the KV-page layout
// come from there.
