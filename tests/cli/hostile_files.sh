# Hostile files (issue 13, "Files"): external data that leaves the model's folder through
# a symlink, FIFOs and other non-files where a file is read, outputs that name one of the
# command's inputs, and `cache clear` pointed at a directory that is not slimc's cache.
# Every refusal is an error naming the file, with exit status 1, within seconds (timeout 10:
# a regression fails instead of hanging), and leaves the inputs as they were.
source "$(dirname "$0")/lib.bash"
H=$SLIMC_SOURCE_DIR/tests/data/hostile
M=$S/mlp

# expect_fail_fast NAME PATTERN CMD...: expect_fail under `timeout 10`.
expect_fail_fast() {
  local name=$1 pattern=$2; shift 2
  expect_fail "$name" "$pattern" timeout 10 "$@"
}

# --- ONNX external data: a symlink out of the model's folder is refused
mkdir -p outside model
python3 -c "
import numpy as np
np.array([1, 2, 3, 4], np.float32).tofile('outside/secret.bin')
np.array([10, 20, 30, 40], np.float32).tofile('model/w.bin')
np.save('x.npy', np.zeros(4, np.float32))"
cp "$H/ext_link.onnx" "$H/ext_subdir.onnx" model/
ln -s ../outside/secret.bin model/link.bin
expect_fail_fast "external data: symlink to a file outside" \
  "ext_link.onnx: error: .*'model/link.bin' is a symbolic link that leads outside the model's folder" \
  "$SLIMC" run model/ext_link.onnx --input x.npy
grep -q "1 2 3 4" out.txt && bad "the outside file's bytes came out" || ok "nothing of the outside file printed"
ln -sfn "$PWD/outside/secret.bin" model/link.bin
expect_fail_fast "external data: absolute symlink to a file outside" "leads outside the model's folder" \
  "$SLIMC" inspect model/ext_link.onnx
ln -s ../outside model/sub
cp outside/secret.bin outside/w.bin
expect_fail_fast "external data: a folder symlink out of the model's folder" "'model/sub/w.bin' is a symbolic link that leads outside" \
  "$SLIMC" inspect model/ext_subdir.onnx
ln -sfn nowhere.bin model/link.bin
expect_fail_fast "external data: dangling symlink" "'model/link.bin' is a symbolic link that leads nowhere" \
  "$SLIMC" inspect model/ext_link.onnx
# a symlink that stays inside the folder is followed, and a plain file is read
ln -sfn w.bin model/link.bin
expect_ok "external data: symlink inside the folder" timeout 60 "$SLIMC" run model/ext_link.onnx --input x.npy
grep -q "y: f32\[4\] = 10 20 30 40" out.txt && ok "inside symlink: the data is read" || { bad "inside symlink data"; cat out.txt; }
rm model/link.bin && cp model/w.bin model/link.bin
expect_ok "external data: plain file" timeout 60 "$SLIMC" inspect model/ext_link.onnx
# the Hugging Face cache: the model and its data are both links into a blobs folder
mkdir -p hf/blobs hf/snap
cp "$H/ext_link.onnx" hf/blobs/aaaa && cp model/w.bin hf/blobs/bbbb
ln -s ../blobs/aaaa hf/snap/m.onnx && ln -s ../blobs/bbbb hf/snap/link.bin
expect_ok "external data: Hugging Face cache layout" timeout 60 "$SLIMC" inspect hf/snap/m.onnx

# --- only regular files: FIFOs (and folders, devices) are refused at once
mkfifo fifo.slim fifo.onnx fifo.npy fifo.safetensors
expect_fail_fast "FIFO as a .slim model" "fifo.slim: error: model file is not a regular file \(a FIFO\)" \
  "$SLIMC" inspect fifo.slim
expect_fail_fast "FIFO as an .onnx model" "fifo.onnx: error: is not a regular file \(a FIFO\)" \
  "$SLIMC" inspect fifo.onnx
sed 's#"mlp.safetensors"#"fifo.safetensors"#' "$M/mlp.slim" > fifo_weights.slim
expect_fail_fast "FIFO as weights" "fifo_weights.slim:[0-9]+:[0-9]+: error: weights file 'fifo.safetensors' is not a regular file \(a FIFO\)" \
  "$SLIMC" inspect fifo_weights.slim
sed 's#"mlp.safetensors"#"/dev/zero"#' "$M/mlp.slim" > dev_weights.slim
expect_fail_fast "device as weights" "weights file '/dev/zero' is not a regular file \(a device\)" \
  "$SLIMC" inspect dev_weights.slim
expect_fail_fast "/proc file as a model" "/proc/self/environ: error: model file is not a regular file \(a /proc or /sys file\)" \
  "$SLIMC" inspect /proc/self/environ
expect_fail_fast "FIFO as an .npy input" "fifo.npy: error: is not a regular file \(a FIFO\)" \
  "$SLIMC" run "$M/mlp.slim" --input fifo.npy
rm -f model/link.bin && mkfifo model/link.bin
expect_fail_fast "FIFO as external data" "'model/link.bin' is not a regular file \(a FIFO\)" \
  "$SLIMC" inspect model/ext_link.onnx
expect_fail_fast "FIFO as calibration data" "fifo.npy: error: is not a regular file \(a FIFO\)" \
  "$SLIMC" compress "$M/mlp.slim" --passes "quantize(int8, calibrate=\"$PWD/fifo.npy\")" -o q.slim
# the executables slimc builds read their inputs the same way
if timeout 300 "$SLIMC" build "$M/mlp.slim" -o mlp_exe >build.txt 2>&1; then
  expect_fail_fast "built executable: FIFO as an input" "fifo.npy: error: is not a regular file" ./mlp_exe --input fifo.npy
  expect_ok "built executable: a regular input" timeout 10 ./mlp_exe --input "$M/input.npy"
else
  bad "build mlp_exe"; cat build.txt
fi

# --- -o that names one of the command's inputs is refused, and the input is unchanged
mkdir -p o && cp "$M/mlp.slim" "$M/mlp.safetensors" o/
ln -s mlp.slim o/link.slim
ln o/mlp.safetensors o/hard.safetensors
sum_before=$(cat o/mlp.slim o/mlp.safetensors | md5sum)
expect_fail_fast "build -o the model" "o/mlp.slim: error: is an input of this command" \
  "$SLIMC" build o/mlp.slim -o o/mlp.slim
expect_fail_fast "build -o the weights" "o/mlp.safetensors: error: is an input of this command" \
  "$SLIMC" build o/mlp.slim -o o/mlp.safetensors
expect_fail_fast "build -o a symlink to the model" "o/link.slim: error: is an input of this command \('o/mlp.slim'" \
  "$SLIMC" build o/mlp.slim -o o/link.slim
expect_fail_fast "build -o a hard link to the weights" "o/hard.safetensors: error: is an input of this command" \
  "$SLIMC" build o/mlp.slim -o o/hard.safetensors
expect_fail_fast "compress -o the model" "o/mlp.slim: error: is an input of this command" \
  "$SLIMC" compress o/mlp.slim --passes dce -o o/mlp.slim
# compress writes OUT.slim and OUT.safetensors: the second would replace the model's weights
sed 's#"mlp.safetensors"#"w2.safetensors"#' o/mlp.slim > o/m2.slim && cp o/mlp.safetensors o/w2.safetensors
sum_w2=$(md5sum < o/w2.safetensors)
expect_fail_fast "compress writing its weights over the input weights" "o/w2.safetensors: error: is an input of this command" \
  "$SLIMC" compress o/m2.slim --passes dce -o o/w2.slim
[ ! -e o/w2.slim ] && ok "compress: no .slim left behind" || bad "compress wrote o/w2.slim"
[ "$(md5sum < o/w2.safetensors)" = "$sum_w2" ] && ok "compress: input weights unchanged" || bad "compress changed o/w2.safetensors"
cp o/mlp.safetensors o/mlp.weights && sed 's#"mlp.safetensors"#"mlp.weights"#' o/mlp.slim > o/m3.slim
expect_fail_fast "build --lib over the model's weights" "o/mlp.weights: error: is an input of this command" \
  "$SLIMC" build o/m3.slim --lib -o o --name mlp --weights-file
[ "$(cat o/mlp.slim o/mlp.safetensors | md5sum)" = "$sum_before" ] && ok "build/compress: model and weights unchanged" || bad "an input changed"
# import: the .safetensors it writes must not replace the model's external data
mkdir -p imp && cp "$H/ext_link.onnx" imp/ && cp model/w.bin imp/out.safetensors && ln -s out.safetensors imp/link.bin
sum_imp=$(md5sum < imp/out.safetensors)
expect_fail_fast "import writing over the external data" "imp/out.safetensors: error: is an input of this command" \
  "$SLIMC" import imp/ext_link.onnx -o imp/out.slim
[ "$(md5sum < imp/out.safetensors)" = "$sum_imp" ] && ok "import: external data unchanged" || bad "import changed the external data"
# emit -o DIR: DIR/NAME.c
mkdir -p em && printf 'model mm(x: f32[4]) -> f32[4]\n    return relu(x)\n' > em/mm.c && cp em/mm.c em/mm.slim
sum_em=$(md5sum < em/mm.c)
expect_fail_fast "emit -o over the model" "em/mm.c: error: is an input of this command" "$SLIMC" emit em/mm.c -o em
[ "$(md5sum < em/mm.c)" = "$sum_em" ] && ok "emit: model unchanged" || bad "emit changed the model"
# run --output-dir: an output named like an --input file
mkdir -p rd && cp "$M/input.npy" rd/output0.npy
sum_rd=$(md5sum < rd/output0.npy)
expect_fail_fast "run --output-dir over an --input" "rd/output0.npy: error: is the --input file" \
  "$SLIMC" run "$M/mlp.slim" --input rd/output0.npy --output-dir rd
[ "$(md5sum < rd/output0.npy)" = "$sum_rd" ] && ok "run: input unchanged" || bad "run replaced its input"
expect_ok "run --output-dir elsewhere still writes" timeout 60 "$SLIMC" run "$M/mlp.slim" --input rd/output0.npy --output-dir rd2
[ -f rd2/output0.npy ] && ok "run: output written" || bad "run: no output"

# --- cache clear: only slimc's own cache, only slimc's own names
mkdir -p home && chmod 700 home
touch home/.tmp-x home/.build-x home/.src-x home/.tmp-abcdef home/.src-abcdef.c home/.bashrc
mkdir home/.build-abcdef && touch home/.build-abcdef/notes
expect_fail_fast "cache clear of a home directory" "is not slimc's cache.*not clearing it" \
  "$SLIMC" cache clear --cache-dir home
n=$(ls -A home | wc -l)
[ "$n" -eq 7 ] && [ -f home/.build-abcdef/notes ] && ok "home directory untouched" || { bad "home directory lost files"; ls -A home; }
# a run with that home as its cache does not make it slimc's
timeout 120 "$SLIMC" run "$M/mlp.slim" --input "$M/input.npy" --cache-dir home >/dev/null 2>&1
[ ! -e home/CACHEDIR.TAG ] && ok "a foreign directory is never tagged" || bad "home was tagged as slimc's cache"
expect_fail_fast "cache clear of a used home directory" "not clearing it" "$SLIMC" cache clear --cache-dir home
[ -f home/.tmp-abcdef ] && [ -f home/.bashrc ] && ok "home still untouched" || bad "home lost files"
# a real cache: made by slimc, tagged, and cleared (stale temp files too)
expect_ok "run with a fresh cache" timeout 120 "$SLIMC" run "$M/mlp.slim" --input "$M/input.npy" --cache-dir real
[ -f real/CACHEDIR.TAG ] && grep -q "^Signature: 8a477f597d28d172789f06886806bc55" real/CACHEDIR.TAG && ok "fresh cache tagged" || bad "fresh cache not tagged"
touch real/.tmp-abcdef real/.tmp-x real/notes.txt
expect_ok "cache clear of a real cache" timeout 10 "$SLIMC" cache clear --cache-dir real
[ -z "$(ls real | grep -E '\.(so|meta)$')" ] && [ ! -e real/.tmp-abcdef ] && ok "entries and temp files removed" || { bad "cache not cleared"; ls -A real; }
[ -e real/.tmp-x ] && [ -e real/notes.txt ] && [ -e real/CACHEDIR.TAG ] && ok "names slimc does not make kept" || { bad "foreign names removed"; ls -A real; }
# a cache from before the tag (nothing but slimc's names) is adopted
mkdir -m 700 old && touch old/0123456789abcdef0123456789abcdef.so old/.tmp-Ab12Cd
expect_ok "cache clear of an untagged slimc cache" timeout 10 "$SLIMC" cache clear --cache-dir old
[ -z "$(ls -A old | grep -v CACHEDIR.TAG)" ] && ok "old cache cleared" || { bad "old cache"; ls -A old; }

finish
