"""Makes the pre-quantized ONNX model of tests/cli/onnx_qdq_matmul.sh: a two-layer MLP over
a [2, 8, 32] input written as exporters write linear layers — MatMul(x, W [32, 48]) + Add,
Relu, then Gemm(h, W [48, 16], b) without transB — quantized by ONNX Runtime's
quantize_static into QDQ form (u8 activations per tensor, s8 weights per channel, which
for a [K, N] weight is axis 1), and ONNX Runtime's output for a held-out input. Run with
the python3 that has onnxruntime (pip):

    python3 tests/onnx/make_qdq_matmul.py [OUT_DIR]

writes OUT_DIR/matmul_qdq.onnx, matmul_qdq.input.npy and matmul_qdq.ort.npy (default
tests/onnx/models). Deterministic (seed 0, MinMax calibration; tests/onnx/qdq_write.py)."""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import qdq_write  # tests/onnx/qdq_write.py: quantize_static, the input, ORT's output

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "onnx", "models")
rng = np.random.default_rng(0)


def fp32_model():
    w1 = (rng.standard_normal((32, 48)) / 6).astype(np.float32)
    b1 = (rng.standard_normal(48) / 10).astype(np.float32)
    w2 = (rng.standard_normal((48, 16)) / 7).astype(np.float32)
    b2 = (rng.standard_normal(16) / 10).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["m1"]),
        helper.make_node("Add", ["m1", "b1"], ["a1"]),
        helper.make_node("Relu", ["a1"], ["r1"]),
        helper.make_node("Reshape", ["r1", "shape2d"], ["h"]),
        helper.make_node("Gemm", ["h", "w2", "b2"], ["y"]),
    ]
    inits = [numpy_helper.from_array(a, n) for n, a in
             (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2))]
    inits.append(numpy_helper.from_array(np.array([16, 48], dtype=np.int64), "shape2d"))
    g = helper.make_graph(nodes, "matmul_qdq",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [16, 16])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def main():
    qdq_write.write(OUT, "matmul_qdq", fp32_model(), (2, 8, 32), rng)


if __name__ == "__main__":
    main()
