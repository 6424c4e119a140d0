/* sparse_nm.c — fp32 linear layers on an N:M sparse constant weight (slimc_abi.h,
 * SLIMC_RT_NM_MAGIC): C[M, N] = A[M, K] W^T + bias, where every group of m consecutive inputs
 * of a row of W keeps n weights (2:4 keeps half). passes/sparse.c builds the blob at compile
 * time and chooses this kernel where the cost model predicts it faster than the dense GEMM
 * and the CSR kernel (docs/pruning.md, "Sparse kernels").
 *
 * Unlike CSR, every row keeps the same number of weights at positions known up to a group,
 * so there are no row pointers and an index is one byte (the position in its group).
 * Two shapes of work:
 *   one row (batch 1): each output is a dot product of its kept weights with x gathered at
 *     g * m + idx (AVX2: 8 lanes of vgatherdps, two accumulators);
 *   several rows: an item takes NM_MB rows x NM_NB outputs and walks K in blocks of about
 *     NM_KC inputs; for each block it transposes its rows of x into a panel [kc, MB] that
 *     stays in L1 with the item's outputs [NB, MB], and adds each kept weight as one
 *     broadcast times the contiguous panel row (AVX2: 4 ymm per output, two outputs at a
 *     time for 8 independent accumulators).
 * Each output sums bias first, then its kept weights in row order (the zeros a sparse group
 * pads with included), whatever the item and thread count; the result differs from the dense
 * kernel's by rounding only. AVX2 needs n to divide 8 (1:4, 2:4, 4:8, what the sparse pass
 * builds); other n:m run the portable loops. AVX-512: the gemv with vpermt2ps (m = 2n), the
 * rows with 32 rows in 2 zmm, four columns at a time.
 * The same rows kernel runs a one-group conv2d's im2col form (slimc_rt_nmconv_tile): pixels as
 * rows, the panel packed from NCHW x, outputs written per channel. */
#include "runtime/kernels/internal.h"

#include <string.h>

/* The N:M blob's parts. */
typedef struct SlimcRtNm {
    int64_t N, K, n, m;
    int64_t kept; /* per row: K / m * n */
    const uint8_t *idx;
    const float *val;
} SlimcRtNm;

static SlimcRtNm slimc_rt_nm_view(const void *w)
{
    const int64_t *h = (const int64_t *)w;
    const unsigned char *b = (const unsigned char *)w;
    SlimcRtNm v;
    v.N = h[1];
    v.K = h[2];
    v.n = h[3];
    v.m = h[4];
    v.kept = v.K / v.m * v.n;
    v.idx = b + SLIMC_RT_CSR_HEAD;
    v.val = (const float *)(b + h[5]);
    return v;
}

/* Where an item's panel [kc, MB] (panel[k * MB + i]: input k0 + k of row i) comes from: rows
 * of a linear's x ([rows, K], row stride K), or, for a conv (s set), output pixels
 * [p0, p0 + mc) of one image x [C, H, W] through im2col with K in (kh, kw, c) order, the
 * order the sparse pass builds a conv's N:M blob in (groups run along c). */
typedef struct SlimcRtNmSrc {
    const float *x;
    const slimc_rt_conv *s; /* NULL: a linear */
    int64_t p0;
} SlimcRtNmSrc;

/* The conv panel: rows k0 .. k0 + kc of (kh, kw, c) im2col for pixels p0 .. p0 + mc, zeros past
 * mc and where a tap falls in the padding. The item's pixels are cut into runs along one
 * output row, so that each panel row is a few copies (stride 1: memcpy between zeros) rather
 * than a division per element; a 1x1, stride-1, unpadded conv copies x's rows. */
static void slimc_rt_nm_panel_conv(const slimc_rt_conv *s, const float *x, int64_t p0, int64_t mc,
                                   int64_t k0, int64_t kc, float *panel)
{
    enum { MB = SLIMC_RT_NM_MB };
    const int64_t C = s->C, H = s->H, W = s->W, P = s->OH * s->OW;
    if (s->KH == 1 && s->KW == 1 && s->SH == 1 && s->SW == 1 && s->PH == 0 && s->PW == 0) {
        for (int64_t k = 0; k < kc; k++) {
            memcpy(panel + k * MB, x + (k0 + k) * P + p0, sizeof(float) * (size_t)mc);
            memset(panel + k * MB + mc, 0, sizeof(float) * (size_t)(MB - mc));
        }
        return;
    }
    /* runs: pixels [i0[r], i0[r] + len[r]) of the item are output row oh[r] from column ow[r] */
    int64_t i0[MB + 1], len[MB + 1], oh[MB + 1], ow[MB + 1], nr = 0;
    for (int64_t i = 0; i < mc; nr++) {
        const int64_t p = p0 + i;
        i0[nr] = i;
        oh[nr] = p / s->OW;
        ow[nr] = p % s->OW;
        len[nr] = slimc_rt_min(mc - i, s->OW - ow[nr]);
        i += len[nr];
    }
    for (int64_t k = 0; k < kc; k++) {
        const int64_t t = (k0 + k) / C, c = (k0 + k) % C;
        const int64_t dh = t / s->KW * s->DH, dw = t % s->KW * s->DW;
        const float *xc = x + c * H * W;
        float *row = panel + k * MB;
        for (int64_t r = 0; r < nr; r++) {
            float *dst = row + i0[r];
            const int64_t ih = oh[r] * s->SH - s->PH + dh, iw0 = ow[r] * s->SW - s->PW + dw;
            if (ih < 0 || ih >= H) {
                memset(dst, 0, sizeof(float) * (size_t)len[r]);
                continue;
            }
            const float *xr = xc + ih * W;
            if (s->SW == 1) { /* columns iw0 .. iw0 + len: zeros, a copy, zeros */
                const int64_t a = slimc_rt_min(len[r], slimc_rt_max(0, -iw0));
                const int64_t b = slimc_rt_max(a, slimc_rt_min(len[r], W - iw0));
                memset(dst, 0, sizeof(float) * (size_t)a);
                memcpy(dst + a, xr + iw0 + a, sizeof(float) * (size_t)(b - a));
                memset(dst + b, 0, sizeof(float) * (size_t)(len[r] - b));
                continue;
            }
            for (int64_t j = 0; j < len[r]; j++) {
                const int64_t iw = iw0 + j * s->SW;
                dst[j] = iw >= 0 && iw < W ? xr[iw] : 0.0f;
            }
        }
        for (int64_t i = mc; i < MB; i++)
            row[i] = 0.0f;
    }
}

/* Outputs [n0, n0 + nc) of a conv item's mc pixels, portable: the panel as the SIMD paths
 * build it, each output's sums in the same order (bias, then its kept weights). y is the
 * image's output at pixel p0, channel stride P. */
static void slimc_rt_nm_conv_generic(const SlimcRtNm *w, const SlimcRtNmSrc *src, const float *bias,
                                     float *y, int64_t P, int64_t mc, int64_t n0, int64_t nc)
{
    enum { MB = SLIMC_RT_NM_MB };
    float panel[256 * MB];
    const int64_t n = w->n, m = w->m, K = w->K, kept = w->kept;
    const int64_t kcm = slimc_rt_max(m, SLIMC_RT_NM_KC / m * m);
    for (int64_t q = 0; q < nc; q++)
        for (int64_t i = 0; i < mc; i++)
            y[(n0 + q) * P + i] = bias ? bias[n0 + q] : 0.0f;
    for (int64_t k0 = 0; k0 < K; k0 += kcm) {
        const int64_t kc = slimc_rt_min(kcm, K - k0);
        slimc_rt_nm_panel_conv(src->s, src->x, src->p0, mc, k0, kc, panel);
        for (int64_t q = 0; q < nc; q++) {
            float *yq = y + (n0 + q) * P;
            const float *v = w->val + (n0 + q) * kept + k0 / m * n;
            const uint8_t *ix = w->idx + (n0 + q) * kept + k0 / m * n;
            for (int64_t j = 0; j < kc / m * n; j++) {
                const float *pr = panel + (j / n * m + ix[j]) * MB;
                for (int64_t i = 0; i < mc; i++)
                    yq[i] = __builtin_fmaf(v[j], pr[i], yq[i]);
            }
        }
    }
}

/* ---- portable ---- */

/* y[r] (r in [n0, n0 + nc)) = bias[r] + the row's kept weights times x, for one row x. */
static void slimc_rt_nm_rows_generic(const SlimcRtNm *w, const float *x, const float *bias,
                                     float *y, int64_t n0, int64_t nc)
{
    for (int64_t r = n0; r < n0 + nc; r++) {
        const uint8_t *ix = w->idx + r * w->kept;
        const float *v = w->val + r * w->kept;
        float acc = bias ? bias[r] : 0.0f;
        for (int64_t j = 0; j < w->kept; j++)
            acc += v[j] * x[j / w->n * w->m + ix[j]];
        y[r] = acc;
    }
}

#ifdef SLIMC_RT_X86
/* The AVX2 dot products (8 % n == 0): chunks of 8 kept weights, whose inputs are the group
 * bases ((j + lane) / n * m) plus the byte indices; chunk c % 2 == 0 into a0, else a1; the
 * tail (under 8) scalar after the lanes are summed. */
static SLIMC_RT_AVX2 void slimc_rt_nm_gemv_avx2(const SlimcRtNm *w, const float *x,
                                                const float *bias, float *y, int64_t n0, int64_t nc)
{
    const int n = (int)w->n, m = (int)w->m;
    int32_t lane[8];
    for (int l = 0; l < 8; l++)
        lane[l] = l / n * m;
    const __m256i lanes = _mm256_loadu_si256((const __m256i *)lane);
    const __m256i step8 = _mm256_set1_epi32(8 / n * m);
    const int64_t kept = w->kept, full = kept / 16 * 16;
    for (int64_t r = n0; r < n0 + nc; r++) {
        const uint8_t *ix = w->idx + r * kept;
        const float *v = w->val + r * kept;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256i base = lanes;
        int64_t j = 0;
        for (; j < full; j += 16) {
            __m256i i0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(ix + j)));
            __m256i i1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(ix + j + 8)));
            __m256i c0 = _mm256_add_epi32(base, i0);
            base = _mm256_add_epi32(base, step8);
            __m256i c1 = _mm256_add_epi32(base, i1);
            base = _mm256_add_epi32(base, step8);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + j), _mm256_i32gather_ps(x, c0, 4), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(v + j + 8), _mm256_i32gather_ps(x, c1, 4), a1);
        }
        if (j + 8 <= kept) {
            __m256i i0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(ix + j)));
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + j),
                                 _mm256_i32gather_ps(x, _mm256_add_epi32(base, i0), 4), a0);
            j += 8;
        }
        a0 = _mm256_add_ps(a0, a1);
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        float acc = (bias ? bias[r] : 0.0f) + _mm_cvtss_f32(s);
        for (; j < kept; j++)
            acc = __builtin_fmaf(v[j], x[j / n * m + ix[j]], acc);
        y[r] = acc;
    }
}

/* The same for m = 2n (2:4, 4:8, 1:2) without gathers: a chunk of 8 kept weights covers 16
 * inputs, lanes 0-3 in the first 8 and lanes 4-7 in the next 8, so each lane's input is one
 * vpermps of either half (index: its group's offset in the half plus its byte index) and a
 * blend. The same order of sums as slimc_rt_nm_gemv_avx2. */
static SLIMC_RT_AVX2 void slimc_rt_nm_gemv_half_avx2(const SlimcRtNm *w, const float *x,
                                                     const float *bias, float *y, int64_t n0,
                                                     int64_t nc)
{
    const int n = (int)w->n, m = (int)w->m;
    int32_t lane[8];
    for (int l = 0; l < 8; l++)
        lane[l] = (l % 4) / n * m;
    const __m256i offs = _mm256_loadu_si256((const __m256i *)lane);
    const int64_t kept = w->kept, full = kept / 16 * 16;
#define NM_HALF_LANES(xp)                                                                          \
    _mm256_blend_ps(_mm256_permutevar8x32_ps(_mm256_loadu_ps(xp), p_),                             \
                    _mm256_permutevar8x32_ps(_mm256_loadu_ps((xp) + 8), p_), 0xF0)
    for (int64_t r = n0; r < n0 + nc; r++) {
        const uint8_t *ix = w->idx + r * kept;
        const float *v = w->val + r * kept;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        int64_t j = 0;
        for (; j < full; j += 16) { /* inputs [2j, 2j + 32) */
            __m256i p_ = _mm256_add_epi32(
                offs, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(ix + j))));
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + j), NM_HALF_LANES(x + 2 * j), a0);
            p_ = _mm256_add_epi32(
                offs, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(ix + j + 8))));
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(v + j + 8), NM_HALF_LANES(x + 2 * j + 16), a1);
        }
        if (j + 8 <= kept) {
            __m256i p_ = _mm256_add_epi32(
                offs, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(ix + j))));
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + j), NM_HALF_LANES(x + 2 * j), a0);
            j += 8;
        }
        a0 = _mm256_add_ps(a0, a1);
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        float acc = (bias ? bias[r] : 0.0f) + _mm_cvtss_f32(s);
        for (; j < kept; j++)
            acc = __builtin_fmaf(v[j], x[j / n * m + ix[j]], acc);
        y[r] = acc;
    }
#undef NM_HALF_LANES
}

/* One output column's 4 accumulators += its kept weights of groups [g0, g1) times the panel
 * (whose first row is input g0 * m). */
#define NM_COLUMN_STEP(acc0, acc1, acc2, acc3, vp, ip)                                             \
    do {                                                                                           \
        const float *p_ = pg + (int64_t)(ip)[s] * MB;                                              \
        const __m256 b_ = _mm256_broadcast_ss((vp) + s);                                           \
        acc0 = _mm256_fmadd_ps(b_, _mm256_load_ps(p_), acc0);                                      \
        acc1 = _mm256_fmadd_ps(b_, _mm256_load_ps(p_ + 8), acc1);                                  \
        acc2 = _mm256_fmadd_ps(b_, _mm256_load_ps(p_ + 16), acc2);                                 \
        acc3 = _mm256_fmadd_ps(b_, _mm256_load_ps(p_ + 24), acc3);                                 \
    } while (0)

/* The rows kernels' staged outputs stage[q][i] (rows [0, mc) of columns [n0, n0 + nc)) into
 * y[i * yi + c * yq]. */
static inline void slimc_rt_nm_unstage(float (*stage)[SLIMC_RT_NM_MB], float *y, int64_t yi,
                                       int64_t yq, int64_t mc, int64_t n0, int64_t nc)
{
    if (yi == 1) /* a conv's channels: each staged column is a run of pixels */
        for (int64_t q = 0; q < nc; q++)
            memcpy(y + (n0 + q) * yq, stage[q], sizeof(float) * (size_t)mc);
    else
        for (int64_t i = 0; i < mc; i++)
            for (int64_t q = 0; q < nc; q++)
                y[i * yi + (n0 + q) * yq] = stage[q][i];
}

/* Rows [0, mc) x columns [n0, n0 + nc) of y (y[i * yi + c * yq]) from src (x, row stride K,
 * or a conv image): outputs staged as stage[q][i], K in panels of kcm inputs (a multiple of
 * m). */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void
slimc_rt_nm_rows_avx2_body(const SlimcRtNm *w, const SlimcRtNmSrc *src, const float *bias, float *y,
                           int64_t yi, int64_t yq, int64_t mc, int64_t n0, int64_t nc,
                           const int64_t n, const int64_t m)
{
    enum { MB = SLIMC_RT_NM_MB, NB = SLIMC_RT_NM_NB };
    /* the panel holds at least one group: m <= 256 (the sparse pass's limit) */
    float panel[256 * MB] __attribute__((aligned(32)));
    float stage[NB][MB] __attribute__((aligned(32)));
    const int64_t K = w->K, kept = w->kept;
    const int64_t kcm = slimc_rt_max(m, SLIMC_RT_NM_KC / m * m);
    for (int64_t q = 0; q < nc; q++) {
        const __m256 b0 = _mm256_set1_ps(bias ? bias[n0 + q] : 0.0f);
        for (int i = 0; i < MB; i += 8)
            _mm256_store_ps(stage[q] + i, b0);
    }
    for (int64_t k0 = 0; k0 < K; k0 += kcm) {
        const int64_t kc = slimc_rt_min(kcm, K - k0);
        if (src->s)
            slimc_rt_nm_panel_conv(src->s, src->x, src->p0, mc, k0, kc, panel);
        else
            slimc_rt_panel_t8(src->x + k0, K, kc, mc, SLIMC_RT_NM_MB, panel);
        const int64_t g0 = k0 / m, g1 = (k0 + kc) / m;
        int64_t q = 0;
        for (; q + 2 <= nc; q += 2) {
            const int64_t r = n0 + q;
            __m256 a0 = _mm256_load_ps(stage[q]), a1 = _mm256_load_ps(stage[q] + 8);
            __m256 a2 = _mm256_load_ps(stage[q] + 16), a3 = _mm256_load_ps(stage[q] + 24);
            __m256 c0 = _mm256_load_ps(stage[q + 1]), c1 = _mm256_load_ps(stage[q + 1] + 8);
            __m256 c2 = _mm256_load_ps(stage[q + 1] + 16), c3 = _mm256_load_ps(stage[q + 1] + 24);
            const float *va = w->val + r * kept + g0 * n, *vb = va + kept;
            const uint8_t *ia = w->idx + r * kept + g0 * n, *ib = ia + kept;
            for (int64_t g = g0; g < g1; g++, va += n, vb += n, ia += n, ib += n) {
                const float *pg = panel + (g - g0) * m * MB;
                for (int64_t s = 0; s < n; s++) {
                    NM_COLUMN_STEP(a0, a1, a2, a3, va, ia);
                    NM_COLUMN_STEP(c0, c1, c2, c3, vb, ib);
                }
            }
            _mm256_store_ps(stage[q], a0);
            _mm256_store_ps(stage[q] + 8, a1);
            _mm256_store_ps(stage[q] + 16, a2);
            _mm256_store_ps(stage[q] + 24, a3);
            _mm256_store_ps(stage[q + 1], c0);
            _mm256_store_ps(stage[q + 1] + 8, c1);
            _mm256_store_ps(stage[q + 1] + 16, c2);
            _mm256_store_ps(stage[q + 1] + 24, c3);
        }
        if (q < nc) { /* an odd last column */
            const int64_t r = n0 + q;
            __m256 a0 = _mm256_load_ps(stage[q]), a1 = _mm256_load_ps(stage[q] + 8);
            __m256 a2 = _mm256_load_ps(stage[q] + 16), a3 = _mm256_load_ps(stage[q] + 24);
            const float *va = w->val + r * kept + g0 * n;
            const uint8_t *ia = w->idx + r * kept + g0 * n;
            for (int64_t g = g0; g < g1; g++, va += n, ia += n) {
                const float *pg = panel + (g - g0) * m * MB;
                for (int64_t s = 0; s < n; s++)
                    NM_COLUMN_STEP(a0, a1, a2, a3, va, ia);
            }
            _mm256_store_ps(stage[q], a0);
            _mm256_store_ps(stage[q] + 8, a1);
            _mm256_store_ps(stage[q] + 16, a2);
            _mm256_store_ps(stage[q] + 24, a3);
        }
    }
    slimc_rt_nm_unstage(stage, y, yi, yq, mc, n0, nc);
}
#undef NM_COLUMN_STEP

/* slimc_rt_nm_rows_avx2_body with n and m constants where they are the common ones (the
 * compiler then unrolls a group's kept weights), else read from the blob. */
static SLIMC_RT_AVX2 void slimc_rt_nm_rows_avx2(const SlimcRtNm *w, const SlimcRtNmSrc *src,
                                                const float *bias, float *y, int64_t yi, int64_t yq,
                                                int64_t mc, int64_t n0, int64_t nc)
{
    if (w->n == 2 && w->m == 4)
        slimc_rt_nm_rows_avx2_body(w, src, bias, y, yi, yq, mc, n0, nc, 2, 4);
    else if (w->n == 4 && w->m == 8)
        slimc_rt_nm_rows_avx2_body(w, src, bias, y, yi, yq, mc, n0, nc, 4, 8);
    else
        slimc_rt_nm_rows_avx2_body(w, src, bias, y, yi, yq, mc, n0, nc, w->n, w->m);
}

/* ---- AVX-512 ---- */

/* The gemv for m = 2n (2:4, 4:8, 1:2) on AVX-512: a chunk of 16 kept weights covers 32
 * inputs, and each lane's input is one vpermt2ps of the two 16-input halves (index: its
 * group's offset plus its byte index, 5 bits). Two accumulators (chunks alternate), summed
 * at the end; the tail (under 16) scalar. */
static SLIMC_RT_AVX512 void slimc_rt_nm_gemv_half_512(const SlimcRtNm *w, const float *x,
                                                      const float *bias, float *y, int64_t n0,
                                                      int64_t nc)
{
    const int n = (int)w->n, m = (int)w->m;
    int32_t lane[16];
    for (int l = 0; l < 16; l++)
        lane[l] = l / n * m;
    const __m512i offs = _mm512_loadu_si512(lane);
    const int64_t kept = w->kept, full = kept / 32 * 32;
#define NM_LANES_512(xp, ip)                                                                       \
    _mm512_permutex2var_ps(                                                                        \
        _mm512_loadu_ps(xp),                                                                       \
        _mm512_add_epi32(offs, _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(ip)))),      \
        _mm512_loadu_ps((xp) + 16))
    for (int64_t r = n0; r < n0 + nc; r++) {
        const uint8_t *ix = w->idx + r * kept;
        const float *v = w->val + r * kept;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        int64_t j = 0;
        for (; j < full; j += 32) { /* inputs [2j, 2j + 64) */
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(v + j), NM_LANES_512(x + 2 * j, ix + j), a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(v + j + 16),
                                 NM_LANES_512(x + 2 * j + 32, ix + j + 16), a1);
        }
        if (j + 16 <= kept) {
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(v + j), NM_LANES_512(x + 2 * j, ix + j), a0);
            j += 16;
        }
        float acc = (bias ? bias[r] : 0.0f) + _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
        for (; j < kept; j++)
            acc = __builtin_fmaf(v[j], x[j / n * m + ix[j]], acc);
        y[r] = acc;
    }
#undef NM_LANES_512
}

/* One output column's 2 accumulators (32 rows) += a kept weight times its panel row. */
#define NM_COLUMN_512(acc0, acc1, vp, ip)                                                          \
    do {                                                                                           \
        const float *p_ = pg + (int64_t)(ip)[s] * MB;                                              \
        const __m512 b_ = _mm512_set1_ps((vp)[s]);                                                 \
        acc0 = _mm512_fmadd_ps(b_, _mm512_load_ps(p_), acc0);                                      \
        acc1 = _mm512_fmadd_ps(b_, _mm512_load_ps(p_ + 16), acc1);                                 \
    } while (0)

/* As slimc_rt_nm_rows_avx2_body on AVX-512: the 32 rows of a column are 2 zmm, four columns
 * at a time (8 independent accumulators), then one column at a time for the rest. The same
 * order of sums per output (bias, then the kept weights in order). */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_nm_rows_512_body(const SlimcRtNm *w, const SlimcRtNmSrc *src, const float *bias, float *y,
                          int64_t yi, int64_t yq, int64_t mc, int64_t n0, int64_t nc,
                          const int64_t n, const int64_t m)
{
    enum { MB = SLIMC_RT_NM_MB, NB = SLIMC_RT_NM_NB };
    _Static_assert(SLIMC_RT_NM_MB == 32, "the AVX-512 N:M path keeps 32 rows in 2 zmm");
    float panel[256 * MB] __attribute__((aligned(64)));
    float stage[NB][MB] __attribute__((aligned(64)));
    const int64_t K = w->K, kept = w->kept;
    const int64_t kcm = slimc_rt_max(m, SLIMC_RT_NM_KC / m * m);
    for (int64_t q = 0; q < nc; q++) {
        const __m512 b0 = _mm512_set1_ps(bias ? bias[n0 + q] : 0.0f);
        _mm512_store_ps(stage[q], b0);
        _mm512_store_ps(stage[q] + 16, b0);
    }
    for (int64_t k0 = 0; k0 < K; k0 += kcm) {
        const int64_t kc = slimc_rt_min(kcm, K - k0);
        if (src->s)
            slimc_rt_nm_panel_conv(src->s, src->x, src->p0, mc, k0, kc, panel);
        else
            slimc_rt_panel_t8(src->x + k0, K, kc, mc, SLIMC_RT_NM_MB, panel);
        const int64_t g0 = k0 / m, g1 = (k0 + kc) / m;
        int64_t q = 0;
        for (; q + 4 <= nc; q += 4) {
            const int64_t r = n0 + q;
            __m512 a0 = _mm512_load_ps(stage[q]), a1 = _mm512_load_ps(stage[q] + 16);
            __m512 b0 = _mm512_load_ps(stage[q + 1]), b1 = _mm512_load_ps(stage[q + 1] + 16);
            __m512 c0 = _mm512_load_ps(stage[q + 2]), c1 = _mm512_load_ps(stage[q + 2] + 16);
            __m512 d0 = _mm512_load_ps(stage[q + 3]), d1 = _mm512_load_ps(stage[q + 3] + 16);
            const float *va = w->val + r * kept + g0 * n, *vb = va + kept, *vc = vb + kept,
                        *vd = vc + kept;
            const uint8_t *ia = w->idx + r * kept + g0 * n, *ib = ia + kept, *ic = ib + kept,
                          *id = ic + kept;
            for (int64_t g = g0; g < g1; g++) {
                const float *pg = panel + (g - g0) * m * MB;
                for (int64_t s = 0; s < n; s++) {
                    NM_COLUMN_512(a0, a1, va, ia);
                    NM_COLUMN_512(b0, b1, vb, ib);
                    NM_COLUMN_512(c0, c1, vc, ic);
                    NM_COLUMN_512(d0, d1, vd, id);
                }
                va += n, vb += n, vc += n, vd += n, ia += n, ib += n, ic += n, id += n;
            }
            _mm512_store_ps(stage[q], a0);
            _mm512_store_ps(stage[q] + 16, a1);
            _mm512_store_ps(stage[q + 1], b0);
            _mm512_store_ps(stage[q + 1] + 16, b1);
            _mm512_store_ps(stage[q + 2], c0);
            _mm512_store_ps(stage[q + 2] + 16, c1);
            _mm512_store_ps(stage[q + 3], d0);
            _mm512_store_ps(stage[q + 3] + 16, d1);
        }
        for (; q < nc; q++) { /* the last columns, one at a time */
            const int64_t r = n0 + q;
            __m512 a0 = _mm512_load_ps(stage[q]), a1 = _mm512_load_ps(stage[q] + 16);
            const float *va = w->val + r * kept + g0 * n;
            const uint8_t *ia = w->idx + r * kept + g0 * n;
            for (int64_t g = g0; g < g1; g++, va += n, ia += n) {
                const float *pg = panel + (g - g0) * m * MB;
                for (int64_t s = 0; s < n; s++)
                    NM_COLUMN_512(a0, a1, va, ia);
            }
            _mm512_store_ps(stage[q], a0);
            _mm512_store_ps(stage[q] + 16, a1);
        }
    }
    slimc_rt_nm_unstage(stage, y, yi, yq, mc, n0, nc);
}
#undef NM_COLUMN_512

/* slimc_rt_nm_rows_512_body with n and m constants for 2:4 and 4:8. */
static SLIMC_RT_AVX512 void slimc_rt_nm_rows_512(const SlimcRtNm *w, const SlimcRtNmSrc *src,
                                                 const float *bias, float *y, int64_t yi,
                                                 int64_t yq, int64_t mc, int64_t n0, int64_t nc)
{
    if (w->n == 2 && w->m == 4)
        slimc_rt_nm_rows_512_body(w, src, bias, y, yi, yq, mc, n0, nc, 2, 4);
    else if (w->n == 4 && w->m == 8)
        slimc_rt_nm_rows_512_body(w, src, bias, y, yi, yq, mc, n0, nc, 4, 8);
    else
        slimc_rt_nm_rows_512_body(w, src, bias, y, yi, yq, mc, n0, nc, w->n, w->m);
}
#endif

SLIMC_RT_KERNEL void slimc_rt_nm_tile(int64_t M, const float *A, const void *W, const float *bias,
                                      float *C, int64_t it, int64_t *m0, int64_t *mc, int64_t *n0,
                                      int64_t *nc)
{
    const SlimcRtNm w = slimc_rt_nm_view(W);
    const int64_t N = w.N, K = w.K;
    const int isa = slimc_rt_isa();
#ifdef SLIMC_RT_X86
    const int avx2 = isa >= SLIMC_RT_ISA_AVX2 && w.n <= 8 && 8 % w.n == 0 && w.m <= 256;
#endif
    if (M == 1) {
        *m0 = 0;
        *mc = 1;
        *n0 = it * SLIMC_RT_NM_NB1;
        *nc = slimc_rt_min(SLIMC_RT_NM_NB1, N - *n0);
#ifdef SLIMC_RT_X86
        if (avx2 && isa >= SLIMC_RT_ISA_AVX512 && w.m == 2 * w.n) {
            slimc_rt_nm_gemv_half_512(&w, A, bias, C, *n0, *nc);
            return;
        }
        if (avx2 && w.m == 2 * w.n && w.n <= 4) {
            slimc_rt_nm_gemv_half_avx2(&w, A, bias, C, *n0, *nc);
            return;
        }
        if (avx2) {
            slimc_rt_nm_gemv_avx2(&w, A, bias, C, *n0, *nc);
            return;
        }
#endif
        slimc_rt_nm_rows_generic(&w, A, bias, C, *n0, *nc);
        return;
    }
    /* items column block by column block, its row blocks one after the other: the block's
     * kept weights (K / 2 x 64 x 5 bytes at 2:4) are read again from L2, not from memory */
    const int64_t mt = (M + SLIMC_RT_NM_MB - 1) / SLIMC_RT_NM_MB;
    *m0 = it % mt * SLIMC_RT_NM_MB;
    *n0 = it / mt * SLIMC_RT_NM_NB;
    *mc = slimc_rt_min(SLIMC_RT_NM_MB, M - *m0);
    *nc = slimc_rt_min(SLIMC_RT_NM_NB, N - *n0);
    const float *x = A + *m0 * K;
    float *y = C + *m0 * N;
#ifdef SLIMC_RT_X86
    const SlimcRtNmSrc src = {x, NULL, 0};
    if (avx2 && isa >= SLIMC_RT_ISA_AVX512) {
        slimc_rt_nm_rows_512(&w, &src, bias, y, N, 1, *mc, *n0, *nc);
        return;
    }
    if (avx2) {
        slimc_rt_nm_rows_avx2(&w, &src, bias, y, N, 1, *mc, *n0, *nc);
        return;
    }
#endif
    (void)isa;
    for (int64_t i = 0; i < *mc; i++)
        slimc_rt_nm_rows_generic(&w, x + i * K, bias, y + i * N, *n0, *nc);
}

SLIMC_RT_KERNEL void slimc_rt_nmconv_tile(const slimc_rt_conv *s, const float *x, const void *W,
                                          const float *bias, float *y, int64_t it, int64_t *p0,
                                          int64_t *pc, int64_t *o0, int64_t *oc)
{
    const SlimcRtNm w = slimc_rt_nm_view(W);
    const int64_t P = s->OH * s->OW, pt = (P + SLIMC_RT_NM_MB - 1) / SLIMC_RT_NM_MB;
    *p0 = it % pt * SLIMC_RT_NM_MB;
    *o0 = it / pt * SLIMC_RT_NM_NB;
    *pc = slimc_rt_min(SLIMC_RT_NM_MB, P - *p0);
    *oc = slimc_rt_min(SLIMC_RT_NM_NB, s->O - *o0);
    const SlimcRtNmSrc src = {x, s, *p0};
    const int isa = slimc_rt_isa();
#ifdef SLIMC_RT_X86
    const int avx2 = isa >= SLIMC_RT_ISA_AVX2 && w.n <= 8 && 8 % w.n == 0 && w.m <= 256;
    if (avx2 && isa >= SLIMC_RT_ISA_AVX512) {
        slimc_rt_nm_rows_512(&w, &src, bias, y + *p0, 1, P, *pc, *o0, *oc);
        return;
    }
    if (avx2) {
        slimc_rt_nm_rows_avx2(&w, &src, bias, y + *p0, 1, P, *pc, *o0, *oc);
        return;
    }
#endif
    (void)isa;
    slimc_rt_nm_conv_generic(&w, &src, bias, y + *p0, P, *pc, *o0, *oc);
}
