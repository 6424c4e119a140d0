#!/usr/bin/python3
"""Writes the small .npy (and safetensors) reference files that tests/unit/test_npy.c and
tests/unit/test_safetensors.c read, with numpy itself (and the reference safetensors
library, with torch for bf16), so that the tests check slimc against the real writers.

    /usr/bin/python3 tests/data/make_npy.py            # .npy files (numpy)
    /usr/bin/python3 tests/data/make_npy.py --st       # also ref.safetensors (needs
                                                       # `pip install safetensors` and torch)

Element i (in C order) of each array is a formula of i that the C tests recompute:
    floats   i * 0.5 - 1
    ints     i * 37 - 50, wrapped to the type (two's complement)
    u8       (i * 37) % 256
    bool     i % 3 == 0
Outputs go to tests/data/npy/ and tests/data/ref.safetensors."""
import os
import sys

import numpy as np
from numpy.lib import format as npformat

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "npy")


def values(dtype, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    i = np.arange(n, dtype=np.int64)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        v = (i * 0.5 - 1).astype(dt)
    elif dt.kind == "b":
        v = (i % 3 == 0)
    elif dt.kind == "u":
        v = ((i * 37) % 256).astype(dt)
    else:
        v = (i * 37 - 50).astype(dt)  # numpy wraps like C's conversion
    return v.reshape(shape).astype(dt)


def save(name, arr, version=None):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        npformat.write_array(f, arr, version=version, allow_pickle=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    # Every dtype slimc reads, little-endian, as np.save writes them (version 1.0):
    # the C writer must produce these byte for byte.
    for code, shape in [("<f8", (2, 3)), ("<f4", (2, 3)), ("<f2", (4,)), ("<i8", (3,)),
                        ("<i4", (2, 2)), ("<i2", (5,)), ("|i1", (5,)), ("|u1", (5,)),
                        ("|b1", (7,))]:
        tag = code[1:]
        save("%s_%s.npy" % (tag, "x".join(map(str, shape))), values(code, shape))
    # Big-endian versions of the multi-byte types.
    for code in [">f8", ">f4", ">f2", ">i8", ">i4", ">i2"]:
        save("be_%s_2x3.npy" % code[1:], values(code, (2, 3)))
    # Shapes: 0-d, zero-size, rank 8.
    save("scalar_f8.npy", values("<f8", ()))
    save("empty_f4_0x3.npy", values("<f4", (0, 3)))
    save("rank8_i2.npy", values("<i2", (1, 2, 1, 2, 1, 2, 1, 3)))
    # Format versions 2.0 and 3.0.
    save("v2_f4_3.npy", values("<f4", (3,)), version=(2, 0))
    save("v3_f4_3.npy", values("<f4", (3,)), version=(3, 0))
    # bf16 as slimc stores it: the raw bits as '<u2' (numpy has no bf16).
    try:
        import torch
        t = torch.tensor([1.0, -2.5, 3.140625, 0.0]).to(torch.bfloat16)
        bits = t.view(torch.int16).numpy().view("<u2")
    except ImportError:
        bits = np.array([0x3F80, 0xC020, 0x4049, 0x0000], dtype="<u2")
    save("bf16_4.npy", bits)
    # What slimc refuses.
    save("fortran_f4_2x3.npy", np.asfortranarray(values("<f4", (2, 3))))
    save("struct.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
    save("object.npy", np.array([1, "x", None], dtype=object))
    save("unicode.npy", np.array(["ab", "c"]))
    save("complex.npy", np.zeros(2, dtype="<c8"))
    save("u4.npy", np.zeros(2, dtype="<u4"))

    if "--st" in sys.argv:
        make_safetensors()


def make_safetensors():
    import torch
    from safetensors.torch import save_file
    ts = {}
    for name, code, shape in [("w.f64", "<f8", (2, 3)), ("w.f32", "<f4", (2, 3)),
                              ("w.f16", "<f2", (3,)), ("w.i64", "<i8", (2,)),
                              ("w.i32", "<i4", (3,)), ("w.i16", "<i2", (3,)),
                              ("w.i8", "|i1", (5,)), ("w.u8", "|u1", (5,)),
                              ("w.bool", "|b1", (7,)), ("scalar", "<f4", ()),
                              ("empty", "<f4", (0, 4))]:
        ts[name] = torch.from_numpy(values(code, shape).copy())
    ts["w.bf16"] = torch.tensor([1.0, -2.5, 3.140625, 0.0]).to(torch.bfloat16)
    save_file(ts, os.path.join(HERE, "ref.safetensors"), metadata={"format": "pt", "k": "v\"\u00e9"})


if __name__ == "__main__":
    main()
