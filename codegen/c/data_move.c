/* Data movement and dtype-generic ops: permute, expand, slice, pad, concat, index_select,
 * cast, where and the comparisons. Each works on any dtype but i4 (f16 and bf16 are read
 * through the prelude's converters where a value is needed, and copied as bits where it
 * is not). Most walk the output one row (its last dim) per parallel item, with each
 * operand's element strides over the output's dims (0 where it is broadcast). */
#include "codegen/c/cg_internal.h"
#include "ir/dtype_ops.h"

#include <string.h>

/* The C type of value v's elements. */
static const char *ctype_of(CgCtx *c, ValueId v)
{
    return ir_dtype_ctype(c->g->values[v].type.dtype);
}

/* The C expression of element expr of a tensor of dtype t as a number (f16/bf16 as float). */
static const char *load_expr(CgCtx *c, DType t, const char *expr)
{
    if (t == IR_F16)
        return cg_strf(c, "slimc_cg_f16_to_f32(%s)", expr);
    if (t == IR_BF16)
        return cg_strf(c, "slimc_cg_bf16_to_f32(%s)", expr);
    return expr;
}

/* Declares `out_t *restrict dst` (the output in its dtype) after cg_body_begin. */
static void declare_dst(CgCtx *c, const Node *n)
{
    const char *t = ctype_of(c, n->outputs[0]);
    cg_printf(c, "    %s *restrict dst = (%s *)a->out;\n    (void)out;\n", t, t);
}

/* Element strides of operand shape in (right-aligned to out, numpy broadcasting) as C
 * expressions, one per dim of out. */
static void bcast_strides(CgCtx *c, const Shape *out, const Shape *in, const char **st)
{
    for (int i = 0; i < out->rank; i++) {
        int j = i - (out->rank - in->rank);
        bool present = j >= 0 && !(in->d[j].syms == 0 && in->d[j].c == 1);
        st[i] = present ? cg_prod(c, in, j + 1, in->rank) : "0";
    }
}

/* Opens the row loop over out (shape os, rank >= 0): declares od[] and, for each operand
 * k, sk[] from strides[k][]; for each row `it`, pk is operand k's offset of the row's
 * start and `L` the row length; the caller prints the inner statements (indexed by j, the
 * operand's element being pk + j * sk[R - 1]) and closes with row_loop_end. */
static void row_loop_begin(CgCtx *c, const Shape *os, int n_ops, const char *const *const *strides)
{
    int r = os->rank > 0 ? os->rank : 1;
    cg_printf(c, "    const int64_t od[%d] = {", r);
    for (int i = 0; i < r; i++)
        cg_printf(c, "%s%s", i ? ", " : "", os->rank ? cg_dim(c, os->d[i]) : "1");
    cg_printf(c, "};\n");
    for (int k = 0; k < n_ops; k++) {
        cg_printf(c, "    const int64_t s%d[%d] = {", k, r);
        for (int i = 0; i < r; i++)
            cg_printf(c, "%s%s", i ? ", " : "", os->rank ? strides[k][i] : "0");
        cg_printf(c, "};\n    (void)s%d;\n", k);
    }
    cg_printf(c, "    const int64_t L = od[%d];\n", r - 1);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* one output row */\n");
    cg_printf(c, "        int64_t q = it;\n");
    for (int k = 0; k < n_ops; k++)
        cg_printf(c, "        int64_t p%d = 0;\n", k);
    cg_printf(c, "        for (int dd = %d; dd >= 0; dd--) {\n", r - 2);
    cg_printf(c, "            const int64_t cd = q %% od[dd];\n            q /= od[dd];\n");
    for (int k = 0; k < n_ops; k++)
        cg_printf(c, "            p%d += cd * s%d[dd];\n", k, k);
    cg_printf(c, "        }\n");
}

static void row_loop_end(CgCtx *c)
{
    cg_printf(c, "    }\n");
}

/* The kernel's item count: the output's rows. */
static void rows_kernel(CgCtx *c, const Shape *os, CgKernel *k)
{
    Dim ne;
    if (!cg_numel(c, IR_NONE, os, &ne))
        return;
    k->items = os->rank ? cg_prod(c, os, 0, os->rank - 1) : "1";
    k->work = cg_dim(c, ne);
    k->ep_done = false;
}

void cg_emit_compare(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *os = cg_shape(c, n->outputs[0]);
    DType t = c->g->values[n->inputs[0]].type.dtype;
    static const char *const syms[IR_NUM_OPS] = {
        [IR_OP_EQ] = "==", [IR_OP_NE] = "!=", [IR_OP_LT] = "<",
        [IR_OP_LE] = "<=", [IR_OP_GT] = ">",  [IR_OP_GE] = ">=",
    };
    const char *sym = syms[n->op];
    SLIMC_ASSERT(sym); /* the op table sends only comparisons here */
    const char *st0[IR_MAX_RANK], *st1[IR_MAX_RANK];
    bcast_strides(c, os, cg_shape(c, n->inputs[0]), st0);
    bcast_strides(c, os, cg_shape(c, n->inputs[1]), st1);
    const char *const *strides[2] = {st0, st1};
    static const char *const names[] = {"x0", "x1"};
    cg_body_begin(c, id, names, 2);
    declare_dst(c, n);
    row_loop_begin(c, os, 2, strides);
    int r = os->rank > 0 ? os->rank : 1;
    cg_printf(c, "        for (int64_t j = 0; j < L; j++)\n");
    cg_printf(c, "            dst[it * L + j] = (uint8_t)(%s %s %s);\n",
              load_expr(c, t, cg_strf(c, "x0[p0 + j * s0[%d]]", r - 1)), sym,
              load_expr(c, t, cg_strf(c, "x1[p1 + j * s1[%d]]", r - 1)));
    row_loop_end(c);
    cg_body_end(c);
    rows_kernel(c, os, k);
}

void cg_emit_where(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *os = cg_shape(c, n->outputs[0]);
    const char *st[3][IR_MAX_RANK];
    for (int i = 0; i < 3; i++)
        bcast_strides(c, os, cg_shape(c, n->inputs[i]), st[i]);
    const char *const *strides[3] = {st[0], st[1], st[2]};
    static const char *const names[] = {"cond", "xa", "xb"};
    cg_body_begin(c, id, names, 3);
    declare_dst(c, n);
    row_loop_begin(c, os, 3, strides);
    int r = os->rank > 0 ? os->rank : 1;
    cg_printf(c, "        for (int64_t j = 0; j < L; j++)\n");
    cg_printf(c,
              "            dst[it * L + j] = cond[p0 + j * s0[%d]] ? xa[p1 + j * s1[%d]] : xb[p2 + "
              "j * s2[%d]];\n",
              r - 1, r - 1, r - 1);
    row_loop_end(c);
    cg_body_end(c);
    rows_kernel(c, os, k);
}

/* The C expression converting x (a number from load_expr) to dtype t, as cast does. */
static const char *store_expr(CgCtx *c, DType to, DType from, const char *x)
{
    bool from_float = from == IR_F64 || from == IR_F32 || from == IR_F16 || from == IR_BF16;
    switch (to) {
    case IR_BOOL: return cg_strf(c, "(uint8_t)(%s != 0)", x);
    case IR_F16: return cg_strf(c, "slimc_cg_f32_to_f16((float)(%s))", x);
    case IR_BF16: return cg_strf(c, "slimc_cg_f32_to_bf16((float)(%s))", x);
    case IR_F64:
    case IR_F32: return cg_strf(c, "(%s)(%s)", ir_dtype_ctype(to), x);
    case IR_I64: return cg_strf(c, "(int64_t)(%s)", x);
    case IR_I32:
    case IR_I16:
    case IR_I8:
    case IR_U8: /* through int64 (wrapping), as the reference */
    case IR_U16:
    case IR_U32:
    case IR_U64:
        return from_float ? cg_strf(c, "(%s)(uint64_t)(int64_t)(%s)", ir_dtype_ctype(to), x)
                          : cg_strf(c, "(%s)(uint64_t)(%s)", ir_dtype_ctype(to), x);
    case IR_F8E4M3FN: /* elementwise_dtypes.c */
    case IR_F8E4M3FNUZ:
    case IR_F8E5M2:
    case IR_F8E5M2FNUZ:
    case IR_U4:
    case IR_I2:
    case IR_U2:
    case IR_F4E2M1:
    case IR_F8E8M0:
    case IR_I4:
    case IR_NUM_DTYPES: break;
    }
    return x;
}

void cg_emit_cast(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    DType from = c->g->values[n->inputs[0]].type.dtype, to = c->g->values[n->outputs[0]].type.dtype;
    if (ir_node_is_typed_elementwise(c->g, n)) { /* float8, i4, u4 */
        cg_emit_elementwise_typed(c, id, k);
        return;
    }
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    declare_dst(c, n);
    cg_printf(c, "    for (int64_t f = i0; f < i1; f++)\n        dst[f] = %s;\n",
              store_expr(c, to, from, load_expr(c, from, "x[f]")));
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->outputs[0]), &ne))
        return;
    k->items = cg_dim(c, ne);
    k->work = k->items;
    k->ep_done = false;
}

/* permute and expand: a strided gather of the one input. */
void cg_emit_gather_copy(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *os = cg_shape(c, n->outputs[0]), *xs = cg_shape(c, n->inputs[0]);
    const char *st[IR_MAX_RANK];
    if (n->op == IR_OP_PERMUTE) {
        const Attr *perm = ir_node_attr_id(n, IR_A_perm);
        for (int i = 0; i < os->rank; i++) {
            int64_t p = perm->ints[i] < 0 ? perm->ints[i] + xs->rank : perm->ints[i];
            st[i] = cg_prod(c, xs, (int)p + 1, xs->rank);
        }
    } else {
        bcast_strides(c, os, xs, st);
    }
    const char *const *strides[1] = {st};
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    declare_dst(c, n);
    row_loop_begin(c, os, 1, strides);
    int r = os->rank > 0 ? os->rank : 1;
    cg_printf(c, "        for (int64_t j = 0; j < L; j++)\n");
    cg_printf(c, "            dst[it * L + j] = x[p0 + j * s0[%d]];\n", r - 1);
    row_loop_end(c);
    cg_body_end(c);
    rows_kernel(c, os, k);
}

static int axis_of(const Node *n, int rank)
{
    int64_t ax = ir_attr_axis(n);
    return (int)(ax < 0 ? ax + rank : ax);
}

/* slice: rows of `inner` contiguous elements, one item per (outer, k), row k the input's
 * start + k * step (a negative step walks back from start). Along a symbolic length the
 * start is k or len + k (ir_slice_sym, ir_slice_sym_neg), known when it runs. */
void cg_emit_slice(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    int ax = axis_of(n, xs->rank);
    int64_t start = ir_attr_start(n), step = ir_attr_step(n);
    const char *start_expr;
    if (ir_dim_static(xs->d[ax])) {
        start_expr = cg_strf(c, "%lld", (long long)ir_slice_first(start, xs->d[ax].c, step));
    } else {
        IrSliceSym b;
        if (!(step > 0 ? ir_slice_sym(xs->d[ax], start, ir_attr_end(n), &b)
                       : ir_slice_sym_neg(xs->d[ax], start, ir_attr_end(n), &b))) {
            cg_error(c, n, "a slice of a symbolic length whose bounds may clamp");
            return;
        }
        start_expr = b.start_rel ? cg_strf(c, "len + %lld", (long long)b.start)
                                 : cg_strf(c, "%lld", (long long)b.start);
    }
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    declare_dst(c, n);
    cg_printf(c, "    const int64_t inner = %s, olen = %s, len = %s;\n",
              cg_prod(c, xs, ax + 1, xs->rank), cg_dim(c, os->d[ax]), cg_dim(c, xs->d[ax]));
    cg_printf(c, "    const int64_t start = %s;\n", start_expr);
    /* a run-time olen: no division per row (a constant one is a multiply) */
    const bool sym = !ir_dim_static(os->d[ax]);
    if (sym) {
        cg_printf(c, "    int64_t o = 0, kk = 0;\n");
        cg_printf(c,
                  "    if (i0 < i1) {\n        o = i0 / olen;\n        kk = i0 %% olen;\n    }\n");
    }
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* (outer, k) */\n");
    if (!sym)
        cg_printf(c, "        const int64_t o = it / olen, kk = it %% olen;\n");
    cg_printf(c,
              "        memcpy(dst + it * inner, x + (o * len + start + kk * %lld) * inner, "
              "sizeof(*dst) * (size_t)inner);\n",
              (long long)step);
    if (sym)
        cg_printf(
            c, "        if (++kk == olen) {\n            kk = 0;\n            o++;\n        }\n");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    k->items = cg_strf(c, "%s * %s", cg_prod(c, xs, 0, ax), cg_dim(c, os->d[ax]));
    k->work = cg_dim(c, ne);
    k->ep_done = false;
}

/* pad: one item per output row (every dim but the last). The row's outer coordinates map
 * to a source row once (reflect / replicate fold them into the input; under constant a
 * coordinate outside makes the whole row the fill value); along the last dim the interior
 * is one memcpy and only the borders are mapped, so no element pays a division. The shape
 * function keeps pads >= 0 and reflect's pads < the dim (checked at run time through a
 * derived dim for a symbolic one), so one reflection suffices. */
void cg_emit_pad(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    const Attr *pads = ir_node_attr_id(n, IR_A_pads);
    int64_t mode = ir_attr_mode(n);
    int r = xs->rank;
    if (r < 1) {
        cg_error(c, n, "padding a scalar");
        return;
    }
    int64_t lo[IR_MAX_RANK] = {0};
    for (int i = 0; i < pads->n_ints / 2; i++)
        lo[r - 1 - i] = pads->ints[2 * i];
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    declare_dst(c, n);
    DType t = c->g->values[n->outputs[0]].type.dtype;
    cg_printf(c, "    const %s fill = %s;\n", ctype_of(c, n->outputs[0]),
              store_expr(c, t, IR_F32, cg_float(c, ir_attr_value(n))));
    cg_printf(c, "    const int64_t od[%d] = {", r);
    for (int i = 0; i < r; i++)
        cg_printf(c, "%s%s", i ? ", " : "", cg_dim(c, os->d[i]));
    cg_printf(c, "};\n    const int64_t xd[%d] = {", r);
    for (int i = 0; i < r; i++)
        cg_printf(c, "%s%s", i ? ", " : "", cg_dim(c, xs->d[i]));
    cg_printf(c, "};\n    const int64_t lo[%d] = {", r);
    for (int i = 0; i < r; i++)
        cg_printf(c, "%s%lld", i ? ", " : "", (long long)lo[i]);
    cg_printf(c, "};\n    (void)fill;\n    (void)od;\n    (void)xd;\n    (void)lo;\n");
    /* [jb, je): the output columns copied from the input row */
    cg_printf(c, "    const int64_t W = od[%d], XW = xd[%d], L = lo[%d];\n", r - 1, r - 1, r - 1);
    cg_printf(c, "    const int64_t jb = L < W ? L : W;\n");
    cg_printf(c, "    const int64_t je = L + XW < W ? L + XW : W;\n");
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* one output row */\n");
    cg_printf(c, "        %s *restrict drow = dst + it * W;\n", ctype_of(c, n->outputs[0]));
    cg_printf(c, "        int64_t q = it, src = 0, mul = XW;\n        int inside = XW > 0;\n");
    if (r > 1) {
        cg_printf(c, "        for (int dd = %d; dd >= 0; dd--) {\n", r - 2);
        cg_printf(c, "            int64_t s = q %% od[dd] - lo[dd];\n            q /= od[dd];\n");
        if (mode == 1)
            cg_printf(c, "            s = s < 0 ? -s : s >= xd[dd] ? 2 * (xd[dd] - 1) - s : s;\n");
        else if (mode == 2)
            cg_printf(c, "            s = s < 0 ? 0 : s >= xd[dd] ? xd[dd] - 1 : s;\n");
        else
            cg_printf(c, "            inside &= s >= 0 && s < xd[dd];\n");
        cg_printf(c, "            src += s * mul;\n            mul *= xd[dd];\n        }\n");
    } else {
        cg_printf(c, "        (void)q;\n        (void)mul;\n");
    }
    cg_printf(c, "        if (!inside) {\n");
    if (mode == 0)
        cg_printf(c,
                  "            for (int64_t j = 0; j < W; j++)\n                drow[j] = fill;\n");
    else /* replicate of an empty row: only an empty output reaches here */
        cg_printf(c, "            (void)drow;\n");
    cg_printf(c, "            continue;\n        }\n");
    cg_printf(c, "        const %s *xrow = x + src;\n", ctype_of(c, n->inputs[0]));
    const char *left = mode == 1 ? "xrow[L - j]" : mode == 2 ? "xrow[0]" : "fill";
    const char *right = mode == 1   ? "xrow[2 * (XW - 1) - (j - L)]"
                        : mode == 2 ? "xrow[XW - 1]"
                                    : "fill";
    cg_printf(c, "        for (int64_t j = 0; j < jb; j++)\n            drow[j] = %s;\n", left);
    cg_printf(c,
              "        memcpy(drow + jb, xrow + (jb - L), sizeof(*drow) * (size_t)(je - jb));\n");
    cg_printf(c, "        for (int64_t j = je; j < W; j++)\n            drow[j] = %s;\n", right);
    cg_printf(c, "    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    k->items = cg_prod(c, os, 0, r - 1);
    k->work = cg_dim(c, ne);
    k->ep_done = false;
}

/* concat: one item per outer index, copying each input's contiguous block in turn. */
void cg_emit_concat(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *os = cg_shape(c, n->outputs[0]);
    int ax = axis_of(n, os->rank);
    const char *names[8];
    for (int i = 0; i < n->n_inputs && i < 8; i++)
        names[i] = cg_strf(c, "x%d", i);
    cg_body_begin(c, id, names, n->n_inputs);
    declare_dst(c, n);
    cg_printf(c, "    const int64_t orow = %s;\n", cg_prod(c, os, ax, os->rank));
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n        int64_t at = 0;\n");
    for (int i = 0; i < n->n_inputs; i++) {
        const Shape *is = cg_shape(c, n->inputs[i]);
        const char *row = cg_prod(c, is, ax, is->rank);
        cg_printf(
            c, "        memcpy(dst + it * orow + at, x%d + it * %s, sizeof(*dst) * (size_t)%s);\n",
            i, row, row);
        cg_printf(c, "        at += %s;\n", row);
    }
    cg_printf(c, "        (void)at;\n    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    k->items = cg_prod(c, os, 0, ax);
    k->work = cg_dim(c, ne);
    k->ep_done = false;
}

/* index_select: one item per (outer, k); a negative index counts from the end (ONNX's
 * Gather); one out of [-len, len) writes zeros and sets the error flag (P_run then fails). */
void cg_emit_index_select(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *is = cg_shape(c, n->inputs[1]);
    int ax = axis_of(n, xs->rank);
    static const char *const names[] = {"x", "idx"};
    cg_body_begin(c, id, names, 2);
    declare_dst(c, n);
    const char *K = cg_prod(c, is, 0, is->rank);
    cg_printf(c, "    const int64_t inner = %s, len = %s, K = %s;\n",
              cg_prod(c, xs, ax + 1, xs->rank), cg_dim(c, xs->d[ax]), K);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* (outer, k) */\n");
    cg_printf(c, "        const int64_t o = it / K, r0 = (int64_t)idx[it %% K];\n");
    cg_printf(c, "        const int64_t r = r0 < 0 ? r0 + len : r0;\n");
    cg_printf(c, "        if (r < 0 || r >= len) {\n");
    cg_printf(c, "            __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n");
    cg_printf(c, "            memset(dst + it * inner, 0, sizeof(*dst) * (size_t)inner);\n");
    cg_printf(c, "            continue;\n        }\n");
    cg_printf(c, "        memcpy(dst + it * inner, x + (o * len + r) * inner, sizeof(*dst) * "
                 "(size_t)inner);\n");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->outputs[0]), &ne))
        return;
    k->items = cg_strf(c, "%s * %s", cg_prod(c, xs, 0, ax), K);
    k->work = cg_dim(c, ne);
    k->ep_done = false;
}
