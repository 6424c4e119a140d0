"""Makes the ONNX-semantics reproducers of issue 13 (items 3 and 6): omitted inputs, Split
sizes that do not add up, a graph that is not SSA, Range with delta 0 or a huge count, Conv
and pools with empty kernels or zero strides, Gather with negative and out-of-range indices.

Each model is checked against ONNX Runtime here: where ORT computes, its outputs are saved as
sem_NAME.ort.OUTPUT.npy (the inputs as sem_NAME.input.INPUT.npy); where ORT refuses the model or fails the
run, the script asserts that it does (slimc must then fail too, naming the node). Run from
this folder with onnx, numpy and onnxruntime installed:
    python3 make_onnx_semantics.py
tests/cli/onnx_semantics.sh runs slimc on the files.
"""
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h

F, I64 = T.FLOAT, T.INT64
CASES = {}  # name -> (model, feeds, "ok" | "error": ORT fails or crashes)


def vi(name, dtype, dims):
    return h.make_tensor_value_info(name, dtype, dims)


def case(name, nodes, inputs, outputs, inits=(), opset=17, feeds=None, expect="ok"):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="")
    m.ir_version = 8
    CASES[name] = (m, feeds or {}, expect)


def t(name, dtype, dims, vals):
    return h.make_tensor(name, dtype, dims, vals)


x2 = np.array([1.0, -2.0], np.float32)
x5 = np.arange(5, dtype=np.float32)
x4d = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
xg = np.arange(12, dtype=np.float32).reshape(3, 4)
y = vi("y", F, None)

# ---- item 3: omitted inputs ----
# An empty name in a variadic input: ORT fails or crashes (Sum, Max) on each; slimc
# dereferenced NULL in all five.
for op in ("Concat", "Sum", "Max", "Min", "Mean"):
    attrs = {"axis": 0} if op == "Concat" else {}
    case(f"sem_{op.lower()}_empty", [h.make_node(op, ["x", ""], ["y"], name=f"{op.lower()}0", **attrs)],
         [vi("x", F, [2])], [y], feeds={"x": x2}, expect="error")
# the same on constants (the import-time folder)
case("sem_max_const_empty", [h.make_node("Max", ["c", ""], ["y"], name="max0")], [], [vi("y", I64, None)],
     [t("c", I64, [2], [1, 2])], expect="error")
case("sem_where_const_empty", [h.make_node("Where", ["b", "c", ""], ["y"], name="where0")], [],
     [vi("y", I64, None)], [t("b", T.BOOL, [2], [1, 0]), t("c", I64, [2], [1, 2])], expect="error")
# required inputs left empty (or missing) in ops the importer read without checking
case("sem_slice_no_starts", [h.make_node("Slice", ["x", "", "e"], ["y"], name="slice0")],
     [vi("x", F, [5])], [y], [t("e", I64, [1], [3])], opset=13, feeds={"x": x5}, expect="error")
case("sem_tile_no_repeats", [h.make_node("Tile", ["x", ""], ["y"], name="tile0")],
     [vi("x", F, [2])], [y], feeds={"x": x2}, expect="error")
case("sem_topk_no_k", [h.make_node("TopK", ["x", ""], ["y", "i"], name="topk0")],
     [vi("x", F, [5])], [y, vi("i", I64, None)], feeds={"x": x5}, expect="error")
case("sem_pad_no_pads", [h.make_node("Pad", ["x", ""], ["y"], name="pad0")],
     [vi("x", F, [2])], [y], opset=13, feeds={"x": x2}, expect="error")
case("sem_gather_elements_no_idx", [h.make_node("GatherElements", ["x", ""], ["y"], name="ge0")],
     [vi("x", F, [2])], [y], feeds={"x": x2}, expect="error")
case("sem_scatter_nd_short", [h.make_node("ScatterND", ["x", "i"], ["y"], name="snd0")],
     [vi("x", F, [2]), vi("i", I64, [1, 1])], [y],
     feeds={"x": x2, "i": np.array([[0]], np.int64)}, expect="error")
case("sem_resize_no_roi", [h.make_node("Resize", ["x", "", "s"], ["y"], name="resize0")],
     [vi("x", F, [1, 1, 4, 4])], [y], [t("s", F, [4], [1, 1, 2, 2])], opset=11,
     feeds={"x": x4d}, expect="error")
case("sem_qlinear_short", [h.make_node("DequantizeLinear", ["x", ""], ["y"], name="dq0")],
     [vi("x", T.UINT8, [2])], [y], feeds={"x": np.array([1, 2], np.uint8)}, expect="error")
case("sem_cumsum_no_axis", [h.make_node("CumSum", ["x", ""], ["y"], name="cumsum0")],
     [vi("x", F, [5])], [y], feeds={"x": x5}, expect="error")
# optional inputs left empty take their defaults
case("sem_clip_no_min", [h.make_node("Clip", ["x", "", "m"], ["y"], name="clip0")],
     [vi("x", F, [5])], [y], [t("m", F, [], [2.5])], opset=13, feeds={"x": x5})
case("sem_pad_no_value", [h.make_node("Pad", ["x", "p", ""], ["y"], name="pad0")],
     [vi("x", F, [5])], [y], [t("p", I64, [2], [1, 2])], opset=13, feeds={"x": x5})
case("sem_slice_no_axes", [h.make_node("Slice", ["x", "s", "e", "", "st"], ["y"], name="slice0")],
     [vi("x", F, [5])], [y], [t("s", I64, [1], [1]), t("e", I64, [1], [5]), t("st", I64, [1], [2])],
     opset=13, feeds={"x": x5})
case("sem_split_no_sizes", [h.make_node("Split", ["x", ""], ["y", "z"], name="split0", axis=0)],
     [vi("x", F, [4])], [y, vi("z", F, None)], opset=13,
     feeds={"x": np.arange(4, dtype=np.float32)})
case("sem_resize_sizes_only", [h.make_node("Resize", ["x", "", "", "sz"], ["y"], name="resize0")],
     [vi("x", F, [1, 1, 4, 4])], [y], [t("sz", I64, [4], [1, 1, 2, 8])], opset=13,
     feeds={"x": x4d})
case("sem_gemm_no_c", [h.make_node("Gemm", ["x", "b", ""], ["y"], name="gemm0", transB=1)],
     [vi("x", F, [1, 5])], [y], [t("b", F, [2, 5], list(range(10)))], feeds={"x": x5[None]})
case("sem_dropout_no_ratio", [h.make_node("Dropout", ["x", "", ""], ["y"], name="drop0")],
     [vi("x", F, [5])], [y], opset=13, feeds={"x": x5})
case("sem_conv_no_bias", [h.make_node("Conv", ["x", "w", ""], ["y"], name="conv0")],
     [vi("x", F, [1, 1, 4, 4])], [y], [t("w", F, [1, 1, 2, 2], [1, 0, 0, -1])],
     feeds={"x": x4d})

# ---- item 6: semantics as ONNX Runtime's ----
# Split sizes that do not add up to the axis (as an input from opset 13, an attribute
# before), and a negative size.
case("sem_split_short", [h.make_node("Split", ["x", "s"], ["y", "z"], name="split0", axis=0)],
     [vi("x", F, [5])], [y, vi("z", F, None)], [t("s", I64, [2], [2, 2])], opset=13,
     feeds={"x": x5}, expect="error")
case("sem_split_attr_long", [h.make_node("Split", ["x"], ["y", "z"], name="split0", axis=0, split=[3, 3])],
     [vi("x", F, [5])], [y, vi("z", F, None)], opset=11, feeds={"x": x5}, expect="error")
case("sem_split_negative", [h.make_node("Split", ["x", "s"], ["y", "z"], name="split0", axis=0)],
     [vi("x", F, [5])], [y, vi("z", F, None)], [t("s", I64, [2], [-1, 6])], opset=13,
     feeds={"x": x5}, expect="error")
case("sem_split_uneven", [h.make_node("Split", ["x"], ["y", "z"], name="split0", axis=0)],
     [vi("x", F, [5])], [y, vi("z", F, None)], opset=13, feeds={"x": x5}, expect="error")
case("sem_split_uneven18", [h.make_node("Split", ["x"], ["y", "z"], name="split0", axis=0, num_outputs=2)],
     [vi("x", F, [5])], [y, vi("z", F, None)], opset=18, feeds={"x": x5})
# Slice with fewer steps than starts (slimc read past the steps it was given).
case("sem_slice_steps_short", [h.make_node("Slice", ["x", "s", "e", "", "st"], ["y"], name="slice0")],
     [vi("x", F, [3, 3])], [y], [t("s", I64, [2], [0, 0]), t("e", I64, [2], [2, 2]), t("st", I64, [1], [1])],
     opset=13, feeds={"x": xg[:3, :3].copy()}, expect="error")
# Two nodes writing one name; a node writing a graph input or an initializer.
case("sem_two_writers", [h.make_node("Relu", ["x"], ["y"], name="first"),
                         h.make_node("Neg", ["x"], ["y"], name="second")],
     [vi("x", F, [2])], [y], feeds={"x": x2}, expect="error")
case("sem_writes_input", [h.make_node("Relu", ["x"], ["x"], name="first"),
                          h.make_node("Neg", ["x"], ["y"], name="second")],
     [vi("x", F, [2])], [y], feeds={"x": x2}, expect="error")
case("sem_writes_init", [h.make_node("Relu", ["x"], ["w"], name="first"),
                         h.make_node("Add", ["x", "w"], ["y"], name="second")],
     [vi("x", F, [2])], [y], [t("w", F, [2], [1, 1])], feeds={"x": x2}, expect="error")
# Range: delta 0, a count past int64, a count that is not finite.
case("sem_range_delta0", [h.make_node("Range", ["a", "b", "c"], ["y"], name="range0")], [],
     [vi("y", I64, None)], [t("a", I64, [], [0]), t("b", I64, [], [5]), t("c", I64, [], [0])],
     opset=13, expect="error")
case("sem_range_delta0_f", [h.make_node("Range", ["a", "b", "c"], ["y"], name="range0")], [],
     [y], [t("a", F, [], [0]), t("b", F, [], [5]), t("c", F, [], [0])], opset=13, expect="error")
case("sem_range_huge", [h.make_node("Range", ["a", "b", "c"], ["y"], name="range0")], [],
     [vi("y", I64, None)], [t("a", I64, [], [-2**62]), t("b", I64, [], [2**62]), t("c", I64, [], [1])],
     opset=13, expect="error")
case("sem_range_inf", [h.make_node("Range", ["a", "b", "c"], ["y"], name="range0")], [],
     [y], [t("a", F, [], [0]), t("b", F, [], [float("inf")]), t("c", F, [], [1])], opset=13,
     expect="error")
case("sem_range_nan", [h.make_node("Range", ["a", "b", "c"], ["y"], name="range0")], [],
     [y], [t("a", F, [], [0]), t("b", F, [], [float("nan")]), t("c", F, [], [1])], opset=13,
     expect="error")
# A Range that is fine, with a negative delta.
case("sem_range_ok", [h.make_node("Range", ["a", "b", "c"], ["r"], name="range0"),
                      h.make_node("Add", ["x", "r"], ["y"], name="add0")],
     [vi("x", I64, [3])], [vi("y", I64, None)],
     [t("a", I64, [], [10]), t("b", I64, [], [2]), t("c", I64, [], [-3])], opset=13,
     feeds={"x": np.array([1, 2, 3], np.int64)})
# Conv, ConvTranspose and pools with empty kernels, zero strides or dilations, pads that
# leave no output.
w00 = t("w", F, [1, 1, 0, 0], [])
xin = [vi("x", F, [1, 1, 4, 4])]
case("sem_conv_k0", [h.make_node("Conv", ["x", "w"], ["y"], name="conv0", kernel_shape=[0, 0])],
     xin, [y], [w00], feeds={"x": x4d}, expect="error")
w22 = t("w", F, [1, 1, 2, 2], [1, 2, 3, 4])
case("sem_conv_stride0", [h.make_node("Conv", ["x", "w"], ["y"], name="conv0", strides=[0, 1])],
     xin, [y], [w22], feeds={"x": x4d}, expect="error")
case("sem_conv_dil0", [h.make_node("Conv", ["x", "w"], ["y"], name="conv0", dilations=[1, 0])],
     xin, [y], [w22], feeds={"x": x4d}, expect="error")
case("sem_conv_pads_neg", [h.make_node("Conv", ["x", "w"], ["y"], name="conv0", pads=[-2, -2, -2, -2])],
     xin, [y], [w22], feeds={"x": x4d}, expect="error")
case("sem_convt_stride0", [h.make_node("ConvTranspose", ["x", "w"], ["y"], name="convt0", strides=[0, 0])],
     xin, [y], [w22], feeds={"x": x4d}, expect="error")
case("sem_convt_k0", [h.make_node("ConvTranspose", ["x", "w"], ["y"], name="convt0")],
     xin, [y], [w00], feeds={"x": x4d}, expect="error")
case("sem_maxpool_k0", [h.make_node("MaxPool", ["x"], ["y"], name="pool0", kernel_shape=[0, 0])],
     xin, [y], feeds={"x": x4d}, expect="error")
case("sem_avgpool_stride0", [h.make_node("AveragePool", ["x"], ["y"], name="pool0", kernel_shape=[2, 2],
                                         strides=[0, 0])], xin, [y], feeds={"x": x4d}, expect="error")
case("sem_maxpool_dil0", [h.make_node("MaxPool", ["x"], ["y"], name="pool0", kernel_shape=[2, 2],
                                      dilations=[0, 1])], xin, [y], feeds={"x": x4d}, expect="error")
case("sem_maxpool3d_k0", [h.make_node("MaxPool", ["x"], ["y"], name="pool0", kernel_shape=[0, 1, 1])],
     [vi("x", F, [1, 1, 2, 2, 2])], [y], feeds={"x": np.ones((1, 1, 2, 2, 2), np.float32)},
     expect="error")
case("sem_avgpool_too_big", [h.make_node("AveragePool", ["x"], ["y"], name="pool0", kernel_shape=[6, 6])],
     xin, [y], feeds={"x": x4d}, expect="error")
# Gather with negative indices: constant (folded at import) and at run time; out of range.
case("sem_gather_neg_const", [h.make_node("Gather", ["x", "i"], ["y"], name="gather0", axis=1)],
     [vi("x", F, [3, 4])], [y], [t("i", I64, [2, 2], [-1, 0, -4, 2])], feeds={"x": xg})
case("sem_gather_neg", [h.make_node("Gather", ["x", "i"], ["y"], name="gather0", axis=0)],
     [vi("x", F, [3, 4]), vi("i", I64, [2, 2])], [y],
     feeds={"x": xg, "i": np.array([[-1, 0], [-3, 2]], np.int64)})
case("sem_gather_neg_i32", [h.make_node("Gather", ["x", "i"], ["y"], name="gather0", axis=1)],
     [vi("x", F, [3, 4]), vi("i", T.INT32, [3])], [y],
     feeds={"x": xg, "i": np.array([-1, -4, 3], np.int32)})
case("sem_gather_oob", [h.make_node("Gather", ["x", "i"], ["y"], name="gather0", axis=0)],
     [vi("x", F, [3, 4]), vi("i", I64, [2])], [y],
     feeds={"x": xg, "i": np.array([0, 3], np.int64)}, expect="error")
case("sem_gather_oob_neg", [h.make_node("Gather", ["x", "i"], ["y"], name="gather0", axis=0)],
     [vi("x", F, [3, 4]), vi("i", I64, [2])], [y],
     feeds={"x": xg, "i": np.array([0, -4], np.int64)}, expect="error")
case("sem_gather_oob_const", [h.make_node("Gather", ["x", "i"], ["y"], name="gather0", axis=1)],
     [vi("x", F, [3, 4])], [y], [t("i", I64, [2], [1, -5])], feeds={"x": xg}, expect="error")
case("sem_gather_elements_neg", [h.make_node("GatherElements", ["x", "i"], ["y"], name="ge0", axis=1)],
     [vi("x", F, [3, 4]), vi("i", I64, [3, 2])], [y],
     feeds={"x": xg, "i": np.array([[-1, 0], [-4, 3], [2, -2]], np.int64)})
case("sem_gather_nd_neg", [h.make_node("GatherND", ["x", "i"], ["y"], name="gnd0")],
     [vi("x", F, [3, 4]), vi("i", I64, [2, 2])], [y],
     feeds={"x": xg, "i": np.array([[-1, -1], [0, -4]], np.int64)})
case("sem_scatter_elements_neg",
     [h.make_node("ScatterElements", ["x", "i", "u"], ["y"], name="se0", axis=1)],
     [vi("x", F, [3, 4]), vi("i", I64, [3, 1]), vi("u", F, [3, 1])], [y],
     feeds={"x": xg, "i": np.array([[-1], [0], [-3]], np.int64),
            "u": np.array([[100], [200], [300]], np.float32)})


def ort_child(name):
    """Runs NAME.onnx on its saved inputs under ORT (in a child process: ORT itself crashes on
    some of these models); saves NAME.ort.OUTPUT.npy, or prints ORT's error."""
    import onnxruntime as ort
    m = onnx.load(name + ".onnx")
    feeds = {i.name: np.load(f"{name}.input.{i.name}.npy") for i in m.graph.input}
    try:
        s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        outs = s.run(None, feeds)
    except Exception as e:  # noqa: BLE001 (ORT raises several types)
        print("ORT error: " + str(e).splitlines()[0][:160])
        return
    for o, v in zip(m.graph.output, outs):
        np.save(f"{name}.ort.{o.name}.npy", v)
    print(f"ORT computed {[v.shape for v in outs]}")


def main():
    for name, (m, feeds, expect) in CASES.items():
        onnx.save(m, name + ".onnx")
        for k, v in feeds.items():
            np.save(f"{name}.input.{k}.npy", v)
        r = subprocess.run([sys.executable, __file__, "--ort", name], capture_output=True, text=True)
        got = "ok" if r.returncode == 0 and r.stdout.startswith("ORT computed") else "error"
        assert r.returncode <= 0 and got == expect, f"{name}: expected {expect}: {r.stdout}{r.stderr}"
        print(f"{name}: {r.stdout.strip() or 'ORT crashes'}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--ort"]:
        ort_child(sys.argv[2])
    else:
        main()
