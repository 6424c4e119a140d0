# emit, inspect, --print-after, --passes, --time, help and version.
source "$(dirname "$0")/lib.bash"

expect_ok "--version" "$SLIMC" --version
grep -qE '^slimc [0-9]+\.[0-9]+\.[0-9]+' out.txt && ok "version text" || bad "version text"
for c in run build emit inspect bench; do
  expect_ok "help $c" "$SLIMC" help $c
  grep -q "slimc $c" out.txt && ok "help $c text" || bad "help $c text"
done

expect_ok "emit" "$SLIMC" emit "$S/lenet/lenet.slim" --target c -o gen
[ -f gen/lenet.c ] && ok "gen/lenet.c written" || bad "no gen/lenet.c"
grep -q "conv1" gen/lenet.c && ok "emitted C names the nodes" || bad "emitted C lacks node names"
cc -std=c11 -O0 -Wall -Werror -c gen/lenet.c -o gen/lenet.o && ok "emitted C compiles alone with -Wall -Werror" || bad "emitted C does not compile"
nm gen/lenet.o > gen/lenet.nm
! grep -q "^#define SLIMC_RT_EXTERN" gen/lenet.c && grep -q " t slimc_rt_conv2d_px" gen/lenet.nm \
    && ok "emitted C carries its kernels (no libslimc_kernels)" || bad "emitted C needs the JIT's kernel library"

expect_ok "inspect --ir --memory --flops" "$SLIMC" inspect "$S/lenet/lenet.slim" --ir --memory --flops
grep -q "conv2d" out.txt && ok "inspect --ir" || bad "inspect --ir"
grep -qE "weights: 1\.6[0-9] MiB" out.txt && ok "inspect --memory weights" || { bad "inspect --memory weights"; cat out.txt; }
grep -q "peak activations" out.txt && ok "inspect --memory arena" || bad "inspect --memory arena"
# LeNet at batch 1: conv1 2*20*24*24*25 + conv2 2*50*8*8*500 + fc1 2*800*500 + fc2 2*500*10
# = 4,586,000, plus pooling, relu and log_softmax (about 19,000).
grep -qE "flops: 46[0-9]{5} per run" out.txt && ok "inspect --flops" || { bad "inspect --flops"; cat out.txt; }
expect_ok "inspect --dot" "$SLIMC" inspect "$S/lenet/lenet.slim" --dot
head -n1 out.txt | grep -q "^digraph" && ok "dot output" || bad "dot output"

expect_ok "run --print-after fuse" "$SLIMC" run "$S/lenet/lenet.slim" --input "$S/lenet/input.npy" --print-after fuse
grep -q "IR after fuse" err.txt && ok "--print-after prints the IR" || { bad "--print-after"; cat err.txt; }
expect_ok "run --time" "$SLIMC" run "$S/lenet/lenet.slim" --input "$S/lenet/input.npy" --time
grep -qE "time: parse [0-9.]+ ms, passes [0-9.]+ ms, codegen [0-9.]+ ms, compile [0-9.]+ ms, load [0-9.]+ ms, run" err.txt \
  && ok "--time" || { bad "--time"; cat err.txt; }
# A pipeline of the user's: no fusion at all still computes the same.
rm -rf p && expect_ok "run --passes fold,dce" "$SLIMC" run "$S/resnet_tiny/resnet_tiny.slim" --input "$S/resnet_tiny/input.npy" --passes fold,dce --output-dir p
"$NPYCMP" p/output0.npy "$S/resnet_tiny/expected.npy" 1e-4 >/dev/null && ok "unfused pipeline matches PyTorch" || bad "unfused pipeline"
expect_ok "bench" "$SLIMC" bench "$S/mlp/mlp.slim" --runs 5
grep -q "median" out.txt && ok "bench prints the median" || bad "bench output"
finish
