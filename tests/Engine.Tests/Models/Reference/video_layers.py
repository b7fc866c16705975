#!/usr/bin/env python3
"""PyTorch's 3-D layers with per-dim options, for the engine's VideoLayerTests (the independent side of the check).

    python3 video_layers.py --seed 1 --out DIR

Writes DIR/io.safetensors, float64, for each case K of CASES: K.input, K.gy (the upstream gradient), the module's
parameters K.weight / K.bias (randomised), K.y (forward), K.dx and K.dweight / K.dbias (backward of sum(y * gy)).
The engine builds the same layers from its own table of the same options.
"""
import argparse, os, sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import save  # noqa: E402

nn = torch.nn
CASES = {
    # groups, dilation in time, asymmetric kernel/stride/padding per dim
    "conv": (lambda: nn.Conv3d(4, 6, (2, 3, 1), stride=(1, 2, 1), padding=(1, 0, 2), dilation=(2, 1, 1), groups=2), (2, 4, 5, 7, 4)),
    # R(2+1)D's temporal half: 3x1x1, stride 2 in time only, no bias
    "conv_temporal": (lambda: nn.Conv3d(3, 5, (3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0), bias=False), (2, 3, 6, 4, 5)),
    "maxpool": (lambda: nn.MaxPool3d((2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0), dilation=(2, 1, 1), ceil_mode=True), (2, 3, 5, 7, 6)),
    "avgpool": (lambda: nn.AvgPool3d((1, 3, 2), stride=(1, 2, 1), padding=(0, 1, 1), ceil_mode=True, count_include_pad=False), (2, 3, 4, 7, 5)),
    "avgpool_pad": (lambda: nn.AvgPool3d((2, 2, 3), stride=(2, 1, 2), padding=(1, 0, 1)), (1, 2, 5, 4, 7)),
    # output sizes that do not divide the input: PyTorch's overlapping floor/ceil windows
    "adaptive": (lambda: nn.AdaptiveAvgPool3d((2, 3, 4)), (2, 3, 5, 7, 6)),
    "adaptive_global": (lambda: nn.AdaptiveAvgPool3d(1), (2, 3, 3, 4, 5)),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    g = torch.Generator().manual_seed(a.seed)
    io = {}
    for name, (make, shape) in CASES.items():
        m = make().double()
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
        x = torch.randn(shape, generator=g, dtype=torch.float64, requires_grad=True)
        y = m(x)
        gy = torch.randn(y.shape, generator=g, dtype=torch.float64)
        y.backward(gy)
        io.update({f"{name}.input": x, f"{name}.gy": gy, f"{name}.y": y, f"{name}.dx": x.grad})
        for pn, p in m.named_parameters():
            io[f"{name}.{pn}"] = p
            io[f"{name}.d{pn}"] = p.grad
    os.makedirs(a.out, exist_ok=True)
    save(os.path.join(a.out, "io.safetensors"), io)


if __name__ == "__main__":
    main()
