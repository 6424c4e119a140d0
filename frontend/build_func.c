/* The built-in functions of the model language: each becomes one node. Their parameters
 * follow torch.nn.functional (with `axis` for softmax's `dim`, both accepted). */
#include "frontend/builder.h"

#include <stdio.h>
#include <string.h>

/* A function's signature: parameter names (aliases after '|'), how many are required,
 * and how many of the first ones are the op's tensor inputs. */
typedef struct FuncSig {
    const char *name;
    OpKind op;
    int n_params, n_required, n_tensors;
    const char *params[6];
} FuncSig;

static const FuncSig funcs[] = {
    {"relu", IR_OP_RELU, 1, 1, 1, {"x|input"}},
    {"sigmoid", IR_OP_SIGMOID, 1, 1, 1, {"x|input"}},
    {"tanh", IR_OP_TANH, 1, 1, 1, {"x|input"}},
    {"max_pool2d", IR_OP_MAX_POOL2D, 6, 2, 1,
     {"x|input", "kernel|kernel_size", "stride", "padding", "dilation", "ceil_mode"}},
    {"avg_pool2d", IR_OP_AVG_POOL2D, 6, 2, 1,
     {"x|input", "kernel|kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"}},
    {"flatten", IR_OP_FLATTEN, 3, 1, 1, {"x|input", "start_dim", "end_dim"}},
    {"reshape", IR_OP_RESHAPE, 0, 0, 1, {0}}, /* reshape(x, d0, d1, ...): variadic */
    {"softmax", IR_OP_SOFTMAX, 2, 1, 1, {"x|input", "axis|dim"}},
    {"log_softmax", IR_OP_LOG_SOFTMAX, 2, 1, 1, {"x|input", "axis|dim"}},
    {"matmul", IR_OP_MATMUL, 2, 2, 2, {"a|input", "b|other"}},
    {"add", IR_OP_ADD, 2, 2, 2, {"a|input", "b|other"}},
    {"sub", IR_OP_SUB, 2, 2, 2, {"a|input", "b|other"}},
    {"mul", IR_OP_MUL, 2, 2, 2, {"a|input", "b|other"}},
    {"div", IR_OP_DIV, 2, 2, 2, {"a|input", "b|other"}},
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
static const char *arg_name(Builder *b, const FuncSig *f, int i)
{
    const char *p = f->params[i], *bar = strchr(p, '|');
    int w = bar ? (int)(bar - p) : (int)strlen(p);
    return arena_printf(b->arena, "'%.*s' of %s", w, p, f->name);
}

/* reshape(x, d0, d1, ...) or reshape(x, [d0, d1, ...]): each size an integer, -1 (inferred)
 * or a symbolic dimension, stored as -(1000 + its index) (see ir/shape.c). */
static Val call_reshape(Builder *b, Scope *s, const AstExpr *e)
{
    int n = ast_len(e->args);
    Val *vals = arena_alloc(b->arena, sizeof(Val) * (size_t)(n ? n : 1));
    bool ok = true;
    for (int i = 0; i < n; i++) {
        const AstArg *a = ast_at(e->args, i);
        vals[i] = fe_eval(b, s, a->value, NULL);
        if (a->key) {
            fe_error(b, a->loc, "reshape takes its sizes by position: reshape(x, d0, d1, ...)");
            ok = false;
        }
    }
    if (!ok)
        return fe_err_val(e->loc);
    if (n < 2) {
        fe_error(b, e->loc, "reshape needs a tensor and the new sizes: reshape(x, d0, d1, ...)");
        return fe_err_val(e->loc);
    }
    const Val *dims = vals + 1;
    int rank = n - 1;
    if (rank == 1 && vals[1].kind == VAL_LIST) {
        dims = vals[1].items;
        rank = vals[1].n;
    }
    if (rank < 1 || rank > IR_MAX_RANK) {
        fe_error(b, e->loc, "reshape to %d dimensions: a tensor has 1 to %d", rank, IR_MAX_RANK);
        return fe_err_val(e->loc);
    }
    int64_t shape[IR_MAX_RANK];
    int inferred = 0;
    for (int i = 0; i < rank; i++) {
        const Val *d = &dims[i];
        if (d->kind == VAL_SYMBOL) {
            shape[i] = -(1000 + d->i);
        } else if (d->kind == VAL_INT && (d->i >= 1 || d->i == -1)) {
            shape[i] = d->i;
            if (d->i == -1 && inferred++) {
                fe_error(b, d->loc, "only one size of a reshape may be -1");
                ok = false;
            }
        } else if (d->kind == VAL_INT) {
            fe_error(b, d->loc, "a reshape size is at least 1 (or -1 to infer it), not %lld", (long long)d->i);
            ok = false;
        } else if (d->kind != VAL_ERROR) {
            char desc[200];
            fe_error(b, d->loc, "a reshape size is an integer, -1 or a symbolic dimension such as N, not %s",
                     fe_describe(d, desc, sizeof desc));
            ok = false;
        } else {
            ok = false;
        }
    }
    ValueId x;
    if (!fe_to_tensor(b, &vals[0], &x) || !ok)
        return fe_err_val(e->loc);
    NodeId node = fe_node(b, IR_OP_RESHAPE, NULL, e->loc, &x, 1);
    if (node != IR_NONE)
        ir_node_set_ints(b->g, node, "shape", shape, rank);
    return fe_node_done(b, node, e->loc);
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
    bool ok = fe_to_pair(b, &a[1], arg_name(b, f, 1), p->kernel);
    if (a[2].kind != VAL_NONE)
        ok &= fe_to_pair(b, &a[2], arg_name(b, f, 2), p->stride);
    else
        memcpy(p->stride, p->kernel, sizeof p->stride);
    if (a[3].kind != VAL_NONE)
        ok &= fe_to_pair(b, &a[3], arg_name(b, f, 3), p->padding);
    if (f->op == IR_OP_MAX_POOL2D) {
        if (a[4].kind != VAL_NONE)
            ok &= fe_to_pair(b, &a[4], arg_name(b, f, 4), p->dilation);
        if (a[5].kind != VAL_NONE)
            ok &= fe_to_bool(b, &a[5], arg_name(b, f, 5), &p->ceil_mode);
    } else {
        if (a[4].kind != VAL_NONE)
            ok &= fe_to_bool(b, &a[4], arg_name(b, f, 4), &p->ceil_mode);
        if (a[5].kind != VAL_NONE)
            ok &= fe_to_bool(b, &a[5], arg_name(b, f, 5), &p->count_include_pad);
    }
    /* Lower bounds are the shape function's to check; absurd sizes stop here. */
    const int64_t *all[4] = {p->kernel, p->stride, p->padding, p->dilation};
    for (int i = 0; ok && i < 4; i++)
        for (int k = 0; k < 2; k++)
            if (all[i][k] < -FE_MAX_POOL || all[i][k] > FE_MAX_POOL) {
                fe_error(b, a[i == 0 ? 1 : i == 1 ? 2 : i == 2 ? 3 : 4].loc, "%lld is too large for %s",
                         (long long)all[i][k], f->name);
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
        return call_reshape(b, s, e);
    Val a[6];
    if (!fe_bind_args(b, s, e, f->name, f->params, f->n_params, f->n_required, a))
        return fe_err_val(e->loc);
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
    case IR_OP_AVG_POOL2D:
        ok &= pool_args(b, f, a, &pool);
        break;
    case IR_OP_FLATTEN:
        i1 = 1;
        i2 = -1;
        if (a[1].kind != VAL_NONE)
            ok &= fe_to_int(b, &a[1], arg_name(b, f, 1), &i1);
        if (a[2].kind != VAL_NONE)
            ok &= fe_to_int(b, &a[2], arg_name(b, f, 2), &i2);
        break;
    case IR_OP_SOFTMAX:
    case IR_OP_LOG_SOFTMAX:
        i1 = -1;
        if (a[1].kind != VAL_NONE)
            ok &= fe_to_int(b, &a[1], arg_name(b, f, 1), &i1);
        break;
    default:
        break;
    }
    if (!ok)
        return fe_err_val(e->loc);
    NodeId node = fe_node(b, f->op, NULL, e->loc, in, n_tensors);
    if (node == IR_NONE)
        return fe_err_val(e->loc);
    switch (f->op) {
    case IR_OP_MAX_POOL2D:
    case IR_OP_AVG_POOL2D:
        set_pool_attrs(b, f->op, &pool, node);
        break;
    case IR_OP_FLATTEN:
        ir_node_set_int(b->g, node, "start_dim", i1);
        ir_node_set_int(b->g, node, "end_dim", i2);
        break;
    case IR_OP_SOFTMAX:
    case IR_OP_LOG_SOFTMAX:
        ir_node_set_int(b->g, node, "axis", i1);
        break;
    default:
        break;
    }
    return fe_node_done(b, node, e->loc);
}
