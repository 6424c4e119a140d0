/* kernels.h — the kernels' interface: what generated code calls, and how the kernels' bodies
 * are linked. Part of the generated runtime/slimc_rt.h (after base.h, slimc_abi.h and
 * threadpool.c); the bodies are the family files of runtime/kernels/. */
#ifndef SLIMC_RT_KERNELS_H
#define SLIMC_RT_KERNELS_H

#include "runtime/kernels/base.h"
#include "runtime/slimc_abi.h"

/* ---- the kernels' interface -----------------------------------------------------------
 *
 * Generated code calls the kernels through the declarations below. Where their bodies live
 * depends on how this file is included:
 *   by default      here, static: a generated file (AOT, `slimc emit`) stands alone;
 *   SLIMC_RT_EXTERN not here: JIT code is linked against one prebuilt copy of the kernels
 *                   (libslimc_kernels.so, built with slimc and loaded by runtime/jit.c), so
 *                   a cache miss compiles only the model's own loops;
 *   SLIMC_RT_BUILD_KERNELS  here, with external linkage: that library
 *                   (runtime/kernels/kernels.c). */
#if defined(SLIMC_RT_EXTERN) || defined(SLIMC_RT_BUILD_KERNELS)
#define SLIMC_RT_KERNEL __attribute__((visibility("default")))
#else
#define SLIMC_RT_KERNEL static SLIMC_RT_UNUSED
#endif

/* Columns per tile: 256 for one row (the GEMV tile's width; with several threads each
 * keeps reading the same columns of B, which can then stay in its own L2), else 128. */
static SLIMC_RT_UNUSED inline int64_t slimc_rt_gemm_nb(int64_t M)
{
    return M == 1 ? 256 : SLIMC_RT_GEMM_NB;
}

static SLIMC_RT_UNUSED inline int64_t slimc_rt_gemm_items(int64_t M, int64_t N)
{
    const int64_t nb = slimc_rt_gemm_nb(M);
    return ((M + SLIMC_RT_GEMM_MB - 1) / SLIMC_RT_GEMM_MB) * ((N + nb - 1) / nb);
}

/* conv2d as an implicit GEMM per group: out[o, p] = bias[o] + sum over k = (c, kh, kw)
 * of w[o, k] * im2col[k, p], the weights read in place as A, the input's im2col matrix
 * packed panel by panel (KC rows x NP pixels, on the stack) as B, NCHW output. */
typedef struct slimc_rt_conv {
    int64_t C, H, W, O, CG, OG, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW;
    int64_t ACT; /* fp32 kernels: activation applied to the outputs (SLIMC_RT_ACT_*) */
} slimc_rt_conv;

/* Activations the conv kernels apply to their outputs while they are in cache (the
 * codegen's relu / relu6 epilogue when it is the only one): exactly slimc_rt_relu and
 * relu6 (x <= 0: 0, x >= 6: 6, else x; NaN stays NaN); hardswish, the depthwise kernel's
 * only (slimc_rt_dw_plane), exactly the generated code's: x * (x <= -3: 0, x >= 3: 6, else
 * x + 3) / 6, the product rounded, then the quotient. */
enum {
    SLIMC_RT_ACT_NONE = 0,
    SLIMC_RT_ACT_RELU = 1,
    SLIMC_RT_ACT_RELU6 = 2,
    SLIMC_RT_ACT_HARDSWISH = 3
};

SLIMC_RT_KERNEL void slimc_rt_gemm_tile(int64_t M, int64_t N, int64_t K, const float *A,
                                        const float *B, int b_nk, const float *bias, float *C,
                                        int64_t it, int64_t *m0, int64_t *mc, int64_t *n0,
                                        int64_t *nc);
/* C[M, N] = A B with A through strides (rsa, csa), B and C row-major (kernels/gemm.c). */
SLIMC_RT_KERNEL void slimc_rt_gemm_strided(int64_t M, int64_t N, int64_t K, const float *A,
                                           int64_t rsa, int64_t csa, const float *B, int64_t ldb,
                                           float *C, int64_t ldc);
/* conv2d as an implicit GEMM (kernels/conv.c): output pixels [p0, p1) of one image, of
 * every channel (_px) or of channels [o0, o1) (_blk; a part of [0, O) only for one group). */
SLIMC_RT_KERNEL void slimc_rt_conv2d_px(const slimc_rt_conv *s, const float *x, const float *w,
                                        const float *bias, float *y, int64_t p0, int64_t p1);
SLIMC_RT_KERNEL void slimc_rt_conv2d_blk(const slimc_rt_conv *s, const float *x, const float *w,
                                         const float *bias, float *y, int64_t p0, int64_t p1,
                                         int64_t o0, int64_t o1);
/* The same with a residual res laid out as y (an image's [O, OH * OW]) added to the sums
 * before s->ACT: a conv's fused add (and relu) with no second pass over its outputs. */
SLIMC_RT_KERNEL void slimc_rt_conv2d_res(const slimc_rt_conv *s, const float *x, const float *w,
                                         const float *bias, const float *res, float *y, int64_t p0,
                                         int64_t p1, int64_t o0, int64_t o1);
/* conv2d's weight gradient, columns [k0, k1) (at most SLIMC_RT_WGRAD_KB) of group g's
 * output channels (kernels/conv.c): per image and block of SLIMC_RT_WGRAD_PC pixels a
 * transposed im2col into col (SLIMC_RT_WGRAD_COL floats) and a GEMM added in
 * image and pixel order. */
SLIMC_RT_KERNEL void slimc_rt_conv2d_wgrad(const slimc_rt_conv *s, int64_t N, const float *x,
                                           const float *dy, float *dw, int64_t g, int64_t k0,
                                           int64_t k1, float *col);
SLIMC_RT_KERNEL void slimc_rt_dw_plane(const slimc_rt_conv *s, const float *x, const float *w,
                                       float b, float *y);
/* max_pool2d of one plane x [H, W] into y [OH, OW] (s: the window as a conv's; C, O, CG, OG
 * and ACT unused), with PyTorch's semantics: padding is -inf, NaN wins, taps in (kh, kw)
 * order, each replacing the maximum when greater (as the reference evaluator does). */
SLIMC_RT_KERNEL void slimc_rt_maxpool_plane(const slimc_rt_conv *s, const float *x, float *y);
/* max_pool2d's gradient for the 2x2 window of stride 2 (no padding, dilation 1, 2 OH <= H,
 * 2 OW <= W), one plane: dx [H, W] from x [H, W] and dy [OH, OW] (kernels/pool.c). */
SLIMC_RT_KERNEL void slimc_rt_maxpool2_grad_plane(int64_t H, int64_t W, int64_t OH, int64_t OW,
                                                  const float *x, const float *dy, float *dx);
/* softmax (log_softmax when log) of the contiguous row x[0, len) into y, as PyTorch: the
 * maximum m (NaN wins), e = exp(x - m), y = e / sum(e) (log: x - m - log(sum)). The AVX-512
 * path sums 16 lanes at once and uses a vector exp within 2 ulp of expf. */
SLIMC_RT_KERNEL void slimc_rt_softmax_row(const float *x, float *y, int64_t len, int log);
/* attention (kernels/attention.c; semantics: ir/attention.c): q [L, Sq, D], k [L, Sk, D],
 * v [L, Sk, Dv], out [L, Sq, Dv], L the product of the leading dims lead[0, nlead); the
 * mask (NULL: none) at mask[sum_i idx_i mlead[i] + i * mrs + j * mcs] for leading index
 * (idx_0, ...), query i, key j (a stride 0 broadcasts). Items [it0, it1) of
 * slimc_rt_attn_items: one (leading index, block of SLIMC_RT_ATTN_QB queries) each. */
#define SLIMC_RT_ATTN_QB 32
typedef struct slimc_rt_attn {
    int64_t Sq, Sk, D, Dv;
    int64_t nlead, lead[4], mlead[4];
    int64_t mrs, mcs;
    float scale;
    int64_t causal; /* 1: key j hidden from query i when j > i */
} slimc_rt_attn;

static SLIMC_RT_UNUSED inline int64_t slimc_rt_attn_items(const slimc_rt_attn *s)
{
    int64_t n = (s->Sq + SLIMC_RT_ATTN_QB - 1) / SLIMC_RT_ATTN_QB;
    for (int64_t i = 0; i < s->nlead; i++)
        n *= s->lead[i];
    return n;
}

SLIMC_RT_KERNEL void slimc_rt_attention(const slimc_rt_attn *s, const float *q, const float *k,
                                        const float *v, const float *mask, float *out, int64_t it0,
                                        int64_t it1);
/* rnn (kernels/rnn.c; semantics: ir/rnn.c): x [T, B, I] (layout 1: [B, T, I]), w [D, G*H,
 * I], r [D, G*H, H], bias [D, 2*G*H] or NULL, lens [B] or NULL, h0 and c0 [D, B, H]
 * (layout 1: [B, D, H]) or NULL, p [D, 3*H] or NULL, out [T, D, B, (1 + states) * H]
 * (layout 1: [B, T, D, ...]); with wt, w [D, I, G*H] and r [D, H, G*H]. Items [d0, d1): one
 * direction each (D = 2 when dir is 2). */
typedef struct slimc_rt_rnn {
    int64_t T, B, I, H;
    int64_t mode;      /* 0 RNN, 1 GRU, 2 LSTM */
    int64_t dir;       /* 0 forward, 1 reverse, 2 both */
    int64_t lbr;       /* GRU: linear_before_reset */
    int64_t layout;    /* 1: batch first */
    int64_t states;    /* 1: the hidden state after each step too; 2: and the cell state */
    int64_t act[2][3]; /* f, g, h per direction: 0 sigmoid, 1 tanh, 2 relu */
    float clip;        /* > 0: each gate's input clipped to [-clip, clip] */
    int64_t wt;        /* 1: w [D, I, G*H] and r [D, H, G*H] (W^T, R^T per direction) */
} slimc_rt_rnn;

SLIMC_RT_KERNEL void slimc_rt_rnn_run(const slimc_rt_rnn *s, const float *x, const float *w,
                                      const float *r, const float *bias, const int32_t *lens,
                                      const float *h0, const float *c0, const float *p, float *out,
                                      int64_t d0, int64_t d1);
/* acc[j] = the sum of the contiguous row x[j * count, (j + 1) * count) for j in [0, 16),
 * each added from 0.0f in the row's order (kernels/rows.c). */
SLIMC_RT_KERNEL void slimc_rt_sum_rows16(const float *x, int64_t count, float *acc);
/* layer_norm of the contiguous row x[0, len) into y: mean, the mean of squared deviations,
 * (x - mean) / sqrt(var + eps), times weight, plus bias (either may be NULL). */
SLIMC_RT_KERNEL void slimc_rt_layernorm_row(const float *x, float *y, int64_t len, float eps,
                                            const float *weight, const float *bias);
/* The same over u8 codes (an int8 chain: the windows' largest code; none at all gives 0). */
SLIMC_RT_KERNEL void slimc_rt_maxpool_plane_u8(const slimc_rt_conv *s, const uint8_t *x,
                                               uint8_t *y);
/* Where the int8 conv / linear kernels write: f32 (rq NULL), or, for a layer whose result
 * feeds only int8 layers (the qchain pass), u8 requantized exactly as a quantize node would:
 * clamp(rintf(act(y) * inv) + zp, 0, 255), NaN -> 0, act a SLIMC_RT_ACT_* applied to y;
 * with div nonzero, act(y) / div in place of act(y) * inv (an ONNX QuantizeLinear, which
 * divides by its scale). */
typedef struct slimc_rt_qreq {
    float inv;
    int32_t zp;
    int32_t act;
    float div;
} slimc_rt_qreq;
/* out advanced by i elements of its kind (u8 when rq, else f32). */
static inline void *slimc_rt_qoff(void *out, const slimc_rt_qreq *rq, int64_t i)
{
    return rq ? (void *)((uint8_t *)out + i) : (void *)((float *)out + i);
}
SLIMC_RT_KERNEL void slimc_rt_qgemm(int64_t M, int64_t O, int64_t K, const uint8_t *A, int64_t lda,
                                    const int8_t *W, int64_t ldw, int32_t zp, const int32_t *wsum,
                                    float xs, const float *ws, const float *bias, void *out,
                                    const slimc_rt_qreq *rq, int64_t sm, int64_t so);
/* qlinear with the weight packed by the layout pass for vpdpbusd and AMX tiles:
 * Wp[((o / 16) * KB + k / 4) * 64 + (o % 16) * 4 + k % 4] = W[o][k], KB =
 * slimc_rt_qpack_rows(K) (slimc_abi.h: ceil(K / 4) rounded up to 16), zeros past
 * O and K. Rows [m0, m0 + mc) and outputs [o0, o0 + oc) of out [M, O] (o0 a multiple of 16)
 * from A [M, K], with qlinear's arithmetic bit for bit. */
SLIMC_RT_KERNEL void slimc_rt_qgemm_packed(int64_t M, int64_t m0, int64_t mc, int64_t o0,
                                           int64_t oc, int64_t O, int64_t K, const uint8_t *A,
                                           const int8_t *Wp, int32_t zp, const int32_t *wsum,
                                           float xs, const float *ws, const float *bias, void *out,
                                           const slimc_rt_qreq *rq);
SLIMC_RT_KERNEL void slimc_rt_quantize_u8(const float *x, uint8_t *q, int64_t n, float inv,
                                          int32_t zp);
/* qadd over n codes: (a - za) sa + (b - zb) sb in f32, stored by rq (runtime/kernels/quant.c). */
SLIMC_RT_KERNEL void slimc_rt_qadd_u8(const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n,
                                      float sa, int32_t za, float sb, int32_t zb,
                                      const slimc_rt_qreq *rq);
SLIMC_RT_KERNEL void slimc_rt_qim2col(const slimc_rt_conv *s, const uint8_t *x, int64_t p0,
                                      int64_t p1, uint8_t zp, uint8_t *col);
SLIMC_RT_KERNEL void slimc_rt_qconv_block(const slimc_rt_conv *s, const uint8_t *x, int64_t p0,
                                          int64_t p1, int32_t zp, const int8_t *w,
                                          const int32_t *wsum, float xs, const float *ws,
                                          const float *bias, void *out, const slimc_rt_qreq *rq,
                                          uint8_t *col);
/* The bytes of slimc_rt_qconv_block's scratch for K = CG * KH * KW: the panel of 64 pixels
 * x K rounded up to 64, its 4 tap rows, 2 x 16 weight rows copied for AMX tiles and what
 * they hold (64 bytes). slimc_rt_qcol_alloc allocates it (free() frees it). */
static inline int64_t slimc_rt_qcol_bytes(int64_t K)
{
    const int64_t KQ = (K + 63) / 64 * 64;
    return SLIMC_RT_QCONV_PX * KQ + 4 * 64 + 32 * KQ + 64;
}
SLIMC_RT_KERNEL uint8_t *slimc_rt_qcol_alloc(int64_t K);
/* The panel slimc_rt_qconv_block computes on, for the int8 block-sparse conv (qsparse.c): output
 * pixels [p0, p1) of one group, at the start of col (slimc_rt_qcol_bytes(K) bytes). vnni:
 * [ceil(K / 4)][npx] words of 4 taps (npx = 16 ceil(n / 16), n = p1 - p0 <= 64); else (AVX2)
 * [ceil(K / 2)][npx] words of 2 taps as i16 (npx = 8 ceil(n / 8), n <= 32). Padding reads zp,
 * taps past K 0. x86 only, on a CPU with the instructions. */
SLIMC_RT_KERNEL void slimc_rt_qconv_panel(const slimc_rt_conv *s, const uint8_t *x, int64_t p0,
                                          int64_t p1, uint8_t zp, int vnni, uint8_t *col);
/* qconv2d with w_taps=1 (runtime/kernels/qconv_taps.c): the input of one image
 * in padded 4-channel words (slimc_rt_qtaps_alloc's buffer, slimc_rt_qtaps_bytes of it; free()
 * frees it; slimc_rt_qtaps_fill writes its padded rows [r0, r1)), then the output pixels of
 * lanes [q0, q1) of the padded-pixel space (q = oh WP + ow, WP = OW + DW (KW - 1) / SW) for all OG
 * channels by slimc_rt_qtaps_block, out at the image's first output plane; the weight rows in
 * w_taps order ([OG][CG / 4][KH][KW][4]); qconv2d's arithmetic bit for bit. */
SLIMC_RT_KERNEL int64_t slimc_rt_qtaps_bytes(const slimc_rt_conv *s);
SLIMC_RT_KERNEL uint8_t *slimc_rt_qtaps_alloc(const slimc_rt_conv *s);
SLIMC_RT_KERNEL void slimc_rt_qtaps_fill(const slimc_rt_conv *s, const uint8_t *x, uint8_t zp,
                                         int64_t r0, int64_t r1, uint8_t *xt);
SLIMC_RT_KERNEL void slimc_rt_qtaps_block(const slimc_rt_conv *s, const uint8_t *xt, int64_t q0,
                                          int64_t q1, int32_t zp, const int8_t *w,
                                          const int32_t *wsum, float xs, const float *ws,
                                          const float *bias, void *out, const slimc_rt_qreq *rq);
/* qconv2d with one input channel per group (depthwise): output plane o of one image, y (u8
 * when rq, else f32) from its input plane x, w the plane's KH x KW weights, wsum their sum
 * as the layer holds it, ws its weight scale; qconv2d's arithmetic bit for bit. */
SLIMC_RT_KERNEL void slimc_rt_qdw_plane(const slimc_rt_conv *s, const uint8_t *x, int32_t zp,
                                        const int8_t *w, int32_t wsum, float xs, float ws,
                                        const float *bias, int64_t o, void *y,
                                        const slimc_rt_qreq *rq);

/* Low-bit weights (wlinear, docs/quantization.md): the formats of W [N, K]. i8: one byte
 * per weight; i4: two a byte, element k of a row in the low nibble when k is even, both
 * two's complement; each times scales[n * (K / group) + k / group]. f16 / bf16: the
 * weight itself, converted. */
enum { SLIMC_RT_W_I8 = 0, SLIMC_RT_W_I4 = 1, SLIMC_RT_W_F16 = 2, SLIMC_RT_W_BF16 = 3 };
/* Tile `it` of C[M, N] = A[M, K] W^T + bias (as slimc_rt_gemm_tile with b_nk), W decoded
 * to f32 block by block on the stack. */
SLIMC_RT_KERNEL void slimc_rt_wgemm_tile(int64_t M, int64_t N, int64_t K, const float *A,
                                         const void *W, int fmt, const float *scales, int64_t group,
                                         const float *bias, float *C, int64_t it, int64_t *m0,
                                         int64_t *mc, int64_t *n0, int64_t *nc);

/* wlinear with bf16 weights packed by the layout pass, computed in bf16 (the activations
 * rounded to bf16, products exact, sums in f32): Wp[((n / 16) * KB + k / 2) * 32 +
 * (n % 16) * 2 + k % 2] = W[n][k], KB = ceil(K / 2) rounded up to 16 (the int8 packing with
 * bf16 pairs for byte quads), zeros past N and K. Rows [m0, m0 + mc) and columns [n0, n0 +
 * nc) of C [M, N] (n0 a multiple of 16) from A [M, K] f32. AMX-BF16 tiles for 16 rows or
 * more, AVX-512 BF16 (vdpbf16ps) below, portable loops elsewhere, all the same products. */
SLIMC_RT_KERNEL void slimc_rt_bgemm_packed(int64_t m0, int64_t mc, int64_t n0, int64_t nc,
                                           int64_t N, int64_t K, const float *A, const uint16_t *Wp,
                                           const float *bias, float *C);
/* The same arithmetic on an unpacked bf16 W [N, K] (a pipeline without layout): plain
 * loops. */
SLIMC_RT_KERNEL void slimc_rt_bgemm_rows(int64_t m0, int64_t mc, int64_t N, int64_t K,
                                         const float *A, const uint16_t *W, const float *bias,
                                         float *C);

/* Dynamic int8 (dqlinear): u8 parameters of x[0, n), per tensor: [min, max] widened to hold
 * 0 (NaN ignored), scale = (max - min) / 255, zero point round(-min / scale); a zero range
 * gives scale 1, zero point 0. ir/eval_lowbit.c computes the very same floats. */
SLIMC_RT_KERNEL void slimc_rt_dyn_params(const float *x, int64_t n, float *scale, int32_t *zp);

/* Sparse linear (runtime/kernels/sparse.c): C[M, N] = A[M, K] W^T + bias with W a CSR blob
 * (slimc_abi.h, SLIMC_RT_CSR_MAGIC). Items: slimc_rt_spmm_items; item `it` covers rows [m0,
 * m0 + mc) and columns [n0, n0 + nc). Each output sums its row's nonzeros in one fixed order
 * (whatever the item and thread count), bias first. */
static SLIMC_RT_UNUSED inline int64_t slimc_rt_spmm_items(int64_t M, int64_t N)
{
    if (M == 1)
        return (N + SLIMC_RT_SPMM_NB1 - 1) / SLIMC_RT_SPMM_NB1;
    return ((M + SLIMC_RT_SPMM_MB - 1) / SLIMC_RT_SPMM_MB) *
           ((N + SLIMC_RT_SPMM_NB - 1) / SLIMC_RT_SPMM_NB);
}
SLIMC_RT_KERNEL void slimc_rt_spmm_tile(int64_t M, const float *A, const void *W, const float *bias,
                                        float *C, int64_t it, int64_t *m0, int64_t *mc, int64_t *n0,
                                        int64_t *nc);

/* Sparse conv2d, one group (runtime/kernels/sparse_conv.c): as slimc_rt_conv2d_px (output
 * pixels [p0, p1) of every channel of one image, at most SLIMC_RT_CONV_PX; s->ACT applied)
 * with the weight a CSR blob W of [O, C * KH * KW] (slimc_abi.h, SLIMC_RT_CSR_MAGIC). Each
 * output sums bias first, then its row's nonzeros in one fixed order, whatever the item and
 * thread count. */
SLIMC_RT_KERNEL void slimc_rt_spconv_px(const slimc_rt_conv *s, const float *x, const void *W,
                                        const float *bias, float *y, int64_t p0, int64_t p1);

/* N:M sparse linear (runtime/kernels/sparse_nm.c): C[M, N] = A[M, K] W^T + bias with W an N:M
 * blob (slimc_abi.h, SLIMC_RT_NM_MAGIC). Items: slimc_rt_nm_items; item `it` covers rows
 * [m0, m0 + mc) and columns [n0, n0 + nc). Each output sums bias first, then its row's kept
 * weights in order, whatever the item and thread count. */
static SLIMC_RT_UNUSED inline int64_t slimc_rt_nm_items(int64_t M, int64_t N)
{
    if (M == 1)
        return (N + SLIMC_RT_NM_NB1 - 1) / SLIMC_RT_NM_NB1;
    return ((M + SLIMC_RT_NM_MB - 1) / SLIMC_RT_NM_MB) *
           ((N + SLIMC_RT_NM_NB - 1) / SLIMC_RT_NM_NB);
}
SLIMC_RT_KERNEL void slimc_rt_nm_tile(int64_t M, const float *A, const void *W, const float *bias,
                                      float *C, int64_t it, int64_t *m0, int64_t *mc, int64_t *n0,
                                      int64_t *nc);

/* int8 block-sparse linear (runtime/kernels/qsparse.c): qlinear's arithmetic bit for bit (the
 * exact i32 sum of (x - zp) w, then (float)sum * (xs ws[o]) + bias[o], stored as f32 or
 * requantized by rq) with W a block-CSR blob (slimc_abi.h, SLIMC_RT_Q8SP_MAGIC). Items:
 * slimc_rt_q8sp_items; item `it` covers rows [m0, m0 + mc) and outputs [o0, o0 + oc). The sums
 * are exact integers, so the bits are the dense qlinear's at any item order and thread count. */
static SLIMC_RT_UNUSED inline int64_t slimc_rt_q8sp_items(int64_t M, int64_t O)
{
    if (M < SLIMC_RT_Q8SP_ROWS)
        return M * ((O + SLIMC_RT_Q8SP_NB1 - 1) / SLIMC_RT_Q8SP_NB1);
    return ((M + SLIMC_RT_Q8SP_MB - 1) / SLIMC_RT_Q8SP_MB) *
           ((O + SLIMC_RT_Q8SP_NB - 1) / SLIMC_RT_Q8SP_NB);
}
SLIMC_RT_KERNEL void slimc_rt_q8sp_tile(int64_t M, const uint8_t *A, const void *W, int32_t zp,
                                        const int32_t *wsum, float xs, const float *ws,
                                        const float *bias, void *out, const slimc_rt_qreq *rq,
                                        int64_t it, int64_t *m0, int64_t *mc, int64_t *o0,
                                        int64_t *oc);
/* The same with A holding x's rows from row a0 on (those of the items it reads: dqlinear's
 * quantized rows, slimc_rt_q8sp_item_rows). */
SLIMC_RT_KERNEL void slimc_rt_q8sp_tile_at(int64_t M, const uint8_t *A, int64_t a0, const void *W,
                                           int32_t zp, const int32_t *wsum, float xs,
                                           const float *ws, const float *bias, void *out,
                                           const slimc_rt_qreq *rq, int64_t it, int64_t *m0,
                                           int64_t *mc, int64_t *o0, int64_t *oc);
/* The rows [*r0, *r1) of x that items [i0, i1) (i0 < i1) of slimc_rt_q8sp_items(M, O) read. */
static SLIMC_RT_UNUSED inline void slimc_rt_q8sp_item_rows(int64_t M, int64_t O, int64_t i0,
                                                           int64_t i1, int64_t *r0, int64_t *r1)
{
    if (M < SLIMC_RT_Q8SP_ROWS) {
        const int64_t nt = (O + SLIMC_RT_Q8SP_NB1 - 1) / SLIMC_RT_Q8SP_NB1;
        *r0 = i0 / nt;
        *r1 = (i1 - 1) / nt + 1;
    } else {
        const int64_t nt = (O + SLIMC_RT_Q8SP_NB - 1) / SLIMC_RT_Q8SP_NB;
        *r0 = i0 / nt * SLIMC_RT_Q8SP_MB;
        *r1 = ((i1 - 1) / nt + 1) * SLIMC_RT_Q8SP_MB;
    }
    *r1 = *r1 < M ? *r1 : M;
}
/* int8 block-sparse qconv2d, one group (runtime/kernels/qsparse.c): slimc_rt_qconv_block's block
 * (output pixels [p0, p1), at most SLIMC_RT_QCONV_PX, of one image, every output channel) with W
 * the block-CSR blob of the weight read as [O, C KH KW]; col as slimc_rt_qconv_block's. The exact
 * sums and the epilogue are the dense qconv2d's, so the bits are too. */
SLIMC_RT_KERNEL void slimc_rt_q8sp_conv_block(const slimc_rt_conv *s, const uint8_t *x, int64_t p0,
                                              int64_t p1, int32_t zp, const void *W,
                                              const int32_t *wsum, float xs, const float *ws,
                                              const float *bias, void *out, const slimc_rt_qreq *rq,
                                              uint8_t *col);

/* N:M sparse conv2d, one group (runtime/kernels/sparse_nm.c): the N:M kernel on the conv's
 * im2col form, W an N:M blob of [O, KH * KW * C] with K in (kh, kw, c) order (groups of m
 * along the input channels for each tap; header slot 6 = KH * KW). One image x [C, H, W] into
 * y [O, OH, OW]; items per image: slimc_rt_nmconv_items; item `it` covers output pixels
 * [p0, p0 + pc) and channels [o0, o0 + oc). s->ACT is not applied (the caller's epilogue
 * is). Each output sums bias first, then its kept weights in order, at any thread count. */
static SLIMC_RT_UNUSED inline int64_t slimc_rt_nmconv_items(int64_t P, int64_t O)
{
    return ((P + SLIMC_RT_NM_MB - 1) / SLIMC_RT_NM_MB) *
           ((O + SLIMC_RT_NM_NB - 1) / SLIMC_RT_NM_NB);
}
SLIMC_RT_KERNEL void slimc_rt_nmconv_tile(const slimc_rt_conv *s, const float *x, const void *W,
                                          const float *bias, float *y, int64_t it, int64_t *p0,
                                          int64_t *pc, int64_t *o0, int64_t *oc);

#endif /* SLIMC_RT_KERNELS_H */
