# Hostile calibration data (docs/quantization.md, "Calibration"): NaN or Inf in the
# calibration or validation samples is an error naming the file and the first bad element;
# a layer whose input has a zero range (constant or all-zero data) or an absurd int8 scale
# (data scaled by 1e30, or denormal) is a warning naming the layer, and an error naming
# the file when every layer is so; the sample's own calibration file stays silent.
source "$(dirname "$0")/lib.bash"

python3 - "$S/lenet/calib.npy" <<'PY' || { bad "making the .npy files (numpy)"; finish; exit; }
import sys
import numpy as np
c = np.load(sys.argv[1])                      # [64, 1, 28, 28] f32
def save(name, a): np.save(name, np.ascontiguousarray(a, dtype=np.float32))
a = c.copy(); a[3, 0, 5, 7] = np.nan; save("nan.npy", a)
a = c.copy(); a[0, 0, 0, 2] = -np.inf; save("inf.npy", a)
save("zeros.npy", np.zeros_like(c))
save("const.npy", np.full_like(c, 0.5))
save("huge.npy", c * 1e30)
save("tiny.npy", c * 1e-42)                   # denormal f32
PY

# lenet through quantize with that calibration file, every layer int8 on any CPU (the profile
# pinned has no small-K penalty: conv1, which reads the calibration data itself, stays in)
run_q() { # run_q CALIB [MORE_ARGS]
  "$SLIMC" run "$S/lenet/lenet.slim" --input x="$S/lenet/input.npy" --output-dir out \
    --device-profile "$SLIMC_SOURCE_DIR/tests/data/profile_int8_fast.json" \
    --passes "fold,quantize(int8, calibrate=\"$1\"${2:-}),dce,qchain,layout,fuse,memplan"
}

expect_ok "the sample's calibration file" run_q "$S/lenet/calib.npy"
if grep -qiE "warning|error" err.txt; then bad "a normal calibration file is not silent"; cat err.txt
else ok "a normal calibration file stays silent"; fi

expect_fail "NaN in the calibration data" \
  "error: quantize: nan\.npy: the calibration data holds NaN at element 2499 \(index \[3, 0, 5, 7\]\)" \
  run_q nan.npy
expect_fail "Inf in the calibration data" \
  "inf\.npy: the calibration data holds Inf at element 2 \(index \[0, 0, 0, 2\]\)" run_q inf.npy
expect_fail "Inf in the validation data" \
  "inf\.npy: the validation data holds Inf at element 2 \(index \[0, 0, 0, 2\]\)" \
  run_q "$S/lenet/calib.npy" ', max_drop=1%, validate="inf.npy"'

# all zeros: conv1 reads 0 everywhere; the later layers see the biases, so only a warning
expect_ok "all-zero calibration data" run_q zeros.npy
grep -qE "warning: quantize: conv2d '[^']+': its input 'x' is 0 in every calibration sample \(a zero range\).*zeros\.npy" err.txt \
  && [ "$(grep -c warning: err.txt)" = 1 ] && ok "zero range: a warning naming the layer" \
  || { bad "zero-range warning"; cat err.txt; }
expect_ok "constant calibration data" run_q const.npy
grep -qE "warning: quantize: conv2d '[^']+': its input 'x' is 0.5 in every calibration sample" err.txt \
  && ok "constant input: a warning naming the layer" || { bad "constant warning"; cat err.txt; }

expect_ok "denormal calibration data" run_q tiny.npy
grep -qE "warning: quantize: conv2d '[^']+': the int8 scale of its input 'x' would be [0-9.e+-]+ \(range" err.txt \
  && ok "denormal scale: a warning naming the layer" || { bad "denormal warning"; cat err.txt; }

# scaled by 1e30: every layer's scale is over 1e15, so the data is useless: an error
expect_fail "calibration data scaled by 1e30" \
  "error: quantize: huge\.npy: the calibration data gives no usable int8 range for any of the 4" \
  run_q huge.npy
[ "$(grep -cE "warning: quantize: (conv2d|linear) '[^']+': the int8 scale of its input '[^']+' would be" err.txt)" = 4 ] \
  && ok "1e30: each layer named" || { bad "1e30 warnings"; cat err.txt; }

finish
