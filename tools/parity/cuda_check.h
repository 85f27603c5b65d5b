// The standalone kernel benches' CUDA error check (tools/parity/attention_bench.cu, decode_bench.cu): a failed
// runtime call prints where and why, and the bench exits 2.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#define CK(x)                                                                                       \
    do {                                                                                            \
        cudaError_t e_ = (x);                                                                       \
        if (e_ != cudaSuccess) {                                                                    \
            fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));      \
            exit(2);                                                                                \
        }                                                                                           \
    } while (0)
