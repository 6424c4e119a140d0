# --target-triple: lenet built for aarch64 (an executable and a library), run under
# qemu-user, outputs compared with PyTorch's. Needs Debian's gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross and qemu-user (scripts/install-deps.sh installs them).
source "$(dirname "$0")/lib.bash"
L=$S/lenet
T=aarch64-linux-gnu
QEMU="qemu-aarch64 -L /usr/$T"
for tool in $T-gcc qemu-aarch64; do
  command -v $tool >/dev/null || { bad "$tool is not installed (run scripts/install-deps.sh)"; finish; exit; }
done

expect_ok "build --target-triple $T" "$SLIMC" build "$L/lenet.slim" -o lenet-arm --target-triple $T
file lenet-arm | grep -q "ARM aarch64" && ok "an aarch64 executable" || { bad "not aarch64"; file lenet-arm; }
expect_ok "runs under qemu-user" $QEMU ./lenet-arm --input "$L/input.npy" --output-dir out --threads 2
"$NPYCMP" out/output0.npy "$L/expected.npy" 1e-4 >/dev/null && ok "aarch64 output matches PyTorch" || bad "aarch64 output"

expect_ok "build --lib --target-triple $T" "$SLIMC" build "$L/lenet.slim" --lib -o lib --target-triple $T
expect_ok "link a program for $T" $T-gcc -std=c11 -O1 -I lib "$SLIMC_SOURCE_DIR/tests/cli/lenet_lib_main.c" lib/liblenet.a \
  -lpthread -lm -o prog-arm
expect_ok "library program runs under qemu-user" $QEMU ./prog-arm "$L/input.npy" y.npy
"$NPYCMP" y.npy "$L/expected.npy" 1e-4 >/dev/null && ok "aarch64 library output matches PyTorch" || bad "aarch64 library output"

expect_fail "unknown target" "no C compiler for target 'nosuch-linux-gnu'" "$SLIMC" build "$L/lenet.slim" -o x --target-triple nosuch-linux-gnu
expect_fail "not a triple" "is not a target triple" "$SLIMC" build "$L/lenet.slim" -o x --target-triple 'a b;c'
[ ! -e x ] && ok "no output left behind" || bad "half-written output"
finish
