/* lowbit.c — low-bit weights (wlinear): i8, i4, f16, bf16 decoded block by block into the fp32
 * GEMM. */
#include "runtime/kernels/internal.h"

/* ---- low-bit weights (wlinear) ---- */

static inline float slimc_rt_half(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
    if (e == 0x1f)
        bits = sign | 0x7f800000u | (m << 13);
    else if (e != 0)
        bits = sign | ((e + 112) << 23) | (m << 13);
    else if (m == 0)
        bits = sign;
    else {
        e = 113;
        while (!(m & 0x400u)) {
            m <<= 1;
            e--;
        }
        bits = sign | (e << 23) | ((m & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Rows [n0, n0 + nc) and columns [k0, k0 + kc) of W, decoded to f32 as a [kc, nc] block
 * of row stride 256 (what slimc_rt_gemm reads as B): row kk of the block at a time, so the
 * stores run along it and the nc short row segments read stay in L1; the group of each
 * column k is found once per row of the block, not per weight. */
static void slimc_rt_wdecode_c(const void *W, int fmt, const float *scales, int64_t group,
                               int64_t K, int64_t n0, int64_t nc, int64_t k0, int64_t kc, float *bt)
{
    const int64_t G = group > 0 ? K / group : 1;
    for (int64_t kk = 0; kk < kc; kk++) {
        const int64_t k = k0 + kk, gi = group > 0 ? k / group : 0;
        float *restrict d = bt + kk * 256;
        if (fmt == SLIMC_RT_W_I8) {
            const int8_t *w = (const int8_t *)W + n0 * K + k;
            const float *s = scales + n0 * G + gi;
            for (int64_t j = 0; j < nc; j++)
                d[j] = (float)w[j * K] * s[j * G];
        } else if (fmt == SLIMC_RT_W_I4) {
            const uint8_t *w = (const uint8_t *)W + n0 * (K / 2) + (k >> 1);
            const float *s = scales + n0 * G + gi;
            const int sh = (int)(k & 1) * 4;
            for (int64_t j = 0; j < nc; j++) {
                const int v = (int)((w[j * (K / 2)] >> sh) & 15u);
                d[j] = (float)((v ^ 8) - 8) * s[j * G];
            }
        } else if (fmt == SLIMC_RT_W_F16) {
            const uint16_t *w = (const uint16_t *)W + n0 * K + k;
            for (int64_t j = 0; j < nc; j++)
                d[j] = slimc_rt_half(w[j * K]);
        } else {
            const uint16_t *w = (const uint16_t *)W + n0 * K + k;
            for (int64_t j = 0; j < nc; j++) {
                const uint32_t bits = (uint32_t)w[j * K] << 16;
                memcpy(&d[j], &bits, sizeof(float));
            }
        }
    }
}

/* Few rows (GEMV-like, batch 1 to 8): W's row n decoded into wk (a block of k at a time,
 * contiguous, one scale per run of a group) and dotted with each row of A; sums in 16
 * lanes (so the compiler vectorizes them without reassociating), k in order per lane. */
#define SLIMC_RT_WROW_ARGS                                                                         \
    const void *W, int fmt, const float *scales, int64_t group, int64_t K, int64_t n, int64_t k0,  \
        int64_t kc, float *wk

static inline __attribute__((always_inline)) void slimc_rt_wrow_c(SLIMC_RT_WROW_ARGS)
{
    const int64_t G = group > 0 ? K / group : 1;
    if (fmt == SLIMC_RT_W_F16) {
        const uint16_t *w = (const uint16_t *)W + n * K + k0;
        for (int64_t t = 0; t < kc; t++)
            wk[t] = slimc_rt_half(w[t]);
        return;
    }
    if (fmt == SLIMC_RT_W_BF16) {
        const uint16_t *w = (const uint16_t *)W + n * K + k0;
        for (int64_t t = 0; t < kc; t++) {
            const uint32_t bits = (uint32_t)w[t] << 16;
            memcpy(&wk[t], &bits, sizeof(float));
        }
        return;
    }
    for (int64_t kk = 0, gi = k0 / group; kk < kc; gi++) {
        const int64_t e = slimc_rt_min(kc, (gi + 1) * group - k0);
        const float sc = scales[n * G + gi];
        if (fmt == SLIMC_RT_W_I8) {
            const int8_t *w = (const int8_t *)W + n * K + k0;
            for (int64_t t = kk; t < e; t++)
                wk[t] = (float)w[t] * sc;
        } else {
            const uint8_t *w = (const uint8_t *)W + (n * K + k0) / 2;
            for (int64_t t = kk; t < e; t += 2) {
                const int b = w[t >> 1];
                wk[t] = (float)(((b & 15) ^ 8) - 8) * sc;
                wk[t + 1] = (float)(((b >> 4) ^ 8) - 8) * sc;
            }
        }
        kk = e;
    }
}

#ifdef SLIMC_RT_X86
/* The same with AVX-512: f16 by F16C, i4 32 weights (16 bytes) at a time. */
static inline SLIMC_RT_AVX512 __attribute__((target("f16c"), always_inline)) void
slimc_rt_wrow_512(SLIMC_RT_WROW_ARGS)
{
    if (fmt == SLIMC_RT_W_F16) {
        const uint16_t *w = (const uint16_t *)W + n * K + k0;
        int64_t t = 0;
        for (; t + 16 <= kc; t += 16)
            _mm512_storeu_ps(wk + t, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + t))));
        for (; t < kc; t++)
            wk[t] = slimc_rt_half(w[t]);
        return;
    }
    if (fmt != SLIMC_RT_W_I4) {
        slimc_rt_wrow_c(W, fmt, scales, group, K, n, k0, kc, wk);
        return;
    }
    const int64_t G = K / group;
    const uint8_t *w = (const uint8_t *)W + (n * K + k0) / 2;
    /* low nibbles to even lanes, high nibbles to odd ones */
    const __m512i lo_idx = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi_idx =
        _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    const __m512i v8 = _mm512_set1_epi32(8), v15 = _mm512_set1_epi32(15);
    for (int64_t kk = 0, gi = k0 / group; kk < kc; gi++) {
        const int64_t e = slimc_rt_min(kc, (gi + 1) * group - k0);
        const float sc = scales[n * G + gi];
        const __m512 vs = _mm512_set1_ps(sc);
        int64_t t = kk;
        for (; t + 32 <= e; t += 32) {
            const __m512i b =
                _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(w + (t >> 1))));
            const __m512i lo = _mm512_sub_epi32(_mm512_xor_si512(_mm512_and_si512(b, v15), v8), v8);
            const __m512i hi = _mm512_sub_epi32(_mm512_xor_si512(_mm512_srli_epi32(b, 4), v8), v8);
            const __m512 f0 = _mm512_cvtepi32_ps(_mm512_permutex2var_epi32(lo, lo_idx, hi));
            const __m512 f1 = _mm512_cvtepi32_ps(_mm512_permutex2var_epi32(lo, hi_idx, hi));
            _mm512_storeu_ps(wk + t, _mm512_mul_ps(f0, vs));
            _mm512_storeu_ps(wk + t + 16, _mm512_mul_ps(f1, vs));
        }
        if (t + 16 <= e) { /* 16 weights: 8 bytes, read with a mask (never past the end) */
            const __m512i b = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(0xff, w + (t >> 1)));
            const __m512i lo = _mm512_sub_epi32(_mm512_xor_si512(_mm512_and_si512(b, v15), v8), v8);
            const __m512i hi = _mm512_sub_epi32(_mm512_xor_si512(_mm512_srli_epi32(b, 4), v8), v8);
            const __m512 f0 = _mm512_cvtepi32_ps(_mm512_permutex2var_epi32(lo, lo_idx, hi));
            _mm512_storeu_ps(wk + t, _mm512_mul_ps(f0, vs));
            t += 16;
        }
        for (; t < e; t += 2) {
            const int b = w[t >> 1];
            wk[t] = (float)(((b & 15) ^ 8) - 8) * sc;
            wk[t + 1] = (float)(((b >> 4) ^ 8) - 8) * sc;
        }
        kk = e;
    }
}
#endif

#define SLIMC_RT_WROWS_BODY(DECODE)                                                                \
    float wk[256];                                                                                 \
    for (int64_t j = 0; j < nc; j++) {                                                             \
        const int64_t n = n0 + j;                                                                  \
        float acc[8][16];                                                                          \
        memset(acc, 0, sizeof acc);                                                                \
        for (int64_t k0 = 0; k0 < K; k0 += 256) {                                                  \
            const int64_t kc = slimc_rt_min(256, K - k0);                                          \
            DECODE(W, fmt, scales, group, K, n, k0, kc, wk);                                       \
            for (int64_t m = 0; m < mc; m++) {                                                     \
                const float *x = A + m * K + k0;                                                   \
                int64_t t = 0;                                                                     \
                for (; t + 16 <= kc; t += 16)                                                      \
                    for (int l = 0; l < 16; l++)                                                   \
                        acc[m][l] += x[t + l] * wk[t + l];                                         \
                for (; t < kc; t++)                                                                \
                    acc[m][t & 15] += x[t] * wk[t];                                                \
            }                                                                                      \
        }                                                                                          \
        for (int64_t m = 0; m < mc; m++) {                                                         \
            float r = bias ? bias[n] : 0.0f;                                                       \
            for (int l = 0; l < 16; l++)                                                           \
                r += acc[m][l];                                                                    \
            C[m * ldc + j] = r;                                                                    \
        }                                                                                          \
    }

#define SLIMC_RT_WROWS_ARGS                                                                        \
    int64_t mc, int64_t nc, int64_t K, const float *A, const void *W, int fmt,                     \
        const float *scales, int64_t group, int64_t n0, const float *bias, float *C, int64_t ldc

static void slimc_rt_wrows_c(SLIMC_RT_WROWS_ARGS)
{
    SLIMC_RT_WROWS_BODY(slimc_rt_wrow_c)
}

#ifdef SLIMC_RT_X86
static SLIMC_RT_AVX512 __attribute__((target("f16c"))) void slimc_rt_wrows_512(SLIMC_RT_WROWS_ARGS)
{
    SLIMC_RT_WROWS_BODY(slimc_rt_wrow_512)
}
#endif

#ifdef SLIMC_RT_X86
/* slimc_rt_wdecode on AVX-512: 16 rows of W decoded along k as the few-rows path does
 * (contiguous loads), then turned into bt's columns 16 x 16 at a time. */
static SLIMC_RT_AVX512 __attribute__((target("f16c"))) void
slimc_rt_wdecode_512(const void *W, int fmt, const float *scales, int64_t group, int64_t K,
                     int64_t n0, int64_t nc, int64_t k0, int64_t kc, float *bt, int64_t ldb)
{
    float rows[16][SLIMC_RT_GEMM_KC];
    for (int64_t j0 = 0; j0 < nc; j0 += 16) {
        const int64_t jn = slimc_rt_min(16, nc - j0);
        for (int64_t j = 0; j < jn; j++)
            slimc_rt_wrow_512(W, fmt, scales, group, K, n0 + j0 + j, k0, kc, rows[j]);
        const __mmask16 jm = (__mmask16)((1u << jn) - 1u);
        for (int64_t kk0 = 0; kk0 < kc; kk0 += 16) {
            const int64_t kn = slimc_rt_min(16, kc - kk0);
            const __mmask16 km = (__mmask16)((1u << kn) - 1u);
            __m512 r[16];
            for (int64_t j = 0; j < 16; j++)
                r[j] = j < jn ? _mm512_maskz_loadu_ps(km, rows[j] + kk0) : _mm512_setzero_ps();
            slimc_rt_transpose16(r);
            for (int64_t t = 0; t < kn; t++)
                _mm512_mask_storeu_ps(bt + (kk0 + t) * ldb + j0, jm, r[t]);
        }
    }
}
#endif

SLIMC_RT_KERNEL void slimc_rt_wgemm_tile(int64_t M, int64_t N, int64_t K, const float *A,
                                         const void *W, int fmt, const float *scales, int64_t group,
                                         const float *bias, float *C, int64_t it, int64_t *m0,
                                         int64_t *mc, int64_t *n0, int64_t *nc)
{
    const int64_t nb = slimc_rt_gemm_nb(M), nt = (N + nb - 1) / nb;
    const int isa = slimc_rt_isa();
    *m0 = it / nt * SLIMC_RT_GEMM_MB;
    *n0 = it % nt * nb;
    *mc = slimc_rt_min(SLIMC_RT_GEMM_MB, M - *m0);
    *nc = slimc_rt_min(nb, N - *n0);
    const float *a = A + *m0 * K, *bc = bias ? bias + *n0 : NULL;
    float *c = C + *m0 * N + *n0;
    if (*mc <= 8 && K > 0) {
#ifdef SLIMC_RT_X86
        if (isa == SLIMC_RT_ISA_AVX512) {
            slimc_rt_wrows_512(*mc, *nc, K, a, W, fmt, scales, group, *n0, bias, c, N);
            return;
        }
#endif
        slimc_rt_wrows_c(*mc, *nc, K, a, W, fmt, scales, group, *n0, bias, c, N);
        return;
    }
    float bt[SLIMC_RT_GEMM_KC * 256];
    if (K == 0) {
        slimc_rt_gemm(isa, *mc, *nc, 0, a, K, 1, bt, 256, c, N, NULL, bc, 0);
        return;
    }
    for (int64_t k0 = 0; k0 < K; k0 += SLIMC_RT_GEMM_KC) {
        const int64_t kc = slimc_rt_min(SLIMC_RT_GEMM_KC, K - k0);
#ifdef SLIMC_RT_X86
        if (isa == SLIMC_RT_ISA_AVX512) {
            /* a row stride of 144 floats, not 128: 64 rows 1 KB apart would share a
             * quarter of L1's sets */
            const int64_t ldb = *nc <= 128 ? 144 : 256;
            slimc_rt_wdecode_512(W, fmt, scales, group, K, *n0, *nc, k0, kc, bt, ldb);
            slimc_rt_gemm(isa, *mc, *nc, kc, a + k0, K, 1, bt, ldb, c, N, NULL, bc, k0 > 0);
            continue;
        }
#endif
        slimc_rt_wdecode_c(W, fmt, scales, group, K, *n0, *nc, k0, kc, bt);
        slimc_rt_gemm(isa, *mc, *nc, kc, a + k0, K, 1, bt, 256, c, N, NULL, bc, k0 > 0);
    }
}
