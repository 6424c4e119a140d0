/* The C backend's output (cg_emit(&cg_backend_c, ...), codegen/backend.h): a verified,
 * memory-planned graph in, one self-contained C11 translation unit out. The runtime header
 * (runtime/slimc_rt.h) is inlined at the top.
 *
 * The generated code exports, for prefix P (default "slimc_model"):
 *
 *   size_t P_arena_bytes(const int64_t *syms);
 *       bytes of scratch the run needs for these symbol values (64-byte aligned arena);
 *       SIZE_MAX when that size overflows (checked products) or passes 2^62
 *   int P_run(const void *const *consts, const void *const *inputs, void *const *outputs,
 *             const int64_t *syms, void *arena, int nthreads);
 *       consts[v] is the payload of constant value v (indexed by ValueId; other entries
 *       unused); inputs/outputs follow the graph's input/output order; syms holds each
 *       symbol's value; returns 0, or non-zero if the symbol values do not fit the model
 *       (4: the arena or an output size overflows for them, checked before any is used).
 *       Reentrant when each caller passes its own arena.
 */
#ifndef SLIMC_CODEGEN_C_CG_H
#define SLIMC_CODEGEN_C_CG_H

#include "codegen/backend.h" /* cg_backend_c; cg_emit() writes the module */

#endif
