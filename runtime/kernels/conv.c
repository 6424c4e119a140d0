/* conv.c — fp32 convolution: im2col panels, the implicit-GEMM slimc_rt_conv2d_px and the
 * weight gradient's columns (the depthwise planes are in depthwise.c). */
#include "runtime/kernels/internal.h"

/* One run of an im2col row: d[t] = xr[t * SW] for t in [lo, hi), 0 elsewhere in [0, len). */
static inline __attribute__((always_inline)) void
slimc_rt_run_c(float *d, const float *xr, int64_t SW, int64_t len, int64_t lo, int64_t hi)
{
    for (int64_t t = 0; t < lo; t++)
        d[t] = 0.0f;
    if (SW == 1)
        for (int64_t t = lo; t < hi; t++)
            d[t] = xr[t];
    else
        for (int64_t t = lo; t < hi; t++)
            d[t] = xr[t * SW];
    for (int64_t t = hi; t < len; t++)
        d[t] = 0.0f;
}

#ifdef SLIMC_RT_X86
/* The same with masked AVX-512 loads and stores for stride 1: the masked-off lanes
 * (padding) are neither read nor faulted on. */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_run_512(float *d, const float *xr, int64_t SW, int64_t len, int64_t lo, int64_t hi)
{
    if (SW == 2) { /* load 32 inputs, keep the even ones */
        const __m512i even =
            _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        for (int64_t t = 0; t < len; t += 16) {
            const int64_t a = slimc_rt_max(lo - t, 0), b = slimc_rt_min(hi - t, 16),
                          e = slimc_rt_min(len - t, 16);
            /* input lanes 2a .. 2b - 2 of the 32 starting at xr + 2t */
            const uint32_t in = b > a ? (uint32_t)((((uint64_t)1 << (2 * b - 1)) - 1u) &
                                                   ~(((uint64_t)1 << (2 * a)) - 1u))
                                      : 0u;
            const __m512 v0 = _mm512_maskz_loadu_ps((__mmask16)(in & 0xffffu), xr + 2 * t);
            const __m512 v1 = _mm512_maskz_loadu_ps((__mmask16)(in >> 16), xr + 2 * t + 16);
            _mm512_mask_storeu_ps(d + t, (__mmask16)((1u << e) - 1u),
                                  _mm512_permutex2var_ps(v0, even, v1));
        }
        return;
    }
    if (SW != 1) {
        slimc_rt_run_c(d, xr, SW, len, lo, hi);
        return;
    }
    for (int64_t t = 0; t < len; t += 16) {
        const int64_t a = slimc_rt_max(lo - t, 0), b = slimc_rt_min(hi - t, 16),
                      e = slimc_rt_min(len - t, 16);
        const __mmask16 all = (__mmask16)((1u << e) - 1u);
        const __mmask16 valid =
            b > a ? (__mmask16)(((1u << b) - 1u) & ~((1u << a) - 1u)) : (__mmask16)0;
        _mm512_mask_storeu_ps(d + t, all, _mm512_maskz_loadu_ps(valid, xr + t));
    }
}
#endif

#ifndef SLIMC_RT_IM2COL_PFC
#define SLIMC_RT_IM2COL_PFC 2 /* channels ahead that im2col prefetches its input rows */
#endif

/* Input rows [ih0, ih1) of channel plane xc (row length W), the span a panel's taps read,
 * prefetched into L1 ahead of the copies: in a network the input plane of a conv comes
 * from L3 (the layer before wrote more than L2 holds), and the hardware prefetcher,
 * following 64 channel planes at once, fetched it late (the 56x56 3x3 layers ran 30%
 * slower than with the input in L2). A few channels ahead of the copy is enough. */
static inline __attribute__((always_inline)) void slimc_rt_prefetch_rows(const float *xc, int64_t W,
                                                                         int64_t ih0, int64_t ih1)
{
    const char *p = (const char *)(xc + ih0 * W), *e = (const char *)(xc + ih1 * W);
    for (; p < e; p += 64)
        __builtin_prefetch(p, 0, 3);
}

/* Packs rows [k0, k0 + kc) and pixels [p0, p0 + np) of the im2col matrix of x (the
 * group's first channel) into bp[kk * NP + j]. The panel's pixels are cut once into runs
 * along one output row; rows (c, kh, kw) are stepped without divisions, and each run is
 * a clipped copy (contiguous for stride 1) between zeros for the padding. RUN copies a
 * run (slimc_rt_run_c or an ISA's variant). */
#define SLIMC_RT_IM2COL_BODY(RUN)                                                                  \
    int64_t sj[SLIMC_RT_CONV_NP], sl[SLIMC_RT_CONV_NP], sih[SLIMC_RT_CONV_NP],                     \
        siw[SLIMC_RT_CONV_NP];                                                                     \
    int ns = 0;                                                                                    \
    for (int64_t oh = p0 / s->OW, ow = p0 % s->OW, j = 0; j < np;                                  \
         j += sl[ns], ns++, ow = 0, oh++) {                                                        \
        sj[ns] = j;                                                                                \
        sl[ns] = slimc_rt_min(np - j, s->OW - ow);                                                 \
        sih[ns] = oh * s->SH - s->PH;                                                              \
        siw[ns] = ow * s->SW - s->PW;                                                              \
    }                                                                                              \
    const int64_t khw = s->KH * s->KW, HW = s->H * s->W, W = s->W, SW = s->SW;                     \
    int64_t c = k0 / khw, kh = k0 % khw / s->KW, kw = k0 % s->KW;                                  \
    const int64_t ih0 = slimc_rt_max(0, sih[0]),                                                   \
                  ih1 = slimc_rt_min(s->H, sih[ns - 1] + (s->KH - 1) * s->DH + 1);                 \
    for (int64_t d = 1; d <= SLIMC_RT_IM2COL_PFC && c + d < s->CG; d++)                            \
        slimc_rt_prefetch_rows(x + (c + d) * HW, W, ih0, ih1);                                     \
    for (int64_t kk = 0; kk < kc; kk++) {                                                          \
        float *dst = bp + kk * SLIMC_RT_CONV_NP;                                                   \
        for (int q = 0; q < ns; q++) {                                                             \
            const int64_t len = sl[q], ih = sih[q] + kh * s->DH, iw = siw[q] + kw * s->DW;         \
            int64_t lo = 0, hi = 0; /* the valid part [lo, hi) of the run */                       \
            const float *xr = x;                                                                   \
            if (ih >= 0 && ih < s->H) {                                                            \
                lo = iw >= 0 ? 0 : SW == 1 ? -iw : slimc_rt_div_ceil(-iw, SW);                     \
                hi = iw >= W ? 0 : SW == 1 ? W - iw : slimc_rt_div_ceil(W - iw, SW);               \
                lo = slimc_rt_min(lo, len);                                                        \
                hi = slimc_rt_max(lo, slimc_rt_min(hi, len));                                      \
                xr = x + c * HW + ih * W + iw;                                                     \
            }                                                                                      \
            RUN(dst + sj[q], xr, SW, len, lo, hi);                                                 \
        }                                                                                          \
        if (++kw == s->KW) {                                                                       \
            kw = 0;                                                                                \
            if (++kh == s->KH) {                                                                   \
                kh = 0;                                                                            \
                c++;                                                                               \
                if (c + SLIMC_RT_IM2COL_PFC < s->CG)                                               \
                    slimc_rt_prefetch_rows(x + (c + SLIMC_RT_IM2COL_PFC) * HW, W, ih0, ih1);       \
            }                                                                                      \
        }                                                                                          \
    }

static SLIMC_RT_UNUSED void slimc_rt_im2col_c(const slimc_rt_conv *s, const float *x, int64_t k0,
                                              int64_t kc, int64_t p0, int64_t np, float *bp)
{
    SLIMC_RT_IM2COL_BODY(slimc_rt_run_c)
}

#ifdef SLIMC_RT_X86
/* Stride-1 columns: the panel is cut into runs of at most 16 pixels along output rows,
 * and for each run the taps (kh, kw) that keep it wholly inside the image are worked out
 * once; for those (all of them when there is no padding) a row of the panel is one
 * masked load and store per run, the others go through slimc_rt_run_512. */
static SLIMC_RT_UNUSED SLIMC_RT_AVX512 void slimc_rt_im2col_512_s1(const slimc_rt_conv *s,
                                                                   const float *x, int64_t k0,
                                                                   int64_t kc, int64_t p0,
                                                                   int64_t np, float *bp)
{
    enum { NS = 2 * SLIMC_RT_CONV_NP };
    int64_t sj[NS], sl[NS], sih[NS], siw[NS], khlo[NS], khhi[NS], kwlo[NS], kwhi[NS];
    __mmask16 sm[NS];
    int ns = 0;
    const int64_t H = s->H, W = s->W, DH = s->DH, DW = s->DW;
    for (int64_t oh = p0 / s->OW, ow = p0 % s->OW, j = 0; j < np; ns++) {
        const int64_t len = slimc_rt_min(slimc_rt_min(np - j, s->OW - ow), 16);
        sj[ns] = j;
        sl[ns] = len;
        sih[ns] = oh * s->SH - s->PH;
        siw[ns] = ow - s->PW;
        sm[ns] = (__mmask16)((1u << len) - 1u);
        /* 0 <= sih + kh DH < H and 0 <= siw + kw DW, siw + kw DW + len <= W */
        khlo[ns] = slimc_rt_max(0, slimc_rt_div_ceil(-sih[ns], DH));
        khhi[ns] = slimc_rt_min(s->KH, slimc_rt_div_floor(H - 1 - sih[ns], DH) + 1);
        kwlo[ns] = slimc_rt_max(0, slimc_rt_div_ceil(-siw[ns], DW));
        kwhi[ns] = slimc_rt_min(s->KW, slimc_rt_div_floor(W - len - siw[ns], DW) + 1);
        j += len;
        ow += len;
        if (ow == s->OW)
            ow = 0, oh++;
    }
    const int64_t HW = H * W;
    int64_t c = k0 / (s->KH * s->KW), kh = k0 % (s->KH * s->KW) / s->KW, kw = k0 % s->KW;
    for (int64_t kk = 0; kk < kc; kk++) {
        const float *xc = x + c * HW;
        float *dst = bp + kk * SLIMC_RT_CONV_NP;
        for (int q = 0; q < ns; q++) {
            const int64_t ih = sih[q] + kh * DH, iw = siw[q] + kw * DW;
            if (kh >= khlo[q] && kh < khhi[q] && kw >= kwlo[q] && kw < kwhi[q]) {
                _mm512_mask_storeu_ps(dst + sj[q], sm[q],
                                      _mm512_maskz_loadu_ps(sm[q], xc + ih * W + iw));
            } else if (ih < 0 || ih >= H) {
                _mm512_mask_storeu_ps(dst + sj[q], sm[q], _mm512_setzero_ps());
            } else {
                const int64_t lo = slimc_rt_min(sl[q], slimc_rt_max(0, -iw));
                const int64_t hi = slimc_rt_max(lo, slimc_rt_min(sl[q], W - iw));
                slimc_rt_run_512(dst + sj[q], xc + ih * W + iw, 1, sl[q], lo, hi);
            }
        }
        if (++kw == s->KW) {
            kw = 0;
            if (++kh == s->KH) {
                kh = 0;
                c++;
            }
        }
    }
}

/* Table-driven panels for strides 1 and 2 (S): the panel is cut into runs of at most 16
 * pixels along output rows, and for every tap (kh, kw) and run the input offset and the
 * lanes inside the image are worked out once per panel (SLIMC_RT_IM2COL_TAB entries at
 * most); a row (c, kh, kw) of the panel is then one masked load per run (stride 2: two,
 * and a permute that keeps the even inputs) and a store, with no branches. Taps in the
 * padding load nothing (mask 0: zeros). Returns 0, doing nothing, when the table would
 * not fit or the panel has under two channels' rows. */
#define SLIMC_RT_IM2COL_TAB 1024
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) int
slimc_rt_im2col_512_tab(const int S, const slimc_rt_conv *s, const float *x, int64_t k0, int64_t kc,
                        int64_t p0, int64_t np, float *bp)
{
    enum { NS = 2 * SLIMC_RT_CONV_NP };
    int64_t sj[NS];
    __mmask16 sm[NS];
    int64_t oh = p0 / s->OW, ow = p0 % s->OW, sih[NS], siw[NS];
    int ns = 0;
    for (int64_t j = 0; j < np; ns++) {
        const int64_t len = slimc_rt_min(slimc_rt_min(np - j, s->OW - ow), 16);
        sj[ns] = j;
        sm[ns] = (__mmask16)((1u << len) - 1u);
        sih[ns] = oh * s->SH - s->PH;
        siw[ns] = ow * S - s->PW;
        j += len;
        ow += len;
        if (ow == s->OW)
            ow = 0, oh++;
    }
    const int64_t khw = s->KH * s->KW;
    if (khw * ns > SLIMC_RT_IM2COL_TAB || kc < 2 * khw) /* no room; or the table would cost
                                                           as much as the copies */
        return 0;
    int64_t off[SLIMC_RT_IM2COL_TAB];
    uint32_t lm[SLIMC_RT_IM2COL_TAB];
    const int64_t H = s->H, W = s->W;
    for (int64_t kh = 0, t = 0; kh < s->KH; kh++)
        for (int64_t kw = 0; kw < s->KW; kw++)
            for (int q = 0; q < ns; q++, t++) {
                const int64_t ih = sih[q] + kh * s->DH, iw = siw[q] + kw * s->DW;
                /* the lanes i of the S * 16 loaded with 0 <= iw + i < W (lanes past
                 * the run's end are loaded and not stored; they stay inside the row) */
                const int64_t lanes = S == 1 ? 16 : 32;
                const int64_t lo = slimc_rt_max(0, -iw), hi = slimc_rt_min(lanes, W - iw);
                const uint32_t m =
                    ih < 0 || ih >= H || hi <= lo
                        ? 0u
                        : (uint32_t)((((uint64_t)1 << hi) - 1u) & ~(((uint64_t)1 << lo) - 1u));
                lm[t] = m;
                off[t] = m ? ih * W + iw : 0;
            }
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const int64_t HW = H * W;
    /* the input rows the panel reads, prefetched SLIMC_RT_IM2COL_PFC channels ahead */
    const int64_t ih0 = slimc_rt_max(0, sih[0]),
                  ih1 = slimc_rt_min(H, sih[ns - 1] + (s->KH - 1) * s->DH + 1);
    int64_t c = k0 / khw, tap = k0 % khw;
    for (int64_t d = 1; d < SLIMC_RT_IM2COL_PFC && c + d < s->CG; d++)
        slimc_rt_prefetch_rows(x + (c + d) * HW, W, ih0, ih1);
    for (int64_t kk = 0; kk < kc; kk++) {
        const float *xc = x + c * HW;
        float *dst = bp + kk * SLIMC_RT_CONV_NP;
        const int64_t *o = off + tap * ns;
        const uint32_t *m = lm + tap * ns;
        if (tap == 0 && c + SLIMC_RT_IM2COL_PFC < s->CG)
            slimc_rt_prefetch_rows(xc + SLIMC_RT_IM2COL_PFC * HW, W, ih0, ih1);
        for (int q = 0; q < ns; q++) {
            __m512 v;
            if (S == 1)
                v = _mm512_maskz_loadu_ps((__mmask16)m[q], xc + o[q]);
            else
                v = _mm512_permutex2var_ps(
                    _mm512_maskz_loadu_ps((__mmask16)(m[q] & 0xffffu), xc + o[q]), even,
                    _mm512_maskz_loadu_ps((__mmask16)(m[q] >> 16), xc + o[q] + 16));
            _mm512_mask_storeu_ps(dst + sj[q], sm[q], v);
        }
        if (++tap == khw)
            tap = 0, c++;
    }
    return 1;
}

static SLIMC_RT_UNUSED SLIMC_RT_AVX512 void slimc_rt_im2col_512(const slimc_rt_conv *s,
                                                                const float *x, int64_t k0,
                                                                int64_t kc, int64_t p0, int64_t np,
                                                                float *bp)
{
    if (s->SW == 1) {
        if (!slimc_rt_im2col_512_tab(1, s, x, k0, kc, p0, np, bp))
            slimc_rt_im2col_512_s1(s, x, k0, kc, p0, np, bp);
        return;
    }
    if (s->SW == 2 && slimc_rt_im2col_512_tab(2, s, x, k0, kc, p0, np, bp))
        return;
    SLIMC_RT_IM2COL_BODY(slimc_rt_run_512)
}
#endif

SLIMC_RT_SHARED void slimc_rt_im2col(int isa, const slimc_rt_conv *s, const float *x, int64_t k0,
                                     int64_t kc, int64_t p0, int64_t np, float *bp)
{
#ifdef SLIMC_RT_X86
    if (isa == SLIMC_RT_ISA_AVX512) {
        slimc_rt_im2col_512(s, x, k0, kc, p0, np, bp);
        return;
    }
#endif
    (void)isa;
    slimc_rt_im2col_c(s, x, k0, kc, p0, np, bp);
}

#ifdef SLIMC_RT_X86
/* The last r columns (pixels) of a panel, r <= SLIMC_RT_CONV_DOTR, which the tiles would
 * give a vector of mostly masked lanes (a 7x7 layer's 49 pixels are 48 + 1, 4 FMA vectors
 * for 49 outputs; a 14x14 layer's last panel has 4 pixels): C[i, j] = init + the dot
 * product of weight row i (A, row stride lda, read in place) with column j of B (row
 * stride ldb), vectorized over k instead: 16 partial sums per output, added by
 * _mm512_reduce_add_ps at the end of the k block, then to init (the row's bias, what C
 * holds for a later k block, or 0). The columns are gathered once into a contiguous
 * buffer; MI rows x NJ columns share each load. Which columns take this path depends only
 * on the panel's width, so results are the same at any thread count. */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_cols_blk512(const int MI, const int NJ, int64_t kc, const float *A, int64_t lda,
                     const float *col, float *C, int64_t ldc, const float *brow, int accum)
{
    __m512 acc[4][4];
    SLIMC_RT_UNROLL for (int i = 0; i < MI; i++) SLIMC_RT_UNROLL for (int j = 0; j < NJ; j++)
        acc[i][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k += 16) {
        const __mmask16 km = kc - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (kc - k)) - 1u);
        __m512 cv[4];
        SLIMC_RT_UNROLL for (int j = 0; j < NJ; j++) cv[j] =
            _mm512_maskz_loadu_ps(km, col + j * SLIMC_RT_CONV_KC + k);
        SLIMC_RT_UNROLL for (int i = 0; i < MI; i++)
        {
            const __m512 wv = _mm512_maskz_loadu_ps(km, A + i * lda + k);
            SLIMC_RT_UNROLL for (int j = 0; j < NJ; j++) acc[i][j] =
                _mm512_fmadd_ps(wv, cv[j], acc[i][j]);
        }
    }
    SLIMC_RT_UNROLL for (int i = 0; i < MI; i++) SLIMC_RT_UNROLL for (int j = 0; j < NJ; j++)
    {
        float *c = C + i * ldc + j;
        const float init = accum ? *c : brow ? brow[i] : 0.0f;
        *c = init + _mm512_reduce_add_ps(acc[i][j]);
    }
}

/* col[j * SLIMC_RT_CONV_KC + kk] = B[kk * ldb + j] for the r columns and kc rows */
static void slimc_rt_conv_cols_gather(int64_t r, int64_t kc, const float *B, int64_t ldb,
                                      float *col)
{
    for (int64_t kk = 0; kk < kc; kk++)
        for (int64_t j = 0; j < r; j++)
            col[j * SLIMC_RT_CONV_KC + kk] = B[kk * ldb + j];
}

static SLIMC_RT_AVX512 void slimc_rt_conv_cols512(int64_t m, int64_t r, int64_t kc, const float *A,
                                                  int64_t lda, const float *col, float *C,
                                                  int64_t ldc, const float *brow, int accum)
{
    for (int64_t j0 = 0; j0 < r; j0 += 4) {
        const int64_t nj = slimc_rt_min(4, r - j0);
        const float *cj = col + j0 * SLIMC_RT_CONV_KC;
        int64_t i = 0;
#define SLIMC_RT_COLS(MI, NJ)                                                                      \
    slimc_rt_cols_blk512(MI, NJ, kc, A + i * lda, lda, cj, C + i * ldc + j0, ldc,                  \
                         brow ? brow + i : NULL, accum)
        for (; i + 4 <= m; i += 4)
            switch (nj) {
            case 1: SLIMC_RT_COLS(4, 1); break;
            case 2: SLIMC_RT_COLS(4, 2); break;
            case 3: SLIMC_RT_COLS(4, 3); break;
            default: SLIMC_RT_COLS(4, 4); break;
            }
        for (; i < m; i++)
            switch (nj) {
            case 1: SLIMC_RT_COLS(1, 1); break;
            case 2: SLIMC_RT_COLS(1, 2); break;
            case 3: SLIMC_RT_COLS(1, 3); break;
            default: SLIMC_RT_COLS(1, 4); break;
            }
#undef SLIMC_RT_COLS
    }
}
#endif

#ifdef SLIMC_RT_X86
/* ---- direct conv of few input channels (AVX-512) ----
 * A conv of one group whose k = CG * KH * KW is short (a stem: 3 x 3 x 3 = 27, 3 x 7 x 7 =
 * 147; YOLO's 16 -> 32 stride-2 3x3: 144) spends as much time packing its im2col panels and
 * storing the GEMM tiles' sums (a few FMAs per accumulator between loads and stores) as in
 * its FMAs. Here a run of up to 16 output pixels along an output row and a tile of MI
 * output channels stay in registers (MI accumulators) across all k: each input row segment
 * (c, kh) is loaded once per tile (stride 1: one masked load per kw; stride 2: 32 inputs
 * per even kw split into even and odd lanes by permutes, as the depthwise kernels do) and
 * meets each of the MI weights, broadcast from w in place. Columns in the padding load 0
 * (masked off), rows in it are skipped. Every output sums its taps in (c, kh, kw) order
 * from the bias, at any pixel and channel range: the results do not depend on the thread
 * count. */

/* lanes j in [0, L) with 0 <= B + j < W */
static inline uint32_t slimc_rt_dir_lanes(int64_t B, int64_t L, int64_t W)
{
    const int64_t lo = slimc_rt_max(0, -B), hi = slimc_rt_min(L, W - B);
    return hi <= lo ? 0u : (uint32_t)((((uint64_t)1 << hi) - 1u) & ~(((uint64_t)1 << lo) - 1u));
}

/* MI output channels (weights w, row stride Kt; bias b or NULL; outputs y, row stride P) x
 * NV vectors of 16 consecutive outputs of row oh from column t (sm[r] the lanes of vector
 * r; lm[r] the in-row lanes of each of its loads); MI <= 12, NV <= 2 */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_direct_tile(const int MI, const int NV, const int KW, const int S, const slimc_rt_conv *s,
                     const float *x, const float *w, int64_t Kt, const float *b, uint32_t (*lm)[8],
                     int64_t oh, int64_t t, float *y, int64_t P, const __mmask16 *sm)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t H = s->H, W = s->W, HW = H * W, KH = s->KH;
    const int64_t ih0 = oh * s->SH - s->PH;
    const int64_t kh0 = slimc_rt_max(0, -ih0), kh1 = slimc_rt_min(KH, H - ih0);
    __m512 acc[12][2];
    SLIMC_RT_UNROLL for (int i = 0; i < MI; i++)
    {
        const __m512 bv = b ? _mm512_set1_ps(b[i]) : _mm512_setzero_ps();
        SLIMC_RT_UNROLL for (int r = 0; r < NV; r++) acc[i][r] = bv;
    }
    for (int64_t c = 0; c < s->CG; c++)
        for (int64_t kh = kh0; kh < kh1; kh++) {
            const float *p = x + c * HW + (ih0 + kh) * W + t * S - s->PW;
            const float *wk = w + (c * KH + kh) * KW;
            if (S == 1) {
                SLIMC_RT_UNROLL for (int kw = 0; kw < KW; kw++)
                {
                    __m512 v[2];
                    SLIMC_RT_UNROLL for (int r = 0; r < NV; r++) v[r] =
                        _mm512_maskz_loadu_ps((__mmask16)lm[r][kw], p + 16 * r + kw);
                    SLIMC_RT_UNROLL for (int i = 0; i < MI; i++)
                    {
                        const __m512 wb = _mm512_set1_ps(wk[i * Kt + kw]);
                        SLIMC_RT_UNROLL for (int r = 0; r < NV; r++) acc[i][r] =
                            _mm512_fmadd_ps(wb, v[r], acc[i][r]);
                    }
                }
            } else {
                SLIMC_RT_UNROLL for (int j = 0; j < (KW + 1) / 2; j++)
                {
                    __m512 ve[2], vo[2];
                    SLIMC_RT_UNROLL for (int r = 0; r < NV; r++)
                    {
                        const float *q = p + 32 * r + 2 * j;
                        const __m512 a0 = _mm512_maskz_loadu_ps((__mmask16)(lm[r][j] & 0xffffu), q);
                        const __m512 a1 =
                            _mm512_maskz_loadu_ps((__mmask16)(lm[r][j] >> 16), q + 16);
                        ve[r] = _mm512_permutex2var_ps(a0, even, a1);
                        vo[r] = _mm512_permutex2var_ps(a0, odd, a1);
                    }
                    SLIMC_RT_UNROLL for (int i = 0; i < MI; i++)
                    {
                        const __m512 wb = _mm512_set1_ps(wk[i * Kt + 2 * j]);
                        SLIMC_RT_UNROLL for (int r = 0; r < NV; r++) acc[i][r] =
                            _mm512_fmadd_ps(wb, ve[r], acc[i][r]);
                    }
                    if (2 * j + 1 < KW)
                        SLIMC_RT_UNROLL for (int i = 0; i < MI; i++)
                        {
                            const __m512 wb = _mm512_set1_ps(wk[i * Kt + 2 * j + 1]);
                            SLIMC_RT_UNROLL for (int r = 0; r < NV; r++) acc[i][r] =
                                _mm512_fmadd_ps(wb, vo[r], acc[i][r]);
                        }
                }
            }
        }
    float *yo = y + oh * s->OW + t;
    SLIMC_RT_UNROLL for (int i = 0; i < MI; i++) SLIMC_RT_UNROLL for (int r = 0; r < NV; r++)
        _mm512_mask_storeu_ps(yo + i * P + 16 * r, sm[r], slimc_rt_act_512(s->ACT, acc[i][r]));
}

/* The tiles of NV vectors (from column t of row oh) for output channels [o0, o1): 12
 * channels at a time while 20 or more are left (or exactly 12), then 8, 4 and 1 (16 as
 * 12 + 4 ran 1.07x as long as 8 + 8; 32 as 12 + 12 + 8 0.95x as long as four 8s). */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_direct_cols(const int NV, const int KW, const int S, const slimc_rt_conv *s,
                     const float *x, const float *w, const float *bias, float *y, uint32_t (*lm)[8],
                     const __mmask16 *sm, int64_t oh, int64_t t, int64_t o0, int64_t o1)
{
    const int64_t P = s->OH * s->OW, Kt = s->CG * s->KH * KW;
    for (int64_t o = o0; o < o1;) {
        const int64_t left = o1 - o;
        const float *wo = w + o * Kt, *bo = bias ? bias + o : NULL;
        if (left >= 20 || left == 12) {
            slimc_rt_direct_tile(12, NV, KW, S, s, x, wo, Kt, bo, lm, oh, t, y + o * P, P, sm);
            o += 12;
        } else if (left >= 8) {
            slimc_rt_direct_tile(8, NV, KW, S, s, x, wo, Kt, bo, lm, oh, t, y + o * P, P, sm);
            o += 8;
        } else if (left >= 4) {
            slimc_rt_direct_tile(4, NV, KW, S, s, x, wo, Kt, bo, lm, oh, t, y + o * P, P, sm);
            o += 4;
        } else {
            slimc_rt_direct_tile(1, NV, KW, S, s, x, wo, Kt, bo, lm, oh, t, y + o * P, P, sm);
            o++;
        }
    }
}

/* The input rows and columns that the run of 32 pixels from output pixel p reads, prefetched
 * into L1: the input of a stem comes from L3 or memory, and the hardware prefetcher,
 * following CG * KH rows at once, fetched it late (YOLO's 3 -> 16 stem ran 1.5x slower in a
 * network than on its own). */
#define SLIMC_RT_DIRECT_PF 64 /* pixels ahead */
static inline __attribute__((always_inline)) void
slimc_rt_direct_prefetch(const int S, const int KW, const slimc_rt_conv *s, const float *x,
                         int64_t p)
{
    if (p >= s->OH * s->OW)
        return;
    const int64_t oh = p / s->OW, t = p % s->OW, H = s->H, W = s->W;
    const int64_t ih0 = oh * s->SH - s->PH, kh0 = slimc_rt_max(0, -ih0),
                  kh1 = slimc_rt_min(s->KH, H - ih0);
    const int64_t iw0 = slimc_rt_max(0, t * S - s->PW),
                  iw1 = slimc_rt_min(W, (slimc_rt_min(t + 32, s->OW) - 1) * S - s->PW + KW);
    if (iw1 <= iw0)
        return;
    for (int64_t c = 0; c < s->CG; c++)
        for (int64_t kh = kh0; kh < kh1; kh++) {
            const float *r = x + (c * H + ih0 + kh) * W;
            for (int64_t iw = iw0; iw < iw1; iw += 16)
                __builtin_prefetch(r + iw, 0, 3);
            __builtin_prefetch(r + iw1 - 1, 0, 3);
        }
}

/* Output pixels [p0, p1) of output channels [o0, o1): runs of up to 32 pixels along output
 * rows (two vectors, or one for a run of at most 16). */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_direct_run(const int KW, const int S, const slimc_rt_conv *s, const float *x,
                    const float *w, const float *bias, float *y, int64_t p0, int64_t p1, int64_t o0,
                    int64_t o1)
{
    const int64_t OW = s->OW;
    for (int64_t p = p0; p < p1;) {
        const int64_t oh = p / OW, t = p % OW, len = slimc_rt_min(32, slimc_rt_min(OW - t, p1 - p));
        uint32_t lm[2][8];
        __mmask16 sm[2];
        for (int r = 0; r < 2; r++) {
            const int64_t n = slimc_rt_max(0, slimc_rt_min(16, len - 16 * r));
            sm[r] = (__mmask16)((1u << n) - 1u);
            const int64_t iw0 = (t + 16 * r) * S - s->PW;
            if (S == 1)
                for (int kw = 0; kw < KW; kw++)
                    lm[r][kw] = slimc_rt_dir_lanes(iw0 + kw, 16, s->W);
            else
                for (int j = 0; j < (KW + 1) / 2; j++)
                    lm[r][j] = slimc_rt_dir_lanes(iw0 + 2 * j, 32, s->W);
        }
        slimc_rt_direct_prefetch(S, KW, s, x, p + SLIMC_RT_DIRECT_PF);
        if (len > 16)
            slimc_rt_direct_cols(2, KW, S, s, x, w, bias, y, lm, sm, oh, t, o0, o1);
        else
            slimc_rt_direct_cols(1, KW, S, s, x, w, bias, y, lm, sm, oh, t, o0, o1);
        p += len;
    }
}

/* Whether slimc_rt_conv2d_blk computes s directly (AVX-512): one group, no dilation, kernel
 * width 3, 5, 6 or 7 (stride 1: odd), equal strides of 1 or 2, k = CG KH KW at most
 * SLIMC_RT_DIRECT_KT, at most 64 output channels and output rows at least 24 wide. Measured
 * (AMD EPYC, bench/RESULTS.md): 3 -> 16 3x3 stride 2 at 160x160 out 1.6x faster than im2col
 * and the GEMM tiles, 3 -> 64 7x7 stride 2 1.2x, 16 -> 32 stride 2 1.1x, 16 -> 64 stride 1
 * 1.1x; but 16 -> 128 (stride 1 or 2) 1.1-1.2x slower (the packed panel serves 128 channels,
 * the tiles of 14 fill up) and rows of 15 (one vector of 16 a run) 1.1x slower. A property of
 * the shape alone, so every pixel and channel range of a conv takes the same path. */
#ifndef SLIMC_RT_DIRECT_KT
#define SLIMC_RT_DIRECT_KT 160
#endif
static inline int slimc_rt_conv_direct_ok(const slimc_rt_conv *s)
{
    const int64_t Kt = s->CG * s->KH * s->KW;
    return s->CG == s->C && s->OG == s->O && s->DH == 1 && s->DW == 1 && s->SH == s->SW &&
           (s->SW == 1 || s->SW == 2) && Kt > 0 && Kt <= SLIMC_RT_DIRECT_KT && s->O <= 64 &&
           s->OW >= 24 && (s->KW == 3 || s->KW == 5 || s->KW == 7 || (s->KW == 6 && s->SW == 2));
}

static SLIMC_RT_AVX512 void slimc_rt_conv2d_direct512(const slimc_rt_conv *s, const float *x,
                                                      const float *w, const float *bias, float *y,
                                                      int64_t p0, int64_t p1, int64_t o0,
                                                      int64_t o1)
{
#define SLIMC_RT_DIRECT_CASE(KW, S)                                                                \
    case KW * 2 + S - 1: slimc_rt_direct_run(KW, S, s, x, w, bias, y, p0, p1, o0, o1); return;
    switch (s->KW * 2 + s->SW - 1) {
        SLIMC_RT_DIRECT_CASE(3, 1)
        SLIMC_RT_DIRECT_CASE(3, 2)
        SLIMC_RT_DIRECT_CASE(5, 1)
        SLIMC_RT_DIRECT_CASE(5, 2)
        SLIMC_RT_DIRECT_CASE(6, 2)
        SLIMC_RT_DIRECT_CASE(7, 1)
        SLIMC_RT_DIRECT_CASE(7, 2)
    default: break;
    }
#undef SLIMC_RT_DIRECT_CASE
}
#endif

/* Output pixels [p0, p1) of output channels [o0, o1) of one image: x [C, H, W],
 * y [O, OH * OW], w [O, CG * KH * KW], bias [O] or NULL; res (NULL: none) a residual laid
 * out as y, added to the sums before s->ACT. A range of channels short of
 * [0, O) is for a conv of one group only (a split over channels lets the late layers of
 * a CNN, a few pixels and many channels, use every thread). Per panel of NP pixels, group
 * and block of KC rows of k: the im2col panel is packed (or, for a 1x1 stride-1 unpadded
 * conv, read in place) and multiplied by the weights, which are read in place (packing
 * them as well was measured slower: the copy costs about as much as the FMAs it would
 * serve). Each output sums k in the same order whatever the pixel and channel ranges; the
 * residual is added by the GEMM tiles as they store the last k block (a ResNet block's
 * add and relu with no second pass over the outputs). */
static void slimc_rt_conv2d_res_impl(const slimc_rt_conv *s, const float *x, const float *w,
                                     const float *bias, const float *res, float *y, int64_t p0,
                                     int64_t p1, int64_t o0, int64_t o1)
{
    const int isa = slimc_rt_isa();
    const int64_t P = s->OH * s->OW, HW = s->H * s->W, Kt = s->CG * s->KH * s->KW;
    /* the groups; no input channels (an empty x, legal ONNX): the outputs are the bias */
    const int64_t G = s->CG ? s->C / s->CG : s->OG ? s->O / s->OG : 0;
    /* the channels of each group this call computes: [o0, o1) when there is one group */
    const int64_t ob = G == 1 ? o0 : 0, OGc = G == 1 ? o1 - o0 : s->OG;
    if (OGc <= 0)
        return;
#ifdef SLIMC_RT_X86
    if (isa == SLIMC_RT_ISA_AVX512 && slimc_rt_conv_direct_ok(s)) {
        if (!res) {
            slimc_rt_conv2d_direct512(s, x, w, bias, y, p0, p1, o0, o1);
            return;
        }
        slimc_rt_conv sn = *s; /* the sums, then the residual and ACT over them */
        sn.ACT = SLIMC_RT_ACT_NONE;
        slimc_rt_conv2d_direct512(&sn, x, w, bias, y, p0, p1, o0, o1);
        slimc_rt_res_act(isa, s->ACT, y + o0 * P + p0, P, res + o0 * P + p0, o1 - o0, p1 - p0);
        return;
    }
#endif
    const int direct =
        s->KH == 1 && s->KW == 1 && s->SH == 1 && s->SW == 1 && s->PH == 0 && s->PW == 0;
    float bp[SLIMC_RT_CONV_KC * SLIMC_RT_CONV_NP]; /* [kk][j] */
#ifdef SLIMC_RT_X86
    float col[SLIMC_RT_CONV_DOTR * SLIMC_RT_CONV_KC]; /* the panel's last nt..np columns */
#endif
    for (int64_t pp = p0; pp < p1; pp += SLIMC_RT_CONV_NP) {
        const int64_t np = slimc_rt_min(SLIMC_RT_CONV_NP, p1 - pp);
        for (int64_t g = 0; g < G; g++) {
            const int64_t og0 = g * s->OG + ob; /* the first output channel */
            const float *xg = x + g * s->CG * HW, *wg = w + og0 * Kt;
            const float *bg = bias ? bias + og0 : NULL;
            float *yg = y + og0 * P + pp;
            const float *rg = res ? res + og0 * P + pp : NULL;
            if (Kt == 0) {
                slimc_rt_gemm(isa, OGc, np, 0, wg, Kt, 1, bp, SLIMC_RT_CONV_NP, yg, P, bg, NULL, 0);
                slimc_rt_res_act(isa, s->ACT, yg, P, rg, OGc, np);
            }
            for (int64_t k0 = 0; k0 < Kt; k0 += SLIMC_RT_CONV_KC) {
                const int64_t kc = slimc_rt_min(SLIMC_RT_CONV_KC, Kt - k0);
                const float *b = xg + k0 * HW + pp;
                /* the columns the GEMM tiles take: on AVX-512, a last vector of r <=
                 * SLIMC_RT_CONV_DOTR pixels goes to slimc_rt_conv_cols512 instead where its
                 * kc / 16 FMAs and the sum of the lanes (~10 instructions) per output cost
                 * less than the tiles' kc / r per output */
                int64_t nt = np;
#ifdef SLIMC_RT_X86
                const int64_t r = np % 16;
                if (isa == SLIMC_RT_ISA_AVX512 && r && r <= SLIMC_RT_CONV_DOTR &&
                    kc * (16 - r) > 160 * r)
                    nt = np - r;
#endif
                if (!direct)
                    slimc_rt_im2col(isa, s, xg, k0, kc, pp, np, bp), b = bp;
#ifdef SLIMC_RT_X86
                if (nt < np) /* the last columns, gathered once for every block of channels */
                    slimc_rt_conv_cols_gather(np - nt, kc, b + nt, direct ? HW : SLIMC_RT_CONV_NP,
                                              col);
#endif
                /* a few output channels at a time across the whole panel: their weights
                 * stay in L1 while they meet every pixel; for a short k block (a 1x1 conv
                 * over few channels) all of them in one call, the calls' overhead being
                 * what counts there */
                const int64_t mb = kc < SLIMC_RT_CONV_MB_K ? OGc : SLIMC_RT_CONV_MB;
                for (int64_t oo = 0; oo < OGc; oo += mb) {
                    const int64_t mr = slimc_rt_min(mb, OGc - oo);
                    const float *wo = wg + oo * Kt + k0, *bo = k0 || !bg ? NULL : bg + oo;
                    const int64_t ldb = direct ? HW : SLIMC_RT_CONV_NP;
                    /* the last k block: the residual and activation as the tiles store
                     * (AVX-512), or while the rows are in L1 */
                    const int last = k0 + kc == Kt;
                    const int64_t act = last ? s->ACT : SLIMC_RT_ACT_NONE;
                    const float *ro = last && rg ? rg + oo * P : NULL;
                    if (nt)
                        slimc_rt_gemm_act(isa, mr, nt, kc, wo, Kt, 1, b, ldb, yg + oo * P, P, bo,
                                          NULL, k0 > 0, act, ro);
#ifdef SLIMC_RT_X86
                    if (nt < np) {
                        slimc_rt_conv_cols512(mr, np - nt, kc, wo, Kt, col, yg + oo * P + nt, P, bo,
                                              k0 > 0);
                        slimc_rt_res_act(isa, act, yg + oo * P + nt, P, ro ? ro + nt : NULL, mr,
                                         np - nt);
                    }
#endif
                }
            }
        }
    }
}

SLIMC_RT_KERNEL void slimc_rt_conv2d_blk(const slimc_rt_conv *s, const float *x, const float *w,
                                         const float *bias, float *y, int64_t p0, int64_t p1,
                                         int64_t o0, int64_t o1)
{
    slimc_rt_conv2d_res_impl(s, x, w, bias, NULL, y, p0, p1, o0, o1);
}

SLIMC_RT_KERNEL void slimc_rt_conv2d_res(const slimc_rt_conv *s, const float *x, const float *w,
                                         const float *bias, const float *res, float *y, int64_t p0,
                                         int64_t p1, int64_t o0, int64_t o1)
{
    slimc_rt_conv2d_res_impl(s, x, w, bias, res, y, p0, p1, o0, o1);
}

/* Output pixels [p0, p1) of every channel of one image (slimc_rt_conv2d_blk). */
SLIMC_RT_KERNEL void slimc_rt_conv2d_px(const slimc_rt_conv *s, const float *x, const float *w,
                                        const float *bias, float *y, int64_t p0, int64_t p1)
{
    slimc_rt_conv2d_blk(s, x, w, bias, y, p0, p1, 0, s->O);
}

/* Rows [p0, p0 + np) of the transposed im2col of one image's group xg [CG, H, W], columns
 * [k0, k0 + kc) (k over [CG, KH, KW]): ct[j * ld + kk] = xg at the tap k0 + kk of pixel
 * p0 + j, 0 in the padding. off/dh/dw: each column's offset in xg and its tap's row and
 * column displacement; runs (nr of them): the columns cut into runs of at most 8 that are
 * contiguous in xg, as (first column, length) (slimc_rt_conv2d_wgrad works them out once).
 * A pixel whose whole window lies inside the image (every pixel of an unpadded conv) is a
 * gather, on AVX2 one masked load and one 8-float store per run (the store runs over into
 * the next run, written after it, or into the row's 8 spare floats); the others check
 * each tap. */
static void slimc_rt_wgrad_cols_c(const slimc_rt_conv *s, const float *xg, int64_t p0, int64_t np,
                                  int64_t kc, int64_t ld, const int64_t *off, const int64_t *dh,
                                  const int64_t *dw, float *ct)
{
    const int64_t H = s->H, W = s->W;
    const int64_t wh = (s->KH - 1) * s->DH, ww = (s->KW - 1) * s->DW; /* the window's span */
    for (int64_t j = 0, oh = p0 / s->OW, ow = p0 % s->OW; j < np; j++) {
        const int64_t ih = oh * s->SH - s->PH, iw = ow * s->SW - s->PW;
        float *restrict d = ct + j * ld;
        if (ih >= 0 && iw >= 0 && ih + wh < H && iw + ww < W) {
            const float *restrict xp = xg + ih * W + iw;
            for (int64_t kk = 0; kk < kc; kk++)
                d[kk] = xp[off[kk]];
        } else {
            for (int64_t kk = 0; kk < kc; kk++) {
                const int64_t h = ih + dh[kk], w = iw + dw[kk];
                d[kk] = h >= 0 && h < H && w >= 0 && w < W ? xg[off[kk] + ih * W + iw] : 0.0f;
            }
        }
        if (++ow == s->OW)
            ow = 0, oh++;
    }
}

#ifdef SLIMC_RT_X86
static SLIMC_RT_AVX2 void slimc_rt_wgrad_cols_avx2(const slimc_rt_conv *s, const float *xg,
                                                   int64_t p0, int64_t np, int64_t kc, int64_t ld,
                                                   const int64_t *off, const int64_t *dh,
                                                   const int64_t *dw, const int64_t *runs,
                                                   int64_t nr, float *ct)
{
    const int64_t H = s->H, W = s->W;
    const int64_t wh = (s->KH - 1) * s->DH, ww = (s->KW - 1) * s->DW;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i mk[9]; /* mk[n]: the first n lanes */
    for (int n = 0; n <= 8; n++)
        mk[n] = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
    for (int64_t j = 0, oh = p0 / s->OW, ow = p0 % s->OW; j < np; j++) {
        const int64_t ih = oh * s->SH - s->PH, iw = ow * s->SW - s->PW;
        if (ih >= 0 && iw >= 0 && ih + wh < H && iw + ww < W) {
            const float *xp = xg + ih * W + iw;
            float *d = ct + j * ld;
            for (int64_t r = 0; r < nr; r++) {
                const int64_t k = runs[2 * r];
                _mm256_storeu_ps(d + k, _mm256_maskload_ps(xp + off[k], mk[runs[2 * r + 1]]));
            }
        } else
            slimc_rt_wgrad_cols_c(s, xg, p0 + j, 1, kc, ld, off, dh, dw, ct + j * ld);
        if (++ow == s->OW)
            ow = 0, oh++;
    }
}
#endif

/* conv2d's weight gradient, columns [k0, k1) (k over [CG, KH, KW], at most
 * SLIMC_RT_WGRAD_KB of them) of every output channel of group g: dw[o, k] = the sum over
 * images b, in order, and their pixels p, in order, of dy[b, o, p] * im2col(x[b])[k, p].
 * Per image and block of SLIMC_RT_WGRAD_PC pixels, the block's transposed im2col (col:
 * SLIMC_RT_WGRAD_COL floats of the caller's, rows of k1 - k0 + 8) is built once and one GEMM of
 * dy's rows [OG, pixels] by it is added to the sums so far. Each dw element is one chain over the
 * images' pixels in order, whatever the split of columns between calls: the result does not depend
 * on the thread count, and no im2col element is built twice. */
SLIMC_RT_KERNEL void slimc_rt_conv2d_wgrad(const slimc_rt_conv *s, int64_t N, const float *x,
                                           const float *dy, float *dw, int64_t g, int64_t k0,
                                           int64_t k1, float *col)
{
    const int64_t P = s->OH * s->OW, K = s->CG * s->KH * s->KW, kc = k1 - k0;
    const int isa = slimc_rt_isa();
    float *dwg = dw + g * s->OG * K + k0; /* [OG, kc], row stride K */
    if (kc <= 0 || s->OG <= 0)
        return;
    if (N <= 0 || P <= 0) {
        for (int64_t o = 0; o < s->OG; o++)
            memset(dwg + o * K, 0, sizeof(float) * (size_t)kc);
        return;
    }
    int64_t off[SLIMC_RT_WGRAD_KB], th[SLIMC_RT_WGRAD_KB], tw[SLIMC_RT_WGRAD_KB];
    int64_t runs[2 * SLIMC_RT_WGRAD_KB], nr = 0; /* (first column, length) */
    for (int64_t kk = 0; kk < kc; kk++) {
        const int64_t k = k0 + kk, ci = k / (s->KH * s->KW), kh = k / s->KW % s->KH, kw = k % s->KW;
        th[kk] = kh * s->DH;
        tw[kk] = kw * s->DW;
        off[kk] = (ci * s->H + th[kk]) * s->W + tw[kk];
        if (nr && runs[2 * nr - 1] < 8 && off[kk] == off[kk - 1] + 1)
            runs[2 * nr - 1]++;
        else
            runs[2 * nr] = kk, runs[2 * nr + 1] = 1, nr++;
    }
    const int64_t ld = kc + 8; /* col's row stride: 8 spare floats for the last run's store */
    for (int64_t b = 0; b < N; b++) {
        const float *xg = x + (b * s->C + g * s->CG) * s->H * s->W;
        const float *dyg = dy + (b * s->O + g * s->OG) * P;
        for (int64_t p0 = 0; p0 < P; p0 += SLIMC_RT_WGRAD_PC) {
            const int64_t np = slimc_rt_min(SLIMC_RT_WGRAD_PC, P - p0);
#ifdef SLIMC_RT_X86
            if (isa >= SLIMC_RT_ISA_AVX2)
                slimc_rt_wgrad_cols_avx2(s, xg, p0, np, kc, ld, off, th, tw, runs, nr, col);
            else
#endif
                slimc_rt_wgrad_cols_c(s, xg, p0, np, kc, ld, off, th, tw, col);
            slimc_rt_gemm(isa, s->OG, kc, np, dyg + p0, P, 1, col, ld, dwg, K, NULL, NULL,
                          b > 0 || p0 > 0);
        }
    }
}
