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

/* A double literal that reads back as v exactly. */
static const char *dlit(CgCtx *c, double v)
{
    if (isinf(v))
        return v < 0 ? "(-(double)SLIMC_INF)" : "((double)SLIMC_INF)";
    if (isnan(v))
        return "((double)SLIMC_NAN)";
    return cg_strf(c, "%.17g", v);
}

/* ops.def's scalar expressions spelled as double C (ir/scalar.h), NULL where none: CUDA's
 * device library spells the double functions as libm does. */
#define SC_SPELL_C_F64
#include "ir/scalar.h"
#define E(...) SC_STR(__VA_ARGS__)
#define NOEXPR NULL
static const char *const f64_expr[IR_NUM_OPS] = {
#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr) [IR_OP_##e] = expr,
#include "ir/ops.def"
#undef OP
};
#undef E
#undef NOEXPR

/* n's expression over va (and vb), in double; clip's and leaky_relu's attributes as literals. */
static const char *float_expr(CgCtx *c, const Node *n)
{
    if (f64_expr[n->op]) {
        const char *args[4] = {"va", "vb", NULL, NULL};
        if (n->op == IR_OP_LEAKY_RELU)
            args[2] = dlit(c, ir_attr_negative_slope(n));
        if (n->op == IR_OP_CLIP) {
            args[2] = dlit(c, ir_attr_min(n));
            args[3] = dlit(c, ir_attr_max(n));
        }
        return cg_scalar_expand(c, f64_expr[n->op], args);
    }
    cg_error(c, n, "no CUDA %s kernel for floats other than f32", ir_ops[n->op].name);
    return "va";
}

static const char *int_expr(CgCtx *c, const Node *n, DType t)
{
    bool sgn = !ir_dtype_is_unsigned(t);
    int bits = ir_dtype_bits(t);
#define LESS(x, y) (sgn ? "(int64_t)" x " < (int64_t)" y : x " < " y)
    /* an if-chain, not a switch over op kinds (the C backend's list, in its order) */
    const OpKind op = n->op;
    if (op == IR_OP_ADD)
        return "va + vb";
    if (op == IR_OP_SUB)
        return "va - vb";
    if (op == IR_OP_MUL)
        return "va * vb";
    if (op == IR_OP_DIV)
        return cg_strf(c, "slimc_cu_idiv(va, vb, %d)", sgn);
    if (op == IR_OP_MINIMUM)
        return cg_strf(c, "%s ? va : vb", LESS("va", "vb"));
    if (op == IR_OP_MAXIMUM)
        return cg_strf(c, "%s ? va : vb", LESS("vb", "va"));
    if (op == IR_OP_POW)
        return cg_strf(c, "slimc_cu_ipow(va, vb, %d)", sgn);
    if (op == IR_OP_RELU)
        return sgn ? "(int64_t)va < 0 ? 0 : va" : "va";
    if (op == IR_OP_NEG)
        return "0 - va";
    if (op == IR_OP_ABS)
        return sgn ? "(int64_t)va < 0 ? 0 - va : va" : "va";
    if (op == IR_OP_CLIP) {
        uint64_t lo, hi;
        ir_clip_bounds_int(n, t, &lo, &hi);
        const char *l = cg_strf(c, "(uint64_t)%lluull", (unsigned long long)lo);
        const char *h = cg_strf(c, "(uint64_t)%lluull", (unsigned long long)hi);
        return sgn ? cg_strf(c,
                             "(int64_t)va < (int64_t)%s ? %s : (int64_t)%s < (int64_t)va ? %s : va",
                             l, l, h, h)
                   : cg_strf(c, "va < %s ? %s : %s < va ? %s : va", l, l, h, h);
    }
    if (op == IR_OP_BITWISE_AND)
        return "va & vb";
    if (op == IR_OP_BITWISE_OR)
        return "va | vb";
    if (op == IR_OP_BITWISE_XOR)
        return "va ^ vb";
    if (op == IR_OP_BITWISE_NOT)
        return "~va";
    if (op == IR_OP_BITSHIFT_LEFT)
        return cg_strf(c, "slimc_cu_ishift(va, vb, %d, %d, 0)", bits, sgn);
    if (op == IR_OP_BITSHIFT_RIGHT)
        return cg_strf(c, "slimc_cu_ishift(va, vb, %d, %d, 1)", bits, sgn);
#undef LESS
    cg_error(c, n, "no CUDA %s kernel for integers", ir_ops[n->op].name);
    return "va";
}

/* Every elementwise node that elementwise.c forwards here, and the bitwise rows. */
void cu_emit_elementwise_typed(CgCtx *c, NodeId id)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
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
    const char *expr = fl ? float_expr(c, n) : int_expr(c, n, t);
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
