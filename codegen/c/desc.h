/* The model descriptor (runtime/model_desc.h) of a graph, and the graph-level way into the
 * runtime's executor (runtime/exec.h), which knows only descriptors. */
#ifndef SLIMC_CG_DESC_H
#define SLIMC_CG_DESC_H

#include "ir/graph.h"
#include "runtime/exec.h"

/* g's descriptor, in one malloc'd block (free() it) whose names point into g (g must
 * outlive it): input and output names and types as the JIT reports them, the inputs'
 * places in the model. *io (if io is not NULL) receives the inputs' then the outputs'
 * entries, for a caller that shows other names (the AOT emitter). */
RtModelDesc *cg_model_desc(const Graph *g, RtIoDesc **io);
/* rt_exec_new for g's descriptor and constants, with the memory check (g->max_memory: the
 * weights, arena and outputs for the bound symbols) installed. g must outlive it. */
RtExec *cg_exec_new(const Graph *g, RtModule *m, const char *prefix, Diag *d);
/* rt_bind_inputs against g's descriptor. */
bool cg_bind_inputs(const Graph *g, const RtTensor *inputs, int64_t *syms, Diag *d);

#endif
