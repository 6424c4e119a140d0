#!/usr/bin/env bash
# A file given in the wrong place (a weights file as the model, a torch.save checkpoint
# as weights, a safetensors file as an input...) is named for what it is, with the way
# out, in the same words from `run` and from a built executable (runtime/model_io.c's
# rt_file_kind_hint; docs/formats.md, "Which file goes where").
source "$(dirname "$0")/lib.bash"
L=$S/lenet

# The wrong kinds of file, made here: torch.save's zip (first entry <name>/data.pkl) and
# legacy pickle forms, an np.savez archive, an ONNX model, GGUF and HDF5 magic.
python3 - <<'PY' || bad "making the files"
import io, zipfile, numpy as np, onnx
from onnx import helper, TensorProto
with zipfile.ZipFile("w.pt", "w") as z:
    z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    z.writestr("archive/version", b"3\n")
open("legacy.pt", "wb").write(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")
open("plain.pkl", "wb").write(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x94.")
np.savez("a.npz", x=np.zeros(3, np.float32))
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
onnx.save(helper.make_model(g), "m.onnx")
open("m.gguf", "wb").write(b"GGUF\x03\x00\x00\x00" + bytes(32))
open("m.h5", "wb").write(b"\x89HDF\r\n\x1a\n" + bytes(32))
# a safetensors file whose header length (0x0580) starts as a pickle does (0x80 0x05)
import json, struct
h = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
h += b" " * (0x580 - len(h))
open("p80.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + bytes(4))
PY
cp m.onnx onnx_named.slim

# as the model
expect_fail "safetensors as the model" "lenet.safetensors: error: not a model file: this is a safetensors weights file, not a model: name it in the .weights. line" \
  "$SLIMC" run "$L/lenet.safetensors" --input x="$L/input.npy"
expect_fail ".npy as the model" "not a model file: this is a NumPy .npy array, not a model: give it as an input" \
  "$SLIMC" run "$L/input.npy" --input x="$L/input.npy"
expect_fail "torch.save zip as the model" "w.pt: error: not a model file: this looks like a PyTorch file .torch.save., which slimc does not read .* torch.onnx.export" \
  "$SLIMC" run w.pt --input x="$L/input.npy"
expect_fail "legacy torch.save as the model" "legacy.pt: error: not a model file: this looks like a PyTorch file" \
  "$SLIMC" inspect legacy.pt
expect_fail "pickle as the model" "plain.pkl: error: not a model file: this is a Python pickle" \
  "$SLIMC" inspect plain.pkl
expect_fail "ONNX named .slim" "onnx_named.slim: error: not a model file: this looks like an ONNX model: give it a name ending in .onnx" \
  "$SLIMC" inspect onnx_named.slim
expect_fail "safetensors named .onnx" "x.onnx: error: not an ONNX model: this is a safetensors weights file" \
  bash -c "cp '$L/lenet.safetensors' x.onnx && '$SLIMC' inspect x.onnx"
expect_fail "GGUF as the model" "m.gguf: error: not a model file: this is a GGUF file: slimc reads .slim and .onnx models" \
  "$SLIMC" inspect m.gguf
expect_fail "HDF5 as the model" "m.h5: error: not a model file: this is an HDF5 file" \
  "$SLIMC" inspect m.h5
expect_fail ".npz as the model" "a.npz: error: not a model file: this is a NumPy .npz archive, not a model" \
  "$SLIMC" inspect a.npz

expect_fail "safetensors starting 0x80 0x05 as an input" "not a .npy file .*: this is a safetensors file: inputs are .npy files" \
  "$SLIMC" run "$L/lenet.slim" --input x=p80.safetensors

# as the weights
for w in w.pt legacy.pt "$L/input.npy" a.npz m.onnx; do
  sed "s|\"lenet.safetensors\"|\"$PWD/${w##*/}\"|; s|$PWD/input.npy|$w|" "$L/lenet.slim" >m.slim
  case $w in
  *.pt) want="not a safetensors file: this looks like a PyTorch file .torch.save.*safetensors.torch.save_file\(model.state_dict\(\)" ;;
  *.npy) want="not a safetensors file: this is a NumPy .npy array: weights are read from safetensors" ;;
  *.npz) want="not a safetensors file: this is a NumPy .npz archive: weights are read from safetensors" ;;
  *.onnx) want="not a safetensors file: this looks like an ONNX model: run the .onnx file itself" ;;
  esac
  expect_fail "weights: ${w##*/}" "$want" "$SLIMC" run m.slim --input x="$L/input.npy"
  grep -q "note: while reading the weights of model 'lenet'" err.txt || bad "weights: ${w##*/}: no note naming the model's weights line"
done

# as an input, from run and from a built executable: the same words
for i in w.pt "$L/lenet.safetensors" a.npz; do
  case $i in
  *.pt) want="not a .npy file .*: this looks like a PyTorch file .torch.save.: save the tensor with np.save" ;;
  *.safetensors) want="not a .npy file .*: this is a safetensors file: inputs are .npy files" ;;
  *.npz) want="not a .npy file .*: this is a NumPy .npz archive: give each array as its own .npy file" ;;
  esac
  expect_fail "input: ${i##*/}" "$want" "$SLIMC" run "$L/lenet.slim" --input x="$i"
done
if "$SLIMC" build "$S/mlp/mlp.slim" -o mlp >out.txt 2>err.txt; then
  expect_fail "executable input: torch.save" "not a .npy file .*: this looks like a PyTorch file .torch.save.: save the tensor with np.save" \
    ./mlp --input w.pt
  expect_fail "executable input: safetensors" "this is a safetensors file: inputs are .npy files" \
    ./mlp --input "$S/mlp/mlp.safetensors"
else
  bad "building the mlp"; cat err.txt
fi
finish
