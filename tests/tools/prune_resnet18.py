#!/usr/bin/env python3
"""Prunes the full-size ResNet-18 sample (samples/resnet18/resnet18.safetensors, made by
`samples/make_samples.py resnet18 --full`) with torch.nn.utils.prune.global_unstructured
(L1Unstructured) over every conv and linear weight, makes the masks permanent (zeros stored
densely, as a model pruned in PyTorch is exported), and writes into DIR:
  resnet18.slim, resnet18.safetensors   the pruned model for slimc
  resnet18.onnx                         the same weights for ONNX Runtime (batch 1)
  x.npy, y.npy                          the sample's input and PyTorch's output for it
and prints each layer's density. Run with a python that has torch and torchvision (Debian's
/usr/bin/python3 here).

usage: prune_resnet18.py DIR [--amount 0.8] [--samples samples/resnet18]"""
import argparse
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.utils.prune as prune
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import read_safetensors, write_safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--amount", type=float, default=0.8)
    ap.add_argument("--samples", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples", "resnet18"))
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    state = {k: torch.from_numpy(np.array(v))
             for k, v in read_safetensors(os.path.join(a.samples, "resnet18.safetensors")).items()}
    model = torchvision.models.resnet18(weights=None)
    model.load_state_dict(state, strict=False)  # num_batches_tracked is not stored
    model.eval()
    layers = [(n, m) for n, m in model.named_modules()
              if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    prune.global_unstructured([(m, "weight") for _, m in layers],
                              pruning_method=prune.L1Unstructured, amount=a.amount)
    for _, m in layers:
        prune.remove(m, "weight")
    for n, m in layers:
        w = m.weight.detach()
        print(f"{n:<24} {tuple(w.shape)!s:<20} density {float((w != 0).float().mean()):.3f}")
    out = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()
           if not k.endswith("num_batches_tracked")}
    write_safetensors(os.path.join(a.dir, "resnet18.safetensors"), out)
    shutil.copy(os.path.join(a.samples, "resnet18.slim"), os.path.join(a.dir, "resnet18.slim"))
    x = np.load(os.path.join(a.samples, "full_input.npy"))
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    np.save(os.path.join(a.dir, "x.npy"), x)
    np.save(os.path.join(a.dir, "y.npy"), y)
    torch.onnx.export(model, torch.from_numpy(x), os.path.join(a.dir, "resnet18.onnx"),
                      input_names=["x"], output_names=["y"], opset_version=13)


if __name__ == "__main__":
    main()
