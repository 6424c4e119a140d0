#!/usr/bin/env bash
# Structured pruning's time against its FLOPs (issue 17's target: time ratio <= 1.15 x the
# FLOP ratio): each model dense and with 50% of the prunable channels removed
# (prune(..., method=ln_structured, n=2, amount=50%)), `slimc bench` at one thread,
# interleaved ROUNDS times, the median of the medians. Prints a markdown table.
#   bench/prune_channels.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}/slimc
ROUNDS=${2:-7}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
S=samples
blocks() { # every BasicBlock's conv1 of a resnet with layers 1..4 of 2 blocks
  local l b out=""
  for l in 1 2 3 4; do for b in 0 1; do out="$out layer$l.$b.conv1,"; done; done
  echo "${out%,}"
}
expansions() { # mobilenet_v2's expansion convs (features.2..17 conv.0.0)
  local i out=""
  for i in $(seq 2 17); do out="$out features.$i.conv.0.0,"; done
  echo "${out%,}"
}
models=(
  "lenet|$S/lenet/lenet.slim|conv1, conv2|conv1, conv2"
  "resnet_tiny|$S/resnet_tiny/resnet_tiny.slim|$(blocks)|every block's conv1"
  "resnet18_narrow|$S/resnet18/resnet18_narrow.slim|$(blocks)|every block's conv1"
  "mobilenet_v2_narrow|$S/mobilenet_v2/mobilenet_v2_narrow.slim|$(expansions)|every expansion conv"
)
# the full-size ResNet-18 and MobileNetV2 when their weights were made (samples/make_samples.py)
[ -f "$S/resnet18/resnet18.safetensors" ] && models+=("resnet18 (224x224)|$S/resnet18/resnet18.slim|$(blocks)|every block's conv1")
[ -f "$S/mobilenet_v2/mobilenet_v2.safetensors" ] && models+=("mobilenet_v2 (224x224)|$S/mobilenet_v2/mobilenet_v2.slim|$(expansions)|every expansion conv")
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
flops() { "$B" inspect "$1" --flops --passes "fold,bn_fold,fold,dce,cse,layout,fuse,dce,memplan" | awk '/^flops:/ {print $2}'; }
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; slimc bench --threads 1, $ROUNDS interleaved rounds"
echo
echo "| model | layers pruned | FLOP ratio | dense ms | pruned ms | time ratio | time / FLOP ratio |"
echo "|---|---|---|---|---|---|---|"
for m in "${models[@]}"; do
  IFS='|' read -r name file layers label <<<"$m"
  p="$T/$name.slim"; p=${p// /_}
  "$B" compress "$file" --passes "prune($layers, method=ln_structured, n=2, amount=50%)" -o "$p" >/dev/null
  fd=$(flops "$file"); fp=$(flops "$p")
  : >"$T/d"; : >"$T/p"
  for r in $(seq "$ROUNDS"); do
    "$B" bench "$file" --threads 1 --runs 30 --warmup 3 2>/dev/null | awk 'NR == 1 {for (i = 1; i < NF; i++) if ($i == "median") print $(i + 1)}' >>"$T/d"
    "$B" bench "$p" --threads 1 --runs 30 --warmup 3 2>/dev/null | awk 'NR == 1 {for (i = 1; i < NF; i++) if ($i == "median") print $(i + 1)}' >>"$T/p"
  done
  md=$(median <"$T/d"); mp=$(median <"$T/p")
  awk -v n="$name" -v l="$label" -v fd="$fd" -v fp="$fp" -v md="$md" -v mp="$mp" 'BEGIN {
    fr = fp / fd; tr = mp / md; printf "| %s | %s | %.3f | %.4f | %.4f | %.3f | %.2f |\n", n, l, fr, md, mp, tr, tr / fr }'
done
