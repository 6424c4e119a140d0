#!/usr/bin/env bash
# The CUDA backend on a real GPU, in one prepared run (issue 15; docs/cuda.md, "Checking on
# a GPU"): the CUDA tests on the device, every sample and bench model on CUDA against the
# CPU, and slimc against PyTorch (latency, GEMM, compile time), in under 8 minutes.
#
#   scripts/gpu_check.sh [--dry-run] BUILD_DIR OUT_DIR
#   scripts/gpu_check.sh --pack BUILD_DIR BUNDLE_DIR
#
# BUILD_DIR: slimc's build folder, or a bundle made by --pack (what travels to a GPU machine
# that reaches no package registry: build here, pack, carry the bundle). OUT_DIR receives
# gpu_results.md (ready for bench/RESULTS.md), gpu_results.json and gpu_check.log.
#
# --dry-run (or SLIMC_GPU_CHECK_DRY=1): the same script on the emulated CUDA device
# (SLIMC_CUDA_EMULATE=1), a tiny model subset, PyTorch on the CPU if there is one; about a
# minute (tests/cli/gpu_check_dry.sh runs it in CI).
#
# Each step runs in its own process under a time limit (and the whole under
# SLIMC_GPU_CHECK_BUDGET seconds, default 450); a step that fails or runs out of time is
# reported and the next one runs. Exit status: 1 when a correctness check (the tests, a
# comparison with the CPU) failed or did not finish, else 0; timings never fail the run.
# Scratch: SLIMC_GPU_CHECK_WORK (default: a new folder under /tmp). SLIMC_GPU_CHECK_STEPS="env
# compare ..." runs only those steps. Test hooks (SLIMC_GPU_CHECK_INJECT, comma-separated):
# hang:STEP (STEP sleeps until its limit), mismatch (the first comparison fails).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
dry=${SLIMC_GPU_CHECK_DRY:-0}
pack=0
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry=1; shift ;;
    --pack) pack=1; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu_check.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -ne 2 ]; then
  echo "usage: scripts/gpu_check.sh [--dry-run] BUILD_DIR OUT_DIR | --pack BUILD_DIR BUNDLE_DIR" >&2
  exit 2
fi
build=$(cd "$1" 2>/dev/null && pwd) || { echo "gpu_check.sh: $1: no such folder" >&2; exit 2; }
if [ $pack = 1 ]; then
  exec python3 "$here/gpu_check.py" pack "$build" "$2"
fi
[ -x "$build/slimc" ] || { echo "gpu_check.sh: no slimc in $build (build it, or --pack a bundle)" >&2; exit 2; }
mkdir -p "$2" && out=$(cd "$2" && pwd)
work=${SLIMC_GPU_CHECK_WORK:-$(mktemp -d /tmp/slimc_gpu_check.XXXXXX)}
mkdir -p "$work/steps"
: >"$work/steps/status.txt"

# Pythons: numpy for every step; torch (CUDA on a GPU run) for the PyTorch steps. On the GPU
# machine python3 has both; here the pip python3 has numpy and Debian's /usr/bin/python3 torch.
py=python3
tpy=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import torch, numpy' 2>/dev/null; then tpy=$p; break; fi
done
[ -n "$tpy" ] || tpy=$py

if [ "$dry" = 1 ]; then budget=${SLIMC_GPU_CHECK_BUDGET:-150}; else budget=${SLIMC_GPU_CHECK_BUDGET:-450}; fi
start=$(date +%s)
deadline=$((start + budget))
export GC_ROOT=$root GC_BUILD=$build GC_WORK=$work GC_OUT=$out GC_DRY=$dry \
  GC_INJECT=${SLIMC_GPU_CHECK_INJECT:-} GC_DEADLINE=$deadline PYTHONUNBUFFERED=1

# step  limit-on-a-GPU  limit-dry  python
steps=(
  "env 20 6 py"
  "tests 110 30 py"
  "prepare 70 25 tpy"
  "compile 45 20 py"
  "compare 110 45 py"
  "time_slimc 70 20 py"
  "placement 60 30 py"
  "time_torch 50 20 tpy"
  "gemm 30 25 tpy"
  "torch_compile 120 20 tpy"
)
reserve=10 # for the report
log=$out/gpu_check.log
: >"$log"
echo "gpu_check: build $build, work $work, out $out, budget ${budget}s$([ "$dry" = 1 ] && echo ', DRY RUN (emulated device)')" | tee -a "$log"
for s in "${steps[@]}"; do
  read -r name lim_gpu lim_dry which <<<"$s"
  if [ -n "${SLIMC_GPU_CHECK_STEPS:-}" ] && [[ " $SLIMC_GPU_CHECK_STEPS " != *" $name "* ]]; then
    continue # not asked for: "not run" in the report
  fi
  lim=$([ "$dry" = 1 ] && echo "$lim_dry" || echo "$lim_gpu")
  now=$(date +%s)
  left=$((deadline - reserve - now))
  [ $lim -gt $left ] && lim=$left
  if [ $lim -lt 5 ]; then
    echo "== $name: skipped, no time left" | tee -a "$log"
    echo "$name 125 0" >>"$work/steps/status.txt"
    continue
  fi
  interp=$([ "$which" = tpy ] && echo "$tpy" || echo "$py")
  echo "== $name (at most ${lim}s, $interp)" | tee -a "$log"
  t0=$(date +%s.%N)
  # the step's own deadline, for its subprocesses
  GC_DEADLINE=$(( $(date +%s) + lim )) timeout -k 5 "$lim" "$interp" "$here/gpu_check.py" "$name" \
    >"$work/steps/$name.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  secs=$(python3 -c "print('%.1f' % ($t1 - $t0))")
  echo "$name $rc $secs" >>"$work/steps/status.txt"
  tail -c 20000 "$work/steps/$name.log" >>"$log"
  case $rc in
    0) echo "== $name: done in ${secs}s" | tee -a "$log" ;;
    124|137) echo "== $name: STOPPED at its limit of ${lim}s" | tee -a "$log" ;;
    *) echo "== $name: FAILED (exit $rc) after ${secs}s; see $log" | tee -a "$log" ;;
  esac
done
"$py" "$here/gpu_check.py" report 2>>"$log"
status=$?
echo "gpu_check: $( [ $status = 0 ] && echo 'all correctness checks passed' || echo 'CORRECTNESS FAILURES (see the report)'); results in $out/gpu_results.md; $(( $(date +%s) - start ))s in all" | tee -a "$log"
exit $status
