/* The C emitter's text helpers (codegen/c/text.h): output, escaping, C expressions of
 * dims, body-function frames and names. Nothing here knows an op. */
#include "codegen/c/text.h"
#include "ir/dtype_ops.h"
#include "ir/text_escape.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
            ir_diag_error(c->d, (SrcLoc){0},
                          "%s: internal error: text from the model reached the generated "
                          "code unescaped (format \"%.60s\")",
                          c->label ? c->label : "C backend", fmt ? fmt : "(text)");
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
    return ir_arena_strdup(c->arena, ir_esc_c(buf, sizeof buf, s, IR_ESC_NAME_MAX));
}

const char *cg_type_text(CgCtx *c, const Type *t)
{
    char plain[200], buf[4 * sizeof plain]; /* the type is bounded already: not cut */
    ir_type_str(c->g, t, plain, sizeof plain);
    return ir_arena_strdup(c->arena, ir_esc_c(buf, sizeof buf, plain, 0));
}

void cg_error(CgCtx *c, const Node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ir_diag_error(c->d, n ? n->loc : (SrcLoc){0}, "%s: %s '%s': %s",
                  c->label ? c->label : "C backend", n ? ir_ops[n->op].name : "graph",
                  n && n->name ? n->name : "", msg);
    c->ok = false;
}

bool cg_numel(CgCtx *c, NodeId id, const Shape *s, Dim *out)
{
    if (ir_shape_numel(s, out) || ir_shape_numel_known(c->g, s, out))
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
    return ir_arena_strdup(c->arena, buf);
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
        return ir_arena_strdup(c->arena, buf);
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
    cg_printf(c, "%s void %s(void *p, int64_t i0, int64_t i1)\n{\n", cg_fn_storage(c),
              c->fn_names[id]);
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

void cg_node_comment(CgCtx *c, const Node *n)
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

/* An operand that can stand in an expression without parentheses: a name, maybe indexed. */
static bool simple_operand(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    while (isalnum((unsigned char)*s) || *s == '_')
        s++;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        return close && close[1] == '\0' && !strchr(s + 1, '[');
    }
    return *s == '\0';
}

const char *cg_scalar_expand(CgCtx *c, const char *tmpl, const char *const args[4])
{
    static const char *const names[4] = {"x", "y", "p0", "p1"};
    const char *ops[4];
    for (int k = 0; k < 4; k++)
        ops[k] = args[k] && !simple_operand(args[k]) ? cg_strf(c, "(%s)", args[k]) : args[k];
    size_t len = 0;
    char *out = NULL;
    for (;;) { /* measure, then write */
        len = 0;
        for (const char *p = tmpl; *p;) {
            if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
                const char *q = p; /* a number with its suffix: 0.5f, 1e-5 */
                while (isalnum((unsigned char)*q) || *q == '.' || *q == '_' ||
                       ((*q == '+' || *q == '-') && (q[-1] == 'e' || q[-1] == 'E')))
                    q++;
                if (out)
                    memcpy(out + len, p, (size_t)(q - p));
                len += (size_t)(q - p);
                p = q;
                continue;
            }
            if (isalpha((unsigned char)*p) || *p == '_') {
                const char *q = p;
                while (isalnum((unsigned char)*q) || *q == '_')
                    q++;
                const char *rep = NULL;
                for (int k = 0; k < 4; k++)
                    if (strlen(names[k]) == (size_t)(q - p) &&
                        !strncmp(p, names[k], (size_t)(q - p)))
                        rep = ops[k];
                const char *src = rep ? rep : p;
                size_t n = rep ? strlen(rep) : (size_t)(q - p);
                if (out)
                    memcpy(out + len, src, n);
                len += n;
                p = q;
                continue;
            }
            if (out)
                out[len] = *p;
            len++;
            p++;
        }
        if (out)
            break;
        out = ir_arena_alloc(c->arena, len + 1);
    }
    out[len] = '\0';
    return out;
}

/* ---- dtypes and index arrays ---- */

DType cg_dtype_of(CgCtx *c, ValueId v)
{
    return c->g->values[v].type.dtype;
}

bool cg_dtype_is_float(DType t)
{
    return t == IR_F32 || t == IR_F64 || t == IR_F16 || t == IR_BF16;
}

bool cg_dtype_is_signed_int(DType t)
{
    return !cg_dtype_is_float(t) && t != IR_BOOL && ir_dtype_name(t)[0] != 'u';
}

/* Declares `T *restrict dst`, the output in its own dtype. */
void cg_declare_dst(CgCtx *c, const Node *n)
{
    const char *t = ir_dtype_ctype(cg_dtype_of(c, n->outputs[0]));
    cg_printf(c, "    %s *restrict dst = (%s *)a->out;\n    (void)out;\n", t, t);
}

/* `const int64_t NAME[R] = {d0, d1, ...};` for the dims of s (R >= 1). */
void cg_dims_array(CgCtx *c, const char *name, const Shape *s)
{
    cg_printf(c, "    const int64_t %s[%d] = {", name, s->rank ? s->rank : 1);
    for (int i = 0; i < s->rank; i++)
        cg_printf(c, "%s%s", i ? ", " : "", cg_dim(c, s->d[i]));
    cg_printf(c, "%s};\n    (void)%s;\n", s->rank ? "" : "1", name);
}

/* Element strides of s, as cg_dims_array. */
void cg_strides_array(CgCtx *c, const char *name, const Shape *s)
{
    cg_printf(c, "    const int64_t %s[%d] = {", name, s->rank ? s->rank : 1);
    for (int i = 0; i < s->rank; i++)
        cg_printf(c, "%s%s", i ? ", " : "", cg_prod(c, s, i + 1, s->rank));
    cg_printf(c, "%s};\n    (void)%s;\n", s->rank ? "" : "1", name);
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
    return unique_name(c, taken, ir_arena_strdup(c->arena, buf));
}

/* The entry points' prefix as a C identifier: [A-Za-z0-9_], not led by a digit, at most
 * 120 bytes (a model named after its file, "my.model", gives "my_model"). */
const char *cg_entry_prefix(CgCtx *c, const char *prefix)
{
    char buf[128];
    size_t len = 0;
    if (isdigit((unsigned char)prefix[0]) || !prefix[0])
        buf[len++] = 'm', buf[len++] = '_';
    for (const char *s = prefix; *s && len < 122; s++)
        buf[len++] = isalnum((unsigned char)*s) ? *s : '_';
    buf[len] = 0;
    return ir_arena_strdup(c->arena, buf);
}

void cg_make_names(CgCtx *c)
{
    const Graph *g = c->g;
    c->val_names = ir_arena_alloc(c->arena, sizeof(char *) * (size_t)(g->n_values + 1));
    c->fn_names = ir_arena_alloc(c->arena, sizeof(char *) * (size_t)(g->n_nodes + 1));
    c->sym_names = ir_arena_alloc(c->arena, sizeof(char *) * IR_MAX_SYMS);
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
