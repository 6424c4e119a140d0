/* qpacked.c — int8 GEMM on weights packed by the layout pass (VNNI, AVX-VNNI, AMX). */
#include "runtime/kernels/internal.h"
#include "runtime/kernels/amx.h"

/* ---- int8 GEMM on VNNI-packed weights (qlinear after the layout pass) ----
 * Per row m and k4: the 4 bytes of A at k = 4 k4 broadcast to every lane, times the 64
 * packed bytes of 16 outputs: vpdpbusd adds 16 dot products of 4 into 16 i32 lanes, one
 * per output, so nothing is reduced across lanes at the end. Register block: up to 8 rows
 * x 32 outputs (16 accumulators, two weight loads and 8 broadcasts per k4). */

static inline int32_t slimc_rt_a4(const uint8_t *a, int64_t k4, int64_t K)
{
    int32_t v = 0;
    const int64_t k = 4 * k4, n = K - k < 4 ? K - k : 4;
    memcpy(&v, a + k, (size_t)n); /* never past the row (K4 rounds up) */
    return v;
}

static void slimc_rt_qgemm_packed_c(int64_t m0, int64_t mc, int64_t o0, int64_t oc, int64_t O,
                                    int64_t K, const uint8_t *A, const int8_t *Wp, int32_t zp,
                                    const int32_t *wsum, float xs, const float *ws,
                                    const float *bias, void *out, const slimc_rt_qreq *rq)
{
    const int64_t KB = slimc_rt_qpack_rows(K);
    for (int64_t m = m0; m < m0 + mc; m++)
        for (int64_t o = o0; o < o0 + oc; o++) {
            const int8_t *w = Wp + (o / 16) * KB * 64 + (o % 16) * 4;
            const uint8_t *a = A + m * K;
            int32_t acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (int32_t)a[k] * (int32_t)w[(k / 4) * 64 + k % 4];
            slimc_rt_qstore(out, m * O + o, slimc_rt_qout(acc - zp * wsum[o], xs, ws[o], bias, o),
                            rq);
        }
}

#ifdef SLIMC_RT_X86
static inline __attribute__((always_inline)) SLIMC_RT_VNNI void
slimc_rt_qpacked_block(int MR, int NB, int64_t m, int64_t o, int64_t oc, int64_t O, int64_t K,
                       const uint8_t *A, const int8_t *Wp, int32_t zp, const int32_t *wsum,
                       float xs, const float *ws, const float *bias, void *out,
                       const slimc_rt_qreq *rq)
{
    const int64_t K4 = (K + 3) / 4, K4f = K / 4, KB = slimc_rt_qpack_rows(K);
    __m512i acc[8][2];
    SLIMC_RT_UNROLL
    for (int i = 0; i < MR; i++) {
        SLIMC_RT_UNROLL
        for (int b = 0; b < NB; b++)
            acc[i][b] = _mm512_setzero_si512();
    }
    const int8_t *w0 = Wp + (o / 16) * KB * 64;
    for (int64_t k4 = 0; k4 < K4; k4++) {
        __m512i wv[2];
        SLIMC_RT_UNROLL
        for (int b = 0; b < NB; b++)
            wv[b] = _mm512_loadu_si512((const void *)(w0 + (b * KB + k4) * 64));
        SLIMC_RT_UNROLL
        for (int i = 0; i < MR; i++) {
            const uint8_t *a = A + (m + i) * K;
            int32_t a4;
            if (k4 < K4f)
                memcpy(&a4, a + 4 * k4, 4);
            else
                a4 = slimc_rt_a4(a, k4, K);
            const __m512i av = _mm512_set1_epi32(a4);
            SLIMC_RT_UNROLL
            for (int b = 0; b < NB; b++)
                acc[i][b] = _mm512_dpbusd_epi32(acc[i][b], av, wv[b]);
        }
    }
    /* qlinear's epilogue, 16 outputs at a time: (float)(acc - zp wsum) * (xs ws) + bias */
    const __m512 vxs = _mm512_set1_ps(xs);
    const __m512i vzp = _mm512_set1_epi32(zp);
    SLIMC_RT_UNROLL
    for (int b = 0; b < NB; b++) {
        const int64_t ob = o + 16 * b, left = oc - 16 * b;
        if (left <= 0)
            break;
        const __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
        const __m512i vsum = _mm512_maskz_loadu_epi32(mk, wsum + ob);
        const __m512 vm = _mm512_mul_ps(vxs, _mm512_maskz_loadu_ps(mk, ws + ob));
        const __m512 vb = bias ? _mm512_maskz_loadu_ps(mk, bias + ob) : _mm512_setzero_ps();
        SLIMC_RT_UNROLL
        for (int i = 0; i < MR; i++) {
            const __m512i s = _mm512_sub_epi32(acc[i][b], _mm512_mullo_epi32(vzp, vsum));
            __m512 r = _mm512_mul_ps(_mm512_cvtepi32_ps(s), vm);
            if (bias)
                r = _mm512_add_ps(r, vb);
            slimc_rt_qstore16(out, (m + i) * O + ob, mk, r, rq);
        }
    }
}

static SLIMC_RT_VNNI void slimc_rt_qgemm_packed_vnni(int64_t m0, int64_t mc, int64_t o0, int64_t oc,
                                                     int64_t O, int64_t K, const uint8_t *A,
                                                     const int8_t *Wp, int32_t zp,
                                                     const int32_t *wsum, float xs, const float *ws,
                                                     const float *bias, void *out,
                                                     const slimc_rt_qreq *rq)
{
    for (int64_t o = o0; o < o0 + oc; o += 32) {
        const int64_t ocb = slimc_rt_min(32, o0 + oc - o);
        const int nb = ocb > 16 ? 2 : 1;
        int64_t m = m0;
        for (; m + 8 <= m0 + mc; m += 8) {
            if (nb == 2)
                slimc_rt_qpacked_block(8, 2, m, o, ocb, O, K, A, Wp, zp, wsum, xs, ws, bias, out,
                                       rq);
            else
                slimc_rt_qpacked_block(8, 1, m, o, ocb, O, K, A, Wp, zp, wsum, xs, ws, bias, out,
                                       rq);
        }
        for (; m < m0 + mc; m++) {
            if (nb == 2)
                slimc_rt_qpacked_block(1, 2, m, o, ocb, O, K, A, Wp, zp, wsum, xs, ws, bias, out,
                                       rq);
            else
                slimc_rt_qpacked_block(1, 1, m, o, ocb, O, K, A, Wp, zp, wsum, xs, ws, bias, out,
                                       rq);
        }
    }
}
#endif

#ifdef SLIMC_RT_X86
/* The i32 sums of 4 rows (a0..a3, row length K) x one 16-output block w0 of the packed
 * weight over all k into acc [4][2] (outputs 0-7, 8-15): per k4 two ymm of the block,
 * each row's 4 bytes broadcast, 8 vpdpbusd. Not inlined, for the reason of
 * slimc_rt_qavx2_sums (inlined, some accumulators went through the stack every step). */
static __attribute__((noinline)) SLIMC_RT_AVXVNNI void
slimc_rt_qavxvnni_sums(const uint8_t *a0, const uint8_t *a1, const uint8_t *a2, const uint8_t *a3,
                       int64_t K, const int8_t *w0, __m256i *acc)
{
    const int64_t K4 = (K + 3) / 4, K4f = K / 4;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
            c30 = c00, c31 = c00;
    for (int64_t k4 = 0; k4 < K4; k4++) {
        const __m256i wl = _mm256_loadu_si256((const __m256i *)(const void *)(w0 + k4 * 64));
        const __m256i wh = _mm256_loadu_si256((const __m256i *)(const void *)(w0 + k4 * 64 + 32));
        int32_t q0, q1, q2, q3;
        if (k4 < K4f) {
            memcpy(&q0, a0 + 4 * k4, 4);
            memcpy(&q1, a1 + 4 * k4, 4);
            memcpy(&q2, a2 + 4 * k4, 4);
            memcpy(&q3, a3 + 4 * k4, 4);
        } else {
            q0 = slimc_rt_a4(a0, k4, K);
            q1 = slimc_rt_a4(a1, k4, K);
            q2 = slimc_rt_a4(a2, k4, K);
            q3 = slimc_rt_a4(a3, k4, K);
        }
        const __m256i v0 = _mm256_set1_epi32(q0), v1 = _mm256_set1_epi32(q1);
        const __m256i v2 = _mm256_set1_epi32(q2), v3 = _mm256_set1_epi32(q3);
        c00 = _mm256_dpbusd_avx_epi32(c00, v0, wl);
        c01 = _mm256_dpbusd_avx_epi32(c01, v0, wh);
        c10 = _mm256_dpbusd_avx_epi32(c10, v1, wl);
        c11 = _mm256_dpbusd_avx_epi32(c11, v1, wh);
        c20 = _mm256_dpbusd_avx_epi32(c20, v2, wl);
        c21 = _mm256_dpbusd_avx_epi32(c21, v2, wh);
        c30 = _mm256_dpbusd_avx_epi32(c30, v3, wl);
        c31 = _mm256_dpbusd_avx_epi32(c31, v3, wh);
    }
    acc[0] = c00, acc[1] = c01, acc[2] = c10, acc[3] = c11;
    acc[4] = c20, acc[5] = c21, acc[6] = c30, acc[7] = c31;
}

/* The packed GEMM on AVX-VNNI: a 16-output block's 64 bytes per k4 are two ymm of 8 outputs;
 * 4 rows at a time (8 accumulators, slimc_rt_qavxvnni_sums); the epilogue 8 lanes at a
 * time. */
static SLIMC_RT_AVXVNNI void
slimc_rt_qgemm_packed_avxvnni(int64_t m0, int64_t mc, int64_t o0, int64_t oc, int64_t O, int64_t K,
                              const uint8_t *A, const int8_t *Wp, int32_t zp, const int32_t *wsum,
                              float xs, const float *ws, const float *bias, void *out,
                              const slimc_rt_qreq *rq)
{
    const int64_t KB = slimc_rt_qpack_rows(K);
    for (int64_t o = o0; o < o0 + oc; o += 16) {
        const int8_t *w0 = Wp + (o / 16) * KB * 64;
        const int64_t on = slimc_rt_min(16, o0 + oc - o);
        for (int64_t m = m0; m < m0 + mc; m += 4) {
            const int64_t mr = slimc_rt_min(4, m0 + mc - m);
            /* rows past mc repeat the last one: computed, not stored */
            const uint8_t *a0 = A + m * K, *a1 = A + (m + (mr > 1 ? 1 : 0)) * K;
            const uint8_t *a2 = A + (m + (mr > 2 ? 2 : mr - 1)) * K;
            const uint8_t *a3 = A + (m + (mr > 3 ? 3 : mr - 1)) * K;
            __m256i acc[8];
            slimc_rt_qavxvnni_sums(a0, a1, a2, a3, K, w0, acc);
            for (int64_t i = 0; i < mr; i++)
                for (int h = 0; h < 2; h++)
                    slimc_rt_qstore8(out, (m + i) * O + o + 8 * h, acc[2 * i + h],
                                     slimc_rt_min(8, on - 8 * h), o + 8 * h, zp, wsum, xs, ws, bias,
                                     rq);
        }
    }
}
#endif

#ifdef SLIMC_RT_X86
/* ---- the packed GEMM on plain AVX2 (no VNNI: AMD Zen 2/3, Intel before Ice Lake), exact ----
 * vpmaddwd on i16 operands: u8 x s8 products summed in pairs into i32 lanes cannot saturate
 * (vpmaddubsw's i16 sums would). Both operands are widened once per call into scratch, so
 * the inner loop is loads, vpmaddwd and vpaddd only:
 *   a16 [mc][KP]            the rows as i16, KP = 4 ceil(K / 4), zeros past K;
 *   w16 [KP / 2][16][2]     one 16-output block of the packed weight as i16 pairs: per k
 *                           pair p, output j's (W[o + j][2p], W[o + j][2p + 1]).
 * A block of 4 rows x 16 outputs keeps 8 accumulators; per k pair it loads two ymm of
 * w16, broadcasts each row's pair (one vpbroadcastd) and adds 8 vpmaddwd. Lane j of an
 * accumulator is output j, so the epilogue needs no shuffle. */

/* The 16-output block at w0 (K4 rows of 64 bytes: 16 outputs x 4 k) as i16 pairs in w16. */
static SLIMC_RT_AVX2 void slimc_rt_qwiden_panel(const int8_t *w0, int64_t K4, int16_t *w16)
{
    /* per 4 outputs (16 bytes, 4 k each): their k pair 0 into the low 8 bytes, pair 1 high */
    const __m128i pairs = _mm_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
    for (int64_t k4 = 0; k4 < K4; k4++)
        for (int q = 0; q < 4; q++) {
            const __m128i b =
                _mm_loadu_si128((const __m128i *)(const void *)(w0 + k4 * 64 + 16 * q));
            const __m256i v = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(b, pairs));
            int16_t *p0 = w16 + (2 * k4) * 32 + 8 * q, *p1 = p0 + 32;
            _mm_storeu_si128((__m128i *)(void *)p0, _mm256_castsi256_si128(v));
            _mm_storeu_si128((__m128i *)(void *)p1, _mm256_extracti128_si256(v, 1));
        }
}

/* Rows [m0, m0 + mc) of A (row length K) as i16 with KP columns, zeros past K. */
static SLIMC_RT_AVX2 void slimc_rt_qwiden_rows(const uint8_t *A, int64_t m0, int64_t mc, int64_t K,
                                               int64_t KP, int16_t *a16)
{
    for (int64_t i = 0; i < mc; i++) {
        const uint8_t *a = A + (m0 + i) * K;
        int16_t *d = a16 + i * KP;
        int64_t k = 0;
        for (; k + 16 <= K; k += 16)
            _mm256_storeu_si256((__m256i *)(void *)(d + k),
                                _mm256_cvtepu8_epi16(_mm_loadu_si128((const void *)(a + k))));
        for (; k < KP; k++)
            d[k] = k < K ? (int16_t)a[k] : 0;
    }
}

/* The i32 sums of 4 rows (from a16, rows KP apart; rows past mr repeat row mr - 1) x 16
 * outputs over KP / 2 k pairs into acc [4][2] (outputs 0-7, 8-15). Named accumulators and
 * not inlined: in an array, or inlined where the epilogue's constants were hoisted, Clang
 * kept some of them on the stack, a store and a load every step. */
static __attribute__((noinline)) SLIMC_RT_AVX2 void
slimc_rt_qavx2_sums(const int16_t *a16, int64_t KP, int64_t mr, const int16_t *w16, __m256i *acc)
{
    const int16_t *a0 = a16, *a1 = a16 + (mr > 1 ? 1 : 0) * KP;
    const int16_t *a2 = a16 + (mr > 2 ? 2 : mr - 1) * KP, *a3 = a16 + (mr > 3 ? 3 : mr - 1) * KP;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
            c30 = c00, c31 = c00;
    for (int64_t p = 0; p < KP / 2; p++) {
        const __m256i wl = _mm256_loadu_si256((const __m256i *)(const void *)(w16 + p * 32));
        const __m256i wh = _mm256_loadu_si256((const __m256i *)(const void *)(w16 + p * 32 + 16));
        int32_t q0, q1, q2, q3;
        memcpy(&q0, a0 + 2 * p, 4);
        memcpy(&q1, a1 + 2 * p, 4);
        memcpy(&q2, a2 + 2 * p, 4);
        memcpy(&q3, a3 + 2 * p, 4);
        const __m256i v0 = _mm256_set1_epi32(q0), v1 = _mm256_set1_epi32(q1);
        const __m256i v2 = _mm256_set1_epi32(q2), v3 = _mm256_set1_epi32(q3);
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(v0, wl));
        c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(v0, wh));
        c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(v1, wl));
        c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(v1, wh));
        c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(v2, wl));
        c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(v2, wh));
        c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(v3, wl));
        c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(v3, wh));
    }
    acc[0] = c00, acc[1] = c01, acc[2] = c10, acc[3] = c11;
    acc[4] = c20, acc[5] = c21, acc[6] = c30, acc[7] = c31;
}

/* The packed GEMM on AVX2; returns 0 (nothing written) when its scratch cannot be allocated. */
static SLIMC_RT_AVX2 int slimc_rt_qgemm_packed_avx2(int64_t m0, int64_t mc, int64_t o0, int64_t oc,
                                                    int64_t O, int64_t K, const uint8_t *A,
                                                    const int8_t *Wp, int32_t zp,
                                                    const int32_t *wsum, float xs, const float *ws,
                                                    const float *bias, void *out,
                                                    const slimc_rt_qreq *rq)
{
    const int64_t KB = slimc_rt_qpack_rows(K), K4 = (K + 3) / 4, KP = 4 * K4;
    int16_t *a16 = (int16_t *)malloc(sizeof(int16_t) * (size_t)(mc * KP + 16 * KP));
    if (!a16)
        return 0;
    int16_t *w16 = a16 + mc * KP; /* [KP / 2][16][2] */
    slimc_rt_qwiden_rows(A, m0, mc, K, KP, a16);
    for (int64_t o = o0; o < o0 + oc; o += 16) {
        slimc_rt_qwiden_panel(Wp + (o / 16) * KB * 64, K4, w16);
        const int64_t on = slimc_rt_min(16, o0 + oc - o);
        for (int64_t i = 0; i < mc; i += 4) {
            const int64_t mr = slimc_rt_min(4, mc - i);
            __m256i acc[8];
            slimc_rt_qavx2_sums(a16 + i * KP, KP, mr, w16, acc);
            for (int64_t r = 0; r < mr; r++)
                for (int h = 0; h < 2; h++)
                    slimc_rt_qstore8(out, (m0 + i + r) * O + o + 8 * h, acc[2 * r + h],
                                     slimc_rt_min(8, on - 8 * h), o + 8 * h, zp, wsum, xs, ws, bias,
                                     rq);
        }
    }
    free(a16);
    return 1;
}
#endif

#ifdef SLIMC_RT_HAS_AMX
/* qlinear on AMX; returns 0 (nothing written) when a scratch copy cannot be allocated. */
static SLIMC_RT_AMX int slimc_rt_qgemm_packed_amx(int64_t M, int64_t m0, int64_t mc, int64_t o0,
                                                  int64_t oc, int64_t O, int64_t K,
                                                  const uint8_t *A, const int8_t *Wp, int32_t zp,
                                                  const int32_t *wsum, float xs, const float *ws,
                                                  const float *bias, void *out,
                                                  const slimc_rt_qreq *rq)
{
    const int64_t KB = slimc_rt_qpack_rows(K), KC = KB / 16;
    int32_t ct[4 * 256] __attribute__((aligned(64)));
    uint8_t *buf0 = NULL, *buf1 = NULL;
    int ok = 1;
    slimc_rt_amx_config();
    for (int64_t m = m0; m < m0 + mc && ok; m += 32) {
        const int64_t mr = slimc_rt_min(32, m0 + mc - m);
        int64_t la0, la1 = K;
        const uint8_t *a0 = slimc_rt_amx_rows(A, M, K, m, &buf0, &la0, NULL), *a1 = a0;
        if (mr > 16)
            a1 = slimc_rt_amx_rows(A, M, K, m + 16, &buf1, &la1, NULL);
        if (!a0 || !a1) {
            ok = 0;
            break;
        }
        SLIMC_RT_BARRIER();
        for (int64_t o = o0; o < o0 + oc; o += 32) {
            const int64_t onr = slimc_rt_min(32, o0 + oc - o);
            slimc_rt_amx_steps(0, mr > 16 ? 2 : 1, onr > 16 ? 2 : 1, a0, la0, a1, la1,
                               (const uint8_t *)(Wp + (o / 16) * KB * 64), 64, 16 * 64, KB * 64, KC,
                               ct);
            for (int t = 0; t < 4; t++) {
                const int64_t r0 = 16 * (t >> 1), c0 = 16 * (t & 1);
                if (r0 < mr && c0 < onr)
                    slimc_rt_amx_epilogue(0, ct + 256 * t, slimc_rt_min(16, mr - r0),
                                          slimc_rt_min(16, onr - c0), o + c0, zp, wsum, xs, ws,
                                          bias, out, (m + r0) * O, O, rq);
            }
        }
    }
    free(buf0);
    free(buf1);
    return ok;
}
#endif

SLIMC_RT_KERNEL void slimc_rt_qgemm_packed(int64_t M, int64_t m0, int64_t mc, int64_t o0,
                                           int64_t oc, int64_t O, int64_t K, const uint8_t *A,
                                           const int8_t *Wp, int32_t zp, const int32_t *wsum,
                                           float xs, const float *ws, const float *bias, void *out,
                                           const slimc_rt_qreq *rq)
{
    (void)M; /* only the AMX path reads it (none off x86-64 Linux) */
    if (mc <= 0 || oc <= 0)
        return;
#ifdef SLIMC_RT_HAS_AMX
    /* below 16 rows most of each tile would be padding: vpdpbusd does better */
    if (K > 0 && mc >= 16 && slimc_rt_has_amx() &&
        slimc_rt_qgemm_packed_amx(M, m0, mc, o0, oc, O, K, A, Wp, zp, wsum, xs, ws, bias, out, rq))
        return;
#endif
#ifdef SLIMC_RT_X86
    if (K > 0 && slimc_rt_has_vnni()) {
        slimc_rt_qgemm_packed_vnni(m0, mc, o0, oc, O, K, A, Wp, zp, wsum, xs, ws, bias, out, rq);
        return;
    }
    if (K > 0 && slimc_rt_has_avxvnni()) {
        slimc_rt_qgemm_packed_avxvnni(m0, mc, o0, oc, O, K, A, Wp, zp, wsum, xs, ws, bias, out, rq);
        return;
    }
    if (K > 0 && slimc_rt_isa() >= SLIMC_RT_ISA_AVX2 &&
        slimc_rt_qgemm_packed_avx2(m0, mc, o0, oc, O, K, A, Wp, zp, wsum, xs, ws, bias, out, rq))
        return;
#endif
    slimc_rt_qgemm_packed_c(m0, mc, o0, oc, O, K, A, Wp, zp, wsum, xs, ws, bias, out, rq);
}
