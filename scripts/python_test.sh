#!/usr/bin/env bash
# The Python package as a user gets it: a fresh venv (Debian's python3 with its system
# packages, so that its numpy and torch are seen), `pip install .`, the pytest suite of
# tests/python against the installed package, then `pip wheel .`. scripts/test.sh runs it.
# The CMake build of the package is kept in build-pip/ (and compiled through ccache where
# there is one), so a second run rebuilds only what changed.
#   scripts/python_test.sh [PYTHON]     (default /usr/bin/python3)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
py=${1:-/usr/bin/python3}
venv=$root/build-pip/venv
rm -rf "$venv"
mkdir -p build-pip
"$py" -m venv --system-site-packages "$venv"
vpy=$venv/bin/python
"$vpy" -c 'import pytest' 2>/dev/null || "$vpy" -m pip install --quiet pytest
cfg=(--config-settings=build-dir="$root/build-pip/cmake")
if command -v ccache >/dev/null; then
  cfg+=(--config-settings=cmake.define.CMAKE_C_COMPILER_LAUNCHER=ccache --config-settings=cmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
echo "== pip install . (fresh venv: $venv)"
start=$SECONDS
"$vpy" -m pip install --quiet "${cfg[@]}" .
echo "   took $((SECONDS - start)) s"
echo "== pytest tests/python (the installed package)"
# from another folder, so that `import slimc` is the installed package, not python/slimc
(cd "$root/build-pip" && env -u SLIMC_LIBRARY -u PYTHONPATH SLIMC_CACHE_DIR="$root/build-pip/cache" \
   "$vpy" -m pytest -q -p no:cacheprovider "$root/tests/python")
echo "== pip wheel ."
rm -rf build-pip/wheels
"$vpy" -m pip wheel --quiet --no-deps "${cfg[@]}" -w build-pip/wheels .
ls build-pip/wheels/slimc-*.whl
