# split / chunk (bound with a, b = ...) and gather (torch.gather) in the model language,
# against numpy (np.split, np.array_split-like chunking, np.take_along_axis).
source "$(dirname "$0")/lib.bash"

cat > sp.slim <<'SLIM'
model sp(x: f32[N, 7, 4], idx: i64[N, 2, 4]) -> (a: f32[N, 2, 4], b: f32[N, 5, 4], g: f32[N, 2, 4], p: f32[N, 3, 4], r: f32[N, 1, 4], s: f32[N, 7, 2])
    h = relu(x)
    a, b = split(h, [2, 5], dim=1)
    p, q, r = chunk(x, 3, dim=1)
    s0, s1 = split(x, 2, dim=-1)
    g = gather(x, 1, idx)
    return a, b, g, p, r, s1
SLIM
python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(7)
x = rng.standard_normal((3, 7, 4)).astype("f4")
idx = rng.integers(-7, 7, (3, 2, 4)).astype("i8")
np.save("x.npy", x); np.save("idx.npy", idx)
h = np.maximum(x, 0)
np.save("e_a.npy", h[:, :2]); np.save("e_b.npy", h[:, 2:])
np.save("e_g.npy", np.take_along_axis(x, np.where(idx < 0, idx + 7, idx), 1))
np.save("e_p.npy", x[:, 0:3]); np.save("e_r.npy", x[:, 6:7]); np.save("e_s.npy", x[:, :, 2:])
PY
expect_ok "run split/chunk/gather" "$SLIMC" run sp.slim --input x=x.npy --input idx=idx.npy --output-dir o
for n in a b g p r s; do
  "$NPYCMP" o/$n.npy e_$n.npy 0 && ok "$n equals numpy" || bad "$n differs from numpy"
done

printf 'model m(x: f32[2, 6]) -> f32[2, 3]\n    a, b, c = split(x, 3, dim=1)\n    return a\n' > bad1.slim
expect_fail "three names, two pieces" "3 names to bind, but the right side gives 2 values" "$SLIMC" run bad1.slim --input x.npy
printf 'model m(x: f32[2, 6]) -> f32[2, 6]\n    a, b = relu(x)\n    return a\n' > bad2.slim
expect_fail "unpacking one tensor" "2 names to bind, but the right side is one value" "$SLIMC" run bad2.slim --input x.npy
printf 'model m(x: f32[2, 6]) -> f32[2, 2]\n    a, b = split(x, [2, 3], dim=1)\n    return a\n' > bad3.slim
expect_fail "sizes that do not add up" "the sizes add up to 5, but dim 1 is 6" "$SLIMC" run bad3.slim --input x.npy
finish
