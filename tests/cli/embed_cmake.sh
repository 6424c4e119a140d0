# CMake for projects: install slimc to a temp prefix, then configure, build and run
# samples/embed-cmake (find_package(slimc) + slimc_add_model) against it.
source "$(dirname "$0")/lib.bash"
BUILD_DIR=$(dirname "$SLIMC")
expect_ok "cmake --install" cmake --install "$BUILD_DIR" --prefix "$TEST_TMP/prefix"
for f in bin/slimc include/slimc/slimc.h lib/libslimc.a lib/cmake/slimc/slimcConfig.cmake lib/pkgconfig/slimc.pc; do
  [ -e "prefix/$f" ] && ok "installed $f" || bad "not installed: $f"
done
PKG_CONFIG_PATH=$TEST_TMP/prefix/lib/pkgconfig pkg-config --cflags --libs slimc | grep -q -- "-lslimc" && ok "pkg-config slimc" || bad "pkg-config slimc"
expect_ok "configure samples/embed-cmake" cmake -S "$SLIMC_SOURCE_DIR/samples/embed-cmake" -B embed \
  -DCMAKE_PREFIX_PATH="$TEST_TMP/prefix" -DCMAKE_BUILD_TYPE=Release
expect_ok "build it (slimc_add_model compiles lenet)" cmake --build embed
expect_ok "run it" embed/classify "$S/lenet/input.npy"
cp out.txt digits.txt
[ "$(grep -c "digit" digits.txt)" -eq 8 ] && ok "eight digits classified" || { bad "classify output"; cat digits.txt; }
# The predictions are those of the reference outputs (argmax of expected.npy).
if command -v python3 >/dev/null && python3 -c "import numpy" 2>/dev/null; then
  python3 -c "
import numpy as np, sys
want = np.load('$S/lenet/expected.npy').argmax(1)
got = [int(l.split()[-1]) for l in open('digits.txt') if 'digit' in l]
sys.exit(0 if list(want) == got else 1)" && ok "digits match PyTorch's" || bad "digits differ from PyTorch's"
fi
# The installed slimc finds its in-process compiler beside itself (when built with LLVM).
if "$SLIMC" cache info 2>/dev/null | grep -q "in-process"; then
  [ -n "$(ls prefix/lib*/slimc/libslimc_llvm.so prefix/lib/*/slimc/libslimc_llvm.so 2>/dev/null)" ] \
    && ok "installed libslimc_llvm.so" || bad "libslimc_llvm.so not installed"
  expect_ok "installed slimc compiles in-process" env SLIMC_CACHE_DIR="$TEST_TMP/c2" \
    prefix/bin/slimc run "$S/lenet/lenet.slim" --input "$S/lenet/input.npy"
  grep -q "unavailable" err.txt && { bad "installed slimc fell back"; cat err.txt; } || ok "no fallback"
fi
# Rebuilding with nothing changed does not compile the model again.
cmake --build embed >rebuild.txt 2>&1
grep -q "slimc: compiling" rebuild.txt && bad "model recompiled with nothing changed" || ok "no rebuild when nothing changed"
finish
