/* The built-in modules (Conv2d, Linear, BatchNorm2d, LayerNorm, Embedding, Sequential) and
 * their parameters, bound to the weights file by PyTorch state_dict names. A module is
 * declared once, here (its arguments checked and its parameters bound: the weights file is
 * frontend/build_weights.c's), and becomes nodes each time it is called
 * (frontend/build_call.c). */
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

static void add_param_full(Builder *b, Module *m, const char *full_name, int rank,
                           const int64_t *dims, DType dtype)
{
    Param *p = &m->params[m->n_params++];
    p->name = full_name;
    p->dtype = dtype;
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
               (float_arg(b, sig, a, 0, 0.5, &m->drop_p) &&
                fe_dropout_p_ok(b, a[0].loc, m->drop_p) && bool_arg(b, sig, a, 1, false, &flag));
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

/* Parameter(d0, d1, ..., dtype="f32"): one tensor of that shape named by the module's path;
 * an integer or bool dtype (an index, a mask, a shape a model computes with) is read from
 * the weights file as it is stored. */
static Val declare_parameter(Builder *b, Scope *s, const AstExpr *call, Module *m)
{
    int n = ast_len(call->args);
    int64_t dims[IR_MAX_RANK];
    bool ok = true;
    DType dtype = IR_F32;
    const AstArg *last = n > 0 ? ast_at(call->args, n - 1) : NULL;
    if (last && last->key && !strcmp(last->key, "dtype")) {
        const AstArg *arg = last;
        Val v = fe_eval(b, s, arg->value, NULL);
        if (v.kind != VAL_STRING || !ir_dtype_parse(v.s, &dtype) ||
            (dtype != IR_F32 && dtype != IR_I64 && dtype != IR_I32 && dtype != IR_BOOL)) {
            fe_error(b, arg->loc, "Parameter's dtype is \"f32\", \"i64\", \"i32\" or \"bool\"");
            ok = false;
        }
        n--;
    }
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
        add_param_full(b, m, m->path, n, dims, dtype);
    else
        m->broken = true;
    return (Val){.kind = VAL_MODULE, .loc = call->loc, .m = m};
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
        ok &= size_arg(b, sig, a, 0, 1, 1, &in);
        ok &= float_arg(b, sig, a, 1, 1e-5, &m->eps);
        ok &= float_arg(b, sig, a, 2, 0.1, &m->momentum); /* training only (slimc train) */
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
