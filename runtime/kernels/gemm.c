/* gemm.c — fp32 GEMM: the portable, AVX2 and AVX-512 micro-kernels, slimc_rt_gemm_tile (linear,
 * matmul) and the fused activations of conv outputs. */
#include "runtime/kernels/internal.h"

/* ---- fp32 GEMM and convolution kernels ------------------------------------------------
 *
 * One operation underlies linear, matmul and conv2d:
 *
 *   C[i, j] = init(i, j) + sum over k = 0..K-1, in order, of A[i, k] * B[k, j]
 *
 * with A read through strides (A[i, k] = A[i * rsa + k * csa], so a row-major matrix or
 * the weights of a convolution need no copy), B row-major with row stride ldb, C with row
 * stride ldc, and init the bias of the row (brow), of the column (bcol), what C already
 * holds (accum: a later block of k), or 0. Each element's sum runs over k in the same
 * order whatever the tile it falls in and whatever the thread count, so results are the
 * same at any nthreads (they differ between instruction sets: FMA rounds once).
 *
 * Micro-kernels, chosen once per process (slimc_rt_isa) from what the CPU supports,
 * capped by the environment variable SLIMC_MAX_ISA=avx512|avx2|generic:
 *   avx512: tiles of 14 rows x 32 columns (28 zmm accumulators, two B vectors, one
 *           broadcast of A), then 8, 4, 2, 1 rows; 14, 8, 4, 1 rows x 16 for a tail of
 *           16 columns or less; B prefetched 8 rows ahead; a one-row GEMV tile of up to 128
 *           columns (8 accumulators: enough independent FMAs to hide their latency while
 *           the weights stream once); column tails use masked loads and stores.
 *   avx2:   tiles of 6 rows x 16 columns (12 ymm accumulators), then 2 and 1 rows; a one-
 *           row GEMV tile of up to 64 columns (8 accumulators), advancing through B as
 *           the avx512 one does.
 *   generic: plain C over 4 x 16 tiles, vectorized by the compiler for the baseline ISA.
 * The avx512 and avx2 kernels carry target attributes, so code compiled for a baseline
 * (-march=x86-64-v2, AOT) still has them and picks them at run time. */

/* The portable kernel: tiles of up to 4 rows x 16 columns, accumulators in a local array. */
static SLIMC_RT_UNUSED void slimc_rt_gemm_generic(int64_t m, int64_t n, int64_t K, const float *A,
                                                  int64_t rsa, int64_t csa, const float *B,
                                                  int64_t ldb, float *C, int64_t ldc,
                                                  const float *brow, const float *bcol, int accum)
{
    for (int64_t i0 = 0; i0 < m; i0 += 4) {
        const int64_t mi = slimc_rt_min(4, m - i0);
        for (int64_t j0 = 0; j0 < n; j0 += 16) {
            const int64_t nj = slimc_rt_min(16, n - j0);
            float acc[4][16];
            for (int64_t i = 0; i < mi; i++)
                for (int64_t j = 0; j < nj; j++)
                    acc[i][j] = accum  ? C[(i0 + i) * ldc + j0 + j]
                                : brow ? brow[i0 + i]
                                : bcol ? bcol[j0 + j]
                                       : 0.0f;
            for (int64_t k = 0; k < K; k++) {
                const float *restrict b = B + k * ldb + j0;
                for (int64_t i = 0; i < mi; i++) {
                    const float av = A[(i0 + i) * rsa + k * csa];
                    if (nj == 16)
                        for (int j = 0; j < 16; j++)
                            acc[i][j] += av * b[j];
                    else
                        for (int64_t j = 0; j < nj; j++)
                            acc[i][j] += av * b[j];
                }
            }
            for (int64_t i = 0; i < mi; i++)
                for (int64_t j = 0; j < nj; j++)
                    C[(i0 + i) * ldc + j0 + j] = acc[i][j];
        }
    }
}

#ifdef SLIMC_RT_X86
#ifndef SLIMC_RT_PF
#define SLIMC_RT_PF 8 /* prefetch distance of the AVX-512 tiles, in rows of B */
#endif
#ifndef SLIMC_RT_GEMV_KB
#define SLIMC_RT_GEMV_KB 64 /* rows of B per block of the GEMV */
#endif

/* An MR x (16 NV) tile of C, n of its columns valid (masked). MR and NV are constants at
 * every call, so the loops unroll and acc lives in registers (MR * NV <= 28). */
static inline SLIMC_RT_AVX512 __attribute__((always_inline)) void
slimc_rt_tile512(const int MR, const int NV, int64_t n, int64_t K, const float *restrict A,
                 int64_t rsa, int64_t csa, const float *restrict B, int64_t ldb, float *restrict C,
                 int64_t ldc, const float *brow, const float *bcol, int accum, int64_t act,
                 const float *restrict res)
{
    __m512 acc[14][16];
    __mmask16 mk[16];
    SLIMC_RT_UNROLL for (int v = 0; v < NV; v++)
    {
        const int64_t r = n - 16 * v;
        mk[v] = r >= 16 ? (__mmask16)0xffff : r <= 0 ? (__mmask16)0 : (__mmask16)((1u << r) - 1u);
    }
    SLIMC_RT_UNROLL for (int i = 0; i < MR; i++) SLIMC_RT_UNROLL for (int v = 0; v < NV; v++)
    {
        if (accum)
            acc[i][v] = _mm512_maskz_loadu_ps(mk[v], C + i * ldc + 16 * v);
        else if (brow)
            acc[i][v] = _mm512_set1_ps(brow[i]);
        else if (bcol)
            acc[i][v] = _mm512_maskz_loadu_ps(mk[v], bcol + 16 * v);
        else
            acc[i][v] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < K; k++) {
        const float *restrict b = B + k * ldb;
        const float *restrict ak = A + k * csa;
        __m512 bv[16];
        /* B may stream from L3 or memory (the GEMV's and a linear's weights): fetch it
         * SLIMC_RT_PF rows ahead (at batch 64 this took mlp from 0.70 to 0.60 ms) */
        SLIMC_RT_UNROLL for (int v = 0; v < NV; v++)
            _mm_prefetch((const char *)(b + SLIMC_RT_PF * ldb + 16 * v), _MM_HINT_T0);
        SLIMC_RT_UNROLL for (int v = 0; v < NV; v++) bv[v] =
            _mm512_maskz_loadu_ps(mk[v], b + 16 * v);
        SLIMC_RT_UNROLL for (int i = 0; i < MR; i++)
        {
            const __m512 av = _mm512_set1_ps(ak[i * rsa]);
            SLIMC_RT_UNROLL for (int v = 0; v < NV; v++) acc[i][v] =
                _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }
    /* the conv's residual (res, laid out as C) and relu / relu6 (act) on the sums as they
     * are stored: no second pass over C */
    if (res)
        SLIMC_RT_UNROLL for (int i = 0; i < MR; i++) SLIMC_RT_UNROLL for (int v = 0; v < NV; v++)
            acc[i][v] =
                _mm512_add_ps(acc[i][v], _mm512_maskz_loadu_ps(mk[v], res + i * ldc + 16 * v));
    SLIMC_RT_UNROLL for (int i = 0; i < MR; i++) SLIMC_RT_UNROLL for (int v = 0; v < NV; v++)
        _mm512_mask_storeu_ps(C + i * ldc + 16 * v, mk[v], slimc_rt_act_512(act, acc[i][v]));
}

#define SLIMC_RT_TILE512(MR, NV, i, j, n)                                                          \
    slimc_rt_tile512(MR, NV, n, K, A + (i)*rsa, rsa, csa, B + (j), ldb, C + (i)*ldc + (j), ldc,    \
                     brow ? brow + (i) : NULL, bcol ? bcol + (j) : NULL, accum, act,               \
                     res ? res + (i)*ldc + (j) : NULL)

static SLIMC_RT_UNUSED SLIMC_RT_AVX512 void
slimc_rt_gemm_avx512(int64_t m, int64_t n, int64_t K, const float *A, int64_t rsa, int64_t csa,
                     const float *B, int64_t ldb, float *C, int64_t ldc, const float *brow,
                     const float *bcol, int accum, int64_t act, const float *res)
{
    if (m == 1) { /* GEMV: tiles of up to 256 columns; all tiles advance together through
                     blocks of SLIMC_RT_GEMV_KB rows of B, so B streams row after row */
        for (int64_t k0 = 0; k0 < K || k0 == 0; k0 += SLIMC_RT_GEMV_KB) {
            const int64_t kb = slimc_rt_min(SLIMC_RT_GEMV_KB, K - k0);
            const float *ak = A + k0 * csa, *bk = B + k0 * ldb;
            const float *br = k0 ? NULL : brow, *bc0 = k0 ? NULL : bcol;
            const int acc = accum || k0 > 0;
            for (int64_t j = 0; j < n; j += 256) {
                const int64_t nj = slimc_rt_min(256, n - j);
                const float *bc = bc0 ? bc0 + j : NULL;
#define SLIMC_RT_GEMV(NV)                                                                          \
    slimc_rt_tile512(1, NV, nj, kb, ak, rsa, csa, bk + j, ldb, C + j, ldc, br, bc, acc,            \
                     k0 + kb >= K ? act : SLIMC_RT_ACT_NONE, k0 + kb >= K && res ? res + j : NULL)
                switch ((nj + 31) / 32) {
                case 1: SLIMC_RT_GEMV(2); break;
                case 2: SLIMC_RT_GEMV(4); break;
                case 3: SLIMC_RT_GEMV(6); break;
                case 4: SLIMC_RT_GEMV(8); break;
                case 5: SLIMC_RT_GEMV(10); break;
                case 6: SLIMC_RT_GEMV(12); break;
                case 7: SLIMC_RT_GEMV(14); break;
                default: SLIMC_RT_GEMV(16); break;
                }
#undef SLIMC_RT_GEMV
            }
            if (K == 0)
                break;
        }
        return;
    }
    for (int64_t j = 0; j < n; j += 32) {
        const int64_t nj = slimc_rt_min(32, n - j);
        int64_t i = 0;
        if (nj <= 16) { /* a tail of at most 16 columns: one vector per row */
            for (; i + 14 <= m; i += 14)
                SLIMC_RT_TILE512(14, 1, i, j, nj);
            if (i + 8 <= m) {
                SLIMC_RT_TILE512(8, 1, i, j, nj);
                i += 8;
            }
            if (i + 4 <= m) {
                SLIMC_RT_TILE512(4, 1, i, j, nj);
                i += 4;
            }
            for (; i < m; i++)
                SLIMC_RT_TILE512(1, 1, i, j, nj);
            continue;
        }
        for (; i + 14 <= m; i += 14)
            SLIMC_RT_TILE512(14, 2, i, j, nj);
        if (i + 8 <= m) {
            SLIMC_RT_TILE512(8, 2, i, j, nj);
            i += 8;
        }
        if (i + 4 <= m) {
            SLIMC_RT_TILE512(4, 2, i, j, nj);
            i += 4;
        }
        if (i + 2 <= m) {
            SLIMC_RT_TILE512(2, 2, i, j, nj);
            i += 2;
        }
        if (i < m)
            SLIMC_RT_TILE512(1, 2, i, j, nj);
    }
}

/* An MR x 16 tile; FULL: all 16 columns valid (plain loads), else n < 16 (masked). */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void
slimc_rt_tile256(const int MR, const int FULL, int64_t n, int64_t K, const float *restrict A,
                 int64_t rsa, int64_t csa, const float *restrict B, int64_t ldb, float *restrict C,
                 int64_t ldc, const float *brow, const float *bcol, int accum)
{
    __m256 acc[6][2];
    __m256i mk[2];
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    mk[0] = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), lane);
    mk[1] = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n - 8), lane);
#define SLIMC_RT_LD256(p, v) (FULL ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mk[v]))
    SLIMC_RT_UNROLL for (int i = 0; i < MR; i++) SLIMC_RT_UNROLL for (int v = 0; v < 2; v++)
    {
        if (accum)
            acc[i][v] = SLIMC_RT_LD256(C + i * ldc + 8 * v, v);
        else if (brow)
            acc[i][v] = _mm256_set1_ps(brow[i]);
        else if (bcol)
            acc[i][v] = SLIMC_RT_LD256(bcol + 8 * v, v);
        else
            acc[i][v] = _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < K; k++) {
        const float *restrict b = B + k * ldb;
        const float *restrict ak = A + k * csa;
        const __m256 b0 = SLIMC_RT_LD256(b, 0), b1 = SLIMC_RT_LD256(b + 8, 1);
        SLIMC_RT_UNROLL for (int i = 0; i < MR; i++)
        {
            const __m256 av = _mm256_broadcast_ss(ak + i * rsa);
            acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
        }
    }
#undef SLIMC_RT_LD256
    SLIMC_RT_UNROLL for (int i = 0; i < MR; i++) SLIMC_RT_UNROLL for (int v = 0; v < 2; v++)
    {
        if (FULL)
            _mm256_storeu_ps(C + i * ldc + 8 * v, acc[i][v]);
        else
            _mm256_maskstore_ps(C + i * ldc + 8 * v, mk[v], acc[i][v]);
    }
}

#define SLIMC_RT_TILE256(MR, FULL, i, j, n)                                                        \
    slimc_rt_tile256(MR, FULL, n, K, A + (i)*rsa, rsa, csa, B + (j), ldb, C + (i)*ldc + (j), ldc,  \
                     brow ? brow + (i) : NULL, bcol ? bcol + (j) : NULL, accum)

/* One row of C (the GEMV of batch 1): 8 NV columns, all valid when FULL, else n of them
 * (the last vector masked). NV independent accumulators, so that enough FMAs are in flight
 * to hide their latency while B is read row after row (a 16-column tile's two chains
 * waited on the FMA latency at every k). The sums run over k in order, as the tiles'. */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void
slimc_rt_gemv256(const int NV, const int FULL, int64_t n, int64_t K, const float *restrict A,
                 int64_t csa, const float *restrict B, int64_t ldb, float *restrict C,
                 const float *brow, const float *bcol, int accum)
{
    __m256 acc[8];
    const __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - 8 * (NV - 1))),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#define SLIMC_RT_LDV(p, v) (FULL || (v) < NV - 1 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mk))
    SLIMC_RT_UNROLL for (int v = 0; v < NV; v++)
    {
        if (accum)
            acc[v] = SLIMC_RT_LDV(C + 8 * v, v);
        else if (brow)
            acc[v] = _mm256_set1_ps(brow[0]);
        else if (bcol)
            acc[v] = SLIMC_RT_LDV(bcol + 8 * v, v);
        else
            acc[v] = _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < K; k++) {
        const float *restrict b = B + k * ldb;
        const __m256 av = _mm256_broadcast_ss(A + k * csa);
        SLIMC_RT_UNROLL for (int v = 0; v < NV; v++) acc[v] =
            _mm256_fmadd_ps(av, SLIMC_RT_LDV(b + 8 * v, v), acc[v]);
    }
#undef SLIMC_RT_LDV
    SLIMC_RT_UNROLL for (int v = 0; v < NV; v++)
    {
        if (FULL || v < NV - 1)
            _mm256_storeu_ps(C + 8 * v, acc[v]);
        else
            _mm256_maskstore_ps(C + 8 * v, mk, acc[v]);
    }
}

static SLIMC_RT_UNUSED SLIMC_RT_AVX2 void
slimc_rt_gemm_avx2(int64_t m, int64_t n, int64_t K, const float *A, int64_t rsa, int64_t csa,
                   const float *B, int64_t ldb, float *C, int64_t ldc, const float *brow,
                   const float *bcol, int accum)
{
    if (m == 1) { /* GEMV: tiles of up to 64 columns; all tiles advance together through
                     blocks of SLIMC_RT_GEMV_KB rows of B, so B streams row after row */
        for (int64_t k0 = 0; k0 < K || k0 == 0; k0 += SLIMC_RT_GEMV_KB) {
            const int64_t kb = slimc_rt_min(SLIMC_RT_GEMV_KB, K - k0);
            const float *ak = A + k0 * csa, *bk = B + k0 * ldb;
            const float *br = k0 ? NULL : brow, *bc0 = k0 ? NULL : bcol;
            const int acc = accum || k0 > 0;
            for (int64_t j = 0; j < n; j += 64) {
                const int64_t nj = slimc_rt_min(64, n - j);
                const float *bc = bc0 ? bc0 + j : NULL;
#define SLIMC_RT_GEMV(NV)                                                                          \
    do {                                                                                           \
        if (nj == 8 * (NV))                                                                        \
            slimc_rt_gemv256(NV, 1, nj, kb, ak, csa, bk + j, ldb, C + j, br, bc, acc);             \
        else                                                                                       \
            slimc_rt_gemv256(NV, 0, nj, kb, ak, csa, bk + j, ldb, C + j, br, bc, acc);             \
    } while (0)
                switch ((nj + 7) / 8) {
                case 1: SLIMC_RT_GEMV(1); break;
                case 2: SLIMC_RT_GEMV(2); break;
                case 3: SLIMC_RT_GEMV(3); break;
                case 4: SLIMC_RT_GEMV(4); break;
                case 5: SLIMC_RT_GEMV(5); break;
                case 6: SLIMC_RT_GEMV(6); break;
                case 7: SLIMC_RT_GEMV(7); break;
                default: SLIMC_RT_GEMV(8); break;
                }
#undef SLIMC_RT_GEMV
            }
            if (K == 0)
                break;
        }
        return;
    }
    for (int64_t j = 0; j < n; j += 16) {
        const int64_t nj = slimc_rt_min(16, n - j);
        int64_t i = 0;
        if (nj == 16) {
            for (; i + 6 <= m; i += 6)
                SLIMC_RT_TILE256(6, 1, i, j, nj);
            for (; i + 2 <= m; i += 2)
                SLIMC_RT_TILE256(2, 1, i, j, nj);
            if (i < m)
                SLIMC_RT_TILE256(1, 1, i, j, nj);
        } else {
            for (; i + 6 <= m; i += 6)
                SLIMC_RT_TILE256(6, 0, i, j, nj);
            for (; i + 2 <= m; i += 2)
                SLIMC_RT_TILE256(2, 0, i, j, nj);
            if (i < m)
                SLIMC_RT_TILE256(1, 0, i, j, nj);
        }
    }
}
#endif /* SLIMC_RT_X86 */

/* C = act(init + A B + res) on the instruction set isa (slimc_rt_isa()); see the section
 * comment. res (NULL: none) is laid out as C (row stride ldc); it and act (SLIMC_RT_ACT_*)
 * are applied by the AVX-512 tiles as they store, by a pass over C after the others. */
SLIMC_RT_SHARED void slimc_rt_gemm_act(int isa, int64_t m, int64_t n, int64_t K, const float *A,
                                       int64_t rsa, int64_t csa, const float *B, int64_t ldb,
                                       float *C, int64_t ldc, const float *brow, const float *bcol,
                                       int accum, int64_t act, const float *res)
{
#ifdef SLIMC_RT_X86
    if (isa == SLIMC_RT_ISA_AVX512) {
        slimc_rt_gemm_avx512(m, n, K, A, rsa, csa, B, ldb, C, ldc, brow, bcol, accum, act, res);
        return;
    }
#endif
    slimc_rt_gemm(isa, m, n, K, A, rsa, csa, B, ldb, C, ldc, brow, bcol, accum);
    slimc_rt_res_act(isa, act, C, ldc, res, m, n);
}

/* C = init + A B on the instruction set isa (slimc_rt_isa()); see the section comment. */
SLIMC_RT_SHARED void slimc_rt_gemm(int isa, int64_t m, int64_t n, int64_t K, const float *A,
                                   int64_t rsa, int64_t csa, const float *B, int64_t ldb, float *C,
                                   int64_t ldc, const float *brow, const float *bcol, int accum)
{
#ifdef SLIMC_RT_X86
    if (isa == SLIMC_RT_ISA_AVX512) {
        slimc_rt_gemm_avx512(m, n, K, A, rsa, csa, B, ldb, C, ldc, brow, bcol, accum,
                             SLIMC_RT_ACT_NONE, NULL);
        return;
    }
    if (isa == SLIMC_RT_ISA_AVX2) {
        slimc_rt_gemm_avx2(m, n, K, A, rsa, csa, B, ldb, C, ldc, brow, bcol, accum);
        return;
    }
#endif
    (void)isa;
    slimc_rt_gemm_generic(m, n, K, A, rsa, csa, B, ldb, C, ldc, brow, bcol, accum);
}

/* Computes tile `it` of C[M, N] = A[M, K] B + bias (bias [N] or NULL); B is [K, N], or
 * [N, K] when b_nk (then packed block by block on the stack). Returns the tile's rows
 * [*m0, *m0 + *mc) and columns [*n0, *n0 + *nc). */
SLIMC_RT_KERNEL void slimc_rt_gemm_tile(int64_t M, int64_t N, int64_t K, const float *A,
                                        const float *B, int b_nk, const float *bias, float *C,
                                        int64_t it, int64_t *m0, int64_t *mc, int64_t *n0,
                                        int64_t *nc)
{
    const int64_t nb = slimc_rt_gemm_nb(M), nt = (N + nb - 1) / nb;
    const int isa = slimc_rt_isa();
    *m0 = it / nt * SLIMC_RT_GEMM_MB;
    *n0 = it % nt * nb;
    *mc = slimc_rt_min(SLIMC_RT_GEMM_MB, M - *m0);
    *nc = slimc_rt_min(nb, N - *n0);
    const float *a = A + *m0 * K, *bc = bias ? bias + *n0 : NULL;
    float *c = C + *m0 * N + *n0;
    if (!b_nk && (*mc < SLIMC_RT_GEMM_PACK_MIN || K == 0)) {
        slimc_rt_gemm(isa, *mc, *nc, K, a, K, 1, B + *n0, N, c, N, NULL, bc, 0);
        return;
    }
    if (!b_nk) { /* B [K, N] in place, in blocks of KP rows of k: a K x 32 column panel of
                    B with a power-of-two row stride N falls into a few cache sets, and a
                    whole one (K = 784) no longer stayed in L2 between the 14-row tiles */
        for (int64_t k0 = 0; k0 < K; k0 += SLIMC_RT_GEMM_KP) {
            const int64_t kc = slimc_rt_min(SLIMC_RT_GEMM_KP, K - k0);
            for (int64_t j = 0; j < *nc; j += 32)
                slimc_rt_gemm(isa, *mc, slimc_rt_min(32, *nc - j), kc, a + k0, K, 1,
                              B + k0 * N + *n0 + j, N, c + j, N, NULL, k0 || !bc ? NULL : bc + j,
                              k0 > 0);
        }
        return;
    }
    float bt[SLIMC_RT_GEMM_KC * 256]; /* [kc, nc]: B^T's block, row stride 256 */
    if (K == 0) {
        slimc_rt_gemm(isa, *mc, *nc, 0, a, K, 1, bt, 256, c, N, NULL, bc, 0);
        return;
    }
    for (int64_t k0 = 0; k0 < K; k0 += SLIMC_RT_GEMM_KC) {
        const int64_t kc = slimc_rt_min(SLIMC_RT_GEMM_KC, K - k0);
        for (int64_t j = 0; j < *nc; j++)
            for (int64_t kk = 0; kk < kc; kk++)
                bt[kk * 256 + j] = B[(*n0 + j) * K + k0 + kk];
        slimc_rt_gemm(isa, *mc, *nc, kc, a + k0, K, 1, bt, 256, c, N, NULL, bc, k0 > 0);
    }
}

/* C[M, N] (row stride ldc) = A B, A read through strides (A[i, k] = A[i * rsa + k * csa]:
 * a transposed matrix needs no copy), B [K, N] row-major (row stride ldb); in blocks of
 * SLIMC_RT_GEMMS_MB rows x SLIMC_RT_GEMMS_NB columns, so that A's rows and B's columns of a
 * block stay in cache while they meet. Each element sums k in order (slimc_rt_gemm). */
#define SLIMC_RT_GEMMS_MB 120
#define SLIMC_RT_GEMMS_NB 256
SLIMC_RT_KERNEL void slimc_rt_gemm_strided(int64_t M, int64_t N, int64_t K, const float *A,
                                           int64_t rsa, int64_t csa, const float *B, int64_t ldb,
                                           float *C, int64_t ldc)
{
    const int isa = slimc_rt_isa();
    for (int64_t n0 = 0; n0 < N; n0 += SLIMC_RT_GEMMS_NB)
        for (int64_t m0 = 0; m0 < M; m0 += SLIMC_RT_GEMMS_MB)
            slimc_rt_gemm(isa, slimc_rt_min(SLIMC_RT_GEMMS_MB, M - m0),
                          slimc_rt_min(SLIMC_RT_GEMMS_NB, N - n0), K, A + m0 * rsa, rsa, csa,
                          B + n0, ldb, C + m0 * ldc + n0, ldc, NULL, NULL, 0);
}

/* act (SLIMC_RT_ACT_*) on rows [0, m) x columns [0, n) of y (row stride ldy). */
static SLIMC_RT_UNUSED void slimc_rt_act_c(int64_t act, float *y, int64_t ldy, int64_t m, int64_t n)
{
    for (int64_t i = 0; i < m; i++) {
        float *r = y + i * ldy;
        if (act == SLIMC_RT_ACT_RELU)
            for (int64_t j = 0; j < n; j++)
                r[j] = r[j] <= 0.0f ? 0.0f : r[j];
        else if (act == SLIMC_RT_ACT_RELU6)
            for (int64_t j = 0; j < n; j++)
                r[j] = r[j] <= 0.0f ? 0.0f : r[j] >= 6.0f ? 6.0f : r[j];
        else if (act == SLIMC_RT_ACT_HARDSWISH)
            for (int64_t j = 0; j < n; j++)
                r[j] = r[j] * (r[j] <= -3.0f ? 0.0f : r[j] >= 3.0f ? 6.0f : r[j] + 3.0f) / 6.0f;
    }
}

#ifdef SLIMC_RT_X86
static SLIMC_RT_UNUSED SLIMC_RT_AVX512 void slimc_rt_act_rows_512(int64_t act, float *y,
                                                                  int64_t ldy, int64_t m, int64_t n)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j += 16) {
            const __mmask16 k = (__mmask16)((1u << slimc_rt_min(16, n - j)) - 1u);
            float *p = y + i * ldy + j;
            _mm512_mask_storeu_ps(p, k, slimc_rt_act_512(act, _mm512_maskz_loadu_ps(k, p)));
        }
}
#endif

/* y = y + res on rows [0, m) x columns [0, n); res laid out as y (row stride ldy). */
static SLIMC_RT_UNUSED void slimc_rt_res_c(float *y, int64_t ldy, const float *res, int64_t m,
                                           int64_t n)
{
    for (int64_t i = 0; i < m; i++) {
        float *restrict r = y + i * ldy;
        const float *restrict e = res + i * ldy;
        for (int64_t j = 0; j < n; j++)
            r[j] = r[j] + e[j];
    }
}

#ifdef SLIMC_RT_X86
static SLIMC_RT_UNUSED SLIMC_RT_AVX512 void slimc_rt_res_act_rows_512(int64_t act, float *y,
                                                                      int64_t ldy, const float *res,
                                                                      int64_t m, int64_t n)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j += 16) {
            const __mmask16 k = (__mmask16)((1u << slimc_rt_min(16, n - j)) - 1u);
            float *p = y + i * ldy + j;
            const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, p),
                                           _mm512_maskz_loadu_ps(k, res + i * ldy + j));
            _mm512_mask_storeu_ps(p, k, slimc_rt_act_512(act, v));
        }
}
#endif

SLIMC_RT_SHARED void slimc_rt_res_act(int isa, int64_t act, float *y, int64_t ldy, const float *res,
                                      int64_t m, int64_t n)
{
    if (!res) {
        slimc_rt_act(isa, act, y, ldy, m, n);
        return;
    }
#ifdef SLIMC_RT_X86
    if (isa == SLIMC_RT_ISA_AVX512) {
        slimc_rt_res_act_rows_512(act, y, ldy, res, m, n);
        return;
    }
#endif
    slimc_rt_res_c(y, ldy, res, m, n);
    slimc_rt_act(isa, act, y, ldy, m, n);
}

SLIMC_RT_SHARED void slimc_rt_act(int isa, int64_t act, float *y, int64_t ldy, int64_t m, int64_t n)
{
    if (act == SLIMC_RT_ACT_NONE)
        return;
#ifdef SLIMC_RT_X86
    if (isa == SLIMC_RT_ISA_AVX512) {
        slimc_rt_act_rows_512(act, y, ldy, m, n);
        return;
    }
#endif
    (void)isa;
    slimc_rt_act_c(act, y, ldy, m, n);
}
