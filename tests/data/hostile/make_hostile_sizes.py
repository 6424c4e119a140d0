"""Makes the hostile-size reproducers of issue 13 item 2 (size arithmetic that wraps).

Each file is tiny; the sizes it declares are not. Run from this folder:
    python3 make_hostile_sizes.py
tests/cli/hostile_sizes.sh feeds them to `slimc inspect`, `slimc run` and a built executable.
"""
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper

I64_MAX = 2**63 - 1


def save(name, nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="")
    m.ir_version = 8
    onnx.save(m, name + ".onnx")


def vi(name, dtype, dims):
    return helper.make_tensor_value_info(name, dtype, dims)


def i64(name, vals):
    return helper.make_tensor(name, TensorProto.INT64, [len(vals)], vals)


# Trilu on a bool [2^31, 2^30]: the [R, C] mask's byte count (2^61 x 8 bits) wraps to 0,
# and ox_const_set writes the mask past a 1-byte buffer.
save("trilu_wrap", [helper.make_node("Trilu", ["x"], ["y"])],
     [vi("x", TensorProto.BOOL, [2**31, 2**30])], [vi("y", TensorProto.BOOL, None)])

# EyeLike of an f32 [2^32, 2^32]: the element count wraps to 0.
save("eyelike_wrap", [helper.make_node("EyeLike", ["x"], ["y"])],
     [vi("x", TensorProto.FLOAT, [2**32, 2**32])], [vi("y", TensorProto.FLOAT, None)])

# Expand a [1] to [2^61]: 2^63 bytes of f32.
save("expand_2_61", [helper.make_node("Expand", ["x", "s"], ["y"])],
     [vi("x", TensorProto.FLOAT, [1])], [vi("y", TensorProto.FLOAT, None)],
     [i64("s", [2**61])])

# A legitimate input [N, 4] and an output [N, 2^58]: fine at compile time (2^60 bytes
# per row of N), but N = 16 makes 2^62 elements, 2^64 bytes: wraps to 0 at run time.
save("big_output", [helper.make_node("Expand", ["x", "s"], ["y"])],
     [vi("x", TensorProto.FLOAT, ["N", 1])], [vi("y", TensorProto.FLOAT, None)],
     [i64("s", [1, 2**58])])

# Pad of a [2] by INT64_MAX in front: the output size wraps to -9223372036854775807.
save("pad_wrap", [helper.make_node("Pad", ["x", "p"], ["y"])],
     [vi("x", TensorProto.FLOAT, [2])], [vi("y", TensorProto.FLOAT, None)],
     [i64("p", [I64_MAX, 0])])

# A negative dimension on a graph input.
save("negative_dim", [helper.make_node("Relu", ["x"], ["y"])],
     [vi("x", TensorProto.FLOAT, [-5, 4])], [vi("y", TensorProto.FLOAT, None)])

# Reshape to a negative size other than -1.
save("reshape_negative", [helper.make_node("Reshape", ["x", "s"], ["y"])],
     [vi("x", TensorProto.FLOAT, [4])], [vi("y", TensorProto.FLOAT, None)],
     [i64("s", [-4, -1])])

# Tile of a [2] by 2^62 repeats.
save("tile_wrap", [helper.make_node("Tile", ["x", "r"], ["y"])],
     [vi("x", TensorProto.FLOAT, [2])], [vi("y", TensorProto.FLOAT, None)],
     [i64("r", [2**62])])

# Concat of two [2^62] i8: the sum of the axis dims wraps to -2^63.
save("concat_wrap", [helper.make_node("Concat", ["x", "x"], ["y"], axis=0)],
     [vi("x", TensorProto.INT8, [2**62])], [vi("y", TensorProto.INT8, None)])

# ConstantOfShape [2^40, 2^40]: the element count overflows while folding.
save("const_of_shape_wrap", [helper.make_node("ConstantOfShape", ["s"], ["y"])],
     [], [vi("y", TensorProto.FLOAT, None)], [i64("s", [2**40, 2**40])])

# An initializer whose dims multiply past INT64_MAX, with 4 bytes of raw data.
t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2**62, 4], raw_data=b"\0" * 4)
save("init_wrap", [helper.make_node("Add", ["x", "w"], ["y"])],
     [vi("x", TensorProto.FLOAT, [1])], [vi("y", TensorProto.FLOAT, None)], [t])

# A .npy f32 [1, 2^56 + 1, 64] holding 256 bytes: its byte count wraps to exactly 256.
shape = (1, 2**56 + 1, 64)
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d), }" % shape
header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
with open("npy_wrap.npy", "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(np.zeros(64, np.float32).tobytes())

# A small legitimate input [16, 1] for big_output.onnx.
np.save("n16.npy", np.ones((16, 1), np.float32))

# Conv with auto_pad SAME_UPPER and zero strides: the output size divided by the stride.
w = helper.make_tensor("w", TensorProto.FLOAT, [1, 1, 1, 1], [1.0])
save("conv_same_stride0", [helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER",
                                            strides=[0, 0])],
     [vi("x", TensorProto.FLOAT, [1, 1, 4, 4])], [vi("y", TensorProto.FLOAT, None)], [w])

# MaxPool with SAME_UPPER and dilations of 2^62: the window's reach overflows.
save("pool_same_dilation", [helper.make_node("MaxPool", ["x"], ["y"], auto_pad="SAME_UPPER",
                                             kernel_shape=[3, 3], dilations=[2**62, 2**62])],
     [vi("x", TensorProto.FLOAT, [1, 1, 4, 4])], [vi("y", TensorProto.FLOAT, None)])

# Resize by a scale of 1e300: the output size is no int64 (an undefined conversion).
save("resize_huge_scale", [helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest")],
     [vi("x", TensorProto.FLOAT, [1, 1, 4, 4])], [vi("y", TensorProto.FLOAT, None)],
     [helper.make_tensor("s", TensorProto.FLOAT, [4], [1, 1, 1e30, 1e30])])

# LpPool with SAME_UPPER and zero strides (the pool_nd path): a division by zero.
save("lppool_same_stride0", [helper.make_node("LpPool", ["x"], ["y"], auto_pad="SAME_UPPER",
                                              kernel_shape=[2, 2], strides=[0, 0])],
     [vi("x", TensorProto.FLOAT, [1, 1, 4, 4])], [vi("y", TensorProto.FLOAT, None)])
