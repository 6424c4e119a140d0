# Static int8 (docs/quantization.md): quantize on the command line and in a compress block,
# paths relative to the working directory or the model file, weights ~4x smaller in
# inspect --memory, outputs close to fp32, and clear errors for bad calibration data.
source "$(dirname "$0")/lib.bash"
# These checks expect every layer of lenet in int8. Whether a layer quantizes depends on the
# CPU (the cost model keeps a small-K conv float where int8 convs run without VNNI:
# tests/cli/quant_cpu.sh), so every slimc call here pins a profile without that penalty.
PIN=$SLIMC_SOURCE_DIR/tests/data/profile_int8_fast.json
slimc_pinned() { "$SLIMC_BIN" "$1" --device-profile "$PIN" "${@:2}"; }
SLIMC_BIN=$SLIMC
SLIMC=slimc_pinned

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
expect_fail "wrong dtype" "input .x. is f32, but its calibration data is i64" \
  "$SLIMC" run "$S/lenet/lenet.slim" --passes "quantize(int8, calibrate=\"$S/lenet/test_y.npy\")" --input x="$S/lenet/input.npy"
expect_fail "wrong shape" "calibration data" \
  "$SLIMC" run "$S/lenet/lenet.slim" --passes "quantize(int8, calibrate=\"$S/lenet/expected.npy\")" --input x="$S/lenet/input.npy"
expect_fail "unknown method" "unknown method" \
  "$SLIMC" run "$S/lenet/lenet.slim" --passes 'quantize(int8, calibrate="calib.npy", method=kl)' --input x="$S/lenet/input.npy"
# the accuracy guard on the first 120 held-out digits (sliced without numpy)
python3 - "$S/lenet/test_x.npy" "$S/lenet/test_y.npy" <<'PY'
import ast, struct, sys
for src, dst in zip(sys.argv[1:], ("val_x.npy", "val_y.npy")):
    b = open(src, "rb").read()
    hl = struct.unpack("<H", b[8:10])[0]; h = ast.literal_eval(b[10:10 + hl].decode())
    shape = h["shape"]; per = 1
    for d in shape[1:]: per *= d
    item = int(h["descr"][2:]); n = 120
    h["shape"] = (n,) + tuple(shape[1:])
    hdr = repr(h).encode(); hdr += b" " * (-(10 + len(hdr) + 1) % 64) + b"\n"
    open(dst, "wb").write(b[:8] + struct.pack("<H", len(hdr)) + hdr + b[10 + hl:10 + hl + n * per * item])
PY
G='fold,quantize(int8, calibrate="calib.npy", method=entropy, max_drop=0, validate="val_x.npy"),fuse,memplan'
expect_ok "guard: agreement, max_drop=0" "$SLIMC" inspect "$S/lenet/lenet.slim" --quant --passes "$G"
grep -qE "top-1 agreement 100.00% fp32, 100.00% with 3 of 4 layers int8" err.txt \
  && ok "guard keeps one layer float to meet the budget" || { bad "guard note"; cat err.txt; }
[ "$(grep -cE "conv2d +f32\[.*float: kept by the accuracy guard \(float alone, it recovers [0-9.]+ points\)" out.txt)" = 1 ] \
  && grep -qE "qconv2d +i8\[.*w.error [0-9.]+%  x: u8 scale" out.txt \
  && grep -q "3 layers quantized, 1 float" out.txt && ok "inspect --quant shows which layer and why" \
  || { bad "inspect --quant"; cat out.txt; }
expect_ok "guard: labels, met with all int8" "$SLIMC" inspect "$S/lenet/lenet.slim" --quant --passes \
  'fold,quantize(int8, calibrate="calib.npy", max_drop=0.5%, validate="val_x.npy", labels="val_y.npy"),fuse,memplan'
grep -q "top-1 accuracy .* with 4 of 4 layers int8" err.txt && grep -q "4 layers quantized, 0 float" out.txt \
  && ok "budget met: every layer int8" || { bad "guard with labels"; cat err.txt out.txt; }
expect_fail "guard: budget that cannot be met" "max_drop=0% cannot be met .* layers float \(.*\): points each recovers alone" \
  "$SLIMC" inspect "$S/lenet/lenet.slim" --quant --passes \
  'fold,quantize(int8, calibrate="calib.npy", method=percentile(50), max_drop=0, validate="val_x.npy"),fuse,memplan'
expect_fail "guard: no validation data" "max_drop needs validation samples" \
  "$SLIMC" inspect "$S/lenet/lenet.slim" --quant --passes 'quantize(int8, calibrate="calib.npy", max_drop=1%)'
expect_fail "guard: labels of the wrong length" "one per validation sample" \
  "$SLIMC" inspect "$S/lenet/lenet.slim" --quant --passes \
  "quantize(int8, calibrate=\"calib.npy\", max_drop=1%, validate=\"val_x.npy\", labels=\"$S/lenet/test_y.npy\")"
expect_fail "guard: max_drop out of range" "max_drop is a fraction" \
  "$SLIMC" inspect "$S/lenet/lenet.slim" --quant --passes 'quantize(int8, calibrate="calib.npy", max_drop=5, validate="val_x.npy")'
# calibration (and the guard) run the model through the JIT; the plain-loop evaluator
# (SLIMC_CALIBRATE_REFERENCE=1) sees the same activations up to f32 rounding (FMA, sum
# order), so the parameters, and the int8 outputs, agree to within a rounding step
for m in minmax entropy; do
  P="fold,bn_fold,quantize(int8, calibrate=\"calib.npy\", method=$m),dce,layout,fuse,memplan"
  expect_ok "calibrate $m (JIT)" "$SLIMC" run "$S/lenet/lenet.slim" --input x="$S/lenet/test_x.npy" --passes "$P" --output-dir cj
  expect_ok "calibrate $m (reference)" env SLIMC_CALIBRATE_REFERENCE=1 "$SLIMC_BIN" run --device-profile "$PIN" "$S/lenet/lenet.slim" \
    --input x="$S/lenet/test_x.npy" --passes "$P" --output-dir cr
  "$NPYCMP" cj/output0.npy cr/output0.npy 0.001 && ok "$m: JIT calibration ~ reference calibration" || bad "$m: calibrations differ"
done
finish
