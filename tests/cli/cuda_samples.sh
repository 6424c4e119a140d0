# Every sample through the CUDA backend: `slimc run --device cuda` under the CPU emulation
# (SLIMC_CUDA_EMULATE=1: the generated kernels compiled as C, blocks run as fibers),
# against PyTorch's expected.npy, as tests/cli/samples.sh and samples_issue3.sh check the
# C backend.
source "$(dirname "$0")/lib.bash"
export SLIMC_CUDA_EMULATE=1

for pair in lenet:x:lenet mlp:x:mlp resnet_tiny:x:resnet_tiny textcls:tokens:textcls \
            resnet18:x:resnet18_narrow mobilenet_v2:x:mobilenet_v2_narrow transformer:x:transformer_narrow; do
  IFS=: read -r dir in model <<<"$pair"
  rm -rf "out_$dir"
  expect_ok "$model run --device cuda (emulated)" "$SLIMC" run "$S/$dir/$model.slim" --device cuda \
    --input "$in=$S/$dir/input.npy" --output-dir "out_$dir"
  f=$(ls "out_$dir"/*.npy 2>/dev/null | head -n1)
  if [ -n "$f" ] && "$NPYCMP" "$f" "$S/$dir/expected.npy" 1e-4; then ok "$model on CUDA matches PyTorch"
  else bad "$model on CUDA differs from PyTorch"; fi
done
finish
