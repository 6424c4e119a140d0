#!/usr/bin/env bash
# The option table (tools/options.c) and docs/cli.md agree: every option of every command is
# in the command's section of docs/cli.md, and every option a section's synopsis shows is
# one the command takes. Each command refuses an option it does not take, suggests the
# one meant, and takes every value option in both spellings (`--opt V`, `--opt=V`).
source "$(dirname "$0")/lib.bash"
DOC=$SLIMC_SOURCE_DIR/docs/cli.md
"$SLIMC" help --options >options.txt || bad "slimc help --options"
[ "$(wc -l <options.txt)" -ge 60 ] && ok "$(wc -l <options.txt) command options listed" || bad "few options listed"

# section CMD: the lines of "## slimc CMD" (and its ### subsections) up to the next "## "
section() { awk -v h="## slimc $1" '$0 == h || index($0, h " ") == 1 {on = 1; print; next} /^## / {on = 0} on' "$DOC"; }
for cmd in $(cut -d' ' -f1 options.txt | uniq); do
  section "$cmd" >sec.txt
  [ -s sec.txt ] || { bad "docs/cli.md has no '## slimc $cmd' section"; continue; }
  missing=""
  for opt in $(awk -v c="$cmd" '$1 == c {print $2}' options.txt); do
    grep -qE -- "(^|[^a-z-])$opt([^a-z-]|$)" sec.txt || missing="$missing $opt"
  done
  [ -z "$missing" ] && ok "docs: slimc $cmd documents every option" || bad "docs: slimc $cmd lacks:$missing"
  # the synopsis lines (in the code block right after the heading) name only real options
  extra=""
  for opt in $(awk '/^```/ {n++; next} n == 1' sec.txt | grep -oE -- "(^|[ \[])(--[a-z][a-z0-9-]*|-o)" | tr -d ' [' | sort -u); do
    [ "$opt" = --help ] && continue
    grep -qx -- "$cmd $opt" options.txt || extra="$extra $opt"
  done
  [ -z "$extra" ] && ok "docs: slimc $cmd's synopsis is all real options" || bad "docs: slimc $cmd's synopsis shows options it does not take:$extra"
  # help prints every option
  "$SLIMC" help "$cmd" >help.txt 2>&1 || bad "slimc help $cmd"
  for opt in $(awk -v c="$cmd" '$1 == c {print $2}' options.txt); do
    grep -q -- "$opt" help.txt || bad "slimc help $cmd lacks $opt"
  done
done

# refusals and suggestions
expect_fail "an option of another command" "slimc inspect does not take --cc \(it is an option of run, build, bench, profile-device\)" \
  "$SLIMC" inspect "$S/lenet/lenet.slim" --cc gcc
expect_fail "build --compare" "slimc build does not take --compare" "$SLIMC" build "$S/lenet/lenet.slim" --compare x.npy -o x
expect_fail "a misspelt option" "unknown option '--thread' for slimc run: did you mean '--threads'\?" \
  "$SLIMC" run "$S/lenet/lenet.slim" --thread 2
expect_fail "a misspelt --opt=value" "unknown option '--ouput-dir' for slimc run: did you mean '--output-dir'\?" \
  "$SLIMC" run "$S/lenet/lenet.slim" --ouput-dir=x
expect_fail "a misspelt command" "unknown command 'inpsect': did you mean 'inspect'\?" "$SLIMC" inpsect x
expect_fail "help for a misspelt command" "unknown command 'buidl': did you mean 'build'\?" "$SLIMC" help buidl
expect_fail "a flag given a value" "--time takes no value \(given 'yes'\)" "$SLIMC" run "$S/lenet/lenet.slim" --time=yes
expect_fail "a value missing" "--threads needs a value \(--threads N\)" "$SLIMC" run "$S/lenet/lenet.slim" --threads
expect_fail "a single-valued option twice" "--threads given twice" "$SLIMC" run "$S/lenet/lenet.slim" --threads 1 --threads=2

# both spellings reach the same place: a bad value is reported either way
for spelled in "--threads 0" "--threads=0"; do
  expect_fail "run $spelled" "--threads takes a number from 1 to 1024, not '0'" "$SLIMC" run "$S/lenet/lenet.slim" $spelled
done
for spelled in "--max-memory 12Q" "--max-memory=12Q"; do
  expect_fail "import $spelled" "--max-memory takes a size" "$SLIMC" import x.onnx $spelled -o y.slim
done
expect_ok "-o=FILE and --passes=P" "$SLIMC" compress "$S/mlp/mlp.slim" --passes=fold -o=small.slim
[ -f small.slim ] && ok "compress -o=small.slim wrote it" || bad "-o= not taken"
expect_ok "cache --cache-dir=DIR" "$SLIMC" cache info --cache-dir="$TEST_TMP/c"
grep -q "$TEST_TMP/c" out.txt && ok "--cache-dir= taken" || { bad "--cache-dir= not taken"; cat out.txt; }

# build --threads N is the executable's default thread count (not ignored)
if "$SLIMC" build "$S/mlp/mlp.slim" --threads 3 -o mlp3 >out.txt 2>err.txt; then
  ./mlp3 --help >help3.txt 2>&1
  grep -q "threads (default 3)" help3.txt && ok "build --threads 3: the executable's default" || { bad "build --threads not the default"; cat help3.txt; }
else
  bad "build --threads 3"; cat err.txt
fi
finish
