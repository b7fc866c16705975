#!/usr/bin/env python3
"""PyTorch's side of DeformConvGpuBenchmarks: torchvision.ops.deform_conv2d (DCNv2, offsets and mask) on the same
shape, a ResNet-50 stage-4 bottleneck's 3x3 conv: input 32x256x14x14 float32, weight 256x256x3x3, padding 1, one
offset group, offsets ~ 2*randn, mask ~ U(0, 1). Times the forward and the forward+backward (gradients of input,
offset, mask, weight and bias) with CUDA events (models_torch.timed), median of 100 after 10 warm-ups, as GpuTiming does.

    python3 benchmarks/deform_conv_torch.py               (on a GPU machine; prints a Markdown table)
    /usr/bin/python3 benchmarks/deform_conv_torch.py --device cpu --reps 3   (a CPU smoke run)
"""
import argparse, os, sys

import torch
from torchvision.ops import deform_conv2d

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models_torch import timed  # noqa: E402  (median seconds, CUDA events on a GPU)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--reps", type=int, default=100)
    a = ap.parse_args()
    n, c, h, w, o, k = a.batch, 256, 14, 14, 256, 3
    torch.manual_seed(13)
    dev = a.device
    x = torch.randn(n, c, h, w, device=dev)
    offset = 2 * torch.randn(n, 2 * k * k, h, w, device=dev)
    mask = torch.rand(n, k * k, h, w, device=dev)
    weight = 0.02 * torch.randn(o, c, k, k, device=dev)
    bias = torch.randn(o, device=dev)
    upstream = torch.randn(n, o, h, w, device=dev)
    leaves = [t.detach().requires_grad_() for t in (x, offset, weight, bias, mask)]
    flops = 2.0 * o * c * k * k * n * h * w

    def forward():
        with torch.no_grad():
            deform_conv2d(x, offset, weight, bias, padding=1, mask=mask)

    def forward_backward():
        for t in leaves:
            t.grad = None
        xi, oi, wi, bi, mi = leaves
        deform_conv2d(xi, oi, wi, bi, padding=1, mask=mi).backward(upstream)

    shape = f"{n}x{c}x{h}x{w} 3x3 O={o} mask"
    print(f"torch {torch.__version__}, device {dev}" + (f" ({torch.cuda.get_device_name()})" if dev == "cuda" else ""))
    print("| case (torchvision.ops.deform_conv2d) | shape | median ms | TFLOP/s |\n|---|---|---|---|")
    for name, fn, f in (("forward", forward, flops), ("forward+backward", forward_backward, 3 * flops)):
        sec = timed(fn, dev, a.warmup, a.reps)
        print(f"| deform_conv2d {name} | {shape} | {sec * 1e3:.4f} | {f / sec / 1e12:.1f} |")


if __name__ == "__main__":
    main()
