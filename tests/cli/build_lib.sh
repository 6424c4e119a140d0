# `slimc build --lib`: a header and a static library that a C program links.
source "$(dirname "$0")/lib.bash"
L=$S/lenet
MAIN=$SLIMC_SOURCE_DIR/tests/cli/lenet_lib_main.c
CFLAGS="-std=c11 -Wall -Wextra -Werror -O1"

expect_ok "build --lib" "$SLIMC" build "$L/lenet.slim" --lib -o lib --emit-source
[ -f lib/lenet.h ] && [ -f lib/liblenet.a ] && [ -f lib/lenet.c ] && ok "lenet.h, liblenet.a, lenet.c written" || bad "library files"
grep -q "LENET_ARENA_BYTES(N)" lib/lenet.h && grep -q "LENET_FORMAT_VERSION" lib/lenet.h && ok "header macros" || bad "header macros"
# The 1.7 MB of weights are linked with .incbin, never written out as C literals (the
# source is the runtime's kernels, about 400 KB, and the model's code).
[ "$(stat -c %s lib/lenet.c)" -lt 500000 ] && ok "no weight literals in the source" || bad "weights as C array literals"
expect_ok "a C program links the library" cc $CFLAGS -I lib "$MAIN" lib/liblenet.a -lpthread -lm -o prog
expect_ok "it runs" ./prog "$L/input.npy" y.npy
"$NPYCMP" y.npy "$L/expected.npy" 1e-4 >/dev/null && ok "library output matches PyTorch" || bad "library output"

expect_ok "build --lib --weights-file --name digits" "$SLIMC" build "$L/lenet.slim" --lib -o lib2 --weights-file --name digits
[ -f lib2/digits.h ] && [ -f lib2/libdigits.a ] && [ -f lib2/digits.weights ] && [ ! -f lib2/digits.c ] && ok "side weights file" || bad "side files"
sed -e 's/lenet/digits/g; s/LENET/DIGITS/g' "$MAIN" > main2.c
expect_ok "program against the --weights-file library" cc $CFLAGS -I lib2 main2.c lib2/libdigits.a -lpthread -lm -o prog2
expect_ok "it runs with the weights file" ./prog2 "$L/input.npy" y2.npy lib2/digits.weights
"$NPYCMP" y2.npy "$L/expected.npy" 1e-4 >/dev/null && ok "side-weights output matches PyTorch" || bad "side-weights output"
expect_fail "missing weights file" "lenet_init failed|digits_init failed" ./prog2 "$L/input.npy" y3.npy /nonexistent.weights

expect_fail "bad --name" "not a C identifier" "$SLIMC" build "$L/lenet.slim" --lib -o lib3 --name 9bad
expect_fail "--emit-source without --lib" "go with --lib" "$SLIMC" build "$L/lenet.slim" -o x --emit-source
expect_fail "executable: unwritable output path" "cannot write '/proc/nope/x'" "$SLIMC" build "$L/lenet.slim" -o /proc/nope/x
expect_fail "unwritable output folder" "cannot create the output folder" "$SLIMC" build "$L/lenet.slim" --lib -o /proc/nope/lib
finish
