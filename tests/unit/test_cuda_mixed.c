/* Mixed-device models end to end, without a GPU: every sample with its nodes split between
 * the CPU and the (emulated) GPU in several patterns, transfers inserted by
 * place_insert_transfers, run by the CUDA backend's file (kernels under the CPU emulation,
 * the CPU's nodes as the C backend's code in its host half) and compared with PyTorch's
 * expected.npy. The place pass itself (what it decides) is tested in test_place.c; here the
 * devices are set by hand so that every edge kind is crossed: input to GPU, GPU to CPU and
 * back, GPU-made outputs, constants read on both devices. With SLIMC_TEST_GPU=1
 * (scripts/gpu_check.sh) the kernels run on the GPU instead of the emulation. */
#include "api/api_internal.h"
#include "passes/place.h"
#include "runtime/cuda.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char path_buf[3][1024];

static const char *sample(int slot, const char *name, const char *file)
{
    const char *root = getenv("SLIMC_SOURCE_DIR");
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/samples/%s/%s", root ? root : ".", name,
             file);
    return path_buf[slot];
}

/* The patterns: which of the live nodes (by their ordinal k among the live nodes, n of
 * them) go to the GPU. */
typedef enum Pattern { ALTERNATE, FIRST_HALF, SECOND_HALF, THIRDS, N_PATTERNS } Pattern;

static bool on_gpu(Pattern p, int k, int n)
{
    switch (p) {
    case ALTERNATE: return k % 2 == 1;
    case FIRST_HALF: return k < n / 2;
    case SECOND_HALF: return k >= n / 2;
    case THIRDS: return k >= n / 3 && k < 2 * n / 3;
    case N_PATTERNS: break;
    }
    return false;
}

/* The default pipeline with the devices set by pattern p where the place step would run. */
static void optimize_mixed(SlimcModel *m, Pattern p)
{
    Graph *g = m->g;
    Diag d;
    ir_diag_init(&d);
    ir_graph_place_all(g, IR_DEVICE_CPU);
    ck_assert_msg(pass_pipeline_run(g, "qdq,fold,bn_fold,fold,dce,cse", (SrcLoc){0}, NULL, &d),
                  "%s", ir_diag_text(&d));
    int n = 0, k = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += !g->nodes[i].dead;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            g->nodes[i].device = on_gpu(p, k++, n) ? IR_DEVICE_CUDA : IR_DEVICE_CPU;
    ck_assert(ir_graph_mixed(g));
    ck_assert_msg(place_insert_transfers(g, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(pass_pipeline_run(g, "qchain,layout,fuse,dce,memplan", (SrcLoc){0}, NULL, &d),
                  "%s", ir_diag_text(&d));
    ck_assert(ir_graph_mixed(g));
    ck_assert_msg(ir_verify(g, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    int transfers = 0;
    for (int i = 0; i < g->n_nodes; i++)
        transfers += !g->nodes[i].dead && g->nodes[i].op == IR_OP_TRANSFER;
    ck_assert_int_gt(transfers, 0);
    m->device = IR_DEVICE_CUDA;
    m->optimized = true;
}

static double rel_err(const SlimcTensor *a, const SlimcTensor *b)
{
    ck_assert_int_eq(a->dtype, SLIMC_F32);
    ck_assert_uint_eq(a->nbytes, b->nbytes);
    double max_b = 0, diff = 0;
    for (size_t i = 0; i < a->nbytes / 4; i++) {
        double x = ((const float *)a->data)[i], y = ((const float *)b->data)[i];
        ck_assert(!isnan(x));
        max_b = fmax(max_b, fabs(y));
        diff = fmax(diff, fabs(x - y));
    }
    return diff / max_b;
}

static void check_mixed(const char *name, const char *model, Pattern p)
{
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    SlimcExec *e;
    SlimcOptions o;
    slimc_options_default(&o);
    o.device = SLIMC_DEVICE_CUDA;
    const char *gpu = getenv("SLIMC_TEST_GPU");
    o.cuda_emulate = !(gpu && strcmp(gpu, "1") == 0);
    o.threads = 2;
    ck_assert_msg(slimc_model_load(ctx, sample(0, name, model), &m) == SLIMC_OK, "%s",
                  slimc_error(ctx));
    optimize_mixed(m, p);
    ck_assert_msg(slimc_compile(ctx, m, &o, &e) == SLIMC_OK, "%s pattern %d: %s", name, (int)p,
                  slimc_error(ctx));
    SlimcTensor in, want, got;
    ck_assert(slimc_npy_load(ctx, sample(1, name, "input.npy"), &in) == SLIMC_OK);
    ck_assert(slimc_npy_load(ctx, sample(2, name, "expected.npy"), &want) == SLIMC_OK);
    ck_assert_msg(slimc_exec_run(ctx, e, &in, 1, &got, 1) == SLIMC_OK, "%s pattern %d: %s", name,
                  (int)p, slimc_error(ctx));
    double err = rel_err(&got, &want);
    ck_assert_msg(err <= 1e-4, "%s pattern %d: relative error %g", name, (int)p, err);
    slimc_tensor_free(&got);
    slimc_tensor_free(&in);
    slimc_tensor_free(&want);
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
}

START_TEST(mixed_mlp)
{
    check_mixed("mlp", "mlp.slim", (Pattern)_i);
}
END_TEST

START_TEST(mixed_lenet)
{
    check_mixed("lenet", "lenet.slim", (Pattern)_i);
}
END_TEST

START_TEST(mixed_resnet_tiny)
{
    check_mixed("resnet_tiny", "resnet_tiny.slim", (Pattern)_i);
}
END_TEST

START_TEST(mixed_textcls)
{
    check_mixed("textcls", "textcls.slim", (Pattern)_i);
}
END_TEST

START_TEST(mixed_transformer)
{
    check_mixed("transformer", "transformer_narrow.slim", (Pattern)_i);
}
END_TEST

START_TEST(mixed_mobilenet)
{
    check_mixed("mobilenet_v2", "mobilenet_v2_narrow.slim", (Pattern)_i);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mixed");
    TCase *tc = tcase_create("samples");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, mixed_mlp, 0, N_PATTERNS);
    tcase_add_loop_test(tc, mixed_lenet, 0, N_PATTERNS);
    tcase_add_loop_test(tc, mixed_resnet_tiny, 0, N_PATTERNS);
    tcase_add_loop_test(tc, mixed_textcls, 0, N_PATTERNS);
    tcase_add_loop_test(tc, mixed_transformer, 0, N_PATTERNS);
    tcase_add_loop_test(tc, mixed_mobilenet, 0, N_PATTERNS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
