#!/usr/bin/env bash
# pkg-config: after `cmake --install BUILD --prefix P` with P chosen at install time (not
# the configured prefix), `pkg-config --cflags --libs [--static] slimc` links a program that
# takes the address of every public function of slimc.h, and the LeNet demo (load,
# compile, run) built with that line classifies the digits.
source "$(dirname "$0")/lib.bash"
BUILD_DIR=$(dirname "$SLIMC")
command -v pkg-config >/dev/null || { bad "pkg-config is not installed (scripts/deps.sh installs it)"; finish; exit; }
P=$TEST_TMP/somewhere/else
expect_ok "cmake --install --prefix (at install time)" cmake --install "$BUILD_DIR" --prefix "$P"
export PKG_CONFIG_PATH=$(ls -d "$P"/lib*/pkgconfig "$P"/lib/*/pkgconfig 2>/dev/null | head -1)
[ -f "$PKG_CONFIG_PATH/slimc.pc" ] && ok "slimc.pc installed" || bad "no slimc.pc under $P"
grep -q "/usr/local" "$PKG_CONFIG_PATH/slimc.pc" && bad "slimc.pc names /usr/local" || ok "slimc.pc names no configured prefix"

# Every function slimc.h declares, its address taken: the link fails on any the line misses.
{
  echo '#include "slimc/slimc.h"'
  echo '#include <stdio.h>'
  echo 'int main(void) {'
  echo '    void (*fns[])(void) = {'
  grep -oE '\bslimc_[a-z0-9_]+\(' "$SLIMC_SOURCE_DIR/include/slimc/slimc.h" | sort -u | sed 's/($//; s/.*/        (void (*)(void))\&&,/'
  echo '    };'
  echo '    printf("%zu functions, version %s\n", sizeof fns / sizeof fns[0], slimc_version());'
  echo '    return 0;'
  echo '}'
} >allfns.c
n=$(grep -c '(void (\*)(void))&' allfns.c)
[ "$n" -ge 40 ] && ok "$n public functions listed" || bad "only $n public functions found in slimc.h"
for mode in "" --static; do
  flags=$(pkg-config --cflags --libs $mode slimc) || { bad "pkg-config $mode failed"; continue; }
  case $flags in *"$P"*) ok "pkg-config $mode names the install prefix" ;; *) bad "pkg-config $mode: $flags" ;; esac
  expect_ok "link every public function (pkg-config $mode)" cc -std=c11 -o allfns allfns.c $flags
  expect_ok "run it" ./allfns
  grep -q "^$n functions" out.txt || { bad "allfns output"; cat out.txt; }
done
expect_ok "build the demo with pkg-config" cc -std=gnu11 -O1 -o demo "$SLIMC_SOURCE_DIR/samples/lenet/demo.c" $(pkg-config --cflags --libs slimc)
expect_ok "the demo loads, compiles and runs LeNet" env SLIMC_CACHE_DIR="$TEST_TMP/cache" ./demo "$S/lenet"
grep -qE "accuracy" out.txt && ok "demo printed its accuracy" || { bad "demo output"; cat out.txt; }
finish
