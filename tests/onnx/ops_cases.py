#!/usr/bin/env python3
"""Small ONNX models for the ops of issue 19, built with onnx.helper and run by ONNX Runtime.

    ops_cases.py GROUP OUTDIR      GROUP: slice, if, rnn, rounding, trig

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


def save(name, m, feeds, refused=None, ref=None):
    """Writes case name; refused: the regex slimc's error must match (no ORT run then).
    ref (model, feeds, post): ORT runs that model instead and post maps its outputs (for
    what ORT lacks, as the recurrent ops' layout 1)."""
    onnx.save(m, os.path.join(OUT, name + ".onnx"))
    for k, v in feeds.items():
        np.save(os.path.join(OUT, f"{name}.input.{k}.npy"), v)
    if refused is not None:
        with open(os.path.join(OUT, "refused.txt"), "a") as f:
            f.write(f"{name}\t{refused}\n")
        return
    rm, rfeeds, post = ref if ref else (m, feeds, lambda r: r)
    s = ort.InferenceSession(rm.SerializeToString(), providers=["CPUExecutionProvider"])
    res = post(s.run(None, rfeeds))
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
    # int32 starts/ends with INT_MAX/INT_MIN sentinels (tf2onnx writes them)
    i32 = [nh.from_array(np.int32(v), k) for k, v in
           (("st", [2**31 - 1, -1]), ("en", [-(2**31), -(2**31)]), ("ax", [1, 2]), ("sp", [-2, -3]))]
    m = model([oh.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
              [vi("x", TP.FLOAT, [2, 5, 7])], [fout("y")], i32)
    save("slice_int32_sentinels", m, {"x": x})
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
    # Pad mode 'wrap' (opset 19): index_selects of positions mod the length
    m = model([oh.make_node("Pad", ["x", "pads"], ["y"], mode="wrap")],
              [vi("x", TP.FLOAT, [2, 3, 4])], [fout("y")],
              [c64("pads", [0, 2, 1, 1, 3, 4])], opset=19)
    save("pad_wrap", m, {"x": randn(2, 3, 4)})
    # nothing selected: refused with a reason, not a crash
    inits = [c64("st", [0]), c64("en", [3]), c64("ax", [0]), c64("sp", [-1])]
    m = model([oh.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
              [vi("x", TP.FLOAT, [4, 3])], [oh.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    save("slice_neg_empty", m, {"x": randn(4, 3)}, refused="negative step that selects nothing")
    inits = [c64("st", [0]), c64("en", [3]), c64("ax", [0]), c64("sp", [0])]
    m = model([oh.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
              [vi("x", TP.FLOAT, [4, 3])], [oh.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    save("slice_step0", m, {"x": randn(4, 3)}, refused=r"\(Slice\): step 0 on axis 0")


# ---- RNN, GRU, LSTM: directions, sequence_lens, initial states, layouts ----
def rnn_node(tag, op, direction="forward", T=5, B=3, I=4, H=3, lens=None, init=True, peep=False,
             layout=0, **attrs):
    """One recurrent node on the shared input x (tag prefixes its own names), as
    (node maker by layout, initializers, graph inputs by layout, feeds, outputs)."""
    D = 2 if direction == "bidirectional" else 1
    G = {"RNN": 1, "GRU": 3, "LSTM": 4}[op]
    inits = [nh.from_array(randn(D, G * H, I) * 0.5, tag + "W"),
             nh.from_array(randn(D, G * H, H) * 0.5, tag + "R"),
             nh.from_array(randn(D, 2 * G * H) * 0.5, tag + "B")]
    ins = ["x", tag + "W", tag + "R", tag + "B", "", "", "", ""]
    feeds, states = {}, []
    if lens is not None:
        inits.append(nh.from_array(np.array(lens, dtype=np.int32), tag + "lens"))
        ins[4] = tag + "lens"
    if init:
        for k in (5, 6) if op == "LSTM" else (5,):
            nm = tag + ("h0" if k == 5 else "c0")
            states.append(nm)
            feeds[nm] = randn(B, D, H) if layout else randn(D, B, H)
            ins[k] = nm
    if peep:
        inits.append(nh.from_array(randn(D, 3 * H) * 0.5, tag + "P"))
        ins[7] = tag + "P"
    while ins[-1] == "":
        ins.pop()
    outs = [tag + o for o in ["y", "yh", "yc"][: 3 if op == "LSTM" else 2]]

    def node(lay):
        return oh.make_node(op, ins, outs, direction=direction, hidden_size=H, layout=lay,
                            **attrs)

    def gin(lay):
        return [vi(nm, TP.FLOAT, [B, D, H] if lay else [D, B, H]) for nm in states]

    return node, inits, gin, feeds, outs


def rnn_model(name, nodes, layout=0, T=5, B=3, I=4, refused=None):
    """Case name: the nodes of rnn_node on one x [T, B, I] (layout 1: [B, T, I])."""
    feeds = {"x": randn(*([B, T, I] if layout else [T, B, I]))}
    inits, outs = [], []
    for _, i, _, f, o in nodes:
        inits += i
        feeds.update(f)
        outs += o

    def mk(lay):
        gin = [vi("x", TP.FLOAT, [B, T, I] if lay else [T, B, I])]
        for _, _, g, _, _ in nodes:
            gin += g(lay)
        return model([nd(lay) for nd, _, _, _, _ in nodes], gin,
                     [oh.make_tensor_value_info(o, TP.FLOAT, None) for o in outs], inits,
                     opset=14)

    ref = None
    if layout:  # ORT has no layout 1: its layout-0 twin on transposed inputs, outputs back
        def post(res):
            return [np.ascontiguousarray(np.transpose(r, (2, 0, 1, 3)) if r.ndim == 4 else
                                         np.swapaxes(r, 0, 1)) for r in res]
        ref = (mk(0), {k: np.ascontiguousarray(np.swapaxes(v, 0, 1)) for k, v in feeds.items()},
               post)
    save(name, mk(layout), feeds, refused=refused, ref=ref)


def bad_w(nd):
    """nd with W of one direction only (a bidirectional node needs two)."""
    nd[1][0] = nh.from_array(nh.to_array(nd[1][0])[:1], nd[1][0].name)
    return nd


def rnn_cases():
    # one model per direction, its nodes compiled together (one compilation each)
    for d in ("forward", "reverse", "bidirectional"):
        rnn_model(f"rnn_{d}", [
            rnn_node("l_", "LSTM", d),
            rnn_node("g_", "GRU", d),
            rnn_node("lp_", "LSTM", d, lens=[5, 2, 4], peep=True),
            rnn_node("gl_", "GRU", d, lens=[3, 5, 1], linear_before_reset=1),
            rnn_node("r_", "RNN", d, lens=[4, 5, 1], init=d != "reverse",
                     activations=["Relu", "Tanh"][: 2 if d == "bidirectional" else 1]),
        ])
    rnn_model("rnn_layout1", [
        rnn_node("l_", "LSTM", "bidirectional", lens=[2, 5, 3], layout=1),
        rnn_node("g_", "GRU", "bidirectional", init=False, layout=1),
    ], layout=1)
    rnn_model("lstm_acts", [rnn_node("a_", "LSTM", "bidirectional", activations=[
        "Sigmoid", "Tanh", "Tanh", "Sigmoid", "Relu", "Tanh"])])
    # clip (each gate's input clipped to [-clip, clip]) on an LSTM and a GRU
    rnn_model("rnn_clip", [rnn_node("l_", "LSTM", "bidirectional", clip=0.7, peep=True),
                           rnn_node("g_", "GRU", lens=[5, 2, 4], clip=0.5)])
    for name, nd, pat in (
            ("lstm_clip_zero", rnn_node("", "LSTM", clip=0.0), r"clip=0 \(a threshold must"),
            ("lstm_input_forget", rnn_node("", "LSTM", input_forget=1), r"input_forget=1"),
            ("gru_leaky", rnn_node("", "GRU", "bidirectional",
                                   activations=["Sigmoid", "Tanh", "LeakyRelu", "Tanh"]),
             r"GRU \(ai.onnx opset 14\): activation 'LeakyRelu' \(slimc takes Sigmoid, Tanh"),
            ("gru_lens_zero", rnn_node("", "GRU", lens=[3, 0, 2]), r"sequence_lens\[1\] = 0"),
            ("lstm_bidir_one_w", bad_w(rnn_node("", "LSTM", "bidirectional")),
             r"node 'LSTM_0' \(LSTM\): W is not of shape \[2, 12, 4\]")):
        rnn_model(name, [nd], refused=pat)


# ---- If: a condition known at import folds; a run-time one selects ----
def graph(name, nodes, outs, inits=()):
    return oh.make_graph(nodes, name, [], outs, list(inits))


def fout(name, shape=None):
    return oh.make_tensor_value_info(name, TP.FLOAT, shape)


def if_cases():
    x = randn(2, 3)
    # constant true: the else branch has an op slimc lacks (NonZero): not imported
    then_b = graph("t", [oh.make_node("Add", ["x", "k"], ["ty"])], [fout("ty", [2, 3])],
                   [nh.from_array(np.float32([[1, 2, 3]]), "k")])
    else_b = graph("e", [oh.make_node("NonZero", ["x"], ["nz"]),
                         oh.make_node("Cast", ["nz"], ["ey"], to=TP.FLOAT)], [fout("ey")])
    m = model([oh.make_node("If", ["c"], ["y"], then_branch=then_b, else_branch=else_b)],
              [vi("x", TP.FLOAT, [2, 3])], [fout("y")],
              [nh.from_array(np.array(True), "c")])
    save("if_const_true", m, {"x": x})
    # a condition folded from a static shape (Shape, Gather, Equal): false; the else branch
    # passes an outer value through (Identity) and reads outer names in a nested constant If
    inner_then = graph("it", [oh.make_node("Neg", ["x"], ["iy"])], [fout("iy", [2, 3])])
    inner_else = graph("ie", [oh.make_node("Abs", ["x"], ["iy2"])], [fout("iy2", [2, 3])])
    then_b = graph("t2", [oh.make_node("Reshape", ["x", "shp"], ["ty2"])], [fout("ty2")],
                   [c64("shp", [3, 2])])
    else_b = graph("e2", [oh.make_node("If", ["c2"], ["ey2"], then_branch=inner_then,
                                       else_branch=inner_else),
                          oh.make_node("Mul", ["ey2", "x"], ["ey3"]),
                          oh.make_node("Identity", ["x"], ["ex"])],
                   [fout("ey3", [2, 3]), fout("ex", [2, 3])])
    then_b.node.append(oh.make_node("Identity", ["x"], ["tx"]))
    then_b.output.append(fout("tx", [2, 3]))
    m = model([oh.make_node("Shape", ["x"], ["s"]),
               oh.make_node("Gather", ["s", "zero"], ["s0"], axis=0),
               oh.make_node("Equal", ["s0", "three"], ["c"]),
               oh.make_node("If", ["c"], ["y", "y2"], then_branch=then_b, else_branch=else_b)],
              [vi("x", TP.FLOAT, [2, 3])], [fout("y"), fout("y2")],
              [c64("zero", 0), c64("three", 3), nh.from_array(np.array([True]), "c2")])
    save("if_folded_shape", m, {"x": x})
    # computed at run time (the sign of a sum): both branches compiled, a where selects
    then_b = graph("t3", [oh.make_node("Mul", ["x", "two"], ["ty3"]),
                          oh.make_node("Relu", ["x"], ["tz3"])],
                   [fout("ty3", [2, 3]), fout("tz3", [2, 3])],
                   [nh.from_array(np.float32(2), "two")])
    else_b = graph("e3", [oh.make_node("Sub", ["x", "b"], ["ey4"]),
                          oh.make_node("Sigmoid", ["b"], ["ez4"])],
                   [fout("ey4", [2, 3]), fout("ez4", [2, 3])])
    m = model([oh.make_node("ReduceSum", ["x"], ["sum"], keepdims=0),
               oh.make_node("Greater", ["sum", "zf"], ["c"]),
               oh.make_node("If", ["c"], ["y", "z"], then_branch=then_b, else_branch=else_b),
               oh.make_node("Add", ["y", "z"], ["w"])],
              [vi("x", TP.FLOAT, [2, 3]), vi("b", TP.FLOAT, [2, 3])], [fout("w"), fout("y")],
              [nh.from_array(np.float32(0), "zf")])
    b = randn(2, 3)
    save("if_runtime_true", m, {"x": np.abs(x), "b": b})
    save("if_runtime_false", m, {"x": -np.abs(x), "b": b})
    # run time, outputs of different shapes: refused, naming both
    then_b = graph("t4", [oh.make_node("Reshape", ["x", "shp"], ["ty5"])], [fout("ty5")],
                   [c64("shp", [3, 2])])
    else_b = graph("e4", [oh.make_node("Neg", ["x"], ["ey5"])], [fout("ey5")])
    m = model([oh.make_node("If", ["c"], ["y"], then_branch=then_b, else_branch=else_b)],
              [vi("x", TP.FLOAT, [2, 3]), vi("c", TP.BOOL, [])], [fout("y")])
    save("if_runtime_shapes", m, {"x": x, "c": np.array(True)},
         refused=r"If \(ai.onnx opset 17\): output 0 is f32\[3, 2\] in then_branch and "
                 r"f32\[2, 3\] in else_branch")


# ---- elementwise ops added: rounding and trigonometry (compiled C against ORT) ----
def rounding_cases():
    """Floor, Ceil, Round (half to even), compared exactly (no infinity among the values:
    npycmp's tolerance is relative to the largest)."""
    halves = np.float32([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -3.5, 0.49999997, -0.7, 4097.5,
                         -4096.5, np.nan, -0.0, 0.0, 1e-8])
    x = np.concatenate([halves, randn(48) * 4]).reshape(4, 16)
    ops = ["Floor", "Ceil", "Round"]
    m = model([oh.make_node(op, ["x"], [op.lower()]) for op in ops], [vi("x", TP.FLOAT, [4, 16])],
              [fout(op.lower()) for op in ops])
    save("rounding", m, {"x": x})
    # after a conv (elementwise ops fused into its epilogue), as a real model has them
    m = model([oh.make_node("Conv", ["img", "w"], ["c"]), oh.make_node("Round", ["c"], ["r"]),
               oh.make_node("Ceil", ["c"], ["e"]), oh.make_node("Sub", ["r", "e"], ["y"])],
              [vi("img", TP.FLOAT, [1, 2, 5, 5])], [fout("y")],
              [nh.from_array(np.float32(rng.integers(-3, 4, (3, 2, 3, 3))) * 0.25, "w")])
    save("rounding_after_conv", m, {"img": np.float32(rng.integers(-4, 5, (1, 2, 5, 5))) * 0.5})


def trig_cases():
    x = randn(4, 16) * 3
    u = np.concatenate([np.float32([-1, 1, 0, 0.999, np.nan]),
                        rng.uniform(-1, 1, 59).astype(np.float32)]).reshape(4, 16)
    ops = ["Sin", "Cos", "Tan", "Atan"]
    nodes = [oh.make_node(op, ["x"], [op.lower()]) for op in ops]
    nodes += [oh.make_node(op, ["u"], [op.lower()]) for op in ("Asin", "Acos")]
    outs = [fout(op.lower()) for op in ops + ["Asin", "Acos"]]
    m = model(nodes, [vi("x", TP.FLOAT, [4, 16]), vi("u", TP.FLOAT, [4, 16])], outs)
    save("trig", m, {"x": x, "u": u})


GROUPS = {"rounding": rounding_cases, "trig": trig_cases, "slice": slice_cases, "rnn": rnn_cases, "if": if_cases}

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for f in ("cases.txt", "refused.txt"):
        open(os.path.join(OUT, f), "w").close()
    GROUPS[sys.argv[1]]()
