/* Shape functions of the training ops (ir/ops.def's last block: pooling, convolution and
 * embedding gradients, the losses and their gradients). passes/autodiff.c makes these
 * nodes; a model may also name them, so each checks its operands as any op does. */
#include "ir/op_fns.h"
#include "ir/shape_internal.h"

#include <stdio.h>

/* The error "OP 'name': what, got OPERAND" for operand i; returns false. */
static bool bad_operand(Graph *g, Node *n, int i, Diag *d, const char *what)
{
    char b[256];
    ir_diag_error(d, n->loc, "%s '%s': %s, got %s", ir_ops[n->op].name, n->name, what,
                  ir_shp_describe(g, n->inputs[i], b, sizeof b));
    return false;
}

static bool same_shape(const Shape *a, const Shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (!ir_dim_eq(a->d[i], b->d[i]))
            return false;
    return true;
}

static bool is_f32(Graph *g, const Node *n, int i)
{
    const Type *t = ir_shp_in_type(g, n, i);
    return t->dtype == IR_F32 && !t->quant;
}

/* (dy, x) -> x's type: dy has the forward pool's output shape ([N, C, OH, OW]). */
SHAPE_FN(pool2d_grad)
{
    if (!is_f32(g, n, 0) || !is_f32(g, n, 1))
        return bad_operand(g, n, is_f32(g, n, 0) ? 1 : 0, d, "operands must be f32");
    const Shape *dy = &ir_shp_in_type(g, n, 0)->shape, *x = &ir_shp_in_type(g, n, 1)->shape;
    if (x->rank != 4 || !ir_dim_static(x->d[2]) || !ir_dim_static(x->d[3]))
        return bad_operand(g, n, 1, d, "the input must be [N, C, H, W] with a fixed image size");
    if (dy->rank != 4 || !ir_dim_eq(dy->d[0], x->d[0]) || !ir_dim_eq(dy->d[1], x->d[1]) ||
        !ir_dim_static(dy->d[2]) || !ir_dim_static(dy->d[3]))
        return bad_operand(g, n, 0, d, "the gradient must be [N, C, OH, OW] of the input's N, C");
    if (n->op != IR_OP_ADAPTIVE_AVG_POOL2D_GRAD) {
        int64_t k[2], s[2], p[2], dil[2] = {1, 1};
        if (!ir_attr_kernel_or(n, k, 2, 0))
            return bad_operand(g, n, 1, d, "the kernel size is missing");
        if (!ir_attr_stride_or(n, s, 2, 0) || s[0] == 0)
            s[0] = k[0], s[1] = k[1];
        ir_attr_padding(n, p, 2);
        if (n->op == IR_OP_MAX_POOL2D_GRAD)
            ir_attr_dilation(n, dil, 2);
        for (int i = 0; i < 2; i++) {
            if (k[i] < 1 || s[i] < 1 || dil[i] < 1 || p[i] < 0)
                return bad_operand(g, n, 1, d, "kernel, stride, dilation >= 1, padding >= 0");
            int64_t o = ir_shp_window_out(x->d[2 + i].c, k[i], s[i], p[i], dil[i],
                                          ir_attr_ceil_mode(n) != 0);
            if (o != dy->d[2 + i].c)
                return bad_operand(g, n, 0, d, "the gradient's image size is not the pool's");
        }
    }
    ir_shp_set_out(g, n, 0, IR_F32, x);
    return true;
}

/* (x [N, C, H, W], dy [N, O, OH, OW], w [O, C / groups, KH, KW]) -> w's type. */
SHAPE_FN(conv2d_weight_grad)
{
    for (int i = 0; i < 3; i++)
        if (!is_f32(g, n, i) || ir_shp_in_type(g, n, i)->shape.rank != 4)
            return bad_operand(g, n, i, d, "operands must be f32 of rank 4");
    const Shape *x = &ir_shp_in_type(g, n, 0)->shape, *dy = &ir_shp_in_type(g, n, 1)->shape,
                *w = &ir_shp_in_type(g, n, 2)->shape;
    for (int i = 1; i < 4; i++)
        if (!ir_dim_static(x->d[i]) || !ir_dim_static(dy->d[i]) || !ir_dim_static(w->d[i]))
            return bad_operand(g, n, 0, d, "channels and image sizes must be fixed");
    int64_t s[2], p[2], dil[2], groups = ir_attr_groups(n);
    ir_attr_stride(n, s, 2);
    ir_attr_padding(n, p, 2);
    ir_attr_dilation(n, dil, 2);
    if (groups < 1 || x->d[1].c % groups || !ir_dim_static(w->d[0]) ||
        !ir_dim_eq(w->d[0], dy->d[1]) || w->d[0].c % groups || w->d[1].c * groups != x->d[1].c ||
        !ir_dim_eq(x->d[0], dy->d[0]))
        return bad_operand(g, n, 2, d, "the weight does not fit the input, gradient and groups");
    for (int i = 0; i < 2; i++) {
        if (s[i] < 1 || dil[i] < 1 || p[i] < 0)
            return bad_operand(g, n, 0, d, "stride, dilation >= 1, padding >= 0");
        if (ir_shp_window_out(x->d[2 + i].c, w->d[2 + i].c, s[i], p[i], dil[i], false) !=
            dy->d[2 + i].c)
            return bad_operand(g, n, 1, d, "the gradient's image size is not the conv's");
    }
    ir_shp_set_out(g, n, 0, IR_F32, w);
    return true;
}

/* (dy [.., D], indices [..], w [V, D]) -> w's type. */
SHAPE_FN(embedding_grad)
{
    const Type *dy = ir_shp_in_type(g, n, 0), *idx = ir_shp_in_type(g, n, 1),
               *w = ir_shp_in_type(g, n, 2);
    if (idx->dtype != IR_I64 && idx->dtype != IR_I32)
        return bad_operand(g, n, 1, d, "indices must be i64 or i32");
    if (!is_f32(g, n, 2) || w->shape.rank != 2)
        return bad_operand(g, n, 2, d, "the table must be f32[num, dim]");
    Shape want = idx->shape;
    if (want.rank + 1 > IR_MAX_RANK)
        return bad_operand(g, n, 1, d, "indices of this rank are too many");
    want.d[want.rank++] = w->shape.d[1];
    if (!is_f32(g, n, 0) || !same_shape(&dy->shape, &want))
        return bad_operand(g, n, 0, d, "the gradient must be f32 of the embedding's output shape");
    ir_shp_set_out(g, n, 0, IR_F32, &w->shape);
    return true;
}

/* The operands of a loss: s f32 [N, C] (any rank for mse), labels i64 [N], target of s's
 * shape. */
static bool check_loss(Graph *g, Node *n, Diag *d)
{
    const Type *s = ir_shp_in_type(g, n, 0);
    bool mse = n->op == IR_OP_MSE_LOSS || n->op == IR_OP_MSE_LOSS_GRAD;
    bool distill = n->op == IR_OP_DISTILL_LOSS || n->op == IR_OP_DISTILL_LOSS_GRAD;
    if (!is_f32(g, n, 0) || (!mse && s->shape.rank != 2))
        return bad_operand(g, n, 0, d,
                           mse ? "the input must be f32" : "the input must be f32 [N, C]");
    if (mse || distill)
        if (!is_f32(g, n, 1) || !same_shape(&ir_shp_in_type(g, n, 1)->shape, &s->shape))
            return bad_operand(g, n, 1, d, "the target must be f32 of the input's shape");
    if (!mse) {
        int li = distill ? 2 : 1;
        const Type *l = ir_shp_in_type(g, n, li);
        if (l->dtype != IR_I64 || l->quant || l->shape.rank != 1 ||
            !ir_dim_eq(l->shape.d[0], s->shape.d[0]))
            return bad_operand(g, n, li, d, "the labels must be i64 [N] of the input's N");
    }
    if (distill && !(ir_attr_temperature(n) > 0.0))
        return bad_operand(g, n, 0, d, "the temperature must be > 0");
    if (distill && !(ir_attr_alpha(n) >= 0.0 && ir_attr_alpha(n) <= 1.0))
        return bad_operand(g, n, 0, d, "alpha must be in [0, 1]");
    return true;
}

SHAPE_FN(loss)
{
    if (!check_loss(g, n, d))
        return false;
    Shape one = {1, {ir_dim(1)}};
    ir_shp_set_out(g, n, 0, IR_F32, &one);
    return true;
}

SHAPE_FN(loss_grad)
{
    if (!check_loss(g, n, d))
        return false;
    ir_shp_set_out(g, n, 0, IR_F32, &ir_shp_in_type(g, n, 0)->shape);
    return true;
}

/* (x [N, C, ...], weight [C], bias [C]) -> x's type. */
SHAPE_FN(batch_norm_train)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    if (!is_f32(g, n, 0) || t->shape.rank < 2 || !ir_dim_static(t->shape.d[1]))
        return bad_operand(g, n, 0, d, "the input must be f32 [N, C, ...] with a fixed C");
    for (int i = 1; i < n->n_inputs; i++) {
        const Type *p = ir_shp_in_type(g, n, i);
        if (p &&
            (!is_f32(g, n, i) || p->shape.rank != 1 || !ir_dim_eq(p->shape.d[0], t->shape.d[1])))
            return bad_operand(g, n, i, d, "weight and bias must be f32 [C] of the input's C");
    }
    ir_shp_set_out(g, n, 0, IR_F32, &t->shape);
    return true;
}
