/* Derived symbols: the dims an exporter's shape arithmetic computes from other symbolic
 * dims (S+1 for a CLS token, S*S, (W+1)//2 after a stride-2 conv, H-4). A Dim is a
 * coefficient times a product of symbols; what it cannot hold becomes a new symbol whose
 * value is an expression over earlier symbols (ir/types.h SymDef). The graph interns
 * them, so the same expression is the same symbol and shapes built two ways compare
 * equal; the executor and the generated code compute their values after binding the
 * inputs' symbols (runtime/model_io.c rt_desc_bind, codegen/c/entry.c). */
#include "ir/checked.h"
#include "ir/graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool dim_is_one(Dim d)
{
    return d.c == 1 && d.syms == 0;
}

static bool dim_is_zero(Dim d)
{
    return d.c == 0;
}

/* floor(n / k) for k >= 1. */
static int64_t floor_div(int64_t n, int64_t k)
{
    int64_t q = n / k;
    return (n % k != 0 && n < 0) ? q - 1 : q;
}

/* A text being built in a fixed buffer: what does not fit is cut (names from a model file
 * may be long), the buffer stays terminated. */
typedef struct Text {
    char *buf;
    size_t size, len;
} Text;

static void put(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = t->len + (size_t)n < t->size ? t->len + (size_t)n : t->size - 1;
}

/* "S", "2*S*T", "(S+1)": d as an operand of an expression (derived names parenthesized). */
static void put_operand(Text *t, const Graph *g, Dim d)
{
    bool first = true;
    if (d.c != 1 || !d.syms) {
        put(t, "%lld", (long long)d.c);
        first = false;
    }
    for (int i = 0; i < g->n_syms; i++)
        if (d.syms & (1u << i)) {
            bool wrap = (g->derived_syms & (1u << i)) && strpbrk(g->sym_names[i], "+-/");
            put(t, "%s%s%s%s", first ? "" : "*", wrap ? "(" : "", g->sym_names[i], wrap ? ")" : "");
            first = false;
        }
}

/* The expression of def as a name: "S+1", "S*S", "(W+1)//2", "H-4", "S+T". */
static const char *def_name(Graph *g, const SymDef *def)
{
    char num[192], buf[224];
    Text t = {num, sizeof num, 0};
    num[0] = 0;
    put_operand(&t, g, def->xa);
    int terms = 1;
    if (!dim_is_one(def->xb)) {
        put(&t, "*");
        put_operand(&t, g, def->xb);
    }
    if (!dim_is_zero(def->y)) {
        Dim y = def->y;
        bool neg = y.c < 0 && y.c != INT64_MIN;
        if (neg)
            y.c = -y.c;
        put(&t, "%c", neg ? '-' : '+');
        put_operand(&t, g, y);
        terms++;
    }
    if (def->add) {
        put(&t, "%+lld", (long long)def->add);
        terms++;
    }
    if (def->div == 1)
        return ir_arena_strdup(g->arena, num);
    snprintf(buf, sizeof buf, terms > 1 || strchr(num, '*') ? "(%s)//%lld" : "%s//%lld", num,
             (long long)def->div);
    return ir_arena_strdup(g->arena, buf);
}

static bool def_eq(const SymDef *a, const SymDef *b)
{
    return ir_dim_eq(a->xa, b->xa) && ir_dim_eq(a->xb, b->xb) && ir_dim_eq(a->y, b->y) &&
           a->add == b->add && a->div == b->div;
}

/* The derived symbol of g with def; -1 when none. */
static int find(const Graph *g, const SymDef *def)
{
    for (int s = 0; s < g->n_syms; s++)
        if ((g->derived_syms & (1u << s)) && def_eq(&g->sym_defs[s], def))
            return s;
    return -1;
}

/* The symbol with def, interned; -1 when the graph has IR_MAX_SYMS symbols already. */
static int intern(Graph *g, const SymDef *def)
{
    int found = find(g, def);
    if (found >= 0)
        return found;
    if (g->n_syms == IR_MAX_SYMS)
        return -1;
    int s = g->n_syms++;
    g->sym_defs[s] = *def;
    g->derived_syms |= 1u << s;
    g->sym_names[s] = def_name(g, def);
    if (g->shaping)
        g->sym_origins[s] = ir_arena_printf(g->arena, "%s '%s'", ir_ops[g->shaping->op].name,
                                            g->shaping->name ? g->shaping->name : "?");
    return s;
}

/* a * b as a monomial: a symbol in both becomes the derived symbol S*S (its square), so
 * that a product has one form however it was built ([B, S, S, C] and [B, S*S, C] have the
 * same element count B*C*(S*S)). */
static bool mul_squares(const Graph *g, Graph *add_to, Dim a, Dim b, Dim *out)
{
    int64_t c;
    if (!ir_ckd_mul_i64(a.c, b.c, &c))
        return false;
    uint32_t both = a.syms & b.syms;
    Dim r = {c, (a.syms | b.syms) & ~both};
    for (int s = 0; s < IR_MAX_SYMS; s++)
        if (both & (1u << s)) {
            SymDef sq = {{1, 1u << s}, {1, 1u << s}, ir_dim(0), 0, 1};
            int q = add_to ? intern(add_to, &sq) : find(g, &sq);
            if (q < 0 || !mul_squares(g, add_to, r, (Dim){1, 1u << q}, &r))
                return false;
        }
    *out = r;
    return true;
}

static bool numel(const Graph *g, Graph *add_to, const Shape *s, Dim *out)
{
    Dim acc = ir_dim(1);
    for (int i = 0; i < s->rank; i++)
        if (s->d[i].c < 0 || !mul_squares(g, add_to, acc, s->d[i], &acc))
            return false;
    *out = acc;
    return true;
}

bool ir_shape_numel_g(Graph *g, const Shape *s, Dim *out)
{
    return numel(g, g, s, out);
}

bool ir_shape_numel_known(const Graph *g, const Shape *s, Dim *out)
{
    return numel(g, NULL, s, out);
}

/* c*T with T an affine derived symbol (xa + y + add, div 1) as T's terms times c, so that
 * a padded size padded again is H+4, not (H+3)+1; false (nothing changed) otherwise. */
static bool expand_affine(const Graph *g, Dim *xa, Dim *y, int64_t *add)
{
    uint32_t m = xa->syms;
    if (!m || (m & (m - 1)) || !(g->derived_syms & m))
        return false;
    const SymDef *t = &g->sym_defs[__builtin_ctz(m)];
    Dim na = t->xa, ny = t->y;
    int64_t k;
    if (t->div != 1 || !dim_is_one(t->xb) || !ir_ckd_mul_i64(na.c, xa->c, &na.c) ||
        !ir_ckd_mul_i64(ny.c, xa->c, &ny.c) || !ir_ckd_mul_i64(t->add, xa->c, &k) ||
        !ir_ckd_add_i64(k, *add, &k))
        return false;
    *xa = na, *y = ny, *add = k;
    return true;
}

bool ir_dim_derive(Graph *g, Dim xa, Dim xb, Dim y, int64_t add, int64_t div, Dim *out)
{
    if (div < 1)
        return false;
    if (dim_is_one(xb) && dim_is_zero(y))
        expand_affine(g, &xa, &y, &add);
    if (!ir_dim_static(xb) && !ir_dim_static(xa)) { /* one monomial, squares as symbols */
        if (!mul_squares(g, g, xa, xb, &xa))
            return false;
        xb = ir_dim(1);
    }
    /* normal form: xa * xb with xb 1 unless both carry symbols; constants into add */
    if (dim_is_zero(xa) || dim_is_zero(xb))
        xa = ir_dim(0), xb = ir_dim(1);
    if (ir_dim_static(xb)) {
        if (!ir_ckd_mul_i64(xa.c, xb.c, &xa.c))
            return false;
        xb = ir_dim(1);
    } else if (ir_dim_static(xa)) {
        if (!ir_ckd_mul_i64(xb.c, xa.c, &xb.c))
            return false;
        xa = xb, xb = ir_dim(1);
    }
    if (!ir_dim_static(xb) && !(xa.syms & xb.syms)) { /* a plain product */
        if (!ir_ckd_mul_i64(xa.c, xb.c, &xa.c))
            return false;
        xa.syms |= xb.syms, xb = ir_dim(1);
    }
    if (ir_dim_static(xa) && dim_is_one(xb)) {
        if (!ir_ckd_add_i64(add, xa.c, &add))
            return false;
        xa = ir_dim(0);
    }
    if (ir_dim_static(y)) {
        if (!ir_ckd_add_i64(add, y.c, &add))
            return false;
        y = ir_dim(0);
    }
    if (dim_is_zero(xa) && !dim_is_zero(y))
        xa = y, y = ir_dim(0);
    if (!dim_is_zero(y) && dim_is_one(xb) && xa.syms == y.syms) { /* c·S + k·S */
        if (!ir_ckd_add_i64(xa.c, y.c, &xa.c))
            return false;
        y = ir_dim(0);
        if (xa.c == 0)
            xa = ir_dim(0);
    }
    if (dim_is_zero(xa)) { /* a constant */
        int64_t v = floor_div(add, div);
        if (v < 0)
            return false;
        *out = ir_dim(v);
        return true;
    }
    /* a common factor of every coefficient and div cancels */
    int64_t f = div;
    int64_t cs[3] = {xa.c, y.c, add};
    for (int i = 0; i < 3; i++)
        if (cs[i] == INT64_MIN)
            f = 1; /* no negation: leave the expression as it is */
    for (int i = 0; i < 3 && f > 1; i++)
        for (int64_t a = cs[i] < 0 ? -cs[i] : cs[i], b; a;)
            b = f % a, f = a, a = b;
    if (f > 1)
        xa.c /= f, y.c /= f, add /= f, div /= f;
    if (dim_is_one(xb) && dim_is_zero(y) && add == 0 && div == 1 && xa.c > 0) {
        *out = xa; /* a monomial */
        return true;
    }
    SymDef def = {xa, xb, y, add, div};
    int s = intern(g, &def);
    if (s < 0)
        return false;
    *out = (Dim){1, 1u << s};
    return true;
}

/* A monomial alias: the symbol s names c * (symbols), its definition that product alone. */
static bool is_alias(const Graph *g, int s)
{
    const SymDef *d = &g->sym_defs[s];
    return (g->derived_syms & (1u << s)) && dim_is_one(d->xb) && dim_is_zero(d->y) && d->add == 0 &&
           d->div == 1;
}

bool ir_dim_attr(Graph *g, Dim d, int64_t *out)
{
    if (d.c < 0)
        return false;
    if (ir_dim_static(d)) {
        *out = d.c;
        return true;
    }
    if (d.c != 1 || (d.syms & (d.syms - 1))) { /* 4*B, H*W: a symbol that names it */
        SymDef def = {d, ir_dim(1), ir_dim(0), 0, 1};
        int s = intern(g, &def);
        if (s < 0)
            return false;
        d = (Dim){1, 1u << s};
    }
    *out = -(1000 + (int64_t)__builtin_ctz(d.syms));
    return true;
}

bool ir_dim_of_attr(const Graph *g, int64_t v, Dim *out)
{
    if (v >= 0) {
        *out = ir_dim(v);
        return true;
    }
    if (v > -1000 || v <= -1000 - g->n_syms)
        return false;
    int s = (int)(-(v + 1000));
    *out = is_alias(g, s) ? g->sym_defs[s].xa : (Dim){1, 1u << s};
    return true;
}

bool ir_dim_add(Graph *g, Dim a, Dim b, Dim *out)
{
    return ir_dim_derive(g, a, ir_dim(1), b, 0, 1, out);
}

bool ir_dim_add_const(Graph *g, Dim a, int64_t k, Dim *out)
{
    return ir_dim_derive(g, a, ir_dim(1), ir_dim(0), k, 1, out);
}

bool ir_dim_mul_any(Graph *g, Dim a, Dim b, Dim *out)
{
    return ir_dim_derive(g, a, b, ir_dim(0), 0, 1, out);
}

bool ir_dim_floordiv(Graph *g, Dim a, int64_t k, Dim *out)
{
    return ir_dim_derive(g, a, ir_dim(1), ir_dim(0), 0, k, out);
}

bool ir_slice_sym(Dim len, int64_t start, int64_t end, IrSliceSym *out)
{
    const int64_t lb = len.c; /* the least len can be: every symbol is >= 1 */
    if (lb < 1 || start >= IR_SLICE_TO_END || start <= -IR_SLICE_TO_END)
        return false;
    bool start_exact = start >= -lb && start <= lb, end_exact = end >= -lb && end <= lb;
    *out = (IrSliceSym){start, end, start < 0, end < 0};
    if (end >= IR_SLICE_TO_END)
        *out = (IrSliceSym){start, 0, start < 0, true}, end_exact = true;
    if (out->start_rel == out->end_rel) /* a constant length: exact only without clamping */
        return start_exact && end_exact;
    /* len + end - start: when >= 1, start < len + end <= len, so neither clamps */
    return out->end_rel;
}

bool ir_slice_sym_neg(Dim len, int64_t start, int64_t end, IrSliceSym *out)
{
    const int64_t lb = len.c; /* the least len can be */
    if (lb < 1 || start <= -IR_SLICE_TO_END)
        return false;
    /* each bound as (rel, k) and whether it can clamp */
    bool s_rel = start < 0 || start >= IR_SLICE_TO_END, e_rel = end < 0;
    int64_t sk = start >= IR_SLICE_TO_END ? -1 : start, ek = end;
    bool s_exact = start >= IR_SLICE_TO_END || (start >= -lb && start <= lb - 1);
    bool e_exact = end >= -lb && end <= lb - 1;
    if (end >= IR_SLICE_TO_END)
        e_rel = true, ek = -1, e_exact = true; /* len - 1 */
    else if (end <= -IR_SLICE_TO_END)
        e_rel = false, ek = -1, e_exact = true; /* before the first */
    *out = (IrSliceSym){sk, ek, s_rel, e_rel};
    if (s_rel == e_rel) /* a constant length */
        return s_exact && e_exact;
    /* len + k - end; an end of len + k less a constant start has -len. A start below
     * -len.c may clamp up to 0, which makes a slice longer than its formula says: no */
    return s_rel && s_exact;
}

int64_t ir_slice_first(int64_t start, int64_t len, int64_t step)
{
    if (start < 0)
        start += len;
    int64_t hi = step < 0 ? len - 1 : len;
    return start < 0 ? 0 : start > hi ? hi : start;
}

int64_t ir_slice_count(int64_t start, int64_t end, int64_t len, int64_t step)
{
    if (len <= 0)
        return 0;
    int64_t s = ir_slice_first(start, len, step);
    if (end < 0)
        end += len;
    if (step > 0) {
        end = end < 0 ? 0 : end > len ? len : end;
        return end > s ? (end - s - 1) / step + 1 : 0;
    }
    end = end < -1 ? -1 : end > len - 1 ? len - 1 : end;
    return s > end ? (s - end - 1) / -step + 1 : 0;
}

void ir_sym_bound(Graph *g, int s, int64_t max, const char *of)
{
    SLIMC_ASSERT(s >= 0 && s < g->n_syms && max >= 1);
    if (g->sym_max[s] && g->sym_max[s] <= max)
        return;
    g->sym_max[s] = max;
    g->sym_max_of[s] = of;
}

/* The input symbols a mask of symbols comes from (derived ones by their definitions). */
static uint32_t sym_roots(const Graph *g, uint32_t syms)
{
    for (int s = g->n_syms - 1; s >= 0; s--)
        if ((syms & (1u << s)) && (g->derived_syms & (1u << s))) {
            const SymDef *d = &g->sym_defs[s]; /* over earlier symbols only */
            syms = (syms & ~(1u << s)) | d->xa.syms | d->xb.syms | d->y.syms;
        }
    return syms;
}

bool ir_dim_assume_eq(Graph *g, Dim a, Dim b, const Node *n)
{
    if (ir_dim_eq(a, b))
        return true;
    if (!g->assume_eq || !a.syms || !b.syms || !(sym_roots(g, a.syms) & sym_roots(g, b.syms)))
        return false;
    for (int k = 0; k < 2; k++) {
        Dim one = k ? b : a, other = k ? a : b;
        if (one.c != 1 || (one.syms & (one.syms - 1)) || (other.syms & one.syms))
            continue;
        int s = __builtin_ctz(one.syms);
        if (g->sym_eq[s].c) { /* assumed before (by this node or another): it stays so */
            if (!ir_dim_eq(g->sym_eq[s], other))
                continue;
            return true;
        }
        g->sym_eq[s] = other;
        g->sym_eq_of[s] = ir_arena_printf(g->arena, "%s '%s'", ir_ops[n->op].name, n->name);
        return true;
    }
    return false;
}

bool ir_syms_derive(const Graph *g, int64_t *syms, char *why, size_t why_size)
{
    for (int s = 0; s < g->n_syms; s++) {
        if (!(g->derived_syms & (1u << s)))
            continue;
        const SymDef *d = &g->sym_defs[s];
        int64_t a, b, y, n;
        bool ok = ir_dim_eval_ckd(d->xa, syms, &a) && ir_dim_eval_ckd(d->xb, syms, &b) &&
                  ir_dim_eval_ckd(d->y, syms, &y) && ir_ckd_mul_i64(a, b, &n) &&
                  ir_ckd_add_i64(n, y, &n) && ir_ckd_add_i64(n, d->add, &n);
        if (!ok) {
            snprintf(why, why_size, "the symbolic dim %s overflows", g->sym_names[s]);
            return false;
        }
        syms[s] = floor_div(n, d->div);
        if (syms[s] < 1) {
            const char *from = g->sym_origins[s];
            snprintf(why, why_size,
                     "the symbolic dim %s is %lld for these input shapes (must be >= 1%s%s)",
                     g->sym_names[s], (long long)syms[s], from ? "; from " : "", from ? from : "");
            return false;
        }
    }
    for (int s = 0; s < g->n_syms; s++)
        if (g->sym_max[s] && syms[s] > g->sym_max[s]) {
            snprintf(why, why_size,
                     "the symbolic dim %s = %lld exceeds %lld, the largest the model's %s allows",
                     g->sym_names[s], (long long)syms[s], (long long)g->sym_max[s],
                     g->sym_max_of[s] ? g->sym_max_of[s] : "shapes");
            return false;
        }
    for (int s = 0; s < g->n_syms; s++) {
        int64_t v = 0;
        if (g->sym_eq[s].c && (!ir_dim_eval_ckd(g->sym_eq[s], syms, &v) || v != syms[s])) {
            snprintf(why, why_size,
                     "the model's %s needs two dims equal that these input shapes make "
                     "differ (%s = %lld, the other %lld)",
                     g->sym_eq_of[s] ? g->sym_eq_of[s] : "shapes", g->sym_names[s],
                     (long long)syms[s], (long long)v);
            return false;
        }
    }
    return true;
}
