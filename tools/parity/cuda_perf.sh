#!/usr/bin/env bash
# GPU throughput runs of lfmcap bench (docs/BENCHMARKS.md "GPU throughput", docs/PERF_NOTES.md), one table.
# Build the bundle first where Maven runs (tools/parity/cuda_bundle.sh), then on the GPU host, from the repo root:
#   RUNS="450m:1:8:on 450m:128:128:on" tools/parity/cuda_perf.sh
# Each run is MODEL:MAX_BATCH:IMAGES:GRAPHS[:mix|:8g|:sampled]  (GRAPHS on|off: decode CUDA graphs; mix: the mixed
# workload (--mix); 8g: the engine squeezed into an 8 GB budget (KV cache, vision and prefill workspaces capped);
# sampled: LiquidAI's recommended sampling (temperature 0.1, min-p 0.15, repetition penalty 1.05) instead of greedy).
# PROFILE=1 adds Nsight Compute kernel times (gpu__time_duration at the card's own clocks, graphs off so each launch is
#   seen, caches not flushed between kernels) of 450m runs given as PROFILE_SPECS="BATCH:IMAGES:NEW_TOKENS ..." (default "1:1:3 32:32:2": one image at
#   batch 1 (vision, prefill, decode steps) and a batch of 32 (one vision pass, packed prefill, one decode step of 32))
#   -> $OUT/ncu-b<BATCH>.csv (tools/parity/cuda_ncu_phases.py reads them). EXTRA_JAVA_OPTS apply to these runs too.
# BENCH_ARGS are added to every run's bench arguments (e.g. "--in-flight 100000": every request submitted at once).
# Logs per run and summary.md go to $OUT (default /tmp/cuda-perf).
set -uo pipefail
OUT=${OUT:-/tmp/cuda-perf}; mkdir -p "$OUT"
RUNS=${RUNS:-"450m:1:8:off 450m:1:8:on 450m:128:128:on 1.6b:1:8:on 1.6b:128:128:on"}
# the heap committed and touched at start (-Xms = -Xmx, AlwaysPreTouch): a heap that grows during the timed run faults in
# its new pages inside G1's young pauses, which left the device idle ~110 ms per 9 s run at 450M batch 2048 (s8-10:
# 878 images/s without, 907-908 with; docs/PERF_NOTES.md)
base="--add-modules=jdk.incubator.vector -Xmx24g -Xms24g -XX:+AlwaysPreTouch -Dorg.bytedeco.javacpp.maxPhysicalBytes=0"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
summary="$OUT/summary.md"
echo "| run | images/s | decode tok/s/seq | gpu ms/step | ms/img vision (gpu) | ms/img prefill (gpu) | ms/img decode (gpu) | gpu busy/wall ms | gpu idle ms between phases (>= 1 ms) | gpu MiB in use | KV tokens | JVM GC ms |" > "$summary"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|" >> "$summary"
val() { grep -F "| $1" "$2" | head -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}'; }
for run in $RUNS; do
  IFS=: read -r model batch n graphs extra <<< "$run"
  opts="$base -Dlfmcap.cuda.graphs=$([ "$graphs" = off ] && echo false || echo true)"
  args="--backend cuda --shape $model --images $n --max-batch $batch --warmup $batch --new-tokens 64 ${BENCH_ARGS:-}"
  case "${extra:-}" in
    mix) args="$args --mix";;
    sampled) args="$args --temperature 0.1 --min-p 0.15 --repetition-penalty 1.05 --seed 1";;
    8g)  opts="$opts -Dlfmcap.cuda.kvCacheTokens=${KV8G:-131072} -Dlfmcap.cuda.maxVisionPatches=16384 -Dlfmcap.cuda.maxPrefillTokens=4096";;
  esac
  log="$OUT/bench-${run//:/-}.log"
  JAVA_OPTS="$opts ${EXTRA_JAVA_OPTS:-}" timeout ${RUN_TIMEOUT:-150} .gpu/run.sh io.lfmcap.cli.Lfmcap bench $args > "$log" 2>&1
  rc=$?
  [ $rc = 0 ] || { echo "$run failed (rc $rc):"; grep -vE "^\s*at |WARNING|SLF4J" "$log" | tail -8; }
  ips=$(val "images/s" "$log"); tok=$(val "decode tok/s" "$log"); step=$(val "gpu ms per decode step" "$log")
  v=$(val "gpu ms: vision" "$log"); p=$(val "gpu ms: prefill" "$log"); d=$(val "gpu ms: decode" "$log")
  busy=$(grep -F "| gpu ms busy" "$log" | awk -F'|' '{gsub(/ /,"",$3); print $3}'); mem=$(val "gpu MiB: device in use" "$log"); kv=$(val "KV cache tokens" "$log")
  idle=$(grep -F "| gpu idle ms: " "$log" | awk -F'|' '{v=$3; gsub(/ /,"",v); if (v+0 >= 1) {n=$2; sub(/^ *gpu idle ms: /,"",n); sub(/ \(timed run\) *$/,"",n); printf "%s%s %s", s, n, v; s="; "}}')
  per() { [ -n "$1" ] && awk -v a="$1" -v n="$n" 'BEGIN{printf "%.3f", a/n}'; }
  gc=$(grep -F "| JVM GC ms (collections), timed run: " "$log" | awk -F'|' '{split($3, a, " "); s += a[1]} END {if (NR) print s}')
  echo "| $run | $ips | $tok | $step | $(per "$v") | $(per "$p") | $(per "$d") | $busy | $idle | $mem | $kv | $gc |" >> "$summary"
done
cat "$summary"
if [ "${PROFILE:-0}" = 1 ]; then
  ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
  for spec in ${PROFILE_SPECS:-1:1:3 32:32:2}; do
    IFS=: read -r batch n tokens <<< "$spec"
    JAVA_OPTS="$base -Dlfmcap.cuda.graphs=false ${EXTRA_JAVA_OPTS:-}" timeout ${PROFILE_TIMEOUT:-150} "$ncu" --target-processes all \
      --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv --log-file "$OUT/ncu-b$batch.csv" \
      .gpu/run.sh io.lfmcap.cli.Lfmcap bench --backend cuda --shape 450m --images $n --max-batch $batch --warmup 0 \
      --new-tokens $tokens > "$OUT/ncu-b$batch.log" 2>&1 || { echo "ncu batch $batch failed:"; tail -5 "$OUT/ncu-b$batch.log"; }
  done
fi
