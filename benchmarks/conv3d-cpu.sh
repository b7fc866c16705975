#!/usr/bin/env bash
# CPU conv3d, engine against Debian's PyTorch on the same cases, threads and machine, in one run:
#   bash benchmarks/conv3d-cpu.sh [BenchmarkDotNet options]     e.g. --job short (3 warm-up + 3 measured calls per case)
# 1. the engine: BenchmarkDotNet's Conv3dBenchmarks (forward; forward + backward to data and weight; medians)
# 2. PyTorch 1.13 (/usr/bin/python3, set_num_threads = the engine's processor count): benchmarks/conv3d_torch.py
# 3. a table of both and the engine/PyTorch time ratio (above 1: the engine is slower).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc)
art=$(mktemp -d)
# One case list for both sides (name:input:weight:stride:padding, dims joined by x); override with ENGINE_CONV3D_CASES.
export ENGINE_CONV3D_CASES=${ENGINE_CONV3D_CASES:-stem:1x3x8x112x112:64x3x3x7x7:1x2x2:1x3x3,r3d_layer1:1x64x8x56x56:64x64x3x3x3:1x1x1:1x1x1,r3d_layer3:1x256x2x14x14:256x256x3x3x3:1x1x1:1x1x1,r21d_spatial:1x64x8x56x56:144x64x1x3x3:1x1x1:0x1x1,r21d_temporal:1x144x8x56x56:64x144x3x1x1:1x1x1:1x0x0}
dotnet run -c Release --project benchmarks/Engine.Benchmarks -- --filter '*Conv3dBenchmarks*' --artifacts "$art" --exporters csv "$@"
OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 benchmarks/conv3d_torch.py --threads "$threads" --cases "$ENGINE_CONV3D_CASES" --json "$art/torch.json"
/usr/bin/python3 - "$art" <<'PY'
import csv, glob, json, sys
art = sys.argv[1]
rows = list(csv.DictReader(open(glob.glob(art + "/results/*Conv3dBenchmarks-report.csv")[0])))
torch = {r["case"]: r for r in json.load(open(art + "/torch.json"))}

def ms(text):  # BenchmarkDotNet's Median cell, e.g. "123.4 ms" or "1.234 s"
    value, unit = text.replace(",", "").split()
    return float(value) * {"ns": 1e-6, "us": 1e-3, "μs": 1e-3, "ms": 1, "s": 1e3}[unit]

eng = {}
for r in rows:
    eng.setdefault(r["Case"], {})[r["Method"]] = (ms(r["Median"]), r["GFLOP/s"])
print("\n| case | engine forward ms (GFLOP/s) | PyTorch forward ms | engine/PyTorch | engine fwd+bwd ms (GFLOP/s) | PyTorch fwd+bwd ms | engine/PyTorch |")
print("|---|---|---|---|---|---|---|")
for case, v in eng.items():
    t = torch.get(case, {})
    (ef, gf), (eb, gb) = v["Forward"], v["ForwardBackward"]
    pf, pb = t.get("forward_ms"), t.get("forward_backward_ms")
    r = lambda e, p: f"{e / p:.2f}" if p else "-"
    print(f"| {case} | {ef:.1f} ({gf}) | {pf:.1f} | {r(ef, pf)} | {eb:.1f} ({gb}) | {pb:.1f} | {r(eb, pb)} |")
PY
