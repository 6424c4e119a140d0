/* depthwise.c — fp32 depthwise convolution (one input channel per group), one output plane
 * per call: the portable tap-by-tap update, the AVX-512 3x3 kernel with four output rows in
 * registers, the 5x5/7x7 one and its two-rows-a-vector form for planes at most 8 wide, and
 * the per-row AVX-512 kernel for the other shapes (docs/codegen.md, "depthwise"). */
#include "runtime/kernels/internal.h"

/* One output plane of a conv with one input channel per group (depthwise):
 * y[oh, ow] = b + sum over (kh, kw), in order, of w[kh, kw] * x[ih, iw], taps that fall
 * in the padding skipped. The generic version updates the plane tap by tap over the valid
 * ranges (contiguous inner loops for the vectorizer); the AVX-512 one keeps 16 outputs of
 * a row in a register across all taps, loading each tap's inputs with a mask (stride 2:
 * two loads and a permute), so the output is written once. */
static SLIMC_RT_UNUSED void slimc_rt_dw_plane_c(const slimc_rt_conv *s, const float *x,
                                                const float *w, float b, float *y)
{
    const int64_t OH = s->OH, OW = s->OW;
    for (int64_t i = 0; i < OH * OW; i++)
        y[i] = b;
    for (int64_t kh = 0; kh < s->KH; kh++) {
        const int64_t oh0 = slimc_rt_max(0, slimc_rt_div_ceil(s->PH - kh * s->DH, s->SH));
        const int64_t oh1 =
            slimc_rt_min(OH, slimc_rt_div_floor(s->H - 1 + s->PH - kh * s->DH, s->SH) + 1);
        for (int64_t kw = 0; kw < s->KW; kw++) {
            const float wv = w[kh * s->KW + kw];
            const int64_t ow0 = slimc_rt_max(0, slimc_rt_div_ceil(s->PW - kw * s->DW, s->SW));
            const int64_t ow1 =
                slimc_rt_min(OW, slimc_rt_div_floor(s->W - 1 + s->PW - kw * s->DW, s->SW) + 1);
            for (int64_t oh = oh0; oh < oh1; oh++) {
                const float *xr = x + (oh * s->SH - s->PH + kh * s->DH) * s->W - s->PW + kw * s->DW;
                float *yr = y + oh * OW;
                if (s->SW == 1)
                    for (int64_t ow = ow0; ow < ow1; ow++)
                        yr[ow] += wv * xr[ow];
                else
                    for (int64_t ow = ow0; ow < ow1; ow++)
                        yr[ow] += wv * xr[ow * s->SW];
            }
        }
    }
}

#ifdef SLIMC_RT_X86
/* 3x3 depthwise, dilation 1, stride S (1 or 2) both ways: R output rows x 16 columns
 * (from t) of one plane, R accumulators in registers. Each of the (R - 1) S + 3 input rows
 * the block needs is loaded once (stride 1: one masked load per kw; stride 2: 32 inputs
 * from kw 0 and from kw 2, split into even and odd lanes by permutes) and used for every
 * output row it feeds; rows in the padding are skipped, columns in it are masked off (lm:
 * the in-row lanes of each load, worked out once per plane). Every output sums its taps
 * in (kh, kw) order. */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_dw3_block(const int R, const int S, const slimc_rt_conv *s, const float *x,
                   const __m512 *wv, const uint32_t *lm, int64_t oh, int64_t t, __m512 bv, float *y,
                   __mmask16 sm)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t W = s->W;
    __m512 acc[8];
    SLIMC_RT_UNROLL for (int r = 0; r < R; r++) acc[r] = bv;
    SLIMC_RT_UNROLL for (int i = 0; i < (R - 1) * S + 3; i++)
    {
        const int64_t ih = oh * S - s->PH + i;
        if (ih < 0 || ih >= s->H)
            continue;
        const float *p = x + ih * W + t * S - s->PW;
        __m512 v[3];
        if (S == 1) {
            SLIMC_RT_UNROLL for (int kw = 0; kw < 3; kw++) v[kw] =
                _mm512_maskz_loadu_ps((__mmask16)lm[kw], p + kw);
        } else {
            const __m512 a0 = _mm512_maskz_loadu_ps((__mmask16)(lm[0] & 0xffffu), p);
            const __m512 a1 = _mm512_maskz_loadu_ps((__mmask16)(lm[0] >> 16), p + 16);
            const __m512 b0 = _mm512_maskz_loadu_ps((__mmask16)(lm[1] & 0xffffu), p + 2);
            const __m512 b1 = _mm512_maskz_loadu_ps((__mmask16)(lm[1] >> 16), p + 18);
            v[0] = _mm512_permutex2var_ps(a0, even, a1);
            v[1] = _mm512_permutex2var_ps(a0, odd, a1);
            v[2] = _mm512_permutex2var_ps(b0, even, b1);
        }
        SLIMC_RT_UNROLL for (int r = 0; r < R; r++)
        {
            const int kh = i - r * S;
            if (kh >= 0 && kh < 3)
                SLIMC_RT_UNROLL for (int kw = 0; kw < 3; kw++) acc[r] =
                    _mm512_fmadd_ps(wv[kh * 3 + kw], v[kw], acc[r]);
        }
    }
    SLIMC_RT_UNROLL for (int r = 0; r < R; r++)
        _mm512_mask_storeu_ps(y + (oh + r) * s->OW + t, sm, slimc_rt_act_512(s->ACT, acc[r]));
}

/* lanes j in [0, L) with 0 <= B + j < W */
static inline uint32_t slimc_rt_row_lanes(int64_t B, int64_t L, int64_t W)
{
    const int64_t lo = slimc_rt_max(0, -B), hi = slimc_rt_min(L, W - B);
    return hi <= lo ? 0u : (uint32_t)((((uint64_t)1 << hi) - 1u) & ~(((uint64_t)1 << lo) - 1u));
}

/* Lines [l0, l1) of the input plane after x (the caller's next item), prefetched into L1 */
static inline __attribute__((always_inline)) void
slimc_rt_dw_prefetch_next(const slimc_rt_conv *s, const float *x, int64_t l0, int64_t l1)
{
    const uintptr_t nx = (uintptr_t)x + (uintptr_t)(s->H * s->W) * sizeof(float);
    for (int64_t l = l0; l < l1; l++)
        __builtin_prefetch((const void *)(nx + (uintptr_t)l * 64u), 0, 3);
}

/* One plane of a 3x3 depthwise conv (slimc_rt_dw3_ok). The next input plane is prefetched a
 * part per block of rows (nl lines over the nb blocks): prefetched all at once ahead of a
 * plane larger than L1 (112x112: 49 KB), it evicted the plane being read and queued more
 * misses than the core tracks (the stride-2 layer of 96 channels at 112x112 ran ~2x slower
 * in a network than on its own). */
static SLIMC_RT_UNUSED SLIMC_RT_AVX512 void
slimc_rt_dw3_plane_512(const slimc_rt_conv *s, const float *x, const float *w, float b, float *y)
{
    enum { RB = SLIMC_RT_DW_RB, MAXT = 64 };
    const int64_t OW = s->OW, OH = s->OH, S = s->SW, nt = (OW + 15) / 16;
    uint32_t lm[MAXT][3];
    __mmask16 sm[MAXT];
    for (int64_t q = 0; q < nt; q++) {
        const int64_t t = 16 * q, iw0 = t * S - s->PW;
        sm[q] = (__mmask16)((1u << slimc_rt_min(16, OW - t)) - 1u);
        if (S == 1)
            for (int kw = 0; kw < 3; kw++)
                lm[q][kw] = slimc_rt_row_lanes(iw0 + kw, 16, s->W);
        else
            lm[q][0] = slimc_rt_row_lanes(iw0, 32, s->W),
            lm[q][1] = slimc_rt_row_lanes(iw0 + 2, 32, s->W);
    }
    __m512 wv[9];
    for (int k = 0; k < 9; k++)
        wv[k] = _mm512_set1_ps(w[k]);
    const __m512 bv = _mm512_set1_ps(b);
    int64_t oh = 0;
    const int64_t nb = OH / RB + OH % RB, nl = (s->H * s->W * 4 + 63) / 64;
    int64_t k = 0; /* blocks done */
    if (S == 1) {
        for (; oh + RB <= OH; oh += RB, k++) {
            slimc_rt_dw_prefetch_next(s, x, nl * k / nb, nl * (k + 1) / nb);
            for (int64_t q = 0; q < nt; q++)
                slimc_rt_dw3_block(RB, 1, s, x, wv, lm[q], oh, 16 * q, bv, y, sm[q]);
        }
        for (; oh < OH; oh++, k++) {
            slimc_rt_dw_prefetch_next(s, x, nl * k / nb, nl * (k + 1) / nb);
            for (int64_t q = 0; q < nt; q++)
                slimc_rt_dw3_block(1, 1, s, x, wv, lm[q], oh, 16 * q, bv, y, sm[q]);
        }
    } else {
        for (; oh + RB <= OH; oh += RB, k++) {
            slimc_rt_dw_prefetch_next(s, x, nl * k / nb, nl * (k + 1) / nb);
            for (int64_t q = 0; q < nt; q++)
                slimc_rt_dw3_block(RB, 2, s, x, wv, lm[q], oh, 16 * q, bv, y, sm[q]);
        }
        for (; oh < OH; oh++, k++) {
            slimc_rt_dw_prefetch_next(s, x, nl * k / nb, nl * (k + 1) / nb);
            for (int64_t q = 0; q < nt; q++)
                slimc_rt_dw3_block(1, 2, s, x, wv, lm[q], oh, 16 * q, bv, y, sm[q]);
        }
    }
}

/* 5x5 and 7x7 depthwise (K odd, 5 or 7), dilation 1, stride S (1 or 2) both ways: as
 * slimc_rt_dw3_block, R output rows x 16 columns (from t) in registers, each of the
 * (R - 1) S + K input rows loaded once for all the output rows it feeds (stride 1: one
 * masked load per kw, lm[kw] its lanes; stride 2: 32 inputs from each even kw 2j, lm[j]
 * their lanes, split into the even lanes (kw 2j) and odd ones (kw 2j + 1) by permutes).
 * 5x5: the 25 weights in registers (wv); 7x7: each FMA broadcasts its weight from w. Every output
 * sums its taps in (kh, kw) order from the bias, as slimc_rt_dw_plane_c does, and is written once,
 * s->ACT applied. */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_dwk_block(const int K, const int R, const int S, const slimc_rt_conv *s, const float *x,
                   const float *w, const __m512 *wv, const uint32_t *lm, int64_t oh, int64_t t,
                   __m512 bv, float *y, __mmask16 sm)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t W = s->W;
    __m512 acc[4];
    SLIMC_RT_UNROLL for (int r = 0; r < R; r++) acc[r] = bv;
    SLIMC_RT_UNROLL for (int i = 0; i < (R - 1) * S + K; i++)
    {
        const int64_t ih = oh * S - s->PH + i;
        if (ih < 0 || ih >= s->H)
            continue;
        const float *p = x + ih * W + t * S - s->PW;
        __m512 v[7];
        if (S == 1) {
            SLIMC_RT_UNROLL for (int kw = 0; kw < K; kw++) v[kw] =
                _mm512_maskz_loadu_ps((__mmask16)lm[kw], p + kw);
        } else {
            SLIMC_RT_UNROLL for (int j = 0; j < (K + 1) / 2; j++)
            {
                const __m512 a0 = _mm512_maskz_loadu_ps((__mmask16)(lm[j] & 0xffffu), p + 2 * j);
                const __m512 a1 = _mm512_maskz_loadu_ps((__mmask16)(lm[j] >> 16), p + 2 * j + 16);
                v[2 * j] = _mm512_permutex2var_ps(a0, even, a1);
                if (2 * j + 1 < K)
                    v[2 * j + 1] = _mm512_permutex2var_ps(a0, odd, a1);
            }
        }
        SLIMC_RT_UNROLL for (int r = 0; r < R; r++)
        {
            const int kh = i - r * S;
            if (kh >= 0 && kh < K)
                SLIMC_RT_UNROLL for (int kw = 0; kw < K; kw++) acc[r] = _mm512_fmadd_ps(
                    K == 5 ? wv[kh * K + kw] : _mm512_set1_ps(w[kh * K + kw]), v[kw], acc[r]);
        }
    }
    SLIMC_RT_UNROLL for (int r = 0; r < R; r++)
        _mm512_mask_storeu_ps(y + (oh + r) * s->OW + t, sm, slimc_rt_act_512(s->ACT, acc[r]));
}

/* One plane of a K x K depthwise conv (slimc_rt_dwk_ok: K 5 or 7, stride 1 or 2) in row
 * blocks of 4, the last block the 1 to 3 rows left. */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_dwk_plane(const int K, const int S, const slimc_rt_conv *s, const float *x, const float *w,
                   float b, float *y)
{
    enum { MAXT = 64 };
    const int64_t OW = s->OW, OH = s->OH, nt = (OW + 15) / 16;
    uint32_t lm[MAXT][7];
    __mmask16 sm[MAXT];
    for (int64_t q = 0; q < nt; q++) {
        const int64_t t = 16 * q, iw0 = t * S - s->PW;
        sm[q] = (__mmask16)((1u << slimc_rt_min(16, OW - t)) - 1u);
        if (S == 1)
            for (int kw = 0; kw < K; kw++)
                lm[q][kw] = slimc_rt_row_lanes(iw0 + kw, 16, s->W);
        else
            for (int j = 0; j < (K + 1) / 2; j++)
                lm[q][j] = slimc_rt_row_lanes(iw0 + 2 * j, 32, s->W);
    }
    const __m512 bv = _mm512_set1_ps(b);
    __m512 wv[25]; /* 5x5: the weights in registers (7x7: broadcast from w by each FMA) */
    if (K == 5)
        for (int k = 0; k < 25; k++)
            wv[k] = _mm512_set1_ps(w[k]);
    int64_t oh = 0;
    for (; oh + 4 <= OH; oh += 4)
        for (int64_t q = 0; q < nt; q++)
            slimc_rt_dwk_block(K, 4, S, s, x, w, wv, lm[q], oh, 16 * q, bv, y, sm[q]);
    switch (OH - oh) {
    case 3:
        for (int64_t q = 0; q < nt; q++)
            slimc_rt_dwk_block(K, 3, S, s, x, w, wv, lm[q], oh, 16 * q, bv, y, sm[q]);
        break;
    case 2:
        for (int64_t q = 0; q < nt; q++)
            slimc_rt_dwk_block(K, 2, S, s, x, w, wv, lm[q], oh, 16 * q, bv, y, sm[q]);
        break;
    case 1:
        for (int64_t q = 0; q < nt; q++)
            slimc_rt_dwk_block(K, 1, S, s, x, w, wv, lm[q], oh, 16 * q, bv, y, sm[q]);
        break;
    default: break;
    }
}

/* the shapes slimc_rt_dwk_plane_512 takes */
static int slimc_rt_dwk_ok(const slimc_rt_conv *s)
{
    return (s->KH == 5 || s->KH == 7) && s->KW == s->KH && s->DH == 1 && s->DW == 1 &&
           s->SH == s->SW && (s->SW == 1 || s->SW == 2) && s->OW <= 16 * 64;
}

static SLIMC_RT_UNUSED SLIMC_RT_AVX512 void
slimc_rt_dwk_plane_512(const slimc_rt_conv *s, const float *x, const float *w, float b, float *y)
{
    if (s->KH == 5 && s->SW == 1)
        slimc_rt_dwk_plane(5, 1, s, x, w, b, y);
    else if (s->KH == 5)
        slimc_rt_dwk_plane(5, 2, s, x, w, b, y);
    else if (s->SW == 1)
        slimc_rt_dwk_plane(7, 1, s, x, w, b, y);
    else
        slimc_rt_dwk_plane(7, 2, s, x, w, b, y);
}

/* Planes at most 8 outputs wide (MobileNet's 7x7 stages): two output rows per vector,
 * lanes 0-7 row oh + 2r, lanes 8-15 row oh + 2r + 1, so that a 7-wide row does not leave 9
 * of 16 lanes idle. K x K (5 or 7), dilation 1, stride S (1 or 2) both ways; R pairs of
 * rows in registers (from oh). The input pair i is rows (oh S - PH + i, that + S), which
 * pair r reads at kh = i - 2 S r: stride 1, per kw a masked load of row 0's lanes (lm[kw],
 * lanes 0-7) and a masked load into lanes 8-15 from the second row; stride 2, per even kw
 * 2j 16 inputs of each row (lm[j]), their even lanes (kw 2j) and odd ones (kw 2j + 1) put
 * together by one permute each. Rows in the padding are masked off (their lanes stay 0),
 * columns in it masked by lm. Every output sums its taps in (kh, kw) order from the bias,
 * as slimc_rt_dw_plane_c does, and is written once, s->ACT applied. */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_dwp_block(const int K, const int R, const int S, const slimc_rt_conv *s, const float *x,
                   const float *w, const uint32_t *lm, int64_t oh, __m512 bv, float *y)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t W = s->W, OW = s->OW, OH = s->OH;
    __m512 acc[4];
    SLIMC_RT_UNROLL for (int r = 0; r < R; r++) acc[r] = bv;
    SLIMC_RT_UNROLL for (int i = 0; i < 2 * S * (R - 1) + K; i++)
    {
        const int64_t ih0 = oh * S - s->PH + i, ih1 = ih0 + S;
        const uint32_t r0 = ih0 >= 0 && ih0 < s->H ? 0xffffu : 0u,
                       r1 = ih1 >= 0 && ih1 < s->H ? 0xffffu : 0u;
        if (!(r0 | r1))
            continue;
        const float *p0 = x + ih0 * W - s->PW, *p1 = x + ih1 * W - s->PW;
        __m512 v[7];
        if (S == 1) {
            SLIMC_RT_UNROLL for (int kw = 0; kw < K; kw++)
            {
                const __m512 lo = _mm512_maskz_loadu_ps((__mmask16)(lm[kw] & r0), p0 + kw);
                v[kw] = _mm512_mask_loadu_ps(lo, (__mmask16)((lm[kw] << 8) & r1), p1 + kw - 8);
            }
        } else {
            SLIMC_RT_UNROLL for (int j = 0; j < (K + 1) / 2; j++)
            {
                const __m512 a = _mm512_maskz_loadu_ps((__mmask16)(lm[j] & r0), p0 + 2 * j);
                const __m512 b = _mm512_maskz_loadu_ps((__mmask16)(lm[j] & r1), p1 + 2 * j);
                v[2 * j] = _mm512_permutex2var_ps(a, even, b);
                if (2 * j + 1 < K)
                    v[2 * j + 1] = _mm512_permutex2var_ps(a, odd, b);
            }
        }
        SLIMC_RT_UNROLL for (int r = 0; r < R; r++)
        {
            const int kh = i - 2 * S * r;
            if (kh >= 0 && kh < K)
                SLIMC_RT_UNROLL for (int kw = 0; kw < K; kw++) acc[r] =
                    _mm512_fmadd_ps(_mm512_set1_ps(w[kh * K + kw]), v[kw], acc[r]);
        }
    }
    const __mmask16 row = (__mmask16)((1u << OW) - 1u);
    SLIMC_RT_UNROLL for (int r = 0; r < R; r++)
    {
        const __m512 o = slimc_rt_act_512(s->ACT, acc[r]);
        const int64_t oh0 = oh + 2 * r;
        _mm512_mask_storeu_ps(y + oh0 * OW, row, o);
        if (oh0 + 1 < OH)
            _mm512_mask_storeu_ps(y + (oh0 + 1) * OW - 8, (__mmask16)(row << 8), o);
    }
}

/* One plane of slimc_rt_dwp_ok's shapes: blocks of 4 row pairs, then the 1 to 7 rows left
 * as 1 to 4 pairs (an odd last row: the pair's second half not stored). */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_dwp_plane(const int K, const int S, const slimc_rt_conv *s, const float *x, const float *w,
                   float b, float *y)
{
    uint32_t lm[7];
    if (S == 1)
        for (int kw = 0; kw < K; kw++)
            lm[kw] = slimc_rt_row_lanes(kw - s->PW, 8, s->W);
    else
        for (int j = 0; j < (K + 1) / 2; j++)
            lm[j] = slimc_rt_row_lanes(2 * j - s->PW, 16, s->W);
    const __m512 bv = _mm512_set1_ps(b);
    const int64_t OH = s->OH;
    int64_t oh = 0;
    for (; oh + 8 <= OH; oh += 8)
        slimc_rt_dwp_block(K, 4, S, s, x, w, lm, oh, bv, y);
    switch ((OH - oh + 1) / 2) {
    case 4: slimc_rt_dwp_block(K, 4, S, s, x, w, lm, oh, bv, y); break;
    case 3: slimc_rt_dwp_block(K, 3, S, s, x, w, lm, oh, bv, y); break;
    case 2: slimc_rt_dwp_block(K, 2, S, s, x, w, lm, oh, bv, y); break;
    case 1: slimc_rt_dwp_block(K, 1, S, s, x, w, lm, oh, bv, y); break;
    default: break;
    }
}

/* the shapes slimc_rt_dwp_plane_512 takes: at most 8 outputs wide. A 3x3 kernel too: on
 * mobilenet_v2's 7x7 planes (one 16-lane vector per 7-wide row in slimc_rt_dw3_plane_512)
 * two rows a vector took 960 planes from 0.041 to 0.034 ms, its stride-2 layer (576 planes,
 * 14x14 to 7x7) from 0.030 to 0.025 (AMD EPYC, one thread, hot). */
static int slimc_rt_dwp_ok(const slimc_rt_conv *s)
{
    return (s->KH == 3 || s->KH == 5 || s->KH == 7) && s->KW == s->KH && s->DH == 1 && s->DW == 1 &&
           s->SH == s->SW && (s->SW == 1 || s->SW == 2) && s->OW <= 8;
}

static SLIMC_RT_UNUSED SLIMC_RT_AVX512 void
slimc_rt_dwp_plane_512(const slimc_rt_conv *s, const float *x, const float *w, float b, float *y)
{
    switch (s->KH * 2 + s->SW) {
    case 7: slimc_rt_dwp_plane(3, 1, s, x, w, b, y); break;
    case 8: slimc_rt_dwp_plane(3, 2, s, x, w, b, y); break;
    case 11: slimc_rt_dwp_plane(5, 1, s, x, w, b, y); break;
    case 12: slimc_rt_dwp_plane(5, 2, s, x, w, b, y); break;
    case 15: slimc_rt_dwp_plane(7, 1, s, x, w, b, y); break;
    default: slimc_rt_dwp_plane(7, 2, s, x, w, b, y); break;
    }
}

static SLIMC_RT_UNUSED SLIMC_RT_AVX512 void
slimc_rt_dw_plane_512(const slimc_rt_conv *s, const float *x, const float *w, float b, float *y)
{
    const int64_t OW = s->OW, SW = s->SW;
    if (SW > 2 || s->KW > 16) {
        slimc_rt_dw_plane_c(s, x, w, b, y);
        return;
    }
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int64_t oh = 0; oh < s->OH; oh++)
        for (int64_t t = 0; t < OW; t += 16) {
            const int64_t e = slimc_rt_min(OW - t, 16);
            __m512 acc = _mm512_set1_ps(b);
            /* per kw, the input lanes of these e outputs that fall inside the row (for stride
             * 2, lanes of the 32 inputs starting at the first output's) */
            uint32_t lm[16];
            for (int64_t kw = 0; kw < s->KW; kw++) {
                const int64_t iw = t * SW - s->PW + kw * s->DW;
                const int64_t lo = slimc_rt_min(e, iw >= 0 ? 0 : slimc_rt_div_ceil(-iw, SW));
                const int64_t hi = slimc_rt_max(
                    lo, slimc_rt_min(e, iw >= s->W ? 0 : slimc_rt_div_ceil(s->W - iw, SW)));
                lm[kw] = hi <= lo  ? 0u
                         : SW == 1 ? (uint32_t)(((1u << hi) - 1u) & ~((1u << lo) - 1u))
                                   : (uint32_t)((((uint64_t)1 << (2 * hi - 1)) - 1u) &
                                                ~(((uint64_t)1 << (2 * lo)) - 1u));
            }
            for (int64_t kh = 0; kh < s->KH; kh++) {
                const int64_t ih = oh * s->SH - s->PH + kh * s->DH;
                if (ih < 0 || ih >= s->H)
                    continue;
                const float *xr = x + ih * s->W + t * SW - s->PW;
                for (int64_t kw = 0; kw < s->KW; kw++) {
                    const float *p = xr + kw * s->DW;
                    __m512 v;
                    if (SW == 1)
                        v = _mm512_maskz_loadu_ps((__mmask16)lm[kw], p);
                    else
                        v = _mm512_permutex2var_ps(
                            _mm512_maskz_loadu_ps((__mmask16)(lm[kw] & 0xffffu), p), even,
                            _mm512_maskz_loadu_ps((__mmask16)(lm[kw] >> 16), p + 16));
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(w[kh * s->KW + kw]), v, acc);
                }
            }
            _mm512_mask_storeu_ps(y + oh * OW + t, (__mmask16)((1u << e) - 1u), acc);
        }
}
#endif

SLIMC_RT_KERNEL void slimc_rt_dw_plane(const slimc_rt_conv *s, const float *x, const float *w,
                                       float b, float *y)
{
    const int isa = slimc_rt_isa();
#ifdef SLIMC_RT_X86
    if (isa == SLIMC_RT_ISA_AVX512) {
        /* The next input plane, which the caller's next item (the next channel) reads: an
         * expanded MobileNet activation comes from L3 or memory, where the planes' short rows
         * kept the hardware prefetcher behind (a plane of 144 at 56x56 read from memory took
         * 0.53 ms, 0.21 with this; in cache it costs 1-3%; the portable kernel, slower, does not
         * gain). A prefetch past the tensor's end does not fault; the address is an integer. */
        if (slimc_rt_dw3_ok(s) && !slimc_rt_dwp_ok(s)) { /* spreads the prefetch of the next
                                                             plane over its rows */
            slimc_rt_dw3_plane_512(s, x, w, b, y);       /* applies s->ACT itself */
            return;
        }
        const uintptr_t nx = (uintptr_t)x + (uintptr_t)(s->H * s->W) * sizeof(float);
        for (uintptr_t p = nx; p < nx + (uintptr_t)(s->H * s->W) * sizeof(float); p += 64)
            __builtin_prefetch((const void *)p, 0, 3);
        if (slimc_rt_dwp_ok(s)) {
            slimc_rt_dwp_plane_512(s, x, w, b, y); /* applies s->ACT itself */
            return;
        }
        if (slimc_rt_dwk_ok(s)) {
            slimc_rt_dwk_plane_512(s, x, w, b, y); /* applies s->ACT itself */
            return;
        }
        slimc_rt_dw_plane_512(s, x, w, b, y);
        slimc_rt_act(isa, s->ACT, y, 0, 1, s->OH * s->OW);
        return;
    }
#endif
    slimc_rt_dw_plane_c(s, x, w, b, y);
    slimc_rt_act(isa, s->ACT, y, 0, 1, s->OH * s->OW);
}
