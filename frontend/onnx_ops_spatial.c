/* ONNX's pooling, resampling and signal ops to IR ops: Resize (one resize_axis per axis),
 * MaxPool/AveragePool beyond the 2-D IR pools and LpPool (pool_nd), GridSample,
 * AffineGrid, Col2Im, MaxUnpool, RoiAlign, DFT, STFT and the window functions. Dispatched from
 * frontend/onnx_ops_ext.c (Resize and the pools from onnx_ops.c). */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_ops_ext.h"
#include "ir/resize_taps.h"

#include <math.h>

/* Resize (opset 11 on): one resize_axis per axis that changes, in axis order (the
 * interpolation is separable, as ONNX's reference computes it). */
OxResult ox_import_resize(OxImporter *im, OxNode *n)
{
    static const char *const modes[] = {"nearest", "linear", "cubic", NULL};
    static const char *const coords[] = {"half_pixel",
                                         "asymmetric",
                                         "align_corners",
                                         "pytorch_half_pixel",
                                         "tf_crop_and_resize",
                                         "half_pixel_symmetric",
                                         NULL};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                           "ceil", NULL};
    static const char *const policies[] = {"stretch", "not_larger", "not_smaller", NULL};
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int r = s->rank;
    int mode = pick(ox_attr_string(im, n, "mode", "nearest"), modes);
    int coord = pick(ox_attr_string(im, n, "coordinate_transformation_mode", "half_pixel"), coords);
    int nearest = pick(ox_attr_string(im, n, "nearest_mode", "round_prefer_floor"), nearests);
    int policy = pick(ox_attr_string(im, n, "keep_aspect_ratio_policy", "stretch"), policies);
    if (mode < 0 || coord < 0 || nearest < 0 || policy < 0)
        return ox_unsupported(im, n, "an unknown mode, coordinate mode, nearest mode or policy");
    int64_t axes[IR_MAX_RANK];
    int na = ox_attr_ints(n, "axes", axes, IR_MAX_RANK);
    if (na > IR_MAX_RANK || r < 1)
        return ox_unsupported(im, n, "too many axes");
    if (na == 0)
        for (int i = 0; i < r; i++)
            axes[na++] = i;
    for (int i = 0; i < na; i++) {
        if (axes[i] < 0)
            axes[i] += r;
        if (axes[i] < 0 || axes[i] >= r)
            return ox_unsupported(im, n, "an axis out of range");
    }
    bool bad = false;
    const OxConst *roi = opt_const(im, n, 1, &bad), *sc = opt_const(im, n, 2, &bad),
                  *sz = opt_const(im, n, 3, &bad);
    if (bad)
        return ox_unsupported(im, n, "roi, scales or sizes computed at run time");
    if ((!sc && !sz) || (sc && ox_const_numel(sc) != na) || (sz && ox_const_numel(sz) != na) ||
        (roi && ox_const_numel(roi) != 2 * na))
        return ox_unsupported(im, n, "needs one scale or size per axis (and 2 roi values)");
    double scale[IR_MAX_RANK], r0[IR_MAX_RANK], r1[IR_MAX_RANK];
    int64_t size[IR_MAX_RANK];
    double policy_scale = policy == 1 ? 1e300 : 0;
    bool kept[IR_MAX_RANK] = {false}; /* a symbolic dim with scale 1: left as it is */
    int64_t to_sym[IR_MAX_RANK];      /* a size that is a symbol's (OxImporter.resize_sym) */
    for (int a = 0; a < IR_MAX_RANK; a++)
        to_sym[a] = -1;
    for (int i = 0; i < na; i++) {
        int64_t a = axes[i];
        if (im->resize_sym && im->resize_sym[i] >= 0) {
            if (!sz || sc || policy != 0 || !ir_resize_sym(mode, coord) ||
                (ox_attr_int(n, "antialias", 0) && mode != 0))
                return ox_unsupported_symbolic(
                    im, n,
                    "resizing to another tensor's symbolic size in this mode (nearest, linear "
                    "or cubic with half_pixel, asymmetric, align_corners or pytorch_half_pixel, "
                    "without antialias or a keep_aspect_ratio_policy)");
            to_sym[a] = im->resize_sym[i];
            size[a] = 0;
            scale[a] = 0;
            continue;
        }
        /* scale 1, or size -1 (its own symbolic dim: onnx_symshape.c) */
        if (!ir_dim_static(s->d[a]) && coord != 4 &&
            ((sc && !sz && ox_const_get(sc, i) == 1.0) ||
             (sz && !sc && policy == 0 && ox_const_get_i(sz, i) == -1))) {
            kept[a] = true;
            continue;
        }
        /* antialias widens linear and cubic taps by 1/scale: a scale >= 1/16, or a size
         * that bounds the length (one symbol) to 16 times it (ir/shape_index.c) */
        const bool aa = ox_attr_int(n, "antialias", 0) != 0 && mode != 0;
        const Dim dl = s->d[a];
        const bool aa_ok = !aa || (sc && !sz && ox_const_get(sc, i) >= IR_RESIZE_AA_MIN_SCALE) ||
                           (sz && dl.c >= 1 && dl.syms && !(dl.syms & (dl.syms - 1)));
        int64_t m, div;
        if (!ir_dim_static(dl) && sc && !sz && (!roi || coord != 4) &&
            (ir_resize_upsample_factor(mode, coord, nearest, ox_const_get(sc, i), aa) ||
             (ir_resize_sym(mode, coord) && aa_ok &&
              ir_resize_scale_dyadic(ox_const_get(sc, i), &m, &div)))) {
            scale[a] = ox_const_get(sc, i); /* nn.Upsample: stays symbolic (size -1) */
            size[a] = -1;
            continue;
        }
        if (!ir_dim_static(dl) && sz && !sc && policy == 0 && ir_resize_sym(mode, coord) && aa_ok &&
            ox_const_get_i(sz, i) >= 1) {
            size[a] = ox_const_get_i(sz, i); /* a constant size: the scale when it runs */
            scale[a] = 0;
            continue;
        }
        if (!ir_dim_static(dl))
            return ox_unsupported_symbolic(
                im, n,
                !ir_resize_sym(mode, coord)
                    ? "resizing a symbolic dim in this mode (nearest, linear or cubic with "
                      "half_pixel, asymmetric, align_corners or pytorch_half_pixel stay symbolic)"
                : !aa_ok ? "an antialiased resize of a symbolic dim by a scale below 1/16, or to "
                           "a size from a dim of several symbols"
                : sc && !sz ? "resizing a symbolic dim by a scale that is not m/2^k"
                            : "resizing a symbolic dim to sizes with a keep_aspect_ratio_policy");
        double in = (double)s->d[a].c;
        r0[a] = roi ? ox_const_get(roi, i) : 0.0;
        r1[a] = roi ? ox_const_get(roi, na + i) : 1.0;
        if (sz) {
            size[a] = ox_const_get_i(sz, i);
            scale[a] = (double)size[a] / in;
            if ((policy == 1 && scale[a] < policy_scale) ||
                (policy == 2 && scale[a] > policy_scale))
                policy_scale = scale[a];
        } else {
            scale[a] = ox_const_get(sc, i);
            if (!ir_ckd_from_double(scale[a] * in, &size[a]))
                size[a] = -1; /* refused below */
        }
    }
    if (sz && policy != 0)
        for (int i = 0; i < na; i++) {
            scale[axes[i]] = policy_scale;
            if (!ir_ckd_from_double(policy_scale * (double)s->d[axes[i]].c + 0.5, &size[axes[i]]))
                size[axes[i]] = -1; /* refused below */
        }
    ValueId v = x;
    for (int a = 0; a < r; a++) {
        bool listed = false;
        for (int i = 0; i < na; i++)
            listed |= axes[i] == a;
        if (!listed || kept[a] || (size[a] == s->d[a].c && scale[a] == 1.0 && coord != 4))
            continue;
        if (to_sym[a] < 0 && ((size[a] < 1 && ir_dim_static(s->d[a])) ||
                              !(scale[a] > 0 || (scale[a] == 0 && !ir_dim_static(s->d[a])))))
            return ox_unsupported(im, n, "an output size below 1 or a scale that is not positive");
        NodeId id = ox_mk(im, n, "resize_axis", &v, 1);
        if (id == IR_NONE)
            return ox_no_ir_op(im, n, "resize_axis");
        Graph *g = im->g;
        ir_node_set_int(g, id, "axis", a);
        ir_node_set_int(g, id, "size", size[a]);
        ir_node_set_int(g, id, "mode", mode);
        ir_node_set_int(g, id, "coord", coord);
        ir_node_set_int(g, id, "nearest", nearest);
        ir_node_set_float(g, id, "scale", scale[a]);
        if (coord == 4) {
            ir_node_set_float(g, id, "roi_start", r0[a]);
            ir_node_set_float(g, id, "roi_end", r1[a]);
            ir_node_set_float(g, id, "extrapolation", ox_attr_float(n, "extrapolation_value", 0));
        }
        if (mode == 2) {
            ir_node_set_float(g, id, "cubic_a", ox_attr_float(n, "cubic_coeff_a", -0.75f));
            ir_node_set_int(g, id, "exclude_outside", ox_attr_int(n, "exclude_outside", 0));
        }
        ir_node_set_int(g, id, "antialias", ox_attr_int(n, "antialias", 0));
        if (to_sym[a] >= 0)
            ir_node_set_int(g, id, "size_sym", to_sym[a]);
        v = ox_done(im, id);
    }
    if (v == x) /* nothing changes: still a node computing the output */
        v = ox_slice1(im, n, x, 0, 0, INT64_MAX, 1);
    return v == IR_NONE ? ox_no_ir_op(im, n, "slice") : bind(im, n, v);
}

OxResult ox_ext_grid_sample(OxImporter *im, OxNode *n)
{
    static const char *const modes[] = {"nearest", "linear", "cubic", NULL};
    static const char *const old_modes[] = {"nearest", "bilinear", "bicubic", NULL};
    static const char *const pads[] = {"zeros", "border", "reflection", NULL};
    const char *ms = ox_attr_string(im, n, "mode", im->opset >= 20 ? "linear" : "bilinear");
    int mode = pick(ms, modes), pad = pick(ox_attr_string(im, n, "padding_mode", "zeros"), pads);
    if (mode < 0)
        mode = pick(ms, old_modes);
    if (mode < 0 || pad < 0)
        return ox_unsupported(im, n, "mode '%s' or its padding mode", ms);
    ValueId ins[2];
    if (!inputs(im, n, ins, 2))
        return OX_ERROR;
    NodeId id = ox_mk(im, n, "grid_sample", ins, 2);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "grid_sample");
    ir_node_set_int(im->g, id, "mode", mode);
    ir_node_set_int(im->g, id, "padding", pad);
    ir_node_set_int(im->g, id, "align_corners", ox_attr_int(n, "align_corners", 0));
    return bind(im, n, ox_done(im, id));
}

/* Pooling attributes: kernel, strides, dilations, pads (from auto_pad: SAME_UPPER puts the
 * odd one at the end, SAME_LOWER at the beginning; VALID none). False when unsupported. */
typedef struct PoolAttrs {
    int s;
    int64_t k[3], st[3], dil[3], pads[6];
} PoolAttrs;

static bool pool_attrs(OxImporter *im, const OxNode *n, const Shape *xs, PoolAttrs *pa)
{
    int s = pa->s = xs->rank - 2;
    for (int i = 0; i < 3; i++)
        pa->st[i] = pa->dil[i] = 1;
    memset(pa->pads, 0, sizeof pa->pads);
    if (s < 1 || s > 3 || ox_attr_ints(n, "kernel_shape", pa->k, 3) != s ||
        ox_attr_ints(n, "strides", pa->st, 3) > s || ox_attr_ints(n, "dilations", pa->dil, 3) > s ||
        ox_attr_ints(n, "pads", pa->pads, 6) > 2 * s)
        return false;
    const char *ap = ox_attr_string(im, n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "VALID"))
        memset(pa->pads, 0, sizeof pa->pads);
    else if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER"))
        for (int i = 0; i < s; i++) {
            if (!ir_dim_static(xs->d[2 + i]))
                return false;
            /* total = (o - 1) * stride + (k - 1) * dil + 1 - in, o = ceil(in / stride) */
            int64_t in = xs->d[2 + i].c, total, reach;
            if (pa->st[i] < 1 || pa->k[i] < 1 || pa->dil[i] < 1)
                return false;
            int64_t o = in / pa->st[i] + (in % pa->st[i] != 0);
            if (!ir_ckd_mul_i64(o - 1, pa->st[i], &total) ||
                !ir_ckd_mul_i64(pa->k[i] - 1, pa->dil[i], &reach) ||
                !ir_ckd_add_i64(total, reach, &total) || !ir_ckd_sub_i64(total, in - 1, &total))
                return false;
            total = total < 0 ? 0 : total;
            pa->pads[i] = ap[5] == 'U' ? total / 2 : total - total / 2;
            pa->pads[s + i] = total - pa->pads[i];
        }
    else if (strcmp(ap, "NOTSET") != 0)
        return false;
    return true;
}

/* A pool_nd node of mode (0 lp, 1 max, 2 average) for n. */
/* The pool_nd node of pa over x (its output, IR_NONE after an error). */
static ValueId pool_value(OxImporter *im, OxNode *n, ValueId x, const PoolAttrs *pa, int mode)
{
    NodeId id = ox_mk(im, n, "pool_nd", &x, 1);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_int(im->g, id, "mode", mode);
    ir_node_set_ints(im->g, id, "kernel", pa->k, pa->s);
    ir_node_set_ints(im->g, id, "stride", pa->st, pa->s);
    ir_node_set_ints(im->g, id, "dilation", pa->dil, pa->s);
    ir_node_set_ints(im->g, id, "pads", pa->pads, 2 * pa->s);
    ir_node_set_int(im->g, id, "p", ox_attr_int(n, "p", 2));
    ir_node_set_int(im->g, id, "ceil_mode", ox_attr_int(n, "ceil_mode", 0));
    ir_node_set_int(im->g, id, "count_include_pad", ox_attr_int(n, "count_include_pad", 0));
    return ox_done(im, id);
}

static OxResult pool_node(OxImporter *im, OxNode *n, ValueId x, const PoolAttrs *pa, int mode)
{
    if (pa->s == 3 && pa->k[0] == 1 && pa->st[0] == 1 && pa->pads[0] == 0 && pa->pads[3] == 0 &&
        !ir_dim_static(ox_ty(im, x)->shape.d[2])) {
        /* a video model's (1, kh, kw) pool over a symbolic depth: 2-D over [N, C*D, H, W] */
        const Shape *xs = &ox_ty(im, x)->shape;
        Shape s4 = {4, {xs->d[0], {0, 0}, xs->d[3], xs->d[4]}};
        PoolAttrs p2 = {2,
                        {pa->k[1], pa->k[2]},
                        {pa->st[1], pa->st[2]},
                        {pa->dil[1], pa->dil[2]},
                        {pa->pads[1], pa->pads[2], pa->pads[4], pa->pads[5]}};
        if (!ir_dim_mul_any(im->g, xs->d[1], xs->d[2], &s4.d[1]))
            return ox_unsupported_symbolic(im, n, "a 3-D pool's channels times depth");
        ValueId y = pool_value(im, n, ox_reshape_to(im, n, x, &s4), &p2, mode);
        const Shape *ys = y == IR_NONE ? NULL : &ox_ty(im, y)->shape;
        if (!ys || ys->rank != 4)
            return OX_ERROR; /* reported */
        Shape s5 = {5, {xs->d[0], xs->d[1], xs->d[2], ys->d[2], ys->d[3]}};
        return bind(im, n, ox_reshape_to(im, n, y, &s5));
    }
    ValueId y = pool_value(im, n, x, pa, mode);
    return y == IR_NONE ? ox_no_ir_op(im, n, "pool_nd") : bind(im, n, y);
}

OxResult ox_ext_lp_pool(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    PoolAttrs pa;
    if (!pool_attrs(im, n, &ox_ty(im, x)->shape, &pa))
        return ox_unsupported(im, n, "1 to 3 spatial dims, a kernel size each, or this auto_pad");
    return pool_node(im, n, x, &pa, 0);
}

bool ox_pool_ext(OxImporter *im, OxNode *n, bool is_max, OxResult *r)
{
    ValueId x = ox_in(im, n, 0);
    PoolAttrs pa;
    if (!pool_attrs(im, n, &ox_ty(im, x)->shape, &pa))
        return false;
    if (is_max && n->n_out > 1 && *n->out[1]) { /* the Indices output: a second node */
        *r = pool_node(im, n, x, &pa, 1);
        NodeId id = ox_mk(im, n, "pool_nd", &x, 1);
        if (*r != OX_OK || id == IR_NONE)
            return true;
        ir_node_set_int(im->g, id, "mode", 3);
        ir_node_set_ints(im->g, id, "kernel", pa.k, pa.s);
        ir_node_set_ints(im->g, id, "stride", pa.st, pa.s);
        ir_node_set_ints(im->g, id, "dilation", pa.dil, pa.s);
        ir_node_set_ints(im->g, id, "pads", pa.pads, 2 * pa.s);
        ir_node_set_int(im->g, id, "ceil_mode", ox_attr_int(n, "ceil_mode", 0));
        ir_node_set_int(im->g, id, "storage_order", ox_attr_int(n, "storage_order", 0));
        ox_bind_value(im, n->out[1], ox_done(im, id));
        return true;
    }
    bool dilated = false, asym = false, big = false; /* big: over half the kernel */
    for (int i = 0; i < pa.s; i++) {
        dilated |= pa.dil[i] != 1;
        asym |= pa.pads[i] != pa.pads[pa.s + i];
        big |= pa.pads[i] > pa.k[i] / 2 || pa.pads[pa.s + i] > pa.k[i] / 2; /* 2p > k; no wrap */
    }
    bool cip = ox_attr_int(n, "count_include_pad", 0) != 0;
    if (pa.s != 3 && (is_max || (!dilated && !big && (cip || !asym))))
        return false; /* max_pool2d / avg_pool2d do it */
    *r = pool_node(im, n, x, &pa, is_max ? 1 : 2);
    return true;
}

/* AffineGrid(theta [N, S, S+1], size): the base grid [P, S+1] of (x, y, (z), 1) per output
 * position (a constant, as ONNX's reference spaces it) times theta transposed, reshaped to
 * [N, (D,) H, W, S]. */
OxResult ox_ext_affine_grid(OxImporter *im, OxNode *n)
{
    ValueId theta = ox_in(im, n, 0);
    const Shape *ts = &ox_ty(im, theta)->shape;
    int64_t size[5];
    int k = ox_ints_input(im, n, 1, size, 5);
    if (k == -2)
        return ox_unsupported(im, n, "a size computed at run time");
    int s = k - 2;
    if ((s != 2 && s != 3) || ts->rank != 3 || !ir_dim_eq(ts->d[1], ir_dim(s)) ||
        !ir_dim_eq(ts->d[2], ir_dim(s + 1)))
        return ox_unsupported(im, n, "theta [N, 2, 3] with a 4-value size or [N, 3, 4] with 5");
    bool align = ox_attr_int(n, "align_corners", 0) != 0;
    int64_t pts = 1, bshape[2];
    for (int i = 0; i < s; i++) {
        if (size[2 + i] < 1)
            return ox_unsupported(im, n, "an empty size");
        pts *= size[2 + i];
    }
    bshape[0] = pts;
    bshape[1] = s + 1;
    OxConst base;
    if (!ox_const_make(im, &base, IR_F32, 2, bshape))
        return OX_ERROR;
    for (int64_t p = 0; p < pts; p++) {
        int64_t q = p;
        for (int i = s - 1; i >= 0; i--) { /* spatial dim i: coordinate s - 1 - i (x first) */
            int64_t len = size[2 + i], c = q % len;
            q /= len;
            double step = align ? (len > 1 ? 2.0 / (double)(len - 1) : 0) : 2.0 / (double)len;
            double start = align ? -1.0 : -1.0 + step / 2;
            ox_const_set(&base, p * (s + 1) + (s - 1 - i), start + (double)c * step);
        }
        ox_const_set(&base, p * (s + 1) + s, 1.0);
    }
    int64_t perm[3] = {0, 2, 1};
    ValueId tt = ox_permute(im, n, theta, perm, 3);
    ValueId m = ox_bin(im, n, "matmul", const_value(im, n, "base", &base), tt);
    if (tt == IR_NONE || m == IR_NONE)
        return ox_no_ir_op(im, n, "permute/matmul");
    Shape target = {s + 2, {ts->d[0]}};
    for (int i = 0; i < s; i++)
        target.d[1 + i] = ir_dim(size[2 + i]);
    target.d[s + 1] = ir_dim(s);
    ValueId v = ox_reshape_to(im, n, m, &target);
    return v == IR_NONE ? ox_unsupported(im, n, "a shape too symbolic") : bind(im, n, v);
}

/* HannWindow, HammingWindow, BlackmanWindow of a constant size: a constant, computed as
 * ONNX's reference computes it (in double, then rounded to the output dtype). */
OxResult ox_ext_window(OxImporter *im, OxNode *n, const char *op)
{
    int64_t size;
    int k = ox_ints_input(im, n, 0, &size, 1);
    if (k == -2)
        return ox_unsupported(im, n, "a size computed at run time");
    DType dt;
    if (k != 1 || size < 1 || !onnx_dtype(ox_attr_int(n, "output_datatype", 1), &dt))
        return ox_unsupported(im, n, "a size below 1 or an output dtype slimc lacks");
    double len = (double)(ox_attr_int(n, "periodic", 1) ? size : size - 1),
           pi = 3.14159265358979323846;
    OxConst c;
    if (!ox_const_make(im, &c, dt, 1, &size))
        return OX_ERROR;
    for (int64_t i = 0; i < size; i++) {
        double x = (double)i, y;
        if (op[1] == 'a' && op[2] == 'n') { /* Hann */
            double sv = sin(x * pi / len);
            y = sv * sv;
        } else if (op[0] == 'H') /* Hamming */
            y = 25.0 / 46.0 - cos(x * pi * 2 / len) * (1 - 25.0 / 46.0);
        else
            y = cos((x * (pi * 2)) / len) * -0.5 + cos((x * (pi * 4)) / len) * 0.08 + 0.42;
        ox_const_set(&c, i, y);
    }
    return bind_copy(im, n, const_value(im, n, "window", &c));
}

/* Col2Im(x [N, C K, L], image_shape, block_shape): scatter_elements with reduction add of x
 * into zeros [N, C, P + 1] (P the image's size; positions in the padding go to the extra
 * last one), sliced to P and reshaped to [N, C, image...]. */
OxResult ox_ext_col2im(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *xs = &ox_ty(im, x)->shape;
    int64_t img[IR_MAX_RANK], blk[IR_MAX_RANK], dil[IR_MAX_RANK], st[IR_MAX_RANK],
        pads[2 * IR_MAX_RANK];
    int s = ox_ints_input(im, n, 1, img, IR_MAX_RANK);
    int s2 = ox_ints_input(im, n, 2, blk, IR_MAX_RANK);
    if (s == -2 || s2 == -2)
        return ox_unsupported(im, n, "shapes computed at run time");
    if (s < 1 || s != s2 || s + 2 > IR_MAX_RANK || xs->rank != 3 || !ir_shape_static(xs))
        return ox_unsupported(im, n, "a fixed [N, C K, L] input and matching shapes");
    for (int i = 0; i < s; i++)
        dil[i] = st[i] = 1;
    memset(pads, 0, sizeof pads);
    if (ox_attr_ints(n, "dilations", dil, IR_MAX_RANK) > s ||
        ox_attr_ints(n, "strides", st, IR_MAX_RANK) > s ||
        ox_attr_ints(n, "pads", pads, 2 * IR_MAX_RANK) > 2 * s)
        return ox_unsupported(im, n, "dilations, strides or pads of another rank");
    int64_t kn = 1, pn = 1, nb[IR_MAX_RANK], ln = 1;
    for (int i = 0; i < s; i++) {
        int64_t span, padded;
        if (blk[i] < 1 || img[i] < 1 || st[i] < 1 || dil[i] < 1 ||
            !ir_ckd_mul_i64(dil[i], blk[i] - 1, &span) ||
            !ir_ckd_add_i64(img[i], pads[i], &padded) ||
            !ir_ckd_add_i64(padded, pads[s + i], &padded) ||
            !ir_ckd_sub_i64(padded, span, &padded) || padded < 1)
            return ox_unsupported(im, n, "a bad block, image, stride, dilation or pad");
        nb[i] = (padded - 1) / st[i] + 1;
        if (nb[i] < 1 || !ir_ckd_mul_i64(kn, blk[i], &kn) || !ir_ckd_mul_i64(pn, img[i], &pn) ||
            !ir_ckd_mul_i64(ln, nb[i], &ln))
            return ox_unsupported(im, n, "a bad block, image, stride, dilation or pad");
    }
    int64_t nn = xs->d[0].c, ck = xs->d[1].c;
    if (ck % kn || xs->d[2].c != ln)
        return ox_unsupported(im, n, "an input that does not match the blocks");
    int64_t c = ck / kn;
    Shape flat = {3, {ir_dim(nn), ir_dim(c), ir_dim(kn * ln)}};
    ValueId upd = ox_reshape_to(im, n, x, &flat);
    OxConst zc, ic;
    int64_t zshape[3] = {nn, c, pn + 1};
    if (!ox_const_make(im, &zc, ox_ty(im, x)->dtype, 3, zshape))
        return OX_ERROR;
    index_const(im, &flat, &ic);
    for (int64_t q = 0; q < kn * ln; q++) { /* the same positions for every (n, c) */
        int64_t kr = q / ln, lr = q % ln, pos = 0, mul = 1;
        bool inside = true;
        for (int i = s - 1; i >= 0; i--) { /* the block's and the grid's coordinates */
            int64_t at = (lr % nb[i]) * st[i] - pads[i] + (kr % blk[i]) * dil[i];
            kr /= blk[i];
            lr /= nb[i];
            inside &= at >= 0 && at < img[i];
            pos += at * mul;
            mul *= img[i];
        }
        pos = inside ? pos : pn;
        for (int64_t b = 0; b < nn * c; b++)
            ox_const_set(&ic, b * kn * ln + q, (double)pos);
    }
    if (upd == IR_NONE)
        return ox_no_ir_op(im, n, "reshape");
    ValueId v =
        by_index(im, n, "scatter_elements", const_value(im, n, "zeros", &zc), &ic, upd, 2, 1);
    if (v == IR_NONE || (v = ox_slice1(im, n, v, 2, 0, pn, 1)) == IR_NONE)
        return ox_no_ir_op(im, n, "scatter_elements/slice");
    Shape out = {s + 2, {ir_dim(nn), ir_dim(c)}};
    for (int i = 0; i < s; i++)
        out.d[2 + i] = ir_dim(img[i]);
    v = ox_reshape_to(im, n, v, &out);
    return v == IR_NONE ? ox_no_ir_op(im, n, "reshape") : bind(im, n, v);
}

/* The DFT as a matrix [n * c, k * 2] (c = 1 real or 2 complex inputs, the output's last dim
 * (re, im)): frequency j of a length-len transform, input rows past n absent (zeros). */
static ValueId dft_matrix(OxImporter *im, const OxNode *n, int64_t rows, int c, int64_t k,
                          int64_t len, bool inverse)
{
    int64_t shape[2] = {rows * c, k * 2};
    OxConst w;
    if (!ox_const_make(im, &w, IR_F32, 2, shape))
        return IR_NONE;
    const double two_pi = 6.28318530717958647692, scale = inverse ? 1.0 / (double)len : 1.0;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < k; j++) {
            double th = two_pi * (double)((i * j) % len) / (double)len, co = cos(th) * scale,
                   si = sin(th) * scale * (inverse ? 1 : -1);
            /* (xr + i xi)(co + i si): re = xr co - xi si, im = xr si + xi co */
            ox_const_set(&w, (i * c) * shape[1] + 2 * j, co);
            ox_const_set(&w, (i * c) * shape[1] + 2 * j + 1, si);
            if (c == 2) {
                ox_const_set(&w, (i * c + 1) * shape[1] + 2 * j, -si);
                ox_const_set(&w, (i * c + 1) * shape[1] + 2 * j + 1, co);
            }
        }
    return const_value(im, n, "dft", &w);
}

/* DFT(x [.., N, .., c], dft_length, axis): the axis moved next to the last, everything
 * before it flattened, a matmul with the DFT matrix, and back. */
OxResult ox_ext_dft(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *xs = &ox_ty(im, x)->shape;
    int r = xs->rank;
    int64_t axis = im->opset >= 20 ? -2 : 1, len;
    if (im->opset >= 20 && ox_has_in(n, 2)) {
        int k = ox_ints_input(im, n, 2, &axis, 1);
        if (k != 1)
            return ox_unsupported(im, n, "an axis computed at run time");
    } else if (im->opset < 20)
        axis = ox_attr_int(n, "axis", 1);
    axis += axis < 0 ? r : 0;
    if (r < 2 || axis < 0 || axis > r - 2 || !ir_shape_static(xs) ||
        (xs->d[r - 1].c != 1 && xs->d[r - 1].c != 2))
        return ox_unsupported(im, n,
                              "a fixed shape [.., N, .., 1 or 2] and an axis before the last");
    int c = (int)xs->d[r - 1].c;
    int64_t nn = xs->d[axis].c;
    len = nn;
    if (ox_has_in(n, 1) && ox_ints_input(im, n, 1, &len, 1) != 1)
        return ox_unsupported(im, n, "a dft_length computed at run time");
    bool inverse = ox_attr_int(n, "inverse", 0) != 0, onesided = ox_attr_int(n, "onesided", 0);
    if (len < 1 || (onesided && c == 2))
        return ox_unsupported(im, n, "a bad dft_length, or onesided with complex input");
    int64_t k = onesided ? len / 2 + 1 : len, rows = nn < len ? nn : len;
    int64_t perm[IR_MAX_RANK], inv[IR_MAX_RANK], pr = 0;
    for (int i = 0; i < r - 1; i++)
        if (i != axis)
            perm[pr++] = i;
    perm[pr++] = axis;
    perm[pr++] = r - 1;
    for (int i = 0; i < r; i++)
        inv[perm[i]] = i;
    ValueId v = axis == r - 2 ? x : ox_permute(im, n, x, perm, r);
    if (rows < nn)
        v = ox_slice1(im, n, v, r - 2, 0, rows, 1);
    int64_t batch = 1;
    for (int i = 0; i < r - 2; i++)
        batch *= xs->d[perm[i]].c;
    Shape flat = {2, {ir_dim(batch), ir_dim(rows * c)}};
    v = v == IR_NONE ? IR_NONE : ox_reshape_to(im, n, v, &flat);
    v = v == IR_NONE ? IR_NONE
                     : ox_bin(im, n, "matmul", v, dft_matrix(im, n, rows, c, k, len, inverse));
    if (v == IR_NONE)
        return ox_no_ir_op(im, n, "permute/slice/reshape/matmul");
    Shape back = {r, {{0}}};
    for (int i = 0; i < r - 2; i++)
        back.d[i] = xs->d[perm[i]];
    back.d[r - 2] = ir_dim(k);
    back.d[r - 1] = ir_dim(2);
    v = ox_reshape_to(im, n, v, &back);
    if (v != IR_NONE && axis != r - 2)
        v = ox_permute(im, n, v, inv, r);
    return v == IR_NONE ? ox_no_ir_op(im, n, "reshape/permute") : bind(im, n, v);
}

/* RoiAlign(x, rois, batch_indices): coordinate_transformation_mode half_pixel from opset 16
 * (the default), output_half_pixel before. */
OxResult ox_ext_roi_align(OxImporter *im, OxNode *n)
{
    static const char *const modes[] = {"avg", "max", NULL};
    const char *ms = ox_attr_string(im, n, "mode", "avg");
    const char *ct = ox_attr_string(im, n, "coordinate_transformation_mode",
                                    im->opset >= 16 ? "half_pixel" : "output_half_pixel");
    int mode = pick(ms, modes);
    if (mode < 0 || (strcmp(ct, "half_pixel") != 0 && strcmp(ct, "output_half_pixel") != 0))
        return ox_unsupported(im, n, "mode '%s' or coordinate mode '%s'", ms, ct);
    ValueId ins[3];
    if (!inputs(im, n, ins, 3))
        return OX_ERROR;
    NodeId id = ox_mk(im, n, "roi_align", ins, 3);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "roi_align");
    ir_node_set_int(im->g, id, "out_h", ox_attr_int(n, "output_height", 1));
    ir_node_set_int(im->g, id, "out_w", ox_attr_int(n, "output_width", 1));
    ir_node_set_int(im->g, id, "sampling_ratio", ox_attr_int(n, "sampling_ratio", 0));
    ir_node_set_float(im->g, id, "spatial_scale", ox_attr_float(n, "spatial_scale", 1.0f));
    ir_node_set_int(im->g, id, "mode", mode);
    ir_node_set_int(im->g, id, "half_pixel", !strcmp(ct, "half_pixel"));
    return bind(im, n, ox_done(im, id));
}

#endif
