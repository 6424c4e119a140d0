#!/usr/bin/env bash
# Output folders are created with their parents (mkdir -p), by `run --output-dir`, `emit -o`,
# `build --lib -o` and a built executable's --output-dir; a folder that cannot be made
# gets the same words from each: "PATH: error: cannot create the output folder: why".
source "$(dirname "$0")/lib.bash"
L=$S/lenet
expect_ok "run --output-dir a/b/c" "$SLIMC" run "$L/lenet.slim" --input x="$L/input.npy" --output-dir run/b/c
[ -f run/b/c/output0.npy ] || [ -n "$(ls run/b/c/*.npy 2>/dev/null)" ] && ok "outputs in run/b/c" || bad "no outputs in run/b/c"
expect_ok "run --output-dir=a//b/ (doubled and trailing slashes)" "$SLIMC" run "$L/lenet.slim" --input x="$L/input.npy" --output-dir=run2//b/
[ -n "$(ls run2/b/*.npy 2>/dev/null)" ] && ok "outputs in run2/b" || bad "no outputs in run2/b"
expect_ok "emit -o a/b" "$SLIMC" emit "$L/lenet.slim" -o emit/b
[ -s emit/b/lenet.c ] && ok "emit/b/lenet.c" || bad "no emit/b/lenet.c"
expect_ok "build --lib -o a/b" "$SLIMC" build "$S/mlp/mlp.slim" --lib -o lib/b
[ -n "$(ls lib/b/*.h 2>/dev/null)" ] && ok "library in lib/b" || bad "no header in lib/b"

# a file where a folder should be: the same words everywhere
echo x >file
expect_fail "run: a file in the way" "^file/sub: error: cannot create the output folder: 'file' exists and is not a folder" \
  "$SLIMC" run "$L/lenet.slim" --input x="$L/input.npy" --output-dir file/sub
expect_fail "emit: a file in the way" "^file/sub: error: cannot create the output folder: 'file' exists and is not a folder" \
  "$SLIMC" emit "$L/lenet.slim" -o file/sub
expect_fail "build --lib: a file in the way" "^file: error: cannot create the output folder: 'file' exists and is not a folder" \
  "$SLIMC" build "$S/mlp/mlp.slim" --lib -o file
mkdir -p ro && chmod 555 ro
if [ "$(id -u)" != 0 ]; then
  expect_fail "run: a read-only parent" "^ro/x/y: error: cannot create the output folder: 'ro/x': Permission denied" \
    "$SLIMC" run "$L/lenet.slim" --input x="$L/input.npy" --output-dir ro/x/y
fi
chmod 755 ro
if "$SLIMC" build "$S/mlp/mlp.slim" -o mlp >out.txt 2>err.txt; then
  expect_ok "executable --output-dir a/b" ./mlp --input "$S/mlp/input.npy" --output-dir exe/a/b
  [ -n "$(ls exe/a/b/*.npy 2>/dev/null)" ] && ok "executable outputs in exe/a/b" || bad "no outputs in exe/a/b"
  expect_fail "executable: a file in the way" "^file/sub: error: cannot create the output folder: 'file' exists and is not a folder" \
    ./mlp --input "$S/mlp/input.npy" --output-dir file/sub
else
  bad "building the mlp"; cat err.txt
fi
finish
