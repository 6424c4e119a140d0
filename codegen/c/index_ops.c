/* The index ops' kernels: argmax, argmin, gather_elements, scatter_elements, cumsum,
 * grid_sample, topk, gather_nd, scatter_nd and roi_align (semantics in ir/ops.def,
 * reference in ir/eval_index.c), and the check of the plain dtypes they, reduce_prod
 * (reduce.c), mod (elementwise_mod.c), pool_nd (pool.c) and resize_axis (resize.c) take. They work
 * on the dtypes their shape functions accept, in the element's own C type: integer sums
 * and products wrap (computed in uint64_t, then truncated), f32 in float, f64 in double.
 * An index out of range writes 0 and sets the error flag (P_run then fails). */
#include "codegen/c/cg_internal.h"
#include "ir/index_ops.h"
#include "ir/resize_taps.h"

#include <string.h>

bool cg_index_supported(CgCtx *c, const Node *n)
{
    for (int i = 0; i < n->n_inputs; i++) {
        const Type *t = &c->g->values[n->inputs[i]].type;
        if (!ir_index_dtype_plain(t->dtype) || t->quant) {
            cg_error(c, n,
                     "input %d is packed, 8-bit float or quantized; this kernel takes plain dtypes",
                     i);
            return false;
        }
    }
    if (n->n_epilogue) {
        cg_error(c, n, "this op cannot carry an epilogue");
        return false;
    }
    return true;
}

static int axis_of(const Node *n, int rank)
{
    int64_t a = ir_attr_axis(n);
    return (int)(a < 0 ? a + rank : a);
}

/* argmax/argmin: one item per (outer, inner) position; the scan along the axis keeps the
 * first (select_last: last) extreme and skips NaN. */
void cg_emit_argreduce(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    int ax = axis_of(n, xs->rank);
    DType t = cg_dtype_of(c, n->inputs[0]);
    const char *ct = ir_dtype_ctype(t);
    bool last = ir_attr_select_last(n) != 0, is_max = n->op == IR_OP_ARGMAX;
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    cg_declare_dst(c, n);
    const char *inner = cg_prod(c, xs, ax + 1, xs->rank);
    cg_printf(c, "    const int64_t len = %s, inner = %s;\n", cg_dim(c, xs->d[ax]), inner);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* (outer, inner) */\n");
    cg_printf(c, "        const %s *xr = x + (it / inner) * len * inner + it %% inner;\n", ct);
    cg_printf(c, "        int64_t best = 0;\n        %s bv = 0;\n        int have = 0;\n", ct);
    cg_printf(c, "        for (int64_t r = 0; r < len; r++) {\n");
    cg_printf(c, "            const %s v = xr[r * inner];\n", ct);
    if (cg_dtype_is_float(t))
        cg_printf(c,
                  "            if (v != v)\n                continue; /* NaN: never picked */\n");
    cg_printf(c, "            if (!have || v %s bv) {\n",
              is_max ? (last ? ">=" : ">") : (last ? "<=" : "<"));
    cg_printf(c, "                best = r;\n                bv = v;\n                have = 1;\n");
    cg_printf(c, "            }\n        }\n        dst[it] = best;\n    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "%s * %s", cg_prod(c, xs, 0, ax), inner);
    k->work = cg_prod(c, xs, 0, xs->rank);
}

/* Prints the statements that read the index at flat position EXPR of idx into r, made
 * non-negative, and on a bad one set the error flag and run `bad` (a statement). */
static void read_index(CgCtx *c, int indent, const char *expr, const char *bad)
{
    cg_printf(c, "%*sint64_t r = (int64_t)idx[%s];\n", indent, "", expr);
    cg_printf(c, "%*sif (r < 0)\n%*s    r += len;\n", indent, "", indent, "");
    cg_printf(c, "%*sif (r < 0 || r >= len) {\n", indent, "");
    cg_printf(c, "%*s    __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n", indent, "");
    cg_printf(c, "%*s    %s\n%*s}\n", indent, "", bad, indent, "");
}

/* gather_elements: one item per output element (the index tensor's shape). */
void cg_emit_gather_elements(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *is = cg_shape(c, n->inputs[1]);
    int ax = axis_of(n, xs->rank), r = xs->rank;
    static const char *const names[] = {"x", "idx"};
    cg_body_begin(c, id, names, 2);
    cg_declare_dst(c, n);
    cg_dims_array(c, "id", is);
    cg_strides_array(c, "xst", xs);
    cg_printf(c, "    const int64_t len = %s;\n", cg_dim(c, xs->d[ax]));
    cg_printf(c, "    for (int64_t p = i0; p < i1; p++) {\n");
    cg_printf(c, "        int64_t q = p, off = 0;\n");
    cg_printf(c, "        for (int d = %d; d >= 0; d--) {\n", r - 1);
    cg_printf(c, "            if (d != %d)\n                off += (q %% id[d]) * xst[d];\n", ax);
    cg_printf(c, "            q /= id[d];\n        }\n");
    read_index(c, 8, "p", "dst[p] = 0;\n            continue;");
    cg_printf(c, "        dst[p] = x[off + r * xst[%d]];\n    }\n", ax);
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, is, &ne))
        return;
    k->items = cg_dim(c, ne);
    k->work = k->items;
}

/* The statement applying scatter's reduction red to `*d` and `u` in element type t. */
static const char *scatter_stmt(CgCtx *c, DType t, int64_t red)
{
    const char *ct = ir_dtype_ctype(t);
    bool fl = cg_dtype_is_float(t);
    switch (red) {
    case 1: return fl ? "*d = *d + u;" : cg_strf(c, "*d = (%s)((uint64_t)*d + (uint64_t)u);", ct);
    case 2: return fl ? "*d = *d * u;" : cg_strf(c, "*d = (%s)((uint64_t)*d * (uint64_t)u);", ct);
    case 3: return "if (u > *d)\n                *d = u;";
    case 4: return "if (u < *d)\n                *d = u;";
    default: return "*d = u;";
    }
}

/* scatter_elements: one item per line of the data along the axis: the line is copied,
 * then the updates whose line it is are applied in order (the last duplicate wins), so
 * items never share an output element. */
void cg_emit_scatter_elements(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *is = cg_shape(c, n->inputs[1]);
    int ax = axis_of(n, xs->rank), r = xs->rank;
    DType t = cg_dtype_of(c, n->inputs[0]);
    static const char *const names[] = {"x", "idx", "upd"};
    cg_body_begin(c, id, names, 3);
    cg_declare_dst(c, n);
    cg_dims_array(c, "xd", xs);
    cg_dims_array(c, "id", is);
    cg_strides_array(c, "xst", xs);
    cg_strides_array(c, "ist", is);
    cg_printf(c, "    const int64_t len = xd[%d], ilen = id[%d];\n", ax, ax);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* a line along axis %d */\n", ax);
    cg_printf(c, "        int64_t q = it, xo = 0, io = 0;\n        int inside = 1;\n");
    cg_printf(c, "        for (int d = %d; d >= 0; d--) {\n", r - 1);
    cg_printf(c, "            if (d == %d)\n                continue;\n", ax);
    cg_printf(c, "            const int64_t cc = q %% xd[d];\n            q /= xd[d];\n");
    cg_printf(c, "            xo += cc * xst[d];\n            io += cc * ist[d];\n");
    cg_printf(c, "            inside &= cc < id[d];\n        }\n");
    cg_printf(c, "        for (int64_t j = 0; j < len; j++)\n");
    cg_printf(c, "            dst[xo + j * xst[%d]] = x[xo + j * xst[%d]];\n", ax, ax);
    cg_printf(c, "        if (!inside)\n            continue;\n");
    cg_printf(c, "        for (int64_t j = 0; j < ilen; j++) {\n");
    read_index(c, 12, cg_strf(c, "io + j * ist[%d]", ax), "continue;");
    cg_printf(c, "            %s *d = &dst[xo + r * xst[%d]];\n", ir_dtype_ctype(t), ax);
    cg_printf(c, "            const %s u = upd[io + j * ist[%d]];\n", ir_dtype_ctype(t), ax);
    cg_printf(c, "            %s\n        }\n    }\n", scatter_stmt(c, t, ir_attr_reduction(n)));
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    k->items = cg_strf(c, "%s * %s", cg_prod(c, xs, 0, ax), cg_prod(c, xs, ax + 1, r));
    k->work = cg_dim(c, ne);
}

/* cumsum: one item per (outer, inner) line, summed along the axis in order. */
void cg_emit_cumsum(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    int ax = axis_of(n, xs->rank);
    DType t = cg_dtype_of(c, n->inputs[0]);
    const char *ct = ir_dtype_ctype(t);
    const char *acc = t == IR_F32 ? "float" : t == IR_F64 ? "double" : "uint64_t";
    bool excl = ir_attr_exclusive(n) != 0, rev = ir_attr_reverse(n) != 0;
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    cg_declare_dst(c, n);
    const char *inner = cg_prod(c, xs, ax + 1, xs->rank);
    cg_printf(c, "    const int64_t len = %s, inner = %s;\n", cg_dim(c, xs->d[ax]), inner);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* (outer, inner) */\n");
    cg_printf(c, "        const int64_t base = (it / inner) * len * inner + it %% inner;\n");
    cg_printf(c, "        %s acc = 0;\n", acc);
    cg_printf(c, "        for (int64_t s = 0; s < len; s++) {\n");
    cg_printf(c, "            const int64_t p = base + (%s) * inner;\n", rev ? "len - 1 - s" : "s");
    cg_printf(c, "            const %s v = (%s)x[p];\n", acc, acc);
    cg_printf(c, "            dst[p] = (%s)(%s);\n", ct, excl ? "acc" : "acc + v");
    cg_printf(c, "            acc += v;\n        }\n    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "%s * %s", cg_prod(c, xs, 0, ax), inner);
    k->work = cg_prod(c, xs, 0, xs->rank);
}

/* grid_sample's per-dim taps, the same code as ir/eval_index.c's gs_*: @F is the node's
 * function name, @P its padding, @A align_corners, @M its mode. */
static const char grid_sample_helpers[] =
    "/* @F: x reflected into [lo, hi] by its nearer border, as often as it takes */\n"
    "static float @F_reflect(float x, float lo, float hi)\n"
    "{\n"
    "    float rng = hi - lo;\n"
    "    if (!(rng > 0))\n"
    "        return lo;\n"
    "    if (x < lo || x > hi) {\n"
    "        float dx = x < lo ? lo - x : x - hi, q = floorf(dx / rng), r = dx - q * rng;\n"
    "        int even = fmodf(q, 2.0f) == 0;\n"
    "        return x < lo ? (even ? lo + r : hi - r) : (even ? hi - r : lo + r);\n"
    "    }\n"
    "    return x;\n"
    "}\n\n"
    "/* @F: the source index of whole position p (-1: a zero under zeros padding) */\n"
    "static int64_t @F_index(float p, int64_t len, float lo, float hi)\n"
    "{\n"
    "    if (@P == 2)\n"
    "        p = @F_reflect(p, lo, hi);\n"
    "    p = truncf(p);\n"
    "    if (@P == 0)\n"
    "        return p >= 0 && p < (float)len ? (int64_t)p : -1;\n"
    "    if (!(p >= 0))\n"
    "        return 0;\n"
    "    return p > (float)(len - 1) ? len - 1 : (int64_t)p;\n"
    "}\n\n"
    "/* @F: the taps along one dim of length len for the normalized coordinate v */\n"
    "static int @F_taps(float v, int64_t len, int64_t *idx, float *w)\n"
    "{\n"
    "    const float fl = (float)len;\n"
    "    float x = @A ? (v + 1.0f) / 2.0f * (fl - 1.0f) : ((v + 1.0f) * fl - 1.0f) / 2.0f;\n"
    "    const float lo = @A ? 0.0f : -0.5f, hi = @A ? fl - 1.0f : fl - 0.5f;\n"
    "    if (@M == 0)\n"
    "        x = rintf(x);\n"
    "    if (x < lo || x > hi) {\n"
    "        if (@P == 1)\n"
    "            x = x < 0 ? 0.0f : x > fl - 1.0f ? fl - 1.0f : x;\n"
    "        else if (@P == 2)\n"
    "            x = @F_reflect(x, lo, hi);\n"
    "    }\n"
    "    if (@M == 0) {\n"
    "        idx[0] = @F_index(x, len, lo, hi);\n"
    "        w[0] = 1.0f;\n"
    "        return 1;\n"
    "    }\n"
    "    const float x0 = floorf(x), t = x - x0;\n"
    "    if (@M == 1) {\n"
    "        w[0] = 1.0f - t;\n"
    "        w[1] = t;\n"
    "    } else {\n"
    "        const float a = -0.75f, t1 = t + 1.0f, u = 1.0f - t, u1 = 2.0f - t;\n"
    "        w[0] = ((a * t1 - 5.0f * a) * t1 + 8.0f * a) * t1 - 4.0f * a;\n"
    "        w[1] = ((a + 2.0f) * t - (a + 3.0f)) * t * t + 1.0f;\n"
    "        w[2] = ((a + 2.0f) * u - (a + 3.0f)) * u * u + 1.0f;\n"
    "        w[3] = ((a * u1 - 5.0f * a) * u1 + 8.0f * a) * u1 - 4.0f * a;\n"
    "    }\n"
    "    const int k = @M == 1 ? 2 : 4;\n"
    "    for (int i = 0; i < k; i++)\n"
    "        idx[i] = @F_index(x0 + (float)(i - (@M == 2)), len, lo, hi);\n"
    "    return k;\n"
    "}\n\n";

/* grid_sample: one item per (batch, output position); its taps along each spatial dim,
 * then for every channel the weighted sum over their product. */
void cg_emit_grid_sample(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *gs = cg_shape(c, n->inputs[1]);
    int s = xs->rank - 2, mode = (int)ir_attr_mode_or(n, 1);
    int pad = (int)ir_attr_padding_mode(n), align = ir_attr_align_corners(n) != 0;
    const char *subst[4][2] = {{"@F", c->fn_names[id]},
                               {"@P", cg_strf(c, "%d", pad)},
                               {"@A", cg_strf(c, "%d", align)},
                               {"@M", cg_strf(c, "%d", mode)}};
    for (const char *q = grid_sample_helpers; *q;) { /* the text with @X replaced */
        int m = -1;
        for (int i = 0; i < 4 && q[0] == '@'; i++)
            if (q[1] == subst[i][0][1])
                m = i;
        if (m >= 0) {
            cg_printf(c, "%s", subst[m][1]);
            q += 2;
        } else {
            size_t run = strcspn(q + 1, "@") + 1;
            cg_puts(c, q, run);
            q += run;
        }
    }
    static const char *const names[] = {"x", "grid"};
    cg_body_begin(c, id, names, 2);
    const char *opos = cg_prod(c, gs, 1, s + 1);
    cg_printf(c, "    const int64_t C = %s, opos = %s, plane = %s;\n", cg_dim(c, xs->d[1]), opos,
              cg_prod(c, xs, 2, xs->rank));
    cg_dims_array(c, "xd", xs);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* (batch, output position) */\n");
    cg_printf(c, "        const int64_t b = it / opos, p = it %% opos;\n");
    cg_printf(c, "        const float *g = grid + it * %d;\n", s);
    cg_printf(c, "        int64_t idx[%d][4];\n        float w[%d][4];\n        int k[%d];\n", s, s,
              s);
    for (int i = 0; i < s; i++)
        cg_printf(c, "        k[%d] = %s_taps(g[%d], xd[%d], idx[%d], w[%d]);\n", s - 1 - i,
                  c->fn_names[id], i, 2 + s - 1 - i, s - 1 - i, s - 1 - i);
    cg_printf(c, "        for (int64_t ci = 0; ci < C; ci++) {\n");
    cg_printf(c, "            const float *xp = x + (b * C + ci) * plane;\n");
    cg_printf(c, "            float sum = 0.0f;\n");
    int in = 12;
    for (int i = 0; i < s; i++) {
        cg_printf(c, "%*sfor (int t%d = 0; t%d < k[%d]; t%d++) {\n", in, "", i, i, i, i);
        in += 4;
        cg_printf(c, "%*sconst int64_t q%d = idx[%d][t%d];\n", in, "", i, i, i);
        cg_printf(c, "%*sif (q%d < 0)\n%*s    continue;\n", in, "", i, in, "");
        if (i == 0)
            cg_printf(c, "%*sconst int64_t off0 = q0;\n%*sconst float w0 = w[0][t0];\n", in, "", in,
                      "");
        else
            cg_printf(c,
                      "%*sconst int64_t off%d = off%d * xd[%d] + q%d;\n%*sconst float w%d = w%d "
                      "* w[%d][t%d];\n",
                      in, "", i, i - 1, 2 + i, i, in, "", i, i - 1, i, i);
    }
    cg_printf(c, "%*ssum += w%d * xp[off%d];\n", in, "", s - 1, s - 1);
    for (int i = s - 1; i >= 0; i--) {
        in -= 4;
        cg_printf(c, "%*s}\n", in, "");
    }
    cg_printf(c, "            out[(b * C + ci) * opos + p] = sum;\n        }\n    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "%s * %s", cg_dim(c, xs->d[0]), opos);
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->outputs[0]), &ne))
        return;
    k->work = cg_strf(c, "%s * %d", cg_dim(c, ne), mode == 2 ? 16 : 4);
}

/* topk: one item per (outer, inner) line; the k best so far kept sorted by insertion
 * (strictly better moves up: ties keep the lower index), as the reference does. */
void cg_emit_topk(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    int ax = axis_of(n, xs->rank);
    long long kk = (long long)ir_attr_k(n);
    if (kk > 65536) {
        cg_error(c, n, "k = %lld is more than this kernel keeps (65536)", kk);
        return;
    }
    const char *ct = ir_dtype_ctype(cg_dtype_of(c, n->inputs[0]));
    const char *better = ir_attr_largest(n) ? ">" : "<";
    bool want_idx = ir_attr_indices(n) != 0;
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    cg_declare_dst(c, n);
    const char *inner = cg_prod(c, xs, ax + 1, xs->rank);
    cg_printf(c, "    const int64_t len = %s, inner = %s, K = %lld;\n", cg_dim(c, xs->d[ax]), inner,
              kk);
    cg_printf(c, "    %s val[%lld];\n    int64_t bi[%lld];\n", ct, kk, kk);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* (outer, inner) */\n");
    cg_printf(c, "        const int64_t o = it / inner, i = it %% inner;\n");
    cg_printf(c, "        const %s *xr = x + o * len * inner + i;\n", ct);
    cg_printf(c, "        int64_t cnt = 0;\n");
    cg_printf(c, "        for (int64_t r = 0; r < len; r++) {\n");
    cg_printf(c, "            const %s v = xr[r * inner];\n", ct);
    cg_printf(c, "            if (cnt == K && !(v %s val[K - 1]))\n                continue;\n",
              better);
    cg_printf(c, "            int64_t j = cnt < K ? cnt : K - 1;\n");
    cg_printf(c, "            while (j > 0 && v %s val[j - 1]) {\n", better);
    cg_printf(c, "                val[j] = val[j - 1];\n                bi[j] = bi[j - 1];\n");
    cg_printf(c, "                j--;\n            }\n");
    cg_printf(c, "            val[j] = v;\n            bi[j] = r;\n            cnt += cnt < K;\n");
    cg_printf(c, "        }\n");
    cg_printf(c, "        for (int64_t j = 0; j < K; j++)\n");
    cg_printf(c, "            dst[(o * K + j) * inner + i] = %s;\n    }\n",
              want_idx ? "bi[j]" : "val[j]");
    cg_body_end(c);
    k->items = cg_strf(c, "%s * %s", cg_prod(c, xs, 0, ax), inner);
    k->work = cg_strf(c, "%s * %lld", cg_prod(c, xs, 0, xs->rank), kk);
}

/* Prints the statements reading ND tuple number TUP (a C expression) of k indices into
 * `off` (in slices of dims [b, b + k) of xs); on a bad index they set the error flag and
 * run bad. */
static void nd_offset_code(CgCtx *c, const Shape *xs, int b, int64_t k, const char *tup,
                           const char *bad)
{
    cg_printf(c, "        int64_t off = 0, okay = 1;\n");
    for (int64_t m = 0; m < k; m++) {
        cg_printf(c, "        {\n            const int64_t len = %s;\n", cg_dim(c, xs->d[b + m]));
        cg_printf(c, "            int64_t r = (int64_t)idx[(%s) * %lld + %lld];\n", tup,
                  (long long)k, (long long)m);
        cg_printf(c, "            if (r < 0)\n                r += len;\n");
        cg_printf(c, "            okay &= r >= 0 && r < len;\n");
        cg_printf(c, "            off = off * len + (r >= 0 && r < len ? r : 0);\n        }\n");
    }
    cg_printf(c, "        if (!okay) {\n");
    cg_printf(c, "            __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n");
    cg_printf(c, "            %s\n        }\n", bad);
}

/* gather_nd: one item per (batch, tuple), a slice copied. */
void cg_emit_gather_nd(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *is = cg_shape(c, n->inputs[1]);
    int b = (int)ir_attr_batch_dims(n);
    int64_t kk = is->d[is->rank - 1].c;
    static const char *const names[] = {"x", "idx"};
    cg_body_begin(c, id, names, 2);
    cg_declare_dst(c, n);
    const char *ntup = cg_prod(c, is, b, is->rank - 1),
               *slice = cg_prod(c, xs, b + (int)kk, xs->rank);
    cg_printf(c, "    const int64_t ntup = %s, slice = %s, blk = %s;\n", ntup, slice,
              cg_prod(c, xs, b, xs->rank));
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* (batch, tuple) */\n");
    nd_offset_code(c, xs, b, kk, "it",
                   "memset(dst + it * slice, 0, sizeof(*dst) * (size_t)slice);\n            "
                   "continue;");
    cg_printf(c,
              "        memcpy(dst + it * slice, x + (it / ntup) * blk + off * slice, sizeof(*dst) "
              "* (size_t)slice);\n    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "%s * %s", cg_prod(c, xs, 0, b), ntup);
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->outputs[0]), &ne))
        return;
    k->work = cg_dim(c, ne);
}

/* scatter_nd: one item: the data copied, then the updates applied in order. */
void cg_emit_scatter_nd(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *is = cg_shape(c, n->inputs[1]);
    int64_t kk = is->d[is->rank - 1].c;
    DType t = cg_dtype_of(c, n->inputs[0]);
    static const char *const names[] = {"x", "idx", "upd"};
    cg_body_begin(c, id, names, 3);
    cg_declare_dst(c, n);
    cg_printf(c, "    const int64_t ntup = %s, slice = %s;\n", cg_prod(c, is, 0, is->rank - 1),
              cg_prod(c, xs, (int)kk, xs->rank));
    cg_printf(c, "    (void)i0;\n    (void)i1;\n");
    cg_printf(c, "    memcpy(dst, x, sizeof(*dst) * (size_t)(%s));\n", cg_prod(c, xs, 0, xs->rank));
    cg_printf(c, "    for (int64_t tp = 0; tp < ntup; tp++) { /* in order */\n");
    nd_offset_code(c, xs, 0, kk, "tp", "continue;");
    cg_printf(c, "        for (int64_t j = 0; j < slice; j++) {\n");
    cg_printf(c, "            %s *d = &dst[off * slice + j];\n", ir_dtype_ctype(t));
    cg_printf(c, "            const %s u = upd[tp * slice + j];\n", ir_dtype_ctype(t));
    cg_printf(c, "            %s\n        }\n    }\n", scatter_stmt(c, t, ir_attr_reduction(n)));
    cg_body_end(c);
    k->items = "1";
    k->work = cg_prod(c, xs, 0, xs->rank);
}

/* roi_align: one item per (roi, channel), the reference's loops in double. */
void cg_emit_roi_align(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    long long oh = (long long)ir_attr_out_h(n), ow = (long long)ir_attr_out_w(n);
    long long ratio = (long long)ir_attr_sampling_ratio(n);
    bool half = ir_attr_half_pixel(n) != 0, is_max = ir_attr_mode(n) != 0;
    static const char *const names[] = {"x", "rois", "bidx"};
    cg_body_begin(c, id, names, 3);
    cg_printf(c, "    const int64_t nb = %s, ch = %s, h = %s, w = %s, oh = %lld, ow = %lld;\n",
              cg_dim(c, xs->d[0]), cg_dim(c, xs->d[1]), cg_dim(c, xs->d[2]), cg_dim(c, xs->d[3]),
              oh, ow);
    cg_printf(c, "    const double scale = %.17g, off = %s;\n", ir_attr_spatial_scale(n),
              half ? "0.5" : "0.0");
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* (roi, channel) */\n");
    cg_printf(c, "        const int64_t r = it / ch, ci = it %% ch, b = (int64_t)bidx[r];\n");
    cg_printf(c, "        float *restrict y0 = out + it * oh * ow;\n");
    cg_printf(c, "        if (b < 0 || b >= nb) {\n");
    cg_printf(c, "            __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n");
    cg_printf(c,
              "            for (int64_t q = 0; q < oh * ow; q++)\n                y0[q] = 0.0f;\n");
    cg_printf(c, "            continue;\n        }\n");
    cg_printf(c, "        const float *xp = x + (b * ch + ci) * h * w;\n");
    cg_printf(c,
              "        const double sw = rois[r * 4] * scale - off, sh = rois[r * 4 + 1] * scale "
              "- off;\n");
    cg_printf(c, "        double rw = rois[r * 4 + 2] * scale - off - sw, rh = rois[r * 4 + 3] * "
                 "scale - off - sh;\n");
    if (!half)
        cg_printf(c, "        rw = rw > 1.0 ? rw : 1.0;\n        rh = rh > 1.0 ? rh : 1.0;\n");
    cg_printf(c, "        const double bh = rh / (double)oh, bw = rw / (double)ow;\n");
    for (int side = 0; side < 2; side++) {
        const char *g = side ? "gw" : "gh", *len = side ? "rw" : "rh", *bins = side ? "ow" : "oh";
        if (ratio > 0)
            cg_printf(c, "        const int64_t %s = %lld;\n", g, ratio);
        else
            cg_printf(
                c,
                "        const double %s_f = ceil(%s / (double)%s);\n"
                "        const int64_t %s = %s_f >= 1 ? (%s_f <= 1024 ? (int64_t)%s_f : 1024) "
                ": 0;\n",
                g, len, bins, g, g, g, g);
    }
    cg_printf(c, "        const double count = gh * gw > 1 ? (double)(gh * gw) : 1.0;\n");
    cg_printf(c, "        (void)count;\n");
    cg_printf(c, "        for (int64_t ph = 0; ph < oh; ph++)\n");
    cg_printf(c, "            for (int64_t pw = 0; pw < ow; pw++) {\n");
    cg_printf(c, "                double acc = 0;\n                int first = 1;\n");
    cg_printf(c, "                (void)first;\n");
    cg_printf(c, "                for (int64_t iy = 0; iy < gh; iy++)\n");
    cg_printf(c, "                    for (int64_t ix = 0; ix < gw; ix++) {\n");
    cg_printf(c, "                        double yy = sh + (double)ph * bh + ((double)iy + 0.5) * "
                 "bh / (double)gh;\n");
    cg_printf(c, "                        double xx = sw + (double)pw * bw + ((double)ix + 0.5) * "
                 "bw / (double)gw;\n");
    cg_printf(c, "                        double t[4] = {0, 0, 0, 0};\n");
    cg_printf(c, "                        if (yy >= -1.0 && yy <= (double)h && xx >= -1.0 && xx <= "
                 "(double)w) {\n");
    cg_printf(c, "                            yy = yy > 0 ? yy : 0;\n");
    cg_printf(c, "                            xx = xx > 0 ? xx : 0;\n");
    cg_printf(c,
              "                            int64_t yl = (int64_t)yy, xl = (int64_t)xx, yh, xh;\n");
    cg_printf(c,
              "                            if (yl >= h - 1) {\n                                yh "
              "= yl = h - 1;\n                                yy = (double)yl;\n"
              "                            } else\n                                yh = yl + "
              "1;\n");
    cg_printf(c,
              "                            if (xl >= w - 1) {\n                                xh "
              "= xl = w - 1;\n                                xx = (double)xl;\n"
              "                            } else\n                                xh = xl + "
              "1;\n");
    cg_printf(c, "                            const double ly = yy - (double)yl, lx = xx - "
                 "(double)xl, hy = 1.0 - ly, hx = 1.0 - lx;\n");
    cg_printf(c, "                            t[0] = hy * hx * xp[yl * w + xl];\n");
    cg_printf(c, "                            t[1] = hy * lx * xp[yl * w + xh];\n");
    cg_printf(c, "                            t[2] = ly * hx * xp[yh * w + xl];\n");
    cg_printf(c, "                            t[3] = ly * lx * xp[yh * w + xh];\n");
    cg_printf(c, "                        }\n");
    if (!is_max)
        cg_printf(c, "                        acc += t[0] + t[1] + t[2] + t[3];\n");
    else {
        cg_printf(c, "                        double v = t[0];\n");
        cg_printf(c, "                        for (int q = 1; q < 4; q++)\n"
                     "                            v = t[q] > v ? t[q] : v;\n");
        cg_printf(c, "                        acc = first || v > acc ? v : acc;\n"
                     "                        first = 0;\n");
    }
    cg_printf(c, "                    }\n");
    cg_printf(c, "                y0[ph * ow + pw] = (float)(%s);\n            }\n    }\n",
              is_max ? "acc" : "acc / count");
    cg_body_end(c);
    k->items = cg_strf(c, "%s * %s", cg_dim(c, os->d[0]), cg_dim(c, os->d[1]));
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    k->work = cg_strf(c, "%s * 16", cg_dim(c, ne));
}
