"""Writes small ONNX models and tensors as seeds for tests/fuzz/fuzz_onnx (run once;
the output is committed in tests/fuzz/corpus/onnx). Needs the onnx package."""
import os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = os.path.join(os.path.dirname(__file__), "..", "fuzz", "corpus", "onnx")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(0)

def save(name, nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    with open(os.path.join(out, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())

f = TensorProto.FLOAT
x = helper.make_tensor_value_info("x", f, ["N", 3, 8, 8])
w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
save("conv_relu", [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
                   helper.make_node("Relu", ["c"], ["y"])],
     [x], [helper.make_tensor_value_info("y", f, ["N", 4, 8, 8])], [w])
shape = numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "shape")
save("reshape_gemm", [helper.make_node("Shape", ["x"], ["s"]),
                      helper.make_node("Reshape", ["x", "shape"], ["r"]),
                      helper.make_node("Softmax", ["r"], ["y"], axis=1)],
     [x], [helper.make_tensor_value_info("y", f, ["N", 192])], [shape])
with open(os.path.join(out, "tensor.pb"), "wb") as fh:
    fh.write(numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "t").SerializeToString())
