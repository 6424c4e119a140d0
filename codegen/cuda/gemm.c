/* GEMM kernels of the CUDA backend: the generator of codegen/cuda/gemm.h, and linear and
 * matmul on it. Three kernels, written per node with its sizes as literals:
 *
 * - SIMT f32 tiles (CuCtx.precision f32): a block computes a BM x BN tile of C with 256
 *   threads, each a TM x TN register micro-tile; K advances BK at a time through two
 *   shared-memory buffers (the next tile is read into registers while the current one is
 *   multiplied, so one barrier per step). 64x64x16 with 4x4 per thread, or 128x128x8 with
 *   8x8 per thread when the 128-grid still fills the GPU. A thread's rows and columns are
 *   strided by BM/TM and BN/TN, so the warp's shared-memory reads are broadcasts (A) and
 *   consecutive words (B): no bank conflicts; global loads are coalesced along the
 *   contiguous direction of each operand.
 * - tensor-core tiles (precision f16 or bf16): the same double-buffered pipeline with the
 *   tiles converted from f32 to f16/bf16 pairs as they are stored into shared memory
 *   (A row-major, B column-major: both k-pairs in one 32-bit word, what the mma fragments
 *   hold), each warp a 64x32 (or 32x32) sub-tile of m16n8k16 mma.sync with f32
 *   accumulators. Rows of the shared tiles are padded by 4 words so the fragment loads of a
 *   warp hit 32 different banks.
 * - GEMV (M <= CU_GEMV_MAX_M, batch-1 linear): every output column gets a warp or a lane,
 *   the K loop split so that B, the weight, is read once and coalesced.
 * Each kernel adds the bias and applies the node's epilogue right before its store. */
#include "codegen/cuda/gemm.h"

#include <stdlib.h>
#include <string.h>

#define GEMM_THREADS 256

/* kg > 1: the block's threads form kg groups, each multiplying its own BK / kg slice of
 * every K step; the groups' sums meet in shared memory at the end (split-K in the block). */
typedef struct SimtTile {
    int bm, bn, bk, tm, tn, kg;
    const char *suffix;
} SimtTile;

static const SimtTile simt32 = {32, 32, 64, 4, 4, 4, "_gemm32k4"};
static const SimtTile simt64 = {64, 64, 16, 4, 4, 1, "_gemm64"};
static const SimtTile simt128 = {128, 128, 8, 8, 8, 1, "_gemm128"};

/* A grid of fewer 64 x 64 tiles than this (about one block per SM of a large GPU) runs the
 * 32 x 32 split-K kernel instead: four times the blocks, each splitting K four ways. */
#define FEW_BLOCKS 132

/* Tensor-core tiles: warps wm x wn, each MT m16 tiles by NT n8 tiles. */
typedef struct MmaTile {
    int bm, bn, wm, wn, mt, nt;
} MmaTile;

#define MMA_BK 32
static const MmaTile mma128 = {128, 128, 2, 4, 4, 4}; /* 8 warps, each 64 x 32 */
static const MmaTile mma64 = {64, 64, 2, 2, 2, 4};    /* 4 warps, each 32 x 32 */

/* The kernel's opening: the problem z, the sizes, the output, the op's declarations. */
static void emit_prologue(CgCtx *c, NodeId id, const CuGemm *s, const char *idx)
{
    cg_printf(c, "    const %s z = (%s)blockIdx.z; /* the problem (batch or group) */\n", idx, idx);
    cg_printf(c, "    const %s M = %s, N = %s, K = %s; /* %s */\n", idx, s->M, s->N, s->K, s->what);
    cg_printf(c, "    (void)z;\n    (void)M;\n    (void)N;\n    (void)K;\n");
    cu_out(c, id, "out");
    s->setup(c, id, s);
}

/* The bias, the epilogue and the store of v, the value of C(gm, gn). */
static void emit_store(CgCtx *c, NodeId id, const CuGemm *s, int ind)
{
    cg_printf(c, "%*sconst int64_t f = %s;\n", ind, "", s->out_index);
    if (s->bias)
        cg_printf(c, "%*sv += %s;\n", ind, "", s->bias);
    cu_ep_apply(c, id, ind, "v", "f");
    cg_printf(c, "%*sout[f] = v;\n", ind, "");
}

/* The type of row indices: int when M is static and A (M x K) has fewer than 2^31
 * elements, else the kernel's index type. */
static const char *m_type(const CuGemm *s, const char *idx)
{
    char *end = NULL;
    const long long k = strtoll(s->K, &end, 10);
    const bool k_lit = end != s->K && end && *end == 0;
    if (s->m_static >= 0 && k_lit && s->k_int &&
        (k == 0 || s->m_static < (INT64_C(1) << 31) / (k ? k : 1)))
        return "int";
    return idx;
}

/* Prints a load statement (lines separated by \n) at the given indentation. */
static void print_lines(CgCtx *c, int ind, const char *text)
{
    while (*text) {
        const char *nl = strchr(text, '\n');
        const int len = nl ? (int)(nl - text) : (int)strlen(text);
        cg_printf(c, "%*s%.*s\n", ind, "", len, text);
        text += len + (nl ? 1 : 0);
    }
}

/* Prints statements that set float `dst` to A(gm, gk) (a) or B(gk, gn), 0 outside; for B,
 * gn is n0 + nl (nl this thread's offset in the tile), and with n_split the image nb and
 * the pixel np of gn are derived from the block's (nb0, nr0) in int arithmetic. */
static void emit_elem(CgCtx *c, const CuGemm *s, bool a, const char *gm, const char *gk,
                      const char *nl, const char *idx, const char *dst, int ind)
{
    const char *kt = s->k_int ? "int" : idx;
    cg_printf(c, "%*s{\n", ind, "");
    if (a)
        cg_printf(c, "%*s    const %s gm = %s;\n%*s    const %s gk = %s;\n", ind, "",
                  m_type(s, idx), gm, ind, "", kt, gk);
    else
        cg_printf(c, "%*s    const %s gk = %s;\n%*s    const %s gn = n0 + %s;\n", ind, "", kt, gk,
                  ind, "", idx, nl);
    cg_printf(c, "%*s    float v = 0.0f;\n", ind, "");
    cg_printf(c, "%*s    if (%s < %s && gk < K) {\n", ind, "", a ? "gm" : "gn", a ? "M" : "N");
    if (!a && s->n_split)
        cg_printf(c,
                  "%*s        const int nr = nr0 + %s, np = nr %% %lld;\n"
                  "%*s        const %s nb = nb0 + nr / %lld;\n",
                  ind, "", nl, (long long)s->n_split, ind, "", idx, (long long)s->n_split);
    print_lines(c, ind + 8, a ? s->a_load : s->b_load);
    cg_printf(c, "%*s    }\n%*s    %s = v;\n%*s}\n", ind, "", ind, "", dst, ind, "");
}

/* ---- SIMT f32 ---- */

/* Each thread loads the same position of every (T / BK)-th row (A), and so on: its part of
 * a tile is fixed, `la_*` and `lb_*` below, and the generator unrolls the loads (so the
 * registers they fill are never indexed at run time). */
static void simt_lanes(CgCtx *c, const CuGemm *s, const SimtTile *t)
{
    cg_printf(c, "    const int la_m = tid / %d, la_k = tid %% %d; /* this thread's part of A */\n",
              t->bk, t->bk);
    if (s->b_kfast)
        cg_printf(c, "    const int lb_n = tid / %d, lb_k = tid %% %d; /* and of B */\n", t->bk,
                  t->bk);
    else
        cg_printf(c, "    const int lb_k = tid / %d, lb_n = tid %% %d; /* and of B */\n", t->bn,
                  t->bn);
}

static void simt_load(CgCtx *c, const CuGemm *s, const SimtTile *t, const char *k0, const char *idx,
                      int ind)
{
    const int a_per = t->bm * t->bk / GEMM_THREADS, b_per = t->bk * t->bn / GEMM_THREADS;
    cg_printf(c, "%*s/* A tile %d x %d (k fastest), B tile %d x %d (%s fastest) */\n", ind, "",
              t->bm, t->bk, t->bk, t->bn, s->b_kfast ? "k" : "n");
    for (int i = 0; i < a_per; i++)
        emit_elem(c, s, true, cg_strf(c, "m0 + la_m + %d", i * (GEMM_THREADS / t->bk)),
                  cg_strf(c, "%s + la_k", k0), NULL, idx, cg_strf(c, "ra[%d]", i), ind);
    for (int i = 0; i < b_per; i++) {
        if (s->b_kfast)
            emit_elem(c, s, false, NULL, cg_strf(c, "%s + lb_k", k0),
                      cg_strf(c, "lb_n + %d", i * (GEMM_THREADS / t->bk)), idx,
                      cg_strf(c, "rb[%d]", i), ind);
        else
            emit_elem(c, s, false, NULL,
                      cg_strf(c, "%s + lb_k + %d", k0, i * (GEMM_THREADS / t->bn)), "lb_n", idx,
                      cg_strf(c, "rb[%d]", i), ind);
    }
}

static void simt_stash(CgCtx *c, const CuGemm *s, const SimtTile *t, const char *buf, int ind)
{
    const int a_per = t->bm * t->bk / GEMM_THREADS, b_per = t->bk * t->bn / GEMM_THREADS;
    for (int i = 0; i < a_per; i++)
        cg_printf(c, "%*sAs[%s][la_k][la_m + %d] = ra[%d];\n", ind, "", buf,
                  i * (GEMM_THREADS / t->bk), i);
    for (int i = 0; i < b_per; i++) {
        if (s->b_kfast)
            cg_printf(c, "%*sBs[%s][lb_k][lb_n + %d] = rb[%d];\n", ind, "", buf,
                      i * (GEMM_THREADS / t->bk), i);
        else
            cg_printf(c, "%*sBs[%s][lb_k + %d][lb_n] = rb[%d];\n", ind, "", buf,
                      i * (GEMM_THREADS / t->bn), i);
    }
}

/* The block's tile origin: M tiles along grid.x, N tiles along grid.y (or swapped). */
static void emit_origin(CgCtx *c, const CuGemm *s, const char *idx, int bm, int bn, bool n_in_x)
{
    const char *mt = m_type(s, idx);
    cg_printf(c, "    const %s m0 = (%s)blockIdx.%s * %d;\n", mt, mt, n_in_x ? "y" : "x", bm);
    cg_printf(c, "    const %s n0 = (%s)blockIdx.%s * %d;\n", idx, idx, n_in_x ? "x" : "y", bn);
    if (s->n_split)
        cg_printf(c,
                  "    const %s nb0 = n0 / %lld; /* n0's image and pixel: the loads derive theirs "
                  "*/\n    const int nr0 = (int)(n0 %% %lld);\n",
                  idx, (long long)s->n_split, (long long)s->n_split);
}

static int emit_simt(CgCtx *c, NodeId id, const CuGemm *s, const SimtTile *t, bool n_in_x)
{
    const char *idx = s->wide ? "int64_t" : "int";
    const int nx = t->bn / t->tn, ny = t->bm / t->tm, slice = t->bk / t->kg;
    SLIMC_ASSERT(nx * ny * t->kg == GEMM_THREADS);
    cg_printf(c,
              "/* SIMT f32 GEMM: a block computes a %d x %d tile of C, K in steps of %d through\n"
              " * two shared buffers; thread (ty, tx) of %d x %d holds C(m0 + ty + %d i, n0 + tx + "
              "%d j)\n * for i < %d, j < %d in registers",
              t->bm, t->bn, t->bk, ny, nx, ny, nx, t->tm, t->tn);
    if (t->kg > 1)
        cg_printf(c,
                  ", summed over its group kq's %d k of each step;\n * the %d groups' sums meet "
                  "in shared memory at the end (small problems: more blocks) */\n",
                  slice, t->kg);
    else
        cg_printf(c, ". */\n");
    const int k = cu_kernel_begin(c, id, t->suffix, GEMM_THREADS);
    cg_printf(c, "    __shared__ float As[2][%d][%d]; /* A tile, As[k][m] */\n", t->bk, t->bm + 4);
    cg_printf(c, "    __shared__ float Bs[2][%d][%d]; /* B tile, Bs[k][n] */\n", t->bk, t->bn + 4);
    emit_prologue(c, id, s, idx);
    if (t->kg > 1)
        cg_printf(c,
                  "    const int tid = (int)threadIdx.x, kq = tid / %d, tx = tid %% %d, ty = tid "
                  "%% %d / %d;\n",
                  nx * ny, nx, nx * ny, nx);
    else
        cg_printf(c, "    const int tid = (int)threadIdx.x, tx = tid %% %d, ty = tid / %d;\n", nx,
                  nx);
    simt_lanes(c, s, t);
    emit_origin(c, s, idx, t->bm, t->bn, n_in_x);
    cg_printf(c, "    float acc[%d][%d];\n", t->tm, t->tn);
    cg_printf(c,
              "    for (int i = 0; i < %d; i++)\n        for (int j = 0; j < %d; j++)\n"
              "            acc[i][j] = 0.0f;\n",
              t->tm, t->tn);
    cg_printf(c, "    float ra[%d], rb[%d];\n", t->bm * t->bk / GEMM_THREADS,
              t->bk * t->bn / GEMM_THREADS);
    cg_printf(c, "    const %s nk = (K + %d) / %d;\n", s->k_int ? "int" : idx, t->bk - 1, t->bk);
    simt_load(c, s, t, "0", idx, 4);
    simt_stash(c, s, t, "0", 4);
    cg_printf(c, "    __syncthreads();\n");
    cg_printf(c, "    for (%s kt = 0; kt < nk; kt++) {\n", s->k_int ? "int" : idx);
    cg_printf(c, "        const int cur = (int)(kt & 1);\n");
    cg_printf(c, "        if (kt + 1 < nk) { /* the next tile, while this one is multiplied */\n");
    simt_load(c, s, t, cg_strf(c, "(kt + 1) * %d", t->bk), idx, 12);
    cg_printf(c, "        }\n");
    if (t->kg > 1)
        cg_printf(c, "        for (int kk = kq * %d; kk < kq * %d + %d; kk++) {\n", slice, slice,
                  slice);
    else
        cg_printf(c, "        for (int kk = 0; kk < %d; kk++) {\n", t->bk);
    cg_printf(c, "            float av[%d], bv[%d];\n", t->tm, t->tn);
    cg_printf(c,
              "            for (int i = 0; i < %d; i++)\n                av[i] = As[cur][kk][ty "
              "+ %d * i];\n",
              t->tm, ny);
    cg_printf(c,
              "            for (int j = 0; j < %d; j++)\n                bv[j] = Bs[cur][kk][tx "
              "+ %d * j];\n",
              t->tn, nx);
    cg_printf(c,
              "            for (int i = 0; i < %d; i++)\n                for (int j = 0; j < %d; "
              "j++)\n                    acc[i][j] += av[i] * bv[j];\n",
              t->tm, t->tn);
    cg_printf(c, "        }\n");
    cg_printf(c, "        if (kt + 1 < nk) {\n");
    simt_stash(c, s, t, "cur ^ 1", 12);
    cg_printf(c, "        }\n        __syncthreads();\n    }\n");
    if (t->kg > 1) {
        SLIMC_ASSERT((t->kg - 1) * t->bm * t->bn <= 2 * t->bk * (t->bm + 4));
        cg_printf(c,
                  "    /* groups 1..%d leave their sums in As (free now), group 0 adds them in "
                  "order */\n",
                  t->kg - 1);
        cg_printf(c, "    float *red = &As[0][0][0];\n");
        cg_printf(c,
                  "    if (kq > 0)\n        for (int i = 0; i < %d; i++)\n            for (int j "
                  "= 0; j < %d; j++)\n"
                  "                red[((kq - 1) * %d + ty + %d * i) * %d + tx + %d * j] = "
                  "acc[i][j];\n",
                  t->tm, t->tn, t->bm, ny, t->bn, nx);
        cg_printf(c, "    __syncthreads();\n    if (kq > 0)\n        return;\n");
        cg_printf(c,
                  "    for (int q = 0; q < %d; q++)\n        for (int i = 0; i < %d; i++)\n"
                  "            for (int j = 0; j < %d; j++)\n"
                  "                acc[i][j] += red[(q * %d + ty + %d * i) * %d + tx + %d * j];\n",
                  t->kg - 1, t->tm, t->tn, t->bm, ny, t->bn, nx);
    }
    cg_printf(c, "    for (int i = 0; i < %d; i++) {\n", t->tm);
    cg_printf(c, "        const %s gm = m0 + ty + %d * i;\n", idx, ny);
    cg_printf(c, "        for (int j = 0; j < %d; j++) {\n", t->tn);
    cg_printf(c, "            const %s gn = n0 + tx + %d * j;\n", idx, nx);
    cg_printf(c, "            if (gm < M && gn < N) {\n                float v = acc[i][j];\n");
    emit_store(c, id, s, 16);
    cg_printf(c, "            }\n        }\n    }\n");
    cu_kernel_end(c);
    return k;
}

/* ---- tensor cores (f16 / bf16 operands, f32 accumulators) ---- */

static void mma_lanes(CgCtx *c, const CuGemm *s, const MmaTile *t)
{
    const int hk = MMA_BK / 2;
    cg_printf(c, "    const int la_m = tid / %d, la_k = tid %% %d; /* this thread's part of A */\n",
              hk, hk);
    if (s->b_kfast)
        cg_printf(c, "    const int lb_n = tid / %d, lb_k = tid %% %d; /* and of B */\n", hk, hk);
    else
        cg_printf(c, "    const int lb_k = tid / %d, lb_n = tid %% %d; /* and of B */\n", t->bn,
                  t->bn);
}

/* Loads this thread's k-pairs of the next tiles into ra / rb, converted to f16 or bf16. */
static void mma_load(CgCtx *c, const CuGemm *s, const MmaTile *t, int threads, const char *k0,
                     const char *idx, const char *cvt, int ind)
{
    const int hk = MMA_BK / 2, a_per = t->bm * hk / threads, b_per = t->bn * hk / threads;
    cg_printf(c, "%*s/* A: %d rows x %d k-pairs, B: %d columns x %d k-pairs (%s fastest) */\n", ind,
              "", t->bm, hk, t->bn, hk, s->b_kfast ? "k" : "n");
    for (int i = 0; i < a_per; i++) {
        cg_printf(c, "%*s{\n%*s    float v0, v1;\n", ind, "", ind, "");
        const char *gm = cg_strf(c, "m0 + la_m + %d", i * (threads / hk));
        emit_elem(c, s, true, gm, cg_strf(c, "%s + 2 * la_k", k0), NULL, idx, "v0", ind + 4);
        emit_elem(c, s, true, gm, cg_strf(c, "%s + 2 * la_k + 1", k0), NULL, idx, "v1", ind + 4);
        cg_printf(c, "%*s    ra[%d] = (uint32_t)%s(v0) | ((uint32_t)%s(v1) << 16);\n%*s}\n", ind,
                  "", i, cvt, cvt, ind, "");
    }
    for (int i = 0; i < b_per; i++) {
        cg_printf(c, "%*s{\n%*s    float v0, v1;\n", ind, "", ind, "");
        const char *gk = s->b_kfast ? cg_strf(c, "%s + 2 * lb_k", k0)
                                    : cg_strf(c, "%s + 2 * (lb_k + %d)", k0, i * (threads / t->bn));
        const char *gn = s->b_kfast ? cg_strf(c, "lb_n + %d", i * (threads / hk)) : "lb_n";
        emit_elem(c, s, false, NULL, gk, gn, idx, "v0", ind + 4);
        emit_elem(c, s, false, NULL, cg_strf(c, "%s + 1", gk), gn, idx, "v1", ind + 4);
        cg_printf(c, "%*s    rb[%d] = (uint32_t)%s(v0) | ((uint32_t)%s(v1) << 16);\n%*s}\n", ind,
                  "", i, cvt, cvt, ind, "");
    }
}

static void mma_stash(CgCtx *c, const CuGemm *s, const MmaTile *t, int threads, const char *buf,
                      int ind)
{
    const int hk = MMA_BK / 2, a_per = t->bm * hk / threads, b_per = t->bn * hk / threads;
    for (int i = 0; i < a_per; i++)
        cg_printf(c, "%*sAs[%s][la_m + %d][la_k] = ra[%d];\n", ind, "", buf, i * (threads / hk), i);
    for (int i = 0; i < b_per; i++) {
        if (s->b_kfast)
            cg_printf(c, "%*sBs[%s][lb_n + %d][lb_k] = rb[%d];\n", ind, "", buf, i * (threads / hk),
                      i);
        else
            cg_printf(c, "%*sBs[%s][lb_n][lb_k + %d] = rb[%d];\n", ind, "", buf,
                      i * (threads / t->bn), i);
    }
}

static int emit_mma(CgCtx *c, NodeId id, const CuGemm *s, const MmaTile *t, bool n_in_x)
{
    const CuCtx *cu = cu_ctx(c);
    const bool bf = cu->precision == IR_BF16;
    const char *idx = s->wide ? "int64_t" : "int";
    const int warps = t->wm * t->wn, threads = 32 * warps, hk = MMA_BK / 2;
    const int wrows = t->mt * 16, wcols = t->nt * 8;
    SLIMC_ASSERT(t->bm == t->wm * wrows && t->bn == t->wn * wcols);
    cg_printf(c,
              "/* Tensor-core GEMM (%s operands, f32 accumulators): a block of %d warps computes "
              "a\n * %d x %d tile of C, K in steps of %d through two shared buffers that hold "
              "the tiles\n * converted to %s pairs (A[m][k-pair], B[n][k-pair]: the layout of the "
              "mma fragments,\n * rows padded by 4 words against bank conflicts); warp (wm, wn) "
              "of %d x %d computes a\n * %d x %d sub-tile as %d x %d mma.m16n8k16. */\n",
              bf ? "bf16" : "f16", warps, t->bm, t->bn, MMA_BK, bf ? "bf16" : "f16", t->wm, t->wn,
              wrows, wcols, t->mt, t->nt);
    const int k = cu_kernel_begin(c, id, t->bm == 128 ? "_mma128" : "_mma64", threads);
    cg_printf(c, "    __shared__ uint32_t As[2][%d][%d];\n", t->bm, hk + 4);
    cg_printf(c, "    __shared__ uint32_t Bs[2][%d][%d];\n", t->bn, hk + 4);
    emit_prologue(c, id, s, idx);
    cg_printf(c, "    const int tid = (int)threadIdx.x, lane = tid & 31, warp = tid >> 5;\n");
    cg_printf(c, "    const int wm = warp %% %d, wn = warp / %d, g = lane >> 2, t = lane & 3;\n",
              t->wm, t->wm);
    mma_lanes(c, s, t);
    emit_origin(c, s, idx, t->bm, t->bn, n_in_x);
    cg_printf(c, "    float acc[%d][%d][4];\n", t->mt, t->nt);
    cg_printf(c,
              "    for (int i = 0; i < %d; i++)\n        for (int j = 0; j < %d; j++)\n"
              "            for (int r = 0; r < 4; r++)\n                acc[i][j][r] = 0.0f;\n",
              t->mt, t->nt);
    cg_printf(c, "    uint32_t ra[%d], rb[%d];\n", t->bm * hk / threads, t->bn * hk / threads);
    cg_printf(c, "    const %s nk = (K + %d) / %d;\n", s->k_int ? "int" : idx, MMA_BK - 1, MMA_BK);
    const char *cvt = bf ? "slimc_f2b" : "slimc_f2h";
    mma_load(c, s, t, threads, "0", idx, cvt, 4);
    mma_stash(c, s, t, threads, "0", 4);
    cg_printf(c, "    __syncthreads();\n");
    cg_printf(c, "    for (%s kt = 0; kt < nk; kt++) {\n", s->k_int ? "int" : idx);
    cg_printf(c, "        const int cur = (int)(kt & 1);\n");
    cg_printf(c, "        if (kt + 1 < nk) { /* the next tile, while this one is multiplied */\n");
    mma_load(c, s, t, threads, cg_strf(c, "(kt + 1) * %d", MMA_BK), idx, cvt, 12);
    cg_printf(c, "        }\n");
    cg_printf(c, "        for (int ks = 0; ks < %d; ks++) { /* k16 steps */\n", MMA_BK / 16);
    cg_printf(c, "            uint32_t fa[%d][4], fb[%d][2];\n", t->mt, t->nt);
    cg_printf(c, "            const int kw = ks * 8 + t;\n");
    cg_printf(c, "            for (int i = 0; i < %d; i++) {\n", t->mt);
    cg_printf(c, "                const int r = wm * %d + i * 16 + g;\n", wrows);
    cg_printf(c, "                fa[i][0] = As[cur][r][kw];\n");
    cg_printf(c, "                fa[i][1] = As[cur][r + 8][kw];\n");
    cg_printf(c, "                fa[i][2] = As[cur][r][kw + 4];\n");
    cg_printf(c, "                fa[i][3] = As[cur][r + 8][kw + 4];\n            }\n");
    cg_printf(c, "            for (int j = 0; j < %d; j++) {\n", t->nt);
    cg_printf(c, "                const int col = wn * %d + j * 8 + g;\n", wcols);
    cg_printf(c, "                fb[j][0] = Bs[cur][col][kw];\n");
    cg_printf(c, "                fb[j][1] = Bs[cur][col][kw + 4];\n            }\n");
    cg_printf(c,
              "            for (int i = 0; i < %d; i++)\n                for (int j = 0; j < %d; "
              "j++)\n                    %s(acc[i][j], fa[i], fb[j], acc[i][j]);\n",
              t->mt, t->nt, bf ? "slimc_mma_bf16_16816" : "slimc_mma_f16_16816");
    cg_printf(c, "        }\n");
    cg_printf(c, "        if (kt + 1 < nk) {\n");
    mma_stash(c, s, t, threads, "cur ^ 1", 12);
    cg_printf(c, "        }\n        __syncthreads();\n    }\n");
    cg_printf(c, "    /* acc[i][j][r] is C(row g (+8 for r >= 2), column 2t (+1 for odd r)) of "
                 "the m16n8 tile (i, j) */\n");
    cg_printf(c, "    for (int i = 0; i < %d; i++)\n        for (int j = 0; j < %d; j++)\n", t->mt,
              t->nt);
    cg_printf(c, "            for (int r = 0; r < 4; r++) {\n");
    cg_printf(c, "                const %s gm = m0 + wm * %d + i * 16 + g + 8 * (r >> 1);\n", idx,
              wrows);
    cg_printf(c, "                const %s gn = n0 + wn * %d + j * 8 + 2 * t + (r & 1);\n", idx,
              wcols);
    cg_printf(c, "                if (gm < M && gn < N) {\n");
    cg_printf(c, "                    float v = acc[i][j][r];\n");
    emit_store(c, id, s, 20);
    cg_printf(c, "                }\n            }\n");
    cu_kernel_end(c);
    return k;
}

/* ---- GEMV: M <= CU_GEMV_MAX_M ---- */

/* B contiguous along n (a [K, N] weight): a block is 8 warps over 32 columns, lane j
 * column n0 + j, warp w the k = w, w + 8, ...; the 8 partial sums meet in shared memory.
 * B contiguous along k ([N, K]): a warp per column, lanes along k, a shuffle reduction. */
static int emit_gemv(CgCtx *c, NodeId id, const CuGemm *s, int mr)
{
    const char *idx = s->wide ? "int64_t" : "int";
    const bool kf = s->b_kfast;
    cg_printf(c, "/* GEMV (M <= %d): %s */\n", mr,
              kf ? "a warp per column of C, its lanes split K, a shuffle reduction"
                 : "a block of 8 warps per 32 columns of C, lane = column, the warps split K and "
                   "sum in shared memory");
    const int k = cu_kernel_begin(c, id, "_gemv", GEMM_THREADS);
    if (!kf)
        cg_printf(c, "    __shared__ float red[8][%d][32];\n", mr);
    emit_prologue(c, id, s, idx);
    cg_printf(c, "    const int tid = (int)threadIdx.x, lane = tid & 31, wi = tid >> 5;\n");
    if (kf)
        cg_printf(c, "    const %s gn = (%s)blockIdx.x * 8 + wi;\n", idx, idx);
    else
        cg_printf(c, "    const %s gn = (%s)blockIdx.x * 32 + lane;\n", idx, idx);
    cg_printf(c, "    float acc[%d];\n    for (int r = 0; r < %d; r++)\n        acc[r] = 0.0f;\n",
              mr, mr);
    cg_printf(c, "    if (gn < N)\n");
    cg_printf(c, "        for (%s gk = %s; gk < K; gk += %d) {\n", idx, kf ? "lane" : "wi",
              kf ? 32 : 8);
    cg_printf(c, "            float bv;\n            {\n                float v = 0.0f;\n");
    print_lines(c, 16, s->b_load);
    cg_printf(c, "                bv = v;\n            }\n");
    cg_printf(c, "            for (int r = 0; r < %d; r++)\n                if (r < M) {\n", mr);
    cg_printf(c, "                    const %s gm = r;\n                    float v = 0.0f;\n",
              idx);
    print_lines(c, 20, s->a_load);
    cg_printf(c, "                    acc[r] += v * bv;\n");
    cg_printf(c, "                }\n        }\n");
    if (kf) {
        cg_printf(c, "    for (int r = 0; r < %d; r++)\n", mr);
        cg_printf(c, "        for (int o = 16; o > 0; o >>= 1)\n");
        cg_printf(c, "            acc[r] += slimc_shfl_xor_f(acc[r], o);\n");
        cg_printf(c, "    if (lane == 0 && gn < N)\n");
        cg_printf(c, "        for (int r = 0; r < %d; r++) {\n", mr);
        cg_printf(c, "            const %s gm = r;\n", idx);
        cg_printf(c, "            if (gm < M) {\n                float v = acc[r];\n");
        emit_store(c, id, s, 16);
        cg_printf(c, "            }\n        }\n");
    } else {
        cg_printf(c, "    for (int r = 0; r < %d; r++)\n        red[wi][r][lane] = acc[r];\n", mr);
        cg_printf(c, "    __syncthreads();\n");
        cg_printf(c, "    const %s gm = wi; /* warp wi sums row wi */\n", idx);
        cg_printf(c, "    if (wi < %d && gm < M && gn < N) {\n", mr);
        cg_printf(c, "        float v = 0.0f;\n");
        cg_printf(c, "        for (int q = 0; q < 8; q++)\n            v += red[q][wi][lane];\n");
        emit_store(c, id, s, 8);
        cg_printf(c, "    }\n");
    }
    cu_kernel_end(c);
    return k;
}

/* ---- the choice ---- */

/* A static size in x, else -1. */
static long long literal(const char *x)
{
    char *end = NULL;
    const long long v = strtoll(x, &end, 10);
    return end != x && end && *end == 0 ? v : -1;
}

/* ceil(n / d) as a host C expression: a literal when n is one. */
static const char *tiles(CgCtx *c, const char *n, int d)
{
    const long long v = literal(n);
    if (v >= 0)
        return cg_strf(c, "%lld", (v + d - 1) / d);
    return cu_ceil_div(c, cg_strf(c, "(int64_t)(%s)", n), d);
}

void cu_gemm_emit(CgCtx *c, NodeId id, const CuGemm *s)
{
    const CuCtx *cu = cu_ctx(c);
    const bool tc = cu->precision == IR_F16 || cu->precision == IR_BF16;
    const bool small = s->m_static >= 0 && s->m_static <= CU_GEMV_MAX_M;
    const bool maybe_small = s->m_static < 0;
    const char *Mx = literal(s->M) >= 0 ? s->M : cg_strf(c, "(int64_t)(%s)", s->M);
    if (s->gemv && (small || maybe_small)) {
        const int mr = small ? (int)(s->m_static ? s->m_static : 1) : CU_GEMV_MAX_M;
        const int k = emit_gemv(c, id, s, mr);
        const char *blocks = tiles(c, s->N, s->b_kfast ? 8 : 32);
        if (maybe_small)
            blocks = cg_strf(c, "(%s <= %d ? %s : 0)", Mx, CU_GEMV_MAX_M, blocks);
        cu_launch(c, id, k, (const char *[3]){blocks, "1", s->Z}, (const int[3]){256, 1, 1},
                  cg_strf(c, "GEMV for M <= %d: %s; grid.z the problems", CU_GEMV_MAX_M,
                          s->b_kfast ? "8 columns a block" : "32 columns a block"));
        if (small)
            return;
    }
    /* Tiles along grid.x for the larger of M and N (grid.y stops at 65535): N for a conv
     * (batch x pixels), M for a linear (rows). 128 x 128 tiles when their grid still fills
     * a GPU (static sizes); 32 x 32 split-K tiles when 64 x 64 ones would leave most SMs
     * idle, chosen at run time when a size is symbolic. */
    const bool n_in_x = s->n_in_x;
    const int64_t mh = s->m_static, nh = s->n_static; /* -1: symbolic (a batch of 1 is small) */
    const bool big = mh >= 128 && nh >= 128 && mh * nh >= (int64_t)128 * 128 * FEW_BLOCKS;
    const char *gemv_off = maybe_small && s->gemv ? cg_strf(c, "%s > %d", Mx, CU_GEMV_MAX_M) : NULL;
    if (tc || big) {
        const char *gm, *gn, *what;
        int k, threads;
        if (tc) {
            const MmaTile *t = big ? &mma128 : &mma64;
            k = emit_mma(c, id, s, t, n_in_x);
            gm = tiles(c, s->M, t->bm);
            gn = tiles(c, s->N, t->bn);
            threads = 32 * t->wm * t->wn;
            what = cg_strf(c, "%d x %d tiles of C on tensor cores (%s)", t->bm, t->bn, s->what);
        } else {
            k = emit_simt(c, id, s, &simt128, n_in_x);
            gm = tiles(c, s->M, 128);
            gn = tiles(c, s->N, 128);
            threads = GEMM_THREADS;
            what = cg_strf(c, "128 x 128 tiles of C (%s)", s->what);
        }
        if (gemv_off)
            gm = cg_strf(c, "(%s ? %s : 0)", gemv_off, gm);
        const char *grid[3] = {n_in_x ? gn : gm, n_in_x ? gm : gn, s->Z};
        cu_launch(c, id, k, grid, (const int[3]){threads, 1, 1}, what);
        return;
    }
    /* 64 x 64 or 32 x 32 split-K: by the number of 64 x 64 tiles */
    const long long zs = literal(s->Z);
    const bool zstatic = zs >= 0;
    const char *tiles64 = cg_strf(c, "%s * %s * %s", tiles(c, s->M, 64), tiles(c, s->N, 64),
                                  zstatic ? s->Z : cg_strf(c, "(int64_t)(%s)", s->Z));
    const char *few = cg_strf(c, "%s < %d", tiles64, FEW_BLOCKS);
    int which = 3; /* bit 0: 64 x 64, bit 1: 32 x 32 split-K */
    if (mh >= 0 && nh >= 0 && zstatic && !s->n_split) {
        const int64_t t64 = ((mh + 63) / 64) * ((nh + 63) / 64) * zs;
        which = t64 < FEW_BLOCKS ? 2 : 1;
    } else if (s->n_split && mh >= 0 && zstatic &&
               ((mh + 63) / 64) * ((nh + 63) / 64) * zs >= FEW_BLOCKS) {
        which = 1; /* a conv whose batch-1 grid is already large */
    }
    for (int v = 0; v < 2; v++) {
        if (!(which & (1 << v)))
            continue;
        const SimtTile *t = v ? &simt32 : &simt64;
        const int k = emit_simt(c, id, s, t, n_in_x);
        const char *gm = tiles(c, s->M, t->bm), *gn = tiles(c, s->N, t->bn);
        const char *cond = which == 3 ? cg_strf(c, v ? "%s" : "!(%s)", few) : NULL;
        if (gemv_off)
            cond = cond ? cg_strf(c, "%s && %s", gemv_off, cond) : gemv_off;
        if (cond)
            gm = cg_strf(c, "((%s) ? %s : 0)", cond, gm);
        const char *grid[3] = {n_in_x ? gn : gm, n_in_x ? gm : gn, s->Z};
        cu_launch(
            c, id, k, grid, (const int[3]){GEMM_THREADS, 1, 1},
            cg_strf(c, "%d x %d tiles of C%s (%s)%s", t->bm, t->bn,
                    t->kg > 1 ? ", K split in 4 in the block" : "", s->what,
                    which == 3 ? (v ? "; when 64 x 64 tiles would be few" : "; when many") : ""));
    }
}

bool cu_gemm_wide(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    for (int i = -1; i < n->n_inputs; i++) {
        const ValueId v = i < 0 ? n->outputs[0] : n->inputs[i];
        if (v == IR_NONE)
            continue;
        const Shape *sh = cg_shape(c, v);
        int64_t e = 1;
        for (int d = 0; d < sh->rank; d++) {
            if (!ir_dim_static(sh->d[d]))
                return true;
            if (sh->d[d].c > 0 && e > (INT64_C(1) << 31) / sh->d[d].c)
                return true;
            e *= sh->d[d].c;
        }
        if (e >= (INT64_C(1) << 31))
            return true;
    }
    return false;
}

/* The product of dims [from, to) of s when static, else -1. */
static int64_t static_prod(const Shape *s, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) {
        if (!ir_dim_static(s->d[i]))
            return -1;
        p *= s->d[i].c;
    }
    return p;
}

/* k indices fit an int: K static and below 2^31. */
static bool k_int(Dim k)
{
    return ir_dim_static(k) && k.c < (INT64_C(1) << 31);
}

/* ---- linear: x [.., K] times w^T (w [N, K]) or w ([K, N], w_transposed), + bias [N] ---- */

static void linear_setup(CgCtx *c, NodeId id, const CuGemm *s)
{
    (void)s;
    cu_in(c, id, 0, "x");
    cu_in(c, id, 1, "w");
    if (c->g->nodes[id].n_inputs > 2 && c->g->nodes[id].inputs[2] != IR_NONE)
        cu_in(c, id, 2, "bias");
}

void cu_emit_linear(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    const bool tr = ir_attr_w_transposed(n) != 0;
    if (ws->rank != 2 || xs->rank < 1) {
        cg_error(c, n, "expects x [.., K] and a 2-D weight");
        return;
    }
    const bool bias = n->n_inputs > 2 && n->inputs[2] != IR_NONE;
    const Dim nd = tr ? ws->d[1] : ws->d[0];
    CuGemm s = {
        .M = cg_prod(c, xs, 0, xs->rank - 1),
        .N = cg_dim(c, nd),
        .K = cg_dim(c, xs->d[xs->rank - 1]),
        .m_static = static_prod(xs, 0, xs->rank - 1),
        .n_static = ir_dim_static(nd) ? nd.c : -1,
        .Z = "1",
        .wide = cu_gemm_wide(c, id),
        .gemv = true,
        .b_kfast = !tr,
        .n_in_x = false,
        .k_int = k_int(xs->d[xs->rank - 1]),
        .setup = linear_setup,
        .a_load = "v = x[gm * K + gk];",
        .b_load = tr ? "v = w[gk * N + gn];" : "v = w[gn * K + gk];",
        .out_index = "(int64_t)gm * N + gn",
        .bias = bias ? "bias[gn]" : NULL,
        .what = tr ? "M rows of x, N columns of w [K, N]" : "M rows of x, N rows of w [N, K]",
    };
    cu_gemm_emit(c, id, &s);
}

/* ---- matmul: torch.matmul, a [.., M, K] @ b [.., K, N] with numpy broadcasting of the batch
 * dims; a 1-D a is [1, K], a 1-D b is [K, 1]. Problem z of grid.z is the batch index. ---- */

static void matmul_setup(CgCtx *c, NodeId id, const CuGemm *s)
{
    (void)s;
    const Node *n = &c->g->nodes[id];
    const Shape *as = cg_shape(c, n->inputs[0]), *bs = cg_shape(c, n->inputs[1]);
    const Shape *os = cg_shape(c, n->outputs[0]);
    const int abatch = as->rank > 2 ? as->rank - 2 : 0, bbatch = bs->rank > 2 ? bs->rank - 2 : 0;
    const int obatch = abatch > bbatch ? abatch : bbatch;
    cu_in(c, id, 0, "a_base");
    cu_in(c, id, 1, "b_base");
    cg_printf(c, "    int64_t pa = 0, pb = 0, q = z; /* z decoded over the broadcast batch */\n");
    for (int i = obatch - 1; i >= 0; i--) {
        cg_printf(c, "    {\n        const int64_t cc = q %% %s;\n        q /= %s;\n",
                  cg_dim(c, os->d[i]), cg_dim(c, os->d[i]));
        const int ja = i - (obatch - abatch), jb = i - (obatch - bbatch);
        if (ja >= 0 && !(as->d[ja].syms == 0 && as->d[ja].c == 1))
            cg_printf(c, "        pa += cc * %s;\n", cg_prod(c, as, ja + 1, as->rank));
        if (jb >= 0 && !(bs->d[jb].syms == 0 && bs->d[jb].c == 1))
            cg_printf(c, "        pb += cc * %s;\n", cg_prod(c, bs, jb + 1, bs->rank));
        cg_printf(c, "    }\n");
    }
    cg_printf(c, "    (void)q;\n");
    cg_printf(c, "    const float *__restrict__ A = a_base + pa, *__restrict__ B = b_base + pb;\n");
}

void cu_emit_matmul(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *as = cg_shape(c, n->inputs[0]), *bs = cg_shape(c, n->inputs[1]);
    const Shape *os = cg_shape(c, n->outputs[0]);
    if (as->rank < 1 || bs->rank < 1) {
        cg_error(c, n, "expects operands of rank 1 or more");
        return;
    }
    const int abatch = as->rank > 2 ? as->rank - 2 : 0, bbatch = bs->rank > 2 ? bs->rank - 2 : 0;
    const int obatch = abatch > bbatch ? abatch : bbatch;
    const Dim md = as->rank == 1 ? ir_dim(1) : as->d[as->rank - 2];
    const Dim nd = bs->rank == 1 ? ir_dim(1) : bs->d[bs->rank - 1];
    CuGemm s = {
        .M = cg_dim(c, md),
        .N = cg_dim(c, nd),
        .K = cg_dim(c, as->d[as->rank - 1]),
        .m_static = ir_dim_static(md) ? md.c : -1,
        .n_static = ir_dim_static(nd) ? nd.c : -1,
        .Z = obatch ? cg_prod(c, os, 0, obatch) : "1",
        .wide = cu_gemm_wide(c, id),
        .gemv = true,
        .b_kfast = bs->rank == 1,
        .n_in_x = false,
        .k_int = k_int(as->d[as->rank - 1]),
        .setup = matmul_setup,
        .a_load = "v = A[gm * K + gk];",
        .b_load = "v = B[gk * N + gn];",
        .out_index = "((int64_t)z * M + gm) * N + gn",
        .bias = NULL,
        .what = "M x K times K x N per batch",
    };
    cu_gemm_emit(c, id, &s);
}
