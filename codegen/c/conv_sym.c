/* conv2d over a symbolic image height or width (issue 19: a CNN exported with dynamic_axes
 * on H and W). The kernels of codegen/c/conv.c with the sizes as expressions in the
 * symbols (the output's are derived symbols, floor((H + 2p - dil(k-1) - 1) / s) + 1,
 * ir/symbols.c): the implicit GEMM with one block of SLIMC_RT_CONV_PX output pixels of one
 * image per item (no split over output channels: the pixel count is known only when it
 * runs), or the depthwise plane kernel. Dense weights only. */
#include "codegen/c/cg_internal.h"

void cg_emit_conv2d_sym(CgCtx *c, NodeId id, const int64_t *stride, const int64_t *pad,
                        const int64_t *dil, int64_t groups, bool depthwise, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    const Shape *os = cg_shape(c, n->outputs[0]);
    static const char *const names[] = {"x", "w", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 3)
        cg_printf(c, "    const float *bias = NULL;\n");
    const long long C = (long long)(ws->d[1].c * groups), O = (long long)ws->d[0].c;
    const long long OG = (long long)(ws->d[0].c / groups),
                    KK = (long long)(ws->d[2].c * ws->d[3].c);
    int act = 0;
    if (n->n_epilogue == 1 && n->epilogue[0].operand == IR_NONE)
        act = n->epilogue[0].op == IR_OP_RELU ? 1 : n->epilogue[0].op == IR_OP_RELU6 ? 2 : 0;
    cg_printf(c, "    /* the image's sizes, symbolic */\n");
    cg_printf(c, "    const int64_t H = %s, W = %s, OH = %s, OW = %s;\n", cg_dim(c, xs->d[2]),
              cg_dim(c, xs->d[3]), cg_dim(c, os->d[2]), cg_dim(c, os->d[3]));
    cg_printf(c, "    /* C, H, W, O, CG, OG, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW, ACT */\n");
    cg_printf(c,
              "    const slimc_rt_conv s = {%lld, H, W, %lld, %lld, %lld, %lld, %lld, OH, OW, "
              "%lld, %lld, %lld, %lld, %lld, %lld, %d};\n",
              C, O, (long long)ws->d[1].c, OG, (long long)ws->d[2].c, (long long)ws->d[3].c,
              (long long)stride[0], (long long)stride[1], (long long)pad[0], (long long)pad[1],
              (long long)dil[0], (long long)dil[1], act);
    const char *N = cg_dim(c, xs->d[0]), *OH = cg_dim(c, os->d[2]), *OW = cg_dim(c, os->d[3]);
    if (depthwise) {
        cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* plane (b, o) */\n");
        cg_printf(c, "        const int64_t b = it / %lld, o = it %% %lld;\n", O, O);
        cg_printf(c,
                  "        slimc_rt_dw_plane(&s, x + (b * %lld + o / %lld) * (H * W), w + o * "
                  "%lld, bias ? bias[o] : 0.0f, out + it * (OH * OW));\n",
                  C, OG, KK);
        if (!act)
            cg_ep_call(c, id, 8, "it * (OH * OW)", "OH * OW");
        cg_printf(c, "    }\n");
        cg_body_end(c);
        k->items = cg_strf(c, "%s * %lld", N, O);
    } else {
        cg_printf(c, "    const int64_t P = OH * OW, PT = (P + SLIMC_RT_CONV_PX - 1) / "
                     "SLIMC_RT_CONV_PX;\n");
        cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
        cg_printf(c, "        const int64_t b = it / PT, p0 = it %% PT * SLIMC_RT_CONV_PX;\n");
        cg_printf(c, "        const int64_t p1 = slimc_rt_min(P, p0 + SLIMC_RT_CONV_PX);\n");
        cg_printf(c,
                  "        slimc_rt_conv2d_px(&s, x + b * (%lld * H * W), w, bias, out + b * "
                  "(%lld * P), p0, p1);\n",
                  C, O);
        if (n->n_epilogue && !act) {
            cg_printf(c, "        for (int64_t o = 0; o < %lld; o++)\n", O);
            cg_ep_call(c, id, 12, cg_strf(c, "(b * %lld + o) * P + p0", O), "p1 - p0");
        }
        cg_printf(c, "    }\n");
        cg_body_end(c);
        k->items =
            cg_strf(c, "%s * ((%s * %s + SLIMC_RT_CONV_PX - 1) / SLIMC_RT_CONV_PX)", N, OH, OW);
    }
    const long long macs = (long long)(ws->d[1].c * ws->d[2].c * ws->d[3].c) * O;
    k->work = cg_strf(c, "%s * %s * %s * %lld", N, OH, OW, macs);
    k->ep_done = true;
}
