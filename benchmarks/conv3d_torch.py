#!/usr/bin/env python3
"""PyTorch's side of the conv3d CPU comparison: the same cases and passes as the engine's Conv3dBenchmarks.

    /usr/bin/python3 benchmarks/conv3d_torch.py --threads 2 --cases stem:1x3x8x112x112:64x3x3x7x7:1x2x2:1x3x3,... --json out.json

A case is name:input:weight:stride:padding, dims joined by x (input N x C x T x H x W, weight O x C x kt x kh x kw).
Forward is F.conv3d under no_grad; forward + backward is sum(F.conv3d(x, w)).backward() with x and w requiring grad
(data and weight gradients), float32, no bias. Medians of perf_counter times. Prints a Markdown table, and JSON
with --json.
"""
import argparse, json, statistics, time

import torch
import torch.nn.functional as F


def median_seconds(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, mkldnn {torch.backends.mkldnn.is_available()}")
    print("| case | forward ms | forward+backward ms |\n|---|---|---|")
    rows = []
    for spec in a.cases.split(","):
        name, inp, wt, stride, pad = spec.split(":")
        dims = lambda s: [int(v) for v in s.split("x")]
        g = torch.Generator().manual_seed(11)
        x = torch.randn(dims(inp), generator=g)
        w = torch.randn(dims(wt), generator=g) * 0.05
        xg, wg = x.clone().requires_grad_(), w.clone().requires_grad_()
        st, pd = tuple(dims(stride)), tuple(dims(pad))

        def forward():
            with torch.no_grad():
                F.conv3d(x, w, None, st, pd)

        def forward_backward():
            F.conv3d(xg, wg, None, st, pd).sum().backward()
            xg.grad = None; wg.grad = None

        fwd = median_seconds(forward, a.warmup, a.reps)
        both = median_seconds(forward_backward, a.warmup, a.reps)
        rows.append({"case": name, "forward_ms": fwd * 1e3, "forward_backward_ms": both * 1e3})
        print(f"| {name} | {fwd * 1e3:.2f} | {both * 1e3:.2f} |", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
