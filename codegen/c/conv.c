/* conv2d: direct convolution, one output plane (batch b, output channel o) per item.
 * For every input channel of o's group and every kernel tap, the plane is updated with
 * the tap's weight times a shifted input window; the ranges of output rows and columns
 * whose input falls inside the image are computed once per tap (padding never reaches
 * the inner loop), and for stride 1 the inner loop reads the input contiguously. Each
 * output element sums its taps in the same order (channel, kh, kw) at any thread count. */
#include "codegen/c/cg_internal.h"

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
    ir_attr_ints(n, "stride", stride, 2, 1);
    ir_attr_ints(n, "padding", pad, 2, 0);
    ir_attr_ints(n, "dilation", dil, 2, 1);
    int64_t groups = ir_attr_int(n, "groups", 1);
    for (int i = 1; i < 4; i++)
        if (!ir_dim_static(ws->d[i]) || (i > 1 && (!ir_dim_static(xs->d[i]) || !ir_dim_static(os->d[i])))) {
            cg_error(c, n, "needs static channels, kernel and image sizes");
            return;
        }
    if (!ir_dim_static(ws->d[0]) || groups < 1 || ws->d[0].c % groups) {
        cg_error(c, n, "bad groups (%lld)", (long long)groups);
        return;
    }
    static const char *const names[] = {"x", "w", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 3)
        cg_printf(c, "    const float *bias = NULL;\n");
    cg_printf(c, "    enum { C = %lld, H = %lld, W = %lld, O = %lld, CG = %lld, KH = %lld, KW = %lld, OH = %lld, "
                 "OW = %lld };\n",
              (long long)(ws->d[1].c * groups), (long long)xs->d[2].c, (long long)xs->d[3].c,
              (long long)ws->d[0].c, (long long)ws->d[1].c, (long long)ws->d[2].c, (long long)ws->d[3].c,
              (long long)os->d[2].c, (long long)os->d[3].c);
    cg_printf(c, "    enum { SH = %lld, SW = %lld, PH = %lld, PW = %lld, DH = %lld, DW = %lld, OG = %lld };\n",
              (long long)stride[0], (long long)stride[1], (long long)pad[0], (long long)pad[1], (long long)dil[0],
              (long long)dil[1], (long long)(ws->d[0].c / groups));
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    cg_printf(c, "        const int64_t b = it / O, o = it %% O, grp = o / OG;\n");
    cg_printf(c, "        float *restrict op = out + it * (OH * OW);\n");
    cg_printf(c, "        const float init = bias ? bias[o] : 0.0f;\n");
    cg_printf(c, "        for (int64_t i = 0; i < OH * OW; i++)\n            op[i] = init;\n");
    cg_printf(c, "        for (int64_t ci = 0; ci < CG; ci++) {\n");
    cg_printf(c, "            const float *xp = x + (b * C + grp * CG + ci) * (H * W);\n");
    cg_printf(c, "            const float *wp = w + (o * CG + ci) * (KH * KW);\n");
    cg_printf(c, "            for (int64_t kh = 0; kh < KH; kh++) {\n");
    cg_printf(c, "                /* rows with 0 <= oh * SH - PH + kh * DH < H */\n");
    cg_printf(c, "                const int64_t oh0 = slimc_rt_max(0, slimc_rt_div_ceil(PH - kh * DH, SH));\n");
    cg_printf(c, "                const int64_t oh1 = slimc_rt_min(OH, slimc_rt_div_floor(H - 1 + PH - kh * DH, SH) + 1);\n");
    cg_printf(c, "                for (int64_t kw = 0; kw < KW; kw++) {\n");
    cg_printf(c, "                    const float wv = wp[kh * KW + kw];\n");
    cg_printf(c, "                    const int64_t ow0 = slimc_rt_max(0, slimc_rt_div_ceil(PW - kw * DW, SW));\n");
    cg_printf(c, "                    const int64_t ow1 = slimc_rt_min(OW, slimc_rt_div_floor(W - 1 + PW - kw * DW, SW) + 1);\n");
    cg_printf(c, "                    for (int64_t oh = oh0; oh < oh1; oh++) {\n");
    cg_printf(c, "                        const float *restrict xr = xp + (oh * SH - PH + kh * DH) * W - PW + kw * DW;\n");
    cg_printf(c, "                        float *restrict orow = op + oh * OW;\n");
    cg_printf(c, "                        for (int64_t ow = ow0; ow < ow1; ow++)\n");
    cg_printf(c, "                            orow[ow] += wv * xr[%s];\n", stride[1] == 1 ? "ow" : "ow * SW");
    cg_printf(c, "                    }\n                }\n            }\n        }\n");
    cg_ep_call(c, id, 8, "it * (OH * OW)", "OH * OW");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    const char *planes = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), (long long)ws->d[0].c);
    k->items = planes;
    k->work = cg_strf(c, "%s * %lld", planes,
                      (long long)(os->d[2].c * os->d[3].c * ws->d[1].c * ws->d[2].c * ws->d[3].c));
    k->ep_done = true;
}
