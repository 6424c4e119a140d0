/* Residual adds on int8 codes (qadd; passes/qchain.c, runtime/kernels/quant.c): the kernel
 * against a plain loop of ONNX's QDQ arithmetic (dequantize both, add in f32, relu, divide
 * by the output scale, round half to even, add the zero point, saturate), odd lengths; and
 * ORT-style QDQ graphs through qchain, the emitter and the JIT at 1 and 3 threads against
 * the reference evaluator of the unrewritten graph, bit for bit, with the adds qchain must
 * leave alone. */
#include "runtime/slimc_rt.h"

#include "ir/eval.h"
#include "passes/pass.h"
#include "support_cg.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 2021;

static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

#define D(...) ((const int64_t[]){__VA_ARGS__})

/* ONNX QuantizeLinear of one value (after an optional relu / relu6): round half to even of
 * y / s (divide) or y * (1 / s), + zp, saturated to [0, 255]; NaN gives 0. */
static uint8_t ref_code(float y, float s, int32_t zp, bool divide, int act)
{
    if (act)
        y = y <= 0.0f ? 0.0f : (act == 2 && y >= 6.0f) ? 6.0f : y;
    const float r = nearbyintf(divide ? y / s : y * (1.0f / s)) + (float)zp;
    return r >= 255.0f ? 255 : r > 0.0f ? (uint8_t)r : 0;
}

START_TEST(qadd_kernel_exact)
{
    static const int64_t ns[] = {1, 15, 16, 17, 100, 3136 + 5};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++)
        for (int v = 0; v < 4; v++) {
            const int64_t n = ns[t];
            const bool divide = v & 1;
            const int act = v >> 1; /* none, relu */
            uint8_t *a = malloc((size_t)n), *b = malloc((size_t)n), *y = malloc((size_t)n);
            for (int64_t i = 0; i < n; i++)
                a[i] = (uint8_t)(rnd() & 255), b[i] = (uint8_t)(rnd() & 255);
            const float sa = 0.01f + (float)(rnd() % 1000) * 1e-4f;
            const float sb = 0.01f + (float)(rnd() % 1000) * 1e-4f;
            const float ys = 0.02f + (float)(rnd() % 1000) * 1e-4f;
            const int32_t za = (int32_t)(rnd() & 255), zb = (int32_t)(rnd() & 255),
                          zy = (int32_t)(rnd() % 64);
            const slimc_rt_qreq rq = {divide ? 0.0f : 1.0f / ys, zy,
                                      act ? SLIMC_RT_ACT_RELU : SLIMC_RT_ACT_NONE,
                                      divide ? ys : 0.0f};
            slimc_rt_qadd_u8(a, b, y, n, sa, za, sb, zb, &rq);
            for (int64_t i = 0; i < n; i++) {
                const float fa = (float)(a[i] - za) * sa;
                const float fb = (float)(b[i] - zb) * sb;
                const uint8_t want = ref_code(fa + fb, ys, zy, divide, act);
                ck_assert_msg(y[i] == want, "n=%lld variant %d [%lld]: %d != %d", (long long)n, v,
                              (long long)i, y[i], want);
            }
            free(a), free(b), free(y);
        }
}
END_TEST

/* ---- graphs ---- */

static ValueId qdq(Graph *g, ValueId x, double s, int64_t zp, bool dq)
{
    NodeId q = ir_node_new(g, IR_OP_QUANTIZE, "q", (SrcLoc){0}, &x, 1, 1);
    ir_node_set_float(g, q, "scale", s);
    ir_node_set_int(g, q, "zero_point", zp);
    if (!dq)
        return g->nodes[q].outputs[0];
    ValueId v = g->nodes[q].outputs[0];
    NodeId k = ir_node_new(g, IR_OP_DEQUANTIZE, "dq", (SrcLoc){0}, &v, 1, 1);
    ir_node_set_float(g, k, "scale", s);
    ir_node_set_int(g, k, "zero_point", zp);
    return g->nodes[k].outputs[0];
}

static ValueId node2(Graph *g, OpKind op, ValueId x, ValueId y)
{
    const ValueId in[2] = {x, y};
    NodeId n = ir_node_new(g, op, "op", (SrcLoc){0}, in, y == IR_NONE ? 1 : 2, 1);
    return g->nodes[n].outputs[0];
}

/* An ONNX QuantizeLinear as the QDQ importer writes it: div(y, s) -> quantize {1, zp}. */
static ValueId onnx_q(Graph *g, ValueId y, float s, int64_t zp)
{
    float *c = ir_arena_alloc(g->arena, sizeof(float));
    *c = s;
    Type t = sup_f32(0, NULL);
    ValueId sv = ir_const_new(g, "s", t, c, sizeof(float), (SrcLoc){0});
    return qdq(g, node2(g, IR_OP_DIV, y, sv), 1.0, zp, false);
}

static int count_op(const Graph *g, OpKind op)
{
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++)
        k += !g->nodes[i].dead && g->nodes[i].op == op;
    return k;
}

/* variant 0: add -> div -> quantize {1} (ORT's QDQ); 1: add -> relu -> quantize {s}; 2: the
 * add's result also a graph output (left alone); 3: a broadcast add (left alone). Then a
 * second residual add reads the first one's codes (a chain of qadds), and the output is
 * dequantized. */
static void check_variant(int variant)
{
    const int64_t dims[4] = {2, 24, 7, 9}, bdims[4] = {2, 24, 1, 9};
    Graph *g = ir_graph_new("qadd");
    RtTensor in[3] = {sup_input_rand(4, dims, &seed), sup_input_rand(4, dims, &seed),
                      sup_input_rand(4, variant == 3 ? bdims : dims, &seed)};
    ValueId x0 = ir_input_new(g, "x0", sup_f32(4, dims), (SrcLoc){0});
    ValueId x1 = ir_input_new(g, "x1", sup_f32(4, dims), (SrcLoc){0});
    ValueId x2 = ir_input_new(g, "x2", sup_f32(4, variant == 3 ? bdims : dims), (SrcLoc){0});
    ValueId a = qdq(g, x0, 0.0081, 131, true), b = qdq(g, x1, 0.0093, 120, true);
    ValueId y = node2(g, IR_OP_ADD, a, b);
    if (variant == 2)
        ir_output_add(g, y);
    ValueId q = variant == 1 ? qdq(g, node2(g, IR_OP_RELU, y, IR_NONE), 0.0102, 0, false)
                             : onnx_q(g, y, 0.0137f, 117);
    NodeId dq = ir_node_new(g, IR_OP_DEQUANTIZE, "dq2", (SrcLoc){0}, &q, 1, 1);
    ir_node_set_float(g, dq, "scale", variant == 1 ? 0.0102 : 0.0137);
    ir_node_set_int(g, dq, "zero_point", variant == 1 ? 0 : 117);
    ValueId c = qdq(g, x2, 0.0077, 3, true);
    ValueId y2 = node2(g, IR_OP_ADD, g->nodes[dq].outputs[0], c);
    ValueId q2 = onnx_q(g, y2, 0.019f, 100);
    NodeId dq2 = ir_node_new(g, IR_OP_DEQUANTIZE, "out", (SrcLoc){0}, &q2, 1, 1);
    ir_node_set_float(g, dq2, "scale", 0.019);
    ir_node_set_int(g, dq2, "zero_point", 100);
    ir_output_add(g, g->nodes[dq2].outputs[0]);
    char what[32];
    snprintf(what, sizeof what, "variant %d", variant);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s: shapes: %s", what, ir_diag_text(&d));
    const void *ins[3] = {in[0].data, in[1].data, in[2].data};
    void *before[2] = {0}, *after[2] = {0};
    int64_t syms[IR_MAX_SYMS] = {0};
    ck_assert_msg(ir_eval_graph(g, ins, before, syms, &d), "%s: %s", what, ir_diag_text(&d));
    PassRunOptions ro = {.verify = true};
    ck_assert_msg(pass_pipeline_run(g, "qchain,dce", (SrcLoc){0}, &ro, &d), "%s: %s", what,
                  ir_diag_text(&d));
    /* the first add is rewritten unless its result is read as f32 or broadcast (3: the
     * second add broadcasts) */
    const int want = variant == 0 || variant == 1 ? 2 : 1;
    ck_assert_msg(count_op(g, IR_OP_QADD) == want, "%s: %d qadd nodes", what,
                  count_op(g, IR_OP_QADD));
    ck_assert_msg(ir_eval_graph(g, ins, after, syms, &d), "%s: %s", what, ir_diag_text(&d));
    const size_t ny = 2 * 24 * 7 * 9;
    const int out = variant == 2 ? 1 : 0; /* the dequantized output's place */
    ck_assert_msg(memcmp(before[out], after[out], sizeof(float) * ny) == 0,
                  "%s: the rewritten reference differs", what);
    for (int i = 0; i < 2; i++)
        free(before[i]), free(after[i]);
    ir_diag_fini(&d);
    char msg[512];
    const int threads[] = {1, 3};
    ck_assert_msg(sup_check(g, in, threads, 2, 0.0, msg, sizeof msg), "%s: %s", what, msg);
    for (int i = 0; i < 3; i++)
        free(in[i].data);
    ir_graph_free(g);
}

START_TEST(qadd_qchain)
{
    for (int v = 0; v < 4; v++)
        check_variant(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qadd");
    TCase *k = tcase_create("qadd");
    tcase_set_timeout(k, 120);
    tcase_add_test(k, qadd_kernel_exact);
    tcase_add_test(k, qadd_qchain);
    suite_add_tcase(s, k);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    const int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
