#!/bin/bash
# Fine-tuning compressed models (issue 18): `slimc train --keep-zeros` keeps a pruned
# model's zeros exactly zero while the other weights learn (and without it they move);
# `slimc compress --passes 'prune(...),finetune(...)'` writes a model whose zeros are still
# zero and whose accuracy on the held-out digits is above the pruned model's; the finetune
# pass's errors (a missing data file, samples of the wrong shape, labels out of range or of
# another length, a bad option, finetune when a model is compiled to run) name the file
# and the pass's place. On the digits split that scripts/digits_data.py writes (Debian's
# /usr/bin/python3 with sklearn; skipped without it).
source "$(dirname "$0")/lib.bash"

PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import sklearn, numpy' 2>/dev/null; then
  echo "skip: $PY has no sklearn: the fine-tuning tests are not run"
  finish
  exit $?
fi
export SLIMC_CACHE_DIR=${SLIMC_CACHE_DIR:-$TEST_TMP/cache}
# the digits split, kept beside the test's folder between runs (as tests/cli/train.sh does)
D=$(dirname "$TEST_TMP")/digits_data
if ! [ -f "$D/test_y.npy" ] || [ "$SLIMC_SOURCE_DIR/scripts/digits_data.py" -nt "$D/test_y.npy" ]; then
  rm -rf "$D.tmp$$" && "$PY" "$SLIMC_SOURCE_DIR/scripts/digits_data.py" "$D.tmp$$" >/dev/null \
    && rm -rf "$D" && mv "$D.tmp$$" "$D" || { bad "digits_data.py"; finish; exit 1; }
fi
mkdir -p d && cp "$D"/*.npy d/
L=$S/lenet
acc() { # acc MODEL: accuracy (%) on the test split
  rm -rf o && "$SLIMC" run "$1" --input d/test_x.npy --output-dir o >/dev/null 2>&1 || { echo 0; return; }
  "$PY" -c "
import numpy as np, glob
print('%.2f' % (100 * (np.load(glob.glob('o/*.npy')[0]).argmax(1) == np.load('d/test_y.npy')).mean()))"
}
cat > st.py <<'PY'
import json, struct, sys
import numpy as np
def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    h = json.loads(raw[8:8 + n]); h.pop("__metadata__", None)
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], np.float32)
            for k, v in h.items() if v["dtype"] == "F32"}
# st.py BEFORE AFTER keep|free: every weight's zeros in BEFORE still zero in AFTER (keep),
# or some of them not (free); and the non-zero weights changed
a, b = load(sys.argv[1]), load(sys.argv[2])
zeros = kept = changed = 0
for k in a:
    if k.endswith(".weight") and k in b:
        z = a[k] == 0
        zeros += int(z.sum()); kept += int((b[k][z] == 0).sum())
        changed += int((b[k][~z] != a[k][~z]).sum())
print("%d zeros before, %d still zero; %d non-zero weights changed" % (zeros, kept, changed))
ok = zeros > 1000 and changed > 1000 and ((kept == zeros) if sys.argv[3] == "keep" else (kept < zeros))
raise SystemExit(0 if ok else 1)
PY
"$PY" -c "
import numpy as np
np.save('d/x300.npy', np.load('d/train_x.npy')[:300]); np.save('d/y300.npy', np.load('d/train_y.npy')[:300])"

# --- a pruned model, fine-tuned by slimc train
expect_ok "prune 90%" "$SLIMC" compress "$L/lenet.slim" --passes 'prune(amount=0.9, scope=global)' --dense -o p.slim
expect_ok "train --keep-zeros" "$SLIMC" train p.slim --data d/x300.npy --labels d/y300.npy --epochs 1 \
  --keep-zeros -o keep.safetensors
"$PY" st.py p.safetensors keep.safetensors keep >st.txt 2>&1 && ok "--keep-zeros: $(cat st.txt)" \
  || { bad "--keep-zeros"; cat st.txt; }
expect_ok "train without --keep-zeros" "$SLIMC" train p.slim --data d/x300.npy --labels d/y300.npy --epochs 1 \
  -o free.safetensors
"$PY" st.py p.safetensors free.safetensors free >st.txt 2>&1 && ok "without it the zeros learn: $(cat st.txt)" \
  || { bad "without --keep-zeros"; cat st.txt; }
expect_ok "--keep-zeros with SGD and momentum" "$SLIMC" train p.slim --data d/x300.npy --labels d/y300.npy \
  --epochs 1 --optimizer sgd --lr 0.05 --momentum 0.9 --keep-zeros -o sgd.safetensors
"$PY" st.py p.safetensors sgd.safetensors keep >st.txt 2>&1 && ok "SGD: $(cat st.txt)" || { bad "SGD keep"; cat st.txt; }

# --- slimc compress: prune, then finetune; held-out accuracy above the pruned model's
FT="finetune(epochs=2, data=\"d/train_x.npy\", labels=\"d/train_y.npy\", lr=1e-3, batch=64)"
expect_ok "prune 95%" "$SLIMC" compress "$L/lenet.slim" --passes 'prune(amount=0.95, scope=global)' --dense -o p95.slim
expect_ok "prune 95%, finetune" "$SLIMC" compress "$L/lenet.slim" --passes "prune(amount=0.95, scope=global),$FT" --dense -o f95.slim
grep -q "^epoch 2/2: loss" err.txt && ok "finetune reports its epochs" || { bad "no epoch lines"; cat err.txt; }
"$PY" st.py p95.safetensors f95.safetensors keep >st.txt 2>&1 && ok "compress: $(cat st.txt)" \
  || { bad "compress keep"; cat st.txt; }
a_p=$(acc p95.slim); a_f=$(acc f95.slim)
awk -v p="$a_p" -v f="$a_f" 'BEGIN { exit !(f > p + 1 && f > 90) }' \
  && ok "held-out accuracy: pruned $a_p%, fine-tuned $a_f%" || bad "accuracy: pruned $a_p%, fine-tuned $a_f%"
expect_ok "prune, finetune, quantize" "$SLIMC" compress "$L/lenet.slim" --passes \
  "prune(amount=0.9, scope=global),finetune(epochs=1, data=\"d/x300.npy\", labels=\"d/y300.npy\"),quantize(int8, calibrate=\"$L/calib.npy\")" -o q.slim
a_q=$(acc q.slim)
awk -v q="$a_q" 'BEGIN { exit !(q > 80) }' && ok "then quantized: $a_q%" || bad "quantized after finetune: $a_q%"

# --- errors
"$PY" -c "
import numpy as np
np.save('bad_shape.npy', np.zeros((10, 1, 8, 8), np.float32))
np.save('y_out.npy', np.array([0, 1, 10] + [0] * 297, np.int64))
np.save('y_short.npy', np.zeros(7, np.int64))"
P='prune(amount=0.5, scope=global)'
expect_fail "a missing data file" "nope.npy: error: cannot open" \
  "$SLIMC" compress "$L/lenet.slim" --passes "$P,finetune(data=\"nope.npy\", labels=\"d/y300.npy\")" -o e.slim
grep -qE -- "--passes:1:[0-9]+: note: finetune's data file" err.txt && ok "and where the pipeline names it" \
  || { bad "the missing file's place"; cat err.txt; }
expect_fail "samples of the wrong shape" \
  "--passes:1:[0-9]+: error: finetune: the samples in 'bad_shape.npy' do not fit the model's input f32\[N, 1, 28, 28\]" \
  "$SLIMC" compress "$L/lenet.slim" --passes "$P,finetune(data=\"bad_shape.npy\", labels=\"d/y300.npy\")" -o e.slim
expect_fail "a label out of range" \
  "error: finetune: label 10 \(sample 2\) of 'y_out.npy' is out of range: the model has 10 classes" \
  "$SLIMC" compress "$L/lenet.slim" --passes "$P,finetune(data=\"d/x300.npy\", labels=\"y_out.npy\")" -o e.slim
expect_fail "labels of another length" \
  "error: finetune: the labels in 'y_short.npy' must be i64 or i32 \[300\], one per sample of 'd/x300.npy'" \
  "$SLIMC" compress "$L/lenet.slim" --passes "$P,finetune(data=\"d/x300.npy\", labels=\"y_short.npy\")" -o e.slim
expect_fail "no labels" "error: finetune: give labels=" \
  "$SLIMC" compress "$L/lenet.slim" --passes "$P,finetune(data=\"d/x300.npy\")" -o e.slim
expect_fail "a bad optimizer" "error: finetune: optimizer is sgd, adam or adamw, not 'rmsprop'" \
  "$SLIMC" compress "$L/lenet.slim" --passes "finetune(data=\"d/x300.npy\", labels=\"d/y300.npy\", optimizer=rmsprop)" -o e.slim
expect_fail "epochs 0" "error: finetune: epochs is a whole number" \
  "$SLIMC" compress "$L/lenet.slim" --passes "finetune(epochs=0, data=\"d/x300.npy\", labels=\"d/y300.npy\")" -o e.slim
[ ! -f e.slim ] && ok "nothing written after an error" || bad "e.slim written"
expect_fail "finetune when running" \
  "error: finetune trains the model, which happens once, in .slimc compress." \
  "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --passes "finetune(data=\"d/x300.npy\", labels=\"d/y300.npy\"),fold,memplan"
# a compress block with finetune, run by slimc run: the same error at its line; compress runs it
sed 's/^model lenet/model lenet/' "$L/lenet.slim" > blk.slim
cp "$L/lenet.safetensors" .
printf '\ncompress lenet\n    prune(amount=0.9, scope=global)\n    finetune(epochs=1, data="d/x300.npy", labels="d/y300.npy")\n' >> blk.slim
expect_fail "a compress block with finetune, run" \
  "blk.slim:[0-9]+:[0-9]+: error: finetune trains the model" \
  "$SLIMC" run blk.slim --input "$L/input.npy"
expect_ok "the same block, compressed" "$SLIMC" compress blk.slim -o blk_out.slim
expect_ok "what it wrote runs" "$SLIMC" run blk_out.slim --input "$L/input.npy"
finish
