# The default thread count (issue 20): without --threads, `slimc run/bench` and built
# executables run on the CPUs the process may use (its affinity mask); --threads 1, or an
# affinity of one CPU, gives one thread; results are bit-identical at any thread count.
source "$(dirname "$0")/lib.bash"
M=$S/resnet_tiny/resnet_tiny.slim
IN=x=$S/resnet_tiny/input.npy
ncpu=$(python3 -c 'import os; print(len(os.sched_getaffinity(0)))')
cpu0=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
threads() { [ "$1" = 1 ] && echo "1 thread" || echo "$1 threads"; }

expect_ok "bench without --threads" "$SLIMC" bench "$M" --runs 3 --input "$IN" --json b.json
grep -qE "^resnet_tiny: median [0-9.]+ ms over 3 runs \($(threads "$ncpu")\)$" out.txt \
  && ok "default: the $ncpu CPUs the process may use" || { bad "default thread count"; cat out.txt; }
grep -q "\"threads\": $ncpu," b.json && ok "--json threads: $ncpu" || { bad "--json threads"; cat b.json; }
expect_ok "bench --threads 1" "$SLIMC" bench "$M" --runs 3 --input "$IN" --threads 1
grep -q "(1 thread)$" out.txt && ok "--threads 1 pins" || { bad "--threads 1"; cat out.txt; }
expect_ok "bench on one CPU" taskset -c "$cpu0" "$SLIMC" bench "$M" --runs 3 --input "$IN"
grep -q "(1 thread)$" out.txt && ok "an affinity of one CPU: one thread" || { bad "taskset: thread count"; cat out.txt; }

# the same bits at the default and at 1, 2 and 3 threads
expect_ok "run, default threads" "$SLIMC" run "$M" --input "$IN" --output-dir d
for t in 1 2 3; do
  expect_ok "run --threads $t" "$SLIMC" run "$M" --input "$IN" --output-dir "t$t" --threads "$t"
  cmp -s d/output0.npy "t$t/output0.npy" && ok "--threads $t: the default's bits" || bad "--threads $t: other bits"
done

# a built executable: built without --threads, the CPUs where it runs; with, what it says
expect_ok "build without --threads" "$SLIMC" build "$M" -o rn
expect_ok "executable --bench" ./rn --input "$S/resnet_tiny/input.npy" --bench 3
grep -q "($(threads "$ncpu"))$" out.txt && ok "executable default: $ncpu" || { bad "executable default"; cat out.txt; }
expect_ok "executable on one CPU" taskset -c "$cpu0" ./rn --input "$S/resnet_tiny/input.npy" --bench 3 --output-dir e1
grep -q "(1 thread)$" out.txt && ok "executable on one CPU: one thread" || { bad "executable taskset"; cat out.txt; }
cmp -s d/output0.npy e1/output0.npy && ok "executable: slimc run's bits" || bad "executable: other bits"
expect_ok "executable --help" ./rn --help
grep -q "threads (default $ncpu)" out.txt && ok "--help names the default" || { bad "--help default"; cat out.txt; }
expect_ok "build --threads 1" "$SLIMC" build "$M" -o rn1 --threads 1
expect_ok "executable built with --threads 1" ./rn1 --input "$S/resnet_tiny/input.npy" --bench 3
grep -q "(1 thread)$" out.txt && ok "build --threads 1 pins" || { bad "build --threads 1"; cat out.txt; }
finish
