/* softmax / log_softmax along any axis, batch_norm (inference, F.batch_norm's input order:
 * x, running_mean, running_var, weight, bias) and layer_norm over the trailing dims. The
 * reductions run sequentially inside one item (a row or a column), so results do not
 * depend on the thread count. */
#include "codegen/c/cg_internal.h"

void cg_emit_softmax(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    int64_t axis = ir_attr_axis_or(n, -1);
    if (axis < 0)
        axis += xs->rank;
    if (axis < 0 || axis >= xs->rank) {
        cg_error(c, n, "axis out of range");
        return;
    }
    int ax = (int)axis;
    bool rows = true; /* the axis is the last one that is not 1: contiguous rows */
    for (int i = ax + 1; i < xs->rank; i++)
        rows = rows && ir_dim_static(xs->d[i]) && xs->d[i].c == 1;
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    cg_printf(c, "    const int64_t len = %s, inner = %s;\n", cg_dim(c, xs->d[ax]),
              cg_prod(c, xs, ax + 1, xs->rank));
    if (rows) { /* slimc_rt_softmax_row: vectorized max, exp and sum */
        cg_printf(c, "    (void)inner;\n");
        cg_printf(c, "    for (int64_t it = i0; it < i1; it++)\n");
        cg_printf(c, "        slimc_rt_softmax_row(x + it * len, out + it * len, len, %d);\n",
                  n->op == IR_OP_LOG_SOFTMAX);
    }
    if (!rows) {
        cg_printf(c,
                  "    for (int64_t it = i0; it < i1; it++) { /* one column: (outer, inner) */\n");
        cg_printf(c, "        const int64_t o = it / inner, in = it %% inner;\n");
        cg_printf(c, "        const float *restrict row = x + o * len * inner + in;\n");
        cg_printf(c, "        float *restrict dst = out + o * len * inner + in;\n");
        cg_printf(c, "        float m = -INFINITY;\n");
        cg_printf(c, "        for (int64_t i = 0; i < len; i++)\n");
        cg_printf(c, "            if (row[i * inner] > m || row[i * inner] != row[i * inner])\n");
        cg_printf(c, "                m = row[i * inner];\n");
        cg_printf(c, "        float sum = 0.0f;\n");
        cg_printf(c, "        for (int64_t i = 0; i < len; i++)\n            sum += expf(row[i * "
                     "inner] - m);\n");
        if (n->op == IR_OP_LOG_SOFTMAX) {
            cg_printf(c, "        const float lse = logf(sum);\n");
            cg_printf(c, "        for (int64_t i = 0; i < len; i++)\n");
            cg_printf(c, "            dst[i * inner] = row[i * inner] - m - lse;\n");
        } else {
            cg_printf(c, "        for (int64_t i = 0; i < len; i++)\n");
            cg_printf(c, "            dst[i * inner] = expf(row[i * inner] - m) / sum;\n");
        }
        cg_printf(c, "    }\n");
    }
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    const char *total = cg_dim(c, ne);
    if (ir_dim_static(xs->d[ax]) && xs->d[ax].c == 0) /* an empty axis (legal): no rows */
        k->items = cg_strf(c, "0");
    else
        k->items = cg_strf(c, "%s / %s", total, cg_dim(c, xs->d[ax]));
    k->work = cg_strf(c, "%s * 8", total);
    k->ep_done = false;
}

void cg_emit_batch_norm(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    double eps = ir_attr_eps(n);
    static const char *const names[] = {"x", "mean", "var", "weight", "bias"};
    cg_body_begin(c, id, names, 5);
    cg_printf(c, "    const int64_t C = %s, inner = %s;\n", cg_dim(c, xs->d[1]),
              cg_prod(c, xs, 2, xs->rank));
    cg_printf(c, "    const float eps = %s;\n", cg_float(c, eps));
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* one (batch, channel) plane */\n");
    cg_printf(c, "        const int64_t ch = it %% C;\n");
    cg_printf(c, "        const float inv = 1.0f / sqrtf(var[ch] + eps);\n");
    cg_printf(c, "        const float scale = weight ? weight[ch] : 1.0f, shift = bias ? bias[ch] "
                 ": 0.0f;\n");
    cg_printf(c, "        const float mu = mean[ch];\n");
    cg_printf(c, "        const float *restrict xp = x + it * inner;\n");
    cg_printf(c, "        float *restrict op = out + it * inner;\n");
    cg_printf(c, "        for (int64_t i = 0; i < inner; i++)\n");
    cg_printf(c, "            op[i] = (xp[i] - mu) * inv * scale + shift;\n");
    cg_ep_call(c, id, 8, "it * inner", "inner");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    k->items = cg_prod(c, xs, 0, 2);
    k->work = cg_dim(c, ne);
    k->ep_done = true;
}

void cg_emit_layer_norm(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    int64_t nd = ir_attr_normalized_ndim(n);
    double eps = ir_attr_eps(n);
    if (nd < 1 || nd > xs->rank) {
        cg_error(c, n, "normalized_ndim out of range");
        return;
    }
    static const char *const names[] = {"x", "weight", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 2)
        cg_printf(c, "    const float *weight = NULL;\n");
    if (n->n_inputs < 3)
        cg_printf(c, "    const float *bias = NULL;\n");
    cg_printf(c, "    const int64_t len = %s;\n", cg_prod(c, xs, xs->rank - (int)nd, xs->rank));
    cg_printf(c, "    const float eps = %s;\n", cg_float(c, eps));
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) { /* one row */\n");
    cg_printf(c, "        slimc_rt_layernorm_row(x + it * len, out + it * len, len, eps, weight, "
                 "bias);\n");
    cg_ep_call(c, id, 8, "it * len", "len");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    k->items = cg_prod(c, xs, 0, xs->rank - (int)nd);
    k->work = cg_strf(c, "%s * 4", cg_dim(c, ne));
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
