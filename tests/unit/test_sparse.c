/* The sparse pass and the CSR linear kernel (passes/sparse.c, runtime/kernels/sparse.c;
 * issue 17): a linear on random weights with a given density, given the CSR kernel by
 * sparse(mode=csr), through the C backend against the reference evaluator's plain loop over
 * the dense weight (tolerance 1e-5 of max|ref|: the sums skip the zeros and run in another
 * order), at 1 and 3 threads, for densities 0 to 97%, K and N off every block size (1, 7, 33,
 * 300, and a K over 1024 that takes the heap panel), batch 1, 3, 33, 64 and 70 (batch 1 on
 * AVX-512 reads the blob's one-row part: groups of 16 outputs, chunks of 32 columns, each
 * cut short, rows with no nonzero, densities 0, 1, 50 and 97%), with and
 * without bias, with a relu or an add epilogue; the pass must have given the node its CSR
 * input, so a check cannot pass on the dense kernel. Under SLIMC_MAX_ISA=generic
 * (unit_sparse_generic) the same runs the portable loops. Then the choice by cost, and the
 * device profile's optional "sparse" rates. */
#include "support_cg.h"

#include "passes/cost_model.h"
#include "passes/pass.h"
#include "passes/sparse.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 4242;

#define D(...) ((const int64_t[]){__VA_ARGS__})

/* A constant [N, K] with about density of its elements nonzero (values in [-1, 1)). */
static ValueId sparse_weight(Graph *g, int64_t N, int64_t K, double density)
{
    float *w = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(N * K));
    for (int64_t i = 0; i < N * K; i++) {
        float keep = (sup_rand(&seed) + 1.0f) / 2.0f; /* [0, 1) */
        float v = sup_rand(&seed);
        w[i] = keep < density ? (v == 0 ? 0.5f : v) : 0.0f;
    }
    return ir_const_new(g, "fc.weight", sup_f32(2, D(N, K)), w, sizeof(float) * (size_t)(N * K),
                        (SrcLoc){0});
}

typedef struct Case {
    int64_t M, K, N;
    double density;
    bool bias;
    int epilogue; /* 0 none, 1 relu, 2 add of a [N] operand */
} Case;

static const Case cases[] = {
    {1, 784, 512, 0.10, true, 1},
    {64, 784, 512, 0.10, true, 1},
    {64, 512, 10, 0.10, true, 0},
    {1, 7, 1, 0.5, false, 0},
    {3, 33, 65, 0.05, true, 2},
    {33, 300, 300, 0.2, false, 1},
    {70, 33, 7, 0.97, true, 0},
    {64, 1500, 20, 0.1, true, 1},
    {1, 1500, 300, 0.1, false, 0},
    {5, 64, 9, 0.0, true, 0},
    {2, 1, 33, 0.6, true, 0},
    {64, 100, 600, 0.3, true, 2},
    /* batch 1 on the one-row part: rows with no nonzero (1%), groups of 16 rows and chunks
     * of 32 columns cut short, all zeros, nearly dense */
    {1, 1000, 37, 0.01, true, 1},
    {1, 33, 17, 0.5, true, 2},
    {1, 31, 16, 0.5, false, 0},
    {1, 64, 48, 0.01, false, 1},
    {1, 300, 70, 0.97, true, 0},
    {1, 129, 200, 0.0, true, 0},
    {1, 32, 1, 0.5, true, 1},
    {1, 2049, 130, 0.1, true, 2},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

START_TEST(test_csr_kernel)
{
    const Case *c = &cases[_i];
    Graph *g = ir_graph_new("sparse");
    RtTensor in[1];
    ValueId x = sup_input(g, "x", 2, D(c->M, c->K), &in[0], &seed);
    ValueId ins[3] = {x, sparse_weight(g, c->N, c->K, c->density), IR_NONE};
    if (c->bias)
        ins[2] = sup_const_rand(g, "fc.bias", 1, D(c->N), &seed);
    NodeId n = ir_node_new(g, IR_OP_LINEAR, "fc", (SrcLoc){0}, ins, c->bias ? 3 : 2, 1);
    if (c->epilogue) {
        Node *nd = &g->nodes[n];
        nd->epilogue[0].op = c->epilogue == 1 ? IR_OP_RELU : IR_OP_ADD;
        nd->epilogue[0].operand =
            c->epilogue == 1 ? IR_NONE : sup_const_rand(g, "shift", 1, D(c->N), &seed);
        nd->n_epilogue = 1;
    }
    ir_output_add(g, g->nodes[n].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(pass_pipeline_run(g, "layout,sparse(mode=csr)", (SrcLoc){0}, NULL, &d), "%s",
                  ir_diag_text(&d));
    ir_diag_fini(&d);
    const Node *nd = &g->nodes[n];
    ck_assert_msg(nd->n_inputs == 4 && nd->inputs[3] != IR_NONE && ir_attr_w_sparse(nd) == 1,
                  "case %d: the sparse pass gave no CSR weight", _i);
    /* a linear whose x has one row gets the one-row part (header[6], slimc_abi.h) */
    const int64_t *h = g->values[nd->inputs[3]].data;
    ck_assert_msg((h[6] != 0) == (c->M == 1), "case %d: one-row part at %lld", _i, (long long)h[6]);
    char what[128];
    snprintf(what, sizeof what, "csr case %d: M %lld K %lld N %lld density %.2f", _i,
             (long long)c->M, (long long)c->K, (long long)c->N, c->density);
    sup_run_check(g, in, 1, 1e-5, what);
}
END_TEST

/* The plan of a 784 -> 512 linear at the given density, with profile p. */
static SparsePlan plan_of(double density, const CostProfile *p, bool symbolic)
{
    Graph *g = ir_graph_new("plan");
    Type xt = sup_f32(2, D(1, 784));
    if (symbolic)
        xt.shape.d[0] = (Dim){1, 1u << ir_graph_symbol(g, "N")};
    ValueId x = ir_input_new(g, "x", xt, (SrcLoc){0});
    ValueId ins[2] = {x, sparse_weight(g, 512, 784, density)};
    NodeId n = ir_node_new(g, IR_OP_LINEAR, "fc", (SrcLoc){0}, ins, 2, 1);
    ir_output_add(g, g->nodes[n].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    ir_diag_fini(&d);
    SparsePlan pl;
    ck_assert(pass_sparse_plan(g, n, p, &pl));
    ir_graph_free(g);
    return pl;
}

START_TEST(test_choice_by_cost)
{
    CostProfile p;
    cost_profile_default(&p);
    /* the built-in rates: 10% density wins at batch 1 and 64, 90% loses */
    SparsePlan a = plan_of(0.10, &p, true), b = plan_of(0.90, &p, true);
    ck_assert(a.candidate && a.choose && a.gain > 1.5);
    ck_assert_msg(fabs(a.density - 0.10) < 0.01, "density %g", a.density);
    ck_assert(b.candidate && !b.choose && b.gain < 1);
    ck_assert_str_eq(a.pattern, "unstructured");
    /* a profile whose sparse kernels are slow keeps even 10% dense */
    p.dev[IR_DEVICE_CPU].sparse_measured = true;
    for (int k = 0; k < COST_SPARSE_NUM; k++)
        p.dev[IR_DEVICE_CPU].sparse_gflops[k] = 0.01;
    p.dev[IR_DEVICE_CPU].sparse_gflops[COST_SPARSE_DENSE_GEMV] = 100;
    SparsePlan s = plan_of(0.10, &p, true);
    ck_assert_msg(s.candidate && !s.choose, "gain %g dense %g sparse %g", s.gain, s.dense_ms,
                  s.sparse_ms);
    /* and one whose sparse kernels are fast picks it at 60% */
    for (int k = 0; k < COST_SPARSE_NUM; k++)
        p.dev[IR_DEVICE_CPU].sparse_gflops[k] = 1e5;
    p.dev[IR_DEVICE_CPU].sparse_gflops[COST_SPARSE_DENSE_GEMV] = 1;
    SparsePlan f = plan_of(0.60, &p, false);
    ck_assert(f.candidate && f.choose && f.at_batch == 1);
}
END_TEST

static bool parse(const char *json, CostProfile *p, char *msg, size_t size)
{
    Diag d;
    ir_diag_init(&d);
    bool ok = cost_profile_parse(json, strlen(json), "p.json", p, &d);
    snprintf(msg, size, "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    return ok;
}

#define CPU_HEAD                                                                                   \
    "{\"slimc_device_profile\": 1, \"devices\": {\"cpu\": {\"name\": \"c\", \"gflops\": "          \
    "{\"gemm_f32\": 50, \"conv_f32\": 40, \"gemm_int8\": 90, \"gemm_f16\": 50, "                   \
    "\"elementwise\": 5, \"reduce\": 5, \"data\": 5}, \"bandwidth_gbs\": 20, \"launch_us\": 3"

START_TEST(test_profile_sparse_keys)
{
    CostProfile old, with, back;
    char msg[512];
    /* a profile written before the sparse rates still reads, and derives them */
    ck_assert_msg(parse(CPU_HEAD "}}}", &old, msg, sizeof msg), "%s", msg);
    ck_assert(!old.dev[IR_DEVICE_CPU].sparse_measured);
    ck_assert(fabs(cost_sparse_rate(&old.dev[IR_DEVICE_CPU], COST_SPARSE_CSR) -
                   50 * COST_SPARSE_DEFAULT_CSR) < 1e-9);
    ck_assert_msg(parse(CPU_HEAD ", \"sparse\": {\"csr_gflops\": 30, \"csr_gemv_gflops\": 4, "
                                 "\"dense_gemv_gflops\": 12}}}}",
                        &with, msg, sizeof msg),
                  "%s", msg);
    ck_assert(with.dev[IR_DEVICE_CPU].sparse_measured);
    ck_assert(cost_sparse_rate(&with.dev[IR_DEVICE_CPU], COST_SPARSE_CSR_GEMV) == 4);
    ck_assert(with.hash != old.hash);
    /* written and read back: the same numbers */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cost_profile_write(&with, f);
    fclose(f);
    ck_assert_msg(parse(buf, &back, msg, sizeof msg), "%s", msg);
    free(buf);
    ck_assert(back.hash == with.hash && back.dev[IR_DEVICE_CPU].sparse_gflops[2] == 12);
    /* an incomplete or unknown sparse key is an error with its place */
    ck_assert(!parse(CPU_HEAD ", \"sparse\": {\"csr_gflops\": 30}}}}", &back, msg, sizeof msg));
    ck_assert_msg(strstr(msg, "devices.cpu.sparse: missing 'csr_gemv_gflops'"), "%s", msg);
    ck_assert(!parse(CPU_HEAD ", \"sparse\": {\"bsr\": 1}}}}", &back, msg, sizeof msg));
    ck_assert_msg(strstr(msg, "unknown key 'bsr'"), "%s", msg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sparse");
    TCase *tc = tcase_create("sparse");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_csr_kernel, 0, N_CASES);
    tcase_add_test(tc, test_choice_by_cost);
    tcase_add_test(tc, test_profile_sparse_keys);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
