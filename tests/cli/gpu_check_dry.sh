# scripts/gpu_check.sh, the GPU check of issue 15, in its dry run (the emulated CUDA device, a
# tiny model subset): from a bundle made by --pack (what travels to a GPU machine), every
# step runs and the report says what it found; the exit status is 1 exactly when the report
# lists a correctness failure. Then the robustness the GPU run relies on: a step that hangs
# is stopped at its limit and the next step still runs, and a failed comparison makes the
# exit status 1.
source "$(dirname "$0")/lib.bash"
GC=$SLIMC_SOURCE_DIR/scripts/gpu_check.sh
BUILD=$(dirname "$SLIMC")
unset SLIMC_CUDA_EMULATE SLIMC_GPU_CHECK_INJECT SLIMC_GPU_CHECK_STEPS

# the bundle
expect_ok "--pack" bash "$GC" --pack "$BUILD" bundle
[ -x bundle/slimc ] && [ -x bundle/tests/npycmp ] && ok "bundle has slimc and npycmp" || bad "bundle incomplete"
grep -q '"unit_cuda_rt"' bundle/gpu_tests.json && grep -q '"cli_cuda_device"' bundle/gpu_tests.json &&
  ok "bundle lists the CUDA tests" || { bad "gpu_tests.json"; cat bundle/gpu_tests.json; }
ls bundle/lib/libprotobuf-c.so* >/dev/null 2>&1 && ok "bundle carries libprotobuf-c" || bad "no libprotobuf-c in bundle/lib"

# the whole dry run, from the bundle (torch_compile left out: on the CPU it only imports
# torch, seconds that CI's two cores can use better)
SLIMC_GPU_CHECK_WORK=$PWD/work SLIMC_GPU_CHECK_STEPS="env tests prepare compile compare time_slimc placement time_torch gemm" \
  bash "$GC" --dry-run bundle out >run.txt 2>&1
rc=$?
R=out/gpu_results.md
[ -s "$R" ] && ok "gpu_results.md written" || { bad "no report"; tail -30 run.txt; }
[ -s out/gpu_results.json ] && [ -s out/gpu_check.log ] && ok "json and log written" || bad "json or log missing"
for step in env tests prepare compile compare time_slimc placement time_torch gemm; do
  grep -qE "^\| $step \| done \|" "$R" && ok "step $step done" || { bad "step $step: $(grep -E "^\| $step \|" "$R")"; }
done
# within the script's 1e-4, not bit for bit: the CPU's exp and tanh are
# runtime/kernels/vmath.h's, the emulated GPU's are libm's (a real GPU's are CUDA's)
grep -qE '^\| ew \| smoke \| fp32 \| [0-9.]+e[-+][0-9]+ \| 0\.0001 \| ok \|' "$R" &&
  ok "the elementwise model agrees with the CPU" || { bad "ew row"; grep -E '^\| ew' "$R"; }
grep -qE '^\| unit_cuda_rt \| ok \|' "$R" && ok "unit_cuda_rt ran and passed" || { bad "unit_cuda_rt"; grep cuda_rt "$R"; }
grep -qE '^\| mlp \| sample \| fp32 \|' "$R" && ok "mlp compared" || bad "no mlp row"
grep -qE '^\| ew \| 1 \| fp32 \|' "$R" && ok "latency table" || bad "no latency row"
grep -q '^\*\*Compile\*\*' "$R" && grep -q '^\*\*GEMM\*\*' "$R" && ok "compile and GEMM sections" || bad "sections"
grep -qE '^\| ew \| 1 \| no_kernel \| [0-9.]+ \| — \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|' "$R" &&
  ok "the placement table: auto, greedy, predicted" || { bad "no placement row"; grep -A8 Placement "$R"; }
if grep -q '^\*\*Correctness failures:\*\*' "$R"; then
  [ $rc -eq 1 ] && ok "failures listed, exit 1" || bad "failures listed but exit $rc"
else
  grep -q '^All correctness checks passed\.' "$R" && [ $rc -eq 0 ] && ok "all passed, exit 0" || bad "no verdict or exit $rc"
fi

# a hanging step is stopped and the next runs; an injected mismatch fails the run
SLIMC_GPU_CHECK_WORK=$PWD/work2 SLIMC_GPU_CHECK_STEPS="env compare" SLIMC_GPU_CHECK_INJECT=hang:env,mismatch \
  bash "$GC" --dry-run "$BUILD" out2 >run2.txt 2>&1
rc=$?
[ $rc -eq 1 ] && ok "a failed comparison: exit 1" || { bad "exit $rc"; tail -20 run2.txt; }
grep -qE '^\| env \| \*\*stopped at its time limit\*\*' out2/gpu_results.md && ok "the hanging step was stopped" ||
  { bad "env row"; grep -E '^\| env' out2/gpu_results.md; }
grep -qE '^\| compare \| done \|' out2/gpu_results.md && ok "the next step ran" || bad "compare did not run"
grep -qE '^\| ew \| smoke \| fp32 \| inf \| .* \| FAIL \|' out2/gpu_results.md && ok "the mismatch is reported" ||
  { bad "ew row"; grep -E '^\| ew' out2/gpu_results.md; }
grep -qE '^\| tests \| not run \|' out2/gpu_results.md && ok "steps not asked for: not run" || bad "tests row"
finish
