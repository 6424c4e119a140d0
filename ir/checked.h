/* Checked arithmetic for sizes. Every element count, byte size, stride, offset and arena
 * size that comes from a model file (or from symbol values at run time) goes through these
 * helpers: a model file is hostile, and a product that wraps is a heap overflow waiting for
 * its memcpy. Each returns true and stores the result, or returns false (leaving *out
 * unspecified) when the result does not fit; callers turn that into a user error naming the
 * tensor. The generated C and runtime/slimc_main.c cannot include this header: they call
 * __builtin_mul_overflow themselves. */
#ifndef SLIMC_IR_CHECKED_H
#define SLIMC_IR_CHECKED_H

#include "ir/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most bytes one tensor (or the arena) may take: far above any machine, and low enough
 * that the sum of a few such sizes still fits in an int64_t and a size_t. */
#define IR_MAX_TENSOR_BYTES ((int64_t)1 << 62)

static inline bool ir_ckd_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline bool ir_ckd_add_i64(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

static inline bool ir_ckd_sub_i64(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_sub_overflow(a, b, out);
}

static inline bool ir_ckd_mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline bool ir_ckd_add_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* Product of n dims; false when a dim is negative or the product of the non-zero dims
 * overflows int64_t (in any order: a [0, 2^62, 2^62] is refused too, as its strides would
 * overflow). */
static inline bool ir_ckd_numel(const int64_t *dims, int n, int64_t *out)
{
    int64_t acc = 1;
    bool zero = false;
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0)
            return false;
        if (dims[i] == 0)
            zero = true;
        else if (!ir_ckd_mul_i64(acc, dims[i], &acc))
            return false;
    }
    *out = zero ? 0 : acc;
    return true;
}

/* x rounded up to a multiple of align (> 0); false when x < 0 or the result overflows. */
static inline bool ir_ckd_round_up(int64_t x, int64_t align, int64_t *out)
{
    int64_t t;
    if (x < 0 || align < 1 || !ir_ckd_add_i64(x, align - 1, &t))
        return false;
    *out = t / align * align;
    return true;
}

/* v truncated to an int64_t; false when it is NaN or out of range (the conversion would be
 * undefined). */
static inline bool ir_ckd_from_double(double v, int64_t *out)
{
    if (!(v > -9223372036854775808.0 && v < 9223372036854775808.0))
        return false;
    *out = (int64_t)v;
    return true;
}

/* Bytes for count elements of dtype t (the dtypes under 8 bits packed, rounded up to a
 * whole byte); false when count < 0 or the size exceeds IR_MAX_TENSOR_BYTES. */
static inline bool ir_ckd_bytes(DType t, int64_t count, size_t *out)
{
    int bits = ir_dtype_bits(t);
    int64_t bytes;
    if (count < 0 || bits < 1)
        return false;
    if (bits % 8 == 0) {
        if (!ir_ckd_mul_i64(count, bits / 8, &bytes))
            return false;
    } else { /* 8 / bits elements a byte (2- and 4-bit dtypes) */
        int per = 8 / bits;
        bytes = count / per + (count % per != 0);
    }
    if (bytes > IR_MAX_TENSOR_BYTES)
        return false;
    *out = (size_t)bytes;
    return true;
}

#endif
