#!/bin/bash
# slimc train / slimc distill on bad input (issue 18): each a clear error naming the file at
# fault, exit status 1, no output file left. The data checks run before anything compiles.
source "$(dirname "$0")/lib.bash"

cat > mlp.slim <<'SLIM'
model mlp(x: f32[N, 4]) -> f32[N, 3]
    fc1 = Linear(4, 8)
    fc2 = Linear(8, 3)
    return fc2(relu(fc1(x)))
SLIM
cat > wide.slim <<'SLIM'
model wide(x: f32[N, 4]) -> f32[N, 5]
    fc = Linear(4, 5)
    return fc(x)
SLIM
python3 - <<'PY'
import numpy as np
r = np.random.default_rng(0)
np.save("x.npy", r.standard_normal((12, 4)).astype(np.float32))
np.save("x5.npy", r.standard_normal((12, 5)).astype(np.float32))
np.save("x3d.npy", r.standard_normal((12, 4, 1)).astype(np.float32))
np.save("xi.npy", np.zeros((12, 4), np.int64))
np.save("y.npy", (np.arange(12) % 3).astype(np.int64))
np.save("y32.npy", (np.arange(12) % 3).astype(np.int32))
np.save("y10.npy", (np.arange(10) % 3).astype(np.int64))
bad = (np.arange(12) % 3).astype(np.int64); bad[7] = 3
np.save("yrange.npy", bad)
neg = (np.arange(12) % 3).astype(np.int64); neg[2] = -1
np.save("yneg.npy", neg)
np.save("yf.npy", np.zeros(12, np.float32))
np.save("y2d.npy", np.zeros((12, 1), np.int64))

def safetensors(path, tensors):  # the teachers' weights
    import json, struct
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a, "<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

safetensors("mlp_t.safetensors", {"fc1.weight": r.standard_normal((8, 4)), "fc1.bias": np.zeros(8),
                                  "fc2.weight": r.standard_normal((3, 8)), "fc2.bias": np.zeros(3)})
safetensors("wide_t.safetensors", {"fc.weight": r.standard_normal((5, 4)), "fc.bias": np.zeros(5)})
PY
sed '1a\    weights "mlp_t.safetensors"' mlp.slim > teacher.slim
sed '1a\    weights "wide_t.safetensors"' wide.slim > wide_teacher.slim
T=("$SLIMC" train mlp.slim --data x.npy)

# --- the data
expect_fail "labels and samples of different lengths" \
  "y10.npy: error: 10 labels for 12 samples in 'x.npy'" "${T[@]}" --labels y10.npy -o out.safetensors
expect_fail "a label out of range, named with its sample" \
  "yrange.npy: error: label 3 \(sample 7\) is out of range: the model has 3 classes \(0 to 2; -100" \
  "${T[@]}" --labels yrange.npy -o out.safetensors
expect_fail "a negative label other than -100" "yneg.npy: error: label -1 \(sample 2\)" \
  "${T[@]}" --labels yneg.npy -o out.safetensors
expect_fail "float labels" "yf.npy: error: the labels are f32; they must be i64 or i32" \
  "${T[@]}" --labels yf.npy -o out.safetensors
expect_fail "labels of two dimensions" "y2d.npy: error: the labels have 2 dimensions" \
  "${T[@]}" --labels y2d.npy -o out.safetensors
expect_fail "samples of the wrong shape" \
  "x5.npy: error: dimension 1 of the samples is 5, but the model's input f32\[N, 4\] needs 4" \
  "$SLIMC" train mlp.slim --data x5.npy --labels y.npy -o out.safetensors
expect_fail "samples of the wrong rank" "x3d.npy: error: the samples have 3 dimensions" \
  "$SLIMC" train mlp.slim --data x3d.npy --labels y.npy -o out.safetensors
expect_fail "integer samples" "xi.npy: error: the samples are i64; they must be f32" \
  "$SLIMC" train mlp.slim --data xi.npy --labels y.npy -o out.safetensors
expect_fail "a missing data file" "nowhere.npy" "$SLIMC" train mlp.slim --data nowhere.npy --labels y.npy -o out.safetensors
expect_fail "validation labels out of range" "yrange.npy: error: label 3 \(sample 7\)" \
  "${T[@]}" --labels y.npy --val x.npy --val-labels yrange.npy -o out.safetensors
[ ! -e out.safetensors ] && ok "no output after the errors" || bad "an output file was left"

# --- the command line
expect_fail "no labels" "slimc train needs --labels Y.npy" "${T[@]}" -o out.safetensors
expect_fail "no output" "slimc train needs -o OUT.safetensors" "${T[@]}" --labels y.npy
expect_fail "no data" "slimc train needs --data X.npy" "$SLIMC" train mlp.slim --labels y.npy -o o.safetensors
expect_fail "no model" "slimc train needs a MODEL" "$SLIMC" train --data x.npy --labels y.npy -o o.safetensors
expect_fail "unknown option, did you mean" "unknown option '--epoch' for slimc train: did you mean '--epochs'\?" \
  "${T[@]}" --labels y.npy --epoch 3 -o out.safetensors
expect_fail "unknown option in --opt=value form" "unknown option '--optimiser' for slimc train: did you mean '--optimizer'\?" \
  "${T[@]}" --labels y.npy --optimiser=sgd -o out.safetensors
expect_fail "a distill-only option for train" "slimc train does not take --teacher \(it is an option of distill\)" \
  "${T[@]}" --labels y.npy --teacher mlp.slim -o out.safetensors
expect_fail "--opt=value checked" "--optimizer takes sgd, adam or adamw, not 'rmsprop'" \
  "${T[@]}" --labels y.npy --optimizer=rmsprop -o out.safetensors
expect_fail "a value missing at the end" "--lr needs a value" "${T[@]}" --labels y.npy -o out.safetensors --lr
expect_fail "a flag given a value" "--nesterov takes no value" "${T[@]}" --labels y.npy --nesterov=1 -o out.safetensors
expect_fail "bad betas" "--betas takes B1,B2" "${T[@]}" --labels y.npy --betas 0.9 -o out.safetensors
expect_fail "zero epochs" "--epochs takes a whole number from 1" "${T[@]}" --labels y.npy --epochs 0 -o out.safetensors
expect_fail "nesterov with adam" "mlp.slim: error: nesterov needs SGD with momentum > 0" \
  "${T[@]}" --labels y.npy --nesterov -o out.safetensors
expect_fail "step schedule without a step size" "mlp.slim: error: the step schedule needs a step size" \
  "${T[@]}" --labels y.npy --schedule step -o out.safetensors
expect_fail "alpha out of range" "mlp.slim: error: alpha must be in \[0, 1\]" \
  "$SLIMC" distill --teacher teacher.slim --student mlp.slim --data x.npy --alpha 1.5 -o out.safetensors
expect_fail "--val without --val-labels" "--val needs --val-labels" "${T[@]}" --labels y.npy --val x.npy -o out.safetensors
touch afile
expect_fail "a checkpoint folder that is a file" "afile: error: the checkpoint folder is not a folder" \
  "${T[@]}" --labels y.npy --checkpoint-dir afile -o out.safetensors
expect_fail "an output folder that does not exist" "nodir/out.safetensors: error: cannot write the output in 'nodir'" \
  "${T[@]}" --labels y.npy -o nodir/out.safetensors
expect_fail "the output replaces an input" "mlp.slim" "${T[@]}" --labels y.npy -o mlp.slim

# --- models
expect_fail "run still refuses a model without weights" "mlp.slim:2:.*no weights line" \
  "$SLIMC" run mlp.slim --input x.npy
cat > qlin.slim <<'SLIM'
model q(x: f32[N, 4]) -> f32[N, 3]
    fc = QuantLinear(4, 3, bias=true, x_scale=0.1, x_zero_point=128)
    return fc(x)
SLIM
expect_fail "a quantized module has no default initialisation" \
  "qlin.slim:2:.*'fc' \(QuantLinear\) has no default initialisation" \
  "$SLIMC" train qlin.slim --data x.npy --labels y.npy -o out.safetensors

# --- distill
expect_fail "teacher and student outputs of different shapes" \
  "wide_teacher.slim: error: the teacher's output is f32\[N, 5\], but the student's \(mlp.slim\) is f32\[N, 3\]" \
  "$SLIMC" distill --teacher wide_teacher.slim --student mlp.slim --data x.npy -o out.safetensors
expect_fail "distill needs a teacher" "slimc distill needs --teacher T" \
  "$SLIMC" distill --student mlp.slim --data x.npy -o out.safetensors
expect_fail "distill takes no positional model" "unexpected argument 'mlp.slim'" \
  "$SLIMC" distill mlp.slim --teacher mlp.slim --data x.npy -o out.safetensors
expect_fail "distill's labels are checked too" "yrange.npy: error: label 3 \(sample 7\)" \
  "$SLIMC" distill --teacher teacher.slim --student mlp.slim --data x.npy --labels yrange.npy -o out.safetensors
expect_fail "train alone lists its options" "  --weight-decay WD +default 0 \(sgd, adam\), 0.01 \(adamw\)" "$SLIMC" train
grep -q -- "--teacher" err.txt && bad "train lists distill's options" || ok "train's options only"
expect_fail "distill alone lists its options" "  --temperature T +the distillation loss's T" "$SLIMC" distill
"$SLIMC" help distill | grep -q "Hinton" && ok "slimc help distill" || bad "slimc help distill"
"$SLIMC" distill --student mlp.slim 2>&1 | grep -q "not available" && bad "distill still a later command" || ok "distill is a command"
finish
