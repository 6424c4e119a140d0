/* Helpers of the CUDA backend's tests (see support_cuda.h). */
#include "support_cuda.h"
#include "support_cg.h"

#include "codegen/c/desc.h"
#include "ir/eval.h"
#include "passes/pass.h"
#include "runtime/cuda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sup_test_device_cuda(void)
{
    const char *e = getenv("SLIMC_TEST_DEVICE");
    return e && strcmp(e, "cuda") == 0;
}

char *sup_cuda_emit(Graph *g, const CgOptions *o, size_t *len, char *msg, size_t msg_size)
{
    Diag d;
    ir_diag_init(&d);
    char *src = NULL;
    *len = 0;
    ir_graph_place_all(g, IR_DEVICE_CUDA);
    if (!g->planned && !pass_memplan(g, NULL, &d)) {
        snprintf(msg, msg_size, "memplan: %s", ir_diag_text(&d));
        ir_diag_fini(&d);
        return NULL;
    }
    FILE *f = open_memstream(&src, len);
    CgOptions dflt = {.prefix = NULL, .source_name = "test", .shared_kernels = false};
    bool ok = cg_emit(&cg_backend_cuda, g, o ? o : &dflt, f, &d);
    fclose(f);
    if (!ok) {
        snprintf(msg, msg_size, "emit: %s", ir_diag_text(&d));
        free(src);
        src = NULL;
    }
    ir_diag_fini(&d);
    return src;
}

bool sup_cuda_nvrtc(const char *src, size_t len, char *msg, size_t msg_size)
{
    char why[700];
    if (!rt_nvrtc_available(why, sizeof why)) {
        snprintf(msg, msg_size, "NVRTC not found (%s)", why);
        return false;
    }
    static const int archs[] = {75, 80};
    RtOptions ro;
    rt_options_default(&ro);
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof archs / sizeof archs[0]; i++) {
        Diag d;
        ir_diag_init(&d);
        RtCuImage img;
        if (!rt_nvrtc_compile(src, len, archs[i], RT_CU_PTX, 0, &ro, &img, &d)) {
            snprintf(msg, msg_size, "NVRTC, compute_%d: %s", archs[i], ir_diag_text(&d));
            ok = false;
        } else {
            if (rt_ptxas_check(&img, archs[i], &d) == 0) {
                snprintf(msg, msg_size, "ptxas, sm_%d: %s", archs[i], ir_diag_text(&d));
                ok = false;
            }
            rt_cu_image_free(&img);
        }
        ir_diag_fini(&d);
    }
    return ok;
}

/* SLIMC_TEST_GPU=1 (scripts/gpu_check.sh): the tests run on the real GPU instead of
 * the emulation; no usable GPU is then a failure, not a fallback. */
static bool use_gpu(void)
{
    const char *e = getenv("SLIMC_TEST_GPU");
    return e && strcmp(e, "1") == 0;
}

/* Runs src under the emulation (or on the GPU, see use_gpu): outs[j] allocated by the run
 * (the caller frees .data). */
static bool run_emulated(const Graph *g, const char *src, size_t len, const RtTensor *inputs,
                         RtTensor *outs, char *msg, size_t msg_size)
{
    RtModelDesc *desc = cg_model_desc(g, NULL);
    const void **data = calloc((size_t)g->n_values + 1, sizeof *data);
    size_t *bytes = calloc((size_t)g->n_values + 1, sizeof *bytes);
    static const uint64_t empty[8];
    for (int v = 0; v < g->n_values; v++) {
        const Value *val = &g->values[v];
        Dim ne;
        if (val->kind != IR_VALUE_CONST)
            continue;
        data[v] = val->data ? val->data : (const void *)empty;
        if (val->data && ir_shape_numel(&val->type.shape, &ne) && !ne.syms)
            bytes[v] = ir_dtype_bytes(val->type.dtype, ne.c);
    }
    Diag d;
    ir_diag_init(&d);
    RtOptions ro;
    rt_options_default(&ro);
    RtCudaConsts consts = {g->n_values, data, bytes};
    RtCudaExec *e = rt_cuda_exec_new(src, len, NULL, desc, consts, NULL, !use_gpu(), &ro, &d);
    bool ok = e != NULL;
    if (!ok)
        snprintf(msg, msg_size, "%s compile: %s", use_gpu() ? "GPU" : "emulated", ir_diag_text(&d));
    if (ok && !rt_cuda_exec_run(e, inputs, g->n_inputs, outs, g->n_outputs, &d)) {
        snprintf(msg, msg_size, "%s run: %s", use_gpu() ? "GPU" : "emulated", ir_diag_text(&d));
        ok = false;
    }
    rt_cuda_exec_free(e);
    ir_diag_fini(&d);
    free(desc);
    free(data);
    free(bytes);
    return ok;
}

bool sup_cuda_check(Graph *g, const RtTensor *inputs, const CgOptions *o, double tol, char *msg,
                    size_t msg_size)
{
    size_t len;
    char *src = sup_cuda_emit(g, o, &len, msg, msg_size);
    if (!src)
        return false;
    bool ok = sup_cuda_nvrtc(src, len, msg, msg_size);
    RtTensor outs[16];
    memset(outs, 0, sizeof outs);
    ok = ok && run_emulated(g, src, len, inputs, outs, msg, msg_size);
    /* the reference */
    int64_t syms[IR_MAX_SYMS];
    sup_bind_syms(g, inputs, syms);
    const void *ins[16];
    void *ref[16] = {0};
    for (int i = 0; i < g->n_inputs && i < 16; i++)
        ins[i] = inputs[i].data;
    Diag d;
    ir_diag_init(&d);
    if (ok && !ir_eval_graph(g, ins, ref, syms, &d)) {
        snprintf(msg, msg_size, "reference: %s", ir_diag_text(&d));
        ok = false;
    }
    ir_diag_fini(&d);
    for (int j = 0; ok && j < g->n_outputs; j++) {
        double err, scale;
        if (outs[j].dtype == IR_F32) {
            if (!sup_compare(outs[j].data, ref[j], outs[j].nbytes / sizeof(float), tol, &err,
                             &scale)) {
                snprintf(msg, msg_size, "CUDA output %d: max error %g, max |ref| %g, tol %g", j,
                         err, scale, tol);
                ok = false;
            }
        } else if (memcmp(outs[j].data, ref[j], outs[j].nbytes) != 0) {
            snprintf(msg, msg_size, "CUDA output %d (%s) differs from the reference", j,
                     ir_dtype_name((DType)outs[j].dtype));
            ok = false;
        }
    }
    for (int j = 0; j < g->n_outputs && j < 16; j++) {
        free(outs[j].data);
        free(ref[j]);
    }
    if (ok)
        msg[0] = 0;
    else {
        FILE *f = fopen("failed_model.cu", "w");
        if (f) {
            fwrite(src, 1, len, f);
            fclose(f);
        }
    }
    free(src);
    return ok;
}
