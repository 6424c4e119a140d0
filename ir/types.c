/* Element types, symbolic dimensions and the polynomials memory planning needs. */
#include "ir/types.h"

#include "ir/arena.h"
#include "ir/checked.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name, *ctype;
    int bits;
} dtype_info[IR_NUM_DTYPES] = {
#define X(e, name, ctype, bits) {name, ctype, bits},
    IR_DTYPES(X)
#undef X
};

const char *ir_dtype_name(DType t)
{
    return (unsigned)t < IR_NUM_DTYPES ? dtype_info[t].name : "?";
}
const char *ir_dtype_ctype(DType t)
{
    return (unsigned)t < IR_NUM_DTYPES ? dtype_info[t].ctype : "?";
}
int ir_dtype_bits(DType t)
{
    return (unsigned)t < IR_NUM_DTYPES ? dtype_info[t].bits : 0;
}

size_t ir_dtype_bytes(DType t, int64_t count)
{
    size_t bytes;
    if (count <= 0)
        return 0;
    /* Sizes from a file are checked (ir_ckd_bytes) where they enter the IR; one that gets
     * here unchecked is slimc's bug, and must not wrap to a small buffer. */
    SLIMC_ASSERT(ir_ckd_bytes(t, count, &bytes));
    return bytes;
}

bool ir_dtype_parse(const char *s, DType *out)
{
    static const struct {
        const char *alias;
        DType t;
    } aliases[] = {
        {"float64", IR_F64}, {"double", IR_F64}, {"float32", IR_F32},   {"float", IR_F32},
        {"float16", IR_F16}, {"half", IR_F16},   {"bfloat16", IR_BF16}, {"int64", IR_I64},
        {"int32", IR_I32},   {"int16", IR_I16},  {"int8", IR_I8},       {"uint8", IR_U8},
        {"int4", IR_I4},     {"uint16", IR_U16}, {"uint32", IR_U32},    {"uint64", IR_U64},
        {"uint4", IR_U4},    {"int2", IR_I2},    {"uint2", IR_U2},
    };
    for (int i = 0; i < IR_NUM_DTYPES; i++)
        if (strcmp(s, dtype_info[i].name) == 0) {
            *out = (DType)i;
            return true;
        }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(s, aliases[i].alias) == 0) {
            *out = aliases[i].t;
            return true;
        }
    return false;
}

uint16_t ir_f16_bits(double v)
{
    float f = (float)v;
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) /* inf, NaN */
        return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u));
    if (ax >= 0x477ff000u) /* rounds to 65536 or more */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) { /* a subnormal half: in units of 2^-24, rounded to even */
        float a;
        memcpy(&a, &ax, 4);
        double q = nearbyint((double)a * 16777216.0); /* default rounding: to even */
        return (uint16_t)(sign | (uint32_t)q);
    }
    return (uint16_t)(sign | ((ax + 0xfffu + ((ax >> 13) & 1u) - (112u << 23)) >> 13));
}

uint16_t ir_bf16_bits(double v)
{
    float f = (float)v;
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/* A float8 format: mantissa bits, exponent bias, the largest finite value; fnuz formats
 * have no -0 and one NaN (0x80); e4m3fn has no inf (NaN is S.1111.111); e5m2 is IEEE-like. */
typedef struct F8Format {
    int mant, bias;
    double max;
    bool fnuz, ieee;
} F8Format;

static F8Format f8_format(DType t)
{
    switch (t) {
    case IR_F8E4M3FN: return (F8Format){3, 7, 448.0, false, false};
    case IR_F8E4M3FNUZ: return (F8Format){3, 8, 240.0, true, false};
    case IR_F8E5M2: return (F8Format){2, 15, 57344.0, false, true};
    default: return (F8Format){2, 16, 57344.0, true, false}; /* e5m2fnuz */
    }
}

bool ir_dtype_is_f8(DType t)
{
    return t == IR_F8E4M3FN || t == IR_F8E4M3FNUZ || t == IR_F8E5M2 || t == IR_F8E5M2FNUZ ||
           t == IR_F8E8M0;
}

double ir_f8_value(DType t, uint8_t b)
{
    F8Format f = f8_format(t);
    int ebits = 7 - f.mant, e = (b >> f.mant) & ((1 << ebits) - 1), m = b & ((1 << f.mant) - 1);
    if (f.fnuz && b == 0x80)
        return NAN;
    if (!f.fnuz && !f.ieee && (b & 0x7f) == 0x7f)
        return NAN;
    if (f.ieee && e == (1 << ebits) - 1)
        return m ? NAN : (b & 0x80) ? -INFINITY : INFINITY;
    double v =
        e == 0 ? ldexp(m, 1 - f.bias - f.mant) : ldexp(m + (1 << f.mant), e - f.bias - f.mant);
    return (b & 0x80) ? -v : v;
}

uint8_t ir_f8_bits(DType t, double v, bool saturate)
{
    F8Format f = f8_format(t);
    unsigned sign = signbit(v) ? 0x80u : 0u;
    uint8_t nan = f.fnuz ? 0x80 : (uint8_t)(sign | (f.ieee ? 0x7eu : 0x7fu));
    uint8_t overflow = f.ieee ? (uint8_t)(sign | 0x7cu) : nan; /* inf, else NaN */
    if (isnan(v))
        return nan;
    double a = fabs(v);
    if (saturate && a > f.max)
        a = f.max;
    if (isinf(a))
        return overflow;
    int e;
    frexp(a, &e); /* a = x * 2^e, x in [0.5, 1): the leading bit is 2^(e - 1) */
    int lead = e - 1 < 1 - f.bias ? 1 - f.bias : e - 1;
    double r = a == 0.0 ? 0.0 : nearbyint(ldexp(a, f.mant - lead)); /* ties to even */
    double q = ldexp(r, lead - f.mant);
    if (q > f.max)
        return overflow;
    unsigned code;
    if (q < ldexp(1.0, 1 - f.bias)) { /* subnormal (or zero) */
        code = (unsigned)ldexp(q, f.bias - 1 + f.mant);
    } else {
        frexp(q, &e);
        code = (unsigned)(e - 1 + f.bias) << f.mant |
               ((unsigned)ldexp(q, f.mant - (e - 1)) & ((1u << f.mant) - 1u));
    }
    if (f.fnuz && code == 0)
        return 0; /* no -0 */
    return (uint8_t)(sign | code);
}

double ir_f4_value(unsigned b)
{
    unsigned e = (b >> 1) & 3u, m = b & 1u;
    double v = e == 0 ? 0.5 * m : ldexp(1.0 + 0.5 * m, (int)e - 1);
    return (b & 8u) ? -v : v;
}

unsigned ir_f4_bits(double v)
{
    if (isnan(v))
        return 8u;
    unsigned sign = signbit(v) ? 8u : 0u;
    double a = fabs(v) > 6.0 ? 6.0 : fabs(v);
    int e;
    frexp(a, &e);
    int lead = e - 1 < 0 ? 0 : e - 1;
    double q = ldexp(nearbyint(ldexp(a, 1 - lead)), lead - 1); /* ties to even */
    if (q < 1.0)
        return sign | (unsigned)(2.0 * q);
    frexp(q, &e);
    return sign | (unsigned)e << 1 | ((unsigned)ldexp(q, 2 - e) & 1u);
}

double ir_e8m0_value(unsigned b)
{
    return b == 0xffu ? NAN : ldexp(1.0, (int)b - 127);
}

uint8_t ir_e8m0_bits(double v, int round_mode, bool saturate)
{
    float f = (float)v;
    uint32_t x;
    memcpy(&x, &f, 4);
    unsigned e = (x >> 23) & 0xffu, up = 0;
    if (e == 0xffu)
        return 0xff;
    if (round_mode == 2) { /* nearest: guard, round, sticky, and e > 0 standing for the lsb */
        up = (x & 0x400000u) && ((x & 0x200000u) || (x & 0x1fffffu) || e > 0);
    } else if (round_mode == 0) {
        up = (x & 0x4fffffu) != 0; /* onnx's mask, bits 20 and 21 left out */
    }
    if (saturate && e == 0xfeu)
        up = 0;
    return (uint8_t)(e + up);
}

double ir_f16_value(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m | 0x400, e - 25);
    return (h & 0x8000) ? -v : v;
}

double ir_dtype_get(DType t, const void *data, int64_t i)
{
    const unsigned char *p = data;
    switch (t) {
    case IR_F16: {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        return ir_f16_value(v);
    }
    case IR_BF16: {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        uint32_t bits = (uint32_t)v << 16;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    }
    case IR_F32: {
        float v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    case IR_F64: {
        double v;
        memcpy(&v, p + 8 * i, 8);
        return v;
    }
    case IR_I64: {
        int64_t v;
        memcpy(&v, p + 8 * i, 8);
        return (double)v;
    }
    case IR_I32: {
        int32_t v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    case IR_I16: {
        int16_t v;
        memcpy(&v, p + 2 * i, 2);
        return v;
    }
    case IR_U16: {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        return v;
    }
    case IR_U32: {
        uint32_t v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    case IR_U64: {
        uint64_t v;
        memcpy(&v, p + 8 * i, 8);
        return (double)v;
    }
    case IR_I8: return (int8_t)p[i];
    case IR_U8:
    case IR_BOOL: return p[i];
    case IR_I4:
    case IR_U4:
    case IR_I2:
    case IR_U2:
    case IR_F4E2M1: {
        int64_t bit = i * ir_dtype_bits(t);
        unsigned mask = (1u << ir_dtype_bits(t)) - 1u;
        unsigned v = (unsigned)(p[bit >> 3] >> (bit & 7)) & mask;
        if (t == IR_F4E2M1)
            return ir_f4_value(v);
        bool neg = (t == IR_I4 || t == IR_I2) && v > mask / 2;
        return neg ? (double)v - (double)(mask + 1) : (double)v;
    }
    case IR_F8E4M3FN:
    case IR_F8E4M3FNUZ:
    case IR_F8E5M2:
    case IR_F8E5M2FNUZ: return ir_f8_value(t, p[i]);
    case IR_F8E8M0: return ir_e8m0_value(p[i]);
    case IR_NUM_DTYPES: break;
    }
    return 0;
}

const char *ir_device_name(Device d)
{
    return d == IR_DEVICE_CUDA ? "cuda" : "cpu";
}

bool ir_shape_eq(const Shape *a, const Shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (!ir_dim_eq(a->d[i], b->d[i]))
            return false;
    return true;
}

bool ir_shape_static(const Shape *s)
{
    for (int i = 0; i < s->rank; i++)
        if (s->d[i].syms)
            return false;
    return true;
}

bool ir_dim_mul(Dim a, Dim b, Dim *out)
{
    int64_t c;
    if ((a.syms & b.syms) || a.c < 0 || b.c < 0 || !ir_ckd_mul_i64(a.c, b.c, &c))
        return false;
    *out = (Dim){c, a.syms | b.syms};
    return true;
}

bool ir_shape_numel(const Shape *s, Dim *out)
{
    Dim acc = {1, 0};
    for (int i = 0; i < s->rank; i++)
        if (!ir_dim_mul(acc, s->d[i], &acc))
            return false;
    *out = acc;
    return true;
}

bool ir_dim_eval_ckd(Dim d, const int64_t *sym_values, int64_t *out)
{
    int64_t v = d.c;
    for (int i = 0; i < IR_MAX_SYMS; i++)
        if ((d.syms & (1u << i)) && !ir_ckd_mul_i64(v, sym_values ? sym_values[i] : 1, &v))
            return false;
    *out = v;
    return true;
}

int64_t ir_dim_eval(Dim d, const int64_t *sym_values)
{
    int64_t v;
    return ir_dim_eval_ckd(d, sym_values, &v) ? v : INT64_MAX;
}

Poly ir_poly_const(int64_t c)
{
    Poly p = {0};
    if (c) {
        p.n = 1;
        p.t[0].mask = 0;
        p.t[0].c = c;
    }
    return p;
}

Poly ir_poly_from_dim(Dim d)
{
    Poly p = {0};
    if (d.c) {
        p.n = 1;
        p.t[0].mask = d.syms;
        p.t[0].c = d.c;
    }
    return p;
}

static int64_t poly_coeff(const Poly *p, uint32_t mask)
{
    for (int i = 0; i < p->n; i++)
        if (p->t[i].mask == mask)
            return p->t[i].c;
    return 0;
}

bool ir_poly_add(Poly *acc, Poly b)
{
    for (int j = 0; j < b.n; j++) {
        int i = 0;
        while (i < acc->n && acc->t[i].mask != b.t[j].mask)
            i++;
        if (i == acc->n) {
            if (acc->n == IR_POLY_TERMS)
                return false;
            acc->t[acc->n].mask = b.t[j].mask;
            acc->t[acc->n].c = 0;
            acc->n++;
        }
        if (!ir_ckd_add_i64(acc->t[i].c, b.t[j].c, &acc->t[i].c))
            return false;
    }
    return true;
}

bool ir_poly_le(const Poly *a, const Poly *b)
{
    /* Coefficients are non-negative and symbols >= 1, so a <= b for every symbol value
     * when each term of a is at most the same term of b. (Sound, not complete.) */
    for (int i = 0; i < a->n; i++)
        if (a->t[i].c > poly_coeff(b, a->t[i].mask))
            return false;
    return true;
}

bool ir_poly_eval_ckd(const Poly *p, const int64_t *sym_values, int64_t *out)
{
    int64_t v = 0, t;
    for (int i = 0; i < p->n; i++)
        if (!ir_dim_eval_ckd((Dim){p->t[i].c, p->t[i].mask}, sym_values, &t) ||
            !ir_ckd_add_i64(v, t, &v))
            return false;
    *out = v;
    return true;
}

int64_t ir_poly_eval(const Poly *p, const int64_t *sym_values)
{
    int64_t v;
    return ir_poly_eval_ckd(p, sym_values, &v) ? v : INT64_MAX;
}

bool ir_poly_round_up(Poly *p, int64_t align)
{
    for (int i = 0; i < p->n; i++)
        if (!ir_ckd_round_up(p->t[i].c, align, &p->t[i].c))
            return false;
    return true;
}
