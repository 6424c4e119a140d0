/* Graph to model descriptor (see codegen/c/desc.h). */
#include "codegen/c/desc.h"

#include "ir/checked.h"
#include "ir/limits.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(RT_MAX_RANK == IR_MAX_RANK && RT_MAX_SYMS == IR_MAX_SYMS &&
                   RT_MAX_POLY == IR_POLY_TERMS && RT_MAX_TENSOR_BYTES == IR_MAX_TENSOR_BYTES,
               "runtime/model_desc.h's limits differ from ir/'s");

#define TYPE_CAP 256 /* bytes of each type string */

/* One block: the descriptor, its io entries, symbol names, type strings and the consts. */
typedef struct DescBlock {
    RtModelDesc desc;
    const char *sym_names[IR_MAX_SYMS + 1];
} DescBlock;

static size_t align8(size_t n)
{
    return (n + 7) / 8 * 8;
}

/* The descriptor and, when consts is not NULL, room for g->n_values + 1 constant pointers
 * after it (*consts then points there). */
static RtModelDesc *make_desc(const Graph *g, RtIoDesc **io, const void ***consts)
{
    size_t n_io = (size_t)g->n_inputs + (size_t)g->n_outputs;
    size_t at_io = align8(sizeof(DescBlock)), at_types = at_io + (n_io + 1) * sizeof(RtIoDesc);
    size_t at_consts = align8(at_types + n_io * TYPE_CAP);
    size_t total = at_consts + (consts ? ((size_t)g->n_values + 1) * sizeof(void *) : 0);
    unsigned char *block = calloc(1, total);
    SLIMC_ASSERT(block);
    DescBlock *b = (DescBlock *)block;
    RtIoDesc *ios = (RtIoDesc *)(block + at_io);
    char *types = (char *)(block + at_types);
    RtModelDesc *m = &b->desc;
    m->name = g->name;
    m->source = g->source;
    m->n_inputs = g->n_inputs;
    m->n_outputs = g->n_outputs;
    m->n_syms = g->n_syms;
    for (int s = 0; s < g->n_syms && s < IR_MAX_SYMS; s++)
        b->sym_names[s] = g->sym_names[s];
    m->sym_names = b->sym_names;
    m->derived = g->derived_syms;
    for (int s = 0; s < g->n_syms && s < IR_MAX_SYMS; s++) {
        const SymDef *sd = &g->sym_defs[s];
        m->defs[s] = (RtSymDef){{sd->xa.c, sd->xa.syms},
                                {sd->xb.c, sd->xb.syms},
                                {sd->y.c, sd->y.syms},
                                sd->add,
                                sd->div,
                                g->sym_origins[s],
                                g->sym_max[s],
                                g->sym_max_of[s],
                                {g->sym_eq[s].c, g->sym_eq[s].syms},
                                g->sym_eq_of[s]};
    }
    m->inputs = ios;
    m->outputs = ios + g->n_inputs;
    m->n_arena_terms = g->arena_bytes.n;
    for (int t = 0; t < g->arena_bytes.n; t++) {
        m->arena[t].mask = g->arena_bytes.t[t].mask;
        m->arena[t].c = g->arena_bytes.t[t].c;
    }
    for (size_t k = 0; k < n_io; k++) {
        bool is_in = k < (size_t)g->n_inputs;
        int j = is_in ? (int)k : (int)k - g->n_inputs;
        const Value *v = &g->values[is_in ? g->inputs[j] : g->outputs[j]];
        RtIoDesc *io_k = &ios[k];
        io_k->name =
            is_in || !g->output_names || !g->output_names[j] ? v->name : g->output_names[j];
        io_k->shown = io_k->name;
        io_k->type = ir_type_str(g, &v->type, types + k * TYPE_CAP, TYPE_CAP);
        io_k->dtype = (int)v->type.dtype;
        io_k->rank = v->type.shape.rank;
        for (int r = 0; r < v->type.shape.rank; r++)
            io_k->dims[r] = (RtDimDesc){v->type.shape.d[r].c, v->type.shape.d[r].syms};
        if (is_in) {
            io_k->file = v->loc.file;
            io_k->line = v->loc.line;
            io_k->col = v->loc.col;
        }
    }
    if (io)
        *io = ios;
    if (consts) {
        static const uint64_t empty[8];
        const void **c = (const void **)(block + at_consts);
        for (int v = 0; v < g->n_values; v++)
            if (g->values[v].kind == IR_VALUE_CONST)
                c[v] = g->values[v].data ? g->values[v].data : (const void *)empty;
        *consts = c;
    }
    return m;
}

RtModelDesc *cg_model_desc(const Graph *g, RtIoDesc **io)
{
    return make_desc(g, io, NULL);
}

/* The memory limit: weights + arena + outputs for the symbols these inputs bind. */
static bool check_memory(void *ctx, const int64_t *syms, Diag *d)
{
    const Graph *g = ctx;
    double bytes = ir_model_bytes(g, syms);
    if (g->max_memory == 0 || bytes <= (double)g->max_memory) /* every run: no message made */
        return true;
    char what[300];
    snprintf(what, sizeof what,
             "model '%.200s': memory for these inputs (weights + arena + outputs)",
             g->name ? g->name : "?");
    return ir_check_memory(bytes, g->max_memory, what, (SrcLoc){g->source, 0, 0}, d);
}

RtExec *cg_exec_new(const Graph *g, RtModule *m, const char *prefix, Diag *d)
{
    const void **consts;
    RtModelDesc *desc = make_desc(g, NULL, &consts);
    RtExec *e = rt_exec_new(desc, consts, desc, m, prefix, d);
    if (e)
        rt_exec_set_check(e, check_memory, (void *)(uintptr_t)g);
    return e;
}

bool cg_bind_inputs(const Graph *g, const RtTensor *inputs, int64_t *syms, Diag *d)
{
    RtModelDesc *desc = make_desc(g, NULL, NULL);
    bool ok = rt_bind_inputs(desc, inputs, syms, d);
    free(desc);
    return ok;
}
