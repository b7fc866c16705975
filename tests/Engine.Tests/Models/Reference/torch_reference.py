#!/usr/bin/env python3
"""Writes a reference for one model, computed by PyTorch/torchvision, for the engine's TorchReference tests.

    python3 torch_reference.py --model resnet18 --size 32 --batch 2 --classes 1000 --channels 3 --seed 1 --out DIR
    python3 torch_reference.py --model video.r3d_18 --size 32 --frames 4 ...     (a video model: clips [N, C, T, H, W])

DIR/weights.safetensors  the model's state_dict, after every BatchNorm's statistics and affine parameters are
                         randomised (so eval mode really uses running statistics and no BN is the identity)
DIR/io.safetensors       input [batch, channels, size, size] ([batch, channels, frames, size, size] with --frames); eval.logits (model.eval()); train.logits and
                         train.aux.K (model.train(), dropout and stochastic depth off, auxiliary heads in the order
                         the engine returns them: nearest the input first); after.KEY for every BatchNorm buffer
                         once the training-mode forward has updated the running statistics; f64.train.logits and
                         f64.train.aux.K and f64.after.KEY, the training-mode outputs and statistics of a float64 copy of the model: how far the float32
                         outputs are from exact measures the conditioning (training-mode BatchNorm over a few values
                         amplifies rounding), and the engine's tolerance grows with it.

torchvision builders are used by name, a path under torchvision.models ("resnet18", "video.r3d_18"; a bare name is
also looked up in torchvision.models.video, so "r3d_18" works too); variants torchvision lacks (the 2012 AlexNet with LRN, the CIFAR ResNets,
SE-ResNets, MobileNet v1, ...) come from the ref_*.py files beside this script, each of which defines a dict
MODELS = {name: builder(num_classes, in_channels) -> nn.Module}. This is the independent side of the check: it is
never imported by the engine.
"""
import argparse, copy, glob, importlib.util, json, os, struct, sys

import torch
import torchvision


def custom_models():
    models = {}
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "ref_*.py"))):
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        models.update(mod.MODELS)
    return models


def builder(name):
    """torchvision's builder at path `name` under torchvision.models, or a bare name of torchvision.models.video."""
    import torchvision.models.video  # noqa: F401  (imports the namespace)
    for root, path in ((torchvision.models, name), (torchvision.models.video, name)):
        obj = root
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if callable(obj):
            return obj
    raise SystemExit(f"torchvision {torchvision.__version__} has no builder '{name}'")


def build(name, classes, channels):
    custom = custom_models()
    if name in custom:
        return custom[name](classes, channels)
    kwargs = {"weights": None, "num_classes": classes}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=True, init_weights=True)
    model = builder(name)(**kwargs)
    if channels != 3:
        raise SystemExit(f"{name}: torchvision builders take 3 input channels; define a ref_*.py variant for {channels}")
    return model


DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32"}


def save(path, tensors):
    """A minimal safetensors writer (the format: u64 header length, JSON header, raw little-endian data)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def train_outputs(model, x, io, prefix):
    """Runs a training-mode forward and stores its logits and auxiliary logits (nearest the input first) under
    prefix + train.*. GoogLeNet's heads are read from the aux1/aux2 modules themselves: torchvision 0.14's
    GoogLeNetOutputs holds aux2's logits in aux_logits1 and aux1's in aux_logits2."""
    heads = {}
    hooks = [getattr(model, n).register_forward_hook(lambda m, i, o, n=n: heads.__setitem__(n, o))
             for n in ("aux1", "aux2") if isinstance(getattr(model, n, None), torch.nn.Module)]
    out = model(x)
    for h in hooks:
        h.remove()
    if isinstance(out, torch.Tensor):
        io[prefix + "train.logits"] = out
        return
    io[prefix + "train.logits"] = out[0]
    auxes = [heads[n] for n in sorted(heads)] if heads else [aux for aux in out[1:] if aux is not None]
    for i, aux in enumerate(auxes):
        io[f"{prefix}train.aux.{i}"] = aux


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--classes", type=int, default=1000)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frames", type=int, default=0, help="clip length of a video model's input; 0 for images")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = build(a.model, a.classes, a.channels).float()
    g = torch.Generator().manual_seed(a.seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                if m.running_mean is not None:
                    m.running_mean.normal_(0, 0.1, generator=g)
                    m.running_var.uniform_(0.5, 1.5, generator=g)
                if m.weight is not None:
                    m.weight.uniform_(0.5, 1.5, generator=g)
                    m.bias.normal_(0, 0.1, generator=g)
            if isinstance(m, (torch.nn.Dropout, torch.nn.Dropout2d)) or type(m).__name__ == "StochasticDepth":
                m.p = 0.0
    os.makedirs(a.out, exist_ok=True)
    save(os.path.join(a.out, "weights.safetensors"), model.state_dict())
    clip = (a.frames,) if a.frames else ()
    x = torch.randn(a.batch, a.channels, *clip, a.size, a.size, generator=g)
    io = {"input": x}
    with torch.no_grad():
        model.eval()
        io["eval.logits"] = model(x)
        model.train()
        exact = copy.deepcopy(model).double()
        train_outputs(model, x, io, "")
        train_outputs(exact, x.double(), io, "f64.")
    for k, v in model.state_dict().items():
        if k.endswith("running_mean") or k.endswith("running_var") or k.endswith("num_batches_tracked"):
            io["after." + k] = v
    for k, v in exact.state_dict().items():
        if k.endswith("running_mean") or k.endswith("running_var"):
            io["f64.after." + k] = v
    save(os.path.join(a.out, "io.safetensors"), io)


if __name__ == "__main__":
    main()
