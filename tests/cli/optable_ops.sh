# The ops added as single rows of ir/ops.def (issue 14's proof that an op is cheap now):
# softsign in the language and from ONNX (Softsign maps to it, not to div/abs), copysign in
# the language (ONNX has none); through the generated C (`run`) against numpy, in f32
# (softsign also in f64).
# The reference evaluator's side is in tests/unit/test_optable.c.
source "$(dirname "$0")/lib.bash"

python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(14)
x = (rng.standard_normal((3, 5, 7)) * 4).astype("f4")
x[0, 0, :4] = [0.0, -0.0, 1e30, -1e-30]
np.save("x.npy", x)
np.save("x64.npy", x.astype("f8"))
np.save("e_softsign.npy", x / (1 + np.abs(x)))
np.save("e_softsign64.npy", x.astype("f8") / (1 + np.abs(x.astype("f8"))))
np.save("e_fused.npy", np.maximum(x, 0) / (1 + np.abs(np.maximum(x, 0))) + x)
PY

# softsign in the language: alone, in f64, and as an epilogue of another op.
printf 'model s(x: f32[3, 5, 7]) -> f32[3, 5, 7]\n    return softsign(x)\n' > softsign.slim
expect_ok "run softsign" "$SLIMC" run softsign.slim --input x=x.npy --output-dir o1
"$NPYCMP" o1/output0.npy e_softsign.npy 1e-6 && ok "softsign equals numpy" || bad "softsign differs from numpy"
printf 'model s(x: f64[3, 5, 7]) -> f64[3, 5, 7]\n    return softsign(x)\n' > softsign64.slim
expect_ok "run softsign f64" "$SLIMC" run softsign64.slim --input x=x64.npy --output-dir o2
"$NPYCMP" o2/output0.npy e_softsign64.npy 1e-12 && ok "softsign f64 equals numpy" || bad "softsign f64 differs from numpy"
printf 'model s(x: f32[3, 5, 7]) -> f32[3, 5, 7]\n    return softsign(relu(x)) + x\n' > fused.slim
expect_ok "run relu |> softsign |> add" "$SLIMC" run fused.slim --input x=x.npy --output-dir o3
"$NPYCMP" o3/output0.npy e_fused.npy 1e-6 && ok "fused softsign equals numpy" || bad "fused softsign differs from numpy"
"$SLIMC" emit softsign.slim -o emitted >/dev/null 2>&1
if grep -q 'x0\[f\] / (1.0f + fabsf(x0\[f\]))' emitted/*.c; then ok "emitted C spells ops.def's expression"
else bad "emitted C lacks softsign's expression"; fi

# ONNX Softsign becomes the one IR op.
python3 - <<'PY'
import onnx
from onnx import TensorProto, helper
g = helper.make_graph([helper.make_node("Softsign", ["x"], ["y"])], "ss",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 5, 7])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 5, 7])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "softsign.onnx")
PY
expect_ok "run ONNX Softsign" "$SLIMC" run softsign.onnx --input x=x.npy --output-dir o4
f=$(ls o4/*.npy 2>/dev/null | head -n1)
[ -n "$f" ] && "$NPYCMP" "$f" e_softsign.npy 1e-6 && ok "ONNX Softsign equals numpy" || bad "ONNX Softsign differs from numpy"
"$SLIMC" inspect softsign.onnx >inspect.txt 2>&1
if grep -q '1 nodes: softsign x1' inspect.txt; then ok "ONNX Softsign imports as softsign"
else bad "ONNX Softsign is not the softsign op"; cat inspect.txt; fi

# copysign in the language: broadcast both ways, a number operand, and as an epilogue.
python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(41)
a = (rng.standard_normal((4, 1, 6)) * 3).astype("f4")
b = rng.standard_normal((5, 1)).astype("f4")
b[0, 0], b[1, 0], b[2, 0] = -0.0, 0.0, -np.inf
a[0, 0, :3] = [0.0, -0.0, 1e30]
np.save("a.npy", a); np.save("b.npy", b)
np.save("e_cs.npy", np.copysign(a, b))
np.save("e_cs_num.npy", np.copysign(a, np.float32(-2)))
c = np.array([-1, 2, -0.0, 0.0, -3, 4], dtype="f4")
np.save("c.npy", c)
np.save("e_cs_epi.npy", np.copysign(np.maximum(a, 0) * 2, c))
PY
printf 'model c(a: f32[4, 1, 6], b: f32[5, 1]) -> f32[4, 5, 6]\n    return copysign(a, b)\n' > cs.slim
expect_ok "run copysign" "$SLIMC" run cs.slim --input a=a.npy --input b=b.npy --output-dir o5
"$NPYCMP" o5/output0.npy e_cs.npy 0 && ok "copysign equals numpy" || bad "copysign differs from numpy"
python3 -c "import numpy as np, sys; x = np.load('o5/output0.npy'); e = np.load('e_cs.npy'); sys.exit(0 if (np.signbit(x) == np.signbit(e)).all() else 1)" \
  && ok "copysign keeps the sign of -0.0" || bad "copysign loses a zero's sign"
printf 'model c(a: f32[4, 1, 6]) -> f32[4, 1, 6]\n    return copysign(a, -2.0)\n' > csn.slim
expect_ok "run copysign with a number" "$SLIMC" run csn.slim --input a=a.npy --output-dir o6
"$NPYCMP" o6/output0.npy e_cs_num.npy 0 && ok "copysign(a, -2) equals numpy" || bad "copysign(a, -2) differs from numpy"
printf 'model c(a: f32[4, 1, 6], c: f32[6]) -> f32[4, 1, 6]\n    return copysign(relu(a) * 2.0, c)\n' > cse.slim
"$SLIMC" inspect cse.slim --ir --passes fuse >fused.txt 2>&1
grep -q '|> copysign(_, ' fused.txt && ok "copysign fuses as an epilogue step" || { bad "copysign not fused"; cat fused.txt; }
expect_ok "run relu |> mul |> copysign" "$SLIMC" run cse.slim --input a=a.npy --input c=c.npy --output-dir o7
"$NPYCMP" o7/output0.npy e_cs_epi.npy 0 && ok "fused copysign equals numpy" || bad "fused copysign differs from numpy"
printf 'model c(a: f32[4, 1, 6], b: f32[5, 2]) -> f32[4, 5, 6]\n    return copysign(a, b)\n' > csbad.slim
expect_fail "copysign of shapes that do not broadcast" "error: .*copysign" "$SLIMC" run csbad.slim --input a=a.npy --input b=b.npy
finish
