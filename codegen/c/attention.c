/* attention (ir/attention.c has its semantics): the body fills a slimc_rt_attn and calls
 * slimc_rt_attention (runtime/kernels/attention.c) on its items, one per (leading index,
 * block of SLIMC_RT_ATTN_QB query rows); the scores of a block stay in the kernel's buffer.
 * Each item's arithmetic is its own, so the results do not depend on the thread count. */
#include "codegen/c/cg_internal.h"

/* The C expression of the mask's element stride along dim i of the scores [..., Sq, Sk]
 * (rank r): 0 where the mask broadcasts. */
static const char *mask_stride(CgCtx *c, const Shape *ms, int r, int i)
{
    const int j = i - (r - ms->rank);
    if (j < 0 || (ir_dim_static(ms->d[j]) && ms->d[j].c == 1))
        return "0";
    return cg_prod(c, ms, j + 1, ms->rank);
}

void cg_emit_attention(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *qs = cg_shape(c, n->inputs[0]), *ks = cg_shape(c, n->inputs[1]),
                *vs = cg_shape(c, n->inputs[2]);
    const bool has_mask = n->n_inputs > 3 && n->inputs[3] != IR_NONE;
    const int r = qs->rank;
    if (r < 2 || r - 2 > 4) {
        cg_error(c, n, "attention takes [..., Sq, D] with at most 4 leading dims");
        return;
    }
    static const char *const names[] = {"q", "k", "v", "mask"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (!has_mask)
        cg_printf(c, "    const float *mask = NULL;\n");
    cg_printf(c, "    slimc_rt_attn s = {0};\n");
    cg_printf(c, "    s.Sq = %s;\n", cg_dim(c, qs->d[r - 2]));
    cg_printf(c, "    s.Sk = %s;\n", cg_dim(c, ks->d[r - 2]));
    cg_printf(c, "    s.D = %s;\n", cg_dim(c, qs->d[r - 1]));
    cg_printf(c, "    s.Dv = %s;\n", cg_dim(c, vs->d[r - 1]));
    cg_printf(c, "    s.nlead = %d;\n", r - 2);
    for (int i = 0; i < r - 2; i++)
        cg_printf(c, "    s.lead[%d] = %s;\n", i, cg_dim(c, qs->d[i]));
    if (has_mask) {
        const Shape *ms = cg_shape(c, n->inputs[3]);
        for (int i = 0; i < r - 2; i++)
            cg_printf(c, "    s.mlead[%d] = %s;\n", i, mask_stride(c, ms, r, i));
        cg_printf(c, "    s.mrs = %s;\n", mask_stride(c, ms, r, r - 2));
        cg_printf(c, "    s.mcs = %s;\n", mask_stride(c, ms, r, r - 1));
    }
    const Attr *sa = ir_node_attr_id(n, IR_A_scale);
    if (sa)
        cg_printf(c, "    s.scale = %s;\n", cg_float(c, ir_attr_scale(n)));
    else /* 1 / sqrt(D), as ir_attention_scale */
        cg_printf(c, "    s.scale = (float)(1.0 / sqrt((double)(s.D > 0 ? s.D : 1)));\n");
    cg_printf(c, "    s.causal = %d;\n", ir_attr_causal(n) != 0);
    cg_printf(c, "    slimc_rt_attention(&s, q, k, v, mask, out, i0, i1);\n");
    cg_body_end(c);
    const char *lead = cg_prod(c, qs, 0, r - 2), *sq = cg_dim(c, qs->d[r - 2]);
    k->items = cg_strf(c, "%s * ((%s + SLIMC_RT_ATTN_QB - 1) / SLIMC_RT_ATTN_QB)", lead, sq);
    k->work = cg_strf(c, "%s * %s * %s * (%s + %s)", lead, sq, cg_dim(c, ks->d[r - 2]),
                      cg_dim(c, qs->d[r - 1]), cg_dim(c, vs->d[r - 1]));
    k->ep_done = false;
}
