# Sourced by attention_bench.sh and decode_bench.sh: builds one standalone kernel bench (nvcc here, the CUDA
# runtime linked statically, so the binaries run on the GPU host without a toolkit or Java) three ways:
#   .gpu/NAME           kernels.cu + decode.cu of the working tree (concatenated as KernelModule does)
#   .gpu/NAME_base      the same files at git HEAD (the committed kernels: the baseline; KERNELS_BASELINE defined)
#   .gpu/NAME_<v>       for each v in $VARIANTS: the working tree's kernels through `VARIANT_FN v` (a sed filter)
# usage: kernel_bench NAME BENCH_CU SOURCE_MACRO VARIANT_FN
kernel_bench() {
  local name=$1 bench=$2 macro=$3 variant=$4
  cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
  local src=runtime/src/main/resources/io/lfmcap/cuda work=.gpu/$name.src
  mkdir -p "$work"
  build() {  # build BINARY CONCATENATED_SOURCE [NVCC_FLAGS]
    nvcc -O3 -arch=sm_90a -std=c++17 -D"$macro"="\"$PWD/$2\"" ${3:-} -o ".gpu/$1" "$bench"
    echo "built .gpu/$1"
  }
  cat "$src/kernels.cu" "$src/decode.cu" > "$work/tree.cu"
  build "$name" "$work/tree.cu"
  (git show "HEAD:$src/kernels.cu"; git show "HEAD:$src/decode.cu") > "$work/base.cu"
  build "${name}_base" "$work/base.cu" -DKERNELS_BASELINE
  local v
  for v in ${VARIANTS:-}; do
    "$variant" "$v" < "$work/tree.cu" > "$work/$v.cu"
    if cmp -s "$work/tree.cu" "$work/$v.cu"; then echo "variant $v changed nothing (the kernels moved on?)" >&2; exit 2; fi
    build "${name}_$v" "$work/$v.cu"
  done
}
