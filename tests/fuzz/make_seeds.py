#!/usr/bin/env python3
"""Writes the small ONNX seeds of tests/fuzz/corpus/{passes,codegen}: models whose
weights are inline initializers (the harnesses read no other file), each a few hundred
bytes, covering the default pipeline's passes (qdq, fold, bn_fold, cse, qchain, layout,
fuse, memplan). Deterministic: python3 tests/fuzz/make_seeds.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper as h, numpy_helper as nh

rng = np.random.default_rng(13)


def init(name, shape, dtype=np.float32, lo=-1.0, hi=1.0):
    if dtype == np.float32:
        a = rng.uniform(lo, hi, shape).astype(np.float32)
    else:
        a = rng.integers(lo, hi, shape).astype(dtype)
    return nh.from_array(a, name)


def save(out, name, nodes, inputs, outputs, inits, opset=17):
    g = h.make_graph(nodes, name, inputs, outputs, inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="slimc-seeds")
    m.ir_version = 8
    onnx.checker.check_model(m)
    open(os.path.join(out, name + ".onnx"), "wb").write(m.SerializeToString())


def f32(name, shape):
    return h.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def main(out):
    os.makedirs(out, exist_ok=True)
    # conv + batch norm + relu + pool + flatten + gemm: bn_fold, fuse, layout, memplan
    save(out, "conv_bn_gemm", [
        h.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        h.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"]),
        h.make_node("Relu", ["n"], ["r"]),
        h.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        h.make_node("Flatten", ["p"], ["f"]),
        h.make_node("Gemm", ["f", "gw", "gb"], ["y"], transB=1),
    ], [f32("x", ["N", 2, 4, 4])], [f32("y", ["N", 3])],
        [init("w", [4, 2, 3, 3]), init("b", [4]), init("s", [4], lo=0.5), init("bb", [4]),
         init("m", [4]), init("v", [4], lo=0.5, hi=1.5), init("gw", [3, 16]), init("gb", [3])])
    # QDQ: u8 activation, s8 weight with zero point 0: the qdq pass makes a qconv2d, and
    # qchain the QuantizeLinear after it
    save(out, "qdq_conv", [
        h.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        h.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
        h.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], axis=0),
        h.make_node("Conv", ["xd", "wd", "b"], ["c"]),
        h.make_node("Relu", ["c"], ["r"]),
        h.make_node("QuantizeLinear", ["r", "ys", "yz"], ["rq"]),
        h.make_node("DequantizeLinear", ["rq", "ys", "yz"], ["y"]),
    ], [f32("x", [1, 2, 5, 5])], [f32("y", [1, 3, 3, 3])],
        [nh.from_array(np.array(0.02, np.float32), "xs"), nh.from_array(np.array(128, np.uint8), "xz"),
         init("wq", [3, 2, 3, 3], np.int8, -127, 128), init("ws", [3], lo=0.001, hi=0.01),
         nh.from_array(np.zeros(3, np.int8), "wz"), init("b", [3]),
         nh.from_array(np.array(0.05, np.float32), "ys"), nh.from_array(np.array(0, np.uint8), "yz")])
    # two branches into a concat, a residual add and duplicate subexpressions: cse, fold
    save(out, "branches", [
        h.make_node("Conv", ["x", "w1"], ["a"]),
        h.make_node("Conv", ["x", "w1"], ["a2"]),
        h.make_node("Conv", ["x", "w2"], ["b"], pads=[1, 1, 1, 1]),
        h.make_node("Concat", ["a", "b"], ["c"], axis=1),
        h.make_node("Concat", ["a2", "b"], ["c2"], axis=1),
        h.make_node("Add", ["c", "c2"], ["s"]),
        h.make_node("Mul", ["k", "k"], ["kk"]),
        h.make_node("Mul", ["s", "kk"], ["y"]),
    ], [f32("x", [1, 2, 4, 4])], [f32("y", [1, 4, 4, 4])],
        [init("w1", [2, 2, 1, 1]), init("w2", [2, 2, 3, 3]), init("k", [1])])
    # attention-like: matmul, transpose, softmax, layer norm, reshape
    save(out, "attention", [
        h.make_node("MatMul", ["x", "wq"], ["q"]),
        h.make_node("MatMul", ["x", "wk"], ["k"]),
        h.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        h.make_node("MatMul", ["q", "kt"], ["s"]),
        h.make_node("Softmax", ["s"], ["p"], axis=-1),
        h.make_node("MatMul", ["p", "x"], ["o"]),
        h.make_node("LayerNormalization", ["o", "g", "be"], ["n"], axis=-1),
        h.make_node("Reshape", ["n", "shape"], ["y"]),
    ], [f32("x", [1, 4, 8])], [f32("y", [1, 32])],
        [init("wq", [8, 8]), init("wk", [8, 8]), init("g", [8]), init("be", [8]),
         nh.from_array(np.array([1, 32], np.int64), "shape")])
    # integer and index ops: Gather, Where, Cast, Slice, Pad, Expand
    save(out, "index", [
        h.make_node("Gather", ["x", "idx"], ["g"], axis=1),
        h.make_node("Greater", ["g", "zero"], ["m"]),
        h.make_node("Where", ["m", "g", "zero"], ["w"]),
        h.make_node("Slice", ["w", "st", "en", "ax"], ["sl"]),
        h.make_node("Pad", ["sl", "pads"], ["pd"]),
        h.make_node("Expand", ["pd", "es"], ["y"]),
    ], [f32("x", [2, 5])], [f32("y", [3, 2, 4])],
        [nh.from_array(np.array([4, 0, -1], np.int64), "idx"), nh.from_array(np.array(0.0, np.float32), "zero"),
         nh.from_array(np.array([0], np.int64), "st"), nh.from_array(np.array([2], np.int64), "en"),
         nh.from_array(np.array([1], np.int64), "ax"), nh.from_array(np.array([0, 0, 0, 2], np.int64), "pads"),
         nh.from_array(np.array([3, 2, 4], np.int64), "es")])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
