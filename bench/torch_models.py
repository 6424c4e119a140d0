"""The benchmark's models as PyTorch modules, with the weights of samples/ loaded.

Imported by bench/torch_bench.py and bench/export_onnx.py; run under Debian's
/usr/bin/python3 (python3-torch, python3-torchvision). The weights are read from
the same safetensors files that slimc reads, so all three runtimes compute the
same function.
"""

import importlib.util
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "samples")

# name -> (sample folder, .slim and .safetensors stem, input shape without the batch)
MODELS = {
    "mlp": ("mlp", "mlp", (784,)),
    "lenet": ("lenet", "lenet", (1, 28, 28)),
    "resnet18": ("resnet18", "resnet18", (3, 224, 224)),
    "mobilenet_v2": ("mobilenet_v2", "mobilenet_v2", (3, 224, 224)),
    "transformer": ("transformer", "transformer", (128, 256)),
}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def _sample_classes():
    spec = importlib.util.spec_from_file_location(
        "make_samples", os.path.join(SAMPLES, "make_samples.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build(name):
    """The PyTorch module of benchmark model NAME, eval mode, sample weights loaded."""
    folder, stem, _ = MODELS[name]
    if name in ("mlp", "lenet"):
        ms = _sample_classes()
        model = ms.MLP() if name == "mlp" else ms.LeNet()
    elif name == "resnet18":
        import torchvision
        model = torchvision.models.resnet18(weights=None)
    elif name == "mobilenet_v2":
        import torchvision
        model = torchvision.models.mobilenet_v2(weights=None)
    elif name == "transformer":
        model = nn.TransformerEncoderLayer(d_model=256, nhead=4, dim_feedforward=1024,
                                           dropout=0.0, batch_first=True)
    else:
        raise KeyError(name)
    state = read_safetensors(os.path.join(SAMPLES, folder, stem + ".safetensors"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit("%s: weights do not fit: missing %s, unexpected %s"
                         % (name, missing[:5], unexpected[:5]))
    return model.eval()
