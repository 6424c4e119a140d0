/* reduce_sum, reduce_mean, reduce_max, reduce_min and reduce_prod over any axes (f32), with
 * the reference's semantics (ir/eval_more.c): max and min let NaN win, the mean of nothing
 * is 0, an empty max is -inf. Two shapes of kernel, by where the input's innermost dim goes:
 *   - reduced (32 elements or more): each output element is a row of the row helpers
 *     (norm.h), a warp or a block whose threads stride over the reduced elements, innermost
 *     fastest, so a warp's loads are consecutive; partial results meet through shuffles;
 *   - kept (or fewer reduced elements than a warp has lanes): a thread per output element
 *     looping over the reduced elements; consecutive threads hold consecutive innermost
 *     positions (or neighbouring short rows), so each step's loads coalesce or hit L1.
 * Sums run as trees (path 1) or in the input's order (path 2): within f32 rounding of the
 * reference, bit-exact for max and min. */
#include "codegen/cuda/norm.h"

/* Prints statements adding to `var` the offset in x of the element at index `idx` of the
 * dims in `mask` (row-major over those dims, the innermost fastest). When the dims are the
 * trailing ones, the offset is idx itself. */
static void offset_of(CgCtx *c, const Shape *xs, unsigned mask, int indent, const char *var,
                      const char *idx)
{
    const int r = xs->rank;
    int first = r; /* the dims in mask are [first, r) when they form a suffix */
    while (first > 0 && (mask & (1u << (first - 1))))
        first--;
    bool suffix = true;
    for (int i = 0; i < first; i++)
        suffix = suffix && !(mask & (1u << i));
    if (suffix) {
        cg_printf(c, "%*s%s += %s;\n", indent, "", var, idx);
        return;
    }
    cg_printf(c, "%*sint64_t q_ = %s;\n", indent, "", idx);
    for (int i = r - 1; i >= 0; i--) {
        if (!(mask & (1u << i)))
            continue;
        const char *d = cg_dim(c, xs->d[i]), *st = cg_prod(c, xs, i + 1, r);
        cg_printf(c, "%*s%s += (q_ %% %s) * %s;\n%*sq_ /= %s;\n", indent, "", var, d, st, indent,
                  "", d);
    }
}

/* The statements folding float v into acc. */
static void fold(CgCtx *c, int indent, OpKind op)
{
    switch (op) {
    case IR_OP_REDUCE_MAX:
    case IR_OP_REDUCE_MIN:
        cg_printf(c, "%*sif ((v %c acc || v != v) && acc == acc) /* NaN wins */\n%*s    acc = v;\n",
                  indent, "", op == IR_OP_REDUCE_MAX ? '>' : '<', indent, "");
        break;
    case IR_OP_REDUCE_PROD: cg_printf(c, "%*sacc *= v;\n", indent, ""); break;
    default: cg_printf(c, "%*sacc += v;\n", indent, ""); break;
    }
}

void cu_emit_reduce(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const OpKind op = n->op;
    const Shape *xs = cg_shape(c, n->inputs[0]);
    const int r = xs->rank;
    const Attr *at = ir_node_attr_id(n, IR_A_axes);
    unsigned mask = 0;
    if (!at || at->n_ints == 0)
        mask = (1u << r) - 1;
    for (int i = 0; at && i < at->n_ints; i++)
        mask |= 1u << (at->ints[i] < 0 ? at->ints[i] + r : at->ints[i]);
    Shape kept = {0, {{0}}}, red = {0, {{0}}};
    for (int i = 0; i < r; i++) {
        if (mask & (1u << i))
            red.d[red.rank++] = xs->d[i];
        else
            kept.d[kept.rank++] = xs->d[i];
    }
    const char *count = cg_prod(c, &red, 0, red.rank), *outs = cg_prod(c, &kept, 0, kept.rank);
    const char *init = op == IR_OP_REDUCE_MAX    ? "-SLIMC_INF"
                       : op == IR_OP_REDUCE_MIN  ? "SLIMC_INF"
                       : op == IR_OP_REDUCE_PROD ? "1.0f"
                                                 : "0.0f";
    const char kind = op == IR_OP_REDUCE_MAX    ? 'M'
                      : op == IR_OP_REDUCE_MIN  ? 'm'
                      : op == IR_OP_REDUCE_PROD ? '*'
                                                : '+';
    const char *result = op == IR_OP_REDUCE_MEAN
                             ? "count ? acc / (float)count : 0.0f" /* empty: 0, as ORT */
                             : "acc";
    Dim len = {1, 0};
    for (int i = 0; i < red.rank; i++) {
        if (!ir_dim_static(red.d[i]))
            len = (Dim){0, 1};
        else if (ir_dim_static(len))
            len.c *= red.d[i].c;
    }
    /* fewer reduced elements than a warp's lanes: a thread each does better */
    const bool by_rows = r > 0 && (mask & (1u << (r - 1))) && !(ir_dim_static(len) && len.c < 32);
    const CuRowMode m = cu_row_mode(len);
    int k = cu_kernel_begin(c, id, NULL, CU_ROW_THREADS);
    cu_in(c, id, 0, "x");
    cu_out(c, id, "out");
    if (by_rows) {
        cu_row_begin(c, m, outs);
        cg_printf(c, "    const int64_t count = %s;\n", count);
        cg_printf(c, "    int64_t base = 0;\n");
        if (kept.rank) {
            cg_printf(c, "    {\n");
            offset_of(c, xs, ~mask & ((1u << r) - 1), 8, "base", "row");
            cg_printf(c, "    }\n");
        }
        cg_printf(c, "    float acc = %s;\n", init);
        cg_printf(c, "    for (int64_t j = tid; j < count; j += %s) {\n", cu_row_lanes(m));
        cg_printf(c, "        int64_t off = base;\n");
        offset_of(c, xs, mask, 8, "off", "j");
        cg_printf(c, "        const float v = x[off];\n");
        fold(c, 8, op);
        cg_printf(c, "    }\n");
        cu_row_allreduce(c, m, 4, "acc", kind);
        cg_printf(c, "    if (tid == 0) {\n        float v = %s;\n", result);
        cu_ep_apply(c, id, 8, "v", "row");
        cg_printf(c, "        out[row] = v;\n    }\n");
        cu_kernel_end(c);
        cu_row_launch(c, id, k, m, outs,
                      "an output element per row, its threads striding over the reduced "
                      "elements");
        return;
    }
    cg_printf(c, "    const int64_t count = %s, outs = %s;\n", count, outs);
    cg_printf(c,
              "    for (int64_t o = (int64_t)blockIdx.x * %d + threadIdx.x; o < outs;\n"
              "         o += (int64_t)gridDim.x * %d) {\n",
              CU_ROW_THREADS, CU_ROW_THREADS);
    cg_printf(c, "        int64_t base = 0;\n        {\n");
    offset_of(c, xs, ~mask & ((1u << r) - 1), 12, "base", "o");
    cg_printf(c, "        }\n        float acc = %s;\n", init);
    cg_printf(c, "        for (int64_t j = 0; j < count; j++) {\n");
    cg_printf(c, "            int64_t off = base;\n");
    offset_of(c, xs, mask, 12, "off", "j");
    cg_printf(c, "            const float v = x[off];\n");
    fold(c, 12, op);
    cg_printf(c, "        }\n        float v = %s;\n", result);
    cu_ep_apply(c, id, 8, "v", "o");
    cg_printf(c, "        out[o] = v;\n    }\n");
    cu_kernel_end(c);
    const char *grid[3] = {cg_strf(c, "slimc_cu_blocks(%s)", cu_ceil_div(c, outs, CU_ROW_THREADS)),
                           "1", "1"};
    cu_launch(c, id, k, grid, (const int[3]){CU_ROW_THREADS, 1, 1},
              "a thread per output element (consecutive threads on consecutive innermost "
              "positions), grid-stride");
}
