/* qsparse.c — int8 linear layers on a block-sparse constant weight (qlinear after prune then
 * quantize): out[M, O] = qlinear's output of A [M, K] u8 with W [O, K] i8 stored as blocks of
 * 4 consecutive k (one vpdpbusd group) in row-wise CSR (slimc_abi.h, SLIMC_RT_Q8SP_MAGIC).
 * passes/sparse.c builds the blob at compile time and chooses this kernel where the cost model
 * predicts it faster than the dense int8 GEMM (docs/pruning.md, "Sparse kernels").
 *
 * Two shapes of work (slimc_rt_q8sp_items):
 *   under SLIMC_RT_Q8SP_ROWS rows: each output is a dot product of its row's kept blocks with
 *     the 4 bytes of x gathered at each block (AVX-512 VNNI: 16 blocks per vpgatherdd and one
 *     vpdpbusd; AVX2: 8 per vpgatherdd, widened to i16 and summed by vpmaddwd);
 *   more rows: an item lays its (up to 64) rows of x out once as xt [K / 4][MB / 16][16][4]
 *     (a 16 x 16 dword transpose per 16 rows and 64 bytes of k), so a kept block is one
 *     broadcast of its 4 weights times 64 contiguous bytes per 16 rows: one vpdpbusd (AVX2:
 *     x as i16 pairs, two vpmaddwd per 8 rows). Sums of 16 outputs are transposed back to rows
 *     for the epilogue.
 * Every path sums exactly in i32 (u8 x s8 products, vpmaddwd on widened values cannot
 * saturate), so the result is the dense qlinear's bit for bit, at any thread count; the
 * epilogue is qlinear's: (float)(sum - zp wsum[o]) * (xs ws[o]) + bias[o], then
 * slimc_rt_qstore. */
#include "runtime/kernels/internal.h"

#include <stdlib.h>
#include <string.h>

/* The block-CSR blob's parts. */
typedef struct SlimcRtQ8sp {
    int64_t O, K, nb;
    const int32_t *rowptr, *blk;
    const int8_t *val; /* [nb][4] */
} SlimcRtQ8sp;

static SlimcRtQ8sp slimc_rt_q8sp_view(const void *w)
{
    const int64_t *h = (const int64_t *)w;
    const unsigned char *b = (const unsigned char *)w;
    SlimcRtQ8sp c;
    c.O = h[1];
    c.K = h[2];
    c.nb = h[3];
    c.rowptr = (const int32_t *)(const void *)(b + SLIMC_RT_CSR_HEAD);
    c.blk = (const int32_t *)(const void *)(b + h[4]);
    c.val = (const int8_t *)(b + h[5]);
    return c;
}

/* The output of row m (stride O), output o, from its exact sum. */
static inline void slimc_rt_q8sp_out(const SlimcRtQ8sp *w, int32_t acc, int64_t m, int64_t o,
                                     int32_t zp, const int32_t *wsum, float xs, const float *ws,
                                     const float *bias, void *out, const slimc_rt_qreq *rq)
{
    slimc_rt_qstore(out, m * w->O + o, slimc_rt_qout(acc - zp * wsum[o], xs, ws[o], bias, o), rq);
}

/* ---- portable ---- */

static void slimc_rt_q8sp_generic(const SlimcRtQ8sp *w, const uint8_t *A, int64_t m0, int64_t mc,
                                  int64_t o0, int64_t oc, int32_t zp, const int32_t *wsum, float xs,
                                  const float *ws, const float *bias, void *out,
                                  const slimc_rt_qreq *rq)
{
    for (int64_t m = m0; m < m0 + mc; m++) {
        const uint8_t *a = A + (m - m0) * w->K; /* A: row m0's */
        for (int64_t o = o0; o < o0 + oc; o++) {
            int32_t acc = 0;
            for (int32_t j = w->rowptr[o]; j < w->rowptr[o + 1]; j++) {
                const int64_t k0 = 4 * (int64_t)w->blk[j];
                for (int64_t t = 0; t < 4 && k0 + t < w->K; t++)
                    acc += (int32_t)a[k0 + t] * (int32_t)w->val[4 * (int64_t)j + t];
            }
            slimc_rt_q8sp_out(w, acc, m, o, zp, wsum, xs, ws, bias, out, rq);
        }
    }
}

#ifdef SLIMC_RT_X86
/* ---- one row at a time: gathered dot products ---- */

/* Row m's x padded with zeros to 4 ceil(K / 4) bytes in xb, so a gather of the last block
 * reads no byte past the row. */
static void slimc_rt_q8sp_pad_row(const SlimcRtQ8sp *w, const uint8_t *A, int64_t m, uint8_t *xb)
{
    const int64_t K4 = (w->K + 3) / 4;
    memcpy(xb, A + m * w->K, (size_t)w->K);
    memset(xb + w->K, 0, (size_t)(4 * K4 - w->K));
}

static SLIMC_RT_VNNI void slimc_rt_q8sp_gemv_vnni(const SlimcRtQ8sp *w, const uint8_t *xb,
                                                  int64_t m, int64_t o0, int64_t oc, int32_t zp,
                                                  const int32_t *wsum, float xs, const float *ws,
                                                  const float *bias, void *out,
                                                  const slimc_rt_qreq *rq)
{
    for (int64_t o = o0; o < o0 + oc; o++) {
        int32_t j = w->rowptr[o];
        const int32_t e = w->rowptr[o + 1];
        __m512i a0 = _mm512_setzero_si512(), a1 = a0;
        for (; j + 32 <= e; j += 32) {
            const __m512i i0 = _mm512_loadu_si512((const void *)(w->blk + j));
            const __m512i i1 = _mm512_loadu_si512((const void *)(w->blk + j + 16));
            const __m512i x0 = _mm512_i32gather_epi32(i0, (const void *)xb, 4);
            const __m512i x1 = _mm512_i32gather_epi32(i1, (const void *)xb, 4);
            a0 = _mm512_dpbusd_epi32(a0, x0, _mm512_loadu_si512((const void *)(w->val + 4 * j)));
            a1 = _mm512_dpbusd_epi32(a1, x1,
                                     _mm512_loadu_si512((const void *)(w->val + 4 * (j + 16))));
        }
        for (; j < e; j += 16) {
            const int n = (int)slimc_rt_min(16, e - j);
            const __mmask16 mk = (__mmask16)((1u << n) - 1u);
            const __m512i i0 = _mm512_maskz_loadu_epi32(mk, w->blk + j);
            const __m512i x0 =
                _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mk, i0, (const void *)xb, 4);
            a0 = _mm512_dpbusd_epi32(a0, x0, _mm512_maskz_loadu_epi32(mk, w->val + 4 * j));
        }
        const int32_t acc = _mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1));
        slimc_rt_q8sp_out(w, acc, m, o, zp, wsum, xs, ws, bias, out, rq);
    }
}

static SLIMC_RT_AVX2 void slimc_rt_q8sp_gemv_avx2(const SlimcRtQ8sp *w, const uint8_t *xb,
                                                  int64_t m, int64_t o0, int64_t oc, int32_t zp,
                                                  const int32_t *wsum, float xs, const float *ws,
                                                  const float *bias, void *out,
                                                  const slimc_rt_qreq *rq)
{
    for (int64_t o = o0; o < o0 + oc; o++) {
        int32_t j = w->rowptr[o];
        const int32_t e = w->rowptr[o + 1];
        __m256i acc = _mm256_setzero_si256();
        for (; j + 8 <= e; j += 8) {
            const __m256i idx = _mm256_loadu_si256((const __m256i *)(const void *)(w->blk + j));
            const __m256i xv = _mm256_i32gather_epi32((const int *)(const void *)xb, idx, 4);
            const __m256i wv = _mm256_loadu_si256((const __m256i *)(const void *)(w->val + 4 * j));
            const __m256i xl = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(xv));
            const __m256i xh = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(xv, 1));
            const __m256i wl = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(wv));
            const __m256i wh = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(wv, 1));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(xl, wl));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(xh, wh));
        }
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
        int32_t sum = _mm_cvtsi128_si32(s);
        for (; j < e; j++) {
            const uint8_t *xa = xb + 4 * (int64_t)w->blk[j];
            for (int t = 0; t < 4; t++)
                sum += (int32_t)xa[t] * (int32_t)w->val[4 * (int64_t)j + t];
        }
        slimc_rt_q8sp_out(w, sum, m, o, zp, wsum, xs, ws, bias, out, rq);
    }
}

/* ---- several rows: x laid out by block ---- */

/* r[0..15] transposed as a 16 x 16 matrix of dwords: lane i of r[c] becomes lane c of r[i]
 * (internal.h's float transpose: the bits move, whatever they hold). */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void slimc_rt_tr16_epi32(__m512i *r)
{
    __m512 f[16];
    for (int i = 0; i < 16; i++)
        f[i] = _mm512_castsi512_ps(r[i]);
    slimc_rt_transpose16(f);
    for (int i = 0; i < 16; i++)
        r[i] = _mm512_castps_si512(f[i]);
}

/* xt[(b * nch + ch) * 64 + i * 4 + t] = x[m0 + 16 ch + i][4 b + t] for the mc rows (zeros for
 * the rows past mc in the last chunk and the k past K), nch = ceil(mc / 16). */
static SLIMC_RT_VNNI void slimc_rt_q8sp_layout_vnni(const uint8_t *A, int64_t K, int64_t m0,
                                                    int64_t mc, int64_t nch, uint8_t *xt)
{
    const int64_t K4 = (K + 3) / 4;
    for (int64_t ch = 0; ch < nch; ch++)
        for (int64_t k = 0; k < K; k += 64) { /* 16 blocks of 16 rows */
            const int64_t left = K - k;
            const __mmask64 mk = left >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << left) - 1);
            __m512i r[16];
            for (int64_t i = 0; i < 16; i++)
                r[i] = 16 * ch + i < mc
                           ? _mm512_maskz_loadu_epi8(mk, A + (m0 + 16 * ch + i) * K + k)
                           : _mm512_setzero_si512();
            slimc_rt_tr16_epi32(r);
            for (int64_t c = 0; c < 16 && k / 4 + c < K4; c++)
                _mm512_storeu_si512((void *)(xt + ((k / 4 + c) * nch + ch) * 64), r[c]);
        }
}

/* The sums of output o over NCH chunks of 16 rows into st[ch] (lane i: row 16 ch + i). */
static inline SLIMC_RT_VNNI __attribute__((always_inline)) void
slimc_rt_q8sp_sums_vnni(int NCH, const SlimcRtQ8sp *w, const uint8_t *xt, int64_t o, int32_t *st)
{
    __m512i a[4], c[4];
    SLIMC_RT_UNROLL
    for (int ch = 0; ch < NCH; ch++)
        a[ch] = c[ch] = _mm512_setzero_si512();
    int32_t j = w->rowptr[o];
    const int32_t e = w->rowptr[o + 1];
    for (; j + 2 <= e; j += 2) { /* alternate blocks into a and c: two chains per chunk */
        int32_t w0, w1;
        memcpy(&w0, w->val + 4 * (int64_t)j, 4);
        memcpy(&w1, w->val + 4 * (int64_t)j + 4, 4);
        const __m512i v0 = _mm512_set1_epi32(w0), v1 = _mm512_set1_epi32(w1);
        const uint8_t *p0 = xt + (int64_t)w->blk[j] * NCH * 64;
        const uint8_t *p1 = xt + (int64_t)w->blk[j + 1] * NCH * 64;
        SLIMC_RT_UNROLL
        for (int ch = 0; ch < NCH; ch++) {
            a[ch] =
                _mm512_dpbusd_epi32(a[ch], _mm512_loadu_si512((const void *)(p0 + 64 * ch)), v0);
            c[ch] =
                _mm512_dpbusd_epi32(c[ch], _mm512_loadu_si512((const void *)(p1 + 64 * ch)), v1);
        }
    }
    if (j < e) {
        int32_t w0;
        memcpy(&w0, w->val + 4 * (int64_t)j, 4);
        const __m512i v0 = _mm512_set1_epi32(w0);
        const uint8_t *p0 = xt + (int64_t)w->blk[j] * NCH * 64;
        SLIMC_RT_UNROLL
        for (int ch = 0; ch < NCH; ch++)
            a[ch] =
                _mm512_dpbusd_epi32(a[ch], _mm512_loadu_si512((const void *)(p0 + 64 * ch)), v0);
    }
    SLIMC_RT_UNROLL
    for (int ch = 0; ch < NCH; ch++)
        _mm512_storeu_si512((void *)(st + 16 * ch), _mm512_add_epi32(a[ch], c[ch]));
}

/* Outputs [o0, o0 + oc) of rows [m0, m0 + mc) (mc <= 64) from xt: 16 outputs at a time, their
 * sums staged [16 outputs][64 rows], transposed to rows and written by the vector epilogue. */
static SLIMC_RT_VNNI void slimc_rt_q8sp_rows_vnni(const SlimcRtQ8sp *w, const uint8_t *xt,
                                                  int64_t m0, int64_t mc, int64_t o0, int64_t oc,
                                                  int32_t zp, const int32_t *wsum, float xs,
                                                  const float *ws, const float *bias, void *out,
                                                  const slimc_rt_qreq *rq)
{
    const int64_t nch = (mc + 15) / 16;
    int32_t st[16][SLIMC_RT_Q8SP_MB] __attribute__((aligned(64)));
    const __m512 vxs = _mm512_set1_ps(xs);
    const __m512i vzp = _mm512_set1_epi32(zp);
    for (int64_t o = o0; o < o0 + oc; o += 16) {
        const int64_t on = slimc_rt_min(16, o0 + oc - o);
        for (int64_t q = 0; q < 16; q++) {
            if (q >= on) {
                memset(st[q], 0, sizeof st[q]);
                continue;
            }
            switch (nch) {
            case 1: slimc_rt_q8sp_sums_vnni(1, w, xt, o + q, st[q]); break;
            case 2: slimc_rt_q8sp_sums_vnni(2, w, xt, o + q, st[q]); break;
            case 3: slimc_rt_q8sp_sums_vnni(3, w, xt, o + q, st[q]); break;
            default: slimc_rt_q8sp_sums_vnni(4, w, xt, o + q, st[q]); break;
            }
        }
        const __mmask16 mk = on >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << on) - 1u);
        const __m512i vsum = _mm512_mullo_epi32(vzp, _mm512_maskz_loadu_epi32(mk, wsum + o));
        const __m512 vm = _mm512_mul_ps(vxs, _mm512_maskz_loadu_ps(mk, ws + o));
        const __m512 vb = bias ? _mm512_maskz_loadu_ps(mk, bias + o) : _mm512_setzero_ps();
        for (int64_t ch = 0; ch < nch; ch++) {
            __m512i r[16];
            for (int q = 0; q < 16; q++)
                r[q] = _mm512_load_si512((const void *)(st[q] + 16 * ch));
            slimc_rt_tr16_epi32(r); /* r[i]: row 16 ch + i, lane q: output o + q */
            for (int64_t i = 0; i < 16 && 16 * ch + i < mc; i++) {
                __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(r[i], vsum)), vm);
                if (bias)
                    y = _mm512_add_ps(y, vb);
                slimc_rt_qstore16(out, (m0 + 16 * ch + i) * w->O + o, mk, y, rq);
            }
        }
    }
}

/* xt16[((b * nch + ch) * 2 + h) * 16 + 2 i + t] = x[m0 + 8 ch + i][4 b + 2 h + t] as i16 (zeros
 * past mc and K), nch = ceil(mc / 8): per block and 8 rows, the k pairs (0, 1) then (2, 3). */
static void slimc_rt_q8sp_layout_avx2(const uint8_t *A, int64_t K, int64_t m0, int64_t mc,
                                      int64_t nch, int16_t *xt)
{
    const int64_t K4 = (K + 3) / 4;
    memset(xt, 0, sizeof(int16_t) * (size_t)(K4 * nch * 32));
    for (int64_t r = 0; r < mc; r++) {
        const uint8_t *a = A + (m0 + r) * K;
        int16_t *d = xt + r / 8 * 32 + 2 * (r % 8);
        for (int64_t b = 0; b < K4; b++, d += nch * 32)
            for (int64_t t = 0; t < 4 && 4 * b + t < K; t++)
                d[t / 2 * 16 + t % 2] = (int16_t)a[4 * b + t];
    }
}

/* The sums of output o over NCH chunks of 8 rows into st[ch * 8 ..] (lane i: row 8 ch + i):
 * per kept block its 4 weights as two i16 pairs, broadcast, two vpmaddwd per chunk. */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void
slimc_rt_q8sp_sums_avx2(int NCH, const SlimcRtQ8sp *w, const int16_t *xt, int64_t o, int32_t *st)
{
    __m256i a[8];
    SLIMC_RT_UNROLL
    for (int ch = 0; ch < NCH; ch++)
        a[ch] = _mm256_setzero_si256();
    for (int32_t j = w->rowptr[o]; j < w->rowptr[o + 1]; j++) {
        int32_t v4;
        memcpy(&v4, w->val + 4 * (int64_t)j, 4);
        const __m128i w16 = _mm_cvtepi8_epi16(_mm_cvtsi32_si128(v4)); /* w0 w1 w2 w3 as i16 */
        const __m256i w01 = _mm256_broadcastd_epi32(w16);
        const __m256i w23 = _mm256_broadcastd_epi32(_mm_srli_si128(w16, 4));
        const int16_t *p = xt + (int64_t)w->blk[j] * NCH * 32;
        SLIMC_RT_UNROLL
        for (int ch = 0; ch < NCH; ch++) {
            const __m256i x01 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * ch));
            const __m256i x23 =
                _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * ch + 16));
            a[ch] = _mm256_add_epi32(
                a[ch], _mm256_add_epi32(_mm256_madd_epi16(x01, w01), _mm256_madd_epi16(x23, w23)));
        }
    }
    SLIMC_RT_UNROLL
    for (int ch = 0; ch < NCH; ch++)
        _mm256_storeu_si256((__m256i *)(void *)(st + 8 * ch), a[ch]);
}

/* r[0..7] transposed as an 8 x 8 matrix of dwords. */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void slimc_rt_tr8_epi32(__m256i *r)
{
    __m256i t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) { /* u[i + j], 128-bit lane L: column 4 L + j of rows i.. */
        u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x20);
        r[4 + j] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x31);
    }
}

/* Outputs [o0, o0 + oc) of rows [m0, m0 + mc) from xt16: 8 outputs at a time, their sums
 * staged [8 outputs][64 rows], transposed to rows and written by slimc_rt_qstore8. */
static SLIMC_RT_AVX2 void slimc_rt_q8sp_rows_avx2(const SlimcRtQ8sp *w, const int16_t *xt,
                                                  int64_t m0, int64_t mc, int64_t o0, int64_t oc,
                                                  int32_t zp, const int32_t *wsum, float xs,
                                                  const float *ws, const float *bias, void *out,
                                                  const slimc_rt_qreq *rq)
{
    const int64_t nch = (mc + 7) / 8;
    int32_t st[8][SLIMC_RT_Q8SP_MB] __attribute__((aligned(32)));
    for (int64_t o = o0; o < o0 + oc; o += 8) {
        const int64_t on = slimc_rt_min(8, o0 + oc - o);
        for (int64_t q = 0; q < 8; q++) {
            if (q >= on) {
                memset(st[q], 0, sizeof st[q]);
                continue;
            }
            switch (nch) {
            case 1: slimc_rt_q8sp_sums_avx2(1, w, xt, o + q, st[q]); break;
            case 2: slimc_rt_q8sp_sums_avx2(2, w, xt, o + q, st[q]); break;
            case 3: slimc_rt_q8sp_sums_avx2(3, w, xt, o + q, st[q]); break;
            case 4: slimc_rt_q8sp_sums_avx2(4, w, xt, o + q, st[q]); break;
            case 5: slimc_rt_q8sp_sums_avx2(5, w, xt, o + q, st[q]); break;
            case 6: slimc_rt_q8sp_sums_avx2(6, w, xt, o + q, st[q]); break;
            case 7: slimc_rt_q8sp_sums_avx2(7, w, xt, o + q, st[q]); break;
            default: slimc_rt_q8sp_sums_avx2(8, w, xt, o + q, st[q]); break;
            }
        }
        for (int64_t ch = 0; ch < nch; ch++) {
            __m256i r[8];
            for (int q = 0; q < 8; q++)
                r[q] = _mm256_load_si256((const __m256i *)(const void *)(st[q] + 8 * ch));
            slimc_rt_tr8_epi32(r); /* r[i]: row 8 ch + i, lane q: output o + q */
            for (int64_t i = 0; i < 8 && 8 * ch + i < mc; i++)
                slimc_rt_qstore8(out, (m0 + 8 * ch + i) * w->O + o, r[i], on, o, zp, wsum, xs, ws,
                                 bias, rq);
        }
    }
}
#endif

SLIMC_RT_KERNEL void slimc_rt_q8sp_tile_at(int64_t M, const uint8_t *A, int64_t a0, const void *W,
                                           int32_t zp, const int32_t *wsum, float xs,
                                           const float *ws, const float *bias, void *out,
                                           const slimc_rt_qreq *rq, int64_t it, int64_t *m0,
                                           int64_t *mc, int64_t *o0, int64_t *oc)
{
    const SlimcRtQ8sp w = slimc_rt_q8sp_view(W);
    const int64_t O = w.O, K = w.K, K4 = (K + 3) / 4;
    if (M < SLIMC_RT_Q8SP_ROWS) {
        const int64_t nt = (O + SLIMC_RT_Q8SP_NB1 - 1) / SLIMC_RT_Q8SP_NB1;
        *m0 = it / nt;
        *mc = 1;
        *o0 = it % nt * SLIMC_RT_Q8SP_NB1;
        *oc = slimc_rt_min(SLIMC_RT_Q8SP_NB1, O - *o0);
    } else {
        const int64_t nt = (O + SLIMC_RT_Q8SP_NB - 1) / SLIMC_RT_Q8SP_NB;
        *m0 = it / nt * SLIMC_RT_Q8SP_MB;
        *mc = slimc_rt_min(SLIMC_RT_Q8SP_MB, M - *m0);
        *o0 = it % nt * SLIMC_RT_Q8SP_NB;
        *oc = slimc_rt_min(SLIMC_RT_Q8SP_NB, O - *o0);
    }
    if (*mc <= 0 || *oc <= 0)
        return;
    const uint8_t *Am = A + (*m0 - a0) * K; /* row m0 of x */
#ifdef SLIMC_RT_X86
    const int vnni = slimc_rt_has_vnni(), avx2 = slimc_rt_isa() >= SLIMC_RT_ISA_AVX2;
    if (K > 0 && (vnni || avx2)) {
        /* the scratch: one padded row (gathers) or the rows laid out by block */
        const size_t bytes = M < SLIMC_RT_Q8SP_ROWS ? (size_t)(4 * K4)
                             : vnni                 ? (size_t)(K4 * ((*mc + 15) / 16) * 64)
                                    : sizeof(int16_t) * (size_t)(K4 * ((*mc + 7) / 8) * 32);
        enum { STACK = 64 * 1024 };
        unsigned char stack[STACK] __attribute__((aligned(64)));
        unsigned char *buf = bytes <= STACK ? stack : (unsigned char *)malloc(bytes);
        if (buf) {
            if (M < SLIMC_RT_Q8SP_ROWS) {
                slimc_rt_q8sp_pad_row(&w, Am, 0, buf);
                if (vnni)
                    slimc_rt_q8sp_gemv_vnni(&w, buf, *m0, *o0, *oc, zp, wsum, xs, ws, bias, out,
                                            rq);
                else
                    slimc_rt_q8sp_gemv_avx2(&w, buf, *m0, *o0, *oc, zp, wsum, xs, ws, bias, out,
                                            rq);
            } else if (vnni) {
                const int64_t nch = (*mc + 15) / 16;
                slimc_rt_q8sp_layout_vnni(Am, K, 0, *mc, nch, buf);
                slimc_rt_q8sp_rows_vnni(&w, buf, *m0, *mc, *o0, *oc, zp, wsum, xs, ws, bias, out,
                                        rq);
            } else {
                int16_t *xt = (int16_t *)(void *)buf;
                slimc_rt_q8sp_layout_avx2(Am, K, 0, *mc, (*mc + 7) / 8, xt);
                slimc_rt_q8sp_rows_avx2(&w, xt, *m0, *mc, *o0, *oc, zp, wsum, xs, ws, bias, out,
                                        rq);
            }
            if (buf != stack)
                free(buf);
            return;
        }
    }
#endif
    (void)K4;
    slimc_rt_q8sp_generic(&w, Am, *m0, *mc, *o0, *oc, zp, wsum, xs, ws, bias, out, rq);
}

SLIMC_RT_KERNEL void slimc_rt_q8sp_tile(int64_t M, const uint8_t *A, const void *W, int32_t zp,
                                        const int32_t *wsum, float xs, const float *ws,
                                        const float *bias, void *out, const slimc_rt_qreq *rq,
                                        int64_t it, int64_t *m0, int64_t *mc, int64_t *o0,
                                        int64_t *oc)
{
    slimc_rt_q8sp_tile_at(M, A, 0, W, zp, wsum, xs, ws, bias, out, rq, it, m0, mc, o0, oc);
}

/* ---- qconv2d: the same blocks over a conv's im2col panel ----
 *
 * A one-group qconv2d's weight [O, C, KH, KW] is the GEMM weight [O, K = C KH KW] (K in
 * (c, kh, kw) order, qconv2d's im2col order), cut into blocks of 4 along K as above: for a
 * 1x1 conv, 4 consecutive input channels. An item is slimc_rt_qconv_block's: up to 64 output
 * pixels of one image, all O outputs. Its taps are laid out once by the dense conv's own
 * panel builder (slimc_rt_qconv_panel), which is the layout the rows kernel reads: VNNI, per
 * block of 4 taps the words of 16 pixels contiguous (slimc_rt_q8sp_sums_vnni as is); AVX2,
 * per pair of taps 8 pixels' i16 pairs (two vpmaddwd per kept block and 8 pixels). The
 * sums of output o over the item's pixels land contiguous in its output plane: no transpose,
 * and the dense conv's epilogue, operation for operation. */

#ifdef SLIMC_RT_X86
/* Outputs per group and panel bytes per chunk of the conv kernels: a group's outputs take
 * their kept blocks chunk by chunk of the panel, so a chunk (L1-sized) is read from L2 once
 * per group, not once per output (a 3x3 conv of 512 channels has a 295 KB panel). */
enum { SLIMC_RT_Q8SPC_OUTS = 32, SLIMC_RT_Q8SPC_CHUNK = 32 * 1024 };

/* The first of blocks [j, e) of a row (their b ascending) with b >= lim (e when none): a scan
 * forward, over the block indices the sums read next anyway (a binary search here missed the
 * cache at every step on a weight streamed from memory: a quarter of the kernel's time). */
static inline int32_t slimc_rt_q8sp_lower(const int32_t *blk, int32_t j, int32_t e, int32_t lim)
{
    while (j < e && blk[j] < lim)
        j++;
    return j;
}

/* Adds to st[ch * 16 ..] (NCH chunks of 16 pixels) the products of one output's kept blocks
 * [j, e): four chains of accumulators per chunk, a block's 4 weights broadcast. */
static inline SLIMC_RT_VNNI __attribute__((always_inline)) void
slimc_rt_q8sp_csums_vnni(int NCH, const SlimcRtQ8sp *w, const uint8_t *panel, int32_t j, int32_t e,
                         int32_t *st)
{
    __m512i a[4][4];
    SLIMC_RT_UNROLL
    for (int ch = 0; ch < NCH; ch++) {
        a[0][ch] = _mm512_load_si512((const void *)(st + 16 * ch));
        a[1][ch] = a[2][ch] = a[3][ch] = _mm512_setzero_si512();
    }
    for (; j + 4 <= e; j += 4) {
        SLIMC_RT_UNROLL
        for (int u = 0; u < 4; u++) {
            int32_t wu;
            memcpy(&wu, w->val + 4 * (int64_t)(j + u), 4);
            const __m512i v = _mm512_set1_epi32(wu);
            const uint8_t *pu = panel + (int64_t)w->blk[j + u] * NCH * 64;
            SLIMC_RT_UNROLL
            for (int ch = 0; ch < NCH; ch++)
                a[u][ch] = _mm512_dpbusd_epi32(a[u][ch],
                                               _mm512_loadu_si512((const void *)(pu + 64 * ch)), v);
        }
    }
    for (; j < e; j++) {
        int32_t w0;
        memcpy(&w0, w->val + 4 * (int64_t)j, 4);
        const __m512i v0 = _mm512_set1_epi32(w0);
        const uint8_t *p0 = panel + (int64_t)w->blk[j] * NCH * 64;
        SLIMC_RT_UNROLL
        for (int ch = 0; ch < NCH; ch++)
            a[0][ch] =
                _mm512_dpbusd_epi32(a[0][ch], _mm512_loadu_si512((const void *)(p0 + 64 * ch)), v0);
    }
    SLIMC_RT_UNROLL
    for (int ch = 0; ch < NCH; ch++)
        _mm512_store_si512((void *)(st + 16 * ch),
                           _mm512_add_epi32(_mm512_add_epi32(a[0][ch], a[1][ch]),
                                            _mm512_add_epi32(a[2][ch], a[3][ch])));
}

static SLIMC_RT_VNNI void slimc_rt_q8sp_conv_vnni(const SlimcRtQ8sp *w, const uint8_t *panel,
                                                  int64_t P, int64_t p0, int64_t n, int32_t zp,
                                                  const int32_t *wsum, float xs, const float *ws,
                                                  const float *bias, void *out,
                                                  const slimc_rt_qreq *rq)
{
    enum { NOUT = SLIMC_RT_Q8SPC_OUTS };
    const int64_t nch = (n + 15) / 16, K4 = (w->K + 3) / 4;
    const int64_t kc = slimc_rt_max(1, SLIMC_RT_Q8SPC_CHUNK / (64 * nch)); /* k4 rows a chunk */
    int32_t st[NOUT][SLIMC_RT_QCONV_PX] __attribute__((aligned(64)));
    int32_t cur[NOUT];
    for (int64_t o0 = 0; o0 < w->O; o0 += NOUT) {
        const int64_t on = slimc_rt_min(NOUT, w->O - o0);
        memset(st, 0, sizeof st);
        for (int64_t q = 0; q < on; q++)
            cur[q] = w->rowptr[o0 + q];
        for (int64_t b0 = 0; b0 < K4; b0 += kc) {
            const int32_t lim = (int32_t)slimc_rt_min(K4, b0 + kc);
            for (int64_t q = 0; q < on; q++) {
                const int32_t e =
                    lim >= K4 ? w->rowptr[o0 + q + 1]
                              : slimc_rt_q8sp_lower(w->blk, cur[q], w->rowptr[o0 + q + 1], lim);
                switch (nch) {
                case 1: slimc_rt_q8sp_csums_vnni(1, w, panel, cur[q], e, st[q]); break;
                case 2: slimc_rt_q8sp_csums_vnni(2, w, panel, cur[q], e, st[q]); break;
                case 3: slimc_rt_q8sp_csums_vnni(3, w, panel, cur[q], e, st[q]); break;
                default: slimc_rt_q8sp_csums_vnni(4, w, panel, cur[q], e, st[q]); break;
                }
                cur[q] = e;
            }
        }
        for (int64_t q = 0; q < on; q++) { /* slimc_rt_qconv_tile_vnni's epilogue */
            const int64_t o = o0 + q;
            const __m512i corr = _mm512_set1_epi32(zp * wsum[o]);
            const __m512 m = _mm512_set1_ps(xs * ws[o]);
            const __m512 bv = _mm512_set1_ps(bias ? bias[o] : 0.0f);
            for (int64_t ch = 0; ch < nch; ch++) {
                const int64_t left = n - 16 * ch;
                const __mmask16 mk =
                    left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
                __m512 r =
                    _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(
                                      _mm512_load_si512((const void *)(st[q] + 16 * ch)), corr)),
                                  m);
                if (bias)
                    r = _mm512_add_ps(r, bv);
                slimc_rt_qstore16(out, o * P + p0 + 16 * ch, mk, r, rq);
            }
        }
    }
}

/* The sums of output o over NCH groups of 8 pixels from the pair panel (npx pixels a pair
 * row): kept block b reads pair rows 2 b and 2 b + 1. */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void
slimc_rt_q8sp_conv_sums_avx2(int NCH, const SlimcRtQ8sp *w, const uint32_t *panel, int64_t npx,
                             int64_t o, __m256i *a)
{
    SLIMC_RT_UNROLL
    for (int ch = 0; ch < NCH; ch++)
        a[ch] = _mm256_setzero_si256();
    for (int32_t j = w->rowptr[o]; j < w->rowptr[o + 1]; j++) {
        int32_t v4;
        memcpy(&v4, w->val + 4 * (int64_t)j, 4);
        const __m128i w16 = _mm_cvtepi8_epi16(_mm_cvtsi32_si128(v4)); /* w0 w1 w2 w3 as i16 */
        const __m256i w01 = _mm256_broadcastd_epi32(w16);
        const __m256i w23 = _mm256_broadcastd_epi32(_mm_srli_si128(w16, 4));
        const uint32_t *p = panel + 2 * (int64_t)w->blk[j] * npx;
        SLIMC_RT_UNROLL
        for (int ch = 0; ch < NCH; ch++) {
            const __m256i x01 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 8 * ch));
            const __m256i x23 =
                _mm256_loadu_si256((const __m256i *)(const void *)(p + npx + 8 * ch));
            a[ch] = _mm256_add_epi32(
                a[ch], _mm256_add_epi32(_mm256_madd_epi16(x01, w01), _mm256_madd_epi16(x23, w23)));
        }
    }
}

static SLIMC_RT_AVX2 void slimc_rt_q8sp_conv_avx2(const SlimcRtQ8sp *w, const uint32_t *panel,
                                                  int64_t P, int64_t p0, int64_t n, int32_t zp,
                                                  const int32_t *wsum, float xs, const float *ws,
                                                  const float *bias, void *out,
                                                  const slimc_rt_qreq *rq)
{
    const int64_t nv = (n + 7) / 8, npx = 8 * nv;
    for (int64_t o = 0; o < w->O; o++) {
        __m256i a[4];
        switch (nv) {
        case 1: slimc_rt_q8sp_conv_sums_avx2(1, w, panel, npx, o, a); break;
        case 2: slimc_rt_q8sp_conv_sums_avx2(2, w, panel, npx, o, a); break;
        case 3: slimc_rt_q8sp_conv_sums_avx2(3, w, panel, npx, o, a); break;
        default: slimc_rt_q8sp_conv_sums_avx2(4, w, panel, npx, o, a); break;
        }
        /* slimc_rt_qconv_tile_avx2's epilogue */
        const __m256i corr = _mm256_set1_epi32((int32_t)((uint32_t)zp * (uint32_t)wsum[o]));
        const __m256 mv = _mm256_set1_ps(xs * ws[o]), bv = _mm256_set1_ps(bias ? bias[o] : 0.0f);
        for (int64_t v = 0; v < nv; v++) {
            const int64_t left = n - 8 * v;
            slimc_rt_qout8(out, o * P + p0 + 8 * v, left >= 8 ? 8 : (int)left,
                           _mm256_sub_epi32(a[v], corr), mv, bv, bias != NULL, rq);
        }
    }
}
#endif

/* Portable: the im2col rows of the pixels, each output a sum over its kept blocks. */
static void slimc_rt_q8sp_conv_generic(const SlimcRtQ8sp *w, const uint8_t *rows, int64_t P,
                                       int64_t p0, int64_t n, int32_t zp, const int32_t *wsum,
                                       float xs, const float *ws, const float *bias, void *out,
                                       const slimc_rt_qreq *rq)
{
    for (int64_t o = 0; o < w->O; o++)
        for (int64_t i = 0; i < n; i++) {
            const uint8_t *a = rows + i * w->K;
            int32_t acc = 0;
            for (int32_t j = w->rowptr[o]; j < w->rowptr[o + 1]; j++) {
                const int64_t k0 = 4 * (int64_t)w->blk[j];
                for (int64_t t = 0; t < 4 && k0 + t < w->K; t++)
                    acc += (int32_t)a[k0 + t] * (int32_t)w->val[4 * (int64_t)j + t];
            }
            slimc_rt_qstore(out, o * P + p0 + i,
                            slimc_rt_qout(acc - zp * wsum[o], xs, ws[o], bias, o), rq);
        }
}

SLIMC_RT_KERNEL void slimc_rt_q8sp_conv_block(const slimc_rt_conv *s, const uint8_t *x, int64_t p0,
                                              int64_t p1, int32_t zp, const void *W,
                                              const int32_t *wsum, float xs, const float *ws,
                                              const float *bias, void *out, const slimc_rt_qreq *rq,
                                              uint8_t *col)
{
    const SlimcRtQ8sp w = slimc_rt_q8sp_view(W);
    const int64_t K = s->CG * s->KH * s->KW, P = s->OH * s->OW;
    if (p1 <= p0 || w.O != s->OG || w.K != K)
        return;
#ifdef SLIMC_RT_X86
    if (K > 0 && slimc_rt_has_vnni()) {
        slimc_rt_qconv_panel(s, x, p0, p1, (uint8_t)zp, 1, col);
        slimc_rt_q8sp_conv_vnni(&w, col, P, p0, p1 - p0, zp, wsum, xs, ws, bias, out, rq);
        return;
    }
    if (K > 0 && slimc_rt_isa() >= SLIMC_RT_ISA_AVX2) {
        const int64_t K2 = (K + 1) / 2, K4 = (K + 3) / 4;
        for (int64_t h0 = p0; h0 < p1; h0 += 32) { /* the pair panel holds 32 pixels */
            const int64_t h1 = slimc_rt_min(p1, h0 + 32), npx = (h1 - h0 + 7) / 8 * 8;
            uint32_t *panel = (uint32_t *)(void *)col;
            slimc_rt_qconv_panel(s, x, h0, h1, (uint8_t)zp, 0, col);
            /* the last block's second pair when K mod 4 is 1 or 2: taps past K are 0 (within
             * col: K <= KQ - 2 there, so 2 K4 pair rows take at most 64 KQ bytes) */
            if (2 * K4 > K2)
                memset(panel + K2 * npx, 0, sizeof(uint32_t) * (size_t)npx);
            slimc_rt_q8sp_conv_avx2(&w, panel, P, h0, h1 - h0, zp, wsum, xs, ws, bias, out, rq);
        }
        return;
    }
#endif
    slimc_rt_qim2col(s, x, p0, p1, (uint8_t)zp, col);
    slimc_rt_q8sp_conv_generic(&w, col, P, p0, p1 - p0, zp, wsum, xs, ws, bias, out, rq);
}
