"""ONNX LSTM / GRU over a symbolic sequence length and batch (issue 19), for
tests/cli/onnx_rnn_dyn.sh: `make DIR` writes the models, and for each (T, B) the inputs
(seeded) and ONNX Runtime's outputs as MODEL.T_B.NAME.npy."""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as TP, helper as oh, numpy_helper as nh

rng = np.random.default_rng(19)


def randn(*s, scale=0.5):
    return (scale * rng.standard_normal(s)).astype(np.float32)


def model(name, node, inputs, outputs, inits):
    g = oh.make_graph([node], name, inputs, [oh.make_tensor_value_info(o, TP.FLOAT, None)
                                             for o in outputs], inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 14)])
    m.ir_version = 8
    return m


def models():
    """name -> (model, feeds maker (T, B) -> dict)"""
    out = {}
    # bidirectional LSTM with peepholes and a run-time initial_h: Y, Y_h, Y_c
    H, I = 5, 4
    inits = [nh.from_array(randn(2, 4 * H, I), "W"), nh.from_array(randn(2, 4 * H, H), "R"),
             nh.from_array(randn(2, 8 * H), "B"), nh.from_array(randn(2, 3 * H), "P")]
    node = oh.make_node("LSTM", ["x", "W", "R", "B", "", "h0", "", "P"], ["y", "yh", "yc"],
                        direction="bidirectional", hidden_size=H)
    m = model("lstm_bi_dyn", node,
              [oh.make_tensor_value_info("x", TP.FLOAT, ["seq", "batch", I]),
               oh.make_tensor_value_info("h0", TP.FLOAT, [2, "batch", H])],
              ["y", "yh", "yc"], inits)
    out["lstm_bi_dyn"] = (m, lambda T, B, I=I, H=H: {"x": randn(T, B, I, scale=1.0),
                                           "h0": randn(2, B, H)})
    # reverse GRU (linear_before_reset) with sequence_lens given at run time
    H, I = 6, 3
    inits = [nh.from_array(randn(1, 3 * H, I), "W"), nh.from_array(randn(1, 3 * H, H), "R"),
             nh.from_array(randn(1, 6 * H), "B")]
    node = oh.make_node("GRU", ["x", "W", "R", "B", "lens"], ["y", "yh"], direction="reverse",
                        hidden_size=H, linear_before_reset=1)
    m = model("gru_lens_dyn", node,
              [oh.make_tensor_value_info("x", TP.FLOAT, ["seq", "batch", I]),
               oh.make_tensor_value_info("lens", TP.INT32, ["batch"])],
              ["y", "yh"], inits)
    out["gru_lens_dyn"] = (m, lambda T, B, I=I, H=H: {
        "x": randn(T, B, I, scale=1.0),
        "lens": rng.integers(1, T + 1, size=B).astype(np.int32)})
    # bidirectional RNN (Relu forward, Tanh reverse), clip, Y only
    H, I = 4, 5
    inits = [nh.from_array(randn(2, H, I), "W"), nh.from_array(randn(2, H, H), "R")]
    node = oh.make_node("RNN", ["x", "W", "R"], ["y"], direction="bidirectional",
                        hidden_size=H, activations=["Relu", "Tanh"], clip=0.9)
    m = model("rnn_bi_dyn", node, [oh.make_tensor_value_info("x", TP.FLOAT, ["seq", "batch", I])],
              ["y"], inits)
    out["rnn_bi_dyn"] = (m, lambda T, B, I=I, H=H: {"x": randn(T, B, I, scale=1.0)})
    return out


def main():
    d = sys.argv[2]
    for name, (m, feeds) in models().items():
        onnx.save(m, os.path.join(d, name + ".onnx"))
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        for T, B in ((6, 2), (11, 3)):
            f = feeds(T, B)
            stem = os.path.join(d, f"{name}.{T}_{B}")
            for k, v in f.items():
                np.save(f"{stem}.in.{k}.npy", v)
            for o, v in zip([o.name for o in sess.get_outputs()], sess.run(None, f)):
                np.save(f"{stem}.ref.{o}.npy", v)


if __name__ == "__main__":
    main()
