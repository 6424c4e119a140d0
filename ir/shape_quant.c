/* Shape inference of the int8 quantization ops (docs/quantization.md), split from
 * ir/shape.c, whose helpers it shares through ir/shape_internal.h. */
#include "ir/graph.h"
#include "ir/op_fns.h"
#include "ir/shape_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- int8 quantization ops (docs/quantization.md) ---- */

static bool need_dtype(Graph *g, Node *n, int i, DType dt, Diag *d)
{
    const Type *t = ir_shp_in_type(g, n, i);
    if (t && t->dtype != dt) {
        char b[256];
        ir_diag_error(d, n->loc, "%s '%s': operand %s must be %s", ir_ops[n->op].name, n->name,
                      ir_shp_describe(g, n->inputs[i], b, sizeof b), ir_dtype_name(dt));
        return false;
    }
    return true;
}

/* scale and zp are the node's FLOAT scale and INT zero point (quantize's or qconv2d's x_ pair). */
static bool quant_attrs_ok(Graph *g, Node *n, IrAttrId scale_id, IrAttrId zp_id, Diag *d)
{
    (void)g;
    const char *scale = ir_attr_info[scale_id].name, *zp = ir_attr_info[zp_id].name;
    double s = ir_attr_float(n, scale, 0.0);
    int64_t z = ir_attr_int(n, zp, 0);
    if (!(s > 0.0) || s > 1e30 || z < 0 || z > 255) {
        ir_diag_error(d, n->loc, "%s '%s': needs %s > 0 and %s in [0, 255], got %g and %lld",
                      ir_ops[n->op].name, n->name, scale, zp, s, (long long)z);
        return false;
    }
    return true;
}

SHAPE_FN(quantize)
{
    if (!ir_shp_need_float(g, n, 0, d) || !quant_attrs_ok(g, n, IR_A_scale, IR_A_zero_point, d))
        return false;
    ir_shp_set_out(g, n, 0, IR_U8, &ir_shp_in_type(g, n, 0)->shape);
    return true;
}

SHAPE_FN(dequantize)
{
    if (!need_dtype(g, n, 0, IR_U8, d) || !quant_attrs_ok(g, n, IR_A_scale, IR_A_zero_point, d))
        return false;
    ir_shp_set_out(g, n, 0, IR_F32, &ir_shp_in_type(g, n, 0)->shape);
    return true;
}

/* qadd: two u8 codes of one shape, each with its scale and zero point, and the output's. */
SHAPE_FN(qadd)
{
    if (!need_dtype(g, n, 0, IR_U8, d) || !need_dtype(g, n, 1, IR_U8, d) ||
        !quant_attrs_ok(g, n, IR_A_a_scale, IR_A_a_zero_point, d) ||
        !quant_attrs_ok(g, n, IR_A_b_scale, IR_A_b_zero_point, d) ||
        !quant_attrs_ok(g, n, IR_A_y_scale, IR_A_y_zero_point, d))
        return false;
    const Shape *a = &ir_shp_in_type(g, n, 0)->shape, *b = &ir_shp_in_type(g, n, 1)->shape;
    bool same = a->rank == b->rank;
    for (int i = 0; same && i < a->rank; i++)
        same = ir_dim_eq(a->d[i], b->d[i]);
    if (!same) {
        char ba[256], bb[256];
        ir_diag_error(d, n->loc, "qadd '%s': operands %s and %s differ in shape", n->name,
                      ir_shp_describe(g, n->inputs[0], ba, sizeof ba),
                      ir_shp_describe(g, n->inputs[1], bb, sizeof bb));
        return false;
    }
    ir_shp_set_out(g, n, 0, IR_U8, a);
    return true;
}

/* w_scale f32 [O], w_sum i32 [O], bias f32 [O] (optional). */
static bool qparams_ok(Graph *g, Node *n, int64_t o, Diag *d)
{
    static const DType dts[3] = {IR_F32, IR_I32, IR_F32};
    static const char *const what[3] = {"w_scale", "w_sum", "bias"};
    for (int i = 2; i < n->n_inputs && i < 5; i++) {
        const Type *t = ir_shp_in_type(g, n, i);
        if (!t)
            continue;
        if (t->dtype != dts[i - 2] || t->shape.rank != 1 || !ir_dim_eq(t->shape.d[0], ir_dim(o))) {
            char b[256];
            ir_diag_error(d, n->loc, "%s '%s': %s must be %s[%lld], got %s", ir_ops[n->op].name,
                          n->name, what[i - 2], ir_dtype_name(dts[i - 2]), (long long)o,
                          ir_shp_describe(g, n->inputs[i], b, sizeof b));
            return false;
        }
    }
    return quant_attrs_ok(g, n, IR_A_x_scale, IR_A_x_zero_point, d);
}

/* A sixth input of qlinear / qconv2d, the block-sparse copy of the weight (passes/sparse.c),
 * is u8[bytes] with w_sparse=3; qconv2d's has one group. */
static bool q8sp_ok(Graph *g, const Node *n, Diag *d)
{
    if (n->n_inputs <= 5 || n->inputs[5] == IR_NONE)
        return true;
    const Type *ct = ir_shp_in_type(g, n, 5);
    if (ct->dtype != IR_U8 || ct->shape.rank != 1 || ir_attr_w_sparse(n) != 3 ||
        (n->op == IR_OP_QCONV2D && ir_attr_groups(n) != 1)) {
        char b[256];
        ir_diag_error(d, n->loc,
                      "%s '%s': a sixth input (the block-sparse weight) must be u8[bytes] with "
                      "w_sparse=3%s, got %s",
                      ir_ops[n->op].name, n->name, n->op == IR_OP_QCONV2D ? " and groups=1" : "",
                      ir_shp_describe(g, n->inputs[5], b, sizeof b));
        return false;
    }
    return true;
}

SHAPE_FN(qconv2d)
{
    if (!need_dtype(g, n, 0, IR_U8, d) || !need_dtype(g, n, 1, IR_I8, d) ||
        !ir_shp_need_rank(g, n, 0, 4, "the input", d) ||
        !ir_shp_need_rank(g, n, 1, 4, "the weight", d))
        return false;
    for (int i = 1; i < 4; i++)
        if (!ir_shp_need_static(g, n, 0, i, i == 1 ? "channel count" : "spatial size", d))
            return false;
    int64_t stride[2], pad[2], dil[2];
    ir_attr_stride(n, stride, 2);
    ir_attr_padding(n, pad, 2);
    ir_attr_dilation(n, dil, 2);
    int64_t groups = ir_attr_groups(n);
    int64_t c = ir_shp_dim_of(g, n, 0, 1), o = ir_shp_dim_of(g, n, 1, 0),
            ci = ir_shp_dim_of(g, n, 1, 1);
    int64_t kh = ir_shp_dim_of(g, n, 1, 2), kw = ir_shp_dim_of(g, n, 1, 3);
    /* w_taps (passes/qtaps.c): one group, the weight's channels rounded up to 4 */
    const int64_t cw =
        ir_attr_w_taps(n) && groups == 1 ? (c + 3) / 4 * 4 : c / (groups ? groups : 1);
    if (groups < 1 || c % groups || o % groups || cw != ci || stride[0] < 1 || stride[1] < 1 ||
        dil[0] < 1 || dil[1] < 1 || pad[0] < 0 || pad[1] < 0) {
        ir_diag_error(d, n->loc, "qconv2d '%s': bad channels, groups, stride, dilation or padding",
                      n->name);
        return false;
    }
    if (!qparams_ok(g, n, o, d) || !q8sp_ok(g, n, d))
        return false;
    int64_t h = ir_shp_window_out(ir_shp_dim_of(g, n, 0, 2), kh, stride[0], pad[0], dil[0], false);
    int64_t w = ir_shp_window_out(ir_shp_dim_of(g, n, 0, 3), kw, stride[1], pad[1], dil[1], false);
    if (h < 1 || w < 1) {
        ir_diag_error(d, n->loc, "qconv2d '%s': the kernel does not fit the input", n->name);
        return false;
    }
    Shape out = {4, {ir_shp_in_type(g, n, 0)->shape.d[0], ir_dim(o), ir_dim(h), ir_dim(w)}};
    ir_shp_set_out(g, n, 0, ir_node_attr_id(n, IR_A_y_scale) ? IR_U8 : IR_F32,
                   &out); /* u8: qchain */
    return true;
}

SHAPE_FN(qlinear)
{
    const bool packed = ir_attr_w_packed(n) != 0;
    if (!need_dtype(g, n, 0, IR_U8, d) || !need_dtype(g, n, 1, IR_I8, d) ||
        !ir_shp_need_rank(g, n, 1, packed ? 3 : 2, "the weight", d))
        return false;
    const Shape *x = &ir_shp_in_type(g, n, 0)->shape;
    int64_t o = ir_shp_dim_of(g, n, 1, 0), k = ir_shp_dim_of(g, n, 1, 1);
    if (packed) { /* [ceil(O / 16), ceil(K / 4), 64]: O from out_features, K from x */
        o = ir_attr_out_features(n);
        k = x->rank >= 1 && ir_dim_static(x->d[x->rank - 1]) ? x->d[x->rank - 1].c : -1;
        if (o < 1 || k < 0 || ir_shp_dim_of(g, n, 1, 0) != slimc_rt_pack_blocks(o) ||
            ir_shp_dim_of(g, n, 1, 1) != ir_qpack_rows(k) ||
            ir_shp_dim_of(g, n, 1, 2) != SLIMC_RT_PACK_OB * SLIMC_RT_QPACK_K) {
            char b[256];
            ir_diag_error(d, n->loc, "qlinear '%s': a packed weight %s does not fit %lld outputs",
                          n->name, ir_shp_describe(g, n->inputs[1], b, sizeof b), (long long)o);
            return false;
        }
    }
    if (x->rank < 1 || !ir_dim_eq(x->d[x->rank - 1], ir_dim(k))) {
        char a[256];
        ir_diag_error(d, n->loc, "qlinear '%s': the input's last dimension must be %lld, got %s",
                      n->name, (long long)k, ir_shp_describe(g, n->inputs[0], a, sizeof a));
        return false;
    }
    if (!qparams_ok(g, n, o, d))
        return false;
    if (!q8sp_ok(g, n, d))
        return false;
    Shape out = *x;
    out.d[out.rank - 1] = ir_dim(o);
    ir_shp_set_out(g, n, 0, ir_node_attr_id(n, IR_A_y_scale) ? IR_U8 : IR_F32,
                   &out); /* u8: qchain */
    return true;
}
