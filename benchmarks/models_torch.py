#!/usr/bin/env python3
"""PyTorch's side of the model throughput comparison: the same models, inputs and steps as the engine's benchmarks.

    /usr/bin/python3 benchmarks/models_torch.py --device cpu --threads 2 --cases lenet5:28:128,resnet20:32:64,r3d_18:32:4:8 --json out.json
    python3 benchmarks/models_torch.py --device cuda --cases resnet50:224:64,... --classes 1000   (on a GPU machine)

A case is name:size:batch, or name:size:batch:frames for a video model (clips [batch, 3, frames, size, size]).
Models come from torchvision by builder name (video models from torchvision.models.video), or from the engine's reference definitions
(tests/Engine.Tests/Models/Reference/ref_*.py) for variants torchvision lacks, exactly as the TorchReference tests
build them. A training step is SGD (momentum 0.9): zero_grad, forward, cross-entropy (+0.3 per GoogLeNet auxiliary
head, +0.4 for Inception v3's), backward, step; inference is an eval-mode forward under no_grad. Times are medians:
CPU with perf_counter, CUDA with events around each step. Prints a Markdown table, and JSON with --json.
"""
import argparse, json, os, statistics, sys, time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Engine.Tests", "Models", "Reference"))
from torch_reference import build  # noqa: E402

AUX_WEIGHT = {"googlenet": 0.3, "inception_v3": 0.4}


def timed(fn, device, warmup, reps):
    for _ in range(warmup):
        fn()
    if device == "cuda":
        torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        if device == "cuda":
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record(); fn(); e.record(); e.synchronize()
            times.append(s.elapsed_time(e) / 1000)
        else:
            t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cases", required=True, help="name:size:batch[:frames],...")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--inference", action="store_true", help="also time eval-mode forward")
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    rows = []
    print(f"torch {torch.__version__}, device {a.device}, threads {torch.get_num_threads()}")
    print("| model | input | batch | train images/s | inference images/s |\n|---|---|---|---|---|")
    for spec in a.cases.split(","):
        name, size, batch, *frames = spec.split(":")
        size, batch = int(size), int(batch)
        clip = tuple(int(f) for f in frames)  # (T,) for a video model
        channels = 1 if name == "lenet5" else 3
        torch.manual_seed(0)
        try:
            model = build(name, a.classes, channels).to(a.device)
        except Exception as e:  # a variant this torchvision lacks
            print(f"| {name} | skipped: {e} |")
            continue
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(batch, channels, *clip, size, size, device=a.device)
        y = torch.arange(batch, device=a.device) % a.classes
        lossf = torch.nn.CrossEntropyLoss()

        def step():
            model.train()
            opt.zero_grad(set_to_none=True)
            out = model(x)
            if isinstance(out, torch.Tensor):
                loss = lossf(out, y)
            else:
                main, *aux = [o for o in out if o is not None]
                loss = lossf(main, y) + sum(AUX_WEIGHT.get(name, 0.3) * lossf(o, y) for o in aux)
            loss.backward()
            opt.step()

        def infer():
            model.eval()
            with torch.no_grad():
                model(x)

        train = batch / timed(step, a.device, a.warmup, a.reps)
        inf = batch / timed(infer, a.device, a.warmup, a.reps) if a.inference else None
        rows.append({"model": name, "size": size, "batch": batch, "frames": clip[0] if clip else 0, "train": train, "inference": inf})
        print(f"| {name} | {'x'.join(map(str, clip + (size,)))} | {batch} | {train:.1f} | {'' if inf is None else f'{inf:.1f}'} |", flush=True)
        del model, opt
        if a.device == "cuda":
            torch.cuda.empty_cache()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
