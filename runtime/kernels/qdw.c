/* qdw.c — int8 depthwise convolution planes. */
#include "runtime/kernels/internal.h"

/* ---- int8 depthwise convolution ----
 * Dispatch: the VNNI or AVX-512 3x3 kernels below where they apply, else qdw_avx2.c's
 * kernel (any kernel size, stride and dilation) on AVX2 or better, else this loop.
 * One output plane: acc = sum over the taps inside the image of (x - zp) w (the padding is
 * the zero point, so it adds nothing) + zp (sum of w - wsum), which is qconv2d's
 * sum of x w - zp wsum with the padding read as zp; then slimc_rt_qout and slimc_rt_qstore.
 * The AVX-512 kernel (3x3, stride 1 or 2) sums in f32: a product is at most 255 x 128 and
 * nine of them stay far below 2^24, so every partial sum is an exact integer in any order.
 * It keeps R output rows x 16 columns in registers across the taps, and loads each input
 * row the block needs once, as bytes, the lanes outside the row filled with the zero point
 * (stride 2: the pairs of bytes split into even and odd columns). */
static SLIMC_RT_UNUSED void slimc_rt_qdw_plane_c(const slimc_rt_conv *s, const uint8_t *x,
                                                 int32_t zp, const int8_t *w, int32_t corr,
                                                 float xs, float ws, const float *bias, int64_t o,
                                                 void *y, const slimc_rt_qreq *rq)
{
    for (int64_t oh = 0; oh < s->OH; oh++)
        for (int64_t ow = 0; ow < s->OW; ow++) {
            int32_t acc = corr;
            for (int64_t kh = 0; kh < s->KH; kh++) {
                const int64_t ih = oh * s->SH - s->PH + kh * s->DH;
                if (ih < 0 || ih >= s->H)
                    continue;
                for (int64_t kw = 0; kw < s->KW; kw++) {
                    const int64_t iw = ow * s->SW - s->PW + kw * s->DW;
                    if (iw >= 0 && iw < s->W)
                        acc += ((int32_t)x[ih * s->W + iw] - zp) * (int32_t)w[kh * s->KW + kw];
                }
            }
            slimc_rt_qstore(y, oh * s->OW + ow, slimc_rt_qout(acc, xs, ws, bias, o), rq);
        }
}

#ifdef SLIMC_RT_X86
/* lanes j in [0, L) (L < 64) with 0 <= B + j < W */
static inline uint64_t slimc_rt_row_lanes64(int64_t B, int64_t L, int64_t W)
{
    const int64_t lo = slimc_rt_max(0, -B), hi = slimc_rt_min(L, W - B);
    return hi <= lo ? 0u : (((uint64_t)1 << hi) - 1u) & ~(((uint64_t)1 << lo) - 1u);
}

/* The 3x3 kernels' per-plane masks: sm[q] the outputs of column block q (16 from 16 q),
 * lm[q] the lanes of its input window (18 or 34 bytes from column 16 q S - PW) inside the
 * row; returns the number of blocks. */
static inline int64_t slimc_rt_qdw3_masks(const slimc_rt_conv *s, uint64_t *lm, __mmask16 *sm)
{
    const int64_t S = s->SW, nt = (s->OW + 15) / 16;
    for (int64_t q = 0; q < nt; q++) {
        const int64_t t = 16 * q;
        sm[q] = (__mmask16)((1u << slimc_rt_min(16, s->OW - t)) - 1u);
        lm[q] = slimc_rt_row_lanes64(t * S - s->PW, S == 1 ? 18 : 34, s->W);
    }
    return nt;
}

/* R rows of 16 exact sums (as f32) of output column t: slimc_rt_qout, then the store. */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_qdw3_out(const int R, const __m512 *acc, __m512 mv, const float *bias, int64_t o, void *y,
                  int64_t oh, int64_t t, int64_t OW, __mmask16 sm, const slimc_rt_qreq *rq)
{
    const __m512 bv = _mm512_set1_ps(bias ? bias[o] : 0.0f);
    SLIMC_RT_UNROLL for (int r = 0; r < R; r++)
    {
        __m512 yv = _mm512_mul_ps(acc[r], mv);
        if (bias)
            yv = _mm512_add_ps(yv, bv);
        slimc_rt_qstore16(y, (oh + r) * OW + t, sm, yv, rq);
    }
}

/* Every row block of a plane: CALL(R, S) for blocks of RB rows, then the rows left in one
 * block (oh is the block's first row). */
#define SLIMC_RT_QDW3_ROWS(CALL, S_)                                                               \
    do {                                                                                           \
        for (; oh + RB <= OH; oh += RB)                                                            \
            CALL(RB, S_);                                                                          \
        switch (OH - oh) {                                                                         \
        case 3: CALL(3, S_); break;                                                                \
        case 2: CALL(2, S_); break;                                                                \
        case 1: CALL(1, S_); break;                                                                \
        default: /* none, or more with a larger RB */                                              \
            for (; oh < OH; oh++)                                                                  \
                CALL(1, S_);                                                                       \
        }                                                                                          \
    } while (0)

static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_qdw3_block(const int R, const int S, const slimc_rt_conv *s, const uint8_t *x,
                    const __m512 *wv, uint64_t lm, int64_t oh, int64_t t, __m512i zp8, __m512i zpv,
                    __m512 cv, __m512 mv, const float *bias, int64_t o, void *y, __mmask16 sm,
                    const slimc_rt_qreq *rq)
{
    __m512 acc[8];
    SLIMC_RT_UNROLL for (int r = 0; r < R; r++) acc[r] = cv;
    SLIMC_RT_UNROLL for (int i = 0; i < (R - 1) * S + 3; i++)
    {
        const int64_t ih = oh * S - s->PH + i;
        if (ih < 0 || ih >= s->H)
            continue;
        const uint8_t *p = x + ih * s->W + t * S - s->PW;
        __m512 v[3];
        if (S == 1) { /* columns t .. t + 17 */
            const __m256i b = _mm256_mask_loadu_epi8(_mm512_castsi512_si256(zp8), (__mmask32)lm, p);
            const __m512 lo = _mm512_cvtepi32_ps(
                _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm256_castsi256_si128(b)), zpv));
            const __m512 hi = _mm512_cvtepi32_ps(
                _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm256_extracti128_si256(b, 1)), zpv));
            v[0] = lo;
            v[1] = _mm512_castsi512_ps(
                _mm512_alignr_epi32(_mm512_castps_si512(hi), _mm512_castps_si512(lo), 1));
            v[2] = _mm512_castsi512_ps(
                _mm512_alignr_epi32(_mm512_castps_si512(hi), _mm512_castps_si512(lo), 2));
        } else { /* columns 2t .. 2t + 33: dword j of w0 holds columns 2j and 2j + 1 */
            const __m512i b = _mm512_mask_loadu_epi8(zp8, (__mmask64)lm, p);
            const __m512i w0 = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(b));
            const __m512i w1 = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(b, 1));
            const __m512i ff = _mm512_set1_epi32(0xff);
            const __m512i ev = _mm512_sub_epi32(_mm512_and_si512(w0, ff), zpv);
            const __m512i e1 = _mm512_sub_epi32(_mm512_and_si512(w1, ff), zpv);
            v[0] = _mm512_cvtepi32_ps(ev);
            v[1] = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(w0, 8), zpv));
            v[2] = _mm512_cvtepi32_ps(_mm512_alignr_epi32(e1, ev, 1));
        }
        SLIMC_RT_UNROLL for (int r = 0; r < R; r++)
        {
            const int kh = i - r * S;
            if (kh >= 0 && kh < 3)
                SLIMC_RT_UNROLL for (int kw = 0; kw < 3; kw++) acc[r] =
                    _mm512_fmadd_ps(wv[kh * 3 + kw], v[kw], acc[r]);
        }
    }
    slimc_rt_qdw3_out(R, acc, mv, bias, o, y, oh, t, s->OW, sm, rq);
}

static SLIMC_RT_UNUSED SLIMC_RT_AVX512 void
slimc_rt_qdw3_plane_512(const slimc_rt_conv *s, const uint8_t *x, int32_t zp, const int8_t *w,
                        int32_t corr, float xs, float ws, const float *bias, int64_t o, void *y,
                        const slimc_rt_qreq *rq)
{
    enum { RB = SLIMC_RT_DW_RB, MAXT = 64 };
    const int64_t OH = s->OH, S = s->SW;
    uint64_t lm[MAXT];
    __mmask16 sm[MAXT];
    const int64_t nt = slimc_rt_qdw3_masks(s, lm, sm);
    __m512 wv[9];
    for (int k = 0; k < 9; k++)
        wv[k] = _mm512_set1_ps((float)w[k]);
    const __m512i zpv = _mm512_set1_epi32(zp), zp8 = _mm512_set1_epi8((char)zp);
    const __m512 cv = _mm512_set1_ps((float)corr), mv = _mm512_set1_ps(xs * ws);
    const slimc_rt_qreq rqc = rq ? *rq : (slimc_rt_qreq){0.0f, 0, 0, 0.0f};
    const slimc_rt_qreq *rl = rq ? &rqc : NULL; /* not reloaded after each byte store */
    int64_t oh = 0;
#define SLIMC_RT_QDW3(R_, S_)                                                                      \
    for (int64_t q = 0; q < nt; q++)                                                               \
    slimc_rt_qdw3_block(R_, S_, s, x, wv, lm[q], oh, 16 * q, zp8, zpv, cv, mv, bias, o, y, sm[q],  \
                        rl)
    if (S == 1)
        SLIMC_RT_QDW3_ROWS(SLIMC_RT_QDW3, 1);
    else
        SLIMC_RT_QDW3_ROWS(SLIMC_RT_QDW3, 2);
#undef SLIMC_RT_QDW3
}
#endif

#ifdef SLIMC_RT_X86
/* The same with VNNI and VBMI, in i32: per input row one byte load (the lanes outside the
 * row are the zero point) and one vpermb that gives output column j the bytes of its three
 * taps (x[S j], x[S j + 1], x[S j + 2], a fourth times a zero weight), then one vpdpbusd
 * per (row, kh) adds the row's three products to 16 outputs. Rows outside the image are
 * the zero point too, so every output sums all KH x KW taps: sum of x w - zp wsum is
 * qconv2d's formula as it stands. */
static inline SLIMC_RT_VBMI __attribute__((always_inline)) void
slimc_rt_qdw3_block_vnni(const int R, const int S, const slimc_rt_conv *s, const uint8_t *x,
                         const __m512i *wk, uint64_t lm, int64_t oh, int64_t t, __m512i zp8,
                         __m512i idx, __m512i a0, __m512 mv, const float *bias, int64_t o, void *y,
                         __mmask16 sm, const slimc_rt_qreq *rq)
{
    __m512i acc[8];
    SLIMC_RT_UNROLL for (int r = 0; r < R; r++) acc[r] = a0;
    SLIMC_RT_UNROLL for (int i = 0; i < (R - 1) * S + 3; i++)
    {
        const int64_t ih = oh * S - s->PH + i;
        __m512i v = zp8;
        if (ih >= 0 && ih < s->H)
            v = _mm512_permutexvar_epi8(
                idx, _mm512_mask_loadu_epi8(zp8, (__mmask64)lm, x + ih * s->W + t * S - s->PW));
        SLIMC_RT_UNROLL for (int r = 0; r < R; r++)
        {
            const int kh = i - r * S;
            if (kh >= 0 && kh < 3)
                acc[r] = _mm512_dpbusd_epi32(acc[r], v, wk[kh]);
        }
    }
    __m512 f[8];
    SLIMC_RT_UNROLL for (int r = 0; r < R; r++) f[r] = _mm512_cvtepi32_ps(acc[r]);
    slimc_rt_qdw3_out(R, f, mv, bias, o, y, oh, t, s->OW, sm, rq);
}

static SLIMC_RT_UNUSED SLIMC_RT_VBMI void
slimc_rt_qdw3_plane_vnni(const slimc_rt_conv *s, const uint8_t *x, int32_t zp, const int8_t *w,
                         int32_t wsum, float xs, float ws, const float *bias, int64_t o, void *y,
                         const slimc_rt_qreq *rq)
{
    enum { RB = SLIMC_RT_DW_RB, MAXT = 64 };
    const int64_t OH = s->OH, S = s->SW;
    uint64_t lm[MAXT];
    __mmask16 sm[MAXT];
    const int64_t nt = slimc_rt_qdw3_masks(s, lm, sm);
    /* byte 4 j + b of the taps' vector: column S j + b (b < 3) */
    static const uint8_t ib[2][64] = {
        {0,  1,  2,  2,  1,  2,  3,  3,  2,  3,  4,  4,  3,  4,  5,  5,  4,  5,  6,  6,  5,  6,
         7,  7,  6,  7,  8,  8,  7,  8,  9,  9,  8,  9,  10, 10, 9,  10, 11, 11, 10, 11, 12, 12,
         11, 12, 13, 13, 12, 13, 14, 14, 13, 14, 15, 15, 14, 15, 16, 16, 15, 16, 17, 17},
        {0,  1,  2,  2,  2,  3,  4,  4,  4,  5,  6,  6,  6,  7,  8,  8,  8,  9,  10, 10, 10, 11,
         12, 12, 12, 13, 14, 14, 14, 15, 16, 16, 16, 17, 18, 18, 18, 19, 20, 20, 20, 21, 22, 22,
         22, 23, 24, 24, 24, 25, 26, 26, 26, 27, 28, 28, 28, 29, 30, 30, 30, 31, 32, 32}};
    const __m512i idx = _mm512_loadu_si512(ib[S - 1]);
    const slimc_rt_qreq rqc = rq ? *rq : (slimc_rt_qreq){0.0f, 0, 0, 0.0f};
    const slimc_rt_qreq *rl = rq ? &rqc : NULL; /* not reloaded after each byte store */
    __m512i wk[3];
    for (int kh = 0; kh < 3; kh++)
        wk[kh] = _mm512_set1_epi32((int32_t)((uint32_t)(uint8_t)w[3 * kh] |
                                             (uint32_t)(uint8_t)w[3 * kh + 1] << 8 |
                                             (uint32_t)(uint8_t)w[3 * kh + 2] << 16));
    const __m512i zp8 = _mm512_set1_epi8((char)zp);
    const __m512i a0 = _mm512_set1_epi32((int32_t)(0u - (uint32_t)zp * (uint32_t)wsum));
    const __m512 mv = _mm512_set1_ps(xs * ws);
    int64_t oh = 0;
#define SLIMC_RT_QDW3(R_, S_)                                                                      \
    for (int64_t q = 0; q < nt; q++)                                                               \
    slimc_rt_qdw3_block_vnni(R_, S_, s, x, wk, lm[q], oh, 16 * q, zp8, idx, a0, mv, bias, o, y,    \
                             sm[q], rl)
    if (S == 1)
        SLIMC_RT_QDW3_ROWS(SLIMC_RT_QDW3, 1);
    else
        SLIMC_RT_QDW3_ROWS(SLIMC_RT_QDW3, 2);
#undef SLIMC_RT_QDW3
}
#undef SLIMC_RT_QDW3_ROWS
#endif

SLIMC_RT_KERNEL void slimc_rt_qdw_plane(const slimc_rt_conv *s, const uint8_t *x, int32_t zp,
                                        const int8_t *w, int32_t wsum, float xs, float ws,
                                        const float *bias, int64_t o, void *y,
                                        const slimc_rt_qreq *rq)
{
    uint32_t sw = 0;
    for (int64_t k = 0; k < s->KH * s->KW; k++)
        sw += (uint32_t)(int32_t)w[k];
    /* 0 unless wsum is not the weights' sum; wraps as the i32 sum would */
    const int32_t corr = (int32_t)((uint32_t)zp * (sw - (uint32_t)wsum));
#ifdef SLIMC_RT_X86
    if (slimc_rt_dw3_ok(s) && slimc_rt_has_vnni() && slimc_rt_has_vbmi()) {
        slimc_rt_qdw3_plane_vnni(s, x, zp, w, wsum, xs, ws, bias, o, y, rq);
        return;
    }
    if (slimc_rt_isa() == SLIMC_RT_ISA_AVX512 && slimc_rt_dw3_ok(s) && corr > -(1 << 22) &&
        corr < (1 << 22)) {
        slimc_rt_qdw3_plane_512(s, x, zp, w, corr, xs, ws, bias, o, y, rq);
        return;
    }
    if (slimc_rt_isa() >= SLIMC_RT_ISA_AVX2 &&
        slimc_rt_qdw_plane_avx2(s, x, zp, w, corr, xs, ws, bias, o, y, rq))
        return;
#endif
    slimc_rt_qdw_plane_c(s, x, zp, w, corr, xs, ws, bias, o, y, rq);
}
