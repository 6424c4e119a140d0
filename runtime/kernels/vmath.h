/* vmath.h - exp, tanh and erf of one float, written without libm calls or branches so
 * that the compiler vectorizes the loops that call them (a call to expf keeps a loop
 * scalar). Part of the generated runtime header (cmake/rt_parts.cmake): the elementwise
 * code the C backend emits calls them for SC_EXP, SC_TANH and SC_ERF (ir/scalar.h), so
 * sigmoid, tanh, silu, elu, softplus, gelu and gelu_tanh loops and their epilogues run on
 * vector registers. No fast-math: every step is IEEE arithmetic.
 *
 * Accuracy against the correctly rounded result, checked by tests/unit/test_vmath.c over
 * a dense sample of all floats: exp within 2 ulp wherever the result is normal (absolute
 * error below 2^-149 where it is subnormal), tanh within 3 ulp, erf within 4.7e-7
 * absolutely. NaN stays NaN; exp(+inf) is +inf, exp(-inf) 0, tanh(+-inf) +-1. */
#ifndef SLIMC_RT_VMATH_H
#define SLIMC_RT_VMATH_H

#include "runtime/kernels/base.h"

/* 2^n times p for n in [-150, 128]: two exponent-field factors, so a result below FLT_MIN
 * comes out subnormal (or 0) and one above FLT_MAX infinite, as expf's would. */
static SLIMC_RT_UNUSED inline float slimc_rt_ldexp2(float p, int32_t n)
{
    const int32_t n1 = n / 2, n2 = n - n1;
    const uint32_t b1 = (uint32_t)(n1 + 127) << 23, b2 = (uint32_t)(n2 + 127) << 23;
    float f1, f2;
    memcpy(&f1, &b1, sizeof f1);
    memcpy(&f2, &b2, sizeof f2);
    return p * f1 * f2;
}

/* exp (Cephes' expf: x = n ln2 + r with |r| <= ln2 / 2, r's exponential a degree-6
 * polynomial, times 2^n). */
static SLIMC_RT_UNUSED inline float slimc_rt_exp(float x)
{
    /* clamp without losing NaN (a comparison with NaN is false: x stays) */
    x = x > 88.8f ? 88.8f : x;
    x = x < -104.0f ? -104.0f : x;
    /* n = round(x / ln2) by the 1.5 * 2^23 trick: the integer lands in the low mantissa
     * bits, no float-to-int conversion (which NaN would make undefined) */
    const float t = x * 1.44269504088896341f + 12582912.0f;
    const float n = t - 12582912.0f;
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    int32_t ni = (int32_t)(tb & 0x7fffffu) - 0x400000;
    ni = ni < -150 ? -150 : ni > 128 ? 128 : ni; /* only NaN gets here outside the range */
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + (r + 1.0f);
    return slimc_rt_ldexp2(p, ni);
}

/* tanh (Cephes' tanhf): an odd polynomial below |x| = 0.625, where 1 - 2 / (e^2x + 1) would
 * cancel; above it that formula on exp; +-1 from |x| = 10 on (exactly 1 in float there). */
static SLIMC_RT_UNUSED inline float slimc_rt_tanh(float x)
{
    const float a = x < 0.0f ? -x : x;
    const float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z + -5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z + -3.33332819422e-1f;
    const float small = x + x * z * p;
    const float e = slimc_rt_exp(2.0f * (a > 10.0f ? 10.0f : a));
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0.0f ? -big : big;
    return a < 0.625f ? (x == 0.0f ? x : small) : (a == a ? big : x); /* -0 stays -0 */
}

/* erf as a rational function on [-4, 4] (Eigen's and XLA's float erf; outside it erf is
 * +-1 in float). */
static SLIMC_RT_UNUSED inline float slimc_rt_erf(float x)
{
    x = x > 4.0f ? 4.0f : x;
    x = x < -4.0f ? -4.0f : x;
    const float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return x * p / q;
}

#endif
