# `slimc build`: a standalone executable with the weights embedded.
source "$(dirname "$0")/lib.bash"

expect_ok "build lenet" "$SLIMC" build "$S/lenet/lenet.slim" -o lenet
[ -x lenet ] && ok "executable written" || bad "no executable"
expect_ok "executable runs" ./lenet --input x="$S/lenet/input.npy" --output-dir out
"$NPYCMP" out/output0.npy "$S/lenet/expected.npy" 1e-4 && ok "executable matches PyTorch" || bad "executable output"
# It needs nothing of slimc: move it away from the build and the samples.
mkdir -p elsewhere && cp lenet elsewhere/ && cp "$S/lenet/input.npy" elsewhere/
(cd elsewhere && ./lenet --input input.npy --output-dir o2 --threads 2 >/dev/null) && ok "runs on its own" || bad "standalone run"
"$NPYCMP" elsewhere/o2/output0.npy "$S/lenet/expected.npy" 1e-4 >/dev/null && ok "standalone output" || bad "standalone output"
expect_ok "--help" ./lenet --help
grep -q "x: f32\[N, 1, 28, 28\]" out.txt && ok "--help lists inputs" || bad "--help text"
expect_ok "--bench" ./lenet --input "$S/lenet/input.npy" --bench 5
grep -q "median" out.txt && ok "--bench prints the median" || bad "--bench output"
expect_fail "executable: wrong shape" "input 'x': expected f32\[N, 1, 28, 28\], got f32\[4, 784\]: wrong rank" ./lenet --input "$S/mlp/input.npy"
expect_fail "executable: missing input" "missing --input x" ./lenet
expect_fail "executable: unknown option" "unknown option" ./lenet --frobnicate 1

expect_ok "build resnet_tiny --cpu native --threads 2 --time" "$SLIMC" build "$S/resnet_tiny/resnet_tiny.slim" -o rn --cpu native --time
grep -q "time: parse" err.txt && ok "build --time" || bad "build --time"
./rn --input "$S/resnet_tiny/input.npy" --output-dir rno >/dev/null && "$NPYCMP" rno/output0.npy "$S/resnet_tiny/expected.npy" 1e-4 >/dev/null \
  && ok "resnet_tiny executable matches PyTorch" || bad "resnet_tiny executable"
expect_ok "build textcls" "$SLIMC" build "$S/textcls/textcls.slim" -o tc
./tc --input "$S/textcls/input.npy" --output-dir tco >/dev/null && "$NPYCMP" tco/probs.npy "$S/textcls/expected.npy" 1e-4 >/dev/null \
  && ok "textcls executable matches PyTorch" || bad "textcls executable"
finish
