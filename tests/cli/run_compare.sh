# slimc run --compare REF.npy [--rtol R] [--atol A] and --top K (issue 21).
source "$(dirname "$0")/lib.bash"
M=$S/mlp/mlp.slim
IN=$S/mlp/input.npy

# The run's own output as the reference: a match at any tolerance.
expect_ok "write the output" "$SLIMC" run "$M" --input "$IN" --output-dir o
expect_ok "--compare match" "$SLIMC" run "$M" --input "$IN" --compare o/output0.npy --rtol 0 --atol 0
grep -q "^output0 vs o/output0.npy: max abs error 0, max rel error 0 (rtol 0, atol 0); worst at \[0, 0\].*; match$" out.txt \
  && ok "match line" || { bad "match line"; cat out.txt; }

python3 - o/output0.npy "$S/mlp/expected.npy" <<'PY'
import numpy as np, sys
o = np.load(sys.argv[1]); e = np.load(sys.argv[2])
b = o.copy(); b[2, 7] += 0.5; b[1, 1] += 0.01
np.save("bad.npy", b); np.save("bad64.npy", b.astype(np.float64))
np.save("flat.npy", o.reshape(-1))
open("np_default", "w").write("1" if np.allclose(o, e) else "0")
open("np_loose", "w").write("1" if np.allclose(o, e, rtol=1e-3, atol=1e-6) else "0")
PY
# As numpy.allclose decides, defaults (rtol 1e-5, atol 1e-8) and given tolerances.
"$SLIMC" run "$M" --input "$IN" --compare "$S/mlp/expected.npy" >out.txt 2>err.txt
[ $? -eq $((1 - $(cat np_default))) ] && ok "defaults agree with numpy.allclose" || { bad "defaults"; cat out.txt err.txt; }
"$SLIMC" run "$M" --input "$IN" --compare "$S/mlp/expected.npy" --rtol=1e-3 --atol=1e-6 >out.txt 2>err.txt
[ $? -eq $((1 - $(cat np_loose))) ] && ok "--rtol/--atol agree with numpy.allclose" || { bad "tolerances"; cat out.txt err.txt; }

# A mismatch: exit 1, the worst element (index and both values)
expect_fail "--compare mismatch" "output 'output0' does not match: 2 of 40 elements differ .*worst at \[2, 7\]" \
  "$SLIMC" run "$M" --input "$IN" --compare bad.npy
grep -q "max abs error 0.5," out.txt && grep -q "; MISMATCH$" out.txt && ok "mismatch line" || { bad "mismatch line"; cat out.txt; }
python3 - o/output0.npy err.txt <<'PY' && ok "worst values printed" || bad "worst values"
import numpy as np, re, sys
o = np.load(sys.argv[1]); t = open(sys.argv[2]).read()
m = re.search(r"worst at \[2, 7\]: (\S+) \(output\) vs (\S+) \(reference\)", t)
assert m and abs(float(m.group(1)) - o[2, 7]) < 1e-6 and abs(float(m.group(2)) - (o[2, 7] + 0.5)) < 1e-6, t
PY
expect_fail "f64 reference, NAME=FILE" "worst at \[2, 7\]" "$SLIMC" run "$M" --input="$IN" --compare=output0=bad64.npy
expect_ok "--atol large enough" "$SLIMC" run "$M" --input "$IN" --compare bad.npy --atol 0.6
expect_fail "shape mismatch" "flat.npy: error: the reference has shape \[40\], output 'output0' has shape \[4, 10\]" \
  "$SLIMC" run "$M" --input "$IN" --compare flat.npy
expect_fail "no such output" "has no output called 'nope'" "$SLIMC" run "$M" --input "$IN" --compare nope=bad.npy
expect_fail "missing reference" "nothere.npy" "$SLIMC" run "$M" --input "$IN" --compare nothere.npy
expect_fail "--rtol -1" "rtol takes a number >= 0" "$SLIMC" run "$M" --input "$IN" --compare bad.npy --rtol -1
expect_fail "--atol x" "atol takes a number >= 0" "$SLIMC" run "$M" --input "$IN" --compare bad.npy --atol=x

# --top K: each row's K largest, index and value, as numpy's argsort says
expect_ok "--top 3" "$SLIMC" run "$M" --input "$IN" --top=3
python3 - o/output0.npy out.txt <<'PY' && ok "--top matches numpy" || { bad "--top"; cat out.txt; }
import numpy as np, re, sys
o = np.load(sys.argv[1]); t = open(sys.argv[2]).read()
rows = re.findall(r"^output0 top 3, row (\d+): (.*)$", t, re.M)
assert len(rows) == 4, t
for r, rest in rows:
    got = [int(i) for i in re.findall(r"(\d+) \(", rest)]
    want = list(np.argsort(-o[int(r)], kind="stable")[:3])
    assert got == want, (r, got, want)
PY
expect_ok "--top larger than C" "$SLIMC" run "$M" --input "$IN" --top 50
grep -q "^output0 top 10, row 0:" out.txt && ok "--top clamps to C" || bad "--top 50"
cat > r3.slim <<'SLIM'
model r3(x: f32[N, 2, 3]) -> f32[N, 2, 3]
    return relu(x)
SLIM
python3 -c "import numpy as np; x = np.arange(6, dtype=np.float32).reshape(1, 2, 3); np.save('r3.npy', x); y = x.copy(); y[0, 1, 2] = np.nan; np.save('r3nan.npy', y)"
expect_fail "--top on a rank-3 output" "top takes an output of shape \[N, C\].*'output0' is f32\[1, 2, 3\]" \
  "$SLIMC" run r3.slim --input r3.npy --top 2
expect_fail "NaN in the reference never matches" "1 of 6 elements differ.*worst at \[0, 1, 2\]: 5 \(output\) vs nan" \
  "$SLIMC" run r3.slim --input r3.npy --compare r3nan.npy --atol 1e9
expect_ok "--compare, rank 3, shared option as --threads=2" "$SLIMC" run r3.slim --input=r3.npy --compare=r3.npy --threads=2
expect_fail "--top 0" "top takes a number from 1" "$SLIMC" run "$M" --input "$IN" --top 0
finish
