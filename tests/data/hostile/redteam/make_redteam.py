"""Hostile files for every ONNX op slimc's importer maps, and for its other readers (.npy,
safetensors, .slim), made the way the held-out files of issue 13 are: generic mutations
from each op's ONNX schema (ranks 0 and 9, empty and huge and negative dims, mixed dtypes,
attributes out of range or of the wrong type, hostile constant inputs, short tensor data,
external data past the end), plus hand-made ones for the other formats.

    python3 make_redteam.py sweep DIR     # every case (thousands) into DIR, for sweep.py
    python3 make_redteam.py               # the kept reproducers (KEEP) into this folder

The kept ones are the cases that found a bug (each fixed on sec-redteam); their inputs are
NAME.input.INPUT.npy and, where ONNX Runtime computes a result, NAME.ort.OUTPUT.npy.
tests/cli/hostile_redteam.sh runs slimc on every file here.
"""
import os
import re
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "..", "..")


def mapped_ops():
    """The ONNX op names the importer maps, read from frontend/onnx_ops*.c."""
    ops = set()
    fe = os.path.join(SRC, "frontend")
    for f in sorted(os.listdir(fe)):
        if not re.match(r"onnx_ops.*\.c$", f):
            continue
        s = open(os.path.join(fe, f)).read()
        for m in re.finditer(r"(?:_ops)\[\]\s*=\s*\{(.*?)\};", s, re.S):
            ops.update(re.findall(r'"([A-Z][A-Za-z]+)"', m.group(1)))
        ops.update(re.findall(r'strcmp\(op, "([A-Z][A-Za-z]+)"\)', s))
    return sorted(ops)


ONNX_OF = {"tensor(float)": T.FLOAT, "tensor(int64)": T.INT64, "tensor(int32)": T.INT32,
           "tensor(bool)": T.BOOL, "tensor(uint8)": T.UINT8, "tensor(int8)": T.INT8,
           "tensor(double)": T.DOUBLE, "tensor(float16)": T.FLOAT16, "tensor(string)": T.STRING}
NP_OF = {T.FLOAT: np.float32, T.INT64: np.int64, T.INT32: np.int32, T.BOOL: np.bool_,
         T.UINT8: np.uint8, T.INT8: np.int8, T.DOUBLE: np.float64, T.FLOAT16: np.float16}


def schema_of(op, at=None):
    """op's schema at opset `at` (the latest when None) and the opset to declare."""
    try:
        s = onnx.defs.get_schema(op, at or 25)
    except Exception:
        return None, 17
    return s, at if at else max(17, s.since_version)


def pick_type(s, formal):
    allowed = []
    for tc in s.type_constraints:
        if tc.type_param_str == formal.type_str:
            allowed = list(tc.allowed_type_strs)
    if not allowed:
        allowed = [formal.type_str]
    for pref in ("tensor(float)", "tensor(int64)", "tensor(int32)", "tensor(uint8)", "tensor(bool)"):
        if pref in allowed:
            return ONNX_OF[pref]
    for a in allowed:
        if a in ONNX_OF:
            return ONNX_OF[a]
    return T.FLOAT


def default_attr(a):
    t = a.type
    A = onnx.defs.OpSchema.AttrType
    if t == A.INT:
        return 1
    if t == A.INTS:
        return [1, 1]
    if t == A.FLOAT:
        return 1.0
    if t == A.FLOATS:
        return [1.0]
    if t == A.STRING:
        return ""
    if t == A.STRINGS:
        return [""]
    if t == A.TENSOR:
        return h.make_tensor("v", T.FLOAT, [1], [1.0])
    return None


def bare(name, dtype, dims):
    """A TensorProto with dims and no data (helper.make_tensor would try to allocate)."""
    t = onnx.TensorProto()
    t.name, t.data_type = name, dtype
    t.dims.extend(dims)
    return t


CASES = {}  # name -> (model bytes, feeds {name: array})


def feed_for(dtype, dims, rng):
    dims = [d if isinstance(d, int) and 0 <= d <= 64 else 2 for d in dims]
    npt = NP_OF.get(dtype, np.float32)
    if npt is np.bool_:
        return rng.integers(0, 2, dims).astype(np.bool_)
    if np.issubdtype(npt, np.integer):
        return rng.integers(0, 3, dims).astype(npt)
    return rng.standard_normal(dims).astype(npt)


def add(name, nodes, inputs, outputs, inits=(), opset=17, feeds=None, ir=8, raw=None):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="redteam")
    m.ir_version = ir
    if raw:
        raw(m)
    CASES[name] = (m.SerializeToString(), feeds or {})


def op_cases(op, rng, at=None):
    s, opset = schema_of(op, at)
    if s is None:
        return
    A = onnx.defs.OpSchema.AttrType
    formals = list(s.inputs)
    n_out = max(1, len(s.outputs))
    outs = [f"y{i}" for i in range(n_out)]
    req_attrs = {a.name: default_attr(a) for a in s.attributes.values() if a.required}
    req_attrs = {k: v for k, v in req_attrs.items() if v is not None}
    tag = op.lower() if at is None else f"{op.lower()}_o{at}"

    def model(name, shapes, attrs=None, dtypes=None, consts=None, n_in=None, onnx_ok=True):
        # shapes: one dims list per formal input used; consts: index -> TensorProto initializer
        nin = n_in if n_in is not None else len(formals)
        ins, inits, feeds, names = [], [], {}, []
        for i in range(nin):
            f = formals[min(i, len(formals) - 1)]
            nm = f"x{i}"
            names.append(nm)
            dt = (dtypes or {}).get(i, pick_type(s, f))
            if consts and i in consts:
                c = consts[i]
                c.name = nm
                inits.append(c)
                continue
            dims = shapes[min(i, len(shapes) - 1)]
            ins.append(h.make_tensor_value_info(nm, dt, dims))
            feeds[nm] = feed_for(dt, dims, rng)
        a = dict(req_attrs)
        a.update(attrs or {})
        node = h.make_node(op, names, outs, name=f"{tag}0")
        for k, v in a.items():
            if isinstance(v, list) and not v:
                node.attribute.append(onnx.AttributeProto(name=k, type=onnx.AttributeProto.INTS))
            elif isinstance(v, onnx.AttributeProto):
                v.name = k
                node.attribute.append(v)
            else:
                node.attribute.append(h.make_attribute(k, v))
        add(f"op_{tag}_{name}", [node], ins, [h.make_tensor_value_info(o, 0, None) for o in outs],
            inits, opset, feeds)

    n_req = sum(1 for f in formals if f.option != onnx.defs.OpSchema.FormalParameterOption.Optional)
    n_req = max(n_req, 1) if formals else 0
    if not formals:  # Constant, windows with only attributes ...
        model("base", [[2]], n_in=0)
        for k, a in s.attributes.items():
            for vn, v in attr_mutations(a):
                model(f"a_{k}_{vn}", [[2]], {k: v}, n_in=0)
        return
    for nin, suffix in ((n_req, ""), (len(formals), "_all")):
        if suffix and nin == n_req:
            continue
        model("base" + suffix, [[2, 3, 4, 5]], n_in=nin)
        model("rank0" + suffix, [[]], n_in=nin)
        model("rank1" + suffix, [[3]], n_in=nin)
        model("rank9" + suffix, [[1, 1, 1, 1, 1, 1, 1, 2, 3]], n_in=nin)
        model("zero" + suffix, [[2, 0, 3, 4]], n_in=nin)
        model("zero1" + suffix, [[0]], n_in=nin)
        model("huge" + suffix, [[1 << 40, 1 << 40]], n_in=nin)
        model("neg" + suffix, [[-5, 3]], n_in=nin)
        model("bigrank" + suffix, [[1] * 40], n_in=nin)
    # mixed dtypes across inputs
    if len(formals) >= 2:
        model("mixdt", [[2, 3]], dtypes={0: T.FLOAT, 1: T.INT32}, n_in=n_req if n_req >= 2 else 2)
        model("mixdt2", [[2, 3]], dtypes={0: T.INT32, 1: T.FLOAT}, n_in=n_req if n_req >= 2 else 2)
        model("f64", [[2, 3]], dtypes={i: T.DOUBLE for i in range(len(formals))}, n_in=n_req)
    model("str", [[2, 3]], dtypes={0: T.STRING}, n_in=max(n_req, 1))
    # hostile constants in every non-first input
    hostile_ints = {"min": [-(1 << 63)], "max": [(1 << 63) - 1], "big": [1 << 40], "neg": [-7],
                    "zero": [0], "empty": [], "long": [3] * 40, "mixed": [1 << 62, -(1 << 62)]}
    for i in range(1, len(formals)):
        for vn, vals in hostile_ints.items():
            c = h.make_tensor("c", T.INT64, [len(vals)], vals)
            model(f"c{i}_{vn}", [[2, 3, 4]], consts={i: c})
        for vn, vals in {"nan": [float("nan")], "inf": [float("inf")], "ninf": [-float("inf")],
                         "big": [1e30], "neg": [-3.0]}.items():
            c = h.make_tensor("c", T.FLOAT, [len(vals)], vals)
            model(f"cf{i}_{vn}", [[2, 3, 4]], consts={i: c})
        # tensor data that lies about its size
        c = h.make_tensor("c", T.INT64, [4], [1, 2, 3, 4])
        c.ClearField("int64_data")
        c.raw_data = b"\x01" * 5
        model(f"c{i}_shortraw", [[2, 3, 4]], consts={i: c})
        c = bare("c", T.INT64, [1 << 40])
        model(f"c{i}_nodata", [[2, 3, 4]], consts={i: c})
        c = bare("c", T.INT64, [-1])
        model(f"c{i}_negdims", [[2, 3, 4]], consts={i: c})
        c = h.make_tensor("c", T.INT32, [3], [1, 2, 3])
        c.data_type = T.INT64
        model(f"c{i}_int32field", [[2, 3, 4]], consts={i: c})
        c = h.make_tensor("c", T.FLOAT, [3], [1.0, 2.0])
        model(f"c{i}_fcount", [[2, 3, 4]], consts={i: c})
        c = h.make_tensor("c", T.INT64, [3, 0], [])
        model(f"c{i}_empty2d", [[2, 3, 4]], consts={i: c})
        c = h.make_tensor("c", T.INT64, [], [1 << 62])
        model(f"c{i}_scalarbig", [[2, 3, 4]], consts={i: c})
    # attributes: out of range, wrong types, extra
    for k, a in s.attributes.items():
        for vn, v in attr_mutations(a):
            model(f"a_{k}_{vn}", [[2, 3, 4, 5]], {k: v})
    model("extra_attr", [[2, 3]], {"bogus_attr": 3})
    model("dup_attr", [[2, 3]], {"axis": 0, "axis_": 0})
    # wrong input counts
    model("noin", [[2, 3]], n_in=0)
    model("toomany", [[2, 3]], n_in=len(formals) + 3)


def attr_mutations(a):
    A = onnx.defs.OpSchema.AttrType
    t = a.type
    out = []
    if t == A.INT:
        out += [("p100", 100), ("m100", -100), ("big", 1 << 62), ("min", -(1 << 63)), ("zero", 0),
                ("neg1", -1)]
    if t == A.INTS:
        out += [("empty", []), ("big", [1 << 62] * 4), ("neg", [-3] * 4), ("zeros", [0] * 4),
                ("long", [1] * 30), ("min", [-(1 << 63)] * 2)]
    if t == A.FLOAT:
        out += [("nan", float("nan")), ("inf", float("inf")), ("neg", -1e30), ("zero", 0.0)]
    if t == A.FLOATS:
        out += [("empty", []), ("nan", [float("nan")] * 3)]
    if t == A.STRING:
        out += [("bogus", "bogus"), ("empty", ""), ("long", "x" * 5000)]
    if t == A.TENSOR:
        out += [("empty", h.make_tensor("v", T.FLOAT, [0], [])),
                ("big", bare("v", T.FLOAT, [1 << 40])),
                ("str", h.make_tensor("v", T.STRING, [1], [b"a"]))]
    # wrong type: swap the kind
    wrong = {A.INT: ("asfloat", 1.5), A.FLOAT: ("asint", 3), A.INTS: ("asint", 2),
             A.FLOATS: ("asfloat", 1.5), A.STRING: ("asint", 1), A.TENSOR: ("asint", 4)}
    if t in wrong:
        out.append(wrong[t])
    if t in (A.INT, A.INTS, A.FLOAT):
        out.append(("astensor", h.make_tensor("v", T.INT64, [2], [1, 2])))
        out.append(("asstring", "abc"))
    # a graph where something else is expected
    g = h.make_graph([], "sub", [], [])
    out.append(("asgraph", g))
    return out


def model_cases(rng):
    x = lambda n, d=(2, 3), t=T.FLOAT: h.make_tensor_value_info(n, t, list(d))
    y = h.make_tensor_value_info("y", 0, None)
    f23 = {"x": rng.standard_normal((2, 3)).astype(np.float32)}
    relu = [h.make_node("Relu", ["x"], ["y"], name="r")]
    # opsets
    for vn, ops in {"none": [], "huge": [h.make_opsetid("", 1 << 40)], "neg": [h.make_opsetid("", -3)],
                    "dom": [h.make_opsetid("com.evil" * 100, 17)],
                    "twice": [h.make_opsetid("", 7), h.make_opsetid("", 25)],
                    "ai": [h.make_opsetid("ai.onnx", 17)]}.items():
        g = h.make_graph(relu, "g", [x("x")], [y])
        m = h.make_model(g, opset_imports=ops)
        m.ir_version = 8
        CASES[f"m_opset_{vn}"] = (m.SerializeToString(), f23)
    # a node in another domain
    n = h.make_node("Relu", ["x"], ["y"], domain="com.microsoft", name="r")
    add("m_domain_node", [n], [x("x")], [y], feeds=f23)
    # nested graphs: If / Loop / Scan (bodies hostile too)
    then = h.make_graph([h.make_node("Relu", ["x"], ["t"])], "then", [], [x("t")])
    els = h.make_graph([h.make_node("Neg", ["x"], ["e"])], "else", [], [x("e")])
    cond = h.make_tensor("c", T.BOOL, [], [True])
    add("m_if", [h.make_node("If", ["c"], ["y"], then_branch=then, else_branch=els)], [x("x")],
        [y], [cond], feeds=f23)
    rec = then
    for i in range(25):
        rec = h.make_graph([h.make_node("If", ["c"], [f"t{i}"], then_branch=rec, else_branch=els)],
                           f"g{i}", [], [x(f"t{i}")])
    add("m_if_deep", [h.make_node("If", ["c"], ["y"], then_branch=rec, else_branch=els)], [x("x")],
        [y], [cond], feeds=f23)
    body = h.make_graph([h.make_node("Identity", ["cin"], ["cout"])], "body",
                        [x("i", [], T.INT64), x("cin", [], T.BOOL)], [x("cout", [], T.BOOL)])
    add("m_loop", [h.make_node("Loop", ["", ""], [], body=body)], [x("x")], [y], feeds=f23)
    add("m_scan", [h.make_node("Scan", ["x"], ["y"], body=body, num_scan_inputs=1)], [x("x")], [y],
        feeds=f23)
    # value_info contradicting the real shapes
    vi = h.make_tensor_value_info("t", T.FLOAT, [7, 7, 7])
    g = h.make_graph([h.make_node("Relu", ["x"], ["t"]), h.make_node("Neg", ["t"], ["y"])], "g",
                     [x("x")], [h.make_tensor_value_info("y", T.FLOAT, [9])], value_info=[vi])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    CASES["m_value_info_lies"] = (m.SerializeToString(), f23)
    vi = h.make_tensor_value_info("t", T.INT64, [-1, 1 << 62])
    g = h.make_graph([h.make_node("Relu", ["x"], ["t"]), h.make_node("Neg", ["t"], ["y"])], "g",
                     [x("x")], [h.make_tensor_value_info("y", T.FLOAT, [-9])], value_info=[vi])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    CASES["m_value_info_neg"] = (m.SerializeToString(), f23)
    # external data
    for vn, kv in {"past_end": {"location": "w.bin", "offset": "1000000", "length": "24"},
                   "neg_off": {"location": "w.bin", "offset": "-8", "length": "24"},
                   "neg_len": {"location": "w.bin", "offset": "0", "length": "-24"},
                   "huge_len": {"location": "w.bin", "offset": "0", "length": str(1 << 62)},
                   "wrap": {"location": "w.bin", "offset": str((1 << 64) - 8), "length": "24"},
                   "nonnum": {"location": "w.bin", "offset": "12abc", "length": "24"},
                   "short_len": {"location": "w.bin", "offset": "0", "length": "4"},
                   "dir": {"location": ".", "offset": "0"},
                   "self": {"location": "m_ext_self.onnx"},
                   "empty_loc": {"location": ""},
                   "no_loc": {"offset": "0"},
                   "nul": {"location": "w.bin\0evil"},
                   "dev": {"location": "/dev/zero"},
                   "proc": {"location": "../../../../proc/self/environ"}}.items():
        w = h.make_tensor("w", T.FLOAT, [2, 3], [0.0] * 6)
        w.ClearField("float_data")
        w.data_location = T.EXTERNAL
        for k, v in kv.items():
            e = w.external_data.add()
            e.key, e.value = k, v
        add(f"m_ext_{vn}", [h.make_node("Add", ["x", "w"], ["y"])], [x("x")], [y], [w], feeds=f23)
    # initializer dtypes the importer may not expect
    for dt in (T.STRING, T.COMPLEX64, T.BFLOAT16, T.FLOAT8E4M3FN, T.UINT64, T.INT4, 999):
        w = onnx.TensorProto()
        w.name, w.data_type = "w", dt
        w.dims.extend([2, 3])
        w.raw_data = b"\x00" * 6
        add(f"m_init_dt{dt}", [h.make_node("Add", ["x", "w"], ["y"])], [x("x")], [y], [w], feeds=f23)
    # graph inputs that are also initializers, with other shapes
    w = h.make_tensor("x", T.FLOAT, [4], [1, 2, 3, 4])
    add("m_input_is_init", relu, [x("x")], [y], [w], feeds=f23)
    # graph with an output nobody writes, a cycle, an input used twice
    add("m_out_unwritten", relu, [x("x")], [y, h.make_tensor_value_info("zz", T.FLOAT, [2])],
        feeds=f23)
    add("m_cycle", [h.make_node("Relu", ["b"], ["a"]), h.make_node("Neg", ["a"], ["b"]),
                    h.make_node("Add", ["a", "x"], ["y"])], [x("x")], [y], feeds=f23)
    add("m_self_loop", [h.make_node("Relu", ["y"], ["y"])], [x("x")], [y], feeds=f23)
    add("m_no_nodes", [], [x("x")], [h.make_tensor_value_info("x", T.FLOAT, [2, 3])], feeds=f23)
    add("m_dup_input", [h.make_node("Add", ["x", "x"], ["y"])], [x("x"), x("x", (4,))], [y],
        feeds=f23)
    add("m_empty_names", [h.make_node("Relu", [""], [""])], [x("")], [h.make_tensor_value_info("", 1, None)],
        feeds={})
    # big chains (time): 30k Relu
    nodes = [h.make_node("Relu", [f"v{i}" if i else "x"], [f"v{i + 1}"]) for i in range(30000)]
    nodes.append(h.make_node("Identity", ["v30000"], ["y"]))
    add("m_chain30k", nodes, [x("x")], [y], feeds=f23)
    # a fan: one value read by 20k nodes then summed
    nodes = [h.make_node("Relu", ["x"], [f"v{i}"]) for i in range(5000)]
    nodes.append(h.make_node("Sum", [f"v{i}" for i in range(5000)], ["y"]))
    add("m_fan5k", nodes, [x("x")], [y], feeds=f23)
    # truncated protobufs
    good = CASES["op_relu_base"][0] if "op_relu_base" in CASES else b""
    for cut in (1, 7, 20, 41):
        CASES[f"m_trunc{cut}"] = (good[:cut], {})
    CASES["m_garbage"] = (bytes(range(256)) * 4, {})
    # a varint length that claims 2^62 bytes
    CASES["m_huge_len"] = (b"\x3a" + b"\xff" * 8 + b"\x3f", {})


def npy_bytes(descr, fortran, shape, data=b"", header_pad=0, raw_header=None):
    hd = raw_header or ("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, fortran, shape))
    hd = hd + " " * header_pad
    hd = hd + " " * ((64 - (10 + len(hd) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hd) & 0xFFFF) + hd.encode() + data


def npy_cases():
    """.npy inputs for a Relu of f32[2, 3]: NAME -> bytes."""
    d6 = np.arange(6, dtype=np.float32).tobytes()
    return {
        "npy_i4": npy_bytes("<i4", False, "(2, 3)", d6),
        "npy_f8": npy_bytes("<f8", False, "(2, 3)", d6 * 2),
        "npy_be": npy_bytes(">f4", False, "(2, 3)", d6),
        "npy_u1": npy_bytes("|u1", False, "(2, 3)", b"\x00" * 6),
        "npy_obj": npy_bytes("|O", False, "(2, 3)", d6),
        "npy_str": npy_bytes("<U3", False, "(2, 3)", d6 * 3),
        "npy_complex": npy_bytes("<c8", False, "(2, 3)", d6 * 2),
        "npy_bool": npy_bytes("|b1", False, "(2, 3)", b"\x01" * 6),
        "npy_fortran": npy_bytes("<f4", True, "(2, 3)", d6),
        "npy_shape": npy_bytes("<f4", False, "(3, 2)", d6),
        "npy_shape_rank": npy_bytes("<f4", False, "(6,)", d6),
        "npy_scalar": npy_bytes("<f4", False, "()", d6[:4]),
        "npy_trunc": npy_bytes("<f4", False, "(2, 3)", d6[:10]),
        "npy_extra": npy_bytes("<f4", False, "(2, 3)", d6 + b"\x00" * 100),
        "npy_huge": npy_bytes("<f4", False, "(4611686018427387904, 4)", d6),
        "npy_wrap": npy_bytes("<f4", False, "(1, 72057594037927937, 64)", b"\x00" * 256),
        "npy_neg": npy_bytes("<f4", False, "(-2, -3)", d6),
        "npy_zero": npy_bytes("<f4", False, "(0, 3)", b""),
        "npy_rank40": npy_bytes("<f4", False, "(" + "1, " * 40 + ")", d6[:4]),
        "npy_bighdr": npy_bytes("<f4", False, "(2, 3)", d6, header_pad=60000),
        "npy_badhdr": npy_bytes("", False, "", d6, raw_header="{'descr': '<f4', 'shape': (2, 3"),
        "npy_hdrlen": b"\x93NUMPY\x01\x00\xff\xff{" + b" " * 50,
        "npy_v2": b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{",
        "npy_v3": b"\x93NUMPY\x03\x00" + struct.pack("<I", 70) + b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".ljust(69) + b"\n" + d6,
        "npy_v9": b"\x93NUMPY\x09\x00" + struct.pack("<H", 70) + b"{}" + b" " * 67 + b"\n",
        "npy_nul": npy_bytes("<f4\0", False, "(2, 3)", d6),
        "npy_shape_text": npy_bytes("<f4", False, "(2, 3, 'a')", d6),
        "npy_shape_bigint": npy_bytes("<f4", False, "(99999999999999999999999, 3)", d6),
        "npy_dup_keys": npy_bytes("", False, "", d6, raw_header=
                                  "{'descr': '<f4', 'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }"),
        "npy_empty": b"",
        "npy_magic": b"\x93NUMP",
    }


def st_bytes(header, data=b"", hlen=None):
    hb = header.encode() if isinstance(header, str) else header
    return struct.pack("<Q", len(hb) if hlen is None else hlen) + hb + data


def st_cases():
    """safetensors weights for the .slim model sl_base_w (fc = Linear(3, 3), bias: fc.weight
    f32[3, 3] and fc.bias f32[3]); NAME -> bytes."""
    d = np.arange(12, dtype=np.float32).tobytes()
    W = '"fc.weight":{"dtype":"F32","shape":[3,3],"data_offsets":[0,36]}'
    B = '"fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[36,48]}'

    def w(spec, extra=""):
        return "{" + '"fc.weight":' + spec + "," + B + extra + "}"
    return {
        "st_ok": st_bytes("{" + W + "," + B + "}", d),
        "st_past_end": st_bytes(w('{"dtype":"F32","shape":[3,3],"data_offsets":[0,3600]}'), d),
        "st_overlap": st_bytes(w('{"dtype":"F32","shape":[3,3],"data_offsets":[12,48]}'), d),
        "st_reversed": st_bytes(w('{"dtype":"F32","shape":[3,3],"data_offsets":[36,0]}'), d),
        "st_count": st_bytes(w('{"dtype":"F32","shape":[3,3],"data_offsets":[0,32]}'), d),
        "st_dtype": st_bytes(w('{"dtype":"I32","shape":[3,3],"data_offsets":[0,36]}'), d),
        "st_dtype_f16": st_bytes(w('{"dtype":"F16","shape":[3,3],"data_offsets":[0,18]}'), d),
        "st_badtype": st_bytes(w('{"dtype":"Q99","shape":[3,3],"data_offsets":[0,36]}'), d),
        "st_shape_neg": st_bytes(w('{"dtype":"F32","shape":[-3,-3],"data_offsets":[0,36]}'), d),
        "st_shape_huge": st_bytes(w('{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}'), d),
        "st_shape_wrap": st_bytes(w('{"dtype":"F32","shape":[1,72057594037927937,64],"data_offsets":[0,256]}'), d * 11),
        "st_dup": st_bytes("{" + W + "," + W.replace("36]", "4]").replace("[3,3]", "[1]") + "," + B + "}", d),
        "st_hlen_huge": st_bytes('{}', d, hlen=1 << 62),
        "st_hlen_wrap": st_bytes('{}', d, hlen=(1 << 64) - 4),
        "st_hlen_short": st_bytes("{" + W + "," + B + "}", d, hlen=10),
        "st_offsets_huge": st_bytes(w('{"dtype":"F32","shape":[3,3],"data_offsets":[18446744073709551600,18446744073709551636]}'), d),
        "st_offsets_wrap": st_bytes(w('{"dtype":"F32","shape":[3,3],"data_offsets":[9223372036854775800,9223372036854775836]}'), d),
        "st_offsets_float": st_bytes(w('{"dtype":"F32","shape":[3,3],"data_offsets":[0.5,36]}'), d),
        "st_offsets_str": st_bytes(w('{"dtype":"F32","shape":[3,3],"data_offsets":["0","36"]}'), d),
        "st_offsets_one": st_bytes(w('{"dtype":"F32","shape":[3,3],"data_offsets":[0]}'), d),
        "st_offsets_neg": st_bytes(w('{"dtype":"F32","shape":[3,3],"data_offsets":[-36,0]}'), d),
        "st_deep": st_bytes('{"x":' + "[" * 100000 + "]" * 100000 + "," + W + "," + B + "}", d),
        "st_deep_obj": st_bytes('{"__metadata__":' + '{"a":' * 50000 + "1" + "}" * 50000 + "," + W + "," + B + "}", d),
        "st_nul_key": st_bytes('{"fc.weight\\u0000x":{"dtype":"F32","shape":[3,3],"data_offsets":[0,36]},' + B + "}", d),
        "st_meta_obj": st_bytes('{"__metadata__":{"a":{"b":1}},' + W + "," + B + "}", d),
        "st_rank40": st_bytes(w('{"dtype":"F32","shape":[' + ",".join(["1"] * 40) + '],"data_offsets":[0,4]}'), d),
        "st_bad_utf8": st_bytes(b'{"fc.weight\xff":{"dtype":"F32","shape":[3,3],"data_offsets":[0,36]},' + B.encode() + b"}", d),
        "st_numbig": st_bytes(w('{"dtype":"F32","shape":[3,3],"data_offsets":[0,1e999]}'), d),
        "st_shape_big_num": st_bytes(w('{"dtype":"F32","shape":[99999999999999999999999,3],"data_offsets":[0,36]}'), d),
        "st_empty": b"",
        "st_trunc": b"\x10\x00\x00",
        "st_not_json": st_bytes("\x00\x01\x02" * 10, d),
    }


def slim_cases():
    """.slim texts NAME -> text. Weights: W.safetensors beside them (from st_ok)."""
    big = "9" * 400
    hd = "model m(x: f32[2, 3]) -> y: f32[2, 3]\n"

    def body(expr, head=hd, extra=""):
        return head + extra + "    return " + expr + "\n"
    return {
        "sl_base": body("relu(x)"),
        "sl_base_w": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(3, 3)\n'),
        "sl_deep_paren": body("(" * 100000 + "x" + ")" * 100000),
        "sl_deep_call": body("relu(" * 20000 + "x" + ")" * 20000),
        "sl_deep_neg": body("-" * 100000 + "x"),
        "sl_deep_list": body("reshape(x, " + "[" * 50000 + "6" + "]" * 50000 + ")"),
        "sl_long_expr": body(" + ".join(["x"] * 60000)),
        "sl_bigint": body("relu(x)", head="model m(x: f32[2, %s]) -> y: f32[2, 3]\n" % big),
        "sl_bigint_arg": body("softmax(x, axis=%s)" % big),
        "sl_negdim": body("relu(x)", head="model m(x: f32[2, -3]) -> y: f32[2, -3]\n"),
        "sl_zerodim": body("relu(x)", head="model m(x: f32[2, 0]) -> y: f32[2, 0]\n"),
        "sl_hugedim": body("relu(x)", head="model m(x: f32[4611686018427387904, 4]) -> f32[4611686018427387904, 4]\n"),
        "sl_wrapdim": body("relu(x)", head="model m(x: f32[1, 72057594037927937, 64]) -> f32[1, 72057594037927937, 64]\n"),
        "sl_symwrap": body("relu(x)", head="model m(x: f32[N*72057594037927937*64]) -> f32[N*72057594037927937*64]\n"),
        "sl_dimexpr": body("relu(x)", head="model m(x: f32[3037000500*3037000500]) -> f32[3037000500*3037000500]\n"),
        "sl_dimneg_expr": body("relu(x)", head="model m(x: f32[2-5]) -> f32[2-5]\n"),
        "sl_dimdiv0": body("relu(x)", head="model m(x: f32[2//0]) -> f32[2]\n"),
        "sl_dimmod0": body("relu(x)", head="model m(x: f32[2%0]) -> f32[2]\n"),
        "sl_intmin_div": body("relu(x)", head="model m(x: f32[(-9223372036854775807-1)//-1]) -> f32[2]\n"),
        "sl_rank9": body("relu(x)", head="model m(x: f32[" + ", ".join(["1"] * 9) + "]) -> f32[" + ", ".join(["1"] * 9) + "]\n"),
        "sl_rank40": body("relu(x)", head="model m(x: f32[" + ", ".join(["1"] * 40) + "]) -> f32[" + ", ".join(["1"] * 40) + "]\n"),
        "sl_syms20": body("relu(x)", head="model m(x: f32[" + ", ".join(f"S{i}" for i in range(8)) + "], z: f32[" + ", ".join(f"T{i}" for i in range(8)) + "], q: f32[" + ", ".join(f"U{i}" for i in range(8)) + "]) -> f32[S0]\n"),
        "sl_unknown_op": body("evil_op(x)"),
        "sl_unknown_mod": body("m2(x)", extra="    m2 = EvilModule(3)\n"),
        "sl_linear_neg": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(-3, 3)\n'),
        "sl_linear_huge": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(4611686018427387904, 4611686018427387904)\n'),
        "sl_conv_zero": body("c(x)", head="model m(x: f32[1, 3, 4, 4]) -> f32[1, 3, 4, 4]\n", extra='    weights "W.safetensors"\n    c = Conv2d(3, 3, 0)\n'),
        "sl_conv_stride0": body("c(x)", head="model m(x: f32[1, 3, 4, 4]) -> f32[1, 3, 4, 4]\n", extra='    weights "W.safetensors"\n    c = Conv2d(3, 3, 1, stride=0)\n'),
        "sl_weights_dir": body("fc(x)", extra='    weights "."\n    fc = Linear(3, 3)\n'),
        "sl_weights_fifo": body("fc(x)", extra='    weights "fifo"\n    fc = Linear(3, 3)\n'),
        "sl_weights_self": body("fc(x)", extra='    weights "sl_weights_self.slim"\n    fc = Linear(3, 3)\n'),
        "sl_weights_passwd": body("fc(x)", extra='    weights "/etc/passwd"\n    fc = Linear(3, 3)\n'),
        "sl_weights_devzero": body("fc(x)", extra='    weights "/dev/zero"\n    fc = Linear(3, 3)\n'),
        "sl_weights_nul": body("fc(x)", extra='    weights "W.safetensors\0x"\n    fc = Linear(3, 3)\n'),
        "sl_weights_twice": body("fc(x)", extra='    weights "W.safetensors"\n    weights "W.safetensors"\n    fc = Linear(3, 3)\n'),
        "sl_prune": body("relu(x)") + "compress m\n    prune(0.5)\n",
        "sl_prune_args": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(3, 3)\n') + "compress m\n    prune(fc, method=l1_unstructured, amount=150%)\n",
        "sl_prune_neg": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(3, 3)\n') + "compress m\n    prune(fc, amount=-1e999)\n",
        "sl_quant_missing": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(3, 3)\n') + 'compress m\n    quantize(int8, calibrate="nonexistent.npy")\n',
        "sl_quant_fifo": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(3, 3)\n') + 'compress m\n    quantize(int8, calibrate="fifo")\n',
        "sl_quant_dir": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(3, 3)\n') + 'compress m\n    quantize(int8, calibrate=".")\n',
        "sl_quant_self": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(3, 3)\n') + 'compress m\n    quantize(int8, calibrate="sl_quant_self.slim")\n',
        "sl_quant_calib_bad": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(3, 3)\n') + 'compress m\n    quantize(int8, calibrate="npy_shape.npy")\n',
        "sl_quant_calib_wrap": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(3, 3)\n') + 'compress m\n    quantize(int8, calibrate="npy_wrap.npy")\n',
        "sl_quant_calib_zero": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(3, 3)\n') + 'compress m\n    quantize(int8, calibrate="npy_zero.npy")\n',
        "sl_quant_calib_i4": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(3, 3)\n') + 'compress m\n    quantize(int8, calibrate="npy_i4.npy")\n',
        "sl_quant_badargs": body("relu(x)") + "compress m\n    quantize(int99, calibrate=3, method=percentile(1e999), bogus=1)\n",
        "sl_quant_pct": body("fc(x)", extra='    weights "W.safetensors"\n    fc = Linear(3, 3)\n') + 'compress m\n    quantize(int8, calibrate="calib.npy", method=percentile(-5))\n',
        "sl_compress_deep": body("relu(x)") + "compress m\n    quantize(" + "f(" * 20000 + ")" * 20000 + ")\n",
        "sl_compress_deep300": body("relu(x)") + "compress m\n    quantize(" + "f(" * 300 + ")" * 300 + ")\n",
        "sl_compress_other": body("relu(x)") + "compress nope\n    fold\n",
        "sl_compress_twice": body("relu(x)") + "compress m\n    fold\ncompress m\n    dce\n",
        "sl_nul": body("relu(x)\0"),
        "sl_unterminated": hd + '    return "' + "a" * 10000,
        "sl_long_ident": hd + "    " + "a" * 200000 + " = relu(x)\n    return relu(x)\n",
        "sl_many_errors": hd + "    y = nope(x)\n" * 20000 + "    return x\n",
        "sl_axis_min": body("softmax(x, axis=-9223372036854775807-1)"),
        "sl_axis_big": body("softmax(x, axis=9223372036854775807)"),
        "sl_reshape_neg": body("reshape(x, -1, -1)"),
        "sl_reshape_neg2": body("reshape(x, -2, 3)"),
        "sl_reshape_big": body("reshape(x, 4611686018427387904, 4)"),
        "sl_reshape_zero": body("reshape(x, 0, 6)"),
        "sl_reshape_wrap": body("reshape(x, 2, 3, 3074457345618258603, 3)"),
        "sl_sym_clash": body("relu(x)", head="model m(x: f32[N, N]) -> f32[N, N]\n"),
        "sl_float_huge": body("x * 1e999"),
        "sl_int_mul_wrap": body("x * (9223372036854775807 * 2)"),
        "sl_int_neg_min": body("x * -(-9223372036854775807-1)"),
        "sl_int_div_min": body("x * ((-9223372036854775807-1) // -1)"),
        "sl_int_mod_min": body("x * ((-9223372036854775807-1) % -1)"),
        "sl_int_div0": body("x * (1 // 0)"),
        "sl_shift": body("x * (1 << 70)"),
        "sl_block_deep": "".join(f"block B{i}\n    b = B{i + 1}()\n    forward(x)\n        return b(x)\n" for i in range(100)) + "block B100\n    forward(x)\n        return relu(x)\n" + body("b(x)", extra="    b = B0()\n"),
        "sl_block_self": "block B\n    b = B()\n    forward(x)\n        return b(x)\n" + body("b(x)", extra="    b = B()\n"),
        "sl_block_wide": "block B(n)\n    forward(x)\n        return relu(x)\n" + body("x", extra="".join(f"    b{i} = B({i})\n" for i in range(30000))),
        "sl_expand_huge": body("expand(x, 1099511627776, 1099511627776, 3)"),
        "sl_slice": body("x[9223372036854775807:-9223372036854775807-1]"),
        "sl_index_neg": body("x[-9223372036854775807-1]"),
        "sl_transpose": body("transpose(x, 5, -9)"),
        "sl_concat_axis": body("concat(x, x, axis=99)"),
        "sl_pad_huge": body("pad(x, 4611686018427387904, 4611686018427387904)"),
        "sl_sequential_deep": body("s(x)", extra="    s = " + "Sequential(" * 3000 + "ReLU()" + ")" * 3000 + "\n"),
        "sl_binary": "\x7fELF\x02\x01\x01" + "\x00" * 100,
        "sl_crlf": body("relu(x)").replace("\n", "\r\n"),
        "sl_continuation": hd + "    return relu(x) \\\n" * 1 + "\\\n" * 30000 + "\n",
    }


def passes_cases():
    return ["", ",", ",,,", "fold(", "fold)", "fold(((((", "nope", "fold,nope", "quantize(int8",
            "quantize(int8, calibrate=\"/dev/zero\")", "quantize(int8, calibrate=\"fifo\")",
            "prune(0.5)", "memplan,memplan,memplan", "fold(x=" + "1" * 500 + ")",
            "dce(" + "(" * 10000 + ")", "cse" + ",cse" * 5000, "\x1b[31mfold", "fold\x00dce",
            "quantize(int8, calibrate=nonexistent.npy)", "quantize(int8, percentile=1e999)"]


KEEP = [  # the reproducers of fixed bugs (their failure before the fix in the comment)
    "op_transpose_a_perm_long",  # a stack-buffer-overflow: perm of 30 entries read as 30
    "op_averagepool_a_pads_big",  # 2 * pads overflowed (UBSan)
    "op_tensorscatter_c2_max",  # write_indices of 1 entry read for a batch of 2; index + i wrapped
    "op_tensorscatter_cf2_inf",  # the same from a float index (inf)
    "op_qlinearmatmul_rank1",  # exit 1 with no message at all (a scalar matmul result)
    "op_bitshift_base",  # an empty string attribute: memcpy from NULL (UBSan)
    "op_constant_a_value_ints_empty",  # an empty value_ints: memcpy from NULL (UBSan)
    "op_argmax_a_axis_asfloat",  # an attribute of the wrong type was read as absent (ORT refuses)
    "op_averagepool_a_auto_pad_asint",  # the same for a STRING attribute
    "op_elu_a_alpha_asint",  # and for a FLOAT one
    "op_argmax_a_keepdims_p100",  # keepdims=100 kept the dim; ORT keeps it only for 1 (ort.*.npy)
    "op_reducesum_o12_a_keepdims_neg1",  # the same for the reductions
]
KEEP += [
    "op_conv_zero",  # no input channels (legal): G = C / CG divided by zero (SIGFPE at run time)
    "op_convinteger_zero",  # the same through ConvInteger
]
KEEP += [
    "m_opset_neg",  # opset_import version -3 was taken for "no ai.onnx opset": imported at 25
    "m_opset_huge",  # version 2^40 cut to an int: "opset 0 is not supported"
    "m_ext_nonnum",  # external data offset "12abc" read as 12 (strtoll unchecked)
]
KEEP += [
    "op_logsoftmax_zero1",  # softmax over an empty axis: the row count was emitted as 0 / 0 (SIGFPE)
    "op_softmax_zero1",
]
KEEP += [
    "op_abs_zero",  # import wrote f32[2, 0, 3, 4], which the model language refuses
    "op_reduceprod_base",  # import wrote reduce_prod(...), not a function of the language
    "op_transpose_rank0",  # import wrote permute(x0) for a scalar, which the language refuses
]
KEEP += ["op_reducemean_o12_zero"]  # the mean over an empty axis was 0 / 0 = NaN; ORT gives 0
# ORT computes these (ConvInteger over no channels is left out: ORT returns uninitialized
# memory there, slimc zeros)
KEEP_ORT = ["op_argmax_a_keepdims_p100", "op_reducesum_o12_a_keepdims_neg1", "op_conv_zero",
            "op_logsoftmax_zero1", "op_softmax_zero1", "op_reducemean_o12_zero"]  # ORT computes these
KEEP_SLIM = ["sl_compress_deep300"]  # compress block nested too deep: fputs(NULL) after the error
EXPECT = {
    "op_transpose_a_perm_long": "node 'transpose0': Transpose .*: a perm of 30 entries",
    "op_tensorscatter_c2_max": "write_indices of 1 entries for a batch of 2",
    "op_qlinearmatmul_rank1": "node 'qlinearmatmul0': QLinearMatMul .*a scalar result",
    "sl_compress_deep300": "sl_compress_deep300.slim:4:[0-9]+: error: expression is nested too deeply",
    "op_argmax_a_axis_asfloat": "op_argmax_a_axis_asfloat.onnx: error: node 'argmax0' \\(ArgMax\\): attribute 'axis' is FLOAT, not INT",
    "op_averagepool_a_auto_pad_asint": "attribute 'auto_pad' is INT, not STRING",
    "op_elu_a_alpha_asint": "attribute 'alpha' is INT, not FLOAT",
    "m_opset_neg": "m_opset_neg.onnx: error: ONNX opset -3 is not supported",
    "m_opset_huge": "m_opset_huge.onnx: error: ONNX opset 1099511627776 is not supported",
    "m_ext_nonnum": "m_ext_nonnum.onnx: error: initializer 'w': external data offset '12abc' is not a byte count",
}
KEEP_OLD = []  # placeholder of fixed bugs, written into this folder (see tests/cli/hostile_redteam.sh)


def build_all():
    rng = np.random.default_rng(13)
    op_cases("Relu", rng)
    for op in mapped_ops():
        if op != "Relu":
            op_cases(op, rng)
        # the same at older opsets where the schema differs (attributes that became inputs)
        seen = {schema_of(op)[0].since_version if schema_of(op)[0] else None}
        for at in (12, 9, 7):
            old = schema_of(op, at)[0]
            if old is not None and old.since_version not in seen:
                seen.add(old.since_version)
                op_cases(op, rng, at)
    model_cases(rng)


def write_case(d, name, data, feeds):
    with open(os.path.join(d, name + ".onnx"), "wb") as f:
        f.write(data)
    for k, v in feeds.items():
        np.save(os.path.join(d, f"{name}.input.{k}.npy"), v)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "sweep":
        d = sys.argv[2]
        os.makedirs(d, exist_ok=True)
        build_all()
        for name, (data, feeds) in CASES.items():
            write_case(d, name, data, feeds)
        for name, data in npy_cases().items():
            with open(os.path.join(d, name + ".npy"), "wb") as f:
                f.write(data)
        for name, data in st_cases().items():
            with open(os.path.join(d, name + ".safetensors"), "wb") as f:
                f.write(data)
        for name, text in slim_cases().items():
            with open(os.path.join(d, name + ".slim"), "wb") as f:
                f.write(text.encode("utf-8", "surrogateescape"))
        with open(os.path.join(d, "W.safetensors"), "wb") as f:
            f.write(st_cases()["st_ok"])
        np.save(os.path.join(d, "calib.npy"), np.random.default_rng(1).standard_normal((8, 3)).astype(np.float32))
        np.save(os.path.join(d, "x23.npy"), np.arange(6, dtype=np.float32).reshape(2, 3))
        with open(os.path.join(d, "passes.txt"), "w") as f:
            for p in passes_cases():
                f.write(p.replace("\n", " ") + "\n")
        print(len(CASES), "onnx cases into", d)
        return
    build_all()
    for name in KEEP:
        data, feeds = CASES[name]
        write_case(HERE, name, data, feeds)
    with open(os.path.join(HERE, "w.bin"), "wb") as f:  # the external data of m_ext_*
        f.write(bytes(24))
    import onnxruntime as ort
    for name in KEEP_ORT:
        m = onnx.load_from_string(CASES[name][0])
        for o in m.graph.output:
            o.ClearField("type")
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        for o, v in zip(sess.get_outputs(), sess.run(None, CASES[name][1])):
            np.save(os.path.join(HERE, f"{name}.ort.{o.name}.npy"), v)
    texts = slim_cases()
    for name in KEEP_SLIM:
        with open(os.path.join(HERE, name + ".slim"), "w") as f:
            f.write(texts[name])
    for name, pattern in EXPECT.items():
        with open(os.path.join(HERE, name + ".expect"), "w") as f:
            f.write(pattern + "\n")


if __name__ == "__main__":
    main()
