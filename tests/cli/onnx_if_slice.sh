#!/bin/bash
# ONNX ops of issue 19 against ONNX Runtime, on models tests/onnx/ops_cases.py builds with
# onnx.helper: Slice with negative steps (torch.flip's INT64 sentinels, steps -2/-3, two
# axes, clamped starts, a reversed constant pads list), If (a constant condition folds to its
# branch; a run-time one computes both and selects), and the elementwise ops added then
# (Floor, Ceil, Round half to even, trigonometry). Cases slimc refuses must say why.
source "$(dirname "$0")/lib.bash"
source "$SLIMC_SOURCE_DIR/tests/onnx/ops_cases.bash"

if ! ops_cases_ready; then
  finish
  exit
fi
ops_cases slice 0
ops_torch slice 1e-6
ops_cases if 1e-6
ops_cases rounding 0
ops_cases trig 1e-6
finish
