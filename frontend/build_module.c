/* The built-in modules (Conv2d, Linear, BatchNorm2d, LayerNorm, Embedding, Sequential),
 * their parameters, and the weights file they are bound to by PyTorch state_dict names.
 * A module is declared once (its arguments checked and its parameters bound) and becomes
 * nodes each time it is called. */
#include "frontend/builder.h"

#include <errno.h>
#include <fcntl.h>
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
    const char *params[8];
} ModSig;

static const ModSig modules[] = {
    {"Conv2d", MOD_CONV2D, 8, 3,
     {"in_channels", "out_channels", "kernel_size|kernel", "stride", "padding", "dilation", "groups", "bias"}},
    {"Linear", MOD_LINEAR, 3, 2, {"in_features", "out_features", "bias"}},
    {"BatchNorm2d", MOD_BATCHNORM2D, 3, 1, {"num_features", "eps", "momentum"}},
    {"LayerNorm", MOD_LAYERNORM, 3, 1, {"normalized_shape", "eps", "elementwise_affine"}},
    {"Embedding", MOD_EMBEDDING, 2, 2, {"num_embeddings", "embedding_dim"}},
    {"Sequential", MOD_SEQUENTIAL, 0, 0, {0}},
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
    return arena_printf(b->arena, "'%.*s' of %s", w, p, sig->name);
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

static void add_param(Builder *b, Module *m, const char *name, int rank, const int64_t *dims)
{
    Param *p = &m->params[m->n_params++];
    p->name = arena_printf(b->arena, "%s.%s", m->path, name);
    p->shape.rank = rank;
    for (int i = 0; i < rank; i++)
        p->shape.d[i] = ir_dim(dims[i]);
    p->v = IR_NONE;
    fe_param_bind(b, m, p);
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
            fe_error(b, items[i].loc, "%s must be between 1 and %lld, not %lld", arg_name(b, sig, 0),
                     (long long)FE_MAX_SIZE, (long long)m->norm_shape[i]);
            return false;
        }
    }
    m->norm_ndim = n;
    return true;
}

/* Checks a built-in module's arguments and binds its parameters. */
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
            StTensor *t = fe_st_find(b->st, arena_printf(b->arena, "%s.num_batches_tracked", m->path));
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
    case MOD_SEQUENTIAL:
    case MOD_BLOCK:
        break;
    }
    slimc_assert_fail("not a built-in module with arguments", __FILE__, __LINE__);
    return false;
}

/* Sequential(m0, m1, ...): each argument declares child i, named path.i. */
static Val declare_sequential(Builder *b, Scope *s, const AstExpr *call, Module *m)
{
    int n = ast_len(call->args);
    m->children = arena_alloc(b->arena, sizeof(Module *) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        const AstArg *a = ast_at(call->args, i);
        if (a->key) {
            fe_error(b, a->loc, "Sequential takes its modules by position, not by keyword");
            m->broken = true;
            continue;
        }
        if (a->value->kind == AST_NAME) {
            fe_error(b, a->loc, "Sequential declares its modules (Sequential(Conv2d(...), ...)); an existing module cannot be put in one");
            m->broken = true;
            continue;
        }
        const char *path = arena_printf(b->arena, "%s.%d", m->path, i);
        Val v = fe_eval(b, s, a->value, path);
        if (v.kind == VAL_MODULE) {
            m->children[m->n_children++] = v.m;
            continue;
        }
        m->broken = true;
        if (v.kind == VAL_NONE)
            fe_error(b, a->loc, "a module of a Sequential cannot be left out (give its condition an else)");
        else if (v.kind != VAL_ERROR) {
            char desc[200];
            fe_error(b, a->loc, "Sequential holds modules, not %s", fe_describe(&v, desc, sizeof desc));
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
    Module *m = arena_alloc(b->arena, sizeof *m);
    m->kind = sig->kind;
    m->type_name = sig->name;
    m->path = path;
    m->loc = call->loc;
    if (sig->kind == MOD_SEQUENTIAL)
        return declare_sequential(b, s, call, m);
    Val a[8];
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
        fe_error(b, loc, "layer_norm '%s': the input %s does not end in the normalized shape %s", m->path, t, want);
    }
    return ok;
}

Val fe_call_module(Builder *b, Module *m, const Val *inputs, int n, SrcLoc loc)
{
    if (m->broken)
        return fe_err_val(loc);
    if (m->kind == MOD_BLOCK)
        return fe_call_block(b, m, inputs, n, loc);
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
    OpKind op = IR_OP_RELU;
    switch (m->kind) {
    case MOD_CONV2D: op = IR_OP_CONV2D; break;
    case MOD_LINEAR: op = IR_OP_LINEAR; break;
    case MOD_BATCHNORM2D: op = IR_OP_BATCH_NORM; break;
    case MOD_LAYERNORM: op = IR_OP_LAYER_NORM; break;
    case MOD_EMBEDDING: op = IR_OP_EMBEDDING; break;
    case MOD_SEQUENTIAL:
    case MOD_BLOCK:
        slimc_assert_fail("handled above", __FILE__, __LINE__);
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
        break;
    case MOD_LAYERNORM:
        ir_node_set_int(b->g, node, "normalized_ndim", m->norm_ndim);
        ir_node_set_float(b->g, node, "eps", m->eps);
        break;
    default:
        break;
    }
    return fe_node_done(b, node, loc);
}

/* ---- parameters and the weights file ---- */

static char *shape_str(const StTensor *t, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < t->ndim && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
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
    const char *path = line->text[0] == '/' ? line->text : arena_printf(b->arena, "%s%s", b->dir, line->text);
    char shown[1200];
    if (strcmp(path, line->text) == 0)
        snprintf(shown, sizeof shown, "'%s'", line->text);
    else
        snprintf(shown, sizeof shown, "'%s' (%s)", line->text, path);
    struct stat sb;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fe_error(b, at, "cannot open weights file %s: %s", shown, strerror(errno));
        return;
    }
    bool regular = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
    close(fd);
    if (!regular) {
        fe_error(b, at, "weights file %s is not a regular file", shown);
        return;
    }
    b->st = fe_st_open(path, b->d);
    if (!b->st) {
        diag_note(b->d, at, "while reading the weights of model '%s'", b->model->name);
        return;
    }
    ir_graph_on_free(b->g, close_weights, b->st);
}

/* A float16 bit pattern as a float. */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0x1f) { /* inf, nan */
        bits = sign | 0x7f800000u | (mant << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else { /* subnormal: normalize */
        exp = 113;
        while (!(mant & 0x400)) {
            mant <<= 1;
            exp--;
        }
        bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* t's data as f32 in the graph's arena (converted, or copied when misaligned). */
static const void *to_f32(Builder *b, const StTensor *t, size_t count)
{
    float *out = arena_alloc(b->g->arena, count * sizeof(float) + 1);
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
            out[i] = half_to_float(h);
            break;
        }
        case IR_BF16: {
            uint16_t h;
            memcpy(&h, src + 2 * i, sizeof h);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&out[i], &bits, sizeof bits);
            break;
        }
        default:
            memcpy(&out[i], src + 4 * i, sizeof(float));
            break;
        }
    }
    return out;
}

void fe_param_bind(Builder *b, Module *m, Param *p)
{
    if (!b->weights) {
        if (!b->no_weights_reported)
            fe_error(b, m->loc, "'%s' has parameters, but model '%s' has no weights line (weights \"FILE.safetensors\")",
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
        const char **names = arena_alloc(b->arena, sizeof(char *) * (size_t)(b->st->n_tensors + 1));
        for (int i = 0; i < b->st->n_tensors; i++)
            names[i] = b->st->tensors[i].used ? NULL : b->st->tensors[i].name;
        const char *hint = fe_suggest(p->name, names, b->st->n_tensors);
        fe_error(b, m->loc, "parameter '%s' (f32%s, of %s '%s') is missing from weights file '%s'%s%s%s",
                 p->name, want, m->type_name, m->path, b->weights->text, hint ? "; did you mean '" : "",
                 hint ? hint : "", hint ? "'?" : "");
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
    switch (t->dtype) {
    case IR_F32:
        p->data = t->aligned && (uintptr_t)t->data % sizeof(float) == 0 ? t->data : to_f32(b, t, count);
        break;
    case IR_F64:
    case IR_F16:
    case IR_BF16:
        p->data = to_f32(b, t, count);
        b->n_converted++;
        b->converted_from |= 1u << t->dtype;
        break;
    default:
        fe_error(b, m->loc, "parameter '%s' is %s in '%s'; it must be a float type (f32, f16, bf16 or f64)",
                 p->name, ir_dtype_name(t->dtype), b->weights->text);
        return;
    }
    p->bytes = count * sizeof(float);
}

ValueId fe_param_value(Builder *b, Module *m, int i)
{
    Param *p = &m->params[i];
    if (p->v == IR_NONE) {
        Type t = {.dtype = IR_F32, .shape = p->shape};
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
        diag_note(b->d, at, "%d parameter%s converted to f32 (from %s)", b->n_converted,
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
    diag_warning(b->d, at, "%d tensor%s in '%s' %s not used by model '%s': %s", unused, unused == 1 ? "" : "s",
                 b->weights->text, unused == 1 ? "is" : "are", b->model->name, list);
}
