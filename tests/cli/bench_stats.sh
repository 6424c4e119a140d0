# slimc bench's figures (issue 21): percentiles, throughput, --duration, --json, seeded
# random inputs, --opt=value.
source "$(dirname "$0")/lib.bash"
M=$S/mlp/mlp.slim

# Without --input: seeded random values, said on stderr; the first line is the one
# scripts parse (median X ms over N runs); pinned to one thread (tests/cli/threads.sh
# checks the default).
expect_ok "bench --runs 20" "$SLIMC" bench "$M" --runs 20 --threads 1
grep -qE "^mlp: median [0-9.]+ ms over 20 runs \(1 thread\)$" out.txt && ok "first line unchanged" || { bad "first line"; cat out.txt; }
grep -q "^bench: no --input for 'x': seeded random values in \[-1, 1) (seed 0), shape \[1, 784\] with symbols at 1$" err.txt \
  && ok "random inputs noted" || { bad "random-input note"; cat err.txt; }
# p50 (= the median of the first line) <= p90 <= p99 <= max, min <= p50, mean within [min, max]
python3 - out.txt <<'PY' && ok "figures consistent" || bad "figures inconsistent"
import re, sys
t = open(sys.argv[1]).read()
med = float(re.search(r"median ([0-9.]+) ms", t).group(1))
f = dict((k, float(v)) for k, v in re.findall(r"(min|p50|p90|p99|max|mean|std) ([0-9.]+)", t))
thr = re.search(r"throughput: ([0-9.]+) inferences/s, ([0-9.]+) samples/s \(batch 1\)", t)
runs = re.search(r"runs: 20 in ([0-9.]+) s after 1 warm-up run", t)
assert thr and runs, t
assert f["min"] <= f["p50"] <= f["p90"] <= f["p99"] <= f["max"], f
assert f["min"] <= f["mean"] <= f["max"] and f["std"] >= 0, f
assert abs(f["p50"] - med) < 1e-9, (med, f)
assert float(thr.group(1)) > 0 and thr.group(1) == thr.group(2), t
PY

# --duration: runs until the time has passed (0.3 s of sub-ms runs: many more than 1)
expect_ok "bench --duration" "$SLIMC" bench "$M" --duration 0.3 --warmup=3
python3 - out.txt <<'PY' && ok "--duration ran for its time" || { bad "--duration"; cat out.txt; }
import re, sys
t = open(sys.argv[1]).read()
r = re.search(r"runs: ([0-9]+) in ([0-9.]+) s after 3 warm-up runs", t)
assert r and int(r.group(1)) > 10 and float(r.group(2)) >= 0.3, t
PY

# --json: valid JSON with every key; batch from the first input (a batch-4 file)
expect_ok "bench --json" "$SLIMC" bench "$M" --runs=10 --json=b.json --input "$S/mlp/input.npy"
python3 - b.json "$S/mlp/input.npy" <<'PY' && ok "--json keys and values" || { bad "--json"; cat b.json; }
import json, sys
j = json.load(open(sys.argv[1]))
for k in ["model", "device", "threads", "warmup_runs", "runs", "total_s", "batch", "latency_ms",
          "gpu_median_ms", "throughput", "seed", "inputs"]:
    assert k in j, k
l = j["latency_ms"]
assert l["min"] <= l["p50"] <= l["p90"] <= l["p99"] <= l["max"], l
assert j["runs"] == 10 and j["warmup_runs"] == 1 and j["batch"] == 4 and j["device"] == "cpu"
t = j["throughput"]
assert abs(t["samples_per_s"] - 4 * t["inferences_per_s"]) <= 1e-6 * t["samples_per_s"], t
assert abs(t["inferences_per_s"] - j["runs"] / j["total_s"]) <= 1e-3 * t["inferences_per_s"], j
assert j["inputs"][0]["source"] == sys.argv[2] and j["inputs"][0]["shape"] == [4, 784], j
PY
grep -q "samples/s (batch 4)" out.txt && ok "samples/s uses the batch" || bad "batch 4"
! grep -q "no --input" err.txt && ok "no note when the input is given" || bad "note with --input"

# --seed: the same seed gives the same inputs, another seed others (their sums, in the JSON)
sum() { python3 -c "import json,sys; print(repr(json.load(open(sys.argv[1]))['inputs'][0]['sum']))" "$1"; }
"$SLIMC" bench "$M" --runs 1 --json s0a.json >/dev/null 2>&1
"$SLIMC" bench "$M" --runs 1 --seed 0 --json s0b.json >/dev/null 2>&1
"$SLIMC" bench "$M" --runs 1 --seed=7 --json s7.json >/dev/null 2>err.txt
grep -q "(seed 7)" err.txt && ok "--seed noted" || bad "--seed note"
[ "$(sum s0a.json)" = "$(sum s0b.json)" ] && ok "seed reproducible" || bad "seed 0 twice differs"
[ "$(sum s0a.json)" != "$(sum s7.json)" ] && [ "$(sum s7.json)" != "0.0" ] && ok "another seed, other values" || bad "seed 7 same as 0"

expect_fail "--runs 0" "runs takes a number from 1" "$SLIMC" bench "$M" --runs=0
expect_fail "--duration -1" "duration takes seconds" "$SLIMC" bench "$M" --duration -1
expect_fail "--seed x" "seed takes a number" "$SLIMC" bench "$M" --seed x
expect_fail "--json without value" "json needs a value" "$SLIMC" bench "$M" --json
expect_fail "--compare is run's" "slimc bench does not take --compare \\(it is an option of run\\)" "$SLIMC" bench "$M" --compare x.npy
expect_fail "--json over the weights" "error" "$SLIMC" bench "$M" --runs 1 --json "$S/mlp/mlp.safetensors"
finish
