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
    if (xs->rank != 4) {
        cg_error(c, n, "expects a 4-D input");
        return;
    }
    /* a symbolic image (issue 19): the sizes are locals, not constants */
    const bool sym = !ir_dim_static(xs->d[2]) || !ir_dim_static(xs->d[3]) ||
                     !ir_dim_static(os->d[2]) || !ir_dim_static(os->d[3]);
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
    if (sym)
        cg_printf(c,
                  "    const int64_t H = %s, W = %s, OH = %s, OW = %s;\n    enum { KH = %lld, KW = "
                  "%lld };\n",
                  cg_dim(c, xs->d[2]), cg_dim(c, xs->d[3]), cg_dim(c, os->d[2]),
                  cg_dim(c, os->d[3]), (long long)kk[0], (long long)kk[1]);
    else
        cg_printf(c,
                  "    enum { H = %lld, W = %lld, OH = %lld, OW = %lld, KH = %lld, KW = %lld };\n",
                  (long long)xs->d[2].c, (long long)xs->d[3].c, (long long)os->d[2].c,
                  (long long)os->d[3].c, (long long)kk[0], (long long)kk[1]);
    cg_printf(c, "    enum { SH = %lld, SW = %lld, PH = %lld, PW = %lld, DH = %lld, DW = %lld };\n",
              (long long)s[0], (long long)s[1], (long long)p[0], (long long)p[1], (long long)dil[0],
              (long long)dil[1]);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    if (is_max) {
        /* the window as a conv's: C, H, W, O, CG, OG, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW */
        cg_printf(c,
                  "        %sconst slimc_rt_conv s = {1, H, W, 1, 1, 1, KH, KW, OH, OW, "
                  "SH, SW, PH, PW, DH, DW, 0};\n",
                  sym ? "" : "static ");
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
    if (sym)
        k->work = cg_strf(c, "%s * %s * %s * %lld", planes, cg_dim(c, os->d[2]),
                          cg_dim(c, os->d[3]), (long long)(kk[0] * kk[1]));
    else
        k->work =
            cg_strf(c, "%s * %lld", planes, (long long)(os->d[2].c * os->d[3].c * kk[0] * kk[1]));
    k->ep_done = true;
}

void cg_emit_adaptive_pool(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    if (!ir_dim_static(xs->d[2]) || !ir_dim_static(xs->d[3])) /* a symbolic image */
        cg_printf(c, "    const int64_t H = %s, W = %s;\n    enum { OH = %lld, OW = %lld };\n",
                  cg_dim(c, xs->d[2]), cg_dim(c, xs->d[3]), (long long)os->d[2].c,
                  (long long)os->d[3].c);
    else
        cg_printf(c, "    enum { H = %lld, W = %lld, OH = %lld, OW = %lld };\n",
                  (long long)xs->d[2].c, (long long)xs->d[3].c, (long long)os->d[2].c,
                  (long long)os->d[3].c);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* one (batch, channel) plane */\n");
    cg_printf(c, "        const float *restrict xp = x + it * (H * W);\n");
    cg_printf(c, "        float *restrict op = out + it * (OH * OW);\n");
    cg_printf(c, "        for (int64_t oh = 0; oh < OH; oh++) {\n");
    cg_printf(c,
              "            const int64_t h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;\n");
    cg_printf(c, "            for (int64_t ow = 0; ow < OW; ow++) {\n");
    cg_printf(
        c, "                const int64_t w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;\n");
    cg_printf(c, "                float sum = 0.0f;\n");
    cg_printf(c, "                for (int64_t ih = h0; ih < h1; ih++)\n");
    cg_printf(c, "                    for (int64_t iw = w0; iw < w1; iw++)\n");
    cg_printf(c, "                        sum += xp[ih * W + iw];\n");
    cg_printf(c, "                op[oh * OW + ow] = sum / (float)((h1 - h0) * (w1 - w0));\n");
    cg_printf(c, "            }\n        }\n");
    cg_ep_call(c, id, 8, "it * (OH * OW)", "OH * OW");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    k->items = cg_prod(c, xs, 0, 2);
    k->work = cg_dim(c, ne);
    k->ep_done = true;
}

/* pool_nd: one item per output element over its window's taps (as the reference). */
void cg_emit_pool_nd(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    int s = xs->rank - 2, mode = (int)ir_attr_mode(n);
    bool cip = ir_attr_count_include_pad(n) != 0;
    bool col_major = ir_attr_storage_order(n) != 0;
    int64_t kk[3], st[3], dil[3], pads[6], kn = 1;
    ir_attr_kernel(n, kk, s);
    ir_attr_stride(n, st, s);
    ir_attr_dilation(n, dil, s);
    ir_attr_pads(n, pads, 2 * s);
    long long p = (long long)ir_attr_p(n);
    for (int i = 0; i < s; i++)
        kn *= kk[i];
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    if (mode == 3)
        cg_declare_dst(c, n);
    cg_printf(c, "    const int64_t opos = %s, ipos = %s;\n", cg_prod(c, os, 2, os->rank),
              cg_prod(c, xs, 2, xs->rank));
    for (int i = 0; i < s; i++)
        cg_printf(c,
                  "    const int64_t od%d = %lld, in%d = %lld, k%d = %lld, st%d = %lld, dl%d = "
                  "%lld, pb%d = %lld, pe%d = %lld;\n",
                  i, (long long)os->d[2 + i].c, i, (long long)xs->d[2 + i].c, i, (long long)kk[i],
                  i, (long long)st[i], i, (long long)dil[i], i, (long long)pads[i], i,
                  (long long)pads[s + i]);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* (plane, output position) */\n");
    cg_printf(c, "        const float *xp = x + (it / opos) * ipos;\n");
    cg_printf(c, "        float acc = %s;\n", mode == 1 || mode == 3 ? "-INFINITY" : "0.0f");
    cg_printf(c, "        int64_t cnt = 0, padded = 0, best = -1;\n");
    cg_printf(c, "        (void)cnt;\n        (void)padded;\n        (void)best;\n");
    cg_printf(c, "        for (int64_t t = 0; t < %lld; t++) {\n", (long long)kn);
    cg_printf(c, "            int64_t qo = it %% opos, qt = t, off = 0, stride = 1, cm_off = 0;\n");
    cg_printf(c, "            int inside = 1, in_pad = 1;\n            (void)cm_off;\n");
    for (int i = s - 1; i >= 0; i--) {
        cg_printf(c, "            {\n");
        cg_printf(c,
                  "                const int64_t pos = (qo %% od%d) * st%d - pb%d + (qt %% k%d) * "
                  "dl%d;\n",
                  i, i, i, i, i);
        cg_printf(c, "                qo /= od%d;\n                qt /= k%d;\n", i, i);
        cg_printf(c, "                inside &= pos >= 0 && pos < in%d;\n", i);
        cg_printf(c, "                in_pad &= pos >= -pb%d && pos < in%d + pe%d;\n", i, i, i);
        cg_printf(c, "                off += pos * stride;\n                stride *= in%d;\n", i);
        cg_printf(c, "                cm_off = cm_off * in%d + pos;\n", i);
        cg_printf(c, "            }\n");
    }
    cg_printf(c, "            padded += in_pad;\n");
    cg_printf(c, "            if (!inside) /* the padding */\n                continue;\n");
    cg_printf(c, "            const float v = xp[off];\n            cnt++;\n");
    if (mode == 0)
        cg_printf(c, "            acc += powf(fabsf(v), %lld.0f);\n        }\n", p);
    else if (mode == 1)
        cg_printf(c, "            acc = v > acc ? v : acc;\n        }\n");
    else if (mode == 2)
        cg_printf(c, "            acc += v;\n        }\n");
    else
        cg_printf(
            c,
            "            if (best < 0 || v > acc) { /* the first maximum */\n"
            "                acc = v;\n                best = %s;\n            }\n        }\n",
            col_major ? "cm_off" : "off");
    if (mode == 0)
        cg_printf(c, "        out[it] = powf(acc, 1.0f / %lld.0f);\n    }\n", p);
    else if (mode == 1)
        cg_printf(c, "        out[it] = acc;\n    }\n");
    else if (mode == 2)
        cg_printf(c, "        out[it] = acc / (float)%s;\n    }\n", cip ? "padded" : "cnt");
    else
        cg_printf(c, "        dst[it] = (it / opos) * ipos + (best < 0 ? 0 : best);\n    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    k->items = cg_dim(c, ne);
    k->work = cg_strf(c, "%s * %lld", k->items, (long long)kn);
}
