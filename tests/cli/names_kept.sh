#!/usr/bin/env bash
# `compress` and `import` keep the layers' names: a module is named after its parameters'
# prefix (conv1 of conv1.weight; layer1_0_conv1 of layer1.0.conv1.weight, made an
# identifier), so a flat model's saved tensors keep their state_dict names; a prefix that is
# a word or a function of the language, or taken, falls back to mK. The saved model still
# computes what the original does.
source "$(dirname "$0")/lib.bash"
mkdir -p c q r i k
keys() { python3 -c "
import json, struct, sys
b = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]
print(' '.join(sorted(k for k in json.loads(b[8:8 + n]) if k != '__metadata__')))" "$1"; }

expect_ok "compress lenet" "$SLIMC" compress "$S/lenet/lenet.slim" --passes fold -o c/lenet.slim
for m in conv1 conv2 fc1 fc2; do grep -q "^    $m = " c/lenet.slim || bad "lenet: no module $m"; done
[ "$(keys c/lenet.safetensors)" = "$(keys "$S/lenet/lenet.safetensors")" ] && ok "lenet: the state_dict names, all kept" \
  || { bad "lenet: tensor names differ"; keys c/lenet.safetensors; }
expect_ok "saved lenet computes the same" "$SLIMC" run c/lenet.slim --input "$S/lenet/input.npy" --compare "$S/lenet/expected.npy" --rtol 1e-4 --atol 1e-5

expect_ok "compress int8" "$SLIMC" compress "$S/lenet/lenet.slim" --passes "quantize(int8, calibrate=\"$S/lenet/calib.npy\")" -o q/lenet.slim
grep -q "^    fc1 = QuantLinear(800, 500" q/lenet.slim && ok "int8: QuantLinear named fc1" || { bad "int8 names"; head -9 q/lenet.slim; }

expect_ok "compress resnet_tiny (bn folded)" "$SLIMC" compress "$S/resnet_tiny/resnet_tiny.slim" --passes fold -o r/r.slim
grep -q "^    layer1_0_conv1 = Conv2d(" r/r.slim && ok "nested path made an identifier" || bad "no layer1_0_conv1"
keys r/r.safetensors | grep -q "layer1_0_conv1.weight" && ok "its tensor layer1_0_conv1.weight" || bad "resnet keys"
expect_ok "saved resnet_tiny computes the same" "$SLIMC" run r/r.slim --input "$S/resnet_tiny/input.npy" --compare "$S/resnet_tiny/expected.npy" --rtol 1e-4 --atol 1e-5

expect_ok "import lenet.onnx" "$SLIMC" import "$SLIMC_SOURCE_DIR/tests/onnx/models/lenet.onnx" -o i/lenet.slim
for m in conv1 conv2 fc1 fc2 fc3; do grep -q "^    $m = " i/lenet.slim || bad "import: no module $m"; done
ok "import keeps conv1..fc3"

# prefixes that cannot name a module: a function of the language, a keyword, a writer's name
python3 - <<'PY' || bad "making clash.onnx"
import numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
inits = []
nodes = []
x = "x"
for i, p in enumerate(["relu", "return", "t3", "good", "good"]):
    w = numpy_helper.from_array(np.full((4, 4), 0.1 * (i + 1), np.float32), f"{p}.weight" if i < 4 else "good.weight_again")
    b = numpy_helper.from_array(np.full((4,), 0.5 * i, np.float32), f"{p}.bias" if i < 4 else "good.bias_again")
    inits += [w, b]
    nodes.append(helper.make_node("Gemm", [x, w.name, b.name], [f"y{i}"], transB=1))
    x = f"y{i}"
g = helper.make_graph(nodes, "clash", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                      [helper.make_tensor_value_info(x, TensorProto.FLOAT, [2, 4])], inits)
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), "clash.onnx")
np.save("clash_x.npy", np.arange(8, dtype=np.float32).reshape(2, 4))
PY
if "$SLIMC" import clash.onnx -o k/clash.slim >out.txt 2>err.txt; then
  ok "import clash.onnx"
  grep -qE "^    (relu|return|t3) = Linear" k/clash.slim && bad "a module named relu, return or t3" || ok "no module takes a reserved name"
  [ "$(grep -c "= Linear(4, 4" k/clash.slim)" = 5 ] && grep -q "^    good = Linear" k/clash.slim && grep -qE "^    m[0-9]+ = Linear" k/clash.slim \
    && ok "five Linear modules: good once, the others mK" || { bad "clash module names"; head -12 k/clash.slim; }
  expect_ok "clash.slim runs as the ONNX does" bash -c "'$SLIMC' run k/clash.slim --input clash_x.npy --output-dir a && '$SLIMC' run clash.onnx --input clash_x.npy --output-dir b && cmp a/*.npy b/*.npy"
else
  # MatMul with a constant may import as linear or matmul; either way it must import
  bad "import clash.onnx"; cat err.txt
fi
finish
