/* Running compiled model code: binding the inputs to a model descriptor, the output
 * shapes and the arena, then the entry point. No ir/graph.h: what a run needs of the model
 * is its descriptor (runtime/model_desc.h), built from the graph by codegen/c/desc.c
 * (cg_exec_new there binds a graph in one call). */
#ifndef SLIMC_RUNTIME_EXEC_H
#define SLIMC_RUNTIME_EXEC_H

#include "runtime/jit.h"
#include "runtime/model_desc.h"

#include <stdbool.h>

typedef struct RtExec RtExec;

/* A check run after the inputs are bound and before anything is allocated (the memory
 * limit, for one): false with a diagnostic stops the run. */
typedef bool (*RtExecCheck)(void *ctx, const int64_t *syms, Diag *d);

/* Binds module m (compiled from cg_emit_c with this prefix; NULL prefix = the default) to
 * the model desc and consts (indexed by value id), which must outlive the RtExec. owned
 * (may be NULL) is freed with the RtExec. Looks up the entry points. NULL with a
 * diagnostic on error (owned is then freed). */
RtExec *rt_exec_new(const RtModelDesc *desc, const void *const *consts, void *owned, RtModule *m,
                    const char *prefix, Diag *d);
void rt_exec_set_check(RtExec *e, RtExecCheck check, void *ctx);
void rt_exec_free(RtExec *e);
/* For --profile (api/exec_profile.c): the symbols' values of the last run, and how many
 * runs completed since the last rt_exec_count_reset. */
const int64_t *rt_exec_last_syms(const RtExec *e);
int rt_exec_runs(const RtExec *e);
void rt_exec_count_reset(RtExec *e);

/* One input's data as the caller holds it: dtype (a DType), concrete shape, C-order data. */
typedef struct RtTensor {
    int dtype;
    int ndim;
    int64_t shape[RT_MAX_RANK];
    void *data;
    size_t nbytes;
} RtTensor;

/* The input checks of rt_exec_run alone: the descriptor's inputs against the tensors
 * (dtype, rank, static dims, each symbol bound consistently to a value >= 1, bytes of
 * data; rt_desc_bind), binding syms[RT_MAX_SYMS]. Lets a caller refuse inputs before
 * anything is compiled; false with a diagnostic naming the input (errors name the input,
 * the expected type and the shape given, at the input's place in the model). */
bool rt_bind_inputs(const RtModelDesc *m, const RtTensor *inputs, int64_t *syms, Diag *d);
/* The output shapes for these symbol values, each output's data malloc'd (the caller owns
 * it): false with a diagnostic (an element count that overflows, out of memory) and
 * nothing left allocated. Shared by rt_exec_run and the CUDA exec (runtime/cuda_exec.c). */
bool rt_exec_alloc_outputs(const RtModelDesc *m, const int64_t *syms, RtTensor *outputs, Diag *d);
/* What a non-zero status of a generated entry point means (codegen/c/cg.h,
 * runtime/slimc_cuda_abi.h). */
const char *rt_exec_status_text(int rc);

/* Checks and binds the inputs, runs the check, computes the output shapes, allocates each
 * output (malloc; outputs[i].data owned by the caller afterwards) and runs the model with
 * nthreads threads. The arena is kept in e and reused while big enough. */
bool rt_exec_run(RtExec *e, const RtTensor *inputs, int n_inputs, RtTensor *outputs, int n_outputs,
                 int nthreads, Diag *d);
/* given (a caller's output buffer) against want (dtype, rank, shape, nbytes): dtype, rank
 * and shape equal, at least want's bytes, data not NULL unless empty; false with a
 * diagnostic at loc naming output name. */
bool rt_output_matches(const char *name, const RtTensor *want, const RtTensor *given, SrcLoc loc,
                       Diag *d);
/* The outputs the caller gives against those these symbol values make: dtype, rank and
 * shape equal, at least the bytes needed (rt_output_matches, each in turn). */
bool rt_exec_check_outputs(const RtModelDesc *m, const int64_t *syms, const RtTensor *outputs,
                           Diag *d);
/* rt_exec_run into the caller's outputs: each has its dtype, shape, data and nbytes set
 * (rt_exec_check_outputs); nothing is allocated but the arena (kept in e). Nothing is
 * written to the outputs when a check fails. */
bool rt_exec_run_into(RtExec *e, const RtTensor *inputs, int n_inputs, const RtTensor *outputs,
                      int n_outputs, int nthreads, Diag *d);

#endif
