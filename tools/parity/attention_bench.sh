#!/usr/bin/env bash
# Builds the standalone attention check + timing (tools/parity/attention_bench.cu) where nvcc is; the binaries link
# the CUDA runtime statically, so they run on the GPU host without a toolkit or Java:
#   .gpu/attention_bench        kernels.cu + decode.cu of the working tree
#   .gpu/attention_bench_base   the same files at git HEAD (the committed kernels: the baseline)
#   .gpu/attention_bench_<v>    for each v in $VARIANTS (default none): the working tree's kernels, one launch setting
#                               changed (a sed of the copy; the source is untouched):
#       w4  direct kernels with 4 warps (64 rows) per block, 4 blocks per multiprocessor (<= 128 registers)
#       b1  direct kernels at 1 block of 8 warps per multiprocessor (no 128-register cap, no spills)
#       k32 tiles of 32 keys for every head dim (fewer registers, twice the per-tile overhead)
# usage, from anywhere in the repo:   [VARIANTS="w4 b1 k32"] tools/parity/attention_bench.sh
# then on the GPU host, from the repo root (carry the binaries by name: all of .gpu is too big to travel with them):
#   for b in .gpu/attention_bench .gpu/attention_bench_base; do $b 26; done
# ATTN_WG=1 in the environment runs head dim 72 of the direct checks and timings through attention_wg_hd72 (the
# wgmma kernel Attention picks on compute capability 9.0). (The warp-specialized experiment of the tenth session,
# ATTN_WS=1|2|3 and tools/parity/attention_ws.cu, was removed in the eleventh: git show 483117a:tools/parity/attention_ws.cu.)
# Each prints register/shared use and occupancy, the checks against the fp32 kernels (exit 1 on a failure), then us
# per launch and TFLOP/s for 26 views x 1024 patches (12 heads x 64 and 16 heads x 72) and a paged decoder prefill.
set -euo pipefail
. "$(dirname "$0")/kernel_bench.sh"

attention_variant() {  # a sed filter per variant, source on stdin
  case "$1" in
    w4) sed -e 's/^#define ATTN_DIRECT_WARPS 8\b/#define ATTN_DIRECT_WARPS 4/' \
            -e 's/^FLASH_KERNELS(\([0-9]*\), [0-9]*,/FLASH_KERNELS(\1, 4,/';;
    b1) sed -e 's/^FLASH_KERNELS(\([0-9]*\), [0-9]*,/FLASH_KERNELS(\1, 1,/';;
    k32) sed -e 's/constexpr int BN = HD <= 80 ? 64 : 32;/constexpr int BN = 32;/';;
    *) echo "unknown variant $1 (w4, b1, k32)" >&2; exit 2;;
  esac
}

kernel_bench attention_bench tools/parity/attention_bench.cu ATTN_KERNELS_SOURCE attention_variant
