/* The built-in functions of the model language: each becomes one node. Their parameters
 * follow torch.nn.functional (with `axis` for softmax's `dim`, both accepted). */
#include "frontend/build_func.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static Val call_unary(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_gelu(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_leaky_relu(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_clip(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_binary(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_where(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_cast(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_adaptive_pool(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f,
                              const Val *a);
static Val call_group_norm(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_reduce(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_along(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_dropout(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_interpolate(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_conv_transpose2d(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f,
                                 const Val *a);
static Val call_quantize(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_attention(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
static Val call_rnn(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);

static const FuncSig funcs[] = {
    {"relu", IR_OP_RELU, 1, 1, 1, {"x|input"}, NULL},
    {"quantize", IR_OP_QUANTIZE, 3, 2, 1, {"x|input", "scale", "zero_point"}, call_quantize},
    {"dequantize", IR_OP_DEQUANTIZE, 3, 2, 1, {"x|input", "scale", "zero_point"}, call_quantize},
    {"sigmoid", IR_OP_SIGMOID, 1, 1, 1, {"x|input"}, NULL},
    {"tanh", IR_OP_TANH, 1, 1, 1, {"x|input"}, NULL},
    {"max_pool2d",
     IR_OP_MAX_POOL2D,
     6,
     2,
     1,
     {"x|input", "kernel|kernel_size", "stride", "padding", "dilation", "ceil_mode"},
     NULL},
    {"avg_pool2d",
     IR_OP_AVG_POOL2D,
     6,
     2,
     1,
     {"x|input", "kernel|kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"},
     NULL},
    {"flatten", IR_OP_FLATTEN, 3, 1, 1, {"x|input", "start_dim", "end_dim"}, NULL},
    {"reshape", IR_OP_RESHAPE, 0, 0, 1, {0}, NULL}, /* reshape(x, d0, d1, ...): variadic */
    {"softmax", IR_OP_SOFTMAX, 2, 1, 1, {"x|input", "axis|dim"}, NULL},
    {"log_softmax", IR_OP_LOG_SOFTMAX, 2, 1, 1, {"x|input", "axis|dim"}, NULL},
    {"matmul", IR_OP_MATMUL, 2, 2, 2, {"a|input", "b|other"}, NULL},
    {"add", IR_OP_ADD, 2, 2, 2, {"a|input", "b|other"}, NULL},
    {"sub", IR_OP_SUB, 2, 2, 2, {"a|input", "b|other"}, NULL},
    {"mul", IR_OP_MUL, 2, 2, 2, {"a|input", "b|other"}, NULL},
    {"div", IR_OP_DIV, 2, 2, 2, {"a|input", "b|other"}, NULL},
    {"relu6", IR_OP_RELU6, 1, 1, 1, {"x|input"}, call_unary},
    {"gelu", IR_OP_GELU, 2, 1, 1, {"x|input", "approximate"}, call_gelu},
    {"silu", IR_OP_SILU, 1, 1, 1, {"x|input"}, call_unary},
    {"hardswish", IR_OP_HARDSWISH, 1, 1, 1, {"x|input"}, call_unary},
    {"hardsigmoid", IR_OP_HARDSIGMOID, 1, 1, 1, {"x|input"}, call_unary},
    {"exp", IR_OP_EXP, 1, 1, 1, {"x|input"}, call_unary},
    {"log", IR_OP_LOG, 1, 1, 1, {"x|input"}, call_unary},
    {"sqrt", IR_OP_SQRT, 1, 1, 1, {"x|input"}, call_unary},
    {"rsqrt", IR_OP_RSQRT, 1, 1, 1, {"x|input"}, call_unary},
    {"neg", IR_OP_NEG, 1, 1, 1, {"x|input"}, call_unary},
    {"abs", IR_OP_ABS, 1, 1, 1, {"x|input"}, call_unary},
    {"erf", IR_OP_ERF, 1, 1, 1, {"x|input"}, call_unary},
    {"softsign", IR_OP_SOFTSIGN, 1, 1, 1, {"x|input"}, call_unary},
    {"floor", IR_OP_FLOOR, 1, 1, 1, {"x|input"}, call_unary},
    {"ceil", IR_OP_CEIL, 1, 1, 1, {"x|input"}, call_unary},
    {"round", IR_OP_ROUND, 1, 1, 1, {"x|input"}, call_unary},
    {"sin", IR_OP_SIN, 1, 1, 1, {"x|input"}, call_unary},
    {"cos", IR_OP_COS, 1, 1, 1, {"x|input"}, call_unary},
    {"tan", IR_OP_TAN, 1, 1, 1, {"x|input"}, call_unary},
    {"asin", IR_OP_ASIN, 1, 1, 1, {"x|input"}, call_unary},
    {"acos", IR_OP_ACOS, 1, 1, 1, {"x|input"}, call_unary},
    {"atan", IR_OP_ATAN, 1, 1, 1, {"x|input"}, call_unary},
    {"leaky_relu", IR_OP_LEAKY_RELU, 2, 1, 1, {"x|input", "negative_slope"}, call_leaky_relu},
    {"clip", IR_OP_CLIP, 3, 1, 1, {"x|input", "min", "max"}, call_clip},
    {"clamp", IR_OP_CLIP, 3, 1, 1, {"x|input", "min", "max"}, call_clip},
    {"pow", IR_OP_POW, 2, 2, 2, {"x|input", "exponent"}, call_binary},
    {"minimum", IR_OP_MINIMUM, 2, 2, 2, {"a|input", "b|other"}, call_binary},
    {"maximum", IR_OP_MAXIMUM, 2, 2, 2, {"a|input", "b|other"}, call_binary},
    {"copysign", IR_OP_COPYSIGN, 2, 2, 2, {"a|input", "b|other"}, call_binary},
    {"eq", IR_OP_EQ, 2, 2, 2, {"a|input", "b|other"}, call_binary},
    {"ne", IR_OP_NE, 2, 2, 2, {"a|input", "b|other"}, call_binary},
    {"lt", IR_OP_LT, 2, 2, 2, {"a|input", "b|other"}, call_binary},
    {"le", IR_OP_LE, 2, 2, 2, {"a|input", "b|other"}, call_binary},
    {"gt", IR_OP_GT, 2, 2, 2, {"a|input", "b|other"}, call_binary},
    {"ge", IR_OP_GE, 2, 2, 2, {"a|input", "b|other"}, call_binary},
    {"where", IR_OP_WHERE, 3, 3, 3, {"condition|cond", "x|input", "y|other"}, call_where},
    {"cast", IR_OP_CAST, 2, 2, 1, {"x|input", "dtype"}, call_cast},
    {"adaptive_avg_pool2d",
     IR_OP_ADAPTIVE_AVG_POOL2D,
     2,
     2,
     1,
     {"x|input", "output_size"},
     call_adaptive_pool},
    {"global_avg_pool2d", IR_OP_ADAPTIVE_AVG_POOL2D, 1, 1, 1, {"x|input"}, call_adaptive_pool},
    /* F.scaled_dot_product_attention(q, k, v, attn_mask, is_causal, scale) (no dropout) */
    {"scaled_dot_product_attention",
     IR_OP_ATTENTION,
     6,
     3,
     3,
     {"q|query", "k|key", "v|value", "mask|attn_mask", "causal|is_causal", "scale"},
     call_attention},
    {"attention",
     IR_OP_ATTENTION,
     6,
     3,
     3,
     {"q|query", "k|key", "v|value", "mask|attn_mask", "causal|is_causal", "scale"},
     call_attention},
    {"rnn", IR_OP_RNN, 0, 0, 1, {0}, call_rnn}, /* rnn(x, w, r, b=..., mode=...) */
    {"group_norm",
     IR_OP_GROUP_NORM,
     5,
     2,
     1,
     {"x|input", "num_groups", "weight", "bias", "eps"},
     call_group_norm},
    {"sum", IR_OP_REDUCE_SUM, 3, 1, 1, {"x|input", "dim|axis", "keepdim"}, call_reduce},
    {"mean", IR_OP_REDUCE_MEAN, 3, 1, 1, {"x|input", "dim|axis", "keepdim"}, call_reduce},
    {"amax", IR_OP_REDUCE_MAX, 3, 1, 1, {"x|input", "dim|axis", "keepdim"}, call_reduce},
    {"amin", IR_OP_REDUCE_MIN, 3, 1, 1, {"x|input", "dim|axis", "keepdim"}, call_reduce},
    {"argmax", IR_OP_ARGMAX, 3, 2, 1, {"x|input", "dim|axis", "keepdim"}, call_along},
    {"argmin", IR_OP_ARGMIN, 3, 2, 1, {"x|input", "dim|axis", "keepdim"}, call_along},
    {"cumsum", IR_OP_CUMSUM, 4, 2, 1, {"x|input", "dim|axis", "exclusive", "reverse"}, call_along},
    {"transpose", IR_OP_PERMUTE, 3, 3, 1, {"x|input", "dim0", "dim1"}, fe_call_transpose},
    {"permute", IR_OP_PERMUTE, 0, 0, 1, {0}, fe_call_dims}, /* permute(x, d0, d1, ...) */
    {"expand", IR_OP_EXPAND, 0, 0, 1, {0}, fe_call_dims},   /* expand(x, s0, s1, ...) */
    {"squeeze", IR_OP_SQUEEZE, 2, 1, 1, {"x|input", "dim|axis"}, fe_call_squeeze},
    {"unsqueeze", IR_OP_UNSQUEEZE, 2, 2, 1, {"x|input", "dim|axis"}, fe_call_squeeze},
    {"slice", IR_OP_SLICE, 5, 2, 1, {"x|input", "dim|axis", "start", "end", "step"}, fe_call_slice},
    {"narrow", IR_OP_SLICE, 4, 4, 1, {"x|input", "dim|axis", "start", "length"}, fe_call_slice},
    {"pad", IR_OP_PAD, 4, 2, 1, {"x|input", "pad|pads", "mode", "value"}, fe_call_pad},
    {"concat", IR_OP_CONCAT, 2, 1, 0, {"tensors", "dim|axis"}, fe_call_concat},
    {"cat", IR_OP_CONCAT, 2, 1, 0, {"tensors", "dim|axis"}, fe_call_concat},
    {"index_select",
     IR_OP_INDEX_SELECT,
     3,
     3,
     1,
     {"x|input", "dim|axis", "index"},
     fe_call_index_select},
    {"gather",
     IR_OP_GATHER_ELEMENTS,
     3,
     3,
     1,
     {"x|input", "dim|axis", "index"},
     fe_call_index_select},
    /* split(x, size or [sizes], dim=0), chunk(x, chunks, dim=0): several tensors, bound
     * with a, b = split(...) */
    {"split",
     IR_OP_SLICE,
     3,
     2,
     1,
     {"x|input", "split_size_or_sections|split_size", "dim|axis"},
     fe_call_split},
    {"chunk", IR_OP_SLICE, 3, 2, 1, {"x|input", "chunks", "dim|axis"}, fe_call_split},
    {"dropout", IR_OP_RELU, 3, 1, 1, {"x|input", "p", "training"}, call_dropout},
    {"interpolate",
     IR_OP_RESIZE,
     5,
     1,
     1,
     {"x|input", "size", "scale_factor", "mode", "align_corners"},
     call_interpolate},
    {"upsample",
     IR_OP_RESIZE,
     5,
     1,
     1,
     {"x|input", "size", "scale_factor", "mode", "align_corners"},
     call_interpolate},
    {"conv_transpose2d",
     IR_OP_CONV_TRANSPOSE2D,
     8,
     2,
     1,
     {"x|input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"},
     call_conv_transpose2d},
};

enum { N_FUNCS = sizeof funcs / sizeof funcs[0] };

int fe_builtin_function_names(const char **out)
{
    for (int i = 0; out && i < N_FUNCS; i++)
        out[i] = funcs[i].name;
    return N_FUNCS;
}

static const FuncSig *find_func(const char *name)
{
    for (int i = 0; i < N_FUNCS; i++)
        if (strcmp(funcs[i].name, name) == 0)
            return &funcs[i];
    return NULL;
}

bool fe_is_builtin_function(const char *name)
{
    return find_func(name) != NULL;
}

/* What a message calls argument i of f: "'kernel' of max_pool2d". */
const char *fe_func_arg_name(Builder *b, const FuncSig *f, int i)
{
    const char *p = f->params[i], *bar = strchr(p, '|');
    int w = bar ? (int)(bar - p) : (int)strlen(p);
    return ir_arena_printf(b->arena, "'%.*s' of %s", w, p, f->name);
}

/* The attributes of a pooling call, from its bound arguments. */
#define FE_MAX_POOL ((int64_t)1 << 31)
typedef struct PoolArgs {
    int64_t kernel[2], stride[2], padding[2], dilation[2];
    bool ceil_mode, count_include_pad;
} PoolArgs;

static bool pool_args(Builder *b, const FuncSig *f, const Val *a, PoolArgs *p)
{
    *p = (PoolArgs){.padding = {0, 0}, .dilation = {1, 1}, .count_include_pad = true};
    bool ok = fe_to_pair(b, &a[1], fe_func_arg_name(b, f, 1), p->kernel);
    if (a[2].kind != VAL_NONE)
        ok &= fe_to_pair(b, &a[2], fe_func_arg_name(b, f, 2), p->stride);
    else
        memcpy(p->stride, p->kernel, sizeof p->stride);
    if (a[3].kind != VAL_NONE)
        ok &= fe_to_pair(b, &a[3], fe_func_arg_name(b, f, 3), p->padding);
    if (f->op == IR_OP_MAX_POOL2D) {
        if (a[4].kind != VAL_NONE)
            ok &= fe_to_pair(b, &a[4], fe_func_arg_name(b, f, 4), p->dilation);
        if (a[5].kind != VAL_NONE)
            ok &= fe_to_bool(b, &a[5], fe_func_arg_name(b, f, 5), &p->ceil_mode);
    } else {
        if (a[4].kind != VAL_NONE)
            ok &= fe_to_bool(b, &a[4], fe_func_arg_name(b, f, 4), &p->ceil_mode);
        if (a[5].kind != VAL_NONE)
            ok &= fe_to_bool(b, &a[5], fe_func_arg_name(b, f, 5), &p->count_include_pad);
    }
    /* Lower bounds are the shape function's to check; absurd sizes stop here. */
    const int64_t *all[4] = {p->kernel, p->stride, p->padding, p->dilation};
    for (int i = 0; ok && i < 4; i++)
        for (int k = 0; k < 2; k++)
            if (all[i][k] < -FE_MAX_POOL || all[i][k] > FE_MAX_POOL) {
                fe_error(b,
                         a[i == 0   ? 1
                           : i == 1 ? 2
                           : i == 2 ? 3
                                    : 4]
                             .loc,
                         "%lld is too large for %s", (long long)all[i][k], f->name);
                ok = false;
                break;
            }
    return ok;
}

static void set_pool_attrs(Builder *b, OpKind op, const PoolArgs *p, NodeId node)
{
    ir_node_set_ints(b->g, node, "kernel", p->kernel, 2);
    ir_node_set_ints(b->g, node, "stride", p->stride, 2);
    ir_node_set_ints(b->g, node, "padding", p->padding, 2);
    if (op == IR_OP_MAX_POOL2D)
        ir_node_set_ints(b->g, node, "dilation", p->dilation, 2);
    ir_node_set_int(b->g, node, "ceil_mode", p->ceil_mode);
    if (op == IR_OP_AVG_POOL2D)
        ir_node_set_int(b->g, node, "count_include_pad", p->count_include_pad);
}

Val fe_call_builtin(Builder *b, Scope *s, const AstExpr *e)
{
    const FuncSig *f = find_func(e->text);
    SLIMC_ASSERT(f);
    if (f->op == IR_OP_RESHAPE)
        return fe_call_reshape(b, s, e);
    if (f->call && f->n_params == 0)
        return f->call(b, s, e, f, NULL);
    Val a[8];
    if (!fe_bind_args(b, s, e, f->name, f->params, f->n_params, f->n_required, a))
        return fe_err_val(e->loc);
    if (f->call)
        return f->call(b, s, e, f, a);
    /* The tensor operands first, then the attributes (all checked before the node). */
    int n_tensors = f->n_tensors;
    ValueId in[2];
    bool ok = true;
    for (int i = 0; i < n_tensors; i++)
        ok &= fe_to_tensor(b, &a[i], &in[i]);
    int64_t i1 = 0, i2 = 0;
    PoolArgs pool;
    switch (f->op) {
    case IR_OP_MAX_POOL2D:
    case IR_OP_AVG_POOL2D: ok &= pool_args(b, f, a, &pool); break;
    case IR_OP_FLATTEN:
        i1 = 1;
        i2 = -1;
        if (a[1].kind != VAL_NONE)
            ok &= fe_to_int(b, &a[1], fe_func_arg_name(b, f, 1), &i1);
        if (a[2].kind != VAL_NONE)
            ok &= fe_to_int(b, &a[2], fe_func_arg_name(b, f, 2), &i2);
        break;
    case IR_OP_SOFTMAX:
    case IR_OP_LOG_SOFTMAX:
        i1 = -1;
        if (a[1].kind != VAL_NONE)
            ok &= fe_to_int(b, &a[1], fe_func_arg_name(b, f, 1), &i1);
        break;
    default: break;
    }
    if (!ok)
        return fe_err_val(e->loc);
    NodeId node = fe_node(b, f->op, NULL, e->loc, in, n_tensors);
    if (node == IR_NONE)
        return fe_err_val(e->loc);
    switch (f->op) {
    case IR_OP_MAX_POOL2D:
    case IR_OP_AVG_POOL2D: set_pool_attrs(b, f->op, &pool, node); break;
    case IR_OP_FLATTEN:
        ir_node_set_int(b->g, node, "start_dim", i1);
        ir_node_set_int(b->g, node, "end_dim", i2);
        break;
    case IR_OP_SOFTMAX:
    case IR_OP_LOG_SOFTMAX: ir_node_set_int(b->g, node, "axis", i1); break;
    default: break;
    }
    return fe_node_done(b, node, e->loc);
}

/* ---- issue 3's functions ---- */

/* A node of op on inputs with no attributes; its output. */
static Val node_of(Builder *b, OpKind op, const ValueId *in, int n, SrcLoc loc)
{
    return fe_node_done(b, fe_node(b, op, NULL, loc, in, n), loc);
}

ValueId fe_op_node(Builder *b, OpKind op, const char *name, const ValueId *in, int n, SrcLoc loc,
                   NodeId *node)
{
    NodeId id = fe_node(b, op, name, loc, in, n);
    if (node)
        *node = id;
    if (id == IR_NONE)
        return IR_NONE;
    return b->g->nodes[id].outputs[0];
}

ValueId fe_permute(Builder *b, ValueId x, const int64_t *perm, int rank, const char *name,
                   SrcLoc loc)
{
    NodeId id = fe_node(b, IR_OP_PERMUTE, name, loc, &x, 1);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_ints(b->g, id, "perm", perm, rank);
    Val v = fe_node_done(b, id, loc);
    return v.kind == VAL_TENSOR ? v.v : IR_NONE;
}

ValueId fe_reshape(Builder *b, ValueId x, const Dim *dims, int rank, const char *name, SrcLoc loc)
{
    int64_t shape[IR_MAX_RANK];
    bool inferred = false;
    for (int i = 0; i < rank; i++) {
        Dim d = dims[i];
        int sym = -1;
        for (int k = 0; k < IR_MAX_SYMS; k++)
            if (d.syms == (1u << k))
                sym = k;
        if (ir_dim_static(d))
            shape[i] = d.c;
        else if (d.c == 1 && sym >= 0)
            shape[i] = -(1000 + sym);
        else if (!inferred) {
            shape[i] = -1;
            inferred = true;
        } else {
            fe_error(b, loc,
                     "%s: two dims of the reshape are products of symbols; slimc cannot express it",
                     name ? name : "reshape");
            return IR_NONE;
        }
    }
    NodeId id = fe_node(b, IR_OP_RESHAPE, name, loc, &x, 1);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_ints(b->g, id, "shape", shape, rank);
    Val v = fe_node_done(b, id, loc);
    return v.kind == VAL_TENSOR ? v.v : IR_NONE;
}

bool fe_func_tensor_args(Builder *b, const FuncSig *f, const Val *a, ValueId *in)
{
    bool ok = true;
    for (int i = 0; i < f->n_tensors; i++)
        ok &= fe_to_tensor(b, &a[i], &in[i]);
    return ok;
}

static Val call_unary(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    ValueId x;
    if (!fe_func_tensor_args(b, f, a, &x))
        return fe_err_val(e->loc);
    return node_of(b, f->op, &x, 1, e->loc);
}

/* A string argument among choices; *out its index. */
bool fe_choice_arg(Builder *b, const FuncSig *f, const Val *a, int i, const char *const *choices,
                   int n, int *out)
{
    if (a[i].kind == VAL_NONE)
        return true;
    if (a[i].kind == VAL_STRING)
        for (int k = 0; k < n; k++)
            if (strcmp(a[i].s, choices[k]) == 0) {
                *out = k;
                return true;
            }
    char list[256];
    size_t len = 0;
    list[0] = 0;
    for (int k = 0; k < n && len < sizeof list; k++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'", k ? ", " : "", choices[k]);
    char desc[200];
    if (a[i].kind == VAL_STRING)
        snprintf(desc, sizeof desc, "\"%s\"", a[i].s);
    else
        fe_describe(&a[i], desc, sizeof desc);
    fe_error(b, a[i].loc, "%s must be one of %s, not %s", fe_func_arg_name(b, f, i), list, desc);
    return false;
}

static Val call_gelu(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    static const char *const modes[] = {"none", "tanh"};
    int mode = 0;
    ValueId x;
    if (!fe_func_tensor_args(b, f, a, &x) || !fe_choice_arg(b, f, a, 1, modes, 2, &mode))
        return fe_err_val(e->loc);
    return node_of(b, mode ? IR_OP_GELU_TANH : IR_OP_GELU, &x, 1, e->loc);
}

static Val call_leaky_relu(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    double slope = 0.01;
    ValueId x;
    bool ok = fe_func_tensor_args(b, f, a, &x);
    if (a[1].kind != VAL_NONE)
        ok &= fe_to_float(b, &a[1], fe_func_arg_name(b, f, 1), &slope);
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, IR_OP_LEAKY_RELU, NULL, e->loc, &x, 1);
    if (id != IR_NONE)
        ir_node_set_float(b->g, id, "negative_slope", slope);
    return fe_node_done(b, id, e->loc);
}

/* quantize(x, scale, zero_point=0): f32 -> u8; dequantize(q, scale, zero_point=0): back. */
static Val call_quantize(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    double scale = 0;
    int64_t zp = 0;
    ValueId x;
    bool ok = fe_func_tensor_args(b, f, a, &x);
    if (!fe_to_float(b, &a[1], fe_func_arg_name(b, f, 1), &scale)) {
        ok = false;
    } else if (!(scale > 0) || !isfinite(scale)) {
        fe_error(b, a[1].loc, "%s must be a positive number", fe_func_arg_name(b, f, 1));
        ok = false;
    }
    if (a[2].kind != VAL_NONE) {
        if (!fe_to_int(b, &a[2], fe_func_arg_name(b, f, 2), &zp)) {
            ok = false;
        } else if (zp < 0 || zp > 255) {
            fe_error(b, a[2].loc, "%s must be in [0, 255] (u8), not %lld",
                     fe_func_arg_name(b, f, 2), (long long)zp);
            ok = false;
        }
    }
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, f->op, NULL, e->loc, &x, 1);
    if (id != IR_NONE) {
        ir_node_set_float(b->g, id, "scale", scale);
        ir_node_set_int(b->g, id, "zero_point", zp);
    }
    return fe_node_done(b, id, e->loc);
}

static Val call_clip(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    double lo = 0, hi = 0;
    ValueId x;
    bool ok = fe_func_tensor_args(b, f, a, &x);
    if (a[1].kind != VAL_NONE)
        ok &= fe_to_float(b, &a[1], fe_func_arg_name(b, f, 1), &lo);
    if (a[2].kind != VAL_NONE)
        ok &= fe_to_float(b, &a[2], fe_func_arg_name(b, f, 2), &hi);
    if (ok && a[1].kind == VAL_NONE && a[2].kind == VAL_NONE) {
        fe_error(b, e->loc, "%s needs at least one of min and max", f->name);
        ok = false;
    }
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, IR_OP_CLIP, NULL, e->loc, &x, 1);
    if (id != IR_NONE) {
        if (a[1].kind != VAL_NONE)
            ir_node_set_float(b->g, id, "min", lo);
        if (a[2].kind != VAL_NONE)
            ir_node_set_float(b->g, id, "max", hi);
    }
    return fe_node_done(b, id, e->loc);
}

/* A 0-d constant of dtype t holding the number v (which must be a number value). */
static ValueId scalar_of(Builder *b, const Val *v, DType t)
{
    double x = v->kind == VAL_INT ? (double)v->i : v->f;
    if (t == IR_F32 || t == IR_F16 || t == IR_BF16 || t == IR_F64 || t == IR_I4)
        return fe_scalar_const(b, x, v->loc);
    size_t bytes = ir_dtype_bytes(t, 1);
    unsigned char *data = ir_arena_alloc(b->g->arena, 8);
    int64_t i = v->kind == VAL_INT ? v->i : (int64_t)x;
    switch (t) {
    case IR_I64: memcpy(data, &i, 8); break;
    case IR_I32: {
        int32_t k = (int32_t)i;
        memcpy(data, &k, 4);
        break;
    }
    case IR_I16: {
        int16_t k = (int16_t)i;
        memcpy(data, &k, 2);
        break;
    }
    case IR_I8: {
        int8_t k = (int8_t)i;
        memcpy(data, &k, 1);
        break;
    }
    case IR_U16:
    case IR_U32:
    case IR_U64: {
        uint64_t k = (uint64_t)i; /* little-endian: the low bytes */
        memcpy(data, &k, bytes);
        break;
    }
    default: data[0] = (unsigned char)(t == IR_BOOL ? i != 0 : (uint8_t)i); break;
    }
    Type ty = {.dtype = t, .shape = {.rank = 0}};
    return ir_const_new(b->g, "const", ty, data, bytes, fe_gloc(b, v->loc));
}

/* Binary operands where a number takes the other operand's dtype (f32 between numbers). */
static bool operand_pair(Builder *b, const Val *l, const Val *r, ValueId *out)
{
    bool ln = l->kind == VAL_INT || l->kind == VAL_FLOAT,
         rn = r->kind == VAL_INT || r->kind == VAL_FLOAT;
    if (ln && r->kind == VAL_TENSOR) {
        out[1] = r->v;
        out[0] = scalar_of(b, l, b->g->values[r->v].type.dtype);
        return true;
    }
    if (rn && l->kind == VAL_TENSOR) {
        out[0] = l->v;
        out[1] = scalar_of(b, r, b->g->values[l->v].type.dtype);
        return true;
    }
    bool ok = fe_to_tensor(b, l, &out[0]);
    ok &= fe_to_tensor(b, r, &out[1]);
    return ok;
}

Val fe_tensor_op2(Builder *b, OpKind op, const Val *l, const Val *r, SrcLoc loc)
{
    ValueId in[2];
    if (!operand_pair(b, l, r, in))
        return fe_err_val(loc);
    return node_of(b, op, in, 2, loc);
}

static Val call_binary(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    ValueId in[2];
    if (!operand_pair(b, &a[0], &a[1], in))
        return fe_err_val(e->loc);
    return node_of(b, f->op, in, 2, e->loc);
}

static Val call_where(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    (void)f;
    ValueId in[3];
    bool ok = fe_to_tensor(b, &a[0], &in[0]);
    ok &= operand_pair(b, &a[1], &a[2], in + 1);
    if (!ok)
        return fe_err_val(e->loc);
    return node_of(b, IR_OP_WHERE, in, 3, e->loc);
}

static Val call_cast(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    ValueId x;
    bool ok = fe_func_tensor_args(b, f, a, &x);
    DType t = IR_F32;
    if (a[1].kind != VAL_STRING || !ir_dtype_parse(a[1].s, &t) || t == IR_I4) {
        char desc[200];
        if (a[1].kind == VAL_STRING)
            snprintf(desc, sizeof desc, "\"%s\"", a[1].s);
        else
            fe_describe(&a[1], desc, sizeof desc);
        fe_error(b, a[1].loc,
                 "%s must name a dtype (\"f32\", \"f64\", \"f16\", \"bf16\", \"i64\", \"i32\", "
                 "\"i16\", \"i8\", \"u8\", \"bool\"), not %s",
                 fe_func_arg_name(b, f, 1), desc);
        ok = false;
    }
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, IR_OP_CAST, NULL, e->loc, &x, 1);
    if (id != IR_NONE)
        ir_node_set_int(b->g, id, "dtype", t);
    return fe_node_done(b, id, e->loc);
}

static Val call_adaptive_pool(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f,
                              const Val *a)
{
    (void)s;
    ValueId x;
    int64_t os[2] = {1, 1};
    bool ok = fe_func_tensor_args(b, f, a, &x);
    if (f->n_params > 1)
        ok &= fe_to_pair(b, &a[1], fe_func_arg_name(b, f, 1), os);
    if (!ok)
        return fe_err_val(e->loc);
    return fe_adaptive_pool(b, x, os, NULL, e->loc);
}

Val fe_adaptive_pool(Builder *b, ValueId x, const int64_t os[2], const char *name, SrcLoc loc)
{
    NodeId id = fe_node(b, IR_OP_ADAPTIVE_AVG_POOL2D, name, loc, &x, 1);
    if (id != IR_NONE)
        ir_node_set_ints(b->g, id, "output_size", os, 2);
    return fe_node_done(b, id, loc);
}

static Val call_group_norm(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    ValueId in[3] = {IR_NONE, IR_NONE, IR_NONE};
    int64_t groups = 1;
    double eps = 1e-5;
    bool ok = fe_func_tensor_args(b, f, a, in);
    ok &= fe_to_int(b, &a[1], fe_func_arg_name(b, f, 1), &groups);
    if (a[2].kind != VAL_NONE)
        ok &= fe_to_tensor(b, &a[2], &in[1]);
    if (a[3].kind != VAL_NONE)
        ok &= fe_to_tensor(b, &a[3], &in[2]);
    if (a[4].kind != VAL_NONE)
        ok &= fe_to_float(b, &a[4], fe_func_arg_name(b, f, 4), &eps);
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, IR_OP_GROUP_NORM, NULL, e->loc, in,
                        in[2] != IR_NONE   ? 3
                        : in[1] != IR_NONE ? 2
                                           : 1);
    if (id != IR_NONE) {
        ir_node_set_int(b->g, id, "num_groups", groups);
        ir_node_set_float(b->g, id, "eps", eps);
    }
    return fe_node_done(b, id, e->loc);
}

/* attention(q, k, v, mask=none, causal=false, scale=none): the attention op (scale absent:
 * 1 / sqrt(D), as F.scaled_dot_product_attention). */
static Val call_attention(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    ValueId in[4] = {IR_NONE, IR_NONE, IR_NONE, IR_NONE};
    bool causal = false;
    double scale = 0;
    bool ok = fe_func_tensor_args(b, f, a, in);
    if (a[3].kind != VAL_NONE)
        ok &= fe_to_tensor(b, &a[3], &in[3]);
    if (a[4].kind != VAL_NONE)
        ok &= fe_to_bool(b, &a[4], fe_func_arg_name(b, f, 4), &causal);
    if (a[5].kind != VAL_NONE)
        ok &= fe_to_float(b, &a[5], fe_func_arg_name(b, f, 5), &scale);
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, IR_OP_ATTENTION, NULL, e->loc, in, in[3] != IR_NONE ? 4 : 3);
    if (id != IR_NONE) {
        if (causal)
            ir_node_set_int(b->g, id, "causal", 1);
        if (a[5].kind != VAL_NONE)
            ir_node_set_float(b->g, id, "scale", scale);
    }
    return fe_node_done(b, id, e->loc);
}

/* rnn(x, w, r, b=, sequence_lens=, initial_h=, initial_c=, p=, mode=, direction=,
 * activations=[...], clip=, linear_before_reset=, layout=, states=, w_transposed=): the rnn
 * op (ir/rnn.c) as the ONNX importer makes it; x, w and r by position, the rest by name. */
static Val call_rnn(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)a;
    static const char *const tensors[8] = {"x",         "w",         "r", "b", "sequence_lens",
                                           "initial_h", "initial_c", "p"};
    static const char *const ints[6] = {"mode",   "direction", "linear_before_reset",
                                        "layout", "states",    "w_transposed"};
    ValueId in[8] = {IR_NONE, IR_NONE, IR_NONE, IR_NONE, IR_NONE, IR_NONE, IR_NONE, IR_NONE};
    int64_t iv[6] = {0}, acts[IR_MAX_RANK];
    int nacts = -1, pos = 0;
    double clip = 0;
    bool ok = true;
    for (int i = 0; i < ast_len(e->args); i++) {
        const AstArg *arg = ast_at(e->args, i);
        Val v = fe_eval(b, s, arg->value, NULL);
        int slot = -1, k = 0;
        if (!arg->key && pos < 3)
            slot = pos++;
        else if (!arg->key) {
            fe_error(b, arg->loc, "%s takes x, w and r by position, the rest by name", f->name);
            ok = false;
            continue;
        }
        for (k = 0; slot < 0 && k < 8; k++)
            if (!strcmp(arg->key, tensors[k]))
                slot = k;
        if (slot >= 0) {
            ok &= fe_to_tensor(b, &v, &in[slot]);
            continue;
        }
        for (k = 0; k < 6 && strcmp(arg->key, ints[k]); k++)
            ;
        if (k < 6)
            ok &= fe_to_int(b, &v, ints[k], &iv[k]);
        else if (!strcmp(arg->key, "activations"))
            ok &= fe_int_list(b, &v, "activations", acts, &nacts);
        else if (!strcmp(arg->key, "clip"))
            ok &= fe_to_float(b, &v, "clip", &clip);
        else {
            fe_error(b, arg->loc, "%s has no argument '%s'", f->name, arg->key);
            ok = false;
        }
    }
    if (ok && (in[0] == IR_NONE || in[1] == IR_NONE || in[2] == IR_NONE)) {
        fe_error(b, e->loc, "%s needs x, w and r", f->name);
        ok = false;
    }
    if (!ok)
        return fe_err_val(e->loc);
    int nin = 3;
    for (int k = 3; k < 8; k++)
        if (in[k] != IR_NONE)
            nin = k + 1;
    NodeId id = fe_node(b, IR_OP_RNN, NULL, e->loc, in, nin);
    if (id != IR_NONE) {
        for (int k = 0; k < 6; k++)
            if (iv[k])
                ir_node_set_int(b->g, id, ints[k], iv[k]);
        if (nacts > 0)
            ir_node_set_ints(b->g, id, "activations", acts, nacts);
        if (clip != 0)
            ir_node_set_float(b->g, id, "clip", clip);
    }
    return fe_node_done(b, id, e->loc);
}

/* An int or a list of ints into out (at most IR_MAX_RANK); *n their count. */
bool fe_int_list(Builder *b, const Val *v, const char *what, int64_t *out, int *n)
{
    if (v->kind == VAL_INT) {
        out[0] = v->i;
        *n = 1;
        return true;
    }
    if (v->kind != VAL_LIST || v->n > IR_MAX_RANK * 2) {
        char desc[200];
        fe_error(b, v->loc, "%s must be an integer or a list of integers, not %s", what,
                 fe_describe(v, desc, sizeof desc));
        return false;
    }
    for (int i = 0; i < v->n; i++)
        if (!fe_to_int(b, &v->items[i], what, &out[i]))
            return false;
    *n = v->n;
    return true;
}

static Val call_reduce(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    ValueId x;
    int64_t axes[2 * IR_MAX_RANK];
    int n_axes = 0;
    bool keep = false;
    bool ok = fe_func_tensor_args(b, f, a, &x);
    if (a[1].kind != VAL_NONE)
        ok &= fe_int_list(b, &a[1], fe_func_arg_name(b, f, 1), axes, &n_axes);
    if (a[2].kind != VAL_NONE)
        ok &= fe_to_bool(b, &a[2], fe_func_arg_name(b, f, 2), &keep);
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, f->op, NULL, e->loc, &x, 1);
    if (id != IR_NONE) {
        if (n_axes)
            ir_node_set_ints(b->g, id, "axes", axes, n_axes);
        ir_node_set_int(b->g, id, "keepdim", keep);
    }
    return fe_node_done(b, id, e->loc);
}

/* argmax / argmin (x, dim, keepdim=false): i64 indices, the first of equal values;
 * cumsum(x, dim, exclusive=false, reverse=false): ONNX CumSum's flags. */
static Val call_along(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    ValueId x;
    int64_t axis = 0;
    bool flag[2] = {false, false};
    bool ok =
        fe_func_tensor_args(b, f, a, &x) && fe_to_int(b, &a[1], fe_func_arg_name(b, f, 1), &axis);
    for (int i = 0; i < f->n_params - 2; i++)
        if (a[2 + i].kind != VAL_NONE)
            ok &= fe_to_bool(b, &a[2 + i], fe_func_arg_name(b, f, 2 + i), &flag[i]);
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, f->op, NULL, e->loc, &x, 1);
    if (id != IR_NONE) {
        ir_node_set_int(b->g, id, "axis", axis);
        if (f->op == IR_OP_CUMSUM) {
            ir_node_set_int(b->g, id, "exclusive", flag[0]);
            ir_node_set_int(b->g, id, "reverse", flag[1]);
        } else
            ir_node_set_int(b->g, id, "keepdim", flag[0]);
    }
    return fe_node_done(b, id, e->loc);
}

/* dropout at inference is the identity: no node (fe_dropout keeps one in training). */
static Val call_dropout(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    double p = 0.5;
    bool training = false;
    ValueId x;
    bool ok = fe_func_tensor_args(b, f, a, &x);
    if (a[1].kind != VAL_NONE)
        ok &= fe_to_float(b, &a[1], fe_func_arg_name(b, f, 1), &p);
    if (a[2].kind != VAL_NONE)
        ok &= fe_to_bool(b, &a[2], fe_func_arg_name(b, f, 2), &training);
    if (ok && training && !b->training) {
        fe_error(b, a[2].loc,
                 "dropout with training=true: outside `slimc train` a model runs in evaluation "
                 "mode (dropout(x, p) is already random when training)");
        ok = false;
    }
    ok = ok && fe_dropout_p_ok(b, a[1].kind != VAL_NONE ? a[1].loc : e->loc, p);
    return ok ? fe_dropout(b, x, p, NULL, e->loc) : fe_err_val(e->loc);
}

bool fe_dropout_p_ok(Builder *b, SrcLoc loc, double p)
{
    if (p >= 0 && p <= 1)
        return true;
    fe_error(b, loc, "dropout probability has to be between 0 and 1, but got %g", p);
    return false;
}

Val fe_dropout(Builder *b, ValueId x, double p, const char *name, SrcLoc loc)
{
    if (!b->training || p == 0)
        return (Val){.kind = VAL_TENSOR, .loc = loc, .v = x};
    NodeId id = fe_node(b, IR_OP_DROPOUT, name, loc, &x, 1);
    if (id == IR_NONE)
        return fe_err_val(loc);
    ir_node_set_float(b->g, id, "ratio", p);
    return fe_node_done(b, id, loc);
}

/* A float or a pair of floats into out[2]. */
static bool float_pair(Builder *b, const Val *v, const char *what, double out[2])
{
    if (v->kind == VAL_LIST && v->n == 2)
        return fe_to_float(b, &v->items[0], what, &out[0]) &&
               fe_to_float(b, &v->items[1], what, &out[1]);
    if (!fe_to_float(b, v, what, &out[0]))
        return false;
    out[1] = out[0];
    return true;
}

static Val call_interpolate(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    static const char *const modes[] = {"nearest", "bilinear"};
    ValueId x;
    int64_t size[2] = {0, 0};
    double sf[2] = {0, 0};
    int mode = 0;
    bool align = false;
    bool ok = fe_func_tensor_args(b, f, a, &x);
    if (a[1].kind != VAL_NONE)
        ok &= fe_to_pair(b, &a[1], fe_func_arg_name(b, f, 1), size);
    if (a[2].kind != VAL_NONE)
        ok &= float_pair(b, &a[2], fe_func_arg_name(b, f, 2), sf);
    ok &= fe_choice_arg(b, f, a, 3, modes, 2, &mode);
    if (a[4].kind != VAL_NONE)
        ok &= fe_to_bool(b, &a[4], fe_func_arg_name(b, f, 4), &align);
    if (ok && (a[1].kind == VAL_NONE) == (a[2].kind == VAL_NONE)) {
        fe_error(b, e->loc, "%s needs exactly one of size and scale_factor", f->name);
        ok = false;
    }
    if (ok && align && mode == 0) {
        fe_error(b, a[4].loc, "align_corners is for bilinear mode only");
        ok = false;
    }
    if (ok && a[2].kind != VAL_NONE && (sf[0] <= 0 || sf[1] <= 0 || sf[0] > 1e6 || sf[1] > 1e6)) {
        fe_error(b, a[2].loc, "scale_factor must be positive");
        ok = false;
    }
    if (!ok)
        return fe_err_val(e->loc);
    const Shape *xs = &b->g->values[x].type.shape;
    if (a[2].kind != VAL_NONE) {
        if (xs->rank != 4 || !ir_dim_static(xs->d[2]) || !ir_dim_static(xs->d[3])) {
            fe_error(b, e->loc,
                     "%s: scale_factor needs a [N, C, H, W] input with a fixed image size",
                     f->name);
            return fe_err_val(e->loc);
        }
        size[0] = (int64_t)floor((double)xs->d[2].c * sf[0]);
        size[1] = (int64_t)floor((double)xs->d[3].c * sf[1]);
    }
    NodeId id = fe_node(b, IR_OP_RESIZE, NULL, e->loc, &x, 1);
    if (id != IR_NONE) {
        ir_node_set_ints(b->g, id, "size", size, 2);
        ir_node_set_int(b->g, id, "mode", mode);
        ir_node_set_int(b->g, id, "align_corners", align);
        if (a[2].kind != VAL_NONE && !align) {
            ir_node_set_float(b->g, id, "scale_h", sf[0]);
            ir_node_set_float(b->g, id, "scale_w", sf[1]);
        }
    }
    return fe_node_done(b, id, e->loc);
}

static Val call_conv_transpose2d(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f,
                                 const Val *a)
{
    (void)s;
    ValueId in[3] = {IR_NONE, IR_NONE, IR_NONE};
    int64_t st[2] = {1, 1}, pad[2] = {0, 0}, opad[2] = {0, 0}, dil[2] = {1, 1}, groups = 1;
    bool ok = fe_to_tensor(b, &a[0], &in[0]);
    ok &= fe_to_tensor(b, &a[1], &in[1]);
    if (a[2].kind != VAL_NONE)
        ok &= fe_to_tensor(b, &a[2], &in[2]);
    if (a[3].kind != VAL_NONE)
        ok &= fe_to_pair(b, &a[3], fe_func_arg_name(b, f, 3), st);
    if (a[4].kind != VAL_NONE)
        ok &= fe_to_pair(b, &a[4], fe_func_arg_name(b, f, 4), pad);
    if (a[5].kind != VAL_NONE)
        ok &= fe_to_pair(b, &a[5], fe_func_arg_name(b, f, 5), opad);
    if (a[6].kind != VAL_NONE)
        ok &= fe_to_int(b, &a[6], fe_func_arg_name(b, f, 6), &groups);
    if (a[7].kind != VAL_NONE)
        ok &= fe_to_pair(b, &a[7], fe_func_arg_name(b, f, 7), dil);
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, IR_OP_CONV_TRANSPOSE2D, NULL, e->loc, in, in[2] != IR_NONE ? 3 : 2);
    if (id != IR_NONE)
        fe_conv_transpose_attrs(b, id, st, pad, opad, dil, groups);
    return fe_node_done(b, id, e->loc);
}

void fe_conv_transpose_attrs(Builder *b, NodeId id, const int64_t st[2], const int64_t pad[2],
                             const int64_t opad[2], const int64_t dil[2], int64_t groups)
{
    ir_node_set_ints(b->g, id, "stride", st, 2);
    ir_node_set_ints(b->g, id, "padding", pad, 2);
    ir_node_set_ints(b->g, id, "output_padding", opad, 2);
    ir_node_set_ints(b->g, id, "dilation", dil, 2);
    ir_node_set_int(b->g, id, "groups", groups);
}
