#!/usr/bin/env bash
# Hostile sizes (issue 13, item 2): tiny files that declare element counts and byte sizes
# that wrap int64_t / size_t. Each goes through `slimc inspect`, `slimc run` and, where it
# compiles, a built executable: exit status 1 with a message naming the file (and the
# tensor), never a signal, never a sanitizer report, never a wrong answer with status 0.
# The files are made by tests/data/hostile/make_hostile_sizes.py.
source "$(dirname "$0")/lib.bash"
H=$SLIMC_SOURCE_DIR/tests/data/hostile

python3 - <<'PY'
import numpy as np
np.save("x1.npy", np.ones((1,), np.float32))
np.save("x2.npy", np.ones((2,), np.float32))
np.save("i8.npy", np.ones((2,), np.int8))
np.save("b4.npy", np.ones((4, 4), np.bool_))
np.save("r3.npy", np.full((1, 3, 64), -1.0, np.float32))
np.save("x44.npy", np.ones((1, 1, 4, 4), np.float32))
PY

# check_all NAME PATTERN INPUT FILE: inspect and run FILE (with INPUT); both must fail
# cleanly with PATTERN on stderr.
check_all() {
  local name=$1 pattern=$2 input=$3 file=$4
  expect_fail "inspect $name" "$pattern" "$SLIMC" inspect "$file"
  expect_fail "run $name" "$pattern" "$SLIMC" run "$file" --input "$input"
}

# --- .slim: the element count of a declared input overflows
check_all "huge.slim" "huge.slim:1:9: error: tensor 'x': element count overflows \(dims 1099511627776 x 1099511627776 x 16, f32\)" \
  x1.npy "$H/huge.slim"

if ! "$SLIMC" inspect "$H/pad_wrap.onnx" 2>&1 | grep -q "built without ONNX"; then
  # Trilu / EyeLike: the mask's byte count wrapped, ox_const_set wrote past a 1-byte buffer
  check_all "trilu_wrap.onnx" "trilu_wrap.onnx: error: node 'Trilu_0': (the bool constant it needs is too large|constant result of 2.0 EiB exceeds the memory limit)" \
    b4.npy "$H/trilu_wrap.onnx"
  check_all "eyelike_wrap.onnx" "eyelike_wrap.onnx: error: tensor 'x': element count overflows \(dims 4294967296 x 4294967296, f32\)" \
    x1.npy "$H/eyelike_wrap.onnx"
  # Expand to 2^61 f32 elements: 2^63 bytes
  check_all "expand_2_61.onnx" "expand_2_61.onnx: error: tensor 'Expand_0': byte size overflows \(dims 2305843009213693952, f32\)" \
    x1.npy "$H/expand_2_61.onnx"
  # Pad by INT64_MAX: printed f32[-9223372036854775807] and garbage with status 0 before
  check_all "pad_wrap.onnx" "pad_wrap.onnx: error: pad 'Pad_0': the padded size overflows" x2.npy "$H/pad_wrap.onnx"
  check_all "concat_wrap.onnx" "concat_wrap.onnx: error: concat 'Concat_0': the concatenated size overflows" \
    i8.npy "$H/concat_wrap.onnx"
  check_all "tile_wrap.onnx" "tile_wrap.onnx: error: node 'Tile_0' \(Tile\): the tiled size overflows" x2.npy "$H/tile_wrap.onnx"
  check_all "init_wrap.onnx" "init_wrap.onnx: error: initializer 'w': bad dimension 4 \(the element count overflows\)" \
    x1.npy "$H/init_wrap.onnx"
  check_all "const_of_shape_wrap.onnx" "const_of_shape_wrap.onnx: error:" x1.npy "$H/const_of_shape_wrap.onnx"
  check_all "reshape_negative.onnx" "reshape_negative.onnx: error:" x1.npy "$H/reshape_negative.onnx"
  # auto_pad SAME divided by a zero stride (SIGFPE); a reach of 2 x 2^62 (signed overflow)
  check_all "conv_same_stride0.onnx" "conv_same_stride0.onnx: error: node 'Conv_0' \(Conv\): strides must be positive" \
    x44.npy "$H/conv_same_stride0.onnx"
  check_all "pool_same_dilation.onnx" "pool_same_dilation.onnx: error: node 'MaxPool_0': auto_pad SAME_UPPER needs" \
    x44.npy "$H/pool_same_dilation.onnx"
  check_all "lppool_same_stride0.onnx" "lppool_same_stride0.onnx: error: node 'LpPool_0' \(LpPool\): strides must be positive" \
    x44.npy "$H/lppool_same_stride0.onnx"
  # a 1e30 scale: converting the output size to int64 was undefined (UBSan)
  check_all "resize_huge_scale.onnx" "resize_huge_scale.onnx: error: 1 node of this model cannot be imported" x44.npy "$H/resize_huge_scale.onnx"
  # A negative dim_value is read as an unknown dim (a symbol): fine, but never a crash.
  "$SLIMC" inspect "$H/negative_dim.onnx" >out.txt 2>err.txt
  rc=$?
  [ $rc -le 1 ] && ! grep -qiE "sanitizer|internal error" err.txt && ok "inspect negative_dim.onnx" \
    || { bad "inspect negative_dim.onnx: status $rc"; cat err.txt; }

  # A legitimate 16-row input to a model whose output is [N, 2^58]: compiles (2^60 bytes
  # a row), but N = 16 makes 2^64 bytes; this wrapped to 0 and segfaulted.
  expect_ok "inspect big_output.onnx" "$SLIMC" inspect "$H/big_output.onnx"
  # The memory limit refuses it first; raised to its top, the checked products still do.
  expect_fail "run big_output.onnx" "big_output.onnx: error: model 'big_output': memory for these inputs \(weights \+ outputs\) of 16.0 EiB exceeds the memory limit" \
    "$SLIMC" run "$H/big_output.onnx" --input "$H/n16.npy"
  expect_fail "run big_output.onnx, no limit" "big_output.onnx: error: (output 'y': element count overflows for these input shapes \(dims 16 x 288230376151711744\)|model 'big_output': memory for these inputs)" \
    "$SLIMC" run --max-memory 4000000T "$H/big_output.onnx" --input "$H/n16.npy"
  expect_fail "build big_output.onnx" "big_output.onnx: error: model 'big_output': memory to run it" \
    "$SLIMC" build "$H/big_output.onnx" -o big
  expect_ok "build big_output.onnx, no limit" "$SLIMC" build --max-memory 4000000T "$H/big_output.onnx" -o big
  expect_fail "executable: big_output" "(output 'y': element count overflows|over the memory limit)" ./big --input "$H/n16.npy"
  expect_fail "executable: big_output, no limit" "(output 'y': element count overflows|over the memory limit)" ./big --max-memory 4000000T --input "$H/n16.npy"
fi

# --- the built executable's .npy reader: 1 x (2^56 + 1) x 64 f32 wraps to 256 bytes
expect_ok "build relu_n64.slim" "$SLIMC" build "$H/relu_n64.slim" -o relu
expect_fail "executable: npy_wrap.npy" "npy_wrap.npy: error: the shape \\(1, 72057594037927937, 64\\) is too large" \
  ./relu --input x="$H/npy_wrap.npy"
expect_ok "executable: a fitting input still runs" ./relu --input x=r3.npy
grep -q "output0: f4 \[1, 3, 64\] = 0 0 0" out.txt && ok "executable: its output" || { bad "executable output"; cat out.txt; }
expect_fail "run npy_wrap.npy" "npy_wrap.npy: error: .*too large" "$SLIMC" run "$H/relu_n64.slim" --input "$H/npy_wrap.npy"
finish
