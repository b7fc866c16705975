"""Writes torchvision's resnet18 state_dict as safetensors (what `safetensors.torch.save_file(m.state_dict(), path)`
writes), without the safetensors package: an 8-byte header length, a JSON header, then the raw little-endian tensors.
Usage: python3 export_resnet18.py OUT.safetensors   (weights are torchvision's initialisation: nothing is downloaded)"""
import json, struct, sys
import torch, torchvision

torch.manual_seed(0)
state = torchvision.models.resnet18(weights=None).state_dict()
header, blobs, offset = {}, [], 0
for name, t in state.items():
    t = t.detach().contiguous().cpu()
    data = t.numpy().tobytes()
    dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
    header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for b in blobs:
        f.write(b)
