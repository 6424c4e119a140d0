/* Softmax / log_softmax along any axis, layer_norm, group_norm and inference batch_norm on
 * the GPU (f32), and the row helpers (norm.h) the reductions share.
 *
 * Semantics are the reference's (ir/eval.c) and the C backend's (codegen/c/norm.c):
 * softmax subtracts the row's maximum (NaN wins) before exp; layer_norm and group_norm take
 * the mean, then the mean of squared deviations (biased), and scale by 1 / sqrtf(var + eps).
 * The sums run as trees over the threads of a row, not in the reference's order: results
 * agree with it to f32 rounding (about 1e-6 relative), not bit for bit. batch_norm does the
 * reference's arithmetic element by element without FMA contraction: bit-exact. */
#include "codegen/cuda/norm.h"

/* ---- rows (norm.h) ---- */

CuRowMode cu_row_mode(Dim len)
{
    return ir_dim_static(len) && len.c <= 1024 ? CU_ROW_WARP : CU_ROW_BLOCK;
}

const char *cu_row_lanes(CuRowMode m)
{
    return m == CU_ROW_WARP ? "32" : "256";
}

void cu_row_begin(CgCtx *c, CuRowMode m, const char *rows)
{
    if (m == CU_ROW_WARP) {
        cg_printf(
            c, "    /* warp SLIMC_WARP of the block computes row `row`; its lanes split it */\n");
        cg_printf(c, "    const int tid = SLIMC_LANE;\n");
        cg_printf(c, "    const int64_t row = (int64_t)blockIdx.x * %d + SLIMC_WARP;\n",
                  CU_ROW_WARPS);
    } else {
        cg_printf(c, "    __shared__ float red[%d]; /* one partial result per warp */\n",
                  CU_ROW_WARPS);
        cg_printf(c, "    /* the block computes row `row`; its %d threads split it */\n",
                  CU_ROW_THREADS);
        cg_printf(c, "    const int tid = (int)threadIdx.x;\n");
        cg_printf(c, "    const int64_t row = (int64_t)blockIdx.x;\n");
    }
    cg_printf(c, "    if (row >= %s)\n        return;\n", rows);
}

/* `var = var OP t_` for the allreduce's kinds (NaN wins for max and min). */
static void combine(CgCtx *c, int indent, const char *var, char kind)
{
    switch (kind) {
    case '+': cg_printf(c, "%*s%s += t_;\n", indent, "", var); break;
    case '*': cg_printf(c, "%*s%s *= t_;\n", indent, "", var); break;
    case 'M':
    case 'm':
        cg_printf(c, "%*sif ((t_ %c %s || t_ != t_) && %s == %s)\n%*s    %s = t_;\n", indent, "",
                  kind == 'M' ? '>' : '<', var, var, var, indent, "", var);
        break;
    default: SLIMC_ASSERT(0 && "bad reduction kind");
    }
}

void cu_row_allreduce(CgCtx *c, CuRowMode m, int indent, const char *var, char kind)
{
    /* The xor butterfly leaves every lane the same value (each step combines a pair in
     * both orders, and the combinations are commutative). */
    cg_printf(c, "%*sfor (int o_ = 16; o_ > 0; o_ >>= 1) {\n", indent, "");
    cg_printf(c, "%*s    const float t_ = slimc_shfl_xor_f(%s, o_);\n", indent, "", var);
    combine(c, indent + 4, var, kind);
    cg_printf(c, "%*s}\n", indent, "");
    if (m == CU_ROW_BLOCK) {
        cg_printf(c, "%*s__syncthreads(); /* red[] is free: its last readers are done */\n", indent,
                  "");
        cg_printf(c, "%*sif (SLIMC_LANE == 0)\n%*s    red[SLIMC_WARP] = %s;\n", indent, "", indent,
                  "", var);
        cg_printf(c, "%*s__syncthreads();\n", indent, "");
        cg_printf(c, "%*s%s = red[0];\n", indent, "", var);
        cg_printf(c, "%*sfor (int w_ = 1; w_ < %d; w_++) {\n", indent, "", CU_ROW_WARPS);
        cg_printf(c, "%*s    const float t_ = red[w_];\n", indent, "");
        combine(c, indent + 4, var, kind);
        cg_printf(c, "%*s}\n", indent, "");
    }
}

void cu_row_launch(CgCtx *c, NodeId id, int k, CuRowMode m, const char *rows, const char *what)
{
    const char *grid[3] = {m == CU_ROW_WARP ? cu_ceil_div(c, rows, CU_ROW_WARPS) : rows, "1", "1"};
    cu_launch(c, id, k, grid, (const int[3]){CU_ROW_THREADS, 1, 1},
              cg_strf(c, "%s; %s",
                      m == CU_ROW_WARP ? "a warp per row, 8 rows a block"
                                       : "a block of 256 threads per row",
                      what));
}

/* The product of dims [from, rank) of s as a Dim: static, or marked symbolic (syms != 0,
 * c meaningless) when any of them is. */
static Dim tail_dim(const Shape *s, int from)
{
    Dim d = {1, 0};
    for (int i = from; i < s->rank; i++) {
        if (!ir_dim_static(s->d[i]))
            return (Dim){0, 1};
        d.c *= s->d[i].c;
    }
    return d;
}

/* A loop over the elements i of the row (int64 i) split over its threads. With `vpl` > 0
 * (a warp per row, static length), the loop runs over the thread's vpl register slots t,
 * element i = tid + 32 t, guarded when the length is not a multiple of 32. */
static void row_loop_open(CgCtx *c, CuRowMode m, int vpl, int64_t len)
{
    if (vpl) {
        cg_printf(c, "    for (int t = 0; t < %d; t++) {\n", vpl);
        cg_printf(c, "        const int64_t i = tid + 32 * t;\n");
        if (len % 32) /* (continue, not break: the loop stays unrollable) */
            cg_printf(c, "        if (i >= len)\n            continue;\n");
    } else {
        cg_printf(c, "    for (int64_t i = tid; i < len; i += %s) {\n", cu_row_lanes(m));
    }
}

/* ---- softmax, log_softmax ---- */

/* The axis is the last that is not 1: rows of len contiguous elements. */
static void softmax_rows(CgCtx *c, NodeId id, Dim len, const char *total)
{
    const Node *n = &c->g->nodes[id];
    const bool lg = n->op == IR_OP_LOG_SOFTMAX;
    const char *lx = cg_dim(c, len);
    const bool empty = ir_dim_static(len) && len.c == 0;
    const char *rows = empty ? "0" : cg_strf(c, "%s / %s", total, lx);
    const CuRowMode m = cu_row_mode(len);
    /* a warp per row keeps its row in registers: one read of x */
    const int vpl = m == CU_ROW_WARP && !empty ? (int)((len.c + 31) / 32) : 0;
    const char *xv = vpl ? "r_[t]" : "xr[i]";
    int k = cu_kernel_begin(c, id, NULL, CU_ROW_THREADS);
    cu_in(c, id, 0, "x");
    cu_out(c, id, "out");
    cu_row_begin(c, m, rows);
    cg_printf(c, "    const int64_t len = %s;\n", lx);
    cg_printf(c, "    const float *__restrict__ xr = x + row * len;\n");
    cg_printf(c, "    float *__restrict__ yr = out + row * len;\n");
    if (vpl)
        cg_printf(c, "    float r_[%d]; /* the thread's elements of the row */\n", vpl);
    cg_printf(c, "    float m = -SLIMC_INF; /* the row's maximum; NaN wins */\n");
    row_loop_open(c, m, vpl, len.c);
    if (vpl)
        cg_printf(c, "        r_[t] = xr[i];\n");
    cg_printf(c, "        const float v = %s;\n", xv);
    cg_printf(c, "        if (v > m || v != v)\n            m = v;\n    }\n");
    cu_row_allreduce(c, m, 4, "m", 'M');
    cg_printf(c, "    float s = 0.0f; /* sum of exp(x - m) */\n");
    row_loop_open(c, m, vpl, len.c);
    cg_printf(c, "        const float e = expf(%s - m);\n        s += e;\n", xv);
    if (vpl && !lg)
        cg_printf(c, "        r_[t] = e;\n");
    cg_printf(c, "    }\n");
    cu_row_allreduce(c, m, 4, "s", '+');
    if (lg)
        cg_printf(c, "    const float lse = logf(s);\n");
    row_loop_open(c, m, vpl, len.c);
    if (lg)
        cg_printf(c, "        float v = (%s - m) - lse;\n", xv);
    else if (vpl)
        cg_printf(c, "        float v = r_[t] / s;\n");
    else
        cg_printf(c, "        float v = expf(xr[i] - m) / s;\n");
    cu_ep_apply(c, id, 8, "v", "row * len + i");
    cg_printf(c, "        yr[i] = v;\n    }\n");
    cu_kernel_end(c);
    cu_row_launch(c, id, k, m, rows, "max, sum of exp, then the outputs, in three sweeps");
}

/* Any other axis: a thread per column (outer, inner), consecutive threads on consecutive
 * inner positions, so each sweep down the axis reads coalesced rows. */
static void softmax_cols(CgCtx *c, NodeId id, const Shape *xs, int ax, const char *total)
{
    const Node *n = &c->g->nodes[id];
    const bool lg = n->op == IR_OP_LOG_SOFTMAX;
    const bool empty = ir_dim_static(xs->d[ax]) && xs->d[ax].c == 0;
    const char *lx = cg_dim(c, xs->d[ax]);
    const char *cols = empty ? "0" : cg_strf(c, "%s / %s", total, lx);
    int k = cu_kernel_begin(c, id, NULL, CU_ROW_THREADS);
    cu_in(c, id, 0, "x");
    cu_out(c, id, "out");
    cg_printf(c, "    const int64_t len = %s, inner = %s, cols = %s;\n", lx,
              cg_prod(c, xs, ax + 1, xs->rank), cols);
    cg_printf(c,
              "    for (int64_t col = (int64_t)blockIdx.x * %d + threadIdx.x; col < cols;\n"
              "         col += (int64_t)gridDim.x * %d) {\n",
              CU_ROW_THREADS, CU_ROW_THREADS);
    cg_printf(c, "        const int64_t base = (col / inner) * len * inner + col %% inner;\n");
    cg_printf(c, "        const float *__restrict__ xr = x + base;\n");
    cg_printf(c, "        float m = -SLIMC_INF;\n");
    cg_printf(c, "        for (int64_t i = 0; i < len; i++)\n");
    cg_printf(c, "            if (xr[i * inner] > m || xr[i * inner] != xr[i * inner])\n");
    cg_printf(c, "                m = xr[i * inner];\n");
    cg_printf(c, "        float s = 0.0f;\n");
    cg_printf(c, "        for (int64_t i = 0; i < len; i++)\n");
    cg_printf(c, "            s += expf(xr[i * inner] - m);\n");
    if (lg)
        cg_printf(c, "        const float lse = logf(s);\n");
    cg_printf(c, "        for (int64_t i = 0; i < len; i++) {\n");
    cg_printf(c, "            float v = %s;\n",
              lg ? "(xr[i * inner] - m) - lse" : "expf(xr[i * inner] - m) / s");
    cu_ep_apply(c, id, 12, "v", "base + i * inner");
    cg_printf(c, "            out[base + i * inner] = v;\n        }\n    }\n");
    cu_kernel_end(c);
    const char *grid[3] = {cg_strf(c, "slimc_cu_blocks(%s)", cu_ceil_div(c, cols, CU_ROW_THREADS)),
                           "1", "1"};
    cu_launch(c, id, k, grid, (const int[3]){CU_ROW_THREADS, 1, 1},
              "a thread per column along the axis (coalesced across inner positions), "
              "grid-stride");
}

void cu_emit_softmax(CgCtx *c, NodeId id)
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
    const int ax = (int)axis;
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    const char *total = cg_dim(c, ne);
    const Dim after = tail_dim(xs, ax + 1);
    if (ir_dim_static(after) && after.c == 1)
        softmax_rows(c, id, xs->d[ax], total);
    else
        softmax_cols(c, id, xs, ax, total);
}

/* ---- layer_norm, group_norm ---- */

/* The normalization of rows of len elements: mean, variance, then
 * out[i] = (x[i] - mean) * inv [* weight[widx]] [+ bias[widx]]. */
static void norm_rows(CgCtx *c, NodeId id, Dim len, const char *lx, const char *rows,
                      const char *widx, const char *what)
{
    const Node *n = &c->g->nodes[id];
    const bool has_w = n->n_inputs > 1 && n->inputs[1] != IR_NONE;
    const bool has_b = n->n_inputs > 2 && n->inputs[2] != IR_NONE;
    const CuRowMode m = cu_row_mode(len);
    const bool empty = ir_dim_static(len) && len.c == 0;
    const int vpl = m == CU_ROW_WARP && !empty ? (int)((len.c + 31) / 32) : 0;
    const char *xv = vpl ? "r_[t]" : "xr[i]";
    int k = cu_kernel_begin(c, id, NULL, CU_ROW_THREADS);
    cu_in(c, id, 0, "x");
    if (has_w)
        cu_in(c, id, 1, "weight");
    if (has_b)
        cu_in(c, id, 2, "bias");
    cu_out(c, id, "out");
    cu_row_begin(c, m, rows);
    cg_printf(c, "    const int64_t len = %s;\n", lx);
    cg_printf(c, "    const float eps = %s;\n", cg_float(c, ir_attr_eps(n)));
    cg_printf(c, "    const float *__restrict__ xr = x + row * len;\n");
    cg_printf(c, "    float *__restrict__ yr = out + row * len;\n");
    if (vpl)
        cg_printf(c, "    float r_[%d]; /* the thread's elements of the row */\n", vpl);
    cg_printf(c, "    float s = 0.0f;\n");
    row_loop_open(c, m, vpl, len.c);
    if (vpl)
        cg_printf(c, "        r_[t] = xr[i];\n");
    cg_printf(c, "        s += %s;\n    }\n", xv);
    cu_row_allreduce(c, m, 4, "s", '+');
    cg_printf(c, "    const float mean = s / (float)len;\n");
    cg_printf(c, "    float sq = 0.0f; /* sum of squared deviations */\n");
    row_loop_open(c, m, vpl, len.c);
    cg_printf(c, "        const float d = %s - mean;\n        sq += d * d;\n    }\n", xv);
    cu_row_allreduce(c, m, 4, "sq", '+');
    cg_printf(c, "    const float inv = 1.0f / sqrtf(sq / (float)len + eps);\n");
    row_loop_open(c, m, vpl, len.c);
    cg_printf(c, "        float v = (%s - mean) * inv;\n", xv);
    if (has_w)
        cg_printf(c, "        v *= weight[%s];\n", widx);
    if (has_b)
        cg_printf(c, "        v += bias[%s];\n", widx);
    cu_ep_apply(c, id, 8, "v", "row * len + i");
    cg_printf(c, "        yr[i] = v;\n    }\n");
    cu_kernel_end(c);
    cu_row_launch(c, id, k, m, rows, what);
}

void cu_emit_layer_norm(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    const int64_t nd = ir_attr_normalized_ndim(n);
    if (nd < 1 || nd > xs->rank) {
        cg_error(c, n, "normalized_ndim out of range");
        return;
    }
    const int from = xs->rank - (int)nd;
    const Dim len = tail_dim(xs, from);
    const char *lx = cg_prod(c, xs, from, xs->rank);
    const char *rows = ir_dim_static(len) && len.c == 0 ? "0" : cg_prod(c, xs, 0, from);
    norm_rows(c, id, len, lx, rows, "i", "sum, squared deviations, then the outputs");
}

void cu_emit_group_norm(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    const int64_t G = ir_attr_num_groups(n);
    if (xs->rank < 2 || !ir_dim_static(xs->d[1]) || G < 1 || xs->d[1].c % G) {
        cg_error(c, n, "expects [N, C, ...] with a static C divisible by num_groups");
        return;
    }
    const int64_t CG = xs->d[1].c / G;
    Dim len = tail_dim(xs, 2);
    if (ir_dim_static(len))
        len.c *= CG;
    const char *inner = cg_prod(c, xs, 2, xs->rank);
    const char *lx = cg_strf(c, "%lld * %s", (long long)CG, inner);
    const char *rows = ir_dim_static(len) && len.c == 0
                           ? "0"
                           : cg_strf(c, "%s * %lld", cg_dim(c, xs->d[0]), (long long)G);
    /* element i of row (batch, group) is in channel group * CG + i / inner */
    const char *widx =
        cg_strf(c, "(row %% %lld) * %lld + i / (%s)", (long long)G, (long long)CG, inner);
    norm_rows(c, id, len, lx, rows, widx,
              "one (batch, group) per row: sum, squared deviations, then the outputs");
}

/* ---- batch_norm (inference) ---- */

void cu_emit_batch_norm(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    const char *total = cg_dim(c, ne);
    const bool has_w = n->inputs[3] != IR_NONE, has_b = n->inputs[4] != IR_NONE;
    int k = cu_kernel_begin(c, id, NULL, CU_ROW_THREADS);
    cu_in(c, id, 0, "x");
    cu_in(c, id, 1, "mean");
    cu_in(c, id, 2, "var");
    if (has_w)
        cu_in(c, id, 3, "weight");
    if (has_b)
        cu_in(c, id, 4, "bias");
    cu_out(c, id, "out");
    cg_printf(c, "    const int64_t n = %s, C = %s, inner = %s;\n", total,
              xs->rank > 1 ? cg_dim(c, xs->d[1]) : "1", cg_prod(c, xs, 2, xs->rank));
    cg_printf(c, "    const float eps = %s;\n", cg_float(c, ir_attr_eps(n)));
    cg_printf(c,
              "    for (int64_t f = (int64_t)blockIdx.x * %d + threadIdx.x; f < n;\n"
              "         f += (int64_t)gridDim.x * %d) {\n",
              CU_ROW_THREADS, CU_ROW_THREADS);
    cg_printf(c, "        const int64_t ch = (f / inner) %% C;\n");
    /* the reference's operations in its order, unfused: bit-exact */
    cg_printf(c, "        const float inv = slimc_fdiv_rn(1.0f, sqrtf(slimc_fadd_rn(var[ch], "
                 "eps)));\n");
    cg_printf(c, "        float v = slimc_fmul_rn(slimc_fsub_rn(x[f], mean[ch]), inv);\n");
    cg_printf(c, "        v = slimc_fadd_rn(slimc_fmul_rn(v, %s), %s);\n",
              has_w ? "weight[ch]" : "1.0f", has_b ? "bias[ch]" : "0.0f");
    cu_ep_apply(c, id, 8, "v", "f");
    cg_printf(c, "        out[f] = v;\n    }\n");
    cu_kernel_end(c);
    const char *grid[3] = {cg_strf(c, "slimc_cu_blocks(%s)", cu_ceil_div(c, total, CU_ROW_THREADS)),
                           "1", "1"};
    cu_launch(c, id, k, grid, (const int[3]){CU_ROW_THREADS, 1, 1},
              "one thread per element (its channel's statistics are read through the cache), "
              "grid-stride");
}
