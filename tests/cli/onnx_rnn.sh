#!/bin/bash
# ONNX RNN, GRU and LSTM (issue 19) against ONNX Runtime, on models tests/onnx/ops_cases.py
# builds with onnx.helper: forward, reverse and bidirectional, with and without a constant
# sequence_lens (entries of different lengths), initial h and c, peepholes, GRU's
# linear_before_reset, layout 0 and 1, Relu among the activations; Y, Y_h and Y_c all
# compared; clip. A clip of 0, input_forget, an activation slimc lacks and a zero length are refused by
# name. Then nn.LSTM (2 layers, bidirectional) and nn.GRU (bidirectional, batch_first)
# exported by torch.onnx.export against PyTorch (skipped without Debian's torch).
source "$(dirname "$0")/lib.bash"
source "$SLIMC_SOURCE_DIR/tests/onnx/ops_cases.bash"

if ! ops_cases_ready; then
  finish
  exit
fi
OPS_RUN_ARGS="--opt-level 0" # the lowering is under test, not the C compiler's -O2
ops_cases rnn 1e-5
ops_torch rnn 1e-5
finish
