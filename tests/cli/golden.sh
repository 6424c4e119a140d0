# Golden files (tests/golden/README.md): the IR of each sample after the default pipeline
# (its compress block, if any, then the defaults: what `slimc run` compiles), and the C
# that `slimc emit` writes for lenet and mlp, less the runtime header it starts with.
# Each is compared with tests/golden/NAME.{ir,c} by `diff -u`;
#   SLIMC_UPDATE_GOLDEN=1 ctest --test-dir build -R cli_golden
# rewrites them (then read the diff with git before committing it).
source "$(dirname "$0")/lib.bash"
G=$SLIMC_SOURCE_DIR/tests/golden
update=${SLIMC_UPDATE_GOLDEN:-0}

# The samples: DIR/NAME.slim (the narrow variants are the ones whose weights are committed).
ir_models="lenet/lenet mlp/mlp textcls/textcls transformer/transformer_narrow
           resnet_tiny/resnet_tiny mobilenet_v2/mobilenet_v2_narrow resnet18/resnet18_narrow"
c_models="lenet mlp"

# emit DIR NAME OUT: OUT.ir (the IR after the last pass, memplan, which every pipeline ends
# with) and OUT.c (the model's C), run from the sample's directory so that the one path
# the output names ("Generated ... from NAME.slim") is relative.
emit() {
  (cd "$S/$1" && "$SLIMC" emit "$2.slim" --target c --print-after memplan) > "$3.full.c" 2> "$3.ir"
  local rc=$?
  [ $rc -eq 0 ] || { bad "slimc emit $1/$2.slim: exit $rc"; cat "$3.ir"; return 1; }
  # The model's code starts after the runtime header (runtime/slimc_rt.h, goldened by nothing
  # here: it is the runtime's, not codegen's).
  awk 'f { print } $0 == "#endif /* SLIMC_RT_H */" { f = 1 }' "$3.full.c" > "$3.c"
  [ -s "$3.c" ] || { bad "$2: no '#endif /* SLIMC_RT_H */' line ends the runtime header in the emitted C"; return 1; }
}

# check NAME FILE: FILE against tests/golden/NAME.
check() {
  local name=$1 got=$2
  # Nothing that differs between machines or runs: no path of this machine, no timestamp.
  grep -nF -e "$SLIMC_SOURCE_DIR" -e "$TEST_TMP" -e "${HOME:-/nonexistent}" "$got" > unstable.txt
  if [ -s unstable.txt ]; then
    bad "$name names a path of this machine (golden files must be the same everywhere):"
    head -3 unstable.txt; return
  fi
  grep -nE '\b(19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]\b|[0-2][0-9]:[0-5][0-9]:[0-5][0-9]' "$got" > unstable.txt
  if [ -s unstable.txt ]; then
    bad "$name holds a date or time:"; head -3 unstable.txt; return
  fi
  if [ "$update" = 1 ]; then
    mkdir -p "$G" && cp "$got" "$G/$name" && ok "rewrote tests/golden/$name"
  elif [ ! -f "$G/$name" ]; then
    bad "no tests/golden/$name (SLIMC_UPDATE_GOLDEN=1 writes it)"
  elif diff -u --label "tests/golden/$name" --label "$name (this build)" "$G/$name" "$got" >diff.txt; then
    ok "$name matches tests/golden/$name"
  else
    bad "$name differs from tests/golden/$name (SLIMC_UPDATE_GOLDEN=1 rewrites it):"
    head -150 diff.txt
  fi
}

for m in $ir_models; do
  dir=${m%/*} name=${m#*/}
  emit "$dir" "$name" "$name" || continue
  # Twice, the same: no hash, address or order that changes from run to run.
  emit "$dir" "$name" "$name.again" || continue
  cmp -s "$name.ir" "$name.again.ir" && cmp -s "$name.c" "$name.again.c" \
    && ok "$name: two runs emit the same" || bad "$name: two runs emit different IR or C"
  grep -q '^; IR after memplan' "$name.ir" || { bad "$name: no IR printed after memplan"; cat "$name.ir"; continue; }
  check "$name.ir" "$name.ir"
  case " $c_models " in *" $name "*) check "$name.c" "$name.c" ;; esac
done
finish
