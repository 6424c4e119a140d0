#!/usr/bin/env bash
# --profile and --trace on run and bench: one row per node or fused group with its time,
# share, GFLOP/s and GB/s, slowest first; the Chrome trace is valid JSON whose events are
# the profiled nodes, in run order, with the FLOPs each one does (checked against the
# formula for LeNet's convolutions and linears, computed here).
source "$(dirname "$0")/lib.bash"
L=$S/lenet
expect_ok "run --profile --trace" "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --profile --trace=t.json --threads 1
cp out.txt run.txt
grep -q "^output0: f32\[8, 10\]" run.txt && ok "outputs still printed" || bad "no outputs"
grep -qE "^profile: 1 run, [0-9.]+ ms per run in [0-9]+ nodes \(1 thread\)" run.txt && ok "profile header" || { bad "profile header"; cat run.txt; }
python3 - run.txt t.json <<'PY' && ok "table and trace agree with LeNet" || bad "table or trace wrong"
import json, re, sys
rows = [l.split() for l in open(sys.argv[1]) if re.match(r"^\s+[0-9.]+\s+[0-9.]+%", l)]
names = [r[4] for r in rows]
assert {"conv1", "conv2", "fc1", "fc2"} <= set(names), names
ms = [float(r[0]) for r in rows]
assert ms == sorted(ms, reverse=True), "not slowest first"
share = sum(float(r[1].rstrip("%")) for r in rows)
assert abs(share - 100) < 1.0, share
ev = json.load(open(sys.argv[2]))["traceEvents"]
assert sorted(e["name"] for e in ev) == sorted(names), (names, [e["name"] for e in ev])
assert all(e["ph"] == "X" and e["dur"] > 0 for e in ev)
ts = [e["ts"] for e in ev]
assert ts == sorted(ts), "events out of run order"
for a, b in zip(ev, ev[1:]):  # one thread: a node starts after the previous one ends
    assert b["ts"] >= a["ts"] + a["dur"] - 1e-3, (a, b)
fl = {e["name"]: e["args"]["flops"] for e in ev}
N = 8  # conv FLOPs: 2 * N * O * OH * OW * (C * kh * kw); linear: 2 * N * out * in
want = {"conv1": 2 * N * 20 * 24 * 24 * 25, "conv2": 2 * N * 50 * 8 * 8 * 20 * 25,
        "fc1": 2 * N * 500 * 800, "fc2": 2 * N * 10 * 500}
for k, v in want.items():
    assert abs(fl[k] - v) <= 0.01 * v + 2 * N * 500, (k, fl[k], v)  # + the bias adds
# GFLOP/s in the table = flops / time (the time as printed: rounded to its last digit, which
# for a node of about a microsecond is a few per cent of it)
for r in rows:
    if r[4] in want:
        t = float(r[0])
        g = fl[r[4]] / (t * 1e-3) * 1e-9
        half = 0.5 * 10 ** -len(r[0].partition(".")[2])  # the rounding of the printed time
        assert abs(g - float(r[2])) <= (0.02 + half / max(t - half, 1e-9)) * g + 0.02, (r, g)
PY
expect_ok "bench --profile" "$SLIMC" bench "$S/resnet_tiny/resnet_tiny.slim" --runs 5 --warmup 2 --profile
grep -qE "^profile: 5 runs, " out.txt && ok "bench profiles its timed runs only" || { bad "bench profile header"; cat out.txt; }
grep -q "(conv2d+add+relu)" out.txt && ok "fused groups named with their epilogue ops" || bad "no fused group row"
expect_ok "bench --trace alone implies --profile" "$SLIMC" bench "$L/lenet.slim" --runs 3 --trace bt.json
python3 -c "import json; json.load(open('bt.json'))" && ok "bench trace is JSON" || bad "bench trace"
expect_fail "--trace into a missing folder" "nodir/t.json: error: cannot write" \
  "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --trace nodir/t.json
expect_fail "--trace over the model's weights" "lenet.safetensors" \
  "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --trace "$L/lenet.safetensors"
cmp -s "$L/lenet.safetensors" <(git -C "$SLIMC_SOURCE_DIR" show HEAD:samples/lenet/lenet.safetensors 2>/dev/null || cat "$L/lenet.safetensors") && ok "weights untouched" || bad "weights overwritten"
expect_fail "--profile on a GPU" "--profile times the nodes of a model on the CPU" \
  env SLIMC_CUDA_EMULATE=1 "$SLIMC" run "$S/mlp/mlp.slim" --input "$S/mlp/input.npy" --device cuda --profile
# the training step: slimc grad --profile times forward and backward nodes
python3 -c "
import numpy as np
np.save('gx.npy', np.load('$L/input.npy')); np.save('gy.npy', np.arange(8, dtype=np.int64) % 10)"
expect_ok "grad --profile" "$SLIMC" grad "$L/lenet.slim" --input gx.npy --labels gy.npy -o gout --repeat 2 --profile
grep -qE "^profile: 2 runs, " out.txt && grep -q "(conv2d_weight_grad)" out.txt && grep -q "conv2 (conv2d)" out.txt \
  && ok "the step's forward and backward nodes" || { bad "grad profile"; cat out.txt; }

# built executables: slimc build --profile, then the program's --profile
expect_ok "build --profile" "$SLIMC" build "$L/lenet.slim" --profile -o lp
expect_ok "the program's --profile" ./lp --input "$L/input.npy" --bench 3 --profile
grep -qE "^profile: 3 runs, [0-9.]+ ms per run in [0-9]+ nodes" out.txt && grep -qE "^ +[0-9.]+ +[0-9.]+%  conv2 \(conv2d\)" out.txt \
  && grep -q "fc1 (linear+relu)" out.txt && ok "the program prints the profile" || { bad "program profile"; cat out.txt; }
expect_ok "the program's --trace" ./lp --input "$L/input.npy" --trace pt.json
python3 -c "
import json, sys
ev = json.load(open('pt.json'))['traceEvents']
names = [e['name'] for e in ev]
assert 'conv1 (conv2d)' in names and 'fc1 (linear+relu)' in names, names
assert all(e['ph'] == 'X' and e['dur'] > 0 for e in ev)" && ok "the program's trace is JSON with its nodes" || bad "program trace"
expect_ok "build without --profile" "$SLIMC" build "$L/lenet.slim" -o lnp
expect_fail "--trace on a program built without --profile" "built without --profile" ./lnp --input "$L/input.npy" --trace x.json
expect_fail "--profile on a program built without it" "built without it \(slimc build --profile\)" ./lnp --input "$L/input.npy" --profile
expect_fail "--lib --profile" "--profile is for executables" "$SLIMC" build "$L/lenet.slim" --lib --profile -o lib
# node names from a hostile model become escaped string literals, never code
H=$SLIMC_SOURCE_DIR/tests/data/hostile
if [ -f "$H/inject_node.onnx" ]; then
  expect_ok "build --profile a model with hostile node names" "$SLIMC" build "$H/inject_node.onnx" --profile -o hp
  [ -x hp ] && ok "it compiled" || bad "hostile --profile build"
fi
if [ -f "$H/names.onnx" ]; then # escapes, quotes, bytes that are not UTF-8 in its names
  python3 -c "import numpy as np; np.save('h.npy', np.ones((2, 4), np.float32))"
  expect_ok "build --profile names.onnx" "$SLIMC" build "$H/names.onnx" --profile -o hn
  expect_ok "its --profile and --trace" ./hn --input h.npy --profile --trace hn.json
  LC_ALL=C grep -q $'\x1b' out.txt && bad "a control byte reached the terminal" || ok "no control byte printed"
  python3 -c "import json; json.load(open('hn.json'))" && ok "hostile names: the trace is valid JSON" || bad "hostile trace JSON"
fi
finish
