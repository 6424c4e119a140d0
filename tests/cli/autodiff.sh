#!/bin/bash
# slimc grad (issue 18): the training step's outputs do not depend on the thread count
# (byte-identical at 1, 2 and 3 threads), and bad input is a clear error: ops without a
# gradient on the loss's path (all listed at once, with their places), a label out of
# range, labels of the wrong length, a loss without its target.
. "$(dirname "$0")/lib.bash"
export L=$S/lenet

python3 - <<'PY'
import os
import numpy as np
x = np.load(os.environ["L"] + "/test_x.npy")[:24].astype(np.float32)
np.save("x.npy", x)
y = (np.arange(24) * 7 % 10).astype(np.int64)
y[::4] = -100
np.save("y.npy", y)
bad = y.copy(); bad[5] = 10
np.save("y_bad.npy", bad)
np.save("y_short.npy", y[:20])
PY
[ -f x.npy ] || { bad "no data"; finish; exit 1; }

for t in 1 2 3; do
  expect_ok "lenet step at $t threads" "$SLIMC" grad "$L/lenet.slim" --input x.npy --labels y.npy --threads $t -o out$t
done
same=1
for f in out1/*.npy; do
  for t in 2 3; do cmp -s "$f" "out$t/$(basename "$f")" || { same=0; echo "differs: $f at $t threads"; }; done
done
[ "$(ls out1/*.npy | wc -l)" -eq 9 ] && [ $same -eq 1 ] && ok "loss and 8 gradients byte-identical at 1, 2, 3 threads" || bad "outputs depend on the thread count"

cat > nograd.slim <<SLIM
model nograd(x: f32[N, 1, 28, 28]) -> f32[N, 10]
    weights "$L/lenet.safetensors"

    conv1 = Conv2d(1, 20, 5)
    conv2 = Conv2d(20, 50, 5)
    fc1   = Linear(4*4*50, 500)
    fc2   = Linear(500, 10)

    p = max_pool2d(conv1(x), 2)
    h = relu(p - amax(p, dim=1, keepdim=true))
    h = relu(max_pool2d(conv2(h), 2))
    h = pow(relu(fc1(flatten(h))), 2.0)
    return log_softmax(fc2(h), axis=1)
SLIM
expect_fail "ops without gradients listed at once" \
  "nograd.slim:10:[0-9]+: error: model 'nograd' cannot be trained: 2 ops on the loss's path have no gradient: reduce_max '[^']*' \(.*nograd.slim:10:[0-9]+\), pow '[^']*' \(.*nograd.slim:12:[0-9]+\)" \
  "$SLIMC" grad nograd.slim --input x.npy --labels y.npy -o nograd_out
[ "$(grep -c 'error:' err.txt)" -eq 1 ] && ok "one error for both" || bad "$(grep -c 'error:' err.txt) errors"
[ ! -e nograd_out ] && ok "nothing written" || bad "nograd_out written"

expect_fail "label out of range" "label 10 \(sample 5\) is out of range: the model has 10 classes" \
  "$SLIMC" grad "$L/lenet.slim" --input x.npy --labels y_bad.npy -o bad_out
expect_fail "labels of another length" "input 'labels': expected i64\[N\], got i64\[20\]" \
  "$SLIMC" grad "$L/lenet.slim" --input x.npy --labels y_short.npy -o bad_out
expect_fail "mse without a target" "--loss mse takes no --labels and --target" \
  "$SLIMC" grad "$L/lenet.slim" --input x.npy --labels y.npy --loss mse -o bad_out
expect_fail "a bad loss name" "--loss must be ce, nll, mse or distill" \
  "$SLIMC" grad "$L/lenet.slim" --input x.npy --labels y.npy --loss hinge -o bad_out
finish
