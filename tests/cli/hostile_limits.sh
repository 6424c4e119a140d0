# Resource limits (issue 13, item 5): tiny files asking for huge memory, huge files, long
# op chains and wrong inputs are refused fast with a clear message, exit status 1; the
# passes and codegen stay linear in the nodes. Big inputs are made here, not committed
# (tests/data/hostile/make_hostile_limits.py).
source "$(dirname "$0")/lib.bash"
H=$SLIMC_SOURCE_DIR/tests/data/hostile
GEN="python3 $H/make_hostile_limits.py"
L=$S/lenet

# seconds CMD...: runs CMD (output in out.txt / err.txt), sets $secs and $rc.
seconds() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >out.txt 2>err.txt
  rc=$?
  t1=$(date +%s.%N)
  secs=$(echo "$t1 - $t0" | bc)
}
# within NAME LIMIT: the last `seconds` run took less than LIMIT seconds.
within() {
  if [ "$(echo "$secs < $2" | bc)" = 1 ]; then ok "$1 (${secs}s)"; else bad "$1: ${secs}s, not under $2s"; fi
}
# Never let a regression eat the machine: 8 GB of address space is far more than any
# check here needs once the limits work (not under ASan, whose shadow memory needs more).
if (ulimit -v 8000000 && "$SLIMC" --version) >/dev/null 2>&1; then ulimit -v 8000000; fi

# --- OneHot of depth 2^40 (109 bytes, 8 TiB of constant): an error at once, no abort
seconds "$SLIMC" inspect "$H/onehot_2_40.onnx"
expect_fail "onehot 2^40: limit message" \
  "onehot_2_40.onnx: error: node 'onehot': constant result of 8.0 TiB exceeds the memory limit \([0-9.]+ [KMGT]iB; --max-memory raises it\)" \
  "$SLIMC" inspect "$H/onehot_2_40.onnx"
within "onehot 2^40 refused fast" 2
expect_fail "onehot 2^40 under --max-memory 1T too" "8.0 TiB exceeds the memory limit \(1.0 TiB" \
  "$SLIMC" inspect "$H/onehot_2_40.onnx" --max-memory 1T
$GEN onehot 1000 onehot_1k.onnx
expect_ok "a small OneHot imports" "$SLIMC" inspect onehot_1k.onnx
expect_fail "a small OneHot under a tiny limit" "node 'onehot': constant result of 7.8 KiB exceeds the memory limit \(1.0 KiB" \
  "$SLIMC" inspect onehot_1k.onnx --max-memory 1K

# --- Expand to 16 Gi elements: refused before the passes, compile and run
seconds "$SLIMC" run "$H/expand_16g.onnx" --max-memory 4G
within "expand 16G refused fast" 5
expect_fail "expand 16G: limit message" "expand_16g.onnx: error: model 'expand_16g': memory .* of 16.0 GiB exceeds the memory limit \(4.0 GiB; --max-memory raises it\)" \
  "$SLIMC" run "$H/expand_16g.onnx" --max-memory 4G
expect_fail "expand 16G refused by build too" "16.0 GiB exceeds the memory limit" \
  "$SLIMC" build "$H/expand_16g.onnx" --max-memory 4G -o expand_exe
[ ! -e expand_exe ] && ok "no executable left" || bad "build wrote expand_exe"

# --- --max-memory on lenet: 1M refused, 1G runs
expect_fail "lenet under 1M" "lenet.slim: error: model 'lenet': memory .* exceeds the memory limit \(1.0 MiB; --max-memory raises it\)" \
  "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --max-memory 1M
expect_ok "lenet under 1G" "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --max-memory 1G
grep -q "output0: f32\[8, 10\]" out.txt && ok "lenet ran" || { bad "lenet output"; cat out.txt; }
expect_fail "inspect --memory under 1M" "exceeds the memory limit \(1.0 MiB" "$SLIMC" inspect --memory "$L/lenet.slim" --max-memory 1M
expect_fail "bench under 1M" "exceeds the memory limit \(1.0 MiB" "$SLIMC" bench "$L/lenet.slim" --runs 1 --max-memory 1M
expect_fail "bad size" "--max-memory takes a size" "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --max-memory 12X
expect_fail "import takes --max-memory" "exceeds the memory limit \(1.0 KiB" \
  "$SLIMC" import onehot_1k.onnx --max-memory 1K -o oh.slim
# a built executable has its own flag: the arena and outputs for the actual inputs
if "$SLIMC" build "$L/lenet.slim" -o lenet_exe >out.txt 2>err.txt; then
  expect_fail "executable under 100K" "lenet_exe: error: the arena and outputs for these inputs need .* over the memory limit \(0.1 MiB; --max-memory raises it\)" \
    ./lenet_exe --input "$L/input.npy" --max-memory 100K
  expect_ok "executable under 1G" ./lenet_exe --input "$L/input.npy" --max-memory 1G
  expect_fail "executable: bad size" "--max-memory takes a size" ./lenet_exe --input "$L/input.npy" --max-memory x
else
  bad "slimc build lenet"; cat err.txt
fi

# --- a 60 MB .slim: refused from its size, fast and small
$GEN bigslim 60 big.slim
seconds /usr/bin/time -f "%M" "$SLIMC" inspect big.slim
within "60 MB .slim refused fast" 2
grep -q "big.slim: error: model file is larger than 16 MB" err.txt && ok "60 MB .slim: message" || { bad "60 MB .slim: message"; cat err.txt; }
kb=$(tail -1 err.txt)
[ "$rc" = 1 ] && [ "$kb" -lt 200000 ] && ok "60 MB .slim: exit 1, ${kb} KB" || bad "60 MB .slim: exit $rc, ${kb} KB"

# --- ONNX subgraphs nested 100,000 deep: refused before protobuf-c recurses on them
python3 - <<'PY'
def varint(n):
    out = b''
    while True:
        b, n = n & 0x7f, n >> 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])
def tag(f): return varint(f << 3 | 2)
def ld(f, p): return tag(f) + varint(len(p)) + p
# each level: GraphProto.node(1) -> NodeProto(op If).attribute(5) -> AttributeProto.g(6)
fixed, afixed, pre, glen = ld(4, b'If') + ld(1, b'c') + ld(2, b'y'), ld(1, b'g') + b'\xa0\x01\x05', [], 0
for _ in range(100000):
    alen = len(afixed) + 1 + len(varint(glen)) + glen
    nlen = len(fixed) + 1 + len(varint(alen)) + alen
    pre.append(tag(1) + varint(nlen) + fixed + tag(5) + varint(alen) + afixed + tag(6) + varint(glen))
    glen = 1 + len(varint(nlen)) + nlen
tail = ld(11, ld(1, b'c')) + ld(12, ld(1, b'y'))
graph = tag(7) + varint(glen + len(tail)) + b''.join(reversed(pre)) + tail
open('deep.onnx', 'wb').write(b'\x08\x08' + ld(8, b'\x10\x0d') + graph)
PY
expect_fail "ONNX nested 100k deep" "deep.onnx: error: messages \(subgraphs, types\) nest more than 200 levels deep" "$SLIMC" inspect deep.onnx

# --- a 50,000-op relu chain: inspect and emit in linear time (the quadratic passes took
# minutes; the slack is generous for loaded machines)
$GEN chain 50000 chain50k.slim
seconds "$SLIMC" inspect --memory chain50k.slim
[ "$rc" = 0 ] && within "50k-op chain: inspect --memory (all passes)" 20 || { bad "50k chain inspect: exit $rc"; cat err.txt; }
seconds "$SLIMC" emit chain50k.slim --target c -o emit50k
[ "$rc" = 0 ] && within "50k-op chain: emit (passes + codegen)" 20 || { bad "50k chain emit: exit $rc"; cat err.txt; }
$GEN onnxchain 50000 chain50k.onnx
seconds "$SLIMC" emit chain50k.onnx --target c -o emit50k_onnx
[ "$rc" = 0 ] && within "50k-node ONNX softmax chain (50k buffers to plan): import + emit" 20 || { bad "50k ONNX chain emit: exit $rc"; cat err.txt; }
$GEN convchain 16000 conv16k.onnx
seconds "$SLIMC" emit conv16k.onnx --target c -o emit16k_conv
[ "$rc" = 0 ] && within "48k-node conv+bn+relu chain (bn_fold, 16k weights to pack): import + emit" 20 || { bad "conv chain emit: exit $rc"; cat err.txt; }
$GEN bnchain 16000 bn16k.onnx
seconds "$SLIMC" emit bn16k.onnx --target c -o emit16k_bn
[ "$rc" = 0 ] && within "32k-node sigmoid+bn chain (16k batch norms lowered to mul+add): import + emit" 20 || { bad "bn chain emit: exit $rc"; cat err.txt; }
seconds "$SLIMC" inspect --dot conv16k.onnx
[ "$rc" = 0 ] && within "48k-node conv+bn+relu chain: inspect --dot" 20 || { bad "conv chain dot: exit $rc"; cat err.txt; }

# --- a wrong input is refused before the passes and the compile (a 20k-op chain took
# minutes to compile before noticing)
$GEN chain 20000 chain20k.slim
$GEN npy 2x3x4 rank3.npy
seconds "$SLIMC" run chain20k.slim --input rank3.npy --no-cache
within "wrong rank refused before compiling" 5
expect_fail "wrong rank: message" "chain20k.slim:1:[0-9]+: error: input 'x': expected f32\[N, 4\], got f32\[2, 3, 4\]: wrong rank" \
  "$SLIMC" run chain20k.slim --input rank3.npy --no-cache
$GEN npy 2x5 dim5.npy
seconds "$SLIMC" run chain20k.slim --input dim5.npy --no-cache
expect_fail "wrong static dim" "input 'x': expected f32\[N, 4\], got f32\[2, 5\]" "$SLIMC" run chain20k.slim --input dim5.npy --no-cache
within "wrong dim refused before compiling" 5

finish
