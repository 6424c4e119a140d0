/* slimc_abi.h — the layout constants that passes, codegen and the runtime kernels share: the
 * tiles generated code cuts each kernel's work into, and how the layout pass packs weights
 * for the x86 int8 and bf16 kernels. One copy of each: ir/types.h includes this file, codegen
 * prints these values into the code it generates, and the generated runtime header
 * (runtime/slimc_rt.h, cmake/rt_parts.cmake) carries it verbatim, so AOT output still stands
 * alone. Only <stdint.h>: it is a leaf that every stage may include. A change here changes
 * what generated code and libslimc_kernels.so agree on; both are rebuilt from it. */
#ifndef SLIMC_ABI_H
#define SLIMC_ABI_H

#include <stdint.h>

/* linear / matmul work items: tiles of up to MB rows x NB columns of C[M, N]. */
#define SLIMC_RT_GEMM_MB       64
#define SLIMC_RT_GEMM_NB       128
#define SLIMC_RT_GEMM_KC       64  /* k per block of a packed B^T (64 KB of stack) */
#define SLIMC_RT_GEMM_KP       256 /* k per block of a [K, N] B read in place */
#define SLIMC_RT_GEMM_PACK_MIN 8   /* tiles of C with fewer rows take all of k at once */

/* conv2d as an implicit GEMM (slimc_rt_conv2d_px). */
#define SLIMC_RT_CONV_NP 64 /* pixels per packed panel */
#ifndef SLIMC_RT_CONV_KC
#define SLIMC_RT_CONV_KC 512 /* im2col rows per packed panel (128 KB of stack) */
#endif
#ifndef SLIMC_RT_CONV_MB
#define SLIMC_RT_CONV_MB 14 /* output channels per pass over a panel */
#endif
#ifndef SLIMC_RT_CONV_MB_K
#define SLIMC_RT_CONV_MB_K 128 /* ... for k blocks at least this long; else all of them */
#endif
#define SLIMC_RT_CONV_PX 64 /* pixels per work item */
#ifndef SLIMC_RT_CONV_DOTR
#define SLIMC_RT_CONV_DOTR                                                                         \
    8 /* a panel's last pixels, at most this many past a multiple of 16,                           \
         are dot products over k (AVX-512) */
#endif

/* conv2d's weight gradient (slimc_rt_conv2d_wgrad): columns of dw per work item, output
 * pixels per transposed im2col block, and the floats of that block (rows of up to KB
 * columns and 8 spare: 136 KB). */
#define SLIMC_RT_WGRAD_KB  128
#define SLIMC_RT_WGRAD_PC  256
#define SLIMC_RT_WGRAD_COL (SLIMC_RT_WGRAD_PC * (SLIMC_RT_WGRAD_KB + 8))

/* int8 and bf16 work items (codegen/c/quant.c). */
#define SLIMC_RT_QGEMM_MR  4  /* rows per qlinear item (slimc_rt_qgemm's 4 x 4 blocks) */
#define SLIMC_RT_QGEMM_OC  64 /* outputs per item of a qlinear, packed or not, and bf16 wlinear */
#define SLIMC_RT_PACKED_MR 32 /* rows per item on a packed weight: two AMX row tiles */
#define SLIMC_RT_BGEMM_MR  4  /* rows per item of a bf16 wlinear on an unpacked weight */
#define SLIMC_RT_QCONV_PX  64 /* output pixels per qconv2d item: slimc_rt_qcol_bytes's panel */

/* Weights packed by the layout pass (passes/layout.c) for vpdpbusd and AMX tiles, in blocks
 * of 16 outputs. int8 (qlinear): Wp[((o / 16) * KB + k / 4) * 64 + (o % 16) * 4 + k % 4] =
 * W[o][k], KB = slimc_rt_qpack_rows(K): ceil(K / 4) rows of 64 bytes rounded up to 16 (whole
 * 64-byte k steps of an AMX tile). bf16 (wlinear): pairs for quads, Wp[((n / 16) * KB + k /
 * 2) * 32 + (n % 16) * 2 + k % 2] = W[n][k], KB = slimc_rt_bpack_rows(K): ceil(K / 2) rounded
 * up to 16. Zeros past the outputs and K. */
#define SLIMC_RT_PACK_OB 16 /* outputs per packed block */
#define SLIMC_RT_QPACK_K 4  /* int8: k per 4-byte group (vpdpbusd) */
#define SLIMC_RT_BPACK_K 2  /* bf16: k per pair (vdpbf16ps) */
/* Blocks of SLIMC_RT_PACK_OB outputs for O outputs. */
static inline int64_t slimc_rt_pack_blocks(int64_t O)
{
    return (O + SLIMC_RT_PACK_OB - 1) / SLIMC_RT_PACK_OB;
}
/* The element of W[o][k] in a packed weight with KB rows per block and G (4 or 2) k per
 * group: one formula for int8 (G 4, 64-byte rows) and bf16 (G 2, 32-element rows). */
static inline int64_t slimc_rt_pack_index(int64_t o, int64_t k, int64_t KB, int64_t G)
{
    return ((o / SLIMC_RT_PACK_OB) * KB + k / G) * SLIMC_RT_PACK_OB * G +
           (o % SLIMC_RT_PACK_OB) * G + k % G;
}
static inline int64_t slimc_rt_qpack_rows(int64_t K)
{
    return ((K + 3) / 4 + 15) / 16 * 16;
}
static inline int64_t slimc_rt_bpack_rows(int64_t K)
{
    return ((K + 1) / 2 + 15) / 16 * 16;
}

/* A sparse linear weight in CSR (passes/sparse.c builds it from the dense constant, the
 * kernels of runtime/kernels/sparse.c read it): one u8 constant holding W [N, K] (PyTorch's
 * layout: row n is output feature n) as
 *   int64 header[8] = {SLIMC_RT_CSR_MAGIC, N, K, nnz, off_col, off_val, 0, 0}
 *   int32 rowptr[N + 1] at byte 64: row n's nonzeros are [rowptr[n], rowptr[n + 1])
 *   int32 col[nnz] at off_col: their input features, ascending within a row
 *   f32   val[nnz] at off_val: their values
 * with every offset a multiple of 64. A linear's blob may carry the same weights twice more
 * for one row of x (batch 1; header[6] = off_g, header[7] = slots, both 0 when absent), read
 * without gathers: the rows in groups of R, the columns in chunks of KC, and for each (group,
 * chunk) as many slots as the group's row with the most nonzeros in the chunk has; slot s
 * holds, for each of the R rows, one nonzero's value and its column within the chunk (0 and
 * 0 where the row has no more). With G = ceil(N / R), C = ceil(K / KC):
 *   u8    len[G][C] at off_g: the slots of each (group, chunk), at most KC
 *   int32 first[G + 1] at off_gs: group g's first slot (first[G]: the slots)
 *   f32   gval[slots][R] at off_gv, u8 gidx[slots][R] at off_gi
 * (slimc_rt_csr_g1_layout gives the offsets). The AVX-512 part (R 16, KC 32: a chunk of x is
 * two zmm) is at header[6] with header[7] slots; the AVX2 part (R 8, KC 8: one ymm) follows
 * at the AVX-512 part's end. A row's nonzeros stay in ascending column order. */
#define SLIMC_RT_CSR_MAGIC 0x3152534363696c73LL /* "slicCSR1" */
#define SLIMC_RT_CSR_HEAD  64
static inline int64_t slimc_rt_csr_align(int64_t b)
{
    return (b + 63) / 64 * 64;
}
/* Byte offsets of col and val, and the blob's size, for N rows and nnz nonzeros. */
static inline int64_t slimc_rt_csr_layout(int64_t N, int64_t nnz, int64_t *off_col,
                                          int64_t *off_val)
{
    *off_col = SLIMC_RT_CSR_HEAD + slimc_rt_csr_align(4 * (N + 1));
    *off_val = *off_col + slimc_rt_csr_align(4 * nnz);
    return *off_val + slimc_rt_csr_align(4 * nnz);
}
/* The offsets of a one-row part of R rows x KC columns at off_g, and its end. */
static inline int64_t slimc_rt_csr_g1_layout(int64_t N, int64_t K, int64_t R, int64_t KC,
                                             int64_t slots, int64_t off_g, int64_t *off_gs,
                                             int64_t *off_gv, int64_t *off_gi)
{
    const int64_t G = (N + R - 1) / R, C = (K + KC - 1) / KC;
    *off_gs = off_g + slimc_rt_csr_align(G * C);
    *off_gv = *off_gs + slimc_rt_csr_align(4 * (G + 1));
    *off_gi = *off_gv + slimc_rt_csr_align(4 * R * slots);
    return *off_gi + slimc_rt_csr_align(R * slots);
}
/* A conv2d's CSR blob (W [O, C * KH * KW], runtime/kernels/sparse_conv.c) has one part more:
 * header[6] = off_kb, header[7] = SLIMC_RT_SPCONV_KC, and at off_kb
 *   int32 kb[N][nkb + 1], nkb = ceil(K / SLIMC_RT_SPCONV_KC): row n's nonzeros in block b of
 *         SLIMC_RT_SPCONV_KC columns are [kb[n][b], kb[n][b + 1]) (indices into col and val)
 * so that the kernel, which walks k one block at a time, need not search for them. The
 * block: 96 im2col rows of 64 pixels, 24 KB, stay in L1 (a whole panel of 512 rows, read at
 * random by the nonzeros, ran from L2 at a fifth of the dense conv's rate per FLOP). */
#define SLIMC_RT_SPCONV_KC 96
static inline int64_t slimc_rt_spconv_nkb(int64_t K)
{
    return (K + SLIMC_RT_SPCONV_KC - 1) / SLIMC_RT_SPCONV_KC;
}
/* The conv blob's size and off_kb, for N rows of K columns and nnz nonzeros. */
static inline int64_t slimc_rt_spconv_layout(int64_t N, int64_t K, int64_t nnz, int64_t *off_col,
                                             int64_t *off_val, int64_t *off_kb)
{
    *off_kb = slimc_rt_csr_layout(N, nnz, off_col, off_val);
    return *off_kb + slimc_rt_csr_align(4 * N * (slimc_rt_spconv_nkb(K) + 1));
}
/* Work items of a sparse linear (slimc_rt_spmm_tile): one row at a time (batch 1) in blocks of
 * SPMM_NB1 outputs; else blocks of SPMM_MB rows x SPMM_NB outputs (each item transposes its
 * rows of x once, so the outputs per item are many). */
#define SLIMC_RT_SPMM_MB  32
#define SLIMC_RT_SPMM_NB  512
#define SLIMC_RT_SPMM_NB1 64

/* A linear weight with N:M sparsity (at most n nonzeros in every group of m consecutive inputs
 * of a row; passes/sparse.c builds it, runtime/kernels/sparse_nm.c reads it): one u8 constant
 * holding W [N, K] (K a multiple of m) as
 *   int64 header[8] = {SLIMC_RT_NM_MAGIC, N, K, n, m, off_val, 0, 0}
 *   u8  idx[N * K / m * n] at byte 64: row r's group g keeps slots [(r * K / m + g) * n, +n),
 *       each the position of its weight in the group (0..m-1), ascending
 *   f32 val[N * K / m * n] at off_val: their values (a group with fewer than n nonzeros keeps
 *       zeros in its remaining slots, at unused positions)
 * with every offset a multiple of 64. */
#define SLIMC_RT_NM_MAGIC 0x314d4e5363696c73LL /* "slicSNM1" */
/* The byte offset of val, and the blob's size, for N rows of K inputs at n:m. */
static inline int64_t slimc_rt_nm_layout(int64_t N, int64_t K, int64_t n, int64_t m,
                                         int64_t *off_val)
{
    const int64_t kept = N * (K / m) * n;
    *off_val = SLIMC_RT_CSR_HEAD + slimc_rt_csr_align(kept);
    return *off_val + slimc_rt_csr_align(4 * kept);
}
/* Work items of an N:M linear (slimc_rt_nm_tile): one row at a time (batch 1) in blocks of
 * NM_NB1 outputs; else blocks of NM_MB rows x NM_NB outputs. Each item keeps a panel of its
 * rows of x for NM_KC inputs (transposed, [KC, MB] = 16 KB) and its outputs ([NB, MB] = 8 KB)
 * in L1 while the kept weights of the block stream past. */
#define SLIMC_RT_NM_MB  32
#define SLIMC_RT_NM_NB  64
#define SLIMC_RT_NM_KC  128
#define SLIMC_RT_NM_NB1 64

/* An int8 linear weight in block CSR (qlinear after prune then quantize; passes/sparse.c builds
 * it from the i8 constant, runtime/kernels/qsparse.c reads it): W [O, K] i8 cut along K into
 * blocks of 4 consecutive weights (k = 4 b .. 4 b + 3: one vpdpbusd group), a block kept when
 * any of its 4 is nonzero, as one u8 constant
 *   int64 header[8] = {SLIMC_RT_Q8SP_MAGIC, O, K, nb, off_blk, off_val, 0, 0}
 *   int32 rowptr[O + 1] at byte 64: row o's kept blocks are [rowptr[o], rowptr[o + 1])
 *   int32 blk[nb] at off_blk: each block's b (its first input feature 4 b), ascending in a row
 *   i8    val[nb][4] at off_val: its 4 weights (zeros past K)
 * with every offset a multiple of 64. */
#define SLIMC_RT_Q8SP_MAGIC 0x3153385163696c73LL /* "slicQ8S1" */
/* Byte offsets of blk and val, and the blob's size, for O rows and nb kept blocks. */
static inline int64_t slimc_rt_q8sp_layout(int64_t O, int64_t nb, int64_t *off_blk,
                                           int64_t *off_val)
{
    *off_blk = SLIMC_RT_CSR_HEAD + slimc_rt_csr_align(4 * (O + 1));
    *off_val = *off_blk + slimc_rt_csr_align(4 * nb);
    return *off_val + slimc_rt_csr_align(4 * nb);
}
/* Work items of an int8 block-sparse linear (slimc_rt_q8sp_tile): below Q8SP_ROWS rows, one row
 * at a time in blocks of Q8SP_NB1 outputs (each output a gathered dot product); else blocks of
 * Q8SP_MB rows x Q8SP_NB outputs (each item lays its rows of x out once as [K / 4][MB][4]). */
#define SLIMC_RT_Q8SP_ROWS 4
#define SLIMC_RT_Q8SP_MB   64
#define SLIMC_RT_Q8SP_NB   256
#define SLIMC_RT_Q8SP_NB1  64

#endif /* SLIMC_ABI_H */
