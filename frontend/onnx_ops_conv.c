/* ONNX's layers to IR ops: Conv, ConvTranspose, MaxPool/AveragePool (1-D through the 2-D IR
 * ops), the global pools, and the normalizations (BatchNormalization, LayerNormalization,
 * RMSNormalization, LpNormalization, MeanVarianceNormalization, InstanceNormalization,
 * GroupNormalization). Dispatched from frontend/onnx_ops.c. */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Spatial attributes of Conv / pools for 2-D: symmetric pads, or auto_pad. */
typedef struct Window {
    int64_t k[2], s[2], p[2], dil[2];
    int64_t pads[4]; /* begin h, begin w, end h, end w */
    bool asym;
    bool bad; /* auto_pad's sizes cannot be computed: reported as an error */
} Window;

static bool window_attrs(OxImporter *im, const OxNode *n, ValueId x, const int64_t *kernel,
                         Window *w)
{
    const Type *t = ox_ty(im, x);
    w->bad = false;
    for (int i = 0; i < 2; i++) {
        w->k[i] = kernel[i];
        w->s[i] = 1;
        w->dil[i] = 1;
    }
    int64_t tmp[8];
    int k = ox_attr_ints(n, "strides", tmp, 8);
    if (k == 2) {
        w->s[0] = tmp[0];
        w->s[1] = tmp[1];
    }
    if (k == 1)
        w->s[1] = tmp[0]; /* 1-D, lifted to [1, L] */
    k = ox_attr_ints(n, "dilations", tmp, 8);
    if (k == 2) {
        w->dil[0] = tmp[0];
        w->dil[1] = tmp[1];
    }
    if (k == 1)
        w->dil[1] = tmp[0];
    memset(w->pads, 0, sizeof w->pads);
    k = ox_attr_ints(n, "pads", tmp, 8);
    if (k == 4)
        memcpy(w->pads, tmp, sizeof w->pads);
    if (k == 2) {
        w->pads[1] = tmp[0];
        w->pads[3] = tmp[1];
    }
    const char *ap = ox_attr_string(im, n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
        for (int i = 0; i < 2; i++) {
            Dim dd = t->shape.d[2 + i];
            if (!ir_dim_static(dd) && w->s[i] == 1 && w->k[i] >= 1 && w->dil[i] >= 1 &&
                w->k[i] <= 1024 && w->dil[i] <= 1024) {
                /* stride 1: the total is (k-1)*dil for every size (a TensorFlow export's
                 * SAME convs over a symbolic image) */
                int64_t total = (w->k[i] - 1) * w->dil[i], small = total / 2, big = total - small;
                w->pads[i] = !strcmp(ap, "SAME_UPPER") ? small : big;
                w->pads[2 + i] = !strcmp(ap, "SAME_UPPER") ? big : small;
                continue;
            }
            if (!ir_dim_static(dd))
                return false;
            /* total = (o - 1) * s + (k - 1) * dil + 1 - in, o = ceil(in / s) */
            bool fits = w->s[i] >= 1 && w->k[i] >= 1 && w->dil[i] >= 1;
            int64_t o = fits ? dd.c / w->s[i] + (dd.c % w->s[i] != 0) : 0, total, reach;
            if (!fits || !ir_ckd_mul_i64(o - 1, w->s[i], &total) ||
                !ir_ckd_mul_i64(w->k[i] - 1, w->dil[i], &reach) ||
                !ir_ckd_add_i64(total, reach, &total) || !ir_ckd_sub_i64(total, dd.c - 1, &total)) {
                ir_diag_error(im->d, n->loc,
                              "node '%s': auto_pad %s needs strides, kernel and dilations >= 1 "
                              "whose window size fits in 64 bits",
                              n->name, ap);
                w->bad = true;
                return false;
            }
            if (total < 0)
                total = 0;
            int64_t small = total / 2, big = total - small;
            w->pads[i] = !strcmp(ap, "SAME_UPPER") ? small : big;
            w->pads[2 + i] = !strcmp(ap, "SAME_UPPER") ? big : small;
        }
    } else if (!strcmp(ap, "VALID"))
        memset(w->pads, 0, sizeof w->pads);
    w->asym = w->pads[0] != w->pads[2] || w->pads[1] != w->pads[3];
    w->p[0] = w->pads[0];
    w->p[1] = w->pads[1];
    return true;
}

/* Pads x explicitly by the window's pads (constant value) and zeroes them. */
static ValueId pad_explicit(OxImporter *im, const OxNode *n, ValueId x, Window *w, double value)
{
    NodeId id = ox_mk(im, n, "pad", &x, 1);
    if (id == IR_NONE)
        return IR_NONE;
    int64_t pads[4] = {w->pads[1], w->pads[3], w->pads[0], w->pads[2]}; /* last dim first */
    ir_node_set_ints(im->g, id, "pads", pads, 4);
    ir_node_set_int(im->g, id, "mode", 0);
    ir_node_set_float(im->g, id, "value", value);
    w->p[0] = w->p[1] = 0;
    w->asym = false;
    return ox_done(im, id);
}

/* [N, C, L] as [N, C, 1, L] (1-D ops run as 2-D ones). */
static ValueId lift_1d(OxImporter *im, const OxNode *n, ValueId x)
{
    const Shape *s = &ox_ty(im, x)->shape;
    Shape t = {4, {s->d[0], s->d[1], ir_dim(1), s->d[2]}};
    return ox_reshape_to(im, n, x, &t);
}

/* [N, C, 1, L] back to [N, C, L]. */
static ValueId drop_1d(OxImporter *im, const OxNode *n, ValueId y)
{
    const Shape *s = &ox_ty(im, y)->shape;
    if (s->rank != 4)
        return y; /* an error was reported */
    Shape t = {3, {s->d[0], s->d[1], s->d[3]}};
    return ox_reshape_to(im, n, y, &t);
}

/* Conv over [N, C, D, H, W] (a video or volume model's Conv3d) as kd 2-D convs summed:
 * x padded along D and laid out [N, D, C, H, W]; depth tap t reads the slices t*dil,
 * t*dil + s, ... as a batch of N*D' images, with the weight's [O, C/g, kh, kw] at t. The
 * same FLOPs as a 3-D kernel, and every 2-D kernel (and its symbolic batch) applies. */
static OxResult conv3d(OxImporter *im, OxNode *n, ValueId x)
{
    const OxConst *wc = ox_const_in(n, 1);
    if (!wc || wc->rank != 5 || wc->dtype != IR_F32)
        return ox_unsupported(im, n, "a 3-D convolution needs a constant f32 weight");
    const char *ap = ox_attr_string(im, n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0)
        return ox_unsupported(im, n, "auto_pad %s on a 3-D convolution", ap);
    int64_t s[3] = {1, 1, 1}, dil[3] = {1, 1, 1}, p[6] = {0}, tmp[8];
    if (ox_attr_ints(n, "strides", tmp, 8) == 3)
        memcpy(s, tmp, sizeof s);
    if (ox_attr_ints(n, "dilations", tmp, 8) == 3)
        memcpy(dil, tmp, sizeof dil);
    if (!strcmp(ap, "NOTSET") && ox_attr_ints(n, "pads", tmp, 8) == 6)
        memcpy(p, tmp, sizeof p);
    const int64_t O = wc->shape[0], cg = wc->shape[1], kd = wc->shape[2], kh = wc->shape[3],
                  kw = wc->shape[4];
    for (int i = 0; i < 3; i++)
        if (s[i] < 1 || dil[i] < 1 || p[i] < 0 || p[i + 3] < 0 || wc->shape[2 + i] < 1)
            return ox_unsupported(im, n, "strides, dilations, kernel sizes >= 1 and pads >= 0");
    if (kd > 64)
        return ox_unsupported(im, n, "a depth kernel of %lld taps (at most 64)", (long long)kd);
    /* pad D (and H, W where their pads differ) explicitly; symmetric H, W pads go to conv2d */
    bool asym = p[1] != p[4] || p[2] != p[5];
    if (p[0] || p[3] || asym) {
        NodeId id = ox_mk(im, n, "pad", &x, 1);
        int64_t pads[6] = {
            asym ? p[2] : 0, asym ? p[5] : 0, asym ? p[1] : 0, asym ? p[4] : 0, p[0], p[3]};
        ir_node_set_ints(im->g, id, "pads", pads, 6);
        ir_node_set_int(im->g, id, "mode", 0);
        ir_node_set_float(im->g, id, "value", 0.0);
        x = ox_done(im, id);
    }
    const int64_t perm[5] = {0, 2, 1, 3, 4};
    ValueId xt = ox_permute(im, n, x, perm, 5), acc = IR_NONE;
    int64_t pad2[2] = {asym ? 0 : p[1], asym ? 0 : p[2]}, reach = dil[0] * (kd - 1);
    Dim N = {0, 0}, Dd = {0, 0};
    for (int64_t t = 0; t < kd && xt != IR_NONE; t++) {
        /* slices t*dil, ..., up to the last one a full window starts at: D' of them */
        int64_t back = reach - t * dil[0];
        ValueId sl = ox_slice1(im, n, xt, 1, t * dil[0], back ? -back : INT64_MAX, s[0]);
        if (sl == IR_NONE || ox_ty(im, sl)->shape.rank != 5)
            return ox_unsupported_symbolic(im, n, "a 3-D convolution's depth");
        const Shape *ss = &ox_ty(im, sl)->shape;
        N = ss->d[0], Dd = ss->d[1];
        Dim nd;
        if (!ir_dim_mul_any(im->g, N, Dd, &nd))
            return ox_unsupported_symbolic(im, n, "a 3-D convolution's batch times depth");
        Shape s4 = {4, {nd, ss->d[2], ss->d[3], ss->d[4]}};
        ValueId x2 = ox_reshape_to(im, n, sl, &s4);
        OxConst wt; /* the weight at depth tap t */
        int64_t w4[4] = {O, cg, kh, kw};
        if (!ox_const_make(im, &wt, IR_F32, 4, w4))
            return OX_ERROR;
        float *wd = (float *)wt.data;
        const float *src = (const float *)wc->data;
        for (int64_t o = 0; o < O * cg; o++)
            memcpy(wd + o * kh * kw, src + (o * kd + t) * kh * kw,
                   sizeof(float) * (size_t)(kh * kw));
        ValueId ins[3] = {
            x2,
            ox_nn_const_value(im, n, &wt,
                              ir_arena_printf(im->g->arena, "weight%lld", (long long)t)),
            t == 0 && ox_has_in(n, 2) ? ox_in(im, n, 2) : IR_NONE};
        if (x2 == IR_NONE || ins[1] == IR_NONE)
            return ox_unsupported_symbolic(im, n, "a 3-D convolution's batch times depth");
        NodeId id = ox_mk(im, n, "conv2d", ins, ins[2] != IR_NONE ? 3 : 2);
        ir_node_set_ints(im->g, id, "stride", s + 1, 2);
        ir_node_set_ints(im->g, id, "padding", pad2, 2);
        ir_node_set_ints(im->g, id, "dilation", dil + 1, 2);
        ir_node_set_int(im->g, id, "groups", ox_attr_int(n, "group", 1));
        ValueId y = ox_done(im, id);
        acc = t == 0 ? y : ox_bin(im, n, "add", acc, y);
    }
    const Shape *ys = acc == IR_NONE ? NULL : &ox_ty(im, acc)->shape;
    if (!ys || ys->rank != 4)
        return ox_out(im, n, IR_NONE); /* an error was reported */
    Shape s5 = {5, {N, Dd, ys->d[1], ys->d[2], ys->d[3]}};
    ValueId y5 = ox_reshape_to(im, n, acc, &s5);
    return ox_out(im, n, y5 == IR_NONE ? IR_NONE : ox_permute(im, n, y5, perm, 5));
}

OxResult ox_op_conv(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    if (ox_ty(im, x)->shape.rank == 5) /* its weight is read as a constant there */
        return conv3d(im, n, x);
    ValueId wv = ox_in(im, n, 1);
    const Type *wt = ox_ty(im, wv);
    bool one_d = ox_ty(im, x)->shape.rank == 3 && wt->shape.rank == 3;
    if (one_d) {
        x = lift_1d(im, n, x);
        wv = lift_1d(im, n, wv);
        wt = ox_ty(im, wv);
    }
    if (ox_ty(im, x)->shape.rank != 4 || wt->shape.rank != 4)
        return ox_unsupported(im, n, "only 1-D, 2-D and 3-D convolutions are supported");
    int64_t kernel[2] = {wt->shape.d[2].c, wt->shape.d[3].c};
    Window w;
    if (!window_attrs(im, n, x, kernel, &w))
        return w.bad ? OX_ERROR
                     : ox_unsupported_symbolic(im, n,
                                               "auto_pad SAME with a stride over a symbolic size");
    if (w.asym && (x = pad_explicit(im, n, x, &w, 0.0)) == IR_NONE)
        return ox_unsupported(im, n, "asymmetric pads need the IR op 'pad'");
    ValueId ins[3] = {x, wv, ox_in(im, n, 2)};
    NodeId id = ox_mk(im, n, "conv2d", ins, ox_has_in(n, 2) ? 3 : 2);
    ir_node_set_ints(im->g, id, "stride", w.s, 2);
    ir_node_set_ints(im->g, id, "padding", w.p, 2);
    ir_node_set_ints(im->g, id, "dilation", w.dil, 2);
    ir_node_set_int(im->g, id, "groups", ox_attr_int(n, "group", 1));
    ValueId y = ox_done(im, id);
    return ox_out(im, n, one_d ? drop_1d(im, n, y) : y);
}

/* The length of a transposed conv's output without pads: s * (in - 1) + op + (k - 1) *
 * dil + 1, in *out; false when an operand is out of range or it overflows. */
static bool convt_full(int64_t s, int64_t in, int64_t k, int64_t dil, int64_t op, int64_t *out)
{
    int64_t a, b;
    return s >= 1 && in >= 1 && k >= 1 && dil >= 1 && op >= 0 && ir_ckd_mul_i64(s, in - 1, &a) &&
           ir_ckd_mul_i64(k - 1, dil, &b) && ir_ckd_add_i64(a, b, &a) &&
           ir_ckd_add_i64(a, op, &a) && ir_ckd_add_i64(a, 1, out);
}

OxResult ox_op_conv_transpose(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0), wv = ox_in(im, n, 1);
    const Type *wt = ox_ty(im, wv);
    bool one_d = ox_ty(im, x)->shape.rank == 3 && wt->shape.rank == 3;
    if (one_d) { /* ConvTranspose1d: [N, C, 1, L] with a [C, O/g, 1, k] weight */
        x = lift_1d(im, n, x);
        wv = lift_1d(im, n, wv);
        wt = ox_ty(im, wv);
    }
    if (ox_ty(im, x)->shape.rank != 4 || wt->shape.rank != 4)
        return ox_unsupported(im, n, "only 1-D and 2-D transposed convolutions are supported");
    const char *ap = ox_attr_string(im, n, "auto_pad", "NOTSET");
    const bool same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
    int64_t kernel[2] = {wt->shape.d[2].c, wt->shape.d[3].c};
    Window w;
    window_attrs(im, n, x, kernel, &w); /* its SAME pads are a conv's: replaced below */
    int64_t op[2] = {0, 0}, tmp[4];
    int nop = ox_attr_ints(n, "output_padding", tmp, 4);
    if (nop == 2) {
        op[0] = tmp[0];
        op[1] = tmp[1];
    } else if (nop == 1 && one_d)
        op[1] = tmp[0];
    int64_t want[2];
    int nos = ox_attr_ints(n, "output_shape", tmp, 4);
    if (nos > 0 || same) {
        /* ONNX: total = s * (in - 1) + op + (k - 1) * dil + 1 - output; SAME_UPPER pads
         * total/2 at the begin, otherwise the begin takes the larger half */
        for (int i = 0; i < 2; i++) {
            const Dim in = ox_ty(im, x)->shape.d[2 + i];
            if (!ir_dim_static(in))
                return ox_unsupported_symbolic(
                    im, n, "output_shape or auto_pad SAME over a symbolic size");
            const int sp = one_d ? 1 : 2; /* ONNX's output_shape: the spatial sizes */
            if (nos > 0 && nos != sp)
                return ox_unsupported(im, n, "output_shape needs one size per spatial axis");
            if (nos > 0)
                want[i] = one_d ? (i == 0 ? 1 : tmp[0]) : tmp[i];
            else
                want[i] = in.c * w.s[i];
            int64_t full, total;
            if (!convt_full(w.s[i], in.c, kernel[i], w.dil[i], op[i], &full))
                return ox_unsupported(im, n, "strides, kernel or dilations out of range");
            if (!ir_ckd_sub_i64(full, want[i], &total) || want[i] < 1 || total < -full)
                return ox_unsupported(im, n, "an output_shape out of range");
            /* floor halves (ONNX's reference): a negative total extends the end */
            int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
            bool upper = !strcmp(ap, "SAME_UPPER");
            w.pads[i] = upper ? half : total - half;
            w.pads[2 + i] = total - w.pads[i];
        }
        w.asym = w.pads[0] != w.pads[2] || w.pads[1] != w.pads[3] || w.pads[2] < 0 || w.pads[3] < 0;
        w.p[0] = w.pads[0];
        w.p[1] = w.pads[1];
    }
    /* asymmetric pads: the transposed conv without pads, its output_padding what reaches
     * past the end (a negative end pad: rows of the bias alone), then the slice that drops
     * pads[begin] and pads[end] */
    int64_t crop[2][2] = {{0, 0}, {0, 0}};
    if (w.asym) {
        for (int i = 0; i < 2; i++) {
            const Dim in = ox_ty(im, x)->shape.d[2 + i];
            if (w.pads[i] < 0 || w.pads[2 + i] < -(INT64_C(1) << 30) ||
                w.pads[2 + i] > (INT64_C(1) << 40))
                return ox_unsupported(im, n, "a negative begin pad, or an end pad out of range");
            if (!ir_dim_static(in))
                return ox_unsupported_symbolic(im, n, "asymmetric pads over a symbolic size");
            int64_t full;
            if (!convt_full(w.s[i], in.c, kernel[i], w.dil[i], 0, &full))
                return ox_unsupported(im, n, "strides, kernel or dilations out of range");
            crop[i][0] = w.pads[i];
            crop[i][1] = full - w.pads[2 + i] + op[i];
            if (crop[i][1] <= crop[i][0])
                return ox_unsupported(im, n, "pads that leave no output");
            w.p[i] = 0;
            op[i] = op[i] > w.pads[2 + i] ? op[i] - w.pads[2 + i] : 0;
        }
    }
    ValueId ins[3] = {x, wv, ox_in(im, n, 2)};
    NodeId id = ox_mk(im, n, "conv_transpose2d", ins, ox_has_in(n, 2) ? 3 : 2);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "conv_transpose2d");
    ir_node_set_ints(im->g, id, "stride", w.s, 2);
    ir_node_set_ints(im->g, id, "padding", w.p, 2);
    ir_node_set_ints(im->g, id, "output_padding", op, 2);
    ir_node_set_ints(im->g, id, "dilation", w.dil, 2);
    ir_node_set_int(im->g, id, "groups", ox_attr_int(n, "group", 1));
    ValueId y = ox_done(im, id);
    for (int i = 0; w.asym && i < 2 && y != IR_NONE; i++)
        if (crop[i][0] != 0 || crop[i][1] != ox_ty(im, y)->shape.d[2 + i].c)
            y = ox_slice1(im, n, y, 2 + i, crop[i][0], crop[i][1], 1);
    if (y == IR_NONE)
        return ox_no_ir_op(im, n, "slice");
    return ox_out(im, n, one_d ? drop_1d(im, n, y) : y);
}

OxResult ox_op_pool(OxImporter *im, OxNode *n, bool is_max)
{
    ValueId x = ox_in(im, n, 0);
    OxResult nd;
    if (ox_pool_ext(im, n, is_max, &nd)) /* frontend/onnx_ops_ext.c: 3-D, Indices, averages */
        return nd;
    if (ox_wants(n, 1))
        return ox_unsupported(im, n, "the Indices output is not supported");
    bool one_d = ox_ty(im, x)->shape.rank == 3;
    int64_t kernel[4];
    int nk = ox_attr_ints(n, "kernel_shape", kernel, 4);
    if (one_d && nk == 1) {
        x = lift_1d(im, n, x);
        kernel[1] = kernel[0];
        kernel[0] = 1;
        nk = 2;
    }
    if (ox_ty(im, x)->shape.rank != 4)
        return ox_unsupported(im, n, "only 1-D and 2-D pooling are supported");
    if (nk != 2)
        return ox_unsupported(im, n, "kernel_shape must have 2 entries");
    Window w;
    if (!window_attrs(im, n, x, kernel, &w))
        return w.bad ? OX_ERROR
                     : ox_unsupported_symbolic(im, n,
                                               "auto_pad SAME with a stride over a symbolic size");
    int64_t cip = ox_attr_int(n, "count_include_pad", 0);
    /* pads over half the kernel (PyTorch's limit, not ONNX's): pad explicitly */
    bool big = w.pads[0] > w.k[0] / 2 || w.pads[1] > w.k[1] / 2 || w.pads[2] > w.k[0] / 2 ||
               w.pads[3] > w.k[1] / 2; /* 2 * pad > k, without overflow */
    if (w.asym || (big && (is_max || cip))) {
        if (!is_max && !cip)
            return ox_unsupported(im, n, "asymmetric pads without count_include_pad");
        if ((x = pad_explicit(im, n, x, &w, is_max ? -INFINITY : 0.0)) == IR_NONE)
            return ox_unsupported(im, n, "asymmetric pads need the IR op 'pad'");
    }
    if (!is_max && (w.dil[0] != 1 || w.dil[1] != 1))
        return ox_unsupported(im, n, "dilated average pooling");
    NodeId id = ox_mk(im, n, is_max ? "max_pool2d" : "avg_pool2d", &x, 1);
    ir_node_set_ints(im->g, id, "kernel", w.k, 2);
    ir_node_set_ints(im->g, id, "stride", w.s, 2);
    ir_node_set_ints(im->g, id, "padding", w.p, 2);
    if (is_max)
        ir_node_set_ints(im->g, id, "dilation", w.dil, 2);
    else
        ir_node_set_int(im->g, id, "count_include_pad", cip);
    ir_node_set_int(im->g, id, "ceil_mode", ox_attr_int(n, "ceil_mode", 0));
    ValueId y = ox_done(im, id);
    return ox_out(im, n, one_d ? drop_1d(im, n, y) : y);
}

OxResult ox_op_global_pool(OxImporter *im, OxNode *n, const char *irop)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    if (r < 3)
        return ox_unsupported(im, n, "the input must have spatial dims");
    int64_t axes[IR_MAX_RANK];
    for (int i = 2; i < r; i++)
        axes[i - 2] = i;
    NodeId id = ox_mk(im, n, irop, &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, irop);
    ir_node_set_ints(im->g, id, "axes", axes, r - 2);
    ir_node_set_int(im->g, id, "keepdim", 1);
    return ox_out(im, n, ox_done(im, id));
}

OxResult ox_op_batch_norm(OxImporter *im, OxNode *n)
{
    if (ox_attr_int(n, "training_mode", 0) || ox_wants(n, 1) || ox_wants(n, 2))
        return ox_unsupported(im, n, "training mode");
    if (im->opset < 9 && ox_attr_int(n, "spatial", 1) == 0)
        return ox_unsupported(im, n, "spatial=0");
    ValueId ins[5] = {ox_in(im, n, 0), ox_in(im, n, 3), ox_in(im, n, 4), ox_in(im, n, 1),
                      ox_in(im, n, 2)};
    NodeId id = ox_mk(im, n, "batch_norm", ins, 5);
    ir_node_set_float(im->g, id, "eps", ox_attr_float(n, "epsilon", 1e-5f));
    /* ONNX's momentum weighs the running statistic (running * m + batch * (1 - m)); PyTorch's
     * and the IR's weigh the batch's */
    double momentum = 1.0 - (double)ox_attr_float(n, "momentum", 0.9f);
    if (fabs(momentum - 0.1) > 1e-6)
        ir_node_set_float(im->g, id, "momentum", momentum);
    return ox_out(im, n, ox_done(im, id));
}

/* reduce_mean over axes [ax, r) keeping dims. */
static ValueId mean_from(OxImporter *im, const OxNode *n, ValueId x, int64_t ax, int r)
{
    int64_t axes[IR_MAX_RANK];
    for (int64_t i = ax; i < r; i++)
        axes[i - ax] = i;
    NodeId id = ox_mk(im, n, "reduce_mean", &x, 1);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_ints(im->g, id, "axes", axes, (int)(r - ax));
    ir_node_set_int(im->g, id, "keepdim", 1);
    return ox_done(im, id);
}

/* LayerNormalization written out, for when its Mean / InvStdDev outputs are wanted:
 * mean = E[x], inv = 1/sqrt(E[(x-mean)^2] + eps), y = (x-mean)*inv*scale + bias. */
static OxResult layer_norm_decomposed(OxImporter *im, OxNode *n, ValueId x, int64_t ax, int r)
{
    ValueId mean = mean_from(im, n, x, ax, r);
    if (mean == IR_NONE)
        return ox_no_ir_op(im, n, "reduce_mean");
    ValueId c = ox_bin(im, n, "sub", x, mean);
    ValueId var = mean_from(im, n, ox_bin(im, n, "mul", c, c), ax, r);
    ValueId inv = ox_un(
        im, n, "rsqrt",
        ox_bin(im, n, "add", var, ox_scalar(im, n, IR_F32, ox_attr_float(n, "epsilon", 1e-5f))));
    if (inv == IR_NONE)
        return ox_no_ir_op(im, n, "rsqrt");
    ValueId y = ox_bin(im, n, "mul", ox_bin(im, n, "mul", c, inv), ox_in(im, n, 1));
    if (ox_has_in(n, 2))
        y = ox_bin(im, n, "add", y, ox_in(im, n, 2));
    ox_bind_value(im, n->out[0], y);
    if (ox_wants(n, 1))
        ox_bind_value(im, n->out[1], mean);
    if (ox_wants(n, 2))
        ox_bind_value(im, n->out[2], inv);
    return OX_OK;
}

OxResult ox_op_rms_norm(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t ax;
    if (!ox_norm_axis(ox_attr_int(n, "axis", -1), r, &ax))
        return ox_unsupported(im, n, "axis out of range");
    ValueId ms = mean_from(im, n, ox_bin(im, n, "mul", x, x), ax, r);
    if (ms == IR_NONE)
        return ox_no_ir_op(im, n, "reduce_mean");
    ValueId inv = ox_un(
        im, n, "rsqrt",
        ox_bin(im, n, "add", ms, ox_scalar(im, n, IR_F32, ox_attr_float(n, "epsilon", 1e-5f))));
    if (inv == IR_NONE)
        return ox_no_ir_op(im, n, "rsqrt");
    return ox_out(im, n, ox_bin(im, n, "mul", ox_bin(im, n, "mul", x, inv), ox_in(im, n, 1)));
}

/* LpNormalization: x / ||x||_p along axis (p 1 or 2). */
OxResult ox_op_lp_norm(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t ax, p = ox_attr_int(n, "p", 2);
    if (!ox_norm_axis(ox_attr_int(n, "axis", -1), r, &ax) || (p != 1 && p != 2))
        return ox_unsupported(im, n, "p must be 1 or 2 and the axis in range");
    ValueId t = p == 1 ? ox_un(im, n, "abs", x) : ox_bin(im, n, "mul", x, x);
    NodeId id = ox_mk(im, n, "reduce_sum", &t, 1);
    if (id == IR_NONE || t == IR_NONE)
        return ox_no_ir_op(im, n, "reduce_sum");
    ir_node_set_ints(im->g, id, "axes", &ax, 1);
    ir_node_set_int(im->g, id, "keepdim", 1);
    ValueId norm = ox_done(im, id);
    if (p == 2)
        norm = ox_un(im, n, "sqrt", norm);
    return ox_out(im, n, ox_bin(im, n, "div", x, norm));
}

/* MeanVarianceNormalization: (x - E[x]) / sqrt(E[(x - E[x])^2]) over axes (default 0, 2, 3),
 * as the ONNX function body computes it (no epsilon). */
OxResult ox_op_mvn(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t axes[IR_MAX_RANK] = {0, 2, 3};
    int k = ox_attr_ints(n, "axes", axes, IR_MAX_RANK);
    if (k == 0)
        k = 3;
    for (int i = 0; i < k; i++)
        if (k > IR_MAX_RANK || !ox_norm_axis(axes[i], r, &axes[i]))
            return ox_unsupported(im, n, "axis out of range");
    NodeId a = ox_mk(im, n, "reduce_mean", &x, 1);
    if (a == IR_NONE)
        return ox_no_ir_op(im, n, "reduce_mean");
    ir_node_set_ints(im->g, a, "axes", axes, k);
    ir_node_set_int(im->g, a, "keepdim", 1);
    ValueId c = ox_bin(im, n, "sub", x, ox_done(im, a));
    ValueId sq = ox_bin(im, n, "mul", c, c);
    NodeId b = ox_mk(im, n, "reduce_mean", &sq, 1);
    ir_node_set_ints(im->g, b, "axes", axes, k);
    ir_node_set_int(im->g, b, "keepdim", 1);
    return ox_out(im, n, ox_bin(im, n, "div", c, ox_un(im, n, "sqrt", ox_done(im, b))));
}

OxResult ox_op_layer_norm(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t ax;
    if (!ox_norm_axis(ox_attr_int(n, "axis", -1), r, &ax))
        return ox_unsupported(im, n, "axis out of range");
    if (ox_wants(n, 1) || ox_wants(n, 2))
        return layer_norm_decomposed(im, n, x, ax, r);
    ValueId ins[3] = {x, ox_in(im, n, 1), ox_in(im, n, 2)};
    NodeId id = ox_mk(im, n, "layer_norm", ins, ox_has_in(n, 2) ? 3 : 2);
    ir_node_set_int(im->g, id, "normalized_ndim", r - ax);
    ir_node_set_float(im->g, id, "eps", ox_attr_float(n, "epsilon", 1e-5f));
    return ox_out(im, n, ox_done(im, id));
}

OxResult ox_op_instance_norm(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    if (s->rank < 3 || !ir_dim_static(s->d[1]))
        return ox_unsupported(im, n, "needs a static channel dim");
    ValueId ins[3] = {x, ox_in(im, n, 1), ox_in(im, n, 2)};
    NodeId id = ox_mk(im, n, "group_norm", ins, 3);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "group_norm");
    ir_node_set_int(im->g, id, "num_groups", s->d[1].c);
    ir_node_set_float(im->g, id, "eps", ox_attr_float(n, "epsilon", 1e-5f));
    return ox_out(im, n, ox_done(im, id));
}

OxResult ox_op_group_norm(OxImporter *im, OxNode *n)
{
    if (im->opset < 21)
        return ox_unsupported(im, n,
                              "opset-18 GroupNormalization (per-group scale) is not supported");
    ValueId ins[3] = {ox_in(im, n, 0), ox_in(im, n, 1), ox_in(im, n, 2)};
    NodeId id = ox_mk(im, n, "group_norm", ins, 3);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "group_norm");
    ir_node_set_int(im->g, id, "num_groups", ox_attr_int(n, "num_groups", 1));
    ir_node_set_float(im->g, id, "eps", ox_attr_float(n, "epsilon", 1e-5f));
    return ox_out(im, n, ox_done(im, id));
}

#endif
