/* The CUDA backend's GEMM and convolution kernels (codegen/cuda/gemm.c, conv.c): linear,
 * matmul, conv2d (implicit GEMM, depthwise) and conv_transpose2d, on shapes that need
 * several blocks and leave ragged tiles (M, N, K not multiples of the tile), batch > 1, a
 * symbolic batch, every attribute, fused epilogues; the GEMV kernel for small M; the
 * 128 x 128 tiles; and the f16 / bf16 tensor-core kernels with their tolerance. Each graph is
 * compiled by NVRTC and run under the CPU emulation (whose mma follows the PTX fragment
 * layouts) against the reference evaluator (tests/unit/support_cuda.h).
 *
 * Tolerances (max|a - b| <= tol * max|ref|): f32 1e-5 (the GPU may contract into FMAs and
 * sum in another order than the reference); f16 operands 2e-2 and bf16 5e-2 (inputs rounded
 * to 11 and 8 significant bits, products accumulated in f32; docs/cuda.md). */
#include "codegen/backend.h"
#include "ir/graph.h"
#include "passes/pass.h"

#include "support_cg.h"
#include "support_cuda.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D(...) ((const int64_t[]){__VA_ARGS__})

#define TOL_F32  1e-5
#define TOL_F16  2e-2
#define TOL_BF16 5e-2

static unsigned seed = 4242;

static ValueId out_of(Graph *g, NodeId n)
{
    return g->nodes[n].outputs[0];
}

static void add_ep(Graph *g, NodeId n, OpKind op, ValueId operand, bool first)
{
    Node *nd = &g->nodes[n];
    nd->epilogue[nd->n_epilogue].op = op;
    nd->epilogue[nd->n_epilogue].operand = operand;
    nd->epilogue[nd->n_epilogue].operand_first = first;
    nd->n_epilogue++;
}

/* An f32 input whose first dim is the symbol N (the data has `batch` rows). */
static ValueId sym_input(Graph *g, const char *name, int rank, const int64_t *dims, int64_t batch,
                         RtTensor *t)
{
    const int s = ir_graph_symbol(g, "N");
    Type ty = sup_f32(rank, dims);
    ty.shape.d[0] = (Dim){1, 1u << s};
    int64_t real[IR_MAX_RANK];
    memcpy(real, dims, sizeof(int64_t) * (size_t)rank);
    real[0] = batch;
    *t = sup_input_rand(rank, real, &seed);
    return ir_input_new(g, name, ty, (SrcLoc){0});
}

/* Emits g with the given precision and checks that the source has each of the
 * comma-separated words of `want` (kernel names: a tile shape, the mma, the GEMV). */
static void source_has(Graph *g, DType prec, const char *want, const char *what)
{
    char msg[4096];
    size_t len;
    CgOptions o = {.source_name = "test", .precision = prec};
    char *src = sup_cuda_emit(g, &o, &len, msg, sizeof msg);
    ck_assert_msg(src, "%s: %s", what, msg);
    char words[256];
    snprintf(words, sizeof words, "%s", want);
    for (char *save = NULL, *w = strtok_r(words, ",", &save); w; w = strtok_r(NULL, ",", &save))
        ck_assert_msg(strstr(src, w), "%s: no '%s' in the source", what, w);
    free(src);
}

/* Infers shapes, (optionally) checks the source for `want`, runs sup_cuda_check with the
 * precision and tolerance, frees the inputs and the graph. */
static void check_prec(Graph *g, RtTensor *in, int n_in, DType prec, double tol, const char *want,
                       const char *what)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s: shapes: %s", what, ir_diag_text(&d));
    ir_diag_fini(&d);
    if (want)
        source_has(g, prec, want, what);
    char msg[8192];
    CgOptions o = {.source_name = "test", .precision = prec};
    bool ok = sup_cuda_check(g, in, &o, tol, msg, sizeof msg);
    for (int i = 0; i < n_in; i++)
        free(in[i].data);
    ir_graph_free(g);
    ck_assert_msg(ok, "%s: %s", what, msg);
}

static void check(Graph *g, RtTensor *in, int n_in, const char *want, const char *what)
{
    check_prec(g, in, n_in, IR_F32, TOL_F32, want, what);
}

/* ---- linear ---- */

/* x [B?, M, K] (B 0: x is [M, K]; symbolic: sym > 0 is the batch's run-time value) times
 * w ([K, N] when tr, else [N, K]), optional bias, epilogue 0 none, 1 relu, 2 + residual
 * [M, N] then sigmoid, 3 divided into a per-column constant then tanh. */
typedef struct LinCase {
    int64_t B, M, K, N;
    bool tr, bias;
    int ep;
    int64_t sym;
} LinCase;

static Graph *linear_graph(const LinCase *lc, RtTensor *in, int *n_in)
{
    Graph *g = ir_graph_new("lin");
    ValueId x;
    if (lc->sym)
        x = sym_input(g, "x", 2, D(1, lc->K), lc->sym, &in[0]);
    else if (lc->B)
        x = sup_input(g, "x", 3, D(lc->B, lc->M, lc->K), &in[0], &seed);
    else
        x = sup_input(g, "x", 2, D(lc->M, lc->K), &in[0], &seed);
    ValueId w = lc->tr ? sup_const_rand(g, "w", 2, D(lc->K, lc->N), &seed)
                       : sup_const_rand(g, "w", 2, D(lc->N, lc->K), &seed);
    ValueId ins[3] = {x, w, lc->bias ? sup_const_rand(g, "b", 1, D(lc->N), &seed) : IR_NONE};
    NodeId n = ir_node_new(g, IR_OP_LINEAR, "fc", (SrcLoc){0}, ins, lc->bias ? 3 : 2, 1);
    if (lc->tr)
        ir_node_set_int(g, n, "w_transposed", 1);
    *n_in = 1;
    if (lc->ep == 1)
        add_ep(g, n, IR_OP_RELU, IR_NONE, false);
    if (lc->ep == 2) {
        ValueId r = sup_input(g, "res", 2, D(lc->M, lc->N), &in[1], &seed);
        *n_in = 2;
        add_ep(g, n, IR_OP_ADD, r, false);
        add_ep(g, n, IR_OP_SIGMOID, IR_NONE, false);
    }
    if (lc->ep == 3) {
        add_ep(g, n, IR_OP_DIV, sup_const_rand(g, "s", 1, D(lc->N), &seed), true);
        add_ep(g, n, IR_OP_TANH, IR_NONE, false);
    }
    ir_output_add(g, out_of(g, n));
    return g;
}

static void linear_check(const LinCase *lc, DType prec, double tol, const char *want)
{
    RtTensor in[2];
    int n_in;
    Graph *g = linear_graph(lc, in, &n_in);
    char what[160];
    snprintf(what, sizeof what,
             "linear B=%lld M=%lld K=%lld N=%lld tr=%d bias=%d ep=%d sym=%lld %s", (long long)lc->B,
             (long long)lc->M, (long long)lc->K, (long long)lc->N, lc->tr, lc->bias, lc->ep,
             (long long)lc->sym, ir_dtype_name(prec));
    check_prec(g, in, n_in, prec, tol, want, what);
}

/* Small problems (fewer than 132 tiles of 64 x 64): the 32 x 32 split-K kernel, several
 * blocks with ragged edges in M, N and K, both weight layouts, bias or not, epilogues with
 * and without operands; x of rank 3. */
START_TEST(test_linear_tiles)
{
    const LinCase cases[] = {
        {0, 70, 37, 130, true, true, 1, 0},
        {0, 70, 37, 130, false, false, 2, 0},
        {2, 35, 19, 67, true, false, 3, 0},
        {0, 9, 64, 64, false, true, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        linear_check(&cases[i], IR_F32, TOL_F32, "_gemm32k4");
}
END_TEST

/* 132 tiles of 64 x 64 or more: the 64 x 64 kernel, ragged in M, N and K. */
START_TEST(test_linear_tiles64)
{
    const LinCase cases[] = {
        {0, 700, 20, 780, true, true, 1, 0},
        {0, 720, 13, 730, false, false, 3, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        linear_check(&cases[i], IR_F32, TOL_F32, "_gemm64");
}
END_TEST

/* M <= 8: the GEMV kernel, a [K, N] weight (lanes on columns, warps split K) and an [N, K]
 * one (a warp per column, a shuffle reduction); K not a multiple of 8 or 32. */
START_TEST(test_linear_gemv)
{
    const LinCase cases[] = {
        {0, 1, 300, 70, true, true, 1, 0},
        {0, 3, 101, 37, false, true, 2, 0},
        {0, 8, 45, 33, true, false, 3, 0},
        {0, 1, 7, 1, false, false, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        linear_check(&cases[i], IR_F32, TOL_F32, "_gemv");
}
END_TEST

/* A symbolic batch: the GEMV, the split-K and the 64 x 64 kernels are all in the file and
 * the launch picks one by M at run time (batch 2: GEMV, 75 and 9: split-K, 700: 64 x 64). */
START_TEST(test_linear_symbolic)
{
    const LinCase cases[] = {
        {0, 0, 50, 70, true, true, 1, 2},
        {0, 0, 50, 70, true, true, 1, 75},
        {0, 0, 33, 20, false, false, 0, 9},
        {0, 0, 20, 780, true, true, 1, 700},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        linear_check(&cases[i], IR_F32, TOL_F32, "_gemv,_gemm32k4,_gemm64");
}
END_TEST

/* A problem whose 128 x 128 grid fills a GPU gets the 8 x 8-per-thread kernel. */
START_TEST(test_linear_big_tiles)
{
    const LinCase lc = {0, 1500, 9, 1500, true, true, 1, 0};
    linear_check(&lc, IR_F32, TOL_F32, "_gemm128");
}
END_TEST

/* ---- matmul ---- */

static void matmul_check(int ra, const int64_t *da, int rb, const int64_t *db, bool sym, DType prec,
                         double tol, const char *want)
{
    Graph *g = ir_graph_new("mm");
    RtTensor in[2];
    ValueId a =
        sym ? sym_input(g, "a", ra, da, da[0], &in[0]) : sup_input(g, "a", ra, da, &in[0], &seed);
    ValueId b = sup_input(g, "b", rb, db, &in[1], &seed);
    ValueId ins[2] = {a, b};
    NodeId n = ir_node_new(g, IR_OP_MATMUL, "mm", (SrcLoc){0}, ins, 2, 1);
    add_ep(g, n, IR_OP_RELU, IR_NONE, false);
    ir_output_add(g, out_of(g, n));
    char what[96];
    snprintf(what, sizeof what, "matmul rank %d @ rank %d (%lld x %lld), %s", ra, rb,
             (long long)da[ra - 1], (long long)db[0], ir_dtype_name(prec));
    check_prec(g, in, 2, prec, tol, want, what);
}

/* Broadcast batch dims on either side, 1-D operands as torch.matmul, GEMV per batch. */
START_TEST(test_matmul_batched)
{
    matmul_check(4, D(2, 3, 37, 45), 2, D(45, 70), false, IR_F32, TOL_F32, "_gemm32k4");
    matmul_check(4, D(3, 1, 20, 33), 3, D(2, 33, 9), false, IR_F32, TOL_F32, "_gemm32k4");
    matmul_check(3, D(2, 20, 37), 1, D(37), false, IR_F32, TOL_F32, "_gemm32k4");
    matmul_check(3, D(40, 100, 20), 3, D(40, 20, 90), false, IR_F32, TOL_F32, "_gemm64");
    matmul_check(1, D(37), 3, D(2, 37, 70), false, IR_F32, TOL_F32, "_gemv");
    matmul_check(3, D(4, 1, 64), 3, D(4, 64, 50), false, IR_F32, TOL_F32, "_gemv");
    matmul_check(3, D(3, 12, 16), 2, D(16, 24), true, IR_F32, TOL_F32, "_gemm32k4,_gemm64");
}
END_TEST

/* ---- conv2d ---- */

typedef struct ConvCase {
    int64_t B, C, H, W, O, KH, KW, stride, pad, dil, groups;
    bool bias;
    int ep;      /* 0 none, 1 relu, 2 * per-channel scale + residual [B, O, OH, OW] then relu */
    int64_t sym; /* > 0: the batch is the symbol N, with this value */
} ConvCase;

static void conv_check(const ConvCase *cc, DType prec, double tol, const char *want)
{
    Graph *g = ir_graph_new("conv");
    RtTensor in[2];
    ValueId x = cc->sym ? sym_input(g, "x", 4, D(1, cc->C, cc->H, cc->W), cc->sym, &in[0])
                        : sup_input(g, "x", 4, D(cc->B, cc->C, cc->H, cc->W), &in[0], &seed);
    ValueId w = sup_const_rand(g, "w", 4, D(cc->O, cc->C / cc->groups, cc->KH, cc->KW), &seed);
    ValueId ins[3] = {x, w, cc->bias ? sup_const_rand(g, "b", 1, D(cc->O), &seed) : IR_NONE};
    NodeId n = ir_node_new(g, IR_OP_CONV2D, "conv", (SrcLoc){0}, ins, cc->bias ? 3 : 2, 1);
    ir_node_set_int(g, n, "stride", cc->stride);
    ir_node_set_int(g, n, "padding", cc->pad);
    ir_node_set_int(g, n, "dilation", cc->dil);
    ir_node_set_int(g, n, "groups", cc->groups);
    int n_in = 1;
    if (cc->ep == 1)
        add_ep(g, n, IR_OP_RELU, IR_NONE, false);
    if (cc->ep == 2) {
        const int64_t oh = (cc->H + 2 * cc->pad - cc->dil * (cc->KH - 1) - 1) / cc->stride + 1;
        const int64_t ow = (cc->W + 2 * cc->pad - cc->dil * (cc->KW - 1) - 1) / cc->stride + 1;
        add_ep(g, n, IR_OP_MUL, sup_const_rand(g, "scale", 3, D(cc->O, 1, 1), &seed), false);
        add_ep(g, n, IR_OP_ADD, sup_input(g, "res", 4, D(cc->B, cc->O, oh, ow), &in[1], &seed),
               true);
        add_ep(g, n, IR_OP_RELU, IR_NONE, false);
        n_in = 2;
    }
    ir_output_add(g, out_of(g, n));
    char what[200];
    snprintf(what, sizeof what,
             "conv %lldx%lldx%lldx%lld O=%lld k=%lldx%lld s=%lld p=%lld d=%lld g=%lld bias=%d "
             "ep=%d sym=%lld %s",
             (long long)cc->B, (long long)cc->C, (long long)cc->H, (long long)cc->W,
             (long long)cc->O, (long long)cc->KH, (long long)cc->KW, (long long)cc->stride,
             (long long)cc->pad, (long long)cc->dil, (long long)cc->groups, cc->bias, cc->ep,
             (long long)cc->sym, ir_dtype_name(prec));
    check_prec(g, in, n_in, prec, tol, want, what);
}

/* Implicit GEMM on the split-K kernel (small problems): several tiles of output channels and
 * of batch x pixels, padding, stride, dilation, groups, a non-square kernel, the 1x1 fast
 * gather, epilogues with operands. */
START_TEST(test_conv2d_gemm)
{
    const ConvCase cases[] = {
        {2, 6, 11, 11, 70, 3, 3, 1, 1, 1, 1, true, 2, 0},
        {2, 8, 13, 10, 12, 3, 3, 2, 2, 2, 2, false, 1, 0},
        {3, 16, 9, 9, 20, 1, 1, 1, 0, 1, 1, true, 0, 0},
        {1, 6, 9, 12, 9, 2, 3, 1, 0, 1, 3, true, 1, 0},
        {2, 5, 8, 8, 7, 1, 1, 2, 0, 1, 1, false, 0, 0},
        {1, 4, 7, 9, 5, 3, 1, 1, 1, 1, 1, true, 0, 0},
        {1, 4, 7, 9, 5, 1, 3, 2, 0, 2, 1, false, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        conv_check(&cases[i], IR_F32, TOL_F32, "_gemm32k4");
}
END_TEST

/* Implicit GEMM on 64 x 64 tiles (a grid of 162 tiles at batch 2). */
START_TEST(test_conv2d_gemm64)
{
    const ConvCase cases[] = {
        {2, 3, 72, 72, 64, 3, 3, 1, 1, 1, 1, true, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        conv_check(&cases[i], IR_F32, TOL_F32, "_gemm64");
}
END_TEST

/* Depthwise (one input channel per group): multiplier 1 and 2, stride, dilation, padding,
 * a plane of more than 256 pixels (two blocks), bias, epilogues. */
START_TEST(test_conv2d_depthwise)
{
    const ConvCase cases[] = {
        {2, 8, 20, 18, 8, 3, 3, 1, 1, 1, 8, true, 2, 0},
        {2, 6, 11, 11, 12, 3, 3, 2, 1, 1, 6, false, 1, 0},
        {1, 4, 9, 9, 4, 5, 5, 1, 4, 2, 4, true, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        conv_check(&cases[i], IR_F32, TOL_F32, "taps[");
}
END_TEST

/* A symbolic batch for the implicit GEMM and the depthwise kernel. */
START_TEST(test_conv2d_symbolic)
{
    const ConvCase cases[] = {
        {0, 4, 9, 9, 8, 3, 3, 1, 1, 1, 1, true, 1, 1},
        {0, 4, 9, 9, 8, 3, 3, 1, 1, 1, 1, true, 1, 3},
        {0, 4, 9, 9, 4, 3, 3, 2, 1, 1, 4, true, 1, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        conv_check(&cases[i], IR_F32, TOL_F32, "sym_");
}
END_TEST

/* ---- conv_transpose2d ---- */

START_TEST(test_conv_transpose2d)
{
    /* B, C, H, W, O, k, stride, pad, output_padding, dilation, groups, bias, ep, sym */
    static const int64_t cases[][14] = {
        {2, 4, 5, 6, 6, 3, 2, 1, 1, 1, 2, 1, 1, 0},
        {1, 3, 4, 4, 2, 3, 3, 2, 2, 2, 1, 0, 0, 0},
        {0, 6, 4, 3, 6, 4, 2, 1, 0, 1, 3, 1, 1, 3},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int64_t *p = cases[k];
        Graph *g = ir_graph_new("ct");
        RtTensor in[1];
        ValueId x = p[13] ? sym_input(g, "x", 4, D(1, p[1], p[2], p[3]), p[13], &in[0])
                          : sup_input(g, "x", 4, D(p[0], p[1], p[2], p[3]), &in[0], &seed);
        ValueId ins[3] = {x, sup_const_rand(g, "w", 4, D(p[1], p[4] / p[10], p[5], p[5]), &seed),
                          sup_const_rand(g, "b", 1, &p[4], &seed)};
        NodeId n = ir_node_new(g, IR_OP_CONV_TRANSPOSE2D, "ct", (SrcLoc){0}, ins, p[11] ? 3 : 2, 1);
        ir_node_set_int(g, n, "stride", p[6]);
        ir_node_set_int(g, n, "padding", p[7]);
        ir_node_set_int(g, n, "output_padding", p[8]);
        ir_node_set_int(g, n, "dilation", p[9]);
        ir_node_set_int(g, n, "groups", p[10]);
        if (p[12])
            add_ep(g, n, IR_OP_TANH, IR_NONE, false);
        ir_output_add(g, out_of(g, n));
        check(g, in, 1, NULL, "conv_transpose2d");
    }
}
END_TEST

/* ---- tensor cores ---- */

static void tensor_core_linear(DType prec, double tol, const char *mma)
{
    const LinCase lin[] = {
        {0, 70, 100, 130, true, true, 1, 0},
        {0, 40, 45, 70, false, false, 2, 0},
        {0, 0, 50, 70, true, true, 0, 20},
    };
    for (size_t i = 0; i < sizeof lin / sizeof lin[0]; i++)
        linear_check(&lin[i], prec, tol, mma);
}

static void tensor_core_matmul_conv(DType prec, double tol, const char *mma)
{
    matmul_check(4, D(2, 3, 37, 45), 2, D(45, 70), false, prec, tol, mma);
    matmul_check(3, D(3, 20, 33), 1, D(33), false, prec, tol, mma);
    const ConvCase conv[] = {
        {2, 6, 11, 11, 70, 3, 3, 1, 1, 1, 1, true, 2, 0},
        {2, 8, 9, 10, 12, 3, 3, 2, 2, 2, 2, false, 1, 0},
    };
    for (size_t i = 0; i < sizeof conv / sizeof conv[0]; i++)
        conv_check(&conv[i], prec, tol, mma);
}

/* precision f16: linear (both layouts, symbolic batch), matmul, conv2d on mma.m16n8k16. */
START_TEST(test_tensor_cores_f16_linear)
{
    tensor_core_linear(IR_F16, TOL_F16, "slimc_mma_f16_16816");
}
END_TEST

START_TEST(test_tensor_cores_f16_matmul_conv)
{
    tensor_core_matmul_conv(IR_F16, TOL_F16, "slimc_mma_f16_16816");
}
END_TEST

/* precision bf16: the same. */
START_TEST(test_tensor_cores_bf16_linear)
{
    tensor_core_linear(IR_BF16, TOL_BF16, "slimc_mma_bf16_16816");
}
END_TEST

START_TEST(test_tensor_cores_bf16_matmul_conv)
{
    tensor_core_matmul_conv(IR_BF16, TOL_BF16, "slimc_mma_bf16_16816");
}
END_TEST

/* The 128 x 128 tensor-core tile (8 warps of 64 x 32); and the f32 tolerance fails on the
 * f16 path (the check is not vacuous: the operands really are rounded). */
START_TEST(test_tensor_cores_big)
{
    const LinCase lc = {0, 1200, 40, 1900, true, true, 1, 0};
    linear_check(&lc, IR_F16, TOL_F16, "_mma128");
    RtTensor in[2];
    int n_in;
    const LinCase small = {0, 40, 300, 70, true, false, 0, 0};
    Graph *g = linear_graph(&small, in, &n_in);
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    ir_diag_fini(&d);
    char msg[8192];
    CgOptions o = {.source_name = "test", .precision = IR_F16};
    const bool ok = sup_cuda_check(g, in, &o, 1e-6, msg, sizeof msg);
    for (int i = 0; i < n_in; i++)
        free(in[i].data);
    ir_graph_free(g);
    remove("failed_model.cu"); /* what sup_cuda_check keeps of the failure it was meant to have */
    ck_assert_msg(!ok && strstr(msg, "max error"), "f16 matched f32 to 1e-6: %s", msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cuda_gemm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_linear_tiles);
    tcase_add_test(tc, test_linear_tiles64);
    tcase_add_test(tc, test_linear_gemv);
    tcase_add_test(tc, test_linear_symbolic);
    tcase_add_test(tc, test_linear_big_tiles);
    tcase_add_test(tc, test_matmul_batched);
    tcase_add_test(tc, test_conv2d_gemm);
    tcase_add_test(tc, test_conv2d_gemm64);
    tcase_add_test(tc, test_conv2d_depthwise);
    tcase_add_test(tc, test_conv2d_symbolic);
    tcase_add_test(tc, test_conv_transpose2d);
    tcase_add_test(tc, test_tensor_cores_f16_linear);
    tcase_add_test(tc, test_tensor_cores_f16_matmul_conv);
    tcase_add_test(tc, test_tensor_cores_bf16_linear);
    tcase_add_test(tc, test_tensor_cores_bf16_matmul_conv);
    tcase_add_test(tc, test_tensor_cores_big);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
