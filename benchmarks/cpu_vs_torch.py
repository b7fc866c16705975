#!/usr/bin/env python3
"""PyTorch's side of issue 19's CPU comparison: the cases of benchmarks/Engine.Benchmarks/CpuVsTorch.cs, timed the
same way (warm-up calls for at least --warmup-seconds, then timed calls until both --reps and --min-seconds are reached; median).

    /usr/bin/python3 benchmarks/cpu_vs_torch.py --threads 2 --cases gemm1024,conv_fwd --json out.json

benchmarks/cpu-vs-torch.sh runs this and the engine back to back and prints the ratio table.
"""
import argparse, json, os, statistics, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Engine.Tests", "Models", "Reference"))
from torch_reference import build  # noqa: E402


def timed(fn, warmup, reps, min_seconds, clock, warmup_seconds=0.0):
    # Both sides warm up for the same calls and seconds (the engine's JIT needs the seconds; PyTorch gets them too).
    i, start = 0, time.perf_counter()
    while i < warmup or time.perf_counter() - start < warmup_seconds:
        fn(); i += 1
    times, start = [], time.perf_counter()
    while len(times) < reps or (time.perf_counter() - start < min_seconds and len(times) < 100_000):
        t0 = clock(); fn(); times.append(clock() - t0)
    return statistics.median(times)


def conv_case(x_shape, w_shape, groups, backward, stride=1, padding=1):
    x = torch.randn(*x_shape)
    w = torch.randn(*w_shape) * 0.05
    if not backward:
        def fwd():
            with torch.no_grad():
                F.conv2d(x, w, None, stride=stride, padding=padding, groups=groups)
        return fwd
    x.requires_grad_(); w.requires_grad_()

    def fwdbwd():
        F.conv2d(x, w, None, stride=stride, padding=padding, groups=groups).sum().backward()
        x.grad = None; w.grad = None
    return fwdbwd


def conv_bn6():
    layers = []
    for cin, cout, stride in [(3, 16, 1), (16, 16, 1), (16, 32, 2), (32, 32, 1), (32, 64, 2), (64, 64, 1)]:
        layers += [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def step_case(model, batch, channels, size):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, channels, size, size)
    y = torch.arange(batch) % 10
    lossf = nn.CrossEntropyLoss()
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        out = model(x)
        if isinstance(out, torch.Tensor):
            loss = lossf(out, y)
        else:  # GoogLeNet-style auxiliary heads, as models_torch.py
            main, *aux = [o for o in out if o is not None]
            loss = lossf(main, y) + sum(0.3 * lossf(o, y) for o in aux)
        loss.backward()
        opt.step()
    return step


def create(name):
    f = name.split(":")
    torch.manual_seed(7)
    if name == "gemm1024":
        a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)

        def mm():
            with torch.no_grad():
                a @ b
        return mm
    if f[0] == "gemm" and len(f) in (4, 5):
        m, n, k = map(int, f[1:4])
        a = torch.randn(m, k)
        b = torch.randn(n, k).t() if len(f) == 5 and f[4] == "t" else torch.randn(k, n)

        def mmk():
            with torch.no_grad():
                a @ b
        return mmk
    if name in ("conv_fwd", "conv_fwdbwd"):
        return conv_case((64, 64, 32, 32), (64, 64, 3, 3), 1, name == "conv_fwdbwd")
    if name == "dwconv_fwdbwd":
        return conv_case((64, 128, 28, 28), (128, 1, 3, 3), 128, True)
    if name in ("lenet5_b128", "lenet5_b1"):
        return step_case(build("lenet5", 10, 1), 128 if name == "lenet5_b128" else 1, 1, 28)
    if name in ("convbn6_b64", "convbn6_b1"):
        return step_case(conv_bn6(), 64 if name == "convbn6_b64" else 1, 3, 32)
    if name == "mlp_b1":
        return step_case(nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)), 1, 1, 28)
    f = name.split(":")
    if len(f) == 8 and f[0] == "conv":
        n, c, o, h, k, s, g = map(int, f[1:])
        return conv_case((n, c, h, h), (o, c // g, k, k), g, True, s, k // 2)
    if len(f) == 4 and f[0] == "bnrelu":
        n, c, h = map(int, f[1:])
        x, bn = torch.randn(n, c, h, h, requires_grad=True), nn.BatchNorm2d(c)

        def bnrelu():
            F.relu(bn(x)).sum().backward()
            x.grad = None; bn.zero_grad(set_to_none=True)
        return bnrelu
    if len(f) == 4 and f[0] == "model":
        channels = 1 if f[1] == "lenet5" else 3
        return step_case(build(f[1], 10, channels), int(f[3]), channels, int(f[2]))
    raise SystemExit(f"cpu_vs_torch.py: unknown case {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--warmup-seconds", type=float, default=2.0)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="cpu: process CPU time, as the engine's --clock cpu")
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, clock {a.clock}")
    rows = []
    for name in a.cases.split(","):
        median = timed(create(name), a.warmup, a.reps, a.min_seconds, clock, a.warmup_seconds)
        rows.append({"case": name, "seconds": median})
        print(f"{name:<28} {median * 1e3:10.3f} ms", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
