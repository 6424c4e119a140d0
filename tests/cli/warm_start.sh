#!/usr/bin/env bash
# The warm start (issue 20): what the compile cache may reuse and what it may not. A hit
# reuses compiled code only; the weights are read from the model on every start (big ones
# through the importer's huge-page regions, frontend/onnx_unpack.c). So a model whose
# weight bytes change in place (same path, size and mtime) computes with the new weights,
# never a stale answer; another optimisation level and another build of slimc (its GNU
# build ID patched in a copy of the binary) miss; the same ones hit. The model: a
# MatMul + Add + Relu with a 256 x 128 weight (128 KB: the big-payload path; linearize
# reads it in place as a w_transposed linear) and a second MatMul, against numpy.
source "$(dirname "$0")/lib.bash"
export SLIMC_CACHE_DIR=$TEST_TMP/cache

if ! python3 -c 'import onnx, numpy' 2>/dev/null ||
  "$SLIMC" run "$SLIMC_SOURCE_DIR/tests/onnx/models/mlp.onnx" \
    --input "$SLIMC_SOURCE_DIR/tests/onnx/models/mlp.input.npy" 2>&1 | grep -q "built without ONNX"; then
  echo "skip: needs python3 with onnx and numpy, slimc with ONNX import"
  finish
  exit $?
fi

python3 - <<'PY' || bad "making the model"
import numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto as T

rng = np.random.default_rng(20)
w1 = rng.standard_normal((256, 128)).astype(np.float32) / 16
b1 = rng.standard_normal(128).astype(np.float32)
w2 = rng.standard_normal((128, 64)).astype(np.float32) / 8
x = rng.standard_normal((1, 4, 256)).astype(np.float32)
g = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Add", ["h", "b1"], ["hb"]),
     helper.make_node("Relu", ["hb"], ["r"]), helper.make_node("MatMul", ["r", "w2"], ["y"])],
    "warm", [helper.make_tensor_value_info("x", T.FLOAT, [1, 4, 256])],
    [helper.make_tensor_value_info("y", T.FLOAT, [1, 4, 64])],
    [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
     numpy_helper.from_array(w2, "w2")])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
data = m.SerializeToString()
open("w.onnx", "wb").write(data)
np.save("x.npy", x)
ref = lambda w1: np.maximum(x.astype(np.float64) @ w1 + b1, 0) @ w2
np.save("ref.npy", ref(w1).astype(np.float32))
# one weight of w1 changed in the file's bytes: the same size, another answer
raw = w1.tobytes()
at = data.find(raw)
assert at > 0 and data.find(raw, at + 1) < 0
k = 5 * 128 + 7  # w1[5, 7]
w1b = w1.copy()
w1b[5, 7] = 3.0
changed = data[:at + 4 * k] + np.float32(3.0).tobytes() + data[at + 4 * k + 4:]
assert len(changed) == len(data)
open("w_changed.onnx", "wb").write(changed)
np.save("ref_changed.npy", ref(w1b).astype(np.float32))
PY

ms() { grep -o 'compile [0-9.]* ms' | grep -o '[0-9.]*'; }
run() { # run SLIMC OUT [options]: prints the compile time
  local slimc=$1 out=$2; shift 2
  "$slimc" run w.onnx --input x.npy --output-dir "$out" --time "$@" 2>&1 | tee "$out.log" | ms
}
compiled() { [ -n "$1" ] && [ "$1" != "0.00" ]; }
hit() { [ "$1" = "0.00" ]; }

c=$(run "$SLIMC" cold)
compiled "$c" && ok "cold: compiled ($c ms)" || bad "cold: '$c'"
expect_ok "cold: the numpy answer" "$NPYCMP" cold/y.npy ref.npy 1e-5
c=$(run "$SLIMC" warm)
hit "$c" && ok "warm: a cache hit" || bad "warm: compile '$c'"
expect_ok "warm: the numpy answer" "$NPYCMP" warm/y.npy ref.npy 1e-5

# w1[5, 7] changed in place: same path, size and mtime
touch -r w.onnx stamp
cp w_changed.onnx w.onnx
touch -r stamp w.onnx
c=$(run "$SLIMC" changed)
expect_ok "a changed weight byte: the new answer (code cache: '$c' ms)" \
  "$NPYCMP" changed/y.npy ref_changed.npy 1e-5
if "$NPYCMP" changed/y.npy ref.npy 1e-5 >/dev/null 2>&1; then
  bad "a changed weight byte: the old answer came back"
else
  ok "a changed weight byte: not the old answer"
fi

# an option that changes the code: a miss, then a hit
c=$(run "$SLIMC" o1 --opt-level 1)
compiled "$c" && ok "--opt-level 1: a miss ($c ms)" || bad "--opt-level 1: compile '$c'"
c=$(run "$SLIMC" o1b --opt-level 1)
hit "$c" && ok "--opt-level 1 again: a hit" || bad "--opt-level 1 again: compile '$c'"
expect_ok "--opt-level 1: the numpy answer" "$NPYCMP" o1/y.npy ref_changed.npy 1e-5

# another build of slimc: its GNU build ID (in a PT_NOTE segment) changed in a copy
python3 - "$SLIMC" slimc_other <<'PY'
import struct, sys, shutil, os
data = bytearray(open(sys.argv[1], "rb").read())
assert data[:4] == b"\x7fELF" and data[4] == 2  # 64-bit
e_phoff, = struct.unpack_from("<Q", data, 0x20)
e_phentsize, e_phnum = struct.unpack_from("<HH", data, 0x36)
done = False
for i in range(e_phnum):
    p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, e_phoff + i * e_phentsize)
    at, end = p_offset, p_offset + p_filesz
    while p_type == 4 and at + 12 <= end and not done:
        namesz, descsz, ntype = struct.unpack_from("<III", data, at)
        name_at = at + 12
        desc_at = name_at + (namesz + 3) // 4 * 4
        if ntype == 3 and data[name_at:name_at + 4] == b"GNU\0":
            data[desc_at] ^= 1
            done = True
        at = desc_at + (descsz + 3) // 4 * 4
if not done:
    sys.exit(3)  # linked without --build-id: the key has SLIMC_VERSION alone
open(sys.argv[2], "wb").write(data)
os.chmod(sys.argv[2], 0o755)
PY
rc=$?
if [ $rc = 3 ]; then
  echo "skip: $SLIMC has no GNU build ID note"
  finish
  exit $?
fi
[ $rc = 0 ] || bad "patching the build ID (exit $rc)"
c=$(run ./slimc_other other)
compiled "$c" && ok "another slimc build: a miss ($c ms)" || bad "another slimc build: compile '$c'"
c=$(run ./slimc_other other2)
hit "$c" && ok "another slimc build again: a hit" || bad "another slimc build again: compile '$c'"
c=$(run "$SLIMC" same)
hit "$c" && ok "this slimc: still a hit" || bad "this slimc: compile '$c'"
expect_ok "another slimc build: the numpy answer" "$NPYCMP" other/y.npy ref_changed.npy 1e-5

finish
