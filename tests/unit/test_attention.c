/* The attention op (ir/attention.c, runtime/kernels/attention.c, passes/attention.c):
 *   kernel     odd sizes (1, 7, 33, 65 for Sq, Sk, D, Dv), masks broadcast three ways with
 *              -inf entries, a fully masked row (NaN, as the softmax it replaces), causal,
 *              one to four leading dims, through the emitter, the JIT and rt_exec at 1, 2
 *              and 3 threads, against a plain C loop in double, bit for bit equal across
 *              the thread counts; the reference evaluator against the same loop;
 *   pass       the chains of PyTorch's MultiheadAttention export (q divided before the
 *              product, k^T a permute of [S, N, D]) and of BERT (the product divided, a
 *              [B, 1, 1, S] mask added, k^T a permute of [B, S, H, D]) rewritten into one
 *              attention, to 1e-6 of the unrewritten graph in the evaluator and in the JIT;
 *              a softmax used twice is left alone.
 *              The CUDA backend's kernel for the op, under the CPU emulation (NVRTC), on
 *              each kernel case against the evaluator;
 *   language   scaled_dot_product_attention(q, k, v, attn_mask, is_causal, scale) makes one
 *              attention node with those attributes; a k of the wrong size is an error
 *              naming the op, the node and k.
 * ctest runs it again with SLIMC_MAX_ISA=avx2 and generic (unit_attention_avx2, _generic). */
#include "support_cg.h"
#include "support_cuda.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/slim.h"
#include "ir/eval.h"
#include "passes/pass.h"

static unsigned seed = 2020;

#define D(...) ((const int64_t[]){__VA_ARGS__})

typedef struct {
    int nlead;
    int64_t lead[4], Sq, Sk, Dk, Dv;
    int mask;     /* 0 none, 1 [lead0, 1.., 1, Sk] keys, 2 [Sq, Sk], 3 the scores' full shape */
    int causal;   /* 1: causal */
    int dead_row; /* mask kind 3: query 0 of leading index 0 sees no key */
} AttCase;

/* out = softmax(q k^T * scale + mask) v, a plain loop in double (NaN for a row of -inf). */
static void reference(const AttCase *a, const float *q, const float *k, const float *v,
                      const float *mask, const int64_t *mst, float *out)
{
    int64_t L = 1;
    for (int i = 0; i < a->nlead; i++)
        L *= a->lead[i];
    const double scale = 1.0 / sqrt((double)a->Dk);
    double *s = malloc(sizeof(double) * (size_t)a->Sk);
    for (int64_t b = 0; b < L; b++)
        for (int64_t i = 0; i < a->Sq; i++) {
            double m = -INFINITY;
            for (int64_t j = 0; j < a->Sk; j++) {
                double dot = 0;
                for (int64_t t = 0; t < a->Dk; t++)
                    dot += (double)q[(b * a->Sq + i) * a->Dk + t] * k[(b * a->Sk + j) * a->Dk + t];
                dot *= scale;
                if (mask)
                    dot += mask[b * mst[0] + i * mst[1] + j * mst[2]];
                if (a->causal && j > i)
                    dot = -INFINITY;
                s[j] = dot;
                m = dot > m ? dot : m;
            }
            double sum = 0;
            for (int64_t j = 0; j < a->Sk; j++)
                sum += (s[j] = exp(s[j] - m));
            for (int64_t t = 0; t < a->Dv; t++) {
                double o = 0;
                for (int64_t j = 0; j < a->Sk; j++)
                    o += s[j] / sum * v[(b * a->Sk + j) * a->Dv + t];
                out[(b * a->Sq + i) * a->Dv + t] = (float)o;
            }
        }
    free(s);
}

static int64_t prod(const int64_t *d, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= d[i];
    return p;
}

static void run_case(const AttCase *a)
{
    char what[200];
    snprintf(what, sizeof what,
             "attention lead %d Sq %lld Sk %lld D %lld Dv %lld mask %d causal %d", a->nlead,
             (long long)a->Sq, (long long)a->Sk, (long long)a->Dk, (long long)a->Dv, a->mask,
             a->causal);
    const int r = a->nlead + 2;
    int64_t qd[6], kd[6], vd[6], md[6];
    memcpy(qd, a->lead, sizeof(int64_t) * (size_t)a->nlead);
    memcpy(kd, a->lead, sizeof(int64_t) * (size_t)a->nlead);
    memcpy(vd, a->lead, sizeof(int64_t) * (size_t)a->nlead);
    qd[r - 2] = a->Sq, qd[r - 1] = a->Dk;
    kd[r - 2] = a->Sk, kd[r - 1] = a->Dk;
    vd[r - 2] = a->Sk, vd[r - 1] = a->Dv;
    const int64_t L = prod(a->lead, a->nlead);
    Graph *g = ir_graph_new("attention");
    RtTensor in[3];
    ValueId ins[4];
    ins[0] = sup_input(g, "q", r, qd, &in[0], &seed);
    ins[1] = sup_input(g, "k", r, kd, &in[1], &seed);
    ins[2] = sup_input(g, "v", r, vd, &in[2], &seed);
    int mr = 0;
    int64_t mst[3] = {0, 0, 0}; /* the mask's strides per (leading index, query, key) */
    if (a->mask == 1) {         /* [lead0, 1, ..., 1, Sk]: padded keys of each batch */
        mr = r;
        for (int i = 0; i < r; i++)
            md[i] = 1;
        md[0] = a->lead[0], md[r - 1] = a->Sk;
    } else if (a->mask == 2) { /* [Sq, Sk] */
        mr = 2;
        md[0] = a->Sq, md[1] = a->Sk;
        mst[1] = a->Sk, mst[2] = 1;
    } else if (a->mask == 3) { /* the scores' shape */
        mr = r;
        memcpy(md, qd, sizeof(int64_t) * (size_t)r);
        md[r - 1] = a->Sk;
        mst[0] = a->Sq * a->Sk, mst[1] = a->Sk, mst[2] = 1;
    }
    float *mdata = NULL;
    if (a->mask) {
        ins[3] = sup_const_rand(g, "mask", mr, md, &seed);
        mdata = (float *)g->values[ins[3]].data;
        const int64_t nm = prod(md, mr);
        for (int64_t i = 0; i < nm; i++)
            if (i % 5 == 3) /* a fifth of the entries hidden */
                mdata[i] = -INFINITY;
        if (a->mask == 3 && a->dead_row)
            for (int64_t j = 0; j < a->Sk; j++)
                mdata[j] = -INFINITY;
    }
    NodeId n = ir_node_new(g, IR_OP_ATTENTION, "att", (SrcLoc){0}, ins, a->mask ? 4 : 3, 1);
    if (a->causal)
        ir_node_set_int(g, n, "causal", 1);
    ir_output_add(g, g->nodes[n].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s: shapes: %s", what, ir_diag_text(&d));

    const size_t ny = (size_t)(L * a->Sq * a->Dv);
    float *ref = malloc(sizeof(float) * ny);
    if (a->mask == 1) { /* per leading index b: the mask row of b / (L / lead0) */
        AttCase one = *a;
        one.nlead = 0;
        const int64_t per = L / a->lead[0];
        for (int64_t b = 0; b < L; b++) {
            const int64_t m0[3] = {0, 0, 1};
            reference(&one, (const float *)in[0].data + b * a->Sq * a->Dk,
                      (const float *)in[1].data + b * a->Sk * a->Dk,
                      (const float *)in[2].data + b * a->Sk * a->Dv, mdata + b / per * a->Sk, m0,
                      ref + b * a->Sq * a->Dv);
        }
    } else
        reference(a, in[0].data, in[1].data, in[2].data, mdata, mst, ref);

    /* the evaluator */
    const void *eins[3] = {in[0].data, in[1].data, in[2].data};
    void *eouts[1] = {NULL};
    ck_assert_msg(ir_eval_graph(g, eins, eouts, NULL, &d), "%s: eval: %s", what, ir_diag_text(&d));
    double err, sc;
    ck_assert_msg(sup_compare(eouts[0], ref, ny, 1e-5, &err, &sc),
                  "%s: the evaluator: max error %g, max |ref| %g", what, err, sc);
    free(eouts[0]);

    char msg[512];
    size_t len;
    char *src = sup_emit(g, &len, msg, sizeof msg);
    ck_assert_msg(src, "%s: emit: %s", what, msg);
    ck_assert_msg(strstr(src, "slimc_rt_attention(&s"), "%s: no kernel call", what);
    float *out = sup_run_threads_vs(g, src, len, in, 3, ref, ny, 1e-5, what);
    if (a->dead_row) /* the same bits at every thread count */
        ck_assert_msg(isnan(out[0]), "%s: a fully masked row is not NaN", what);
    free(out);
    free(ref);
    /* the CUDA backend's kernel for the op, under the CPU emulation, against the evaluator */
    char cmsg[4096];
    ck_assert_msg(sup_cuda_check(g, in, NULL, 1e-5, cmsg, sizeof cmsg), "%s: CUDA: %s", what, cmsg);
    for (int i = 0; i < 3; i++)
        free(in[i].data);
    ir_diag_fini(&d);
    ir_graph_free(g);
}

START_TEST(test_kernel)
{
    static const AttCase cases[] = {
        {2, {1, 1}, 1, 1, 1, 1, 0, 0, 0},     {2, {2, 3}, 7, 33, 65, 7, 1, 0, 0},
        {2, {1, 2}, 65, 65, 33, 64, 2, 1, 0}, {1, {3}, 33, 7, 7, 33, 3, 0, 1},
        {1, {2}, 40, 1, 64, 16, 0, 1, 0},     {3, {2, 1, 2}, 37, 19, 16, 16, 3, 1, 0},
        {0, {0}, 5, 9, 8, 8, 2, 0, 0},        {4, {1, 2, 1, 2}, 3, 70, 5, 3, 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}
END_TEST

/* ---- the pass ---- */

static ValueId node1(Graph *g, OpKind op, const char *name, ValueId a, ValueId b)
{
    const ValueId ins[2] = {a, b};
    const NodeId n = ir_node_new(g, op, name, (SrcLoc){0}, ins, b == IR_NONE ? 1 : 2, 1);
    return g->nodes[n].outputs[0];
}

static ValueId permute(Graph *g, const char *name, ValueId x, const int64_t *perm, int r)
{
    NodeId n = ir_node_new(g, IR_OP_PERMUTE, name, (SrcLoc){0}, &x, 1, 1);
    ir_node_set_ints(g, n, "perm", perm, r);
    return g->nodes[n].outputs[0];
}

static ValueId scalar(Graph *g, const char *name, float x)
{
    float *p = ir_arena_alloc(g->arena, sizeof(float));
    *p = x;
    return ir_const_new(g, name, sup_f32(0, NULL), p, sizeof(float), (SrcLoc){0});
}

static int count_op(const Graph *g, OpKind op)
{
    int c = 0;
    for (NodeId i = 0; i < g->n_nodes; i++)
        c += !g->nodes[i].dead && g->nodes[i].op == op;
    return c;
}

/* Evaluates g on in (3 inputs), its first output into out (ny floats). */
static void eval3(const Graph *g, const RtTensor *in, float *out, size_t ny)
{
    Diag d;
    ir_diag_init(&d);
    const void *ins[3] = {in[0].data, in[1].data, in[2].data};
    void *outs[2] = {NULL, NULL};
    ck_assert_msg(ir_eval_graph(g, ins, outs, NULL, &d), "eval: %s", ir_diag_text(&d));
    memcpy(out, outs[0], sizeof(float) * ny);
    free(outs[0]);
    free(outs[1]);
    ir_diag_fini(&d);
}

/* kind 0: MultiheadAttention's export, q [N, S, D], k and v [S, N, D]; kind 1: BERT's,
 * q, k, v [B, S, H, D]; kind 2: kind 0 with the softmax also a graph output; kind 3: kind
 * 0 with another product q q^T added to the scores (both sides of the add could be the
 * scores: left alone). */
static void pass_case(int kind)
{
    const int64_t N = 6, S = 13, Dh = 16, B = 2, H = 3;
    Graph *g = ir_graph_new("chain");
    RtTensor in[3];
    ValueId y;
    if (kind != 1) {
        ValueId q = sup_input(g, "q", 3, D(N, S, Dh), &in[0], &seed);
        ValueId k = sup_input(g, "k", 3, D(S, N, Dh), &in[1], &seed);
        ValueId v = sup_input(g, "v", 3, D(S, N, Dh), &in[2], &seed);
        ValueId qs = node1(g, IR_OP_DIV, "qs", q, scalar(g, "c", 4.0f));
        ValueId kt = permute(g, "kt", k, D(1, 2, 0), 3);
        ValueId s = node1(g, IR_OP_MATMUL, "s", qs, kt);
        if (kind == 3) { /* s + another product of the same shape: which is the mask? */
            ValueId m2 = node1(g, IR_OP_MATMUL, "m2", q, permute(g, "qt", q, D(0, 2, 1), 3));
            s = node1(g, IR_OP_ADD, "sm", m2, s);
        }
        ValueId p = node1(g, IR_OP_SOFTMAX, "p", s, IR_NONE);
        ValueId vv = permute(g, "vt", v, D(1, 0, 2), 3);
        y = node1(g, IR_OP_MATMUL, "o", p, vv);
        if (kind == 2)
            ir_output_add(g, p);
    } else {
        ValueId q = sup_input(g, "q", 4, D(B, S, H, Dh), &in[0], &seed);
        ValueId k = sup_input(g, "k", 4, D(B, S, H, Dh), &in[1], &seed);
        ValueId v = sup_input(g, "v", 4, D(B, S, H, Dh), &in[2], &seed);
        ValueId qh = permute(g, "qh", q, D(0, 2, 1, 3), 4);
        ValueId kt = permute(g, "kt", k, D(0, 2, 3, 1), 4);
        ValueId vh = permute(g, "vh", v, D(0, 2, 1, 3), 4);
        ValueId s = node1(g, IR_OP_MATMUL, "s", qh, kt);
        ValueId sd = node1(g, IR_OP_DIV, "sd", s, scalar(g, "c", 4.0f));
        ValueId mask = sup_const_rand(g, "mask", 4, D(B, 1, 1, S), &seed);
        float *md = (float *)g->values[mask].data;
        md[3] = md[S + 5] = -INFINITY;
        ValueId sm = node1(g, IR_OP_ADD, "sm", mask, sd);
        ValueId p = node1(g, IR_OP_SOFTMAX, "p", sm, IR_NONE);
        y = node1(g, IR_OP_MATMUL, "o", p, vh);
    }
    ir_output_add(g, y);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "shapes: %s", ir_diag_text(&d));
    const size_t ny = (size_t)(kind == 1 ? B * H * S * Dh : N * S * Dh);
    float *before = malloc(sizeof(float) * ny * 2);
    float *after = before + ny;
    if (kind >= 2) { /* the softmax an output too, or two products added: not rewritten */
        ck_assert(pass_attention(g, NULL, &d));
        ck_assert_int_eq(count_op(g, IR_OP_ATTENTION), 0);
        ck_assert_int_eq(count_op(g, IR_OP_SOFTMAX), 1);
    } else {
        eval3(g, in, before, ny);
        ck_assert(pass_attention(g, NULL, &d));
        ck_assert_msg(ir_verify(g, &d), "verify: %s", ir_diag_text(&d));
        ck_assert_int_eq(count_op(g, IR_OP_ATTENTION), 1);
        ck_assert_int_eq(count_op(g, IR_OP_SOFTMAX), 0);
        ck_assert_int_eq(count_op(g, IR_OP_MATMUL), 0);
        ck_assert_int_eq(count_op(g, IR_OP_DIV), 0);
        ck_assert_msg(ir_infer_shapes(g, &d), "shapes after: %s", ir_diag_text(&d));
        eval3(g, in, after, ny);
        double err, sc;
        ck_assert_msg(sup_compare(after, before, ny, 1e-6, &err, &sc),
                      "kind %d: rewritten vs unrewritten: max error %g, max |y| %g", kind, err, sc);
        char msg[4096];
        static const int threads[] = {1, 3};
        ck_assert_msg(sup_check(g, in, threads, 2, 1e-5, msg, sizeof msg), "kind %d: %s", kind,
                      msg);
    }
    free(before);
    for (int i = 0; i < 3; i++)
        free(in[i].data);
    ir_diag_fini(&d);
    ir_graph_free(g);
}

START_TEST(test_pass)
{
    pass_case(0);
    pass_case(1);
    pass_case(2);
    pass_case(3);
}
END_TEST

START_TEST(test_language)
{
    static const char ok_src[] =
        "model m(q: f32[2, 3, 7, 16], k: f32[2, 3, 9, 16], v: f32[2, 3, 9, 5], mask: f32[7, 9])\n"
        "    a = scaled_dot_product_attention(q, k, v, is_causal=true)\n"
        "    b = attention(q, k, v, attn_mask=mask, scale=0.5)\n"
        "    return a, b\n";
    Diag d;
    ir_diag_init(&d);
    Graph *g = fe_slim_parse("m.slim", ok_src, sizeof ok_src - 1, &d);
    ck_assert_msg(g, "%s", ir_diag_text(&d));
    ck_assert_int_eq(count_op(g, IR_OP_ATTENTION), 2);
    int seen = 0;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->op != IR_OP_ATTENTION)
            continue;
        const Shape *os = &g->values[n->outputs[0]].type.shape;
        ck_assert_int_eq(os->rank, 4);
        ck_assert_int_eq(os->d[2].c, 7);
        ck_assert_int_eq(os->d[3].c, 5);
        if (n->n_inputs == 3) { /* a */
            ck_assert_int_eq(ir_attr_causal(n), 1);
            ck_assert_ptr_null(ir_node_attr_id(n, IR_A_scale));
            ck_assert(fabs(ir_attention_scale(n, 16) - 0.25) < 1e-12);
        } else {
            ck_assert_int_eq(ir_attr_causal(n), 0);
            ck_assert(fabs(ir_attr_scale(n) - 0.5) < 1e-12);
        }
        seen++;
    }
    ck_assert_int_eq(seen, 2);
    ir_graph_free(g);
    ir_diag_fini(&d);

    static const char bad_src[] = "model m(q: f32[3, 7, 16], k: f32[3, 9, 8], v: f32[3, 9, 5])\n"
                                  "    return attention(q, k, v)\n";
    ir_diag_init(&d);
    g = fe_slim_parse("m.slim", bad_src, sizeof bad_src - 1, &d);
    ck_assert_ptr_null(g);
    ck_assert_msg(strstr(ir_diag_text(&d), "m.slim:2:") &&
                      strstr(ir_diag_text(&d), "attention '") &&
                      strstr(ir_diag_text(&d), "k must be [..., Sk, D]"),
                  "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("attention");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_kernel);
    tcase_add_test(tc, test_pass);
    tcase_add_test(tc, test_language);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
