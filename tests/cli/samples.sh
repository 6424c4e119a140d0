# Every sample end to end through `slimc run`, against PyTorch's expected.npy.
source "$(dirname "$0")/lib.bash"

for pair in lenet:x mlp:x resnet_tiny:x textcls:tokens; do
  name=${pair%%:*} in=${pair#*:}
  for threads in 1 2; do
    rm -rf "out_$name"
    expect_ok "$name run ($threads threads)" "$SLIMC" run "$S/$name/$name.slim" --input "$in=$S/$name/input.npy" \
      --output-dir "out_$name" --threads $threads
    f=$(ls "out_$name"/*.npy 2>/dev/null | head -n1)
    if [ -n "$f" ] && "$NPYCMP" "$f" "$S/$name/expected.npy" 1e-4; then ok "$name matches PyTorch ($threads threads)"
    else bad "$name output differs from PyTorch ($threads threads)"; fi
  done
done

# The one-input form, the summary line, and named outputs.
expect_ok "lenet --input FILE" "$SLIMC" run "$S/lenet/lenet.slim" --input "$S/lenet/input.npy"
grep -qE '^output0: f32\[8, 10\] = ' out.txt && ok "summary line" || { bad "summary line"; cat out.txt; }
rm -rf o && "$SLIMC" run "$S/textcls/textcls.slim" --input "$S/textcls/input.npy" --output-dir o >/dev/null 2>&1
[ -f o/probs.npy ] && ok "declared output name gives probs.npy" || bad "no o/probs.npy"

# The demo: real digits, accuracy printed, batch and single-image paths agree.
if "$DEMO" "$S/lenet" >demo.txt 2>&1 && grep -qE 'accuracy: [0-9]+/450 = (9[5-9]|100)\.' demo.txt; then ok "demo accuracy"
else bad "demo"; cat demo.txt; fi
finish
