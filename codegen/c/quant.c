/* The int8 ops (docs/quantization.md): quantize (f32 -> u8), dequantize (u8 -> f32),
 * qlinear and qconv2d (u8 activations x s8 per-channel weights, exact i32 accumulation,
 * f32 output with bias, then the epilogue). The kernels are the int8 section of
 * runtime/slimc_rt.h: slimc_rt_qgemm (AVX-512 VNNI dot-product blocks chosen at run time,
 * a portable loop otherwise) and slimc_rt_qim2col.
 *
 * qlinear: one item is a tile of up to 4 rows x 64 outputs (slimc_rt_qgemm). qconv2d: one
 * item is a block of 64 output pixels of one image, all output channels, computed group by
 * group by slimc_rt_qconv_block (im2col panels in a heap buffer of the body, allocated
 * once per call of the body, not per item); a depthwise one (one input channel per group)
 * runs slimc_rt_qdw_plane, one output plane per item. */
#include "codegen/c/cg_internal.h"

#include <math.h>

void cg_emit_qdq(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    const double scale = ir_attr_scale(n);
    const long long zp = (long long)ir_attr_zero_point(n);
    if (n->op == IR_OP_QUANTIZE) {
        cg_printf(c, "    uint8_t *restrict q = (uint8_t *)(void *)out;\n");
        cg_printf(c, "    slimc_rt_quantize_u8(x + i0, q + i0, i1 - i0, 1.0f / %s, %lld);\n",
                  cg_float(c, scale), zp);
    } else {
        cg_printf(c, "    for (int64_t i = i0; i < i1; i++)\n");
        cg_printf(c, "        out[i] = (float)((int32_t)x[i] - %lld) * %s;\n", zp,
                  cg_float(c, scale));
        cg_ep_call(c, id, 4, "i0", "i1 - i0");
    }
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->outputs[0]), &ne))
        return;
    k->items = cg_dim(c, ne);
    k->work = k->items;
    k->ep_done = true;
}

/* A qconv2d / qlinear with y_scale (the qchain pass) writes u8: `rq` points at its
 * requantization (slimc_rt_qreq); otherwise it is NULL and the op writes f32. */
static void emit_qreq(CgCtx *c, const Node *n)
{
    if (!ir_node_attr_id(n, IR_A_y_scale)) {
        cg_printf(c, "    const slimc_rt_qreq *rq = NULL;\n");
        return;
    }
    if (n->n_epilogue)
        cg_error(c, n, "writes u8 (y_scale) and cannot take an f32 epilogue");
    long long act = (long long)ir_attr_act(n);
    const long long zp = (long long)ir_attr_y_zero_point(n);
    const float ys = (float)ir_attr_y_scale(n), inv = 1.0f / ys;
    const bool divide = ir_attr_y_divide(n) != 0; /* ONNX's y / scale */
    /* With zero point 0 the clamp to [0, 255] after rounding does what a relu did (y <= 0,
     * NaN included, gives 0 either way), and a relu6 too when 6 already rounds to 255 or
     * more (6 / 255 scales): monotone rounding sends every y >= 6 there. */
    const float six = divide ? 6.0f / ys : 6.0f * inv;
    if (zp == 0 && ys > 0.0f && (act == 1 || (act == 2 && rintf(six) >= 255.0f)))
        act = 0;
    const char *ysc = cg_float(c, ir_attr_y_scale(n));
    cg_printf(c, "    static const slimc_rt_qreq rq_ = {%s, %lld, %s, %s};\n",
              divide ? "0.0f" : cg_strf(c, "1.0f / %s", ysc), zp,
              act == 1   ? "SLIMC_RT_ACT_RELU"
              : act == 2 ? "SLIMC_RT_ACT_RELU6"
                         : "SLIMC_RT_ACT_NONE",
              divide ? ysc : "0.0f");
    cg_printf(c, "    const slimc_rt_qreq *rq = &rq_;\n");
}

/* qadd: items of elements, slimc_rt_qadd_u8 over each range (emit_qreq: the output's store). */
void cg_emit_qadd(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    static const char *const names[] = {"xa", "xb"};
    cg_body_begin(c, id, names, 2);
    emit_qreq(c, n);
    cg_printf(
        c,
        "    slimc_rt_qadd_u8(xa + i0, xb + i0, (uint8_t *)(void *)out + i0, i1 - i0, %s, %lld, "
        "%s, %lld, rq);\n",
        cg_float(c, ir_attr_a_scale(n)), (long long)ir_attr_a_zero_point(n),
        cg_float(c, ir_attr_b_scale(n)), (long long)ir_attr_b_zero_point(n));
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->outputs[0]), &ne))
        return;
    k->items = cg_dim(c, ne);
    k->work = k->items;
    k->ep_done = true;
}

/* The start of a qlinear / dqlinear body on a weight packed by the layout pass: the
 * operands (bias NULL when absent); returns the rows' count M, sets *O and *K. */
static const char *begin_packed(CgCtx *c, NodeId id, long long *O, long long *K)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    static const char *const names[] = {"x", "w", "ws", "wsum", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 5)
        cg_printf(c, "    const float *bias = NULL;\n");
    *O = (long long)ir_attr_out_features(n);
    *K = (long long)xs->d[xs->rank - 1].c;
    return cg_prod(c, xs, 0, xs->rank - 1);
}

/* qlinear on a weight packed by the layout pass: items of up to 32 rows x 64 outputs
 * (two AMX row tiles; the VNNI kernel takes them 8 rows at a time). */
static void emit_qlinear_packed(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    long long O, K;
    const char *M = begin_packed(c, id, &O, &K);
    enum { MR = SLIMC_RT_PACKED_MR, OC = SLIMC_RT_QGEMM_OC }; /* runtime/slimc_abi.h */
    cg_printf(c, "    const int64_t M = %s, O = %lld, K = %lld, OT = (O + %d) / %d;\n", M, O, K,
              OC - 1, OC);
    emit_qreq(c, n);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    cg_printf(c, "        const int64_t m0 = it / OT * %d, o0 = it %% OT * %d;\n", MR, OC);
    cg_printf(
        c, "        const int64_t mc = slimc_rt_min(%d, M - m0), oc = slimc_rt_min(%d, O - o0);\n",
        MR, OC);
    cg_printf(c,
              "        slimc_rt_qgemm_packed(M, m0, mc, o0, oc, O, K, x, w, %lld, wsum, %s, ws, "
              "bias, out, rq);\n",
              (long long)ir_attr_x_zero_point(n), cg_float(c, ir_attr_x_scale(n)));
    if (n->n_epilogue) {
        cg_printf(c, "        for (int64_t m = m0; m < m0 + mc; m++)\n");
        cg_ep_call(c, id, 12, "m * O + o0", "oc");
    }
    cg_printf(c, "    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "((%s + %d) / %d) * %lld", M, MR - 1, MR, (O + OC - 1) / OC);
    k->work = cg_strf(c, "%s * %lld", M, O * K);
    k->ep_done = true;
}

/* A qlinear whose weight the sparse pass gave a block-CSR copy (input 5, w_sparse=3;
 * passes/sparse.c): slimc_rt_q8sp_tile (runtime/kernels/qsparse.c) on the items of
 * slimc_rt_q8sp_items, then the epilogue on each item's rows, as the dense kernel. The dense
 * weight (input 1, packed or not) is not read. */
/* The comment that opens an int8 block-sparse linear's body: the blocks h (the blob's
 * header) keeps and the cost model's predicted gain. */
static void q8sp_comment(CgCtx *c, const Node *n, const int64_t *h)
{
    const double K4 = (double)((h[2] + 3) / 4), blocks = (double)h[1] * K4;
    cg_printf(
        c,
        "    /* int8 block-sparse kernel: %lld of %.0f blocks of 4 weights kept (%.1f%%); the "
        "cost model predicted it %.2fx faster than the dense int8 GEMM */\n",
        (long long)h[3], blocks, blocks > 0 ? 100.0 * (double)h[3] / blocks : 0.0,
        ir_attr_sparse_gain(n));
}

/* The item loop of an int8 block-sparse linear (qlinear, dqlinear): tile computes item it's
 * rows [m0, m0 + mc) and outputs [o0, o0 + oc), then the epilogue on them; after closes the
 * body; the items and work of h (the blob's header). */
static void q8sp_items(CgCtx *c, NodeId id, CgKernel *k, const char *M, const int64_t *h,
                       const char *tile, const char *after)
{
    const Node *n = &c->g->nodes[id];
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    cg_printf(c, "        int64_t m0, mc, o0, oc;\n        %s;\n", tile);
    if (n->n_epilogue) {
        cg_printf(c, "        for (int64_t m = m0; m < m0 + mc; m++)\n");
        cg_ep_call(c, id, 12, "m * O + o0", "oc");
    } else
        cg_printf(c, "        (void)m0, (void)mc, (void)o0, (void)oc;\n");
    cg_printf(c, "    }\n%s", after);
    cg_body_end(c);
    k->items = cg_strf(c, "slimc_rt_q8sp_items(%s, %lld)", M, (long long)h[1]);
    k->work = cg_strf(c, "%s * (int64_t)%lld", M, (long long)(4 * (h[3] > 0 ? h[3] : 1)));
    k->ep_done = true;
}

static void emit_qlinear_sparse(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const int64_t *h = c->g->values[n->inputs[5]].data; /* the header slimc_abi.h describes */
    const Shape *xs = cg_shape(c, n->inputs[0]);
    static const char *const names[] = {"x", NULL, "ws", "wsum", "bias", "W"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 5) /* an absent input 4 (with input 5) reads as NULL */
        cg_printf(c, "    const float *bias = NULL;\n");
    q8sp_comment(c, n, h);
    const char *M = cg_prod(c, xs, 0, xs->rank - 1);
    cg_printf(c, "    const int64_t M = %s, O = %lld;\n", M, (long long)h[1]);
    emit_qreq(c, n);
    q8sp_items(c, id, k, M, h,
               cg_strf(c,
                       "slimc_rt_q8sp_tile(M, x, W, %lld, wsum, %s, ws, bias, out, rq, it, &m0, "
                       "&mc, &o0, &oc)",
                       (long long)ir_attr_x_zero_point(n), cg_float(c, ir_attr_x_scale(n))),
               "");
}

void cg_emit_qlinear(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    if (ir_attr_w_sparse(n) == 3 && n->n_inputs > 5 && n->inputs[5] != IR_NONE) {
        emit_qlinear_sparse(c, id, k);
        return;
    }
    if (ir_attr_w_packed(n)) {
        emit_qlinear_packed(c, id, k);
        return;
    }
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    if (ws->rank != 2 || xs->rank < 1 || !ir_dim_static(ws->d[0]) || !ir_dim_static(ws->d[1])) {
        cg_error(c, n, "expects x [.., K] and a static 2-D weight");
        return;
    }
    static const char *const names[] = {"x", "w", "ws", "wsum", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 5)
        cg_printf(c, "    const float *bias = NULL;\n");
    const char *M = cg_prod(c, xs, 0, xs->rank - 1);
    const long long O = (long long)ws->d[0].c, K = (long long)ws->d[1].c;
    enum { MR = SLIMC_RT_QGEMM_MR, OC = SLIMC_RT_QGEMM_OC }; /* runtime/slimc_abi.h */
    cg_printf(c, "    const int64_t M = %s, O = %lld, K = %lld, OT = (O + %d) / %d;\n", M, O, K,
              OC - 1, OC);
    emit_qreq(c, n);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    cg_printf(c, "        const int64_t m0 = it / OT * %d, o0 = it %% OT * %d;\n", MR, OC);
    cg_printf(
        c, "        const int64_t mc = slimc_rt_min(%d, M - m0), oc = slimc_rt_min(%d, O - o0);\n",
        MR, OC);
    cg_printf(c,
              "        slimc_rt_qgemm(mc, oc, K, x + m0 * K, K, w + o0 * K, K, %lld, wsum + o0, "
              "%s, ws + o0, "
              "bias ? bias + o0 : NULL, slimc_rt_qoff(out, rq, m0 * O + o0), rq, O, 1);\n",
              (long long)ir_attr_x_zero_point(n), cg_float(c, ir_attr_x_scale(n)));
    if (n->n_epilogue) {
        cg_printf(c, "        for (int64_t m = m0; m < m0 + mc; m++)\n");
        cg_ep_call(c, id, 12, "m * O + o0", "oc");
    }
    cg_printf(c, "    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "((%s + %d) / %d) * %lld", M, MR - 1, MR, (O + OC - 1) / OC);
    k->work = cg_strf(c, "%s * %lld", M, O * K);
    k->ep_done = true;
}

/* qconv2d with w_taps=1 (passes/qtaps.c; one group): one item is 64 lanes of the padded-pixel
 * space (q = oh WP + ow, WP = OW + DW (KW - 1) / SW) of one image, all output channels
 * (slimc_rt_qtaps_block); each call of the body first copies the padded input rows its items
 * of an image read into 4-channel words (slimc_rt_qtaps_fill), once per image. The epilogue
 * runs once per channel of an item, over its pixels. dims: C, H, W, O, KH, OH, OW, DH, DW, SH,
 * SW; `s`, the inputs and the names of cg_emit_qconv2d's body are in scope. */
static void emit_qconv2d_taps(CgCtx *c, NodeId id, CgKernel *k, const long long *dims)
{
    const Node *n = &c->g->nodes[id];
    const long long C = dims[0], H = dims[1], W = dims[2], O = dims[3], KH = dims[4], OH = dims[5],
                    OW = dims[6], DH = dims[7], DW = dims[8], SH = dims[9], SW = dims[10];
    const Shape *ws = cg_shape(c, n->inputs[1]);
    const long long KW = (long long)ws->d[3].c, WP = OW + DW * (KW - 1) / SW, QP = OH * WP;
    const long long px = SLIMC_RT_QCONV_PX; /* runtime/slimc_abi.h */
    cg_printf(c,
              "    enum { P = %lld, OW = %lld, WP = %lld, QP = %lld, PX = %lld, QT = (QP + PX - 1) "
              "/ PX };\n",
              OH * OW, OW, WP, QP, px);
    emit_qreq(c, n);
    cg_printf(c, "    uint8_t *xt = slimc_rt_qtaps_alloc(&s); /* [C / 4][HP][WP] words */\n");
    cg_printf(c, "    if (!xt) {\n        __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n        "
                 "return;\n    }\n");
    cg_printf(c, "    int64_t tb = -1; /* the image whose rows xt holds */\n");
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    cg_printf(c, "        const int64_t b = it / QT, q0 = it %% QT * PX;\n");
    cg_printf(c, "        const int64_t q1 = slimc_rt_min(QP, q0 + PX);\n");
    cg_printf(c, "        if (b != tb) { /* the padded rows of this call's items of image b */\n");
    cg_printf(c,
              "            const int64_t qe = slimc_rt_min(QP, (slimc_rt_min(i1, (b + 1) * QT) - "
              "b * QT) * PX);\n");
    cg_printf(c,
              "            slimc_rt_qtaps_fill(&s, x + b * %lld, %lld, q0 / WP, (qe - 1) / WP + "
              "%lld, xt);\n",
              C * H * W, (long long)ir_attr_x_zero_point(n), 1 + DH * (KH - 1) / SH);
    cg_printf(c, "            tb = b;\n        }\n");
    cg_printf(c,
              "        slimc_rt_qtaps_block(&s, xt, q0, q1, %lld, w, wsum, %s, ws, bias, "
              "slimc_rt_qoff(out, rq, b * %lld * P), rq);\n",
              (long long)ir_attr_x_zero_point(n), cg_float(c, ir_attr_x_scale(n)), O);
    if (n->n_epilogue) {
        /* the lanes' pixels are one run [pa, pb): the dropped lanes are the columns past
         * each row, no gap between the rows' pixels */
        cg_printf(c, "        const int64_t pa = q0 / WP * OW + slimc_rt_min(q0 %% WP, OW);\n");
        cg_printf(c,
                  "        const int64_t pb = (q1 - 1) / WP * OW + slimc_rt_min((q1 - 1) %% WP + "
                  "1, OW);\n");
        cg_printf(c, "        for (int64_t o = 0; pa < pb && o < %lld; o++)\n", O);
        cg_ep_call(c, id, 12, cg_strf(c, "(b * %lld + o) * P + pa", O), "pb - pa");
    }
    cg_printf(c, "    }\n    free(xt);\n");
    cg_body_end(c);
    const Shape *xs = cg_shape(c, n->inputs[0]);
    k->items = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), (QP + px - 1) / px);
    k->work = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), O * OH * OW * (C * KH * KW));
    k->ep_done = true;
}

void cg_emit_qconv2d(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
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
    int64_t stride[2], pad[2], dil[2];
    ir_attr_stride(n, stride, 2);
    ir_attr_padding(n, pad, 2);
    ir_attr_dilation(n, dil, 2);
    const long long groups = (long long)ir_attr_groups(n);
    const long long C = (long long)xs->d[1].c, H = (long long)xs->d[2].c, W = (long long)xs->d[3].c;
    const long long O = (long long)ws->d[0].c, CG = (long long)ws->d[1].c,
                    KH = (long long)ws->d[2].c, KW = (long long)ws->d[3].c,
                    OH = (long long)os->d[2].c, OW = (long long)os->d[3].c;
    const long long OG = O / groups, K = CG * KH * KW, P = OH * OW;
    const long long px = SLIMC_RT_QCONV_PX; /* runtime/slimc_abi.h */
    /* a one-group qconv2d whose weight the sparse pass gave a block-CSR copy (input 5,
     * w_sparse=3; passes/sparse.c): slimc_rt_q8sp_conv_block (runtime/kernels/qsparse.c) on
     * the same items as the dense block, the dense weight (input 1) not read */
    const bool sparse =
        ir_attr_w_sparse(n) == 3 && n->n_inputs > 5 && n->inputs[5] != IR_NONE && groups == 1;
    static const char *const names[] = {"x", "w", "ws", "wsum", "bias"};
    static const char *const sparse_names[] = {"x", NULL, "ws", "wsum", "bias", "W"};
    cg_body_begin(c, id, sparse ? sparse_names : names, n->n_inputs);
    if (n->n_inputs < 5)
        cg_printf(c, "    const float *bias = NULL;\n");
    cg_printf(c, "    /* C, H, W, O, CG, OG, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW */\n");
    cg_printf(c,
              "    static const slimc_rt_conv s = {%lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, "
              "%lld, %lld, "
              "%lld, %lld, %lld, %lld, %lld, %lld, 0};\n",
              C, H, W, O, CG, OG, KH, KW, OH, OW, (long long)stride[0], (long long)stride[1],
              (long long)pad[0], (long long)pad[1], (long long)dil[0], (long long)dil[1]);
    if (CG == 1 && groups > 1) { /* depthwise: one plane (image, output channel) per item */
        cg_printf(c, "    enum { P = %lld };\n", P);
        emit_qreq(c, n);
        cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
        cg_printf(c, "        const int64_t b = it / %lld, o = it %% %lld;\n", O, O);
        cg_printf(c,
                  "        slimc_rt_qdw_plane(&s, x + (b * %lld + o / %lld) * %lld, %lld, w + o * "
                  "%lld, wsum[o], %s, ws[o], bias, o, slimc_rt_qoff(out, rq, it * P), rq);\n",
                  C, OG, H * W, (long long)ir_attr_x_zero_point(n), KH * KW,
                  cg_float(c, ir_attr_x_scale(n)));
        if (n->n_epilogue)
            cg_ep_call(c, id, 8, "it * P", "P");
        cg_printf(c, "    }\n");
        cg_body_end(c);
        k->items = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), O);
        k->work = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), O * P * K);
        k->ep_done = true;
        return;
    }
    if (ir_attr_w_taps(n)) {
        /* C, H, W, O, KH, OH, OW, DH, DW, SH, SW */
        const long long dims[] = {C,
                                  H,
                                  W,
                                  O,
                                  KH,
                                  OH,
                                  OW,
                                  (long long)dil[0],
                                  (long long)dil[1],
                                  (long long)stride[0],
                                  (long long)stride[1]};
        emit_qconv2d_taps(c, id, k, dims);
        return;
    }
    cg_printf(c, "    enum { P = %lld, PX = %lld, PT = (P + PX - 1) / PX };\n", P, px);
    emit_qreq(c, n);
    cg_printf(c, "    uint8_t *col = slimc_rt_qcol_alloc(%lld);\n", K);
    cg_printf(c, "    if (!col) {\n        __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n        "
                 "return;\n    }\n");
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    cg_printf(c, "        const int64_t b = it / PT, p0 = it %% PT * PX;\n");
    cg_printf(c, "        const int64_t p1 = slimc_rt_min(P, p0 + PX);\n");
    if (sparse) {
        const int64_t *h = c->g->values[n->inputs[5]].data; /* the header slimc_abi.h describes */
        const double blocks = (double)h[1] * (double)((h[2] + 3) / 4);
        cg_printf(c,
                  "        /* int8 block-sparse kernel: %lld of %.0f blocks of 4 weights kept "
                  "(%.1f%%); the cost model predicted it %.2fx faster than the dense int8 conv "
                  "*/\n",
                  (long long)h[3], blocks, blocks > 0 ? 100.0 * (double)h[3] / blocks : 0.0,
                  ir_attr_sparse_gain(n));
        cg_printf(c,
                  "        slimc_rt_q8sp_conv_block(&s, x + b * %lld, p0, p1, %lld, W, wsum, %s, "
                  "ws, bias, slimc_rt_qoff(out, rq, b * %lld * P), rq, col);\n",
                  C * H * W, (long long)ir_attr_x_zero_point(n), cg_float(c, ir_attr_x_scale(n)),
                  O);
    } else {
        cg_printf(c, "        for (int64_t gi = 0; gi < %lld; gi++)\n", groups);
        cg_printf(c,
                  "            slimc_rt_qconv_block(&s, x + (b * %lld + gi * %lld) * %lld, p0, p1, "
                  "%lld, w + gi * %lld * %lld, "
                  "wsum + gi * %lld, %s, ws + gi * %lld, bias ? bias + gi * %lld : NULL, "
                  "slimc_rt_qoff(out, rq, (b * %lld + gi * %lld) * P), rq, col);\n",
                  C, CG, H * W, (long long)ir_attr_x_zero_point(n), OG, K, OG,
                  cg_float(c, ir_attr_x_scale(n)), OG, OG, O, OG);
    }
    if (n->n_epilogue) {
        cg_printf(c, "        for (int64_t o = 0; o < %lld; o++)\n", O);
        cg_ep_call(c, id, 12, cg_strf(c, "(b * %lld + o) * P + p0", O), "p1 - p0");
    }
    cg_printf(c, "    }\n    free(col);\n");
    cg_body_end(c);
    k->items = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), (P + px - 1) / px);
    k->work = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), O * P * K);
    k->ep_done = true;
}

/* wlinear with bf16 weights computes in bf16: packed by the layout pass, items of 32 rows x
 * 64 outputs (slimc_rt_bgemm_packed: AMX-BF16, vdpbf16ps or loops); unpacked, items of 4
 * rows through the portable loops. */
static void emit_wlinear_bf16(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    const bool packed = ir_attr_w_packed(n) != 0;
    static const char *const names[] = {"A", "W", "sc", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 4)
        cg_printf(c, "    const float *bias = NULL;\n");
    const char *M = cg_prod(c, xs, 0, xs->rank - 1);
    const long long N = packed ? (long long)ir_attr_out_features(n)
                               : (long long)cg_shape(c, n->inputs[1])->d[0].c,
                    K = (long long)xs->d[xs->rank - 1].c;
    enum { MR = SLIMC_RT_PACKED_MR, OC = SLIMC_RT_QGEMM_OC, RR = SLIMC_RT_BGEMM_MR };
    cg_printf(c, "    const int64_t M = %s, N = %lld, K = %lld, NT = (N + %d) / %d;\n", M, N, K,
              OC - 1, OC);
    cg_printf(c, "    const uint16_t *Wb = (const uint16_t *)(const void *)W;\n");
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    if (packed) {
        cg_printf(c, "        const int64_t m0 = it / NT * %d, n0 = it %% NT * %d;\n", MR, OC);
        cg_printf(c,
                  "        const int64_t mc = slimc_rt_min(%d, M - m0), nc = slimc_rt_min(%d, N "
                  "- n0);\n",
                  MR, OC);
        cg_printf(c, "        slimc_rt_bgemm_packed(m0, mc, n0, nc, N, K, A, Wb, bias, out);\n");
    } else {
        cg_printf(c,
                  "        const int64_t m0 = it * %d, mc = slimc_rt_min(%d, M - m0), n0 = 0, "
                  "nc = N;\n        (void)NT;\n",
                  RR, RR);
        cg_printf(c, "        slimc_rt_bgemm_rows(m0, mc, N, K, A, Wb, bias, out);\n");
    }
    if (n->n_epilogue) {
        cg_printf(c, "        for (int64_t m = m0; m < m0 + mc; m++)\n");
        cg_ep_call(c, id, 12, "m * N + n0", "nc");
    } else {
        cg_printf(c, "        (void)n0, (void)nc;\n");
    }
    cg_printf(c, "    }\n");
    cg_body_end(c);
    k->items = packed ? cg_strf(c, "((%s + %d) / %d) * %lld", M, MR - 1, MR, (N + OC - 1) / OC)
                      : cg_strf(c, "((%s + %d) / %d)", M, RR - 1, RR);
    k->work = cg_strf(c, "%s * %lld", M, N * K);
    k->ep_done = true;
}

/* wlinear: slimc_rt_gemm_tile's tiles, the weight decoded block by block. */
void cg_emit_wlinear(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const DType wdt = c->g->values[n->inputs[1]].type.dtype;
    if (wdt == IR_BF16) {
        emit_wlinear_bf16(c, id, k);
        return;
    }
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    static const char *const names[] = {"A", "W", "sc", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    cg_printf(c, "    const float *sc_ = %s;\n", n->n_inputs < 3 ? "NULL" : "sc");
    if (n->n_inputs < 4)
        cg_printf(c, "    const float *bias = NULL;\n");
    const char *M = cg_prod(c, xs, 0, xs->rank - 1);
    const char *fmt = wdt == IR_I8    ? "SLIMC_RT_W_I8"
                      : wdt == IR_I4  ? "SLIMC_RT_W_I4"
                      : wdt == IR_F16 ? "SLIMC_RT_W_F16"
                                      : "SLIMC_RT_W_BF16";
    cg_printf(c, "    const int64_t M = %s, N = %lld, K = %lld;\n", M, (long long)ws->d[0].c,
              (long long)ws->d[1].c);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    cg_printf(c, "        int64_t m0, mc, n0, nc;\n");
    cg_printf(c,
              "        slimc_rt_wgemm_tile(M, N, K, A, W, %s, sc_, %lld, bias, out, it, &m0, &mc, "
              "&n0, &nc);\n",
              fmt, (long long)ir_attr_group(n));
    if (n->n_epilogue) {
        cg_printf(c, "        for (int64_t m = m0; m < m0 + mc; m++)\n");
        cg_ep_call(c, id, 12, "m * N + n0", "nc");
    } else {
        cg_printf(c, "        (void)m0, (void)mc, (void)n0, (void)nc;\n");
    }
    cg_printf(c, "    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "slimc_rt_gemm_items(%s, %lld)", M, (long long)ws->d[0].c);
    k->work = cg_strf(c, "%s * %lld", M, (long long)(ws->d[0].c * ws->d[1].c));
    k->ep_done = true;
}

/* dqlinear on a weight packed by the layout pass: items of 32 rows, all outputs. A body
 * quantizes up to 4 consecutive items' rows (128) into a heap buffer at once and runs the
 * packed int8 GEMM (AMX tiles, VNNI, AVX-VNNI or AVX2) on them in one call, so each
 * weight block the GEMM prepares (AVX2 widens it to i16) serves 128 rows, not 32. The
 * sums are exact integers and the epilogue is per element: the bits do not depend on how
 * items fall to threads. */
static void emit_dqlinear_packed(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    long long O, K;
    const char *M = begin_packed(c, id, &O, &K);
    enum { ITEM = 32, CHUNK = 4 }; /* rows per item; items per GEMM call */
    cg_printf(c, "    const int64_t M = %s, O = %lld, K = %lld;\n", M, O, K);
    cg_printf(c, "    float xs;\n    int32_t zp;\n");
    cg_printf(c, "    slimc_rt_dyn_params(x, M * K, &xs, &zp);\n");
    cg_printf(c, "    uint8_t *qx = (uint8_t *)malloc((size_t)(%d * K));\n", ITEM * CHUNK);
    cg_printf(c, "    if (!qx) {\n        __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n        "
                 "return;\n    }\n");
    cg_printf(c, "    for (int64_t it = i0; it < i1; it += %d) {\n", CHUNK);
    cg_printf(c,
              "        const int64_t m0 = it * %d, mc = slimc_rt_min(%d * slimc_rt_min(%d, i1 - "
              "it), M - m0);\n",
              ITEM, ITEM, CHUNK);
    cg_printf(c, "        slimc_rt_quantize_u8(x + m0 * K, qx, mc * K, 1.0f / xs, zp);\n");
    cg_printf(c, "        slimc_rt_qgemm_packed(mc, 0, mc, 0, O, O, K, qx, w, zp, wsum, xs, ws, "
                 "bias, out + m0 * O, NULL);\n");
    if (n->n_epilogue) {
        cg_printf(c, "        for (int64_t m = m0; m < m0 + mc; m++)\n");
        cg_ep_call(c, id, 12, "m * O", "O");
    }
    cg_printf(c, "    }\n    free(qx);\n");
    cg_body_end(c);
    k->items = cg_strf(c, "((%s + %d) / %d)", M, ITEM - 1, ITEM);
    k->work = cg_strf(c, "%s * %lld", M, O * K);
    k->ep_done = true;
}

/* A dqlinear whose weight the sparse pass gave a block-CSR copy (input 5, w_sparse=3): x's u8
 * parameters over all of x (the same in every thread), the rows this body's items read
 * (slimc_rt_q8sp_item_rows) quantized once into a heap buffer, then qlinear's block-sparse
 * items (slimc_rt_q8sp_tile_at) and the epilogue, as emit_qlinear_sparse. */
static void emit_dqlinear_sparse(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const int64_t *h = c->g->values[n->inputs[5]].data; /* the header slimc_abi.h describes */
    const Shape *xs = cg_shape(c, n->inputs[0]);
    static const char *const names[] = {"x", NULL, "ws", "wsum", "bias", "W"};
    cg_body_begin(c, id, names, n->n_inputs);
    q8sp_comment(c, n, h);
    const char *M = cg_prod(c, xs, 0, xs->rank - 1);
    cg_printf(c, "    const int64_t M = %s, O = %lld, K = %lld;\n", M, (long long)h[1],
              (long long)h[2]);
    cg_printf(c, "    float xs;\n    int32_t zp;\n");
    cg_printf(c, "    slimc_rt_dyn_params(x, M * K, &xs, &zp);\n");
    cg_printf(c, "    int64_t r0, r1;\n    slimc_rt_q8sp_item_rows(M, O, i0, i1, &r0, &r1);\n");
    cg_printf(c, "    uint8_t *qx = (uint8_t *)malloc((size_t)((r1 - r0) * K));\n");
    cg_printf(c, "    if (!qx) {\n        __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n        "
                 "return;\n    }\n");
    cg_printf(c, "    slimc_rt_quantize_u8(x + r0 * K, qx, (r1 - r0) * K, 1.0f / xs, zp);\n");
    /* an absent input 4 (with input 5) reads as NULL */
    q8sp_items(c, id, k, M, h,
               "slimc_rt_q8sp_tile_at(M, qx, r0, W, zp, wsum, xs, ws, bias, out, NULL, it, &m0, "
               "&mc, &o0, &oc)",
               "    free(qx);\n");
}

/* dqlinear: every item finds x's u8 parameters (a pass over x, the same in every thread),
 * then quantizes its rows into a stack buffer and runs slimc_rt_qgemm on them. */
void cg_emit_dqlinear(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    if (ir_attr_w_sparse(n) == 3 && n->n_inputs > 5 && n->inputs[5] != IR_NONE) {
        emit_dqlinear_sparse(c, id, k);
        return;
    }
    if (ir_attr_w_packed(n)) {
        emit_dqlinear_packed(c, id, k);
        return;
    }
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    static const char *const names[] = {"x", "w", "ws", "wsum", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 5)
        cg_printf(c, "    const float *bias = NULL;\n");
    const char *M = cg_prod(c, xs, 0, xs->rank - 1);
    const long long O = (long long)ws->d[0].c, K = (long long)ws->d[1].c;
    cg_printf(c, "    const int64_t M = %s, O = %lld, K = %lld;\n", M, O, K);
    cg_printf(c, "    float xs;\n    int32_t zp;\n");
    cg_printf(c, "    slimc_rt_dyn_params(x, M * K, &xs, &zp);\n");
    cg_printf(c, "    uint8_t qx[4 * %lld];\n", K > 0 ? K : 1);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    cg_printf(c, "        const int64_t m0 = it * 4, mc = slimc_rt_min(4, M - m0);\n");
    cg_printf(c, "        slimc_rt_quantize_u8(x + m0 * K, qx, mc * K, 1.0f / xs, zp);\n");
    cg_printf(c, "        slimc_rt_qgemm(mc, O, K, qx, K, w, K, zp, wsum, xs, ws, bias, out + m0 "
                 "* O, NULL, O, 1);\n");
    if (n->n_epilogue) {
        cg_printf(c, "        for (int64_t m = m0; m < m0 + mc; m++)\n");
        cg_ep_call(c, id, 12, "m * O", "O");
    }
    cg_printf(c, "    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "((%s + 3) / 4)", M);
    k->work = cg_strf(c, "%s * %lld", M, O * K);
    k->ep_done = true;
}
