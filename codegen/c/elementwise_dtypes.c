/* The elementwise ops and reductions in dtypes other than f32 (ir/dtype_ops.h), with the
 * reference's semantics (ir/eval_dtypes.c), expression for expression: floats (f64, f16,
 * bf16) compute in double, integers in uint64_t (signed ones sign-extended, so that
 * wrapping is defined), and the result is converted to the output's dtype on the store.
 * The loops are plain (one output row per parallel item); the fast f32 kernels are in
 * elementwise.c and reduce.c. */
#include "codegen/c/cg_internal.h"
#include "codegen/c/typed_expr.h"
#include "ir/dtype_ops.h"

#include <math.h>
#include <string.h>

/* Integer helpers, written once per generated file before the first body that needs them. */
static const char int_helpers[] =
    "#ifndef SLIMC_CG_INT_HELPERS\n"
    "#define SLIMC_CG_INT_HELPERS\n"
    "/* integer ops in 64 bits (slimc's ir/eval_dtypes.c): division truncates, x / 0 is 0 */\n"
    "static SLIMC_RT_UNUSED inline uint64_t slimc_cg_idiv(uint64_t a, uint64_t b, int sgn)\n"
    "{\n"
    "    if (b == 0)\n        return 0;\n"
    "    if (!sgn)\n        return a / b;\n"
    "    if ((int64_t)b == -1)\n        return 0 - a;\n"
    "    return (uint64_t)((int64_t)a / (int64_t)b);\n"
    "}\n"
    "static SLIMC_RT_UNUSED inline uint64_t slimc_cg_ipow(uint64_t a, uint64_t e, int sgn)\n"
    "{\n"
    "    if (sgn && (int64_t)e < 0)\n"
    "        return (int64_t)a == 1 ? 1 : (int64_t)a == -1 ? ((e & 1u) ? a : 1) : 0;\n"
    "    uint64_t r = 1;\n"
    "    while (e) {\n        if (e & 1u)\n            r *= a;\n        a *= a;\n"
    "        e >>= 1;\n    }\n"
    "    return r;\n"
    "}\n"
    "static SLIMC_RT_UNUSED inline uint64_t slimc_cg_ishift(uint64_t a, uint64_t b, int bits, "
    "int sgn, int right)\n"
    "{\n"
    "    if ((sgn && (int64_t)b < 0) || b >= (uint64_t)bits)\n        return 0;\n"
    "    if (!right)\n        return a << b;\n"
    "    return sgn ? (uint64_t)((int64_t)a >> b) : a >> b;\n"
    "}\n"
    "#endif\n\n";

/* How values of dtype t are read (as double or uint64_t) and written back. */
static const char *load_expr(CgCtx *c, DType t, const char *x)
{
    switch (t) {
    case IR_F16: return cg_strf(c, "(double)slimc_cg_f16_to_f32(%s)", x);
    case IR_BF16: return cg_strf(c, "(double)slimc_cg_bf16_to_f32(%s)", x);
    case IR_F64:
    case IR_F32: return cg_strf(c, "(double)%s", x);
    default: return cg_strf(c, "(uint64_t)%s", x);
    }
}

static const char *store_expr(CgCtx *c, DType t, const char *v)
{
    switch (t) {
    case IR_F16: return cg_strf(c, "slimc_cg_f32_to_f16((float)(%s))", v);
    case IR_BF16: return cg_strf(c, "slimc_cg_f32_to_bf16((float)(%s))", v);
    default: return cg_strf(c, "(%s)(%s)", ir_dtype_ctype(t), v);
    }
}

/* float8, f4e2m1 and packed-integer helpers (slimc's ir/types.c and ir/eval_dtypes.c, expression
 * for expression), written once per generated file. A float8 format is its mantissa bits, its
 * exponent bias, its largest finite value, whether it is fnuz (no -0, NaN 0x80) and
 * whether it is IEEE-like (e5m2: inf and NaNs in the top exponent). */
static const char f8_helpers[] =
    "#ifndef SLIMC_CG_F8_HELPERS\n"
    "#define SLIMC_CG_F8_HELPERS\n"
    "static SLIMC_RT_UNUSED double slimc_cg_f8_value(unsigned b, int mant, int bias, int fnuz, "
    "int ieee)\n"
    "{\n"
    "    const int ebits = 7 - mant, e = (int)(b >> mant) & ((1 << ebits) - 1);\n"
    "    const int m = (int)b & ((1 << mant) - 1);\n"
    "    if (fnuz && b == 0x80u)\n        return NAN;\n"
    "    if (!fnuz && !ieee && (b & 0x7fu) == 0x7fu)\n        return NAN;\n"
    "    if (ieee && e == (1 << ebits) - 1)\n"
    "        return m ? NAN : (b & 0x80u) ? -INFINITY : INFINITY;\n"
    "    const double v = e == 0 ? ldexp(m, 1 - bias - mant) : ldexp(m + (1 << mant), e - bias - "
    "mant);\n"
    "    return (b & 0x80u) ? -v : v;\n"
    "}\n"
    "static SLIMC_RT_UNUSED uint8_t slimc_cg_f8_bits(double v, int mant, int bias, double max, "
    "int fnuz, int ieee, int saturate)\n"
    "{\n"
    "    const unsigned sign = signbit(v) ? 0x80u : 0u;\n"
    "    const uint8_t nan = fnuz ? 0x80 : (uint8_t)(sign | (ieee ? 0x7eu : 0x7fu));\n"
    "    const uint8_t overflow = ieee ? (uint8_t)(sign | 0x7cu) : nan;\n"
    "    if (isnan(v))\n        return nan;\n"
    "    double a = fabs(v);\n"
    "    if (saturate && a > max)\n        a = max;\n"
    "    if (isinf(a))\n        return overflow;\n"
    "    int e;\n"
    "    frexp(a, &e);\n"
    "    const int lead = e - 1 < 1 - bias ? 1 - bias : e - 1;\n"
    "    const double r = a == 0.0 ? 0.0 : nearbyint(ldexp(a, mant - lead));\n"
    "    const double q = ldexp(r, lead - mant);\n"
    "    if (q > max)\n        return overflow;\n"
    "    unsigned code;\n"
    "    if (q < ldexp(1.0, 1 - bias)) {\n"
    "        code = (unsigned)ldexp(q, bias - 1 + mant);\n"
    "    } else {\n"
    "        frexp(q, &e);\n"
    "        code = (unsigned)(e - 1 + bias) << mant | ((unsigned)ldexp(q, mant - (e - 1)) & ((1u "
    "<< mant) - 1u));\n"
    "    }\n"
    "    if (fnuz && code == 0)\n        return 0;\n"
    "    return (uint8_t)(sign | code);\n"
    "}\n"
    "static SLIMC_RT_UNUSED double slimc_cg_f4_value(unsigned b)\n"
    "{\n"
    "    const unsigned e = (b >> 1) & 3u, m = b & 1u;\n"
    "    const double v = e == 0 ? 0.5 * m : ldexp(1.0 + 0.5 * m, (int)e - 1);\n"
    "    return (b & 8u) ? -v : v;\n"
    "}\n"
    "static SLIMC_RT_UNUSED unsigned slimc_cg_f4_bits(double v)\n"
    "{\n"
    "    if (isnan(v))\n        return 8u;\n"
    "    const unsigned sign = signbit(v) ? 8u : 0u;\n"
    "    const double a = fabs(v) > 6.0 ? 6.0 : fabs(v);\n"
    "    int e;\n"
    "    frexp(a, &e);\n"
    "    const int lead = e - 1 < 0 ? 0 : e - 1;\n"
    "    const double q = ldexp(nearbyint(ldexp(a, 1 - lead)), lead - 1);\n"
    "    if (q < 1.0)\n        return sign | (unsigned)(2.0 * q);\n"
    "    frexp(q, &e);\n"
    "    return sign | (unsigned)e << 1 | ((unsigned)ldexp(q, 2 - e) & 1u);\n"
    "}\n"
    "static SLIMC_RT_UNUSED double slimc_cg_e8m0_value(unsigned b)\n"
    "{\n    return b == 0xffu ? NAN : ldexp(1.0, (int)b - 127);\n}\n"
    "static SLIMC_RT_UNUSED uint8_t slimc_cg_e8m0_bits(double v, int round_mode, int saturate)\n"
    "{\n"
    "    const float f = (float)v;\n"
    "    uint32_t x;\n"
    "    memcpy(&x, &f, 4);\n"
    "    const unsigned e = (x >> 23) & 0xffu;\n"
    "    unsigned up = 0;\n"
    "    if (e == 0xffu)\n        return 0xff;\n"
    "    if (round_mode == 2)\n"
    "        up = (x & 0x400000u) && ((x & 0x200000u) || (x & 0x1fffffu) || e > 0);\n"
    "    else if (round_mode == 0)\n"
    "        up = (x & 0x4fffffu) != 0;\n"
    "    if (saturate && e == 0xfeu)\n        up = 0;\n"
    "    return (uint8_t)(e + up);\n"
    "}\n"
    "static SLIMC_RT_UNUSED inline int64_t slimc_cg_f2i(double v)\n"
    "{\n    return v == v && fabs(v) < 9.2e18 ? (int64_t)v : 0;\n}\n"
    "#endif\n\n";

static const CgDialect c_dialect = {"slimc_cg_", "INFINITY", "NAN",      "UINT64_C(",
                                    ")",         load_expr,  store_expr, "(int64_t)"};

/* cast from or to float8, f4e2m1 and the packed integers (as ir/eval_dtypes.c): one item
 * per output element, or per output byte when the output packs several a byte. */
static void emit_cast_narrow(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    DType to = c->g->values[n->outputs[0]].type.dtype;
    int tb = ir_dtype_bits(to);
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->outputs[0]), &ne))
        return;
    const char *total = cg_dim(c, ne);
    cg_puts(c, f8_helpers, sizeof f8_helpers - 1);
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    cg_printf(c, "    uint8_t *restrict dst = (uint8_t *)a->out;\n    (void)out;\n");
    if (tb >= 8 && strcmp(ir_dtype_ctype(to), "uint8_t"))
        cg_printf(c, "    %s *restrict dsto = (%s *)a->out;\n", ir_dtype_ctype(to),
                  ir_dtype_ctype(to));
    else
        cg_printf(c, "    uint8_t *restrict dsto = dst;\n");
    cg_printf(c, "    (void)dsto;\n");
    if (tb < 8)
        cg_printf(c,
                  "    for (int64_t it = i0; it < i1; it++) { /* one output byte */\n"
                  "        dst[it] = 0;\n"
                  "        for (int64_t f = %d * it; f < %d * it + %d && f < %s; f++) {\n",
                  8 / tb, 8 / tb, 8 / tb, total);
    else
        cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n        {\n"
                     "            const int64_t f = it;\n");
    cg_cast_element(c, n, &c_dialect);
    cg_printf(c, "        }\n    }\n");
    cg_body_end(c);
    k->items = tb < 8 ? cg_strf(c, "((%s + %d) / %d)", total, 8 / tb - 1, 8 / tb) : total;
    k->work = total;
    k->ep_done = false;
}

/* Strides of operand shape in over out's dims (numpy broadcasting: 0 where broadcast). */
static void bcast_strides(CgCtx *c, const Shape *out, const Shape *in, const char **st)
{
    for (int i = 0; i < out->rank; i++) {
        int j = i - (out->rank - in->rank);
        bool present = j >= 0 && !(in->d[j].syms == 0 && in->d[j].c == 1);
        st[i] = present ? cg_prod(c, in, j + 1, in->rank) : "0";
    }
}

static void emit_elementwise(CgCtx *c, NodeId id, CgKernel *k)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    DType t = g->values[n->inputs[0]].type.dtype;
    bool fl = ir_dtype_is_float(t), binary = ir_ops[n->op].flags & IR_F_BINARY;
    const char *expr =
        fl ? cg_typed_float_expr(c, n, &c_dialect) : cg_typed_int_expr(c, n, t, &c_dialect);
    const char *ct = fl ? "double" : "uint64_t", *ot = ir_dtype_ctype(t);
    const Shape *os = cg_shape(c, n->outputs[0]);
    int r = os->rank > 0 ? os->rank : 1, n_ops = binary ? 2 : 1;
    const char *st[2][IR_MAX_RANK];
    for (int q = 0; q < n_ops; q++)
        bcast_strides(c, os, cg_shape(c, n->inputs[q]), st[q]);
    if (!fl)
        cg_puts(c, int_helpers, sizeof int_helpers - 1);
    static const char *const names[] = {"x0", "x1"};
    cg_body_begin(c, id, names, n_ops);
    cg_printf(c, "    %s *restrict dst = (%s *)a->out; /* computed in %s */\n    (void)out;\n", ot,
              ot, ct);
    cg_printf(c, "    const int64_t od[%d] = {", r);
    for (int i = 0; i < r; i++)
        cg_printf(c, "%s%s", i ? ", " : "", os->rank ? cg_dim(c, os->d[i]) : "1");
    cg_printf(c, "};\n");
    for (int q = 0; q < n_ops; q++) {
        cg_printf(c, "    const int64_t s%d[%d] = {", q, r);
        for (int i = 0; i < r; i++)
            cg_printf(c, "%s%s", i ? ", " : "", os->rank ? st[q][i] : "0");
        cg_printf(c, "};\n");
    }
    cg_printf(c, "    const int64_t L = od[%d];\n", r - 1);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* one output row */\n");
    cg_printf(c, "        int64_t q = it, p0 = 0, p1 = 0;\n        (void)p1;\n");
    cg_printf(c, "        for (int dd = %d; dd >= 0; dd--) {\n", r - 2);
    cg_printf(c, "            const int64_t cd = q %% od[dd];\n            q /= od[dd];\n");
    for (int q = 0; q < n_ops; q++)
        cg_printf(c, "            p%d += cd * s%d[dd];\n", q, q);
    cg_printf(c, "        }\n");
    cg_printf(c, "        for (int64_t j = 0; j < L; j++) {\n");
    cg_printf(c, "            const %s va = %s;\n", ct,
              load_expr(c, t, cg_strf(c, "x0[p0 + j * s0[%d]]", r - 1)));
    if (binary)
        cg_printf(c, "            const %s vb = %s;\n", ct,
                  load_expr(c, t, cg_strf(c, "x1[p1 + j * s1[%d]]", r - 1)));
    cg_printf(c, "            dst[it * L + j] = %s;\n", store_expr(c, t, expr));
    cg_printf(c, "        }\n    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    k->items = os->rank ? cg_prod(c, os, 0, os->rank - 1) : "1";
    k->work = cg_dim(c, ne);
    k->ep_done = false;
}

/* Reductions: one output element per item, its inputs in increasing order (as the
 * reference); floats accumulate in double, integers in uint64_t. */
static void emit_reduce(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    DType t = c->g->values[n->inputs[0]].type.dtype;
    bool fl = ir_dtype_is_float(t), sgn = !ir_dtype_is_unsigned(t);
    const Shape *xs = cg_shape(c, n->inputs[0]);
    const Attr *at = ir_node_attr_id(n, IR_A_axes);
    unsigned mask = 0;
    if (!at || at->n_ints == 0)
        mask = (1u << xs->rank) - 1;
    for (int i = 0; at && i < at->n_ints; i++)
        mask |= 1u << (at->ints[i] < 0 ? at->ints[i] + xs->rank : at->ints[i]);
    Shape kept = {0, {{0}}}, red = {0, {{0}}};
    const char *ks[IR_MAX_RANK], *rs[IR_MAX_RANK];
    for (int i = 0; i < xs->rank; i++) {
        const char *stride = cg_prod(c, xs, i + 1, xs->rank);
        if (mask & (1u << i)) {
            rs[red.rank] = stride;
            red.d[red.rank++] = xs->d[i];
        } else {
            ks[kept.rank] = stride;
            kept.d[kept.rank++] = xs->d[i];
        }
    }
    static const char *const names[] = {"x"};
    const char *ot = ir_dtype_ctype(t);
    cg_body_begin(c, id, names, 1);
    cg_printf(c, "    %s *restrict dst = (%s *)a->out;\n    (void)out;\n", ot, ot);
    const Shape *arrs[2] = {&kept, &red};
    const char *const *strides[2] = {ks, rs};
    const char *nm[2][2] = {{"kd", "ks"}, {"rd", "rs"}};
    for (int q = 0; q < 2; q++) {
        int m = arrs[q]->rank;
        cg_printf(c, "    const int64_t %s[%d] = {", nm[q][0], m ? m : 1);
        for (int i = 0; i < m; i++)
            cg_printf(c, "%s%s", i ? ", " : "", cg_dim(c, arrs[q]->d[i]));
        cg_printf(c, "%s};\n    (void)%s;\n", m ? "" : "0", nm[q][0]);
        cg_printf(c, "    const int64_t %s[%d] = {", nm[q][1], m ? m : 1);
        for (int i = 0; i < m; i++)
            cg_printf(c, "%s%s", i ? ", " : "", strides[q][i]);
        cg_printf(c, "%s};\n    (void)%s;\n", m ? "" : "0", nm[q][1]);
    }
    cg_printf(c, "    const int64_t count = %s;\n", cg_prod(c, &red, 0, red.rank));
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* one output element */\n");
    cg_printf(c, "        int64_t q = it, base = 0;\n");
    cg_printf(c, "        for (int dd = %d; dd >= 0; dd--) {\n", kept.rank - 1);
    cg_printf(c, "            base += (q %% kd[dd]) * ks[dd];\n            q /= kd[dd];\n");
    cg_printf(c, "        }\n");
    OpKind op = n->op;
    if (fl)
        cg_printf(c, "        double acc = %s;\n",
                  op == IR_OP_REDUCE_MAX   ? "-INFINITY"
                  : op == IR_OP_REDUCE_MIN ? "INFINITY"
                                           : "0.0");
    else
        cg_printf(c, "        uint64_t acc = %s;\n",
                  op == IR_OP_REDUCE_MAX
                      ? cg_strf(c, "UINT64_C(%llu)", (unsigned long long)ir_dtype_int_min(t))
                  : op == IR_OP_REDUCE_MIN
                      ? cg_strf(c, "UINT64_C(%llu)", (unsigned long long)ir_dtype_uint_max(t))
                      : "0");
    cg_printf(c, "        for (int64_t r = 0; r < count; r++) {\n");
    cg_printf(c, "            int64_t rq = r, off = base;\n");
    cg_printf(c, "            for (int dd = %d; dd >= 0; dd--) {\n", red.rank - 1);
    cg_printf(c,
              "                off += (rq %% rd[dd]) * rs[dd];\n                rq /= rd[dd];\n");
    cg_printf(c, "            }\n");
    cg_printf(c, "            const %s v = %s;\n", fl ? "double" : "uint64_t",
              load_expr(c, t, "x[off]"));
    const char *cast = sgn && !fl ? "(int64_t)" : "";
    if (op == IR_OP_REDUCE_SUM || op == IR_OP_REDUCE_MEAN)
        cg_printf(c, "            acc += v;\n");
    else if (fl)
        cg_printf(c,
                  "            if ((v %s acc || v != v) && acc == acc) /* NaN wins */\n"
                  "                acc = v;\n",
                  op == IR_OP_REDUCE_MAX ? ">" : "<");
    else
        cg_printf(c, "            if (%s)\n                acc = v;\n",
                  op == IR_OP_REDUCE_MAX ? cg_strf(c, "%sacc < %sv", cast, cast)
                                         : cg_strf(c, "%sv < %sacc", cast, cast));
    cg_printf(c, "        }\n");
    cg_printf(c, "        dst[it] = %s;\n",
              store_expr(c, t, op == IR_OP_REDUCE_MEAN ? "acc / (double)count" : "acc"));
    cg_printf(c, "    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    k->items = cg_prod(c, &kept, 0, kept.rank);
    k->work = cg_dim(c, ne);
    k->ep_done = false;
}

void cg_emit_elementwise_typed(CgCtx *c, NodeId id, CgKernel *k)
{
    const OpKind op = c->g->nodes[id].op;
    if (op == IR_OP_REDUCE_SUM || op == IR_OP_REDUCE_MEAN || op == IR_OP_REDUCE_MAX ||
        op == IR_OP_REDUCE_MIN)
        emit_reduce(c, id, k);
    else if (op == IR_OP_CAST)
        emit_cast_narrow(c, id, k);
    else /* the elementwise ops of other dtypes (emit_elementwise reports one it lacks) */
        emit_elementwise(c, id, k);
}
