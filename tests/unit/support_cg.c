/* Helpers of the C-backend tests (see support_cg.h). */
#include "support_cg.h"
#include "support_cuda.h"

#include <check.h>

#include "codegen/c/cg.h"
#include "ir/eval.h"
#include "passes/pass.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Shape sup_shape(int rank, const int64_t *dims)
{
    Shape s = {rank, {{0}}};
    for (int i = 0; i < rank; i++)
        s.d[i] = ir_dim(dims[i]);
    return s;
}

Type sup_f32(int rank, const int64_t *dims)
{
    Type t = {IR_F32, sup_shape(rank, dims), NULL};
    return t;
}

float sup_rand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

ValueId sup_const_rand(Graph *g, const char *name, int rank, const int64_t *dims, unsigned *seed)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    float *data = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        data[i] = sup_rand(seed);
    return ir_const_new(g, name, sup_f32(rank, dims), data, sizeof(float) * (size_t)n, (SrcLoc){0});
}

RtTensor sup_input_rand(int rank, const int64_t *dims, unsigned *seed)
{
    RtTensor t = {IR_F32, rank, {0}, NULL, 0};
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        t.shape[i] = dims[i];
        n *= dims[i];
    }
    float *data = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        data[i] = sup_rand(seed);
    t.data = data;
    t.nbytes = sizeof(float) * (size_t)n;
    return t;
}

char *sup_emit(Graph *g, size_t *len, char *msg, size_t msg_size)
{
    return sup_emit_as(g, true, len, msg, msg_size);
}

char *sup_emit_as(Graph *g, bool shared_kernels, size_t *len, char *msg, size_t msg_size)
{
    Diag d;
    ir_diag_init(&d);
    char *src = NULL;
    *len = 0;
    if (!pass_memplan(g, NULL, &d)) {
        snprintf(msg, msg_size, "memplan: %s", ir_diag_text(&d));
        ir_diag_fini(&d);
        return NULL;
    }
    FILE *f = open_memstream(&src, len);
    CgOptions o = {.prefix = NULL, .source_name = "test", .shared_kernels = shared_kernels};
    bool ok = cg_emit(&cg_backend_c, g, &o, f, &d);
    fclose(f);
    if (!ok) {
        snprintf(msg, msg_size, "emit: %s", ir_diag_text(&d));
        free(src);
        src = NULL;
    }
    ir_diag_fini(&d);
    return src;
}

void sup_bind_syms(const Graph *g, const RtTensor *in, int64_t *syms)
{
    for (int s = 0; s < IR_MAX_SYMS; s++)
        syms[s] = 1;
    for (int i = 0; i < g->n_inputs; i++) {
        const Type *t = &g->values[g->inputs[i]].type;
        for (int k = 0; k < t->shape.rank; k++) {
            Dim dm = t->shape.d[k];
            if (dm.syms && !(dm.syms & (dm.syms - 1)))
                syms[__builtin_ctz(dm.syms)] = in[i].shape[k] / dm.c;
        }
    }
}

bool sup_compare(const float *a, const float *b, size_t n, double tol, double *err, double *scale)
{
    double mx = 0, e = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(b[i]) && fabs(b[i]) > mx)
            mx = fabs(b[i]);
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) {
            if (isnan(a[i]) != isnan(b[i]))
                e = INFINITY;
            continue;
        }
        if (isinf(b[i]) || isinf(a[i])) {
            if (a[i] != b[i])
                e = INFINITY;
            continue;
        }
        double dd = fabs((double)a[i] - (double)b[i]);
        if (dd > e)
            e = dd;
    }
    *err = e;
    *scale = mx;
    return tol == 0 ? e == 0 : e <= tol * (mx > 0 ? mx : 1);
}

bool sup_check(Graph *g, const RtTensor *inputs, const int *threads, int n_threads, double tol,
               char *msg, size_t msg_size)
{
    if (sup_test_device_cuda()) {     /* the op suites again, on the CUDA backend */
        Graph *c = ir_graph_clone(g); /* placed on CUDA: the caller's graph stays as it is */
        bool ok = sup_cuda_check(c, inputs, NULL, tol, msg, msg_size);
        ir_graph_free(c);
        return ok;
    }
    size_t len;
    char *src = sup_emit(g, &len, msg, msg_size);
    if (!src)
        return false;
    Diag d;
    ir_diag_init(&d);
    RtOptions ro;
    rt_options_default(&ro);
    RtModule *m = rt_compile(src, len, &ro, &d);
    bool ok = m != NULL;
    if (!ok)
        snprintf(msg, msg_size, "compile: %s", ir_diag_text(&d));
    RtExec *e = ok ? cg_exec_new(g, m, NULL, &d) : NULL;
    if (ok && !e) {
        snprintf(msg, msg_size, "exec_new: %s", ir_diag_text(&d));
        ok = false;
    }
    /* reference */
    int64_t syms[IR_MAX_SYMS];
    sup_bind_syms(g, inputs, syms);
    const void *ins[16];
    void *ref[16] = {0};
    for (int i = 0; i < g->n_inputs; i++)
        ins[i] = inputs[i].data;
    if (ok && !ir_eval_graph(g, ins, ref, syms, &d)) {
        snprintf(msg, msg_size, "reference: %s", ir_diag_text(&d));
        ok = false;
    }
    for (int t = 0; ok && t < n_threads; t++) {
        RtTensor outs[16];
        if (!rt_exec_run(e, inputs, g->n_inputs, outs, g->n_outputs, threads[t], &d)) {
            snprintf(msg, msg_size, "run (%d threads): %s", threads[t], ir_diag_text(&d));
            ok = false;
            break;
        }
        for (int j = 0; j < g->n_outputs; j++) {
            double err, scale;
            if (ok && outs[j].dtype == IR_F32 &&
                !sup_compare(outs[j].data, ref[j], outs[j].nbytes / sizeof(float), tol, &err,
                             &scale)) {
                snprintf(msg, msg_size,
                         "output %d (%d threads): max error %g, max |ref| %g, tol %g", j,
                         threads[t], err, scale, tol);
                ok = false;
            } else if (ok && outs[j].dtype != IR_F32 &&
                       memcmp(outs[j].data, ref[j], outs[j].nbytes) != 0) {
                snprintf(msg, msg_size, "output %d (%d threads) differs", j, threads[t]);
                ok = false;
            }
            free(outs[j].data);
        }
    }
    for (int j = 0; j < g->n_outputs; j++)
        free(ref[j]);
    rt_exec_free(e);
    rt_module_free(m);
    ir_diag_fini(&d);
    if (ok)
        msg[0] = 0;
    else {
        FILE *f = fopen("failed_model.c", "w");
        if (f) {
            fwrite(src, 1, len, f);
            fclose(f);
        }
    }
    free(src);
    return ok;
}

ValueId sup_input(Graph *g, const char *name, int rank, const int64_t *dims, RtTensor *t,
                  unsigned *seed)
{
    *t = sup_input_rand(rank, dims, seed);
    return ir_input_new(g, name, sup_f32(rank, dims), (SrcLoc){0});
}

void sup_run_check(Graph *g, RtTensor *in, int n_in, double tol, const char *what)
{
    static const int threads[] = {1, 3};
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s: shapes: %s", what, ir_diag_text(&d));
    ir_diag_fini(&d);
    char msg[4096];
    bool ok = sup_check(g, in, threads, 2, tol, msg, sizeof msg);
    for (int i = 0; i < n_in; i++)
        free(in[i].data);
    ir_graph_free(g);
    ck_assert_msg(ok, "%s: %s", what, msg);
}

ValueId sup_input_int(Graph *g, const char *name, DType dt, int rank, const int64_t *dims, int lo,
                      int hi, RtTensor *t, unsigned *seed)
{
    Type ty = {dt, sup_shape(rank, dims), NULL};
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    t->dtype = dt;
    t->ndim = rank;
    memcpy(t->shape, dims, sizeof(int64_t) * (size_t)rank);
    t->nbytes = ir_dtype_bytes(dt, n);
    t->data = malloc(t->nbytes + 1);
    for (int64_t i = 0; i < n; i++) {
        int v = lo + (int)((sup_rand(seed) + 1.0f) * 0.5f * (float)(hi - lo + 1));
        v = v > hi ? hi : v;
        switch (dt) {
        case IR_I64: ((int64_t *)t->data)[i] = v; break;
        case IR_I32: ((int32_t *)t->data)[i] = v; break;
        case IR_I16: ((int16_t *)t->data)[i] = (int16_t)v; break;
        case IR_I8: ((int8_t *)t->data)[i] = (int8_t)v; break;
        case IR_F32: ((float *)t->data)[i] = (float)v; break;
        case IR_F64: ((double *)t->data)[i] = v; break;
        default: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
        }
    }
    return ir_input_new(g, name, ty, (SrcLoc){0});
}

float *sup_run_threads_vs(Graph *g, char *src, size_t len, const RtTensor *in, int n_in,
                          const float *ref, size_t ny, double tol, const char *what)
{
    Diag d;
    ir_diag_init(&d);
    RtOptions ro;
    rt_options_default(&ro);
    RtModule *m = rt_compile(src, len, &ro, &d);
    ck_assert_msg(m, "%s: compile: %s", what, ir_diag_text(&d));
    RtExec *e = cg_exec_new(g, m, NULL, &d);
    ck_assert_msg(e, "%s: exec_new: %s", what, ir_diag_text(&d));
    static const int threads[] = {1, 2, 3};
    float *first = NULL;
    for (int t = 0; t < 3; t++) {
        RtTensor out;
        ck_assert_msg(rt_exec_run(e, in, n_in, &out, 1, threads[t], &d), "%s: run: %s", what,
                      ir_diag_text(&d));
        ck_assert_uint_eq(out.nbytes, sizeof(float) * ny);
        double err, sc;
        ck_assert_msg(sup_compare(out.data, ref, ny, tol, &err, &sc),
                      "%s (%d threads): max error %g, max |ref| %g", what, threads[t], err, sc);
        if (!first) {
            first = out.data;
        } else {
            ck_assert_msg(memcmp(first, out.data, out.nbytes) == 0,
                          "%s: %d threads differ from 1 thread", what, threads[t]);
            free(out.data);
        }
    }
    rt_exec_free(e);
    rt_module_free(m);
    free(src);
    ir_diag_fini(&d);
    return first;
}
