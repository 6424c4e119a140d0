/* slimc inspect for a model optimized for CUDA: its kernels and launches (from the CUDA
 * backend's own records, codegen/cuda/report.h), their static shared memory (from the
 * cubin NVRTC compiles for sm_80: runtime/cubin_info.h, no GPU needed), and --memory per
 * device. */
#include "api/api_internal.h"

#include "codegen/cuda/report.h"
#include "ir/text_escape.h"
#include "runtime/cubin_info.h"
#include "runtime/cuda.h"

#include <stdlib.h>
#include <string.h>

/* The arch whose cubin gives the shared-memory sizes (the kernels' static __shared__
 * arrays do not depend on it). */
#define INSPECT_ARCH 80

static void put_bytes(FILE *out, double b)
{
    if (b >= 1 << 20)
        fprintf(out, "%.2f MiB", b / (1 << 20));
    else if (b >= 1 << 10)
        fprintf(out, "%.1f KiB", b / (1 << 10));
    else
        fprintf(out, "%.0f B", b);
}

void api_inspect_memory_cuda(const SlimcModel *m, double weights, double arena, double io,
                             FILE *out)
{
    const char *at1 = m->g->n_syms ? " (symbols = 1)" : "";
    fputs("  on the GPU: weights ", out);
    put_bytes(out, weights);
    fputs(" (uploaded once) + arena ", out);
    put_bytes(out, arena);
    fputs(" + inputs and outputs ", out);
    put_bytes(out, io);
    fputs(" = ", out);
    put_bytes(out, weights + arena + io);
    fprintf(out, "%s\n  on the host: weights ", at1);
    put_bytes(out, weights);
    fputs(" (kept for the upload) + staging of inputs and outputs ", out);
    put_bytes(out, io);
    fprintf(out, " (copied in and out each run)%s\n", at1);
}

/* The cubin for INSPECT_ARCH; false (with why) when NVRTC cannot make it. */
static bool inspect_cubin(SlimcContext *ctx, const char *src, size_t len, RtCuImage *img, char *why,
                          size_t cap)
{
    if (!rt_nvrtc_available(why, cap))
        return false;
    RtOptions ro;
    api_rt_options(NULL, &ro, &ctx->t);
    if (rt_nvrtc_compile(src, len, INSPECT_ARCH, RT_CU_CUBIN, 0, &ro, img, &ctx->diag))
        return true;
    snprintf(why, cap, "NVRTC failed (the error above)");
    return false;
}

SlimcStatus api_inspect_kernels(SlimcContext *ctx, SlimcModel *m, FILE *out)
{
    const Graph *g = m->g;
    if (!m->optimized || m->device != IR_DEVICE_CUDA) {
        ir_diag_error(&ctx->diag, (SrcLoc){g->source, 0, 0},
                      "model '%s': listing CUDA kernels needs the model optimized for CUDA "
                      "(slimc inspect --device cuda)",
                      g->name);
        return SLIMC_ERROR;
    }
    char *src = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&src, &len);
    SLIMC_ASSERT(f);
    const SlimcPrecision p = m->precision;
    CgOptions co = {.source_name = g->source,
                    .precision = p == SLIMC_PRECISION_FP16   ? IR_F16
                                 : p == SLIMC_PRECISION_BF16 ? IR_BF16
                                                             : IR_F32};
    CuReport r;
    bool ok = cg_cuda_report(g, &co, f, &r, &ctx->diag);
    fclose(f);
    if (!ok) {
        free(src);
        cg_cuda_report_free(&r);
        return SLIMC_ERROR;
    }
    RtCuImage cubin = {0};
    char why[700] = "";
    const bool have_cubin = inspect_cubin(ctx, src, len, &cubin, why, sizeof why);
    free(src);
    fputs("cuda kernels of model ", out);
    ir_esc_term_put(out, g->name);
    fprintf(out, " (%s): %d kernel%s, %d launch%s per run\n", slimc_precision_name(p), r.n_kernels,
            r.n_kernels == 1 ? "" : "s", r.n_launches, r.n_launches == 1 ? "" : "es");
    if (r.n_syms) {
        fputs("  grids are C expressions over the symbols:", out);
        for (int s = 0; s < r.n_syms; s++) {
            fprintf(out, "%s %s = ", s ? "," : "", r.sym_names[s] ? r.sym_names[s] : "?");
            ir_esc_term_put(out, g->sym_names[s]);
        }
        fputc('\n', out);
    }
    if (have_cubin)
        fprintf(out, "  static shared memory from NVRTC's cubin for sm_%d\n", INSPECT_ARCH);
    else
        fprintf(out, "  static shared memory unknown: %s\n", why);
    for (int l = 0; l < r.n_launches; l++) {
        const CuReportLaunch *L = &r.launches[l];
        const Node *n = &g->nodes[L->node];
        const char *k = r.kernels[L->kernel];
        fprintf(out, "  %s  (node ", k);
        ir_esc_term_put(out, n->name ? n->name : "?");
        fprintf(out, ", %s)\n    grid (%s, %s, %s) x block (%d, %d, %d)", ir_ops[n->op].name,
                L->grid[0], L->grid[1], L->grid[2], L->block[0], L->block[1], L->block[2]);
        size_t shared = 0;
        if (have_cubin && rt_cubin_shared_bytes(cubin.data, cubin.len, k, &shared))
            fprintf(out, ", shared %zu B", shared);
        fputs("\n    ", out);
        ir_esc_term_put(out, L->what ? L->what : "");
        fputc('\n', out);
    }
    for (int k = 0; k < r.n_kernels; k++) {
        bool launched = false;
        for (int l = 0; l < r.n_launches && !launched; l++)
            launched = r.launches[l].kernel == k;
        if (!launched)
            fprintf(out, "  %s  (not launched)\n", r.kernels[k]);
    }
    rt_cu_image_free(&cubin);
    cg_cuda_report_free(&r);
    return SLIMC_OK;
}
