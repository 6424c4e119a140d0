# ONNX semantics as ONNX Runtime's (issue 13, items 3 and 6), on the small models that
# tests/data/hostile/make_onnx_semantics.py made and checked against ORT: an omitted input is
# an error naming the node when ONNX requires it and takes its default when it is optional;
# Split sizes, a graph that is not SSA, Range's delta and count, window attributes of Conv,
# ConvTranspose and the pools, and Gather's negative and out-of-range indices are what ORT
# does: its outputs where it computes (sem_NAME.ort.*.npy), an error where it does not.
source "$(dirname "$0")/lib.bash"
H=$SLIMC_SOURCE_DIR/tests/data/hostile

if "$SLIMC" inspect "$H/sem_range_ok.onnx" 2>&1 | grep -q "built without ONNX"; then
  finish
  exit
fi

# inputs NAME: the --input arguments of case NAME.
inputs() {
  local f
  for f in "$H/$1".input.*.npy; do
    [ -e "$f" ] || continue
    local k=${f##*/$1.input.}
    printf -- '--input\n%s=%s\n' "${k%.npy}" "$f"
  done
}

# refused NAME PATTERN: slimc run fails cleanly (exit 1, no crash) with PATTERN on stderr.
refused() {
  local name=$1 pattern=$2 args
  mapfile -t args < <(inputs "$name")
  expect_fail "$name" "$pattern" "$SLIMC" run "$H/$name.onnx" "${args[@]}" --output-dir "o_$name"
}

# computes NAME: slimc run agrees with ONNX Runtime on every output.
computes() {
  local name=$1 args f
  mapfile -t args < <(inputs "$name")
  if ! "$SLIMC" run "$H/$name.onnx" "${args[@]}" --output-dir "o_$name" >out.txt 2>err.txt; then
    bad "$name: slimc run failed"
    cat err.txt
    return
  fi
  for f in "$H/$name".ort.*.npy; do
    local o=${f##*/$name.ort.}
    if "$NPYCMP" "o_$name/$o" "$f" 1e-6 >/dev/null 2>&1; then ok "$name: ${o%.npy} as ORT's"; else
      bad "$name: ${o%.npy} differs from ORT's"
    fi
  done
}

# ---- omitted inputs (item 3): no NULL dereference ----
for op in concat sum max min mean; do
  refused "sem_${op}_empty" "node '${op}0' \([A-Z][a-z]+\): input 1 is omitted \(an empty name\)"
done
refused sem_max_const_empty "node 'max0' \(Max\): input 1 is omitted"
refused sem_where_const_empty "node 'where0' \(Where\): input 2 is required but missing"
refused sem_slice_no_starts "node 'slice0' \(Slice\): input 1 is required but missing"
refused sem_tile_no_repeats "node 'tile0' \(Tile\): input 1 is required but missing"
refused sem_topk_no_k "node 'topk0' \(TopK\): input 1 is required but missing"
refused sem_pad_no_pads "node 'pad0' \(Pad\): input 1 is required but missing"
refused sem_gather_elements_no_idx "node 'ge0' \(GatherElements\): input 1 is required but missing"
refused sem_scatter_nd_short "node 'snd0' \(ScatterND\): input 2 is required but missing"
refused sem_resize_no_roi "node 'resize0' \(Resize\): input 1 is required but missing"
refused sem_qlinear_short "node 'dq0' \(DequantizeLinear\): input 1 is required but missing"
refused sem_cumsum_no_axis "node 'cumsum0' \(CumSum\): input 1 is required but missing"
for c in clip_no_min pad_no_value slice_no_axes split_no_sizes resize_sizes_only gemm_no_c \
  dropout_no_ratio conv_no_bias; do
  computes "sem_$c"
done

# ---- Split, SSA, Range (item 6) ----
refused sem_split_short "node 'split0' \(Split\): the split sizes add up to 4, but dim 0 is 5"
refused sem_split_attr_long "node 'split0' \(Split\): the split sizes add up to 6, but dim 0 is 5"
refused sem_split_negative "node 'split0' \(Split\): split size -1 is negative"
refused sem_split_uneven "node 'split0' \(Split\): dim 0 \(5\) does not split evenly into 2 outputs"
computes sem_split_uneven18
refused sem_slice_steps_short "node 'slice0' \(Slice\): steps has 1 entries for 2 starts"
refused sem_two_writers "nodes 'first' \(Relu\) and 'second' \(Neg\) both write 'y'"
refused sem_writes_input "node 'first' \(Relu\) writes 'x', which is a graph input"
refused sem_writes_init "node 'first' \(Relu\) writes 'w', which is an initializer"
refused sem_range_delta0 "node 'range0' \(Range\): delta is 0"
refused sem_range_delta0_f "node 'range0' \(Range\): delta is 0"
refused sem_range_huge "node 'range0' \(Range\): the element count .* is too large"
refused sem_range_inf "node 'range0' \(Range\): the element count is not finite"
refused sem_range_nan "node 'range0' \(Range\): the element count is not finite"
computes sem_range_ok

# ---- window attributes ----
refused sem_conv_k0 "node 'conv0' \(Conv\): kernel_shape must be positive"
refused sem_conv_stride0 "node 'conv0' \(Conv\): strides must be positive"
refused sem_conv_dil0 "node 'conv0' \(Conv\): dilations must be positive"
refused sem_conv_pads_neg "node 'conv0' \(Conv\): pads must not be negative"
refused sem_convt_stride0 "node 'convt0' \(ConvTranspose\): strides must be positive"
refused sem_convt_k0 "node 'convt0' \(ConvTranspose\): kernel_shape must be positive"
refused sem_maxpool_k0 "node 'pool0' \(MaxPool\): kernel_shape must be positive"
refused sem_avgpool_stride0 "node 'pool0' \(AveragePool\): strides must be positive"
refused sem_maxpool_dil0 "node 'pool0' \(MaxPool\): dilations must be positive"
refused sem_maxpool3d_k0 "node 'pool0' \(MaxPool\): kernel_shape must be positive"
refused sem_avgpool_too_big "pool0.*(does not fit|kernel)"

# ---- Gather's indices ----
for c in gather_neg_const gather_neg gather_neg_i32 gather_elements_neg gather_nd_neg \
  scatter_elements_neg; do
  computes "sem_$c"
done
refused sem_gather_oob "index is out of range"
refused sem_gather_oob_neg "index is out of range"
refused sem_gather_oob_const "node 'gather0' \(Gather\): index -5 is out of range for dim 1 \(4\)"
finish
