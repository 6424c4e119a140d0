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

/* The format arguments of the float8 helpers for dtype t (ir/types.c's table). */
static const char *f8_args(CgCtx *c, DType t)
{
    switch (t) {
    case IR_F8E4M3FN: return "3, 7, 448.0, 0, 0";
    case IR_F8E4M3FNUZ: return "3, 8, 240.0, 1, 0";
    case IR_F8E5M2: return "2, 15, 57344.0, 0, 1";
    case IR_F8E5M2FNUZ: return "2, 16, 57344.0, 1, 0";
    default: cg_error(c, NULL, "%s is not a float8 dtype", ir_dtype_name(t)); return "";
    }
}

/* The value arguments (mant, bias, fnuz, ieee) of the f8_value helper: f8_args without max. */
static const char *f8_value_args(CgCtx *c, DType t)
{
    switch (t) {
    case IR_F8E4M3FN: return "3, 7, 0, 0";
    case IR_F8E4M3FNUZ: return "3, 8, 1, 0";
    case IR_F8E5M2: return "2, 15, 0, 1";
    case IR_F8E5M2FNUZ: return "2, 16, 1, 0";
    default: cg_error(c, NULL, "%s is not a float8 dtype", ir_dtype_name(t)); return "";
    }
}

void cg_cast_element(CgCtx *c, const Node *n, const CgDialect *dl)
{
    const char *h = dl->helper, *ind = "            ";
    DType from = c->g->values[n->inputs[0]].type.dtype, to = c->g->values[n->outputs[0]].type.dtype;
    int saturate = ir_attr_saturate(n) != 0;
    bool int_src = !ir_dtype_is_float(from) && !ir_dtype_is_f8(from) && from != IR_F4E2M1;
    int fb = ir_dtype_bits(from), tb = ir_dtype_bits(to);
    unsigned fmask = (1u << (fb < 8 ? fb : 0)) - 1u, tmask = (1u << (tb < 8 ? tb : 0)) - 1u;
    /* the source element: iv (integers) and v */
    if (fb < 8) {
        cg_printf(c,
                  "%sconst unsigned raw = (unsigned)(x[(f * %d) >> 3] >> ((f * %d) & 7)) & %uu;\n",
                  ind, fb, fb, fmask);
        if (from == IR_I4 || from == IR_I2)
            cg_printf(c, "%sconst uint64_t iv = raw > %uu ? (uint64_t)raw - %uu : raw;\n", ind,
                      fmask / 2, fmask + 1);
        else
            cg_printf(c, "%sconst uint64_t iv = raw;\n", ind);
        cg_printf(c, "%sconst double v = %s;\n", ind,
                  from == IR_F4E2M1 ? cg_strf(c, "%sf4_value(raw)", h) : "(double)(int64_t)iv");
    } else if (ir_dtype_is_f8(from)) {
        cg_printf(c, "%sconst uint64_t iv = 0;\n", ind);
        if (from == IR_F8E8M0)
            cg_printf(c, "%sconst double v = %se8m0_value(x[f]);\n", ind, h);
        else
            cg_printf(c, "%sconst double v = %sf8_value(x[f], %s);\n", ind, h,
                      f8_value_args(c, from));
    } else if (int_src) {
        cg_printf(c, "%sconst uint64_t iv = (uint64_t)x[f];\n", ind);
        cg_printf(c, "%sconst double v = %s;\n", ind,
                  ir_dtype_is_unsigned(from) ? "(double)iv" : "(double)(int64_t)iv");
    } else {
        cg_printf(c, "%sconst uint64_t iv = 0;\n", ind);
        cg_printf(c, "%sconst double v = %s;\n", ind, dl->load(c, from, "x[f]"));
    }
    cg_printf(c, "%s(void)iv;\n%s(void)v;\n", ind, ind);
    /* the store */
    if (tb < 8)
        cg_printf(c, "%sdst[it] |= (uint8_t)((%s & %uu) << ((f * %d) & 7));\n", ind,
                  to == IR_F4E2M1 ? cg_strf(c, "(uint64_t)%sf4_bits(v)", h)
                  : int_src       ? "iv"
                                  : cg_strf(c, "(uint64_t)%sf2i(v)", h),
                  tmask, tb);
    else if (to == IR_F8E8M0)
        cg_printf(c, "%sdst[f] = %se8m0_bits(v, %d, %d);\n", ind, h, (int)ir_attr_round_mode(n),
                  saturate);
    else if (ir_dtype_is_f8(to))
        cg_printf(c, "%sdst[f] = %sf8_bits(v, %s, %d);\n", ind, h, f8_args(c, to), saturate);
    else if (int_src && to == IR_BOOL)
        cg_printf(c, "%sdsto[f] = (uint8_t)(iv != 0);\n", ind);
    else if (int_src && ir_dtype_is_int(to))
        cg_printf(c, "%sdsto[f] = (%s)iv;\n", ind, ir_dtype_ctype(to));
    else if (to == IR_BOOL)
        cg_printf(c, "%sdsto[f] = (uint8_t)(v != 0.0);\n", ind);
    else if (ir_dtype_is_int(to))
        cg_printf(c, "%sdsto[f] = (%s)(uint64_t)%s(v);\n", ind, ir_dtype_ctype(to), dl->f2i64);
    else
        cg_printf(c, "%sdsto[f] = %s;\n", ind, dl->store(c, to, "v"));
}
