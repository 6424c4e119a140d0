/* The int8 path on the GPU (docs/quantization.md, docs/cuda.md "int8"): quantize,
 * dequantize, qlinear, qconv2d, dqlinear and wlinear. (The u8 max_pool2d of an int8 chain
 * is the pool family's, codegen/cuda/pool.c.)
 *
 * The semantics are the C backend's (codegen/c/quant.c, runtime/kernels/quant.c, qconv.c,
 * lowbit.c) and the reference evaluator's (ir/eval.c, ir/lowbit.c), bit for bit where they
 * are integer or one fixed sequence of float steps:
 *   acc   = sum_k x[m, k] w[o, k] - x_zp wsum[o]          exact, in i32 (wrapping)
 *   y     = (float)acc * (x_scale * ws[o]) [+ bias[o]]    each step rounded once (no FMA)
 *   u8    = clamp(rint(act(y) * (1 / y_scale)) + y_zp, 0, 255), NaN -> 0   (y_scale set)
 * The float steps are spelled slimc_fmul_rn / slimc_fadd_rn / slimc_fdiv_rn, so that NVRTC
 * cannot contract them into FMAs, in the order the CPU code computes them.
 *
 * The integer dot products use slimc_dp4a, which multiplies signed bytes: an activation
 * a (u8) enters as a ^ 0x80 = a - 128 (s8), and the 128 sum_k w[o, k] this takes away is
 * added back from the weights' own sum, accumulated by the same kernel (dp4a with
 * 0x01010101), not from the wsum input (which a hand-written model may set otherwise:
 * the reference subtracts x_zp wsum[o] whatever it holds). All of it is i32 arithmetic
 * modulo 2^32, as the CPU's.
 *
 * The kernels read the plain [O, K] weight: a weight packed by the layout pass for the
 * CPU (w_packed=1) is refused (passes/layout.c leaves nodes placed on CUDA unpacked). */
#include "codegen/cuda/quant.h"

#include <string.h>

/* ---- checks ---- */

/* Refuses what the kernels do not take (an error at the node, false). */
static bool check_node(CgCtx *c, NodeId id)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Value *out = &g->values[n->outputs[0]];
    if (ir_attr_w_packed(n)) {
        cg_error(c, n,
                 "its weight is packed for the CPU (w_packed=1, the layout pass); the CUDA "
                 "kernels read the plain [O, K] weight (run the layout pass after placement: it "
                 "leaves nodes on CUDA unpacked)");
        return false;
    }
    for (int j = 0; j < n->n_epilogue; j++)
        if (n->epilogue[j].operand != IR_NONE &&
            g->values[n->epilogue[j].operand].type.dtype != IR_F32) {
            cg_error(c, n, "epilogue operand '%s' must be f32",
                     cg_text(c, g->values[n->epilogue[j].operand].name));
            return false;
        }
    if (n->n_epilogue && out->type.dtype != IR_F32) {
        cg_error(c, n, "writes %s and cannot take an f32 epilogue", ir_dtype_name(out->type.dtype));
        return false;
    }
    return true;
}

/* ---- shared pieces of the kernels' text ---- */

/* Statements that store float y (the layer's f32 result for output element `flat`): with
 * y_scale (an int8 chain, passes/qchain.c) requantized to u8 exactly as slimc_rt_qstore
 * does, else the node's epilogue and an f32 store. */
static void emit_store(CgCtx *c, NodeId id, int ind, const char *y, const char *flat)
{
    const Node *n = &c->g->nodes[id];
    if (!ir_node_attr_id(n, IR_A_y_scale)) {
        cu_ep_apply(c, id, ind, y, flat);
        cg_printf(c, "%*sout[%s] = %s;\n", ind, "", flat, y);
        return;
    }
    const long long act = (long long)ir_attr_act(n), zp = (long long)ir_attr_y_zero_point(n);
    const float ys = (float)ir_attr_y_scale(n);
    if (act == 1)
        cg_printf(c, "%*s%s = %s <= 0.0f ? 0.0f : %s; /* relu */\n", ind, "", y, y, y);
    else if (act == 2)
        cg_printf(c, "%*s%s = %s <= 0.0f ? 0.0f : %s >= 6.0f ? 6.0f : %s; /* relu6 */\n", ind, "",
                  y, y, y, y);
    if (ir_attr_y_divide(n)) /* ONNX's QuantizeLinear divides by its scale */
        cg_printf(c, "%*sfloat qv = slimc_fadd_rn(rintf(slimc_fdiv_rn(%s, %s)), %lld.0f);\n", ind,
                  "", y, cg_float(c, ys), zp);
    else
        cg_printf(c, "%*sfloat qv = slimc_fadd_rn(rintf(slimc_fmul_rn(%s, %s)), %lld.0f);\n", ind,
                  "", y, cg_float(c, (double)(1.0f / ys)), zp);
    cg_printf(c, "%*sqv = qv > 0.0f ? qv : 0.0f; /* NaN -> 0 */\n", ind, "");
    cg_printf(c, "%*sout[%s] = (uint8_t)(qv < 255.0f ? qv : 255.0f);\n", ind, "", flat);
}

/* ---- quantize, dequantize ---- */

#define EW_THREADS 256

void cu_emit_qdq(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    if (!check_node(c, id))
        return;
    if (n->op == IR_OP_QUANTIZE && n->n_epilogue) {
        cg_error(c, n, "quantize cannot carry an epilogue");
        return;
    }
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->outputs[0]), &ne))
        return;
    const char *total = cg_dim(c, ne);
    const double scale = ir_attr_scale(n);
    const long long zp = (long long)ir_attr_zero_point(n);
    int k = cu_kernel_begin(c, id, NULL, EW_THREADS);
    cu_in(c, id, 0, "x");
    cu_out(c, id, "out");
    cg_printf(c, "    const int64_t n = %s;\n", total);
    cg_printf(c,
              "    for (int64_t f = (int64_t)blockIdx.x * %d + threadIdx.x; f < n;\n"
              "         f += (int64_t)gridDim.x * %d) {\n",
              EW_THREADS, EW_THREADS);
    if (n->op == IR_OP_QUANTIZE) {
        /* slimc_rt_quantize_u8: rint(x * (1 / scale)) + zp, clamped, NaN -> 0 */
        const float inv = 1.0f / (float)scale;
        cg_printf(c, "        float v = slimc_fadd_rn(rintf(slimc_fmul_rn(x[f], %s)), %lld.0f);\n",
                  cg_float(c, (double)inv), zp);
        cg_printf(c, "        v = v > 0.0f ? v : 0.0f; /* NaN -> 0 */\n");
        cg_printf(c, "        out[f] = (uint8_t)(v < 255.0f ? v : 255.0f);\n    }\n");
    } else {
        cg_printf(c, "        float v = slimc_fmul_rn((float)((int)x[f] - %lld), %s);\n", zp,
                  cg_float(c, scale));
        cu_ep_apply(c, id, 8, "v", "f");
        cg_printf(c, "        out[f] = v;\n    }\n");
    }
    cu_kernel_end(c);
    const char *grid[3] = {cg_strf(c, "slimc_cu_blocks(%s)", cu_ceil_div(c, total, EW_THREADS)),
                           "1", "1"};
    cu_launch(c, id, k, grid, (const int[3]){EW_THREADS, 1, 1},
              "one thread per element, grid-stride");
}

/* ---- the int8 GEMM: qlinear, dqlinear, qconv2d (implicit GEMM) ---- */

/* What the tile loader reads as A's row m and column k. */
typedef enum QaKind {
    QA_LINEAR,  /* x u8 [M, K] */
    QA_DYNAMIC, /* x f32 [M, K], quantized as it is loaded (dqlinear) */
    QA_CONV,    /* x u8 [B, C, H, W], row m = output pixel (b, oh, ow), k = (ci, kh, kw) */
} QaKind;

typedef struct QGemm {
    QaKind kind;
    const char *M;         /* rows: an int64 C expression */
    long long K, O, OG, G; /* reduction length (per group), outputs, per group, groups */
    long long C, H, W, P;  /* conv: input channels and size, output pixels per image */
    long long CG, KH, KW, OW, SH, SW, PH, PW, DH, DW;
    const char *part; /* dqlinear: the module global of the minmax kernel's partials */
} QGemm;

/* 64 x 64 tiles, 256 threads, k in steps of 32 bytes (8 words of 4) */
enum { QT = 64, QK = 32, QTHREADS = 256, DQ_PARTS = 64 };

/* Statements that set `uint32_t av` to A's 4 bytes k .. k + 3 of row m (as s8: u8 ^ 0x80;
 * 0 past K) where m < M. */
static void emit_load_a(CgCtx *c, const Node *n, const QGemm *q)
{
    if (q->kind == QA_LINEAR && q->K % 4 == 0) { /* rows of whole words: one load */
        cg_printf(c,
                  "                av = *(const uint32_t *)(const void *)(x + m * %lld + k) ^ "
                  "0x80808080u;\n",
                  q->K);
        return;
    }
    if (q->kind == QA_LINEAR) {
        cg_printf(c, "                const uint8_t *xr = x + m * %lld;\n", q->K);
        cg_printf(c,
                  "                for (int t = 0; t < 4; t++)\n"
                  "                    if (k + t < %lld)\n"
                  "                        av |= (uint32_t)(xr[k + t] ^ 0x80u) << (8 * t);\n",
                  q->K);
        return;
    }
    if (q->kind == QA_DYNAMIC) { /* slimc_rt_quantize_u8 with x's parameters */
        cg_printf(c, "                const float *xr = x + m * %lld;\n", q->K);
        cg_printf(c, "                for (int t = 0; t < 4 && k + t < %lld; t++) {\n", q->K);
        cg_printf(c, "                    float v = slimc_fadd_rn(rintf(slimc_fmul_rn(xr[k + t], "
                     "inv)), zpf);\n"
                     "                    v = v > 0.0f ? v : 0.0f; /* NaN -> 0 */\n"
                     "                    v = v < 255.0f ? v : 255.0f;\n"
                     "                    av |= ((uint32_t)v ^ 0x80u) << (8 * t);\n"
                     "                }\n");
        return;
    }
    /* conv: the tap's input pixel, or the zero point in the padding */
    const long long zp = (long long)ir_attr_x_zero_point(n);
    cg_printf(c, "                const int64_t b = m / %lld;\n", q->P);
    cg_printf(c,
              "                const int p = (int)(m - b * %lld), oh = p / %lld, ow = p %% %lld;\n",
              q->P, q->OW, q->OW);
    cg_printf(c, "                const uint8_t *xb = x + (b * %lld + gi * %lld) * %lld;\n", q->C,
              q->CG, q->H * q->W);
    cg_printf(c, "                for (int t = 0; t < 4 && k + t < %lld; t++) {\n", q->K);
    cg_printf(c, "                    const int kk = k + t, ci = kk / %lld, tap = kk %% %lld;\n",
              q->KH * q->KW, q->KH * q->KW);
    cg_printf(c,
              "                    const int ih = oh * %lld - %lld + tap / %lld * %lld, iw = ow * "
              "%lld - %lld + tap %% %lld * %lld;\n",
              q->SH, q->PH, q->KW, q->DH, q->SW, q->PW, q->KW, q->DW);
    cg_printf(c,
              "                    const uint32_t v = (ih >= 0 && ih < %lld && iw >= 0 && iw < "
              "%lld) ? xb[(ci * %lld + ih) * %lld + iw] : %lldu;\n",
              q->H, q->W, q->H, q->W, zp);
    cg_printf(c, "                    av |= (v ^ 0x80u) << (8 * t);\n                }\n");
}

/* The dqlinear preamble: x's u8 parameters from the minmax kernel's partials, exactly as
 * slimc_rt_dyn_params computes them (lo, hi start at 0; a NaN is never taken; min and max
 * are exact, so their order does not matter). */
static void emit_dyn_params(CgCtx *c, const QGemm *q)
{
    cg_printf(c, "    if (threadIdx.x < 32) { /* warp 0 combines the %d partials */\n", DQ_PARTS);
    cg_printf(c, "        float lo = 0.0f, hi = 0.0f;\n");
    cg_printf(c, "        for (int i = threadIdx.x; i < %d; i += 32) {\n", DQ_PARTS);
    cg_printf(c, "            lo = %s[i][0] < lo ? %s[i][0] : lo;\n", q->part, q->part);
    cg_printf(c, "            hi = %s[i][1] > hi ? %s[i][1] : hi;\n        }\n", q->part, q->part);
    cg_printf(c, "        for (int d = 16; d > 0; d >>= 1) {\n"
                 "            const float l2 = slimc_shfl_xor_f(lo, d), h2 = slimc_shfl_xor_f(hi, "
                 "d);\n"
                 "            lo = l2 < lo ? l2 : lo;\n"
                 "            hi = h2 > hi ? h2 : hi;\n        }\n");
    cg_printf(c, "        if (threadIdx.x == 0) {\n"
                 "            float s = slimc_fdiv_rn(slimc_fsub_rn(hi, lo), 255.0f), z = 0.0f;\n"
                 "            if (!(s > 0.0f) || s > 3.0e38f) {\n"
                 "                s = 1.0f;\n"
                 "            } else {\n"
                 "                z = nearbyintf(slimc_fdiv_rn(-lo, s));\n"
                 "                z = z < 0.0f ? 0.0f : z > 255.0f ? 255.0f : z;\n"
                 "            }\n"
                 "            par[0] = s;\n"
                 "            par[1] = z;\n        }\n    }\n");
    cg_printf(c, "    __syncthreads();\n");
    cg_printf(c, "    const float xs = par[0], zpf = par[1], inv = slimc_fdiv_rn(1.0f, xs);\n");
    cg_printf(c, "    const int zp = (int)zpf;\n");
}

/* The store of output (row m, output o of group gi) from its accumulator `acc` (of the
 * s8 activations a - 128) and wss[], the weights' sums of the tile's outputs:
 * acc + 128 sum w - zp wsum, modulo 2^32, then qout's float steps and the store. */
static void emit_qepilogue(CgCtx *c, NodeId id, const QGemm *q, int ind, const char *acc,
                           const char *col)
{
    const Node *n = &c->g->nodes[id];
    const bool has_bias = n->n_inputs > 4 && n->inputs[4] != IR_NONE;
    cg_printf(c, "%*sif (m < M && o < %lld) {\n", ind, "", q->OG);
    ind += 4;
    cg_printf(c, "%*sconst int oo = gi * %lld + o;\n", ind, "", q->OG);
    cg_printf(c, "%*sconst int s = (int)((uint32_t)%s + 128u * (uint32_t)wss[%s] -\n", ind, "", acc,
              col);
    cg_printf(c, "%*s                    (uint32_t)zp * (uint32_t)wsum[oo]);\n", ind, "");
    cg_printf(c, "%*sfloat y = slimc_fmul_rn((float)s, slimc_fmul_rn(xs, ws[oo]));\n", ind, "");
    if (has_bias)
        cg_printf(c, "%*sy = slimc_fadd_rn(y, bias[oo]);\n", ind, "");
    if (q->kind == QA_CONV)
        cg_printf(c,
                  "%*sconst int64_t b = m / %lld, f = (b * %lld + oo) * %lld + (m - b * %lld);\n",
                  ind, "", q->P, q->O, q->P, q->P);
    else
        cg_printf(c, "%*sconst int64_t f = m * %lld + oo;\n", ind, "", q->O);
    emit_store(c, id, ind, "y", "f");
    cg_printf(c, "%*s}\n", ind - 4, "");
}

/* The GEMM kernel of q for node id: a block computes a 64 x 64 tile of (rows, outputs of
 * group blockIdx.z). Its 256 threads load A's and W's 64 x 32-byte slices into shared
 * memory (a word of 4 bytes each, two per thread; rows of 9 words), and threads 0-63 add
 * the slice of their output's weights to its sum (dp4a with 0x01010101). Then
 *   dp4a (tc false): each thread computes 4 x 4 outputs, 16 apart, so that the fast thread
 *     index reads consecutive rows of one array (no bank conflicts) and stores consecutive
 *     elements (outputs of a linear, pixels of a conv: coalesced);
 *   tensor cores (tc true): warp w computes rows 16 (w % 4) .. + 16 x outputs 32 (w / 4) ..
 *     + 32 as four m16n8k32 s8 mma per k step (slimc_mma_s8_16832; the fragments read from
 *     shared memory as PTX lays them out).
 * A launch runs when `guard` (a C condition over M, or NULL) holds: a symbolic M gets both
 * kernels, each launched for the sizes it suits. */
static void emit_qgemm(CgCtx *c, NodeId id, const QGemm *q, bool tc, const char *guard)
{
    const Node *n = &c->g->nodes[id];
    const bool conv = q->kind == QA_CONV, dyn = q->kind == QA_DYNAMIC;
    const bool has_bias = n->n_inputs > 4 && n->inputs[4] != IR_NONE;
    int k = cu_kernel_begin(c, id, tc ? "_tc" : NULL, QTHREADS);
    cg_printf(c,
              "    __shared__ uint32_t As[%d][%d]; /* A: %d rows x %d bytes (s8: u8 ^ 0x80) */\n",
              QT, QK / 4 + 1, QT, QK);
    cg_printf(c, "    __shared__ uint32_t Ws[%d][%d]; /* W: %d outputs x %d bytes (s8) */\n", QT,
              QK / 4 + 1, QT, QK);
    cg_printf(c, "    __shared__ int wss[%d]; /* sum_k w of the tile's outputs */\n", QT);
    if (dyn)
        cg_printf(c, "    __shared__ float par[2]; /* x's scale and zero point */\n");
    cu_in(c, id, 0, "x");
    cu_in(c, id, 1, "w");
    cu_in(c, id, 2, "ws");
    cu_in(c, id, 3, "wsum");
    if (has_bias)
        cu_in(c, id, 4, "bias");
    cu_out(c, id, "out"); /* u8 with y_scale, else f32 */
    cg_printf(c, "    const int64_t M = %s;\n", q->M);
    cg_printf(c, "    const int tid = threadIdx.x;\n");
    cg_printf(c, "    const int64_t m0 = (int64_t)blockIdx.x * %d;\n", QT);
    cg_printf(c, "    const int o0 = (int)blockIdx.y * %d, gi = (int)blockIdx.z;\n", QT);
    cg_printf(c, "    (void)gi;\n");
    if (dyn)
        emit_dyn_params(c, q);
    else
        cg_printf(c, "    const float xs = %s;\n    const int zp = %lld;\n",
                  cg_float(c, ir_attr_x_scale(n)), (long long)ir_attr_x_zero_point(n));
    if (tc) {
        cg_printf(c, "    /* lane (g, t) = (lane / 4, lane %% 4) of the mma fragments */\n");
        cg_printf(c, "    const int g8 = SLIMC_LANE >> 2, t4 = SLIMC_LANE & 3;\n");
        cg_printf(c, "    const int r0 = (SLIMC_WARP & 3) * 16, c0 = (SLIMC_WARP >> 2) * 32;\n");
        cg_printf(c, "    int acc[4][4]; /* [n8 tile][fragment register] */\n");
    } else {
        cg_printf(c, "    const int ti = tid %s, tj = tid %s;\n", conv ? "& 15" : ">> 4",
                  conv ? ">> 4" : "& 15");
        cg_printf(c, "    /* thread (ti, tj): rows ti + 16 i, outputs tj + 16 j (i, j < 4)%s */\n",
                  conv ? "; ti, the pixel, fastest: stores along a plane coalesce" : "");
        cg_printf(c, "    int acc[4][4];\n");
    }
    cg_printf(c, "    int wsown = 0; /* threads 0-63: the sum of output o0 + tid's weights */\n");
    cg_printf(c, "    for (int i = 0; i < 4; i++)\n        for (int j = 0; j < 4; j++)\n"
                 "            acc[i][j] = 0;\n");
    cg_printf(c, "    for (int k0 = 0; k0 < %lld; k0 += %d) {\n", q->K, QK);
    cg_printf(c, "        for (int l = tid; l < %d; l += %d) {\n", QT * QK / 4, QTHREADS);
    cg_printf(c, "            const int r = l >> 3, qw = l & 7, k = k0 + 4 * qw;\n");
    cg_printf(c, "            const int64_t m = m0 + r;\n            uint32_t av = 0u, wv = 0u;\n");
    cg_printf(c, "            if (m < M && k < %lld) {\n", q->K);
    emit_load_a(c, n, q);
    cg_printf(c, "            }\n            As[r][qw] = av;\n");
    cg_printf(c, "            const int o = o0 + r;\n");
    cg_printf(c, "            if (o < %lld && k < %lld) {\n", q->OG, q->K);
    cg_printf(c, "                const int8_t *wr = w + (int64_t)(gi * %lld + o) * %lld;\n", q->OG,
              q->K);
    if (q->K % 4 == 0)
        cg_printf(c, "                wv = *(const uint32_t *)(const void *)(wr + k);\n");
    else
        cg_printf(c,
                  "                for (int t = 0; t < 4 && k + t < %lld; t++)\n"
                  "                    wv |= (uint32_t)(uint8_t)wr[k + t] << (8 * t);\n",
                  q->K);
    cg_printf(c, "            }\n            Ws[r][qw] = wv;\n        }\n");
    cg_printf(c, "        __syncthreads();\n");
    cg_printf(c,
              "        if (tid < %d)\n            for (int qw = 0; qw < %d; qw++)\n"
              "                wsown = slimc_dp4a((int)Ws[tid][qw], 0x01010101, wsown);\n",
              QT, QK / 4);
    if (tc) {
        cg_printf(c, "        const uint32_t af[4] = {As[r0 + g8][t4], As[r0 + g8 + 8][t4],\n"
                     "                                As[r0 + g8][t4 + 4], As[r0 + g8 + 8][t4 + "
                     "4]};\n");
        cg_printf(c, "        for (int j = 0; j < 4; j++) {\n"
                     "            const uint32_t bf[2] = {Ws[c0 + 8 * j + g8][t4], Ws[c0 + 8 * j "
                     "+ g8][t4 + 4]};\n"
                     "            int d[4];\n"
                     "            slimc_mma_s8_16832(d, af, bf, acc[j]);\n"
                     "            for (int i = 0; i < 4; i++)\n"
                     "                acc[j][i] = d[i];\n        }\n");
    } else {
        cg_printf(c, "        for (int qw = 0; qw < %d; qw++) {\n", QK / 4);
        cg_printf(c, "            int ar[4], wr[4];\n");
        cg_printf(c, "            for (int i = 0; i < 4; i++) {\n"
                     "                ar[i] = (int)As[ti + 16 * i][qw];\n"
                     "                wr[i] = (int)Ws[tj + 16 * i][qw];\n            }\n");
        cg_printf(c, "            for (int i = 0; i < 4; i++)\n"
                     "                for (int j = 0; j < 4; j++)\n"
                     "                    acc[i][j] = slimc_dp4a(ar[i], wr[j], acc[i][j]);\n"
                     "        }\n");
    }
    cg_printf(c, "        __syncthreads();\n    }\n");
    cg_printf(c, "    if (tid < %d)\n        wss[tid] = wsown;\n    __syncthreads();\n", QT);
    if (tc) { /* d[i]: row g + 8 (i / 2), output 2 t + i % 2 of the n8 tile */
        cg_printf(c, "    for (int j = 0; j < 4; j++)\n        for (int i = 0; i < 4; i++) {\n");
        cg_printf(c, "            const int col = c0 + 8 * j + 2 * t4 + (i & 1), o = o0 + col;\n");
        cg_printf(c, "            const int64_t m = m0 + r0 + g8 + 8 * (i >> 1);\n");
        emit_qepilogue(c, id, q, 12, "acc[j][i]", "col");
        cg_printf(c, "        }\n");
    } else {
        cg_printf(c, "    for (int i = 0; i < 4; i++)\n        for (int j = 0; j < 4; j++) {\n");
        cg_printf(c, "            const int64_t m = m0 + ti + 16 * i;\n"
                     "            const int o = o0 + tj + 16 * j;\n");
        emit_qepilogue(c, id, q, 12, "acc[i][j]", "tj + 16 * j");
        cg_printf(c, "        }\n");
    }
    cu_kernel_end(c);
    const char *gx = cu_ceil_div(c, q->M, QT);
    if (guard)
        gx = cg_strf(c, "(%s) ? %s : 0", guard, gx);
    const char *grid[3] = {gx, cg_strf(c, "%lld", (q->OG + QT - 1) / QT), cg_strf(c, "%lld", q->G)};
    const char *what = conv ? "a block per 64 output pixels x 64 output channels of a group"
                            : "a block per 64 "
                              "rows x 64 outputs";
    cu_launch(c, id, k, grid, (const int[3]){QTHREADS, 1, 1},
              cg_strf(c, "%s, %s%s", what,
                      tc ? "8 warps of 16 x 32 on tensor cores (mma s8)"
                         : "each thread 4 x 4 outputs with dp4a",
                      guard ? cg_strf(c, " (when %s)", guard) : ""));
}

/* Rows at which a tile of 64 goes to the tensor cores: below, most of the tile's rows would
 * be padding, and dp4a's 4 x 4 per thread does the few real ones with less work. */
#define QGEMM_TC_ROWS 64

/* The kernel(s) of q: tensor cores for M >= QGEMM_TC_ROWS, dp4a below; a symbolic M gets
 * both, each launched only for the sizes it takes. Mc: M's value, -1 when symbolic. */
static void emit_qgemm_for(CgCtx *c, NodeId id, const QGemm *q, long long Mc)
{
    if (Mc >= 0) {
        emit_qgemm(c, id, q, Mc >= QGEMM_TC_ROWS, NULL);
        return;
    }
    emit_qgemm(c, id, q, true, cg_strf(c, "%s >= %d", q->M, QGEMM_TC_ROWS));
    emit_qgemm(c, id, q, false, cg_strf(c, "%s < %d", q->M, QGEMM_TC_ROWS));
}

/* The rows of a linear's x [.., K]: the product of its leading dims, as a C expression (*M)
 * and, when they are all static, its value (*Mc; -1 when symbolic). */
static bool linear_dims(CgCtx *c, NodeId id, const char **M, long long *Mc, long long *O,
                        long long *K)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    if (ws->rank != 2 || xs->rank < 1 || !ir_dim_static(ws->d[0]) || !ir_dim_static(ws->d[1])) {
        cg_error(c, n, "expects x [.., K] and a static 2-D weight");
        return false;
    }
    *M = cg_prod(c, xs, 0, xs->rank - 1);
    *Mc = 1;
    for (int i = 0; i + 1 < xs->rank && *Mc >= 0; i++)
        *Mc = ir_dim_static(xs->d[i]) ? *Mc * (long long)xs->d[i].c : -1;
    *O = (long long)ws->d[0].c;
    *K = (long long)ws->d[1].c;
    return true;
}

void cu_emit_qlinear(CgCtx *c, NodeId id)
{
    QGemm q = {.kind = QA_LINEAR, .G = 1};
    long long Mc;
    if (!check_node(c, id) || !linear_dims(c, id, &q.M, &Mc, &q.O, &q.K))
        return;
    q.OG = q.O;
    emit_qgemm_for(c, id, &q, Mc);
}

/* dqlinear: a kernel of DQ_PARTS blocks finds the minimum and maximum of x's part of each
 * (grid-stride, warp shuffles, then the block's 8 warps through shared memory) into a
 * module global, which the GEMM kernel's blocks combine at their start. */
void cu_emit_dqlinear(CgCtx *c, NodeId id)
{
    QGemm q = {.kind = QA_DYNAMIC, .G = 1};
    long long Mc;
    if (!check_node(c, id) || !linear_dims(c, id, &q.M, &Mc, &q.O, &q.K))
        return;
    q.OG = q.O;
    q.part = cg_strf(c, "%s_part", c->fn_names[id]);
    cg_printf(c,
              "/* the partial (min, max) of x of each block of %s_minmax: this module's own\n"
              " * memory, written and read in one run (the stream orders the two kernels) */\n",
              c->fn_names[id]);
    cg_printf(c, "static __device__ float %s[%d][2];\n\n", q.part, DQ_PARTS);
    int k = cu_kernel_begin(c, id, "_minmax", QTHREADS);
    cg_printf(c, "    __shared__ float los[%d], his[%d];\n", QTHREADS / 32, QTHREADS / 32);
    cu_in(c, id, 0, "x");
    cg_printf(c, "    const int64_t n = (%s) * %lld;\n", q.M, q.K);
    cg_printf(c, "    float lo = 0.0f, hi = 0.0f; /* slimc_rt_dyn_params: 0 is in the range */\n");
    cg_printf(c, "    for (int64_t i = (int64_t)blockIdx.x * %d + threadIdx.x; i < n; i += %d) {\n",
              QTHREADS, QTHREADS * DQ_PARTS);
    cg_printf(c,
              "        const float v = x[i];\n        lo = v < lo ? v : lo; /* NaN: kept out */\n"
              "        hi = v > hi ? v : hi;\n    }\n");
    cg_printf(c, "    for (int d = 16; d > 0; d >>= 1) {\n"
                 "        const float l2 = slimc_shfl_xor_f(lo, d), h2 = slimc_shfl_xor_f(hi, d);\n"
                 "        lo = l2 < lo ? l2 : lo;\n        hi = h2 > hi ? h2 : hi;\n    }\n");
    cg_printf(c, "    if (SLIMC_LANE == 0) {\n        los[SLIMC_WARP] = lo;\n"
                 "        his[SLIMC_WARP] = hi;\n    }\n    __syncthreads();\n");
    cg_printf(c,
              "    if (threadIdx.x == 0) {\n        for (int i = 1; i < %d; i++) {\n"
              "            lo = los[i] < lo ? los[i] : lo;\n"
              "            hi = his[i] > hi ? his[i] : hi;\n        }\n",
              QTHREADS / 32);
    cg_printf(c, "        %s[blockIdx.x][0] = lo;\n        %s[blockIdx.x][1] = hi;\n    }\n",
              q.part, q.part);
    cu_kernel_end(c);
    cu_launch(c, id, k, (const char *[3]){cg_strf(c, "%d", DQ_PARTS), "1", "1"},
              (const int[3]){QTHREADS, 1, 1},
              "x's minimum and maximum, a part per block (its partial in module memory)");
    emit_qgemm_for(c, id, &q, Mc);
}

/* ---- qconv2d ---- */

/* A depthwise qconv2d (one input channel per group): one thread per output element (a
 * grid-stride loop; consecutive threads take consecutive pixels of a plane, so their reads
 * of x and their stores coalesce), KH x KW taps from global memory (each input pixel is
 * read by at most KH KW neighbouring threads: the cache serves the reuse). */
static void emit_qconv_dw(CgCtx *c, NodeId id, const QGemm *q, const char *B)
{
    const Node *n = &c->g->nodes[id];
    const bool has_bias = n->n_inputs > 4 && n->inputs[4] != IR_NONE;
    const long long zp = (long long)ir_attr_x_zero_point(n);
    const char *total = cg_strf(c, "%s * %lld", B, q->O * q->P);
    int k = cu_kernel_begin(c, id, NULL, EW_THREADS);
    cu_in(c, id, 0, "x");
    cu_in(c, id, 1, "w");
    cu_in(c, id, 2, "ws");
    cu_in(c, id, 3, "wsum");
    if (has_bias)
        cu_in(c, id, 4, "bias");
    cu_out(c, id, "out"); /* u8 with y_scale, else f32 */
    cg_printf(c, "    const int64_t n = %s;\n", total);
    cg_printf(c,
              "    for (int64_t f = (int64_t)blockIdx.x * %d + threadIdx.x; f < n;\n"
              "         f += (int64_t)gridDim.x * %d) {\n",
              EW_THREADS, EW_THREADS);
    cg_printf(c, "        const int64_t bo = f / %lld; /* image * %lld + output channel */\n", q->P,
              q->O);
    cg_printf(c, "        const int p = (int)(f - bo * %lld), oh = p / %lld, ow = p %% %lld;\n",
              q->P, q->OW, q->OW);
    cg_printf(c, "        const int o = (int)(bo %% %lld);\n", q->O);
    cg_printf(c, "        const uint8_t *xc = x + (bo / %lld * %lld + o / %lld) * %lld;\n", q->O,
              q->C, q->OG, q->H * q->W);
    cg_printf(c, "        const int8_t *wo = w + o * %lld;\n", q->KH * q->KW);
    cg_printf(c, "        int acc = 0;\n");
    cg_printf(c, "        for (int kh = 0; kh < %lld; kh++) {\n", q->KH);
    cg_printf(c, "            const int ih = oh * %lld - %lld + kh * %lld;\n", q->SH, q->PH, q->DH);
    cg_printf(c, "            for (int kw = 0; kw < %lld; kw++) {\n", q->KW);
    cg_printf(c, "                const int iw = ow * %lld - %lld + kw * %lld;\n", q->SW, q->PW,
              q->DW);
    cg_printf(c,
              "                const int v = (ih >= 0 && ih < %lld && iw >= 0 && iw < %lld) ? "
              "(int)xc[ih * %lld + iw] : %lld;\n",
              q->H, q->W, q->W, zp);
    cg_printf(c, "                acc += v * (int)wo[kh * %lld + kw];\n            }\n        }\n",
              q->KW);
    cg_printf(c, "        const int s = (int)((uint32_t)acc - %lldu * (uint32_t)wsum[o]);\n", zp);
    cg_printf(c, "        float y = slimc_fmul_rn((float)s, slimc_fmul_rn(%s, ws[o]));\n",
              cg_float(c, ir_attr_x_scale(n)));
    if (has_bias)
        cg_printf(c, "        y = slimc_fadd_rn(y, bias[o]);\n");
    emit_store(c, id, 8, "y", "f");
    cg_printf(c, "    }\n");
    cu_kernel_end(c);
    const char *grid[3] = {cg_strf(c, "slimc_cu_blocks(%s)", cu_ceil_div(c, total, EW_THREADS)),
                           "1", "1"};
    cu_launch(c, id, k, grid, (const int[3]){EW_THREADS, 1, 1},
              "depthwise: one thread per output element, grid-stride");
}

void cu_emit_qconv2d(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    if (!check_node(c, id))
        return;
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    const Shape *os = cg_shape(c, n->outputs[0]);
    if (xs->rank != 4 || ws->rank != 4 || os->rank != 4) {
        cg_error(c, n, "expects 4-D input, weight and output");
        return;
    }
    for (int i = 1; i < 4; i++)
        if (!ir_dim_static(ws->d[i]) || !ir_dim_static(xs->d[i]) || !ir_dim_static(os->d[i]) ||
            !ir_dim_static(ws->d[0])) {
            cg_error(c, n, "needs static channels, kernel and image sizes");
            return;
        }
    int64_t st[2], pad[2], dil[2];
    ir_attr_stride(n, st, 2);
    ir_attr_padding(n, pad, 2);
    ir_attr_dilation(n, dil, 2);
    QGemm q = {.kind = QA_CONV, .G = (long long)ir_attr_groups(n)};
    q.C = (long long)xs->d[1].c;
    q.H = (long long)xs->d[2].c;
    q.W = (long long)xs->d[3].c;
    q.O = (long long)ws->d[0].c;
    q.CG = (long long)ws->d[1].c;
    q.KH = (long long)ws->d[2].c;
    q.KW = (long long)ws->d[3].c;
    q.OW = (long long)os->d[3].c;
    q.P = (long long)os->d[2].c * q.OW;
    q.SH = (long long)st[0], q.SW = (long long)st[1];
    q.PH = (long long)pad[0], q.PW = (long long)pad[1];
    q.DH = (long long)dil[0], q.DW = (long long)dil[1];
    q.OG = q.O / q.G;
    q.K = q.CG * q.KH * q.KW;
    const char *B = cg_dim(c, xs->d[0]);
    if (q.CG == 1 && q.G > 1) {
        emit_qconv_dw(c, id, &q, B);
        return;
    }
    q.M = cg_strf(c, "%s * %lld", B, q.P);
    emit_qgemm_for(c, id, &q, ir_dim_static(xs->d[0]) ? (long long)xs->d[0].c * q.P : -1);
}

/* ---- wlinear ---- */

enum { WT = 64, WK = 16 };

/* wlinear: f32 tiles of 64 rows x 64 outputs, 256 threads of 4 x 4 outputs each; a step of
 * 16 k loads x's slice and W's slice, decoded to f32 (i8 and i4 times their group's
 * scale, f16 and bf16 widened), into shared memory (k-major, so a thread's 4 rows and 4
 * outputs are one row of each). bf16 weights compute as the CPU's bf16 path: x rounded to
 * bf16 first. The sums run in another order than the CPU's: not bit-exact (docs/cuda.md). */
void cu_emit_wlinear(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const char *M;
    long long Mc, O, K;
    if (!check_node(c, id) || !linear_dims(c, id, &M, &Mc, &O, &K))
        return;
    const DType wdt = c->g->values[n->inputs[1]].type.dtype;
    if (wdt != IR_I8 && wdt != IR_I4 && wdt != IR_F16 && wdt != IR_BF16) {
        cg_error(c, n, "has no CUDA kernel for %s weights", ir_dtype_name(wdt));
        return;
    }
    const bool has_sc = n->n_inputs > 2 && n->inputs[2] != IR_NONE;
    const bool has_bias = n->n_inputs > 3 && n->inputs[3] != IR_NONE;
    const long long group = (long long)ir_attr_group_or(n, 1);
    if ((wdt == IR_I8 || wdt == IR_I4) && (!has_sc || group < 1)) {
        cg_error(c, n, "an i8 / i4 weight needs its scales and group");
        return;
    }
    int k = cu_kernel_begin(c, id, NULL, QTHREADS);
    cg_printf(c, "    __shared__ float As[%d][%d]; /* x: %d k x %d rows */\n", WK, WT + 1, WK, WT);
    cg_printf(c, "    __shared__ float Bs[%d][%d]; /* W decoded: %d k x %d outputs */\n", WK,
              WT + 1, WK, WT);
    cu_in(c, id, 0, "x");
    if (wdt == IR_I8)
        cu_in(c, id, 1, "w");
    else
        cg_printf(c, "    const %s *__restrict__ w = (const %s *)a.in[1]; /* %s */\n",
                  wdt == IR_I4 ? "uint8_t" : "uint16_t", wdt == IR_I4 ? "uint8_t" : "uint16_t",
                  cg_type_text(c, &c->g->values[n->inputs[1]].type));
    if (has_sc)
        cu_in(c, id, 2, "sc");
    if (has_bias)
        cu_in(c, id, 3, "bias");
    cu_out(c, id, "out");
    cg_printf(c, "    const int64_t M = %s;\n", M);
    cg_printf(c, "    const int tid = threadIdx.x, ti = tid >> 4, tj = tid & 15;\n");
    cg_printf(c, "    const int64_t m0 = (int64_t)blockIdx.x * %d;\n", WT);
    cg_printf(c, "    const int o0 = (int)blockIdx.y * %d;\n", WT);
    cg_printf(c, "    float acc[4][4];\n    for (int i = 0; i < 4; i++)\n"
                 "        for (int j = 0; j < 4; j++)\n            acc[i][j] = 0.0f;\n");
    cg_printf(c, "    for (int k0 = 0; k0 < %lld; k0 += %d) {\n", K, WK);
    cg_printf(c, "        for (int l = tid; l < %d; l += %d) {\n", WT * WK, QTHREADS);
    cg_printf(c, "            const int r = l >> 4, kk = l & 15, k = k0 + kk, o = o0 + r;\n");
    cg_printf(c, "            const int64_t m = m0 + r;\n");
    cg_printf(c, "            float xv = m < M && k < %lld ? x[m * %lld + k] : 0.0f;\n", K, K);
    if (wdt == IR_BF16) /* as bf16 compute sees it: nearest even, denormals flushed */
        cg_printf(c, "            xv = fabsf(xv) < 1.17549435e-38f ? copysignf(0.0f, xv)\n"
                     "                                             : slimc_b2f(slimc_f2b(xv));\n");
    cg_printf(c, "            As[kk][r] = xv;\n");
    cg_printf(c, "            float wv = 0.0f;\n            if (o < %lld && k < %lld) {\n", O, K);
    if (wdt == IR_I8) {
        cg_printf(c,
                  "                wv = slimc_fmul_rn((float)w[(int64_t)o * %lld + k], sc[o * "
                  "%lld + k / %lld]);\n",
                  K, K / group, group);
    } else if (wdt == IR_I4) { /* two per byte, low nibble first */
        cg_printf(c,
                  "                const int nib = (w[((int64_t)o * %lld + k) >> 1] >> ((k & 1) * "
                  "4)) & 15;\n",
                  K);
        cg_printf(c,
                  "                wv = slimc_fmul_rn((float)((nib ^ 8) - 8), sc[o * %lld + k / "
                  "%lld]);\n",
                  K / group, group);
    } else {
        cg_printf(c, "                wv = %s(w[(int64_t)o * %lld + k]);\n",
                  wdt == IR_F16 ? "slimc_h2f" : "slimc_b2f", K);
    }
    cg_printf(c,
              "            }\n            Bs[kk][r] = wv;\n        }\n        __syncthreads();\n");
    cg_printf(c, "        for (int kk = 0; kk < %d; kk++) {\n", WK);
    cg_printf(c, "            float av[4], bv[4];\n            for (int i = 0; i < 4; i++) {\n"
                 "                av[i] = As[kk][ti + 16 * i];\n"
                 "                bv[i] = Bs[kk][tj + 16 * i];\n            }\n");
    cg_printf(c, "            for (int i = 0; i < 4; i++)\n"
                 "                for (int j = 0; j < 4; j++)\n"
                 "                    acc[i][j] += av[i] * bv[j];\n"
                 "        }\n        __syncthreads();\n    }\n");
    cg_printf(c, "    for (int i = 0; i < 4; i++)\n        for (int j = 0; j < 4; j++) {\n");
    cg_printf(c, "            const int64_t m = m0 + ti + 16 * i;\n"
                 "            const int o = o0 + tj + 16 * j;\n");
    cg_printf(c, "            if (m >= M || o >= %lld)\n                continue;\n", O);
    cg_printf(c, "            const int64_t f = m * %lld + o;\n", O);
    cg_printf(c, "            float y = acc[i][j]%s;\n", has_bias ? " + bias[o]" : "");
    cu_ep_apply(c, id, 12, "y", "f");
    cg_printf(c, "            out[f] = y;\n        }\n");
    cu_kernel_end(c);
    const char *grid[3] = {cu_ceil_div(c, M, WT), cg_strf(c, "%lld", (O + WT - 1) / WT), "1"};
    cu_launch(c, id, k, grid, (const int[3]){QTHREADS, 1, 1},
              "a block per 64 rows x 64 outputs, each thread 4 x 4 outputs in f32");
}
