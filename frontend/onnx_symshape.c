/* Shape arithmetic over symbolic dims at import. Exporters compute shapes with small
 * subgraphs (PyTorch: Shape → Gather → Unsqueeze → Concat → Reshape; Mul/Div for heads).
 * On static shapes frontend/onnx_fold.c evaluates them; when a dim is symbolic (a batch, a
 * sequence length) this file evaluates them over Dims instead: a "shape value" (OxSym) is
 * an integer tensor of rank 0 or 1 whose elements are Dims (coefficient × product of
 * symbols, ir/types.h), so Reshape, Expand and ConstantOfShape get targets that stay
 * symbolic in the generated code. Size, Equal (against a number <= 0: PyTorch's Expand)
 * and Where with a constant condition evaluate too.
 *
 * What a Dim cannot hold (S + 1, S * S, S // 2 on an odd coefficient, a shape value used
 * as data) is refused with a message that names the symbolic dims and the way out:
 * `--dim NAME=N` / `--shape INPUT=...` fix them at import (frontend/dim_fix.h). */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <stdio.h>
#include <string.h>

#define SYM_MAX 16 /* elements of a shape value */

struct OxSym {
    int rank; /* 0 or 1 */
    int n;    /* elements: 1 when rank is 0 */
    Dim d[SYM_MAX];
};

/* ---- reading inputs ---- */

static bool is_int(DType t)
{
    return t == IR_I64 || t == IR_I32;
}

/* Input i as a shape value: a symbolic one, or a small integer constant; false otherwise. */
static bool sym_in(const OxNode *n, int i, OxSym *out)
{
    if (!ox_has_in(n, i))
        return false;
    const OxEntry *e = n->in[i];
    if (e->sym) {
        *out = *e->sym;
        return true;
    }
    if (!e->is_const || !is_int(e->c.dtype) || e->c.rank > 1)
        return false;
    int64_t k = ox_const_numel(&e->c);
    if (k > SYM_MAX || (e->c.rank == 0 && k != 1))
        return false;
    out->rank = e->c.rank;
    out->n = (int)k;
    for (int j = 0; j < out->n; j++)
        out->d[j] = ir_dim(ox_const_get_i(&e->c, j));
    return true;
}

static bool any_sym_input(const OxNode *n)
{
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] && n->in[i]->sym)
            return true;
    return false;
}

static bool all_static(const OxSym *s)
{
    for (int i = 0; i < s->n; i++)
        if (!ir_dim_static(s->d[i]))
            return false;
    return true;
}

/* Binds output 0 to s: a constant when every element is static, else a shape value. */
static void bind_sym(OxImporter *im, const OxNode *n, const OxSym *s)
{
    if (all_static(s)) {
        OxConst c;
        int64_t len = s->n;
        ox_const_make(im, &c, IR_I64, s->rank, &len);
        for (int i = 0; i < s->n; i++)
            ox_const_set(&c, i, (double)s->d[i].c);
        ox_bind_const(im, n->out[0], &c);
        return;
    }
    OxSym *copy = ir_arena_alloc(im->g->arena, sizeof *copy);
    *copy = *s;
    ox_bind_sym(im, n->out[0], copy);
}

/* ---- messages ---- */

/* "batch, seq": the symbols in mask, into buf. */
static const char *sym_names(const Graph *g, uint32_t mask, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (int s = 0; s < g->n_syms && len + 1 < size; s++)
        if (mask & (1u << s)) {
            int w = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", g->sym_names[s]);
            len += w > 0 ? (size_t)w : 0;
        }
    return buf;
}

/* The symbols of the node's inputs: shape values, and the tensors whose shape it reads. */
static uint32_t input_syms(OxImporter *im, const OxNode *n)
{
    uint32_t mask = 0;
    for (int i = 0; i < n->n_in; i++) {
        const OxEntry *e = n->in[i];
        if (!e)
            continue;
        if (e->sym)
            for (int j = 0; j < e->sym->n; j++)
                mask |= e->sym->d[j].syms;
        else if (!e->is_const && e->v != IR_NONE && im->g->values[e->v].type.shape.rank > 0) {
            const Shape *s = &im->g->values[e->v].type.shape;
            for (int j = 0; j < s->rank; j++)
                mask |= s->d[j].syms;
        }
    }
    return mask;
}

OxResult ox_unsupported_symbolic(OxImporter *im, const OxNode *n, const char *what)
{
    char names[256], first[64];
    uint32_t mask = input_syms(im, n);
    if (!mask)
        mask = (1u << im->g->n_syms) - 1;
    sym_names(im->g, mask, names, sizeof names);
    int s = 0;
    while (s < im->g->n_syms && !(mask & (1u << s)))
        s++;
    snprintf(first, sizeof first, "%s", s < im->g->n_syms ? im->g->sym_names[s] : "N");
    return ox_unsupported(im, n,
                          "%s over the symbolic dim%s %s; fix %s at import: --dim %s=N (or "
                          "--shape INPUT=D0,D1,...)",
                          what, strchr(names, ',') ? "s" : "", names,
                          strchr(names, ',') ? "them" : "it", first);
}

/* ---- arithmetic on Dims ---- */

typedef enum { SYM_ADD, SYM_SUB, SYM_MUL, SYM_DIV } SymOp;

static bool dim_arith_plain(SymOp op, Dim a, Dim b, Dim *out);

/* a op b as a Dim: a product of symbols where one holds it, else a derived symbol
 * (ir/symbols.c: S+1, S-4, S*S, W//2); false when neither can. Div is ONNX's integer Div
 * (truncation), the same as floor on the sizes (>= 0) it accepts. */
static bool dim_arith(Graph *g, SymOp op, Dim a, Dim b, Dim *out)
{
    if (dim_arith_plain(op, a, b, out))
        return true;
    switch (op) {
    case SYM_ADD: return ir_dim_add(g, a, b, out);
    case SYM_SUB:
        return b.c != INT64_MIN && ir_dim_derive(g, a, ir_dim(1), (Dim){-b.c, b.syms}, 0, 1, out);
    case SYM_MUL: return a.c > 0 && b.c > 0 && ir_dim_mul_any(g, a, b, out);
    case SYM_DIV: return a.c > 0 && ir_dim_static(b) && b.c > 0 && ir_dim_floordiv(g, a, b.c, out);
    }
    return false;
}

static bool dim_arith_plain(SymOp op, Dim a, Dim b, Dim *out)
{
    if (ir_dim_static(a) && ir_dim_static(b)) {
        int64_t r;
        switch (op) {
        case SYM_ADD:
            if (__builtin_add_overflow(a.c, b.c, &r))
                return false;
            break;
        case SYM_SUB:
            if (__builtin_sub_overflow(a.c, b.c, &r))
                return false;
            break;
        case SYM_MUL:
            if (__builtin_mul_overflow(a.c, b.c, &r))
                return false;
            break;
        case SYM_DIV:
            if (b.c == 0 || (a.c == INT64_MIN && b.c == -1))
                return false;
            r = a.c / b.c;
            break;
        }
        *out = ir_dim(r);
        return true;
    }
    switch (op) {
    case SYM_MUL:
        if (a.c <= 0 || b.c <= 0)
            return false;
        return ir_dim_mul(a, b, out);
    case SYM_DIV:
        /* (c·S·T) / (k·T) = (c/k)·S when k divides c and T is in the numerator */
        if (b.c <= 0 || a.c <= 0 || (b.syms & ~a.syms) || a.c % b.c)
            return false;
        *out = (Dim){a.c / b.c, a.syms & ~b.syms};
        return true;
    case SYM_ADD:
    case SYM_SUB: {
        /* c·S ± k·S = (c ± k)·S, kept when positive (0 when equal, for Sub) */
        if (a.syms != b.syms)
            return false;
        int64_t c = op == SYM_ADD ? a.c + b.c : a.c - b.c;
        if (c < 0 || (c == 0 && op == SYM_ADD))
            return false;
        *out = c == 0 ? ir_dim(0) : (Dim){c, a.syms};
        return true;
    }
    }
    return false;
}

/* ---- the ops ---- */

static OxResult sym_shape_op(OxImporter *im, OxNode *n, const Shape *s)
{
    int64_t st = ox_attr_int(n, "start", 0), en = ox_attr_int(n, "end", s->rank);
    st = st < 0 ? st + s->rank : st;
    en = en < 0 ? en + s->rank : en;
    st = st < 0 ? 0 : st > s->rank ? s->rank : st;
    en = en < 0 ? 0 : en > s->rank ? s->rank : en;
    OxSym r = {1, 0, {{0}}};
    for (int64_t i = st; i < en; i++)
        r.d[r.n++] = s->d[i];
    bind_sym(im, n, &r);
    return OX_OK;
}

static OxResult sym_gather(OxImporter *im, OxNode *n)
{
    OxSym data, idx;
    const OxConst *ic = ox_const_in(n, 1);
    if (!sym_in(n, 0, &data) || data.rank != 1 || !ic || !sym_in(n, 1, &idx) ||
        ox_attr_int(n, "axis", 0) != 0)
        return ox_unsupported_symbolic(im, n, "a Gather of a shape this way");
    OxSym r = {idx.rank, idx.n, {{0}}};
    for (int i = 0; i < idx.n; i++) {
        int64_t k = idx.d[i].c;
        k = k < 0 ? k + data.n : k;
        if (k < 0 || k >= data.n)
            return ox_unsupported(im, n, "index %lld out of range of a shape of %d",
                                  (long long)idx.d[i].c, data.n);
        r.d[i] = data.d[k];
    }
    bind_sym(im, n, &r);
    return OX_OK;
}

static OxResult sym_unsqueeze(OxImporter *im, OxNode *n, bool squeeze)
{
    OxSym a;
    if (!sym_in(n, 0, &a) || a.rank != (squeeze ? 1 : 0) || (squeeze && a.n != 1))
        return ox_unsupported_symbolic(im, n, "a shape of this rank");
    a.rank = squeeze ? 0 : 1; /* the axes can only be 0 (or -1) */
    bind_sym(im, n, &a);
    return OX_OK;
}

static OxResult sym_concat(OxImporter *im, OxNode *n)
{
    OxSym r = {1, 0, {{0}}};
    for (int i = 0; i < n->n_in; i++) {
        OxSym a;
        if (!sym_in(n, i, &a) || a.rank != 1 || r.n + a.n > SYM_MAX)
            return ox_unsupported_symbolic(im, n, "a Concat of a shape with a tensor");
        for (int j = 0; j < a.n; j++)
            r.d[r.n++] = a.d[j];
    }
    bind_sym(im, n, &r);
    return OX_OK;
}

static OxResult sym_slice(OxImporter *im, OxNode *n)
{
    OxSym a;
    int64_t st, en, ax = 0, step = 1;
    if (!sym_in(n, 0, &a) || a.rank != 1 || ox_ints_input(im, n, 1, &st, 1) != 1 ||
        ox_ints_input(im, n, 2, &en, 1) != 1 ||
        (ox_has_in(n, 3) && ox_ints_input(im, n, 3, &ax, 1) != 1) ||
        (ox_has_in(n, 4) && ox_ints_input(im, n, 4, &step, 1) != 1) || (ax != 0 && ax != -1) ||
        step != 1)
        return ox_unsupported_symbolic(im, n, "a Slice of a shape this way");
    st = st < 0 ? st + a.n : st;
    en = en < 0 ? en + a.n : en;
    st = st < 0 ? 0 : st > a.n ? a.n : st;
    en = en < 0 ? 0 : en > a.n ? a.n : en;
    OxSym r = {1, 0, {{0}}};
    for (int64_t i = st; i < en; i++)
        r.d[r.n++] = a.d[i];
    bind_sym(im, n, &r);
    return OX_OK;
}

/* Slice of a tensor (not a shape value) with bounds computed from symbolic dims, one
 * slice node per axis: an end equal to the sliced dim is the whole length (x[:, :S] of
 * x [B, S]); a symbol S as the end of a static length L (a GPT-style causal mask
 * bias[:, :, :T, :T] of a fixed buffer, HF's position_ids[:, :T]) is the slice's end_sym:
 * ONNX clamps such an end to L, and slimc takes the length as S - start with S <= L a
 * bound the inputs are checked against (ir/shape.c), so the model compiles once. */
static OxResult sym_slice_data(OxImporter *im, OxNode *n)
{
    OxSym st, en, ax = {0, 0, {{0}}}, sp = {0, 0, {{0}}};
    const bool has_ax = ox_has_in(n, 3), has_sp = ox_has_in(n, 4);
    if (!sym_in(n, 1, &st) || !sym_in(n, 2, &en) || st.rank != 1 || st.n != en.n ||
        (has_ax && (!sym_in(n, 3, &ax) || ax.n != st.n || !all_static(&ax))) ||
        (has_sp && (!sym_in(n, 4, &sp) || sp.n != st.n || !all_static(&sp))))
        return ox_unsupported_symbolic(im, n, "a Slice with these starts, ends, axes or steps");
    ValueId v = ox_in(im, n, 0);
    const int r = ox_ty(im, v)->shape.rank;
    for (int i = 0; i < st.n && v != IR_NONE; i++) {
        int64_t a = has_ax ? ax.d[i].c : i, step = has_sp ? sp.d[i].c : 1;
        if (!ox_norm_axis(a, r, &a))
            return ox_unsupported(im, n, "axis out of range");
        const Dim len = ox_ty(im, v)->shape.d[a], b = st.d[i], e = en.d[i];
        if (step == 0 || step == INT64_MIN)
            return ox_unsupported(im, n, "step %lld", (long long)step);
        if (ir_dim_static(b) && ir_dim_static(e)) {
            v = ox_slice1(im, n, v, a, b.c, e.c, step);
            continue;
        }
        if (!ir_dim_static(b) || step != 1)
            return ox_unsupported_symbolic(im, n, "a Slice with a symbolic start or step");
        if (ir_dim_eq(e, len)) {
            v = ox_slice1(im, n, v, a, b.c, INT64_MAX, 1);
            continue;
        }
        if (!ir_dim_static(len) || e.c != 1 || (e.syms & (e.syms - 1)))
            return ox_unsupported_symbolic(
                im, n, "a Slice whose symbolic end is not one symbol over a static length");
        int64_t first = ir_slice_first(b.c, len.c, 1);
        if (first >= len.c)
            return ox_unsupported(im, n, "a slice that starts past the end (an empty tensor)");
        NodeId id = ox_mk(im, n, "slice", &v, 1);
        if (id == IR_NONE)
            return ox_no_ir_op(im, n, "slice");
        ir_node_set_int(im->g, id, "axis", a);
        ir_node_set_int(im->g, id, "start", first);
        ir_node_set_int(im->g, id, "step", 1);
        ir_node_set_int(im->g, id, "end_sym", __builtin_ctz(e.syms));
        v = ox_done(im, id);
    }
    return v == IR_NONE ? ox_no_ir_op(im, n, "slice") : ox_out(im, n, v);
}

static OxResult sym_arith(OxImporter *im, OxNode *n, SymOp op)
{
    OxSym a, b;
    if (!sym_in(n, 0, &a) || !sym_in(n, 1, &b) || (a.n != b.n && a.n != 1 && b.n != 1))
        return ox_unsupported_symbolic(im, n, "integer arithmetic on a shape this way");
    OxSym r = {a.rank > b.rank ? a.rank : b.rank, a.n > b.n ? a.n : b.n, {{0}}};
    for (int i = 0; i < r.n; i++)
        if (!dim_arith(im->g, op, a.d[a.n == 1 ? 0 : i], b.d[b.n == 1 ? 0 : i], &r.d[i]))
            return ox_unsupported_symbolic(im, n,
                                           "a result a symbolic dim cannot hold (a negative "
                                           "size, or more than 16 symbolic dims)");
    bind_sym(im, n, &r);
    return OX_OK;
}

/* The target of a Reshape (allowzero 0) as a Shape: 0 copies x's dim, -1 is inferred. */
static OxResult sym_reshape(OxImporter *im, OxNode *n)
{
    OxSym want;
    ValueId x = ox_in(im, n, 0);
    if (x == IR_NONE || !sym_in(n, 1, &want) || want.rank != 1 || want.n > IR_MAX_RANK ||
        ox_attr_int(n, "allowzero", 0))
        return ox_unsupported_symbolic(im, n, "a Reshape to this shape");
    const Shape *s = &ox_ty(im, x)->shape;
    Shape target = {want.n, {{0}}};
    int infer = -1;
    Dim known = ir_dim(1);
    for (int i = 0; i < want.n; i++) {
        Dim d = want.d[i];
        if (ir_dim_static(d) && d.c == 0 && i < s->rank)
            d = s->d[i];
        else if (ir_dim_static(d) && d.c == -1 && infer < 0) {
            infer = i;
            continue;
        } else if (d.c <= 0)
            return ox_unsupported(im, n, "bad target size %lld", (long long)d.c);
        target.d[i] = d;
        if (!ir_dim_mul_any(im->g, known, d, &known))
            return ox_unsupported_symbolic(im, n, "a Reshape whose sizes repeat a symbol");
    }
    if (infer >= 0) {
        Dim total;
        if (!ir_shape_numel_g(im->g, s, &total) || (known.syms & ~total.syms) || total.c % known.c)
            return ox_unsupported_symbolic(im, n, "a Reshape whose -1 cannot be inferred");
        target.d[infer] = (Dim){total.c / known.c, total.syms & ~known.syms};
    }
    ValueId v = ox_reshape_to(im, n, x, &target);
    return v == IR_NONE ? ox_unsupported_symbolic(im, n, "a Reshape to a shape this symbolic")
                        : ox_out(im, n, v);
}

/* A Reshape of a shape value itself to rank 1 (PyTorch's expand(B, -1, -1): [-1]) or
 * rank 0 (a one-element shape to [], [1] the other way). */
static OxResult sym_reshape_shape(OxImporter *im, OxNode *n)
{
    OxSym a;
    int64_t want[2];
    int k = ox_ints_input(im, n, 1, want, 2);
    if (!sym_in(n, 0, &a) || k < 0 || k > 1 || (k == 1 && want[0] != -1 && want[0] != a.n) ||
        (k == 0 && a.n != 1))
        return ox_unsupported_symbolic(im, n, "a Reshape of a shape this way");
    a.rank = k;
    bind_sym(im, n, &a);
    return OX_OK;
}

/* The expand attribute for a symbolic target: sizes, -1 to keep the input's dim (a 1 under
 * a dim the input has, or the same dim), else the symbol for it (ir_dim_attr: 4*B gets a
 * name). False for a dim below 0 or when the graph has no room for such a symbol. */
static bool expand_attr(Graph *g, const OxSym *want, const Shape *in, int64_t *attr)
{
    for (int i = 0; i < want->n; i++) {
        Dim d = want->d[i];
        int j = i - (want->n - in->rank); /* the input's dim under this one */
        if (ir_dim_static(d))
            attr[i] = d.c == 1 && j >= 0 ? -1 : d.c;
        else if (j >= 0 && ir_dim_eq(in->d[j], d))
            attr[i] = -1;
        else if (!ir_dim_attr(g, d, &attr[i]))
            return false;
    }
    return true;
}

/* Expand(x, shape) and ConstantOfShape(shape) (x: its value as a [1, ..., 1] constant). */
static OxResult sym_expand(OxImporter *im, OxNode *n, bool constant_of_shape)
{
    OxSym want;
    if (!sym_in(n, constant_of_shape ? 0 : 1, &want) || want.rank != 1 || want.n > IR_MAX_RANK)
        return ox_unsupported_symbolic(im, n, "this target shape");
    ValueId x;
    if (constant_of_shape) {
        OxConst c;
        const Onnx__AttributeProto *va = ox_attr(n, "value");
        if (va && va->t) {
            if (!ox_tensor_to_const(im, va->t, "ConstantOfShape value", &c))
                return OX_ERROR;
        } else {
            ox_const_make(im, &c, IR_F32, 0, NULL);
            ox_const_set(&c, 0, 0);
        }
        c.rank = want.n;
        for (int i = 0; i < want.n; i++)
            c.shape[i] = 1;
        Type t = {c.dtype, {c.rank, {{0}}}, NULL};
        for (int i = 0; i < c.rank; i++)
            t.shape.d[i] = ir_dim(1);
        x = ir_const_new(im->g, ir_arena_printf(im->g->arena, "%s.value", n->ir_name), t, c.data,
                         c.nbytes, n->loc);
    } else
        x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t attr[IR_MAX_RANK];
    if (want.n < s->rank || !expand_attr(im->g, &want, s, attr))
        return ox_unsupported_symbolic(im, n, "a target shape this symbolic");
    NodeId id = ox_mk(im, n, "expand", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "expand");
    ir_node_set_ints(im->g, id, "shape", attr, want.n);
    return ox_out(im, n, ox_done(im, id));
}

/* Equal of shape values: a bool constant where each element is known (a dim >= 1 is never
 * a number <= 0; equal dims are equal). PyTorch's Expand export compares a shape with -1. */
static OxResult sym_equal(OxImporter *im, OxNode *n)
{
    OxSym a, b;
    if (!sym_in(n, 0, &a) || !sym_in(n, 1, &b) || (a.n != b.n && a.n != 1 && b.n != 1))
        return ox_unsupported_symbolic(im, n, "an Equal of a shape this way");
    int rank = a.rank > b.rank ? a.rank : b.rank;
    int64_t len = a.n > b.n ? a.n : b.n;
    OxConst c;
    ox_const_make(im, &c, IR_BOOL, rank, &len);
    for (int i = 0; i < len; i++) {
        Dim x = a.d[a.n == 1 ? 0 : i], y = b.d[b.n == 1 ? 0 : i];
        bool eq;
        if (ir_dim_eq(x, y))
            eq = true;
        else if ((ir_dim_static(x) && x.c <= 0 && y.c > 0) ||
                 (ir_dim_static(y) && y.c <= 0 && x.c > 0) ||
                 (ir_dim_static(x) && ir_dim_static(y)))
            eq = false;
        else
            return ox_unsupported_symbolic(im, n, "an Equal whose answer depends on a symbol");
        ox_const_set(&c, i, eq);
    }
    ox_bind_const(im, n->out[0], &c);
    return OX_OK;
}

/* Where(constant condition, shape, shape): a shape value. */
static OxResult sym_where(OxImporter *im, OxNode *n)
{
    const OxConst *cond = ox_const_in(n, 0);
    OxSym a, b;
    if (!cond || cond->rank > 1 || !sym_in(n, 1, &a) || !sym_in(n, 2, &b))
        return ox_unsupported_symbolic(im, n, "a Where over a shape this way");
    int64_t k = ox_const_numel(cond);
    int len = (int)(k > a.n ? k : a.n > b.n ? a.n : b.n);
    if ((k != len && k != 1) || (a.n != len && a.n != 1) || (b.n != len && b.n != 1))
        return ox_unsupported_symbolic(im, n, "a Where over shapes of other lengths");
    OxSym r = {1, len, {{0}}};
    r.rank = cond->rank > a.rank ? cond->rank : a.rank > b.rank ? a.rank : b.rank;
    for (int i = 0; i < len; i++)
        r.d[i] =
            ox_const_get(cond, k == 1 ? 0 : i) != 0 ? a.d[a.n == 1 ? 0 : i] : b.d[b.n == 1 ? 0 : i];
    bind_sym(im, n, &r);
    return OX_OK;
}

/* Resize whose sizes are a shape value (PyTorch's interpolate(size=...) with a dynamic
 * batch: Concat(Shape(x)[:2], sizes)): a symbolic size that is x's own dim stays (-1 in
 * the sizes ox_import_resize reads); one of one symbol (another tensor's dim) is a
 * resize_axis to that symbol (OxImporter.resize_sym); the other sizes are numbers. */
static OxResult sym_resize(OxImporter *im, OxNode *n)
{
    OxSym want;
    ValueId x = ox_has_in(n, 0) && !n->in[0]->sym ? ox_in(im, n, 0) : IR_NONE;
    for (int i = 1; i < 3; i++)
        if (ox_has_in(n, i) && n->in[i]->sym)
            x = IR_NONE;
    if (x == IR_NONE || !sym_in(n, 3, &want) || want.rank != 1)
        return ox_unsupported_symbolic(im, n, "a Resize with roi or scales computed");
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t axes[IR_MAX_RANK];
    int na = ox_attr_ints(n, "axes", axes, IR_MAX_RANK);
    if (na == 0)
        for (int i = 0; i < s->rank && i < IR_MAX_RANK; i++)
            axes[na++] = i;
    if (na != want.n || na > IR_MAX_RANK)
        return ox_unsupported(im, n, "needs one size per axis");
    OxConst c;
    int64_t len = want.n;
    int to_sym[IR_MAX_RANK];
    ox_const_make(im, &c, IR_I64, 1, &len);
    for (int i = 0; i < na; i++) {
        to_sym[i] = -1;
        int64_t a = axes[i] < 0 ? axes[i] + s->rank : axes[i];
        if (a < 0 || a >= s->rank)
            return ox_unsupported(im, n, "an axis out of range");
        if (ir_dim_static(want.d[i]))
            ox_const_set(&c, i, (double)want.d[i].c);
        else if (ir_dim_eq(want.d[i], s->d[a]))
            ox_const_set(&c, i, -1); /* kept (onnx_ops_spatial.c) */
        else if (want.d[i].c == 1 && !(want.d[i].syms & (want.d[i].syms - 1))) {
            /* another tensor's dim (interpolate(x, size=skip.shape[2:])): its symbol */
            to_sym[i] = __builtin_ctz(want.d[i].syms);
            ox_const_set(&c, i, 1);
        } else
            return ox_unsupported_symbolic(im, n, "resizing a symbolic dim to another size");
    }
    OxEntry sizes = *n->in[3];
    sizes.sym = NULL;
    sizes.is_const = true;
    sizes.c = c;
    sizes.v = IR_NONE;
    OxNode copy = *n;
    copy.in = ir_arena_alloc(im->g->arena, sizeof(OxEntry *) * (size_t)(n->n_in + 1));
    for (int i = 0; i < n->n_in; i++)
        copy.in[i] = i == 3 ? &sizes : n->in[i];
    im->resize_sym = to_sym;
    OxResult r = ox_import_resize(im, &copy);
    im->resize_sym = NULL;
    return r;
}

ValueId ox_sym_iota(OxImporter *im, const OxNode *n, Dim len, DType dt)
{
    const int64_t one_shape[1] = {1};
    OxConst c;
    if (!ox_const_make(im, &c, dt, 1, one_shape))
        return IR_NONE;
    ox_const_set(&c, 0, 1.0);
    Type t = {dt, {1, {ir_dim(1)}}, NULL};
    ValueId x = ir_const_new(im->g, ir_arena_printf(im->g->arena, "%s.one", n->ir_name), t, c.data,
                             c.nbytes, n->loc);
    OxSym want = {1, 1, {len}};
    int64_t attr[1];
    if (!expand_attr(im->g, &want, &ox_ty(im, x)->shape, attr))
        return IR_NONE;
    NodeId id = ox_mk(im, n, "expand", &x, 1);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_ints(im->g, id, "shape", attr, 1);
    ValueId ones = ox_done(im, id);
    id = ox_mk(im, n, "cumsum", &ones, 1);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_int(im->g, id, "axis", 0);
    ir_node_set_int(im->g, id, "exclusive", 1);
    ir_node_set_int(im->g, id, "reverse", 0);
    return ox_done(im, id);
}

/* A shape value Cast to float (x.sum(1) / x.shape[1], a scale from a symbolic size) as a
 * tensor computed when the model runs: each symbolic element d is the sum of d ones (O(d)
 * work), a static one a constant; one element (0-d or [1]) only. */
static OxResult sym_cast_data(OxImporter *im, OxNode *n, const OxSym *a, DType dt)
{
    if (a->n != 1)
        return ox_unsupported_symbolic(im, n, "a Cast of a shape vector to a float type");
    const int64_t one_shape[1] = {1};
    OxConst c;
    if (!ox_const_make(im, &c, dt, a->rank, one_shape))
        return OX_ERROR;
    if (ir_dim_static(a->d[0])) {
        ox_const_set(&c, 0, (double)a->d[0].c);
        ox_bind_const(im, n->out[0], &c);
        return OX_OK;
    }
    ox_const_set(&c, 0, 1.0);
    Type t = {dt, {1, {ir_dim(1)}}, NULL};
    ValueId x = ir_const_new(im->g, ir_arena_printf(im->g->arena, "%s.one", n->ir_name), t, c.data,
                             c.nbytes, n->loc);
    OxSym want = {1, 1, {a->d[0]}};
    int64_t attr[1], axis0 = 0;
    NodeId id = expand_attr(im->g, &want, &ox_ty(im, x)->shape, attr)
                    ? ox_mk(im, n, "expand", &x, 1)
                    : IR_NONE;
    if (id == IR_NONE)
        return ox_unsupported_symbolic(im, n, "a Cast of a shape to a float type");
    ir_node_set_ints(im->g, id, "shape", attr, 1);
    ValueId ones = ox_done(im, id);
    id = ox_mk(im, n, "reduce_sum", &ones, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "reduce_sum");
    ir_node_set_ints(im->g, id, "axes", &axis0, 1);
    ir_node_set_int(im->g, id, "keepdim", a->rank == 1);
    return ox_out(im, n, ox_done(im, id));
}

/* Range(start, limit, delta) over a symbolic limit (PyTorch's torch.arange(x.size(1)) for
 * position ids): start and delta constant integers, delta >= 1; the length
 * (limit - start + delta - 1) // delta as a Dim, the values start + delta * k. */
static OxResult sym_range(OxImporter *im, OxNode *n)
{
    OxSym st, lim, dl;
    if (!sym_in(n, 0, &st) || !sym_in(n, 1, &lim) || !sym_in(n, 2, &dl) || st.n != 1 ||
        lim.n != 1 || dl.n != 1 || !ir_dim_static(st.d[0]) || !ir_dim_static(dl.d[0]) ||
        dl.d[0].c < 1)
        return ox_unsupported_symbolic(im, n, "a Range whose start or step is not a constant >= 1");
    const int64_t start = st.d[0].c, delta = dl.d[0].c;
    Dim len;
    if (!dim_arith(im->g, SYM_SUB, lim.d[0], ir_dim(start - (delta - 1)), &len) ||
        !dim_arith(im->g, SYM_DIV, len, ir_dim(delta), &len))
        return ox_unsupported_symbolic(im, n, "a Range length a symbolic dim cannot hold");
    const DType dt = n->in[0]->is_const ? n->in[0]->c.dtype : IR_I64;
    ValueId v = ox_sym_iota(im, n, len, dt);
    if (v == IR_NONE)
        return ox_unsupported_symbolic(im, n, "a Range length this symbolic");
    if (delta != 1)
        v = ox_bin(im, n, "mul", v, ox_scalar(im, n, dt, (double)delta));
    if (start != 0)
        v = ox_bin(im, n, "add", v, ox_scalar(im, n, dt, (double)start));
    return ox_out(im, n, v);
}

/* ReduceProd / ReduceSum of a shape vector (x.std's element count, [B, S] -> B*S). */
static OxResult sym_reduce(OxImporter *im, OxNode *n, bool prod)
{
    OxSym a;
    int64_t axes[2];
    int k = n->n_in > 1 ? -1 : ox_attr_ints(n, "axes", axes, 2);
    if (!sym_in(n, 0, &a) || a.rank != 1 || k < 0 || k > 1 ||
        (k == 1 && axes[0] != 0 && axes[0] != -1))
        return ox_unsupported_symbolic(im, n, "a reduction of a shape this way");
    bool keep = ox_attr_int(n, "keepdims", 1) != 0;
    OxSym r = {keep ? 1 : 0, 1, {ir_dim(prod ? 1 : 0)}};
    for (int i = 0; i < a.n; i++)
        if (!(prod ? ir_dim_mul_any(im->g, r.d[0], a.d[i], &r.d[0])
                   : ir_dim_add(im->g, r.d[0], a.d[i], &r.d[0])))
            return ox_unsupported_symbolic(im, n, "a reduction of a shape this symbolic");
    bind_sym(im, n, &r);
    return OX_OK;
}

bool ox_symshape(OxImporter *im, OxNode *n, OxResult *r)
{
    const char *op = n->p->op_type;
    if (!strcmp(op, "Shape") && ox_has_in(n, 0) && !n->in[0]->is_const && !n->in[0]->sym &&
        n->in[0]->v != IR_NONE) {
        const Shape *s = &ox_ty(im, n->in[0]->v)->shape;
        if (s->rank < 0 || ir_shape_static(s))
            return false; /* onnx_fold.c */
        *r = sym_shape_op(im, n, s);
        return true;
    }
    if (!strcmp(op, "Size") && ox_has_in(n, 0) && !n->in[0]->is_const && !n->in[0]->sym &&
        n->in[0]->v != IR_NONE && !ir_shape_static(&ox_ty(im, n->in[0]->v)->shape)) {
        OxSym s = {0, 1, {{0}}};
        if (!ir_shape_numel(&ox_ty(im, n->in[0]->v)->shape, &s.d[0]))
            *r = ox_unsupported_symbolic(im, n, "a Size with a symbol squared");
        else {
            bind_sym(im, n, &s);
            *r = OX_OK;
        }
        return true;
    }
    if (!any_sym_input(n))
        return false;
    if (!strcmp(op, "Shape") && n->in[0] && n->in[0]->sym) { /* the shape of a shape */
        OxSym s = {1, n->in[0]->sym->rank, {{0}}};
        for (int i = 0; i < s.n; i++)
            s.d[i] = ir_dim(n->in[0]->sym->n);
        bind_sym(im, n, &s);
        *r = OX_OK;
    } else if (!strcmp(op, "Gather"))
        *r = sym_gather(im, n);
    else if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze"))
        *r = sym_unsqueeze(im, n, !strcmp(op, "Squeeze"));
    else if (!strcmp(op, "Concat"))
        *r = sym_concat(im, n);
    else if (!strcmp(op, "Slice"))
        *r = n->in[0] && n->in[0]->sym ? sym_slice(im, n) : sym_slice_data(im, n);
    else if (!strcmp(op, "Cast") || !strcmp(op, "Identity")) {
        OxSym a;
        sym_in(n, 0, &a);
        int64_t to = ox_attr_int(n, "to", 7);
        if (!strcmp(op, "Cast") && to == 1) /* float: data */
            *r = sym_cast_data(im, n, &a, IR_F32);
        else if (!strcmp(op, "Cast") && to != 7 && to != 6) /* int64, int32 */
            *r = ox_unsupported_symbolic(im, n, "a Cast of a shape to a non-integer type");
        else {
            bind_sym(im, n, &a);
            *r = OX_OK;
        }
    } else if (!strcmp(op, "Add"))
        *r = sym_arith(im, n, SYM_ADD);
    else if (!strcmp(op, "Sub"))
        *r = sym_arith(im, n, SYM_SUB);
    else if (!strcmp(op, "Mul"))
        *r = sym_arith(im, n, SYM_MUL);
    else if (!strcmp(op, "Div"))
        *r = sym_arith(im, n, SYM_DIV);
    else if (!strcmp(op, "Reshape") && !(n->in[0] && n->in[0]->sym))
        *r = sym_reshape(im, n);
    else if (!strcmp(op, "Reshape"))
        *r = sym_reshape_shape(im, n);
    else if (!strcmp(op, "Expand") && !(n->in[0] && n->in[0]->sym))
        *r = sym_expand(im, n, false);
    else if (!strcmp(op, "ConstantOfShape"))
        *r = sym_expand(im, n, true);
    else if (!strcmp(op, "Resize") && im->opset >= 11 && n->n_in > 3 && n->in[3] && n->in[3]->sym)
        *r = sym_resize(im, n);
    else if (!strcmp(op, "Range"))
        *r = sym_range(im, n);
    else if (!strcmp(op, "Equal"))
        *r = sym_equal(im, n);
    else if (!strcmp(op, "Where"))
        *r = sym_where(im, n);
    else if (!strcmp(op, "ReduceProd") || !strcmp(op, "ReduceSum"))
        *r = sym_reduce(im, n, !strcmp(op, "ReduceProd"));
    else
        *r = ox_unsupported_symbolic(im, n, "a shape computed");
    return true;
}

#endif
