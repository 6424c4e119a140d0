#!/bin/bash
# Compact sparse weights in the safetensors `slimc compress` writes (issue 17, "files
# shrink"; docs/formats.md "Compact sparse weights"): a 90%-pruned MLP, LeNet at global 90%
# and a 2:4 MLP are saved much smaller, reload, and run byte for byte like the pruned model
# that was never saved; --dense writes the dense tensors; hostile compact tensors are errors
# naming the file and the tensor. The PyTorch half (--dense loads with load_state_dict) is
# in sparse_files_torch.sh.
. "$(dirname "$0")/lib.bash"

size() { stat -c %s "$1"; }

# ratio_ok NAME FILE DENSE_FILE MIN: FILE is at least MIN times smaller than DENSE_FILE
ratio_ok() {
  local a b
  a=$(size "$2"); b=$(size "$3")
  if awk -v a="$a" -v b="$b" -v m="$4" 'BEGIN { exit !(a > 0 && b / a >= m) }'; then
    ok "$1: $a bytes, dense $b ($(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')x)"
  else
    bad "$1: $a bytes against dense $b: not ${4}x smaller"
  fi
}

# same_run NAME COMPACT.slim REFERENCE.slim INPUT: slimc run's .npy outputs are identical
same_run() {
  rm -rf "o_$1_a" "o_$1_b"
  if "$SLIMC" run "$2" --input "$4" --output-dir "o_$1_a" >/dev/null 2>err.txt &&
     "$SLIMC" run "$3" --input "$4" --output-dir "o_$1_b" >/dev/null 2>>err.txt &&
     cmp "o_$1_a/output0.npy" "o_$1_b/output0.npy"; then
    ok "$1: the saved model's output is byte-identical to the unsaved pruned model's"
  else
    bad "$1: outputs differ or a run failed"; cat err.txt
  fi
}

# The unsaved pruned models: the sample with a compress block (`slimc run` runs it first).
cp "$S/mlp/mlp.safetensors" "$S/lenet/lenet.safetensors" .
{ cat "$S/mlp/mlp.slim"; printf '\ncompress mlp\n    prune(amount=0.9)\n'; } > mlp90.slim
{ cat "$S/mlp/mlp.slim"; printf '\ncompress mlp\n    prune(method=nm)\n'; } > mlp24.slim
{ cat "$S/lenet/lenet.slim"; printf '\ncompress lenet\n    prune(amount=0.9, scope=global)\n'; } > lenet90.slim

for m in mlp90 mlp24 lenet90; do
  expect_ok "compress $m" "$SLIMC" compress $m.slim -o c_$m.slim
  if grep -qE "^wrote c_$m.slim and c_$m.safetensors \([0-9]+ bytes; [0-9]+ sparse weights? stored compactly saved [0-9]+ bytes" out.txt; then
    ok "compress $m: the wrote line gives the size and the saving"
  else
    bad "compress $m: wrote line: $(cat out.txt)"
  fi
  expect_ok "compress $m --dense" "$SLIMC" compress $m.slim --dense -o d_$m.slim
  if grep -qE "^wrote d_$m.slim and d_$m.safetensors \([0-9]+ bytes\)$" out.txt; then
    ok "compress $m --dense: the wrote line gives the size"
  else
    bad "compress $m --dense: wrote line: $(cat out.txt)"
  fi
done
ratio_ok "mlp 90%" c_mlp90.safetensors d_mlp90.safetensors 7
ratio_ok "lenet global 90%" c_lenet90.safetensors d_lenet90.safetensors 7
ratio_ok "mlp 2:4" c_mlp24.safetensors d_mlp24.safetensors 1.8
same_run mlp90 c_mlp90.slim mlp90.slim "$S/mlp/input.npy"
same_run mlp24 c_mlp24.slim mlp24.slim "$S/mlp/input.npy"
same_run lenet90 c_lenet90.slim lenet90.slim "$S/lenet/input.npy"
same_run mlp90_dense d_mlp90.slim mlp90.slim "$S/mlp/input.npy"

# --dense holds the PyTorch names only; the compact file no dense fc1.weight, but its parts.
python3 - c_mlp90.safetensors d_mlp90.safetensors >keys.txt <<'PY'
import json, struct, sys
for p in sys.argv[1:]:
    b = open(p, "rb").read()
    h = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])
    print(p, " ".join(sorted(h)), json.dumps(h.get("__metadata__", {}), sort_keys=True))
PY
if grep -q '^c_mlp90.safetensors __metadata__ fc1.bias fc1.weight.mask fc1.weight.values fc2.bias fc2.weight.mask fc2.weight.values fc3.bias fc3.weight.mask fc3.weight.values {"fc1.weight": "sparse_bitmask:\[512,784\]", "fc2.weight": "sparse_bitmask:\[512,512\]", "fc3.weight": "sparse_bitmask:\[10,512\]"}$' keys.txt &&
   grep -q '^d_mlp90.safetensors fc1.bias fc1.weight fc2.bias fc2.weight fc3.bias fc3.weight {}$' keys.txt; then
  ok "tensor names and metadata of the compact and the --dense file"
else
  bad "tensor names:"; cat keys.txt
fi

# A dense model (nothing pruned) stays dense: the compact form would not be smaller.
expect_ok "compress without prune" "$SLIMC" compress "$S/mlp/mlp.slim" --passes dce -o plain.slim
if grep -qE '^wrote plain.slim and plain.safetensors \([0-9]+ bytes\)$' out.txt; then
  ok "an unpruned model's weights stay dense"
else
  bad "unpruned: $(cat out.txt)"
fi

# ---- hostile compact tensors, on a Linear(3, 5): 15 elements, a 2-byte mask ----
cat > tiny.slim <<'SLIM'
model tiny(x: f32[N, 3]) -> f32[N, 5]
    weights "tiny.safetensors"
    fc = Linear(3, 5)
    return fc(x)
SLIM
python3 - <<'PY'
import json, struct
import numpy as np
w = np.array([[0, 1.5, 0], [-0.0, 0, 2], [0, 0, 0], [3, 0, -4], [0, 0, 5.25]], np.float32)
b = np.arange(5, dtype=np.float32)
np.save("tiny_x.npy", np.array([[1, 2, 3], [-1, 0.5, 4]], np.float32))
flat = w.reshape(-1)
keep = flat.view(np.uint32) != 0  # -0.0 is kept
mask = np.packbits(keep, bitorder="little")
vals = flat[keep]

def write(path, tensors, meta):
    head, data = {}, b""
    if meta is not None:
        head["__metadata__"] = meta
    for name, arr, dt in tensors:
        raw = arr.tobytes()
        head[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(head).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)

good_meta = {"fc.weight": "sparse_bitmask:[5,3]"}
V, M, B = ("fc.weight.values", vals, "F32"), ("fc.weight.mask", mask, "U8"), ("fc.bias", b, "F32")
write("tiny_dense.safetensors", [("fc.weight", w, "F32"), B], None)
write("tiny.safetensors", [V, M, B], good_meta)
bad_mask = mask.copy(); bad_mask[1] |= 0x80  # element 15 of 15
cases = {
    "past_end": ([V, ("fc.weight.mask", bad_mask, "U8"), B], good_meta),
    "count": ([("fc.weight.values", vals[:-1], "F32"), M, B], good_meta),
    "values_dtype": ([("fc.weight.values", vals.astype(np.float64), "F64"), M, B], good_meta),
    "mask_dtype": ([V, ("fc.weight.mask", mask.view(np.int8), "I8"), B], good_meta),
    "mask_len": ([V, ("fc.weight.mask", np.append(mask, 0).astype(np.uint8), "U8"), B], good_meta),
    "shape": ([V, M, B], {"fc.weight": "sparse_bitmask:[3,5]"}),
    "rank": ([V, M, B], {"fc.weight": "sparse_bitmask:[15]"}),
    "format": ([V, M, B], {"fc.weight": "sparse_csr:[5,3]"}),
    "malformed": ([V, M, B], {"fc.weight": "sparse_bitmask:[5,-3]"}),
    "huge_dim": ([V, M, B], {"fc.weight": "sparse_bitmask:[99999999999999999999,3]"}),
    "no_mask": ([V, B], good_meta),
    "no_values": ([M, B], good_meta),
    "both": ([V, M, B, ("fc.weight", w, "F32")], good_meta),
}
for name, (t, meta) in cases.items():
    write(f"h_{name}.safetensors", t, meta)
    open(f"h_{name}.slim", "w").write(open("tiny.slim").read().replace("tiny.safetensors", f"h_{name}.safetensors"))
PY
sed 's/tiny.safetensors/tiny_dense.safetensors/' tiny.slim > tiny_dense.slim
same_run "tiny (15 elements, -0.0 kept)" tiny.slim tiny_dense.slim tiny_x.npy
F="h_[a-z_]+.slim:[0-9]+:[0-9]+: error: weights file 'h_[a-z_]+.safetensors': "
expect_fail "a mask bit past the end" "${F}'fc.weight.mask' has a bit set past the tensor's 15 elements" "$SLIMC" run h_past_end.slim --input tiny_x.npy
expect_fail "values count" "${F}'fc.weight.values' has 5 values, but its mask has 6 bits set" "$SLIMC" run h_count.slim --input tiny_x.npy
expect_fail "values dtype" "${F}'fc.weight.values' must be F32 of rank 1 \(f64\)" "$SLIMC" run h_values_dtype.slim --input tiny_x.npy
expect_fail "mask dtype" "${F}'fc.weight.mask' must be U8 of rank 1 \(i8\)" "$SLIMC" run h_mask_dtype.slim --input tiny_x.npy
expect_fail "mask length" "${F}'fc.weight.mask' has 3 bytes, not 2" "$SLIMC" run h_mask_len.slim --input tiny_x.npy
expect_fail "dense shape" "${F}compact tensor 'fc.weight' has the dense shape \[3,5\], not the module's" "$SLIMC" run h_shape.slim --input tiny_x.npy
expect_fail "dense rank" "${F}compact tensor 'fc.weight' has the dense shape \[15\]" "$SLIMC" run h_rank.slim --input tiny_x.npy
expect_fail "unknown format" "${F}'fc.weight' is stored in an unknown compact format 'sparse_csr:\[5,3\]'" "$SLIMC" run h_format.slim --input tiny_x.npy
expect_fail "malformed shape" "${F}the metadata of 'fc.weight' \('sparse_bitmask:\[5,-3\]'\) is not sparse_bitmask" "$SLIMC" run h_malformed.slim --input tiny_x.npy
expect_fail "overflowing dim" "${F}the metadata of 'fc.weight'" "$SLIMC" run h_huge_dim.slim --input tiny_x.npy
expect_fail "no mask" "${F}compact tensor 'fc.weight' lacks its 'mask' tensor" "$SLIMC" run h_no_mask.slim --input tiny_x.npy
expect_fail "no values" "${F}compact tensor 'fc.weight' lacks its 'values' tensor" "$SLIMC" run h_no_values.slim --input tiny_x.npy
expect_fail "dense and compact" "h_both.slim:[0-9]+:[0-9]+: error: parameter 'fc.weight' is in weights file 'h_both.safetensors' both densely and in a compact form" "$SLIMC" run h_both.slim --input tiny_x.npy
finish
