/* Issue 3's ops through the C backend (memplan, emitter, JIT, rt_exec) against the
 * reference evaluator on random shapes, at 1 and 3 threads: activations (alone and as
 * epilogues), min/max/pow, comparisons, where, cast, pooling, group norm, reductions, data
 * movement in several dtypes, resize and conv_transpose2d. Float outputs agree within
 * 1e-4 * max|ref| (0: bitwise where the op is exact); other dtypes bitwise. */
#include "support_cg.h"

#include "frontend/npy.h"
#include "frontend/safetensors.h"
#include "frontend/slim.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const int threads[] = {1, 3};
static unsigned seed = 777;

#define D(...) ((const int64_t[]){__VA_ARGS__})

static ValueId input(Graph *g, const char *name, int rank, const int64_t *dims, RtTensor *t)
{
    return sup_input(g, name, rank, dims, t, &seed);
}

static ValueId input_int(Graph *g, const char *name, DType dt, int rank, const int64_t *dims,
                         int lo, int hi, RtTensor *t)
{
    return sup_input_int(g, name, dt, rank, dims, lo, hi, t, &seed);
}

static NodeId node(Graph *g, OpKind op, const char *name, const ValueId *ins, int n)
{
    return ir_node_new(g, op, name, (SrcLoc){0}, ins, n, 1);
}

static ValueId out_of(Graph *g, NodeId n)
{
    return g->nodes[n].outputs[0];
}

static void add_ep(Graph *g, NodeId n, OpKind op, ValueId operand, bool first)
{
    Node *nd = &g->nodes[n];
    nd->epilogue[nd->n_epilogue].op = op;
    nd->epilogue[nd->n_epilogue].operand = operand;
    nd->epilogue[nd->n_epilogue].operand_first = first;
    nd->n_epilogue++;
}

/* ---- elementwise ---- */

static const OpKind plain_unary[] = {
    IR_OP_RELU6,       IR_OP_GELU, IR_OP_GELU_TANH, IR_OP_SILU, IR_OP_HARDSWISH,
    IR_OP_HARDSIGMOID, IR_OP_EXP,  IR_OP_LOG,       IR_OP_SQRT, IR_OP_RSQRT,
    IR_OP_NEG,         IR_OP_ABS,  IR_OP_ERF,
};

START_TEST(test_unary)
{
    for (size_t k = 0; k < sizeof plain_unary / sizeof plain_unary[0]; k++) {
        /* alone, on inputs scaled to [-8, 8) so that every branch is taken */
        Graph *g = ir_graph_new("un");
        RtTensor in[1];
        ValueId x = input(g, "x", 3, D(2, 3 + (int64_t)k, 7), &in[0]);
        for (int64_t i = 0; i < 2 * (3 + (int64_t)k) * 7; i++)
            ((float *)in[0].data)[i] *= 8.0f;
        NodeId n = node(g, plain_unary[k], "u", &x, 1);
        ir_output_add(g, out_of(g, n));
        sup_run_check(g, in, 1, 1e-4, ir_ops[plain_unary[k]].name);
        /* as an epilogue of a linear, after a residual add */
        g = ir_graph_new("ep");
        x = input(g, "x", 2, D(5, 9), &in[0]);
        ValueId ins[3] = {x, sup_const_rand(g, "w", 2, D(11, 9), &seed),
                          sup_const_rand(g, "b", 1, D(11), &seed)};
        n = node(g, IR_OP_LINEAR, "fc", ins, 3);
        add_ep(g, n, IR_OP_MUL, sup_const_rand(g, "s", 1, D(11), &seed), false);
        add_ep(g, n, plain_unary[k], IR_NONE, false);
        ir_output_add(g, out_of(g, n));
        sup_run_check(g, in, 1, 1e-4, ir_ops[plain_unary[k]].name);
    }
}
END_TEST

START_TEST(test_unary_attrs)
{
    Graph *g = ir_graph_new("lrelu");
    RtTensor in[1];
    ValueId x = input(g, "x", 4, D(2, 3, 4, 5), &in[0]);
    NodeId n = node(g, IR_OP_LEAKY_RELU, "lr", &x, 1);
    ir_node_set_float(g, n, "negative_slope", 0.2);
    add_ep(g, n, IR_OP_RELU6, IR_NONE, false); /* a head with attributes takes an epilogue */
    ir_output_add(g, out_of(g, n));
    sup_run_check(g, in, 1, 0, "leaky_relu");
    for (int k = 0; k < 3; k++) {
        g = ir_graph_new("clip");
        x = input(g, "x", 2, D(17, 5), &in[0]);
        n = node(g, IR_OP_CLIP, "clip", &x, 1);
        if (k != 1)
            ir_node_set_float(g, n, "min", -0.25);
        if (k != 2)
            ir_node_set_float(g, n, "max", 0.5);
        ir_output_add(g, out_of(g, n));
        sup_run_check(g, in, 1, 0, "clip");
    }
}
END_TEST

START_TEST(test_binary)
{
    static const OpKind ops[] = {IR_OP_MINIMUM, IR_OP_MAXIMUM, IR_OP_POW};
    for (int k = 0; k < 3; k++) {
        Graph *g = ir_graph_new("bin");
        RtTensor in[2];
        ValueId a = input(g, "a", 3, D(4, 1, 6), &in[0]);
        ValueId b = input(g, "b", 2, D(5, 1), &in[1]);
        if (ops[k] == IR_OP_POW) /* positive bases */
            for (int i = 0; i < 24; i++)
                ((float *)in[0].data)[i] = fabsf(((float *)in[0].data)[i]) + 0.1f;
        ValueId ins[2] = {a, b};
        NodeId n = node(g, ops[k], "op", ins, 2);
        ir_output_add(g, out_of(g, n));
        sup_run_check(g, in, 2, 1e-4, ir_ops[ops[k]].name);
        /* as an epilogue, the operand first */
        g = ir_graph_new("ep");
        ValueId x = input(g, "x", 2, D(3, 8), &in[0]);
        ValueId lin[2] = {x, sup_const_rand(g, "w", 2, D(6, 8), &seed)};
        n = node(g, IR_OP_LINEAR, "fc", lin, 2);
        add_ep(g, n, ops[k], sup_const_rand(g, "c", 1, D(6), &seed), ops[k] == IR_OP_POW);
        if (ops[k] == IR_OP_POW) { /* 2 ** (a small exponent) */
            Node *nd = &g->nodes[n];
            float *cd = (float *)g->values[nd->epilogue[0].operand].data;
            for (int i = 0; i < 6; i++)
                cd[i] = 2.0f;
        }
        ir_output_add(g, out_of(g, n));
        sup_run_check(g, in, 1, 1e-4, ir_ops[ops[k]].name);
    }
}
END_TEST

START_TEST(test_compare_where)
{
    static const OpKind cmp[] = {IR_OP_EQ, IR_OP_NE, IR_OP_LT, IR_OP_LE, IR_OP_GT, IR_OP_GE};
    for (int k = 0; k < 6; k++) {
        /* f32 with equal values present, broadcast; then where on the result */
        Graph *g = ir_graph_new("cmp");
        RtTensor in[3];
        ValueId a = input_int(g, "a", IR_F32, 3, D(2, 3, 5), -2, 2, &in[0]);
        ValueId b = input_int(g, "b", IR_F32, 2, D(3, 1), -2, 2, &in[1]);
        ValueId ins[2] = {a, b};
        NodeId n = node(g, cmp[k], "cmp", ins, 2);
        ir_output_add(g, out_of(g, n));
        ValueId y = input(g, "y", 1, D(5), &in[2]);
        ValueId wins[3] = {out_of(g, n), a, y};
        NodeId w = node(g, IR_OP_WHERE, "where", wins, 3);
        ir_output_add(g, out_of(g, w));
        sup_run_check(g, in, 3, 0, ir_ops[cmp[k]].name);
        /* i64 and u8 operands */
        DType dts[2] = {IR_I64, IR_U8};
        for (int t = 0; t < 2; t++) {
            g = ir_graph_new("cmpi");
            a = input_int(g, "a", dts[t], 2, D(4, 6), 0, 3, &in[0]);
            b = input_int(g, "b", dts[t], 1, D(6), 0, 3, &in[1]);
            ValueId ins2[2] = {a, b};
            n = node(g, cmp[k], "cmp", ins2, 2);
            ValueId wins2[3] = {out_of(g, n), b, a}; /* where over i64/u8 data */
            w = node(g, IR_OP_WHERE, "where", wins2, 3);
            ir_output_add(g, out_of(g, n));
            ir_output_add(g, out_of(g, w));
            sup_run_check(g, in, 2, 0, ir_ops[cmp[k]].name);
        }
    }
}
END_TEST

START_TEST(test_cast)
{
    static const DType to[] = {IR_F64, IR_F32, IR_F16, IR_BF16, IR_I64,
                               IR_I32, IR_I8,  IR_U8,  IR_BOOL};
    for (size_t k = 0; k < sizeof to / sizeof to[0]; k++) {
        Graph *g = ir_graph_new("cast");
        RtTensor in[1];
        ValueId x = input(g, "x", 2, D(6, 7), &in[0]);
        for (int i = 0; i < 42; i++) /* [-40, 40), and some exact zeros */
            ((float *)in[0].data)[i] = i % 7 == 0 ? 0.0f : ((float *)in[0].data)[i] * 40.0f;
        if (to[k] == IR_U8)
            for (int i = 0; i < 42; i++)
                ((float *)in[0].data)[i] = fabsf(((float *)in[0].data)[i]);
        NodeId n = node(g, IR_OP_CAST, "to", &x, 1);
        ir_node_set_int(g, n, "dtype", to[k]);
        NodeId back = node(g, IR_OP_CAST, "back", &g->nodes[n].outputs[0], 1);
        ir_node_set_int(g, back, "dtype", IR_F32);
        ir_output_add(g, out_of(g, n));
        ir_output_add(g, out_of(g, back));
        sup_run_check(g, in, 1, 0, ir_dtype_name(to[k]));
    }
    /* from integers and bool */
    DType from[] = {IR_I64, IR_I32, IR_I8, IR_BOOL};
    for (int k = 0; k < 4; k++) {
        Graph *g = ir_graph_new("castf");
        RtTensor in[1];
        ValueId x = input_int(g, "x", from[k], 1, D(13), from[k] == IR_BOOL ? 0 : -50,
                              from[k] == IR_BOOL ? 1 : 50, &in[0]);
        NodeId n = node(g, IR_OP_CAST, "to", &x, 1);
        ir_node_set_int(g, n, "dtype", IR_F16);
        NodeId m = node(g, IR_OP_CAST, "to2", &x, 1);
        ir_node_set_int(g, m, "dtype", IR_F32);
        ir_output_add(g, out_of(g, n));
        ir_output_add(g, out_of(g, m));
        sup_run_check(g, in, 1, 0, ir_dtype_name(from[k]));
    }
}
END_TEST

/* ---- pooling, normalization, reductions ---- */

START_TEST(test_adaptive_pool)
{
    static const int64_t sizes[][4] = {{7, 5, 3, 2}, {8, 8, 1, 1}, {5, 9, 5, 4}, {4, 6, 7, 9}};
    for (int k = 0; k < 4; k++) {
        Graph *g = ir_graph_new("ap");
        RtTensor in[1];
        ValueId x = input(g, "x", 4, D(2, 3, sizes[k][0], sizes[k][1]), &in[0]);
        NodeId n = node(g, IR_OP_ADAPTIVE_AVG_POOL2D, "ap", &x, 1);
        ir_node_set_ints(g, n, "output_size", D(sizes[k][2], sizes[k][3]), 2);
        if (k == 1)
            add_ep(g, n, IR_OP_HARDSWISH, IR_NONE, false);
        ir_output_add(g, out_of(g, n));
        sup_run_check(g, in, 1, 0, "adaptive_avg_pool2d");
    }
}
END_TEST

START_TEST(test_group_norm)
{
    for (int k = 0; k < 3; k++) {
        Graph *g = ir_graph_new("gn");
        RtTensor in[1];
        ValueId x = input(g, "x", k == 2 ? 3 : 4, k == 2 ? D(3, 6, 10) : D(2, 8, 5, 3), &in[0]);
        int64_t C = k == 2 ? 6 : 8;
        ValueId ins[3] = {x, sup_const_rand(g, "w", 1, &C, &seed),
                          sup_const_rand(g, "b", 1, &C, &seed)};
        NodeId n = node(g, IR_OP_GROUP_NORM, "gn", ins, k == 1 ? 1 : 3);
        ir_node_set_int(g, n, "num_groups", k == 0 ? 4 : k == 1 ? 8 : 3);
        ir_node_set_float(g, n, "eps", 1e-5);
        if (k == 0)
            add_ep(g, n, IR_OP_SILU, IR_NONE, false);
        ir_output_add(g, out_of(g, n));
        sup_run_check(g, in, 1, 1e-4, "group_norm");
    }
}
END_TEST

START_TEST(test_reduce)
{
    static const OpKind ops[] = {IR_OP_REDUCE_SUM, IR_OP_REDUCE_MEAN, IR_OP_REDUCE_MAX,
                                 IR_OP_REDUCE_MIN};
    static const int64_t axes[][3] = {{1, 0, 0}, {-1, 0, 0}, {0, 2, 0}, {0, 1, 2}, {3, 1, 0}};
    static const int n_axes[] = {1, 1, 2, 0, 2};
    for (int k = 0; k < 4; k++)
        for (int a = 0; a < 5; a++) {
            Graph *g = ir_graph_new("red");
            RtTensor in[1];
            ValueId x = input(g, "x", 4, D(3, 4, 5, 6), &in[0]);
            NodeId n = node(g, ops[k], "r", &x, 1);
            if (n_axes[a])
                ir_node_set_ints(g, n, "axes", axes[a], n_axes[a]);
            ir_node_set_int(g, n, "keepdim", a % 2);
            ir_output_add(g, out_of(g, n));
            sup_run_check(g, in, 1, 0, ir_ops[ops[k]].name);
        }
    /* global average pooling's shape: 40 rows of 49, summed 16 rows at a time (two blocks
     * and 8 rows left), each row in the reference's order: the same bits */
    for (int k = 0; k < 2; k++) {
        Graph *g = ir_graph_new("gap");
        RtTensor in[1];
        ValueId x = input(g, "x", 4, D(2, 20, 7, 7), &in[0]);
        NodeId n = node(g, ops[k], "r", &x, 1);
        ir_node_set_ints(g, n, "axes", D(2, 3), 2);
        ir_node_set_int(g, n, "keepdim", 1);
        ir_output_add(g, out_of(g, n));
        sup_run_check(g, in, 1, 0, ir_ops[ops[k]].name);
    }
}
END_TEST

/* ---- data movement ---- */

START_TEST(test_permute_views)
{
    /* a symbolic batch dim: x [N, 3, 4, 5] */
    Graph *g = ir_graph_new("perm");
    int sym = ir_graph_symbol(g, "N");
    Type t = sup_f32(4, D(1, 3, 4, 5));
    t.shape.d[0] = (Dim){1, 1u << sym};
    ValueId x = ir_input_new(g, "x", t, (SrcLoc){0});
    RtTensor in[1];
    in[0] = sup_input_rand(4, D(2, 3, 4, 5), &seed);
    NodeId p = node(g, IR_OP_PERMUTE, "p", &x, 1);
    ir_node_set_ints(g, p, "perm", D(0, 3, 1, 2), 4);
    NodeId u = node(g, IR_OP_UNSQUEEZE, "u", &g->nodes[p].outputs[0], 1);
    ir_node_set_int(g, u, "axis", -1);
    NodeId q = node(g, IR_OP_PERMUTE, "q", &g->nodes[u].outputs[0], 1);
    ir_node_set_ints(g, q, "perm", D(4, 2, 0, 3, 1), 5);
    NodeId s = node(g, IR_OP_SQUEEZE, "s", &g->nodes[q].outputs[0], 1);
    ir_node_set_ints(g, s, "axes", D(0), 1);
    NodeId r = node(g, IR_OP_RELU, "r", &g->nodes[s].outputs[0], 1);
    ir_output_add(g, out_of(g, r));
    ir_output_add(g, out_of(g, u)); /* a view as an output */
    sup_run_check(g, in, 1, 0, "permute/squeeze/unsqueeze");

    /* i64 data through permute, expand, slice and concat */
    g = ir_graph_new("permi");
    x = input_int(g, "x", IR_I64, 3, D(2, 1, 4), -9, 9, &in[0]);
    p = node(g, IR_OP_PERMUTE, "p", &x, 1);
    ir_node_set_ints(g, p, "perm", D(2, 1, 0), 3);
    NodeId e = node(g, IR_OP_EXPAND, "e", &x, 1);
    ir_node_set_ints(g, e, "shape", D(3, 2, 5, -1), 4);
    NodeId sl = node(g, IR_OP_SLICE, "sl", &g->nodes[e].outputs[0], 1);
    ir_node_set_int(g, sl, "axis", 2);
    ir_node_set_int(g, sl, "start", -4);
    ir_node_set_int(g, sl, "end", 100);
    ir_node_set_int(g, sl, "step", 2);
    ValueId cat_in[2] = {out_of(g, sl), out_of(g, sl)};
    NodeId cat = node(g, IR_OP_CONCAT, "cat", cat_in, 2);
    ir_node_set_int(g, cat, "axis", -1);
    ir_output_add(g, out_of(g, p));
    ir_output_add(g, out_of(g, cat));
    sup_run_check(g, in, 1, 0, "i64 data movement");
}
END_TEST

START_TEST(test_expand_slice_concat)
{
    Graph *g = ir_graph_new("esc");
    RtTensor in[3];
    ValueId a = input(g, "a", 3, D(2, 1, 5), &in[0]);
    ValueId b = input(g, "b", 3, D(2, 3, 5), &in[1]);
    ValueId c = input(g, "c", 3, D(2, 2, 5), &in[2]);
    NodeId e = node(g, IR_OP_EXPAND, "e", &a, 1);
    ir_node_set_ints(g, e, "shape", D(4, 2, 3, 5), 4);
    ir_output_add(g, out_of(g, e));
    ValueId ins[3] = {a, b, c};
    NodeId cat = node(g, IR_OP_CONCAT, "cat", ins, 3);
    ir_node_set_int(g, cat, "axis", 1);
    ir_output_add(g, out_of(g, cat));
    static const int64_t sl[][4] = {
        {1, 0, 3, 1}, {1, -5, -1, 2}, {2, 1, 100, 3}, {0, 3, 1, 1}, {-1, -100, 2, 1}};
    for (int k = 0; k < 5; k++) {
        NodeId s = node(g, IR_OP_SLICE, "s", &g->nodes[cat].outputs[0], 1);
        ir_node_set_int(g, s, "axis", sl[k][0]);
        ir_node_set_int(g, s, "start", sl[k][1]);
        ir_node_set_int(g, s, "end", sl[k][2]);
        ir_node_set_int(g, s, "step", sl[k][3]);
        ir_output_add(g, out_of(g, s));
    }
    sup_run_check(g, in, 3, 0, "expand/concat/slice");
}
END_TEST

START_TEST(test_pad)
{
    for (int mode = 0; mode < 3; mode++) {
        Graph *g = ir_graph_new("pad");
        RtTensor in[1];
        ValueId x = input(g, "x", 4, D(2, 3, 4, 5), &in[0]);
        NodeId n = node(g, IR_OP_PAD, "pad", &x, 1);
        ir_node_set_ints(g, n, "pads", D(1, 3, 2, 0, 0, 1), 6);
        ir_node_set_int(g, n, "mode", mode);
        ir_node_set_float(g, n, "value", -1.5);
        ir_output_add(g, out_of(g, n));
        sup_run_check(g, in, 1, 0, "pad");
    }
    Graph *g = ir_graph_new("padi");
    RtTensor in[1];
    ValueId x = input_int(g, "x", IR_I32, 2, D(3, 4), -5, 5, &in[0]);
    NodeId n = node(g, IR_OP_PAD, "pad", &x, 1);
    ir_node_set_ints(g, n, "pads", D(2, 1), 2);
    ir_node_set_float(g, n, "value", 7);
    ir_output_add(g, out_of(g, n));
    sup_run_check(g, in, 1, 0, "pad i32");
}
END_TEST

START_TEST(test_index_select)
{
    for (int ax = 0; ax < 3; ax++) {
        Graph *g = ir_graph_new("isel");
        RtTensor in[2];
        ValueId x = input(g, "x", 3, D(4, 5, 6), &in[0]);
        int64_t len = ax == 0 ? 4 : ax == 1 ? 5 : 6;
        ValueId idx =
            input_int(g, "idx", ax == 1 ? IR_I32 : IR_I64, 2, D(2, 3), 0, (int)len - 1, &in[1]);
        ValueId ins[2] = {x, idx};
        NodeId n = node(g, IR_OP_INDEX_SELECT, "sel", ins, 2);
        ir_node_set_int(g, n, "axis", ax == 2 ? -1 : ax);
        ir_output_add(g, out_of(g, n));
        sup_run_check(g, in, 2, 0, "index_select");
    }
}
END_TEST

/* ---- resize, conv_transpose2d ---- */

START_TEST(test_resize)
{
    static const int64_t cases[][5] = {
        /* H, W, OH, OW, mode*2 + align */
        {4, 5, 8, 10, 0}, {5, 3, 7, 2, 0}, {4, 5, 8, 10, 2},    {5, 3, 7, 11, 2},
        {5, 3, 7, 11, 3}, {6, 6, 1, 1, 3}, {3, 4, 9, 8, 1 * 2},
    };
    for (int k = 0; k < 7; k++) {
        Graph *g = ir_graph_new("rs");
        RtTensor in[1];
        ValueId x = input(g, "x", 4, D(2, 3, cases[k][0], cases[k][1]), &in[0]);
        NodeId n = node(g, IR_OP_RESIZE, "rs", &x, 1);
        ir_node_set_ints(g, n, "size", D(cases[k][2], cases[k][3]), 2);
        ir_node_set_int(g, n, "mode", cases[k][4] / 2);
        ir_node_set_int(g, n, "align_corners", cases[k][4] % 2);
        if (k == 6) { /* scale_factor 3 and 2 given: PyTorch maps with 1/scale */
            ir_node_set_float(g, n, "scale_h", 3.0);
            ir_node_set_float(g, n, "scale_w", 2.0);
        }
        ir_output_add(g, out_of(g, n));
        sup_run_check(g, in, 1, 1e-5, "resize");
    }
}
END_TEST

START_TEST(test_conv_transpose2d)
{
    /* C, H, W, O, k, stride, pad, output_padding, dilation, groups, bias */
    static const int64_t cases[][11] = {
        {3, 4, 5, 2, 3, 1, 0, 0, 1, 1, 1}, {4, 5, 4, 6, 3, 2, 1, 1, 1, 1, 0},
        {4, 3, 3, 4, 2, 2, 0, 0, 1, 2, 1}, {2, 5, 6, 3, 3, 3, 2, 2, 2, 1, 1},
        {6, 4, 4, 6, 4, 2, 1, 0, 1, 3, 1},
    };
    for (int k = 0; k < 5; k++) {
        const int64_t *p = cases[k];
        Graph *g = ir_graph_new("ct");
        RtTensor in[1];
        ValueId x = input(g, "x", 4, D(2, p[0], p[1], p[2]), &in[0]);
        ValueId ins[3] = {x, sup_const_rand(g, "w", 4, D(p[0], p[3] / p[9], p[4], p[4]), &seed),
                          sup_const_rand(g, "b", 1, &p[3], &seed)};
        NodeId n = node(g, IR_OP_CONV_TRANSPOSE2D, "ct", ins, p[10] ? 3 : 2);
        ir_node_set_int(g, n, "stride", p[5]);
        ir_node_set_int(g, n, "padding", p[6]);
        ir_node_set_int(g, n, "output_padding", p[7]);
        ir_node_set_int(g, n, "dilation", p[8]);
        ir_node_set_int(g, n, "groups", p[9]);
        if (k == 1)
            add_ep(g, n, IR_OP_RELU, IR_NONE, false);
        ir_output_add(g, out_of(g, n));
        sup_run_check(g, in, 1, 1e-4, "conv_transpose2d");
    }
}
END_TEST

/* ---- the model language: the functions and modules, built and run ---- */

/* Loads src (written to a temporary folder with weights of the given tensors, random),
 * checks it against the reference with inputs of the given shapes, and removes the files. */
static void lang_case(const char *src, const StWriteTensor *w, int n_w, int n_in,
                      const int64_t (*shapes)[5], const int *ranks, const char *what)
{
    char dir[] = "/tmp/slimc_ops_more_XXXXXX";
    ck_assert(mkdtemp(dir));
    char mpath[256], wpath[256];
    snprintf(mpath, sizeof mpath, "%s/m.slim", dir);
    snprintf(wpath, sizeof wpath, "%s/m.safetensors", dir);
    Diag d;
    ir_diag_init(&d);
    float *data[16] = {0};
    StWriteTensor t[16];
    for (int i = 0; i < n_w; i++) {
        t[i] = w[i];
        size_t n = t[i].nbytes / sizeof(float);
        data[i] = malloc(t[i].nbytes + 1);
        for (size_t k = 0; k < n; k++)
            data[i][k] = sup_rand(&seed);
        t[i].data = data[i];
    }
    if (n_w)
        ck_assert_msg(fe_st_write(wpath, t, n_w, NULL, &d), "%s", ir_diag_text(&d));
    Graph *g = fe_slim_parse(mpath, src, strlen(src), &d);
    ck_assert_msg(g, "%s: %s", what, ir_diag_text(&d));
    ir_diag_fini(&d);
    RtTensor in[4];
    for (int i = 0; i < n_in; i++)
        in[i] = sup_input_rand(ranks[i], shapes[i], &seed);
    char msg[4096];
    bool ok = sup_check(g, in, threads, 2, 1e-4, msg, sizeof msg);
    for (int i = 0; i < n_in; i++)
        free(in[i].data);
    for (int i = 0; i < n_w; i++)
        free(data[i]);
    ir_graph_free(g);
    unlink(wpath);
    unlink(mpath);
    rmdir(dir);
    ck_assert_msg(ok, "%s: %s", what, msg);
}

START_TEST(test_language_functions)
{
    static const int64_t shapes[][5] = {{2, 3, 6, 5}, {5}};
    static const int ranks[] = {4, 1};
    lang_case(
        "model m(x: f32[N, 3, 6, 5], y: f32[5]) -> (f32[N, 3, 6, 5], f32[N, 5, 6, 3], f32[N, 3], "
        "f32[N, 3, 12, 10], f32[N, 6, 6, 5], f32[N, 3, 7, 8], f32[N, 3, 2, 5], f32[3, N, 1, 1])\n"
        "    a = relu6(x * 8) + gelu(x) + gelu(x, approximate=\"tanh\") + silu(x) + hardswish(x) + "
        "hardsigmoid(x)\n"
        "    a = a + exp(x) + log(abs(x) + 1) + sqrt(abs(x)) + rsqrt(abs(x) + 1) + neg(x) + "
        "erf(x)\n"
        "    a = a + leaky_relu(x, 0.1) + clamp(x, min=-0.5, max=0.5) + clip(x, max=0.2) + "
        "pow(abs(x), 2.5)\n"
        "    a = a + minimum(x, y) + maximum(x, 0) + where(gt(x, y), x, 0.5) + where(x <= 0.25, 1, "
        "x) + cast(cast(ge(x, 0), \"f32\"), \"f32\")\n"
        "    a = dropout(a, 0.3)\n"
        "    b = permute(transpose(x, 1, 3), 0, 3, 1, 2)\n"
        "    b = transpose(b, -1, -2) + expand(unsqueeze(y, 0), 1, 1, 1, 5) * 0\n"
        "    b = transpose(b, 1, 3)\n"
        "    c = sum(x, [2, 3]) + mean(x, dim=[-1, -2]) + squeeze(amin(amax(x, 3, keepdim=true), "
        "2, keepdim=true), [2, 3])\n"
        "    d = interpolate(x, scale_factor=2) + upsample(x, size=[12, 10], mode=\"bilinear\", "
        "align_corners=true)\n"
        "    e = cat([x, slice(x, 1, -3, 100, 1)], dim=1)\n"
        "    f = pad(x, [1, 2, 0, 1], mode=\"reflect\") + pad(x, [1, 2, 0, 1], mode=\"edge\") + "
        "pad(x, [1, 2, 0, 1], value=3)\n"
        "    h = adaptive_avg_pool2d(x, [2, 5])\n"
        "    k = permute(global_avg_pool2d(x), 1, 0, 2, 3)\n"
        "    return a, b, c, d, e, f, h, k\n",
        NULL, 0, 2, shapes, ranks, "functions");
}
END_TEST

START_TEST(test_language_modules)
{
    static const int64_t shapes[][5] = {{2, 4, 8, 8}, {3, 5, 8}};
    static const int ranks[] = {4, 3};
    const StWriteTensor w[] = {
        {"gn.weight", IR_F32, 1, D(4), NULL, 4 * 4},
        {"gn.bias", IR_F32, 1, D(4), NULL, 4 * 4},
        {"up.weight", IR_F32, 4, D(4, 3, 3, 3), NULL, 108 * 4},
        {"up.bias", IR_F32, 1, D(6), NULL, 6 * 4},
        {"attn.in_proj_weight", IR_F32, 2, D(24, 8), NULL, 192 * 4},
        {"attn.in_proj_bias", IR_F32, 1, D(24), NULL, 24 * 4},
        {"attn.out_proj.weight", IR_F32, 2, D(8, 8), NULL, 64 * 4},
        {"attn.out_proj.bias", IR_F32, 1, D(8), NULL, 8 * 4},
        {"attn2.in_proj_weight", IR_F32, 2, D(24, 8), NULL, 192 * 4},
        {"attn2.out_proj.weight", IR_F32, 2, D(8, 8), NULL, 64 * 4},
        {"scale", IR_F32, 2, D(5, 8), NULL, 40 * 4},
    };
    lang_case(
        "model m(x: f32[N, 4, 8, 8], q: f32[3, 5, 8]) -> (f32[N, 24], f32[N, 6, 16, 16], f32[3, 5, "
        "8])\n"
        "    weights \"m.safetensors\"\n"
        "    feat = Sequential(ReLU6(), GELU(approximate=\"tanh\"), SiLU(), Hardswish(), "
        "Hardsigmoid(), Sigmoid(), Tanh(), LeakyReLU(0.2), Dropout(0.1), Identity(), ReLU())\n"
        "    pool = Sequential(MaxPool2d(3, stride=2, padding=1), AvgPool2d(2, ceil_mode=true), "
        "AdaptiveAvgPool2d([2, 3]), Flatten())\n"
        "    gn = GroupNorm(2, 4)\n"
        "    up = ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)\n"
        "    attn = MultiheadAttention(8, 2)\n"
        "    attn2 = MultiheadAttention(8, 4, bias=false, batch_first=true)\n"
        "    scale = Parameter(5, 8)\n"
        "    h = gn(feat(x))\n"
        "    a = attn(q, q, q)\n"
        "    return pool(h), up(h), a + attn2(a * scale(), q, q)\n",
        w, (int)(sizeof w / sizeof w[0]), 2, shapes, ranks, "modules");
}
END_TEST

/* ---- against PyTorch: tests/unit/ops_torch (gen.py made the expected outputs) ---- */

static NpyArray read_npy(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    NpyArray a;
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(fe_npy_read(path, &a, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    return a;
}

START_TEST(test_against_pytorch)
{
    const char *src = getenv("SLIMC_SOURCE_DIR");
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/tests/unit/ops_torch", src ? src : ".");
    snprintf(path, sizeof path, "%s/ops.slim", dir);
    Diag d;
    ir_diag_init(&d);
    Graph *g = fe_slim_load(path, &d);
    ck_assert_msg(g, "%s", ir_diag_text(&d));
    char msg[1024];
    size_t len;
    char *code = sup_emit(g, &len, msg, sizeof msg);
    ck_assert_msg(code, "%s", msg);
    RtOptions ro;
    rt_options_default(&ro);
    RtModule *m = rt_compile(code, len, &ro, &d);
    ck_assert_msg(m, "%s", ir_diag_text(&d));
    RtExec *e = cg_exec_new(g, m, NULL, &d);
    ck_assert_msg(e, "%s", ir_diag_text(&d));
    NpyArray xa = read_npy(dir, "x.npy"), qa = read_npy(dir, "q.npy");
    RtTensor in[2] = {{IR_F32, xa.ndim, {0}, xa.data, xa.nbytes},
                      {IR_F32, qa.ndim, {0}, qa.data, qa.nbytes}};
    memcpy(in[0].shape, xa.shape, sizeof xa.shape);
    memcpy(in[1].shape, qa.shape, sizeof qa.shape);
    for (int t = 0; t < 2; t++) {
        RtTensor out[16];
        ck_assert_int_le(g->n_outputs, 16);
        ck_assert_msg(rt_exec_run(e, in, 2, out, g->n_outputs, threads[t], &d), "%s",
                      ir_diag_text(&d));
        for (int k = 0; k < g->n_outputs; k++) {
            char name[64];
            snprintf(name, sizeof name, "expected_%d.npy", k);
            NpyArray want = read_npy(dir, name);
            ck_assert_int_eq(want.nbytes, out[k].nbytes);
            const float *a = out[k].data, *b = want.data;
            size_t n = want.nbytes / sizeof(float);
            double mx = 0, err = 0;
            for (size_t i = 0; i < n; i++) {
                mx = fabs(b[i]) > mx ? fabs(b[i]) : mx;
                err = fabs((double)a[i] - b[i]) > err ? fabs((double)a[i] - b[i]) : err;
            }
            ck_assert_msg(err <= 1e-4 * mx, "output %d (%d threads): max error %g, max |want| %g",
                          k, threads[t], err, mx);
            fe_npy_free(&want);
            free(out[k].data);
        }
    }
    fe_npy_free(&xa);
    fe_npy_free(&qa);
    rt_exec_free(e);
    rt_module_free(m);
    free(code);
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

/* ---- shape errors name the node and both shapes ---- */

START_TEST(test_shape_errors)
{
    Graph *g = ir_graph_new("bad");
    RtTensor in[2];
    ValueId a = input(g, "a", 2, D(3, 4), &in[0]);
    ValueId b = input(g, "b", 2, D(3, 5), &in[1]);
    ValueId ins[2] = {a, b};
    node(g, IR_OP_CONCAT, "joined", ins, 2);
    node(g, IR_OP_LT, "less", ins, 2);
    Diag d;
    ir_diag_init(&d);
    ck_assert(!ir_infer_shapes(g, &d));
    const char *text = ir_diag_text(&d);
    ck_assert_msg(strstr(text, "concat 'joined'") && strstr(text, "f32[3, 4]") &&
                      strstr(text, "f32[3, 5]"),
                  "%s", text);
    ir_diag_fini(&d);
    free(in[0].data);
    free(in[1].data);
    ir_graph_free(g);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ops_more");
    TCase *t = tcase_create("ops");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, test_unary);
    tcase_add_test(t, test_unary_attrs);
    tcase_add_test(t, test_binary);
    tcase_add_test(t, test_compare_where);
    tcase_add_test(t, test_cast);
    tcase_add_test(t, test_adaptive_pool);
    tcase_add_test(t, test_group_norm);
    tcase_add_test(t, test_reduce);
    tcase_add_test(t, test_permute_views);
    tcase_add_test(t, test_expand_slice_concat);
    tcase_add_test(t, test_pad);
    tcase_add_test(t, test_index_select);
    tcase_add_test(t, test_resize);
    tcase_add_test(t, test_conv_transpose2d);
    tcase_add_test(t, test_shape_errors);
    tcase_add_test(t, test_language_functions);
    tcase_add_test(t, test_language_modules);
    tcase_add_test(t, test_against_pytorch);
    suite_add_tcase(s, t);
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
