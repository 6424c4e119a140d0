# Writes OUT, the text runtime/cuda_exec.c puts in front of a generated CUDA file for the CPU
# emulation: runtime/slimc_cuda_abi.h then runtime/cuda_emu.h, each without its
# `#include "..."` lines (the ABI is already above; the generated file repeats it, guarded).
#   cmake -DSRC=<source dir> -DOUT=<file> -P cmake/cuda_emu_header.cmake
set(text "/* GENERATED when slimc is built (cmake/cuda_emu_header.cmake) from runtime/slimc_cuda_abi.h
 * and runtime/cuda_emu.h: the CPU emulation of the CUDA backend's kernels. */
")
foreach(part runtime/slimc_cuda_abi.h runtime/cuda_emu.h)
  file(READ ${SRC}/${part} body)
  string(REGEX REPLACE "(^|\n)#include \"[^\"\n]*\"[^\n]*" "\\1" body "${body}")
  string(APPEND text "\n/* ---- ${part} ---- */\n${body}")
endforeach()
file(WRITE ${OUT}.tmp "${text}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
