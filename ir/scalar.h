/* The spellings of ops.def's scalar expressions (its E(...) column). An expression is
 * written once, over x (and y; p0, p1 for attribute parameters) with these helper names,
 * and each expander picks a spelling by defining one SC_SPELL_* before including this
 * header (one per translation unit):
 *   SC_SPELL_F32    float C: the reference evaluator (ir/eval.c)
 *   SC_SPELL_F64    double C: the evaluator of f64, f16, bf16 (ir/eval_dtypes.c)
 *   SC_SPELL_C_F32  float C text for the emitter (codegen/c/elementwise.c), which
 *                   stringifies the expanded expression and substitutes the operands
 *   SC_SPELL_C_F64  double C text (codegen/c/elementwise_dtypes.c)
 *   SC_SPELL_CUDA_F32  float CUDA C text (codegen/cuda/elementwise.c): CUDA's device
 *                   library spells the functions as libm does, and the precise ones (expf,
 *                   not __expf) keep the GPU's results within 1e-6 of the CPU's
 * Helpers:
 *   SC_F(c)   a floating constant written with a decimal point (SC_F(0.5), not SC_F(1))
 *   SC_EXP SC_LOG SC_SQRT SC_TANH SC_ERF SC_ABS SC_POW SC_COPYSIGN SC_FLOOR SC_CEIL SC_RINT
 *   SC_SIN SC_COS SC_TAN SC_ASIN SC_ACOS SC_ATAN   the libm functions
 *   SC_ISNAN(v)   v is NaN (the emitted code spells it v != v, as its helpers always did) */
#if defined(SC_SPELL_F32) || defined(SC_SPELL_C_F32) || defined(SC_SPELL_CUDA_F32)
#define SC_F(c)     c##f
#define SC_EXP      expf
#define SC_LOG      logf
#define SC_SQRT     sqrtf
#define SC_TANH     tanhf
#define SC_ERF      erff
#define SC_ABS      fabsf
#define SC_POW      powf
#define SC_COPYSIGN copysignf
#define SC_FLOOR    floorf
#define SC_CEIL     ceilf
#define SC_RINT     rintf
#define SC_SIN      sinf
#define SC_COS      cosf
#define SC_TAN      tanf
#define SC_ASIN     asinf
#define SC_ACOS     acosf
#define SC_ATAN     atanf
#ifdef SC_SPELL_C_F32
/* the emitted C's exp, tanh and erf are the runtime's branch-free ones
 * (runtime/kernels/vmath.h): loops over them vectorize */
#undef SC_EXP
#undef SC_TANH
#undef SC_ERF
#define SC_EXP  slimc_rt_exp
#define SC_TANH slimc_rt_tanh
#define SC_ERF  slimc_rt_erf
#endif
#elif defined(SC_SPELL_F64) || defined(SC_SPELL_C_F64)
#define SC_F(c)     c
#define SC_EXP      exp
#define SC_LOG      log
#define SC_SQRT     sqrt
#define SC_TANH     tanh
#define SC_ERF      erf
#define SC_ABS      fabs
#define SC_POW      pow
#define SC_COPYSIGN copysign
#define SC_FLOOR    floor
#define SC_CEIL     ceil
#define SC_RINT     rint
#define SC_SIN      sin
#define SC_COS      cos
#define SC_TAN      tan
#define SC_ASIN     asin
#define SC_ACOS     acos
#define SC_ATAN     atan
#else
#error "define one SC_SPELL_* before including ir/scalar.h"
#endif

#if defined(SC_SPELL_C_F32) || defined(SC_SPELL_C_F64) || defined(SC_SPELL_CUDA_F32)
#define SC_ISNAN(v) (v != v) /* v is an operand the expander parenthesizes */
/* The expanded expression as a string literal. */
#define SC_STR_(...) #__VA_ARGS__
#define SC_STR(...)  SC_STR_(__VA_ARGS__)
#else
#define SC_ISNAN(v) isnan(v)
#endif
