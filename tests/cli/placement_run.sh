# Mixed-device models for users, without a GPU (SLIMC_CUDA_EMULATE=1: the kernels run on the
# CPU emulation): --device auto splits a sample between the CPU and the GPU, by pins and by
# the cost model with an op given no CUDA kernel (SLIMC_CUDA_NO_KERNEL); the outputs equal
# PyTorch's; emit shows the copies; build makes an executable and a library of the split
# model (run without a GPU they say so). docs/placement.md, "How a mixed model runs".
source "$(dirname "$0")/lib.bash"
export SLIMC_CUDA_EMULATE=1
L=$S/lenet/lenet.slim
PIPE='qdq,fold,bn_fold,fold,dce,cse,place(conv2, fc1, device=cuda),place,qchain,layout,fuse,dce,memplan'
# tests/data/placement: cpu_fast.json, a CPU far faster than the GPU (only pins go there);
# gpu_fast.json, a GPU far faster than the CPU behind a free link (all that can goes there)
P=$SLIMC_SOURCE_DIR/tests/data/placement

# ---- pins: conv2 and fc1 on the GPU, the rest on the CPU ----
expect_ok "inspect --placement with pins" "$SLIMC" inspect "$L" --device auto \
  --device-profile "$P/cpu_fast.json" --passes "$PIPE" --placement
grep -E "^  conv2 .* cuda +pin" out.txt >/dev/null && grep -E "^  fc1 .* cuda +pin" out.txt >/dev/null \
  && grep -E "^  conv1 .* cpu +cost" out.txt >/dev/null && ok "the pins on the GPU, the rest on the CPU by cost" \
  || { bad "inspect --placement: not the pinned split"; cat out.txt; }
grep -qE "^  transfers: [1-9]" out.txt && ok "transfers counted" || { bad "no transfers"; cat out.txt; }
expect_ok "run the split model" "$SLIMC" run "$L" --input "$S/lenet/input.npy" --device auto \
  --device-profile "$P/cpu_fast.json" --passes "$PIPE" --output-dir pins
"$NPYCMP" pins/output0.npy "$S/lenet/expected.npy" 1e-4 && ok "the split lenet matches PyTorch" \
  || bad "the split lenet differs from PyTorch"
expect_ok "emit the split model" "$SLIMC" emit "$L" --device auto \
  --device-profile "$P/cpu_fast.json" --passes "$PIPE"
grep -q "rt->to_device(rt->ctx" out.txt && grep -q "rt->to_host(rt->ctx" out.txt \
  && grep -q "slimc_model_host_arena_bytes" out.txt && grep -q "the CPU's nodes (the C backend's code)" out.txt \
  && ok "one CUDA file: the CPU's nodes, the copies both ways, the CPU's arena" \
  || bad "emit: not a mixed file"
cp out.txt split.cu
cc -x c -std=c11 -O0 -Wall -Wextra -Werror -c split.cu -o split.o 2>cc.txt \
  && ok "its host half compiles alone with -Wall -Wextra -Werror" || { bad "the host half does not compile"; head -20 cc.txt; }
grep -q "Placed by the place pass (--device auto)" out.txt && grep -q "cpu_fast.json" out.txt \
  && ok "the file records the placement and its profile" || bad "emit: no placement comment"

# ---- the cost model cuts around an op with no CUDA kernel ----
export SLIMC_CUDA_NO_KERNEL=max_pool2d
expect_ok "inspect with max_pool2d CPU-only" "$SLIMC" inspect "$L" --device auto \
  --device-profile "$P/gpu_fast.json" --placement
grep -E "^  max_pool2d0 .* cpu +no kernel" out.txt >/dev/null && grep -E "^  conv1 .* cuda +cost" out.txt >/dev/null \
  && ok "the pools on the CPU (no kernel), the convolutions on the GPU" || { bad "not cut around the pools"; cat out.txt; }
expect_ok "run it" "$SLIMC" run "$L" --input "$S/lenet/input.npy" --device auto \
  --device-profile "$P/gpu_fast.json" --output-dir nok
"$NPYCMP" nok/output0.npy "$S/lenet/expected.npy" 1e-4 && ok "cut around the pools, lenet matches PyTorch" \
  || bad "the cut lenet differs from PyTorch"
expect_fail "--device cuda names the op it cannot run" "max_pool2d0 \(max_pool2d\): no CUDA kernel" \
  "$SLIMC" run "$L" --input "$S/lenet/input.npy" --device cuda
unset SLIMC_CUDA_NO_KERNEL

# ---- pins need --device auto ----
expect_ok "pins with --device cpu" "$SLIMC" run "$L" --input "$S/lenet/input.npy" --device cpu \
  --passes "$PIPE" --output-dir cpu
grep -q "note: place: pins take effect with --device auto; this run puts every node on the cpu" err.txt \
  && ok "--device cpu: the pins are noted, not applied" || { bad "no note about the pins"; cat err.txt; }

# ---- ahead of time (needs NVRTC; the driver is hidden: no GPU) ----
if "$SLIMC" cache info 2>/dev/null | grep -q "^nvrtc: [0-9]"; then
  export SLIMC_LIBCUDA=libcuda-hidden-by-the-test.so.1
  expect_ok "build the split model" "$SLIMC" build "$L" --device auto --device-profile "$P/cpu_fast.json" \
    --passes "$PIPE" -o split.bin
  expect_fail "the executable without a GPU" "no CUDA device found" ./split.bin --input "$S/lenet/input.npy"
  expect_ok "build --lib of the split model" "$SLIMC" build "$L" --device auto --device-profile "$P/cpu_fast.json" \
    --passes "$PIPE" --lib -o splitlib
  ls splitlib/*.a >/dev/null 2>&1 && ok "a library" || { bad "no library"; ls splitlib; }
else
  echo "skip: NVRTC not found: no build checks"
fi
finish
