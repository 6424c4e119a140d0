/* Element types, symbolic shapes, quantization parameters and devices. */
#ifndef SLIMC_IR_TYPES_H
#define SLIMC_IR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/slimc_abi.h" /* weight packing and tiles, shared with the runtime kernels */

/* name, C type in generated code, bits. New dtypes go at the end: a cast's dtype attribute
 * and the public SlimcDType hold these numbers (api/api_internal.h asserts it). */
#define IR_DTYPES(X)                                                                               \
    X(F64, "f64", "double", 64)                                                                    \
    X(F32, "f32", "float", 32)                                                                     \
    X(F16, "f16", "uint16_t", 16)                                                                  \
    X(BF16, "bf16", "uint16_t", 16)                                                                \
    X(I64, "i64", "int64_t", 64)                                                                   \
    X(I32, "i32", "int32_t", 32)                                                                   \
    X(I16, "i16", "int16_t", 16)                                                                   \
    X(I8, "i8", "int8_t", 8)                                                                       \
    X(U8, "u8", "uint8_t", 8)                                                                      \
    X(I4, "i4", "uint8_t", 4)                                                                      \
    X(BOOL, "bool", "uint8_t", 8)                                                                  \
    X(U16, "u16", "uint16_t", 16)                                                                  \
    X(U32, "u32", "uint32_t", 32)                                                                  \
    X(U64, "u64", "uint64_t", 64)                                                                  \
    X(F8E4M3FN, "f8e4m3fn", "uint8_t", 8)                                                          \
    X(F8E4M3FNUZ, "f8e4m3fnuz", "uint8_t", 8)                                                      \
    X(F8E5M2, "f8e5m2", "uint8_t", 8)                                                              \
    X(F8E5M2FNUZ, "f8e5m2fnuz", "uint8_t", 8)                                                      \
    X(U4, "u4", "uint8_t", 4)                                                                      \
    X(I2, "i2", "uint8_t", 2)                                                                      \
    X(U2, "u2", "uint8_t", 2)                                                                      \
    X(F4E2M1, "f4e2m1", "uint8_t", 4)                                                              \
    X(F8E8M0, "f8e8m0", "uint8_t", 8)

typedef enum DType {
#define X(e, name, ctype, bits) IR_##e,
    IR_DTYPES(X)
#undef X
        IR_NUM_DTYPES
} DType;

const char *ir_dtype_name(DType t);
const char *ir_dtype_ctype(DType t);
int ir_dtype_bits(DType t);
/* Bytes for count elements (i4 packs two a byte, rounded up); 0 for count <= 0. The count
 * must be one already checked (a value's type, or ir_ckd_bytes in ir/checked.h): a size
 * over IR_MAX_TENSOR_BYTES is an assertion, never a wrapped small size. */
size_t ir_dtype_bytes(DType t, int64_t count);
/* Parses "f32", "int8", "float32"...; returns false if unknown. */
bool ir_dtype_parse(const char *s, DType *out);
/* Element i of data (C order, little-endian) as a double (f16, bf16, float8 and f4e2m1
 * exactly; the dtypes of fewer than 8 bits pack from the low bits of each byte up). */
double ir_dtype_get(DType t, const void *data, int64_t i);
/* The float8 dtypes (ONNX's FLOAT8E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ) are storage types:
 * only cast reads and writes them. Code b of float8 dtype t as a double, and v rounded
 * to the nearest code (ties to even); saturate clamps what is out of range to the largest
 * finite value (ONNX Cast's saturate=1), else it becomes inf (e5m2) or NaN. */
bool ir_dtype_is_f8(DType t); /* the four above and f8e8m0 */
/* f4e2m1 (ONNX's FLOAT4E2M1: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives; no inf or
 * NaN) is a storage type like float8: code b (4 bits) as a double, and v rounded to the
 * nearest code (ties to even), clamped to +-6, NaN to -0 (as ml_dtypes). */
double ir_f4_value(unsigned b);
unsigned ir_f4_bits(double v);
/* f8e8m0 (ONNX's FLOAT8E8M0, a power of two 2^(b - 127), 0xff NaN), from the f32 value of
 * v as onnx.numpy_helper.to_float8e8m0 computes it: round_mode 0 up, 1 down, 2 nearest;
 * saturate keeps 2^127 from rounding up to NaN. */
double ir_e8m0_value(unsigned b);
uint8_t ir_e8m0_bits(double v, int round_mode, bool saturate);
double ir_f8_value(DType t, uint8_t b);
uint8_t ir_f8_bits(DType t, double v, bool saturate);
/* IEEE half (bits h) as a double, exactly (every half is a float too). */
double ir_f16_value(uint16_t h);
/* v rounded to f32, then to f16 / bf16 bits (nearest even; NaN stays NaN). */
uint16_t ir_f16_bits(double v);
uint16_t ir_bf16_bits(double v);

/* A dimension is coeff × (product of the symbols in syms): 28 is {28, 0}; N is {1, 1<<iN};
 * 800·N (a flattened batch) is {800, 1<<iN}. Symbols are the graph's named dims
 * (N, a sequence length, an ONNX dim_param), each bound to a positive value at run time. */
#define IR_MAX_SYMS 16
typedef struct Dim {
    int64_t c;
    uint32_t syms;
} Dim;

#define IR_MAX_RANK 8
typedef struct Shape {
    int rank;
    Dim d[IR_MAX_RANK];
} Shape;

static inline Dim ir_dim(int64_t c)
{
    return (Dim){c, 0};
}
/* Rows of 64 bytes per 16-output block of a qlinear weight packed by the layout pass: the
 * runtime's formula (runtime/slimc_abi.h, the one copy). */
static inline int64_t ir_qpack_rows(int64_t K)
{
    return slimc_rt_qpack_rows(K);
}

/* Rows of 16 bf16 pairs per 16-output block of a bf16 wlinear weight packed by the layout
 * pass (runtime/slimc_abi.h). */
static inline int64_t ir_bpack_rows(int64_t K)
{
    return slimc_rt_bpack_rows(K);
}

static inline bool ir_dim_static(Dim d)
{
    return d.syms == 0;
}
static inline bool ir_dim_eq(Dim a, Dim b)
{
    return a.c == b.c && a.syms == b.syms;
}
bool ir_shape_eq(const Shape *a, const Shape *b);
bool ir_shape_static(const Shape *s);
/* Product of all dims; false if a symbol would appear squared (unsupported), a
 * coefficient is negative or the product of the coefficients overflows int64_t. */
bool ir_shape_numel(const Shape *s, Dim *out);
bool ir_dim_mul(Dim a, Dim b, Dim *out);
/* Value of d with the given symbol values; false when it overflows int64_t. */
bool ir_dim_eval_ckd(Dim d, const int64_t *sym_values, int64_t *out);
/* The same, INT64_MAX when it overflows (for statistics and values already checked). */
int64_t ir_dim_eval(Dim d, const int64_t *sym_values);

/* A derived symbol: what an exporter's shape arithmetic makes of other symbols (a CLS
 * token's S+1, a flattened S*S, a stride-2 conv's (W+1)//2). Its value is
 *     floor((xa * xb + y + add) / div)
 * over the values of earlier symbols (xb is 1 and y 0 where unused; div >= 1), and must
 * come out >= 1 for the inputs' shapes (checked where the symbols are bound). A Dim then
 * names it like any other symbol, so memplan, codegen and the ABI see only symbols. */
typedef struct SymDef {
    Dim xa, xb, y;
    int64_t add, div;
} SymDef;

/* A polynomial in the symbols with non-negative coefficients: sizes and arena offsets.
 * Each term is coeff × product of the symbols in mask. */
#define IR_POLY_TERMS 8
typedef struct Poly {
    int n;
    struct {
        uint32_t mask;
        int64_t c;
    } t[IR_POLY_TERMS];
} Poly;
Poly ir_poly_const(int64_t c);
Poly ir_poly_from_dim(Dim d);
bool ir_poly_add(Poly *acc, Poly b); /* false when it would need more terms or overflow */
/* True when a <= b for every symbol value >= 1 (checked term by term: sound, not complete). */
bool ir_poly_le(const Poly *a, const Poly *b);
/* p's value with the given symbol values; false when it overflows int64_t. */
bool ir_poly_eval_ckd(const Poly *p, const int64_t *sym_values, int64_t *out);
int64_t ir_poly_eval(const Poly *p, const int64_t *sym_values); /* INT64_MAX on overflow */
/* Rounds each term of p up to a multiple of align; false when one overflows. */
bool ir_poly_round_up(Poly *p, int64_t align);

/* Quantization parameters: per tensor (axis < 0) or per channel along axis; int4 weights
 * may carry group-wise scales (group_size > 0) along the last axis. */
typedef struct QuantParams {
    int axis;
    int group_size;
    int count; /* number of scales */
    const float *scale;
    const int32_t *zero_point; /* NULL means symmetric (all zero) */
} QuantParams;

typedef struct Type {
    DType dtype;
    Shape shape;
    const QuantParams *quant; /* NULL when not quantized */
} Type;

typedef enum Device { IR_DEVICE_CPU, IR_DEVICE_CUDA } Device;
const char *ir_device_name(Device d);

#endif
