# Prune then quantize composes on convs (issue 17; docs/pruning.md, "Sparse kernels"): the
# ResNet-18-shaped sample resnet_tiny (3x3 convs at stride 1 and 2, 1x1 downsamples at stride 2,
# a first conv of K = 27) pruned by slimc (l1_unstructured 95% per layer) then quantized to
# static int8 in one `compress`, runs its convs on the int8 block-sparse conv kernel under a
# pinned profile (q8sp_conv_gflops half of gemm_int8) where the cost model predicts a gain
# (layer3 and layer4; the 32x32 and 16x16 ones are launch-bound and stay dense): inspect
# --sparsity names the kernel and why, the emitted C calls slimc_rt_q8sp_conv_block. The outputs,
# by the cost model's plan and with every conv forced sparse (sparse(mode=q8)), equal the same
# model's on the dense int8 conv (sparse(mode=dense)) bit for bit: batch 2, one thread and three,
# AVX-512 VNNI, AVX2 without VNNI, and the portable loops; and the AOT executable's.
source "$(dirname "$0")/lib.bash"

S="$SLIMC_SOURCE_DIR/samples/resnet_tiny"
cp "$S/resnet_tiny.slim" "$S/resnet_tiny.safetensors" "$S/input.npy" .
python3 - <<'PY'
import numpy as np
np.save("calib.npy", np.random.default_rng(5).standard_normal((8, 3, 32, 32)).astype(np.float32))
PY
prof='{"slimc_device_profile": 1, "devices": {"cpu": {"name": "t", "gflops": {"gemm_f32": 260, "conv_f32": 66, "gemm_int8": 920, "gemm_f16": 260, "elementwise": 8, "reduce": 8, "data": 8}, "bandwidth_gbs": 20, "launch_us": 2, "sparse": {"csr_gflops": 60, "csr_gemv_gflops": 7, "dense_gemv_gflops": 63, "q8sp_conv_gflops": 460}}}}'
echo "$prof" > prof.json

expect_ok "compress: prune then quantize" "$SLIMC" compress resnet_tiny.slim -o q.slim \
  --passes 'prune(method=l1_unstructured, amount=0.95),quantize(int8, calibrate="calib.npy")'

"$SLIMC" inspect q.slim --sparsity --device-profile prof.json >i.txt 2>&1
grep -qE "^  layer4_1_conv2 +qconv2d +layer4_1_conv2.weight[^ ]* +5.0[0-9]%  unstructured .*  int8 blocks$" i.txt \
  && grep -qE "^    layer4_1_conv2: sparse int8 blocks: 5.0% density, [0-9]+ of 9216 blocks of 4 kept, predicted 1.[0-9]+x faster than the dense int8 conv$" i.txt \
  && ok "inspect --sparsity: int8 blocks for layer4's 3x3 convs, and why" || { bad "inspect --sparsity"; cat i.txt; }
# the small early convs (launch-bound at 32x32) stay dense: predicted under SPARSE_MIN_GAIN
grep -qE "^    layer[0-9]_0_downsample_0: kept dense int8: 5.[0-9]% density, [0-9]+ of [0-9]+ blocks of 4 kept, int8 blocks predicted only 1.[0-9]+x faster" i.txt \
  && ok "inspect --sparsity: a 1x1 downsample kept dense, and why" || { bad "inspect: kept dense"; cat i.txt; }
n=$(grep -cE "^  [a-z0-9_]+ +qconv2d .*  int8 blocks$" i.txt)
[ "$n" -ge 6 ] && [ "$n" -lt 20 ] && ok "$n of 20 convs on int8 blocks by cost" || { bad "$n convs on int8 blocks"; cat i.txt; }
Q8='qchain,layout,sparse(mode=q8),fuse,dce,memplan'
"$SLIMC" inspect q.slim --sparsity --passes "$Q8" >f.txt 2>&1
grep -q "int8 blocks for 21" f.txt && ok "sparse(mode=q8): every conv and the linear" || { bad "mode=q8 inspect"; cat f.txt; }

DENSE='qchain,layout,sparse(mode=dense),fuse,dce,memplan'
expect_ok "run: dense int8 convs" "$SLIMC" run q.slim --input x=input.npy --output-dir od --passes "$DENSE"
for isa in native avx2 novnni generic; do
  case $isa in
    native) env=() ;;
    avx2) env=(SLIMC_MAX_ISA=avx2) ;;
    novnni) env=(SLIMC_NO_VNNI=1) ;;
    generic) env=(SLIMC_MAX_ISA=generic) ;;
  esac
  for t in 1 3; do
    expect_ok "run: cost model's plan ($isa, $t threads)" env "${env[@]}" "$SLIMC" run q.slim \
      --input x=input.npy --output-dir "o_${isa}_$t" --device-profile prof.json --threads $t
    expect_ok "run: every conv int8 blocks ($isa, $t threads)" env "${env[@]}" "$SLIMC" run q.slim \
      --input x=input.npy --output-dir "f_${isa}_$t" --passes "$Q8" --threads $t
    for o in o f; do
      "$NPYCMP" "${o}_${isa}_$t/output0.npy" od/output0.npy 0 >/dev/null \
        && ok "$o: int8 blocks ($isa, $t threads) == dense int8, bit for bit" \
        || { bad "$o: int8 blocks ($isa, $t threads) differ from dense int8"; "$NPYCMP" "${o}_${isa}_$t/output0.npy" od/output0.npy 0; }
    done
  done
done
expect_ok "run: fp32 pruned-then-quantized reference run" "$SLIMC" run resnet_tiny.slim --input x=input.npy --output-dir of
"$NPYCMP" od/output0.npy of/output0.npy 1e9 >/dev/null && ok "dense int8 ran" || bad "dense int8 output"

expect_ok "emit" "$SLIMC" emit q.slim --target c -o em --device-profile prof.json
[ "$(grep -c 'slimc_rt_q8sp_conv_block(&s, x' em/*.c)" -eq "$n" ] \
  && grep -q "int8 block-sparse kernel: [0-9]* of 9216 blocks of 4 weights kept ([0-9.]*%); the cost model predicted it [0-9.]*x faster than the dense int8 conv" em/*.c \
  && ok "emitted code calls the int8 block-sparse conv kernel, with the reason" || bad "emitted code lacks the kernel"
expect_ok "build" "$SLIMC" build q.slim -o q_exe --device-profile prof.json
./q_exe --input x=input.npy --output-dir ob >/dev/null 2>&1 && "$NPYCMP" ob/output0.npy od/output0.npy 0 >/dev/null \
  && ok "AOT executable (int8 blocks) == dense int8" || bad "AOT executable"
finish
