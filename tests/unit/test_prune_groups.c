/* Channel groups and channel removal (passes/prune_groups.c) on small hand-built graphs:
 * conv -> batch norm -> relu -> conv, a residual add, concat offsets, a depthwise conv,
 * flatten -> linear, an op the analysis does not understand, the graph's outputs, and
 * removing every channel. Each graph's weights are 1 + (index % 7) (nonzero) unless a test
 * zeros a channel, so which channel leaves is known. The end-to-end numeric checks are
 * tests/cli/prune_channels.sh. */
#include "passes/pass.h"
#include "passes/prune.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const SrcLoc here = {"test", 1, 1};

/* An f32 constant of the given shape, element i = 1 + i % 7 (each its own payload). */
static ValueId cst(Graph *g, const char *name, int rank, const int64_t *dims)
{
    Type t = {.dtype = IR_F32, .shape = {.rank = rank}};
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        t.shape.d[i] = ir_dim(dims[i]);
        n *= dims[i];
    }
    float *p = ir_arena_alloc(g->arena, sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)(1 + i % 7);
    return ir_const_new(g, name, t, p, sizeof(float) * (size_t)n, here);
}

static ValueId input4(Graph *g, int64_t c, int64_t hw)
{
    Type t = {.dtype = IR_F32, .shape = {4, {ir_dim(1), ir_dim(c), ir_dim(hw), ir_dim(hw)}}};
    return ir_input_new(g, "x", t, here);
}

/* conv2d(x, w[cout, cin/groups, k, k], b[cout]) with padding k/2; returns the node. */
static NodeId conv(Graph *g, const char *name, ValueId x, int64_t cin, int64_t cout, int64_t k,
                   int64_t groups)
{
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s.weight", name);
    snprintf(bn, sizeof bn, "%s.bias", name);
    ValueId in[3] = {x, cst(g, wn, 4, (const int64_t[]){cout, cin / groups, k, k}),
                     cst(g, bn, 1, (const int64_t[]){cout})};
    NodeId n = ir_node_new(g, IR_OP_CONV2D, name, here, in, 3, 1);
    ir_node_set_ints(g, n, "padding", (const int64_t[]){k / 2, k / 2}, 2);
    ir_node_set_int(g, n, "groups", groups);
    return n;
}

static ValueId out(Graph *g, NodeId n)
{
    return g->nodes[n].outputs[0];
}
static ValueId weight(Graph *g, NodeId n)
{
    return g->nodes[n].inputs[1];
}

static NodeId unary(Graph *g, OpKind op, const char *name, ValueId x)
{
    return ir_node_new(g, op, name, here, &x, 1, 1);
}

static void infer(Graph *g)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
}

/* Zeros output channel c of a conv or (logical) linear weight [O, ...]. */
static void zero_channel(Graph *g, NodeId n, int64_t c)
{
    Value *w = &g->values[weight(g, n)];
    int64_t o = w->type.shape.d[0].c, per = (int64_t)(w->data_bytes / sizeof(float)) / o;
    float *p = (float *)w->data;
    for (int64_t i = 0; i < per; i++)
        p[c * per + i] = 0;
}

static int64_t dim(Graph *g, ValueId v, int k)
{
    return g->values[v].type.shape.d[k].c;
}

/* Runs the removal with chosen = every node; returns the diagnostics' text (static). */
static const char *remove_all(Graph *g, bool expect_ok)
{
    static char text[2048];
    bool *chosen = ir_arena_alloc(g->arena, sizeof(bool) * (size_t)g->n_nodes);
    for (NodeId i = 0; i < g->n_nodes; i++)
        chosen[i] = true;
    Diag d;
    ir_diag_init(&d);
    bool ok = pass_prune_remove_channels(g, chosen, NULL, &d);
    snprintf(text, sizeof text, "%s", ir_diag_text(&d));
    ck_assert_msg(ok == expect_ok, "%s", text);
    if (ok) {
        ir_diag_fini(&d);
        ir_diag_init(&d);
        ck_assert_msg(ir_verify(g, &d), "%s", ir_diag_text(&d));
    }
    ir_diag_fini(&d);
    return text;
}

START_TEST(conv_bn_relu_conv)
{
    /* x[1,2,5,5] -> a (4, 3x3) -> bn -> relu -> b (3, 1x1) -> output */
    Graph *g = ir_graph_new("t");
    ValueId x = input4(g, 2, 5);
    NodeId a = conv(g, "a", x, 2, 4, 3, 1);
    ValueId bn_in[5] = {out(g, a)};
    const char *pn[4] = {"bn.weight", "bn.bias", "bn.mean", "bn.var"};
    for (int k = 0; k < 4; k++)
        bn_in[k + 1] = cst(g, pn[k], 1, (const int64_t[]){4});
    NodeId bn = ir_node_new(g, IR_OP_BATCH_NORM, "bn", here, bn_in, 5, 1);
    NodeId r = unary(g, IR_OP_RELU, "relu", out(g, bn));
    NodeId b = conv(g, "b", out(g, r), 4, 3, 1, 1);
    ir_output_add(g, out(g, b));
    infer(g);
    PruneGroups *G = pass_prune_groups(g);
    for (int c = 0; c < 4; c++) {
        int64_t k = pass_prune_group_of(G, out(g, a), c);
        ck_assert_int_eq(pass_prune_group_of(G, out(g, bn), c), k);
        ck_assert_int_eq(pass_prune_group_of(G, out(g, r), c), k);
        ck_assert_int_eq(pass_prune_group_blocked(G, out(g, r), c), IR_NONE);
        ck_assert_int_ne(pass_prune_group_of(G, out(g, b), c % 3), k); /* b's own channels */
        if (c)
            ck_assert_int_ne(pass_prune_group_of(G, out(g, a), c - 1), k);
    }
    ck_assert_int_eq(pass_prune_group_blocked(G, out(g, b), 0), -2); /* the graph's output */
    ck_assert_int_eq(pass_prune_group_blocked(G, x, 1), -2);         /* its input */
    /* zero a's channels 1 and 3: they leave a, bn, relu and b's input */
    zero_channel(g, a, 1);
    zero_channel(g, a, 3);
    float b_w[12];
    memcpy(b_w, g->values[weight(g, b)].data, sizeof b_w); /* [3, 4, 1, 1] */
    ck_assert_str_eq(remove_all(g, true), "");
    ck_assert_int_eq(dim(g, weight(g, a), 0), 2);
    ck_assert_int_eq(dim(g, g->nodes[a].inputs[2], 0), 2);
    for (int k = 1; k < 5; k++)
        ck_assert_int_eq(dim(g, g->nodes[bn].inputs[k], 0), 2);
    ck_assert_int_eq(dim(g, out(g, r), 1), 2);
    ck_assert_int_eq(dim(g, weight(g, b), 0), 3);
    ck_assert_int_eq(dim(g, weight(g, b), 1), 2);
    const float *nb = g->values[weight(g, b)].data; /* b keeps input columns 0 and 2 */
    for (int o = 0; o < 3; o++) {
        ck_assert_float_eq(nb[o * 2 + 0], b_w[o * 4 + 0]);
        ck_assert_float_eq(nb[o * 2 + 1], b_w[o * 4 + 2]);
    }
    const float *na = g->values[weight(g, a)].data; /* a keeps its channels 0 and 2 */
    ck_assert_float_eq(na[0], 1.0f);
    ck_assert_float_eq(na[18], (float)(1 + 36 % 7));
    ck_assert_uint_eq(g->values[weight(g, a)].data_bytes, sizeof(float) * 2 * 2 * 9);
    ir_graph_free(g);
}
END_TEST

START_TEST(residual_add)
{
    /* a (4) -> relu = h; b (4) of h; s = h + b(h); c (2) of s -> output */
    Graph *g = ir_graph_new("t");
    ValueId x = input4(g, 2, 4);
    NodeId a = conv(g, "a", x, 2, 4, 3, 1);
    NodeId r = unary(g, IR_OP_RELU, "relu", out(g, a));
    NodeId b = conv(g, "b", out(g, r), 4, 4, 3, 1);
    ValueId sum_in[2] = {out(g, r), out(g, b)};
    NodeId s = ir_node_new(g, IR_OP_ADD, "add", here, sum_in, 2, 1);
    NodeId c = conv(g, "c", out(g, s), 4, 2, 1, 1);
    ir_output_add(g, out(g, c));
    infer(g);
    PruneGroups *G = pass_prune_groups(g);
    for (int ch = 0; ch < 4; ch++) /* the add ties both branches */
        ck_assert_int_eq(pass_prune_group_of(G, out(g, a), ch),
                         pass_prune_group_of(G, out(g, b), ch));
    /* a channel zero in one branch only stays */
    zero_channel(g, a, 2);
    ck_assert_str_eq(remove_all(g, true), "");
    ck_assert_int_eq(dim(g, out(g, s), 1), 4);
    /* zero in both: it leaves a, b (input and output) and c's input */
    zero_channel(g, b, 2);
    ck_assert_str_eq(remove_all(g, true), "");
    ck_assert_int_eq(dim(g, out(g, s), 1), 3);
    ck_assert_int_eq(dim(g, weight(g, b), 0), 3);
    ck_assert_int_eq(dim(g, weight(g, b), 1), 3);
    ck_assert_int_eq(dim(g, weight(g, c), 1), 3);
    ck_assert_int_eq(dim(g, weight(g, a), 0), 3);
    ir_graph_free(g);
}
END_TEST

START_TEST(concat_offsets)
{
    /* a (2) and b (3) concatenated along the channels (5) -> c (2) -> output */
    Graph *g = ir_graph_new("t");
    ValueId x = input4(g, 1, 4);
    NodeId a = conv(g, "a", x, 1, 2, 3, 1);
    NodeId b = conv(g, "b", x, 1, 3, 3, 1);
    ValueId cat_in[2] = {out(g, a), out(g, b)};
    NodeId cat = ir_node_new(g, IR_OP_CONCAT, "cat", here, cat_in, 2, 1);
    ir_node_set_int(g, cat, "axis", 1);
    NodeId c = conv(g, "c", out(g, cat), 5, 2, 1, 1);
    ir_output_add(g, out(g, c));
    infer(g);
    PruneGroups *G = pass_prune_groups(g);
    ck_assert_int_eq(pass_prune_group_of(G, out(g, cat), 1), pass_prune_group_of(G, out(g, a), 1));
    ck_assert_int_eq(pass_prune_group_of(G, out(g, cat), 2), pass_prune_group_of(G, out(g, b), 0));
    ck_assert_int_eq(pass_prune_group_of(G, out(g, cat), 4), pass_prune_group_of(G, out(g, b), 2));
    float c_w[10];
    memcpy(c_w, g->values[weight(g, c)].data, sizeof c_w); /* [2, 5, 1, 1] */
    zero_channel(g, b, 1);                                 /* the concat's channel 3 */
    ck_assert_str_eq(remove_all(g, true), "");
    ck_assert_int_eq(dim(g, out(g, cat), 1), 4);
    ck_assert_int_eq(dim(g, weight(g, b), 0), 2);
    ck_assert_int_eq(dim(g, weight(g, a), 0), 2);
    const float *nc = g->values[weight(g, c)].data;
    const int kept[4] = {0, 1, 2, 4};
    for (int o = 0; o < 2; o++)
        for (int k = 0; k < 4; k++)
            ck_assert_float_eq(nc[o * 4 + k], c_w[o * 5 + kept[k]]);
    ir_graph_free(g);
}
END_TEST

START_TEST(depthwise)
{
    /* a (4) -> depthwise (groups 4) -> relu6 -> c (2) -> output */
    Graph *g = ir_graph_new("t");
    ValueId x = input4(g, 2, 4);
    NodeId a = conv(g, "a", x, 2, 4, 1, 1);
    NodeId dw = conv(g, "dw", out(g, a), 4, 4, 3, 4);
    NodeId r = unary(g, IR_OP_RELU6, "relu6", out(g, dw));
    NodeId c = conv(g, "c", out(g, r), 4, 2, 1, 1);
    ir_output_add(g, out(g, c));
    infer(g);
    PruneGroups *G = pass_prune_groups(g);
    for (int ch = 0; ch < 4; ch++)
        ck_assert_int_eq(pass_prune_group_of(G, out(g, a), ch),
                         pass_prune_group_of(G, out(g, dw), ch));
    zero_channel(g, a, 2);
    ck_assert_str_eq(remove_all(g, true), "");
    ck_assert_int_eq(dim(g, weight(g, dw), 0), 3);
    ck_assert_int_eq(dim(g, weight(g, dw), 1), 1);
    ck_assert_int_eq(ir_attr_groups(&g->nodes[dw]), 3);
    ck_assert_int_eq(dim(g, weight(g, c), 1), 3);
    ck_assert_int_eq(dim(g, out(g, dw), 1), 3);
    ir_graph_free(g);
}
END_TEST

START_TEST(grouped_conv_blocks)
{
    /* a (4) -> grouped conv (groups 2, 4 -> 4) -> c: a's channels stay */
    Graph *g = ir_graph_new("t");
    ValueId x = input4(g, 2, 4);
    NodeId a = conv(g, "a", x, 2, 4, 1, 1);
    NodeId gc = conv(g, "gc", out(g, a), 4, 4, 3, 2);
    NodeId c = conv(g, "c", out(g, gc), 4, 2, 1, 1);
    ir_output_add(g, out(g, c));
    infer(g);
    zero_channel(g, a, 0);
    const char *t = remove_all(g, true);
    ck_assert_msg(strstr(t, "warning: prune: 1 zero channel of 'a' kept: they reach 'gc' "
                            "(conv2d, a grouped conv)"),
                  "%s", t);
    ck_assert_int_eq(dim(g, weight(g, a), 0), 4);
    ir_graph_free(g);
}
END_TEST

START_TEST(flatten_linear)
{
    /* a (3, 2x2) -> flatten (12) -> fc (12 -> 5) -> relu -> fc2 (5 -> 2) -> output */
    Graph *g = ir_graph_new("t");
    ValueId x = input4(g, 1, 2);
    NodeId a = conv(g, "a", x, 1, 3, 1, 1);
    NodeId f = unary(g, IR_OP_FLATTEN, "flatten", out(g, a));
    ValueId fc_in[3] = {out(g, f), cst(g, "fc.weight", 2, (const int64_t[]){5, 12}),
                        cst(g, "fc.bias", 1, (const int64_t[]){5})};
    NodeId fc = ir_node_new(g, IR_OP_LINEAR, "fc", here, fc_in, 3, 1);
    NodeId r = unary(g, IR_OP_RELU, "relu", out(g, fc));
    ValueId fc2_in[2] = {out(g, r), cst(g, "fc2.weight", 2, (const int64_t[]){2, 5})};
    NodeId fc2 = ir_node_new(g, IR_OP_LINEAR, "fc2", here, fc2_in, 2, 1);
    ir_output_add(g, out(g, fc2));
    infer(g);
    PruneGroups *G = pass_prune_groups(g);
    for (int j = 0; j < 4; j++) /* channel 1 is features 4..7 */
        ck_assert_int_eq(pass_prune_group_of(G, out(g, f), 4 + j),
                         pass_prune_group_of(G, out(g, a), 1));
    ck_assert_int_ne(pass_prune_group_of(G, out(g, f), 3), pass_prune_group_of(G, out(g, a), 1));
    float fc_w[60];
    memcpy(fc_w, g->values[weight(g, fc)].data, sizeof fc_w);
    zero_channel(g, a, 1);
    zero_channel(g, fc, 3); /* linear -> relu -> linear: fc's output feature 3 */
    ck_assert_str_eq(remove_all(g, true), "");
    ck_assert_int_eq(dim(g, out(g, f), 1), 8);
    ck_assert_int_eq(dim(g, weight(g, fc), 0), 4);
    ck_assert_int_eq(dim(g, weight(g, fc), 1), 8);
    ck_assert_int_eq(dim(g, g->nodes[fc].inputs[2], 0), 4);
    ck_assert_int_eq(dim(g, weight(g, fc2), 1), 4);
    const float *nw = g->values[weight(g, fc)].data; /* row 4 (was 4): columns 0..3, 8..11 */
    for (int k = 0; k < 8; k++)
        ck_assert_float_eq(nw[3 * 8 + k], fc_w[4 * 12 + (k < 4 ? k : k + 4)]);
    ir_graph_free(g);
}
END_TEST

START_TEST(reshape_and_transposed_linear)
{
    /* a (3, 2x2) -> reshape [-1, 12] -> fc (12 -> 5), laid out [K, N] -> output */
    Graph *g = ir_graph_new("t");
    ValueId x = input4(g, 1, 2);
    NodeId a = conv(g, "a", x, 1, 3, 1, 1);
    NodeId rs = unary(g, IR_OP_RESHAPE, "reshape", out(g, a));
    ir_node_set_ints(g, rs, "shape", (const int64_t[]){-1, 12}, 2);
    ValueId fc_in[2] = {out(g, rs), cst(g, "fc.weight", 2, (const int64_t[]){5, 12})};
    NodeId fc = ir_node_new(g, IR_OP_LINEAR, "fc", here, fc_in, 2, 1);
    ir_output_add(g, out(g, fc));
    infer(g);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(pass_pipeline_run(g, "layout", (SrcLoc){0}, NULL, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ck_assert_int_eq(ir_attr_w_transposed(&g->nodes[fc]), 1);
    float fc_t[60]; /* [12, 5] */
    memcpy(fc_t, g->values[weight(g, fc)].data, sizeof fc_t);
    zero_channel(g, a, 0);
    ck_assert_str_eq(remove_all(g, true), "");
    int64_t shape[2];
    ck_assert_int_eq(ir_attr_shape(&g->nodes[rs], shape, 2), 2);
    ck_assert_int_eq(shape[1], 8);
    ck_assert_int_eq(dim(g, out(g, rs), 1), 8);
    ck_assert_int_eq(dim(g, weight(g, fc), 0), 8); /* [K, N]: K lost features 0..3 */
    ck_assert_int_eq(dim(g, weight(g, fc), 1), 5);
    const float *nw = g->values[weight(g, fc)].data;
    for (int k = 0; k < 8; k++)
        for (int o = 0; o < 5; o++)
            ck_assert_float_eq(nw[k * 5 + o], fc_t[(k + 4) * 5 + o]);
    ir_graph_free(g);
}
END_TEST

START_TEST(shared_constant_blocks)
{
    /* a and b (2 each) share one bias constant: its channels are kept */
    Graph *g = ir_graph_new("t");
    ValueId x = input4(g, 1, 3);
    NodeId a = conv(g, "a", x, 1, 2, 1, 1);
    NodeId b = conv(g, "b", x, 1, 2, 1, 1);
    g->nodes[b].inputs[2] = g->nodes[a].inputs[2];
    ValueId sum_in[2] = {out(g, a), out(g, b)};
    NodeId s = ir_node_new(g, IR_OP_ADD, "add", here, sum_in, 2, 1);
    NodeId c = conv(g, "c", out(g, s), 2, 2, 1, 1);
    ir_output_add(g, out(g, c));
    infer(g);
    zero_channel(g, a, 1);
    zero_channel(g, b, 1);
    const char *t = remove_all(g, true);
    ck_assert_msg(strstr(t, "warning: prune: 1 zero channel of 'a' kept"), "%s", t);
    ck_assert_int_eq(dim(g, out(g, s), 1), 2);
    ir_graph_free(g);
}
END_TEST

START_TEST(sequence_linear)
{
    /* x[1, 4, 6] -> fc1 (6 -> 5) -> gelu -> fc2 (5 -> 3) -> output: fc1's features over a
     * sequence leave fc1's rows and fc2's columns */
    Graph *g = ir_graph_new("t");
    Type xt = {.dtype = IR_F32, .shape = {3, {ir_dim(1), ir_dim(4), ir_dim(6)}}};
    ValueId x = ir_input_new(g, "x", xt, here);
    ValueId in1[3] = {x, cst(g, "fc1.weight", 2, (const int64_t[]){5, 6}),
                      cst(g, "fc1.bias", 1, (const int64_t[]){5})};
    NodeId fc1 = ir_node_new(g, IR_OP_LINEAR, "fc1", here, in1, 3, 1);
    NodeId act = unary(g, IR_OP_GELU, "gelu", out(g, fc1));
    ValueId in2[2] = {out(g, act), cst(g, "fc2.weight", 2, (const int64_t[]){3, 5})};
    NodeId fc2 = ir_node_new(g, IR_OP_LINEAR, "fc2", here, in2, 2, 1);
    ir_output_add(g, out(g, fc2));
    infer(g);
    zero_channel(g, fc1, 2);
    ck_assert_str_eq(remove_all(g, true), "");
    ck_assert_int_eq(dim(g, out(g, act), 2), 4);
    ck_assert_int_eq(dim(g, weight(g, fc1), 0), 4);
    ck_assert_int_eq(dim(g, weight(g, fc2), 1), 4);
    ir_graph_free(g);
}
END_TEST

START_TEST(unknown_op_blocks)
{
    /* a (3) -> sigmoid -> c: sigmoid(0) is not 0, so a zero channel of a stays */
    Graph *g = ir_graph_new("t");
    ValueId x = input4(g, 1, 3);
    NodeId a = conv(g, "a", x, 1, 3, 1, 1);
    NodeId s = unary(g, IR_OP_SIGMOID, "gate", out(g, a));
    g->nodes[s].loc = (SrcLoc){"m.slim", 7, 9};
    NodeId c = conv(g, "c", out(g, s), 3, 2, 1, 1);
    ir_output_add(g, out(g, c));
    infer(g);
    PruneGroups *G = pass_prune_groups(g);
    ck_assert_int_eq(pass_prune_group_blocked(G, out(g, a), 0), s);
    zero_channel(g, a, 0);
    zero_channel(g, a, 2);
    const char *t = remove_all(g, true);
    ck_assert_msg(strstr(t, "m.slim:7:9: warning: prune: 2 zero channels of 'a' kept: they "
                            "reach 'gate' (sigmoid), which channel removal does not analyse"),
                  "%s", t);
    ck_assert_int_eq(dim(g, weight(g, a), 0), 3);
    ck_assert_int_eq(dim(g, out(g, s), 1), 3);
    ir_graph_free(g);
}
END_TEST

START_TEST(outputs_and_all_channels)
{
    /* a (2) -> relu -> output: its channels are the model's */
    Graph *g = ir_graph_new("t");
    ValueId x = input4(g, 1, 3);
    NodeId a = conv(g, "a", x, 1, 2, 1, 1);
    NodeId r = unary(g, IR_OP_RELU, "relu", out(g, a));
    ir_output_add(g, out(g, r));
    infer(g);
    zero_channel(g, a, 1);
    const char *t = remove_all(g, true);
    ck_assert_msg(strstr(t, "warning: prune: 1 zero channel of 'a' kept: they reach the model's "
                            "inputs or outputs"),
                  "%s", t);
    ck_assert_int_eq(dim(g, weight(g, a), 0), 2);
    ir_graph_free(g);
    /* every channel zero: an error, nothing changes */
    g = ir_graph_new("t");
    x = input4(g, 1, 3);
    a = conv(g, "a", x, 1, 2, 1, 1);
    NodeId c = conv(g, "c", out(g, a), 2, 2, 1, 1);
    ir_output_add(g, out(g, c));
    infer(g);
    zero_channel(g, a, 0);
    zero_channel(g, a, 1);
    t = remove_all(g, false);
    ck_assert_msg(strstr(t, "error: prune: every one of the 2 channels of 'a' is zero"), "%s", t);
    ck_assert_int_eq(dim(g, weight(g, a), 0), 2);
    ck_assert_int_eq(dim(g, weight(g, c), 1), 2);
    ir_graph_free(g);
}
END_TEST

START_TEST(through_the_pass)
{
    /* prune(..., method=ln_structured) removes by default; remove=false keeps the shape */
    for (int remove = 0; remove < 2; remove++) {
        Graph *g = ir_graph_new("t");
        ValueId x = input4(g, 1, 3);
        NodeId a = conv(g, "a", x, 1, 4, 1, 1);
        NodeId c = conv(g, "c", out(g, a), 4, 2, 1, 1);
        ir_output_add(g, out(g, c));
        infer(g);
        Diag d;
        ir_diag_init(&d);
        PassRunOptions o = {.verify = true};
        ck_assert_msg(pass_pipeline_run(g,
                                        remove ? "prune(a, method=ln_structured, amount=0.5)"
                                               : "prune(a, method=ln_structured, amount=0.5, "
                                                 "remove=false)",
                                        (SrcLoc){0}, &o, &d),
                      "%s", ir_diag_text(&d));
        ck_assert_str_eq(ir_diag_text(&d), "");
        ck_assert_int_eq(dim(g, weight(g, a), 0), remove ? 2 : 4);
        ck_assert_int_eq(dim(g, weight(g, c), 1), remove ? 2 : 4);
        ck_assert_int_eq(dim(g, out(g, a), 1), remove ? 2 : 4);
        ir_diag_fini(&d);
        ir_diag_init(&d);
        ck_assert(!pass_pipeline_run(g,
                                     "prune(a, method=ln_structured, amount=1, dim=1, remove=true)",
                                     (SrcLoc){0}, NULL, &d));
        ck_assert_msg(strstr(ir_diag_text(&d), "remove=true removes output channels: it needs "
                                               "dim=0"),
                      "%s", ir_diag_text(&d));
        ir_diag_fini(&d);
        ir_graph_free(g);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prune_groups");
    TCase *t = tcase_create("groups");
    tcase_add_test(t, conv_bn_relu_conv);
    tcase_add_test(t, residual_add);
    tcase_add_test(t, concat_offsets);
    tcase_add_test(t, depthwise);
    tcase_add_test(t, grouped_conv_blocks);
    tcase_add_test(t, flatten_linear);
    tcase_add_test(t, reshape_and_transposed_linear);
    tcase_add_test(t, shared_constant_blocks);
    tcase_add_test(t, sequence_linear);
    tcase_add_test(t, unknown_op_blocks);
    tcase_add_test(t, outputs_and_all_channels);
    tcase_add_test(t, through_the_pass);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
