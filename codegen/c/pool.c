/* max_pool2d and avg_pool2d, one (batch, channel) plane per item, with PyTorch's
 * semantics: padding counts as -inf for max (NaN wins), windows clipped to the padded
 * input for avg (ceil_mode windows may hang over its end), the divisor being the clipped
 * window's size with count_include_pad (default) or the number of real elements. The
 * output size, ceil_mode included, comes from the output type. Sums run in the same order
 * as the reference, so results match it exactly. */
#include "codegen/c/cg_internal.h"

void cg_emit_pool(CgCtx *c, NodeId id, CgKernel *k)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    if (xs->rank != 4 || !ir_dim_static(xs->d[2]) || !ir_dim_static(xs->d[3]) ||
        !ir_dim_static(os->d[2]) || !ir_dim_static(os->d[3])) {
        cg_error(c, n, "expects a 4-D input with a static image size");
        return;
    }
    int64_t kk[2], s[2], p[2], dil[2];
    ir_attr_kernel(n, kk, 2);
    if (!ir_attr_stride_or(n, s, 2, 0) || s[0] == 0) {
        s[0] = kk[0];
        s[1] = kk[1];
    }
    ir_attr_padding(n, p, 2);
    ir_attr_dilation(n, dil, 2);
    bool is_max = n->op == IR_OP_MAX_POOL2D;
    bool include_pad = ir_attr_count_include_pad_or(n, 1) != 0;
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    cg_printf(c, "    enum { H = %lld, W = %lld, OH = %lld, OW = %lld, KH = %lld, KW = %lld };\n",
              (long long)xs->d[2].c, (long long)xs->d[3].c, (long long)os->d[2].c,
              (long long)os->d[3].c, (long long)kk[0], (long long)kk[1]);
    cg_printf(c, "    enum { SH = %lld, SW = %lld, PH = %lld, PW = %lld, DH = %lld, DW = %lld };\n",
              (long long)s[0], (long long)s[1], (long long)p[0], (long long)p[1], (long long)dil[0],
              (long long)dil[1]);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    if (is_max) {
        /* the window as a conv's: C, H, W, O, CG, OG, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW */
        cg_printf(c, "        static const slimc_rt_conv s = {1, H, W, 1, 1, 1, KH, KW, OH, OW, "
                     "SH, SW, PH, PW, DH, DW, 0};\n");
        if (g->values[n->inputs[0]].type.dtype == IR_U8) /* an int8 chain (qchain) */
            cg_printf(c, "        slimc_rt_maxpool_plane_u8(&s, (const uint8_t *)(const void *)x "
                         "+ it * (H * W), (uint8_t *)(void *)out + it * (OH * OW));\n");
        else
            cg_printf(c, "        slimc_rt_maxpool_plane(&s, x + it * (H * W), out + it * (OH * "
                         "OW));\n");
    } else {
        cg_printf(c, "        const float *restrict xp = x + it * (H * W);\n");
        cg_printf(c, "        float *restrict op = out + it * (OH * OW);\n");
        cg_printf(c, "        for (int64_t oh = 0; oh < OH; oh++) {\n");
        cg_printf(c, "            int64_t h0 = oh * SH - PH;\n");
        cg_printf(c, "            int64_t h1 = slimc_rt_min(h0 + KH, H + PH);\n");
        cg_printf(c, "            const int64_t hs = h1 - h0;\n");
        cg_printf(c,
                  "            h0 = slimc_rt_max(h0, 0);\n            h1 = slimc_rt_min(h1, H);\n");
        cg_printf(c, "            for (int64_t ow = 0; ow < OW; ow++) {\n");
        cg_printf(c, "                int64_t w0 = ow * SW - PW;\n");
        cg_printf(c, "                int64_t w1 = slimc_rt_min(w0 + KW, W + PW);\n");
        cg_printf(c, "                const int64_t pool_size = hs * (w1 - w0);\n");
        cg_printf(c, "                w0 = slimc_rt_max(w0, 0);\n                w1 = "
                     "slimc_rt_min(w1, W);\n");
        cg_printf(c, "                if (h0 >= h1 || w0 >= w1) {\n");
        cg_printf(c, "                    op[oh * OW + ow] = 0.0f;\n                    "
                     "continue;\n                }\n");
        cg_printf(c, "                float sum = 0.0f;\n");
        cg_printf(c, "                for (int64_t ih = h0; ih < h1; ih++)\n");
        cg_printf(c, "                    for (int64_t iw = w0; iw < w1; iw++)\n");
        cg_printf(c, "                        sum += xp[ih * W + iw];\n");
        cg_printf(c, "                const int64_t divisor = %s;\n",
                  include_pad ? "pool_size" : "(h1 - h0) * (w1 - w0)");
        cg_printf(c, "                op[oh * OW + ow] = sum / (float)divisor;\n");
        cg_printf(c, "            }\n");
        cg_printf(c, "        }\n");
    }
    cg_ep_call(c, id, 8, "it * (OH * OW)", "OH * OW");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    const char *planes = cg_prod(c, xs, 0, 2);
    k->items = planes;
    k->work = cg_strf(c, "%s * %lld", planes, (long long)(os->d[2].c * os->d[3].c * kk[0] * kk[1]));
    k->ep_done = true;
}
