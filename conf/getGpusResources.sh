#!/usr/bin/env bash
# Spark GPU discovery script (spark.{driver,executor,worker}.resource.gpu.discoveryScript).
# Prints the GPUs this executor (or worker) may use as Spark resource JSON, addresses being CUDA
# ordinals as the lfmcap engine expects them:  {"name":"gpu","addresses":["0","1"]}
# It honours CUDA_VISIBLE_DEVICES when set as ordinals (YARN / Kubernetes device plugins set it);
# otherwise asks nvidia-smi. With no GPU it prints an empty address list (Spark then refuses to start
# an executor that asked for GPUs, which is the wanted error).
set -euo pipefail

addresses=()
if [[ -n "${CUDA_VISIBLE_DEVICES:-}" && "${CUDA_VISIBLE_DEVICES}" =~ ^[0-9,]+$ ]]; then
  # Inside the process the visible devices are renumbered 0..n-1.
  IFS=',' read -r -a visible <<< "${CUDA_VISIBLE_DEVICES}"
  for i in "${!visible[@]}"; do addresses+=("\"$i\""); done
elif command -v nvidia-smi > /dev/null 2>&1; then
  while read -r index; do
    [[ -n "$index" ]] && addresses+=("\"${index// /}\"")
  done < <(nvidia-smi --query-gpu=index --format=csv,noheader 2> /dev/null || true)
fi

joined=$(IFS=','; echo "${addresses[*]:-}")
echo "{\"name\":\"gpu\",\"addresses\":[${joined}]}"
