#!/usr/bin/env python3
"""Kernel times per phase from Nsight Compute CSV (tools/parity/cuda_perf.sh PROFILE=1).

usage: cuda_ncu_phases.py ncu-b1.csv [more.csv ...]

Launch order splits the run into passes: f32_to_bf16 or patch_levels_to_bf16 opens a vision pass (patches to bf16), embed_rows opens a
decoder pass, a prefill when it embeds more than 128 rows, else a decode step. Prints, per pass kind, the mean
time of one pass, its kernel count and the kernels that take the time (cuBLAS kernels grouped as GEMM, then the
GEMMs by cuBLAS kernel).
"""
import csv
import sys
from collections import defaultdict


def is_gemm(name):
    return name.startswith(("nvjet", "sm90_", "cutlass", "gemv", "gemvx", "gemmk", "splitKreduce", "sm80_", "ampere")) or "gemm" in name.lower()


def group(name):
    return "GEMM (cuBLAS)" if is_gemm(name) else name


def passes(path):
    rows = []
    with open(path) as f:
        lines = [l for l in f if l.startswith('"')]
    for r in csv.DictReader(lines):
        if r["Metric Name"] != "gpu__time_duration.sum":
            continue
        grid = r["Grid Size"].strip("()").split(",")
        rows.append((r["Kernel Name"], int(grid[0]), float(r["Metric Value"].replace(",", "")) / 1000.0))
    out, cur = [], None
    for name, gx, us in rows:
        if name in ("f32_to_bf16", "patch_levels_to_bf16") and (cur is None or cur[0] != "vision" or cur[3]):
            cur = ["vision", [], 0.0, False]
            out.append(cur)
        elif name == "embed_rows":
            cur = ["prefill" if gx > 128 else "decode", [], 0.0, False]
            out.append(cur)
        if cur is None:
            continue
        cur[1].append((name, us))
        cur[2] += us
        if name.startswith("pixel_unshuffle"):
            cur[3] = True
    return out


def main():
    for path in sys.argv[1:]:
        print(f"## {path}")
        by_kind = defaultdict(list)
        for kind, kernels, total, _ in passes(path):
            by_kind[kind].append((kernels, total))
        for kind in ("vision", "prefill", "decode"):
            ps = by_kind.get(kind, [])
            if not ps:
                continue
            n = len(ps)
            mean = sum(t for _, t in ps) / n
            launches = sum(len(k) for k, _ in ps) / n
            per = defaultdict(lambda: [0.0, 0])
            for kernels, _ in ps:
                for name, us in kernels:
                    per[group(name)][0] += us / n
                    per[group(name)][1] += 1
            print(f"{kind}: {n} pass(es), mean {mean:.1f} us, {launches:.0f} kernels per pass")
            for name, (us, count) in sorted(per.items(), key=lambda kv: -kv[1][0])[:8]:
                print(f"    {name:40s} {us:9.1f} us  {100 * us / mean:5.1f}%  ({count // n} launches, {us / max(1, count // n):.1f} us each)")
            # the GEMMs by cuBLAS kernel (one kernel is usually one shape: qkv, out-projection, fc1, ...)
            gemms = defaultdict(lambda: [0.0, 0])
            for kernels, _ in ps:
                for name, us in kernels:
                    if is_gemm(name):
                        gemms[name][0] += us / n
                        gemms[name][1] += 1
            for name, (us, count) in sorted(gemms.items(), key=lambda kv: -kv[1][0])[:6]:
                print(f"      GEMM {name[:60]:60s} {us:9.1f} us  ({count // n} launches, {us / max(1, count // n):.1f} us each)")


if __name__ == "__main__":
    main()
