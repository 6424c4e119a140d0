# The int8 path on CUDA end to end (codegen/cuda/quant.c, docs/cuda.md "int8"): the mlp
# sample quantized and run with --device cuda under the CPU emulation gives the CPU's int8
# output bit for bit (static and dynamic int8), and the CPU's int4 output up to float
# rounding. With --device cuda the nodes are placed before the passes: quantize makes the
# same layers for CUDA, layout leaves their weights unpacked. (Every linear becomes an int8
# layer here, so the run needs no other CUDA kernel.)
source "$(dirname "$0")/lib.bash"
M=$S/mlp
export SLIMC_CUDA_EMULATE=1

run_both() { # NAME PASSES: runs on cpu and cuda into o_cpu_NAME, o_cuda_NAME
  local name=$1 pipeline=$2 dev
  for dev in cpu cuda; do
    expect_ok "$name on $dev" "$SLIMC" run "$M/mlp.slim" --input "$M/input.npy" --device "$dev" \
      --passes "$pipeline" --output-dir "o_${dev}_$name"
  done
}

run_both static "fold,quantize(int8, calibrate=\"$M/input.npy\"),qchain,layout,fuse,dce,memplan"
cmp -s o_cpu_static/output0.npy o_cuda_static/output0.npy \
  && ok "static int8: cuda == cpu, bit for bit" || { bad "static int8 differs"; "$NPYCMP" o_cpu_static/output0.npy o_cuda_static/output0.npy 0; }
run_both dynamic "fold,quantize(int8, dynamic),layout,fuse,dce,memplan"
cmp -s o_cpu_dynamic/output0.npy o_cuda_dynamic/output0.npy \
  && ok "dynamic int8: cuda == cpu, bit for bit" || { bad "dynamic int8 differs"; "$NPYCMP" o_cpu_dynamic/output0.npy o_cuda_dynamic/output0.npy 0; }
run_both int4 "fold,quantize(int4),layout,fuse,dce,memplan"
"$NPYCMP" o_cpu_int4/output0.npy o_cuda_int4/output0.npy 1e-5 >cmp.txt 2>&1 \
  && ok "int4: cuda ~ cpu (1e-5)" || { bad "int4 differs"; cat cmp.txt; }
finish
