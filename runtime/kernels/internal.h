/* internal.h — what the kernel families share and generated code never sees (it ends up
 * inside `#ifndef SLIMC_RT_EXTERN` in runtime/slimc_rt.h): the x86 intrinsics, the target
 * attribute of each instruction set, the CPU-feature probes of cpu.c, and the few helpers
 * that more than one family calls.
 *
 * Linkage: in the generated header (SLIMC_RT_ONE_FILE) the kernels are one translation unit
 * and every helper is `static`, as the hand-kept header had it, so AOT code and
 * libslimc_kernels.so compile exactly what they compiled before. A family file compiled on
 * its own (the build's slimc_kernels_parts check: each file has its own includes, and the
 * files link together) sees the SLIMC_RT_SHARED functions as hidden externs. */
#ifndef SLIMC_RT_INTERNAL_H
#define SLIMC_RT_INTERNAL_H

#include "runtime/kernels/kernels.h"

#ifdef SLIMC_RT_ONE_FILE
#define SLIMC_RT_SHARED static SLIMC_RT_UNUSED
#else
#define SLIMC_RT_SHARED __attribute__((visibility("hidden")))
#endif

#if defined(__GNUC__) && defined(__x86_64__)
#define SLIMC_RT_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

enum { SLIMC_RT_ISA_GENERIC = 0, SLIMC_RT_ISA_AVX2 = 1, SLIMC_RT_ISA_AVX512 = 2 };

#ifdef SLIMC_RT_X86
#if defined(__clang__)
#define SLIMC_RT_UNROLL _Pragma("clang loop unroll(full)")
#else
#define SLIMC_RT_UNROLL _Pragma("GCC unroll 16")
#endif
#define SLIMC_RT_AVX512  __attribute__((target("avx512f,avx512vl,avx512bw,avx2,fma")))
#define SLIMC_RT_AVX2    __attribute__((target("avx2,fma")))
#define SLIMC_RT_VNNI    __attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni,avx2,fma")))
#define SLIMC_RT_AVXVNNI __attribute__((target("avxvnni,avx2,fma")))
#define SLIMC_RT_VBMI                                                                              \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512vbmi,avx512vnni,avx2,fma")))
#endif

/* AMX tiles (amx.h) need Linux to grant the tile state (cpu.c: slimc_rt_has_amx). */
#if defined(SLIMC_RT_X86) && defined(__linux__)
#define SLIMC_RT_HAS_AMX 1
#define SLIMC_RT_AMX                                                                               \
    __attribute__((target("amx-tile,amx-int8,avx512f,avx512vl,avx512bw,avx512vnni,avx2,fma")))
/* gcc's tile loads are asm statements without a memory operand: a compiler barrier keeps
 * the stores that fill a tile's source ahead of them */
#define SLIMC_RT_BARRIER() __asm__ volatile("" ::: "memory")
#endif

/* ---- the CPU-feature probes (cpu.c), each detected once and cached ---- */

/* The instruction set of the fp32 kernels (SLIMC_RT_ISA_*), capped by SLIMC_MAX_ISA. */
SLIMC_RT_SHARED int slimc_rt_isa(void);
/* AVX-512 VNNI (vpdpbusd on zmm), unless SLIMC_NO_VNNI. */
SLIMC_RT_SHARED int slimc_rt_has_vnni(void);
#ifdef SLIMC_RT_X86
/* AVX-VNNI (vpdpbusd on ymm, VEX), unless SLIMC_NO_VNNI. */
SLIMC_RT_SHARED int slimc_rt_has_avxvnni(void);
/* AVX-512 VBMI (vpermt2b), on top of VNNI. */
SLIMC_RT_SHARED int slimc_rt_has_vbmi(void);
/* bit 0: AVX512_BF16, bit 1: AMX-BF16 granted; unless SLIMC_NO_BF16. */
SLIMC_RT_SHARED int slimc_rt_bf16_caps(void);
#endif
#ifdef SLIMC_RT_HAS_AMX
/* AMX-INT8 with the tile state granted by Linux, unless SLIMC_NO_AMX / SLIMC_NO_VNNI. */
SLIMC_RT_SHARED int slimc_rt_has_amx(void);
#endif

/* ---- gemm.c, for conv.c and lowbit.c ---- */

/* C = init + A B on the instruction set isa (slimc_rt_isa()); gemm.c's section comment. */
SLIMC_RT_SHARED void slimc_rt_gemm(int isa, int64_t m, int64_t n, int64_t K, const float *A,
                                   int64_t rsa, int64_t csa, const float *B, int64_t ldb, float *C,
                                   int64_t ldc, const float *brow, const float *bcol, int accum);
/* The same, then res (laid out as C; NULL: none) added and act (SLIMC_RT_ACT_*) applied:
 * the AVX-512 tiles do both as they store (conv.c's last k block). */
SLIMC_RT_SHARED void slimc_rt_gemm_act(int isa, int64_t m, int64_t n, int64_t K, const float *A,
                                       int64_t rsa, int64_t csa, const float *B, int64_t ldb,
                                       float *C, int64_t ldc, const float *brow, const float *bcol,
                                       int accum, int64_t act, const float *res);
/* Rows [k0, k0 + kc) of one group's im2col matrix for output pixels [p0, p0 + np) into
 * bp [kc, SLIMC_RT_CONV_NP] (kernels/conv.c; the sparse conv packs the same panels). */
SLIMC_RT_SHARED void slimc_rt_im2col(int isa, const slimc_rt_conv *s, const float *x, int64_t k0,
                                     int64_t kc, int64_t p0, int64_t np, float *bp);
/* act (SLIMC_RT_ACT_*) on rows [0, m) x columns [0, n) of y (row stride ldy). */
SLIMC_RT_SHARED void slimc_rt_act(int isa, int64_t act, float *y, int64_t ldy, int64_t m,
                                  int64_t n);
/* y = act(y + res) there, res laid out as y; res NULL: slimc_rt_act. */
SLIMC_RT_SHARED void slimc_rt_res_act(int isa, int64_t act, float *y, int64_t ldy, const float *res,
                                      int64_t m, int64_t n);

/* ---- inline helpers of more than one family ---- */

#ifdef SLIMC_RT_X86
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) __m512 slimc_rt_act_512(int64_t act,
                                                                                     __m512 v)
{
    if (act == SLIMC_RT_ACT_NONE)
        return v;
    if (act == SLIMC_RT_ACT_HARDSWISH) {
        __m512 t = _mm512_add_ps(v, _mm512_set1_ps(3.0f));
        t = _mm512_mask_mov_ps(t, _mm512_cmp_ps_mask(v, _mm512_set1_ps(-3.0f), _CMP_LE_OQ),
                               _mm512_setzero_ps());
        t = _mm512_mask_mov_ps(t, _mm512_cmp_ps_mask(v, _mm512_set1_ps(3.0f), _CMP_GE_OQ),
                               _mm512_set1_ps(6.0f));
        return _mm512_div_ps(_mm512_mul_ps(v, t), _mm512_set1_ps(6.0f));
    }
    v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LE_OQ),
                           _mm512_setzero_ps());
    if (act == SLIMC_RT_ACT_RELU6)
        v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, _mm512_set1_ps(6.0f), _CMP_GE_OQ),
                               _mm512_set1_ps(6.0f));
    return v;
}
#endif

#ifdef SLIMC_RT_X86
/* The vector exps of the softmax rows (rows.c) and attention (attention.c). */
/* exp of 16 lanes (Cephes' expf: x = n ln2 + r, |r| <= ln2 / 2, a degree-5 polynomial,
 * times 2^n by scalef), within 2 ulp of expf; NaN stays NaN, large negative x gives 0,
 * large positive infinity. */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) __m512 slimc_rt_exp_512(__m512 x)
{
    /* clamp, NaN passing through (max/min return their second operand for NaN) */
    x = _mm512_min_ps(_mm512_set1_ps(88.8f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* exp of 8 lanes: slimc_rt_exp_512's clamp and polynomial; 2^n as two exponent-field
 * products (n down to -150 stays in range: results below FLT_MIN come out subnormal or 0). */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) __m256 slimc_rt_exp_256(__m256 x)
{
    x = _mm256_min_ps(_mm256_set1_ps(88.8f), _mm256_max_ps(_mm256_set1_ps(-104.0f), x));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1),
                  n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
}

#endif

#ifdef SLIMC_RT_X86
/* The bits [lo, hi) of a 64-bit mask (0 when hi <= lo). */
static inline __mmask64 slimc_rt_bits64(int64_t lo, int64_t hi)
{
    lo = slimc_rt_max(lo, 0);
    hi = slimc_rt_min(hi, 64);
    if (hi <= lo)
        return 0;
    const uint64_t top = hi == 64 ? ~0ull : (1ull << hi) - 1ull;
    return (__mmask64)(top & ~((1ull << lo) - 1ull));
}
#endif

#ifdef SLIMC_RT_X86
/* r[t] becomes column t of the 8 x 8 block of floats whose rows were r[0..7]: pairs, then
 * quads within 128-bit lanes, then the lanes (the sparse kernels' x panels and stores). */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void slimc_rt_transpose8(__m256 *r)
{
    __m256 t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    __m256 q[8];
    for (int i = 0; i < 8; i += 4) {
        q[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        q[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        q[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        q[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm256_permute2f128_ps(q[c], q[c + 4], 0x20);
        r[c + 4] = _mm256_permute2f128_ps(q[c], q[c + 4], 0x31);
    }
}

/* panel[k * mb + i] = x[i * ld + k] for k < kc, i < mc (zeros for mc <= i < mb; mb a multiple
 * of 8): whole blocks of 8 rows by slimc_rt_transpose8, the rest by plain copies (the x
 * panels of the CSR and N:M kernels). */
static inline SLIMC_RT_AVX2 void slimc_rt_panel_t8(const float *x, int64_t ld, int64_t kc,
                                                   int64_t mc, int64_t mb, float *panel)
{
    for (int64_t i0 = 0; i0 < mb; i0 += 8) {
        if (i0 + 8 > mc) { /* a partial block of rows: plain copies, zeros past mc */
            for (int64_t k = 0; k < kc; k++)
                for (int64_t i = i0; i < i0 + 8; i++)
                    panel[k * mb + i] = i < mc ? x[i * ld + k] : 0.0f;
            continue;
        }
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++)
                r[i] = _mm256_loadu_ps(x + (i0 + i) * ld + k);
            slimc_rt_transpose8(r);
            for (int c = 0; c < 8; c++)
                _mm256_storeu_ps(panel + (k + c) * mb + i0, r[c]);
        }
        for (; k < kc; k++)
            for (int64_t i = i0; i < i0 + 8; i++)
                panel[k * mb + i] = x[i * ld + k];
    }
}

/* r[t] becomes column t of the 16 x 16 block whose rows were r[0..15]: pairs, then quads
 * within 128-bit lanes, then the lanes across the four quads (lowbit.c's weight decoding,
 * rows.c's row sums). */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void slimc_rt_transpose16(__m512 *r)
{
    __m512 t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) { /* u[i + m], lane L: rows i .. i + 3 of column 4 L + m */
        const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]),
                      c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
        u[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int m = 0; m < 4; m++) {
        const __m512 a = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x44),
                     b = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x44),
                     c = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xee),
                     d = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xee);
        r[m] = _mm512_shuffle_f32x4(a, b, 0x88);
        r[4 + m] = _mm512_shuffle_f32x4(a, b, 0xdd);
        r[8 + m] = _mm512_shuffle_f32x4(c, d, 0x88);
        r[12 + m] = _mm512_shuffle_f32x4(c, d, 0xdd);
    }
}
#endif

/* conv.c's 3x3 depthwise kernel, whose shapes and row blocks qdw.c's int8 one shares */
#ifdef SLIMC_RT_X86
#ifndef SLIMC_RT_DW_RB
#define SLIMC_RT_DW_RB 4 /* output rows per block of the 3x3 depthwise kernel (<= 8) */
#endif

/* the shapes slimc_rt_dw3_plane_512 takes */
static inline int slimc_rt_dw3_ok(const slimc_rt_conv *s)
{
    return s->KH == 3 && s->KW == 3 && s->DH == 1 && s->DW == 1 && s->SH == s->SW &&
           (s->SW == 1 || s->SW == 2) && s->OW <= 16 * 64;
}
#endif

/* qdw_avx2.c: slimc_rt_qdw_plane on AVX2 for any kernel, stride, dilation and padding, corr
 * the accumulators' start (qdw.c); 0 when it declines (a kernel over 256 rows or 1024 tap
 * pairs, no memory), and the caller runs the loop. */
#ifdef SLIMC_RT_X86
SLIMC_RT_SHARED SLIMC_RT_AVX2 int slimc_rt_qdw_plane_avx2(const slimc_rt_conv *s, const uint8_t *x,
                                                          int32_t zp, const int8_t *w, int32_t corr,
                                                          float xs, float ws, const float *bias,
                                                          int64_t o, void *y,
                                                          const slimc_rt_qreq *rq);
#endif

/* int8 outputs (quant.c, qconv.c, qdw.c, qpacked.c) */
/* The f32 output of one exact accumulator. */
static inline float slimc_rt_qout(int32_t acc, float xs, float ws, const float *bias, int64_t o)
{
    const float m = xs * ws;
    const float r = (float)acc * m;
    return bias ? r + bias[o] : r;
}

/* out[i] = y, as f32 or requantized to u8 (slimc_rt_qreq). */
static inline void slimc_rt_qstore(void *out, int64_t i, float y, const slimc_rt_qreq *rq)
{
    if (!rq) {
        ((float *)out)[i] = y;
        return;
    }
    if (rq->act != SLIMC_RT_ACT_NONE)
        y = y <= 0.0f ? 0.0f : (rq->act == SLIMC_RT_ACT_RELU6 && y >= 6.0f) ? 6.0f : y;
    float v = rintf(rq->div != 0.0f ? y / rq->div : y * rq->inv) + (float)rq->zp;
    v = v > 0.0f ? v : 0.0f; /* NaN -> 0 */
    v = v < 255.0f ? v : 255.0f;
    ((uint8_t *)out)[i] = (uint8_t)v;
}

#ifdef SLIMC_RT_X86
/* slimc_rt_qstore for the lanes mk of y at out[i ..], the same bytes with fewer steps:
 * a = y inv (or y / div) capped at 256 (NaN stays NaN: vminps returns its second operand),
 * rounded to nearest even into i32 (NaN and values out of range become INT_MIN), plus zp,
 * below 0 raised to 0, above 255 saturated by the store. rintf(a) + zp is exact in f32
 * wherever it is not clamped anyway, so every case gives slimc_rt_qstore's byte. */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_qstore16(void *out, int64_t i, __mmask16 mk, __m512 y, const slimc_rt_qreq *rq)
{
    if (!rq) {
        _mm512_mask_storeu_ps((float *)out + i, mk, y);
        return;
    }
    y = slimc_rt_act_512(rq->act, y);
    const __m512 a = _mm512_min_ps(_mm512_set1_ps(256.0f),
                                   rq->div != 0.0f ? _mm512_div_ps(y, _mm512_set1_ps(rq->div))
                                                   : _mm512_mul_ps(y, _mm512_set1_ps(rq->inv)));
    __m512i q = _mm512_cvt_roundps_epi32(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_max_epi32(_mm512_add_epi32(q, _mm512_set1_epi32(rq->zp)), _mm512_setzero_si512());
    _mm512_mask_cvtusepi32_storeu_epi8((uint8_t *)out + i, mk, q);
}
#endif

#ifdef SLIMC_RT_X86
/* qlinear's epilogue for outputs [o, o + n) (n <= 8; none when n <= 0) of one row at
 * out[i ..], from their i32 sums in acc: slimc_rt_qout then slimc_rt_qstore, the same float
 * operations 8 lanes at a time when n is 8 (qpacked.c, qsparse.c). */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void
slimc_rt_qstore8(void *out, int64_t i, __m256i acc, int64_t n, int64_t o, int32_t zp,
                 const int32_t *wsum, float xs, const float *ws, const float *bias,
                 const slimc_rt_qreq *rq)
{
    if (n <= 0)
        return;
    int32_t t[8];
    _mm256_storeu_si256((__m256i *)(void *)t, acc);
    if (n < 8) {
        for (int64_t j = 0; j < n; j++)
            slimc_rt_qstore(out, i + j,
                            slimc_rt_qout(t[j] - zp * wsum[o + j], xs, ws[o + j], bias, o + j), rq);
        return;
    }
    const __m256i s = _mm256_sub_epi32(
        acc, _mm256_mullo_epi32(_mm256_set1_epi32(zp),
                                _mm256_loadu_si256((const __m256i *)(const void *)(wsum + o))));
    __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(s),
                             _mm256_mul_ps(_mm256_set1_ps(xs), _mm256_loadu_ps(ws + o)));
    if (bias)
        y = _mm256_add_ps(y, _mm256_loadu_ps(bias + o));
    if (!rq) {
        _mm256_storeu_ps((float *)out + i, y);
        return;
    }
    const __m256 zero = _mm256_setzero_ps();
    if (rq->act != SLIMC_RT_ACT_NONE) {
        y = _mm256_blendv_ps(y, zero, _mm256_cmp_ps(y, zero, _CMP_LE_OQ));
        if (rq->act == SLIMC_RT_ACT_RELU6)
            y = _mm256_blendv_ps(y, _mm256_set1_ps(6.0f),
                                 _mm256_cmp_ps(y, _mm256_set1_ps(6.0f), _CMP_GE_OQ));
    }
    __m256 v = _mm256_round_ps(rq->div != 0.0f ? _mm256_div_ps(y, _mm256_set1_ps(rq->div))
                                               : _mm256_mul_ps(y, _mm256_set1_ps(rq->inv)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v = _mm256_add_ps(v, _mm256_set1_ps((float)rq->zp));
    v = _mm256_min_ps(_mm256_max_ps(v, zero), _mm256_set1_ps(255.0f)); /* NaN -> 0 */
    _mm256_storeu_si256((__m256i *)(void *)t, _mm256_cvttps_epi32(v));
    for (int j = 0; j < 8; j++)
        ((uint8_t *)out)[i + j] = (uint8_t)t[j];
}
#endif

#ifdef SLIMC_RT_X86
/* slimc_rt_qout then slimc_rt_qstore on AVX2 for 8 exact sums acc (mv = xs ws, bv the bias
 * when has_bias), the first n (1..8) stored at out[i ..] (qdw_avx2.c, qconv.c). The product is kept
 * apart from the bias add (an empty asm stops a compiler contracting them into an FMA, which rounds
 * once instead of twice). */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void
slimc_rt_qout8(void *out, int64_t i, int n, __m256i acc, __m256 mv, __m256 bv, int has_bias,
               const slimc_rt_qreq *rq)
{
    __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), mv);
    __asm__("" : "+x"(y));
    if (has_bias)
        y = _mm256_add_ps(y, bv);
    if (!rq) {
        if (n == 8)
            _mm256_storeu_ps((float *)out + i, y);
        else {
            float t[8];
            _mm256_storeu_ps(t, y);
            memcpy((float *)out + i, t, sizeof(float) * (size_t)n);
        }
        return;
    }
    const __m256 zero = _mm256_setzero_ps();
    if (rq->act != SLIMC_RT_ACT_NONE) { /* y <= 0: +0 (NaN stays); relu6: y >= 6: 6 */
        y = _mm256_andnot_ps(_mm256_cmp_ps(y, zero, _CMP_LE_OQ), y);
        if (rq->act == SLIMC_RT_ACT_RELU6) {
            const __m256 six = _mm256_set1_ps(6.0f);
            y = _mm256_blendv_ps(y, six, _mm256_cmp_ps(y, six, _CMP_GE_OQ));
        }
    }
    const __m256 a = rq->div != 0.0f ? _mm256_div_ps(y, _mm256_set1_ps(rq->div))
                                     : _mm256_mul_ps(y, _mm256_set1_ps(rq->inv));
    __m256 v = _mm256_add_ps(_mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                             _mm256_set1_ps((float)rq->zp));
    v = _mm256_max_ps(v, zero); /* a NaN lane gives the second operand: 0 */
    v = _mm256_min_ps(v, _mm256_set1_ps(255.0f));
    const __m256i q = _mm256_cvttps_epi32(v); /* 0 .. 255, exact */
    const __m256i p = _mm256_packus_epi16(_mm256_packus_epi32(q, q), _mm256_setzero_si256());
    const __m128i b = _mm_unpacklo_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    if (n == 8)
        _mm_storel_epi64((__m128i *)(void *)((uint8_t *)out + i), b);
    else {
        uint8_t t[16];
        _mm_storeu_si128((__m128i *)(void *)t, b);
        memcpy((uint8_t *)out + i, t, (size_t)n);
    }
}
#endif

/* The int8 VNNI tile of 4 output channels x 64 pixels, in 16 named accumulators c00..c33
 * (with them in an array gcc and clang copied each around every vpdpbusd): declared from
 * acc[4][4], one step of 4 taps (the 64 pixels' words at pp, each channel's 4 weights at
 * w0..w3), and stored back. slimc_rt_qconv_tile_vnni and slimc_rt_qtaps_block. */
#define SLIMC_RT_VNNI_ACC_LOAD(acc)                                                                \
    __m512i c00 = (acc)[0][0], c01 = (acc)[0][1], c02 = (acc)[0][2], c03 = (acc)[0][3];            \
    __m512i c10 = (acc)[1][0], c11 = (acc)[1][1], c12 = (acc)[1][2], c13 = (acc)[1][3];            \
    __m512i c20 = (acc)[2][0], c21 = (acc)[2][1], c22 = (acc)[2][2], c23 = (acc)[2][3];            \
    __m512i c30 = (acc)[3][0], c31 = (acc)[3][1], c32 = (acc)[3][2], c33 = (acc)[3][3]
#define SLIMC_RT_VNNI_ACC_STORE(acc)                                                               \
    do {                                                                                           \
        (acc)[0][0] = c00, (acc)[0][1] = c01, (acc)[0][2] = c02, (acc)[0][3] = c03;                \
        (acc)[1][0] = c10, (acc)[1][1] = c11, (acc)[1][2] = c12, (acc)[1][3] = c13;                \
        (acc)[2][0] = c20, (acc)[2][1] = c21, (acc)[2][2] = c22, (acc)[2][3] = c23;                \
        (acc)[3][0] = c30, (acc)[3][1] = c31, (acc)[3][2] = c32, (acc)[3][3] = c33;                \
    } while (0)
#define SLIMC_RT_VNNI_STEP4X4(pp, w0, w1, w2, w3)                                                  \
    do {                                                                                           \
        const __m512i a0 = _mm512_loadu_si512((const void *)(pp));                                 \
        const __m512i a1 = _mm512_loadu_si512((const void *)((pp) + 16));                          \
        const __m512i a2 = _mm512_loadu_si512((const void *)((pp) + 32));                          \
        const __m512i a3 = _mm512_loadu_si512((const void *)((pp) + 48));                          \
        int32_t t0, t1, t2, t3;                                                                    \
        memcpy(&t0, (w0), 4);                                                                      \
        memcpy(&t1, (w1), 4);                                                                      \
        memcpy(&t2, (w2), 4);                                                                      \
        memcpy(&t3, (w3), 4);                                                                      \
        const __m512i b0 = _mm512_set1_epi32(t0), b1 = _mm512_set1_epi32(t1);                      \
        const __m512i b2 = _mm512_set1_epi32(t2), b3 = _mm512_set1_epi32(t3);                      \
        c00 = _mm512_dpbusd_epi32(c00, a0, b0);                                                    \
        c01 = _mm512_dpbusd_epi32(c01, a1, b0);                                                    \
        c02 = _mm512_dpbusd_epi32(c02, a2, b0);                                                    \
        c03 = _mm512_dpbusd_epi32(c03, a3, b0);                                                    \
        c10 = _mm512_dpbusd_epi32(c10, a0, b1);                                                    \
        c11 = _mm512_dpbusd_epi32(c11, a1, b1);                                                    \
        c12 = _mm512_dpbusd_epi32(c12, a2, b1);                                                    \
        c13 = _mm512_dpbusd_epi32(c13, a3, b1);                                                    \
        c20 = _mm512_dpbusd_epi32(c20, a0, b2);                                                    \
        c21 = _mm512_dpbusd_epi32(c21, a1, b2);                                                    \
        c22 = _mm512_dpbusd_epi32(c22, a2, b2);                                                    \
        c23 = _mm512_dpbusd_epi32(c23, a3, b2);                                                    \
        c30 = _mm512_dpbusd_epi32(c30, a0, b3);                                                    \
        c31 = _mm512_dpbusd_epi32(c31, a1, b3);                                                    \
        c32 = _mm512_dpbusd_epi32(c32, a2, b3);                                                    \
        c33 = _mm512_dpbusd_epi32(c33, a3, b3);                                                    \
    } while (0)

#endif /* SLIMC_RT_INTERNAL_H */
