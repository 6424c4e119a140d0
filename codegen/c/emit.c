/* The C emitter's driver: names, the prelude, one body function per node (by op family,
 * in the other files of this folder) and the entry points of codegen/c/cg.h. */
#include "codegen/c/cg_internal.h"
#include "runtime/jit.h"
#include "ir/dtype_ops.h"
#include "ir/text_escape.h"

#include "slimc/slimc.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

extern const char slimc_rt_header[];
extern const size_t slimc_rt_header_len;

/* How often the two-byte sequence pair occurs in the n bytes at s. */
static int count_pair(const char *s, size_t n, const char *pair)
{
    int k = 0;
    for (size_t i = 0; i + 1 < n; i++)
        k += s[i] == pair[0] && s[i + 1] == pair[1];
    return k;
}

/* Defense in depth: text that reaches the generated C is printable ASCII, and an argument
 * never opens or closes a comment (every comment delimiter is in a format of this folder).
 * A name that took a way around cg_text() fails here rather than becoming code. */
static void cg_write(CgCtx *c, const char *fmt, const char *text, size_t n)
{
    if (!ir_text_is_plain_ascii(text, n) ||
        (fmt && (count_pair(text, n, "*/") != count_pair(fmt, strlen(fmt), "*/") ||
                 count_pair(text, n, "/*") != count_pair(fmt, strlen(fmt), "/*")))) {
        if (c->ok)
            diag_error(c->d, (SrcLoc){0},
                       "C backend: internal error: text from the model reached the generated "
                       "code unescaped (format \"%.60s\")",
                       fmt ? fmt : "(text)");
        c->ok = false;
        return;
    }
    fwrite(text, 1, n, c->out);
}

void cg_printf(CgCtx *c, const char *fmt, ...)
{
    char small[1024], *text = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    SLIMC_ASSERT(n >= 0);
    if ((size_t)n >= sizeof small) {
        text = malloc((size_t)n + 1);
        SLIMC_ASSERT(text);
        va_start(ap, fmt);
        vsnprintf(text, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    cg_write(c, fmt, text, (size_t)n);
    if (text != small)
        free(text);
}

void cg_puts(CgCtx *c, const char *text, size_t n)
{
    cg_write(c, NULL, text, n);
}

const char *cg_text(CgCtx *c, const char *s)
{
    char buf[IR_ESC_NAME_BUF];
    return arena_strdup(c->arena, ir_esc_c(buf, sizeof buf, s, IR_ESC_NAME_MAX));
}

const char *cg_type_text(CgCtx *c, const Type *t)
{
    char plain[200], buf[4 * sizeof plain]; /* the type is bounded already: not cut */
    ir_type_str(c->g, t, plain, sizeof plain);
    return arena_strdup(c->arena, ir_esc_c(buf, sizeof buf, plain, 0));
}

void cg_error(CgCtx *c, const Node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(c->d, n ? n->loc : (SrcLoc){0}, "C backend: %s '%s': %s",
               n ? ir_ops[n->op].name : "graph", n && n->name ? n->name : "", msg);
    c->ok = false;
}

bool cg_numel(CgCtx *c, NodeId id, const Shape *s, Dim *out)
{
    if (ir_shape_numel(s, out))
        return true;
    *out = (Dim){0, 0};
    cg_error(c, id == IR_NONE ? NULL : &c->g->nodes[id],
             "unsupported symbolic shape (its element count is not a product of symbols)");
    return false;
}

char *cg_strf(CgCtx *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return arena_strdup(c->arena, buf);
}

const char *cg_float(CgCtx *c, double v)
{
    float f = (float)v;
    if (isnan(f))
        return "NAN";
    if (isinf(f))
        return f < 0 ? "-INFINITY" : "INFINITY";
    char buf[64];
    snprintf(buf, sizeof buf, "%.9g", (double)f);
    bool plain = !strpbrk(buf, ".en");
    return cg_strf(c, "%s%sf", buf, plain ? ".0" : "");
}

const char *cg_dim(CgCtx *c, Dim d)
{
    char buf[512];
    size_t len = 0;
    int nsym = 0;
    buf[0] = 0;
    for (int i = 0; i < IR_MAX_SYMS; i++)
        if (d.syms & (1u << i)) {
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", nsym ? " * " : "",
                                    c->sym_names[i]);
            nsym++;
        }
    if (nsym == 0)
        return cg_strf(c, "%lld", (long long)d.c);
    if (d.c == 1 && nsym == 1)
        return arena_strdup(c->arena, buf);
    if (d.c == 1)
        return cg_strf(c, "(%s)", buf);
    return cg_strf(c, "(%lld * %s)", (long long)d.c, buf);
}

const char *cg_prod(CgCtx *c, const Shape *s, int from, int to)
{
    int64_t k = 1;
    uint32_t syms = 0;
    const char *expr = NULL;
    for (int i = from; i < to; i++) {
        k *= s->d[i].c;
        if (s->d[i].syms & syms) { /* a symbol twice: keep the product as written */
            expr = expr ? cg_strf(c, "%s * %s", expr, cg_dim(c, s->d[i])) : cg_dim(c, s->d[i]);
            continue;
        }
        syms |= s->d[i].syms;
    }
    const char *base = cg_dim(c, (Dim){k, syms});
    return expr ? cg_strf(c, "(%s * %s)", base, expr) : base;
}

static uint32_t shape_syms(const Shape *s)
{
    uint32_t m = 0;
    for (int i = 0; i < s->rank; i++)
        m |= s->d[i].syms;
    return m;
}

void cg_body_begin(CgCtx *c, NodeId id, const char *const *in_names, int n_names)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    uint32_t syms = 0;
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] != IR_NONE)
            syms |= shape_syms(cg_shape(c, n->inputs[i]));
    syms |= shape_syms(cg_shape(c, n->outputs[0]));
    cg_printf(c, "static void %s(void *p, int64_t i0, int64_t i1)\n{\n", c->fn_names[id]);
    cg_printf(c, "    const slimc_args *a = (const slimc_args *)p;\n");
    for (int i = 0; i < IR_MAX_SYMS; i++)
        if (syms & (1u << i))
            cg_printf(c, "    const int64_t %s = a->syms[%d];\n    (void)%s;\n", c->sym_names[i], i,
                      c->sym_names[i]);
    for (int i = 0; i < n_names && i < n->n_inputs; i++) {
        if (!in_names[i])
            continue;
        ValueId v = n->inputs[i];
        const char *ct = v == IR_NONE ? "float" : ir_dtype_ctype(g->values[v].type.dtype);
        const char *shape = v == IR_NONE ? "absent" : cg_type_text(c, &g->values[v].type);
        cg_printf(c, "    const %s *restrict %s = (const %s *)a->in[%d]; /* %s */\n", ct,
                  in_names[i], ct, i, shape);
    }
    cg_printf(c, "    float *restrict out = (float *)a->out; /* %s */\n",
              cg_type_text(c, &g->values[n->outputs[0]].type));
}

void cg_body_end(CgCtx *c)
{
    cg_printf(c, "}\n\n");
}

void cg_ep_call(CgCtx *c, NodeId id, int indent, const char *f0, const char *len)
{
    if (c->g->nodes[id].n_epilogue == 0)
        return;
    cg_printf(c, "%*sepi_%s(a, out, %s, %s);\n", indent, "", c->fn_names[id], f0, len);
}

/* ---- names ---- */

static bool reserved(const char *s)
{
    static const char *const words[] = {
        "auto",     "break",  "case",   "char",     "const",    "continue", "default",  "do",
        "double",   "else",   "enum",   "extern",   "float",    "for",      "goto",     "if",
        "inline",   "int",    "long",   "register", "restrict", "return",   "short",    "signed",
        "sizeof",   "static", "struct", "switch",   "typedef",  "union",    "unsigned", "void",
        "volatile", "while",  "consts", "inputs",   "outputs",  "syms",     "arena",    "nthreads",
        "a",        "base",   "err",    "int64_t",  "size_t",   "main",
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(s, words[i]) == 0)
            return true;
    return strncmp(s, "slimc_", 6) == 0 || strncmp(s, "sym_", 4) == 0 ||
           strncmp(s, "node_", 5) == 0 || s[0] == '_';
}

/* A C identifier made from name (other characters become '_'), unique among taken. */
/* The identifiers given so far, each with the next suffix to try when it comes again as a
 * base: unique names in time linear in the count, even when every value or node has the
 * same name (a scan of the names so far per name made code generation quadratic). */
typedef struct NameSet {
    struct NameEntry {
        const char *s;
        int next;
    } * slot;
    size_t cap, n;
} NameSet;

static struct NameEntry *name_find(NameSet *ns, const char *s)
{
    size_t h = 1469598103934665603u;
    for (const char *p = s; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    for (size_t j = h & (ns->cap - 1);; j = (j + 1) & (ns->cap - 1))
        if (!ns->slot[j].s || strcmp(ns->slot[j].s, s) == 0)
            return &ns->slot[j];
}

static void name_add(NameSet *ns, const char *s)
{
    if (2 * (ns->n + 1) > ns->cap) {
        NameSet grown = {calloc(ns->cap ? 2 * ns->cap : 64, sizeof *ns->slot),
                         ns->cap ? 2 * ns->cap : 64, ns->n};
        SLIMC_ASSERT(grown.slot);
        for (size_t i = 0; i < ns->cap; i++)
            if (ns->slot[i].s)
                *name_find(&grown, ns->slot[i].s) = ns->slot[i];
        free(ns->slot);
        *ns = grown;
    }
    *name_find(ns, s) = (struct NameEntry){s, 2};
    ns->n++;
}

/* base if no name in ns is base, else the first of base_2, base_3... that none is. */
static const char *unique_name(CgCtx *c, NameSet *ns, const char *base)
{
    if (!ns->cap || !name_find(ns, base)->s) {
        name_add(ns, base);
        return base;
    }
    for (int k = name_find(ns, base)->next;; k++) {
        const char *cand = cg_strf(c, "%s_%d", base, k);
        if (!name_find(ns, cand)->s) {
            name_add(ns, cand);
            name_find(ns, base)->next = k + 1;
            return cand;
        }
    }
}

static const char *c_ident(CgCtx *c, const char *name, const char *fallback, NameSet *taken)
{
    char buf[72];
    size_t len = 0;
    for (const char *s = name ? name : ""; *s && len < 64; s++)
        buf[len++] = isalnum((unsigned char)*s) ? *s : '_';
    buf[len] = 0;
    if (len == 0)
        snprintf(buf, sizeof buf, "%s", fallback);
    else if (isdigit((unsigned char)buf[0]) || reserved(buf)) {
        char tmp[80];
        snprintf(tmp, sizeof tmp, "v_%s", buf);
        memcpy(buf, tmp, sizeof buf);
        buf[sizeof buf - 1] = 0;
    }
    return unique_name(c, taken, arena_strdup(c->arena, buf));
}

/* The entry points' prefix as a C identifier: [A-Za-z0-9_], not led by a digit, at most
 * 120 bytes (a model named after its file, "my.model", gives "my_model"). */
static const char *entry_prefix(CgCtx *c, const char *prefix)
{
    char buf[128];
    size_t len = 0;
    if (isdigit((unsigned char)prefix[0]) || !prefix[0])
        buf[len++] = 'm', buf[len++] = '_';
    for (const char *s = prefix; *s && len < 122; s++)
        buf[len++] = isalnum((unsigned char)*s) ? *s : '_';
    buf[len] = 0;
    return arena_strdup(c->arena, buf);
}

static void make_names(CgCtx *c)
{
    const Graph *g = c->g;
    c->val_names = arena_alloc(c->arena, sizeof(char *) * (size_t)(g->n_values + 1));
    c->fn_names = arena_alloc(c->arena, sizeof(char *) * (size_t)(g->n_nodes + 1));
    c->sym_names = arena_alloc(c->arena, sizeof(char *) * IR_MAX_SYMS);
    for (int i = 0; i < IR_MAX_SYMS; i++) {
        const char *nm = i < g->n_syms && g->sym_names[i] ? g->sym_names[i] : "";
        char buf[96];
        size_t len = 0;
        for (const char *s = nm; *s && len < 60; s++)
            buf[len++] = isalnum((unsigned char)*s) ? *s : '_';
        buf[len] = 0;
        c->sym_names[i] = cg_strf(c, "sym_%s_%d", buf, i);
        if (len && i < g->n_syms) { /* "sym_N" unless two symbols sanitize alike */
            const char *plain = cg_strf(c, "sym_%s", buf);
            bool clash = false;
            for (int j = 0; j < g->n_syms; j++)
                if (j != i && g->sym_names[j]) {
                    char b2[96];
                    size_t l2 = 0;
                    for (const char *s = g->sym_names[j]; *s && l2 < 60; s++)
                        b2[l2++] = isalnum((unsigned char)*s) ? *s : '_';
                    b2[l2] = 0;
                    clash |= strcmp(b2, buf) == 0;
                }
            if (!clash)
                c->sym_names[i] = plain;
        }
    }
    NameSet taken = {0};
    for (int v = 0; v < g->n_values; v++)
        c->val_names[v] = c_ident(c, g->values[v].name, cg_strf(c, "v%d", v), &taken);
    free(taken.slot);
    NameSet fns = {0};
    for (int i = 0; i < g->n_nodes; i++) {
        char tmp[96];
        snprintf(tmp, sizeof tmp, "node_%s", g->nodes[i].name ? g->nodes[i].name : "");
        for (char *s = tmp; *s; s++)
            if (!isalnum((unsigned char)*s))
                *s = '_';
        c->fn_names[i] = unique_name(c, &fns, cg_strf(c, "%s", tmp));
    }
    free(fns.slot);
}

/* ---- storage ---- */

/* The value whose buffer v uses (views share their input's storage). */
static ValueId storage_of(const Graph *g, ValueId v)
{
    while (g->values[v].alias_of != IR_NONE && g->values[v].alias_of != v)
        v = g->values[v].alias_of;
    return v;
}

/* A concat that memplan runs in place: its inputs already lie in its result. */
static bool concat_in_place(const Graph *g, const Node *n)
{
    if (n->op != IR_OP_CONCAT)
        return false;
    const ValueId root = storage_of(g, n->outputs[0]);
    for (int i = 0; i < n->n_inputs; i++)
        if (g->values[n->inputs[i]].alias_of == IR_NONE || storage_of(g, n->inputs[i]) != root)
            return false;
    return true;
}

static int output_index(const Graph *g, ValueId v)
{
    for (int j = 0; j < g->n_outputs; j++)
        if (g->outputs[j] == v)
            return j;
    return -1;
}

static int input_index(const Graph *g, ValueId v)
{
    for (int j = 0; j < g->n_inputs; j++)
        if (g->inputs[j] == v)
            return j;
    return -1;
}

static bool poly_zero(const Poly *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->t[i].c)
            return false;
    return true;
}

static const char *poly_expr(CgCtx *c, const Poly *p)
{
    if (p->n == 0)
        return "0";
    const char *e = NULL;
    for (int i = 0; i < p->n; i++) {
        const char *t = cg_dim(c, (Dim){p->t[i].c, p->t[i].mask});
        e = e ? cg_strf(c, "%s + %s", e, t) : t;
    }
    return e;
}

/* C that is true when poly p (bytes) overflows for the symbol values in syms: each term
 * through slimc_rt_ckd_mac, the checked products of runtime/slimc_rt.h. */
static const char *poly_overflows(CgCtx *c, const Poly *p)
{
    const char *e = NULL;
    for (int i = 0; i < p->n; i++) {
        const char *t = cg_strf(c, "!slimc_rt_ckd_mac(&n, %lldLL, 0x%xu, syms)",
                                (long long)p->t[i].c, (unsigned)p->t[i].mask);
        e = e ? cg_strf(c, "%s ||\n        %s", e, t) : t;
    }
    return e ? e : "0";
}

/* Declares the pointer of every value the nodes use, with its type in a comment. */
static void declare_values(CgCtx *c)
{
    const Graph *g = c->g;
    for (int v = 0; v < g->n_values; v++) {
        const Value *val = &g->values[v];
        const char *ct = ir_dtype_ctype(val->type.dtype);
        const char *nm = c->val_names[v];
        const char *ty = cg_type_text(c, &val->type);
        ValueId root = storage_of(g, v);
        const Value *rv = &g->values[root];
        int oi = output_index(g, root);
        if (rv->kind == IR_VALUE_INPUT) {
            int ii = input_index(g, root);
            if (ii < 0)
                continue;
            cg_printf(c, "    const %s *%s = (const %s *)inputs[%d]; /* %s%s */\n", ct, nm, ct, ii,
                      ty, root != v ? ", a view" : "");
        } else if (rv->kind == IR_VALUE_CONST) {
            cg_printf(c, "    const %s *%s = (const %s *)consts[%d]; /* %s%s */\n", ct, nm, ct,
                      root, ty, root != v ? ", a view" : "");
        } else if (oi >= 0) {
            cg_printf(c, "    %s *%s = (%s *)outputs[%d]; /* %s%s */\n", ct, nm, ct, oi, ty,
                      root != v ? ", a view" : "");
        } else if (rv->planned) {
            /* a piece of an in-place concat lies at its byte offset in the concat's result */
            const bool piece = root != v && !poly_zero(&val->offset);
            cg_printf(c, "    %s *%s = (%s *)(base + %s%s%s); /* %s%s%s */\n", ct, nm, ct,
                      poly_expr(c, &rv->offset), piece ? " + " : "",
                      piece ? poly_expr(c, &val->offset) : "", ty,
                      piece       ? ", in "
                      : root != v ? ", a view"
                                  : "",
                      piece ? c->val_names[root] : "");
        } else if (rv->producer != IR_NONE && !g->nodes[rv->producer].dead) {
            cg_error(c, &g->nodes[rv->producer], "value '%s' has no storage (run memplan first)",
                     rv->name ? rv->name : "?");
            return;
        }
    }
}

static bool value_used(const Graph *g, ValueId v)
{
    ValueId root = storage_of(g, v);
    const Value *rv = &g->values[root];
    if (rv->kind == IR_VALUE_INPUT)
        return input_index(g, root) >= 0;
    if (rv->kind == IR_VALUE_CONST)
        return true;
    return output_index(g, root) >= 0 || rv->planned;
}

/* ---- nodes ---- */

bool cg_is_quant_op(OpKind op); /* codegen/c/quant.c */
void cg_emit_quant(CgCtx *c, NodeId id, CgKernel *k);

static void emit_kernel(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    k->items = "1";
    k->work = "0";
    k->ep_done = false;
    switch (n->op) {
    case IR_OP_CONV2D: cg_emit_conv2d(c, id, k); return;
    case IR_OP_LINEAR: cg_emit_linear(c, id, k); return;
    case IR_OP_MATMUL: cg_emit_matmul(c, id, k); return;
#include "ir/cases_elementwise.inc" /* every op with a scalar expression in ops.def */
        cg_emit_elementwise(c, id, k);
        return;
    case IR_OP_EQ:
    case IR_OP_NE:
    case IR_OP_LT:
    case IR_OP_LE:
    case IR_OP_GT:
    case IR_OP_GE: cg_emit_compare(c, id, k); return;
    case IR_OP_WHERE: cg_emit_where(c, id, k); return;
    case IR_OP_CAST: cg_emit_cast(c, id, k); return;
    case IR_OP_ADAPTIVE_AVG_POOL2D: cg_emit_adaptive_pool(c, id, k); return;
    case IR_OP_GROUP_NORM: cg_emit_group_norm(c, id, k); return;
    case IR_OP_REDUCE_SUM:
    case IR_OP_REDUCE_MEAN:
    case IR_OP_REDUCE_MAX:
    case IR_OP_REDUCE_MIN: cg_emit_reduce(c, id, k); return;
    case IR_OP_PERMUTE:
    case IR_OP_EXPAND: cg_emit_gather_copy(c, id, k); return;
    case IR_OP_SQUEEZE:
    case IR_OP_UNSQUEEZE: return; /* views: no code */
    case IR_OP_SLICE: cg_emit_slice(c, id, k); return;
    case IR_OP_PAD: cg_emit_pad(c, id, k); return;
    case IR_OP_CONCAT: cg_emit_concat(c, id, k); return;
    case IR_OP_INDEX_SELECT: cg_emit_index_select(c, id, k); return;
    case IR_OP_RESIZE: cg_emit_resize(c, id, k); return;
    case IR_OP_CONV_TRANSPOSE2D: cg_emit_conv_transpose2d(c, id, k); return;
    case IR_OP_MAX_POOL2D:
    case IR_OP_AVG_POOL2D: cg_emit_pool(c, id, k); return;
    case IR_OP_FLATTEN:
    case IR_OP_RESHAPE: return; /* views: no code */
    case IR_OP_SOFTMAX:
    case IR_OP_LOG_SOFTMAX: cg_emit_softmax(c, id, k); return;
    case IR_OP_BATCH_NORM: cg_emit_batch_norm(c, id, k); return;
    case IR_OP_LAYER_NORM: cg_emit_layer_norm(c, id, k); return;
    case IR_OP_EMBEDDING: cg_emit_embedding(c, id, k); return;
    case IR_OP_QUANTIZE: /* codegen/c/quant.c */
    case IR_OP_DEQUANTIZE:
    case IR_OP_QCONV2D:
    case IR_OP_QLINEAR:
    case IR_OP_WLINEAR:
    case IR_OP_DQLINEAR: cg_emit_quant(c, id, k); return;
    case IR_OP_BITWISE_AND: /* codegen/c/elementwise_dtypes.c */
    case IR_OP_BITWISE_OR:
    case IR_OP_BITWISE_XOR:
    case IR_OP_BITWISE_NOT:
    case IR_OP_BITSHIFT_LEFT:
    case IR_OP_BITSHIFT_RIGHT: cg_emit_elementwise_typed(c, id, k); return;
    case IR_OP_ARGMAX: /* codegen/c/index_ops.c */
    case IR_OP_ARGMIN:
    case IR_OP_GATHER_ELEMENTS:
    case IR_OP_SCATTER_ELEMENTS:
    case IR_OP_CUMSUM:
    case IR_OP_REDUCE_PROD:
    case IR_OP_MOD:
    case IR_OP_RESIZE_AXIS:
    case IR_OP_GRID_SAMPLE:
    case IR_OP_TOPK:
    case IR_OP_POOL_ND:
    case IR_OP_GATHER_ND:
    case IR_OP_SCATTER_ND:
    case IR_OP_ROI_ALIGN: cg_emit_index_op(c, id, k); return;
    case IR_NUM_OPS: break;
    }
    cg_error(c, n, "unknown op");
}

/* Checks what the kernels support: f32 data except embedding indices and the ops above. */
static bool node_supported(CgCtx *c, const Node *n)
{
    const Graph *g = c->g;
    if (n->device != IR_DEVICE_CPU) {
        cg_error(c, n, "placed on %s; the C backend runs CPU nodes only",
                 ir_device_name(n->device));
        return false;
    }
    if (n->n_outputs != 1) {
        cg_error(c, n, "has %d outputs; kernels write one", n->n_outputs);
        return false;
    }
    if (cg_is_index_op(n->op)) /* codegen/c/index_ops.c */
        return cg_index_supported(c, n);
    if (n->op == IR_OP_MAX_POOL2D && g->values[n->inputs[0]].type.dtype == IR_U8) {
        if (n->n_epilogue) { /* an int8 chain's pool (passes/qchain.c) */
            cg_error(c, n, "a max_pool2d over u8 cannot carry an epilogue");
            return false;
        }
        return true;
    }
    if (cg_is_quant_op(n->op)) { /* dtypes checked by their shape functions */
        for (int j = 0; j < n->n_epilogue; j++)
            if (n->epilogue[j].operand != IR_NONE &&
                g->values[n->epilogue[j].operand].type.dtype != IR_F32) {
                cg_error(c, n, "epilogue operand '%s' must be f32",
                         g->values[n->epilogue[j].operand].name);
                return false;
            }
        if (n->op == IR_OP_QUANTIZE && n->n_epilogue) {
            cg_error(c, n, "quantize cannot carry an epilogue");
            return false;
        }
        return true;
    }
    if (ir_node_is_typed_elementwise(g, n)) { /* codegen/c/elementwise_dtypes.c */
        if (n->n_epilogue) {
            cg_error(c, n, "an op computing in %s cannot carry an epilogue",
                     ir_dtype_name(g->values[n->inputs[0]].type.dtype));
            return false;
        }
        return true;
    }
    bool view = ir_ops[n->op].flags & IR_F_VIEW, any = ir_ops[n->op].flags & IR_F_ANY_DTYPE;
    for (int i = 0; i < n->n_inputs; i++) {
        ValueId v = n->inputs[i];
        if (v == IR_NONE || (n->op == IR_OP_EMBEDDING && i == 0))
            continue;
        const Type *t = &g->values[v].type;
        if (any ? (ir_dtype_bits(t->dtype) < 8 || (t->quant && !view))
                : (t->dtype != IR_F32 || t->quant)) {
            char ts[160];
            cg_error(c, n, "input %d is %s; this kernel computes in %s", i,
                     ir_type_str(g, &g->values[v].type, ts, sizeof ts),
                     any ? "any dtype but i4 (unquantized)" : "f32 only");
            return false;
        }
    }
    if (!any && g->values[n->outputs[0]].type.dtype != IR_F32) {
        cg_error(c, n, "output must be f32");
        return false;
    }
    if (any && n->n_epilogue) {
        cg_error(c, n, "a data-movement op cannot carry an epilogue");
        return false;
    }
    for (int j = 0; j < n->n_epilogue; j++) {
        ValueId v = n->epilogue[j].operand;
        if (v != IR_NONE && g->values[v].type.dtype != IR_F32) {
            cg_error(c, n, "epilogue operand '%s' must be f32", g->values[v].name);
            return false;
        }
    }
    return true;
}

static void emit_node_comment(CgCtx *c, const Node *n)
{
    const Graph *g = c->g;
    cg_printf(c, "/* %s: %s(", cg_text(c, n->name ? n->name : "?"), ir_ops[n->op].name);
    for (int i = 0; i < n->n_inputs; i++) {
        ValueId v = n->inputs[i];
        cg_printf(c, "%s%s", i ? ", " : "", v == IR_NONE ? "none" : cg_text(c, g->values[v].name));
        if (v != IR_NONE)
            cg_printf(c, ": %s", cg_type_text(c, &g->values[v].type));
    }
    cg_printf(c, ") -> %s: %s", cg_text(c, g->values[n->outputs[0]].name),
              cg_type_text(c, &g->values[n->outputs[0]].type));
    for (int i = 0; i < n->n_attrs; i++) {
        const Attr *a = &n->attrs[i];
        cg_printf(c, i ? ", %s=" : "\n *   %s=", cg_text(c, a->name));
        switch (a->kind) {
        case IR_ATTR_INT: cg_printf(c, "%lld", (long long)a->i); break;
        case IR_ATTR_FLOAT: cg_printf(c, "%g", a->f); break;
        case IR_ATTR_STRING: cg_printf(c, "\"%s\"", cg_text(c, a->s ? a->s : "")); break;
        case IR_ATTR_INTS:
            for (int k = 0; k < a->n_ints; k++)
                cg_printf(c, "%s%lld", k ? "," : "[", (long long)a->ints[k]);
            cg_printf(c, "]");
            break;
        }
    }
    if (n->n_epilogue) {
        cg_printf(c, "\n *   epilogue:");
        for (int j = 0; j < n->n_epilogue; j++) {
            const Epilogue *e = &n->epilogue[j];
            if (e->operand == IR_NONE)
                cg_printf(c, " %s", ir_ops[e->op].name);
            else
                cg_printf(c, " %s(%s%s)", ir_ops[e->op].name,
                          e->operand_first ? "operand first: " : "",
                          cg_text(c, g->values[e->operand].name));
        }
    }
    cg_printf(c, " */\n");
}

static const char prelude[] =
    "/* The arguments of every node's body function. */\n"
    "typedef struct slimc_args {\n"
    "    const void *in[8];    /* the node's inputs (NULL: an absent optional one) */\n"
    "    void *out;            /* its output */\n"
    "    const void *ep[8];    /* its epilogue operands (NULL for unary ops) */\n"
    "    const int64_t *syms;  /* symbol values */\n"
    "    int *err;             /* set to 1 on bad data (an index out of range) */\n"
    "} slimc_args;\n\n"
    "/* Activations and conversions the kernels use (as ir/eval.c computes them). */\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_relu6(float x) { return x <= 0.0f ? 0.0f : x >= "
    "6.0f ? 6.0f : x; }\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_gelu(float x) { return 0.5f * x * (1.0f + erff(x "
    "* 0.70710678118654752f)); }\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_gelu_tanh(float x)\n"
    "{\n    return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * "
    "x)));\n}\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_silu(float x) { return x / (1.0f + expf(-x)); }\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_hardsigmoid(float x)\n"
    "{\n    return (x <= -3.0f ? 0.0f : x >= 3.0f ? 6.0f : x + 3.0f) / 6.0f;\n}\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_hardswish(float x)\n"
    "{\n    return x * (x <= -3.0f ? 0.0f : x >= 3.0f ? 6.0f : x + 3.0f) / 6.0f;\n}\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_minimum(float a, float b) { return (a < b || a "
    "!= a) ? a : b; }\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_maximum(float a, float b) { return (a > b || a "
    "!= a) ? a : b; }\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_bf16_to_f32(uint16_t h)\n"
    "{\n    const uint32_t bits = (uint32_t)h << 16;\n    float f;\n    memcpy(&f, &bits, sizeof "
    "f);\n    return f;\n}\n"
    "static SLIMC_RT_UNUSED inline uint16_t slimc_cg_f32_to_bf16(float f) /* nearest even */\n"
    "{\n    uint32_t x;\n    memcpy(&x, &f, sizeof x);\n"
    "    if ((x & 0x7fffffffu) > 0x7f800000u)\n        return (uint16_t)((x >> 16) | 0x40u);\n"
    "    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);\n}\n"
    "static SLIMC_RT_UNUSED inline float slimc_cg_f16_to_f32(uint16_t h)\n"
    "{\n    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, "
    "bits;\n"
    "    if (e == 0x1f)\n        bits = sign | 0x7f800000u | (m << 13);\n"
    "    else if (e != 0)\n        bits = sign | ((e + 112) << 23) | (m << 13);\n"
    "    else if (m == 0)\n        bits = sign;\n"
    "    else {\n        e = 113;\n        while (!(m & 0x400u)) {\n            m <<= 1;\n         "
    "   e--;\n        }\n"
    "        bits = sign | (e << 23) | ((m & 0x3ffu) << 13);\n    }\n"
    "    float f;\n    memcpy(&f, &bits, sizeof f);\n    return f;\n}\n"
    "static SLIMC_RT_UNUSED inline uint16_t slimc_cg_f32_to_f16(float f) /* nearest even */\n"
    "{\n    uint32_t x;\n    memcpy(&x, &f, sizeof x);\n"
    "    const uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;\n"
    "    if (ax >= 0x7f800000u)\n        return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? "
    "0x200u : 0u));\n"
    "    if (ax >= 0x477ff000u)\n        return (uint16_t)(sign | 0x7c00u);\n"
    "    if (ax < 0x38800000u) {\n        float av;\n        memcpy(&av, &ax, sizeof av);\n"
    "        const float scaled = av * 16777216.0f;\n        uint32_t q = (uint32_t)scaled;\n"
    "        const float rem = scaled - (float)q;\n"
    "        if (rem > 0.5f || (rem == 0.5f && (q & 1u)))\n            q++;\n"
    "        return (uint16_t)(sign | q);\n    }\n"
    "    return (uint16_t)(sign | ((ax + 0xfffu + ((ax >> 13) & 1u) - (112u << 23)) >> "
    "13));\n}\n\n";

/* The runner: P_run's statements for node id (after its body function is written). */
static void emit_call(CgCtx *c, NodeId id, const CgKernel *k)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    ValueId ov = n->outputs[0];
    if (concat_in_place(g, n)) {
        cg_printf(c, "    /* %s: done in place (its inputs were written into %s) */\n",
                  cg_text(c, n->name), c->val_names[ov]);
        return;
    }
    if (ir_ops[n->op].flags & IR_F_VIEW) {
        int oi = output_index(g, ov);
        cg_printf(c, "    /* %s: %s %s is a view of %s */\n", cg_text(c, n->name),
                  ir_ops[n->op].name, c->val_names[ov], c->val_names[n->inputs[0]]);
        if (oi >= 0 && storage_of(g, ov) == ov) {
            Dim ne;
            if (!cg_numel(c, id, &g->values[ov].type.shape, &ne))
                return;
            cg_printf(c, "    memcpy(%s, %s, sizeof(*%s) * (size_t)%s);\n", c->val_names[ov],
                      c->val_names[n->inputs[0]], c->val_names[ov], cg_dim(c, ne));
        }
        return;
    }
    cg_printf(c, "    /* %s */\n", cg_text(c, n->name));
    cg_printf(c, "    memset(&a, 0, sizeof a);\n");
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] != IR_NONE)
            cg_printf(c, "    a.in[%d] = %s;\n", i, c->val_names[n->inputs[i]]);
    cg_printf(c, "    a.out = %s;\n", c->val_names[ov]);
    for (int j = 0; j < n->n_epilogue; j++)
        if (n->epilogue[j].operand != IR_NONE)
            cg_printf(c, "    a.ep[%d] = %s;\n", j, c->val_names[n->epilogue[j].operand]);
    cg_printf(c, "    a.syms = syms;\n    a.err = &err;\n");
    cg_printf(c, "    slimc_rt_parallel_for(slimc_rt_threads(nthreads, %s), %s, %s, &a);\n",
              k->work, k->items, c->fn_names[id]);
    if (n->n_epilogue && !k->ep_done) {
        Dim ne;
        if (!cg_numel(c, id, &g->values[ov].type.shape, &ne))
            return;
        const char *total = cg_dim(c, ne);
        cg_printf(c,
                  "    slimc_rt_parallel_for(slimc_rt_threads(nthreads, %s), %s, epiall_%s, &a);\n",
                  total, total, c->fn_names[id]);
    }
    if (n->op == IR_OP_EMBEDDING || n->op == IR_OP_INDEX_SELECT || n->op == IR_OP_GATHER_ELEMENTS ||
        n->op == IR_OP_SCATTER_ELEMENTS || n->op == IR_OP_GATHER_ND || n->op == IR_OP_SCATTER_ND ||
        n->op == IR_OP_ROI_ALIGN)
        cg_printf(c, "    if (err)\n        return 3; /* an index out of range */\n");
}

bool cg_emit_c(const Graph *g, const CgOptions *o, FILE *out, Diag *d)
{
    CgCtx cc = {0};
    CgCtx *c = &cc;
    c->g = g;
    c->out = out;
    c->d = d;
    c->arena = arena_new();
    c->prefix = entry_prefix(c, o && o->prefix ? o->prefix : "slimc_model");
    c->ok = true;
    if (!g->planned) {
        diag_error(d, (SrcLoc){0},
                   "C backend: the graph has no memory plan (run the memplan pass)");
        arena_free(c->arena);
        return false;
    }
    make_names(c);
    CgKernel *kernels = arena_alloc(c->arena, sizeof(CgKernel) * (size_t)(g->n_nodes + 1));

    if (o && o->shared_kernels)
        cg_printf(c, "%s /* kernels from libslimc_kernels */\n", RT_SHARED_KERNELS);
    fwrite(slimc_rt_header, 1, slimc_rt_header_len, out);
    cg_printf(c, "\n/* Generated by slimc %s from %s (model '%s').\n", SLIMC_VERSION,
              cg_text(c, o && o->source_name ? o->source_name
                         : g->source         ? g->source
                                             : "(memory)"),
              cg_text(c, g->name ? g->name : "?"));
    cg_printf(c, " * Entry points: %s_arena_bytes, %s_run (see slimc's codegen/c/cg.h). */\n\n",
              c->prefix, c->prefix);
    cg_puts(c, prelude, sizeof prelude - 1);

    for (int i = 0; i < g->n_nodes && c->ok; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || !node_supported(c, n))
            continue;
        emit_node_comment(c, n);
        if (ir_ops[n->op].flags & IR_F_VIEW) {
            cg_printf(c, "/* (a view: no code) */\n\n");
            continue;
        }
        if (concat_in_place(g, n)) {
            cg_printf(c, "/* (in place: no code) */\n\n");
            continue;
        }
        if (n->n_epilogue)
            cg_emit_epilogue_fn(c, i);
        emit_kernel(c, i, &kernels[i]);
    }
    if (!c->ok) {
        arena_free(c->arena);
        return false;
    }

    /* P_arena_bytes */
    cg_printf(c, "size_t %s_arena_bytes(const int64_t *syms)\n{\n", c->prefix);
    bool arena_syms = false; /* the arena's size depends on symbol values */
    for (int i = 0; i < g->arena_bytes.n; i++)
        arena_syms |= g->arena_bytes.t[i].mask != 0;
    if (!arena_syms)
        cg_printf(c, "    (void)syms;\n    return (size_t)(%s);\n}\n\n",
                  poly_expr(c, &g->arena_bytes));
    else
        cg_printf(c,
                  "    int64_t n = 0; /* %s */\n    if (%s)\n        return SIZE_MAX; /* overflows "
                  "for these symbol values */\n    return (size_t)n;\n}\n\n",
                  poly_expr(c, &g->arena_bytes), poly_overflows(c, &g->arena_bytes));

    /* P_run */
    cg_printf(
        c,
        "int %s_run(const void *const *consts, const void *const *inputs, void *const *outputs,\n"
        "    const int64_t *syms, void *arena, int nthreads)\n{\n",
        c->prefix);
    cg_printf(
        c,
        "    unsigned char *base = (unsigned char *)arena;\n    int err = 0;\n    slimc_args a;\n");
    cg_printf(c, "    (void)consts;\n    (void)inputs;\n    (void)base;\n    (void)a;\n");
    for (int i = 0; i < g->n_syms; i++)
        cg_printf(c,
                  "    const int64_t %s = syms[%d];\n    if (%s <= 0)\n        return 1; /* symbol "
                  "%s */\n",
                  c->sym_names[i], i, c->sym_names[i],
                  cg_text(c, g->sym_names[i] ? g->sym_names[i] : "?"));
    /* every size that depends on the symbols must fit (checked products) */
    if (arena_syms)
        cg_printf(c,
                  "    if (%s_arena_bytes(syms) == SIZE_MAX)\n        return 4; /* the arena */\n",
                  c->prefix);
    for (int j = 0; j < g->n_outputs; j++) {
        const Value *val = &g->values[g->outputs[j]];
        Dim ne;
        if (ir_shape_static(&val->type.shape))
            continue;
        if (!cg_numel(c, IR_NONE, &val->type.shape, &ne))
            break;
        size_t eb = ir_dtype_bytes(val->type.dtype, 1); /* a byte per element when packed */
        Poly bytes = ir_poly_from_dim((Dim){ne.c * (int64_t)eb, ne.syms}); /* static: checked */
        cg_printf(c,
                  "    {\n        int64_t n = 0;\n        if (%s)\n            return 4; /* output "
                  "%d */\n    }\n",
                  poly_overflows(c, &bytes), j);
    }
    /* views must keep the element count for these symbol values */
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || !(ir_ops[n->op].flags & IR_F_VIEW))
            continue;
        const Shape *si = cg_shape(c, n->inputs[0]), *so = cg_shape(c, n->outputs[0]);
        if (ir_shape_static(si) && ir_shape_static(so))
            continue;
        cg_printf(
            c, "    if ((int64_t)%s != (int64_t)%s)\n        return 2; /* %s cannot reshape */\n",
            cg_prod(c, si, 0, si->rank), cg_prod(c, so, 0, so->rank), cg_text(c, n->name));
    }
    declare_values(c);
    for (int v = 0; v < g->n_values; v++)
        if (value_used(g, v))
            cg_printf(c, "    (void)%s;\n", c->val_names[v]);
    cg_printf(c, "\n");
    for (int i = 0; i < g->n_nodes && c->ok; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        emit_call(c, i, &kernels[i]);
    }
    /* Outputs that no node wrote: inputs, constants, repeated outputs. */
    for (int j = 0; j < g->n_outputs; j++) {
        ValueId v = g->outputs[j];
        const Value *val = &g->values[v];
        Dim ne;
        if (!cg_numel(c, IR_NONE, &val->type.shape, &ne))
            break;
        const char *bytes =
            cg_strf(c, "%zu * (size_t)%s", ir_dtype_bytes(val->type.dtype, 1), cg_dim(c, ne));
        int first = output_index(g, v);
        if (first != j)
            cg_printf(c, "    memcpy(outputs[%d], outputs[%d], %s); /* %s again */\n", j, first,
                      bytes, cg_text(c, val->name));
        else if (val->kind != IR_VALUE_TEMP)
            cg_printf(c, "    memcpy(outputs[%d], %s, %s); /* %s */\n", j, c->val_names[v], bytes,
                      cg_text(c, val->name));
    }
    cg_printf(c, "    return err ? 3 : 0;\n}\n");
    bool ok = c->ok;
    arena_free(c->arena);
    return ok;
}
