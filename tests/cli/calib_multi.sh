# Static int8 of models with several inputs (docs/quantization.md, "Models with several
# inputs"): a CNN with a second f32 input and a BERT-style encoder fed int64 input_ids and
# attention_mask, both exported from PyTorch by tests/tools/calib_multi.py with a dynamic
# batch, calibrated from a .npz (np.savez), from --calibrate NAME=FILE.npy per input and
# from calibrate="NAME=FILE.npy,..." in --passes (the same int8 model each way; compress and
# build too); every
# conv/linear runs in int8 (inspect --quant: all layers quantized, none float) and the
# int8 output's cosine to ONNX Runtime's fp32 output, on held-out samples, is at least
# that of ONNX Runtime's quantize_static model calibrated on the same samples through a
# CalibrationDataReader; the accuracy guard takes its validation samples as a .npz; and
# bad calibration sets (a name that is no input, a missing input, sample counts that
# differ, a wrong dtype, rank or dim, a compressed, truncated or damaged .npz, one .npy
# for two inputs, --calibrate twice without names) are errors naming the file.
# Skipped without torch, onnxruntime or slimc's ONNX import.
source "$(dirname "$0")/lib.bash"

torch_onnx_models calib_multi.py
P=$SLIMC_SOURCE_DIR/tests/data/profile_int8_fast.json # every layer int8 on any CPU

# cosine A B: the cosine of two .npy files, flattened (numpy)
cosine() { python3 -c "import numpy as np, sys
a, b = (np.load(p).ravel().astype(np.float64) for p in sys.argv[1:])
print('%.6f' % (a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))" "$1" "$2"; }

feeds_cnn2=(--input x=m/e_cnn2_x.npy --input z=m/e_cnn2_z.npy)
feeds_enc=(--input input_ids=m/e_enc_input_ids.npy --input attention_mask=m/e_enc_attention_mask.npy)
for n in cnn2 enc; do
  declare -n feeds=feeds_$n
  inputs=$(python3 -c "import numpy as np; print(' '.join(np.load('m/c_$n.npz').files))")
  per_input=() list=""
  for i in $inputs; do
    per_input+=(--calibrate "$i=m/c_${n}_$i.npy")
    list+="${list:+,}$i=m/c_${n}_$i.npy"
  done
  expect_ok "$n fp32" "$SLIMC" run "m/$n.onnx" "${feeds[@]}" --output-dir "o_${n}_fp"
  expect_ok "$n fp32 == ORT to 1e-5" "$NPYCMP" "o_${n}_fp/y.npy" "m/ref_$n.npy" 1e-5
  expect_ok "$n int8, --calibrate .npz" "$SLIMC" run "m/$n.onnx" "${feeds[@]}" --output-dir "o_${n}_npz" \
    --quantize int8 --calibrate "m/c_$n.npz" --device-profile "$P"
  expect_ok "$n int8, --calibrate NAME=FILE.npy per input" "$SLIMC" run "m/$n.onnx" "${feeds[@]}" \
    --output-dir "o_${n}_list" "${per_input[@]}" --device-profile "$P"
  expect_ok "$n int8, calibrate=\"NAME=FILE.npy,...\" in --passes" "$SLIMC" run "m/$n.onnx" "${feeds[@]}" \
    --output-dir "o_${n}_passes" --device-profile "$P" \
    --passes "fold,dce,cse,quantize(int8, calibrate=\"$list\"),linearize,gelu,lnorm,attention,qchain,layout,fuse,dce,memplan"
  # the AVX2 path without VNNI, and calibration by the reference evaluator (int64 inputs
  # through ir_eval) instead of the JIT
  SLIMC_MAX_ISA=avx2 SLIMC_NO_VNNI=1 expect_ok "$n int8, AVX2 without VNNI" "$SLIMC" run "m/$n.onnx" \
    "${feeds[@]}" --output-dir "o_${n}_avx2" --calibrate "m/c_$n.npz" --device-profile "$P"
  SLIMC_CALIBRATE_REFERENCE=1 expect_ok "$n int8, calibrated by the reference evaluator" \
    "$SLIMC" run "m/$n.onnx" "${feeds[@]}" --output-dir "o_${n}_ref" --calibrate "m/c_$n.npz" \
    --device-profile "$P"
  cmp -s "o_${n}_npz/y.npy" "o_${n}_list/y.npy" && ok "$n: .npz and NAME=FILE.npy give the same model" ||
    bad "$n: .npz and NAME=FILE.npy differ"
  # the int8 is applied: every conv/linear quantized, no float one left
  "$SLIMC" inspect "m/$n.onnx" --quant --quantize int8 --calibrate "m/c_$n.npz" --device-profile "$P" \
    >q.txt 2>&1
  nodes=$(grep ' nodes: ' q.txt)
  if grep -qE "^  [0-9]+ layers quantized, 0 float" q.txt && [[ $nodes != *" linear x"* &&
    $nodes != *" conv2d x"* && $nodes != *" matmul x"* ]]; then
    ok "$n: every conv/linear in int8: $(grep -E '^  [0-9]+ layers quantized' q.txt | sed 's/;.*//')"
  else bad "$n: not all int8"; cat q.txt; fi
  for o in npz passes avx2 ref; do
    c=$(cosine "o_${n}_$o/y.npy" "m/ref_$n.npy") ort=$(cat "m/ort_$n.txt")
    python3 -c "import sys; sys.exit(not float('$c') >= float('$ort'))" &&
      ok "$n ($o): slimc int8 cosine to fp32 $c >= ORT quantize_static's $ort" ||
      bad "$n ($o): slimc int8 cosine $c < ORT's $ort"
  done
  c=$(cosine "o_${n}_passes/y.npy" "m/ref_$n.npy")
  python3 -c "import sys; sys.exit(not float('$c') > 0.999)" && ok "$n: cosine $c > 0.999" ||
    bad "$n: cosine $c"
done

# compress and build take the same options: the saved int8 model and the executable give
# run's int8 output
expect_ok "compress cnn2 with --calibrate NAME=FILE.npy" "$SLIMC" compress m/cnn2.onnx \
  --calibrate x=m/c_cnn2_x.npy --calibrate z=m/c_cnn2_z.npy --device-profile "$P" -o cnn2_int8.slim
grep -q "QuantConv2d" cnn2_int8.slim && ok "compress wrote QuantConv2d layers" || bad "no QuantConv2d"
expect_ok "run the compressed model" "$SLIMC" run cnn2_int8.slim "${feeds_cnn2[@]}" --output-dir o_cnn2_slim
expect_ok "the compressed model == run --calibrate's int8" "$NPYCMP" o_cnn2_slim/y.npy o_cnn2_npz/y.npy 1e-5
expect_ok "build cnn2 with --calibrate .npz" "$SLIMC" build m/cnn2.onnx --calibrate m/c_cnn2.npz \
  --device-profile "$P" -o cnn2_int8
expect_ok "the executable runs" ./cnn2_int8 "${feeds_cnn2[@]}" --output-dir o_cnn2_exe
expect_ok "the executable == run --calibrate's int8" "$NPYCMP" o_cnn2_exe/y.npy o_cnn2_npz/y.npy 1e-5

# the accuracy guard: validation samples of both inputs in a .npz
expect_ok "the accuracy guard with validate=.npz" "$SLIMC" run m/cnn2.onnx "${feeds_cnn2[@]}" \
  --output-dir o_guard --device-profile "$P" \
  --passes 'fold,quantize(int8, calibrate="m/c_cnn2.npz", max_drop=1%, validate="m/e_cnn2.npz"),layout,fuse,memplan'
grep -q "quantize(int8): 5 of 5 layers quantized" err.txt && ok "the guard keeps every layer int8" ||
  { bad "guard"; cat err.txt; }

# bad calibration sets
python3 - <<'PY' || bad "making the bad .npz files"
import numpy as np
c = dict(np.load("m/c_enc.npz"))
ids, mask = c["input_ids"], c["attention_mask"]
np.savez("typo.npz", input_id=ids, attention_mask=mask)
np.savez("other.npz", input_ids=ids, attention_mask=mask, tokens=mask)
np.savez("missing.npz", input_ids=ids)
np.savez("count.npz", input_ids=ids, attention_mask=mask[:40])
np.savez("dtype.npz", input_ids=ids.astype(np.int32), attention_mask=mask)
np.savez("dim.npz", input_ids=ids[:, :8], attention_mask=mask)
np.savez("rank.npz", input_ids=ids[:, :, None], attention_mask=mask)
np.savez_compressed("compressed.npz", **c)
b = open("m/c_enc.npz", "rb").read()
open("truncated.npz", "wb").write(b[: len(b) // 2])
d = bytearray(b); d[200] ^= 0xFF; open("damaged.npz", "wb").write(bytes(d))
PY
enc_q() { "$SLIMC" run m/enc.onnx "${feeds_enc[@]}" --output-dir o_bad --calibrate "$@"; }
expect_fail "a name that is no input: did you mean" \
  "error: quantize: typo\.npz:input_id\.npy: 'input_id' is not an input of the model; did you mean 'input_ids'\?" \
  enc_q typo.npz
expect_fail "an array for no input: the inputs listed" \
  "other\.npz:tokens\.npy: 'tokens' is not an input of the model \(its inputs: 'input_ids' \(i64\), 'attention_mask' \(i64\)\)" \
  enc_q other.npz
expect_fail "a missing input" \
  "missing\.npz: no calibration data for input 'attention_mask' \(i64\)" enc_q missing.npz
expect_fail "sample counts that differ" \
  "count\.npz:attention_mask\.npy: 40 calibration samples of input 'attention_mask' but 48 of input 'input_ids'" \
  enc_q count.npz
expect_fail "a dtype that is not the input's" \
  "dtype\.npz:input_ids\.npy: input 'input_ids' is i64, but its calibration data is i32" enc_q dtype.npz
expect_fail "a dim that is not the input's" \
  "dim\.npz:input_ids\.npy: dimension 1 of the calibration data of input 'input_ids' is 8; the input needs 16" \
  enc_q dim.npz
expect_fail "a rank that is not the input's" \
  "rank\.npz:input_ids\.npy: the calibration data of input 'input_ids' has 3 dimensions" enc_q rank.npz
expect_fail "np.savez_compressed" \
  "compressed\.npz: error: entry '[a-z_]+\.npy' is compressed \(np\.savez_compressed\); slimc reads stored archives" \
  enc_q compressed.npz
expect_fail "a truncated .npz" "truncated\.npz: error: .*truncated" enc_q truncated.npz
expect_fail "a damaged .npz" "damaged\.npz: error: entry 'input_ids\.npy' fails its CRC-32 check" \
  enc_q damaged.npz
expect_fail "one .npy for two inputs" \
  "c_enc_input_ids\.npy: the model has 2 inputs \('input_ids' \(i64\), 'attention_mask' \(i64\)\); give calibration data for each, by name" \
  enc_q m/c_enc_input_ids.npy
expect_fail "a missing file in the list" "nope\.npy: error: cannot open" \
  enc_q input_ids=m/c_enc_input_ids.npy --calibrate attention_mask=nope.npy
expect_fail "--calibrate twice without names" \
  "error: --calibrate given twice: for a model of several inputs give each input's samples as --calibrate NAME=FILE\.npy" \
  enc_q m/c_enc_input_ids.npy --calibrate m/c_enc_attention_mask.npy
expect_fail "a list item that is not NAME=FILE" "'=x\.npy' is not NAME=FILE\.npy" \
  enc_q input_ids=m/c_enc_input_ids.npy --calibrate =x.npy
expect_fail "the validation set checked the same way" \
  "missing\.npz: no validation data for input 'attention_mask'" \
  "$SLIMC" run m/enc.onnx "${feeds_enc[@]}" --output-dir o_bad --device-profile "$P" \
  --passes 'fold,quantize(int8, calibrate="m/c_enc.npz", max_drop=1%, validate="missing.npz"),memplan'

finish
