/* ONNX's shape and data-movement ops to IR ops: Flatten, Reshape, Squeeze/Unsqueeze,
 * Transpose, Concat, Slice, Split, Pad, Gather, Expand, DepthToSpace/SpaceToDepth and Resize
 * before opset 11 (Upsample), with the reshape helpers the other mappings share
 * (ox_reshape_to). Dispatched from frontend/onnx_ops.c. */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The reshape attribute for target: sizes, -(1000+i) for a symbol, -1 once for a compound
 * symbolic dim and a symbol naming each further one (ir_dim_attr); false when the graph
 * has no room for such a symbol. */
static bool reshape_attr(Graph *g, const Shape *target, int64_t *attr)
{
    bool used_infer = false;
    for (int i = 0; i < target->rank; i++) {
        Dim dd = target->d[i];
        if (dd.syms && (dd.c != 1 || (dd.syms & (dd.syms - 1))) && !used_infer) {
            attr[i] = -1;
            used_infer = true;
        } else if (!ir_dim_attr(g, dd, &attr[i]))
            return false;
    }
    return true;
}

/* Binds output 0 to x reshaped to target: a constant stays a constant (its data seen
 * with another shape); otherwise a reshape node. */
static OxResult bind_reshaped(OxImporter *im, const OxNode *n, const Shape *target);

ValueId ox_reshape_to(OxImporter *im, const OxNode *n, ValueId v, const Shape *target)
{
    int64_t attr[IR_MAX_RANK];
    if (!reshape_attr(im->g, target, attr))
        return IR_NONE;
    NodeId id = ox_mk(im, n, "reshape", &v, 1);
    ir_node_set_ints(im->g, id, "shape", attr, target->rank);
    return ox_done(im, id);
}

static OxResult bind_reshaped(OxImporter *im, const OxNode *n, const Shape *target)
{
    OxEntry *e = n->in[0];
    if (e->is_const && ir_shape_static(target)) {
        OxConst c = e->c;
        c.rank = target->rank;
        for (int i = 0; i < target->rank; i++)
            c.shape[i] = target->d[i].c;
        if (ox_const_numel(&c) == ox_const_numel(&e->c)) {
            ox_bind_const(im, n->out[0], &c);
            return OX_OK;
        }
    }
    ValueId v = ox_reshape_to(im, n, ox_value(im, e), target);
    return v == IR_NONE ? ox_unsupported(im, n, "shape too symbolic") : ox_out(im, n, v);
}

OxResult ox_op_flatten(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t axis = ox_attr_int(n, "axis", 1);
    if (axis < 0)
        axis += s->rank;
    if (axis < 0 || axis > s->rank)
        return ox_unsupported(im, n, "axis out of range");
    Shape two = {2, {ir_dim(1), ir_dim(1)}};
    for (int i = 0; i < s->rank; i++) {
        Dim *dd = &two.d[i < axis ? 0 : 1];
        if (!ir_dim_mul(*dd, s->d[i], dd))
            return ox_unsupported(im, n, "symbolic shape");
    }
    (void)x;
    return bind_reshaped(im, n, &two);
}

OxResult ox_op_reshape(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t want[IR_MAX_RANK];
    int k;
    if (im->opset < 5)
        k = ox_attr_ints(n, "shape", want, IR_MAX_RANK);
    else
        k = ox_ints_input(im, n, 1, want, IR_MAX_RANK);
    if (k == -2)
        return ox_unsupported(im, n, "the target shape is computed at run time");
    if (k < 0 || k > IR_MAX_RANK)
        return ox_unsupported(im, n, "bad target shape");
    bool allowzero = ox_attr_int(n, "allowzero", 0) != 0;
    Shape target = {k, {{0}}};
    int infer = -1;
    Dim known = ir_dim(1);
    for (int i = 0; i < k; i++) {
        if (want[i] == 0 && !allowzero) {
            if (i >= s->rank)
                return ox_unsupported(im, n, "0 copies a dim the input lacks");
            target.d[i] = s->d[i];
        } else if (want[i] == -1) {
            infer = i;
            continue;
        } else if (want[i] < 0)
            return ox_unsupported(im, n, "bad target size %lld", (long long)want[i]);
        else
            target.d[i] = ir_dim(want[i]);
        if (!ir_dim_mul(known, target.d[i], &known))
            return ox_unsupported(im, n, "symbolic shape");
    }
    if (infer >= 0) {
        Dim total;
        if (!ir_shape_numel(s, &total))
            return ox_unsupported(im, n, "symbolic shape");
        if ((known.syms & ~total.syms) || known.c == 0 || total.c % known.c)
            return ox_unsupported(im, n, "cannot infer the -1 dim");
        target.d[infer] = (Dim){total.c / known.c, total.syms & ~known.syms};
    }
    (void)x;
    return bind_reshaped(im, n, &target);
}

/* Squeeze / Unsqueeze as reshapes to the computed shape. */
OxResult ox_op_squeeze(OxImporter *im, OxNode *n, bool un_)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t axes[IR_MAX_RANK];
    int k = im->opset >= 13 ? ox_ints_input(im, n, 1, axes, IR_MAX_RANK)
                            : ox_attr_ints(n, "axes", axes, IR_MAX_RANK);
    if (k == -2)
        return ox_unsupported(im, n, "axes computed at run time");
    if (k > IR_MAX_RANK)
        return ox_unsupported(im, n, "too many axes");
    Shape t = {0, {{0}}};
    if (un_) {
        int r = s->rank + (k > 0 ? k : 0);
        if (k <= 0 || r > IR_MAX_RANK)
            return ox_unsupported(im, n, "bad axes");
        bool mark[IR_MAX_RANK] = {false};
        for (int i = 0; i < k; i++) {
            int64_t a;
            if (!ox_norm_axis(axes[i], r, &a) || mark[a])
                return ox_unsupported(im, n, "bad axis %lld", (long long)axes[i]);
            mark[a] = true;
        }
        int j = 0;
        for (int i = 0; i < r; i++)
            t.d[t.rank++] = mark[i] ? ir_dim(1) : s->d[j++];
    } else {
        bool mark[IR_MAX_RANK] = {false};
        for (int i = 0; i < k; i++) {
            int64_t a;
            if (!ox_norm_axis(axes[i], s->rank, &a))
                return ox_unsupported(im, n, "bad axis %lld", (long long)axes[i]);
            mark[a] = true;
        }
        for (int i = 0; i < s->rank; i++) {
            bool one = ir_dim_eq(s->d[i], ir_dim(1));
            if (k <= 0 ? one : mark[i]) {
                if (!one)
                    return ox_unsupported(im, n, "squeezing a dim that is not 1");
                continue;
            }
            t.d[t.rank++] = s->d[i];
        }
    }
    (void)x;
    return bind_reshaped(im, n, &t);
}

OxResult ox_op_transpose(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t perm[IR_MAX_RANK];
    int k = ox_attr_ints(n, "perm", perm, IR_MAX_RANK);
    if (k > IR_MAX_RANK) /* only IR_MAX_RANK were read */
        return ox_unsupported(im, n, "a perm of %d entries", k);
    if (k == 0) {
        k = r;
        for (int i = 0; i < r; i++)
            perm[i] = r - 1 - i;
    }
    ValueId v = ox_permute(im, n, x, perm, k);
    return v == IR_NONE ? ox_no_ir_op(im, n, "permute") : ox_out(im, n, v);
}

OxResult ox_op_concat(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int64_t ax;
    if (!ox_norm_axis(ox_attr_int(n, "axis", 0), ox_ty(im, x)->shape.rank, &ax))
        return ox_unsupported(im, n, "axis out of range");
    ValueId acc = IR_NONE;
    for (int i = 0; i < n->n_in;) {
        ValueId ins[8];
        int k = 0;
        if (acc != IR_NONE)
            ins[k++] = acc;
        while (k < 8 && i < n->n_in)
            ins[k++] = ox_in(im, n, i++);
        NodeId id = ox_mk(im, n, "concat", ins, k);
        if (id == IR_NONE)
            return ox_no_ir_op(im, n, "concat");
        ir_node_set_int(im->g, id, "axis", ax);
        acc = ox_done(im, id);
    }
    return ox_out(im, n, acc);
}

ValueId ox_slice1(OxImporter *im, const OxNode *n, ValueId x, int64_t axis, int64_t st, int64_t en,
                  int64_t step)
{
    NodeId id = ox_mk(im, n, "slice", &x, 1);
    if (id == IR_NONE)
        return IR_NONE;
    const int64_t big = INT64_MAX / 4;
    ir_node_set_int(im->g, id, "axis", axis);
    ir_node_set_int(im->g, id, "start", st > big ? big : st < -big ? -big : st);
    ir_node_set_int(im->g, id, "end", en > big ? big : en < -big ? -big : en);
    ir_node_set_int(im->g, id, "step", step);
    return ox_done(im, id);
}

OxResult ox_op_slice(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t st[IR_MAX_RANK], en[IR_MAX_RANK], axes[IR_MAX_RANK], steps[IR_MAX_RANK];
    int k, ka, ks = -1;
    if (im->opset < 10) {
        k = ox_attr_ints(n, "starts", st, IR_MAX_RANK);
        if (ox_attr_ints(n, "ends", en, IR_MAX_RANK) != k)
            return ox_unsupported(im, n, "starts and ends differ in length");
        ka = ox_attr_ints(n, "axes", axes, IR_MAX_RANK);
        if (ka == 0)
            ka = -1;
    } else {
        /* every input asked for before failing: the caller binds them all at once */
        k = ox_ints_input(im, n, 1, st, IR_MAX_RANK);
        int ke = ox_ints_input(im, n, 2, en, IR_MAX_RANK);
        ka = ox_ints_input(im, n, 3, axes, IR_MAX_RANK);
        ks = ox_ints_input(im, n, 4, steps, IR_MAX_RANK);
        if (k < 0 || ke != k)
            return ox_unsupported(im, n, "starts/ends computed at run time");
        if (ka == -2 || ks == -2)
            return ox_unsupported(im, n, "axes/steps computed at run time");
    }
    if (k > IR_MAX_RANK)
        return ox_unsupported(im, n, "too many axes");
    if ((ka >= 0 && ka != k) || (ks >= 0 && ks != k)) { /* as ORT: one entry per start */
        bool bad_axes = ka >= 0 && ka != k;
        ir_diag_error(im->d, n->loc, "node '%s' (Slice): %s has %d entries for %d starts", n->name,
                      bad_axes ? "axes" : "steps", bad_axes ? ka : ks, k);
        return OX_ERROR;
    }
    ValueId v = x;
    for (int i = 0; i < k; i++) {
        int64_t a = ka >= 0 ? axes[i] : i, step = ks >= 0 ? steps[i] : 1;
        if (!ox_norm_axis(a, r, &a))
            return ox_unsupported(im, n, "axis out of range");
        if (step == 0) {
            ir_diag_error(im->d, n->loc, "node '%s' (Slice): step 0 on axis %lld", n->name,
                          (long long)a);
            return OX_ERROR;
        }
        if (step == INT64_MIN)
            step = -INT64_MAX; /* the same positions: at most one */
        /* a negative step is the IR's too (ONNX's clamping, ir_slice_count); one that
         * selects nothing of a static length is refused, as before (no empty tensors) */
        Dim dl = ox_ty(im, v)->shape.d[a];
        if (step < 0 && ir_dim_static(dl) && ir_slice_count(st[i], en[i], dl.c, step) == 0)
            return ox_unsupported(im, n, "a negative step that selects nothing (an empty tensor)");
        v = ox_slice1(im, n, v, a, st[i], en[i], step);
        if (v == IR_NONE)
            return ox_no_ir_op(im, n, "slice");
    }
    if (v == x)
        v = ox_un(im, n, "relu", x) == IR_NONE ? IR_NONE : ox_slice1(im, n, x, 0, 0, INT64_MAX, 1);
    return ox_out(im, n, v);
}

/* Split sizes as ONNX Runtime takes them: none negative, adding up to the length len of
 * axis ax; false after an error naming the node. */
static bool split_sizes_fit(OxImporter *im, const OxNode *n, const int64_t *sizes, int k,
                            int64_t ax, int64_t len)
{
    int64_t sum = 0;
    for (int i = 0; i < k; i++) {
        if (sizes[i] < 0) {
            ir_diag_error(im->d, n->loc, "node '%s' (Split): split size %lld is negative", n->name,
                          (long long)sizes[i]);
            return false;
        }
        if (__builtin_add_overflow(sum, sizes[i], &sum))
            sum = INT64_MAX;
    }
    if (sum != len) {
        ir_diag_error(im->d, n->loc,
                      "node '%s' (Split): the split sizes add up to %lld, but dim %lld is %lld",
                      n->name, (long long)sum, (long long)ax, (long long)len);
        return false;
    }
    return true;
}

OxResult ox_op_split(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t ax;
    if (!ox_norm_axis(ox_attr_int(n, "axis", 0), s->rank, &ax) || !ir_dim_static(s->d[ax]))
        return ox_unsupported(im, n, "axis out of range or symbolic");
    int64_t sizes[64];
    int k =
        im->opset >= 13 ? ox_ints_input(im, n, 1, sizes, 64) : ox_attr_ints(n, "split", sizes, 64);
    if (k == -2)
        return ox_unsupported(im, n, "split sizes computed at run time");
    int nout = n->n_out;
    if (nout > 64)
        return ox_unsupported(im, n, "too many outputs");
    if (k <= 0 && im->opset < 18 && s->d[ax].c % nout != 0) { /* ORT refuses it too */
        ir_diag_error(im->d, n->loc,
                      "node '%s' (Split): dim %lld (%lld) does not split evenly into %d outputs",
                      n->name, (long long)ax, (long long)s->d[ax].c, nout);
        return OX_ERROR;
    }
    if (k <= 0) {
        int64_t len = s->d[ax].c, parts = nout;
        int64_t chunk = (len + parts - 1) / parts;
        for (int i = 0; i < nout; i++) {
            int64_t b = chunk * i;
            sizes[i] = b >= len ? 0 : (b + chunk > len ? len - b : chunk);
        }
    } else if (k != nout)
        return ox_unsupported(im, n, "split sizes do not match the outputs");
    else if (!split_sizes_fit(im, n, sizes, k, ax, s->d[ax].c))
        return OX_ERROR;
    int64_t b = 0;
    for (int i = 0; i < nout; i++) {
        ValueId v = ox_slice1(im, n, x, ax, b, b + sizes[i], 1);
        if (v == IR_NONE)
            return ox_no_ir_op(im, n, "slice");
        b += sizes[i];
        ox_bind_value(im, n->out[i], v);
    }
    return OX_OK;
}

/* Pad's mode 'wrap' (opset 19): each padded axis an index_select of the positions
 * (i - begin) mod len, i < begin + len + end; full is [begin[r], end[r]]. Needs static
 * lengths on the padded axes. */
static OxResult pad_wrap(OxImporter *im, const OxNode *n, ValueId x, const int64_t *full)
{
    int r = ox_ty(im, x)->shape.rank;
    for (int a = 0; a < r; a++) {
        int64_t b = full[a], e = full[r + a];
        if (b == 0 && e == 0)
            continue;
        Dim dl = ox_ty(im, x)->shape.d[a];
        if (!ir_dim_static(dl) || dl.c < 1)
            return ox_unsupported(im, n, "mode 'wrap' on axis %d, whose length is symbolic or 0",
                                  a);
        int64_t len = dl.c, count;
        if (!ir_ckd_add_i64(len, b, &count) || !ir_ckd_add_i64(count, e, &count))
            return ox_unsupported(im, n, "pads too large");
        OxConst idx;
        if (!ox_const_make(im, &idx, IR_I64, 1, &count))
            return OX_ERROR;
        for (int64_t i = 0; i < count; i++)
            ox_const_set(&idx, i, (double)(((i - b) % len + len) % len));
        ValueId ins[2] = {
            x, ox_nn_const_value(im, n, &idx, ir_arena_printf(im->g->arena, "wrap%d", a))};
        NodeId id = ox_mk(im, n, "index_select", ins, 2);
        if (id == IR_NONE)
            return ox_no_ir_op(im, n, "index_select");
        ir_node_set_int(im->g, id, "axis", a);
        x = ox_done(im, id);
    }
    return ox_out(im, n, ox_nn_copy(im, n, x));
}

OxResult ox_op_pad(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK];
    const char *mode = ox_attr_string(im, n, "mode", "constant");
    double value = 0;
    int k, ka = -1;
    if (im->opset < 11) {
        k = ox_attr_ints(n, "pads", pads, 2 * IR_MAX_RANK);
        value = ox_attr_float(n, "value", 0.0f);
    } else {
        k = ox_ints_input(im, n, 1, pads, 2 * IR_MAX_RANK);
        const OxConst *cv = ox_need_const(im, n, 2); /* asked for too before failing */
        ka = ox_ints_input(im, n, 3, axes, IR_MAX_RANK);
        if (k < 0)
            return ox_unsupported(im, n, "pads computed at run time");
        if (ox_has_in(n, 2) && !cv)
            return ox_unsupported(im, n, "constant_value computed at run time");
        if (cv)
            value = ox_const_get(cv, 0);
        if (ka == -2)
            return ox_unsupported(im, n, "axes computed at run time");
    }
    int na = ka >= 0 ? ka : r;
    if (k != 2 * na)
        return ox_unsupported(im, n, "pads has %d entries for %d axes", k, na);
    int64_t full[2 * IR_MAX_RANK] = {0}; /* begin[r], end[r] */
    for (int i = 0; i < na; i++) {
        int64_t a = ka >= 0 ? axes[i] : i;
        if (!ox_norm_axis(a, r, &a))
            return ox_unsupported(im, n, "axis out of range");
        full[a] = pads[i];
        full[r + a] = pads[na + i];
    }
    int64_t irp[2 * IR_MAX_RANK];
    for (int i = 0; i < r; i++) {
        if (full[i] < 0 || full[r + i] < 0)
            return ox_unsupported(im, n, "negative pads (cropping)");
        irp[2 * (r - 1 - i)] = full[i];
        irp[2 * (r - 1 - i) + 1] = full[r + i];
    }
    int m = !strcmp(mode, "constant")  ? 0
            : !strcmp(mode, "reflect") ? 1
            : !strcmp(mode, "edge")    ? 2
                                       : -1;
    if (!strcmp(mode, "wrap"))
        return pad_wrap(im, n, x, full);
    if (m < 0)
        return ox_unsupported(im, n, "pad mode '%s'", mode);
    NodeId id = ox_mk(im, n, "pad", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "pad");
    ir_node_set_ints(im->g, id, "pads", irp, 2 * r);
    ir_node_set_int(im->g, id, "mode", m);
    ir_node_set_float(im->g, id, "value", value);
    return ox_out(im, n, ox_done(im, id));
}

OxResult ox_op_gather(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t ax;
    if (!ox_norm_axis(ox_attr_int(n, "axis", 0), s->rank, &ax))
        return ox_unsupported(im, n, "axis out of range");
    ValueId idx;
    const OxConst *ci = ox_const_in(n, 1);
    Shape ishape;
    if (ci && !ir_dim_static(s->d[ax])) {
        /* one index into a symbolic length (x[0] of a batch, x[:, -1] of a sequence): a slice,
         * in range for every input when it is below the length's least value (its
         * coefficient) counted from the front or from the back */
        const int64_t least = s->d[ax].c, v0 = ox_const_numel(ci) == 1 ? ox_const_get_i(ci, 0) : 0;
        if (ox_const_numel(ci) != 1 || v0 >= least || v0 < -least)
            return ox_unsupported_symbolic(im, n, "indices that may be out of the symbolic dim");
        ValueId v = ox_slice1(im, n, x, ax, v0, v0 == -1 ? INT64_MAX : v0 + 1, 1);
        if (v == IR_NONE || ci->rank == 1)
            return ox_out(im, n, v);
        Shape t = {0, {{0}}};
        for (int i = 0; i < s->rank; i++)
            if (i != ax)
                t.d[t.rank++] = s->d[i];
        return ox_out(im, n, ox_reshape_to(im, n, v, &t));
    }
    if (ci) {
        /* normalize negative indices at import (a symbolic dim has none: above) */
        OxConst c;
        if (!ox_const_make(im, &c, IR_I64, ci->rank, ci->shape))
            return OX_ERROR;
        for (int64_t i = 0; i < ox_const_numel(ci); i++) {
            int64_t v = ox_const_get_i(ci, i);
            ox_const_set(&c, i, (double)(v < 0 ? v + s->d[ax].c : v));
        }
        ishape.rank = c.rank;
        for (int i = 0; i < c.rank; i++)
            ishape.d[i] = ir_dim(c.shape[i]);
        int64_t k = ox_const_numel(&c);
        Type t = {IR_I64, {1, {ir_dim(k)}}, NULL};
        idx = ir_const_new(im->g, ir_arena_printf(im->g->arena, "%s.idx", n->ir_name), t, c.data,
                           c.nbytes, n->loc);
    } else {
        idx = ox_in(im, n, 1);
        ishape = ox_ty(im, idx)->shape;
        if (ishape.rank != 1) {
            Dim k;
            if (!ir_shape_numel(&ishape, &k))
                return ox_unsupported(im, n, "symbolic indices");
            Shape flat = {1, {k}};
            idx = ox_reshape_to(im, n, idx, &flat);
        }
    }
    ValueId ins[2] = {x, idx};
    NodeId id = ox_mk(im, n, "index_select", ins, 2);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "index_select");
    ir_node_set_int(im->g, id, "axis", ax);
    ValueId v = ox_done(im, id);
    if (ishape.rank != 1) {
        if (s->rank - 1 + ishape.rank > IR_MAX_RANK)
            return ox_unsupported(im, n, "result rank too high");
        Shape t = {0, {{0}}};
        for (int i = 0; i < s->rank; i++) {
            if (i == ax)
                for (int j = 0; j < ishape.rank; j++)
                    t.d[t.rank++] = ishape.d[j];
            else
                t.d[t.rank++] = s->d[i];
        }
        v = ox_reshape_to(im, n, v, &t);
    }
    return ox_out(im, n, v);
}

OxResult ox_op_expand(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t want[IR_MAX_RANK];
    int k = ox_ints_input(im, n, 1, want, IR_MAX_RANK);
    if (k < 0 || k > IR_MAX_RANK)
        return ox_unsupported(im, n, "shape computed at run time");
    int r = k > s->rank ? k : s->rank;
    int64_t attr[IR_MAX_RANK];
    for (int i = 0; i < r; i++) {
        int iw = i - (r - k), is = i - (r - s->rank);
        int64_t w = iw >= 0 ? want[iw] : 1;
        Dim dd = is >= 0 ? s->d[is] : ir_dim(1);
        if (w == 1)
            attr[i] = is >= 0 ? -1 : 1;
        else if (ir_dim_eq(dd, ir_dim(1)) || ir_dim_eq(dd, ir_dim(w)))
            attr[i] = w;
        else
            return ox_unsupported(im, n, "shapes do not broadcast");
    }
    NodeId id = ox_mk(im, n, "expand", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "expand");
    ir_node_set_ints(im->g, id, "shape", attr, r);
    return ox_out(im, n, ox_done(im, id));
}

/* Dim d / b when that is exact for every value of d's symbols (its coefficient divides). */
static bool dim_div_exact(Dim d, int64_t b, Dim *out)
{
    if (d.c % b)
        return false;
    *out = (Dim){d.c / b, d.syms};
    return true;
}

/* DepthToSpace / SpaceToDepth as reshape -> transpose -> reshape. The batch and the spatial
 * dims may be symbolic (a super-resolution model exported with a dynamic H and W); the
 * channels must be known, and SpaceToDepth's H and W divisible by the block for every value
 * of their symbols (else the shapes are fixed per run). */
OxResult ox_op_depth_space(OxImporter *im, OxNode *n, bool to_space)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t b = ox_attr_int(n, "blocksize", 0);
    if (s->rank != 4 || b < 1 || b > 4096)
        return ox_unsupported(im, n, "needs a 4-D input and a blocksize in [1, 4096]");
    if (!ir_dim_static(s->d[1]))
        return ox_unsupported_symbolic(im, n, "symbolic channels");
    const Dim N = s->d[0], H = s->d[2], W = s->d[3], B = ir_dim(b);
    const int64_t C = s->d[1].c;
    Shape s6 = {6, {{0}}}, s4 = {4, {{0}}};
    int64_t perm[6];
    if (to_space) {
        bool crd = !strcmp(ox_attr_string(im, n, "mode", "DCR"), "CRD");
        if (C % (b * b))
            return ox_unsupported(im, n, "%lld channels are not a multiple of blocksize^2 = %lld",
                                  (long long)C, (long long)(b * b));
        Dim c = ir_dim(C / (b * b));
        Dim d6[6] = {N, B, B, c, H, W}, c6[6] = {N, c, B, B, H, W};
        int64_t pd[6] = {0, 3, 4, 1, 5, 2}, pc[6] = {0, 1, 4, 2, 5, 3};
        for (int i = 0; i < 6; i++) {
            s6.d[i] = crd ? c6[i] : d6[i];
            perm[i] = crd ? pc[i] : pd[i];
        }
        s4.d[0] = N;
        s4.d[1] = c;
        if (!ir_dim_mul(H, B, &s4.d[2]) || !ir_dim_mul(W, B, &s4.d[3]))
            return ox_unsupported(im, n, "blocksize %lld", (long long)b);
    } else {
        Dim hb, wb;
        if (!dim_div_exact(H, b, &hb) || !dim_div_exact(W, b, &wb))
            return ir_shape_static(s)
                       ? ox_unsupported(im, n, "H and W are not multiples of blocksize %lld",
                                        (long long)b)
                       : ox_unsupported_symbolic(im, n, "H or W not known to divide by the block");
        Dim d6[6] = {N, ir_dim(C), hb, B, wb, B};
        int64_t p6[6] = {0, 3, 5, 1, 2, 4};
        for (int i = 0; i < 6; i++) {
            s6.d[i] = d6[i];
            perm[i] = p6[i];
        }
        int64_t cbb;
        if (!ir_ckd_mul_i64(C, b * b, &cbb))
            return ox_unsupported(im, n, "blocksize %lld", (long long)b);
        s4.d[0] = N;
        s4.d[1] = ir_dim(cbb);
        s4.d[2] = hb;
        s4.d[3] = wb;
    }
    /* a reshape fails only when the graph has no room for a symbol naming a product */
    ValueId v = ox_reshape_to(im, n, x, &s6);
    v = v == IR_NONE ? IR_NONE : ox_permute(im, n, v, perm, 6);
    v = v == IR_NONE ? IR_NONE : ox_reshape_to(im, n, v, &s4);
    return v == IR_NONE ? ox_unsupported_symbolic(im, n, "a block rearrangement this symbolic")
                        : ox_out(im, n, v);
}

OxResult ox_op_resize(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    if (s->rank != 4 || !ir_dim_static(s->d[2]) || !ir_dim_static(s->d[3]))
        return ox_unsupported(im, n, "only 4-D inputs with static spatial dims");
    const char *op = n->p->op_type;
    const char *mode = ox_attr_string(im, n, "mode", "nearest");
    const char *ctm =
        ox_attr_string(im, n, "coordinate_transformation_mode",
                       !strcmp(op, "Upsample") || im->opset < 11 ? "asymmetric" : "half_pixel");
    const char *nm = ox_attr_string(im, n, "nearest_mode", "round_prefer_floor");
    double scales[4] = {1, 1, 1, 1};
    int64_t sizes[4] = {0};
    bool have_scales = false, have_sizes = false;
    const OxConst *cs = NULL, *cz = NULL;
    if (!strcmp(op, "Upsample")) {
        float f[4];
        const Onnx__AttributeProto *a = ox_attr(n, "scales");
        if (a && a->n_floats == 4) {
            memcpy(f, a->floats, sizeof f);
            for (int i = 0; i < 4; i++)
                scales[i] = f[i];
            have_scales = true;
        } else
            cs = ox_need_const(im, n, 1);
    } else if (im->opset < 11)
        cs = ox_need_const(im, n, 1);
    else {
        cs = ox_need_const(im, n, 2);
        cz = ox_need_const(im, n, 3);
        if ((ox_has_in(n, 2) && !cs) || (ox_has_in(n, 3) && !cz))
            return ox_unsupported(im, n, "scales/sizes computed at run time");
    }
    if (cs && ox_const_numel(cs) == 4) {
        for (int i = 0; i < 4; i++)
            scales[i] = ox_const_get(cs, i);
        have_scales = true;
    }
    if (cz && ox_const_numel(cz) == 4) {
        for (int i = 0; i < 4; i++)
            sizes[i] = ox_const_get_i(cz, i);
        have_sizes = true;
    }
    if (!have_scales && !have_sizes)
        return ox_unsupported(im, n, "needs 4 scales or sizes");
    if (ox_attr(n, "axes") || ox_attr_int(n, "antialias", 0) ||
        strcmp(ox_attr_string(im, n, "keep_aspect_ratio_policy", "stretch"), "stretch") != 0)
        return ox_unsupported(im, n, "axes / antialias / keep_aspect_ratio_policy");
    if (!have_sizes)
        for (int i = 0; i < 4; i++) {
            if (!ir_ckd_from_double(floor((double)s->d[i].c * scales[i]), &sizes[i]))
                return ox_unsupported(im, n, "scale %g", scales[i]);
        }
    if (sizes[0] != s->d[0].c || sizes[1] != s->d[1].c)
        return ox_unsupported(im, n, "resizing the batch or channel dims");
    int64_t m, ac = 0;
    if (!strcmp(mode, "nearest")) {
        if (strcmp(ctm, "asymmetric") != 0 ||
            (strcmp(nm, "floor") != 0 && strcmp(op, "Upsample") != 0 && im->opset >= 11))
            return ox_unsupported(im, n, "nearest with %s/%s (slimc has asymmetric/floor)", ctm,
                                  nm);
        m = 0;
    } else if (!strcmp(mode, "linear") || !strcmp(mode, "bilinear")) {
        if (!strcmp(ctm, "align_corners")) {
            ac = 1;
            /* ONNX maps with the unrounded length in*scale; PyTorch with the output size */
            for (int i = 2; i < 4 && !have_sizes; i++)
                if ((double)s->d[i].c * scales[i] != (double)sizes[i])
                    return ox_unsupported(im, n, "align_corners with a fractional output length");
        } else if (strcmp(ctm, "half_pixel") != 0 && strcmp(ctm, "pytorch_half_pixel") != 0)
            return ox_unsupported(im, n, "linear with coordinate_transformation_mode %s", ctm);
        /* ONNX's pytorch_half_pixel maps an output of length 1 to 0, PyTorch to the center */
        if (!strcmp(ctm, "pytorch_half_pixel") &&
            ((sizes[2] == 1 && s->d[2].c > 1) || (sizes[3] == 1 && s->d[3].c > 1)))
            return ox_unsupported(im, n, "pytorch_half_pixel with an output length of 1");
        m = 1;
    } else
        return ox_unsupported(im, n, "mode %s", mode);
    NodeId id = ox_mk(im, n, "resize", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "resize");
    int64_t sz[2] = {sizes[2], sizes[3]};
    ir_node_set_ints(im->g, id, "size", sz, 2);
    ir_node_set_int(im->g, id, "mode", m);
    ir_node_set_int(im->g, id, "align_corners", ac);
    /* the coordinate map uses the scale when one is given (align_corners: never) */
    bool use_scale = !have_sizes && !ac;
    ir_node_set_float(im->g, id, "scale_h", use_scale ? scales[2] : 0.0);
    ir_node_set_float(im->g, id, "scale_w", use_scale ? scales[3] : 0.0);
    return ox_out(im, n, ox_done(im, id));
}

#endif
