/* The CUDA backend's GEMM and convolution family (codegen/cuda/gemm.c, conv.c): the
 * emitters of linear, matmul, conv2d and conv_transpose2d, and the GEMM kernel generator
 * they share. (The lead folds the emitters' declarations into cu.h at merge.)
 *
 * The generator writes a tiled GEMM C[M, N] = A[M, K] B[K, N] (+ bias, + epilogue) for
 * grid.z independent problems (matmul's batch, conv's groups) where A and B are not
 * arrays but load statements: a conv's B is the im2col matrix gathered while the tile is
 * loaded (implicit GEMM), a linear's B is its weight in either layout. Which kernel it
 * writes depends on CuCtx.precision: f32 SIMT tiles, or f16/bf16 tensor-core tiles with f32
 * accumulation; and, when allowed, a small-M kernel (GEMV) for M <= CU_GEMV_MAX_M. */
#ifndef SLIMC_CODEGEN_CUDA_GEMM_H
#define SLIMC_CODEGEN_CUDA_GEMM_H

#include "codegen/cuda/cu.h"

#define CU_GEMV_MAX_M 8

typedef struct CuGemm CuGemm;
struct CuGemm {
    /* The sizes of one problem, C expressions over the symbols (int64). */
    const char *M, *N, *K;
    int64_t m_static, n_static; /* M and N when static, else -1 (they pick the kernel) */
    const char *Z;              /* grid.z: how many problems ("1": one) */
    /* Indices in int64_t (a tensor may pass 2^31 elements, or a size is symbolic), else int. */
    bool wide;
    bool gemv;   /* small M may use the GEMV kernel */
    bool n_in_x; /* N's tiles along grid.x, M's along grid.y (else the other way round) */
    bool k_int;  /* K is static and below 2^31: k indices in int */
    /* > 0: N is images x n_split pixels (a conv); B's load may use nb (the image, idx type)
     * and np (the pixel, int) of gn, derived without 64-bit division. */
    int64_t n_split;
    bool b_kfast; /* B(k, n) and B(k + 1, n) are adjacent in memory (else B(k, n + 1)) */
    /* Prints the declarations the loads and the store use, at the kernel's top, where
     * `z` (the problem, blockIdx.z) and M, N, K are defined. */
    void (*setup)(CgCtx *c, NodeId id, const CuGemm *s);
    /* Statements that set float v to A(gm, gk) / B(gk, gn), indices known in range. */
    const char *a_load, *b_load;
    /* The flat output index of C(gm, gn) of problem z, and the bias added to it (NULL: none). */
    const char *out_index, *bias;
    const char *what; /* for the launch comment: what M, N and K are */
};

/* Writes node id's GEMM kernel(s) and records their launches. */
void cu_gemm_emit(CgCtx *c, NodeId id, const CuGemm *s);
/* Whether node id's kernels need int64 indices: a symbolic dim, or a tensor of 2^31
 * elements or more. */
bool cu_gemm_wide(CgCtx *c, NodeId id);

/* gemm.c */
void cu_emit_linear(CgCtx *c, NodeId id);
void cu_emit_matmul(CgCtx *c, NodeId id);
/* conv.c */
void cu_emit_conv2d(CgCtx *c, NodeId id);
void cu_emit_conv_transpose2d(CgCtx *c, NodeId id);

#endif
