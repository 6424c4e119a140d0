"""Makes the ONNX models of tests/cli/hostile_files.sh: y = x + w with x, w: f32[4] and w
stored as external data at a given location. The test places (or links) the data file.

    python3 make_files.py   # writes ext_link.onnx (location link.bin) and
                            # ext_subdir.onnx (location sub/w.bin) here
"""
import os

import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))


def model(location):
    w = TensorProto()
    w.name = "w"
    w.data_type = TensorProto.FLOAT
    w.dims.extend([4])
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "16")):
        e = w.external_data.add()
        e.key, e.value = k, v
    g = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"], name="add")],
        "ext",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        initializer=[w],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


for name, loc in (("ext_link.onnx", "link.bin"), ("ext_subdir.onnx", "sub/w.bin")):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(model(loc).SerializeToString())
