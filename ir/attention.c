/* The attention op (ops.def): its shape function, its cost and its reference semantics.
 *
 *   out[..., i, :] = sum_j p[i, j] v[..., j, :],  p[i, :] = softmax_j(s[i, j]),
 *   s[i, j] = (q[..., i, :] . k[..., j, :]) * scale + mask[..., i, j]
 *
 * with scale absent meaning 1 / sqrt(D), the mask (optional, f32) broadcast to
 * [..., Sq, Sk] as numpy does, and causal=1 giving s[i, j] = -inf where j > i (top-left
 * aligned: query i sees keys 0..i, PyTorch's is_causal). The softmax is the softmax op's:
 * the row's maximum m (NaN wins), e = exp(s - m), p = e / sum(e). So a row whose every
 * score is -inf (a fully masked query) gives NaN outputs, as the exported chain
 * MatMul -> Add(mask) -> Softmax -> MatMul it replaces does in slimc and ONNX Runtime. */
#include "ir/eval_internal.h"
#include "ir/op_fns.h"
#include "ir/shape_internal.h"

#include <math.h>
#include <stdlib.h>

double ir_attention_scale(const Node *n, int64_t D)
{
    const Attr *a = ir_node_attr_id(n, IR_A_scale);
    return a ? ir_attr_scale(n) : 1.0 / sqrt((double)(D > 0 ? D : 1));
}

/* ---- shape ---- */

static bool attn_error(Graph *g, Node *n, int i, Diag *d, const char *what)
{
    char b[256];
    ir_diag_error(d, n->loc, "attention '%s': %s, got %s", n->name, what,
                  ir_shp_describe(g, n->inputs[i], b, sizeof b));
    return false;
}

SHAPE_FN(attention)
{
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] != IR_NONE && !ir_shp_need_float(g, n, i, d))
            return false;
    const Shape *q = &ir_shp_in_type(g, n, 0)->shape, *k = &ir_shp_in_type(g, n, 1)->shape,
                *v = &ir_shp_in_type(g, n, 2)->shape;
    const int r = q->rank;
    if (r < 2 || r > 2 + IR_ATTENTION_MAX_LEAD)
        return attn_error(g, n, 0, d, "q must be [..., Sq, D] with at most 4 leading dims");
    if (k->rank != r || !ir_dim_eq(k->d[r - 1], q->d[r - 1]))
        return attn_error(g, n, 1, d, "k must be [..., Sk, D] with q's rank and D");
    if (v->rank != r || !ir_dim_eq(v->d[r - 2], k->d[r - 2]))
        return attn_error(g, n, 2, d, "v must be [..., Sk, Dv] with k's rank and Sk");
    for (int i = 0; i < r - 2; i++) {
        if (!ir_dim_eq(k->d[i], q->d[i]))
            return attn_error(g, n, 1, d, "k's leading dims must be q's (no broadcasting)");
        if (!ir_dim_eq(v->d[i], q->d[i]))
            return attn_error(g, n, 2, d, "v's leading dims must be q's (no broadcasting)");
    }
    Shape scores = *q; /* [..., Sq, Sk] */
    scores.d[r - 1] = k->d[r - 2];
    if (n->n_inputs > 3 && n->inputs[3] != IR_NONE) {
        const Type *m = ir_shp_in_type(g, n, 3);
        bool ok = m->dtype == IR_F32 && !m->quant && m->shape.rank <= r;
        for (int i = 0; ok && i < m->shape.rank; i++) {
            const Dim md = m->shape.d[i], sd = scores.d[r - m->shape.rank + i];
            ok = ir_dim_eq(md, sd) || (ir_dim_static(md) && md.c == 1);
        }
        if (!ok)
            return attn_error(g, n, 3, d,
                              "the mask must be f32 and broadcast to the scores "
                              "[..., Sq, Sk]");
    }
    Shape out = *q;
    out.d[r - 1] = v->d[r - 1];
    ir_shp_set_out(g, n, 0, IR_F32, &out);
    return true;
}

/* ---- cost ---- */

static double dim_at(const Graph *g, ValueId v, int i, const int64_t *syms)
{
    return (double)ir_dim_eval(g->values[v].type.shape.d[i], syms);
}

/* 2 Sq Sk D for the scores, 2 Sq Sk Dv for the product with v, 4 Sq Sk for the softmax
 * (scale, mask, exp, divide), per leading index. */
double ir_flops_attention(const Graph *g, const Node *n, const int64_t *syms)
{
    const int r = g->values[n->inputs[0]].type.shape.rank;
    double lead = 1;
    for (int i = 0; i < r - 2; i++)
        lead *= dim_at(g, n->inputs[0], i, syms);
    const double sq = dim_at(g, n->inputs[0], r - 2, syms),
                 D = dim_at(g, n->inputs[0], r - 1, syms);
    const double sk = dim_at(g, n->inputs[1], r - 2, syms),
                 dv = dim_at(g, n->inputs[2], r - 1, syms);
    return lead * sq * sk * (2 * D + 2 * dv + 4);
}

/* ---- reference semantics ---- */

void ir_eval_attention(const EvalCtx *c)
{
    const float *q = in_f32(c, 0), *k = in_f32(c, 1), *v = in_f32(c, 2);
    const float *mask = c->n->n_inputs > 3 ? in_f32(c, 3) : NULL;
    const Dims *qs = &c->in_dims[0];
    const int r = qs->rank;
    const int64_t Sq = qs->d[r - 2], D = qs->d[r - 1], Sk = c->in_dims[1].d[r - 2],
                  Dv = c->in_dims[2].d[r - 1];
    int64_t lead = 1;
    for (int i = 0; i < r - 2; i++)
        lead *= qs->d[i];
    const float scale = (float)ir_attention_scale(c->n, D);
    const bool causal = ir_attr_causal(c->n) != 0;
    Dims sd = *qs; /* the scores' shape, the mask broadcast to it */
    sd.d[r - 1] = Sk;
    int64_t mst[IR_MAX_RANK] = {0};
    if (mask)
        bcast_strides(&sd, &c->in_dims[3], mst);
    float *s = malloc(sizeof(float) * (size_t)(Sk > 0 ? Sk : 1)); /* one row of scores */
    SLIMC_ASSERT(s);
    for (int64_t b = 0; b < lead; b++)
        for (int64_t i = 0; i < Sq; i++) {
            const float *qi = q + (b * Sq + i) * D;
            float m = -INFINITY;
            for (int64_t j = 0; j < Sk; j++) {
                const float *kj = k + (b * Sk + j) * D;
                float dot = 0.0f;
                for (int64_t t = 0; t < D; t++)
                    dot += qi[t] * kj[t];
                float x = dot * scale;
                if (mask)
                    x += mask[bcast_offset(&sd, mst, (b * Sq + i) * Sk + j)];
                if (causal && j > i)
                    x = -INFINITY;
                s[j] = x;
                if (x > m || isnan(x))
                    m = x;
            }
            float sum = 0.0f;
            for (int64_t j = 0; j < Sk; j++) {
                s[j] = expf(s[j] - m);
                sum += s[j];
            }
            float *o = c->out + (b * Sq + i) * Dv;
            for (int64_t t = 0; t < Dv; t++)
                o[t] = 0.0f;
            for (int64_t j = 0; j < Sk; j++) {
                const float p = s[j] / sum;
                const float *vj = v + (b * Sk + j) * Dv;
                for (int64_t t = 0; t < Dv; t++)
                    o[t] += p * vj[t];
            }
        }
    free(s);
}
