#!/usr/bin/env python3
"""Small ONNX models for the ops of issue 19, built with onnx.helper and run by ONNX Runtime.

    ops_cases.py GROUP OUTDIR      GROUP: slice, if, rnn, unary

For each case NAME it writes OUTDIR/NAME.onnx, NAME.input.K.npy (one per graph input K)
and NAME.ref.OUT.npy (ONNX Runtime's output OUT), and appends NAME to OUTDIR/cases.txt.
Cases slimc must refuse are listed in OUTDIR/refused.txt as "NAME<TAB>regex of the message".
The tests/cli/onnx_*.sh scripts run slimc on each and compare (tests/tools/npycmp)."""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as TP
from onnx import helper as oh
from onnx import numpy_helper as nh

I64_MAX = 2**63 - 1
OUT = sys.argv[2] if len(sys.argv) > 2 else "."
rng = np.random.default_rng(19)


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = oh.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", opset)])
    m.ir_version = 8
    # no onnx.checker: it wants a shape on outputs left unshaped for ORT to infer
    return m


def vi(name, dt, shape):
    return oh.make_tensor_value_info(name, dt, shape)


def c64(name, vals):
    return nh.from_array(np.array(vals, dtype=np.int64), name)


def save(name, m, feeds, refused=None):
    """Writes case name; refused: the regex slimc's error must match (no ORT run then)."""
    onnx.save(m, os.path.join(OUT, name + ".onnx"))
    for k, v in feeds.items():
        np.save(os.path.join(OUT, f"{name}.input.{k}.npy"), v)
    if refused is not None:
        with open(os.path.join(OUT, "refused.txt"), "a") as f:
            f.write(f"{name}\t{refused}\n")
        return
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    res = s.run(None, feeds)
    for o, r in zip(s.get_outputs(), res):
        np.save(os.path.join(OUT, f"{name}.ref.{o.name}.npy"), r)
    with open(os.path.join(OUT, "cases.txt"), "a") as f:
        f.write(name + "\n")


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# ---- Slice with negative steps ----
def slice_cases():
    x = randn(2, 5, 7)

    def one(name, starts, ends, axes, steps, xin=x):
        inits = [c64("st", starts), c64("en", ends), c64("ax", axes), c64("sp", steps)]
        m = model([oh.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
                  [vi("x", TP.FLOAT, list(xin.shape))], [oh.make_tensor_value_info("y", TP.FLOAT, None)], inits)
        save(name, m, {"x": xin})

    one("slice_flip_sentinels", [-1], [-I64_MAX], [2], [-1])  # torch.flip
    one("slice_flip_int64_min", [I64_MAX], [-(2**63)], [1], [-1])
    one("slice_step_m2", [6], [0], [2], [-2])  # 6, 4, 2 (end excluded)
    one("slice_step_m3_clamp", [100], [-100], [-1], [-3])  # start clamps to 6
    one("slice_two_axes", [-2, 3], [0, -I64_MAX], [1, 2], [-1, -2])
    one("slice_mixed_signs", [1, -1], [5, 1], [1, 2], [2, -1])
    one("slice_reflect_left", [3], [0], [2], [-1])  # x[..., 3:0:-1], as reflect pad's left part
    xi = rng.integers(-9, 9, size=(4, 6)).astype(np.int64)
    inits = [c64("st", [-1]), c64("en", [-I64_MAX]), c64("ax", [0]), c64("sp", [-1])]
    m = model([oh.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
              [vi("x", TP.INT64, [4, 6])], [vi("y", TP.INT64, None)], inits)
    save("slice_flip_i64", m, {"x": xi})
    # a reversed constant shape list (as torch's pad export reverses its pads) feeding Pad
    pads = c64("pads_rev", [1, 2, 0, 0, 2, 1, 0, 0])  # reversed: [0,0,1,2,0,0,2,1]
    inits = [pads, c64("st", [-1]), c64("en", [-I64_MAX]), c64("ax", [0]), c64("sp", [-1])]
    m = model([oh.make_node("Slice", ["pads_rev", "st", "en", "ax", "sp"], ["pads"]),
               oh.make_node("Pad", ["x", "pads"], ["y"], mode="reflect")],
              [vi("x", TP.FLOAT, [1, 2, 5, 6])], [oh.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    save("slice_reversed_pads", m, {"x": randn(1, 2, 5, 6)})
    # nothing selected: refused with a reason, not a crash
    inits = [c64("st", [0]), c64("en", [3]), c64("ax", [0]), c64("sp", [-1])]
    m = model([oh.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
              [vi("x", TP.FLOAT, [4, 3])], [oh.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    save("slice_neg_empty", m, {"x": randn(4, 3)}, refused="negative step that selects nothing")
    inits = [c64("st", [0]), c64("en", [3]), c64("ax", [0]), c64("sp", [0])]
    m = model([oh.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
              [vi("x", TP.FLOAT, [4, 3])], [oh.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    save("slice_step0", m, {"x": randn(4, 3)}, refused=r"\(Slice\): step 0 on axis 0")


GROUPS = {"slice": slice_cases}

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for f in ("cases.txt", "refused.txt"):
        open(os.path.join(OUT, f), "w").close()
    GROUPS[sys.argv[1]]()
