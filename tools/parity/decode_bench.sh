#!/usr/bin/env bash
# Builds the standalone small-batch decode check + timing (tools/parity/decode_bench.cu) where nvcc is; the binaries
# link the CUDA runtime statically, so they run on the GPU host without a toolkit or Java:
#   .gpu/decode_bench         kernels.cu + decode.cu of the working tree
#   .gpu/decode_bench_base    the same files at git HEAD (the committed kernels: the baseline)
#   .gpu/decode_bench_<v>     for each v in $VARIANTS (default none): the working tree's kernels, one setting changed
#                             (a sed of the copy; the source is untouched):
#       w8     attention_decode with 8 warps per block (256 threads) instead of 16
#       pf1    GEMV weight chunks one round ahead everywhere (GEMV_PF = GEMV_ADD_PF = 1, as at HEAD)
#       addpf2 gemv_add two rounds ahead (GEMV_ADD_PF 2 instead of 4)
# usage, from anywhere in the repo:   [VARIANTS="w8 pf1 addpf2"] tools/parity/decode_bench.sh
# then on the GPU host, from the repo root (carry the binaries by name):
#   for b in .gpu/decode_bench_base .gpu/decode_bench .gpu/decode_bench_*; do $b; done
# Each prints register use and occupancy, the checks (exit 1 on a failure), then per shape (450M, 1.6B) and rows
# 1, 4, 8: us per launch of each kernel kind (plain and as programmatic dependents) and us per whole step (graph).
set -euo pipefail
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
src=runtime/src/main/resources/io/lfmcap/cuda
flags=(-O3 -arch=sm_90 -std=c++17)
work=.gpu/decode
mkdir -p "$work"

build() {  # build NAME CONCATENATED_SOURCE
  nvcc "${flags[@]}" -DDECODE_KERNELS_SOURCE="\"$PWD/$2\"" -o ".gpu/$1" tools/parity/decode_bench.cu
  echo "built .gpu/$1"
}

cat "$src/kernels.cu" "$src/decode.cu" > "$work/tree.cu"
build decode_bench "$work/tree.cu"
(git show "HEAD:$src/kernels.cu"; git show "HEAD:$src/decode.cu") > "$work/base.cu"
build decode_bench_base "$work/base.cu"

for v in ${VARIANTS:-}; do
  case "$v" in
    w8) sed -e 's/^#define DEC_WARPS 16\b/#define DEC_WARPS 8/' \
            -e 's/__launch_bounds__(512) attention_decode/__launch_bounds__(256) attention_decode/' "$work/tree.cu" > "$work/$v.cu";;
    pf1) sed -e 's/^#define GEMV_PF 2\b/#define GEMV_PF 1/' -e 's/^#define GEMV_ADD_PF 4\b/#define GEMV_ADD_PF 1/' "$work/tree.cu" > "$work/$v.cu";;
    addpf2) sed -e 's/^#define GEMV_ADD_PF 4\b/#define GEMV_ADD_PF 2/' "$work/tree.cu" > "$work/$v.cu";;
    *) echo "unknown variant $v (w8, pf1, addpf2)" >&2; exit 2;;
  esac
  if cmp -s "$work/tree.cu" "$work/$v.cu"; then echo "variant $v changed nothing (decode.cu moved on?)" >&2; exit 2; fi
  build "decode_bench_$v" "$work/$v.cu"
done
