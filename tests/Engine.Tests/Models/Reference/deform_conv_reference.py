#!/usr/bin/env python3
"""Writes torchvision.ops.deform_conv2d references for the engine's DeformConvTests (TorchReference category).

    /usr/bin/python3 deform_conv_reference.py --seed 1 --out DIR

DIR/io.safetensors holds, for every case NAME below (float64 throughout):
  NAME.input, NAME.offset, NAME.weight, [NAME.bias], [NAME.mask], NAME.grad_out   the operands and the upstream gradient
  NAME.config        int64 [stride_h, stride_w, pad_h, pad_w, dil_h, dil_w]
  NAME.out           deform_conv2d's output
  NAME.grad.KEY      d(sum(out * grad_out)) / d KEY for KEY in input, offset, weight, bias, mask
Offsets are random with a third rounded to integers and a sixth to halves, so sampling points fall on pixels (where the
bilinear gradient is one-sided), between them, on the image border and outside the image. This script is the
independent side of the check: the engine never imports it.
"""
import argparse, importlib.util, os

import torch
import torchvision

# name: (N, C, H, W, O, weight groups, offset groups, kH, kW, stride, padding, dilation, mask, bias)
CASES = {
    "basic_mask": (2, 4, 6, 5, 6, 1, 1, 3, 3, (1, 1), (1, 1), (1, 1), True, True),
    "groups_offset_groups_stride": (2, 6, 7, 6, 4, 2, 3, 3, 2, (2, 2), (1, 1), (1, 1), True, True),
    "dilation_offset_groups_nomask": (1, 4, 8, 7, 3, 1, 2, 3, 3, (1, 2), (2, 1), (2, 2), False, True),
    "depthwise_stride_nomask_nobias": (2, 4, 5, 5, 4, 4, 1, 2, 2, (2, 2), (0, 0), (1, 1), False, False),
}


def load_writer():
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("torch_reference", os.path.join(here, "torch_reference.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.save


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    g = torch.Generator().manual_seed(a.seed)
    io = {}
    for name, (n, c, h, w, o, groups, og, kh, kw, stride, pad, dil, use_mask, use_bias) in CASES.items():
        oh = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
        ow = (w + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
        x = torch.randn(n, c, h, w, dtype=torch.float64, generator=g)
        off = torch.randn(n, 2 * og * kh * kw, oh, ow, dtype=torch.float64, generator=g) * 1.5
        pick = torch.rand(off.shape, generator=g, dtype=torch.float64)
        off = torch.where(pick < 1 / 3, off.round(), torch.where(pick < 0.5, (off * 2).round() / 2, off))
        weight = torch.randn(o, c // groups, kh, kw, dtype=torch.float64, generator=g)
        bias = torch.randn(o, dtype=torch.float64, generator=g) if use_bias else None
        mask = torch.rand(n, og * kh * kw, oh, ow, dtype=torch.float64, generator=g) if use_mask else None
        leaves = {"input": x, "offset": off, "weight": weight, "bias": bias, "mask": mask}
        for t in leaves.values():
            if t is not None:
                t.requires_grad_(True)
        out = torchvision.ops.deform_conv2d(x, off, weight, bias, stride=stride, padding=pad, dilation=dil, mask=mask)
        grad_out = torch.randn(out.shape, dtype=torch.float64, generator=g)
        (out * grad_out).sum().backward()
        io[f"{name}.config"] = torch.tensor([*stride, *pad, *dil], dtype=torch.int64)
        io[f"{name}.grad_out"] = grad_out
        io[f"{name}.out"] = out
        for key, t in leaves.items():
            if t is not None:
                io[f"{name}.{key}"] = t
                io[f"{name}.grad.{key}"] = t.grad
    os.makedirs(a.out, exist_ok=True)
    load_writer()(os.path.join(a.out, "io.safetensors"), io)


if __name__ == "__main__":
    main()
