# The runtime's kernels are ordinary sources (issue 14, docs/codegen.md "The runtime's
# sources"): runtime/slimc_rt.h is generated from runtime/kernels/ and runtime/slimc_abi.h,
# not kept in the tree; every kernel file is listed in cmake/rt_parts.cmake, stays under
# about 1,000 lines (the build compiles each on its own: target slimc_kernels_parts); what
# slimc pastes into generated code is that generated header byte for byte, with no project
# include left in it (cli_build compiles and runs such code on its own).
source "$(dirname "$0")/lib.bash"
R=$SLIMC_SOURCE_DIR

[ ! -e "$R/runtime/slimc_rt.h" ] && ok "no hand-kept runtime/slimc_rt.h in the tree" \
  || bad "runtime/slimc_rt.h is back in the source tree (it is generated: cmake/rt_header.cmake)"

# every file of runtime/kernels/ (but kernels.c, the .so's one translation unit) is a part
parts=$(sed -n 's/^ *\(runtime\/[A-Za-z0-9_/]*\.[ch]\)).*$/\1/p; s/^ *\(runtime\/[A-Za-z0-9_/]*\.[ch]\)$/\1/p' \
  "$R/cmake/rt_parts.cmake")
[ "$(echo "$parts" | wc -l)" -ge 10 ] && ok "rt_parts.cmake lists $(echo "$parts" | wc -l) files" \
  || { bad "rt_parts.cmake: too few files"; echo "$parts"; }
for f in "$R"/runtime/kernels/*.[ch]; do
  rel=runtime/kernels/$(basename "$f")
  [ "$rel" = runtime/kernels/kernels.c ] && continue
  echo "$parts" | grep -qx "$rel" || bad "$rel is not in cmake/rt_parts.cmake (it would not be in slimc_rt.h)"
done
for p in $parts; do
  n=$(wc -l <"$R/$p")
  [ "$n" -le 1000 ] || bad "$p: $n lines (over ~1,000: split the family)"
done
ok "each part listed, each under 1,000 lines"

# the header generated from the parts is what generated code starts with
cmake -DSRC="$R" -DOUT="$PWD/slimc_rt.h" -P "$R/cmake/rt_header.cmake" 2>err.txt \
  && ok "cmake/rt_header.cmake generates the header" || { bad "rt_header.cmake failed"; cat err.txt; }
"$SLIMC" emit "$S/lenet/lenet.slim" --target c >lenet.c 2>err.txt && ok "emit lenet" \
  || { bad "emit lenet"; cat err.txt; }
if cmp -n "$(stat -c %s slimc_rt.h)" slimc_rt.h lenet.c >/dev/null; then
  ok "emitted C starts with the generated header, byte for byte"
else
  bad "emitted C does not start with the header generated from runtime/kernels/"
fi
grep -q '^#include "' lenet.c && bad "emitted C includes a project header" || ok "emitted C includes no project header"
finish
