# --device cuda|cpu|auto (and --target, its alias) on a machine as CI has it: no GPU. Running
# on CUDA must fail with a clear message and exit status 1, never crash; auto falls back to
# the CPU with a note; `cache info` names NVRTC. With a GPU (or the emulation: SLIMC_CUDA_EMULATE)
# these expectations do not hold, so the driver is hidden here (SLIMC_LIBCUDA).
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
finish
