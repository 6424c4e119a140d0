/* quant.c — int8: dynamic parameters, slimc_rt_qgemm (portable, AVX-512 VNNI, AVX-VNNI),
 * and quantize. */
#include "runtime/kernels/internal.h"

/* ---- dynamic int8 parameters ---- */

#ifdef SLIMC_RT_X86
/* min and max are exact, so 16 lanes at a time give the sequential loop's values;
 * min_ps(x, lo) is `x < lo ? x : lo` (NaN keeps lo). */
static SLIMC_RT_UNUSED __attribute__((target("avx512f"))) void
slimc_rt_minmax_512(const float *x, int64_t n, float *lo_out, float *hi_out)
{
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        lo = _mm512_min_ps(v, lo);
        hi = _mm512_max_ps(v, hi);
    }
    if (i < n) {
        const __mmask16 mk = (__mmask16)((1u << (n - i)) - 1u);
        const __m512 v = _mm512_maskz_loadu_ps(mk, x + i); /* the others read 0: no change */
        lo = _mm512_min_ps(v, lo);
        hi = _mm512_max_ps(v, hi);
    }
    *lo_out = _mm512_reduce_min_ps(lo);
    *hi_out = _mm512_reduce_max_ps(hi);
}

/* The same on AVX2, 32 values a step in four pairs of registers; the rest of n in the
 * scalar loop from the partial lo and hi. Returns how many it did. */
static SLIMC_RT_AVX2 int64_t slimc_rt_minmax_avx2(const float *x, int64_t n, float *lo_out,
                                                  float *hi_out)
{
    __m256 lo[4], hi[4];
    for (int j = 0; j < 4; j++)
        lo[j] = hi[j] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int j = 0; j < 4; j++) {
            const __m256 v = _mm256_loadu_ps(x + i + 8 * j);
            lo[j] = _mm256_min_ps(v, lo[j]);
            hi[j] = _mm256_max_ps(v, hi[j]);
        }
    const __m256 l = _mm256_min_ps(_mm256_min_ps(lo[0], lo[1]), _mm256_min_ps(lo[2], lo[3]));
    const __m256 h = _mm256_max_ps(_mm256_max_ps(hi[0], hi[1]), _mm256_max_ps(hi[2], hi[3]));
    float lt[8], ht[8];
    _mm256_storeu_ps(lt, l);
    _mm256_storeu_ps(ht, h);
    float a = 0.0f, b = 0.0f;
    for (int j = 0; j < 8; j++) {
        a = lt[j] < a ? lt[j] : a;
        b = ht[j] > b ? ht[j] : b;
    }
    *lo_out = a;
    *hi_out = b;
    return i;
}
#endif

SLIMC_RT_KERNEL void slimc_rt_dyn_params(const float *x, int64_t n, float *scale, int32_t *zp)
{
    float lo = 0.0f, hi = 0.0f;
    int64_t i = 0;
#ifdef SLIMC_RT_X86
    if (slimc_rt_isa() == SLIMC_RT_ISA_AVX512) {
        slimc_rt_minmax_512(x, n, &lo, &hi);
        i = n;
    } else if (slimc_rt_isa() == SLIMC_RT_ISA_AVX2)
        i = slimc_rt_minmax_avx2(x, n, &lo, &hi);
#endif
    for (; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    const float s = (hi - lo) / 255.0f;
    if (!(s > 0.0f) || s > 3.0e38f) {
        *scale = 1.0f;
        *zp = 0;
        return;
    }
    const float z = nearbyintf(-lo / s);
    *scale = s;
    *zp = (int32_t)(z < 0.0f ? 0.0f : z > 255.0f ? 255.0f : z);
}

/* ---- int8 kernels (passes/quantize.c, codegen/c/quant.c, docs/quantization.md) ----
 *
 * Activations are u8 with a zero point, weights s8 symmetric per output channel: the
 * operand order of AVX-512 VNNI's vpdpbusd (u8 x s8, four products summed into each i32
 * lane). slimc_rt_qgemm computes, for m < M and o < O,
 *   acc = sum_k A[m * lda + k] * W[o * ldw + k] - zp * wsum[o]      (exact, in i32)
 *   out[m * sm + o * so] = (float)acc * (xs * ws[o]) + bias[o]
 * as dot products: both A's rows and W's rows are read contiguously along k, 64 bytes at a
 * time (a masked load for the tail), so neither needs packing; a 4 x 4 block of
 * (row, output) pairs keeps 16 accumulators in registers (1 x 4 for single rows), and each
 * accumulator is reduced to one i32 at the end. The VNNI path is chosen at run time (CPUID
 * leaf 7, ECX bit 11, on top of the AVX-512 checks above); the portable loop is the
 * fallback (and SLIMC_MAX_ISA below avx512 selects it). The i32 sums are exact in any order,
 * so both paths give the same accumulators bit for bit. */

static SLIMC_RT_UNUSED void slimc_rt_qgemm_c(int64_t M, int64_t O, int64_t K, const uint8_t *A,
                                             int64_t lda, const int8_t *W, int64_t ldw, int32_t zp,
                                             const int32_t *wsum, float xs, const float *ws,
                                             const float *bias, void *out, const slimc_rt_qreq *rq,
                                             int64_t sm, int64_t so)
{
    for (int64_t m = 0; m < M; m++)
        for (int64_t o = 0; o < O; o++) {
            const uint8_t *a = A + m * lda;
            const int8_t *w = W + o * ldw;
            int32_t acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (int32_t)a[k] * (int32_t)w[k];
            slimc_rt_qstore(out, m * sm + o * so,
                            slimc_rt_qout(acc - zp * wsum[o], xs, ws[o], bias, o), rq);
        }
}

#ifdef SLIMC_RT_X86
/* One block of MI rows x OI outputs (rows and outputs past the ends are clamped to the
 * last one: computed again, not stored). */
static inline __attribute__((always_inline)) SLIMC_RT_VNNI void
slimc_rt_qblock_vnni(int MI, int OI, int64_t m0, int64_t mi, int64_t o0, int64_t oi, int64_t K,
                     const uint8_t *A, int64_t lda, const int8_t *W, int64_t ldw, int32_t zp,
                     const int32_t *wsum, float xs, const float *ws, const float *bias, void *out,
                     const slimc_rt_qreq *rq, int64_t sm, int64_t so)
{
    __m512i acc[4][8];
    const uint8_t *ap[4];
    const int8_t *wp[8];
    for (int i = 0; i < MI; i++)
        ap[i] = A + (m0 + (i < mi ? i : mi - 1)) * lda;
    for (int j = 0; j < OI; j++)
        wp[j] = W + (o0 + (j < oi ? j : oi - 1)) * ldw;
    SLIMC_RT_UNROLL
    for (int i = 0; i < MI; i++) {
        SLIMC_RT_UNROLL
        for (int j = 0; j < OI; j++)
            acc[i][j] = _mm512_setzero_si512();
    }
    int64_t k = 0;
    for (; k + 64 <= K; k += 64) {
        __m512i a[4], w[8];
        SLIMC_RT_UNROLL
        for (int i = 0; i < MI; i++)
            a[i] = _mm512_loadu_si512((const void *)(ap[i] + k));
        SLIMC_RT_UNROLL
        for (int j = 0; j < OI; j++)
            w[j] = _mm512_loadu_si512((const void *)(wp[j] + k));
        SLIMC_RT_UNROLL
        for (int i = 0; i < MI; i++) {
            SLIMC_RT_UNROLL
            for (int j = 0; j < OI; j++)
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], a[i], w[j]);
        }
    }
    if (k < K) {
        const __mmask64 mk = (__mmask64)(~0ULL >> (64 - (K - k)));
        __m512i a[4], w[8];
        for (int i = 0; i < MI; i++)
            a[i] = _mm512_maskz_loadu_epi8(mk, ap[i] + k);
        for (int j = 0; j < OI; j++)
            w[j] = _mm512_maskz_loadu_epi8(mk, wp[j] + k);
        for (int i = 0; i < MI; i++)
            for (int j = 0; j < OI; j++)
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], a[i], w[j]);
    }
    for (int i = 0; i < MI && i < mi; i++)
        for (int j = 0; j < OI && j < oi; j++) {
            const int64_t o = o0 + j;
            const int32_t s = _mm512_reduce_add_epi32(acc[i][j]) - zp * wsum[o];
            slimc_rt_qstore(out, (m0 + i) * sm + o * so, slimc_rt_qout(s, xs, ws[o], bias, o), rq);
        }
}

static SLIMC_RT_VNNI void slimc_rt_qgemm_vnni(int64_t M, int64_t O, int64_t K, const uint8_t *A,
                                              int64_t lda, const int8_t *W, int64_t ldw, int32_t zp,
                                              const int32_t *wsum, float xs, const float *ws,
                                              const float *bias, void *out, const slimc_rt_qreq *rq,
                                              int64_t sm, int64_t so)
{
    int64_t m0 = 0;
    for (; m0 + 4 <= M; m0 += 4)
        for (int64_t o0 = 0; o0 < O; o0 += 4)
            slimc_rt_qblock_vnni(4, 4, m0, 4, o0, slimc_rt_min(4, O - o0), K, A, lda, W, ldw, zp,
                                 wsum, xs, ws, bias, out, rq, sm, so);
    for (; m0 < M; m0++)
        for (int64_t o0 = 0; o0 < O; o0 += 8)
            slimc_rt_qblock_vnni(1, 8, m0, 1, o0, slimc_rt_min(8, O - o0), K, A, lda, W, ldw, zp,
                                 wsum, xs, ws, bias, out, rq, sm, so);
}
#endif /* SLIMC_RT_X86 */

#ifdef SLIMC_RT_X86
static inline SLIMC_RT_AVX2 int32_t slimc_rt_hsum256(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* slimc_rt_qgemm on ymm: per row, 4 outputs' dot products 32 bytes of k at a time (the
 * tail through zeroed copies), one horizontal sum each; the scalar epilogue. */
static SLIMC_RT_AVXVNNI void slimc_rt_qgemm_avxvnni(int64_t M, int64_t O, int64_t K,
                                                    const uint8_t *A, int64_t lda, const int8_t *W,
                                                    int64_t ldw, int32_t zp, const int32_t *wsum,
                                                    float xs, const float *ws, const float *bias,
                                                    void *out, const slimc_rt_qreq *rq, int64_t sm,
                                                    int64_t so)
{
    const int64_t kf = K / 32 * 32;
    for (int64_t m = 0; m < M; m++) {
        const uint8_t *a = A + m * lda;
        uint8_t at[32] = {0};
        memcpy(at, a + kf, (size_t)(K - kf));
        for (int64_t o0 = 0; o0 < O; o0 += 4) {
            const int64_t oc = slimc_rt_min(4, O - o0);
            __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(),
                              _mm256_setzero_si256(), _mm256_setzero_si256()};
            for (int64_t k = 0; k < kf; k += 32) {
                const __m256i av = _mm256_loadu_si256((const __m256i *)(const void *)(a + k));
                for (int j = 0; j < oc; j++)
                    acc[j] = _mm256_dpbusd_avx_epi32(
                        acc[j], av,
                        _mm256_loadu_si256(
                            (const __m256i *)(const void *)(W + (o0 + j) * ldw + k)));
            }
            if (kf < K) {
                const __m256i av = _mm256_loadu_si256((const __m256i *)(const void *)at);
                for (int j = 0; j < oc; j++) {
                    int8_t wt[32] = {0};
                    memcpy(wt, W + (o0 + j) * ldw + kf, (size_t)(K - kf));
                    acc[j] = _mm256_dpbusd_avx_epi32(
                        acc[j], av, _mm256_loadu_si256((const __m256i *)(const void *)wt));
                }
            }
            for (int j = 0; j < oc; j++) {
                const int64_t o = o0 + j;
                slimc_rt_qstore(
                    out, m * sm + o * so,
                    slimc_rt_qout(slimc_rt_hsum256(acc[j]) - zp * wsum[o], xs, ws[o], bias, o), rq);
            }
        }
    }
}
#endif

#ifdef SLIMC_RT_X86
/* slimc_rt_qgemm on plain AVX2 (no VNNI), exact: 32 bytes of k at a time, A's and W's
 * widened to i16 (A's once per row and step, for 4 outputs), vpmaddwd's pair sums added into
 * i32 lanes (u8 x s8 pairs cannot saturate, as vpmaddubsw's would), one horizontal sum per
 * output at the end; the scalar epilogue. */
static SLIMC_RT_AVX2 void slimc_rt_qgemm_avx2(int64_t M, int64_t O, int64_t K, const uint8_t *A,
                                              int64_t lda, const int8_t *W, int64_t ldw, int32_t zp,
                                              const int32_t *wsum, float xs, const float *ws,
                                              const float *bias, void *out, const slimc_rt_qreq *rq,
                                              int64_t sm, int64_t so)
{
    const int64_t kf = K / 32 * 32;
    /* 32 outputs at a time: their k tails (past the last whole 32 bytes) zero-padded once */
    for (int64_t ob = 0; ob < O; ob += 32) {
        const int64_t on = slimc_rt_min(32, O - ob);
        int8_t wt[32][32];
        if (kf < K)
            for (int64_t j = 0; j < on; j++) {
                memset(wt[j], 0, 32);
                memcpy(wt[j], W + (ob + j) * ldw + kf, (size_t)(K - kf));
            }
        for (int64_t m = 0; m < M; m++) {
            const uint8_t *a = A + m * lda;
            uint8_t at[32] = {0};
            memcpy(at, a + kf, (size_t)(K - kf));
            const __m256i tlo = _mm256_cvtepu8_epi16(_mm_loadu_si128((const void *)at));
            const __m256i thi = _mm256_cvtepu8_epi16(_mm_loadu_si128((const void *)(at + 16)));
            for (int64_t o0 = ob; o0 < ob + on; o0 += 4) {
                const int64_t oc = slimc_rt_min(4, ob + on - o0);
                const int8_t *wr[4];
                int64_t jt[4];
                for (int j = 0; j < 4; j++) {
                    jt[j] = o0 - ob + (j < oc ? j : 0);
                    wr[j] = W + (ob + jt[j]) * ldw;
                }
                __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(),
                                  _mm256_setzero_si256(), _mm256_setzero_si256()};
                for (int64_t k = 0; k < kf; k += 32) {
                    const __m256i alo =
                        _mm256_cvtepu8_epi16(_mm_loadu_si128((const void *)(a + k)));
                    const __m256i ahi =
                        _mm256_cvtepu8_epi16(_mm_loadu_si128((const void *)(a + k + 16)));
                    SLIMC_RT_UNROLL
                    for (int j = 0; j < 4; j++) {
                        const __m256i wlo =
                            _mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)(wr[j] + k)));
                        const __m256i whi =
                            _mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)(wr[j] + k + 16)));
                        acc[j] =
                            _mm256_add_epi32(acc[j], _mm256_add_epi32(_mm256_madd_epi16(alo, wlo),
                                                                      _mm256_madd_epi16(ahi, whi)));
                    }
                }
                if (kf < K) {
                    SLIMC_RT_UNROLL
                    for (int j = 0; j < 4; j++) {
                        const __m256i wlo =
                            _mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)wt[jt[j]]));
                        const __m256i whi =
                            _mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)(wt[jt[j]] + 16)));
                        acc[j] =
                            _mm256_add_epi32(acc[j], _mm256_add_epi32(_mm256_madd_epi16(tlo, wlo),
                                                                      _mm256_madd_epi16(thi, whi)));
                    }
                }
                for (int j = 0; j < oc; j++) {
                    const int64_t o = o0 + j;
                    slimc_rt_qstore(
                        out, m * sm + o * so,
                        slimc_rt_qout(slimc_rt_hsum256(acc[j]) - zp * wsum[o], xs, ws[o], bias, o),
                        rq);
                }
            }
        }
    }
}
#endif

SLIMC_RT_KERNEL void slimc_rt_qgemm(int64_t M, int64_t O, int64_t K, const uint8_t *A, int64_t lda,
                                    const int8_t *W, int64_t ldw, int32_t zp, const int32_t *wsum,
                                    float xs, const float *ws, const float *bias, void *out,
                                    const slimc_rt_qreq *rq, int64_t sm, int64_t so)
{
    if (M <= 0 || O <= 0)
        return;
#ifdef SLIMC_RT_X86
    if (K > 0 && slimc_rt_has_vnni()) {
        slimc_rt_qgemm_vnni(M, O, K, A, lda, W, ldw, zp, wsum, xs, ws, bias, out, rq, sm, so);
        return;
    }
    if (K > 0 && slimc_rt_has_avxvnni()) {
        slimc_rt_qgemm_avxvnni(M, O, K, A, lda, W, ldw, zp, wsum, xs, ws, bias, out, rq, sm, so);
        return;
    }
    if (K > 0 && slimc_rt_isa() >= SLIMC_RT_ISA_AVX2) {
        slimc_rt_qgemm_avx2(M, O, K, A, lda, W, ldw, zp, wsum, xs, ws, bias, out, rq, sm, so);
        return;
    }
#endif
    slimc_rt_qgemm_c(M, O, K, A, lda, W, ldw, zp, wsum, xs, ws, bias, out, rq, sm, so);
}

/* x (f32) to u8: round half to even of x * inv, plus zp, clamped to [0, 255]; NaN -> 0.
 * AVX-512: the same steps in 16 lanes (roundscale to nearest even, max with 0 first so a
 * NaN becomes 0 as in the scalar code, min with 255, convert). */
#ifdef SLIMC_RT_X86
static SLIMC_RT_AVX512 void slimc_rt_quantize_u8_512(const float *x, uint8_t *q, int64_t n,
                                                     float inv, int32_t zp)
{
    const __m512 vi = _mm512_set1_ps(inv), vz = _mm512_set1_ps((float)zp), lo = _mm512_setzero_ps(),
                 hi = _mm512_set1_ps(255.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const int64_t left = n - i;
        const __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
        __m512 v = _mm512_maskz_loadu_ps(mk, x + i);
        v = _mm512_roundscale_ps(_mm512_mul_ps(v, vi),
                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v = _mm512_add_ps(v, vz);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi); /* max(NaN, 0) is 0: the second operand */
        _mm_mask_storeu_epi8(q + i, mk, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
    }
}
#endif

#ifdef SLIMC_RT_X86
/* The same on AVX2, 32 values a step (packed to bytes in order by one vpermd); the rest of
 * n in the scalar loop. Returns how many it did. */
static SLIMC_RT_AVX2 int64_t slimc_rt_quantize_u8_avx2(const float *x, uint8_t *q, int64_t n,
                                                       float inv, int32_t zp)
{
    const __m256 vi = _mm256_set1_ps(inv), vz = _mm256_set1_ps((float)zp), lo = _mm256_setzero_ps(),
                 hi = _mm256_set1_ps(255.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i r[4];
        for (int j = 0; j < 4; j++) {
            __m256 v = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), vi),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            v = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, vz), lo), hi); /* NaN -> 0 */
            r[j] = _mm256_cvtps_epi32(v);
        }
        const __m256i b =
            _mm256_packus_epi16(_mm256_packus_epi32(r[0], r[1]), _mm256_packus_epi32(r[2], r[3]));
        _mm256_storeu_si256((__m256i *)(void *)(q + i), _mm256_permutevar8x32_epi32(b, order));
    }
    return i;
}
#endif

SLIMC_RT_KERNEL void slimc_rt_quantize_u8(const float *x, uint8_t *q, int64_t n, float inv,
                                          int32_t zp)
{
    int64_t i = 0;
#ifdef SLIMC_RT_X86
    if (slimc_rt_isa() == SLIMC_RT_ISA_AVX512) {
        slimc_rt_quantize_u8_512(x, q, n, inv, zp);
        return;
    }
    if (slimc_rt_isa() == SLIMC_RT_ISA_AVX2)
        i = slimc_rt_quantize_u8_avx2(x, q, n, inv, zp);
#endif
    const float z = (float)zp;
    for (; i < n; i++) {
        float v = rintf(x[i] * inv) + z;
        v = v > 0.0f ? v : 0.0f; /* NaN -> 0 */
        v = v < 255.0f ? v : 255.0f;
        q[i] = (uint8_t)v;
    }
}

/* qadd (a residual add of two int8 codes, requantized): y[i] = (a[i] - za) sa + (b[i] - zb) sb
 * in f32 (each product rounded, then the sum), then slimc_rt_qstore (rq: act, the output's
 * scale and zero point): the float operations of dequantize, dequantize, add, div or
 * quantize, bit for bit. 16 codes at a time on AVX-512. */
#ifdef SLIMC_RT_X86
static SLIMC_RT_AVX512 int64_t slimc_rt_qadd_u8_512(const uint8_t *a, const uint8_t *b, uint8_t *y,
                                                    int64_t n, float sa, int32_t za, float sb,
                                                    int32_t zb, const slimc_rt_qreq *rq)
{
    const __m512i vza = _mm512_set1_epi32(za), vzb = _mm512_set1_epi32(zb);
    const __m512 vsa = _mm512_set1_ps(sa), vsb = _mm512_set1_ps(sb);
    for (int64_t i = 0; i < n; i += 16) {
        const int64_t left = n - i;
        const __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
        const __m512i ia = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mk, a + i));
        const __m512i ib = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mk, b + i));
        const __m512 fa = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(ia, vza)), vsa);
        const __m512 fb = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(ib, vzb)), vsb);
        slimc_rt_qstore16(y, i, mk, _mm512_add_ps(fa, fb), rq);
    }
    return n;
}
#endif

SLIMC_RT_KERNEL void slimc_rt_qadd_u8(const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n,
                                      float sa, int32_t za, float sb, int32_t zb,
                                      const slimc_rt_qreq *rq)
{
    int64_t i = 0;
#ifdef SLIMC_RT_X86
    if (slimc_rt_isa() == SLIMC_RT_ISA_AVX512)
        i = slimc_rt_qadd_u8_512(a, b, y, n, sa, za, sb, zb, rq);
#endif
    for (; i < n; i++) {
        const float fa = (float)((int32_t)a[i] - za) * sa;
        const float fb = (float)((int32_t)b[i] - zb) * sb;
        slimc_rt_qstore(y, i, fa + fb, rq);
    }
}
