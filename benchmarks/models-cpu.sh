#!/usr/bin/env bash
# CPU model throughput, engine against Debian's PyTorch on the same cases, threads and machine, in one run:
#   bash benchmarks/models-cpu.sh [BenchmarkDotNet options]     e.g. --job short (3 warm-up + 3 measured steps per case)
# 1. the engine: BenchmarkDotNet's ModelBenchmarks (training step and inference, median, images/s)
# 2. PyTorch 1.13 (/usr/bin/python3, set_num_threads = the engine's processor count): benchmarks/models_torch.py
# 3. a table of both and the engine/PyTorch time ratio (above 1: the engine is slower).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc)
art=$(mktemp -d)
# One case list for both sides (name:size:batch, video models name:size:batch:frames); override with ENGINE_MODEL_CASES.
export ENGINE_MODEL_CASES=${ENGINE_MODEL_CASES:-lenet5:28:128,resnet20:32:64,resnet18:32:32,mobilenet_v2:32:32,efficientnet_b0:32:32,densenet121:32:16,vgg11_bn:32:32,googlenet:32:16,shufflenet_v2_x1_0:32:32,squeezenet1_1:32:32,r3d_18:32:4:8}
cases=$ENGINE_MODEL_CASES
dotnet run -c Release --project benchmarks/Engine.Benchmarks -- --filter '*ModelBenchmarks*' --artifacts "$art" --exporters csv "$@"
OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 benchmarks/models_torch.py --device cpu --threads "$threads" --cases "$cases" --inference --json "$art/torch.json"
/usr/bin/python3 - "$art" <<'PY'
import csv, glob, json, os, sys
art = sys.argv[1]
rows = list(csv.DictReader(open(glob.glob(art + "/results/*ModelBenchmarks-report.csv")[0])))
torch = {(r["model"], r["size"], r["batch"]): r for r in json.load(open(art + "/torch.json"))}
print("\n| model | input | batch | engine train img/s | PyTorch train img/s | engine/PyTorch time | engine inference img/s | PyTorch inference img/s | engine/PyTorch time |")
print("|---|---|---|---|---|---|---|---|---|")
spec = {c.split(":")[0]: c.split(":")[1:] for c in os.environ["ENGINE_MODEL_CASES"].split(",")}
eng = {}
for r in rows:
    size, bs, *frames = spec[r["Case"]]
    eng.setdefault((r["Case"], int(size), int(bs)), {})[r["Method"]] = float(r["images/s"].replace(",", ""))
for k, v in eng.items():
    t = torch.get(k)
    tr, inf = v.get("TrainStep"), v.get("Inference")
    pt, pi = (t["train"], t["inference"]) if t else (None, None)
    ratio = lambda e, p: f"{p / e:.2f}" if e and p else "-"
    f = lambda x: f"{x:.1f}" if x else "-"
    shown = "x".join(spec[k[0]][2:] + [str(k[1])])  # frames x side for a video clip
    print(f"| {k[0]} | {shown} | {k[2]} | {f(tr)} | {f(pt)} | {ratio(tr, pt)} | {f(inf)} | {f(pi)} | {ratio(inf, pi)} |")
PY
