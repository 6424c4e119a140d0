# The JIT runtime: cache info/clear, warm runs need no compiler at all, the fallback to
# the system compiler, no OpenMP runtime, unusable cache directories.
source "$(dirname "$0")/lib.bash"
L=$S/lenet
export SLIMC_CACHE_DIR=$TEST_TMP/cache

expect_ok "help cache" "$SLIMC" help cache
expect_ok "cache info (empty)" "$SLIMC" cache info
grep -q "entries: 0" out.txt && ok "empty cache" || { bad "empty cache"; cat out.txt; }
expect_ok "cold run" "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --output-dir cold
"$NPYCMP" cold/output0.npy "$L/expected.npy" 1e-4 >/dev/null && ok "cold run matches PyTorch" || bad "cold output"
expect_ok "cache info" "$SLIMC" cache info
grep -q "entries: 1" out.txt && ok "one entry" || { bad "one entry"; cat out.txt; }
so=$(ls "$SLIMC_CACHE_DIR"/*.so)
if ldd "$so" | grep -qE "libgomp|libomp|libiomp"; then bad "cached code needs an OpenMP runtime"; else ok "no OpenMP runtime in the cached code"; fi
# A warm run compiles nothing, so it needs neither LLVM nor a C compiler.
expect_ok "warm run without any compiler" env SLIMC_LLVM_MODULE=/nonexistent SLIMC_CLANG_RESOURCE_DIR=/nonexistent \
  "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --output-dir warm --time
grep -q "compile 0.00 ms" err.txt && ok "warm run: no compile" || { bad "warm run compiled"; cat err.txt; }
grep -q "unavailable" err.txt && bad "warm run tried to load LLVM" || ok "warm run: no LLVM"
if grep -q "in-process" out.txt 2>/dev/null || "$SLIMC" cache info | grep -q "in-process"; then
  # Cold, with the in-process compiler unusable: a note, then the system compiler.
  expect_ok "fallback to the system compiler" env SLIMC_CLANG_RESOURCE_DIR=/nonexistent \
    "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy" --no-cache --output-dir fb
  grep -q "in-process Clang unavailable.*using the system C compiler" err.txt && ok "fallback note" || { bad "fallback note"; cat err.txt; }
  "$NPYCMP" fb/output0.npy "$L/expected.npy" 1e-4 >/dev/null && ok "fallback output" || bad "fallback output"
fi
expect_ok "cache clear" "$SLIMC" cache clear
expect_ok "cache info after clear" "$SLIMC" cache info
grep -q "entries: 0" out.txt && ok "cleared" || { bad "cleared"; cat out.txt; }
expect_fail "cache: bad action" "cache info\|clear" "$SLIMC" cache frob
# A cache directory that cannot be made: a warning, and the run goes on without a cache.
expect_ok "unusable cache dir" env SLIMC_CACHE_DIR=/proc/slimc-cache "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy"
grep -q "warning: cannot create the cache directory.*without a cache" err.txt && ok "unusable cache: warning" || { bad "unusable cache warning"; cat err.txt; }
# Size cap (1 MB here): the least recently used entries go; the newest stays.
SLIMC_CACHE_MAX_MB=1 "$SLIMC" run "$S/mlp/mlp.slim" --input "$S/mlp/input.npy" >/dev/null 2>&1
expect_ok "capped run" env SLIMC_CACHE_MAX_MB=1 "$SLIMC" run "$L/lenet.slim" --input "$L/input.npy"
expect_ok "cache info (capped)" env SLIMC_CACHE_MAX_MB=1 "$SLIMC" cache info
grep -q "of 1 MiB" out.txt && ok "cap shown" || { bad "cap shown"; cat out.txt; }
finish
