/* The expressions of elementwise ops in dtypes other than f32 (codegen/c/typed_expr.h). */
#include "codegen/c/typed_expr.h"
#include "ir/dtype_ops.h"

#include <math.h>

/* A double literal that reads back as v exactly. */
static const char *dlit(CgCtx *c, double v, const CgDialect *dl)
{
    if (isinf(v))
        return v < 0 ? cg_strf(c, "(-%s)", dl->inf) : dl->inf;
    if (isnan(v))
        return dl->nan;
    return cg_strf(c, "%.17g", v);
}

/* ops.def's scalar expressions spelled as double C (ir/scalar.h), NULL where none. */
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
const char *cg_typed_float_expr(CgCtx *c, const Node *n, const CgDialect *dl)
{
    if (f64_expr[n->op]) {
        const char *args[4] = {"va", "vb", NULL, NULL};
        if (n->op == IR_OP_LEAKY_RELU)
            args[2] = dlit(c, ir_attr_negative_slope(n), dl);
        if (n->op == IR_OP_CLIP) {
            args[2] = dlit(c, ir_attr_min(n), dl);
            args[3] = dlit(c, ir_attr_max(n), dl);
        }
        return cg_scalar_expand(c, f64_expr[n->op], args);
    }
    cg_error(c, n, "no %s kernel for floats other than f32", ir_ops[n->op].name);
    return "va";
}

const char *cg_typed_int_expr(CgCtx *c, const Node *n, DType t, const CgDialect *dl)
{
    bool sgn = !ir_dtype_is_unsigned(t);
    int bits = ir_dtype_bits(t);
    /* x < y in t's order */
#define LESS(x, y) (sgn ? "(int64_t)" x " < (int64_t)" y : x " < " y)
    /* an if-chain, not a switch: tests/unit/test_backend.c (test_c_int_kernels) fails for an
     * elementwise row flagged IR_F_INTS that has no kernel here */
    const OpKind op = n->op;
    if (op == IR_OP_ADD)
        return "va + vb";
    if (op == IR_OP_SUB)
        return "va - vb";
    if (op == IR_OP_MUL)
        return "va * vb";
    if (op == IR_OP_DIV)
        return cg_strf(c, "%sidiv(va, vb, %d)", dl->helper, sgn);
    if (op == IR_OP_MINIMUM)
        return cg_strf(c, "%s ? va : vb", LESS("va", "vb"));
    if (op == IR_OP_MAXIMUM)
        return cg_strf(c, "%s ? va : vb", LESS("vb", "va"));
    if (op == IR_OP_POW)
        return cg_strf(c, "%sipow(va, vb, %d)", dl->helper, sgn);
    if (op == IR_OP_RELU)
        return sgn ? "(int64_t)va < 0 ? 0 : va" : "va";
    if (op == IR_OP_NEG)
        return "0 - va";
    if (op == IR_OP_ABS)
        return sgn ? "(int64_t)va < 0 ? 0 - va : va" : "va";
    if (op == IR_OP_CLIP) {
        uint64_t lo, hi;
        ir_clip_bounds_int(n, t, &lo, &hi);
        const char *l = cg_strf(c, "%s%llu%s", dl->u64_pre, (unsigned long long)lo, dl->u64_post);
        const char *h = cg_strf(c, "%s%llu%s", dl->u64_pre, (unsigned long long)hi, dl->u64_post);
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
        return cg_strf(c, "%sishift(va, vb, %d, %d, 0)", dl->helper, bits, sgn);
    if (op == IR_OP_BITSHIFT_RIGHT)
        return cg_strf(c, "%sishift(va, vb, %d, %d, 1)", dl->helper, bits, sgn);
#undef LESS
    cg_error(c, n, "no %s kernel for integers", ir_ops[n->op].name);
    return "va";
}
