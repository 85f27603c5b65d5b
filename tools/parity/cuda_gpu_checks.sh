#!/usr/bin/env bash
# The CUDA backend's checks on a GPU host, in one go (docs/CUDA.md, docs/BENCHMARKS.md "CUDA backend").
# Build the bundle first, where Maven runs:   tools/parity/cuda_bundle.sh      (writes .gpu/, carried to the host)
# then on the GPU host, from the repository root:
#   STEPS=tests,peer,compare,bench tools/parity/cuda_gpu_checks.sh
# Logs go to $OUT (default /tmp/cuda-checks). Steps:
#   tests    gpu-tagged JUnit tests: kernels vs references, model vs the CPU backend, engine batching and soak
#   peer     transformers makes the random 450M/1.6B models (saved to /tmp/ckpt) and its fp32/bf16 logits
#   compare  the engine on those checkpoints against transformers (needs peer)
#   bench    lfmcap bench --backend cuda and the transformers baseline, same shapes, batch 1/32/128
set -uo pipefail
OUT=${OUT:-/tmp/cuda-checks}; mkdir -p "$OUT"
STEPS=${STEPS:-tests,peer,compare,bench}
export JAVA_OPTS="--add-modules=jdk.incubator.vector -Xmx24g -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 ${EXTRA_JAVA_OPTS:-}"
export PYTHONUNBUFFERED=1
has() { [[ ",$STEPS," == *",$1,"* ]]; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"

if has tests; then
  timeout ${TESTS_TIMEOUT:-270} .gpu/run.sh --tests --include-tag gpu ${TEST_SELECT:-} --details=tree --disable-ansi-colors 2>&1 | tee "$OUT/tests.log" | grep -E "relative error|requests|differ|epilogue|✘|✔|tests (successful|failed)|Exception|expected" | head -150
fi
if has peer; then
  timeout ${PEER_TIMEOUT:-180} python3 tools/parity/gpu_peer_logits.py /tmp/peer /tmp/ckpt .gpu/peer/variants.json ${MODELS:-450m,1.6b} 20 32 2>&1 | tee "$OUT/peer.log" | grep -v Warning
fi
if has compare; then
  LFMCAP_PEER_DIR=/tmp/peer timeout ${COMPARE_TIMEOUT:-150} .gpu/run.sh --tests --include-tag gpu \
    --include-classname '.*ComparisonTest' --details=tree --disable-ansi-colors 2>&1 | tee "$OUT/compare.log" | grep -vE "^\s*$" | tail -25
fi
if has bench; then
  for m in $(echo ${MODELS:-450m,1.6b} | tr ',' ' '); do
    for b in ${BATCHES:-1 32 128}; do
      n=$b; [ "$b" = 1 ] && n=4
      # Java-made random weights of the same shape, so this step needs no peer step first; throughput does not
      # depend on the values, EOS is suppressed
      timeout 150 .gpu/run.sh io.lfmcap.cli.Lfmcap bench --backend cuda --shape $m --images $n --max-batch $b \
        --warmup $b --new-tokens 64 2>&1 | tee "$OUT/bench-$m-$b.log" | grep -E "model|images/s|decode tok|generated|ms per image" 
    done
  done
  timeout ${BASELINE_TIMEOUT:-200} python3 .gpu/peer/hf_baseline.py ${MODELS:-450m,1.6b} $(echo ${BATCHES:-1 32 128} | tr ' ' ',') 2>&1 | tee "$OUT/baseline.log" | grep -v Warning
fi
