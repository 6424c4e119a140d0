# slimc compress (docs/quantization.md): an int8 lenet saved as .slim + safetensors with
# QuantConv2d / QuantLinear, ~4x smaller, that runs bit for bit like quantizing on the fly
# (whose accuracy unit_quant checks on held-out digits), and clear errors.
source "$(dirname "$0")/lib.bash"

cp "$S/lenet/calib.npy" calib.npy
P='quantize(int8, calibrate="calib.npy", method=entropy)'
mkdir -p q
expect_ok "compress" "$SLIMC" compress "$S/lenet/lenet.slim" --passes "$P" -o q/lenet_int8.slim
[ -f q/lenet_int8.slim ] && [ -f q/lenet_int8.safetensors ] && ok "files written" || bad "files missing"
grep -q "QuantConv2d(20, 50, \[5, 5\]" q/lenet_int8.slim && grep -q "QuantLinear(800, 500" q/lenet_int8.slim \
  && ok "int8 layers in the language" || { bad "no QuantConv2d/QuantLinear"; cat q/lenet_int8.slim; }
fp=$(stat -c %s "$S/lenet/lenet.safetensors"); q8=$(stat -c %s q/lenet_int8.safetensors 2>/dev/null || echo 0)
[ "$q8" -gt 0 ] && [ $((q8 * 37 / 10)) -lt "$fp" ] && ok "weights file 3.7x+ smaller ($fp -> $q8 bytes)" || bad "weights $fp -> $q8 bytes"

expect_ok "run the saved int8 model" "$SLIMC" run q/lenet_int8.slim --input x="$S/lenet/test_x.npy" --output-dir saved
expect_ok "quantize on the fly" "$SLIMC" run "$S/lenet/lenet.slim" --input x="$S/lenet/test_x.npy" --output-dir fly \
  --passes "fold,bn_fold,fold,dce,cse,$P,dce,layout,fuse,memplan"
"$NPYCMP" saved/output0.npy fly/output0.npy 0 && ok "saved model == on the fly, bit for bit" || bad "saved model differs"

# a compress block in the model (path relative to the model file) is used without --passes
mkdir -p m && cp "$S/lenet/lenet.safetensors" "$S/lenet/calib.npy" m/
cp "$S/lenet/lenet.slim" m/lenet.slim
printf '\ncompress lenet\n    quantize(int8, calibrate="calib.npy")\n' >> m/lenet.slim
expect_ok "compress block" "$SLIMC" compress m/lenet.slim -o m/out.slim
grep -q QuantLinear m/out.slim && ! grep -q "^compress" m/out.slim && ok "block applied, not written again" \
  || bad "compress block output"
expect_fail "nothing to do" "nothing to do" "$SLIMC" compress "$S/lenet/lenet.slim" -o x.slim
expect_fail "output not .slim" "must be a .slim" "$SLIMC" compress "$S/lenet/lenet.slim" --passes "$P" -o x.txt

# hand-edited files: a float weight where int8 is needed, a missing x_scale
sed 's/^    fc1 = QuantLinear(800, 500, bias=true, x_scale=[0-9.e-]*,/    fc1 = QuantLinear(800, 500, bias=true,/' q/lenet_int8.slim > q/noscale.slim
expect_fail "QuantLinear without x_scale" "needs x_scale" "$SLIMC" run q/noscale.slim --input x="$S/lenet/input.npy"
python3 - "$S/lenet/lenet.safetensors" q/lenet_int8.safetensors q/f32w.safetensors <<'PY'
import json, struct, sys
def load(p):
    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]
h, data = load(sys.argv[2])
fh, fdata = load(sys.argv[1])
# replace fc2.weight (i8 [10, 500]) by fc2's f32 weight: same shape, wrong dtype
out = {}; blobs = []; off = 0
for k, v in h.items():
    if k == '__metadata__': continue
    if k == 'fc2.weight':
        s, e = fh['fc2.weight']['data_offsets']; blob = fdata[s:e]; v = {'dtype': 'F32', 'shape': v['shape']}
    else:
        s, e = v['data_offsets']; blob = data[s:e]
    v = dict(v, data_offsets=[off, off + len(blob)]); off += len(blob); out[k] = v; blobs.append(blob)
j = json.dumps(out).encode(); j += b' ' * (-len(j) % 8)
open(sys.argv[3], 'wb').write(struct.pack('<Q', len(j)) + j + b''.join(blobs))
PY
sed 's/weights "lenet_int8.safetensors"/weights "f32w.safetensors"/' q/lenet_int8.slim > q/f32w.slim
expect_fail "f32 weight for QuantLinear" "fc2.weight' is f32 .* needs i8" "$SLIMC" run q/f32w.slim --input x="$S/lenet/input.npy"
# compress writes no weight sums (they are computed at load); a file that has them gets
# them checked: sums that do not match the weights (a corrupted or hand-edited file) fail
python3 - q/lenet_int8.safetensors q/badsum.safetensors <<'PY'
import json, struct, sys
b = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n])
data = b[8 + n:]
assert not [k for k in h if k.endswith('.weight_sum')], 'compress wrote weight sums'
s, e = h['fc2.weight']['data_offsets']; rows, cols = h['fc2.weight']['shape']
sums = [sum(((x + 128) % 256) - 128 for x in data[s + r * cols:s + (r + 1) * cols]) for r in range(rows)]
sums[0] ^= 1
h['fc2.weight_sum'] = {'dtype': 'I32', 'shape': [rows], 'data_offsets': [len(data), len(data) + 4 * rows]}
data += struct.pack('<%di' % rows, *sums)
j = json.dumps(h).encode(); j += b' ' * (-len(j) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(j)) + j + data)
PY
sed 's/weights "lenet_int8.safetensors"/weights "badsum.safetensors"/' q/lenet_int8.slim > q/badsum.slim
expect_fail "weight_sum check" "fc2.weight_sum' does not match 'fc2.weight'" "$SLIMC" run q/badsum.slim --input x="$S/lenet/input.npy"
# weight-only int8 / int4, fp16 / bf16 weights and dynamic int8 (mlp): saved, reloaded,
# run bit for bit like the pass on the fly; the files shrink as the formats say
fp=$(stat -c %s "$S/mlp/mlp.safetensors")
for q in "int8, weight_only:3.5:WeightOnlyLinear(512, 512, bias=true, dtype=\"int8\", group=512)" \
         "int4:5.0:WeightOnlyLinear(512, 512, bias=true, dtype=\"int4\", group=32)" \
         "int4, group=16:4.5:WeightOnlyLinear(512, 512, bias=true, dtype=\"int4\", group=16)" \
         "fp16:1.9:dtype=\"fp16\")" "bf16:1.9:dtype=\"bf16\")" \
         "int8, dynamic:3.5:DynamicQuantLinear(512, 512, bias=true)"; do
  mode=${q%%:*}; rest=${q#*:}; ratio=${rest%%:*}; text=${rest#*:}
  f=lb_$(echo "$mode" | tr -cd 'a-z0-9')
  expect_ok "compress $mode" "$SLIMC" compress "$S/mlp/mlp.slim" --passes "quantize($mode)" -o "$f.slim"
  grep -qF "$text" "$f.slim" && ok "$mode: $text" || { bad "$mode: no $text"; cat "$f.slim"; }
  sz=$(stat -c %s "$f.safetensors" 2>/dev/null || echo 0)
  awk -v a="$fp" -v b="$sz" -v r="$ratio" 'BEGIN { exit !(b > 0 && a / b >= r) }' \
    && ok "$mode: weights $fp -> $sz bytes (>= ${ratio}x)" || bad "$mode: weights $fp -> $sz bytes"
  expect_ok "run $f" "$SLIMC" run "$f.slim" --input x="$S/mlp/input.npy" --output-dir "$f.saved"
  expect_ok "$mode on the fly" "$SLIMC" run "$S/mlp/mlp.slim" --input x="$S/mlp/input.npy" \
    --output-dir "$f.fly" --passes "fold,bn_fold,fold,dce,cse,quantize($mode),dce,layout,fuse,memplan"
  "$NPYCMP" "$f.saved/output0.npy" "$f.fly/output0.npy" 0 && ok "$mode: saved == on the fly" || bad "$mode: differs"
  "$NPYCMP" "$f.saved/output0.npy" "$S/mlp/expected.npy" 0.2 && ok "$mode: close to PyTorch fp32" || bad "$mode: far from fp32"
done
sed 's/dtype="int4", group=32)/dtype="int4", group=31)/' lb_int4.slim > lb_bad.slim
expect_fail "int4 group that does not divide" "group=31 must divide in_features=512" "$SLIMC" run lb_bad.slim --input x="$S/mlp/input.npy"
finish
