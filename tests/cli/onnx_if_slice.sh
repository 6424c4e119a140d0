#!/bin/bash
# ONNX ops of issue 19 against ONNX Runtime, on models tests/onnx/ops_cases.py builds with
# onnx.helper: Slice with negative steps (torch.flip's INT64 sentinels, steps -2/-3, two
# axes, clamped starts, a reversed constant pads list), If (a constant condition folds to its
# branch; a run-time one computes both and selects), and the elementwise ops added then
# (Floor, Ceil, Round half to even, trigonometry). Cases slimc refuses must say why.
source "$(dirname "$0")/lib.bash"
source "$SLIMC_SOURCE_DIR/tests/onnx/ops_cases.bash"

# the same rows from the model language, in f32 and f64 (the double emitter), against numpy
if python3 -c 'import numpy' 2>/dev/null; then
  python3 -c '
import numpy as np
x = np.float32([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, -0.7, 3.7, -3.2, 0.3, 0.9])
for t, v in (("f32", x.reshape(3, 4)), ("f64", x.astype(np.float64).reshape(3, 4))):
    u = v / 4
    np.save("x_%s.npy" % t, v)
    np.save("u_%s.npy" % t, u)
    r = np.round(v) + np.floor(v) * 2 - np.ceil(v) + np.sin(v) + np.cos(v) + np.tan(v) \
        + np.arctan(v) + np.arcsin(u) * np.arccos(u)
    np.save("want_%s.npy" % t, r)
'
  for t in f32 f64; do
    printf 'model r(x: %s[3, 4], u: %s[3, 4]) -> %s[3, 4]\n    return %s\n' $t $t $t \
      'round(x) + floor(x) + floor(x) - ceil(x) + sin(x) + cos(x) + tan(x) + atan(x) + asin(u) * acos(u)' \
      >r_$t.slim
    if "$SLIMC" run r_$t.slim --input x=x_$t.npy --input u=u_$t.npy --output-dir o_lang_$t \
      >out.txt 2>&1 && "$NPYCMP" o_lang_$t/output0.npy want_$t.npy 1e-6 >cmp.txt 2>&1; then
      ok "language: floor ceil round sin cos tan asin acos atan ($t) as numpy"
    else
      bad "language: floor ... atan ($t) differ from numpy"
      cat out.txt cmp.txt 2>/dev/null
    fi
  done
fi

if ! ops_cases_ready; then
  finish
  exit
fi
ops_cases slice 0
ops_torch slice 1e-6
ops_cases if 1e-6
ops_cases rounding 0
ops_cases trig 1e-6

# the model language's slice with a negative step (the IR's since issue 19), against numpy
if python3 -c 'import numpy' 2>/dev/null; then
  python3 -c '
import numpy as np
x = np.arange(24, dtype=np.float32).reshape(4, 6)
np.save("xs.npy", x)
np.save("want_s1.npy", x[:, ::-1] * 2 + x[::-1, :])
np.save("want_s2.npy", x[:, 4:0:-2])
'
  printf 'model f(x: f32[4, 6]) -> f32[4, 6]\n    return %s\n' \
    'slice(x, 1, step=-1) * 2 + slice(x, 0, step=-1)' >s1.slim
  printf 'model f(x: f32[4, 6]) -> f32[4, 2]\n    return slice(x, 1, 4, 0, -2)\n' >s2.slim
  for i in 1 2; do
    rm -rf os$i
    "$SLIMC" run s$i.slim --input x=xs.npy --output-dir os$i >out.txt 2>&1 \
      && "$NPYCMP" os$i/output0.npy want_s$i.npy 0 >cmp.txt 2>&1 \
      && ok "language: slice with a negative step $i as numpy" || { bad "language slice $i"; cat out.txt cmp.txt; }
  done
fi
finish
