/* The training ops that are not elementwise (ir/ops.def's last block): pooling, conv2d
 * weight and embedding gradients, the losses and their gradients. Each output element is
 * summed inside one item in the reference's order (ir/eval_grad.c), so the results do not
 * depend on the thread count: pool gradients one (batch, channel) plane per item, the
 * weight gradient a block of weight columns per item (the batch summed inside it, in order),
 * embedding and the losses one item. A label that is neither a class nor ignore_index
 * makes P_run fail (the API checks labels before it runs a step, so this is a last guard). */
#include "codegen/c/cg_internal.h"

/* The static size of dim i of s as a long long. */
static long long dim_c(const Shape *s, int i)
{
    return (long long)s->d[i].c;
}

static bool static_image(CgCtx *c, const Node *n, const Shape *s)
{
    if (s->rank == 4 && ir_dim_static(s->d[1]) && ir_dim_static(s->d[2]) && ir_dim_static(s->d[3]))
        return true;
    cg_error(c, n, "expects [N, C, H, W] with static channels and image size");
    return false;
}

static void emit_pool_grad_loops(CgCtx *c, const Node *n, const Shape *xs, const Shape *ys,
                                 const int64_t *kk, const int64_t *s, const int64_t *p,
                                 const int64_t *dil);

/* max_pool2d_grad(dy, x), avg_pool2d_grad(dy, x), adaptive_avg_pool2d_grad(dy, x). */
void cg_emit_pool_grad(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *ys = cg_shape(c, n->inputs[0]), *xs = cg_shape(c, n->inputs[1]);
    if (!static_image(c, n, xs) || !static_image(c, n, ys))
        return;
    int64_t kk[2] = {1, 1}, s[2] = {1, 1}, p[2] = {0, 0}, dil[2] = {1, 1};
    if (n->op != IR_OP_ADAPTIVE_AVG_POOL2D_GRAD) {
        ir_attr_kernel(n, kk, 2);
        if (!ir_attr_stride_or(n, s, 2, 0) || s[0] == 0)
            s[0] = kk[0], s[1] = kk[1];
        ir_attr_padding(n, p, 2);
        if (n->op == IR_OP_MAX_POOL2D_GRAD)
            ir_attr_dilation(n, dil, 2);
    }
    static const char *const names[] = {"dy", "x"};
    cg_body_begin(c, id, names, 2);
    if (n->op == IR_OP_MAX_POOL2D_GRAD && kk[0] == 2 && kk[1] == 2 && s[0] == 2 && s[1] == 2 &&
        p[0] == 0 && p[1] == 0 && dil[0] == 1 && dil[1] == 1 && 2 * dim_c(ys, 2) <= dim_c(xs, 2) &&
        2 * dim_c(ys, 3) <= dim_c(xs, 3)) {
        /* LeNet's pools: the runtime's kernel, the same bits (AVX2: four windows a step) */
        cg_printf(c, "    enum { H = %lld, W = %lld, OH = %lld, OW = %lld };\n", dim_c(xs, 2),
                  dim_c(xs, 3), dim_c(ys, 2), dim_c(ys, 3));
        cg_printf(c, "    for (int64_t it = i0; it < i1; it++) /* one (batch, channel) plane */\n");
        cg_printf(c, "        slimc_rt_maxpool2_grad_plane(H, W, OH, OW, x + it * (H * W), dy + it "
                     "* (OH * OW), out + it * (H * W));\n");
    } else
        emit_pool_grad_loops(c, n, xs, ys, kk, s, p, dil);
    cg_body_end(c);
    k->items = cg_prod(c, xs, 0, 2);
    k->work =
        cg_strf(c, "%s * %lld", k->items, (long long)(ys->d[2].c * ys->d[3].c * kk[0] * kk[1]));
    k->ep_done = true;
}

/* The generic body of cg_emit_pool_grad: per plane, zeros, then each window's gradient added
 * where it goes (max: the first maximum of the window, a NaN winning). */
static void emit_pool_grad_loops(CgCtx *c, const Node *n, const Shape *xs, const Shape *ys,
                                 const int64_t *kk, const int64_t *s, const int64_t *p,
                                 const int64_t *dil)
{
    cg_printf(c, "    enum { H = %lld, W = %lld, OH = %lld, OW = %lld, KH = %lld, KW = %lld };\n",
              dim_c(xs, 2), dim_c(xs, 3), dim_c(ys, 2), dim_c(ys, 3), (long long)kk[0],
              (long long)kk[1]);
    cg_printf(c, "    enum { SH = %lld, SW = %lld, PH = %lld, PW = %lld, DH = %lld, DW = %lld };\n",
              (long long)s[0], (long long)s[1], (long long)p[0], (long long)p[1], (long long)dil[0],
              (long long)dil[1]);
    cg_printf(c, "    (void)x;\n");
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* one (batch, channel) plane */\n");
    cg_printf(c, "        const float *restrict dp = dy + it * (OH * OW);\n");
    cg_printf(c, "        float *restrict op = out + it * (H * W);\n");
    cg_printf(c, "        memset(op, 0, sizeof(float) * (H * W));\n");
    cg_printf(c, "        for (int64_t oh = 0; oh < OH; oh++)\n");
    cg_printf(c, "            for (int64_t ow = 0; ow < OW; ow++) {\n");
    if (n->op == IR_OP_MAX_POOL2D_GRAD) {
        cg_printf(c, "                const float *restrict xp = x + it * (H * W);\n");
        cg_printf(c, "                int64_t best = -1;\n                float m = -INFINITY;\n");
        cg_printf(c, "                for (int64_t kh = 0; kh < KH; kh++) {\n");
        cg_printf(c, "                    const int64_t ih = oh * SH - PH + kh * DH;\n");
        cg_printf(c, "                    if (ih < 0 || ih >= H)\n                        "
                     "continue;\n");
        cg_printf(c, "                    for (int64_t kw = 0; kw < KW; kw++) {\n");
        cg_printf(c, "                        const int64_t iw = ow * SW - PW + kw * DW;\n");
        cg_printf(c, "                        if (iw < 0 || iw >= W)\n                            "
                     "continue;\n");
        cg_printf(c, "                        const float v = xp[ih * W + iw];\n");
        cg_printf(c, "                        if (best < 0 || v > m || v != v) { /* the first "
                     "maximum; a NaN wins */\n");
        cg_printf(c, "                            best = ih * W + iw;\n");
        cg_printf(c, "                            m = v;\n                        }\n");
        cg_printf(c, "                    }\n                }\n");
        cg_printf(c, "                if (best >= 0)\n                    op[best] += dp[oh * OW "
                     "+ ow];\n");
    } else {
        if (n->op == IR_OP_ADAPTIVE_AVG_POOL2D_GRAD) {
            cg_printf(c, "                const int64_t h0 = oh * H / OH, h1 = ((oh + 1) * H + OH "
                         "- 1) / OH;\n");
            cg_printf(c, "                const int64_t w0 = ow * W / OW, w1 = ((ow + 1) * W + OW "
                         "- 1) / OW;\n");
            cg_printf(c, "                const int64_t divisor = (h1 - h0) * (w1 - w0);\n");
        } else {
            bool include_pad = ir_attr_count_include_pad_or(n, 1) != 0;
            cg_printf(c, "                int64_t h0 = oh * SH - PH, w0 = ow * SW - PW;\n");
            cg_printf(c, "                int64_t h1 = slimc_rt_min(h0 + KH, H + PH), w1 = "
                         "slimc_rt_min(w0 + KW, W + PW);\n");
            cg_printf(c, "                const int64_t pool_size = (h1 - h0) * (w1 - w0);\n");
            cg_printf(c, "                h0 = slimc_rt_max(h0, 0), w0 = slimc_rt_max(w0, 0);\n");
            cg_printf(c, "                h1 = slimc_rt_min(h1, H), w1 = slimc_rt_min(w1, W);\n");
            cg_printf(c, "                const int64_t divisor = %s;\n",
                      include_pad ? "pool_size" : "(h1 - h0) * (w1 - w0)");
        }
        cg_printf(c, "                if (h0 >= h1 || w0 >= w1)\n                    continue;\n");
        cg_printf(c, "                const float gv = dp[oh * OW + ow] / (float)divisor;\n");
        cg_printf(c, "                for (int64_t ih = h0; ih < h1; ih++)\n");
        cg_printf(c, "                    for (int64_t iw = w0; iw < w1; iw++)\n");
        cg_printf(c, "                        op[ih * W + iw] += gv;\n");
    }
    cg_printf(c, "            }\n    }\n");
}

/* conv2d_weight_grad(x, dy, w): slimc_rt_conv2d_wgrad (runtime/kernels/conv.c). An item is
 * a block of up to SLIMC_RT_WGRAD_KB columns k (over [CG, KH, KW]) of one group's output
 * channels: per image and block of pixels, it builds those columns of the transposed im2col
 * once and adds one GEMM of dy's rows by them, so no item repeats another's im2col. Every
 * weight's sum is one chain over the images' pixels in order, whatever the thread count.
 * (An item per block of 32 output channels, each rebuilding the whole im2col in [P, K]
 * with strided stores, ran LeNet's conv2 gradient at 17.6 GFLOP/s; a direct loop at 7.) */
void cg_emit_conv2d_weight_grad(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *ys = cg_shape(c, n->inputs[1]),
                *ws = cg_shape(c, n->inputs[2]);
    if (!static_image(c, n, xs) || !static_image(c, n, ys) || !ir_dim_static(ws->d[0]))
        return;
    int64_t s[2], p[2], dil[2], groups = ir_attr_groups(n);
    ir_attr_stride(n, s, 2);
    ir_attr_padding(n, p, 2);
    ir_attr_dilation(n, dil, 2);
    const long long OG = (long long)(ws->d[0].c / groups);
    const long long K = (long long)(ws->d[1].c * ws->d[2].c * ws->d[3].c);
    const long long KB = K < SLIMC_RT_WGRAD_KB ? K : SLIMC_RT_WGRAD_KB,
                    nb = KB > 0 ? (K + KB - 1) / KB : 1;
    static const char *const names[] = {"x", "dy"};
    cg_body_begin(c, id, names, 2);
    cg_printf(c, "    /* C, H, W, O, CG, OG, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW, ACT */\n");
    cg_printf(c,
              "    static const slimc_rt_conv s = {%lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, "
              "%lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, 0};\n",
              dim_c(xs, 1), dim_c(xs, 2), dim_c(xs, 3), dim_c(ys, 1), dim_c(ws, 1), OG,
              dim_c(ws, 2), dim_c(ws, 3), dim_c(ys, 2), dim_c(ys, 3), (long long)s[0],
              (long long)s[1], (long long)p[0], (long long)p[1], (long long)dil[0],
              (long long)dil[1]);
    cg_printf(c, "    /* col [SLIMC_RT_WGRAD_PC, %lld + 8]: a block of the transposed im2col */\n",
              KB);
    cg_printf(c, "    float *col = (float *)malloc(sizeof(float) * SLIMC_RT_WGRAD_COL);\n");
    cg_printf(c, "    if (!col) {\n        __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n"
                 "        return;\n    }\n");
    cg_printf(
        c, "    for (int64_t it = i0; it < i1; it++) { /* columns [k0, k1) of group it / %lld */\n",
        nb);
    cg_printf(c,
              "        const int64_t k0 = it %% %lld * %lld, k1 = slimc_rt_min(k0 + %lld, %lld);\n",
              nb, KB, KB, K);
    cg_printf(c, "        slimc_rt_conv2d_wgrad(&s, %s, x, dy, out, it / %lld, k0, k1, col);\n",
              cg_dim(c, xs->d[0]), nb);
    cg_printf(c, "    }\n    free(col);\n");
    cg_body_end(c);
    k->items = cg_strf(c, "%lld", (long long)groups * nb);
    k->work = cg_strf(
        c, "%s * %lld", cg_dim(c, xs->d[0]),
        (long long)(ys->d[1].c * ys->d[2].c * ys->d[3].c * ws->d[1].c * ws->d[2].c * ws->d[3].c));
    k->ep_done = true;
}

/* embedding_grad(dy, indices, w): one item, rows added in order. */
void cg_emit_embedding_grad(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *is = cg_shape(c, n->inputs[1]), *ws = cg_shape(c, n->inputs[2]);
    static const char *const names[] = {"dy", "idx"};
    Dim ne;
    if (!cg_numel(c, id, is, &ne))
        return;
    cg_body_begin(c, id, names, 2);
    cg_printf(c, "    const int64_t V = %s, D = %s, count = %s;\n", cg_dim(c, ws->d[0]),
              cg_dim(c, ws->d[1]), cg_dim(c, ne));
    cg_printf(c, "    (void)i0, (void)i1;\n");
    cg_printf(c, "    memset(out, 0, sizeof(float) * (size_t)(V * D));\n");
    cg_printf(c, "    for (int64_t i = 0; i < count; i++) {\n");
    cg_printf(c, "        const int64_t r = (int64_t)idx[i];\n");
    cg_printf(c, "        if (r < 0 || r >= V) {\n");
    cg_printf(c, "            __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n");
    cg_printf(c, "            continue;\n        }\n");
    cg_printf(c, "        for (int64_t j = 0; j < D; j++)\n");
    cg_printf(c, "            out[r * D + j] += dy[i * D + j];\n    }\n");
    cg_body_end(c);
    k->items = "1";
    k->work = cg_strf(c, "%s * %s", cg_dim(c, ne), cg_dim(c, ws->d[1]));
    k->ep_done = true;
}

/* Prints, at indentation 8, the softmax of row / T into p (double) as the reference's
 * softmax_row: mx = max / T, lse = log(sum(exp(row / T - mx))). */
static void emit_softmax_row(CgCtx *c, const char *row, const char *T, const char *p,
                             const char *mx, const char *lse)
{
    cg_printf(c, "        double %s = -INFINITY, %s = 0.0;\n", mx, lse);
    cg_printf(c, "        for (int64_t j = 0; j < C; j++)\n");
    cg_printf(c, "            %s = (double)%s[j] / %s > %s ? (double)%s[j] / %s : %s;\n", mx, row,
              T, mx, row, T, mx);
    cg_printf(c, "        for (int64_t j = 0; j < C; j++)\n");
    cg_printf(c, "            %s += (%s[j] = exp((double)%s[j] / %s - %s));\n", lse, p, row, T, mx);
    cg_printf(c, "        for (int64_t j = 0; j < C; j++)\n            %s[j] /= %s;\n", p, lse);
    cg_printf(c, "        %s = log(%s);\n", lse, lse);
}

/* cross_entropy, nll_loss, distill_loss and their gradients: one item (the mean needs the
 * count of labeled samples first); the same arithmetic as the reference's eval_class_loss. */
void cg_emit_class_loss(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    OpKind op = n->op;
    bool grad = op == IR_OP_CROSS_ENTROPY_GRAD || op == IR_OP_NLL_LOSS_GRAD ||
                op == IR_OP_DISTILL_LOSS_GRAD;
    bool nll = op == IR_OP_NLL_LOSS || op == IR_OP_NLL_LOSS_GRAD;
    bool distill = op == IR_OP_DISTILL_LOSS || op == IR_OP_DISTILL_LOSS_GRAD;
    const Shape *ss = cg_shape(c, n->inputs[0]);
    if (ss->rank != 2 || !ir_dim_static(ss->d[1])) {
        cg_error(c, n, "expects [N, C] with a static class count");
        return;
    }
    static const char *const names2[] = {"s", "labels"}, *const names3[] = {"s", "t", "labels"};
    cg_body_begin(c, id, distill ? names3 : names2, distill ? 3 : 2);
    cg_printf(c, "    const int64_t N = %s;\n", cg_dim(c, ss->d[0]));
    cg_printf(c, "    enum { C = %lld };\n", dim_c(ss, 1));
    cg_printf(c, "    const int64_t ignore = %lldLL;\n", (long long)ir_attr_ignore_index(n));
    cg_printf(c, "    const double T = %.17g, alpha = %.17g, hard = %.17g;\n",
              distill ? ir_attr_temperature(n) : 1.0, distill ? ir_attr_alpha(n) : 0.0,
              distill ? 1.0 - ir_attr_alpha(n) : 1.0);
    cg_printf(c, "    (void)i0, (void)i1, (void)T, (void)alpha;\n");
    cg_printf(c, "    int64_t count = 0;\n");
    cg_printf(c, "    for (int64_t i = 0; i < N; i++) {\n");
    cg_printf(c, "        if (labels[i] != ignore && (labels[i] < 0 || labels[i] >= C))\n");
    cg_printf(c, "            __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n");
    cg_printf(c, "        count += labels[i] != ignore;\n    }\n");
    cg_printf(c, "    double *ps = (double *)malloc(sizeof(double) * 2 * C), *pt = ps + C;\n");
    cg_printf(c, "    if (!ps) {\n        __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n        "
                 "return;\n    }\n");
    cg_printf(c, "    double ce = 0.0, kl = 0.0;\n");
    cg_printf(c, "    (void)pt, (void)kl;\n");
    cg_printf(c, "    for (int64_t i = 0; i < N; i++) {\n");
    cg_printf(c, "        const float *row = s + i * C;\n");
    cg_printf(c,
              "        const int64_t y = labels[i] >= 0 && labels[i] < C ? labels[i] : ignore;\n");
    if (!nll) {
        emit_softmax_row(c, "row", "1.0", "ps", "m1", "lse1");
        cg_printf(c, "        if (y != ignore)\n            ce += lse1 + m1 - (double)row[y];\n");
    } else
        cg_printf(c, "        if (y != ignore)\n            ce += -(double)row[y];\n");
    if (grad) {
        cg_printf(c, "        for (int64_t j = 0; j < C; j++)\n");
        cg_printf(c,
                  "            out[i * C + j] = y != ignore ? (float)(hard * (%s - (j == y ? "
                  "1.0 : 0.0)) / (double)count) : 0.0f;\n",
                  nll ? "0.0" : "ps[j]");
    }
    if (distill) {
        cg_printf(c, "        const float *trow = t + i * C;\n");
        emit_softmax_row(c, "row", "T", "ps", "ms", "ls");
        emit_softmax_row(c, "trow", "T", "pt", "mt", "lt");
        cg_printf(c, "        for (int64_t j = 0; j < C; j++) {\n");
        cg_printf(c, "            if (pt[j] > 0.0)\n");
        cg_printf(c, "                kl += pt[j] * (((double)trow[j] / T - mt - lt) - "
                     "((double)row[j] / T - ms - ls));\n");
        if (grad)
            cg_printf(c, "            out[i * C + j] += (float)(alpha * T * (ps[j] - pt[j]) / "
                         "(double)N);\n");
        cg_printf(c, "        }\n");
    }
    cg_printf(c, "    }\n    free(ps);\n");
    if (!grad) {
        cg_printf(c, "    double loss = count ? hard * ce / (double)count : 0.0;\n");
        if (distill)
            cg_printf(c, "    loss += alpha * T * T * kl / (double)N;\n");
        cg_printf(c, "    out[0] = (float)loss;\n");
    }
    cg_body_end(c);
    k->items = "1";
    k->work = cg_strf(c, "%s * %lld", cg_dim(c, ss->d[0]), dim_c(ss, 1) * (distill ? 6 : 3));
    k->ep_done = true;
}

/* mse_loss(s, t) (one item) and mse_loss_grad(s, t) (one item per element). */
void cg_emit_mse(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->inputs[0]), &ne))
        return;
    static const char *const names[] = {"s", "t"};
    cg_body_begin(c, id, names, 2);
    cg_printf(c, "    const int64_t n = %s;\n", cg_dim(c, ne));
    if (n->op == IR_OP_MSE_LOSS_GRAD) {
        cg_printf(c, "    for (int64_t i = i0; i < i1; i++)\n");
        cg_printf(c,
                  "        out[i] = (float)(2.0 * ((double)s[i] - (double)t[i]) / (double)n);\n");
        k->items = cg_dim(c, ne);
    } else {
        cg_printf(c, "    (void)i0, (void)i1;\n    double sum = 0.0;\n");
        cg_printf(c, "    for (int64_t i = 0; i < n; i++) {\n");
        cg_printf(c, "        const double e = (double)s[i] - (double)t[i];\n");
        cg_printf(c, "        sum += e * e;\n    }\n");
        cg_printf(c, "    out[0] = (float)(n ? sum / (double)n : 0.0);\n");
        k->items = "1";
    }
    cg_body_end(c);
    k->work = cg_dim(c, ne);
    k->ep_done = true;
}

/* fake_quant(x) / fake_quant_grad(dy, x) (ops.def): an activation's elementwise over every
 * element (one item each); a weight's per output channel (one item per channel: its
 * max |x| first), the float arithmetic of the reference (ir/eval_grad.c). */
void cg_emit_fake_quant(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const bool grad = n->op == IR_OP_FAKE_QUANT_GRAD;
    const Shape *xs = cg_shape(c, n->inputs[grad ? 1 : 0]);
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    static const char *const fq[] = {"x"}, *const fqg[] = {"dy", "x"};
    cg_body_begin(c, id, grad ? fqg : fq, grad ? 2 : 1);
    const double scale = ir_attr_scale(n);
    if (scale > 0) {
        cg_printf(c, "    const float inv = 1.0f / %s, z = %lld.0f;\n", cg_float(c, scale),
                  (long long)ir_attr_zero_point(n));
        cg_printf(c, "    for (int64_t i = i0; i < i1; i++) {\n");
        cg_printf(c, "        float v = rintf(x[i] * inv) + z;\n");
        if (grad) {
            cg_printf(c, "        out[i] = v >= 0.0f && v <= 255.0f ? dy[i] : 0.0f;\n    }\n");
        } else {
            cg_printf(c,
                      "        v = v > 0.0f ? v : 0.0f;\n        v = v < 255.0f ? v : 255.0f;\n");
            cg_printf(c, "        out[i] = (v - z) * %s;\n    }\n", cg_float(c, scale));
        }
        k->items = cg_dim(c, ne);
    } else if (grad) {
        cg_printf(c, "    memcpy(out + i0, dy + i0, sizeof(float) * (size_t)(i1 - i0));\n");
        k->items = cg_dim(c, ne);
    } else {
        cg_printf(c, "    const int64_t K = %s;\n", cg_prod(c, xs, 1, xs->rank));
        cg_printf(c, "    for (int64_t o = i0; o < i1; o++) { /* one output channel */\n");
        cg_printf(c, "        const float *w = x + o * K;\n        float m = 0.0f;\n");
        cg_printf(c, "        for (int64_t j = 0; j < K; j++)\n");
        cg_printf(c, "            m = fmaxf(m, fabsf(w[j]));\n");
        cg_printf(c, "        const float s = m > 0.0f ? m / 127.0f : 1.0f;\n");
        cg_printf(c, "        for (int64_t j = 0; j < K; j++) {\n");
        cg_printf(c, "            float v = nearbyintf(w[j] / s);\n");
        cg_printf(c, "            v = fminf(fmaxf(v, -127.0f), 127.0f);\n");
        cg_printf(c, "            out[o * K + j] = v * s;\n        }\n    }\n");
        k->items = cg_dim(c, xs->d[0]);
    }
    cg_body_end(c);
    k->work = cg_dim(c, ne);
    k->ep_done = true;
}

/* batch_norm_train(x, w, b): one channel per item (its statistics need the whole batch), the
 * mean and variance in double, in the reference's order. */
void cg_emit_batch_norm_train(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    static const char *const names[] = {"x", "weight", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 2)
        cg_printf(c, "    const float *weight = NULL;\n");
    if (n->n_inputs < 3)
        cg_printf(c, "    const float *bias = NULL;\n");
    cg_printf(c, "    const int64_t N = %s, C = %s, inner = %s;\n", cg_dim(c, xs->d[0]),
              cg_dim(c, xs->d[1]), cg_prod(c, xs, 2, xs->rank));
    cg_printf(c, "    const double eps = %.17g;\n", ir_attr_eps(n));
    cg_printf(c, "    for (int64_t ch = i0; ch < i1; ch++) { /* one channel */\n");
    cg_printf(c, "        double sum = 0.0, sq = 0.0;\n");
    cg_printf(c, "        const double count = (double)(N * inner);\n");
    cg_printf(c, "        for (int64_t b = 0; b < N; b++)\n");
    cg_printf(c, "            for (int64_t i = 0; i < inner; i++)\n");
    cg_printf(c, "                sum += x[(b * C + ch) * inner + i];\n");
    cg_printf(c, "        const double mean = count > 0 ? sum / count : 0.0;\n");
    cg_printf(c, "        for (int64_t b = 0; b < N; b++)\n");
    cg_printf(c, "            for (int64_t i = 0; i < inner; i++) {\n");
    cg_printf(c, "                const double e = x[(b * C + ch) * inner + i] - mean;\n");
    cg_printf(c, "                sq += e * e;\n            }\n");
    cg_printf(c, "        const float inv = (float)(1.0 / sqrt((count > 0 ? sq / count : 0.0) + "
                 "eps));\n");
    cg_printf(c, "        const float scale = weight ? weight[ch] : 1.0f, shift = bias ? bias[ch] "
                 ": 0.0f, mu = (float)mean;\n");
    cg_printf(c, "        for (int64_t b = 0; b < N; b++)\n");
    cg_printf(c, "            for (int64_t i = 0; i < inner; i++) {\n");
    cg_printf(c, "                const int64_t at = (b * C + ch) * inner + i;\n");
    cg_printf(c, "                out[at] = (x[at] - mu) * inv * scale + shift;\n            }\n");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    k->items = cg_dim(c, xs->d[1]);
    k->work = cg_strf(c, "%s * 3", cg_dim(c, ne));
    k->ep_done = true;
}
