# `slimc build --lib`: NAME_run_checked binds the inputs from the model's descriptor as
# `slimc run` and built executables do (one binder, runtime/model_io.c): values against
# PyTorch's reference, refusals with the same message as `slimc run`; and two models'
# libraries link into one program (the pasted binder has internal linkage).
source "$(dirname "$0")/lib.bash"
M=$S/mlp
CFLAGS="-std=c11 -Wall -Wextra -Werror -O1"
MAIN=$SLIMC_SOURCE_DIR/tests/cli/lib_checked_main.c

expect_ok "build --lib mlp" "$SLIMC" build "$M/mlp.slim" --lib -o lib
grep -q "MLP_INPUT0_DTYPE 1" lib/mlp.h && grep -q "mlp_run_checked" lib/mlp.h && ok "header: dtype macro and mlp_run_checked" || bad "header"
expect_ok "a C program links it" cc $CFLAGS -I lib "$MAIN" lib/libmlp.a -lpthread -lm -o prog
python3 - "$M/input.npy" <<'PY' || bad "making the inputs (numpy)"
import sys, numpy as np
x = np.load(sys.argv[1]).astype(np.float32)
x.tofile("x.bin")
np.save("x.npy", x)
np.zeros((4, 700), np.float32).tofile("x700.bin")
np.save("x700.npy", np.zeros((4, 700), np.float32))
PY
expect_ok "mlp_run_checked on the sample input" ./prog x.bin 4 784 1 y.bin
python3 - "$M/expected.npy" <<'PY' && ok "its output matches PyTorch's" || bad "output differs from PyTorch's"
import sys, numpy as np
y = np.fromfile("y.bin", np.float32).reshape(4, 10)
ref = np.load(sys.argv[1])
sys.exit(0 if np.abs(y - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max()) else 1)
PY

# same_refusal NAME LIBARGS RUNFILE: the library refuses with exit 2 and slimc run with
# exit 1, and the text after "error: " is the same.
same_refusal() {
  local name=$1 args=$2 file=$3
  ./prog $args y.bin 2>lib_err.txt
  local rc=$?
  "$SLIMC" run "$M/mlp.slim" --input "x=$file" --output-dir o >/dev/null 2>run_err.txt
  local rc2=$?
  local a b
  a=$(grep -m1 "error:" lib_err.txt | sed 's/.*error: //')
  b=$(grep -m1 "error:" run_err.txt | sed 's/.*error: //')
  if [ $rc -eq 2 ] && [ $rc2 -eq 1 ] && [ -n "$a" ] && [ "$a" = "$b" ]; then ok "$name: '$a'"; else
    bad "$name: library (exit $rc) '$a', slimc run (exit $rc2) '$b'"
  fi
}
same_refusal "a wrong dim" "x700.bin 4 700 1" x700.npy
python3 -c "import numpy as np; np.save('xi.npy', np.zeros((4, 784), np.int32))"
same_refusal "a wrong dtype" "x.bin 4 784 5" xi.npy

# Two models' libraries in one program.
expect_ok "build --lib lenet" "$SLIMC" build "$S/lenet/lenet.slim" --lib -o lib2
cat > both.c <<'C'
#include "lenet.h"
#include "mlp.h"
int main(void)
{
    lenet *a = lenet_init(0);
    mlp *b = mlp_init(0);
    int ok = a && b;
    lenet_free(a);
    mlp_free(b);
    return ok ? 0 : 1;
}
C
expect_ok "two libraries link into one program" cc $CFLAGS -I lib -I lib2 both.c lib/libmlp.a lib2/liblenet.a -lpthread -lm -o both
expect_ok "and it runs" ./both
finish
