/* Calling a module instance: the nodes a Conv2d, Linear, norm, MultiheadAttention ... call
 * becomes, each time it is called (frontend/build_module.c declares them). */
#include "frontend/builder.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Calls a module of issue 3 (all but MultiheadAttention and Parameter) on x. */
static Val call_more(Builder *b, Module *m, ValueId x, SrcLoc loc)
{
    if (m->kind == MOD_IDENTITY)
        return fe_dropout(b, x, m->drop_p, m->path, loc);
    if (m->kind == MOD_ADAPTIVE_POOL)
        return fe_adaptive_pool(b, x, m->out_size, m->path, loc);
    ValueId in[1 + FE_MAX_PARAMS];
    in[0] = x;
    for (int i = 0; i < m->n_params; i++)
        in[1 + i] = fe_param_value(b, m, i);
    NodeId node = fe_node(b, m->op, m->path, loc, in, 1 + m->n_params);
    if (node == IR_NONE)
        return fe_err_val(loc);
    Graph *g = b->g;
    switch (m->kind) {
    case MOD_ACT:
        if (m->op == IR_OP_LEAKY_RELU)
            ir_node_set_float(g, node, "negative_slope", m->slope);
        break;
    case MOD_FLATTEN:
        ir_node_set_int(g, node, "start_dim", m->start_dim);
        ir_node_set_int(g, node, "end_dim", m->end_dim);
        break;
    case MOD_POOL:
        ir_node_set_ints(g, node, "kernel", m->kernel, 2);
        ir_node_set_ints(g, node, "stride", m->stride, 2);
        ir_node_set_ints(g, node, "padding", m->padding, 2);
        if (m->op == IR_OP_MAX_POOL2D)
            ir_node_set_ints(g, node, "dilation", m->dilation, 2);
        ir_node_set_int(g, node, "ceil_mode", m->ceil_mode);
        if (m->op == IR_OP_AVG_POOL2D)
            ir_node_set_int(g, node, "count_include_pad", m->count_include_pad);
        break;
    case MOD_GROUPNORM:
        ir_node_set_int(g, node, "num_groups", m->num_groups);
        ir_node_set_float(g, node, "eps", m->eps);
        break;
    case MOD_CONVT:
        fe_conv_transpose_attrs(b, node, m->stride, m->padding, m->output_padding, m->dilation,
                                m->groups);
        break;
    default: break;
    }
    return fe_node_done(b, node, loc);
}

/* Rows [row0, row0 + rows) of parameter i (2-D [R, C] or 1-D [R]) as a constant of its
 * own, sharing the parameter's data; a typed placeholder when the data is missing. */
static ValueId param_rows(Builder *b, Module *m, int i, int64_t row0, int64_t rows,
                          const char *what)
{
    const Param *p = &m->params[i];
    int64_t cols = p->shape.rank == 2 ? p->shape.d[1].c : 1;
    Type t = {.dtype = IR_F32, .shape = p->shape};
    t.shape.d[0] = ir_dim(rows);
    const char *name = ir_arena_printf(b->arena, "%s.%s", p->name, what);
    SrcLoc loc = fe_gloc(b, m->loc);
    if (!p->data)
        return ir_value_new(b->g, name, t, loc);
    const float *data = (const float *)p->data + row0 * cols;
    return ir_const_new(b->g, name, t, data, (size_t)(rows * cols) * sizeof(float), loc);
}

/* MultiheadAttention(query, key, value) as PyTorch computes it at inference (no mask):
 * per head softmax(q k^T / sqrt(d)) v, the heads concatenated, then out_proj. Lowered to
 * linear, reshape, permute, matmul, mul and softmax nodes. */
static Val call_mha(Builder *b, Module *m, const Val *inputs, int n, SrcLoc loc)
{
    if (n != 3) {
        fe_error(b, loc, "'%s' (MultiheadAttention) takes 3 inputs (query, key, value), got %d",
                 m->path, n);
        return fe_err_val(loc);
    }
    ValueId qkv[3];
    bool ok = true;
    for (int i = 0; i < 3; i++)
        ok &= fe_to_tensor(b, &inputs[i], &qkv[i]);
    if (!ok)
        return fe_err_val(loc);
    Graph *g = b->g;
    int64_t E = m->embed_dim, H = m->num_heads, D = E / H;
    bool bias = m->n_params == 4;
    for (int i = 0; i < 3; i++) {
        const Type *t = &g->values[qkv[i]].type;
        if (t->shape.rank < 0)
            return fe_err_val(loc);
        if (t->shape.rank != 3 || !ir_dim_eq(t->shape.d[2], ir_dim(E))) {
            char ts[160];
            fe_error(
                b, loc,
                "'%s' (MultiheadAttention, embed_dim %lld): input %d must be [%s, %lld], got %s",
                m->path, (long long)E, i, m->batch_first ? "batch, seq" : "seq, batch",
                (long long)E, ir_type_str(g, t, ts, sizeof ts));
            return fe_err_val(loc);
        }
    }
    static const int64_t swap01[3] = {1, 0, 2};
    const char *p = m->path;
    static const char *const part[3] = {"q", "k", "v"};
    ValueId heads[3];
    Dim L = {0, 0}, Nb = {0, 0};
    for (int i = 0; i < 3; i++) {
        ValueId x = qkv[i];
        if (!m->batch_first)
            x = fe_permute(b, x, swap01, 3,
                           ir_arena_printf(b->arena, "%s.%s_batch_first", p, part[i]), loc);
        if (x == IR_NONE)
            return fe_err_val(loc);
        ValueId lin_in[3] = {x, param_rows(b, m, 0, i * E, E, part[i]),
                             bias ? param_rows(b, m, 1, i * E, E, part[i]) : IR_NONE};
        NodeId lin;
        ValueId y = fe_op_node(b, IR_OP_LINEAR, ir_arena_printf(b->arena, "%s.%s_proj", p, part[i]),
                               lin_in, bias ? 3 : 2, loc, &lin);
        if (y == IR_NONE || !ir_infer_node(g, lin, b->d))
            return fe_err_val(loc);
        const Shape *ys = &g->values[y].type.shape; /* [N, S, E] */
        if (i == 0) {
            Nb = ys->d[0];
            L = ys->d[1];
        }
        Dim split[4] = {ys->d[0], ys->d[1], ir_dim(H), ir_dim(D)};
        ValueId y4 =
            fe_reshape(b, y, split, 4, ir_arena_printf(b->arena, "%s.%s_heads", p, part[i]), loc);
        static const int64_t to_heads[4] = {0, 2, 1, 3}, to_heads_t[4] = {0, 2, 3, 1};
        if (y4 == IR_NONE)
            return fe_err_val(loc);
        heads[i] = fe_permute(b, y4, i == 1 ? to_heads_t : to_heads, 4,
                              ir_arena_printf(b->arena, "%s.%s_t", p, part[i]), loc);
        if (heads[i] == IR_NONE)
            return fe_err_val(loc);
    }
    /* scores [N, H, L, S] = q [N, H, L, D] @ k^T [N, H, D, S], scaled, softmax over S */
    ValueId s =
        fe_op_node(b, IR_OP_MATMUL, ir_arena_printf(b->arena, "%s.scores", p), heads, 2, loc, NULL);
    if (s == IR_NONE || !ir_infer_node(g, g->values[s].producer, b->d))
        return fe_err_val(loc);
    ValueId scaled_in[2] = {s, fe_scalar_const(b, 1.0 / sqrt((double)D), loc)};
    NodeId scale_node;
    ValueId sc = fe_op_node(b, IR_OP_MUL, ir_arena_printf(b->arena, "%s.scale", p), scaled_in, 2,
                            loc, &scale_node);
    if (sc == IR_NONE || !ir_infer_node(g, scale_node, b->d))
        return fe_err_val(loc);
    NodeId sm_node;
    ValueId att = fe_op_node(b, IR_OP_SOFTMAX, ir_arena_printf(b->arena, "%s.softmax", p), &sc, 1,
                             loc, &sm_node);
    if (att == IR_NONE)
        return fe_err_val(loc);
    ir_node_set_int(g, sm_node, "axis", -1);
    if (!ir_infer_node(g, sm_node, b->d))
        return fe_err_val(loc);
    ValueId av_in[2] = {att, heads[2]};
    ValueId o =
        fe_op_node(b, IR_OP_MATMUL, ir_arena_printf(b->arena, "%s.attend", p), av_in, 2, loc, NULL);
    if (o == IR_NONE || !ir_infer_node(g, g->values[o].producer, b->d))
        return fe_err_val(loc);
    static const int64_t from_heads[4] = {0, 2, 1, 3};
    ValueId ot = fe_permute(b, o, from_heads, 4, ir_arena_printf(b->arena, "%s.merge_t", p), loc);
    if (ot == IR_NONE)
        return fe_err_val(loc);
    Dim merged[3] = {Nb, L, ir_dim(E)};
    ValueId o3 = fe_reshape(b, ot, merged, 3, ir_arena_printf(b->arena, "%s.merge", p), loc);
    if (o3 == IR_NONE)
        return fe_err_val(loc);
    ValueId out_in[3] = {o3, fe_param_value(b, m, bias ? 2 : 1),
                         bias ? fe_param_value(b, m, 3) : IR_NONE};
    NodeId out_node;
    ValueId y = fe_op_node(b, IR_OP_LINEAR, ir_arena_printf(b->arena, "%s.out_proj", p), out_in,
                           bias ? 3 : 2, loc, &out_node);
    if (y == IR_NONE || !ir_infer_node(g, out_node, b->d))
        return fe_err_val(loc);
    if (!m->batch_first)
        y = fe_permute(b, y, swap01, 3, ir_arena_printf(b->arena, "%s.seq_first", p), loc);
    return y == IR_NONE ? fe_err_val(loc) : (Val){.kind = VAL_TENSOR, .loc = loc, .v = y};
}

/* ---- calls ---- */

/* Checks LayerNorm's normalized_shape against its input when no parameter does it. */
static bool check_layer_norm(Builder *b, const Module *m, ValueId x, SrcLoc loc)
{
    const Shape *s = &b->g->values[x].type.shape;
    if (s->rank < 0)
        return true;
    bool ok = s->rank >= m->norm_ndim;
    for (int i = 0; ok && i < m->norm_ndim; i++)
        ok = ir_dim_eq(s->d[s->rank - m->norm_ndim + i], ir_dim(m->norm_shape[i]));
    if (!ok) {
        char t[160], want[160];
        Type nt = {.dtype = IR_F32, .shape = {.rank = m->norm_ndim}};
        for (int i = 0; i < m->norm_ndim; i++)
            nt.shape.d[i] = ir_dim(m->norm_shape[i]);
        ir_type_str(b->g, &b->g->values[x].type, t, sizeof t);
        ir_type_str(b->g, &nt, want, sizeof want);
        fe_error(b, loc, "layer_norm '%s': the input %s does not end in the normalized shape %s",
                 m->path, t, want);
    }
    return ok;
}

Val fe_call_module(Builder *b, Module *m, const Val *inputs, int n, SrcLoc loc)
{
    if (m->broken)
        return fe_err_val(loc);
    if (m->kind == MOD_BLOCK)
        return fe_call_block(b, m, inputs, n, loc);
    if (m->kind == MOD_MHA)
        return call_mha(b, m, inputs, n, loc);
    if (m->kind == MOD_PARAMETER) {
        if (n != 0) {
            fe_error(b, loc, "'%s' (Parameter) takes no inputs: %s() is its tensor", m->path,
                     m->path);
            return fe_err_val(loc);
        }
        ValueId v = fe_param_value(b, m, 0);
        return (Val){.kind = VAL_TENSOR, .loc = loc, .v = v};
    }
    if (n != 1) {
        fe_error(b, loc, "'%s' (%s) takes 1 input, got %d", m->path, m->type_name, n);
        return fe_err_val(loc);
    }
    if (m->kind == MOD_SEQUENTIAL) {
        Val cur = inputs[0];
        for (int i = 0; i < m->n_children && cur.kind != VAL_ERROR; i++)
            cur = fe_call_module(b, m->children[i], &cur, 1, loc);
        return cur;
    }
    ValueId x;
    if (!fe_to_tensor(b, &inputs[0], &x))
        return fe_err_val(loc);
    if (m->kind == MOD_WLINEAR) {
        const bool scaled = m->group > 0;
        const int nb = m->n_params - (scaled ? 2 : 1); /* 1 with a bias */
        ValueId in[4] = {x, fe_param_value(b, m, 0), scaled ? fe_param_value(b, m, 1) : IR_NONE,
                         nb ? fe_param_value(b, m, m->n_params - 1) : IR_NONE};
        NodeId node = fe_node(b, m->op, m->path, loc, in, nb ? 4 : scaled ? 3 : 2);
        if (node == IR_NONE)
            return fe_err_val(loc);
        if (scaled)
            ir_node_set_int(b->g, node, "group", m->group);
        return fe_node_done(b, node, loc);
    }
    if (m->kind == MOD_QCONV2D || m->kind == MOD_QLINEAR || m->kind == MOD_DQLINEAR) {
        ValueId in[5] = {x, fe_param_value(b, m, 0), fe_param_value(b, m, 1),
                         fe_param_value(b, m, 2),
                         m->n_params > 3 ? fe_param_value(b, m, 3) : IR_NONE};
        NodeId node = fe_node(b, m->op, m->path, loc, in, m->n_params > 3 ? 5 : 4);
        if (node == IR_NONE)
            return fe_err_val(loc);
        if (m->kind == MOD_QCONV2D) {
            ir_node_set_ints(b->g, node, "stride", m->stride, 2);
            ir_node_set_ints(b->g, node, "padding", m->padding, 2);
            ir_node_set_ints(b->g, node, "dilation", m->dilation, 2);
            ir_node_set_int(b->g, node, "groups", m->groups);
        }
        if (m->kind != MOD_DQLINEAR) {
            ir_node_set_float(b->g, node, "x_scale", m->x_scale);
            ir_node_set_int(b->g, node, "x_zero_point", m->x_zero_point);
        }
        return fe_node_done(b, node, loc);
    }
    if (m->kind >= MOD_ACT)
        return call_more(b, m, x, loc);
    OpKind op = IR_OP_RELU;
    switch (m->kind) {
    case MOD_CONV2D: op = IR_OP_CONV2D; break;
    case MOD_LINEAR: op = IR_OP_LINEAR; break;
    case MOD_BATCHNORM2D: op = IR_OP_BATCH_NORM; break;
    case MOD_LAYERNORM: op = IR_OP_LAYER_NORM; break;
    case MOD_EMBEDDING: op = IR_OP_EMBEDDING; break;
    case MOD_SEQUENTIAL:
    case MOD_BLOCK:
    case MOD_ACT:
    case MOD_IDENTITY:
    case MOD_FLATTEN:
    case MOD_POOL:
    case MOD_ADAPTIVE_POOL:
    case MOD_GROUPNORM:
    case MOD_CONVT:
    case MOD_MHA:
    case MOD_PARAMETER:
    case MOD_QCONV2D:
    case MOD_QLINEAR:
    case MOD_WLINEAR:
    case MOD_DQLINEAR: slimc_assert_fail("handled above", __FILE__, __LINE__);
    }
    if (m->kind == MOD_LAYERNORM && m->n_params == 0 && !check_layer_norm(b, m, x, loc))
        return fe_err_val(loc);
    ValueId in[1 + FE_MAX_PARAMS]; /* x, then the parameters in ops.def's order */
    in[0] = x;
    for (int i = 0; i < m->n_params; i++)
        in[1 + i] = fe_param_value(b, m, i);
    if (m->kind == MOD_BATCHNORM2D) { /* F.batch_norm(x, running_mean, running_var, weight, bias) */
        in[1] = fe_param_value(b, m, 2);
        in[2] = fe_param_value(b, m, 3);
        in[3] = fe_param_value(b, m, 0);
        in[4] = fe_param_value(b, m, 1);
    }
    NodeId node = fe_node(b, op, m->path, loc, in, 1 + m->n_params);
    if (node == IR_NONE)
        return fe_err_val(loc);
    switch (m->kind) {
    case MOD_CONV2D:
        ir_node_set_ints(b->g, node, "stride", m->stride, 2);
        ir_node_set_ints(b->g, node, "padding", m->padding, 2);
        ir_node_set_ints(b->g, node, "dilation", m->dilation, 2);
        ir_node_set_int(b->g, node, "groups", m->groups);
        break;
    case MOD_BATCHNORM2D:
        ir_node_set_float(b->g, node, "eps", m->eps);
        if (m->momentum != 0.1) /* the default is left implicit: ir_attr_momentum */
            ir_node_set_float(b->g, node, "momentum", m->momentum);
        break;
    case MOD_LAYERNORM:
        ir_node_set_int(b->g, node, "normalized_ndim", m->norm_ndim);
        ir_node_set_float(b->g, node, "eps", m->eps);
        break;
    default: break;
    }
    return fe_node_done(b, node, loc);
}
