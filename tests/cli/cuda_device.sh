# --device cuda|cpu|auto (and --target, its alias) on a machine as CI has it: no GPU. Running
# on CUDA must fail with a clear message and exit status 1, never crash; auto falls back to
# the CPU with a note; `cache info` names NVRTC. With a GPU these expectations do not hold, so
# the driver is hidden here (SLIMC_LIBCUDA). Last, SLIMC_CUDA_EMULATE=1 runs a model through
# the CUDA backend on the CPU emulation, against numpy.
source "$(dirname "$0")/lib.bash"
M=$S/mlp
export SLIMC_LIBCUDA=libcuda-hidden-by-the-test.so.1
unset SLIMC_CUDA_EMULATE

expect_fail "run --device cuda without a GPU" "^slimc: error: no CUDA device found \(no CUDA driver" \
  "$SLIMC" run "$M/mlp.slim" --input "$M/input.npy" --device cuda
[ "$(wc -l < err.txt)" -eq 1 ] && ok "one line" || { bad "more than the error"; cat err.txt; }
grep -q "SLIMC_CUDA_EMULATE=1" err.txt && ok "names the emulation" || bad "no hint at the emulation"

expect_fail "--target cuda is the same" "^slimc: error: no CUDA device found" \
  "$SLIMC" run "$M/mlp.slim" --input "$M/input.npy" --target cuda
expect_fail "bench --device cuda" "^slimc: error: no CUDA device found" \
  "$SLIMC" bench "$M/mlp.slim" --runs 1 --device cuda
expect_fail "a device that is not one" "--device takes cpu, cuda or auto, not 'gpu'" \
  "$SLIMC" run "$M/mlp.slim" --input "$M/input.npy" --device gpu
# (slimc build --device cuda: tests/cli/cuda_build.sh)

# cpu and auto run, and agree with the expected output
for dev in cpu auto; do
  expect_ok "run --device $dev" "$SLIMC" run "$M/mlp.slim" --input "$M/input.npy" --device "$dev" --output-dir "out_$dev"
  "$NPYCMP" "out_$dev/output0.npy" "$M/expected.npy" >cmp.txt 2>&1 && ok "$dev: output matches" || { bad "$dev: output differs"; cat cmp.txt; }
done
"$SLIMC" run "$M/mlp.slim" --input "$M/input.npy" --device auto >out.txt 2>err.txt
grep -q "note: --device auto: running on the CPU (no CUDA device" err.txt && ok "auto says why it runs on the CPU" || { bad "auto: no note"; cat err.txt; }
expect_ok "--target cpu still works" "$SLIMC" run "$M/mlp.slim" --input "$M/input.npy" --target cpu

"$SLIMC" cache info >out.txt 2>&1
grep -qE "^entries: [0-9]+ \([0-9]+ of them CUDA PTX/cubin\)" out.txt && ok "cache info counts CUDA entries" || { bad "cache info"; cat out.txt; }
grep -qE "^nvrtc: " out.txt && ok "cache info names NVRTC" || { bad "cache info: no nvrtc line"; cat out.txt; }

# The emulation: the CUDA backend's file, compiled as C with runtime/cuda_emu.h, run on the CPU.
cat > ew.slim <<'SLIM'
model ew(x: f32[N, 5]) -> f32[N, 5]
    return tanh(relu(x) * 0.5)
SLIM
python3 - <<'PY'
import numpy as np
x = (np.arange(35, dtype=np.float32).reshape(7, 5) - 11.0) / 3.0
np.save("ew_in.npy", x)
np.save("ew_want.npy", np.tanh(np.maximum(x, 0) * np.float32(0.5)).astype(np.float32))
PY
expect_ok "emulated: run --device cuda" env SLIMC_CUDA_EMULATE=1 "$SLIMC" run ew.slim --input ew_in.npy --device cuda --output-dir emu
"$NPYCMP" emu/output0.npy ew_want.npy >cmp.txt 2>&1 && ok "emulated: output matches numpy" || { bad "emulated: output differs"; cat cmp.txt; }
SLIMC_CUDA_EMULATE=1 "$SLIMC" bench ew.slim --runs 3 --device cuda >out.txt 2>err.txt
grep -q "median .* over 3 runs (on emulated CUDA device (CPU))" out.txt && ok "emulated: bench names the device" || { bad "emulated bench"; cat out.txt err.txt; }
# auto with the emulation: the place pass decides (docs/placement.md); a profile whose GPU is
# far faster than the CPU behind a free link puts the whole model there
SLIMC_CUDA_EMULATE=1 "$SLIMC" run ew.slim --input ew_in.npy --device auto >out.txt 2>err.txt
grep -q "note: --device auto: no device profile was measured here" err.txt && ok "auto without a profile: the built-in one, a note" || { bad "auto: no note about the profile"; cat err.txt; }
SLIMC_CUDA_EMULATE=1 "$SLIMC" bench ew.slim --runs 3 --device auto --device-profile "$SLIMC_SOURCE_DIR/tests/data/placement/gpu_fast.json" >out.txt 2>err.txt
grep -q "on emulated CUDA device (CPU))" out.txt && ok "auto with a GPU-fast profile: the whole model on the (emulated) GPU" || { bad "auto did not take the emulated device"; cat out.txt err.txt; }
grep -q "note: --device auto" err.txt && { bad "auto with a given profile: a note"; cat err.txt; } || ok "auto with a given profile: no note"
finish
