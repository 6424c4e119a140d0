# Static int8 on CPUs whose int8 convs are slow at small K (issue 19; docs/quantization.md,
# "Which layers stay float"): with a profile of an AVX2 CPU without VNNI pinned, lenet's conv1
# (K = 25) stays float, inspect --quant says why with both predicted times, and conv2
# (K = 500) quantizes; with a profile whose int8 convs run on VNNI, both quantize. The
# profiles are pinned, so the checks hold on any CPU.
source "$(dirname "$0")/lib.bash"

L=$S/lenet
NOVNNI=$SLIMC_SOURCE_DIR/tests/data/profile_avx2_novnni.json
FAST=$SLIMC_SOURCE_DIR/tests/data/profile_int8_fast.json

# without VNNI: conv1 float (why, and both times), conv2 and the linears int8
expect_ok "inspect --quant, AVX2 without VNNI pinned" "$SLIMC" inspect "$L/lenet.slim" --quant \
  --device-profile "$NOVNNI" --quantize int8 --calibrate "$L/calib.npy"
grep -qE "^  conv1 +conv2d .*float: int8 predicted slower \(([0-9.e-]+) ms int8 vs ([0-9.e-]+) ms float, cost model: K=25 is a small K for int8 convs" out.txt \
  && ok "conv1 stays float, with the reason" || { bad "conv1 not float with its reason"; cat out.txt; }
# the two times: int8 1.3x the float one (the profile's vs_f32)
sed -nE 's/.*conv1 .*\(([0-9.e-]+) ms int8 vs ([0-9.e-]+) ms float.*/\1 \2/p' out.txt > times.txt
python3 -c "
import sys
q, f = map(float, open('times.txt').read().split())
sys.exit(0 if f > 0 and abs(q / f - 1.3) < 0.01 else 1)" && ok "int8 predicted at 1.3x float" \
  || { bad "predicted times"; cat times.txt; }
grep -qE "^  conv2 +qconv2d" out.txt && ok "conv2 (K=500) quantizes" || { bad "conv2 not int8"; cat out.txt; }
grep -q "3 layers quantized, 1 float" out.txt && ok "3 of 4 int8" || { bad "count"; cat out.txt; }
grep -q "quantize(int8): 3 of 4 layers quantized (the others kept float on purpose" err.txt \
  && ok "the note names the choice" || { bad "note"; cat err.txt; }

# and it runs: outputs within int8 noise of PyTorch's fp32
expect_ok "run int8 without VNNI pinned" "$SLIMC" run "$L/lenet.slim" --device-profile "$NOVNNI" \
  --quantize int8 --calibrate "$L/calib.npy" --input x="$L/input.npy" --output-dir nv
"$NPYCMP" nv/output0.npy "$L/expected.npy" 0.05 && ok "close to fp32" || bad "far from fp32"

# with VNNI: every layer int8
expect_ok "inspect --quant, VNNI pinned" "$SLIMC" inspect "$L/lenet.slim" --quant \
  --device-profile "$FAST" --quantize int8 --calibrate "$L/calib.npy"
grep -qE "^  conv1 +qconv2d" out.txt && grep -qE "^  conv2 +qconv2d" out.txt \
  && grep -q "4 layers quantized, 0 float" out.txt && ok "both convs quantize" \
  || { bad "not every layer int8 with VNNI"; cat out.txt; }

# compress makes the same choice from the profile it is given (slimc_model_compress_with)
expect_ok "compress, AVX2 without VNNI pinned" "$SLIMC" compress "$L/lenet.slim" --quantize int8 \
  --calibrate "$L/calib.npy" --device-profile "$NOVNNI" -o nv.slim
grep -qE "^ +conv1 = Conv2d\(" nv.slim && grep -qE "^ +conv2 = QuantConv2d\(" nv.slim \
  && ok "compress: conv1 float, conv2 int8" || { bad "compress without VNNI"; cat nv.slim; }
expect_ok "compress, VNNI pinned" "$SLIMC" compress "$L/lenet.slim" --quantize int8 \
  --calibrate "$L/calib.npy" --device-profile "$FAST" -o fast.slim
grep -qE "^ +conv1 = QuantConv2d\(" fast.slim && grep -qE "^ +conv2 = QuantConv2d\(" fast.slim \
  && ok "compress: both convs int8" || { bad "compress with VNNI"; cat fast.slim; }
expect_ok "the compressed model runs" "$SLIMC" run nv.slim --input x="$L/input.npy" --output-dir nvc
"$NPYCMP" nvc/output0.npy "$L/expected.npy" 0.05 && ok "compressed: close to fp32" || bad "compressed: far"
expect_fail "compress: a missing profile" "nosuch.json.*error|error.*nosuch.json" "$SLIMC" compress "$L/lenet.slim" --quantize int8 \
  --calibrate "$L/calib.npy" --device-profile nosuch.json -o x.slim

# the profile states it, and a mistake in it is an error with its place
expect_ok "profile --show" "$SLIMC" profile-device --show --device-profile "$NOVNNI"
grep -qE "^int8_small_k +K<64 +x1.3" out.txt && ok "--show prints int8_small_k" || { bad "--show"; cat out.txt; }
sed 's/"vs_f32": 1.3/"vs_f32": "1.3"/' "$NOVNNI" > bad.json
expect_fail "a bad int8_small_k" "bad.json:7:64: error: devices.cpu.int8_small_k.vs_f32: expected a number" \
  "$SLIMC" inspect "$L/lenet.slim" --quant --device-profile bad.json --quantize int8 --calibrate "$L/calib.npy"
# a profile without it (written before it) still loads: the host's default
expect_ok "an older profile loads" "$SLIMC" profile-device --show \
  --device-profile "$SLIMC_SOURCE_DIR/tests/data/placement/cpu_fast.json"
grep -qE "^int8_small_k +(K<64 +x1.3|none)" out.txt && ok "older profile: the host default" || { bad "older profile"; cat out.txt; }
finish
