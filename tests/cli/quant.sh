# Static int8 (docs/quantization.md): quantize on the command line and in a compress block,
# paths relative to the working directory or the model file, weights ~4x smaller in
# inspect --memory, outputs close to fp32, and clear errors for bad calibration data.
source "$(dirname "$0")/lib.bash"

Q='fold,bn_fold,quantize(int8, calibrate="calib.npy"),dce,layout,fuse,memplan'
cp "$S/lenet/calib.npy" calib.npy
expect_ok "run int8 (path relative to the working directory)" \
  "$SLIMC" run "$S/lenet/lenet.slim" --passes "$Q" --input x="$S/lenet/input.npy" --output-dir q8
[ -f q8/output0.npy ] && ok "int8 output written" || bad "no int8 output"
# log-probabilities within 5% of PyTorch's fp32 (int8 noise; the accuracy test is unit_quant)
"$NPYCMP" q8/output0.npy "$S/lenet/expected.npy" 0.05 && ok "int8 close to fp32" || bad "int8 far from fp32"

expect_ok "inspect --memory int8" "$SLIMC" inspect "$S/lenet/lenet.slim" --memory --passes "$Q"
grep -qE "weights: 4[0-9][0-9]\.[0-9] KiB" out.txt && ok "weights ~4x smaller" || { bad "int8 weights"; cat out.txt; }
grep -q "qconv2d x2 qlinear x2" out.txt && ok "quantized ops" || { bad "quantized ops"; cat out.txt; }

for m in minmax entropy mse 'percentile(99.9)'; do
  expect_ok "method $m" "$SLIMC" run "$S/lenet/lenet.slim" --input x="$S/lenet/input.npy" \
    --passes "fold,quantize(int8, calibrate=\"calib.npy\", method=$m, per_channel=true),fuse,memplan"
done

# a compress block: the path is relative to the model file
mkdir -p m
cp "$S/lenet/lenet.safetensors" "$S/lenet/calib.npy" m/
sed 's/^model lenet/model lenet/' "$S/lenet/lenet.slim" > m/lenet.slim
printf '\ncompress lenet\n    quantize(int8, calibrate="calib.npy", method=minmax)\n' >> m/lenet.slim
(cd / && "$SLIMC" inspect "$TEST_TMP/m/lenet.slim" --memory >"$TEST_TMP/out.txt" 2>"$TEST_TMP/err.txt") \
  && grep -qE "weights: 4[0-9][0-9]\.[0-9] KiB" out.txt && ok "compress block quantizes" \
  || { bad "compress block"; cat out.txt err.txt; }

expect_fail "no calibration" "needs calibration samples" \
  "$SLIMC" run "$S/lenet/lenet.slim" --passes 'quantize(int8)' --input x="$S/lenet/input.npy"
expect_fail "missing file" "nope.npy" \
  "$SLIMC" run "$S/lenet/lenet.slim" --passes 'quantize(int8, calibrate="nope.npy")' --input x="$S/lenet/input.npy"
expect_fail "wrong dtype" "must be float32" \
  "$SLIMC" run "$S/lenet/lenet.slim" --passes "quantize(int8, calibrate=\"$S/lenet/test_y.npy\")" --input x="$S/lenet/input.npy"
expect_fail "wrong shape" "calibration data" \
  "$SLIMC" run "$S/lenet/lenet.slim" --passes "quantize(int8, calibrate=\"$S/lenet/expected.npy\")" --input x="$S/lenet/input.npy"
expect_fail "unknown method" "unknown method" \
  "$SLIMC" run "$S/lenet/lenet.slim" --passes 'quantize(int8, calibrate="calib.npy", method=kl)' --input x="$S/lenet/input.npy"
finish
