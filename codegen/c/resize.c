/* Resizing: resize (nearest, bilinear over the two last dims; see ir/eval.c) and
 * resize_axis (one axis, the taps of ir/resize_taps.c). Each output element is computed in
 * one item, in the reference's order. */
#include "codegen/c/cg_internal.h"
#include "ir/resize_taps.h"

#include <string.h>

static int axis_of(const Node *n, int rank)
{
    int64_t a = ir_attr_axis(n);
    return (int)(a < 0 ? a + rank : a);
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

/* resize_axis: the taps as static tables (ir/resize_taps.c), one item per (outer, output
 * position) row of inner elements. */
/* resize_axis along a symbolic length (ir_resize_upsample_factor: nearest upsample by K):
 * output position j reads input j / K; one item per (outer, output position) row. */
static void emit_resize_axis_sym(CgCtx *c, NodeId id, int ax, int64_t K, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    const char *inner = cg_prod(c, xs, ax + 1, xs->rank);
    cg_printf(c, "    /* nearest upsample by %lld of a symbolic length */\n", (long long)K);
    cg_printf(c, "    const int64_t len = %s, olen = %s, inner = %s;\n", cg_dim(c, xs->d[ax]),
              cg_dim(c, os->d[ax]), inner);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* (outer, output position) */\n");
    cg_printf(c, "        const int64_t o = it / olen, j = it %% olen;\n");
    cg_printf(c, "        const float *restrict xr = x + (o * len + j / %lld) * inner;\n",
              (long long)K);
    cg_printf(c, "        float *restrict y = out + it * inner;\n");
    cg_printf(c, "        for (int64_t i = 0; i < inner; i++)\n            y[i] = xr[i];\n");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "%s * %s", cg_prod(c, xs, 0, ax), cg_dim(c, os->d[ax]));
    k->work = cg_strf(c, "%s * %s * %s", cg_prod(c, xs, 0, ax), cg_dim(c, os->d[ax]), inner);
}

/* resize_axis along a symbolic length with its taps computed when it runs (ir_resize_sym:
 * nearest, linear or cubic, four coordinate modes), as ir/resize_taps.c computes them, in
 * double: the source coordinate xo of output position j, its fraction r (1 when xo is
 * whole) and base, the lower of the two nearest whole positions (xo - 1 when whole);
 * nearest and linear read base and base + 1, cubic base - 1 .. base + 2 (the four nearest,
 * ties to the lower), each clamped to the input (edge padding) or, under exclude_outside,
 * dropped with the rest renormalized. Linear weights 1 - r and r, nearest's rounding of r,
 * Keys's cubic with coefficient a. One item per 64 output positions, whose taps it computes
 * once for every outer index (a resize of the last axis would otherwise compute them per
 * element). */
static void emit_resize_axis_taps(CgCtx *c, NodeId id, int ax, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    const int mode = (int)ir_attr_mode(n), coord = (int)ir_attr_coord(n);
    const int nearest = (int)ir_attr_nearest(n);
    const double scale = ir_attr_scale(n);
    const int nt = mode == 2 ? 4 : 2; /* taps per output position */
    static const char *const names[] = {"x"};
    static const char *const mode_names[] = {"nearest", "linear", "cubic"};
    cg_body_begin(c, id, names, 1);
    const char *inner = cg_prod(c, xs, ax + 1, xs->rank);
    cg_printf(c, "    /* %s resize of a symbolic length, the taps computed here */\n",
              mode_names[mode >= 0 && mode < 3 ? mode : 0]);
    cg_printf(c, "    const int64_t len = %s, olen = %s, inner = %s;\n", cg_dim(c, xs->d[ax]),
              cg_dim(c, os->d[ax]), inner);
    if (scale > 0)
        cg_printf(c, "    const double in = (double)len, scale = %.17g;\n", scale);
    else
        cg_printf(c, "    const double in = (double)len, scale = (double)olen / in;\n");
    cg_printf(c, "    const double ow = scale * in;\n    (void)ow;\n");
    static const char *const coords[] = {
        "(xj + 0.5) / scale - 0.5",                  /* half_pixel */
        "xj / scale",                                /* asymmetric */
        "ow == 1 ? 0.0 : xj * (in - 1) / (ow - 1)",  /* align_corners */
        "ow == 1 ? -0.5 : (xj + 0.5) / scale - 0.5", /* pytorch_half_pixel */
    };
    cg_printf(c, "    const int64_t outer = %s;\n", cg_prod(c, xs, 0, ax));
    cg_printf(
        c, "    for (int64_t it = i0; it < i1; it++) { /* 64 output positions, every outer */\n");
    cg_printf(c, "        const int64_t j0 = it * 64, j1 = slimc_rt_min(olen, j0 + 64);\n");
    cg_printf(c,
              "        int64_t p[%d][64]; /* the taps of j0.., clamped to the input */\n"
              "        float w[%d][64];\n        (void)w;\n",
              nt, nt);
    cg_printf(c, "        for (int64_t j = j0; j < j1; j++) {\n");
    cg_printf(c, "            const double xj = (double)j, xo = %s, f = floor(xo);\n",
              coords[coord >= 0 && coord < 4 ? coord : 0]);
    cg_printf(c, "            const double r = xo == f ? 1.0 : xo - f;\n");
    cg_printf(c, "            const int64_t base = (int64_t)f - (xo == f);\n");
    if (mode == 2) {
        cg_printf(c, "            const double a = %.17g, r1 = r + 1, q = 1 - r, q1 = q + 1;\n",
                  (double)ir_attr_cubic_a(n));
        cg_printf(c,
                  "            double cw[4] = {((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a,\n"
                  "                            ((a + 2) * r - (a + 3)) * r * r + 1,\n"
                  "                            ((a + 2) * q - (a + 3)) * q * q + 1,\n"
                  "                            ((a * q1 - 5 * a) * q1 + 8 * a) * q1 - 4 * a};\n");
        if (ir_attr_exclude_outside(n)) {
            cg_printf(c, "            double sum = 0; /* exclude_outside */\n");
            cg_printf(c, "            for (int t = 0; t < 4; t++) {\n");
            cg_printf(c, "                if (base - 1 + t < 0 || base - 1 + t >= len)\n");
            cg_printf(c, "                    cw[t] = 0;\n                sum += cw[t];\n");
            cg_printf(c, "            }\n            for (int t = 0; t < 4; t++)\n");
            cg_printf(c, "                cw[t] /= sum;\n");
        }
        cg_printf(c, "            for (int t = 0; t < 4; t++) {\n");
        cg_printf(c, "                const int64_t pt = base - 1 + t;\n");
        cg_printf(c, "                p[t][j - j0] = pt < 0 ? 0 : pt >= len ? len - 1 : pt;\n");
        cg_printf(c, "                w[t][j - j0] = (float)cw[t];\n            }\n        }\n");
    } else {
        cg_printf(c, "            int64_t a0 = base, a1 = a0 + 1;\n");
        cg_printf(c, "            a0 = a0 < 0 ? 0 : a0 >= len ? len - 1 : a0;\n");
        cg_printf(c, "            a1 = a1 < 0 ? 0 : a1 >= len ? len - 1 : a1;\n");
        if (mode == 1) {
            cg_printf(c, "            w[0][j - j0] = (float)(1 - r);\n"
                         "            w[1][j - j0] = (float)r;\n");
        } else {
            static const char *const up[] = {"r > 0.5", "r >= 0.5", "0", "1"};
            cg_printf(c, "            if (r == 1.0 || (%s)) /* nearest: the upper tap */\n",
                      up[nearest >= 0 && nearest < 4 ? nearest : 0]);
            cg_printf(c, "                a0 = a1;\n");
        }
        cg_printf(c, "            p[0][j - j0] = a0;\n            p[1][j - j0] = a1;\n        }\n");
    }
    cg_printf(c, "        for (int64_t o = 0; o < outer; o++)\n");
    cg_printf(c, "            for (int64_t j = j0; j < j1; j++) {\n");
    cg_printf(c, "                float *restrict y = out + (o * olen + j) * inner;\n");
    if (mode == 0) {
        cg_printf(c, "                const float *restrict x0 = x + (o * len + p[0][j - j0]) * "
                     "inner;\n");
        cg_printf(c, "                for (int64_t i = 0; i < inner; i++)\n");
        cg_printf(c, "                    y[i] = x0[i];\n");
    } else {
        for (int t = 0; t < nt; t++)
            cg_printf(c,
                      "                const float *restrict x%d = x + (o * len + p[%d][j - j0]) * "
                      "inner;\n                const float u%d = w[%d][j - j0];\n",
                      t, t, t, t);
        cg_printf(c, "                for (int64_t i = 0; i < inner; i++)\n");
        cg_printf(c, "                    y[i] = 0.0f");
        for (int t = 0; t < nt; t++)
            cg_printf(c, " + u%d * x%d[i]", t, t);
        cg_printf(c, ";\n");
    }
    cg_printf(c, "            }\n    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "(%s + 63) / 64", cg_dim(c, os->d[ax]));
    k->work =
        cg_strf(c, "%s * %s * %s * %d", cg_prod(c, xs, 0, ax), cg_dim(c, os->d[ax]), inner, nt);
}

/* An antialiased linear or cubic resize_axis along a symbolic length, its taps computed
 * when it runs as ir/resize_taps.c computes them: the kernel (1 - |t| clamped to [0, 1],
 * or Keys's cubic with coefficient a) at t = (start + i - r) * s for s = min(scale, 1),
 * start = floor(-support / s) + 1 and i < nt = 2 - 2 * start (the support 1 or 2 widened
 * by 1/s), normalized to sum 1 (and again without the positions off the input under
 * exclude_outside); tap i reads position base + start + i clamped to the input (edge
 * padding), base and r as emit_resize_axis_taps's. A constant scale fixes nt here; a
 * constant size (scale size / len when it runs) bounds it by the scale's least,
 * IR_RESIZE_AA_MIN_SCALE, which the shape function makes a bound of len's symbol. Sums
 * in float in the tap order of the static kernel. One item per 16 output positions. */
static void emit_resize_axis_aa(CgCtx *c, NodeId id, int ax, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    const int mode = (int)ir_attr_mode(n), coord = (int)ir_attr_coord(n);
    const double scale = ir_attr_scale(n);
    const int most = ir_resize_aa_taps(mode, scale > 0 ? scale : IR_RESIZE_AA_MIN_SCALE);
    if (!most || coord < 0 || coord > 3) {
        cg_error(c, n, "an antialiased resize of a symbolic length in this mode or scale");
        return;
    }
    static const char *const names[] = {"x"};
    static const char *const coords[] = {
        "(xj + 0.5) / scale - 0.5",                  /* half_pixel */
        "xj / scale",                                /* asymmetric */
        "ow == 1 ? 0.0 : xj * (in - 1) / (ow - 1)",  /* align_corners */
        "ow == 1 ? -0.5 : (xj + 0.5) / scale - 0.5", /* pytorch_half_pixel */
    };
    cg_body_begin(c, id, names, 1);
    const char *inner = cg_prod(c, xs, ax + 1, xs->rank);
    cg_printf(c, "    /* antialiased %s resize of a symbolic length, the taps computed here */\n",
              mode == 2 ? "cubic" : "linear");
    cg_printf(c, "    const int64_t len = %s, olen = %s, inner = %s, outer = %s;\n",
              cg_dim(c, xs->d[ax]), cg_dim(c, os->d[ax]), inner, cg_prod(c, xs, 0, ax));
    if (scale > 0)
        cg_printf(c, "    const double in = (double)len, scale = %.17g;\n", scale);
    else
        cg_printf(c, "    const double in = (double)len, scale = (double)olen / in;\n");
    cg_printf(c,
              "    const double ow = scale * in, s = scale < 1.0 ? scale : 1.0;\n    (void)ow;\n");
    cg_printf(c, "    const int start = (int)floor(%s / s) + 1, nt = 2 - 2 * start;\n",
              mode == 2 ? "-2.0" : "-1.0");
    cg_printf(c,
              "    if (nt < 1 || nt > %d)\n        return; /* below the least scale: the "
              "binder refuses such a length */\n",
              most);
    cg_printf(
        c, "    for (int64_t it = i0; it < i1; it++) { /* 16 output positions, every outer */\n");
    cg_printf(c, "        const int64_t j0 = it * 16, j1 = slimc_rt_min(olen, j0 + 16);\n");
    cg_printf(c,
              "        int64_t p[%d][16]; /* the taps of j0.., clamped to the input */\n"
              "        float w[%d][16];\n",
              most, most);
    cg_printf(c, "        for (int64_t j = j0; j < j1; j++) {\n");
    cg_printf(c, "            const double xj = (double)j, xo = %s, f = floor(xo);\n",
              coords[coord]);
    cg_printf(c, "            const double r = xo == f ? 1.0 : xo - f;\n");
    cg_printf(c, "            const int64_t base = (int64_t)f - (xo == f);\n");
    cg_printf(c, "            double cw[%d], sum = 0;\n", most);
    cg_printf(c, "            for (int t = 0; t < nt; t++) {\n");
    cg_printf(c, "                const double u = (start + t - r) * s;\n");
    if (mode == 2) {
        cg_printf(c,
                  "                const double a = %.17g, v = fabs(u), v2 = v * v, v3 = v * v2;\n",
                  (double)ir_attr_cubic_a(n));
        cg_printf(c, "                cw[t] = v <= 1 ? (a + 2) * v3 - (a + 3) * v2 + 1\n"
                     "                        : v < 2 ? a * v3 - 5 * a * v2 + 8 * a * v - 4 * a\n"
                     "                                : 0.0; /* Keys's cubic */\n");
    } else {
        cg_printf(c, "                const double v = 1 - fabs(u);\n");
        cg_printf(c, "                cw[t] = v < 0 ? 0 : v > 1 ? 1 : v; /* the triangle */\n");
    }
    cg_printf(c, "                sum += cw[t];\n            }\n");
    cg_printf(c, "            for (int t = 0; t < nt; t++)\n                cw[t] /= sum;\n");
    if (ir_attr_exclude_outside(n)) {
        cg_printf(c, "            sum = 0; /* exclude_outside */\n");
        cg_printf(c, "            for (int t = 0; t < nt; t++) {\n");
        cg_printf(c, "                if (base + start + t < 0 || base + start + t >= len)\n");
        cg_printf(c, "                    cw[t] = 0;\n                sum += cw[t];\n");
        cg_printf(c, "            }\n            for (int t = 0; t < nt; t++)\n");
        cg_printf(c, "                cw[t] /= sum;\n");
    }
    cg_printf(c, "            for (int t = 0; t < nt; t++) {\n");
    cg_printf(c, "                const int64_t pt = base + start + t;\n");
    cg_printf(c, "                p[t][j - j0] = pt < 0 ? 0 : pt >= len ? len - 1 : pt;\n");
    cg_printf(c, "                w[t][j - j0] = (float)cw[t];\n            }\n        }\n");
    cg_printf(c, "        for (int64_t o = 0; o < outer; o++)\n");
    cg_printf(c, "            for (int64_t j = j0; j < j1; j++) {\n");
    cg_printf(c, "                float *restrict y = out + (o * olen + j) * inner;\n");
    cg_printf(
        c,
        "                for (int64_t i = 0; i < inner; i++)\n                    y[i] = 0.0f;\n");
    cg_printf(c, "                for (int t = 0; t < nt; t++) {\n");
    cg_printf(c, "                    const float u = w[t][j - j0];\n");
    cg_printf(
        c,
        "                    const float *restrict xr = x + (o * len + p[t][j - j0]) * inner;\n");
    cg_printf(c, "                    for (int64_t i = 0; i < inner; i++)\n");
    cg_printf(c, "                        y[i] += u * xr[i];\n                }\n");
    cg_printf(c, "            }\n    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "(%s + 15) / 16", cg_dim(c, os->d[ax]));
    k->work =
        cg_strf(c, "%s * %s * %s * %d", cg_prod(c, xs, 0, ax), cg_dim(c, os->d[ax]), inner, most);
}

void cg_emit_resize_axis(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    int ax = axis_of(n, xs->rank);
    if (!ir_dim_static(xs->d[ax]) || !ir_dim_static(os->d[ax])) { /* or to a symbol's size */
        int64_t K = ir_resize_upsample_factor((int)ir_attr_mode(n), (int)ir_attr_coord(n),
                                              (int)ir_attr_nearest(n), ir_attr_scale(n),
                                              ir_attr_antialias(n) != 0);
        if (K)
            emit_resize_axis_sym(c, id, ax, K, k);
        else if (ir_attr_antialias(n) && ir_attr_mode(n) != 0)
            emit_resize_axis_aa(c, id, ax, k);
        else if (ir_resize_sym((int)ir_attr_mode(n), (int)ir_attr_coord(n)))
            emit_resize_axis_taps(c, id, ax, k);
        else
            cg_error(c, n, "a symbolic length is resized only by nearest, linear or cubic");
        return;
    }
    ResizeTaps t;
    if (!ir_resize_taps(n, xs->d[ax].c, &t)) {
        cg_error(c, n, "out of memory");
        return;
    }
    const char *fn = c->fn_names[id];
    cg_printf(c, "/* %s: %d taps per output position: input index and weight */\n",
              cg_text(c, n->name), t.k);
    cg_printf(c, "static const int32_t %s_idx[%lld] = {", fn, (long long)(t.out_len * t.k));
    for (int64_t i = 0; i < t.out_len * t.k; i++)
        cg_printf(c, "%s%d", i % 16 ? ", " : i ? ",\n    " : "\n    ", (int)t.idx[i]);
    cg_printf(c, "\n};\nstatic const float %s_w[%lld] = {", fn, (long long)(t.out_len * t.k));
    for (int64_t i = 0; i < t.out_len * t.k; i++)
        cg_printf(c, "%s%s", i % 8 ? ", " : i ? ",\n    " : "\n    ", cg_float(c, t.w[i]));
    cg_printf(c, "\n};\n");
    bool any_extrap = false;
    for (int64_t i = 0; i < t.out_len; i++)
        any_extrap |= t.extrap[i] != 0;
    if (any_extrap) {
        cg_printf(c, "static const uint8_t %s_ext[%lld] = {", fn, (long long)t.out_len);
        for (int64_t i = 0; i < t.out_len; i++)
            cg_printf(c, "%s%d", i % 16 ? ", " : i ? ",\n    " : "\n    ", t.extrap[i]);
        cg_printf(c, "\n};\n");
    }
    cg_printf(c, "\n");
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    const char *inner = cg_prod(c, xs, ax + 1, xs->rank);
    cg_printf(c, "    const int64_t len = %s, olen = %lld, inner = %s;\n", cg_dim(c, xs->d[ax]),
              (long long)t.out_len, inner);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* (outer, output position) */\n");
    cg_printf(c, "        const int64_t o = it / olen, j = it %% olen;\n");
    cg_printf(c, "        float *restrict y = out + it * inner;\n");
    if (any_extrap) {
        cg_printf(c, "        if (%s_ext[j]) {\n", fn);
        cg_printf(c,
                  "            for (int64_t i = 0; i < inner; i++)\n                y[i] = %s;\n",
                  cg_float(c, ir_attr_extrapolation(n)));
        cg_printf(c, "            continue;\n        }\n");
    }
    cg_printf(c, "        for (int64_t i = 0; i < inner; i++)\n            y[i] = 0.0f;\n");
    cg_printf(c, "        for (int t = 0; t < %d; t++) {\n", t.k);
    cg_printf(c, "            const float w = %s_w[j * %d + t];\n", fn, t.k);
    cg_printf(
        c, "            const float *restrict xr = x + (o * len + %s_idx[j * %d + t]) * inner;\n",
        fn, t.k);
    cg_printf(
        c, "            for (int64_t i = 0; i < inner; i++)\n                y[i] += w * xr[i];\n");
    cg_printf(c, "        }\n    }\n");
    cg_body_end(c);
    k->items = cg_strf(c, "%s * %lld", cg_prod(c, xs, 0, ax), (long long)t.out_len);
    k->work =
        cg_strf(c, "%s * %lld * %s * %d", cg_prod(c, xs, 0, ax), (long long)t.out_len, inner, t.k);
    ir_resize_taps_free(&t);
}
