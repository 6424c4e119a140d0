/* Running compiled model code: the consts table, symbol binding from the inputs' shapes,
 * input checks and the arena. (Interface fixed by the lead, since api/ calls it; the C
 * backend implements it in runtime/exec.c. Refine comments, keep the signatures.) */
#ifndef SLIMC_RUNTIME_EXEC_H
#define SLIMC_RUNTIME_EXEC_H

#include "ir/graph.h"
#include "runtime/jit.h"

typedef struct RtExec RtExec;

/* Binds module m (compiled from cg_emit_c(g) with this prefix; NULL prefix = the
 * default) to graph g, which must outlive the RtExec. Looks up the entry points and
 * builds the consts table from g's constant values. NULL with a diagnostic on error. */
RtExec *rt_exec_new(const Graph *g, RtModule *m, const char *prefix, Diag *d);
void rt_exec_free(RtExec *e);

/* One input's data as the caller holds it: dtype, concrete shape, C-order data. */
typedef struct RtTensor {
    DType dtype;
    int ndim;
    int64_t shape[IR_MAX_RANK];
    void *data;
    size_t nbytes;
} RtTensor;

/* Checks every input against its graph input type (dtype, rank, static dims, each symbol
 * bound consistently to a value >= 1 — errors name the input, the expected type and the
 * shape given), binds the symbols, computes the output shapes, allocates each output
 * (malloc; outputs[i].data owned by the caller afterwards) and runs the model with
 * nthreads threads. The arena is kept in e and reused while big enough. */
/* The input checks of rt_exec_run alone: g's inputs against the tensors (dtype, rank,
 * static dims, symbols, bytes of data), binding syms[IR_MAX_SYMS]. Lets a caller refuse
 * inputs before anything is compiled; false with a diagnostic naming the input. */
bool rt_bind_inputs(const Graph *g, const RtTensor *inputs, int64_t *syms, Diag *d);
bool rt_exec_run(RtExec *e, const RtTensor *inputs, int n_inputs, RtTensor *outputs, int n_outputs,
                 int nthreads, Diag *d);

#endif
