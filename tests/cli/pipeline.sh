# Pipelines (passes/pass.h: PassPipeline): a compress block's steps keep their places in the
# model file, so an error in an argument points at that argument's line:col; `--passes`
# strings point into "--passes"; the calibration file is read by the API (relative to the
# model file for a block) and quantization gives the same model either way; no pass opens
# a file.
source "$(dirname "$0")/lib.bash"

# A copy of lenet with the compress block $1 (one line); sets LINE to its line.
with_block() {
  rm -rf m && mkdir m && cp "$S/lenet/lenet.slim" "$S/lenet/lenet.safetensors" "$S/lenet/calib.npy" m/
  printf '\ncompress lenet\n    %s\n' "$1" >> m/lenet.slim
  LINE=$(wc -l < m/lenet.slim)
}

with_block 'quantize(int8, calibrate="calib.npy", methd=minmax)'
expect_fail "unknown key in a block: at the argument" \
  "lenet\.slim:$LINE:43: error: pass 'quantize' has no argument 'methd'" \
  "$SLIMC" compress m/lenet.slim -o out.slim
grep -qF '                                          ^' err.txt && ok "caret under the argument" \
  || { bad "caret under the argument"; cat err.txt; }
[ ! -e out.slim ] && ok "no output left" || bad "output left after an error"

with_block 'quantize(int8, calibrate="calib.npy", method=kl)'
expect_fail "bad value in a block: at the argument" \
  "lenet\.slim:$LINE:43: error: quantize: unknown method 'kl'" \
  "$SLIMC" compress m/lenet.slim -o out.slim

with_block 'quantize(int8, per_channel=maybe, calibrate="calib.npy")'
expect_fail "bad flag value in a block: at the argument" \
  "lenet\.slim:$LINE:20: error: quantize: per_channel is true or false" \
  "$SLIMC" compress m/lenet.slim -o out.slim

with_block 'quantise(int8, calibrate="calib.npy")'
expect_fail "unknown pass in a block: at load, at the step" \
  "lenet\.slim:$LINE:5: error: unknown pass 'quantise'" "$SLIMC" inspect m/lenet.slim

with_block 'quantize(int8, calibrate="nosuch.npy")'
expect_fail "missing calibration file: named, relative to the model" "m/nosuch\.npy" \
  "$SLIMC" compress m/lenet.slim -o out.slim

expect_fail "--passes: at the argument" \
  "^--passes:1:16: error: pass 'quantize' has no argument 'methd'" \
  "$SLIMC" compress "$S/lenet/lenet.slim" --passes 'quantize(int8, methd=minmax)' -o out.slim

# The same quantization from a block and from --passes: the same weights and scales.
with_block 'quantize(int8, calibrate="calib.npy", method=percentile(99.9))'
mkdir -p a b
expect_ok "compress block" "$SLIMC" compress m/lenet.slim -o a/q.slim
cp "$S/lenet/lenet.slim" m/lenet.slim # the same model without its block
expect_ok "--passes" "$SLIMC" compress m/lenet.slim \
  --passes 'quantize(int8, calibrate="m/calib.npy", method=percentile(99.9))' -o b/q.slim
cmp -s a/q.safetensors b/q.safetensors && diff -q a/q.slim b/q.slim >/dev/null \
  && ok "block and --passes give the same model" || bad "block and --passes differ"

# Passes do no I/O: the API reads their files.
hits=$(grep -rnE "fopen|npy_|fe_open" "$SLIMC_SOURCE_DIR/passes/")
[ -z "$hits" ] && ok "no file reading under passes/" || { bad "passes/ reads files"; echo "$hits"; }

finish
