#!/usr/bin/env bash
# inspect's outputs have one documented form per flag: --ir says which IR it shows (as
# loaded, or after the pipeline that --memory/--quant/--placement/--passes run); --dot is
# DOT alone whatever else is asked; --quant shows a layer's weight in PyTorch's shape
# ([out, in] for a linear), not the layout the kernels packed it into.
source "$(dirname "$0")/lib.bash"
L=$S/lenet
expect_ok "--ir" "$SLIMC" inspect "$L/lenet.slim" --ir
grep -q "^# the IR as loaded$" out.txt && grep -q " relu" out.txt && ok "--ir alone: as loaded (relu nodes still there)" || bad "--ir header"
expect_ok "--ir --memory" "$SLIMC" inspect "$L/lenet.slim" --ir --memory
grep -q "^# the IR after the pass pipeline" out.txt && ok "--ir --memory: after the pipeline, and says so" || bad "--ir --memory header"
expect_ok "--dot --memory" "$SLIMC" inspect "$L/lenet.slim" --dot --memory --flops
head -1 out.txt | grep -q "^digraph" && ! grep -qE "^(memory|flops|model)" out.txt && tail -1 out.txt | grep -q "^}" \
  && ok "--dot is DOT alone" || { bad "--dot mixed with text"; head -3 out.txt; }
if command -v dot >/dev/null; then dot -Tsvg out.txt >/dev/null 2>&1 && ok "dot parses it" || bad "dot rejects it"; fi
P="quantize(int8, calibrate=\"$L/calib.npy\"),fold,dce,layout,fuse,memplan"
expect_ok "--quant after layout" "$SLIMC" inspect "$L/lenet.slim" --quant --passes "$P"
grep -qE "^  fc1 +qlinear +i8\[500, 800\] " out.txt && grep -qE "^  fc2 +qlinear +i8\[10, 500\] " out.txt \
  && grep -qE "^  conv2 +qconv2d +i8\[50, 20, 5, 5\]" out.txt && ok "--quant: the layers' shapes" || { bad "--quant shapes"; cat out.txt; }
finish
