/* cg_cuda_report (codegen/cuda/report.h). */
#include "codegen/cuda/report.h"
#include "codegen/cuda/cu.h"

#include <stdlib.h>
#include <string.h>

/* The report cg_cuda_report is filling on this thread (NULL: none). */
static _Thread_local CuReport *report_sink;

static const char *copy_str(Arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = ir_arena_alloc(a, n);
    memcpy(p, s, n);
    return p;
}

void cu_report_capture(const CuCtx *cu)
{
    CuReport *r = report_sink;
    if (!r)
        return;
    Arena *a = r->arena;
    r->n_kernels = cu->n_kernels;
    r->kernels = ir_arena_alloc(a, sizeof *r->kernels * (size_t)(cu->n_kernels + 1));
    for (int k = 0; k < cu->n_kernels; k++)
        r->kernels[k] = copy_str(a, cu->kernel_names[k]);
    r->n_launches = cu->n_launches;
    r->launches = ir_arena_alloc(a, sizeof *r->launches * (size_t)(cu->n_launches + 1));
    for (int l = 0; l < cu->n_launches; l++) {
        const CuLaunch *L = &cu->launches[l];
        CuReportLaunch *o = &r->launches[l];
        o->node = L->node;
        o->kernel = L->kernel;
        for (int i = 0; i < 3; i++) {
            o->grid[i] = copy_str(a, L->grid[i]);
            o->block[i] = L->block[i];
        }
        o->what = copy_str(a, L->what);
    }
    const Graph *g = cu->cg.g;
    r->n_syms = g->n_syms;
    r->sym_names = ir_arena_alloc(a, sizeof *r->sym_names * (size_t)(g->n_syms + 1));
    for (int s = 0; s < g->n_syms; s++)
        r->sym_names[s] = copy_str(a, cu->cg.sym_names ? cu->cg.sym_names[s] : NULL);
}

bool cg_cuda_report(const Graph *g, const CgOptions *o, FILE *out, CuReport *r, Diag *d)
{
    memset(r, 0, sizeof *r);
    r->arena = ir_arena_new();
    FILE *sink = out ? out : fopen("/dev/null", "w");
    SLIMC_ASSERT(sink);
    report_sink = r;
    bool ok = cg_emit(&cg_backend_cuda, g, o, sink, d);
    report_sink = NULL;
    if (!out)
        fclose(sink);
    if (!ok) {
        Arena *a = r->arena;
        memset(r, 0, sizeof *r);
        r->arena = a;
    }
    return ok;
}

void cg_cuda_report_free(CuReport *r)
{
    if (r->arena)
        ir_arena_free(r->arena);
    memset(r, 0, sizeof *r);
}
