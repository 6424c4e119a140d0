# The narrow variants of issue 3's samples (torchvision resnet18 and mobilenet_v2, a
# transformer encoder layer) end to end through `slimc run`, against PyTorch's expected.npy.
source "$(dirname "$0")/lib.bash"

for name in resnet18 mobilenet_v2 transformer; do
  for threads in 1 2; do
    rm -rf "out_$name"
    expect_ok "${name}_narrow run ($threads threads)" "$SLIMC" run "$S/$name/${name}_narrow.slim" \
      --input "x=$S/$name/input.npy" --output-dir "out_$name" --threads $threads
    f=$(ls "out_$name"/*.npy 2>/dev/null | head -n1)
    if [ -n "$f" ] && "$NPYCMP" "$f" "$S/$name/expected.npy" 1e-4; then ok "${name}_narrow matches PyTorch ($threads threads)"
    else bad "${name}_narrow output differs from PyTorch ($threads threads)"; fi
  done
done
finish
