#!/usr/bin/env bash
# Installs what slimc needs to build and test, on Debian 12: only what is missing.
#   scripts/install-deps.sh          build + tests
#   scripts/install-deps.sh --train  also Debian's torch/sklearn to regenerate samples/
set -euo pipefail

pkgs=(build-essential cmake pkg-config flex bison check libsubunit-dev clang-14 libclang-rt-14-dev)
if [ "${1:-}" = "--train" ]; then
  pkgs+=(python3-numpy python3-torch python3-torchvision python3-sklearn libopenblas0)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
