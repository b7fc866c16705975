#!/usr/bin/env bash
# Issue 19: the engine's CPU training work against Debian's PyTorch on the same cases and threads, in one run:
#   bash benchmarks/cpu-vs-torch.sh [--rounds N] [--threads N] [--clock wall|cpu] [--no-build] [--cases a,b,...] [--warmup N] [--reps N] [--min-seconds S]
# Each round runs the engine (Engine.Benchmarks --cpu-vs-torch: Stopwatch medians after warm-up) and then PyTorch 1.13
# (/usr/bin/python3 benchmarks/cpu_vs_torch.py, set_num_threads = the engine's processor count) back to back; the
# table shows the median over rounds of each side's median time, the engine/PyTorch time ratio (above 1: the engine
# is slower) and the spread of the per-round ratios (min–max), which says how noisy the machine was.
# --threads N (default: nproc) sets DOTNET_PROCESSOR_COUNT for the engine and set_num_threads for PyTorch; on a
# loaded machine --threads 1 gives steadier ratios (OpenMP's spinning threads suffer most from oversubscription), and
# --threads 1 --clock cpu (both sides timed by process CPU time) steadier still: it leaves out the time spent waiting
# for a core. With more threads the CPU clock adds up the threads (and PyTorch's spinning), so use wall there.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=2
nobuild=
threads=$(nproc)
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-build) nobuild=1; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
export DOTNET_PROCESSOR_COUNT=$threads
art=$(mktemp -d)
[ -n "$nobuild" ] || dotnet build -c Release benchmarks/Engine.Benchmarks -v q -nologo > "$art/build.log" || { cat "$art/build.log"; exit 1; }
engine=(dotnet benchmarks/Engine.Benchmarks/bin/Release/net10.0/Engine.Benchmarks.dll --cpu-vs-torch)
cases=$("${engine[@]}" --print-cases)
for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[$i]}" = --cases ] && cases=${args[$((i + 1))]}; done
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r of $rounds"
  "${engine[@]}" --cases "$cases" "${args[@]}" --json "$art/engine$r.json"
  OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 benchmarks/cpu_vs_torch.py --threads "$threads" --cases "$cases" "${args[@]}" --json "$art/torch$r.json"
done
/usr/bin/python3 - "$art" "$rounds" "$threads" <<'PY'
import json, statistics, sys
art, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3]
load = lambda side, r: {x["case"]: x["seconds"] for x in json.load(open(f"{art}/{side}{r}.json"))}
eng = [load("engine", r) for r in range(1, rounds + 1)]
tor = [load("torch", r) for r in range(1, rounds + 1)]
label = {
    "gemm1024": "GEMM 1024³", "conv_fwd": "conv2d 64×64×32×32, 3×3, 64→64, forward",
    "conv_fwdbwd": "the same, forward + backward", "dwconv_fwdbwd": "depthwise 3×3 conv 64×128×28×28, groups 128, fwd + bwd",
    "lenet5_b128": "LeNet-5 SGD step, batch 128", "convbn6_b64": "six conv-BN-ReLU (16/32/64 ch, 32×32) + head, SGD step, batch 64",
    "lenet5_b1": "LeNet-5 SGD step, batch 1 (per-step overhead)", "convbn6_b1": "six conv-BN-ReLU + head, SGD step, batch 1",
    "mlp_b1": "MLP 784-128-10 SGD step, batch 1",
}
print(f"\nthreads {threads}, {rounds} round(s); times are medians over rounds of each round's median")
print("\n| work | engine ms | PyTorch ms | engine / PyTorch time | per-round ratios |\n|---|---:|---:|---:|---|")
for case in eng[0]:
    e = statistics.median(x[case] for x in eng)
    t = statistics.median(x[case] for x in tor)
    per = [x[case] / y[case] for x, y in zip(eng, tor)]
    name = label.get(case) or (f"{case.split(':')[1]} SGD step, {case.split(':')[2]}², batch {case.split(':')[3]}" if case.startswith("model:") else case)
    print(f"| {name} | {e * 1e3:.3f} | {t * 1e3:.3f} | **{e / t:.2f}** | {min(per):.2f}–{max(per):.2f} |")
PY
