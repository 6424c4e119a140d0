#!/usr/bin/python3
"""Export the benchmark's models to ONNX (for ONNX Runtime), with the samples' weights.

    /usr/bin/python3 bench/export_onnx.py MODEL:BATCH ...    e.g. mlp:1 mlp:64 resnet18:1

Writes bench/models/MODEL_bBATCH.onnx (static shapes, input "x", output "y",
opset 17) with torch.onnx.export. Run by bench/run.py when a file is missing.
"""

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")


def main(argv):
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    for spec in argv:
        name, batch = spec.split(":")
        batch = int(batch)
        model = torch_models.build(name)
        x = torch.randn((batch,) + torch_models.MODELS[name][2],
                        generator=torch.Generator().manual_seed(0))
        path = os.path.join(OUT, "%s_b%d.onnx" % (name, batch))
        # Exported with autograd on: under no_grad, TransformerEncoderLayer takes
        # its fused fast path (aten::_transformer_encoder_layer_fwd), which has no
        # ONNX export; the traced graph is otherwise the same.
        torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["y"],
                          opset_version=17, do_constant_folding=True)
        print("exported %s" % os.path.relpath(path))


if __name__ == "__main__":
    main(sys.argv[1:])
