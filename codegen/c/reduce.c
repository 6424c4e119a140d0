/* Reductions: sum, mean, max, min over any axes, and reduce_prod (f32; its dtype check is
 * the index ops', codegen/c/index_ops.c). Each output element is computed in one item, accumulating
 * in the reference's order (ir/eval.c), so results do not depend on the thread count and match the
 * reference to rounding of libm alone. */
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

/* Sum or mean over trailing axes (x's items are rows of `count` floats, item it at
 * it * count), 16 items at a time by slimc_rt_sum_rows16 (runtime/kernels/rows.c): 16
 * independent sums, each over its row from r = 0 up, the one-item loop's order (the same
 * bits), but not one chain of dependent adds (GlobalAveragePool over a small map was
 * add-latency bound, 1-3 GFLOP/s). The items left go to the one-item loop after it. */
static void emit_rows_sum16(CgCtx *c, bool mean)
{
    cg_printf(c, "    for (; it + 16 <= i1; it += 16) { /* 16 rows, 16 sums */\n");
    cg_printf(c, "        float acc[16];\n");
    cg_printf(c, "        slimc_rt_sum_rows16(x + it * count, count, acc);\n");
    cg_printf(c, "        for (int j = 0; j < 16; j++)\n");
    cg_printf(c, "            out[it + j] = %s;\n",
              mean ? "count ? acc[j] / (float)count : 0.0f" : "acc[j]");
    cg_printf(c, "    }\n");
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
    /* Reduced axes that are the trailing ones (global pooling, a row's sum) are one
     * contiguous run: the same elements in the same order, without a division per element. */
    const unsigned tail = ((1u << xs->rank) - 1) & ~((1u << (xs->rank - nr)) - 1);
    cg_printf(c, "    int64_t it = i0;\n");
    if (mask == tail && (op == IR_OP_REDUCE_SUM || op == IR_OP_REDUCE_MEAN))
        emit_rows_sum16(c, op == IR_OP_REDUCE_MEAN);
    cg_printf(c, "    for (; it < i1; it++) { /* one output element */\n");
    cg_printf(c, "        int64_t q = it, base = 0;\n");
    cg_printf(c, "        for (int dd = %d; dd >= 0; dd--) {\n", nk - 1);
    cg_printf(c,
              "            base += (q %% kd[dd]) * ks[dd];\n            q /= kd[dd];\n        }\n");
    cg_printf(c, "        float acc = %s;\n",
              op == IR_OP_REDUCE_MAX   ? "-INFINITY"
              : op == IR_OP_REDUCE_MIN ? "INFINITY"
                                       : "0.0f");
    cg_printf(c, "        for (int64_t r = 0; r < count; r++) {\n");
    if (mask == tail) {
        cg_printf(c,
                  "            const float v = x[base + r]; /* the reduced axes are trailing */\n");
    } else {
        cg_printf(c, "            int64_t rq = r, off = base;\n");
        cg_printf(c, "            for (int dd = %d; dd >= 0; dd--) {\n", nr - 1);
        cg_printf(
            c, "                off += (rq %% rd[dd]) * rs[dd];\n                rq /= rd[dd];\n "
               "           }\n");
        cg_printf(c, "            const float v = x[off];\n");
    }
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

/* reduce_prod (f32): one item per output element; the reduced elements are multiplied in
 * the input's order (as the reference does). */
void cg_emit_reduce_prod(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    int r = xs->rank;
    const Attr *at = ir_node_attr_id(n, IR_A_axes);
    unsigned mask = 0;
    if (!at || at->n_ints == 0)
        mask = (1u << r) - 1;
    for (int i = 0; at && i < at->n_ints; i++)
        mask |= 1u << (at->ints[i] < 0 ? at->ints[i] + r : at->ints[i]);
    static const char *const names[] = {"x"};
    cg_body_begin(c, id, names, 1);
    cg_dims_array(c, "xd", xs);
    cg_strides_array(c, "xst", xs);
    const char *count = "1";
    for (int i = 0; i < r; i++)
        if (mask & (1u << i))
            count = cg_strf(c, "%s * %s", count, cg_dim(c, xs->d[i]));
    cg_printf(c, "    const int64_t count = %s;\n", count);
    cg_printf(c, "    for (int64_t o = i0; o < i1; o++) {\n");
    cg_printf(c, "        int64_t q = o, base = 0;\n");
    for (int i = r - 1; i >= 0; i--)
        if (!(mask & (1u << i)))
            cg_printf(c, "        base += (q %% xd[%d]) * xst[%d];\n        q /= xd[%d];\n", i, i,
                      i);
    cg_printf(c, "        float acc = 1.0f;\n");
    cg_printf(c, "        for (int64_t j = 0; j < count; j++) {\n");
    cg_printf(c, "            int64_t q2 = j, off = base;\n");
    for (int i = r - 1; i >= 0; i--)
        if (mask & (1u << i))
            cg_printf(c,
                      "            off += (q2 %% xd[%d]) * xst[%d];\n            q2 /= xd[%d];\n",
                      i, i, i);
    cg_printf(c, "            acc *= x[off];\n        }\n        out[o] = acc;\n    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->outputs[0]), &ne))
        return;
    k->items = cg_dim(c, ne);
    k->work = cg_prod(c, xs, 0, r);
}
