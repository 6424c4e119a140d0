/* Running compiled model code (see runtime/exec.h): binds symbols from the inputs'
 * shapes, checks the inputs, allocates outputs and the arena, and calls P_run. */
#include "runtime/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef size_t (*ArenaBytesFn)(const int64_t *syms);
typedef int (*RunFn)(const void *const *consts, const void *const *inputs, void *const *outputs,
                     const int64_t *syms, void *arena, int nthreads);

struct RtExec {
    const RtModelDesc *m;
    ArenaBytesFn arena_bytes;
    RunFn run;
    const void *const *consts; /* indexed by value id */
    void *owned;
    RtExecCheck check;
    void *check_ctx;
    void *arena;
    size_t arena_cap;
    int64_t last_syms[RT_MAX_SYMS]; /* the symbols' values of the last run */
    int runs;                       /* runs since rt_exec_count_reset */
};

const int64_t *rt_exec_last_syms(const RtExec *e)
{
    return e->last_syms;
}

int rt_exec_runs(const RtExec *e)
{
    return e->runs;
}

void rt_exec_count_reset(RtExec *e)
{
    e->runs = 0;
}

RtExec *rt_exec_new(const RtModelDesc *desc, const void *const *consts, void *owned, RtModule *m,
                    const char *prefix, Diag *d)
{
    char name[256];
    const char *p = prefix ? prefix : "slimc_model";
    RtExec *e = calloc(1, sizeof *e);
    if (!e) {
        free(owned);
        ir_diag_error(d, (SrcLoc){0}, "out of memory");
        return NULL;
    }
    e->m = desc;
    e->consts = consts;
    e->owned = owned;
    snprintf(name, sizeof name, "%s_run", p);
    *(void **)&e->run = rt_symbol(m, name);
    snprintf(name, sizeof name, "%s_arena_bytes", p);
    *(void **)&e->arena_bytes = rt_symbol(m, name);
    if (!e->run || !e->arena_bytes) {
        ir_diag_error(d, (SrcLoc){0},
                      "compiled code has no entry point '%s_run' / '%s_arena_bytes'", p, p);
        rt_exec_free(e);
        return NULL;
    }
    return e;
}

void rt_exec_set_check(RtExec *e, RtExecCheck check, void *ctx)
{
    e->check = check;
    e->check_ctx = ctx;
}

void rt_exec_free(RtExec *e)
{
    if (!e)
        return;
    free(e->owned);
    free(e->arena);
    free(e);
}

static void shape_str(const RtTensor *t, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "%s[", rt_dtype_name(t->dtype));
    for (int i = 0; i < t->ndim && i < RT_MAX_RANK && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

static SrcLoc model_loc(const RtModelDesc *m)
{
    return (SrcLoc){m->source, 0, 0};
}

bool rt_bind_inputs(const RtModelDesc *m, const RtTensor *in, int64_t *syms, Diag *d)
{
    RtInputView stack[8] = {{0}}; /* most models: no allocation per run */
    RtInputView *views = m->n_inputs <= 8 ? stack : calloc((size_t)m->n_inputs + 1, sizeof *views);
    if (!views) {
        ir_diag_error(d, model_loc(m), "out of memory");
        return false;
    }
    for (int i = 0; i < m->n_inputs; i++)
        views[i] = (RtInputView){in[i].dtype, in[i].ndim, in[i].shape, in[i].data, in[i].nbytes};
    RtBindError err;
    bool ok = rt_desc_bind(m, views, syms, &err) == 0;
    if (views != stack)
        free(views);
    if (ok)
        return true;
    if (err.input < 0) {
        ir_diag_error(d, model_loc(m), "%s", err.why);
        return false;
    }
    const RtIoDesc *v = &m->inputs[err.input];
    char got[256];
    shape_str(&in[err.input], got, sizeof got);
    ir_diag_error(d, (SrcLoc){v->file, v->line, v->col}, "input '%s': expected %s, got %s: %s",
                  v->name ? v->name : "?", v->type, got, err.why);
    return false;
}

const char *rt_exec_status_text(int rc)
{
    return rc == 1   ? "a symbol value is not positive or exceeds its bound"
           : rc == 2 ? "a reshape does not fit these symbol values"
           : rc == 3 ? "an index is out of range (an embedding, gather or scatter index)"
           : rc == 4 ? "a size overflows for these symbol values"
           : rc == 5 ? "a kernel launch failed"
                     : "error in the compiled code";
}

/* Output j's dtype, rank and shape for these symbol values, and its nbytes (data left
 * NULL): false with a diagnostic when its element count overflows. */
static bool output_shape(const RtModelDesc *m, int j, const int64_t *syms, RtTensor *o, Diag *d)
{
    const RtIoDesc *t = &m->outputs[j];
    memset(o, 0, sizeof *o);
    o->dtype = t->dtype;
    o->ndim = t->rank;
    int64_t count = 1;
    bool fits = true;
    for (int k = 0; k < t->rank; k++)
        fits = fits && rt_dim_eval(t->dims[k], syms, &o->shape[k]) &&
               !__builtin_mul_overflow(count, o->shape[k], &count);
    if (fits && rt_dtype_bytes(t->dtype, count, &o->nbytes))
        return true;
    char dims[RT_MAX_RANK * 24 + 8] = "";
    size_t len = 0;
    for (int k = 0; k < t->rank; k++) {
        int64_t v;
        if (!rt_dim_eval(t->dims[k], syms, &v))
            len += (size_t)snprintf(dims + len, sizeof dims - len, "%s(overflows)", k ? " x " : "");
        else
            len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%lld", k ? " x " : "",
                                    (long long)v);
    }
    ir_diag_error(d, model_loc(m),
                  "output '%s': element count overflows for these input shapes (dims %s)",
                  t->name ? t->name : "?", dims);
    return false;
}

bool rt_exec_alloc_outputs(const RtModelDesc *m, const int64_t *syms, RtTensor *outputs, Diag *d)
{
    for (int j = 0; j < m->n_outputs; j++) {
        RtTensor *o = &outputs[j];
        if (output_shape(m, j, syms, o, d)) {
            if ((o->data = malloc(o->nbytes ? o->nbytes : 1)) != NULL)
                continue;
            ir_diag_error(d, model_loc(m), "out of memory running model '%s'",
                          m->name ? m->name : "?");
        }
        for (int i = 0; i < j; i++) {
            free(outputs[i].data);
            outputs[i].data = NULL;
        }
        return false;
    }
    return true;
}

/* The start of every run: the counts, the inputs bound to syms, the memory check. */
static bool exec_bind(RtExec *e, const RtTensor *inputs, int n_inputs, int n_outputs, int64_t *syms,
                      Diag *d)
{
    const RtModelDesc *m = e->m;
    if (n_inputs != m->n_inputs || n_outputs != m->n_outputs) {
        ir_diag_error(d, model_loc(m),
                      "model '%s' takes %d inputs and gives %d outputs (called with %d and %d)",
                      m->name ? m->name : "?", m->n_inputs, m->n_outputs, n_inputs, n_outputs);
        return false;
    }
    if (!rt_bind_inputs(m, inputs, syms, d))
        return false;
    memcpy(e->last_syms, syms, sizeof e->last_syms);
    /* The memory limit, before anything is allocated (codegen/c/desc.c's check). */
    return !e->check || e->check(e->check_ctx, syms, d);
}

/* Grows the arena for syms and calls the entry point on the data pointers in and out. */
static bool exec_call(RtExec *e, const int64_t *syms, const void **in, void **out, int nthreads,
                      Diag *d)
{
    const RtModelDesc *m = e->m;
    size_t need = e->arena_bytes(syms); /* SIZE_MAX when it overflows: checked before */
    bool ok = need <= (size_t)RT_MAX_TENSOR_BYTES;
    need = (need + 63) / 64 * 64;
    if (ok && need > e->arena_cap) {
        free(e->arena);
        e->arena = aligned_alloc(64, need);
        e->arena_cap = e->arena ? need : 0;
        ok = e->arena != NULL;
    }
    if (!ok) {
        ir_diag_error(d, model_loc(m), "out of memory running model '%s'", m->name ? m->name : "?");
        return false;
    }
    int rc = e->run((const void *const *)e->consts, in, out, syms, e->arena,
                    nthreads < 1 ? 1 : nthreads);
    if (rc != 0) {
        ir_diag_error(d, model_loc(m), "model '%s' failed: %s", m->name ? m->name : "?",
                      rt_exec_status_text(rc));
        return false;
    }
    e->runs++;
    return true;
}

/* The data pointers of up to this many inputs and outputs live on the stack. */
#define RT_EXEC_STACK_IO 16

/* exec_call on the data pointers of the tensors inputs and outputs. */
static bool exec_call_tensors(RtExec *e, const int64_t *syms, const RtTensor *inputs, int n_inputs,
                              const RtTensor *outputs, int n_outputs, int nthreads, Diag *d)
{
    const void *in_stack[RT_EXEC_STACK_IO];
    void *out_stack[RT_EXEC_STACK_IO];
    bool small = n_inputs <= RT_EXEC_STACK_IO && n_outputs <= RT_EXEC_STACK_IO;
    const void **in = small ? in_stack : calloc((size_t)n_inputs + 1, sizeof *in);
    void **out = small ? out_stack : calloc((size_t)n_outputs + 1, sizeof *out);
    bool ok = in && out;
    if (!ok)
        ir_diag_error(d, model_loc(e->m), "out of memory running model '%s'",
                      e->m->name ? e->m->name : "?");
    for (int i = 0; ok && i < n_inputs; i++)
        in[i] = inputs[i].data;
    for (int j = 0; ok && j < n_outputs; j++)
        out[j] = outputs[j].data;
    ok = ok && exec_call(e, syms, in, out, nthreads, d);
    if (!small) {
        free(in);
        free(out);
    }
    return ok;
}

bool rt_exec_run(RtExec *e, const RtTensor *inputs, int n_inputs, RtTensor *outputs, int n_outputs,
                 int nthreads, Diag *d)
{
    int64_t syms[RT_MAX_SYMS];
    if (!exec_bind(e, inputs, n_inputs, n_outputs, syms, d))
        return false;
    memset(outputs, 0, sizeof *outputs * (size_t)n_outputs); /* freed on every failure */
    if (!rt_exec_alloc_outputs(e->m, syms, outputs, d))
        return false;
    if (exec_call_tensors(e, syms, inputs, n_inputs, outputs, n_outputs, nthreads, d))
        return true;
    for (int j = 0; j < n_outputs; j++) {
        free(outputs[j].data);
        outputs[j].data = NULL;
    }
    return false;
}

bool rt_output_matches(const char *name, const RtTensor *want, const RtTensor *given, SrcLoc loc,
                       Diag *d)
{
    bool same = given->dtype == want->dtype && given->ndim == want->ndim;
    for (int k = 0; same && k < want->ndim; k++)
        same = given->shape[k] == want->shape[k];
    char w[256], got[256];
    shape_str(want, w, sizeof w);
    if (!same) {
        RtTensor shown = *given;
        shown.ndim = given->ndim < 0 ? 0 : given->ndim > RT_MAX_RANK ? RT_MAX_RANK : given->ndim;
        shape_str(&shown, got, sizeof got);
        ir_diag_error(d, loc, "output '%s': the buffer given is %s, but these inputs give %s",
                      name ? name : "?", got, w);
        return false;
    }
    if (given->nbytes < want->nbytes || (!given->data && want->nbytes > 0)) {
        ir_diag_error(d, loc, "output '%s': the buffer given holds %zu bytes%s, %s needs %zu",
                      name ? name : "?", given->nbytes, given->data ? "" : " (its data is NULL)", w,
                      want->nbytes);
        return false;
    }
    return true;
}

bool rt_exec_check_outputs(const RtModelDesc *m, const int64_t *syms, const RtTensor *outputs,
                           Diag *d)
{
    for (int j = 0; j < m->n_outputs; j++) {
        RtTensor want;
        if (!output_shape(m, j, syms, &want, d) ||
            !rt_output_matches(m->outputs[j].name, &want, &outputs[j], model_loc(m), d))
            return false;
    }
    return true;
}

bool rt_exec_run_into(RtExec *e, const RtTensor *inputs, int n_inputs, const RtTensor *outputs,
                      int n_outputs, int nthreads, Diag *d)
{
    int64_t syms[RT_MAX_SYMS];
    return exec_bind(e, inputs, n_inputs, n_outputs, syms, d) &&
           rt_exec_check_outputs(e->m, syms, outputs, d) &&
           exec_call_tensors(e, syms, inputs, n_inputs, outputs, n_outputs, nthreads, d);
}
