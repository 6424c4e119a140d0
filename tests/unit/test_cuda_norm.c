/* The CUDA backend's normalization, softmax, reduction, pooling and fused-attention
 * kernels (codegen/cuda/norm.c, reduce.c, pool.c, attention.c) against the reference
 * evaluator: each graph compiled by NVRTC and run under the CPU emulation
 * (tests/unit/support_cuda.h). The shapes reach every launch shape the emitters choose (a
 * warp per row with its row in registers, a block per row, a thread per column or output),
 * with lengths that are not multiples of the warp or block, symbolic batches and lengths,
 * NaN and infinities where the reference defines what they give. Sums run as trees on the
 * GPU (tolerance 1e-5 of the largest output); max, min, pools and batch_norm are bit-exact
 * (tolerance 0). */
#include "codegen/backend.h"
#include "ir/graph.h"
#include "passes/pass.h"

#include "support_cg.h"
#include "support_cuda.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ValueId out0(Graph *g, NodeId n)
{
    return g->nodes[n].outputs[0];
}

static NodeId node(Graph *g, OpKind op, const ValueId *in, int n_in)
{
    return ir_node_new(g, op, NULL, (SrcLoc){0}, in, n_in, 1);
}

/* A graph input f32[dims] whose dim 0 is the symbol N when sym (bound to dims[0] in *t);
 * with sym_last, the last dim is the symbol S instead. Random data in [-1, 1). */
static ValueId input(Graph *g, const char *name, int rank, const int64_t *dims, int sym,
                     RtTensor *t, unsigned *seed)
{
    Type ty = sup_f32(rank, dims);
    if (sym == 1)
        ty.shape.d[0] = (Dim){1, 1u << ir_graph_symbol(g, "N")};
    if (sym == 2)
        ty.shape.d[rank - 1] = (Dim){1, 1u << ir_graph_symbol(g, "S")};
    *t = sup_input_rand(rank, dims, seed);
    return ir_input_new(g, name, ty, (SrcLoc){0});
}

static float *data_of(RtTensor *t)
{
    return (float *)t->data;
}

/* Infers shapes, runs passes (NULL: none), checks against the reference, frees all. */
static void check(Graph *g, RtTensor *in, int n_in, double tol, const char *what,
                  const char *passes)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s: shapes: %s", what, ir_diag_text(&d));
    if (passes)
        ck_assert_msg(pass_pipeline_run(g, passes, (SrcLoc){0}, &(PassRunOptions){0}, &d),
                      "%s: passes: %s", what, ir_diag_text(&d));
    ir_diag_fini(&d);
    char msg[8192];
    bool ok = sup_cuda_check(g, in, NULL, tol, msg, sizeof msg);
    for (int i = 0; i < n_in; i++)
        free(in[i].data);
    ir_graph_free(g);
    ck_assert_msg(ok, "%s: %s", what, msg);
}

#define D(...) ((const int64_t[]){__VA_ARGS__})

/* ---- softmax, log_softmax ---- */

static void softmax_case(OpKind op, int rank, const int64_t *dims, int64_t axis, int sym,
                         bool specials)
{
    unsigned seed = 11;
    Graph *g = ir_graph_new("softmax");
    RtTensor in;
    ValueId x = input(g, "x", rank, dims, sym, &in, &seed);
    if (specials) { /* NaN in row 0, +inf in row 1, -inf in row 2 */
        data_of(&in)[3] = NAN;
        data_of(&in)[dims[rank - 1] + 5] = INFINITY;
        data_of(&in)[2 * dims[rank - 1] + 1] = -INFINITY;
    }
    NodeId n = node(g, op, &x, 1);
    ir_node_set_int(g, n, "axis", axis);
    ir_output_add(g, out0(g, n));
    char what[128];
    snprintf(what, sizeof what, "%s rank %d axis %lld sym %d", ir_ops[op].name, rank,
             (long long)axis, sym);
    check(g, &in, 1, 1e-5, what, NULL);
}

START_TEST(test_softmax)
{
    for (int k = 0; k < 2; k++) {
        const OpKind op = k ? IR_OP_LOG_SOFTMAX : IR_OP_SOFTMAX;
        softmax_case(op, 2, D(3, 37), -1, 0, true);      /* a warp per row, 2 slots a lane */
        softmax_case(op, 3, D(2, 5, 1000), 2, 0, false); /* 32 slots, the last ragged */
        softmax_case(op, 2, D(3, 3000), 1, 0, true);     /* a block per row */
        softmax_case(op, 3, D(2, 7, 9), 1, 0, false);    /* a thread per column */
        softmax_case(op, 3, D(4, 10, 1), 1, 0, false);   /* rows: only 1s after the axis */
        softmax_case(op, 2, D(3, 50), -1, 1, false);     /* symbolic batch */
        softmax_case(op, 3, D(3, 6, 40), 0, 1, false);   /* along the symbolic dim */
        softmax_case(op, 2, D(2, 70), 1, 2, false);      /* a symbolic row length: blocks */
    }
}
END_TEST

/* ---- layer_norm, group_norm, batch_norm ---- */

static void layer_norm_case(int rank, const int64_t *dims, int nd, int n_params, int sym)
{
    unsigned seed = 3;
    Graph *g = ir_graph_new("ln");
    RtTensor in;
    ValueId ins[3];
    ins[0] = input(g, "x", rank, dims, sym, &in, &seed);
    for (int i = 1; i <= n_params; i++)
        ins[i] = sup_const_rand(g, i == 1 ? "w" : "b", nd, dims + rank - nd, &seed);
    NodeId n = node(g, IR_OP_LAYER_NORM, ins, 1 + n_params);
    ir_node_set_int(g, n, "normalized_ndim", nd);
    ir_node_set_float(g, n, "eps", 1e-5);
    ir_output_add(g, out0(g, n));
    char what[96];
    snprintf(what, sizeof what, "layer_norm rank %d nd %d params %d sym %d", rank, nd, n_params,
             sym);
    check(g, &in, 1, 1e-5, what, NULL);
}

static void group_norm_case(int rank, const int64_t *dims, int64_t groups, int n_params, int sym)
{
    unsigned seed = 4;
    Graph *g = ir_graph_new("gn");
    RtTensor in;
    ValueId ins[3];
    ins[0] = input(g, "x", rank, dims, sym, &in, &seed);
    for (int i = 1; i <= n_params; i++)
        ins[i] = sup_const_rand(g, i == 1 ? "w" : "b", 1, dims + 1, &seed);
    NodeId n = node(g, IR_OP_GROUP_NORM, ins, 1 + n_params);
    ir_node_set_int(g, n, "num_groups", groups);
    ir_node_set_float(g, n, "eps", 1e-5);
    ir_output_add(g, out0(g, n));
    char what[96];
    snprintf(what, sizeof what, "group_norm rank %d groups %lld params %d sym %d", rank,
             (long long)groups, n_params, sym);
    check(g, &in, 1, 1e-5, what, NULL);
}

static void batch_norm_case(int rank, const int64_t *dims, int sym)
{
    unsigned seed = 5;
    Graph *g = ir_graph_new("bn");
    RtTensor in;
    ValueId ins[5];
    ins[0] = input(g, "x", rank, dims, sym, &in, &seed);
    for (int i = 1; i < 5; i++) {
        ins[i] = sup_const_rand(g, "p", 1, dims + 1, &seed);
        if (i == 2) { /* a variance */
            float *v = (float *)(uintptr_t)g->values[ins[i]].data;
            for (int64_t c = 0; c < dims[1]; c++)
                v[c] = fabsf(v[c]) + 0.1f;
        }
    }
    NodeId n = node(g, IR_OP_BATCH_NORM, ins, 5);
    ir_node_set_float(g, n, "eps", 1e-5);
    ir_output_add(g, out0(g, n));
    check(g, &in, 1, 0, "batch_norm (bit-exact)", NULL);
}

START_TEST(test_norms)
{
    layer_norm_case(2, D(4, 37), 1, 2, 0);        /* a warp per row */
    layer_norm_case(4, D(2, 3, 5, 300), 2, 1, 0); /* 1500: a block per row, weight only */
    layer_norm_case(2, D(3, 64), 1, 0, 0);        /* no weight, no bias */
    layer_norm_case(3, D(3, 7, 33), 1, 2, 1);     /* symbolic batch */
    layer_norm_case(2, D(2, 2048), 1, 2, 0);      /* a block per row, no ragged end */
    layer_norm_case(2, D(2, 90), 1, 0, 2);        /* a symbolic row length */
    group_norm_case(4, D(2, 6, 5, 7), 3, 2, 0);   /* a warp per (batch, group) */
    group_norm_case(4, D(2, 8, 40, 40), 2, 0, 0); /* 6400 a group: blocks */
    group_norm_case(4, D(2, 4, 3, 3), 4, 1, 1);   /* symbolic batch, weight only */
    batch_norm_case(4, D(2, 5, 7, 3), 0);
    batch_norm_case(3, D(3, 4, 6), 1);
}
END_TEST

/* ---- reductions ---- */

static void reduce_case(OpKind op, int rank, const int64_t *dims, const int64_t *axes, int n_axes,
                        int keepdim, int sym, bool nan)
{
    unsigned seed = 6;
    Graph *g = ir_graph_new("reduce");
    RtTensor in;
    ValueId x = input(g, "x", rank, dims, sym, &in, &seed);
    if (nan)
        data_of(&in)[7] = NAN;
    if (op == IR_OP_REDUCE_PROD) /* products of many values stay in range */
        for (size_t i = 0; i < in.nbytes / 4; i++)
            data_of(&in)[i] = 0.75f + 0.5f * (data_of(&in)[i] + 1.0f) / 2.0f;
    NodeId n = node(g, op, &x, 1);
    if (n_axes)
        ir_node_set_ints(g, n, "axes", axes, n_axes);
    ir_node_set_int(g, n, "keepdim", keepdim);
    ir_output_add(g, out0(g, n));
    char what[128];
    snprintf(what, sizeof what, "%s rank %d axes %d (first %lld) keepdim %d sym %d nan %d",
             ir_ops[op].name, rank, n_axes, n_axes ? (long long)axes[0] : -1LL, keepdim, sym, nan);
    const bool exact = op == IR_OP_REDUCE_MAX || op == IR_OP_REDUCE_MIN;
    check(g, &in, 1, exact ? 0 : 1e-5, what, NULL);
}

START_TEST(test_reduce)
{
    static const OpKind ops[] = {IR_OP_REDUCE_SUM, IR_OP_REDUCE_MEAN, IR_OP_REDUCE_MAX,
                                 IR_OP_REDUCE_MIN, IR_OP_REDUCE_PROD};
    const int64_t *x = D(4, 5, 6, 7);
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        const OpKind op = ops[k];
        const bool mm = op == IR_OP_REDUCE_MAX || op == IR_OP_REDUCE_MIN;
        reduce_case(op, 4, x, NULL, 0, 0, 0, false);           /* everything: one row */
        reduce_case(op, 4, x, D(3), 1, 1, 0, mm);              /* innermost, 7: a thread each */
        reduce_case(op, 3, D(3, 4, 40), D(2), 1, 0, 0, mm);    /* innermost, 40: a warp each */
        reduce_case(op, 4, x, D(1), 1, 0, 0, mm);              /* a middle dim: a thread each */
        reduce_case(op, 4, x, D(0, 2), 2, 1, 0, false);        /* innermost kept, two dims */
        reduce_case(op, 4, x, D(1, -1), 2, 0, 0, false);       /* innermost and a middle one */
        reduce_case(op, 4, x, D(2, 3), 2, 1, 0, false);        /* a trailing block of dims */
        reduce_case(op, 3, D(3, 6, 50), D(2), 1, 0, 1, false); /* symbolic batch */
        reduce_case(op, 3, D(3, 6, 5), D(0), 1, 0, 1, false);  /* over the symbolic dim */
        if (op != IR_OP_REDUCE_PROD)
            reduce_case(op, 2, D(2, 5000), D(1), 1, 0, 0, mm); /* a block per row */
    }
}
END_TEST

/* ---- pools ---- */

static void pool_case(OpKind op, int64_t H, int64_t W, int64_t k, int64_t s, int64_t p, int64_t dil,
                      int ceil, int cip, int sym, bool epilogue)
{
    unsigned seed = 8;
    Graph *g = ir_graph_new("pool");
    RtTensor in;
    ValueId x = input(g, "x", 4, D(2, 3, H, W), sym, &in, &seed);
    data_of(&in)[5] = NAN;
    NodeId n = node(g, op, &x, 1);
    ir_node_set_ints(g, n, "kernel", D(k, k), 2);
    ir_node_set_ints(g, n, "stride", D(s, s), 2);
    ir_node_set_ints(g, n, "padding", D(p, p), 2);
    if (op == IR_OP_MAX_POOL2D)
        ir_node_set_ints(g, n, "dilation", D(dil, dil), 2);
    ir_node_set_int(g, n, "ceil_mode", ceil);
    if (op == IR_OP_AVG_POOL2D)
        ir_node_set_int(g, n, "count_include_pad", cip);
    ValueId y = out0(g, n);
    if (epilogue) { /* relu, then + a per-channel constant: the pool's fused epilogue */
        ValueId b = sup_const_rand(g, "b", 3, D(3, 1, 1), &seed);
        const ValueId ab[2] = {out0(g, node(g, IR_OP_RELU, &y, 1)), b};
        y = out0(g, node(g, IR_OP_ADD, ab, 2));
    }
    ir_output_add(g, y);
    char what[160];
    snprintf(what, sizeof what,
             "%s H=%lld W=%lld k=%lld s=%lld p=%lld d=%lld ceil=%d cip=%d sym=%d", ir_ops[op].name,
             (long long)H, (long long)W, (long long)k, (long long)s, (long long)p, (long long)dil,
             ceil, cip, sym);
    check(g, &in, 1, 0, what, epilogue ? "fuse,dce" : NULL);
}

static void adaptive_case(int64_t H, int64_t W, int64_t OH, int64_t OW, int sym)
{
    unsigned seed = 9;
    Graph *g = ir_graph_new("apool");
    RtTensor in;
    ValueId x = input(g, "x", 4, D(2, 3, H, W), sym, &in, &seed);
    NodeId n = node(g, IR_OP_ADAPTIVE_AVG_POOL2D, &x, 1);
    ir_node_set_ints(g, n, "output_size", D(OH, OW), 2);
    ir_output_add(g, out0(g, n));
    check(g, &in, 1, 0, "adaptive_avg_pool2d", NULL);
}

START_TEST(test_pool)
{
    for (int m = 0; m < 2; m++) {
        const OpKind op = m ? IR_OP_AVG_POOL2D : IR_OP_MAX_POOL2D;
        pool_case(op, 8, 8, 2, 2, 0, 1, 0, 1, 0, false);
        pool_case(op, 9, 11, 3, 2, 1, 1, 1, 1, 0, false);  /* ceil_mode windows overhang */
        pool_case(op, 9, 11, 3, 2, 1, 1, 1, 0, 0, false);  /* (avg) real elements only */
        pool_case(op, 12, 10, 3, 1, 1, 2, 0, 0, 1, false); /* dilation (max), symbolic */
        pool_case(op, 10, 7, 3, 3, 1, 1, 1, 1, 0, true);   /* epilogue */
        pool_case(op, 40, 37, 3, 2, 1, 1, 0, 1, 0, false); /* many blocks */
    }
    adaptive_case(9, 11, 4, 5, 0);
    adaptive_case(9, 11, 1, 1, 1);
    adaptive_case(7, 7, 7, 7, 0);
    adaptive_case(5, 13, 3, 6, 1);
}
END_TEST

/* max_pool2d over u8 codes (an int8 chain's pool): bit for bit. */
START_TEST(test_pool_u8)
{
    unsigned seed = 10;
    Graph *g = ir_graph_new("qpool");
    RtTensor in;
    ValueId x = sup_input_int(g, "x", IR_U8, 4, D(2, 3, 13, 21), 0, 255, &in, &seed);
    NodeId n = node(g, IR_OP_MAX_POOL2D, &x, 1);
    ir_node_set_ints(g, n, "kernel", D(3, 3), 2);
    ir_node_set_ints(g, n, "stride", D(2, 2), 2);
    ir_node_set_ints(g, n, "padding", D(1, 1), 2);
    ir_node_set_int(g, n, "ceil_mode", 1);
    ir_output_add(g, out0(g, n));
    check(g, &in, 1, 0, "max_pool2d u8", NULL);
}
END_TEST

/* pool_nd over 1 to 3 spatial dims, every mode (lp, max, average with and without the
 * padding, the first maximum's i64 index in both storage orders), a symbolic batch. */
START_TEST(test_pool_nd)
{
    static const int64_t dims[3][5] = {{2, 3, 11}, {2, 2, 9, 8}, {2, 2, 5, 4, 6}};
    for (int sdims = 1; sdims <= 3; sdims++)
        for (int mode = 0; mode < 4; mode++)
            for (int cip = 0; cip < 2; cip++) {
                unsigned seed = 13;
                Graph *g = ir_graph_new("pool_nd");
                RtTensor in;
                ValueId x = input(g, "x", 2 + sdims, dims[sdims - 1], 1, &in, &seed);
                NodeId n = node(g, IR_OP_POOL_ND, &x, 1);
                ir_node_set_int(g, n, "mode", mode);
                ir_node_set_int(g, n, "p", 2 + cip);
                ir_node_set_int(g, n, "count_include_pad", cip);
                ir_node_set_int(g, n, "ceil_mode", 1 - cip);
                ir_node_set_ints(g, n, "kernel", D(3, 2, 3), sdims);
                ir_node_set_ints(g, n, "stride", D(2, 1, 2), sdims);
                ir_node_set_ints(g, n, "dilation", D(1, 2, 1), sdims);
                ir_node_set_ints(g, n, "pads", D(1, 0, 1, 2, 1, 0), 2 * sdims);
                ir_node_set_int(g, n, "storage_order", cip);
                ir_output_add(g, out0(g, n));
                char what[64];
                snprintf(what, sizeof what, "pool_nd dims %d mode %d cip %d", sdims, mode, cip);
                check(g, &in, 1, 1e-5, what, NULL);
            }
}
END_TEST

/* ---- fused attention ---- */

/* How the chain's scores are scaled. */
enum { SC_NONE, SC_MUL_FUSED, SC_DIV_NODE, SC_MUL_FIRST_NODE };

typedef struct AttCase {
    int64_t B, H, Sq, Sk, D, Dv;
    int scale;
    bool sym;      /* the batch is the symbol N */
    bool relu;     /* an epilogue on the second matmul (fused) */
    bool in_graph; /* q and kt computed in the graph (temps the memory plan places) */
} AttCase;

typedef struct AttGraph {
    Graph *g;
    RtTensor in[3];
    ValueId q, s, p, o; /* q as the first matmul reads it, the scores, the probabilities */
} AttGraph;

static AttGraph att_graph(const AttCase *ac)
{
    unsigned seed = 12;
    AttGraph a;
    a.g = ir_graph_new("attention");
    Graph *g = a.g;
    const int sym = ac->sym ? 1 : 0;
    a.q = input(g, "q", 4, D(ac->B, ac->H, ac->Sq, ac->D), sym, &a.in[0], &seed);
    ValueId kt = input(g, "kt", 4, D(ac->B, ac->H, ac->D, ac->Sk), sym, &a.in[1], &seed);
    ValueId v = input(g, "v", 4, D(ac->B, ac->H, ac->Sk, ac->Dv), sym, &a.in[2], &seed);
    for (size_t i = 0; i < a.in[0].nbytes / 4; i++) /* scores of a few units */
        data_of(&a.in[0])[i] *= 3.0f;
    if (ac->in_graph) {
        ValueId c = sup_const_rand(g, "c", 1, D(1), &seed);
        const ValueId qc[2] = {a.q, c}, kc[2] = {kt, c};
        a.q = out0(g, node(g, IR_OP_MUL, qc, 2));
        kt = out0(g, node(g, IR_OP_ADD, kc, 2));
    }
    const ValueId qk[2] = {a.q, kt};
    a.s = out0(g, node(g, IR_OP_MATMUL, qk, 2));
    ValueId s = a.s;
    if (ac->scale != SC_NONE) {
        ValueId c = sup_const_rand(g, "scale", 0, NULL, &seed);
        const ValueId sc[2] = {s, c}, cs[2] = {c, s};
        s = out0(g, node(g, ac->scale == SC_DIV_NODE ? IR_OP_DIV : IR_OP_MUL,
                         ac->scale == SC_MUL_FIRST_NODE ? cs : sc, 2));
    }
    NodeId sm = node(g, IR_OP_SOFTMAX, &s, 1);
    ir_node_set_int(g, sm, "axis", -1);
    a.p = out0(g, sm);
    const ValueId pv[2] = {a.p, v};
    a.o = out0(g, node(g, IR_OP_MATMUL, pv, 2));
    if (ac->relu)
        a.o = out0(g, node(g, IR_OP_RELU, &a.o, 1));
    return a;
}

/* The graph's CUDA source, or NULL with the reason in msg. */
static char *att_emit(AttGraph *a, const AttCase *ac, char *msg, size_t cap)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(a->g, &d), "shapes: %s", ir_diag_text(&d));
    ck_assert(pass_pipeline_run(a->g, ac->scale == SC_MUL_FUSED || ac->relu ? "fuse,dce" : "dce",
                                (SrcLoc){0}, &(PassRunOptions){0}, &d));
    ir_diag_fini(&d);
    size_t len;
    return sup_cuda_emit(a->g, NULL, &len, msg, cap);
}

static void att_case(const AttCase *ac, const char *what)
{
    for (int64_t batch = ac->B; batch >= 1; batch = ac->sym ? batch - 2 : 0) {
        AttCase c1 = *ac;
        c1.B = batch;
        AttGraph a = att_graph(&c1);
        ir_output_add(a.g, a.o);
        char msg[8192];
        char *src = att_emit(&a, &c1, msg, sizeof msg);
        ck_assert_msg(src, "%s: %s", what, msg);
        ck_assert_msg(strstr(src, "Fused attention"), "%s: no fused kernel", what);
        free(src);
        bool ok = sup_cuda_check(a.g, a.in, NULL, 1e-5, msg, sizeof msg);
        for (int i = 0; i < 3; i++)
            free(a.in[i].data);
        ir_graph_free(a.g);
        ck_assert_msg(ok, "%s batch %lld: %s", what, (long long)batch, msg);
    }
}

START_TEST(test_attention)
{
    /* the transformer's chain: scale fused into the first matmul; ragged query and key
     * tiles, Dv not a multiple of 32, an epilogue on the output */
    att_case(&(AttCase){2, 3, 37, 45, 24, 20, SC_MUL_FUSED, false, true, false}, "fused scale");
    /* the largest head size, one query, three key tiles, a div node */
    att_case(&(AttCase){1, 2, 1, 70, 128, 128, SC_DIV_NODE, false, false, false}, "D=128, div");
    /* a symbolic batch (3 and 1), exact tiles, the scale as mul's first operand */
    att_case(&(AttCase){3, 2, 16, 32, 16, 16, SC_MUL_FIRST_NODE, true, false, false},
             "symbolic batch");
    /* one key, no scale */
    att_case(&(AttCase){2, 1, 5, 1, 8, 40, SC_NONE, false, false, false}, "one key");
    /* q and kt temps of the plan, the output a graph output */
    att_case(&(AttCase){2, 2, 20, 33, 32, 32, SC_MUL_FUSED, false, false, true}, "temps");
}
END_TEST

/* Where the chain must not be fused: the node-by-node kernels run it (or, while matmul has
 * no kernel of its own, the backend names the matmuls it cannot run: no group formed). */
static void att_not_fused(AttGraph *a, const AttCase *ac, const char *what)
{
    char msg[8192];
    char *src = att_emit(a, ac, msg, sizeof msg);
    if (!src) {
        ck_assert_msg(strstr(msg, "(matmul): no CUDA kernel"), "%s: %s", what, msg);
    } else {
        ck_assert_msg(!strstr(src, "Fused attention"), "%s: fused", what);
        free(src);
        ck_assert_msg(sup_cuda_check(a->g, a->in, NULL, 1e-5, msg, sizeof msg), "%s: %s", what,
                      msg);
    }
    for (int i = 0; i < 3; i++)
        free(a->in[i].data);
    ir_graph_free(a->g);
}

START_TEST(test_attention_not_fused)
{
    const AttCase base = {2, 2, 9, 12, 8, 8, SC_MUL_FUSED, false, false, false};
    AttGraph a = att_graph(&base); /* the probabilities are an output too */
    ir_output_add(a.g, a.o);
    ir_output_add(a.g, a.p);
    att_not_fused(&a, &base, "probabilities as an output");
    a = att_graph(&base); /* the scores used twice */
    const ValueId ss[2] = {a.s, a.s};
    ir_output_add(a.g, a.o);
    ir_output_add(a.g, out0(a.g, node(a.g, IR_OP_ADD, ss, 2)));
    att_not_fused(&a, &base, "scores used twice");
    AttCase big = base; /* a head size past the shared tiles */
    big.D = 129;
    a = att_graph(&big);
    ir_output_add(a.g, a.o);
    att_not_fused(&a, &big, "D=129");
    AttCase sm = base; /* softmax over another axis */
    a = att_graph(&sm);
    for (int i = 0; i < a.g->n_nodes; i++)
        if (a.g->nodes[i].op == IR_OP_SOFTMAX)
            ir_node_set_int(a.g, i, "axis", 2);
    ir_output_add(a.g, a.o);
    att_not_fused(&a, &sm, "softmax over queries");
}
END_TEST

/* The kernel reads q when the second matmul runs, after the plan has ended q's life: when
 * the plan puts the output where q lies, no group (the attention would overwrite q while
 * reading it). The plan is forced here: q and the output share offset 0. */
START_TEST(test_attention_plan_overlap)
{
    for (int overlap = 0; overlap < 2; overlap++) {
        const AttCase ac = {2, 2, 9, 12, 8, 8, SC_NONE, false, false, true};
        AttGraph a = att_graph(&ac);
        NodeId sm = node(a.g, IR_OP_SOFTMAX, &a.o, 1); /* the output a temp */
        ir_node_set_int(a.g, sm, "axis", 1);
        ir_output_add(a.g, out0(a.g, sm));
        Diag d;
        ir_diag_init(&d);
        ck_assert(ir_infer_shapes(a.g, &d));
        ck_assert(pass_pipeline_run(a.g, "dce,memplan", (SrcLoc){0}, &(PassRunOptions){0}, &d));
        ir_diag_fini(&d);
        Value *qv = &a.g->values[a.q], *ov = &a.g->values[a.o];
        ck_assert(qv->planned && ov->planned);
        if (overlap)
            ov->offset = qv->offset;
        char msg[8192];
        size_t len;
        char *src = sup_cuda_emit(a.g, NULL, &len, msg, sizeof msg);
        const bool fused = src && strstr(src, "Fused attention");
        if (overlap) /* not fused: run node by node, or matmul named as having no kernel */
            ck_assert_msg(!fused && (src || strstr(msg, "(matmul): no CUDA kernel")), "%s",
                          src ? "fused over a live q" : msg);
        else
            ck_assert_msg(fused, "not fused: %s", src ? "" : msg);
        free(src);
        if (!overlap)
            ck_assert_msg(sup_cuda_check(a.g, a.in, NULL, 1e-5, msg, sizeof msg), "%s", msg);
        for (int i = 0; i < 3; i++)
            free(a.in[i].data);
        ir_graph_free(a.g);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cuda_norm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_softmax);
    tcase_add_test(tc, test_norms);
    tcase_add_test(tc, test_reduce);
    tcase_add_test(tc, test_pool);
    tcase_add_test(tc, test_pool_u8);
    tcase_add_test(tc, test_pool_nd);
    tcase_add_test(tc, test_attention);
    tcase_add_test(tc, test_attention_not_fused);
    tcase_add_test(tc, test_attention_plan_overlap);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
