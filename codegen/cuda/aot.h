/* The C that `slimc build --device cuda --lib` writes around the CUDA backend's code: the
 * library's header (codegen/cuda/aot.c). Its API is runtime/slimc_cuda_lib.c. */
#ifndef SLIMC_CODEGEN_CUDA_AOT_H
#define SLIMC_CODEGEN_CUDA_AOT_H

#include "codegen/c/aot.h"

/* NAME.h of a CUDA library: the macros every flavour shares (cg_aot_put_header_macros),
 * then NAME_init, NAME_run (host pointers), NAME_run_device (device pointers),
 * NAME_arena_bytes, NAME_error and NAME_free. */
void cg_cuda_aot_put_header(FILE *f, const CgAotModel *m, const char *name, size_t weights_bytes);

#endif
