/* Data movement: embedding (a row gather with a bounds check). flatten and reshape are
 * views and emit no code (emit.c copies them when they are graph outputs). */
#include "codegen/c/cg_internal.h"

void cg_emit_embedding(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *is = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    if (ws->rank != 2) {
        cg_error(c, n, "the table must be 2-D");
        return;
    }
    static const char *const names[] = {"idx", "table"};
    cg_body_begin(c, id, names, 2);
    cg_printf(c, "    const int64_t V = %s, D = %s;\n", cg_dim(c, ws->d[0]), cg_dim(c, ws->d[1]));
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    cg_printf(c, "        const int64_t r = (int64_t)idx[it];\n");
    cg_printf(c, "        float *restrict dst = out + it * D;\n");
    cg_printf(c, "        if (r < 0 || r >= V) { /* out of range: zeros, and P_run fails */\n");
    cg_printf(c, "            __atomic_store_n(a->err, 1, __ATOMIC_RELAXED);\n");
    cg_printf(c, "            for (int64_t j = 0; j < D; j++)\n                dst[j] = 0.0f;\n");
    cg_printf(c, "            continue;\n        }\n");
    cg_printf(c, "        memcpy(dst, table + r * D, sizeof(float) * (size_t)D);\n");
    cg_ep_call(c, id, 8, "it * D", "D");
    cg_printf(c, "    }\n");
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, is, &ne))
        return;
    k->items = cg_dim(c, ne);
    k->work = cg_strf(c, "%s * %s", k->items, cg_dim(c, ws->d[1]));
    k->ep_done = true;
}
