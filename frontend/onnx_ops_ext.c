/* More ONNX ops to IR ops, called by ox_import_node for the ops onnx_ops.c does not map:
 * the index ops of ir/eval_index.c (ArgMax, ArgMin, GatherElements, ScatterElements and
 * the older Scatter, GatherND, ScatterND, CumSum, ReduceProd, Mod, TopK) and
 * decompositions into IR ops (Hardmax, OneHot, EyeLike, CenterCropPad, Compress, Tile,
 * ReverseSequence, TensorScatter). The pooling, resampling and signal ops are in
 * frontend/onnx_ops_spatial.c; this file's dispatcher calls them. */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_ops_ext.h"

#include <math.h>
#include <string.h>

/* ArgMax/ArgMin: axis (0), keepdims (1), select_last_index (0, opset 12). */
static OxResult op_arg(OxImporter *im, OxNode *n, const char *irop)
{
    ValueId x = ox_in(im, n, 0);
    NodeId id = ox_mk(im, n, irop, &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, irop);
    ir_node_set_int(im->g, id, "axis", ox_attr_int(n, "axis", 0));
    ir_node_set_int(im->g, id, "keepdim", ox_attr_int(n, "keepdims", 1) == 1); /* as ORT */
    ir_node_set_int(im->g, id, "select_last", ox_attr_int(n, "select_last_index", 0));
    return bind(im, n, ox_done(im, id));
}

static OxResult op_gather_elements(OxImporter *im, OxNode *n)
{
    ValueId ins[2];
    if (!inputs(im, n, ins, 2))
        return OX_ERROR;
    NodeId id = ox_mk(im, n, "gather_elements", ins, 2);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "gather_elements");
    ir_node_set_int(im->g, id, "axis", ox_attr_int(n, "axis", 0));
    return bind(im, n, ox_done(im, id));
}

static OxResult op_scatter_elements(OxImporter *im, OxNode *n)
{
    static const char *const reductions[] = {"none", "add", "mul", "max", "min"};
    const char *rs = ox_attr_string(im, n, "reduction", "none");
    int64_t red = -1;
    for (int i = 0; i < 5; i++)
        if (!strcmp(rs, reductions[i]))
            red = i;
    if (red < 0)
        return ox_unsupported(im, n, "reduction '%s'", rs);
    ValueId ins[3];
    if (!inputs(im, n, ins, 3))
        return OX_ERROR;
    NodeId id = ox_mk(im, n, "scatter_elements", ins, 3);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "scatter_elements");
    ir_node_set_int(im->g, id, "axis", ox_attr_int(n, "axis", 0));
    ir_node_set_int(im->g, id, "reduction", red);
    return bind(im, n, ox_done(im, id));
}

/* CumSum(x, axis): the axis must be known at import. */
static OxResult op_cumsum(OxImporter *im, OxNode *n)
{
    int64_t axis;
    int k = ox_ints_input(im, n, 1, &axis, 1);
    if (k == -2)
        return ox_unsupported(im, n, "an axis computed at run time");
    if (k != 1)
        return ox_unsupported(im, n, "needs one axis");
    ValueId x = ox_in(im, n, 0);
    NodeId id = ox_mk(im, n, "cumsum", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "cumsum");
    ir_node_set_int(im->g, id, "axis", axis);
    ir_node_set_int(im->g, id, "exclusive", ox_attr_int(n, "exclusive", 0));
    ir_node_set_int(im->g, id, "reverse", ox_attr_int(n, "reverse", 0));
    return bind(im, n, ox_done(im, id));
}

/* ReduceProd: axes an attribute before opset 18, an input after; noop_with_empty_axes. */
static OxResult op_reduce_prod(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int64_t axes[IR_MAX_RANK];
    int k = im->opset >= 18 ? ox_ints_input(im, n, 1, axes, IR_MAX_RANK)
                            : ox_attr_ints(n, "axes", axes, IR_MAX_RANK);
    if (k == -2)
        return ox_unsupported(im, n, "axes computed at run time");
    if (k > IR_MAX_RANK)
        return ox_unsupported(im, n, "too many axes");
    if (k <= 0 && ox_attr_int(n, "noop_with_empty_axes", 0))
        return ox_unsupported(im, n, "noop_with_empty_axes");
    NodeId id = ox_mk(im, n, "reduce_prod", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "reduce_prod");
    if (k > 0)
        ir_node_set_ints(im->g, id, "axes", axes, k);
    ir_node_set_int(im->g, id, "keepdim", ox_attr_int(n, "keepdims", 1) == 1); /* as ORT */
    return bind(im, n, ox_done(im, id));
}

static OxResult op_mod(OxImporter *im, OxNode *n)
{
    ValueId ins[2];
    if (!inputs(im, n, ins, 2))
        return OX_ERROR;
    NodeId id = ox_mk(im, n, "mod", ins, 2);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "mod");
    ir_node_set_int(im->g, id, "fmod", ox_attr_int(n, "fmod", 0));
    return bind(im, n, ox_done(im, id));
}

/* Hardmax(x, axis) = cast(argmax(x, axis, keepdim) == [0, 1, .., D-1] along axis): 1 at
 * the first maximum. Opset 13's single axis (before 13 only where the 2-D coercion is
 * the identity: axis = rank - 1). */
static OxResult op_hardmax(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Type *xt = ox_ty(im, x);
    int r = xt->shape.rank;
    int64_t axis = ox_attr_int(n, "axis", im->opset >= 13 ? -1 : 1);
    if (axis < 0)
        axis += r;
    if (r < 1 || axis < 0 || axis >= r)
        return ox_unsupported(im, n, "axis out of range");
    if (im->opset < 13 && axis != r - 1)
        return ox_unsupported(im, n, "the 2-D coercion of opsets before 13");
    if (!ir_dim_static(xt->shape.d[axis]))
        return ox_unsupported(im, n, "a symbolic length along the axis");
    DType dt = xt->dtype;
    NodeId am = ox_mk(im, n, "argmax", &x, 1);
    if (am == IR_NONE)
        return ox_no_ir_op(im, n, "argmax");
    ir_node_set_int(im->g, am, "axis", axis);
    ir_node_set_int(im->g, am, "keepdim", 1);
    ValueId a = ox_done(im, am);
    int64_t len = xt->shape.d[axis].c, shape[IR_MAX_RANK];
    Type it = {IR_I64, {r, {{0}}}, NULL};
    for (int i = 0; i < r; i++) {
        shape[i] = i == axis ? len : 1;
        it.shape.d[i] = ir_dim(shape[i]);
    }
    OxConst c;
    if (!ox_const_make(im, &c, IR_I64, r, shape))
        return OX_ERROR;
    for (int64_t i = 0; i < len; i++)
        ox_const_set(&c, i, (double)i);
    ValueId iota = ir_const_new(im->g, ir_arena_printf(im->g->arena, "%s.iota", n->ir_name), it,
                                c.data, c.nbytes, n->loc);
    ValueId ins[2] = {a, iota};
    NodeId eq = ox_mk(im, n, "eq", ins, 2);
    if (eq == IR_NONE)
        return ox_no_ir_op(im, n, "eq");
    ValueId e = ox_done(im, eq);
    NodeId cast = ox_mk(im, n, "cast", &e, 1);
    if (cast == IR_NONE)
        return ox_no_ir_op(im, n, "cast");
    ir_node_set_int(im->g, cast, "dtype", dt);
    return bind(im, n, ox_done(im, cast));
}

/* TopK: one topk node per output wanted (values, indices); k an input from opset 10. */
static OxResult op_topk(OxImporter *im, OxNode *n)
{
    int64_t k = ox_attr_int(n, "k", -1);
    if (im->opset >= 10) {
        int cnt = ox_ints_input(im, n, 1, &k, 1);
        if (cnt == -2)
            return ox_unsupported(im, n, "k computed at run time");
        if (cnt != 1)
            return ox_unsupported(im, n, "needs one k");
    }
    ValueId x = ox_in(im, n, 0);
    for (int o = 0; o < 2 && o < n->n_out; o++) {
        if (!*n->out[o])
            continue;
        NodeId id = ox_mk(im, n, "topk", &x, 1);
        if (id == IR_NONE)
            return ox_no_ir_op(im, n, "topk");
        ir_node_set_int(im->g, id, "axis", ox_attr_int(n, "axis", -1));
        ir_node_set_int(im->g, id, "k", k);
        ir_node_set_int(im->g, id, "largest", ox_attr_int(n, "largest", 1));
        ir_node_set_int(im->g, id, "indices", o);
        ox_bind_value(im, n->out[o], ox_done(im, id));
    }
    return OX_OK;
}

static OxResult op_gather_nd(OxImporter *im, OxNode *n)
{
    ValueId ins[2];
    if (!inputs(im, n, ins, 2))
        return OX_ERROR;
    NodeId id = ox_mk(im, n, "gather_nd", ins, 2);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "gather_nd");
    ir_node_set_int(im->g, id, "batch_dims", ox_attr_int(n, "batch_dims", 0));
    return bind(im, n, ox_done(im, id));
}

static OxResult op_scatter_nd(OxImporter *im, OxNode *n)
{
    static const char *const reductions[] = {"none", "add", "mul", "max", "min", NULL};
    const char *rs = ox_attr_string(im, n, "reduction", "none");
    int red = pick(rs, reductions);
    if (red < 0)
        return ox_unsupported(im, n, "reduction '%s'", rs);
    ValueId ins[3];
    if (!inputs(im, n, ins, 3))
        return OX_ERROR;
    NodeId id = ox_mk(im, n, "scatter_nd", ins, 3);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "scatter_nd");
    ir_node_set_int(im->g, id, "reduction", red);
    return bind(im, n, ox_done(im, id));
}

/* EyeLike(x): ones on diagonal k of a 2-D tensor of x's (fixed) shape, a constant. */
static OxResult op_eye_like(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Type *xt = ox_ty(im, x);
    if (xt->shape.rank != 2 || !ir_shape_static(&xt->shape))
        return ox_unsupported(im, n, "an input that is not 2-D with fixed dims");
    DType dt = xt->dtype;
    const Onnx__AttributeProto *a = ox_attr(n, "dtype");
    if (a && !onnx_dtype(a->i, &dt))
        return ox_unsupported(im, n, "ONNX dtype %lld", (long long)a->i);
    int64_t shape[2] = {xt->shape.d[0].c, xt->shape.d[1].c}, k = ox_attr_int(n, "k", 0);
    OxConst c;
    if (!ox_const_make(im, &c, dt, 2, shape))
        return OX_ERROR;
    /* Only the rows that hold a diagonal element: [max(0, -k), min(rows, cols - k)) (a
     * [2^32, 0] shape is an empty constant, not 2^32 rows to look at). */
    int64_t lo = k < 0 ? (k == INT64_MIN ? INT64_MAX : -k) : 0, hi;
    if (__builtin_sub_overflow(shape[1], k, &hi) || hi > shape[0])
        hi = shape[0]; /* (cols - k overflows only for a k far below zero) */
    for (int64_t i = lo; i < hi; i++)
        ox_const_set(&c, i * shape[1] + i + k, 1.0);
    ValueId v = ox_slice1(im, n, const_value(im, n, "eye", &c), 0, 0, INT64_MAX, 1);
    return v == IR_NONE ? ox_no_ir_op(im, n, "slice") : bind(im, n, v);
}

/* OneHot(indices, depth, values [off, on]) = where(unsqueeze(i, axis) == iota, on, off), i
 * the indices as i64 with negatives counted from depth. */
static OxResult op_one_hot(OxImporter *im, OxNode *n)
{
    ValueId ins[3];
    if (!inputs(im, n, ins, 3))
        return OX_ERROR;
    const OxConst *dc = ox_need_const(im, n, 1);
    if (!dc || ox_const_numel(dc) != 1)
        return ox_unsupported(im, n, "a depth that is not one constant");
    int64_t depth = ox_const_get_i(dc, 0); /* NaN 0, +-inf saturated (then refused below) */
    const Shape *is = &ox_ty(im, ins[0])->shape;
    int r = is->rank + 1;
    int64_t axis = ox_attr_int(n, "axis", -1);
    if (axis < 0)
        axis += r;
    if (depth < 1 || axis < 0 || axis >= r || r > IR_MAX_RANK || ox_ty(im, ins[2])->shape.rank != 1)
        return ox_unsupported(im, n, "depth, axis or values out of range");
    ValueId idx = ins[0];
    if (ox_ty(im, idx)->dtype != IR_I64) {
        NodeId cast = ox_mk(im, n, "cast", &idx, 1);
        if (cast == IR_NONE)
            return ox_no_ir_op(im, n, "cast");
        ir_node_set_int(im->g, cast, "dtype", IR_I64);
        idx = ox_done(im, cast);
    }
    OxConst zc, dcst, ic;
    int64_t shape[IR_MAX_RANK];
    ox_const_make(im, &zc, IR_I64, 0, NULL);
    ox_const_make(im, &dcst, IR_I64, 0, NULL);
    ox_const_set(&dcst, 0, (double)depth);
    for (int i = 0; i < r; i++)
        shape[i] = i == axis ? depth : 1;
    if (!ox_const_make(im, &ic, IR_I64, r, shape))
        return OX_ERROR;
    for (int64_t i = 0; i < depth; i++)
        ox_const_set(&ic, i, (double)i);
    /* negative: i mod depth (Python's), which counts from the end */
    ValueId neg = ox_bin(im, n, "lt", idx, const_value(im, n, "zero", &zc));
    ValueId wrapped = ox_bin(im, n, "mod", idx, const_value(im, n, "depth", &dcst));
    if (neg == IR_NONE || wrapped == IR_NONE)
        return ox_no_ir_op(im, n, "lt/mod");
    ValueId sel[3] = {neg, wrapped, idx};
    NodeId w = ox_mk(im, n, "where", sel, 3);
    if (w == IR_NONE)
        return ox_no_ir_op(im, n, "where");
    ValueId fixed = ox_done(im, w);
    NodeId un = ox_mk(im, n, "unsqueeze", &fixed, 1);
    if (un == IR_NONE)
        return ox_no_ir_op(im, n, "unsqueeze");
    ir_node_set_int(im->g, un, "axis", axis);
    ValueId hot = ox_bin(im, n, "eq", ox_done(im, un), const_value(im, n, "iota", &ic));
    ValueId off = ox_slice1(im, n, ins[2], 0, 0, 1, 1), on = ox_slice1(im, n, ins[2], 0, 1, 2, 1);
    if (hot == IR_NONE || off == IR_NONE || on == IR_NONE)
        return ox_no_ir_op(im, n, "eq/slice");
    ValueId pick3[3] = {hot, on, off};
    NodeId out_id = ox_mk(im, n, "where", pick3, 3);
    return bind(im, n, ox_done(im, out_id));
}

/* CenterCropPad(x, shape): per axis a centered slice (the odd one left out at the end) or
 * a centered zero pad (the odd one added at the end). */
static OxResult op_center_crop_pad(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t axes[IR_MAX_RANK], target[IR_MAX_RANK];
    int na = ox_attr_ints(n, "axes", axes, IR_MAX_RANK);
    if (na == 0)
        for (int i = 0; i < r; i++)
            axes[na++] = i;
    int k = ox_ints_input(im, n, 1, target, IR_MAX_RANK);
    if (k == -2)
        return ox_unsupported(im, n, "a shape computed at run time");
    if (k != na || na > IR_MAX_RANK)
        return ox_unsupported(im, n, "one size per axis");
    ValueId v = x;
    for (int i = 0; i < na; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
        const Shape *s = &ox_ty(im, v)->shape;
        if (a < 0 || a >= r || !ir_dim_static(s->d[a]) || target[i] < 0)
            return ox_unsupported(im, n, "an axis out of range or symbolic");
        int64_t dim = s->d[a].c, t = target[i];
        if (t < dim) {
            int64_t st = (dim - t) / 2;
            v = ox_slice1(im, n, v, a, st, st + t, 1);
        } else if (t > dim) {
            int64_t pads[2 * IR_MAX_RANK] = {0}, before = (t - dim) / 2;
            pads[2 * (r - 1 - a)] = before;
            pads[2 * (r - 1 - a) + 1] = t - dim - before;
            NodeId id = ox_mk(im, n, "pad", &v, 1);
            if (id == IR_NONE)
                return ox_no_ir_op(im, n, "pad");
            ir_node_set_ints(im->g, id, "pads", pads, 2 * r);
            ir_node_set_int(im->g, id, "mode", 0);
            ir_node_set_float(im->g, id, "value", 0.0);
            v = ox_done(im, id);
        }
        if (v == IR_NONE)
            return ox_no_ir_op(im, n, "slice");
    }
    if (v == x)
        v = ox_slice1(im, n, x, 0, 0, INT64_MAX, 1);
    return v == IR_NONE ? ox_no_ir_op(im, n, "slice") : bind(im, n, v);
}

/* Compress(x, condition): index_select of the positions where the (constant) condition
 * holds, along axis or over x flattened. */
static OxResult op_compress(OxImporter *im, OxNode *n)
{
    ValueId ins[2];
    if (!inputs(im, n, ins, 2))
        return OX_ERROR;
    const OxConst *cc = ox_need_const(im, n, 1);
    if (!cc)
        return ox_unsupported(im, n, "a condition computed at run time");
    ValueId x = ins[0];
    const Shape *xs = &ox_ty(im, x)->shape;
    int64_t axis = 0;
    if (ox_attr(n, "axis")) {
        axis = ox_attr_int(n, "axis", 0);
        axis += axis < 0 ? xs->rank : 0;
        if (axis < 0 || axis >= xs->rank)
            return ox_unsupported(im, n, "axis out of range");
    } else {
        Dim ne;
        if (!ir_shape_numel(xs, &ne))
            return ox_unsupported(im, n, "a shape too symbolic to flatten");
        Shape flat = {1, {ne}};
        x = ox_reshape_to(im, n, x, &flat);
        if (x == IR_NONE)
            return ox_unsupported(im, n, "a shape too symbolic to flatten");
    }
    int64_t len = ox_const_numel(cc), k = 0;
    for (int64_t i = 0; i < len; i++)
        k += ox_const_get(cc, i) != 0;
    if (k == 0)
        return ox_unsupported(im, n, "an empty result");
    OxConst ic;
    if (!ox_const_make(im, &ic, IR_I64, 1, &k))
        return OX_ERROR;
    for (int64_t i = 0, j = 0; i < len; i++)
        if (ox_const_get(cc, i) != 0)
            ox_const_set(&ic, j++, (double)i);
    ValueId sel[2] = {x, const_value(im, n, "index", &ic)};
    NodeId id = ox_mk(im, n, "index_select", sel, 2);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "index_select");
    ir_node_set_int(im->g, id, "axis", axis);
    return bind(im, n, ox_done(im, id));
}

/* Tile(x, repeats): x viewed as [1, d0, 1, d1, ..], expanded to [r0, d0, r1, d1, ..] and
 * reshaped to [r0 d0, r1 d1, ..]. */
static OxResult op_tile(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *xs = &ox_ty(im, x)->shape;
    int r = xs->rank;
    int64_t rep[IR_MAX_RANK];
    int k = ox_ints_input(im, n, 1, rep, IR_MAX_RANK);
    if (k == -2)
        return ox_unsupported(im, n, "repeats computed at run time");
    if (k != r || 2 * r > IR_MAX_RANK || !ir_shape_static(xs))
        return ox_unsupported(im, n, "one repeat per dim of a fixed shape of rank 4 or less");
    Shape wide = {2 * r, {{0}}}, out = {r, {{0}}};
    int64_t big[IR_MAX_RANK];
    for (int i = 0; i < r; i++) {
        if (rep[i] < 1)
            return ox_unsupported(im, n, "a repeat below 1");
        wide.d[2 * i] = ir_dim(1);
        wide.d[2 * i + 1] = xs->d[i];
        big[2 * i] = rep[i];
        big[2 * i + 1] = xs->d[i].c;
        int64_t size;
        if (!ir_ckd_mul_i64(rep[i], xs->d[i].c, &size)) {
            ir_diag_error(im->d, n->loc, "node '%s' (Tile): the tiled size overflows (%lld x %lld)",
                          n->name, (long long)rep[i], (long long)xs->d[i].c);
            return OX_ERROR;
        }
        out.d[i] = ir_dim(size);
    }
    ValueId v = ox_reshape_to(im, n, x, &wide);
    NodeId e = v == IR_NONE ? IR_NONE : ox_mk(im, n, "expand", &v, 1);
    if (e == IR_NONE)
        return ox_no_ir_op(im, n, "reshape/expand");
    ir_node_set_ints(im->g, e, "shape", big, 2 * r);
    v = ox_reshape_to(im, n, ox_done(im, e), &out);
    return v == IR_NONE ? ox_no_ir_op(im, n, "reshape") : bind(im, n, v);
}

/* ReverseSequence(x, sequence_lens): gather_elements along the time axis with the
 * positions t < len reversed (a constant). */
static OxResult op_reverse_sequence(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *xs = &ox_ty(im, x)->shape;
    const OxConst *lc = ox_need_const(im, n, 1);
    int64_t ba = ox_attr_int(n, "batch_axis", 1), ta = ox_attr_int(n, "time_axis", 0);
    if (!lc)
        return ox_unsupported(im, n, "sequence lengths computed at run time");
    if (xs->rank < 2 || !ir_shape_static(xs) || ba == ta || ba < 0 || ta < 0 || ba > 1 || ta > 1 ||
        ox_const_numel(lc) != xs->d[ba].c)
        return ox_unsupported(im, n, "batch and time axes 0 and 1 of a fixed shape");
    OxConst ic;
    index_const(im, xs, &ic);
    int64_t total = ox_const_numel(&ic), inner = 1;
    for (int i = 2; i < xs->rank; i++)
        inner *= xs->d[i].c;
    for (int64_t p = 0; p < total; p++) {
        int64_t d0 = p / (inner * xs->d[1].c), d1 = (p / inner) % xs->d[1].c;
        int64_t b = ba == 0 ? d0 : d1, t = ta == 0 ? d0 : d1, len = ox_const_get_i(lc, b);
        ox_const_set(&ic, p, (double)(t < len ? len - 1 - t : t));
    }
    ValueId v = by_index(im, n, "gather_elements", x, &ic, IR_NONE, ta, 0);
    return v == IR_NONE ? ox_no_ir_op(im, n, "gather_elements") : bind(im, n, v);
}

/* TensorScatter(cache, update, write_indices): scatter_elements of update into cache along
 * axis at write_indices[b] + i (mod the cache's length when circular). */
static OxResult op_tensor_scatter(OxImporter *im, OxNode *n)
{
    ValueId cache = ox_in(im, n, 0), up = ox_in(im, n, 1);
    const Shape *cs = &ox_ty(im, cache)->shape, *us = &ox_ty(im, up)->shape;
    int r = cs->rank;
    int64_t axis = ox_attr_int(n, "axis", -2);
    axis += axis < 0 ? r : 0;
    bool circular = !strcmp(ox_attr_string(im, n, "mode", "linear"), "circular");
    const OxConst *wc = ox_has_in(n, 2) ? ox_need_const(im, n, 2) : NULL;
    if (ox_has_in(n, 2) && !wc)
        return ox_unsupported(im, n, "write indices computed at run time");
    if (up == IR_NONE || axis < 1 || axis >= r || us->rank != r || !ir_shape_static(us) ||
        !ir_shape_static(cs))
        return ox_unsupported(im, n, "fixed shapes with the axis after the batch");
    OxConst ic;
    index_const(im, us, &ic);
    int64_t total = ox_const_numel(&ic), inner = 1, per_batch = 1, len = cs->d[axis].c;
    for (int i = (int)axis + 1; i < r; i++)
        inner *= us->d[i].c;
    for (int i = 1; i < r; i++)
        per_batch *= us->d[i].c;
    if (wc && ox_const_numel(wc) != cs->d[0].c)
        return ox_unsupported(im, n, "write_indices of %lld entries for a batch of %lld",
                              (long long)ox_const_numel(wc), (long long)cs->d[0].c);
    for (int64_t b = 0; wc && b < cs->d[0].c; b++) /* in range: the sums below cannot wrap */
        if (ox_const_get_i(wc, b) < 0 || ox_const_get_i(wc, b) >= len)
            return ox_unsupported(im, n, "write index %lld outside [0, %lld)",
                                  (long long)ox_const_get_i(wc, b), (long long)len);
    for (int64_t p = 0; p < total; p++) {
        int64_t b = p / per_batch, i = (p / inner) % us->d[axis].c;
        int64_t pos = (wc ? ox_const_get_i(wc, b) : 0) + i;
        ox_const_set(&ic, p, (double)(circular ? ((pos % len) + len) % len : pos));
    }
    ValueId v = by_index(im, n, "scatter_elements", cache, &ic, up, axis, 0);
    return v == IR_NONE ? ox_no_ir_op(im, n, "scatter_elements") : bind(im, n, v);
}

/* ConstantOfShape whose shape onnx_fold.c could not fold: ask for it to be constant. */
static OxResult op_constant_of_shape(OxImporter *im, OxNode *n)
{
    if (!ox_need_const(im, n, 0))
        return ox_unsupported(im, n, "a shape computed at run time");
    return ox_unsupported(im, n, "a shape that does not fold");
}

static const char *const ext_ops[] = {
    "ArgMax",
    "ArgMin",
    "GatherElements",
    "ScatterElements",
    "Scatter",
    "CumSum",
    "ReduceProd",
    "Mod",
    "Hardmax",
    "GridSample",
    "TopK",
    "LpPool",
    "GatherND",
    "ScatterND",
    "EyeLike",
    "OneHot",
    "CenterCropPad",
    "Compress",
    "AffineGrid",
    "HannWindow",
    "HammingWindow",
    "BlackmanWindow",
    "Tile",
    "ReverseSequence",
    "TensorScatter",
    "Col2Im",
    "ConstantOfShape",
    "DFT",
    "RoiAlign",
};

bool ox_op_known_ext(const char *op)
{
    for (size_t i = 0; i < sizeof ext_ops / sizeof ext_ops[0]; i++)
        if (!strcmp(ext_ops[i], op))
            return true;
    return false;
}

bool ox_import_ext(OxImporter *im, OxNode *n, OxResult *r)
{
    const char *op = n->p->op_type;
    if (!strcmp(op, "ArgMax"))
        *r = op_arg(im, n, "argmax");
    else if (!strcmp(op, "ArgMin"))
        *r = op_arg(im, n, "argmin");
    else if (!strcmp(op, "GatherElements"))
        *r = op_gather_elements(im, n);
    else if (!strcmp(op, "ScatterElements") || !strcmp(op, "Scatter"))
        *r = op_scatter_elements(im, n);
    else if (!strcmp(op, "CumSum"))
        *r = op_cumsum(im, n);
    else if (!strcmp(op, "ReduceProd"))
        *r = op_reduce_prod(im, n);
    else if (!strcmp(op, "Mod"))
        *r = op_mod(im, n);
    else if (!strcmp(op, "Hardmax"))
        *r = op_hardmax(im, n);
    else if (!strcmp(op, "GridSample"))
        *r = ox_ext_grid_sample(im, n);
    else if (!strcmp(op, "TopK"))
        *r = op_topk(im, n);
    else if (!strcmp(op, "LpPool"))
        *r = ox_ext_lp_pool(im, n);
    else if (!strcmp(op, "GatherND"))
        *r = op_gather_nd(im, n);
    else if (!strcmp(op, "ScatterND"))
        *r = op_scatter_nd(im, n);
    else if (!strcmp(op, "EyeLike"))
        *r = op_eye_like(im, n);
    else if (!strcmp(op, "OneHot"))
        *r = op_one_hot(im, n);
    else if (!strcmp(op, "CenterCropPad"))
        *r = op_center_crop_pad(im, n);
    else if (!strcmp(op, "Compress"))
        *r = op_compress(im, n);
    else if (!strcmp(op, "AffineGrid"))
        *r = ox_ext_affine_grid(im, n);
    else if (!strcmp(op, "HannWindow") || !strcmp(op, "HammingWindow") ||
             !strcmp(op, "BlackmanWindow"))
        *r = ox_ext_window(im, n, op);
    else if (!strcmp(op, "Tile"))
        *r = op_tile(im, n);
    else if (!strcmp(op, "ReverseSequence"))
        *r = op_reverse_sequence(im, n);
    else if (!strcmp(op, "TensorScatter"))
        *r = op_tensor_scatter(im, n);
    else if (!strcmp(op, "Col2Im"))
        *r = ox_ext_col2im(im, n);
    else if (!strcmp(op, "ConstantOfShape"))
        *r = op_constant_of_shape(im, n);
    else if (!strcmp(op, "DFT"))
        *r = ox_ext_dft(im, n);
    else if (!strcmp(op, "RoiAlign"))
        *r = ox_ext_roi_align(im, n);
    else
        return false;
    return true;
}

#endif
