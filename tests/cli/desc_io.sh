# A built executable and `slimc run` bind inputs the same way (issue 14, item 5): one .npy
# reader (runtime/model_io.c) and one binder over the model's descriptor. On good inputs
# they give the same values (and numpy's); on bad .npy files and bad shapes both exit 1
# with the same message (never a crash); both convert f64 and f16 inputs to f32.
source "$(dirname "$0")/lib.bash"

# y's dim 2*N is bound through N from x: an executable that bound only single-symbol dims
# took a 2-element y for any N and read past it (exit 139).
cat > two.slim <<'SLIM'
model two(x: f32[N], y: f32[2*N]) -> f32[2*N]
    return y * 2.0 + concat([x, x])
SLIM
expect_ok "build two" timeout 120 "$SLIMC" build two.slim -o two_exe

python3 - <<'PY' || { bad "making the .npy files (numpy)"; finish; exit; }
import struct
import numpy as np
rng = np.random.default_rng(14)
x = rng.standard_normal(5).astype(np.float32)
y = rng.standard_normal(10).astype(np.float32)
np.save("x.npy", x); np.save("y.npy", y)
np.save("x_f16.npy", x.astype(np.float16)); np.save("y_f64.npy", y.astype(np.float64))
np.save("ref.npy", y * 2 + np.concatenate([x, x]))
xh = x.astype(np.float16).astype(np.float32)
np.save("ref_f16.npy", y.astype(np.float64).astype(np.float32) * 2 + np.concatenate([xh, xh]))
np.save("x_big.npy", np.ones(1 << 22, np.float32))
np.save("y_small.npy", np.ones(2, np.float32))

def raw(name, header, data=b"", version=1):
    h = header.encode()
    pre = 10 if version == 1 else 12
    h += b" " * (64 - (pre + len(h) + 1) % 64) + b"\n"
    size = struct.pack("<H" if version == 1 else "<I", len(h))
    open(name, "wb").write(b"\x93NUMPY" + bytes([version, 0]) + size + h + data)

f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"
raw("bad_dup_shape.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), 'shape': (1000000,), }", b"\0" * 20)
raw("bad_int_shape.npy", f4 % "(5)", b"\0" * 20)
raw("bad_huge.npy", f4 % "(4611686018427387904, 0)")
raw("bad_truncated.npy", f4 % "(5,)", b"\0" * 12)
raw("bad_extra.npy", f4 % "(5,)", b"\0" * 24)
raw("bad_negative.npy", f4 % "(-5,)")
raw("bad_fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (5,), }", b"\0" * 20)
raw("bad_key.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), 'x': 1, }", b"\0" * 20)
raw("bad_descr.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (5,), }", b"\0" * 40)
raw("bad_u2.npy", "{'descr': '<u2', 'fortran_order': False, 'shape': (5,), }", b"\0" * 10)
raw("bad_version.npy", f4 % "(5,)", b"\0" * 20, version=4)
raw("bad_hlen.npy", f4 % "(5,)", b"")
open("bad_hlen.npy", "r+b").write(b"\x93NUMPY\x01\x00\xff\xff")
raw("bad_i32.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }", b"\0" * 20)
raw("bad_rank.npy", f4 % "(5, 1)", b"\0" * 20)
raw("bad_zero.npy", f4 % "(0,)")
open("bad_magic.npy", "wb").write(b"NUMPY\x01\x00" + b"\0" * 60)
open("bad_empty.npy", "wb").close()
PY
mkdir -p bad_dir.npy

# --- good inputs: the same values, and numpy's
expect_ok "run" timeout 120 "$SLIMC" run two.slim --input x=x.npy --input y=y.npy --output-dir run_out
expect_ok "executable" ./two_exe --input x=x.npy --input y=y.npy --output-dir exe_out
"$NPYCMP" exe_out/output0.npy ref.npy 1e-6 >/dev/null && ok "executable matches numpy" || bad "executable values"
"$NPYCMP" exe_out/output0.npy run_out/output0.npy 0 >/dev/null && ok "executable matches run" || bad "executable vs run"

# --- f16 and f64 inputs are converted by both, with a note
expect_ok "run: f16 and f64 inputs" timeout 120 "$SLIMC" run two.slim --input x=x_f16.npy --input y=y_f64.npy --output-dir run_f16
grep -q "note: input 'x': converted f16 to f32" err.txt && ok "run: f16 note" || { bad "run: f16 note"; cat err.txt; }
expect_ok "executable: f16 and f64 inputs" ./two_exe --input x=x_f16.npy --input y=y_f64.npy --output-dir exe_f16
grep -q "x_f16.npy: note: input 'x': converted f16 to f32" err.txt && ok "executable: f16 note" || { bad "executable: f16 note"; cat err.txt; }
grep -q "y_f64.npy: note: input 'y': converted f64 to f32" err.txt && ok "executable: f64 note" || { bad "executable: f64 note"; cat err.txt; }
"$NPYCMP" exe_f16/output0.npy ref_f16.npy 1e-6 >/dev/null && ok "f16: executable matches numpy" || bad "f16: executable values"
"$NPYCMP" exe_f16/output0.npy run_f16/output0.npy 0 >/dev/null && ok "f16: executable matches run" || bad "f16: executable vs run"

# --- bad inputs: exit 1 from both (never 139), the same message after "error: "
# (run points at the model's input for a shape error, the executable at the file)
same_refusal() { # NAME X Y
  local name=$1
  timeout 120 "$SLIMC" run two.slim --input x="$2" --input y="$3" >/dev/null 2>run_err.txt
  local run_rc=$?
  ./two_exe --input x="$2" --input y="$3" >/dev/null 2>exe_err.txt
  local exe_rc=$?
  local run_msg exe_msg
  run_msg=$(grep -m1 'error: ' run_err.txt | sed 's/^.*error: //')
  exe_msg=$(grep -m1 'error: ' exe_err.txt | sed 's/^.*error: //')
  if [ $run_rc -ne 1 ] || [ $exe_rc -ne 1 ]; then
    bad "$name: exit status run $run_rc, executable $exe_rc (both must be 1)"; cat run_err.txt exe_err.txt
  elif [ -z "$run_msg" ] || [ "$run_msg" != "$exe_msg" ]; then
    bad "$name: messages differ"; echo "run: $run_msg"; echo "exe: $exe_msg"
  else
    ok "$name: both refuse: $exe_msg"
  fi
}
same_refusal "y too short for N (was exit 139)" x_big.npy y_small.npy
for f in bad_*.npy; do
  [ -f "$f" ] && same_refusal "$f as x" "$f" y.npy
done
same_refusal "a directory as x" bad_dir.npy y.npy
grep -q "bad_dir.npy: error: is a directory, not a file" exe_err.txt && ok "the directory named" || bad "directory message"
same_refusal "missing file" missing.npy y.npy

finish
