/* The N:M sparse linear kernel (runtime/kernels/sparse_nm.c) and its choice by cost
 * (passes/sparse.c; issue 17): a linear on random N:M weights (n nonzeros at random positions
 * in each group of m along K; some groups with fewer, some all zero, so the blob's padding
 * runs), given the N:M kernel by sparse(mode=nm), through the C backend against the reference
 * evaluator's plain loop over the dense masked weight (tolerance 1e-5 of max|ref|: the sums
 * skip the zeros and run in another order), at 1 and 3 threads: 2:4, 1:4 and 4:8; K from 4
 * to past two panels (1028) and N off every block (1, 7, 65, 129, 1000: odd columns, partial
 * items); batch 1 (the gathered dot products, their 8- and scalar tails), 2, 3, 33, 64 and
 * 70 (partial row blocks); with and without bias, with a relu or an add epilogue. The pass
 * must have given the node its N:M input, so a check cannot pass on the dense kernel. Under
 * SLIMC_MAX_ISA=generic (unit_sparse_nm_generic) the same runs the portable loops. Then the
 * plan (the pattern found, the N:M kernel preferred to CSR at 50% density, a slow N:M rate
 * keeping it dense), the blob's layout, and the profile's optional N:M rates. */
#include "support_cg.h"

#include "passes/cost_model.h"
#include "passes/pass.h"
#include "passes/sparse.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 1717;

#define D(...) ((const int64_t[]){__VA_ARGS__})

/* A constant [N, K] at n:m: in each group of m along K, n distinct random positions hold
 * values in [-1, 1) (never 0), except that each is zero with probability holes. */
static ValueId nm_weight(Graph *g, int64_t N, int64_t K, int n, int m, double holes)
{
    float *w = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(N * K));
    memset(w, 0, sizeof(float) * (size_t)(N * K));
    for (int64_t r = 0; r < N; r++)
        for (int64_t g0 = 0; g0 < K; g0 += m) {
            int pos[256];
            for (int j = 0; j < m; j++)
                pos[j] = j;
            for (int j = 0; j < n; j++) { /* a partial Fisher-Yates shuffle */
                int pick = j + (int)(((sup_rand(&seed) + 1.0f) / 2.0f) * (float)(m - j));
                if (pick >= m)
                    pick = m - 1;
                int t = pos[j];
                pos[j] = pos[pick];
                pos[pick] = t;
                float v = sup_rand(&seed);
                if ((sup_rand(&seed) + 1.0f) / 2.0f >= holes)
                    w[r * K + g0 + pos[j]] = v == 0 ? 0.5f : v;
            }
        }
    return ir_const_new(g, "fc.weight", sup_f32(2, D(N, K)), w, sizeof(float) * (size_t)(N * K),
                        (SrcLoc){0});
}

typedef struct Case {
    int64_t M, K, N;
    int n, m;
    double holes; /* the chance a kept position is zero anyway */
    bool bias;
    int epilogue; /* 0 none, 1 relu, 2 add of a [N] operand */
} Case;

static const Case cases[] = {
    {1, 784, 512, 2, 4, 0.0, true, 1},   {64, 784, 512, 2, 4, 0.0, true, 1},
    {64, 512, 10, 2, 4, 0.1, true, 0},   {1, 4, 1, 2, 4, 0.0, false, 0},
    {3, 36, 65, 2, 4, 0.2, true, 2},     {33, 300, 129, 2, 4, 0.0, false, 1},
    {70, 1028, 7, 2, 4, 0.0, true, 0},   {2, 8, 3, 4, 8, 0.0, true, 0},
    {64, 136, 100, 1, 4, 0.0, true, 0},  {1, 1500, 300, 1, 4, 0.3, false, 0},
    {65, 264, 64, 4, 8, 0.05, true, 2},  {1, 1032, 1000, 4, 8, 0.0, true, 1},
    {64, 1024, 256, 2, 4, 0.0, true, 0}, {5, 12, 9, 2, 4, 0.7, true, 0},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

START_TEST(test_nm_kernel)
{
    const Case *c = &cases[_i];
    Graph *g = ir_graph_new("sparse_nm");
    RtTensor in[1];
    ValueId x = sup_input(g, "x", 2, D(c->M, c->K), &in[0], &seed);
    ValueId ins[3] = {x, nm_weight(g, c->N, c->K, c->n, c->m, c->holes), IR_NONE};
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
    ck_assert_msg(pass_pipeline_run(g, "layout,sparse(mode=nm)", (SrcLoc){0}, NULL, &d), "%s",
                  ir_diag_text(&d));
    ir_diag_fini(&d);
    const Node *nd = &g->nodes[n];
    ck_assert_msg(nd->n_inputs == 4 && nd->inputs[3] != IR_NONE && ir_attr_w_sparse(nd) == 2,
                  "case %d: the sparse pass gave no N:M weight", _i);
    /* the header names the sparsest pattern that holds (a weight with holes may be sparser
     * than the n:m it was made at, never denser) */
    const int64_t *h = g->values[nd->inputs[3]].data;
    ck_assert(h[0] == SLIMC_RT_NM_MAGIC && h[1] == c->N && h[2] == c->K);
    ck_assert_msg(h[3] * c->m <= c->n * h[4], "case %d: %lld:%lld", _i, (long long)h[3],
                  (long long)h[4]);
    char what[128];
    snprintf(what, sizeof what, "n:m case %d: M %lld K %lld N %lld %d:%d", _i, (long long)c->M,
             (long long)c->K, (long long)c->N, c->n, c->m);
    sup_run_check(g, in, 1, 1e-5, what);
}
END_TEST

/* The plan of a K -> 512 linear on weight kind (0: 2:4, 1: unstructured at 50% density). */
static SparsePlan plan_of(int kind, int64_t K, const CostProfile *p)
{
    Graph *g = ir_graph_new("plan");
    Type xt = sup_f32(2, D(1, K));
    xt.shape.d[0] = (Dim){1, 1u << ir_graph_symbol(g, "N")};
    ValueId x = ir_input_new(g, "x", xt, (SrcLoc){0});
    ValueId w;
    if (kind == 0) {
        w = nm_weight(g, 512, K, 2, 4, 0.0);
    } else { /* about half the weights zero, scattered (a hash of the index) */
        float *d = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(512 * K));
        for (int64_t i = 0; i < 512 * K; i++)
            d[i] = (((uint64_t)i * 2654435761u) >> 7) % 2 ? 0.5f : 0.0f;
        w = ir_const_new(g, "fc.weight", sup_f32(2, D(512, K)), d,
                         sizeof(float) * (size_t)(512 * K), (SrcLoc){0});
    }
    ValueId ins[2] = {x, w};
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

START_TEST(test_nm_choice_by_cost)
{
    CostProfile p;
    cost_profile_default(&p);
    /* 2:4 found; the blob is 4.5 bytes per kept weight (plus the header, rounded); at 50%
     * density CSR is predicted slower than dense, the N:M kernel is preferred to it */
    SparsePlan a = plan_of(0, 784, &p);
    ck_assert_str_eq(a.pattern, "n:m 2:4");
    ck_assert(a.candidate && a.nm_n == 2 && a.nm_m == 4);
    const double kept = 512.0 * 784 / 2;
    ck_assert_msg(a.nm_bytes >= 5 * kept && a.nm_bytes <= 5 * kept + 256, "%g", a.nm_bytes);
    ck_assert(a.csr_gain < 1 && a.nm_gain > a.csr_gain);
    ck_assert(a.kernel == SPARSE_NM && a.gain == a.nm_gain);
    ck_assert(a.choose == (a.nm_gain >= SPARSE_MIN_GAIN));
    /* a measured profile with a fast N:M kernel picks it, at both batch points */
    CostProfile f = p;
    CostDevice *c = &f.dev[IR_DEVICE_CPU];
    c->sparse_measured = true;
    for (int k = 0; k < COST_SPARSE_NUM; k++)
        c->sparse_gflops[k] = cost_sparse_rate(&p.dev[IR_DEVICE_CPU], (CostSparse)k);
    c->sparse_gflops[COST_SPARSE_NM] = 10 * c->gflops[COST_GEMM_F32];
    c->sparse_gflops[COST_SPARSE_NM_GEMV] = 10 * c->gflops[COST_GEMM_F32];
    SparsePlan b = plan_of(0, 784, &f);
    ck_assert(b.kernel == SPARSE_NM && b.choose && b.gain >= SPARSE_MIN_GAIN);
    /* and with a slow one keeps it dense (CSR at 50% is slower still) */
    c->sparse_gflops[COST_SPARSE_NM] = 0.05 * c->gflops[COST_GEMM_F32];
    c->sparse_gflops[COST_SPARSE_NM_GEMV] = 0.01 * c->gflops[COST_GEMM_F32];
    SparsePlan s = plan_of(0, 784, &f);
    ck_assert_msg(!s.choose && s.gain < 1, "gain %g", s.gain);
    /* an unstructured weight has no N:M plan; K not a multiple of 4 neither */
    SparsePlan u = plan_of(1, 784, &p);
    ck_assert_msg(u.nm_n == 0 && u.kernel == SPARSE_CSR, "%s", u.pattern);
}
END_TEST

/* sparse(mode=nm) leaves a linear without an N:M pattern dense; mode=auto gives a 2:4 layer
 * the N:M kernel where the profile says it is fast. */
START_TEST(test_nm_modes)
{
    Graph *g = ir_graph_new("modes");
    ValueId x = ir_input_new(g, "x", sup_f32(2, D(64, 64)), (SrcLoc){0});
    float *w = ir_arena_alloc(g->arena, sizeof(float) * 64 * 64);
    for (int i = 0; i < 64 * 64; i++)
        w[i] = i % 4 == 0 ? 0.0f : 1.0f; /* 3 of every 4: not 2:4 */
    ValueId ins[2] = {
        x, ir_const_new(g, "w", sup_f32(2, D(64, 64)), w, sizeof(float) * 64 * 64, (SrcLoc){0})};
    NodeId n = ir_node_new(g, IR_OP_LINEAR, "fc", (SrcLoc){0}, ins, 2, 1);
    ir_output_add(g, g->nodes[n].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    ck_assert_msg(pass_pipeline_run(g, "sparse(mode=nm)", (SrcLoc){0}, NULL, &d), "%s",
                  ir_diag_text(&d));
    ck_assert(ir_attr_w_sparse(&g->nodes[n]) == 0 && g->nodes[n].n_inputs == 2);
    ck_assert(!pass_pipeline_run(g, "sparse(mode=bsr)", (SrcLoc){0}, NULL, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "mode must be auto, csr, nm, q8 or dense"), "%s",
                  ir_diag_text(&d));
    ir_diag_fini(&d);
    ir_graph_free(g);

    g = ir_graph_new("auto");
    x = ir_input_new(g, "x", sup_f32(2, D(64, 256)), (SrcLoc){0});
    ValueId ins2[2] = {x, nm_weight(g, 256, 256, 2, 4, 0.0)};
    n = ir_node_new(g, IR_OP_LINEAR, "fc", (SrcLoc){0}, ins2, 2, 1);
    ir_output_add(g, g->nodes[n].outputs[0]);
    CostProfile p;
    cost_profile_default(&p);
    CostDevice *c = &p.dev[IR_DEVICE_CPU];
    c->sparse_measured = true;
    for (int k = 0; k < COST_SPARSE_NUM; k++)
        c->sparse_gflops[k] = 0.1 * c->gflops[COST_GEMM_F32];
    c->sparse_gflops[COST_SPARSE_DENSE_GEMV] = c->gflops[COST_GEMM_F32];
    c->sparse_gflops[COST_SPARSE_NM] = 5 * c->gflops[COST_GEMM_F32];
    g->place.profile = &p;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    ck_assert_msg(pass_pipeline_run(g, "layout,sparse", (SrcLoc){0}, NULL, &d), "%s",
                  ir_diag_text(&d));
    ir_diag_fini(&d);
    ck_assert(ir_attr_w_sparse(&g->nodes[n]) == 2 && g->nodes[n].n_inputs == 4);
    ck_assert(ir_attr_sparse_gain(&g->nodes[n]) >= SPARSE_MIN_GAIN);
    g->place.profile = NULL;
    ir_graph_free(g);
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
#define CSR_RATES "\"csr_gflops\": 30, \"csr_gemv_gflops\": 4, \"dense_gemv_gflops\": 12"

/* The N:M rates are optional inside "sparse" (a profile written before them reads, with the
 * same hash, and derives them); given, they are read, written and read back. */
START_TEST(test_profile_nm_keys)
{
    CostProfile old, with, back;
    char msg[512];
    ck_assert_msg(parse(CPU_HEAD ", \"sparse\": {" CSR_RATES "}}}}", &old, msg, sizeof msg), "%s",
                  msg);
    ck_assert(old.dev[IR_DEVICE_CPU].sparse_measured);
    ck_assert(cost_sparse_rate(&old.dev[IR_DEVICE_CPU], COST_SPARSE_CSR) == 30);
    ck_assert(fabs(cost_sparse_rate(&old.dev[IR_DEVICE_CPU], COST_SPARSE_NM) -
                   50 * COST_SPARSE_DEFAULT_NM) < 1e-9);
    ck_assert_msg(parse(CPU_HEAD ", \"sparse\": {" CSR_RATES
                                 ", \"nm_gflops\": 44, \"nm_gemv_gflops\": 9}}}}",
                        &with, msg, sizeof msg),
                  "%s", msg);
    ck_assert(cost_sparse_rate(&with.dev[IR_DEVICE_CPU], COST_SPARSE_NM) == 44);
    ck_assert(cost_sparse_rate(&with.dev[IR_DEVICE_CPU], COST_SPARSE_NM_GEMV) == 9);
    ck_assert(with.hash != old.hash);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cost_profile_write(&with, f);
    fclose(f);
    ck_assert_msg(parse(buf, &back, msg, sizeof msg), "%s", msg);
    ck_assert(back.hash == with.hash);
    ck_assert(back.dev[IR_DEVICE_CPU].sparse_gflops[COST_SPARSE_NM_GEMV] == 9);
    free(buf);
    /* the old one written back has no nm keys, and the same hash */
    buf = NULL;
    f = open_memstream(&buf, &len);
    cost_profile_write(&old, f);
    fclose(f);
    ck_assert_msg(!strstr(buf, "nm_gflops"), "%s", buf);
    ck_assert(parse(buf, &back, msg, sizeof msg) && back.hash == old.hash);
    free(buf);
    ck_assert(!parse(CPU_HEAD ", \"sparse\": {" CSR_RATES ", \"nm_gflops\": 0}}}}", &back, msg,
                     sizeof msg));
    ck_assert_msg(strstr(msg, "nm_gflops"), "%s", msg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sparse_nm");
    TCase *tc = tcase_create("sparse_nm");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_nm_kernel, 0, N_CASES);
    tcase_add_test(tc, test_nm_choice_by_cost);
    tcase_add_test(tc, test_nm_modes);
    tcase_add_test(tc, test_profile_nm_keys);
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
