/* Reductions (sum, mean, max, min over any axes), adaptive average pooling, group norm,
 * resize (nearest, bilinear) and conv_transpose2d. Each output element is computed in one
 * item, accumulating in the reference's order (ir/eval.c), so results do not depend on
 * the thread count and match the reference to rounding of libm alone. */
#include "codegen/c/cg_internal.h"
#include "ir/dtype_ops.h"

#include <string.h>

/* Prints `const int64_t name[n] = {e0, e1, ...};` (one 0 entry when n is 0). */
static void int_array(CgCtx *c, const char *name, const char *const *e, int n)
{
    cg_printf(c, "    const int64_t %s[%d] = {", name, n ? n : 1);
    for (int i = 0; i < n; i++)
        cg_printf(c, "%s%s", i ? ", " : "", e[i]);
    cg_printf(c, "%s};\n    (void)%s;\n", n ? "" : "0", name);
}

void cg_emit_reduce(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    if (ir_node_is_typed_elementwise(c->g, n)) { /* f64, f16, bf16, integers */
        cg_emit_elementwise_typed(c, id, k);
        return;
    }
    const Shape *xs = cg_shape(c, n->inputs[0]);
    const Attr *at = ir_node_attr_id(n, IR_A_axes);
    unsigned mask = 0;
    if (!at || at->n_ints == 0)
        mask = (1u << xs->rank) - 1;
    for (int i = 0; at && i < at->n_ints; i++)
        mask |= 1u << (at->ints[i] < 0 ? at->ints[i] + xs->rank : at->ints[i]);
    const char *kd[IR_MAX_RANK], *ks[IR_MAX_RANK], *rd[IR_MAX_RANK], *rs[IR_MAX_RANK];
    int nk = 0, nr = 0;
    for (int i = 0; i < xs->rank; i++) {
        const char *stride = cg_prod(c, xs, i + 1, xs->rank);
        if (mask & (1u << i)) {
            rd[nr] = cg_dim(c, xs->d[i]);
            rs[nr++] = stride;
        } else {
            kd[nk] = cg_dim(c, xs->d[i]);
            ks[nk++] = stride;
        }
    }
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    int_array(c, "kd", kd, nk);
    int_array(c, "ks", ks, nk);
    int_array(c, "rd", rd, nr);
    int_array(c, "rs", rs, nr);
    Shape rshape = {0, {{0}}};
    for (int i = 0; i < xs->rank; i++)
        if (mask & (1u << i))
            rshape.d[rshape.rank++] = xs->d[i];
    cg_printf(c, "    const int64_t count = %s;\n", cg_prod(c, &rshape, 0, rshape.rank));
    OpKind op = n->op;
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* one output element */\n");
    cg_printf(c, "        int64_t q = it, base = 0;\n");
    cg_printf(c, "        for (int dd = %d; dd >= 0; dd--) {\n", nk - 1);
    cg_printf(c,
              "            base += (q %% kd[dd]) * ks[dd];\n            q /= kd[dd];\n        }\n");
    cg_printf(c, "        float acc = %s;\n",
              op == IR_OP_REDUCE_MAX   ? "-INFINITY"
              : op == IR_OP_REDUCE_MIN ? "INFINITY"
                                       : "0.0f");
    cg_printf(c, "        for (int64_t r = 0; r < count; r++) {\n");
    cg_printf(c, "            int64_t rq = r, off = base;\n");
    cg_printf(c, "            for (int dd = %d; dd >= 0; dd--) {\n", nr - 1);
    cg_printf(c, "                off += (rq %% rd[dd]) * rs[dd];\n                rq /= rd[dd];\n "
                 "           }\n");
    cg_printf(c, "            const float v = x[off];\n");
    if (op == IR_OP_REDUCE_MAX)
        cg_printf(c, "            if ((v > acc || v != v) && acc == acc) /* NaN wins */\n          "
                     "      acc = v;\n");
    else if (op == IR_OP_REDUCE_MIN)
        cg_printf(c, "            if ((v < acc || v != v) && acc == acc) /* NaN wins */\n          "
                     "      acc = v;\n");
    else
        cg_printf(c, "            acc += v;\n");
    cg_printf(c, "        }\n");
    cg_printf(c, "        out[it] = %s;\n",
              op == IR_OP_REDUCE_MEAN ? "count ? acc / (float)count : 0.0f" /* empty: 0, as ORT */
                                      : "acc");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    Shape ks_shape = {0, {{0}}};
    for (int i = 0; i < xs->rank; i++)
        if (!(mask & (1u << i)))
            ks_shape.d[ks_shape.rank++] = xs->d[i];
    k->items = cg_prod(c, &ks_shape, 0, ks_shape.rank);
    k->work = cg_dim(c, ne);
    k->ep_done = false;
}

void cg_emit_adaptive_pool(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    cg_printf(c, "    enum { H = %lld, W = %lld, OH = %lld, OW = %lld };\n", (long long)xs->d[2].c,
              (long long)xs->d[3].c, (long long)os->d[2].c, (long long)os->d[3].c);
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

void cg_emit_group_norm(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    int64_t G = ir_attr_num_groups(n);
    double eps = ir_attr_eps(n);
    static const char *const names[] = {"x", "weight", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 2)
        cg_printf(c, "    const float *weight = NULL;\n");
    if (n->n_inputs < 3)
        cg_printf(c, "    const float *bias = NULL;\n");
    cg_printf(c, "    const int64_t G = %lld, CG = %lld, inner = %s;\n", (long long)G,
              (long long)(xs->d[1].c / G), cg_prod(c, xs, 2, xs->rank));
    cg_printf(c, "    const int64_t len = CG * inner;\n");
    cg_printf(c, "    const float eps = %s;\n", cg_float(c, eps));
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* one (batch, group) */\n");
    cg_printf(c, "        const float *restrict row = x + it * len;\n");
    cg_printf(c, "        float *restrict dst = out + it * len;\n");
    cg_printf(c, "        float sum = 0.0f;\n");
    cg_printf(c, "        for (int64_t i = 0; i < len; i++)\n            sum += row[i];\n");
    cg_printf(c, "        const float mean = sum / (float)len;\n");
    cg_printf(c, "        float sq = 0.0f;\n");
    cg_printf(c, "        for (int64_t i = 0; i < len; i++)\n            sq += (row[i] - mean) * "
                 "(row[i] - mean);\n");
    cg_printf(c, "        const float inv = 1.0f / sqrtf(sq / (float)len + eps);\n");
    cg_printf(c, "        for (int64_t i = 0; i < len; i++) {\n");
    cg_printf(c, "            const int64_t ch = (it %% G) * CG + i / inner;\n");
    cg_printf(c, "            float v = (row[i] - mean) * inv;\n");
    cg_printf(c, "            if (weight)\n                v *= weight[ch];\n");
    cg_printf(c, "            if (bias)\n                v += bias[ch];\n");
    cg_printf(c, "            dst[i] = v;\n        }\n");
    cg_ep_call(c, id, 8, "it * len", "len");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    k->items = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), (long long)G);
    k->work = cg_strf(c, "%s * 4", cg_dim(c, ne));
    k->ep_done = true;
}

/* The scale of a resize along one dim as a float literal (see ir/eval.c). */
static const char *resize_scale(CgCtx *c, int64_t in, int64_t out, bool align, double sf)
{
    float s;
    if (align)
        s = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    else
        s = sf > 0 ? (float)(1.0 / sf) : (float)in / (float)out;
    return cg_float(c, (double)s);
}

void cg_emit_resize(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    int64_t H = xs->d[2].c, W = xs->d[3].c, OH = os->d[2].c, OW = os->d[3].c;
    bool bilinear = ir_attr_mode(n) == 1;
    bool align = bilinear && ir_attr_align_corners(n) != 0;
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    cg_printf(c, "    enum { H = %lld, W = %lld, OH = %lld, OW = %lld };\n", (long long)H,
              (long long)W, (long long)OH, (long long)OW);
    cg_printf(c, "    const float sh = %s, sw = %s;\n",
              resize_scale(c, H, OH, align, ir_attr_scale_h(n)),
              resize_scale(c, W, OW, align, ir_attr_scale_w(n)));
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* one (batch, channel) plane */\n");
    cg_printf(c, "        const float *restrict xp = x + it * (H * W);\n");
    cg_printf(c, "        float *restrict op = out + it * (OH * OW);\n");
    cg_printf(c, "        for (int64_t oh = 0; oh < OH; oh++)\n");
    cg_printf(c, "            for (int64_t ow = 0; ow < OW; ow++) {\n");
    if (!bilinear) {
        cg_printf(c, "                const int64_t ih = slimc_rt_min((int64_t)floorf((float)oh * "
                     "sh), H - 1);\n");
        cg_printf(c, "                const int64_t iw = slimc_rt_min((int64_t)floorf((float)ow * "
                     "sw), W - 1);\n");
        cg_printf(c, "                op[oh * OW + ow] = xp[ih * W + iw];\n");
    } else {
        if (align) {
            cg_printf(c, "                float fh = sh * (float)oh, fw = sw * (float)ow;\n");
        } else {
            cg_printf(c, "                float fh = sh * ((float)oh + 0.5f) - 0.5f;\n");
            cg_printf(c, "                float fw = sw * ((float)ow + 0.5f) - 0.5f;\n");
        }
        cg_printf(c,
                  "                fh = fh < 0 ? 0 : fh;\n                fw = fw < 0 ? 0 : fw;\n");
        cg_printf(c, "                const int64_t h0 = (int64_t)fh, w0 = (int64_t)fw;\n");
        cg_printf(
            c, "                const int64_t h1 = h0 + (h0 < H - 1), w1 = w0 + (w0 < W - 1);\n");
        cg_printf(c, "                const float lh = fh - (float)h0, lw = fw - (float)w0;\n");
        cg_printf(c, "                op[oh * OW + ow] = (1.0f - lh) * ((1.0f - lw) * xp[h0 * W + "
                     "w0] + lw * xp[h0 * W + w1]) +\n");
        cg_printf(c, "                                   lh * ((1.0f - lw) * xp[h1 * W + w0] + lw "
                     "* xp[h1 * W + w1]);\n");
    }
    cg_printf(c, "            }\n");
    cg_ep_call(c, id, 8, "it * (OH * OW)", "OH * OW");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    k->items = cg_prod(c, xs, 0, 2);
    k->work = cg_strf(c, "%s * 4", cg_dim(c, ne));
    k->ep_done = true;
}

/* conv_transpose2d as a gather: each output pixel sums the inputs that reach it. */
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
    cg_printf(c,
              "    enum { C = %lld, H = %lld, W = %lld, O = %lld, OG = %lld, KH = %lld, KW = %lld, "
              "OH = %lld, OW = %lld };\n",
              (long long)xs->d[1].c, (long long)xs->d[2].c, (long long)xs->d[3].c,
              (long long)os->d[1].c, (long long)ws->d[1].c, (long long)ws->d[2].c,
              (long long)ws->d[3].c, (long long)os->d[2].c, (long long)os->d[3].c);
    cg_printf(c,
              "    enum { SH = %lld, SW = %lld, PH = %lld, PW = %lld, DH = %lld, DW = %lld, CG = "
              "%lld };\n",
              (long long)s[0], (long long)s[1], (long long)p[0], (long long)p[1], (long long)dil[0],
              (long long)dil[1], (long long)(xs->d[1].c / groups));
    cg_printf(
        c, "    for (int64_t it = i0; it < i1; it++) { /* one (batch, output channel) plane */\n");
    cg_printf(c, "        const int64_t b = it / O, o = it %% O, grp = o / OG, oo = o %% OG;\n");
    cg_printf(c, "        float *restrict op = out + it * (OH * OW);\n");
    cg_printf(c, "        for (int64_t oh = 0; oh < OH; oh++)\n");
    cg_printf(c, "            for (int64_t ow = 0; ow < OW; ow++) {\n");
    cg_printf(c, "                float acc = 0.0f;\n");
    cg_printf(c, "                for (int64_t ci = 0; ci < CG; ci++) {\n");
    cg_printf(c, "                    const int64_t ch = grp * CG + ci;\n");
    cg_printf(c, "                    const float *xp = x + (b * C + ch) * (H * W);\n");
    cg_printf(c, "                    const float *wp = w + (ch * OG + oo) * (KH * KW);\n");
    cg_printf(c, "                    for (int64_t kh = 0; kh < KH; kh++) {\n");
    cg_printf(c, "                        const int64_t th = oh + PH - kh * DH;\n");
    cg_printf(c, "                        if (th < 0 || th %% SH || th / SH >= H)\n                "
                 "            continue;\n");
    cg_printf(c, "                        for (int64_t kw = 0; kw < KW; kw++) {\n");
    cg_printf(c, "                            const int64_t tw = ow + PW - kw * DW;\n");
    cg_printf(c, "                            if (tw < 0 || tw %% SW || tw / SW >= W)\n            "
                 "                    continue;\n");
    cg_printf(
        c, "                            acc += xp[(th / SH) * W + tw / SW] * wp[kh * KW + kw];\n");
    cg_printf(c, "                        }\n                    }\n                }\n");
    cg_printf(c, "                if (bias)\n                    acc += bias[o];\n");
    cg_printf(c, "                op[oh * OW + ow] = acc;\n");
    cg_printf(c, "            }\n");
    cg_ep_call(c, id, 8, "it * (OH * OW)", "OH * OW");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), (long long)os->d[1].c);
    k->work = cg_strf(
        c, "%s * %lld", k->items,
        (long long)(os->d[2].c * os->d[3].c * (xs->d[1].c / groups) * ws->d[2].c * ws->d[3].c));
    k->ep_done = true;
}
