"""Makes the pre-quantized ONNX model of tests/cli/onnx_qdq_resblock.sh: a resnet-style
stem and block — Conv(3 -> 16, 3x3) + Relu, MaxPool 3x3/2, Conv + Relu, Conv, Add (the
pool's output), Relu, GlobalAveragePool, Flatten, Gemm — over a [1, 3, 24, 24] input,
quantized by ONNX Runtime's quantize_static into QDQ form (u8 activations per tensor, s8
weights per channel; the MaxPool keeps its input's scale), and ONNX Runtime's output for a
held-out input. Run with the python3 that has onnxruntime (pip):

    python3 tests/onnx/make_qdq_resblock.py [OUT_DIR]

writes OUT_DIR/resblock_qdq.onnx, resblock_qdq.input.npy and resblock_qdq.ort.npy (default
tests/onnx/models). Deterministic (seed 0, MinMax calibration; tests/onnx/qdq_write.py)."""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import qdq_write  # tests/onnx/qdq_write.py: quantize_static, the input, ORT's output

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "onnx", "models")
rng = np.random.default_rng(0)
SHAPE = (1, 3, 24, 24)


def fp32_model():
    def w(*s):
        return (rng.standard_normal(s) / np.sqrt(np.prod(s[1:]))).astype(np.float32)

    arrays = {"w1": w(16, 3, 3, 3), "b1": (rng.standard_normal(16) / 10).astype(np.float32),
              "w2": w(16, 16, 3, 3), "b2": (rng.standard_normal(16) / 10).astype(np.float32),
              "w3": w(16, 16, 3, 3), "b3": (rng.standard_normal(16) / 10).astype(np.float32),
              "wf": w(10, 16), "bf": (rng.standard_normal(10) / 10).astype(np.float32)}
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], **conv),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p"], kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["p", "w2", "b2"], ["c2"], **conv),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3", "b3"], ["c3"], **conv),
        helper.make_node("Add", ["c3", "p"], ["a"]),
        helper.make_node("Relu", ["a"], ["r3"]),
        helper.make_node("GlobalAveragePool", ["r3"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], transB=1),
    ]
    inits = [numpy_helper.from_array(a, n) for n, a in arrays.items()]
    g = helper.make_graph(nodes, "resblock_qdq",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(SHAPE))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def main():
    qdq_write.write(OUT, "resblock_qdq", fp32_model(), SHAPE, rng)


if __name__ == "__main__":
    main()
