#!/usr/bin/env bash
# Static int8 on depthwise convs of the shapes exported OCR models carry (issue 19): 5x5
# stride (2,1), 7x7 dilation 2, 3x3 stride (1,2), 5x5 stride 1, each followed by Relu, on
# an odd-width image (tests/unit/test_qdw_avx2.c checks the kernel itself). All four are
# quantized (qconv2d x4, chained in u8 by qchain), the output is within 5% of max|fp32|
# of ONNX Runtime's fp32 (int8 noise: about 2% here), and the dispatched kernels (AVX2 /
# AVX-512) give the very bytes of the portable loop (SLIMC_MAX_ISA=generic).
source "$(dirname "$0")/lib.bash"
if "$SLIMC" inspect "$S/lenet/lenet.slim" --passes 'qdq' 2>&1 | grep -q "built without ONNX" ||
   ! python3 -c 'import numpy, onnx' 2>/dev/null; then
  echo "skipped: no ONNX support or no python3 onnx"; finish; exit
fi
python3 - <<'PY' || bad "model generation"
import numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
rng = np.random.default_rng(7)
C = 8
# (kernel, stride, pad, dilation) of each depthwise conv
layers = [((5, 5), (2, 1), (2, 2), (1, 1)), ((7, 7), (1, 1), (6, 6), (2, 2)),
          ((3, 3), (1, 2), (1, 1), (1, 1)), ((5, 5), (1, 1), (2, 2), (1, 1))]
nodes, inits, prev = [], [], "x"
for i, (k, s, p, d) in enumerate(layers):
    w = (rng.standard_normal((C, 1) + k) * (1.5 / k[0])).astype(np.float32)
    b = (rng.standard_normal(C) * 0.1).astype(np.float32)
    inits += [nh.from_array(w, f"w{i}"), nh.from_array(b, f"b{i}")]
    nodes.append(h.make_node("Conv", [prev, f"w{i}", f"b{i}"], [f"c{i}"], group=C,
                             kernel_shape=list(k), strides=list(s), pads=[p[0], p[1], p[0], p[1]],
                             dilations=list(d)))
    nodes.append(h.make_node("Relu", [f"c{i}"], [f"r{i}"]))
    prev = f"r{i}"
nodes[-1].output[0] = "y"
g = h.make_graph(nodes, "dw", [h.make_tensor_value_info("x", T.FLOAT, [1, C, 24, 37])],
                 [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), "dw.onnx")
np.save("calib.npy", rng.standard_normal((16, C, 24, 37)).astype(np.float32))
x = rng.standard_normal((1, C, 24, 37)).astype(np.float32)
np.save("x.npy", x)
try:
    import onnxruntime as ort
    sess = ort.InferenceSession("dw.onnx", providers=["CPUExecutionProvider"])
    np.save("ref.npy", sess.run(None, {"x": x})[0])
except ImportError:
    pass
PY
Q='fold,bn_fold,quantize(int8, calibrate="calib.npy"),qchain,dce,layout,fuse,memplan'
expect_ok "inspect int8" "$SLIMC" inspect dw.onnx --memory --passes "$Q"
grep -q "qconv2d x4" out.txt && ok "every depthwise conv is int8" || { bad "not quantized"; cat out.txt; }
expect_ok "run fp32" "$SLIMC" run dw.onnx --input x=x.npy --output-dir f32
expect_ok "run int8" "$SLIMC" run dw.onnx --passes "$Q" --input x=x.npy --output-dir q8
[ -f ref.npy ] || cp f32/y.npy ref.npy # no onnxruntime: slimc's fp32 as the reference
"$NPYCMP" f32/y.npy ref.npy 1e-5 && ok "fp32 matches" || bad "fp32 differs"
"$NPYCMP" q8/y.npy ref.npy 0.05 && ok "int8 within 5% of fp32" || bad "int8 far from fp32"
SLIMC_MAX_ISA=generic expect_ok "run int8 (portable loops)" \
  "$SLIMC" run dw.onnx --passes "$Q" --input x=x.npy --output-dir q8g
cmp -s q8/y.npy q8g/y.npy && ok "vector kernels give the portable loop's bytes" \
  || bad "vector int8 differs from the portable loop"
finish
