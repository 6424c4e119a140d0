/* Element types, symbolic dimensions and the polynomials memory planning needs. */
#include "ir/types.h"

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
    if (count <= 0)
        return 0;
    return (size_t)(((uint64_t)count * (uint64_t)ir_dtype_bits(t) + 7) / 8);
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
        {"int4", IR_I4},
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

double ir_dtype_get(DType t, const void *data, int64_t i)
{
    const unsigned char *p = data;
    switch (t) {
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
    case IR_I8: return (int8_t)p[i];
    case IR_U8:
    case IR_BOOL: return p[i];
    case IR_F16:
    case IR_BF16:
    case IR_I4:
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
    if (a.syms & b.syms)
        return false;
    if (a.c != 0 && b.c != 0 && (a.c > INT64_MAX / b.c || a.c < 0 || b.c < 0))
        return false;
    *out = (Dim){a.c * b.c, a.syms | b.syms};
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

int64_t ir_dim_eval(Dim d, const int64_t *sym_values)
{
    int64_t v = d.c;
    for (int i = 0; i < IR_MAX_SYMS; i++)
        if (d.syms & (1u << i))
            v *= sym_values ? sym_values[i] : 1;
    return v;
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
        acc->t[i].c += b.t[j].c;
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

int64_t ir_poly_eval(const Poly *p, const int64_t *sym_values)
{
    int64_t v = 0;
    for (int i = 0; i < p->n; i++)
        v += ir_dim_eval((Dim){p->t[i].c, p->t[i].mask}, sym_values);
    return v;
}

Poly ir_poly_round_up(Poly p, int64_t align)
{
    for (int i = 0; i < p.n; i++)
        p.t[i].c = (p.t[i].c + align - 1) / align * align;
    return p;
}
