/* conv2d. Two kernels, chosen per shape, both in the runtime header (runtime/slimc_rt.h):
 *
 * - implicit GEMM (every conv but the depthwise-like ones, 1x1 included): per group,
 *   out[o, p] = bias[o] + w[o, :] · im2col(x)[:, p], computed by slimc_rt_conv2d_blk: the
 *   weights [O, CG*KH*KW] read in place as A, the im2col matrix packed 64 pixels x 512
 *   rows at a time as B (a 1x1, stride-1, unpadded conv reads x itself), the blocked GEMM
 *   micro-kernels, NCHW output. One item is 64 output pixels of one image and a block of
 *   output channels (all of them but in a large conv of few pixels: conv_channel_blocks).
 *   On AVX-512 a conv of few input channels (k <= 160, <= 64 output channels: stems) is
 *   computed directly by the same call, no im2col (runtime/kernels/conv.c).
 * - sparse (one group, a CSR copy of the weight as input 3, w_sparse=1: passes/sparse.c):
 *   slimc_rt_spconv_px (runtime/kernels/sparse_conv.c) on items of 64 pixels, all channels,
 *   the same im2col panels, each output channel's nonzeros only.
 * - N:M (one group, an N:M copy of the weight as input 3, w_sparse=2): slimc_rt_nmconv_tile
 *   (runtime/kernels/sparse_nm.c), the N:M linear kernel on im2col panels of 32 pixels.
 * - depthwise (groups > 1 with one input channel per group): slimc_rt_dw_plane, one output
 *   plane (image b, output channel o) per item; 3x3 stride 1/2 keeps a block of 4 rows x
 *   16 outputs in registers across all taps.
 *
 * Each output element sums its taps in a fixed order at any thread count; the epilogue is
 * applied to each item's outputs right after they are written, by the kernel itself when
 * it is a lone relu or relu6 (the conv struct's ACT; depthwise: also hardswish), or a
 * residual add of the output's shape with maybe a relu or relu6 after it (dense kernel:
 * slimc_rt_conv2d_res adds it as the GEMM tiles store). */
#include "codegen/c/cg_internal.h"

/* Output channels per tile of the AVX-512 GEMM (SLIMC_RT_CONV_MB): a block of channels
 * is a whole number of them, so a split over channels adds no partial tile. */
#define SLIMC_CONV_OT 14

/* How many blocks to cut the O output channels of one image's implicit GEMM into (O 0:
 * not splittable, several groups): enough, with the ceil(P / SLIMC_RT_CONV_PX) pixel
 * blocks, for about 16 items per image, so that two or more threads share a conv of few
 * pixels (ResNet's 7x7 and 14x14 layers: 1 and 4 pixel blocks) in balanced parts; blocks
 * of at least two tiles; none for a conv under 1M multiply-adds an image. The items of
 * one pixel block that fall in one chunk of the thread pool are computed by one call
 * (their im2col panels packed once), so at one thread the split costs nothing. */
static long long conv_channel_blocks(long long O, long long P, long long Kt)
{
    const long long PT = (P + SLIMC_RT_CONV_PX - 1) / SLIMC_RT_CONV_PX,
                    OT = (O + SLIMC_CONV_OT - 1) / SLIMC_CONV_OT;
    if (O <= 0 || O * P * Kt < (1LL << 20) || PT >= 16)
        return 1;
    const long long ob = (16 + PT - 1) / PT;
    return ob < OT / 2 ? ob : OT / 2 > 1 ? OT / 2 : 1;
}

/* Whether n's epilogue is a residual the dense kernel adds as it stores (slimc_rt_conv2d_res):
 * add(an f32 operand of the output's shape), maybe then a lone relu or relu6, whose code
 * (SLIMC_RT_ACT_*) goes to *act. */
static bool conv_residual(const CgCtx *c, const Node *n, int *act)
{
    const Epilogue *e = n->epilogue;
    if (n->n_epilogue < 1 || n->n_epilogue > 2 || e[0].op != IR_OP_ADD || e[0].operand == IR_NONE ||
        c->g->values[e[0].operand].type.dtype != IR_F32 ||
        !ir_shape_eq(cg_shape(c, e[0].operand), cg_shape(c, n->outputs[0])))
        return false;
    *act = 0;
    if (n->n_epilogue == 2) {
        if (e[1].operand != IR_NONE || (e[1].op != IR_OP_RELU && e[1].op != IR_OP_RELU6))
            return false;
        *act = e[1].op == IR_OP_RELU ? 1 : 2;
    }
    return true;
}

/* The body: implicit GEMM (sparse: the CSR kernel, csr its header), items (image, block of
 * SLIMC_RT_CONV_PX output pixels[, block of output channels]); or, when depthwise, the plane
 * kernel, items (image, output channel). */
static void emit_conv_body(CgCtx *c, NodeId id, const int64_t *stride, const int64_t *pad,
                           const int64_t *dil, int64_t groups, bool depthwise, const int64_t *csr,
                           CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    const Shape *os = cg_shape(c, n->outputs[0]);
    static const char *const names[] = {"x", "w", "bias"};
    static const char *const sparse_names[] = {"x", NULL, "bias", "W"};
    cg_body_begin(c, id, csr ? sparse_names : names, n->n_inputs);
    if (n->n_inputs < 3)
        cg_printf(c, "    const float *bias = NULL;\n");
    if (csr) {
        const double numel = (double)csr[1] * (double)csr[2];
        cg_printf(c,
                  "    /* sparse CSR kernel: %lld of %.0f weights nonzero (%.1f%% density); the "
                  "cost model predicted it %.2fx faster than the dense conv */\n",
                  (long long)csr[3], numel, numel > 0 ? 100.0 * (double)csr[3] / numel : 0.0,
                  ir_attr_sparse_gain(n));
    }
    const long long C = (long long)(ws->d[1].c * groups), H = (long long)xs->d[2].c,
                    W = (long long)xs->d[3].c;
    const long long O = (long long)ws->d[0].c, OH = (long long)os->d[2].c,
                    OW = (long long)os->d[3].c;
    /* a lone relu / relu6 epilogue (depthwise: or hardswish) is applied by the kernel
     * itself (ACT, SLIMC_RT_ACT_*) */
    int act = 0;
    if (n->n_epilogue == 1 && n->epilogue[0].operand == IR_NONE)
        act = n->epilogue[0].op == IR_OP_RELU                     ? 1
              : n->epilogue[0].op == IR_OP_RELU6                  ? 2
              : depthwise && n->epilogue[0].op == IR_OP_HARDSWISH ? 3
                                                                  : 0;
    /* a residual add (and relu / relu6): added by the dense kernel's tiles as they store */
    const bool res = !depthwise && !csr && conv_residual(c, n, &act);
    if (res)
        cg_printf(c, "    const float *restrict res = (const float *)a->ep[0]; /* %s */\n",
                  cg_type_text(c, &c->g->values[n->epilogue[0].operand].type));
    cg_printf(c, "    /* C, H, W, O, CG, OG, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW, ACT */\n");
    cg_printf(c,
              "    static const slimc_rt_conv s = {%lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, "
              "%lld, %lld, "
              "%lld, %lld, %lld, %lld, %lld, %lld, %d};\n",
              C, H, W, O, (long long)ws->d[1].c, (long long)(ws->d[0].c / groups),
              (long long)ws->d[2].c, (long long)ws->d[3].c, OH, OW, (long long)stride[0],
              (long long)stride[1], (long long)pad[0], (long long)pad[1], (long long)dil[0],
              (long long)dil[1], act);
    if (depthwise) {
        cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* plane (b, o) */\n");
        cg_printf(c, "        const int64_t b = it / %lld, o = it %% %lld;\n", O, O);
        cg_printf(c,
                  "        slimc_rt_dw_plane(&s, x + (b * %lld + o / %lld) * %lld, w + o * %lld, "
                  "bias ? bias[o] : 0.0f, "
                  "out + it * %lld);\n",
                  C, (long long)(ws->d[0].c / groups), H * W, (long long)(ws->d[2].c * ws->d[3].c),
                  OH * OW);
        if (!act)
            cg_ep_call(c, id, 8, cg_strf(c, "it * %lld", OH * OW), cg_strf(c, "%lld", OH * OW));
        cg_printf(c, "    }\n");
        cg_body_end(c);
        k->items = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), O);
    } else {
        const long long P = OH * OW, PT = (P + SLIMC_RT_CONV_PX - 1) / SLIMC_RT_CONV_PX,
                        Kt = (long long)(ws->d[1].c * ws->d[2].c * ws->d[3].c);
        const long long OB = csr ? 1 : conv_channel_blocks(groups == 1 ? O : 0, P, Kt);
        if (OB == 1) { /* items (image, block of SLIMC_RT_CONV_PX pixels) */
            cg_printf(
                c, "    enum { P = %lld, PT = (P + SLIMC_RT_CONV_PX - 1) / SLIMC_RT_CONV_PX };\n",
                P);
            cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
            cg_printf(c, "        const int64_t b = it / PT, p0 = it %% PT * SLIMC_RT_CONV_PX;\n");
            cg_printf(c, "        const int64_t p1 = slimc_rt_min(P, p0 + SLIMC_RT_CONV_PX);\n");
            if (res)
                cg_printf(c,
                          "        slimc_rt_conv2d_res(&s, x + b * %lld, w, bias, res + b * %lld, "
                          "out + b * %lld, p0, p1, 0, %lld);\n",
                          C * H * W, O * OH * OW, O * OH * OW, O);
            else
                cg_printf(
                    c, "        slimc_rt_%s(&s, x + b * %lld, %s, bias, out + b * %lld, p0, p1);\n",
                    csr ? "spconv_px" : "conv2d_px", C * H * W, csr ? "W" : "w", O * OH * OW);
        } else {
            cg_printf(c,
                      "    /* items (image, block of SLIMC_RT_CONV_PX pixels, block of OB of the "
                      "output channels,\n");
            cg_printf(c,
                      "     * whole tiles of %d); the run of items of one pixel block in a chunk "
                      "is one call */\n",
                      SLIMC_CONV_OT);
            cg_printf(
                c,
                "    enum { P = %lld, PT = (P + SLIMC_RT_CONV_PX - 1) / SLIMC_RT_CONV_PX, OB = "
                "%lld, OT = %lld };\n",
                P, OB, (O + SLIMC_CONV_OT - 1) / SLIMC_CONV_OT);
            cg_printf(c, "    for (int64_t it = i0, nb; it < i1; it += nb) {\n");
            cg_printf(c, "        const int64_t b = it / (PT * OB), ob = it %% OB;\n");
            cg_printf(c, "        const int64_t p0 = it %% (PT * OB) / OB * SLIMC_RT_CONV_PX;\n");
            cg_printf(c, "        const int64_t p1 = slimc_rt_min(P, p0 + SLIMC_RT_CONV_PX);\n");
            cg_printf(c, "        nb = slimc_rt_min(i1 - it, OB - ob);\n");
            cg_printf(c, "        const int64_t o0 = slimc_rt_min(%lld, OT * ob / OB * %d);\n", O,
                      SLIMC_CONV_OT);
            cg_printf(c,
                      "        const int64_t o1 = slimc_rt_min(%lld, OT * (ob + nb) / OB * %d);\n",
                      O, SLIMC_CONV_OT);
            if (res)
                cg_printf(c,
                          "        slimc_rt_conv2d_res(&s, x + b * %lld, w, bias, res + b * %lld, "
                          "out + b * %lld, p0, p1, o0, o1);\n",
                          C * H * W, O * OH * OW, O * OH * OW);
            else
                cg_printf(c,
                          "        slimc_rt_conv2d_blk(&s, x + b * %lld, w, bias, out + b * %lld, "
                          "p0, p1, o0, o1);\n",
                          C * H * W, O * OH * OW);
        }
        if (n->n_epilogue && !act && !res) { /* over the item's channels */
            if (OB == 1)
                cg_printf(c, "        for (int64_t o = 0; o < %lld; o++)\n", O);
            else
                cg_printf(c, "        for (int64_t o = o0; o < o1; o++)\n");
            cg_ep_call(c, id, 12, cg_strf(c, "(b * %lld + o) * P + p0", O), "p1 - p0");
        }
        cg_printf(c, "    }\n");
        cg_body_end(c);
        if (OB == 1)
            k->items = cg_strf(c, "%s * ((%lld + SLIMC_RT_CONV_PX - 1) / SLIMC_RT_CONV_PX)",
                               cg_dim(c, xs->d[0]), P);
        else
            k->items = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), OB * PT);
    }
    const long long macs = csr ? (long long)(csr[3] > 0 ? csr[3] : 1)
                               : (long long)(ws->d[1].c * ws->d[2].c * ws->d[3].c);
    k->work =
        cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), (long long)(OH * OW) * macs * (csr ? 1 : O));
    k->ep_done = true;
}

/* A one-group conv2d whose weight the sparse pass gave an N:M copy (input 3, w_sparse=2;
 * h its header, K in (kh, kw, c) order): slimc_rt_nmconv_tile (runtime/kernels/sparse_nm.c),
 * items (image, block of pixels, block of channels), then the epilogue on each item's
 * channels (the kernel applies no ACT). */
static void emit_conv_nm(CgCtx *c, NodeId id, const int64_t *stride, const int64_t *pad,
                         const int64_t *dil, const int64_t *h, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    const Shape *os = cg_shape(c, n->outputs[0]);
    static const char *const names[] = {"x", NULL, "bias", "W"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 3)
        cg_printf(c, "    const float *bias = NULL;\n");
    const long long C = (long long)ws->d[1].c, H = (long long)xs->d[2].c, W = (long long)xs->d[3].c,
                    O = (long long)ws->d[0].c, OH = (long long)os->d[2].c,
                    OW = (long long)os->d[3].c, P = OH * OW;
    cg_printf(c,
              "    /* sparse N:M kernel: %lld of every %lld input channels kept per tap (%lld x "
              "%lld, im2col in (kh, kw, c) order); the cost model predicted it %.2fx faster than "
              "the dense conv */\n",
              (long long)h[3], (long long)h[4], O, (long long)h[2], ir_attr_sparse_gain(n));
    cg_printf(c, "    /* C, H, W, O, CG, OG, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW, ACT */\n");
    cg_printf(c,
              "    static const slimc_rt_conv s = {%lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, "
              "%lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, 0};\n",
              C, H, W, O, C, O, (long long)ws->d[2].c, (long long)ws->d[3].c, OH, OW,
              (long long)stride[0], (long long)stride[1], (long long)pad[0], (long long)pad[1],
              (long long)dil[0], (long long)dil[1]);
    cg_printf(c, "    const int64_t IT = slimc_rt_nmconv_items(%lld, %lld);\n", P, O);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    cg_printf(c, "        const int64_t b = it / IT;\n");
    cg_printf(c, "        int64_t p0, pc, o0, oc;\n");
    cg_printf(c,
              "        slimc_rt_nmconv_tile(&s, x + b * %lld, W, bias, out + b * %lld, it %% IT, "
              "&p0, &pc, &o0, &oc);\n",
              C * H * W, O * P);
    if (n->n_epilogue) {
        cg_printf(c, "        for (int64_t o = o0; o < o0 + oc; o++)\n");
        cg_ep_call(c, id, 12, cg_strf(c, "(b * %lld + o) * %lld + p0", O, P), "pc");
    } else {
        cg_printf(c, "        (void)p0, (void)pc, (void)o0, (void)oc;\n");
    }
    cg_printf(c, "    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "%s * slimc_rt_nmconv_items(%lld, %lld)", cg_dim(c, xs->d[0]), P, O);
    const long long kept = h[4] > 0 ? h[1] * (h[2] / h[4]) * h[3] : 1;
    k->work = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), P * (kept > 0 ? kept : 1));
    k->ep_done = true;
}

void cg_emit_conv2d(CgCtx *c, NodeId id, CgKernel *k)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    const Shape *os = cg_shape(c, n->outputs[0]);
    if (xs->rank != 4 || ws->rank != 4 || os->rank != 4) {
        cg_error(c, n, "expects 4-D input, weight and output");
        return;
    }
    int64_t stride[2], pad[2], dil[2];
    ir_attr_stride(n, stride, 2);
    ir_attr_padding(n, pad, 2);
    ir_attr_dilation(n, dil, 2);
    int64_t groups = ir_attr_groups(n);
    bool sym_image = false; /* a symbolic height or width: codegen/c/conv_sym.c */
    for (int i = 1; i < 4; i++) {
        if (!ir_dim_static(ws->d[i]) || !ir_dim_static(xs->d[1])) {
            cg_error(c, n, "needs static channels and kernel sizes");
            return;
        }
        sym_image |= i > 1 && (!ir_dim_static(xs->d[i]) || !ir_dim_static(os->d[i]));
    }
    if (!ir_dim_static(ws->d[0]) || groups < 1 || ws->d[0].c % groups) {
        cg_error(c, n, "bad groups (%lld)", (long long)groups);
        return;
    }
    if (sym_image && !(ir_attr_w_sparse(n) == 1 && n->n_inputs > 3)) {
        cg_emit_conv2d_sym(c, id, stride, pad, dil, groups, ws->d[1].c == 1 && groups > 1, k);
        return;
    }
    if (sym_image) {
        cg_error(c, n, "a sparse conv needs static image sizes");
        return;
    }
    const int64_t *csr = NULL; /* the CSR header (slimc_abi.h) of a sparse conv */
    if (ir_attr_w_sparse(n) == 1 && n->n_inputs > 3 && n->inputs[3] != IR_NONE) {
        const Value *v = &g->values[n->inputs[3]];
        csr = v->data;
        if (v->kind != IR_VALUE_CONST || !csr || v->data_bytes < SLIMC_RT_CSR_HEAD ||
            csr[0] != SLIMC_RT_CSR_MAGIC || groups != 1 || csr[1] != ws->d[0].c ||
            csr[2] != ws->d[1].c * ws->d[2].c * ws->d[3].c || csr[6] <= 0 ||
            csr[7] != SLIMC_RT_SPCONV_KC) {
            cg_error(c, n, "w_sparse=1 needs the CSR constant the sparse pass builds");
            return;
        }
    }
    if (ir_attr_w_sparse(n) == 2 && n->n_inputs > 3 && n->inputs[3] != IR_NONE) {
        const Value *v = &g->values[n->inputs[3]];
        const int64_t *h = v->data;
        if (v->kind != IR_VALUE_CONST || !h || v->data_bytes < SLIMC_RT_CSR_HEAD ||
            h[0] != SLIMC_RT_NM_MAGIC || groups != 1 || h[1] != ws->d[0].c || h[4] <= 0 ||
            ws->d[1].c % h[4] != 0 || h[6] != ws->d[2].c * ws->d[3].c ||
            h[2] != ws->d[1].c * h[6]) {
            cg_error(c, n, "w_sparse=2 needs the N:M constant the sparse pass builds");
            return;
        }
        emit_conv_nm(c, id, stride, pad, dil, h, k);
        return;
    }
    emit_conv_body(c, id, stride, pad, dil, groups, !csr && ws->d[1].c == 1 && groups > 1, csr, k);
}

/* conv_transpose2d as a GEMM and a col2im, one (batch, group) per item: per image,
 * col[k, p] = sum over the group's input channels c of w[c, k] * x[c, p] (p an input pixel,
 * k = (oo, kh, kw): slimc_rt_gemm_strided with A = the group's weights read transposed in
 * place, B = the image's group in place), then each col entry added into the output pixel
 * it reaches, taps in a fixed order (oo, kh, kw, ih, iw), a row of input pixels at a time
 * (contiguous reads), the bias last. The order does not depend on the thread count; the
 * result differs from the reference's gather by rounding. It is also the input gradient of
 * conv2d in training. (Transposing the image and reading col [p, k] with a stride of k
 * instead took LeNet's conv2 input gradient 1.4x as long.) */
void cg_emit_conv_transpose2d(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]),
                *os = cg_shape(c, n->outputs[0]);
    int64_t s[2], p[2], dil[2];
    ir_attr_stride(n, s, 2);
    ir_attr_padding(n, p, 2);
    ir_attr_dilation(n, dil, 2);
    int64_t groups = ir_attr_groups(n);
    static const char *const names[] = {"x", "w", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 3)
        cg_printf(c, "    const float *bias = NULL;\n");
    cg_printf(c, "    enum { C = %lld, O = %lld, OG = %lld, KH = %lld, KW = %lld };\n",
              (long long)xs->d[1].c, (long long)os->d[1].c, (long long)ws->d[1].c,
              (long long)ws->d[2].c, (long long)ws->d[3].c);
    /* the image's sizes may be symbolic (the output's are then derived dims) */
    cg_printf(c, "    const int64_t H = %s, W = %s, OH = %s, OW = %s, HW = H * W;\n",
              cg_dim(c, xs->d[2]), cg_dim(c, xs->d[3]), cg_dim(c, os->d[2]), cg_dim(c, os->d[3]));
    cg_printf(c,
              "    enum { SH = %lld, SW = %lld, PH = %lld, PW = %lld, DH = %lld, DW = %lld, CG = "
              "%lld, G = %lld, NK = OG * KH * KW };\n",
              (long long)s[0], (long long)s[1], (long long)p[0], (long long)p[1], (long long)dil[0],
              (long long)dil[1], (long long)(xs->d[1].c / groups), (long long)groups);
    cg_printf(c, "    /* col [NK, HW]: one image's group through the weights */\n");
    cg_printf(c, "    float *col = (float *)malloc(sizeof(float) * ((size_t)(HW * NK) + 1));\n");
    cg_printf(c, "    if (!col) {\n        __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n        "
                 "return;\n    }\n");
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* one (batch, group) */\n");
    cg_printf(c, "        const int64_t b = it / G, grp = it %% G;\n");
    cg_printf(c, "        slimc_rt_gemm_strided(NK, HW, CG, w + grp * CG * NK, 1, NK, x + (b * C "
                 "+ grp * CG) * HW, HW, col, HW);\n");
    cg_printf(c, "        float *restrict op = out + (b * O + grp * OG) * (OH * OW);\n");
    cg_printf(c, "        memset(op, 0, sizeof(float) * (OG * OH * OW));\n");
    cg_printf(c, "        for (int64_t oo = 0; oo < OG; oo++)\n");
    cg_printf(c, "            for (int64_t kh = 0; kh < KH; kh++)\n");
    cg_printf(c, "                for (int64_t kw = 0; kw < KW; kw++) {\n");
    cg_printf(c, "                    const int64_t kk = (oo * KH + kh) * KW + kw;\n");
    cg_printf(c, "                    /* the input columns whose output column is inside */\n");
    cg_printf(c, "                    int64_t iw0 = 0, iw1 = W;\n");
    cg_printf(c, "                    while (iw0 < W && iw0 * SW - PW + kw * DW < 0)\n"
                 "                        iw0++;\n");
    cg_printf(c, "                    while (iw1 > iw0 && (iw1 - 1) * SW - PW + kw * DW >= OW)\n"
                 "                        iw1--;\n");
    cg_printf(c, "                    for (int64_t ih = 0; ih < H; ih++) {\n");
    cg_printf(c, "                        const int64_t th = ih * SH - PH + kh * DH;\n");
    cg_printf(c, "                        if (th < 0 || th >= OH)\n                            "
                 "continue;\n");
    cg_printf(c,
              "                        const int64_t ob = (oo * OH + th) * OW - PW + kw * DW;\n");
    cg_printf(c, "                        const float *restrict cr = col + kk * HW + ih * W;\n");
    cg_printf(c, "                        for (int64_t iw = iw0; iw < iw1; iw++)\n");
    cg_printf(c, "                            op[ob + iw * SW] += cr[iw];\n");
    cg_printf(c, "                    }\n                }\n");
    cg_printf(c, "        if (bias)\n            for (int64_t oo = 0; oo < OG; oo++)\n");
    cg_printf(c, "                for (int64_t q = 0; q < OH * OW; q++)\n"
                 "                    op[oo * (OH * OW) + q] += bias[grp * OG + oo];\n");
    cg_ep_call(c, id, 8, "(b * O + grp * OG) * (OH * OW)", "OG * (OH * OW)");
    cg_printf(c, "    }\n    free(col);\n");
    cg_body_end(c);
    k->items = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), (long long)groups);
    k->work = cg_strf(c, "%s * %s * %s * %lld", cg_dim(c, xs->d[0]), cg_dim(c, os->d[2]),
                      cg_dim(c, os->d[3]),
                      (long long)(os->d[1].c * (xs->d[1].c / groups) * ws->d[2].c * ws->d[3].c));
    k->ep_done = true;
}
