/* Where a model runs (SlimcOptions.device) and its CUDA path: choosing the device, marking
 * the graph's nodes for it before the passes, and compiling the CUDA backend's file into a
 * runtime/cuda.h exec (a GPU, or the CPU emulation with $SLIMC_CUDA_EMULATE=1).
 *
 * auto = the place pass decides each node's device (passes/place.h) when a CUDA device is
 * found (the emulation counts only when asked for) and the CUDA backend is built in; else
 * cpu, with a note saying why. A model whose nodes end up on both devices runs as the CUDA
 * backend's file with the CPU's nodes in its host half (codegen/cuda/host_nodes.c). */
#include "api/api_internal.h"

#include "codegen/backend.h"
#include "codegen/c/desc.h"
#include "ir/limits.h"
#include "passes/cost_model.h"
#include "passes/place.h"
#include "runtime/cuda.h"

#include <stdlib.h>
#include <string.h>

static const char *device_word(SlimcDevice dev)
{
    return dev == SLIMC_DEVICE_CUDA ? "cuda" : dev == SLIMC_DEVICE_AUTO ? "auto" : "cpu";
}

/* The CUDA backend, when this build has one (codegen/backend.h's cg_backends). */
static const CgBackend *cuda_backend(void)
{
    return cg_backend_find("cuda");
}

const char *slimc_precision_name(SlimcPrecision p)
{
    return p == SLIMC_PRECISION_FP32   ? "fp32"
           : p == SLIMC_PRECISION_FP16 ? "fp16"
           : p == SLIMC_PRECISION_BF16 ? "bf16"
                                       : NULL;
}

/* CgOptions.precision for o: what the CUDA backend's GEMMs and convolutions multiply in. */
static DType cg_precision(const SlimcOptions *o)
{
    SlimcPrecision p = o ? o->precision : SLIMC_PRECISION_FP32;
    return p == SLIMC_PRECISION_FP16 ? IR_F16 : p == SLIMC_PRECISION_BF16 ? IR_BF16 : IR_F32;
}

bool api_pick_device(SlimcContext *ctx, const SlimcOptions *o, Device *out, bool *automatic)
{
    SlimcDevice want = o ? o->device : SLIMC_DEVICE_CPU;
    *out = IR_DEVICE_CPU;
    *automatic = false;
    if (o && !slimc_precision_name(o->precision)) {
        ir_diag_error(&ctx->diag, (SrcLoc){0}, "precision %d is not a SlimcPrecision",
                      (int)o->precision);
        return false;
    }
    if (want == SLIMC_DEVICE_CPU && o && o->precision != SLIMC_PRECISION_FP32) {
        ir_diag_error(&ctx->diag, (SrcLoc){0},
                      "--precision %s needs --device cuda (the CPU backend computes in fp32)",
                      slimc_precision_name(o->precision));
        return false;
    }
    if (want == SLIMC_DEVICE_CPU)
        return true;
    const bool emulate = rt_cuda_emulated(o && o->cuda_emulate);
    char why[700] = "";
    const CgBackend *b = cuda_backend();
    if (want == SLIMC_DEVICE_CUDA) {
        if (!b) {
            ir_diag_error(&ctx->diag, (SrcLoc){0},
                          "--device cuda: this build of slimc has no CUDA backend");
            return false;
        }
        *out = IR_DEVICE_CUDA;
        return true;
    }
    /* auto: the place pass decides, when there is a GPU to place nodes on */
    if (!rt_cuda_device_available(emulate, why, sizeof why))
        ir_diag_note(&ctx->diag, (SrcLoc){0},
                     "--device auto: running on the CPU (no CUDA device: %s)", why);
    else if (!b)
        ir_diag_note(&ctx->diag, (SrcLoc){0},
                     "--device auto: running on the CPU (this build has no CUDA backend)");
    else if (!emulate && !rt_nvrtc_available(why, sizeof why))
        ir_diag_note(&ctx->diag, (SrcLoc){0},
                     "--device auto: running on the CPU (no NVRTC to compile CUDA code: %s)", why);
    else
        *automatic = true;
    if (*out == IR_DEVICE_CPU && o->precision != SLIMC_PRECISION_FP32)
        ir_diag_note(&ctx->diag, (SrcLoc){0},
                     "--precision %s: ignored on the CPU (its backend computes in fp32)",
                     slimc_precision_name(o->precision));
    return true;
}

void api_place_nodes(Graph *g, Device dev)
{
    ir_graph_place_all(g, dev);
}

/* The place pass's PlaceCheckFn: the backend of dev's rules (codegen/backend.h). */
static const char *backend_check(const Graph *g, const Node *n, Device dev)
{
    const CgBackend *b = dev == IR_DEVICE_CUDA ? cuda_backend() : &cg_backend_c;
    if (!b)
        return "this build of slimc has no CUDA backend";
    return b->unsupported(g, n);
}

bool api_place_auto(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o)
{
    bool from_default = false;
    if (!api_model_profile(ctx, m, o, &from_default))
        return false;
    if (from_default)
        ir_diag_note(&ctx->diag, (SrcLoc){0},
                     "--device auto: no device profile was measured here: placing with the "
                     "built-in one (run `slimc profile-device` once, or give --device-profile)");
    place_set_check(backend_check);
    m->g->place.automatic = true;
    m->g->place.profile = m->profile;
    return true;
}

Device api_model_device(const Graph *g, Device picked)
{
    if (ir_graph_mixed(g))
        return IR_DEVICE_CUDA; /* the CUDA backend's file runs both parts */
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            return g->nodes[i].device;
    return picked;
}

const char *api_device_name(Device dev)
{
    return device_word(dev == IR_DEVICE_CUDA ? SLIMC_DEVICE_CUDA : SLIMC_DEVICE_CPU);
}

bool *api_read_on_gpu(const Graph *g)
{
    bool *on_gpu = calloc((size_t)g->n_values + 1, sizeof *on_gpu);
    SLIMC_ASSERT(on_gpu);
    ir_values_read_on(g, IR_DEVICE_CUDA, on_gpu); /* a model for CUDA: all its nodes, or a
                                                   * split one's GPU part */
    return on_gpu;
}

bool api_check_cuda_device(SlimcContext *ctx, const SlimcOptions *o)
{
    char why[700] = "";
    if (rt_cuda_device_available(rt_cuda_emulated(o && o->cuda_emulate), why, sizeof why))
        return true;
    ir_diag_error(&ctx->diag, (SrcLoc){0},
                  "no CUDA device found (%s); run on the CPU with --device cpu, or emulate the "
                  "GPU with SLIMC_CUDA_EMULATE=1 (docs/cuda.md)",
                  why);
    return false;
}

/* ---- compiling for CUDA ---- */

char *api_emit_cuda(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o, const char *prefix,
                    bool jit, size_t *len)
{
    const CgBackend *b = cuda_backend();
    if (!b) {
        ir_diag_error(&ctx->diag, (SrcLoc){0}, "this build of slimc has no CUDA backend");
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    SLIMC_ASSERT(f);
    double t0 = api_now_ms();
    CgOptions co = {.prefix = prefix,
                    .source_name = m->g->source,
                    .shared_kernels = jit, /* a mixed model's CPU kernels: libslimc_kernels */
                    .precision = cg_precision(o)};
    bool ok = cg_emit(b, m->g, &co, f, &ctx->diag);
    fclose(f);
    ctx->t.codegen += api_now_ms() - t0;
    if (!ok) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* The memory limit for the symbols a run binds (as codegen/c/desc.c checks C code). */
static bool check_memory(void *p, const int64_t *syms, Diag *d)
{
    const Graph *g = p;
    char what[300];
    snprintf(what, sizeof what,
             "model '%.200s': memory for these inputs (weights + arena + outputs)",
             g->name ? g->name : "?");
    return ir_check_memory(ir_model_bytes(g, syms), g->max_memory, what, (SrcLoc){g->source, 0, 0},
                           d);
}

/* What api_cuda_exec_new allocates beside the exec: the descriptor and the weights' table. */
struct ApiCudaHold {
    RtModelDesc *desc;
    const void **data; /* [n_values] */
    size_t *bytes;     /* [n_values] */
};

RtCudaExec *api_cuda_exec_new(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                              ApiCudaHold **hold)
{
    *hold = NULL;
    SLIMC_ASSERT(cuda_backend()); /* api_pick_device chose CUDA */
    size_t len;
    char *src = api_emit_cuda(ctx, m, o, NULL, true, &len);
    if (!src)
        return NULL;
    const Graph *g = m->g;
    ApiCudaHold *h = calloc(1, sizeof *h);
    SLIMC_ASSERT(h);
    h->desc = cg_model_desc(g, NULL);
    h->data = calloc((size_t)g->n_values + 1, sizeof *h->data);
    h->bytes = calloc((size_t)g->n_values + 1, sizeof *h->bytes);
    SLIMC_ASSERT(h->data && h->bytes);
    static const uint64_t empty[8];
    /* a mixed model's GPU holds the weights its kernels read; the CPU reads the others in
     * place (RtCudaConsts: bytes 0 is not uploaded) */
    bool *on_gpu = api_read_on_gpu(g);
    const bool mixed = ir_graph_mixed(g);
    for (int v = 0; v < g->n_values; v++) {
        const Value *val = &g->values[v];
        Dim ne;
        if (val->kind != IR_VALUE_CONST)
            continue;
        h->data[v] = val->data ? val->data : (const void *)empty;
        /* constants have static shapes (the verifier's rule) */
        if (val->data && (on_gpu[v] || !mixed) && ir_shape_numel(&val->type.shape, &ne) && !ne.syms)
            h->bytes[v] = ir_dtype_bytes(val->type.dtype, ne.c);
    }
    free(on_gpu);
    RtOptions ro;
    api_rt_options(o, &ro, &ctx->t);
    RtCudaConsts consts = {g->n_values, h->data, h->bytes};
    RtCudaExec *e = rt_cuda_exec_new(src, len, NULL, h->desc, consts, NULL,
                                     rt_cuda_emulated(o && o->cuda_emulate), &ro, &ctx->diag);
    free(src);
    if (!e) {
        api_cuda_hold_free(h);
        return NULL;
    }
    rt_cuda_exec_set_check(e, check_memory, (void *)(uintptr_t)g);
    *hold = h;
    return e;
}

void api_cuda_hold_free(ApiCudaHold *h)
{
    if (!h)
        return;
    free(h->desc);
    free(h->data);
    free(h->bytes);
    free(h);
}

/* ---- slimc emit --target cuda ---- */

bool api_check_optimized_for(SlimcContext *ctx, const SlimcModel *m, Device dev)
{
    if (m->device == dev)
        return true;
    ir_diag_error(&ctx->diag, (SrcLoc){m->g->source, 0, 0},
                  "model '%s' was optimized for the %s: load it again to compile it for the %s",
                  m->g->name, api_device_name(m->device), api_device_name(dev));
    return false;
}

SlimcStatus slimc_model_emit(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o, FILE *out)
{
    if (!o || o->device == SLIMC_DEVICE_CPU) {
        if (o && o->precision != SLIMC_PRECISION_FP32) {
            Device dev;
            bool automatic;
            if (!api_pick_device(ctx, o, &dev, &automatic)) /* the error naming --precision */
                return SLIMC_ERROR;
        }
        if (m->optimized && !api_check_optimized_for(ctx, m, IR_DEVICE_CPU))
            return SLIMC_ERROR;
        return slimc_model_emit_c(ctx, m, out);
    }
    if (slimc_model_optimize(ctx, m, o) != SLIMC_OK)
        return SLIMC_ERROR;
    const Device want = o->device == SLIMC_DEVICE_CUDA ? IR_DEVICE_CUDA : m->device;
    if (!api_check_optimized_for(ctx, m, want))
        return SLIMC_ERROR;
    if (m->device == IR_DEVICE_CPU)
        return slimc_model_emit_c(ctx, m, out);
    size_t len;
    char *src = api_emit_cuda(ctx, m, o, NULL, false, &len);
    if (!src)
        return SLIMC_ERROR;
    fwrite(src, 1, len, out);
    free(src);
    return SLIMC_OK;
}
