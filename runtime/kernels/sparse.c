/* sparse.c — fp32 linear layers on a sparse constant weight in CSR (slimc_abi.h): C[M, N] =
 * A[M, K] W^T + bias, reading only W's nonzeros. passes/sparse.c builds the CSR blob at
 * compile time and chooses this kernel where the cost model predicts it faster than the dense
 * GEMM (docs/pruning.md, "Sparse kernels").
 *
 * Two shapes of work:
 *   one row (batch 1): each output is a dot product of its row's nonzeros with x gathered
 *     at their columns (AVX2: 8 at a time with vgatherdps, two accumulators);
 *   several rows: an item takes SLIMC_RT_SPMM_MB rows of A and transposes them once into
 *     xT [K, MB] (on the stack, or the heap for a K over 1024), so a nonzero W[n, k] is one
 *     broadcast times the contiguous xT[k, 0..MB) (AVX2: 4 ymm, two accumulator sets for
 *     alternate nonzeros); outputs are staged for 8 columns and written row by row.
 * The sum of each output runs over its row's nonzeros in one fixed order that depends on
 * neither the item nor the thread count, so results are the same at any nthreads (they
 * differ from the dense kernel's, which also adds the zeros, by rounding only).
 * Several rows on AVX-512: the same with 32 rows in 2 zmm and four accumulator sets.
 * One row on AVX-512, where the blob has its one-row part (a linear whose x may have one row):
 * 16 outputs at a time from x held 32 columns at a time in two zmm (slimc_rt_spmv_g1_512);
 * on AVX2, 8 outputs at a time from 8 columns in one ymm (slimc_rt_spmv_g8_avx2). */
#include "runtime/kernels/internal.h"

#include <stdlib.h>
#include <string.h>

/* The CSR blob's parts. */
typedef struct SlimcRtCsr {
    int64_t N, K, nnz;
    const int32_t *rowptr, *col;
    const float *val;
} SlimcRtCsr;

static SlimcRtCsr slimc_rt_csr_view(const void *w)
{
    const int64_t *h = (const int64_t *)w;
    const unsigned char *b = (const unsigned char *)w;
    SlimcRtCsr c;
    c.N = h[1];
    c.K = h[2];
    c.nnz = h[3];
    c.rowptr = (const int32_t *)(b + SLIMC_RT_CSR_HEAD);
    c.col = (const int32_t *)(b + h[4]);
    c.val = (const float *)(b + h[5]);
    return c;
}

/* ---- portable ---- */

/* y[n] (n in [n0, n0 + nc)) = bias[n] + the row's nonzeros times x, for one row x. */
static void slimc_rt_spmv_generic(const SlimcRtCsr *w, const float *x, const float *bias, float *y,
                                  int64_t n0, int64_t nc)
{
    for (int64_t n = n0; n < n0 + nc; n++) {
        float acc = bias ? bias[n] : 0.0f;
        for (int32_t j = w->rowptr[n]; j < w->rowptr[n + 1]; j++)
            acc += w->val[j] * x[w->col[j]];
        y[n] = acc;
    }
}

#ifdef SLIMC_RT_X86
/* The AVX2 dot products: lanes j % 16 < 8 into a0, the others into a1, the tail (under 8)
 * scalar after the lanes are summed; a fixed order for a given row. */
static SLIMC_RT_AVX2 void slimc_rt_spmv_avx2(const SlimcRtCsr *w, const float *x, const float *bias,
                                             float *y, int64_t n0, int64_t nc)
{
    for (int64_t n = n0; n < n0 + nc; n++) {
        int32_t j = w->rowptr[n];
        const int32_t e = w->rowptr[n + 1];
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (; j + 16 <= e; j += 16) {
            __m256i c0 = _mm256_loadu_si256((const __m256i *)(w->col + j));
            __m256i c1 = _mm256_loadu_si256((const __m256i *)(w->col + j + 8));
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w->val + j), _mm256_i32gather_ps(x, c0, 4), a0);
            a1 =
                _mm256_fmadd_ps(_mm256_loadu_ps(w->val + j + 8), _mm256_i32gather_ps(x, c1, 4), a1);
        }
        if (j + 8 <= e) {
            __m256i c0 = _mm256_loadu_si256((const __m256i *)(w->col + j));
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w->val + j), _mm256_i32gather_ps(x, c0, 4), a0);
            j += 8;
        }
        a0 = _mm256_add_ps(a0, a1);
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        float acc = (bias ? bias[n] : 0.0f) + _mm_cvtss_f32(s);
        for (; j < e; j++)
            acc = __builtin_fmaf(w->val[j], x[w->col[j]], acc);
        y[n] = acc;
    }
}

/* One row on AVX2 from the blob's AVX2 one-row part (slimc_abi.h: 8 rows x 8 columns, after
 * the AVX-512 part): as slimc_rt_spmv_g1_512 with a chunk of x in one ymm and one vpermps per
 * slot (about 2.6x the nonzeros in slots at 10% density, still 2.5x faster than gathering). */
static SLIMC_RT_AVX2 void slimc_rt_spmv_g8_avx2(const unsigned char *b, const float *x,
                                                const float *bias, float *y, int64_t n0, int64_t nc)
{
    enum { R = 8, KC = 8 };
    const int64_t *h = (const int64_t *)(const void *)b;
    const int64_t N = h[1], K = h[2], C = (K + KC - 1) / KC;
    int64_t off_gs, off_gv, off_gi;
    const int64_t off_g =
        slimc_rt_csr_g1_layout(N, K, 16, 32, h[7], h[6], &off_gs, &off_gv, &off_gi);
    slimc_rt_csr_g1_layout(N, K, R, KC, 0, off_g, &off_gs, &off_gv, &off_gi);
    const int32_t *first = (const int32_t *)(const void *)(b + off_gs);
    slimc_rt_csr_g1_layout(N, K, R, KC, first[(N + R - 1) / R], off_g, &off_gs, &off_gv, &off_gi);
    for (int64_t g = n0 / R; g * R < n0 + nc; g++) {
        const float *v = (const float *)(const void *)(b + off_gv) + (int64_t)first[g] * R;
        const uint8_t *ix = b + off_gi + (int64_t)first[g] * R;
        const uint8_t *len = b + off_g + g * C; /* [C] */
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (int64_t c = 0; c < C; c++) {
            const int L = len[c];
            if (!L)
                continue;
            __m256 x0;
            if (K - KC * c >= KC)
                x0 = _mm256_loadu_ps(x + KC * c);
            else { /* the last chunk: columns past K read as 0 (their slots hold none) */
                float t[KC] = {0};
                memcpy(t, x + KC * c, sizeof(float) * (size_t)(K - KC * c));
                x0 = _mm256_loadu_ps(t);
            }
            int s = 0;
            for (; s + 2 <= L; s += 2, v += 2 * R, ix += 2 * R) {
                const __m256i i0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)ix));
                const __m256i i1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(ix + R)));
                a0 = _mm256_fmadd_ps(_mm256_load_ps(v), _mm256_permutevar8x32_ps(x0, i0), a0);
                a1 = _mm256_fmadd_ps(_mm256_load_ps(v + R), _mm256_permutevar8x32_ps(x0, i1), a1);
            }
            if (s < L) {
                const __m256i i0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)ix));
                a0 = _mm256_fmadd_ps(_mm256_load_ps(v), _mm256_permutevar8x32_ps(x0, i0), a0);
                v += R;
                ix += R;
            }
        }
        const int64_t rows = slimc_rt_min(R, N - g * R);
        float out[R];
        _mm256_storeu_ps(out, _mm256_add_ps(a0, a1));
        for (int64_t i = 0; i < rows; i++)
            y[g * R + i] = out[i] + (bias ? bias[g * R + i] : 0.0f);
    }
}

/* One row on AVX-512 from the blob's one-row part (slimc_abi.h): y[n] for n in [n0, n0 + nc),
 * n0 a multiple of 16. Each group of 16 outputs is one zmm of sums; x's chunk of 32 columns is
 * two zmm, and a slot's 16 inputs come out of them by one vpermt2ps, so no gather: the CSR
 * loop's vgatherdps ran at 2-3 nonzeros per ns on the EPYC of bench/RESULTS.md, this at 15-18
 * with the padding counted. Per output: chunk by chunk, slot s of a chunk into sum s % 2, the
 * two sums added, then the bias; a padding slot adds 0 x x[32 c] (what the dense GEMM does
 * with its zeros). */
static SLIMC_RT_AVX512 void slimc_rt_spmv_g1_512(const unsigned char *b, const float *x,
                                                 const float *bias, float *y, int64_t n0,
                                                 int64_t nc)
{
    enum { R = 16, KC = 32 };
    const int64_t *h = (const int64_t *)(const void *)b;
    const int64_t N = h[1], K = h[2], C = (K + KC - 1) / KC;
    int64_t off_gs, off_gv, off_gi;
    slimc_rt_csr_g1_layout(N, K, R, KC, h[7], h[6], &off_gs, &off_gv, &off_gi);
    const int32_t *first = (const int32_t *)(const void *)(b + off_gs);
    for (int64_t g = n0 / R; g * R < n0 + nc; g++) {
        const float *v = (const float *)(const void *)(b + off_gv) + (int64_t)first[g] * R;
        const uint8_t *ix = b + off_gi + (int64_t)first[g] * R;
        const uint8_t *len = b + h[6] + g * C; /* [C] */
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        for (int64_t c = 0; c < C; c++) {
            const int L = len[c];
            if (!L)
                continue;
            const int64_t rem = K - KC * c; /* x's columns left from this chunk's start */
            __m512 x0, x1;
            if (rem >= KC) {
                x0 = _mm512_loadu_ps(x + KC * c);
                x1 = _mm512_loadu_ps(x + KC * c + 16);
            } else { /* the last chunk: columns past K read as 0 (their slots hold none) */
                const int lo = rem < 16 ? (int)rem : 16, hi = rem > 16 ? (int)rem - 16 : 0;
                x0 = _mm512_maskz_loadu_ps((__mmask16)((1u << lo) - 1), x + KC * c);
                x1 = hi ? _mm512_maskz_loadu_ps((__mmask16)((1u << hi) - 1), x + KC * c + 16)
                        : _mm512_setzero_ps();
            }
            int s = 0;
            for (; s + 2 <= L; s += 2, v += 2 * R, ix += 2 * R) {
                const __m512i i0 = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)ix));
                const __m512i i1 = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(ix + R)));
                a0 = _mm512_fmadd_ps(_mm512_load_ps(v), _mm512_permutex2var_ps(x0, i0, x1), a0);
                a1 = _mm512_fmadd_ps(_mm512_load_ps(v + R), _mm512_permutex2var_ps(x0, i1, x1), a1);
            }
            if (s < L) {
                const __m512i i0 = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)ix));
                a0 = _mm512_fmadd_ps(_mm512_load_ps(v), _mm512_permutex2var_ps(x0, i0, x1), a0);
                v += R;
                ix += R;
            }
        }
        const int64_t rows = slimc_rt_min(R, N - g * R);
        const __mmask16 m = (__mmask16)((1u << rows) - 1);
        __m512 r = _mm512_add_ps(a0, a1);
        if (bias)
            r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, bias + g * R));
        _mm512_mask_storeu_ps(y + g * R, m, r);
    }
}

/* Columns [n0, n0 + nc) of rows [0, mc) of y (row stride N) from xT [K, 32]: per column,
 * even nonzeros into a, odd into b, then a + b, bias first. */
static SLIMC_RT_AVX2 void slimc_rt_spmm_rows_avx2(const SlimcRtCsr *w, const float *xT,
                                                  const float *bias, float *y, int64_t N,
                                                  int64_t mc, int64_t n0, int64_t nc)
{
    float stage[8][SLIMC_RT_SPMM_MB] __attribute__((aligned(32)));
    for (int64_t nb = n0; nb < n0 + nc; nb += 8) {
        const int64_t cols = slimc_rt_min(8, n0 + nc - nb);
        for (int64_t q = 0; q < cols; q++) {
            const int64_t n = nb + q;
            const __m256 b0 = _mm256_set1_ps(bias ? bias[n] : 0.0f);
            __m256 a0 = b0, a1 = b0, a2 = b0, a3 = b0;
            __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
            int32_t j = w->rowptr[n];
            const int32_t e = w->rowptr[n + 1];
            for (; j + 2 <= e; j += 2) {
                const float *p = xT + (int64_t)w->col[j] * SLIMC_RT_SPMM_MB;
                const float *r = xT + (int64_t)w->col[j + 1] * SLIMC_RT_SPMM_MB;
                const __m256 v = _mm256_broadcast_ss(w->val + j);
                const __m256 u = _mm256_broadcast_ss(w->val + j + 1);
                a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p), a0);
                a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 8), a1);
                a2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 16), a2);
                a3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 24), a3);
                c0 = _mm256_fmadd_ps(u, _mm256_loadu_ps(r), c0);
                c1 = _mm256_fmadd_ps(u, _mm256_loadu_ps(r + 8), c1);
                c2 = _mm256_fmadd_ps(u, _mm256_loadu_ps(r + 16), c2);
                c3 = _mm256_fmadd_ps(u, _mm256_loadu_ps(r + 24), c3);
            }
            if (j < e) {
                const float *p = xT + (int64_t)w->col[j] * SLIMC_RT_SPMM_MB;
                const __m256 v = _mm256_broadcast_ss(w->val + j);
                a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p), a0);
                a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 8), a1);
                a2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 16), a2);
                a3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(p + 24), a3);
            }
            _mm256_store_ps(stage[q], _mm256_add_ps(a0, c0));
            _mm256_store_ps(stage[q] + 8, _mm256_add_ps(a1, c1));
            _mm256_store_ps(stage[q] + 16, _mm256_add_ps(a2, c2));
            _mm256_store_ps(stage[q] + 24, _mm256_add_ps(a3, c3));
        }
        for (int64_t i = 0; i < mc; i++)
            for (int64_t q = 0; q < cols; q++)
                y[i * N + nb + q] = stage[q][i];
    }
}

/* y[(i0 + r) * N + q] = stage[q][i0 + r] for r, q < 8: one 8 x 8 transpose
 * (slimc_rt_transpose8), eight row stores instead of 64 scalar ones. */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void
slimc_rt_spmm_store8x8(const float (*stage)[SLIMC_RT_SPMM_MB], int64_t i0, float *y, int64_t N)
{
    __m256 r[8];
    for (int q = 0; q < 8; q++)
        r[q] = _mm256_load_ps(stage[q] + i0);
    slimc_rt_transpose8(r);
    for (int q = 0; q < 8; q++)
        _mm256_storeu_ps(y + (i0 + q) * N, r[q]);
}

/* The AVX-512 form of slimc_rt_spmm_rows_avx2: 32 rows in 2 zmm, four accumulator sets for
 * nonzeros j % 4 (8 independent chains), summed (0 + 1) + (2 + 3) at the end; a fixed order
 * for a given row of W, whatever the item. */
static SLIMC_RT_AVX512 void slimc_rt_spmm_rows_512(const SlimcRtCsr *w, const float *xT,
                                                   const float *bias, float *y, int64_t N,
                                                   int64_t mc, int64_t n0, int64_t nc)
{
    float stage[8][SLIMC_RT_SPMM_MB] __attribute__((aligned(64)));
    for (int64_t nb = n0; nb < n0 + nc; nb += 8) {
        const int64_t cols = slimc_rt_min(8, n0 + nc - nb);
        for (int64_t q = 0; q < cols; q++) {
            const int64_t n = nb + q;
            __m512 a[4][2];
            a[0][0] = a[0][1] = _mm512_set1_ps(bias ? bias[n] : 0.0f);
            for (int t = 1; t < 4; t++)
                a[t][0] = a[t][1] = _mm512_setzero_ps();
            int32_t j = w->rowptr[n];
            const int32_t e = w->rowptr[n + 1];
            for (; j + 4 <= e; j += 4)
                for (int t = 0; t < 4; t++) {
                    const float *p = xT + (int64_t)w->col[j + t] * SLIMC_RT_SPMM_MB;
                    const __m512 v = _mm512_set1_ps(w->val[j + t]);
                    a[t][0] = _mm512_fmadd_ps(v, _mm512_loadu_ps(p), a[t][0]);
                    a[t][1] = _mm512_fmadd_ps(v, _mm512_loadu_ps(p + 16), a[t][1]);
                }
            for (int t = 0; j < e; j++, t++) {
                const float *p = xT + (int64_t)w->col[j] * SLIMC_RT_SPMM_MB;
                const __m512 v = _mm512_set1_ps(w->val[j]);
                a[t][0] = _mm512_fmadd_ps(v, _mm512_loadu_ps(p), a[t][0]);
                a[t][1] = _mm512_fmadd_ps(v, _mm512_loadu_ps(p + 16), a[t][1]);
            }
            for (int i = 0; i < 2; i++)
                _mm512_store_ps(stage[q] + 16 * i, _mm512_add_ps(_mm512_add_ps(a[0][i], a[1][i]),
                                                                 _mm512_add_ps(a[2][i], a[3][i])));
        }
        int64_t i = 0;
        if (cols == 8)
            for (; i + 8 <= mc; i += 8)
                slimc_rt_spmm_store8x8((const float(*)[SLIMC_RT_SPMM_MB])stage, i, y + nb, N);
        for (; i < mc; i++)
            for (int64_t q = 0; q < cols; q++)
                y[i * N + nb + q] = stage[q][i];
    }
}
#endif

/* The portable several-row kernel: each output's nonzeros in row order, bias first. */
static void slimc_rt_spmm_rows_generic(const SlimcRtCsr *w, const float *x, const float *bias,
                                       float *y, int64_t N, int64_t mc, int64_t n0, int64_t nc)
{
    for (int64_t i = 0; i < mc; i++)
        slimc_rt_spmv_generic(w, x + i * w->K, bias, y + i * N, n0, nc);
}

SLIMC_RT_KERNEL void slimc_rt_spmm_tile(int64_t M, const float *A, const void *W, const float *bias,
                                        float *C, int64_t it, int64_t *m0, int64_t *mc, int64_t *n0,
                                        int64_t *nc)
{
    const SlimcRtCsr w = slimc_rt_csr_view(W);
    const int64_t N = w.N, K = w.K;
    const int isa = slimc_rt_isa();
    if (M == 1) {
        *m0 = 0;
        *mc = 1;
        *n0 = it * SLIMC_RT_SPMM_NB1;
        *nc = slimc_rt_min(SLIMC_RT_SPMM_NB1, N - *n0);
#ifdef SLIMC_RT_X86
        if (isa == SLIMC_RT_ISA_AVX512 && ((const int64_t *)W)[6]) {
            slimc_rt_spmv_g1_512((const unsigned char *)W, A, bias, C, *n0, *nc);
            return;
        }
        if (isa >= SLIMC_RT_ISA_AVX2 && ((const int64_t *)W)[6]) {
            slimc_rt_spmv_g8_avx2((const unsigned char *)W, A, bias, C, *n0, *nc);
            return;
        }
        if (isa >= SLIMC_RT_ISA_AVX2) {
            slimc_rt_spmv_avx2(&w, A, bias, C, *n0, *nc);
            return;
        }
#endif
        slimc_rt_spmv_generic(&w, A, bias, C, *n0, *nc);
        return;
    }
    const int64_t nt = (N + SLIMC_RT_SPMM_NB - 1) / SLIMC_RT_SPMM_NB;
    *m0 = it / nt * SLIMC_RT_SPMM_MB;
    *n0 = it % nt * SLIMC_RT_SPMM_NB;
    *mc = slimc_rt_min(SLIMC_RT_SPMM_MB, M - *m0);
    *nc = slimc_rt_min(SLIMC_RT_SPMM_NB, N - *n0);
    const float *x = A + *m0 * K;
    float *y = C + *m0 * N;
#ifdef SLIMC_RT_X86
    if (isa >= SLIMC_RT_ISA_AVX2) {
        enum { STACK_K = 1024 }; /* xT on the stack up to 128 KB */
        float stack[STACK_K * SLIMC_RT_SPMM_MB] __attribute__((aligned(64)));
        float *xT = stack;
        if (K > STACK_K) {
            /* 64-byte aligned like the stack panel (K x 128 bytes: a multiple of 64) */
            xT = (float *)aligned_alloc(64, sizeof(float) * (size_t)K * SLIMC_RT_SPMM_MB);
            if (!xT) { /* no memory for the panel: the portable loop needs none */
                slimc_rt_spmm_rows_generic(&w, x, bias, y, N, *mc, *n0, *nc);
                return;
            }
        }
        slimc_rt_panel_t8(x, K, K, *mc, SLIMC_RT_SPMM_MB, xT);
        if (isa == SLIMC_RT_ISA_AVX512)
            slimc_rt_spmm_rows_512(&w, xT, bias, y, N, *mc, *n0, *nc);
        else
            slimc_rt_spmm_rows_avx2(&w, xT, bias, y, N, *mc, *n0, *nc);
        if (xT != stack)
            free(xT);
        return;
    }
#endif
    (void)isa;
    slimc_rt_spmm_rows_generic(&w, x, bias, y, N, *mc, *n0, *nc);
}
