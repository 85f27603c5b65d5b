#!/usr/bin/env bash
# Builds .gpu/ (../shared/device/gpu-bundle.sh) for tools/parity/cuda_gpu_checks.sh and trims it so that it and
# the working tree stay under the device tool's 64 MiB: drops the CPU parity fixtures (not used by gpu tests)
# and the JNI glue of CUDA libraries the backend never loads (cudart, cublas/cublasLt, nvrtc and cudnn are used).
#   usage, from the project root:  tools/parity/cuda_bundle.sh [--no-build]
set -euo pipefail
../shared/device/gpu-bundle.sh "$@"
rm -rf .gpu/test-classes/parity .gpu/test-classes/images
jar=$(ls .gpu/lib/cuda-*-linux-x86_64.jar)
for p in npp cusolver cusparse cupti nvml nvcomp cufft curand nvjpeg nvblas nccl; do
  zip -q -d "$jar" "org/bytedeco/cuda/linux-x86_64/libjni${p}*" >/dev/null 2>&1 || true
done
# JNA's dispatch libraries for other platforms (the GPU hosts are linux-x86-64)
jna=$(ls .gpu/lib/jna-*.jar)
zip -q -d "$jna" $(unzip -Z1 "$jna" | grep -E '^com/sun/jna/[^/]+/.*(jnidispatch)' | grep -v '^com/sun/jna/linux-x86-64/') >/dev/null 2>&1 || true
echo "trimmed bundle: $(du -sh .gpu | cut -f1)"
