#!/usr/bin/env bash
# Builds the standalone small-batch decode check + timing (tools/parity/decode_bench.cu) where nvcc is; the binaries
# link the CUDA runtime statically, so they run on the GPU host without a toolkit or Java:
#   .gpu/decode_bench         kernels.cu + decode.cu of the working tree
#   .gpu/decode_bench_base    the same files at git HEAD (the committed kernels: the baseline)
#   .gpu/decode_bench_<v>     for each v in $VARIANTS (default none): the working tree's kernels, one setting changed
#                             (a sed of the copy; the source is untouched):
#       conv3  gemv_rms_conv_rN with one channel (3 weight rows) per column group at more than one row
#       c6     6 weight rows per column group at one row (8 there): 122-148 registers, 3-4 blocks per SM
#       w8     attention_decode with 8 warps per block (256 threads) instead of 16
#       cols4  4 weight rows per column group at one row too (8 there)
#       pfAxB  the RMS kernels' weight ring A chunks deep at one row, B at more rows (pf4x2: GEMV_PF(R) 4 at one row, 2 else)
#       addpfA gemv_add's ring A chunks deep at one row
#       rmslbN the one-row RMS kernels compiled for N resident blocks per SM (__launch_bounds__(128, N): fewer registers)
#       noattpf  attention_decode without the one-sequence K/V requests before its wait
#       trace  the step kernel experiment (tools/parity/decode_step.cu) records %globaltimer at its grid barriers; the
#              bench prints where a step's time goes
# usage, from anywhere in the repo:   [VARIANTS="w8 pf2x1"] tools/parity/decode_bench.sh
# then on the GPU host, from the repo root (carry the binaries by name):
#   for b in .gpu/decode_bench_base .gpu/decode_bench .gpu/decode_bench_*; do $b; done
# Each prints register use and occupancy, the checks (exit 1 on a failure), then per shape (450M, 1.6B) and rows
# 1, 4, 8: us per launch of each kernel kind (plain and as programmatic dependents) and us per whole step (graph).
# `decode_bench batchattn` times a large-batch decode step's attention kernels instead (2,048 and 512 sequences).
# At 1 and 8 rows it also times the step's graph under the stream shapes the engine has had and could have (upload,
# events, one or two steps a graph). RMS_PER_SM=N (environment) caps the RMS GEMVs' grids at N blocks per SM.
set -euo pipefail
. "$(dirname "$0")/kernel_bench.sh"

decode_variant() {  # a sed filter per variant, source on stdin; a+b: both
  if [[ $1 == *+* ]]; then decode_variant "${1%%+*}" | decode_variant "${1#*+}"; return; fi
  case "$1" in
    conv3) sed -e 's/^#define GEMV_CONV_COLS(R) 6$/#define GEMV_CONV_COLS(R) ((R) == 1 ? 6 : 3)/';;
    c6) sed -e 's/^#define GEMV_COLS(R) ((R) == 1 ? 8 : 4)/#define GEMV_COLS(R) ((R) == 1 ? 6 : 4)/';;
    w8) sed -e 's/^#define DEC_WARPS 16\b/#define DEC_WARPS 8/' \
            -e 's/__launch_bounds__(512) attention_decode/__launch_bounds__(256) attention_decode/';;
    cols4) sed -e 's/^#define GEMV_COLS(R) .*/#define GEMV_COLS(R) 4/';;
    pf[0-9]x[0-9]) local a=${1:2:1} b=${1:4:1}
         sed -e "s/^#define GEMV_PF(R) .*/#define GEMV_PF(R) ((R) == 1 ? $a : $b)/";;
    trace) sed -e '1i #define STEP_TRACE 1';;
    noattpf) sed -e 's/if (gridDim.y == 1) attention_decode_prefetch(/if (false) attention_decode_prefetch(/';;
    rmslb[0-9]) sed -E "s/__launch_bounds__\(128\) (gemv_rms(_silu)?_r1)/__launch_bounds__(128, ${1:5:1}) \1/";;
    addpf[0-9]) sed -e "s/^#define GEMV_ADD_PF(R) .*/#define GEMV_ADD_PF(R) ((R) == 1 ? ${1:5:1} : 1)/";;
    *) echo "unknown variant $1 (w8, cols4, pfAxB, addpfA, rmslbN, trace; a+b for both)" >&2; exit 2;;
  esac
}

kernel_bench decode_bench tools/parity/decode_bench.cu DECODE_KERNELS_SOURCE decode_variant
