# Bad input of every kind: a clear message naming the file and place, exit status 1,
# no crash, no partial output left behind.
source "$(dirname "$0")/lib.bash"
L=$S/lenet

# --- the model file
cat > syntax.slim <<'SLIM'
model m(x: f32[N, 4]) -> f32[N, 4]
    h = relu(x
    y = = x
    return h
SLIM
expect_fail "syntax errors" "syntax.slim:2:[0-9]+: error:" "$SLIMC" run syntax.slim --input x.npy
[ "$(grep -c 'error:' err.txt)" -ge 2 ] && ok "all syntax errors reported in one run" || { bad "only one syntax error reported"; cat err.txt; }
grep -q '\^' err.txt && ok "caret under the fault" || bad "no caret"

cat > unknown_op.slim <<'SLIM'
model m(x: f32[N, 4]) -> f32[N, 4]
    return frobnicate(x)
SLIM
expect_fail "unknown op" "unknown_op.slim:2:12: error: .*frobnicate" "$SLIMC" inspect unknown_op.slim

cat > unknown_module.slim <<'SLIM'
model m(x: f32[N, 4]) -> f32[N, 4]
    weights "w.safetensors"
    a = Conv3d(1, 2, 3)
    return a(x)
SLIM
expect_fail "unknown module" "unknown_module.slim:3:9: error: .*Conv3d" "$SLIMC" inspect unknown_module.slim

cat > shape.slim <<'SLIM'
model m(x: f32[N, 4], y: f32[N, 5]) -> f32[N, 4]
    return x + y
SLIM
expect_fail "shape mismatch names both shapes" "shape.slim:2:.*f32\[N, 4\].*f32\[N, 5\]" "$SLIMC" inspect shape.slim

sed 's#"lenet.safetensors"#"nowhere.safetensors"#' "$L/lenet.slim" > missing_weights.slim
expect_fail "missing weights file" "missing_weights.slim:[0-9]+:[0-9]+: error: .*nowhere.safetensors" "$SLIMC" inspect missing_weights.slim

sed "s#\"lenet.safetensors\"#\"$L/lenet.safetensors\"#; s#Linear(500, 10)#Linear(500, 11)#" "$L/lenet.slim" > misshaped.slim
expect_fail "mis-shaped parameter" "misshaped.slim:[0-9]+:[0-9]+: error: .*fc2.weight" "$SLIMC" inspect misshaped.slim

sed "s#\"lenet.safetensors\"#\"$S/mlp/mlp.safetensors\"#" "$L/lenet.slim" > wrong_weights.slim
expect_fail "parameter missing from the weights" "wrong_weights.slim:[0-9]+:[0-9]+: error: .*conv1.weight" "$SLIMC" inspect wrong_weights.slim

expect_fail "no such model file" "nothere.slim" "$SLIMC" run nothere.slim

# --- weights and arrays
head -c 100 "$L/lenet.safetensors" > trunc.safetensors
sed 's#"lenet.safetensors"#"trunc.safetensors"#' "$L/lenet.slim" > trunc.slim
expect_fail "truncated safetensors" "trunc.safetensors" "$SLIMC" inspect trunc.slim
printf '\xff\xff\xff\xff\xff\xff\xff\x7f{}' > lying.safetensors
sed 's#"lenet.safetensors"#"lying.safetensors"#' "$L/lenet.slim" > lying.slim
expect_fail "lying safetensors header" "lying.safetensors" "$SLIMC" inspect lying.slim

head -c 200 "$L/input.npy" > trunc.npy
expect_fail "truncated npy" "trunc.npy" "$SLIMC" run "$L/lenet.slim" --input trunc.npy
expect_fail "wrong input shape" "input 'x'.*f32\[N, 1, 28, 28\].*\[4, 784\]" "$SLIMC" run "$L/lenet.slim" --input "$S/mlp/input.npy"
expect_fail "wrong input dtype" "tokens|i64|f32" "$SLIMC" run "$L/lenet.slim" --input "$S/textcls/input.npy"
expect_fail "unknown input name" "no input called 'y'" "$SLIMC" run "$L/lenet.slim" --input y="$L/input.npy"

# --- the compiler and the command line
rm -rf outdir
expect_fail "missing C compiler" "C compiler.*not found" env SLIMC_CC=/nonexistent/cc "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --output-dir outdir --no-cache
[ -z "$(ls -A outdir 2>/dev/null)" ] && ok "no partial output after a failed run" || bad "output left behind"
expect_fail "unwritable output folder" "cannot create the output folder" "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --output-dir /proc/no/such
grep -q "output0" out.txt && bad "ran although the outputs could not be written" || ok "nothing run when the output folder is unusable"
expect_fail "unknown command" "unknown command" "$SLIMC" frobnicate
expect_fail "unknown option" "unknown option '--frob'" "$SLIMC" run "$L/lenet.slim" --frob
expect_fail "bad --threads" "--threads" "$SLIMC" run "$L/lenet.slim" --threads zero
expect_fail "cuda target" "no CUDA device found" env -u SLIMC_CUDA_EMULATE SLIMC_LIBCUDA=no-libcuda.so "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --target cuda
expect_fail "unknown pass" "frobnicate" "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --passes fold,frobnicate
expect_fail "missing onnx file" "model.onnx: error: cannot open" "$SLIMC" inspect model.onnx
finish
