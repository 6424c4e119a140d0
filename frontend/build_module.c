/* The built-in modules (Conv2d, Linear, BatchNorm2d, LayerNorm, Embedding, Sequential),
 * their parameters, and the weights file they are bound to by PyTorch state_dict names.
 * A module is declared once (its arguments checked and its parameters bound) and becomes
 * nodes each time it is called. */
#include "frontend/builder.h"
#include "frontend/files.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Sizes above this are surely mistakes, and would overflow byte counts. */
#define FE_MAX_SIZE ((int64_t)1 << 31)

typedef struct ModSig {
    const char *name;
    ModKind kind;
    int n_params, n_required;
    const char *params[10];
    OpKind op; /* MOD_ACT, MOD_POOL */
} ModSig;

static const ModSig modules[] = {
    {"Conv2d",
     MOD_CONV2D,
     8,
     3,
     {"in_channels", "out_channels", "kernel_size|kernel", "stride", "padding", "dilation",
      "groups", "bias"},
     IR_OP_CONV2D},
    {"Linear", MOD_LINEAR, 3, 2, {"in_features", "out_features", "bias"}, IR_OP_LINEAR},
    {"BatchNorm2d", MOD_BATCHNORM2D, 3, 1, {"num_features", "eps", "momentum"}, IR_OP_BATCH_NORM},
    {"LayerNorm",
     MOD_LAYERNORM,
     3,
     1,
     {"normalized_shape", "eps", "elementwise_affine"},
     IR_OP_LAYER_NORM},
    {"Embedding", MOD_EMBEDDING, 2, 2, {"num_embeddings", "embedding_dim"}, IR_OP_EMBEDDING},
    {"Sequential", MOD_SEQUENTIAL, 0, 0, {0}, IR_OP_RELU},
    {"ReLU", MOD_ACT, 1, 0, {"inplace"}, IR_OP_RELU},
    {"ReLU6", MOD_ACT, 1, 0, {"inplace"}, IR_OP_RELU6},
    {"GELU", MOD_ACT, 1, 0, {"approximate"}, IR_OP_GELU},
    {"SiLU", MOD_ACT, 1, 0, {"inplace"}, IR_OP_SILU},
    {"Hardswish", MOD_ACT, 1, 0, {"inplace"}, IR_OP_HARDSWISH},
    {"Hardsigmoid", MOD_ACT, 1, 0, {"inplace"}, IR_OP_HARDSIGMOID},
    {"Sigmoid", MOD_ACT, 0, 0, {0}, IR_OP_SIGMOID},
    {"Tanh", MOD_ACT, 0, 0, {0}, IR_OP_TANH},
    {"LeakyReLU", MOD_ACT, 2, 0, {"negative_slope", "inplace"}, IR_OP_LEAKY_RELU},
    {"Dropout", MOD_IDENTITY, 2, 0, {"p", "inplace"}, IR_OP_RELU},
    {"Identity", MOD_IDENTITY, 0, 0, {0}, IR_OP_RELU},
    {"Flatten", MOD_FLATTEN, 2, 0, {"start_dim", "end_dim"}, IR_OP_FLATTEN},
    {"AdaptiveAvgPool2d", MOD_ADAPTIVE_POOL, 1, 1, {"output_size"}, IR_OP_ADAPTIVE_AVG_POOL2D},
    {"MaxPool2d",
     MOD_POOL,
     6,
     1,
     {"kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"},
     IR_OP_MAX_POOL2D},
    {"AvgPool2d",
     MOD_POOL,
     6,
     1,
     {"kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"},
     IR_OP_AVG_POOL2D},
    {"GroupNorm",
     MOD_GROUPNORM,
     4,
     2,
     {"num_groups", "num_channels", "eps", "affine"},
     IR_OP_GROUP_NORM},
    {"ConvTranspose2d",
     MOD_CONVT,
     9,
     3,
     {"in_channels", "out_channels", "kernel_size|kernel", "stride", "padding", "output_padding",
      "groups", "bias", "dilation"},
     IR_OP_CONV_TRANSPOSE2D},
    {"MultiheadAttention",
     MOD_MHA,
     9,
     2,
     {"embed_dim", "num_heads", "dropout", "bias", "add_bias_kv", "add_zero_attn", "kdim", "vdim",
      "batch_first"},
     IR_OP_LINEAR},
    {"Parameter", MOD_PARAMETER, 0, 0, {0}, IR_OP_RELU}, /* Parameter(d0, d1, ...): variadic */
    /* int8 layers as `quantize(int8)` leaves them (docs/quantization.md): u8 input with
     * x_scale / x_zero_point; weight i8, weight_scale f32 and weight_sum i32 per output */
    {"QuantConv2d",
     MOD_QCONV2D,
     10,
     3,
     {"in_channels", "out_channels", "kernel_size|kernel", "stride", "padding", "dilation",
      "groups", "bias", "x_scale", "x_zero_point"},
     IR_OP_QCONV2D},
    {"QuantLinear",
     MOD_QLINEAR,
     5,
     2,
     {"in_features", "out_features", "bias", "x_scale", "x_zero_point"},
     IR_OP_QLINEAR},
    /* what quantize(int8|int4, weight_only), quantize(fp16|bf16) and
     * quantize(int8, dynamic) make of a Linear */
    {"WeightOnlyLinear",
     MOD_WLINEAR,
     5,
     2,
     {"in_features", "out_features", "bias", "dtype", "group"},
     IR_OP_WLINEAR},
    {"DynamicQuantLinear",
     MOD_DQLINEAR,
     3,
     2,
     {"in_features", "out_features", "bias"},
     IR_OP_DQLINEAR},
};

enum { N_MODULES = sizeof modules / sizeof modules[0] };

int fe_builtin_module_names(const char **out)
{
    for (int i = 0; out && i < N_MODULES; i++)
        out[i] = modules[i].name;
    return N_MODULES;
}

static const ModSig *find_module(const char *name)
{
    for (int i = 0; i < N_MODULES; i++)
        if (strcmp(modules[i].name, name) == 0)
            return &modules[i];
    return NULL;
}

bool fe_is_builtin_module(const char *name)
{
    return find_module(name) != NULL;
}

static const char *arg_name(Builder *b, const ModSig *sig, int i)
{
    const char *p = sig->params[i], *bar = strchr(p, '|');
    int w = bar ? (int)(bar - p) : (int)strlen(p);
    return ir_arena_printf(b->arena, "'%.*s' of %s", w, p, sig->name);
}

/* Argument i as an integer in [lo, FE_MAX_SIZE], or dflt when not given. */
static bool size_arg(Builder *b, const ModSig *sig, const Val *a, int i, int64_t lo, int64_t dflt,
                     int64_t *out)
{
    if (a[i].kind == VAL_NONE) {
        *out = dflt;
        return true;
    }
    if (!fe_to_int(b, &a[i], arg_name(b, sig, i), out))
        return false;
    if (*out < lo || *out > FE_MAX_SIZE) {
        fe_error(b, a[i].loc, "%s must be between %lld and %lld, not %lld", arg_name(b, sig, i),
                 (long long)lo, (long long)FE_MAX_SIZE, (long long)*out);
        return false;
    }
    return true;
}

/* Argument i as an int or a pair, each in [lo, FE_MAX_SIZE]. */
static bool pair_arg(Builder *b, const ModSig *sig, const Val *a, int i, int64_t lo, int64_t dflt,
                     int64_t out[2])
{
    if (a[i].kind == VAL_NONE) {
        out[0] = out[1] = dflt;
        return true;
    }
    if (!fe_to_pair(b, &a[i], arg_name(b, sig, i), out))
        return false;
    for (int k = 0; k < 2; k++)
        if (out[k] < lo || out[k] > FE_MAX_SIZE) {
            fe_error(b, a[i].loc, "%s must be between %lld and %lld, not %lld", arg_name(b, sig, i),
                     (long long)lo, (long long)FE_MAX_SIZE, (long long)out[k]);
            return false;
        }
    return true;
}

static bool bool_arg(Builder *b, const ModSig *sig, const Val *a, int i, bool dflt, bool *out)
{
    *out = dflt;
    return a[i].kind == VAL_NONE || fe_to_bool(b, &a[i], arg_name(b, sig, i), out);
}

static bool float_arg(Builder *b, const ModSig *sig, const Val *a, int i, double dflt, double *out)
{
    *out = dflt;
    return a[i].kind == VAL_NONE || fe_to_float(b, &a[i], arg_name(b, sig, i), out);
}

static void add_param_typed(Builder *b, Module *m, const char *name, DType dtype, int rank,
                            const int64_t *dims)
{
    Param *p = &m->params[m->n_params++];
    p->name = ir_arena_printf(b->arena, "%s.%s", m->path, name);
    p->dtype = dtype;
    p->shape.rank = rank;
    for (int i = 0; i < rank; i++)
        p->shape.d[i] = ir_dim(dims[i]);
    p->v = IR_NONE;
    fe_param_bind(b, m, p);
}

static void add_param(Builder *b, Module *m, const char *name, int rank, const int64_t *dims)
{
    add_param_typed(b, m, name, IR_F32, rank, dims);
}

/* LayerNorm's normalized_shape: an int or a list of ints. */
static bool norm_shape_arg(Builder *b, const ModSig *sig, const Val *a, Module *m)
{
    const Val *items = &a[0];
    int n = 1;
    if (a[0].kind == VAL_LIST) {
        items = a[0].items;
        n = a[0].n;
    }
    if (n < 1 || n > IR_MAX_RANK) {
        fe_error(b, a[0].loc, "%s must have 1 to %d sizes", arg_name(b, sig, 0), IR_MAX_RANK);
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (!fe_to_int(b, &items[i], arg_name(b, sig, 0), &m->norm_shape[i]))
            return false;
        if (m->norm_shape[i] < 1 || m->norm_shape[i] > FE_MAX_SIZE) {
            fe_error(b, items[i].loc, "%s must be between 1 and %lld, not %lld",
                     arg_name(b, sig, 0), (long long)FE_MAX_SIZE, (long long)m->norm_shape[i]);
            return false;
        }
    }
    m->norm_ndim = n;
    return true;
}

/* ---- the modules of issue 3 ---- */

static void add_param_named(Builder *b, Module *m, const char *full_name, int rank,
                            const int64_t *dims)
{
    Param *p = &m->params[m->n_params++];
    p->name = full_name;
    p->dtype = IR_F32;
    p->shape.rank = rank;
    for (int i = 0; i < rank; i++)
        p->shape.d[i] = ir_dim(dims[i]);
    p->v = IR_NONE;
    fe_param_bind(b, m, p);
}

/* The arguments of the parameterless modules, GroupNorm, ConvTranspose2d and
 * MultiheadAttention; binds their parameters. */
static bool declare_more(Builder *b, const ModSig *sig, const Val *a, Module *m)
{
    bool ok = true, flag = false, bias = true;
    int64_t in = 0, out = 0;
    double unused;
    switch (sig->kind) {
    case MOD_ACT:
        if (sig->op == IR_OP_GELU && a[0].kind != VAL_NONE) {
            if (a[0].kind != VAL_STRING ||
                (strcmp(a[0].s, "none") != 0 && strcmp(a[0].s, "tanh") != 0)) {
                fe_error(b, a[0].loc, "%s must be 'none' or 'tanh'", arg_name(b, sig, 0));
                return false;
            }
            if (strcmp(a[0].s, "tanh") == 0)
                m->op = IR_OP_GELU_TANH;
            return true;
        }
        if (sig->op == IR_OP_LEAKY_RELU) {
            ok &= float_arg(b, sig, a, 0, 0.01, &m->slope);
            return ok && bool_arg(b, sig, a, 1, false, &flag);
        }
        return sig->n_params == 0 ||
               bool_arg(b, sig, a, 0, false, &flag); /* inplace: meaningless here */
    case MOD_IDENTITY:
        return sig->n_params == 0 ||
               (float_arg(b, sig, a, 0, 0.5, &unused) && bool_arg(b, sig, a, 1, false, &flag));
    case MOD_FLATTEN:
        m->start_dim = 1;
        m->end_dim = -1;
        if (a[0].kind != VAL_NONE)
            ok &= fe_to_int(b, &a[0], arg_name(b, sig, 0), &m->start_dim);
        if (a[1].kind != VAL_NONE)
            ok &= fe_to_int(b, &a[1], arg_name(b, sig, 1), &m->end_dim);
        return ok;
    case MOD_ADAPTIVE_POOL: return pair_arg(b, sig, a, 0, 1, 1, m->out_size);
    case MOD_POOL: {
        bool is_max = sig->op == IR_OP_MAX_POOL2D;
        ok &= pair_arg(b, sig, a, 0, 1, 1, m->kernel);
        if (a[1].kind == VAL_NONE)
            memcpy(m->stride, m->kernel, sizeof m->stride);
        else
            ok &= pair_arg(b, sig, a, 1, 1, 1, m->stride);
        ok &= pair_arg(b, sig, a, 2, 0, 0, m->padding);
        if (is_max) {
            ok &= pair_arg(b, sig, a, 3, 1, 1, m->dilation);
            ok &= bool_arg(b, sig, a, 4, false, &flag);
            if (ok && flag) {
                fe_error(b, a[4].loc, "MaxPool2d with return_indices=true is not supported");
                ok = false;
            }
            ok &= bool_arg(b, sig, a, 5, false, &m->ceil_mode);
        } else {
            ok &= bool_arg(b, sig, a, 3, false, &m->ceil_mode);
            ok &= bool_arg(b, sig, a, 4, true, &m->count_include_pad);
            if (ok && a[5].kind != VAL_NONE) {
                fe_error(b, a[5].loc, "AvgPool2d's divisor_override is not supported");
                ok = false;
            }
        }
        return ok;
    }
    case MOD_GROUPNORM:
        ok &= size_arg(b, sig, a, 0, 1, 1, &m->num_groups);
        ok &= size_arg(b, sig, a, 1, 1, 1, &in);
        ok &= float_arg(b, sig, a, 2, 1e-5, &m->eps);
        ok &= bool_arg(b, sig, a, 3, true, &flag);
        if (ok && in % m->num_groups) {
            fe_error(b, a[0].loc, "num_groups=%lld must divide num_channels (%lld)",
                     (long long)m->num_groups, (long long)in);
            ok = false;
        }
        if (!ok)
            return false;
        if (flag) {
            add_param(b, m, "weight", 1, &in);
            add_param(b, m, "bias", 1, &in);
        }
        return true;
    case MOD_CONVT: {
        int64_t kernel[2];
        ok &= size_arg(b, sig, a, 0, 1, 1, &in);
        ok &= size_arg(b, sig, a, 1, 1, 1, &out);
        ok &= pair_arg(b, sig, a, 2, 1, 1, kernel);
        ok &= pair_arg(b, sig, a, 3, 1, 1, m->stride);
        ok &= pair_arg(b, sig, a, 4, 0, 0, m->padding);
        ok &= pair_arg(b, sig, a, 5, 0, 0, m->output_padding);
        ok &= size_arg(b, sig, a, 6, 1, 1, &m->groups);
        ok &= bool_arg(b, sig, a, 7, true, &bias);
        ok &= pair_arg(b, sig, a, 8, 1, 1, m->dilation);
        if (ok && (in % m->groups || out % m->groups)) {
            fe_error(b, a[6].kind == VAL_NONE ? m->loc : a[6].loc,
                     "groups=%lld must divide in_channels (%lld) and out_channels (%lld)",
                     (long long)m->groups, (long long)in, (long long)out);
            ok = false;
        }
        if (!ok)
            return false;
        add_param(b, m, "weight", 4, (int64_t[]){in, out / m->groups, kernel[0], kernel[1]});
        if (bias)
            add_param(b, m, "bias", 1, &out);
        return true;
    }
    case MOD_MHA: {
        bool kv = false, zero = false;
        ok &= size_arg(b, sig, a, 0, 1, 1, &m->embed_dim);
        ok &= size_arg(b, sig, a, 1, 1, 1, &m->num_heads);
        ok &= float_arg(b, sig, a, 2, 0.0, &unused); /* training only */
        ok &= bool_arg(b, sig, a, 3, true, &bias);
        ok &= bool_arg(b, sig, a, 4, false, &kv);
        ok &= bool_arg(b, sig, a, 5, false, &zero);
        ok &= bool_arg(b, sig, a, 8, false, &m->batch_first);
        int64_t E = m->embed_dim;
        for (int i = 6; ok && i < 8; i++) {
            int64_t dim = E;
            ok &= size_arg(b, sig, a, i, 1, E, &dim);
            if (ok && dim != E) {
                fe_error(b, a[i].loc, "%s other than embed_dim is not supported",
                         arg_name(b, sig, i));
                ok = false;
            }
        }
        if (ok && (kv || zero)) {
            fe_error(b, m->loc,
                     "MultiheadAttention with add_bias_kv or add_zero_attn is not supported");
            ok = false;
        }
        if (ok && E % m->num_heads) {
            fe_error(b, a[1].loc, "num_heads (%lld) must divide embed_dim (%lld)",
                     (long long)m->num_heads, (long long)E);
            ok = false;
        }
        if (!ok)
            return false;
        add_param(b, m, "in_proj_weight", 2, (int64_t[]){3 * E, E});
        if (bias)
            add_param(b, m, "in_proj_bias", 1, (int64_t[]){3 * E});
        add_param(b, m, "out_proj.weight", 2, (int64_t[]){E, E});
        if (bias)
            add_param(b, m, "out_proj.bias", 1, &E);
        return true;
    }
    case MOD_CONV2D:
    case MOD_LINEAR:
    case MOD_BATCHNORM2D:
    case MOD_LAYERNORM:
    case MOD_EMBEDDING:
    case MOD_SEQUENTIAL:
    case MOD_BLOCK:
    case MOD_PARAMETER:
    case MOD_QCONV2D:
    case MOD_QLINEAR:
    case MOD_WLINEAR:
    case MOD_DQLINEAR: break;
    }
    slimc_assert_fail("not one of issue 3's modules", __FILE__, __LINE__);
    return false;
}

/* Parameter(d0, d1, ...): one f32 tensor of that shape named by the module's path. */
static Val declare_parameter(Builder *b, Scope *s, const AstExpr *call, Module *m)
{
    int n = ast_len(call->args);
    int64_t dims[IR_MAX_RANK];
    bool ok = true;
    if (n > IR_MAX_RANK) {
        fe_error(b, call->loc, "Parameter with %d dims: a tensor has at most %d", n, IR_MAX_RANK);
        ok = false;
    }
    for (int i = 0; ok && i < n; i++) {
        const AstArg *arg = ast_at(call->args, i);
        Val v = fe_eval(b, s, arg->value, NULL);
        if (arg->key) {
            fe_error(b, arg->loc, "Parameter takes its sizes by position: Parameter(d0, d1, ...)");
            ok = false;
        } else if (!fe_to_int(b, &v, "a size of Parameter", &dims[i])) {
            ok = false;
        } else if (dims[i] < 1 || dims[i] > FE_MAX_SIZE) {
            fe_error(b, arg->loc, "a size of Parameter must be between 1 and %lld, not %lld",
                     (long long)FE_MAX_SIZE, (long long)dims[i]);
            ok = false;
        }
    }
    if (ok)
        add_param_named(b, m, m->path, n, dims);
    else
        m->broken = true;
    return (Val){.kind = VAL_MODULE, .loc = call->loc, .m = m};
}

/* Calls a module of issue 3 (all but MultiheadAttention and Parameter) on x. */
static Val call_more(Builder *b, Module *m, ValueId x, SrcLoc loc)
{
    if (m->kind == MOD_IDENTITY)
        return (Val){.kind = VAL_TENSOR, .loc = loc, .v = x};
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

/* Checks a built-in module's arguments and binds its parameters. */
/* QuantConv2d and QuantLinear: Conv2d's and Linear's arguments, then the input's
 * quantization (x_scale > 0 required, x_zero_point in [0, 255], default 0). */
static bool declare_quant(Builder *b, const ModSig *sig, const Val *a, Module *m)
{
    const bool conv = sig->kind == MOD_QCONV2D, dynamic = sig->kind == MOD_DQLINEAR;
    const int at = conv ? 8 : 3; /* x_scale's index */
    bool ok = true, bias = true;
    int64_t in = 0, out = 0, kernel[2] = {1, 1};
    ok &= size_arg(b, sig, a, 0, 1, 1, &in);
    ok &= size_arg(b, sig, a, 1, 1, 1, &out);
    m->groups = 1;
    if (conv) {
        ok &= pair_arg(b, sig, a, 2, 1, 1, kernel);
        ok &= pair_arg(b, sig, a, 3, 1, 1, m->stride);
        ok &= pair_arg(b, sig, a, 4, 0, 0, m->padding);
        ok &= pair_arg(b, sig, a, 5, 1, 1, m->dilation);
        ok &= size_arg(b, sig, a, 6, 1, 1, &m->groups);
        ok &= bool_arg(b, sig, a, 7, true, &bias);
    } else {
        ok &= bool_arg(b, sig, a, 2, true, &bias);
    }
    if (dynamic) {
        /* no x_scale: found per run */
    } else if (a[at].kind == VAL_NONE) {
        fe_error(b, m->loc, "%s needs x_scale, the scale of its u8 input", sig->name);
        ok = false;
    } else if (!fe_to_float(b, &a[at], arg_name(b, sig, at), &m->x_scale)) {
        ok = false;
    } else if (!(m->x_scale > 0) || !isfinite(m->x_scale)) {
        fe_error(b, a[at].loc, "%s must be a positive number", arg_name(b, sig, at));
        ok = false;
    }
    m->x_zero_point = 0;
    if (!dynamic)
        ok &= size_arg(b, sig, a, at + 1, 0, 0, &m->x_zero_point);
    if (ok && m->x_zero_point > 255) {
        fe_error(b, a[at + 1].loc, "%s must be in [0, 255] (u8), not %lld",
                 arg_name(b, sig, at + 1), (long long)m->x_zero_point);
        ok = false;
    }
    if (ok && (in % m->groups || out % m->groups)) {
        fe_error(b, a[6].loc, "groups=%lld must divide in_channels (%lld) and out_channels (%lld)",
                 (long long)m->groups, (long long)in, (long long)out);
        ok = false;
    }
    if (!ok)
        return false;
    if (conv)
        add_param_typed(b, m, "weight", IR_I8, 4,
                        (int64_t[]){out, in / m->groups, kernel[0], kernel[1]});
    else
        add_param_typed(b, m, "weight", IR_I8, 2, (int64_t[]){out, in});
    add_param_typed(b, m, "weight_scale", IR_F32, 1, &out);
    /* The sums feed the zero-point correction. They are the weights' row sums, so `slimc
     * compress` does not write them and they are computed here; a file that has them gets
     * them checked (sums that do not match would give silently wrong outputs). */
    const char *sum_name = ir_arena_printf(b->g->arena, "%s.weight_sum", m->path);
    const bool file_sums = !b->st || fe_st_find(b->st, sum_name);
    if (file_sums) {
        add_param_typed(b, m, "weight_sum", IR_I32, 1, &out);
    } else {
        Param *p = &m->params[m->n_params++];
        *p = (Param){.name = sum_name, .dtype = IR_I32, .v = IR_NONE};
        p->shape.rank = 1;
        p->shape.d[0] = ir_dim(out);
        const Param *pw = &m->params[0];
        if (pw->data) {
            int32_t *sums = ir_arena_alloc(b->g->arena, sizeof(int32_t) * (size_t)out);
            const int64_t k = (int64_t)pw->bytes / out;
            for (int64_t o = 0; o < out; o++) {
                int32_t sum = 0;
                for (int64_t i = 0; i < k; i++)
                    sum += ((const int8_t *)pw->data)[o * k + i];
                sums[o] = sum;
            }
            p->data = sums;
            p->bytes = sizeof(int32_t) * (size_t)out;
        }
    }
    if (bias)
        add_param_typed(b, m, "bias", IR_F32, 1, &out);
    const Param *pw = &m->params[0], *ps = &m->params[1], *pz = &m->params[2];
    if (file_sums && pw->data && pz->data) {
        const int8_t *q = pw->data;
        const int64_t k = (int64_t)pw->bytes / out;
        for (int64_t o = 0; o < out; o++) {
            int32_t sum = 0, want;
            for (int64_t i = 0; i < k; i++)
                sum += q[o * k + i];
            memcpy(&want, (const char *)pz->data + 4 * o, sizeof want);
            if (sum != want) {
                fe_error(b, m->loc,
                         "'%s' does not match '%s': row %lld sums to %d, the file says %d",
                         pz->name, pw->name, (long long)o, sum, want);
                return false;
            }
        }
    }
    if (ps->data)
        for (int64_t o = 0; o < out; o++) {
            float sc;
            memcpy(&sc, (const char *)ps->data + 4 * o, sizeof sc);
            if (!(sc > 0) || !isfinite(sc)) {
                fe_error(b, m->loc, "'%s'[%lld] is %g: weight scales must be positive", ps->name,
                         (long long)o, (double)sc);
                return false;
            }
        }
    return true;
}

/* WeightOnlyLinear(in, out, bias=true, dtype="int8"|"int4"|"fp16"|"bf16", group): weight
 * [out, in] of that dtype (int4: u8 [out, in / 2] in the file, two a byte, even k in the
 * low nibble), scales f32 [out, in / group] for int8 / int4 (group required there). */
static bool declare_weight_only(Builder *b, const ModSig *sig, const Val *a, Module *m)
{
    bool ok = true, bias = true;
    int64_t in = 0, out = 0;
    ok &= size_arg(b, sig, a, 0, 1, 1, &in);
    ok &= size_arg(b, sig, a, 1, 1, 1, &out);
    ok &= bool_arg(b, sig, a, 2, true, &bias);
    static const struct {
        const char *name;
        DType dt;
    } fmts[] = {{"int8", IR_I8}, {"int4", IR_I4}, {"fp16", IR_F16}, {"bf16", IR_BF16}};
    DType dt = IR_F32;
    for (size_t i = 0; a[3].kind == VAL_STRING && i < sizeof fmts / sizeof fmts[0]; i++)
        if (!strcmp(a[3].s, fmts[i].name))
            dt = fmts[i].dt;
    if (dt == IR_F32) {
        fe_error(b, a[3].kind == VAL_NONE ? m->loc : a[3].loc,
                 "%s must be \"int8\", \"int4\", \"fp16\" or \"bf16\"", arg_name(b, sig, 3));
        return false;
    }
    m->group = 0;
    const bool scaled = dt == IR_I8 || dt == IR_I4;
    if (scaled) {
        ok &= size_arg(b, sig, a, 4, 1, 0, &m->group);
        if (ok && (m->group < 1 || in % m->group || (dt == IR_I4 && (m->group % 2 || in % 2)))) {
            fe_error(b, a[4].kind == VAL_NONE ? m->loc : a[4].loc,
                     "%s: group=%lld must divide in_features=%lld%s", sig->name,
                     (long long)m->group, (long long)in,
                     dt == IR_I4 ? " and be even (int4 packs two weights a byte)" : "");
            ok = false;
        }
    } else if (a[4].kind != VAL_NONE) {
        fe_error(b, a[4].loc, "%s: group goes with int8 and int4 weights", sig->name);
        ok = false;
    }
    if (!ok)
        return false;
    if (dt == IR_I4) {
        add_param_typed(b, m, "weight", IR_U8, 2, (int64_t[]){out, in / 2});
        Param *p = &m->params[0]; /* the same bytes, seen as i4 [out, in] */
        p->dtype = IR_I4;
        p->shape.d[1] = ir_dim(in);
    } else {
        add_param_typed(b, m, "weight", dt, 2, (int64_t[]){out, in});
    }
    if (scaled)
        add_param_typed(b, m, "scales", IR_F32, 2, (int64_t[]){out, in / m->group});
    if (bias)
        add_param_typed(b, m, "bias", IR_F32, 1, &out);
    return true;
}

static bool declare_builtin(Builder *b, const ModSig *sig, const Val *a, Module *m)
{
    bool ok = true, bias = true, affine = true;
    int64_t in = 0, out = 0, kernel[2] = {1, 1};
    switch (sig->kind) {
    case MOD_CONV2D:
        ok &= size_arg(b, sig, a, 0, 1, 1, &in);
        ok &= size_arg(b, sig, a, 1, 1, 1, &out);
        ok &= pair_arg(b, sig, a, 2, 1, 1, kernel);
        ok &= pair_arg(b, sig, a, 3, 1, 1, m->stride);
        ok &= pair_arg(b, sig, a, 4, 0, 0, m->padding);
        ok &= pair_arg(b, sig, a, 5, 1, 1, m->dilation);
        ok &= size_arg(b, sig, a, 6, 1, 1, &m->groups);
        ok &= bool_arg(b, sig, a, 7, true, &bias);
        if (ok && (in % m->groups || out % m->groups)) {
            fe_error(b, a[6].kind == VAL_NONE ? m->loc : a[6].loc,
                     "groups=%lld must divide in_channels (%lld) and out_channels (%lld)",
                     (long long)m->groups, (long long)in, (long long)out);
            ok = false;
        }
        if (!ok)
            return false;
        add_param(b, m, "weight", 4, (int64_t[]){out, in / m->groups, kernel[0], kernel[1]});
        if (bias)
            add_param(b, m, "bias", 1, &out);
        return true;
    case MOD_LINEAR:
        ok &= size_arg(b, sig, a, 0, 1, 1, &in);
        ok &= size_arg(b, sig, a, 1, 1, 1, &out);
        ok &= bool_arg(b, sig, a, 2, true, &bias);
        if (!ok)
            return false;
        add_param(b, m, "weight", 2, (int64_t[]){out, in});
        if (bias)
            add_param(b, m, "bias", 1, &out);
        return true;
    case MOD_BATCHNORM2D: {
        double momentum;
        ok &= size_arg(b, sig, a, 0, 1, 1, &in);
        ok &= float_arg(b, sig, a, 1, 1e-5, &m->eps);
        ok &= float_arg(b, sig, a, 2, 0.1, &momentum); /* training only: accepted, unused */
        if (!ok)
            return false;
        static const char *const names[] = {"weight", "bias", "running_mean", "running_var"};
        for (int i = 0; i < 4; i++)
            add_param(b, m, names[i], 1, &in);
        /* PyTorch saves a counter with every BatchNorm; it means nothing here. */
        if (b->st) {
            StTensor *t =
                fe_st_find(b->st, ir_arena_printf(b->arena, "%s.num_batches_tracked", m->path));
            if (t)
                t->used = true;
        }
        return true;
    }
    case MOD_LAYERNORM:
        ok &= norm_shape_arg(b, sig, a, m);
        ok &= float_arg(b, sig, a, 1, 1e-5, &m->eps);
        ok &= bool_arg(b, sig, a, 2, true, &affine);
        if (!ok)
            return false;
        if (affine) {
            add_param(b, m, "weight", m->norm_ndim, m->norm_shape);
            add_param(b, m, "bias", m->norm_ndim, m->norm_shape);
        }
        return true;
    case MOD_EMBEDDING:
        ok &= size_arg(b, sig, a, 0, 1, 1, &in);
        ok &= size_arg(b, sig, a, 1, 1, 1, &out);
        if (!ok)
            return false;
        add_param(b, m, "weight", 2, (int64_t[]){in, out});
        return true;
    case MOD_ACT:
    case MOD_IDENTITY:
    case MOD_FLATTEN:
    case MOD_POOL:
    case MOD_ADAPTIVE_POOL:
    case MOD_GROUPNORM:
    case MOD_CONVT:
    case MOD_MHA: return declare_more(b, sig, a, m);
    case MOD_QCONV2D:
    case MOD_QLINEAR:
    case MOD_DQLINEAR: return declare_quant(b, sig, a, m);
    case MOD_WLINEAR: return declare_weight_only(b, sig, a, m);
    case MOD_SEQUENTIAL:
    case MOD_BLOCK:
    case MOD_PARAMETER: break;
    }
    slimc_assert_fail("not a built-in module with arguments", __FILE__, __LINE__);
    return false;
}

/* Sequential(m0, m1, ...): each argument declares child i, named path.i. */
static Val declare_sequential(Builder *b, Scope *s, const AstExpr *call, Module *m)
{
    int n = ast_len(call->args);
    m->children = ir_arena_alloc(b->arena, sizeof(Module *) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        const AstArg *a = ast_at(call->args, i);
        if (a->key) {
            fe_error(b, a->loc, "Sequential takes its modules by position, not by keyword");
            m->broken = true;
            continue;
        }
        if (a->value->kind == AST_NAME) {
            fe_error(b, a->loc,
                     "Sequential declares its modules (Sequential(Conv2d(...), ...)); an existing "
                     "module cannot be put in one");
            m->broken = true;
            continue;
        }
        const char *path = ir_arena_printf(b->arena, "%s.%d", m->path, i);
        Val v = fe_eval(b, s, a->value, path);
        if (v.kind == VAL_MODULE) {
            m->children[m->n_children++] = v.m;
            continue;
        }
        m->broken = true;
        if (v.kind == VAL_NONE)
            fe_error(b, a->loc,
                     "a module of a Sequential cannot be left out (give its condition an else)");
        else if (v.kind != VAL_ERROR) {
            char desc[200];
            fe_error(b, a->loc, "Sequential holds modules, not %s",
                     fe_describe(&v, desc, sizeof desc));
        }
    }
    return (Val){.kind = VAL_MODULE, .loc = call->loc, .m = m};
}

Val fe_declare_module(Builder *b, Scope *s, const AstExpr *call, const char *path)
{
    if (b->too_big)
        return fe_err_val(call->loc);
    if (++b->n_instances > FE_MAX_INSTANCES) {
        fe_error(b, call->loc, "the model is too large (more than %d modules)", FE_MAX_INSTANCES);
        b->too_big = true;
        return fe_err_val(call->loc);
    }
    const ModSig *sig = find_module(call->text);
    if (!sig) {
        const AstSection *blk = fe_find_block(b, call->text);
        SLIMC_ASSERT(blk);
        return fe_instantiate_block(b, s, call, blk, path);
    }
    Module *m = ir_arena_alloc(b->arena, sizeof *m);
    m->kind = sig->kind;
    m->type_name = sig->name;
    m->path = path;
    m->loc = call->loc;
    m->op = sig->op;
    if (sig->kind == MOD_SEQUENTIAL)
        return declare_sequential(b, s, call, m);
    if (sig->kind == MOD_PARAMETER)
        return declare_parameter(b, s, call, m);
    Val a[10];
    if (!fe_bind_args(b, s, call, sig->name, sig->params, sig->n_params, sig->n_required, a) ||
        !declare_builtin(b, sig, a, m))
        m->broken = true;
    return (Val){.kind = VAL_MODULE, .loc = call->loc, .m = m};
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
    case MOD_BATCHNORM2D: ir_node_set_float(b->g, node, "eps", m->eps); break;
    case MOD_LAYERNORM:
        ir_node_set_int(b->g, node, "normalized_ndim", m->norm_ndim);
        ir_node_set_float(b->g, node, "eps", m->eps);
        break;
    default: break;
    }
    return fe_node_done(b, node, loc);
}

/* ---- parameters and the weights file ---- */

static char *shape_str(const StTensor *t, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < t->ndim && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? ", " : "",
                                (long long)t->shape[i]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
    return buf;
}

static char *want_str(const Param *p, char *buf, size_t size)
{
    StTensor t = {.ndim = p->shape.rank};
    for (int i = 0; i < p->shape.rank; i++)
        t.shape[i] = p->shape.d[i].c;
    return shape_str(&t, buf, size);
}

static void close_weights(void *st)
{
    fe_st_close(st);
}

void fe_weights_open(Builder *b, const AstStmt *line)
{
    b->weights = line;
    SrcLoc at = line->value->loc;
    if (!line->text[0]) {
        fe_error(b, at, "the weights file name is empty");
        return;
    }
    const char *path =
        line->text[0] == '/' ? line->text : ir_arena_printf(b->arena, "%s%s", b->dir, line->text);
    char shown[1200];
    if (strcmp(path, line->text) == 0)
        snprintf(shown, sizeof shown, "'%s'", line->text);
    else
        snprintf(shown, sizeof shown, "'%s' (%s)", line->text, path);
    struct stat sb;
    const char *why;
    int fd = fe_open_regular(path, &sb, &why); /* no FIFO, device, folder or /proc file */
    if (fd < 0) {
        if (why)
            fe_error(b, at, "weights file %s %s", shown, why);
        else
            fe_error(b, at, "cannot open weights file %s: %s", shown, strerror(errno));
        return;
    }
    close(fd);
    fe_note_input(b->g, path, &sb);
    b->st = fe_st_open(path, b->d);
    if (!b->st) {
        ir_diag_note(b->d, at, "while reading the weights of model '%s'", b->model->name);
        return;
    }
    ir_graph_on_free(b->g, close_weights, b->st);
}

/* t's data as f32 in the graph's arena (converted, or copied when misaligned). */
static const void *to_f32(Builder *b, const StTensor *t, size_t count)
{
    float *out = ir_arena_alloc(b->g->arena, count * sizeof(float) + 1);
    const unsigned char *src = t->data;
    for (size_t i = 0; i < count; i++) {
        switch (t->dtype) {
        case IR_F64: {
            double v;
            memcpy(&v, src + 8 * i, sizeof v);
            out[i] = (float)v;
            break;
        }
        case IR_F16: {
            uint16_t h;
            memcpy(&h, src + 2 * i, sizeof h);
            out[i] = (float)ir_f16_value(h);
            break;
        }
        case IR_BF16: {
            uint16_t h;
            memcpy(&h, src + 2 * i, sizeof h);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&out[i], &bits, sizeof bits);
            break;
        }
        default: memcpy(&out[i], src + 4 * i, sizeof(float)); break;
        }
    }
    return out;
}

void fe_param_bind(Builder *b, Module *m, Param *p)
{
    if (!b->weights) {
        if (!b->no_weights_reported)
            fe_error(b, m->loc,
                     "'%s' has parameters, but model '%s' has no weights line (weights "
                     "\"FILE.safetensors\")",
                     m->path, b->model->name);
        b->no_weights_reported = true;
        return;
    }
    if (!b->st)
        return; /* the file could not be read: reported at the weights line */
    char want[200], got[200];
    want_str(p, want, sizeof want);
    StTensor *t = fe_st_find(b->st, p->name);
    if (!t) {
        const char **names =
            ir_arena_alloc(b->arena, sizeof(char *) * (size_t)(b->st->n_tensors + 1));
        for (int i = 0; i < b->st->n_tensors; i++)
            names[i] = b->st->tensors[i].used ? NULL : b->st->tensors[i].name;
        const char *hint = fe_suggest(p->name, names, b->st->n_tensors);
        fe_error(b, m->loc,
                 "parameter '%s' (%s%s, of %s '%s') is missing from weights file '%s'%s%s%s",
                 p->name, ir_dtype_name(p->dtype), want, m->type_name, m->path, b->weights->text,
                 hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
        return;
    }
    t->used = true;
    bool same = t->ndim == p->shape.rank;
    for (int i = 0; same && i < t->ndim; i++)
        same = t->shape[i] == p->shape.d[i].c;
    if (!same) {
        fe_error(b, m->loc, "parameter '%s' has shape %s in '%s', but %s '%s' needs %s", p->name,
                 shape_str(t, got, sizeof got), b->weights->text, m->type_name, m->path, want);
        return;
    }
    size_t count = 1;
    for (int i = 0; i < t->ndim; i++)
        count *= (size_t)t->shape[i];
    if (p->dtype != IR_F32) { /* the integer tensors of quantized modules: no conversion */
        const size_t size = ir_dtype_bytes(p->dtype, (int64_t)count);
        const size_t align = (size_t)ir_dtype_bits(p->dtype) / 8;
        if (t->dtype != p->dtype) {
            fe_error(b, m->loc, "parameter '%s' is %s in '%s'; %s '%s' needs %s", p->name,
                     ir_dtype_name(t->dtype), b->weights->text, m->type_name, m->path,
                     ir_dtype_name(p->dtype));
            return;
        }
        if ((uintptr_t)t->data % align == 0) {
            p->data = t->data;
        } else {
            void *copy = ir_arena_alloc(b->g->arena, size + 1);
            memcpy(copy, t->data, size);
            p->data = copy;
        }
        p->bytes = size;
        return;
    }
    switch (t->dtype) {
    case IR_F32:
        p->data =
            t->aligned && (uintptr_t)t->data % sizeof(float) == 0 ? t->data : to_f32(b, t, count);
        break;
    case IR_F64:
    case IR_F16:
    case IR_BF16:
        p->data = to_f32(b, t, count);
        b->n_converted++;
        b->converted_from |= 1u << t->dtype;
        break;
    default:
        fe_error(b, m->loc,
                 "parameter '%s' is %s in '%s'; it must be a float type (f32, f16, bf16 or f64)",
                 p->name, ir_dtype_name(t->dtype), b->weights->text);
        return;
    }
    p->bytes = count * sizeof(float);
}

ValueId fe_param_value(Builder *b, Module *m, int i)
{
    Param *p = &m->params[i];
    if (p->v == IR_NONE) {
        Type t = {.dtype = p->dtype, .shape = p->shape};
        SrcLoc loc = fe_gloc(b, m->loc);
        /* Without data (an error was reported) a typed placeholder keeps shapes going. */
        p->v = p->data ? ir_const_new(b->g, p->name, t, p->data, p->bytes, loc)
                       : ir_value_new(b->g, p->name, t, loc);
    }
    return p->v;
}

void fe_weights_finish(Builder *b)
{
    if (!b->st)
        return;
    SrcLoc at = b->weights->loc;
    if (b->n_converted) {
        char from[64];
        size_t len = 0;
        from[0] = 0;
        for (int t = 0; t < IR_NUM_DTYPES; t++)
            if (b->converted_from & (1u << t))
                len += (size_t)snprintf(from + len, sizeof from - len, "%s%s", len ? ", " : "",
                                        ir_dtype_name((DType)t));
        ir_diag_note(b->d, at, "%d parameter%s converted to f32 (from %s)", b->n_converted,
                     b->n_converted == 1 ? "" : "s", from);
    }
    if (b->d->n_errors > b->errors_at_start)
        return; /* parameters of broken declarations would show up as unused */
    int unused = 0;
    for (int i = 0; i < b->st->n_tensors; i++)
        unused += !b->st->tensors[i].used;
    if (!unused)
        return;
    enum { SHOWN = 5 };
    char list[1024];
    size_t len = 0;
    list[0] = 0;
    for (int i = 0, k = 0; i < b->st->n_tensors && k < SHOWN && len < sizeof list; i++)
        if (!b->st->tensors[i].used)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'", k++ ? ", " : "",
                                    b->st->tensors[i].name);
    if (unused > SHOWN && len < sizeof list)
        snprintf(list + len, sizeof list - len, " and %d more", unused - SHOWN);
    ir_diag_warning(b->d, at, "%d tensor%s in '%s' %s not used by model '%s': %s", unused,
                    unused == 1 ? "" : "s", b->weights->text, unused == 1 ? "is" : "are",
                    b->model->name, list);
}
