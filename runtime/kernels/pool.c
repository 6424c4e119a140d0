/* pool.c — max_pool2d planes, on floats and on u8 codes. */
#include "runtime/kernels/internal.h"

/* ---- max_pool2d ---- */

/* orow[ow] = max(orow[ow], xr[ow * SW + off]) for ow in [lo, hi), NaN winning. */
static inline void slimc_rt_maxpool_row_c(float *orow, const float *xr, int64_t lo, int64_t hi,
                                          int64_t SW, int64_t off)
{
    for (int64_t ow = lo; ow < hi; ow++) {
        const float v = xr[ow * SW + off], m = orow[ow];
        orow[ow] = (v > m || v != v) ? v : m;
    }
}

#ifdef SLIMC_RT_X86
/* Spreads the 16 bits of m to the even bits of 32 (bit j -> bit 2 j). */
static inline uint32_t slimc_rt_spread16(uint32_t m)
{
    m = (m | m << 8) & 0x00ff00ffu;
    m = (m | m << 4) & 0x0f0f0f0fu;
    m = (m | m << 2) & 0x33333333u;
    return (m | m << 1) & 0x55555555u;
}

/* Output rows 16 outputs at a time, each chunk's maximum kept in a register over all its
 * taps and stored once (a row read back after a masked store would wait on it). A tap
 * loads only the lanes where it lands inside the row; stride 2 takes the even elements of
 * two loads. max_ps(v, m) is `v > m ? v : m`; NaN in v then wins by a mask. */
/* True for the 2x2 window of stride 2 without padding or dilation whose windows all lie
 * inside the image (no ceil_mode overhang): LeNet's, VGG's, U-Net's pool. */
static inline int slimc_rt_pool_2x2(const slimc_rt_conv *s)
{
    return s->KH == 2 && s->KW == 2 && s->SH == 2 && s->SW == 2 && s->PH == 0 && s->PW == 0 &&
           s->DH == 1 && s->DW == 1 && 2 * s->OH <= s->H && 2 * s->OW <= s->W;
}

/* The 2x2 pool: per 16 outputs, the even and odd lanes of two rows' 32 floats, folded in
 * the taps' (kh, kw) order as the general path does. */
static SLIMC_RT_AVX512 void slimc_rt_maxpool_2x2_512(const slimc_rt_conv *s, const float *x,
                                                     float *y)
{
    const __m512i even =
        _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (int64_t oh = 0; oh < s->OH; oh++) {
        const float *r0 = x + 2 * oh * s->W, *r1 = r0 + s->W;
        for (int64_t ow = 0; ow < s->OW; ow += 16) {
            const int64_t n = slimc_rt_min(16, s->OW - ow);
            const uint32_t el = (uint32_t)((1ull << (2 * n)) - 1ull); /* 2n floats a row */
            const __mmask16 m0 = (__mmask16)(el & 0xffffu), m1 = (__mmask16)(el >> 16);
            __m512 v[4];
            for (int t = 0; t < 2; t++) {
                const float *r = (t ? r1 : r0) + 2 * ow;
                const __m512 a = _mm512_maskz_loadu_ps(m0, r),
                             b = _mm512_maskz_loadu_ps(m1, r + 16);
                v[2 * t] = _mm512_permutex2var_ps(a, even, b);
                v[2 * t + 1] = _mm512_permutex2var_ps(a, odd, b);
            }
            __m512 acc = _mm512_set1_ps(-INFINITY);
            for (int t = 0; t < 4; t++) {
                acc = _mm512_max_ps(v[t], acc);
                acc = _mm512_mask_mov_ps(acc, _mm512_cmp_ps_mask(v[t], v[t], _CMP_UNORD_Q), v[t]);
            }
            _mm512_mask_storeu_ps(y + oh * s->OW + ow, (__mmask16)((1u << n) - 1u), acc);
        }
    }
}

/* m = max(m, v) as the pool folds a tap: v > m ? v : m, and v where v is NaN. */
static inline SLIMC_RT_AVX512 __m512 slimc_rt_pool_fold16(__m512 m, __m512 v)
{
    m = _mm512_max_ps(v, m);
    return _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
}

/* Windows 3 wide at stride 2 without dilation (ResNet's, SqueezeNet's, GoogLeNet's pool).
 * Per input row, the 33 floats under 16 outputs' windows come in two loads and one
 * broadcast, with columns outside the row read as -inf; their even, odd and next-even
 * lanes are the three taps. Each row's maximum is kept for the next output row, which
 * starts where this one's window ends (stride 2 down a 3-row window). That is allowed
 * because the taps' fold is associative: folding two runs of taps and then their results
 * gives what folding them one by one gives (a NaN in the second run wins, as its last NaN
 * would; else a NaN in the first; else the first maximum, ties going to the earlier run),
 * with -inf folding as nothing. */
static SLIMC_RT_AVX512 void slimc_rt_maxpool_3s2_512(const slimc_rt_conv *s, const float *x,
                                                     float *y)
{
    const __m512i even =
        _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    for (int64_t ow = 0; ow < s->OW; ow += 16) {
        const int64_t c0 = 2 * ow - s->PW; /* the block's first column */
        const uint64_t lm = slimc_rt_bits64(-c0, s->W - c0);
        const __mmask16 m0 = (__mmask16)(lm & 0xffffu), m1 = (__mmask16)((lm >> 16) & 0xffffu);
        const int last = c0 + 32 >= 0 && c0 + 32 < s->W; /* column c0 + 32 inside the row */
        const __mmask16 sm = (__mmask16)((1u << slimc_rt_min(16, s->OW - ow)) - 1u);
        int64_t kept = -1; /* the input row whose maximum is in hk */
        __m512 hk = ninf;
        for (int64_t oh = 0; oh < s->OH; oh++) {
            const int64_t h0 = oh * s->SH - s->PH;
            const int64_t kh0 = slimc_rt_max(0, slimc_rt_div_ceil(-h0, s->DH));
            const int64_t kh1 = slimc_rt_min(s->KH, slimc_rt_div_floor(s->H - 1 - h0, s->DH) + 1);
            __m512 acc = ninf; /* an empty window (all padding) gives -inf */
            for (int64_t kh = kh0; kh < kh1; kh++) {
                const int64_t r = h0 + kh * s->DH;
                __m512 h = hk;
                if (r != kept) {
                    const float *xr = x + r * s->W;
                    /* c0 may lie left of the row (masked off): the address is an integer */
                    const uintptr_t p = (uintptr_t)xr + (uintptr_t)c0 * sizeof(float);
                    const __m512 a = _mm512_mask_loadu_ps(ninf, m0, (const void *)p),
                                 b = _mm512_mask_loadu_ps(ninf, m1, (const void *)(p + 64));
                    const __m512 e = _mm512_permutex2var_ps(a, even, b);
                    const __m512 nx = last ? _mm512_set1_ps(xr[c0 + 32]) : ninf;
                    h = slimc_rt_pool_fold16(
                        slimc_rt_pool_fold16(e, _mm512_permutex2var_ps(a, odd, b)),
                        _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(nx),
                                                                _mm512_castps_si512(e), 1)));
                    kept = r;
                    hk = h;
                }
                acc = kh == kh0 ? h : slimc_rt_pool_fold16(acc, h);
            }
            _mm512_mask_storeu_ps(y + oh * s->OW + ow, sm, acc);
        }
    }
}

static SLIMC_RT_AVX512 void slimc_rt_maxpool_rows_512(const slimc_rt_conv *s, const float *x,
                                                      float *y, const int64_t *t_lo,
                                                      const int64_t *t_hi)
{
    if (slimc_rt_pool_2x2(s)) {
        slimc_rt_maxpool_2x2_512(s, x, y);
        return;
    }
    if (s->KW == 3 && s->SW == 2 && s->DW == 1) {
        slimc_rt_maxpool_3s2_512(s, x, y);
        return;
    }
    const __m512i even =
        _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const int64_t SW = s->SW;
    for (int64_t oh = 0; oh < s->OH; oh++) {
        const int64_t h0 = oh * s->SH - s->PH;
        int64_t kh0 = 0, kh1 = s->KH;
        if (h0 < 0 || h0 + (s->KH - 1) * s->DH >= s->H) {
            kh0 = slimc_rt_max(0, slimc_rt_div_ceil(-h0, s->DH));
            kh1 = slimc_rt_min(s->KH, slimc_rt_div_floor(s->H - 1 - h0, s->DH) + 1);
        }
        for (int64_t ow = 0; ow < s->OW; ow += 16) {
            const int64_t n = slimc_rt_min(16, s->OW - ow);
            __m512 acc = _mm512_set1_ps(-INFINITY);
            for (int64_t kh = kh0; kh < kh1; kh++) {
                const float *xr = x + (h0 + kh * s->DH) * s->W;
                for (int64_t kw = 0; kw < s->KW; kw++) {
                    /* lanes [a, b) of this chunk see tap kw inside the row */
                    const int64_t a = slimc_rt_max(t_lo[kw] - ow, 0);
                    const int64_t b = slimc_rt_min(t_hi[kw] - ow, n);
                    if (a >= b)
                        continue;
                    const uint32_t lanes = ((1u << b) - 1u) & ~((1u << a) - 1u);
                    /* the first taps may lie left of the row (padding, masked off): the
                     * address is formed as an integer */
                    const float *p =
                        (const float *)(uintptr_t)((uintptr_t)xr +
                                                   (uintptr_t)(ow * SW + kw * s->DW - s->PW) *
                                                       sizeof(float));
                    __m512 v;
                    if (SW == 1) {
                        v = _mm512_maskz_loadu_ps((__mmask16)lanes, p);
                    } else {
                        const uint32_t el = slimc_rt_spread16(lanes);
                        v = _mm512_permutex2var_ps(
                            _mm512_maskz_loadu_ps((__mmask16)(el & 0xffffu), p), even,
                            _mm512_maskz_loadu_ps((__mmask16)(el >> 16), p + 16));
                    }
                    const __mmask16 k = (__mmask16)lanes;
                    acc = _mm512_mask_max_ps(acc, k, v, acc);
                    acc = _mm512_mask_mov_ps(acc, k & _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
                }
            }
            _mm512_mask_storeu_ps(y + oh * s->OW + ow, (__mmask16)((1u << n) - 1u), acc);
        }
    }
}
#endif

/* Per tap column kw (windows up to 64 wide): the outputs [lo, hi) whose tap lands inside
 * the row. Returns 0 for wider windows (the loops then work them out per row). */
static int slimc_rt_pool_taps(const slimc_rt_conv *s, int64_t *t_lo, int64_t *t_hi)
{
    if (s->KW > 64)
        return 0;
    for (int64_t kw = 0; kw < s->KW; kw++) {
        const int64_t off = kw * s->DW - s->PW;
        t_lo[kw] = slimc_rt_max(0, slimc_rt_div_ceil(-off, s->SW));
        t_hi[kw] = slimc_rt_min(s->OW, slimc_rt_div_floor(s->W - 1 - off, s->SW) + 1);
    }
    return 1;
}

/* The portable max_pool2d of one plane, f32 (NaN wins) or u8 codes. */
static void slimc_rt_maxpool_c(const slimc_rt_conv *s, const void *x, void *y, int u8,
                               const int64_t *t_lo, const int64_t *t_hi, int small)
{
    for (int64_t oh = 0; oh < s->OH; oh++) {
        for (int64_t ow = 0; ow < s->OW; ow++)
            if (u8)
                ((uint8_t *)y)[oh * s->OW + ow] = 0;
            else
                ((float *)y)[oh * s->OW + ow] = -INFINITY;
        const int64_t h0 = oh * s->SH - s->PH; /* the window's first row */
        const int64_t kh0 = slimc_rt_max(0, slimc_rt_div_ceil(-h0, s->DH));
        const int64_t kh1 = slimc_rt_min(s->KH, slimc_rt_div_floor(s->H - 1 - h0, s->DH) + 1);
        for (int64_t kh = kh0; kh < kh1; kh++) {
            const int64_t row = (h0 + kh * s->DH) * s->W;
            for (int64_t kw = 0; kw < s->KW; kw++) {
                const int64_t off = kw * s->DW - s->PW;
                const int64_t lo =
                    small ? t_lo[kw] : slimc_rt_max(0, slimc_rt_div_ceil(-off, s->SW));
                const int64_t hi =
                    small ? t_hi[kw]
                          : slimc_rt_min(s->OW, slimc_rt_div_floor(s->W - 1 - off, s->SW) + 1);
                if (u8)
                    for (int64_t ow = lo; ow < hi; ow++) {
                        const uint8_t v = ((const uint8_t *)x)[row + ow * s->SW + off];
                        uint8_t *m = (uint8_t *)y + oh * s->OW + ow;
                        *m = v > *m ? v : *m;
                    }
                else
                    slimc_rt_maxpool_row_c((float *)y + oh * s->OW, (const float *)x + row, lo, hi,
                                           s->SW, off);
            }
        }
    }
}

#ifdef SLIMC_RT_X86
/* The 2x2 window of stride 2 without padding or dilation, every window inside the image,
 * on AVX2: four outputs a step from two rows of 8 inputs split into even and odd columns,
 * the taps taken in (kh, kw) order, each replacing the maximum when greater or NaN -- the
 * portable loop's result, bit for bit (training's LeNet pools; AVX-512 has its own). */
static SLIMC_RT_AVX2 void slimc_rt_maxpool2_avx2(const slimc_rt_conv *s, const float *x, float *y)
{
    const __m256i split = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const int64_t W = s->W, OW = s->OW;
    for (int64_t oh = 0; oh < s->OH; oh++) {
        const float *r0 = x + 2 * oh * W, *r1 = r0 + W;
        float *yr = y + oh * OW;
        int64_t ow = 0;
        for (; ow + 4 <= OW; ow += 4) {
            const __m256 a = _mm256_permutevar8x32_ps(_mm256_loadu_ps(r0 + 2 * ow), split);
            const __m256 b = _mm256_permutevar8x32_ps(_mm256_loadu_ps(r1 + 2 * ow), split);
            const __m128 t[3] = {_mm256_extractf128_ps(a, 1), _mm256_castps256_ps128(b),
                                 _mm256_extractf128_ps(b, 1)};
            __m128 m = _mm256_castps256_ps128(a);
            for (int i = 0; i < 3; i++)
                m = _mm_blendv_ps(m, t[i],
                                  _mm_or_ps(_mm_cmp_ps(t[i], m, _CMP_GT_OQ),
                                            _mm_cmp_ps(t[i], t[i], _CMP_UNORD_Q)));
            _mm_storeu_ps(yr + ow, m);
        }
        for (; ow < OW; ow++) {
            const float t[3] = {r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]};
            float m = r0[2 * ow];
            for (int i = 0; i < 3; i++)
                m = (t[i] > m || t[i] != t[i]) ? t[i] : m;
            yr[ow] = m;
        }
    }
}
#endif

SLIMC_RT_KERNEL void slimc_rt_maxpool_plane(const slimc_rt_conv *s, const float *x, float *y)
{
#ifdef SLIMC_RT_X86
    if (s->KH == 2 && s->KW == 2 && s->SH == 2 && s->SW == 2 && s->PH == 0 && s->PW == 0 &&
        s->DH == 1 && s->DW == 1 && 2 * s->OH <= s->H && 2 * s->OW <= s->W &&
        slimc_rt_isa() == SLIMC_RT_ISA_AVX2) {
        slimc_rt_maxpool2_avx2(s, x, y);
        return;
    }
#endif
    int64_t t_lo[64], t_hi[64];
    const int small = slimc_rt_pool_taps(s, t_lo, t_hi);
#ifdef SLIMC_RT_X86
    if (small && (s->SW == 1 || s->SW == 2) && slimc_rt_isa() == SLIMC_RT_ISA_AVX512) {
        slimc_rt_maxpool_rows_512(s, x, y, t_lo, t_hi);
        return;
    }
#endif
    slimc_rt_maxpool_c(s, x, y, 0, t_lo, t_hi, small);
}

#ifdef SLIMC_RT_X86
/* Spreads the 32 bits of m to the even bits of 64 (bit j -> bit 2 j). */
static inline uint64_t slimc_rt_spread32(uint64_t m)
{
    m &= 0xffffffffull;
    m = (m | m << 16) & 0x0000ffff0000ffffull;
    m = (m | m << 8) & 0x00ff00ff00ff00ffull;
    m = (m | m << 4) & 0x0f0f0f0f0f0f0f0full;
    m = (m | m << 2) & 0x3333333333333333ull;
    return (m | m << 1) & 0x5555555555555555ull;
}

/* The u8 rows as the f32 ones: 32 outputs a chunk in a register over all their taps;
 * stride 2 keeps the even bytes of one 64-byte load (vpmovwb). Lanes a tap does not reach
 * load 0, which leaves the maximum as it is. */
/* The 3-wide stride-2 pool on codes as slimc_rt_maxpool_3s2_512 on floats, 32 outputs a
 * block: a row's 65 bytes in two 64-byte loads (from the block's first column and two
 * after it, bytes outside the row 0), whose even bytes (vpmovwb) are the first and third
 * taps and the first load's odd bytes the second; each row's maximum kept for the next
 * output row. */
static SLIMC_RT_AVX512 void slimc_rt_maxpool_3s2_u8_512(const slimc_rt_conv *s, const uint8_t *x,
                                                        uint8_t *y)
{
    for (int64_t ow = 0; ow < s->OW; ow += 32) {
        const int64_t c0 = 2 * ow - s->PW; /* the block's first column */
        const __mmask64 l0 = slimc_rt_bits64(-c0, s->W - c0),
                        l2 = slimc_rt_bits64(-c0 - 2, s->W - c0 - 2);
        const __mmask32 sm = (__mmask32)((1ull << slimc_rt_min(32, s->OW - ow)) - 1ull);
        int64_t kept = -1; /* the input row whose maximum is in hk */
        __m256i hk = _mm256_setzero_si256();
        for (int64_t oh = 0; oh < s->OH; oh++) {
            const int64_t h0 = oh * s->SH - s->PH;
            const int64_t kh0 = slimc_rt_max(0, slimc_rt_div_ceil(-h0, s->DH));
            const int64_t kh1 = slimc_rt_min(s->KH, slimc_rt_div_floor(s->H - 1 - h0, s->DH) + 1);
            __m256i acc = _mm256_setzero_si256();
            for (int64_t kh = kh0; kh < kh1; kh++) {
                const int64_t r = h0 + kh * s->DH;
                __m256i h = hk;
                if (r != kept) {
                    /* c0 may lie left of the row (masked off): the address is an integer */
                    const uintptr_t p = (uintptr_t)(x + r * s->W) + (uintptr_t)c0;
                    const __m512i a = _mm512_maskz_loadu_epi8(l0, (const void *)p),
                                  b = _mm512_maskz_loadu_epi8(l2, (const void *)(p + 2));
                    h = _mm256_max_epu8(
                        _mm256_max_epu8(_mm512_cvtepi16_epi8(a),
                                        _mm512_cvtepi16_epi8(_mm512_srli_epi16(a, 8))),
                        _mm512_cvtepi16_epi8(b));
                    kept = r;
                    hk = h;
                }
                acc = _mm256_max_epu8(acc, h);
            }
            _mm256_mask_storeu_epi8(y + oh * s->OW + ow, sm, acc);
        }
    }
}

static SLIMC_RT_AVX512 void slimc_rt_maxpool_rows_u8_512(const slimc_rt_conv *s, const uint8_t *x,
                                                         uint8_t *y, const int64_t *t_lo,
                                                         const int64_t *t_hi)
{
    if (s->KW == 3 && s->SW == 2 && s->DW == 1) {
        slimc_rt_maxpool_3s2_u8_512(s, x, y);
        return;
    }
    if (slimc_rt_pool_2x2(s)) { /* the two rows' maximum, then each byte pair's (as words) */
        for (int64_t oh = 0; oh < s->OH; oh++) {
            const uint8_t *r0 = x + 2 * oh * s->W, *r1 = r0 + s->W;
            for (int64_t ow = 0; ow < s->OW; ow += 32) {
                const int64_t n = slimc_rt_min(32, s->OW - ow);
                const __mmask64 mk = slimc_rt_bits64(0, 2 * n);
                __m512i m = _mm512_max_epu8(_mm512_maskz_loadu_epi8(mk, r0 + 2 * ow),
                                            _mm512_maskz_loadu_epi8(mk, r1 + 2 * ow));
                m = _mm512_max_epu8(m, _mm512_srli_epi16(m, 8));
                _mm256_mask_storeu_epi8(y + oh * s->OW + ow, (__mmask32)((1ull << n) - 1ull),
                                        _mm512_cvtepi16_epi8(m));
            }
        }
        return;
    }
    const int64_t SW = s->SW;
    for (int64_t oh = 0; oh < s->OH; oh++) {
        const int64_t h0 = oh * s->SH - s->PH;
        const int64_t kh0 = slimc_rt_max(0, slimc_rt_div_ceil(-h0, s->DH));
        const int64_t kh1 = slimc_rt_min(s->KH, slimc_rt_div_floor(s->H - 1 - h0, s->DH) + 1);
        for (int64_t ow = 0; ow < s->OW; ow += 32) {
            const int64_t n = slimc_rt_min(32, s->OW - ow);
            __m256i acc = _mm256_setzero_si256();
            for (int64_t kh = kh0; kh < kh1; kh++) {
                const uint8_t *xr = x + (h0 + kh * s->DH) * s->W;
                for (int64_t kw = 0; kw < s->KW; kw++) {
                    const int64_t a = slimc_rt_max(t_lo[kw] - ow, 0);
                    const int64_t b = slimc_rt_min(t_hi[kw] - ow, n);
                    if (a >= b)
                        continue;
                    const uint64_t lanes = ((1ull << b) - 1ull) & ~((1ull << a) - 1ull);
                    const uintptr_t p = (uintptr_t)xr + (uintptr_t)(ow * SW + kw * s->DW - s->PW);
                    __m256i v;
                    if (SW == 1)
                        v = _mm256_maskz_loadu_epi8((__mmask32)lanes, (const void *)p);
                    else
                        v = _mm512_cvtepi16_epi8(_mm512_maskz_loadu_epi8(
                            (__mmask64)slimc_rt_spread32(lanes), (const void *)p));
                    acc = _mm256_max_epu8(acc, v);
                }
            }
            _mm256_mask_storeu_epi8(y + oh * s->OW + ow, (__mmask32)((1ull << n) - 1ull), acc);
        }
    }
}
#endif

SLIMC_RT_KERNEL void slimc_rt_maxpool_plane_u8(const slimc_rt_conv *s, const uint8_t *x, uint8_t *y)
{
    int64_t t_lo[64], t_hi[64];
    const int small = slimc_rt_pool_taps(s, t_lo, t_hi);
#ifdef SLIMC_RT_X86
    if (small && (s->SW == 1 || s->SW == 2) && slimc_rt_isa() == SLIMC_RT_ISA_AVX512) {
        slimc_rt_maxpool_rows_u8_512(s, x, y, t_lo, t_hi);
        return;
    }
#endif
    slimc_rt_maxpool_c(s, x, y, 1, t_lo, t_hi, small);
}

/* ---- max_pool2d's gradient ---- */

#ifdef SLIMC_RT_X86
/* Windows [ow, ow + 4k) of one output row (see slimc_rt_maxpool2_grad_plane), four a step:
 * a row's 8 inputs split into even and odd columns (the window's two taps), the taps
 * compared in order with masks, dy stored under the winner's mask and 0 elsewhere.
 * Returns the first window not done. */
static SLIMC_RT_AVX2 int64_t slimc_rt_maxpool2_grad_row_avx2(const float *r0, const float *r1,
                                                             const float *g, float *o0, float *o1,
                                                             int64_t OW)
{
    const __m256i split = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m128 zero = _mm_setzero_ps();
    int64_t ow = 0;
    for (; ow + 4 <= OW; ow += 4) {
        const __m256 a = _mm256_permutevar8x32_ps(_mm256_loadu_ps(r0 + 2 * ow), split);
        const __m256 b = _mm256_permutevar8x32_ps(_mm256_loadu_ps(r1 + 2 * ow), split);
        const __m128 t0 = _mm256_castps256_ps128(a), t1 = _mm256_extractf128_ps(a, 1);
        const __m128 t2 = _mm256_castps256_ps128(b), t3 = _mm256_extractf128_ps(b, 1);
        /* tap t replaces the maximum m when t > m or t is NaN */
        __m128 m = t0;
        const __m128 k1 =
            _mm_or_ps(_mm_cmp_ps(t1, m, _CMP_GT_OQ), _mm_cmp_ps(t1, t1, _CMP_UNORD_Q));
        m = _mm_blendv_ps(m, t1, k1);
        const __m128 k2 =
            _mm_or_ps(_mm_cmp_ps(t2, m, _CMP_GT_OQ), _mm_cmp_ps(t2, t2, _CMP_UNORD_Q));
        m = _mm_blendv_ps(m, t2, k2);
        const __m128 k3 =
            _mm_or_ps(_mm_cmp_ps(t3, m, _CMP_GT_OQ), _mm_cmp_ps(t3, t3, _CMP_UNORD_Q));
        const __m128 gv = _mm_add_ps(zero, _mm_loadu_ps(g + ow)); /* 0 + dy, as += into 0 */
        const __m128 w3 = k3, w2 = _mm_andnot_ps(k3, k2);
        const __m128 w1 = _mm_andnot_ps(_mm_or_ps(k2, k3), k1);
        const __m128 w0 = _mm_andnot_ps(_mm_or_ps(k1, _mm_or_ps(k2, k3)), gv);
        const __m128 g0 = w0, g1 = _mm_and_ps(w1, gv), g2 = _mm_and_ps(w2, gv),
                     g3 = _mm_and_ps(w3, gv);
        _mm256_storeu_ps(o0 + 2 * ow,
                         _mm256_set_m128(_mm_unpackhi_ps(g0, g1), _mm_unpacklo_ps(g0, g1)));
        _mm256_storeu_ps(o1 + 2 * ow,
                         _mm256_set_m128(_mm_unpackhi_ps(g2, g3), _mm_unpacklo_ps(g2, g3)));
    }
    return ow;
}
#endif

/* max_pool2d's gradient for the 2x2 window of stride 2, no padding, no dilation, every
 * window inside the image (2 OH <= H, 2 OW <= W), one plane: dx [H, W] = 0 but at each
 * window's first maximum (taps in (kh, kw) order, a NaN replacing it), where it is
 * 0 + dy [OH, OW] -- what the generic gradient computes (codegen/c/grad.c), bit for bit.
 * The windows do not overlap, so each input is written once. */
SLIMC_RT_KERNEL void slimc_rt_maxpool2_grad_plane(int64_t H, int64_t W, int64_t OH, int64_t OW,
                                                  const float *x, const float *dy, float *dx)
{
    if (2 * OH != H || 2 * OW != W) /* inputs that no window reaches */
        memset(dx, 0, sizeof(float) * (size_t)(H * W));
#ifdef SLIMC_RT_X86
    const int avx2 = slimc_rt_isa() >= SLIMC_RT_ISA_AVX2;
#endif
    for (int64_t oh = 0; oh < OH; oh++) {
        const float *r0 = x + 2 * oh * W, *r1 = r0 + W, *g = dy + oh * OW;
        float *o0 = dx + 2 * oh * W, *o1 = o0 + W;
        int64_t ow = 0;
#ifdef SLIMC_RT_X86
        if (avx2)
            ow = slimc_rt_maxpool2_grad_row_avx2(r0, r1, g, o0, o1, OW);
#endif
        for (; ow < OW; ow++) {
            const float t[4] = {r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]};
            int best = 0;
            float m = t[0];
            for (int i = 1; i < 4; i++)
                if (t[i] > m || t[i] != t[i])
                    best = i, m = t[i];
            for (int i = 0; i < 4; i++)
                (i < 2 ? o0 : o1)[2 * ow + (i & 1)] = i == best ? 0.0f + g[ow] : 0.0f;
        }
    }
}
