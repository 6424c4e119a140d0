#!/bin/bash
# Dropout in `slimc train` (issue 18), on synthetic data (numpy; no torch needed): a model
# with Dropout layers trains (the loss falls) and its result depends on the dropout (the
# same model without them trains to other weights); the masks follow from --seed and the
# step alone (the same run twice, 2 threads and a resumed run are equal byte for byte);
# dropout with p = 0 is no dropout; `slimc run` of the trained model is the identity at the
# dropout (the same output as the model without it, and as numpy's forward pass); bad
# probabilities are errors at their place.
source "$(dirname "$0")/lib.bash"
export PYTHONPATH="$SLIMC_SOURCE_DIR/tests/tools${PYTHONPATH:+:$PYTHONPATH}" # st_io.py

python3 - <<'PY' || { bad "numpy data"; finish; exit 1; }
import numpy as np
r = np.random.RandomState(0)
x = r.randn(512, 16).astype(np.float32)
w = r.randn(16, 3).astype(np.float32)
np.save("x.npy", x)
np.save("y.npy", np.argmax(x @ w, axis=1).astype(np.int64))
np.save("xt.npy", x[:32])
PY
model() { # NAME P1 P2: a 16-64-64-3 MLP, with Dropout(P1) and dropout(., P2) when given
  {
    echo "model $1(x: f32[N, 16]) -> f32[N, 3]"
    echo "    fc1 = Linear(16, 64)"
    echo "    fc2 = Linear(64, 64)"
    echo "    fc3 = Linear(64, 3)"
    [ -n "${2:-}" ] && echo "    drop = Dropout($2)"
    if [ -n "${2:-}" ]; then echo "    h = drop(relu(fc1(x)))"; else echo "    h = relu(fc1(x))"; fi
    if [ -n "${3:-}" ]; then echo "    h = dropout(relu(fc2(h)), $3)"; else echo "    h = relu(fc2(h))"; fi
    echo "    return fc3(h)"
  } > "$1.slim"
}
model drop 0.5 0.25
model plain
model zero 0 0
TR=(--data x.npy --labels y.npy --batch 32 --seed 7 --lr 0.01)
# every model starts from the same default initialisation (the seed; dropout has no weights)
expect_ok "dropout model trains" "$SLIMC" train drop.slim "${TR[@]}" --epochs 4 --no-shuffle -o a.safetensors
first=$(sed -n 's/^epoch 1\/4: loss \([0-9.]*\).*/\1/p' out.txt); last=$(sed -n 's/^epoch 4\/4: loss \([0-9.]*\).*/\1/p' out.txt)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.5 * a) }' && ok "the loss falls ($first -> $last)" \
  || { bad "loss $first -> $last"; cat out.txt; }
expect_ok "the same run again" "$SLIMC" train drop.slim "${TR[@]}" --epochs 4 --no-shuffle -o a2.safetensors
cmp -s a.safetensors a2.safetensors && ok "same seed, same weights" || bad "a second run differs"
expect_ok "1 thread" "$SLIMC" train drop.slim "${TR[@]}" --epochs 4 --no-shuffle --threads 1 -o t2.safetensors
cmp -s a.safetensors t2.safetensors && ok "1 thread = the default's threads (the CPUs)" || bad "threads change the result"
expect_ok "2 epochs with a checkpoint" "$SLIMC" train drop.slim "${TR[@]}" --epochs 2 --no-shuffle --checkpoint-dir ck -o b2.safetensors
expect_ok "resumed to epoch 4" "$SLIMC" train drop.slim "${TR[@]}" --epochs 4 --no-shuffle --resume ck/checkpoint.safetensors -o b.safetensors
cmp -s a.safetensors b.safetensors && ok "resumed = uninterrupted (the same masks)" || bad "a resumed run draws other masks"
expect_ok "another seed" "$SLIMC" train drop.slim --data x.npy --labels y.npy --batch 32 --seed 8 --lr 0.01 --epochs 4 --no-shuffle -o s8.safetensors
cmp -s a.safetensors s8.safetensors && bad "another seed gave the same weights" || ok "another seed, other weights"
expect_ok "no dropout" "$SLIMC" train plain.slim "${TR[@]}" --epochs 4 --no-shuffle -o p.safetensors
expect_ok "dropout 0" "$SLIMC" train zero.slim "${TR[@]}" --epochs 4 --no-shuffle -o z.safetensors
cmp -s p.safetensors z.safetensors && ok "dropout(p = 0) is no dropout" || bad "p = 0 changed the training"
cmp -s a.safetensors p.safetensors && bad "dropout changed nothing" || ok "dropout changes the training"

# inference: the dropout layers are the identity (the trained weights; run needs a weights line)
for m in drop plain; do sed '1a\    weights "a.safetensors"' $m.slim > run_$m.slim; done
expect_ok "run the dropout model" "$SLIMC" run run_drop.slim --input xt.npy --output-dir yd
expect_ok "run it without dropout" "$SLIMC" run run_plain.slim --input xt.npy --output-dir yp
cp yd/*.npy yd.npy 2>/dev/null; cp yp/*.npy yp.npy 2>/dev/null
[ -f yd.npy ] && cmp -s yd.npy yp.npy && ok "inference: dropout is the identity" || bad "dropout changed inference"
python3 - <<'PY' && ok "inference matches numpy's forward pass" || bad "inference differs from numpy"
import sys
import numpy as np
from st_io import read_safetensors
w = read_safetensors("a.safetensors")
x = np.load("xt.npy").astype(np.float64)
h = np.maximum(x @ w["fc1.weight"].T + w["fc1.bias"], 0)
h = np.maximum(h @ w["fc2.weight"].T + w["fc2.bias"], 0)
y = h @ w["fc3.weight"].T + w["fc3.bias"]
got = np.load("yd.npy")
sys.exit(0 if np.allclose(got, y, rtol=1e-4, atol=1e-4) else 1)
PY

# bad probabilities
model bad1 1.5
expect_fail "Dropout(1.5)" 'bad1\.slim:[0-9]+:[0-9]+: error: dropout probability has to be between 0 and 1, but got 1\.5' \
  "$SLIMC" train bad1.slim "${TR[@]}" -o x.safetensors
cat > bad2.slim <<'SLIM'
model bad2(x: f32[N, 16]) -> f32[N, 3]
    fc1 = Linear(16, 3)
    return dropout(fc1(x), -0.1)
SLIM
expect_fail "dropout(x, -0.1)" 'bad2\.slim:3:[0-9]+: error: dropout probability has to be between 0 and 1' \
  "$SLIMC" train bad2.slim "${TR[@]}" -o x.safetensors
cat > tt.slim <<'SLIM'
model tt(x: f32[N, 16]) -> f32[N, 3]
    fc1 = Linear(16, 3)
    return dropout(fc1(x), 0.5, training=true)
SLIM
expect_fail "run: dropout(training=true)" 'tt\.slim:3:[0-9]+: error: dropout with training=true: outside `slimc train`' \
  "$SLIMC" run tt.slim --input xt.npy
expect_ok "train: dropout(training=true) trains" "$SLIMC" train tt.slim "${TR[@]}" -o tt.safetensors
finish
