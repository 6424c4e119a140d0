#!/usr/bin/env bash
# `slimc emit -o DIR` writes what a program needs to use the model's C without slimc: the
# --lib form's NAME.c and NAME.h (NAME_init, NAME_run, ...) and NAME.weights (the weights
# as the code reads them, packed by the layout pass), compiled here by cc alone and run
# against PyTorch's outputs. To standard output, emit prints the one-file C whose entry
# is slimc_model_run (never a NAME_run of another signature than the library's).
source "$(dirname "$0")/lib.bash"
L=$S/lenet
MAIN=$SLIMC_SOURCE_DIR/tests/cli/lenet_lib_main.c
CFLAGS="-std=c11 -Wall -Wextra -Werror -O1"
expect_ok "emit -o DIR" "$SLIMC" emit "$L/lenet.slim" -o gen
grep -q "wrote NAME.c, NAME.h and NAME.weights into gen" err.txt && ok "says what it wrote" || { bad "emit message"; cat err.txt; }
[ -s gen/lenet.c ] && [ -s gen/lenet.h ] && [ -s gen/lenet.weights ] && [ ! -e gen/liblenet.a ] && ok "lenet.c, lenet.h, lenet.weights (no archive)" || { bad "emitted files"; ls gen; }
expect_ok "a program compiles with the emitted C alone" cc $CFLAGS -I gen "$MAIN" gen/lenet.c -lpthread -lm -o prog
expect_ok "it runs with the emitted weights" ./prog "$L/input.npy" y.npy gen/lenet.weights
"$NPYCMP" y.npy "$L/expected.npy" 1e-4 >/dev/null && ok "emitted C computes PyTorch's outputs" || bad "emitted C output"
expect_fail "without its weights file" "lenet_init failed" ./prog "$L/input.npy" y2.npy /nonexistent.weights
expect_ok "emit to stdout" "$SLIMC" emit "$L/lenet.slim"
grep -q "^int slimc_model_run(" out.txt && ! grep -q "^int lenet_run(" out.txt && ok "stdout C: slimc_model_run, no lenet_run" || bad "stdout entry names"
cp out.txt one.c
expect_ok "the stdout C compiles on its own" cc -std=c11 -O0 -c one.c -o one.o
expect_ok "emit --target cuda -o DIR still writes NAME.cu" "$SLIMC" emit "$L/lenet.slim" --target cuda -o gcu
[ -s gcu/lenet.cu ] && ok "lenet.cu" || bad "no lenet.cu"
# a model named after a C keyword: the emitted names are led by m_ (never `struct int`)
sed 's/^model mlp(/model int(/; s|"mlp.safetensors"|"'"$S"'/mlp/mlp.safetensors"|' "$S/mlp/mlp.slim" >int.slim
expect_ok "emit a model named int" "$SLIMC" emit int.slim -o gk
[ -s gk/m_int.c ] && [ -s gk/m_int.h ] && ok "m_int.c, m_int.h" || { bad "keyword-named model"; ls gk; }
expect_ok "its C compiles" cc -std=c11 -Wall -Wextra -Werror -c -I gk gk/m_int.c -o gk.o
expect_fail "build --lib --name int" "not a C identifier .*led by a letter .*not a C keyword" "$SLIMC" build "$S/mlp/mlp.slim" --lib -o l1 --name int
expect_fail "build --lib --name _x" "not a C identifier .*led by a letter" "$SLIMC" build "$S/mlp/mlp.slim" --lib -o l2 --name _x
finish
