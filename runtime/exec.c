/* Running compiled model code (see runtime/exec.h): binds symbols from the inputs'
 * shapes, checks the inputs, allocates outputs and the arena, and calls P_run. */
#include "runtime/exec.h"

#include "ir/checked.h"
#include "ir/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef size_t (*ArenaBytesFn)(const int64_t *syms);
typedef int (*RunFn)(const void *const *consts, const void *const *inputs, void *const *outputs,
                     const int64_t *syms, void *arena, int nthreads);

struct RtExec {
    const Graph *g;
    ArenaBytesFn arena_bytes;
    RunFn run;
    const void **consts; /* indexed by ValueId */
    void *arena;
    size_t arena_cap;
};

RtExec *rt_exec_new(const Graph *g, RtModule *m, const char *prefix, Diag *d)
{
    char name[256];
    const char *p = prefix ? prefix : "slimc_model";
    RtExec *e = calloc(1, sizeof *e);
    if (!e) {
        diag_error(d, (SrcLoc){0}, "out of memory");
        return NULL;
    }
    e->g = g;
    snprintf(name, sizeof name, "%s_run", p);
    *(void **)&e->run = rt_symbol(m, name);
    snprintf(name, sizeof name, "%s_arena_bytes", p);
    *(void **)&e->arena_bytes = rt_symbol(m, name);
    if (!e->run || !e->arena_bytes) {
        diag_error(d, (SrcLoc){0}, "compiled code has no entry point '%s_run' / '%s_arena_bytes'",
                   p, p);
        free(e);
        return NULL;
    }
    static const uint64_t empty[8];
    e->consts = calloc((size_t)g->n_values + 1, sizeof *e->consts);
    if (!e->consts) {
        free(e);
        diag_error(d, (SrcLoc){0}, "out of memory");
        return NULL;
    }
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].kind == IR_VALUE_CONST)
            e->consts[v] = g->values[v].data ? g->values[v].data : (const void *)empty;
    return e;
}

void rt_exec_free(RtExec *e)
{
    if (!e)
        return;
    free(e->consts);
    free(e->arena);
    free(e);
}

static void shape_str(const RtTensor *t, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "%s[", ir_dtype_name(t->dtype));
    for (int i = 0; i < t->ndim && i < IR_MAX_RANK && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

static void input_error(const Graph *g, int i, const RtTensor *t, const char *why, Diag *d)
{
    const Value *v = &g->values[g->inputs[i]];
    char want[256], got[256];
    ir_type_str(g, &v->type, want, sizeof want);
    shape_str(t, got, sizeof got);
    diag_error(d, v->loc, "input '%s': expected %s, got %s%s%s", v->name ? v->name : "?", want, got,
               why ? ": " : "", why ? why : "");
}

/* Binds every symbol from the first input dims that determine it; then checks every
 * input dim. Returns false with a diagnostic naming the input. */
bool rt_bind_inputs(const Graph *g, const RtTensor *in, int64_t *syms, Diag *d)
{
    uint32_t known = 0;
    for (int s = 0; s < IR_MAX_SYMS; s++)
        syms[s] = 1;
    for (int i = 0; i < g->n_inputs; i++) {
        const Type *t = &g->values[g->inputs[i]].type;
        if (in[i].dtype != t->dtype) {
            input_error(g, i, &in[i], "wrong dtype", d);
            return false;
        }
        if (in[i].ndim != t->shape.rank) {
            input_error(g, i, &in[i], "wrong rank", d);
            return false;
        }
    }
    for (bool progress = true; progress;) {
        progress = false;
        for (int i = 0; i < g->n_inputs; i++) {
            const Type *t = &g->values[g->inputs[i]].type;
            for (int k = 0; k < t->shape.rank; k++) {
                Dim dm = t->shape.d[k];
                uint32_t unknown = dm.syms & ~known;
                if (!unknown || (unknown & (unknown - 1)))
                    continue; /* nothing to bind, or two unknowns in one dim */
                int s = __builtin_ctz(unknown);
                int64_t rest, given = in[i].shape[k];
                if (!ir_dim_eval_ckd((Dim){dm.c, dm.syms & ~unknown}, syms, &rest) || rest <= 0 ||
                    given <= 0 || given % rest) {
                    char why[160];
                    snprintf(why, sizeof why, "dim %d (%lld) does not give symbol %s a value >= 1",
                             k, (long long)given, g->sym_names[s] ? g->sym_names[s] : "?");
                    input_error(g, i, &in[i], why, d);
                    return false;
                }
                syms[s] = given / rest;
                known |= unknown;
                progress = true;
            }
        }
    }
    for (int s = 0; s < g->n_syms; s++)
        if (!(known & (1u << s))) {
            diag_error(d, (SrcLoc){g->source, 0, 0}, "symbol %s is not set by any input's shape",
                       g->sym_names[s] ? g->sym_names[s] : "?");
            return false;
        }
    /* Every size these symbol values give must fit before anything is allocated: the
     * arena bounds every planned value, the outputs are checked where they are made. */
    int64_t arena;
    if (!ir_poly_eval_ckd(&g->arena_bytes, syms, &arena) || arena > IR_MAX_TENSOR_BYTES) {
        diag_error(d, (SrcLoc){g->source, 0, 0},
                   "model '%s': its working memory overflows for these input shapes",
                   g->name ? g->name : "?");
        return false;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const Type *t = &g->values[g->inputs[i]].type;
        Dim ne;
        int64_t v, count = 0;
        for (int k = 0; k < t->shape.rank; k++)
            if (!ir_dim_eval_ckd(t->shape.d[k], syms, &v) || v != in[i].shape[k]) {
                char why[160];
                snprintf(why, sizeof why, "dim %d differs", k);
                input_error(g, i, &in[i], why, d);
                return false;
            }
        size_t need;
        if (ir_shape_numel(&t->shape, &ne) && !ir_dim_eval_ckd(ne, syms, &count))
            count = -1;
        if (!ir_ckd_bytes(t->dtype, count, &need)) {
            input_error(g, i, &in[i], "its size overflows", d);
            return false;
        }
        if (in[i].nbytes < need || (need && !in[i].data)) {
            char why[160];
            snprintf(why, sizeof why, "%zu bytes of data for %zu needed", in[i].nbytes, need);
            input_error(g, i, &in[i], why, d);
            return false;
        }
    }
    return true;
}

bool rt_exec_run(RtExec *e, const RtTensor *inputs, int n_inputs, RtTensor *outputs, int n_outputs,
                 int nthreads, Diag *d)
{
    const Graph *g = e->g;
    if (n_inputs != g->n_inputs || n_outputs != g->n_outputs) {
        diag_error(d, (SrcLoc){g->source, 0, 0},
                   "model '%s' takes %d inputs and gives %d outputs (called with %d and %d)",
                   g->name ? g->name : "?", g->n_inputs, g->n_outputs, n_inputs, n_outputs);
        return false;
    }
    int64_t syms[IR_MAX_SYMS];
    if (!rt_bind_inputs(g, inputs, syms, d))
        return false;
    /* The memory limit, before anything is allocated: weights + arena + outputs for the
     * symbols these inputs bind. */
    char what[300];
    snprintf(what, sizeof what,
             "model '%.200s': memory for these inputs (weights + arena + outputs)",
             g->name ? g->name : "?");
    if (!ir_check_memory(ir_model_bytes(g, syms), g->max_memory, what, (SrcLoc){g->source, 0, 0},
                         d))
        return false;
    const void **in = calloc((size_t)n_inputs + 1, sizeof *in);
    void **out = calloc((size_t)n_outputs + 1, sizeof *out);
    bool ok = in && out;
    for (int i = 0; ok && i < n_inputs; i++)
        in[i] = inputs[i].data;
    for (int j = 0; ok && j < n_outputs; j++) {
        const Type *t = &g->values[g->outputs[j]].type;
        RtTensor *o = &outputs[j];
        memset(o, 0, sizeof *o);
        o->dtype = t->dtype;
        o->ndim = t->shape.rank;
        int64_t count = 1;
        bool fits = true;
        for (int k = 0; k < t->shape.rank; k++)
            fits = fits && ir_dim_eval_ckd(t->shape.d[k], syms, &o->shape[k]) &&
                   ir_ckd_mul_i64(count, o->shape[k], &count);
        if (!fits || !ir_ckd_bytes(t->dtype, count, &o->nbytes)) {
            char dims[IR_MAX_RANK * 24 + 8] = "";
            size_t len = 0;
            for (int k = 0; k < t->shape.rank; k++) {
                int64_t v;
                if (!ir_dim_eval_ckd(t->shape.d[k], syms, &v))
                    len += (size_t)snprintf(dims + len, sizeof dims - len, "%s(overflows)",
                                            k ? " x " : "");
                else
                    len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%lld", k ? " x " : "",
                                            (long long)v);
            }
            diag_error(d, (SrcLoc){g->source, 0, 0},
                       "output '%s': element count overflows for these input shapes (dims %s)",
                       g->output_names && g->output_names[j] ? g->output_names[j]
                                                             : g->values[g->outputs[j]].name,
                       dims);
            free(in);
            free(out);
            for (int i = 0; i < j; i++) {
                free(outputs[i].data);
                outputs[i].data = NULL;
            }
            return false;
        }
        o->data = malloc(o->nbytes ? o->nbytes : 1);
        out[j] = o->data;
        ok = o->data != NULL;
    }
    if (ok) {
        size_t need = e->arena_bytes(syms); /* SIZE_MAX when it overflows: checked above */
        ok = need <= (size_t)IR_MAX_TENSOR_BYTES;
        need = (need + 63) / 64 * 64;
        if (need > e->arena_cap) {
            free(e->arena);
            e->arena = aligned_alloc(64, need);
            e->arena_cap = e->arena ? need : 0;
            ok = e->arena != NULL;
        }
    }
    if (!ok)
        diag_error(d, (SrcLoc){g->source, 0, 0}, "out of memory running model '%s'",
                   g->name ? g->name : "?");
    if (ok) {
        int rc = e->run((const void *const *)e->consts, in, out, syms, e->arena,
                        nthreads < 1 ? 1 : nthreads);
        if (rc != 0) {
            ok = false;
            diag_error(d, (SrcLoc){g->source, 0, 0}, "model '%s' failed: %s",
                       g->name ? g->name : "?",
                       rc == 1   ? "a symbol value is not positive"
                       : rc == 2 ? "a reshape does not fit these symbol values"
                       : rc == 3 ? "an embedding index is out of range"
                       : rc == 4 ? "a size overflows for these symbol values"
                                 : "error in the compiled code");
        }
    }
    if (!ok)
        for (int j = 0; j < n_outputs; j++) {
            free(outputs[j].data);
            outputs[j].data = NULL;
        }
    free(in);
    free(out);
    return ok;
}
