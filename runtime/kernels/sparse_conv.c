/* sparse_conv.c — fp32 conv2d (one group) on a sparse constant weight in CSR (slimc_abi.h):
 * out[o, p] = bias[o] + sum over the nonzeros w[o, k] of row o (k = (c, kh, kw), ascending) of
 * w[o, k] * im2col(x)[k, p]. passes/sparse.c builds the blob from the dense [O, C, KH, KW]
 * weight read as [O, C * KH * KW] and chooses this kernel where the cost model predicts it
 * faster than the dense implicit GEMM (docs/pruning.md, "Sparse kernels").
 *
 * The work of one call is that of slimc_rt_conv2d_px: output pixels [p0, p1) (at most
 * SLIMC_RT_CONV_PX) of every output channel of one image. Per block of SLIMC_RT_SPCONV_KC
 * rows of k, the im2col panel [kc, NP] is packed (as the dense kernel packs it; a 1x1,
 * stride-1, unpadded conv reads x in place), small enough to stay in L1 (a nonzero reads a
 * whole panel row, and rows are picked at random: from L2, the kernel ran at a fifth of the
 * dense conv's rate per FLOP); then for each output channel the 64 pixels' sums stay in
 * registers (AVX-512: 4 zmm, even and odd nonzeros in two sets; AVX2: 8 ymm) while each of
 * the row's nonzeros in the block (the blob's kb table says which) adds one broadcast times
 * a panel row. A row's sums go through y between k blocks. Each output sums bias first, then
 * its row's
 * nonzeros in one fixed order that depends on neither the pixel block nor the thread count;
 * the result differs from the dense kernel's, which also adds the zeros, by rounding only. */
#include "runtime/kernels/internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- portable ---- */

/* Rows [0, O) of one k block (starting at column k0): y[o, j] (+)= the nonzeros
 * [kb[o * nkb1], kb[o * nkb1 + 1]) times panel rows b[(col - k0) * ldb + j], j < np; first:
 * start from the bias. */
static void slimc_rt_spconv_block_c(const int32_t *kb, int64_t nkb1, const int32_t *col,
                                    const float *val, const float *b, int64_t ldb,
                                    const float *bias, float *y, int64_t P, int64_t O, int64_t k0,
                                    int64_t np, int first)
{
    float acc[SLIMC_RT_CONV_NP];
    for (int64_t o = 0; o < O; o++) {
        float *yo = y + o * P;
        for (int64_t j = 0; j < np; j++)
            acc[j] = first ? (bias ? bias[o] : 0.0f) : yo[j];
        const int32_t end = kb[o * nkb1 + 1];
        for (int32_t q = kb[o * nkb1]; q < end; q++) {
            const float v = val[q], *br = b + (col[q] - k0) * ldb;
            for (int64_t j = 0; j < np; j++)
                acc[j] = __builtin_fmaf(v, br[j], acc[j]);
        }
        memcpy(yo, acc, sizeof(float) * (size_t)np);
    }
}

#ifdef SLIMC_RT_X86
/* The AVX-512 block: the np pixels in NV = ceil(np / 16) zmm (a partial last block of a
 * plane, e.g. the 4 pixels left of 196, costs one zmm a nonzero, not four), even nonzeros into
 * a, odd into c, a + c at the end of the row (masked loads and stores past np). */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_spconv_rows_512(const int NV, const int FULL, const int32_t *kb, int64_t nkb1,
                         const int32_t *col, const float *val, const float *b, int64_t ldb,
                         const float *bias, float *y, int64_t P, int64_t O, int64_t k0, int64_t np,
                         int first)
{
    __mmask16 m[4];
    for (int i = 0; i < 4; i++) {
        const int64_t n = slimc_rt_max(0, slimc_rt_min(16, np - 16 * i));
        m[i] = (__mmask16)((1u << n) - 1u);
    }
#define SLIMC_RT_SPCONV_LD512(ptr, i)                                                              \
    (FULL ? _mm512_loadu_ps((ptr) + 16 * (i)) : _mm512_maskz_loadu_ps(m[i], (ptr) + 16 * (i)))
    for (int64_t o = 0; o < O; o++) {
        float *yo = y + o * P;
        __m512 a[4], c[4];
        for (int i = 0; i < NV; i++) {
            a[i] = first ? _mm512_set1_ps(bias ? bias[o] : 0.0f) : SLIMC_RT_SPCONV_LD512(yo, i);
            c[i] = _mm512_setzero_ps();
        }
        const int32_t end = kb[o * nkb1 + 1];
        int32_t q = kb[o * nkb1];
        const float *bk = b - k0 * ldb; /* bk + col * ldb: the panel row of column col */
        for (; q + 2 <= end; q += 2) {
            const float *p = bk + col[q] * ldb, *r = bk + col[q + 1] * ldb;
            const __m512 v = _mm512_set1_ps(val[q]), u = _mm512_set1_ps(val[q + 1]);
            for (int i = 0; i < NV; i++)
                a[i] = _mm512_fmadd_ps(v, SLIMC_RT_SPCONV_LD512(p, i), a[i]);
            for (int i = 0; i < NV; i++)
                c[i] = _mm512_fmadd_ps(u, SLIMC_RT_SPCONV_LD512(r, i), c[i]);
        }
        if (q < end) {
            const float *p = bk + col[q] * ldb;
            const __m512 v = _mm512_set1_ps(val[q]);
            for (int i = 0; i < NV; i++)
                a[i] = _mm512_fmadd_ps(v, SLIMC_RT_SPCONV_LD512(p, i), a[i]);
        }
        for (int i = 0; i < NV; i++) {
            if (FULL)
                _mm512_storeu_ps(yo + 16 * i, _mm512_add_ps(a[i], c[i]));
            else
                _mm512_mask_storeu_ps(yo + 16 * i, m[i], _mm512_add_ps(a[i], c[i]));
        }
    }
#undef SLIMC_RT_SPCONV_LD512
}

static SLIMC_RT_AVX512 void slimc_rt_spconv_block_512(const int32_t *kb, int64_t nkb1,
                                                      const int32_t *col, const float *val,
                                                      const float *b, int64_t ldb,
                                                      const float *bias, float *y, int64_t P,
                                                      int64_t O, int64_t k0, int64_t np, int first)
{
    const int full = np % 16 == 0;
#define SLIMC_RT_SPCONV_NV(nv)                                                                     \
    (full ? slimc_rt_spconv_rows_512(nv, 1, kb, nkb1, col, val, b, ldb, bias, y, P, O, k0, np,     \
                                     first)                                                        \
          : slimc_rt_spconv_rows_512(nv, 0, kb, nkb1, col, val, b, ldb, bias, y, P, O, k0, np,     \
                                     first))
    switch ((np + 15) / 16) {
    case 1: SLIMC_RT_SPCONV_NV(1); break;
    case 2: SLIMC_RT_SPCONV_NV(2); break;
    case 3: SLIMC_RT_SPCONV_NV(3); break;
    default: SLIMC_RT_SPCONV_NV(4); break;
    }
#undef SLIMC_RT_SPCONV_NV
}

/* The AVX2 block: the np pixels in NV = ceil(np / 8) ymm, one set (up to 8 independent
 * chains already); loads past np masked (vmaskmovps) only in a partial block. */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void
slimc_rt_spconv_rows_avx2(const int NV, const int FULL, const int32_t *kb, int64_t nkb1,
                          const int32_t *col, const float *val, const float *b, int64_t ldb,
                          const float *bias, float *y, int64_t P, int64_t O, int64_t k0, int64_t np,
                          int first)
{
    __m256i m[8];
    for (int i = 0; i < 8; i++) {
        const int n = (int)slimc_rt_max(0, slimc_rt_min(8, np - 8 * i));
        m[i] = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
#define SLIMC_RT_SPCONV_LD(ptr, i)                                                                 \
    (FULL ? _mm256_loadu_ps((ptr) + 8 * (i)) : _mm256_maskload_ps((ptr) + 8 * (i), m[i]))
    const float *bk = b - k0 * ldb; /* bk + col * ldb: the panel row of column col */
    for (int64_t o = 0; o < O; o++) {
        float *yo = y + o * P;
        __m256 a[8];
        for (int i = 0; i < NV; i++)
            a[i] = first ? _mm256_set1_ps(bias ? bias[o] : 0.0f) : SLIMC_RT_SPCONV_LD(yo, i);
        const int32_t end = kb[o * nkb1 + 1];
        for (int32_t q = kb[o * nkb1]; q < end; q++) {
            const float *p = bk + col[q] * ldb;
            const __m256 v = _mm256_set1_ps(val[q]);
            for (int i = 0; i < NV; i++)
                a[i] = _mm256_fmadd_ps(v, SLIMC_RT_SPCONV_LD(p, i), a[i]);
        }
        for (int i = 0; i < NV; i++) {
            if (FULL)
                _mm256_storeu_ps(yo + 8 * i, a[i]);
            else
                _mm256_maskstore_ps(yo + 8 * i, m[i], a[i]);
        }
    }
#undef SLIMC_RT_SPCONV_LD
}

static SLIMC_RT_AVX2 void slimc_rt_spconv_block_avx2(const int32_t *kb, int64_t nkb1,
                                                     const int32_t *col, const float *val,
                                                     const float *b, int64_t ldb, const float *bias,
                                                     float *y, int64_t P, int64_t O, int64_t k0,
                                                     int64_t np, int first)
{
    const int full = np % 8 == 0;
#define SLIMC_RT_SPCONV_NV(nv)                                                                     \
    (full ? slimc_rt_spconv_rows_avx2(nv, 1, kb, nkb1, col, val, b, ldb, bias, y, P, O, k0, np,    \
                                      first)                                                       \
          : slimc_rt_spconv_rows_avx2(nv, 0, kb, nkb1, col, val, b, ldb, bias, y, P, O, k0, np,    \
                                      first))
    switch ((np + 7) / 8) {
    case 1: SLIMC_RT_SPCONV_NV(1); break;
    case 2: SLIMC_RT_SPCONV_NV(2); break;
    case 3: SLIMC_RT_SPCONV_NV(3); break;
    case 4: SLIMC_RT_SPCONV_NV(4); break;
    case 5: SLIMC_RT_SPCONV_NV(5); break;
    case 6: SLIMC_RT_SPCONV_NV(6); break;
    case 7: SLIMC_RT_SPCONV_NV(7); break;
    default: SLIMC_RT_SPCONV_NV(8); break;
    }
#undef SLIMC_RT_SPCONV_NV
}
#endif

SLIMC_RT_KERNEL void slimc_rt_spconv_px(const slimc_rt_conv *s, const float *x, const void *W,
                                        const float *bias, float *y, int64_t p0, int64_t p1)
{
    const int isa = slimc_rt_isa();
    const int64_t *h = (const int64_t *)W;
    const unsigned char *blob = (const unsigned char *)W;
    const int32_t *col = (const int32_t *)(const void *)(blob + h[4]);
    const float *val = (const float *)(const void *)(blob + h[5]);
    const int32_t *kb = (const int32_t *)(const void *)(blob + h[6]);
    const int64_t O = h[1], Kt = h[2], nkb1 = slimc_rt_spconv_nkb(Kt) + 1;
    const int64_t P = s->OH * s->OW, HW = s->H * s->W;
    const int direct =
        s->KH == 1 && s->KW == 1 && s->SH == 1 && s->SW == 1 && s->PH == 0 && s->PW == 0;
    /* [kk][j]: the panel, in L1; 64-byte aligned, or every zmm load of a row splits a line */
    float bp[SLIMC_RT_SPCONV_KC * SLIMC_RT_CONV_NP] __attribute__((aligned(64)));
    for (int64_t pp = p0; pp < p1; pp += SLIMC_RT_CONV_NP) {
        const int64_t np = slimc_rt_min(SLIMC_RT_CONV_NP, p1 - pp);
        float *yp = y + pp;
        if (Kt == 0) /* no input channels (legal ONNX): the outputs are the bias */
            for (int64_t o = 0; o < O; o++)
                for (int64_t j = 0; j < np; j++)
                    yp[o * P + j] = bias ? bias[o] : 0.0f;
        for (int64_t blk = 0, k0 = 0; k0 < Kt; blk++, k0 += SLIMC_RT_SPCONV_KC) {
            const int64_t kc = slimc_rt_min(SLIMC_RT_SPCONV_KC, Kt - k0);
            const float *b = x + k0 * HW + pp;
            int64_t ldb = HW;
            if (!direct)
                slimc_rt_im2col(isa, s, x, k0, kc, pp, np, bp), b = bp, ldb = SLIMC_RT_CONV_NP;
            const int32_t *kbb = kb + blk; /* row o's nonzeros in the block: kbb[o * nkb1 + 0, 1) */
#ifdef SLIMC_RT_X86
            if (isa == SLIMC_RT_ISA_AVX512)
                slimc_rt_spconv_block_512(kbb, nkb1, col, val, b, ldb, bias, yp, P, O, k0, np,
                                          k0 == 0);
            else if (isa >= SLIMC_RT_ISA_AVX2)
                slimc_rt_spconv_block_avx2(kbb, nkb1, col, val, b, ldb, bias, yp, P, O, k0, np,
                                           k0 == 0);
            else
#endif
                slimc_rt_spconv_block_c(kbb, nkb1, col, val, b, ldb, bias, yp, P, O, k0, np,
                                        k0 == 0);
        }
        slimc_rt_act(isa, s->ACT, yp, P, O, np);
    }
}
