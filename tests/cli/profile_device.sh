# slimc profile-device and --device-profile (docs/placement.md, "The device profile"): the
# measured profile is valid JSON with positive numbers that slimc reads back; the stored
# one lands in the cache directory and is what --show reports; a malformed or missing
# profile file is an error with its place; a malformed stored one a warning and the
# default; under SLIMC_CUDA_EMULATE=1 the profile has a cuda device and the link.
source "$(dirname "$0")/lib.bash"
export SLIMC_PROFILE_QUICK=1
export SLIMC_LIBCUDA=libcuda-hidden-by-the-test.so.1
unset SLIMC_CUDA_EMULATE

# check_profile FILE DEVICES...: the JSON parses and has exactly DEVICES, every number > 0
# (launch_us and latency_us >= 0)
check_profile() {
  python3 - "$@" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
want = sys.argv[2:]
assert p["slimc_device_profile"] == 1, p
assert sorted(p["devices"]) == sorted(want), p["devices"].keys()
classes = ["gemm_f32", "conv_f32", "gemm_int8", "gemm_f16", "elementwise", "reduce", "data"]
for name, d in p["devices"].items():
    assert sorted(d["gflops"]) == sorted(classes), d["gflops"]
    for c in classes:
        assert d["gflops"][c] > 0, (name, c)
    assert d["bandwidth_gbs"] > 0 and d["launch_us"] >= 0 and d["memory_mb"] >= 0, d
    assert d["name"], d
if "cuda" in want:
    assert p["link"]["gbs"] > 0 and p["link"]["latency_us"] >= 0, p["link"]
    assert p["devices"]["cuda"]["name"] == "emulated CUDA device (CPU)", p["devices"]["cuda"]
else:
    assert "link" not in p
PY
}

# the CPU alone, to a file
expect_ok "profile-device -o FILE --device cpu" "$SLIMC" profile-device -o cpu.json --device cpu
check_profile cpu.json cpu && ok "cpu.json: valid, positive" || { bad "cpu.json"; cat cpu.json; }
grep -q "device profile written to cpu.json" err.txt && ok "says where it wrote" || { bad "no note"; cat err.txt; }
grep -qE "^gemm_f32 +[0-9.e+]+ GF/s" out.txt && grep -q "^bandwidth" out.txt && ok "prints the table" \
  || { bad "no table"; cat out.txt; }
# auto without a GPU: the CPU alone, with a note
expect_ok "profile-device (auto) without a GPU" "$SLIMC" profile-device -o auto.json
check_profile auto.json cpu && ok "auto.json: the CPU alone" || bad "auto.json"
grep -q "note: no CUDA device (no CUDA driver" err.txt && ok "auto says why no GPU" || { bad "no note"; cat err.txt; }
expect_fail "--device cuda without a GPU" "^slimc: error: no CUDA device found \(no CUDA driver" \
  "$SLIMC" profile-device -o cuda.json --device cuda
[ ! -e cuda.json ] && ok "writes nothing then" || bad "wrote cuda.json"

# --show reads it back; the default when nothing is stored
expect_ok "--show --device-profile" "$SLIMC" profile-device --show --device-profile cpu.json
grep -q "^profile: cpu.json (measured by slimc profile-device (quick), .* UTC) (hash [0-9a-f]\{16\})" out.txt && ok "--show names the file" || { bad "--show"; cat out.txt; }
mkdir -p empty_cache
expect_ok "--show with nothing stored" "$SLIMC" profile-device --show --cache-dir empty_cache
grep -q "^profile: built-in default profile" out.txt && grep -q "^cuda: default CUDA GPU" out.txt \
  && ok "the built-in default" || { bad "no default"; cat out.txt; }

# stored in the cache directory, and found there
expect_ok "profile-device to the cache" "$SLIMC" profile-device --device cpu --cache-dir stored
check_profile stored/device-profile.json cpu && ok "stored/device-profile.json" || bad "nothing stored"
expect_ok "--show the stored one" "$SLIMC" profile-device --show --cache-dir stored
grep -q "^profile: .*stored/device-profile.json" out.txt && ok "--show finds the stored one" || { bad "stored"; cat out.txt; }
# a malformed stored profile: a warning naming it, then the default
mkdir -p broken && printf '{"slimc_device_profile": 1,\n "devices": {"cpu": 3}}\n' >broken/device-profile.json
expect_ok "a malformed stored profile" "$SLIMC" profile-device --show --cache-dir broken
grep -q "broken/device-profile.json: warning: the stored device profile is not usable (.*broken/device-profile.json:2:21: error: devices.cpu: expected an object, found a number); using the built-in default" err.txt \
  && grep -q "^profile: built-in default profile" out.txt && ok "warns and uses the default" \
  || { bad "stored malformed"; cat err.txt out.txt; }

# --device-profile FILE: mistakes with their places
printf '{\n  "slimc_device_profile": 1,\n  "devices": {"gpu": {}}\n}\n' >tpu.json
expect_fail "a device that is not one" "^tpu.json:3:15: error: devices: 'gpu' is not a device \(cpu, cuda\)" \
  "$SLIMC" profile-device --show --device-profile tpu.json
grep -q '^ *\^' err.txt && ok "with a caret" || { bad "no caret"; cat err.txt; }
printf '{"slimc_device_profile": 1,}' >comma.json
expect_fail "malformed JSON" "^comma.json:1:28: error: malformed JSON: expected a string key" \
  "$SLIMC" profile-device --show --device-profile comma.json
sed 's/"bandwidth_gbs": [0-9.e+]*/"bandwidth_gbs": 0/' cpu.json >zero.json
expect_fail "a rate of 0" "^zero.json:[0-9]+:[0-9]+: error: devices.cpu.bandwidth_gbs: 0 must be greater than 0" \
  "$SLIMC" profile-device --show --device-profile zero.json
python3 -c '
import json; p = json.load(open("cpu.json")); p["devices"]["cuda"] = p["devices"]["cpu"]
json.dump(p, open("nolink.json", "w"), indent=1)'
expect_fail "cuda without a link" "^nolink.json:[0-9]+:[0-9]+: error: a \"cuda\" device needs a \"link\"" \
  "$SLIMC" profile-device --show --device-profile nolink.json
expect_fail "a missing file" "^missing.json: error: cannot open device profile: No such file or directory" \
  "$SLIMC" profile-device --show --device-profile missing.json
expect_fail "a folder" "^empty_cache: error: device profile is a directory, not a file" \
  "$SLIMC" profile-device --show --device-profile empty_cache
expect_fail "--device-profile needs a value" "^slimc: error: --device-profile needs a value" \
  "$SLIMC" profile-device --show --device-profile
expect_fail "--show and -o" "^slimc: error: --show prints the profile in use" \
  "$SLIMC" profile-device --show -o x.json
# the other commands take the option
expect_ok "run --device-profile" "$SLIMC" run "$S/mlp/mlp.slim" --input "$S/mlp/input.npy" --device-profile cpu.json

# the CUDA emulation: a cuda device and the link
expect_ok "profile-device under SLIMC_CUDA_EMULATE=1" env SLIMC_CUDA_EMULATE=1 "$SLIMC" profile-device -o emu.json
check_profile emu.json cpu cuda && ok "emu.json: cpu, cuda and the link" || { bad "emu.json"; cat emu.json; }
grep -q "^link: [0-9.e+]* GB/s" out.txt && ok "prints the link" || { bad "no link"; cat out.txt; }
finish
