/* The elementwise ops in dtypes other than f32 on the GPU (ir/dtype_ops.h): f64, f16,
 * bf16 and the integers, the bitwise ops and shifts, and mod in every dtype. Semantics are
 * the reference's (ir/eval_dtypes.c) and the C backend's (codegen/c/elementwise_dtypes.c,
 * elementwise_mod.c), expression for expression: floats compute in double (f16 and bf16
 * read through float), integers in uint64_t (signed ones sign-extended, so that wrapping
 * is defined), converted to the output's dtype on the store. f64 is slow on most GPUs but
 * exact; f16/bf16 match the CPU bit for bit where the expression does not call a libm
 * function (CUDA's double functions are within 1-2 ulp of glibc's).
 *
 * One thread per output element in a grid-stride loop (data_move.c's loop): consecutive
 * threads read and write consecutive elements. */
#include "codegen/cuda/data_move.h"
#include "codegen/c/typed_expr.h"
#include "ir/dtype_ops.h"

#include <math.h>
#include <string.h>

/* Integer helpers (the C backend's, as device functions), once per file. */
static const char int_helpers[] =
    "#ifndef SLIMC_CU_INT_HELPERS\n"
    "#define SLIMC_CU_INT_HELPERS\n"
    "/* integer ops in 64 bits (slimc's ir/eval_dtypes.c): division truncates, x / 0 is 0 */\n"
    "SLIMC_DEV uint64_t slimc_cu_idiv(uint64_t a, uint64_t b, int sgn)\n"
    "{\n"
    "    if (b == 0)\n        return 0;\n"
    "    if (!sgn)\n        return a / b;\n"
    "    if ((int64_t)b == -1)\n        return 0 - a;\n"
    "    return (uint64_t)((int64_t)a / (int64_t)b);\n"
    "}\n"
    "SLIMC_DEV uint64_t slimc_cu_ipow(uint64_t a, uint64_t e, int sgn)\n"
    "{\n"
    "    if (sgn && (int64_t)e < 0)\n"
    "        return (int64_t)a == 1 ? 1 : (int64_t)a == -1 ? ((e & 1u) ? a : 1) : 0;\n"
    "    uint64_t r = 1;\n"
    "    while (e) {\n        if (e & 1u)\n            r *= a;\n        a *= a;\n"
    "        e >>= 1;\n    }\n"
    "    return r;\n"
    "}\n"
    "SLIMC_DEV uint64_t slimc_cu_ishift(uint64_t a, uint64_t b, int bits, int sgn, int right)\n"
    "{\n"
    "    if ((sgn && (int64_t)b < 0) || b >= (uint64_t)bits)\n        return 0;\n"
    "    if (!right)\n        return a << b;\n"
    "    return sgn ? (uint64_t)((int64_t)a >> b) : a >> b;\n"
    "}\n"
    "#endif\n\n";

/* How values of dtype t are read (as double or uint64_t) and written back. */
static const char *load_expr(CgCtx *c, DType t, const char *x)
{
    if (t == IR_F16 || t == IR_BF16 || t == IR_F64 || t == IR_F32)
        return cg_strf(c, "(double)%s", cu_dm_load(c, t, x));
    return cg_strf(c, "(uint64_t)%s", x);
}

static const char *store_expr(CgCtx *c, DType t, const char *v)
{
    if (t == IR_F16)
        return cg_strf(c, "slimc_cu_f2h((float)(%s))", v);
    if (t == IR_BF16)
        return cg_strf(c, "slimc_cu_f2b((float)(%s))", v);
    return cg_strf(c, "(%s)(%s)", ir_dtype_ctype(t), v);
}

static const char f8_helpers[] =
    "#ifndef SLIMC_CU_F8_HELPERS\n"
    "#define SLIMC_CU_F8_HELPERS\n"
    "SLIMC_DEV unsigned slimc_cu_signbit(double v)\n"
    "{\n"
    "    union {\n        double d;\n        uint64_t u;\n    } b;\n"
    "    b.d = v;\n"
    "    return (unsigned)(b.u >> 63);\n"
    "}\n"
    "SLIMC_DEV double slimc_cu_f8_value(unsigned b, int mant, int bias, int fnuz, "
    "int ieee)\n"
    "{\n"
    "    const int ebits = 7 - mant, e = (int)(b >> mant) & ((1 << ebits) - 1);\n"
    "    const int m = (int)b & ((1 << mant) - 1);\n"
    "    if (fnuz && b == 0x80u)\n        return (double)SLIMC_NAN;\n"
    "    if (!fnuz && !ieee && (b & 0x7fu) == 0x7fu)\n        return (double)SLIMC_NAN;\n"
    "    if (ieee && e == (1 << ebits) - 1)\n"
    "        return m ? (double)SLIMC_NAN : (b & 0x80u) ? -(double)SLIMC_INF : (double)SLIMC_INF;\n"
    "    const double v = e == 0 ? ldexp((double)m, 1 - bias - mant) : ldexp((double)(m + (1 << "
    "mant)), e - bias - "
    "mant);\n"
    "    return (b & 0x80u) ? -v : v;\n"
    "}\n"
    "SLIMC_DEV uint8_t slimc_cu_f8_bits(double v, int mant, int bias, double max, "
    "int fnuz, int ieee, int saturate)\n"
    "{\n"
    "    const unsigned sign = slimc_cu_signbit(v) ? 0x80u : 0u;\n"
    "    const uint8_t nan = fnuz ? 0x80 : (uint8_t)(sign | (ieee ? 0x7eu : 0x7fu));\n"
    "    const uint8_t overflow = ieee ? (uint8_t)(sign | 0x7cu) : nan;\n"
    "    if (v != v)\n        return nan;\n"
    "    double a = fabs(v);\n"
    "    if (saturate && a > max)\n        a = max;\n"
    "    if (a == (double)SLIMC_INF)\n        return overflow;\n"
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
    "SLIMC_DEV double slimc_cu_f4_value(unsigned b)\n"
    "{\n"
    "    const unsigned e = (b >> 1) & 3u, m = b & 1u;\n"
    "    const double v = e == 0 ? 0.5 * m : ldexp(1.0 + 0.5 * m, (int)e - 1);\n"
    "    return (b & 8u) ? -v : v;\n"
    "}\n"
    "SLIMC_DEV unsigned slimc_cu_f4_bits(double v)\n"
    "{\n"
    "    if (v != v)\n        return 8u;\n"
    "    const unsigned sign = slimc_cu_signbit(v) ? 8u : 0u;\n"
    "    const double a = fabs(v) > 6.0 ? 6.0 : fabs(v);\n"
    "    int e;\n"
    "    frexp(a, &e);\n"
    "    const int lead = e - 1 < 0 ? 0 : e - 1;\n"
    "    const double q = ldexp(nearbyint(ldexp(a, 1 - lead)), lead - 1);\n"
    "    if (q < 1.0)\n        return sign | (unsigned)(2.0 * q);\n"
    "    frexp(q, &e);\n"
    "    return sign | (unsigned)e << 1 | ((unsigned)ldexp(q, 2 - e) & 1u);\n"
    "}\n"
    "SLIMC_DEV double slimc_cu_e8m0_value(unsigned b)\n"
    "{\n    return b == 0xffu ? (double)SLIMC_NAN : ldexp(1.0, (int)b - 127);\n}\n"
    "SLIMC_DEV uint8_t slimc_cu_e8m0_bits(double v, int round_mode, int saturate)\n"
    "{\n"
    "    const float f = (float)v;\n"
    "    const uint32_t x = slimc_cu_fbits(f);\n"
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
    "SLIMC_DEV int64_t slimc_cu_f2i(double v)\n"
    "{\n    return v == v && fabs(v) < 9.2e18 ? (int64_t)v : 0;\n}\n"
    "#endif\n\n";

static const CgDialect cu_dialect = {
    "slimc_cu_", "((double)SLIMC_INF)", "((double)SLIMC_NAN)", "(uint64_t)", "ull", load_expr,
    store_expr,  "slimc_cu_f2i64"};

/* cast from or to float8, f4e2m1 and the packed integers (as ir/eval_dtypes.c): one thread
 * per output element, or per output byte when the output packs several a byte (so no two
 * threads write one byte). */
static void emit_cast_narrow(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    DType to = c->g->values[n->outputs[0]].type.dtype;
    int tb = ir_dtype_bits(to);
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->outputs[0]), &ne))
        return;
    const char *total = cg_dim(c, ne);
    cu_dm_helpers(c);
    cg_puts(c, f8_helpers, sizeof f8_helpers - 1);
    const char *items = tb < 8 ? cg_strf(c, "((%s + %d) / %d)", total, 8 / tb - 1, 8 / tb) : total;
    int k = cu_kernel_begin(c, id, NULL, 256);
    cu_in(c, id, 0, "x");
    cg_printf(c, "    uint8_t *dst = (uint8_t *)a.out; /* %s */\n",
              cg_type_text(c, &c->g->values[n->outputs[0]].type));
    if (tb >= 8 && strcmp(ir_dtype_ctype(to), "uint8_t"))
        cg_printf(c, "    %s *dsto = (%s *)a.out;\n", ir_dtype_ctype(to), ir_dtype_ctype(to));
    else
        cg_printf(c, "    uint8_t *dsto = dst;\n");
    cg_printf(c, "    (void)dsto;\n");
    cg_printf(c,
              "    for (int64_t it = (int64_t)blockIdx.x * 256 + threadIdx.x; it < %s;\n"
              "         it += (int64_t)gridDim.x * 256) {\n",
              items);
    if (tb < 8)
        cg_printf(c,
                  "        dst[it] = 0; /* one output byte: its %d elements */\n"
                  "        for (int64_t f = %d * it; f < %d * it + %d && f < %s; f++) {\n",
                  8 / tb, 8 / tb, 8 / tb, 8 / tb, total);
    else
        cg_printf(c, "        {\n            const int64_t f = it;\n");
    cg_cast_element(c, n, &cu_dialect);
    cg_printf(c, "        }\n    }\n");
    cu_kernel_end(c);
    const char *grid[3] = {cg_strf(c, "slimc_cu_blocks(%s)", cu_ceil_div(c, items, 256)), "1", "1"};
    cu_launch(c, id, k, grid, (const int[3]){256, 1, 1},
              tb < 8 ? "one thread per output byte, grid-stride"
                     : "one thread per output element, grid-stride");
}

/* Every elementwise node that elementwise.c forwards here, and the bitwise rows. */
void cu_emit_elementwise_typed(CgCtx *c, NodeId id)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    if (n->op == IR_OP_CAST && ir_node_is_typed_elementwise(g, n)) { /* float8, i4, u4, ... */
        if (g->values[n->inputs[0]].type.quant || n->n_epilogue) {
            cg_error(c, n, "a cast of a quantized tensor or with an epilogue has no CUDA kernel");
            return;
        }
        emit_cast_narrow(c, id);
        return;
    }
    if (!ir_node_is_typed_elementwise(g, n) || n->op == IR_OP_CAST) {
        cg_error(c, n, "the CUDA backend has no %s kernel for %s", ir_ops[n->op].name,
                 ir_dtype_name(g->values[n->inputs[0]].type.dtype));
        return;
    }
    const DType t = g->values[n->inputs[0]].type.dtype;
    if (n->n_epilogue) {
        cg_error(c, n, "an op computing in %s cannot carry an epilogue", ir_dtype_name(t));
        return;
    }
    const bool fl = ir_dtype_is_float(t), binary = ir_ops[n->op].flags & IR_F_BINARY;
    const char *expr =
        fl ? cg_typed_float_expr(c, n, &cu_dialect) : cg_typed_int_expr(c, n, t, &cu_dialect);
    const char *ct = fl ? "double" : "uint64_t";
    const Shape *os = cg_shape(c, n->outputs[0]);
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    const char *total = cg_dim(c, ne);
    cu_dm_helpers(c);
    if (!fl)
        cg_puts(c, int_helpers, sizeof int_helpers - 1);
    const char *st[2][IR_MAX_RANK];
    const int n_ops = binary ? 2 : 1;
    for (int q = 0; q < n_ops; q++)
        cu_dm_bcast_strides(c, os, cg_shape(c, n->inputs[q]), st[q]);
    static const char *const names[] = {"x0", "x1"};
    int k = cu_dm_loop_begin(c, id, names, n_ops, total);
    cg_printf(c, "        const %s va = %s; /* computed in %s */\n", ct,
              load_expr(c, t, cg_strf(c, "x0[%s]", cu_dm_gather_index(c, os, st[0], "f"))), ct);
    if (binary)
        cg_printf(c, "        const %s vb = %s;\n", ct,
                  load_expr(c, t, cg_strf(c, "x1[%s]", cu_dm_gather_index(c, os, st[1], "f"))));
    cg_printf(c, "        out[f] = %s;\n", store_expr(c, t, expr));
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
}

/* mod (ONNX Mod) in the operands' dtype: a device helper per node (fmod or the sign of b,
 * division by 0 and -1 as the C backend), then the broadcast loop. */
void cu_emit_mod(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    if (!cu_dm_check_plain(c, id, 0))
        return;
    const Shape *os = cg_shape(c, n->outputs[0]);
    const DType t = cg_dtype_of(c, n->inputs[0]);
    const char *ct = ir_dtype_ctype(t);
    const bool fm = ir_attr_fmod(n) != 0;
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    const char *total = cg_dim(c, ne);
    const char *fn = cg_strf(c, "%s_mod", c->fn_names[id]);
    cu_dm_helpers(c);
    cg_printf(c, "/* %s's remainder (%s) */\n", cg_text(c, n->name),
              fm ? "fmod: the sign of a" : "the sign of b");
    cg_printf(c, "SLIMC_DEV %s %s(%s a, %s b)\n{\n", ct, fn, ct, ct);
    if (cg_dtype_is_float(t)) {
        const char *ft = t == IR_F64 ? "double" : "float", *f = t == IR_F64 ? "fmod" : "fmodf";
        const char *ld = t == IR_F16 ? "slimc_h2f" : t == IR_BF16 ? "slimc_b2f" : "";
        const char *st = t == IR_F16 ? "slimc_cu_f2h" : t == IR_BF16 ? "slimc_cu_f2b" : "";
        cg_printf(c, "    const %s x = %s(a), y = %s(b);\n    %s r = %s(x, y);\n", ft, ld, ld, ft,
                  f);
        if (!fm)
            cg_printf(c, "    if (r != 0 && ((r < 0) != (y < 0)))\n        r += y;\n");
        cg_printf(c, "    return %s(r);\n}\n\n", st);
    } else if (cg_dtype_is_signed_int(t)) {
        cg_printf(c,
                  "    if (b == 0 || b == -1) /* -1: MIN %% -1 overflows; the remainder is 0 */\n"
                  "        return 0;\n");
        cg_printf(c, "    %s r = (%s)(a %% b);\n", ct, ct);
        if (!fm)
            cg_printf(c, "    if (r != 0 && ((r < 0) != (b < 0)))\n        r = (%s)(r + b);\n", ct);
        cg_printf(c, "    return r;\n}\n\n");
    } else {
        cg_printf(c, "    return b ? (%s)(a %% b) : 0;\n}\n\n", ct);
    }
    const char *st0[IR_MAX_RANK], *st1[IR_MAX_RANK];
    cu_dm_bcast_strides(c, os, cg_shape(c, n->inputs[0]), st0);
    cu_dm_bcast_strides(c, os, cg_shape(c, n->inputs[1]), st1);
    static const char *const names[] = {"x0", "x1"};
    int k = cu_dm_loop_begin(c, id, names, 2, total);
    cg_printf(c, "        out[f] = %s(x0[%s], x1[%s]);\n", fn, cu_dm_gather_index(c, os, st0, "f"),
              cu_dm_gather_index(c, os, st1, "f"));
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
}
