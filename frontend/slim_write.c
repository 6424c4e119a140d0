/* The .slim printer: one statement per IR node, in graph order, over the model language's
 * modules and functions (docs/language.md), with the constants in a safetensors file. */
#include "frontend/slim_write.h"
#include "ir/text_escape.h"

#include "frontend/builder.h" /* FE_MAX_DIM */
#include "frontend/npy.h"
#include "frontend/safetensors.h"
#include "frontend/st_sparse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct Writer {
    const Graph *g;
    Diag *d;
    SrcLoc at;
    FILE *mods, *body; /* module declarations, statements */
    char *mods_buf, *body_buf;
    size_t mods_len, body_len;
    StWriteTensor *tensors;
    int n_tensors, cap_tensors;
    int64_t *shapes; /* [cap_tensors * IR_MAX_RANK] */
    void **owned;    /* buffers made here (transposed weights) */
    int n_owned;
    char **names;     /* per value: its name in the .slim text, or NULL */
    char **mod_names; /* the modules named so far (module_name) */
    int n_mod_names;
    bool ok;
    bool compact; /* sparse conv/linear weights in the compact form when smaller */
    FILE *meta;   /* the "__metadata__" entries so far, "key":"value", comma-separated */
    char *meta_buf;
    size_t meta_len;
    uint64_t saved; /* bytes the compact form saved */
    int n_compact;
} Writer;

static char *xstrdup(const char *s)
{
    char *r = strdup(s);
    SLIMC_ASSERT(r);
    return r;
}

/* An identifier of the language from s ([A-Za-z_][A-Za-z0-9_]*; others '_'). */
static char *ident(const char *s, const char *prefix)
{
    size_t n = strlen(s);
    char *r = malloc(n + strlen(prefix) + 2);
    SLIMC_ASSERT(r);
    size_t k = 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_')) {
        strcpy(r, prefix);
        k = strlen(prefix);
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool okc =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        r[k++] = okc ? c : '_';
    }
    r[k] = 0;
    return r;
}

static void add_tensor(Writer *w, const char *name, DType dt, int rank, const int64_t *shape,
                       const void *data, size_t nbytes)
{
    if (w->n_tensors == w->cap_tensors) {
        w->cap_tensors = w->cap_tensors ? 2 * w->cap_tensors : 32;
        w->tensors = realloc(w->tensors, sizeof *w->tensors * (size_t)w->cap_tensors);
        w->shapes = realloc(w->shapes, sizeof(int64_t) * IR_MAX_RANK * (size_t)w->cap_tensors);
        SLIMC_ASSERT(w->tensors && w->shapes);
        for (int i = 0; i < w->n_tensors; i++)
            w->tensors[i].shape = w->shapes + IR_MAX_RANK * i;
    }
    int64_t *sh = w->shapes + IR_MAX_RANK * w->n_tensors;
    for (int i = 0; i < rank; i++)
        sh[i] = shape[i];
    w->tensors[w->n_tensors++] = (StWriteTensor){xstrdup(name), dt, rank, sh, data, nbytes};
}

static void add_value_tensor(Writer *w, const char *name, ValueId v)
{
    const Value *val = &w->g->values[v];
    int64_t shape[IR_MAX_RANK];
    for (int i = 0; i < val->type.shape.rank; i++)
        shape[i] = val->type.shape.d[i].c;
    add_tensor(w, name, val->type.dtype, val->type.shape.rank, shape, val->data, val->data_bytes);
}

/* A conv2d / linear weight (f32, PyTorch's layout): dense, or — when the writer is
 * compact and it pays — as NAME.values + NAME.mask with its metadata entry
 * (frontend/st_sparse.h). */
static void add_weight(Writer *w, const char *name, int rank, const int64_t *shape,
                       const float *data, size_t nbytes)
{
    size_t count = nbytes / sizeof(float);
    if (!w->compact || !fe_st_sparse_pays(data, count)) {
        add_tensor(w, name, IR_F32, rank, shape, data, nbytes);
        return;
    }
    size_t nnz = fe_st_sparse_nnz(data, count), mask_bytes = (count + 7) / 8;
    uint8_t *mask = malloc(mask_bytes + 1);
    float *values = malloc(nnz * sizeof(float) + 1);
    w->owned = realloc(w->owned, sizeof(void *) * (size_t)(w->n_owned + 2));
    SLIMC_ASSERT(mask && values && w->owned);
    w->owned[w->n_owned++] = mask;
    w->owned[w->n_owned++] = values;
    fe_st_sparse_encode(data, count, mask, values);
    char tn[200];
    int64_t n1 = (int64_t)nnz, m1 = (int64_t)mask_bytes;
    snprintf(tn, sizeof tn, "%s.values", name);
    add_tensor(w, tn, IR_F32, 1, &n1, values, nnz * sizeof(float));
    snprintf(tn, sizeof tn, "%s.mask", name);
    add_tensor(w, tn, IR_U8, 1, &m1, mask, mask_bytes);
    /* names are the writer's identifiers and dots: nothing to escape in JSON */
    fprintf(w->meta, "%s\"%s\":\"%s:[", w->n_compact ? "," : "", name, FE_ST_SPARSE_FORMAT);
    for (int i = 0; i < rank; i++)
        fprintf(w->meta, "%s%lld", i ? "," : "", (long long)shape[i]);
    fputs("]\"", w->meta);
    w->n_compact++;
    w->saved += nbytes - fe_st_sparse_bytes(count, nnz);
}

static void fail(Writer *w, const Node *n, const char *why)
{
    ir_diag_error(w->d, w->at, "node '%s' (%s) cannot be written in the model language yet: %s",
                  n->name, ir_ops[n->op].name, why);
    w->ok = false;
}

static bool is_const(const Writer *w, ValueId v)
{
    return v != IR_NONE && w->g->values[v].kind == IR_VALUE_CONST;
}

/* The .slim expression of value v: a name, or pK() for a constant (declared once). */
static const char *operand(Writer *w, const Node *n, ValueId v)
{
    if (w->names[v])
        return w->names[v];
    const Value *val = &w->g->values[v];
    if (val->kind != IR_VALUE_CONST) {
        fail(w, n, "an operand has no name");
        return "?";
    }
    const DType dt = val->type.dtype;
    if ((dt != IR_F32 && dt != IR_I64 && dt != IR_I32 && dt != IR_BOOL) || val->type.quant) {
        char buf[80];
        snprintf(buf, sizeof buf, "a %s constant (Parameter holds f32, i64, i32 or bool)",
                 ir_dtype_name(dt));
        fail(w, n, buf);
        return "?";
    }
    char pname[32];
    snprintf(pname, sizeof pname, "p%d", v);
    fprintf(w->mods, "    %s = Parameter(", pname);
    for (int i = 0; i < val->type.shape.rank; i++)
        fprintf(w->mods, "%s%lld", i ? ", " : "", (long long)val->type.shape.d[i].c);
    if (dt != IR_F32) /* an index, a mask, a shape the model computes with */
        fprintf(w->mods, "%sdtype=\"%s\"", val->type.shape.rank ? ", " : "", ir_dtype_name(dt));
    fprintf(w->mods, ")\n");
    add_value_tensor(w, pname, v);
    char expr[40];
    snprintf(expr, sizeof expr, "%s()", pname);
    w->names[v] = xstrdup(expr);
    return w->names[v];
}

static void ints(FILE *f, const int64_t *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%lld", i ? ", " : "", (long long)v[i]);
    fputc(']', f);
}

static void attr_ints(FILE *f, const Node *n, const char *name, int max, int64_t dflt)
{
    int64_t v[IR_MAX_RANK];
    int k = ir_attr_ints(n, name, v, max, dflt);
    ints(f, v, k ? k : max);
}

static void num(FILE *f, double x)
{
    fprintf(f, "%.9g", x);
}

/* Whether id may name a module: not a word or function of the language, not a name the
 * writer makes (tK, mK, pK), not an input's, not taken. */
static bool module_name_free(const Writer *w, const char *id)
{
    static const char *const words[] = {"model",  "block", "compress", "weights", "forward",
                                        "return", "if",    "else",     "and",     "or",
                                        "not",    "true",  "false"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(id, words[i]))
            return false;
    OpKind op;
    if (ir_op_lookup(id, &op))
        return false;
    if ((id[0] == 't' || id[0] == 'm' || id[0] == 'p') && id[1] &&
        strspn(id + 1, "0123456789") == strlen(id + 1))
        return false;
    for (int i = 0; i < w->g->n_inputs; i++)
        if (w->names[w->g->inputs[i]] && !strcmp(w->names[w->g->inputs[i]], id))
            return false;
    for (int i = 0; i < w->n_mod_names; i++)
        if (!strcmp(w->mod_names[i], id))
            return false;
    return true;
}

/* The name of n's module in the .slim text: its parameters' own prefix, made an identifier
 * ("conv1" of conv1.weight, "layer1_0_conv1" of layer1.0.conv1.weight), so that the saved
 * tensors keep the names they had wherever those are flat; mK when that is not free. */
static void module_name(Writer *w, const Node *n, char *mod, size_t cap)
{
    /* a parameter's name as loaded or as a pass renamed it (conv1.weight_bn after
     * bn_fold, fc1.weight.scale after quantize) */
    static const char *const params[] = {"weight", "bias", "running_mean", "running_var", "scale"};
    for (int i = 1; i < n->n_inputs; i++) {
        ValueId v = n->inputs[i];
        const char *name = v != IR_NONE ? w->g->values[v].name : NULL;
        if (!name || !is_const(w, v))
            continue;
        /* the first component that is a parameter's: what precedes it is the module */
        const char *dot = NULL;
        for (const char *p = strchr(name, '.'); p && !dot; p = strchr(p + 1, '.'))
            for (size_t k = 0; k < sizeof params / sizeof params[0]; k++)
                if (!strncmp(p + 1, params[k], strlen(params[k])))
                    dot = p;
        if (!dot || dot == name || (size_t)(dot - name) >= cap)
            continue;
        char prefix[256];
        snprintf(prefix, sizeof prefix, "%.*s", (int)(dot - name), name);
        char *id = ident(prefix, "m_");
        if (strlen(id) < cap && module_name_free(w, id)) {
            strcpy(mod, id);
            w->mod_names = realloc(w->mod_names, sizeof(char *) * (size_t)(w->n_mod_names + 1));
            SLIMC_ASSERT(w->mod_names);
            w->mod_names[w->n_mod_names++] = id;
            return;
        }
        free(id);
    }
    snprintf(mod, cap, "m%d", n->outputs[0]);
}

/* One node as a statement "tK = ..."; false (reported) when the language lacks it. */
static void write_node(Writer *w, const Node *n)
{
    FILE *f = w->body;
    const Graph *g = w->g;
    const char *op = ir_ops[n->op].name;
    char out[32];
    snprintf(out, sizeof out, "t%d", n->outputs[0]);
    ValueId x = n->inputs[0];
    char mod[120];
    if (ir_ops[n->op].flags & IR_F_WEIGHTED || n->op == IR_OP_BATCH_NORM ||
        n->op == IR_OP_LAYER_NORM || n->op == IR_OP_EMBEDDING)
        module_name(w, n, mod, sizeof mod);
    else
        snprintf(mod, sizeof mod, "m%d", n->outputs[0]);
    char pn[160];
    switch (n->op) {
    case IR_OP_CONV2D:
    case IR_OP_CONV_TRANSPOSE2D: { /* weight [O, C/g, kh, kw]; transposed [C, O/g, kh, kw] */
        const bool tr = n->op == IR_OP_CONV_TRANSPOSE2D;
        const Type *wt = &g->values[n->inputs[1]].type;
        bool bias = n->n_inputs > 2 && n->inputs[2] != IR_NONE;
        const Attr *pa = ir_node_attr(n, "padding");
        if (!is_const(w, n->inputs[1]) || (bias && !is_const(w, n->inputs[2])) ||
            (tr && wt->dtype != IR_F32)) {
            fail(w, n,
                 tr ? "ConvTranspose2d needs constant f32 weights"
                    : "Conv2d needs constant weights");
            return;
        }
        if (pa && pa->n_ints == 4 && (pa->ints[0] != pa->ints[2] || pa->ints[1] != pa->ints[3])) {
            fail(w, n, "the module pads each side alike (this one is asymmetric)");
            return;
        }
        int64_t groups = ir_attr_groups(n), c0 = wt->shape.d[0].c, c1 = wt->shape.d[1].c * groups;
        fprintf(w->mods, "    %s = %s(%lld, %lld, [%lld, %lld], stride=", mod,
                tr ? "ConvTranspose2d" : "Conv2d", (long long)(tr ? c0 : c1),
                (long long)(tr ? c1 : c0), (long long)wt->shape.d[2].c,
                (long long)wt->shape.d[3].c);
        attr_ints(w->mods, n, "stride", 2, 1);
        fputs(", padding=", w->mods);
        attr_ints(w->mods, n, "padding", 2, 0);
        if (tr) {
            fputs(", output_padding=", w->mods);
            attr_ints(w->mods, n, "output_padding", 2, 0);
        }
        fputs(", dilation=", w->mods);
        attr_ints(w->mods, n, "dilation", 2, 1);
        fprintf(w->mods, ", groups=%lld, bias=%s)\n", (long long)groups, bias ? "true" : "false");
        snprintf(pn, sizeof pn, "%s.weight", mod);
        if (g->values[n->inputs[1]].type.dtype == IR_F32) {
            int64_t shape[4];
            for (int i = 0; i < 4; i++)
                shape[i] = wt->shape.d[i].c;
            add_weight(w, pn, 4, shape, g->values[n->inputs[1]].data,
                       g->values[n->inputs[1]].data_bytes);
        } else
            add_value_tensor(w, pn, n->inputs[1]);
        if (bias) {
            snprintf(pn, sizeof pn, "%s.bias", mod);
            add_value_tensor(w, pn, n->inputs[2]);
        }
        fprintf(f, "    %s = %s(%s)\n", out, mod, operand(w, n, x));
        return;
    }
    case IR_OP_QCONV2D:
    case IR_OP_QLINEAR: {
        const bool conv = n->op == IR_OP_QCONV2D;
        if (ir_attr_w_packed(n) || (conv && ir_attr_w_taps(n))) {
            fail(w, n, "its weight is packed for the kernels (save before the layout pass)");
            return;
        }
        if (ir_node_attr_id(n, IR_A_y_scale)) {
            fail(w, n,
                 "it writes u8 for the next int8 layer (save before the qchain pass: "
                 "running the saved model chains it again)");
            return;
        }
        const Type *wt = &g->values[n->inputs[1]].type;
        bool bias = n->n_inputs > 4 && n->inputs[4] != IR_NONE;
        for (int i = 1; i < 4 + bias; i++)
            if (!is_const(w, n->inputs[i])) {
                fail(w, n, "a quantized layer needs constant weights, scales and sums");
                return;
            }
        const int64_t out_c = wt->shape.d[0].c;
        if (conv) {
            int64_t groups = ir_attr_groups(n);
            fprintf(w->mods, "    %s = QuantConv2d(%lld, %lld, [%lld, %lld], stride=", mod,
                    (long long)(wt->shape.d[1].c * groups), (long long)out_c,
                    (long long)wt->shape.d[2].c, (long long)wt->shape.d[3].c);
            attr_ints(w->mods, n, "stride", 2, 1);
            fputs(", padding=", w->mods);
            attr_ints(w->mods, n, "padding", 2, 0);
            fputs(", dilation=", w->mods);
            attr_ints(w->mods, n, "dilation", 2, 1);
            fprintf(w->mods, ", groups=%lld", (long long)groups);
        } else {
            fprintf(w->mods, "    %s = QuantLinear(%lld, %lld", mod, (long long)wt->shape.d[1].c,
                    (long long)out_c);
        }
        /* %.17g: the scale comes back as the very same double */
        fprintf(w->mods, ", bias=%s, x_scale=%.17g, x_zero_point=%lld)\n", bias ? "true" : "false",
                ir_attr_x_scale(n), (long long)ir_attr_x_zero_point(n));
        static const char *const names[] = {NULL, "weight", "weight_scale", "weight_sum", "bias"};
        for (int i = 1; i < 4 + bias; i++) {
            if (i == 3) /* weight_sum: the weights' row sums, computed again at load */
                continue;
            snprintf(pn, sizeof pn, "%s.%s", mod, names[i]);
            add_value_tensor(w, pn, n->inputs[i]);
        }
        fprintf(f, "    %s = %s(%s)\n", out, mod, operand(w, n, x));
        return;
    }
    case IR_OP_WLINEAR: {
        if (ir_attr_w_packed(n)) {
            fail(w, n, "its weight is packed for the kernels (save before the layout pass)");
            return;
        }
        const Type *wt = &g->values[n->inputs[1]].type;
        const bool scaled = n->n_inputs > 2 && n->inputs[2] != IR_NONE;
        const bool bias = n->n_inputs > 3 && n->inputs[3] != IR_NONE;
        if (!is_const(w, n->inputs[1]) || (scaled && !is_const(w, n->inputs[2])) ||
            (bias && !is_const(w, n->inputs[3]))) {
            fail(w, n, "a weight-only layer needs constant weights, scales and bias");
            return;
        }
        const int64_t O = wt->shape.d[0].c, K = wt->shape.d[1].c;
        const char *dt = wt->dtype == IR_I8    ? "int8"
                         : wt->dtype == IR_I4  ? "int4"
                         : wt->dtype == IR_F16 ? "fp16"
                                               : "bf16";
        fprintf(w->mods, "    %s = WeightOnlyLinear(%lld, %lld, bias=%s, dtype=\"%s\"", mod,
                (long long)K, (long long)O, bias ? "true" : "false", dt);
        if (scaled)
            fprintf(w->mods, ", group=%lld", (long long)ir_attr_group_or(n, K));
        fputs(")\n", w->mods);
        snprintf(pn, sizeof pn, "%s.weight", mod);
        if (wt->dtype == IR_I4) { /* safetensors has no int4: u8 [O, K / 2], two a byte */
            int64_t shape[2] = {O, K / 2};
            add_tensor(w, pn, IR_U8, 2, shape, g->values[n->inputs[1]].data,
                       g->values[n->inputs[1]].data_bytes);
        } else {
            add_value_tensor(w, pn, n->inputs[1]);
        }
        if (scaled) {
            snprintf(pn, sizeof pn, "%s.scales", mod);
            add_value_tensor(w, pn, n->inputs[2]);
        }
        if (bias) {
            snprintf(pn, sizeof pn, "%s.bias", mod);
            add_value_tensor(w, pn, n->inputs[3]);
        }
        fprintf(f, "    %s = %s(%s)\n", out, mod, operand(w, n, x));
        return;
    }
    case IR_OP_DQLINEAR: {
        if (ir_attr_w_packed(n)) {
            fail(w, n, "its weight is packed for the kernels (save before the layout pass)");
            return;
        }
        const Type *wt = &g->values[n->inputs[1]].type;
        bool bias = n->n_inputs > 4 && n->inputs[4] != IR_NONE;
        for (int i = 1; i < 4 + bias; i++)
            if (!is_const(w, n->inputs[i])) {
                fail(w, n, "a quantized layer needs constant weights, scales and sums");
                return;
            }
        fprintf(w->mods, "    %s = DynamicQuantLinear(%lld, %lld, bias=%s)\n", mod,
                (long long)wt->shape.d[1].c, (long long)wt->shape.d[0].c, bias ? "true" : "false");
        static const char *const names[] = {NULL, "weight", "weight_scale", "weight_sum", "bias"};
        for (int i = 1; i < 4 + bias; i++) {
            if (i == 3) /* weight_sum: the weights' row sums, computed again at load */
                continue;
            snprintf(pn, sizeof pn, "%s.%s", mod, names[i]);
            add_value_tensor(w, pn, n->inputs[i]);
        }
        fprintf(f, "    %s = %s(%s)\n", out, mod, operand(w, n, x));
        return;
    }
    case IR_OP_QUANTIZE:
    case IR_OP_DEQUANTIZE:
        fprintf(f, "    %s = %s(%s, scale=%.17g, zero_point=%lld)\n", out, op, operand(w, n, x),
                ir_attr_scale(n), (long long)ir_attr_zero_point(n));
        return;
    case IR_OP_LINEAR: {
        const Value *wv = &g->values[n->inputs[1]];
        bool bias = n->n_inputs > 2 && n->inputs[2] != IR_NONE;
        bool tr = ir_attr_w_transposed(n) != 0;
        if (!is_const(w, n->inputs[1]) || (bias && !is_const(w, n->inputs[2])) ||
            wv->type.dtype != IR_F32) {
            fail(w, n, "Linear needs constant f32 weights");
            return;
        }
        int64_t rows = wv->type.shape.d[0].c, cols = wv->type.shape.d[1].c;
        int64_t out_f = tr ? cols : rows, in_f = tr ? rows : cols;
        fprintf(w->mods, "    %s = Linear(%lld, %lld, bias=%s)\n", mod, (long long)in_f,
                (long long)out_f, bias ? "true" : "false");
        snprintf(pn, sizeof pn, "%s.weight", mod);
        if (tr) { /* stored [in, out]: write PyTorch's [out, in] */
            float *t = malloc(sizeof(float) * (size_t)(rows * cols) + 1);
            SLIMC_ASSERT(t);
            const float *src = wv->data;
            for (int64_t i = 0; i < rows; i++)
                for (int64_t j = 0; j < cols; j++)
                    memcpy(&t[j * rows + i], &src[i * cols + j], sizeof(float));
            w->owned = realloc(w->owned, sizeof(void *) * (size_t)(w->n_owned + 1));
            w->owned[w->n_owned++] = t;
            int64_t shape[2] = {out_f, in_f};
            add_weight(w, pn, 2, shape, t, sizeof(float) * (size_t)(rows * cols));
        } else {
            int64_t shape[2] = {rows, cols};
            add_weight(w, pn, 2, shape, wv->data, wv->data_bytes);
        }
        if (bias) {
            snprintf(pn, sizeof pn, "%s.bias", mod);
            add_value_tensor(w, pn, n->inputs[2]);
        }
        fprintf(f, "    %s = %s(%s)\n", out, mod, operand(w, n, x));
        return;
    }
    case IR_OP_BATCH_NORM: {
        static const char *const names[5] = {NULL, "running_mean", "running_var", "weight", "bias"};
        if (g->values[x].type.shape.rank != 4) {
            fail(w, n, "BatchNorm2d takes 4-D inputs only");
            return;
        }
        for (int i = 1; i < 5; i++)
            if (!is_const(w, n->inputs[i])) {
                fail(w, n, "BatchNorm2d needs constant statistics and affine parameters");
                return;
            }
        fprintf(w->mods, "    %s = BatchNorm2d(%lld, eps=", mod,
                (long long)g->values[n->inputs[1]].type.shape.d[0].c);
        num(w->mods, ir_attr_eps(n));
        if (ir_node_attr_id(n, IR_A_momentum)) { /* training's, kept when not the default */
            fputs(", momentum=", w->mods);
            num(w->mods, ir_attr_momentum(n));
        }
        fputs(")\n", w->mods);
        for (int i = 1; i < 5; i++) {
            snprintf(pn, sizeof pn, "%s.%s", mod, names[i]);
            add_value_tensor(w, pn, n->inputs[i]);
        }
        fprintf(f, "    %s = %s(%s)\n", out, mod, operand(w, n, x));
        return;
    }
    case IR_OP_GROUP_NORM:
    case IR_OP_LAYER_NORM: {
        const bool gn = n->op == IR_OP_GROUP_NORM;
        bool affine = n->n_inputs == 3 && n->inputs[1] != IR_NONE && n->inputs[2] != IR_NONE;
        if ((affine && (!is_const(w, n->inputs[1]) || !is_const(w, n->inputs[2]))) ||
            (!affine && n->n_inputs > 1 && n->inputs[1] != IR_NONE)) {
            fail(w, n,
                 gn ? "GroupNorm needs both constant weight and bias, or neither"
                    : "LayerNorm needs both constant weight and bias, or neither");
            return;
        }
        const Shape *s = &g->values[x].type.shape;
        if (gn)
            fprintf(w->mods, "    %s = GroupNorm(%lld, %lld, eps=", mod,
                    (long long)ir_attr_num_groups(n), (long long)s->d[1].c);
        else {
            int k = (int)ir_attr_normalized_ndim(n);
            fprintf(w->mods, "    %s = LayerNorm([", mod);
            for (int i = s->rank - k; i < s->rank; i++)
                fprintf(w->mods, "%s%lld", i > s->rank - k ? ", " : "", (long long)s->d[i].c);
            fputs("], eps=", w->mods);
        }
        num(w->mods, ir_attr_eps(n));
        fprintf(w->mods, ", %s=%s)\n", gn ? "affine" : "elementwise_affine",
                affine ? "true" : "false");
        if (affine) {
            snprintf(pn, sizeof pn, "%s.weight", mod);
            add_value_tensor(w, pn, n->inputs[1]);
            snprintf(pn, sizeof pn, "%s.bias", mod);
            add_value_tensor(w, pn, n->inputs[2]);
        }
        fprintf(f, "    %s = %s(%s)\n", out, mod, operand(w, n, x));
        return;
    }
    case IR_OP_EMBEDDING: {
        ValueId wt = n->inputs[1];
        if (!is_const(w, wt)) {
            fail(w, n, "Embedding needs a constant table");
            return;
        }
        fprintf(w->mods, "    %s = Embedding(%lld, %lld)\n", mod,
                (long long)g->values[wt].type.shape.d[0].c,
                (long long)g->values[wt].type.shape.d[1].c);
        snprintf(pn, sizeof pn, "%s.weight", mod);
        add_value_tensor(w, pn, wt);
        fprintf(f, "    %s = %s(%s)\n", out, mod, operand(w, n, x));
        return;
    }
    default: break;
    }
    /* function forms */
    const char *xs = operand(w, n, x);
    if (n->op == IR_OP_RESHAPE) {
        const Attr *a = ir_node_attr_id(n, IR_A_shape);
        if (!a || a->n_ints == 0) { /* the language's reshape needs a size */
            fail(w, n, "a reshape to a scalar");
            return;
        }
        fprintf(f, "    %s = reshape(%s", out, xs);
        for (int i = 0; a && i < a->n_ints; i++) {
            int64_t v = a->ints[i];
            if (v <= -1000 && v > -1000 - g->n_syms)
                fprintf(f, ", %s", g->sym_names[-(v + 1000)]);
            else
                fprintf(f, ", %lld", (long long)v);
        }
        fputs(")\n", f);
        return;
    }
    if ((ir_ops[n->op].flags & (IR_F_BINARY | IR_F_ELEMENTWISE)) && !fe_is_builtin_function(op)) {
        fail(w, n, "the model language has no function for it"); /* bitshift_left... */
        return;
    }
    if (ir_ops[n->op].flags & IR_F_BINARY) {
        const char *b = operand(w, n, n->inputs[1]);
        fprintf(f, "    %s = %s(%s, %s)\n", out, op, xs, b);
        return;
    }
    if (n->op == IR_OP_MATMUL) {
        fprintf(f, "    %s = matmul(%s, %s)\n", out, xs, operand(w, n, n->inputs[1]));
        return;
    }
    if ((ir_ops[n->op].flags & IR_F_ELEMENTWISE) && n->n_attrs == 0 && n->n_inputs == 1) {
        fprintf(f, "    %s = %s(%s)\n", out, op, xs);
        return;
    }
    fprintf(f, "    %s = ", out);
    if (n->op == IR_OP_SOFTMAX || n->op == IR_OP_LOG_SOFTMAX)
        fprintf(f, "%s(%s, axis=%lld)\n", op, xs, (long long)ir_attr_axis_or(n, -1));
    else if (n->op == IR_OP_FLATTEN)
        fprintf(f, "flatten(%s, start_dim=%lld, end_dim=%lld)\n", xs,
                (long long)ir_attr_start_dim(n), (long long)ir_attr_end_dim(n));
    else if (n->op == IR_OP_MAX_POOL2D || n->op == IR_OP_AVG_POOL2D) {
        bool mx = n->op == IR_OP_MAX_POOL2D;
        fprintf(f, "%s(%s, kernel=", op, xs);
        attr_ints(f, n, "kernel", 2, 1);
        fputs(", stride=", f);
        attr_ints(f, n, "stride", 2, 1);
        fputs(", padding=", f);
        attr_ints(f, n, "padding", 2, 0);
        if (mx) {
            fputs(", dilation=", f);
            attr_ints(f, n, "dilation", 2, 1);
        } else
            fprintf(f, ", count_include_pad=%s",
                    ir_attr_count_include_pad_or(n, 1) ? "true" : "false");
        fprintf(f, ", ceil_mode=%s)\n", ir_attr_ceil_mode(n) ? "true" : "false");
    } else if ((!strcmp(op, "permute") || !strcmp(op, "expand")) &&
               !(ir_node_attr(n, !strcmp(op, "permute") ? "perm" : "shape") &&
                 ir_node_attr(n, !strcmp(op, "permute") ? "perm" : "shape")->n_ints)) {
        fputs("?\n", f); /* a scalar: the language's call needs a dim */
        fail(w, n, "a scalar operand");
    } else if (!strcmp(op, "permute") || !strcmp(op, "expand")) {
        const Attr *a = ir_node_attr(n, !strcmp(op, "permute") ? "perm" : "shape");
        fprintf(f, "%s(%s", op, xs);
        for (int i = 0; a && i < a->n_ints; i++) {
            int64_t v = a->ints[i];
            if (v <= -1000 && v > -1000 - g->n_syms)
                fprintf(f, ", %s", g->sym_names[-(v + 1000)]);
            else
                fprintf(f, ", %lld", (long long)v);
        }
        fputs(")\n", f);
    } else if (!strcmp(op, "concat")) {
        fputs("concat([", f);
        for (int i = 0; i < n->n_inputs; i++)
            fprintf(f, "%s%s", i ? ", " : "", operand(w, n, n->inputs[i]));
        fprintf(f, "], dim=%lld)\n", (long long)ir_attr_axis(n));
    } else if (!strcmp(op, "slice") && ir_attr_end_sym(n) >= 0 &&
               ir_attr_end_sym(n) < g->n_syms) { /* end a symbol (or its expression) */
        fprintf(f, "slice(%s, dim=%lld, start=%lld, end=%s, step=%lld)\n", xs,
                (long long)ir_attr_axis(n), (long long)ir_attr_start(n),
                g->sym_names[ir_attr_end_sym(n)], (long long)ir_attr_step(n));
    } else if (!strcmp(op, "slice")) {
        fprintf(f, "slice(%s, dim=%lld, start=%lld, end=%lld, step=%lld)\n", xs,
                (long long)ir_attr_axis(n), (long long)ir_attr_start(n),
                (long long)ir_attr_end_or(n, INT64_MAX / 4), (long long)ir_attr_step(n));
    } else if (!strcmp(op, "clip") && !isfinite(ir_attr_min(n)) &&
               !isfinite(ir_attr_max(n))) { /* clip() needs a bound */
        fputs("?\n", f);
        fail(w, n, "a clip without bounds");
    } else if (!strcmp(op, "clip")) {
        double lo = ir_attr_min(n), hi = ir_attr_max(n);
        fprintf(f, "clip(%s", xs);
        if (isfinite(lo)) {
            fputs(", min=", f);
            num(f, lo);
        }
        if (isfinite(hi)) {
            fputs(", max=", f);
            num(f, hi);
        }
        fputs(")\n", f);
    } else if (n->op == IR_OP_ATTENTION) {
        fprintf(f, "attention(%s, %s, %s", xs, operand(w, n, n->inputs[1]),
                operand(w, n, n->inputs[2]));
        if (n->n_inputs > 3 && n->inputs[3] != IR_NONE)
            fprintf(f, ", attn_mask=%s", operand(w, n, n->inputs[3]));
        fprintf(f, ", is_causal=%s", ir_attr_causal(n) ? "true" : "false");
        if (ir_node_attr_id(n, IR_A_scale)) {
            fputs(", scale=", f);
            num(f, ir_attr_scale(n));
        }
        fputs(")\n", f);
    } else if (n->op == IR_OP_RNN) {
        static const char *const tensors[8] = {"",          "",          "", "b", "sequence_lens",
                                               "initial_h", "initial_c", "p"};
        fprintf(f, "rnn(%s, %s, %s", xs, operand(w, n, n->inputs[1]), operand(w, n, n->inputs[2]));
        for (int i = 3; i < n->n_inputs; i++)
            if (n->inputs[i] != IR_NONE)
                fprintf(f, ", %s=%s", tensors[i], operand(w, n, n->inputs[i]));
        for (int i = 0; i < n->n_attrs; i++) {
            const Attr *a = &n->attrs[i];
            if (!strcmp(a->name, "clip")) {
                fputs(", clip=", f);
                num(f, ir_attr_clip(n));
            } else if (!strcmp(a->name, "activations")) {
                fputs(", activations=[", f);
                for (int k = 0; k < a->n_ints; k++)
                    fprintf(f, "%s%lld", k ? ", " : "", (long long)a->ints[k]);
                fputs("]", f);
            }
        }
        static const char *const ints[6] = {"mode",   "direction", "linear_before_reset",
                                            "layout", "states",    "w_transposed"};
        for (int i = 0; i < 6; i++)
            if (ir_attr_int(n, ints[i], 0))
                fprintf(f, ", %s=%lld", ints[i], (long long)ir_attr_int(n, ints[i], 0));
        fputs(")\n", f);
    } else if (!strcmp(op, "leaky_relu")) {
        fprintf(f, "leaky_relu(%s, negative_slope=", xs);
        num(f, ir_attr_negative_slope(n));
        fputs(")\n", f);
    } else if (!strncmp(op, "reduce_", 7)) {
        static const char *const fn[][2] = {{"reduce_sum", "sum"},
                                            {"reduce_mean", "mean"},
                                            {"reduce_max", "amax"},
                                            {"reduce_min", "amin"}};
        const char *name = NULL;
        for (int i = 0; i < 4; i++)
            if (!strcmp(op, fn[i][0]))
                name = fn[i][1];
        const Attr *a = ir_node_attr_id(n, IR_A_axes);
        int64_t all[IR_MAX_RANK];
        int k = a ? a->n_ints : g->values[x].type.shape.rank;
        for (int i = 0; i < k; i++)
            all[i] = a ? a->ints[i] : i;
        if (!name) { /* reduce_prod...: no function of the language */
            fputs("?\n", f);
            fail(w, n, "the model language has no function for it");
            return;
        }
        fprintf(f, "%s(%s, dim=", name, xs);
        ints(f, all, k);
        fprintf(f, ", keepdim=%s)\n", ir_attr_keepdim(n) ? "true" : "false");
    } else if (!strcmp(op, "where")) {
        const char *a = operand(w, n, n->inputs[1]), *b = operand(w, n, n->inputs[2]);
        fprintf(f, "where(%s, %s, %s)\n", xs, a, b);
    } else if (!strcmp(op, "cast")) {
        fprintf(f, "cast(%s, \"%s\")\n", xs, ir_dtype_name((DType)ir_attr_dtype(n)));
    } else if (n->op == IR_OP_INDEX_SELECT || n->op == IR_OP_GATHER_ELEMENTS) {
        const char *ix = operand(w, n, n->inputs[1]); /* an integer constant fails there */
        fprintf(f, "%s(%s, dim=%lld, index=%s)\n",
                n->op == IR_OP_INDEX_SELECT ? "index_select" : "gather", xs,
                (long long)ir_attr_axis(n), ix);
    } else if (n->op == IR_OP_ARGMAX || n->op == IR_OP_ARGMIN) {
        if (ir_attr_select_last(n)) {
            fputs("?\n", f);
            fail(w, n, "select_last_index (the language's argmax takes the first)");
        } else
            fprintf(f, "%s(%s, dim=%lld, keepdim=%s)\n", op, xs, (long long)ir_attr_axis(n),
                    ir_attr_keepdim(n) ? "true" : "false");
    } else if (n->op == IR_OP_CUMSUM) {
        fprintf(f, "cumsum(%s, dim=%lld, exclusive=%s, reverse=%s)\n", xs,
                (long long)ir_attr_axis(n), ir_attr_exclusive(n) ? "true" : "false",
                ir_attr_reverse(n) ? "true" : "false");
    } else if (!strcmp(op, "adaptive_avg_pool2d")) {
        fprintf(f, "adaptive_avg_pool2d(%s, output_size=", xs);
        attr_ints(f, n, "output_size", 2, 1);
        fputs(")\n", f);
    } else {
        fputs("?\n", f);
        fail(w, n, "no printer for this op yet");
    }
}

bool fe_slim_write(const Graph *g, const char *slim_path, Diag *d)
{
    return fe_slim_write_with(g, slim_path, NULL, d);
}

bool fe_slim_write_with(const Graph *g, const char *slim_path, FeSlimWriteInfo *info, Diag *d)
{
    Writer w = {.g = g, .d = d, .at = {slim_path, 0, 0}, .ok = true};
    w.compact = info && info->compact;
    w.meta = open_memstream(&w.meta_buf, &w.meta_len);
    SLIMC_ASSERT(w.meta);
    w.names = calloc((size_t)g->n_values + 1, sizeof(char *));
    SLIMC_ASSERT(w.names);
    w.mods = open_memstream(&w.mods_buf, &w.mods_len);
    w.body = open_memstream(&w.body_buf, &w.body_len);
    SLIMC_ASSERT(w.mods && w.body);
    /* names: inputs sanitized, node outputs tK */
    for (int i = 0; i < g->n_inputs; i++)
        w.names[g->inputs[i]] = ident(g->values[g->inputs[i]].name, "in_");
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        if (n->n_epilogue || n->n_outputs != 1) {
            fail(&w, n, "fused epilogues or several outputs");
            continue;
        }
        write_node(&w, n);
        char t[32];
        snprintf(t, sizeof t, "t%d", n->outputs[0]);
        w.names[n->outputs[0]] = xstrdup(t);
    }
    fclose(w.mods);
    fclose(w.body);
    fclose(w.meta);
    /* the weights file: NAME.safetensors beside the .slim */
    size_t len = strlen(slim_path);
    char *st_path = malloc(len + 16);
    SLIMC_ASSERT(st_path);
    strcpy(st_path, slim_path);
    if (len > 5 && strcmp(st_path + len - 5, ".slim") == 0)
        st_path[len - 5] = 0;
    strcat(st_path, ".safetensors");
    const char *st_base = strrchr(st_path, '/') ? strrchr(st_path, '/') + 1 : st_path;
    /* the model language declares dims of 1 to FE_MAX_DIM: an input or output with an empty
     * (legal ONNX) or larger dim would make a file that slimc cannot read back */
    for (int k = 0; w.ok && k < g->n_inputs + g->n_outputs; k++) {
        const Shape *s =
            &g->values[k < g->n_inputs ? g->inputs[k] : g->outputs[k - g->n_inputs]].type.shape;
        for (int i = 0; i < s->rank; i++)
            if (ir_dim_static(s->d[i]) && (s->d[i].c < 1 || s->d[i].c > FE_MAX_DIM)) {
                ir_diag_error(
                    d, w.at, "%s %d has a dim of %lld: the model language's dims are 1 to %lld",
                    k < g->n_inputs ? "input" : "output", k < g->n_inputs ? k : k - g->n_inputs,
                    (long long)s->d[i].c, (long long)FE_MAX_DIM);
                w.ok = false;
                break;
            }
    }
    if (w.ok) {
        char *text = NULL;
        size_t tlen = 0;
        FILE *f = open_memstream(&text, &tlen);
        SLIMC_ASSERT(f);
        char *mname = ident(g->name, "m_");
        /* the source path on a comment line: escaped, so that no newline of it starts a
         * line of model text */
        fputs("# Written by slimc from ", f);
        ir_esc_term_put(f, g->source ? g->source : "an ONNX model");
        fprintf(f, ".\nmodel %s(", mname);
        free(mname);
        char tb[256];
        for (int i = 0; i < g->n_inputs; i++)
            fprintf(f, "%s%s: %s", i ? ", " : "", w.names[g->inputs[i]],
                    ir_type_str(g, &g->values[g->inputs[i]].type, tb, sizeof tb));
        fputs(") -> ", f);
        if (g->n_outputs > 1)
            fputc('(', f);
        for (int i = 0; i < g->n_outputs; i++) {
            char *on =
                g->output_names && g->output_names[i] ? ident(g->output_names[i], "out_") : NULL;
            fprintf(f, "%s%s%s%s", i ? ", " : "", on ? on : "", on ? ": " : "",
                    ir_type_str(g, &g->values[g->outputs[i]].type, tb, sizeof tb));
            free(on);
        }
        if (g->n_outputs > 1)
            fputc(')', f);
        fputs("\n    weights \"", f);
        for (const char *c = st_base; *c; c++) /* a string of the language: \" \\ \n \t \r */
            if (*c == '"' || *c == '\\')
                fprintf(f, "\\%c", *c);
            else if (*c == '\n' || *c == '\t' || *c == '\r')
                fprintf(f, "\\%c", *c == '\n' ? 'n' : *c == '\t' ? 't' : 'r');
            else
                fputc(*c, f);
        fprintf(f, "\"\n\n%s\n%s    return ", w.mods_buf, w.body_buf);
        for (int i = 0; i < g->n_outputs; i++)
            fprintf(f, "%s%s", i ? ", " : "",
                    w.names[g->outputs[i]] ? w.names[g->outputs[i]] : "?");
        fputc('\n', f);
        fclose(f);
        char *meta_json = NULL;
        if (w.n_compact) {
            meta_json = malloc(w.meta_len + 3);
            SLIMC_ASSERT(meta_json);
            snprintf(meta_json, w.meta_len + 3, "{%s}", w.meta_buf);
        }
        w.ok = fe_st_write(st_path, w.tensors, w.n_tensors, meta_json, d);
        free(meta_json);
        struct stat sb;
        if (w.ok && info) {
            info->weights_bytes = stat(st_path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
            info->saved_bytes = w.saved;
            info->n_compact = w.n_compact;
        }
        if (w.ok) {
            FeChunk c = {text, tlen};
            w.ok = fe_write_file_atomic(slim_path, &c, 1, d);
        }
        free(text);
    }
    free(st_path);
    free(w.mods_buf);
    free(w.body_buf);
    free(w.meta_buf);
    for (int i = 0; i < g->n_values; i++)
        free(w.names[i]);
    free(w.names);
    for (int i = 0; i < w.n_mod_names; i++)
        free(w.mod_names[i]);
    free(w.mod_names);
    for (int i = 0; i < w.n_tensors; i++)
        free((char *)w.tensors[i].name);
    free(w.tensors);
    free(w.shapes);
    for (int i = 0; i < w.n_owned; i++)
        free(w.owned[i]);
    free(w.owned);
    return w.ok;
}
