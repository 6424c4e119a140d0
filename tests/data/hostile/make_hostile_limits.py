#!/usr/bin/python3
"""Hostile inputs for slimc's resource limits (issue 13, item 5): tiny files that ask for
huge memory, huge files, and long op chains. The small ONNX files are committed beside
this script; the big ones are made at test time (tests/cli/hostile_limits.sh):

    python3 make_hostile_limits.py onehot DEPTH OUT.onnx     # OneHot folded to [1, DEPTH] f32
    python3 make_hostile_limits.py expand COUNT OUT.onnx     # Expand of a u8 scalar to [COUNT]
    python3 make_hostile_limits.py bigslim MB OUT.slim       # a .slim file of MB megabytes
    python3 make_hostile_limits.py chain N OUT.slim          # x -> relu -> ... (N ops) -> y
    python3 make_hostile_limits.py onnxchain N OUT.onnx      # N softmax (no fusion: N buffers)
    python3 make_hostile_limits.py convchain N OUT.onnx     # N x (Conv + BatchNormalization + Relu)
    python3 make_hostile_limits.py bnchain N OUT.onnx       # N x (Sigmoid + BatchNormalization)
    python3 make_hostile_limits.py nested N OUT.slim         # relu(relu(...(x)...)), N deep
    python3 make_hostile_limits.py npy SHAPE OUT.npy         # f32 zeros, SHAPE like 2x4
    python3 make_hostile_limits.py                           # the committed files, here

Committed: onehot_2_40.onnx (depth 2^40: 4 TiB of f32 from 117 bytes) and
expand_16g.onnx (16 Gi u8 elements)."""
import os
import sys

# numpy and onnx are imported by the generators that need them: the text ones start fast.

HERE = os.path.dirname(os.path.abspath(__file__))


def save(model, path):
    import onnx
    from onnx import helper
    model.ir_version = 8
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("", 13))
    onnx.save(model, path)


def onehot(depth, path):
    """Every input of the OneHot is a constant, so the importer folds it at load time."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    inits = [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "i"),
        numpy_helper.from_array(np.array(depth, dtype=np.int64), "d"),
        numpy_helper.from_array(np.array([0, 1], dtype=np.float32), "v"),
    ]
    node = helper.make_node("OneHot", ["i", "d", "v"], ["y"], name="onehot")
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    save(helper.make_model(helper.make_graph([node], "g", [], [out], inits)), path)


def expand(count, path):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    inits = [
        numpy_helper.from_array(np.array([7], dtype=np.uint8), "x"),
        numpy_helper.from_array(np.array([count], dtype=np.int64), "s"),
    ]
    node = helper.make_node("Expand", ["x", "s"], ["y"], name="expand")
    out = helper.make_tensor_value_info("y", TensorProto.UINT8, None)
    save(helper.make_model(helper.make_graph([node], "g", [], [out], inits)), path)


def chain_lines(n):
    yield "model chain(x: f32[N, 4]) -> f32[N, 4]\n"
    yield "    h0 = relu(x)\n"
    for i in range(1, n):
        yield "    h%d = relu(h%d)\n" % (i, i - 1)
    yield "    return h%d\n" % (n - 1)


def chain(n, path):
    with open(path, "w") as f:
        f.writelines(chain_lines(n))


def onnxchain(n, path):
    from onnx import TensorProto, helper
    nodes = [helper.make_node("Softmax", ["x" if i == 0 else "h%d" % (i - 1)],
                              ["y" if i == n - 1 else "h%d" % i], name="s%d" % i, axis=-1)
             for i in range(n)]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    save(helper.make_model(helper.make_graph(nodes, "g", [x], [y])), path)


def convchain(n, path):
    """n blocks of Conv 1x1 (2 channels) + BatchNormalization + Relu: bn_fold folds each
    batch norm into its conv, and every weight is a constant the emitter packs."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    nodes, inits, prev = [], [], "x"
    for i in range(n):
        inits.append(numpy_helper.from_array(rng.random((2, 2, 1, 1), dtype=np.float32), "w%d" % i))
        for k in "sbmv":
            inits.append(numpy_helper.from_array(rng.random(2, dtype=np.float32) + 0.5, "%s%d" % (k, i)))
        out = "y" if i == n - 1 else "r%d" % i
        nodes += [helper.make_node("Conv", [prev, "w%d" % i], ["c%d" % i]),
                  helper.make_node("BatchNormalization", ["c%d" % i] + ["%s%d" % (k, i) for k in "sbmv"],
                                   ["n%d" % i]),
                  helper.make_node("Relu", ["n%d" % i], [out])]
        prev = out
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 4, 4])
    save(helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits)), path)


def bnchain(n, path):
    """n blocks of Sigmoid + BatchNormalization (no conv to fold into): bn_fold lowers
    each batch norm to a mul and an add."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    inits = [numpy_helper.from_array(np.array([1.5, 0.75], dtype=np.float32), k) for k in "sbmv"]
    nodes, prev = [], "x"
    for i in range(n):
        out = "y" if i == n - 1 else "n%d" % i
        nodes += [helper.make_node("Sigmoid", [prev], ["r%d" % i]),
                  helper.make_node("BatchNormalization", ["r%d" % i, "s", "b", "m", "v"], [out])]
        prev = out
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 4, 4])
    save(helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits)), path)


def nested(n, path):
    with open(path, "w") as f:
        f.write("model nest(x: f32[N, 4]) -> f32[N, 4]\n    return ")
        f.write("relu(" * n + "x" + ")" * n + "\n")


def bigslim(mb, path):
    """A chain of mb megabytes: one megabyte of relu lines, written mb times (the names
    repeat, which only matters to a reader that gets past the file's size)."""
    chunk = "".join("    h%d = relu(h%d)\n" % (i + 1, i) for i in range(45000))
    block = chunk[: 1 << 20]
    block = block[: block.rindex("\n") + 1]
    with open(path, "w") as f:
        f.write("model big(x: f32[N, 4]) -> f32[N, 4]\n    h0 = relu(x)\n")
        for _ in range(mb):
            f.write(block)
        f.write("    return h1\n")


def npy(shape, path):
    import numpy as np
    dims = [int(s) for s in shape.split("x")] if shape else []
    np.save(path, np.zeros(dims, dtype=np.float32))


def main(argv):
    if len(argv) == 1:
        onehot(1 << 40, os.path.join(HERE, "onehot_2_40.onnx"))
        expand(16 << 30, os.path.join(HERE, "expand_16g.onnx"))
        return 0
    kind, arg, path = argv[1], argv[2], argv[3]
    fn = {"onehot": onehot, "expand": expand, "chain": chain, "onnxchain": onnxchain,
          "nested": nested, "bigslim": bigslim, "convchain": convchain, "bnchain": bnchain}.get(kind)
    if kind == "npy":
        npy(arg, path)
    elif fn:
        fn(int(arg), path)
    else:
        print("unknown kind " + kind, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
