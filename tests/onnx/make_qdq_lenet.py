"""Makes the pre-quantized ONNX model of tests/cli/onnx_qdq.sh: samples/lenet (the trained
LeNet) as an fp32 ONNX graph, quantized by ONNX Runtime's quantize_static into QDQ form
(u8 activations per tensor, s8 weights per output channel, MinMax calibration over the 64
rows of samples/lenet/calib.npy), and ONNX Runtime's outputs for the 450 test digits of
samples/lenet/test_x.npy. Run with the python3 that has onnxruntime (pip):

    python3 tests/onnx/make_qdq_lenet.py [OUT_DIR] [--s8]

writes OUT_DIR/lenet_qdq.onnx and OUT_DIR/lenet_qdq.ort.npy (default tests/onnx/models).
--s8 quantizes the activations to s8 instead (ONNX Runtime's default; lenet_qdq_s8.*, not
committed). Everything is deterministic (fixed data, MinMax calibration, seed 0)."""
import json
import os
import struct
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)

np.random.seed(0)
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SAMPLE = os.path.join(ROOT, "samples", "lenet")
ARGS = [a for a in sys.argv[1:] if a != "--s8"]
S8 = "--s8" in sys.argv[1:]
OUT = ARGS[0] if ARGS else os.path.join(ROOT, "tests", "onnx", "models")
NAME = "lenet_qdq_s8" if S8 else "lenet_qdq"


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32"
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(blob[8 + n + a:8 + n + b], dtype=np.float32).reshape(info["shape"])
    return out


def lenet_fp32(w):
    """samples/lenet/lenet.slim as ONNX (opset 17): conv, max_pool, relu (twice), flatten,
    Gemm, relu, Gemm, LogSoftmax."""
    inits = [numpy_helper.from_array(v.copy(), name) for name, v in w.items()]
    nodes = [
        helper.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], kernel_shape=[5, 5]),
        helper.make_node("MaxPool", ["c1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Relu", ["p1"], ["r1"]),
        helper.make_node("Conv", ["r1", "conv2.weight", "conv2.bias"], ["c2"], kernel_shape=[5, 5]),
        helper.make_node("MaxPool", ["c2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Relu", ["p2"], ["r2"]),
        helper.make_node("Flatten", ["r2"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc1.weight", "fc1.bias"], ["g1"], transB=1),
        helper.make_node("Relu", ["g1"], ["r3"]),
        helper.make_node("Gemm", ["r3", "fc2.weight", "fc2.bias"], ["g2"], transB=1),
        helper.make_node("LogSoftmax", ["g2"], ["output"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "lenet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


class Calib(CalibrationDataReader):
    def __init__(self, x):
        self.rows = iter([{"x": x[i:i + 1]} for i in range(x.shape[0])])

    def get_next(self):
        return next(self.rows, None)


def main():
    os.makedirs(OUT, exist_ok=True)
    fp32 = lenet_fp32(read_safetensors(os.path.join(SAMPLE, "lenet.safetensors")))
    calib = np.load(os.path.join(SAMPLE, "calib.npy"))
    test_x = np.load(os.path.join(SAMPLE, "test_x.npy"))
    test_y = np.load(os.path.join(SAMPLE, "test_y.npy"))
    out_model = os.path.join(OUT, NAME + ".onnx")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "lenet_fp32.onnx")
        onnx.save(fp32, src)
        quantize_static(src, out_model, Calib(calib), quant_format=QuantFormat.QDQ,
                        per_channel=True,
                        activation_type=QuantType.QInt8 if S8 else QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
        f32 = ort.InferenceSession(src, providers=["CPUExecutionProvider"]).run(None, {"x": test_x})[0]
    sess = ort.InferenceSession(out_model, providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": test_x})[0]
    np.save(os.path.join(OUT, NAME + ".ort.npy"), y)
    ops = sorted({n.op_type for n in onnx.load(out_model).graph.node})
    print("wrote", out_model, "ops:", ", ".join(ops))
    print("top-1 on the 450 test digits: fp32 %.2f%%, QDQ (ONNX Runtime) %.2f%%" %
          (100 * np.mean(f32.argmax(1) == test_y), 100 * np.mean(y.argmax(1) == test_y)))


if __name__ == "__main__":
    main()
