/* Shape inference: one function per row of ops.def (its last column). Each sets the
 * types of a node's outputs from its inputs and attributes, or reports the user's error —
 * naming the node, the shapes involved and where each operand came from — and returns
 * false. Inputs already unknown (rank -1) never reach these functions. */
#include "ir/checked.h"
#include "ir/dtype_ops.h"
#include "ir/graph.h"
#include "ir/op_fns.h"
#include "ir/shape_internal.h"

#include <stdio.h>
#include <string.h>

const Type *ir_shp_in_type(Graph *g, const Node *n, int i)
{
    return n->inputs[i] == IR_NONE ? NULL : &g->values[n->inputs[i]].type;
}

void ir_shp_set_out(Graph *g, const Node *n, int i, DType dt, const Shape *s)
{
    Value *v = &g->values[n->outputs[i]];
    v->type.dtype = dt;
    v->type.shape = *s;
}

/* "'x' (f32[N, 1, 28, 28], defined at lenet.slim:1:13)" into buf. */
const char *ir_shp_describe(Graph *g, ValueId v, char *buf, size_t size)
{
    char t[160];
    const Value *val = &g->values[v];
    ir_type_str(g, &val->type, t, sizeof t);
    if (val->loc.file && val->loc.line)
        snprintf(buf, size, "'%s' (%s, from %s:%d:%d)", val->name, t, val->loc.file, val->loc.line,
                 val->loc.col);
    else
        snprintf(buf, size, "'%s' (%s)", val->name, t);
    return buf;
}

/* f32, or another dtype the op computes in (ir/dtype_ops.h). */
bool ir_shp_need_float(Graph *g, Node *n, int i, Diag *d)
{
    const Type *t = ir_shp_in_type(g, n, i);
    if (t && (t->quant ? t->dtype != IR_F32 : !ir_op_takes_dtype(n->op, t->dtype))) {
        char b[256];
        ir_diag_error(d, n->loc, "%s '%s': operand %s must be %s in this version of slimc",
                      ir_ops[n->op].name, n->name, ir_shp_describe(g, n->inputs[i], b, sizeof b),
                      ir_op_takes_dtype(n->op, IR_F32) ? "f32" : "an integer");
        return false;
    }
    return true;
}

bool ir_shp_need_rank(Graph *g, Node *n, int i, int rank, const char *what, Diag *d)
{
    const Type *t = ir_shp_in_type(g, n, i);
    if (t->shape.rank != rank) {
        char b[256];
        ir_diag_error(d, n->loc, "%s '%s': %s must have rank %d, got %s", ir_ops[n->op].name,
                      n->name, what, rank, ir_shp_describe(g, n->inputs[i], b, sizeof b));
        return false;
    }
    return true;
}

bool ir_shp_need_static(Graph *g, Node *n, int i, int dim, const char *what, Diag *d)
{
    const Type *t = ir_shp_in_type(g, n, i);
    if (!ir_dim_static(t->shape.d[dim])) {
        char b[256];
        ir_diag_error(d, n->loc, "%s '%s': the %s of %s must be a fixed size, not symbolic",
                      ir_ops[n->op].name, n->name, what,
                      ir_shp_describe(g, n->inputs[i], b, sizeof b));
        return false;
    }
    return true;
}

int64_t ir_shp_dim_of(Graph *g, const Node *n, int i, int dim)
{
    return ir_shp_in_type(g, n, i)->shape.d[dim].c;
}

SHAPE_FN(same)
{
    if (!ir_shp_need_float(g, n, 0, d))
        return false;
    const Type *t = ir_shp_in_type(g, n, 0);
    if (n->op == IR_OP_SOFTMAX || n->op == IR_OP_LOG_SOFTMAX) {
        int64_t axis = ir_attr_axis_or(n, -1);
        int r = t->shape.rank;
        if (axis < -r || axis >= r || r == 0) {
            char b[256];
            ir_diag_error(d, n->loc, "%s '%s': axis %lld is out of range for %s",
                          ir_ops[n->op].name, n->name, (long long)axis,
                          ir_shp_describe(g, n->inputs[0], b, sizeof b));
            return false;
        }
    }
    ir_shp_set_out(g, n, 0, t->dtype, &t->shape);
    return true;
}

/* numpy broadcasting of a and b into out; false if they do not broadcast. With g, two
 * symbolic dims may be assumed equal for node n (ir_dim_assume_eq). */
static bool broadcast(Graph *g, const Node *n, const Shape *a, const Shape *b, Shape *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    out->rank = r;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        Dim da = ia >= 0 ? a->d[ia] : ir_dim(1), db = ib >= 0 ? b->d[ib] : ir_dim(1);
        if (ir_dim_eq(da, db) || (db.c == 1 && db.syms == 0))
            out->d[i] = da;
        else if (da.c == 1 && da.syms == 0)
            out->d[i] = db;
        else if (g && ir_dim_assume_eq(g, da, db, n))
            out->d[i] = da;
        else
            return false;
    }
    return true;
}

SHAPE_FN(broadcast)
{
    if (!ir_shp_need_float(g, n, 0, d) || !ir_shp_need_float(g, n, 1, d))
        return false;
    Shape out;
    if (!broadcast(g, n, &ir_shp_in_type(g, n, 0)->shape, &ir_shp_in_type(g, n, 1)->shape, &out)) {
        char a[256], b[256];
        ir_diag_error(d, n->loc, "%s '%s': shapes do not broadcast: %s and %s", ir_ops[n->op].name,
                      n->name, ir_shp_describe(g, n->inputs[0], a, sizeof a),
                      ir_shp_describe(g, n->inputs[1], b, sizeof b));
        return false;
    }
    if (ir_shp_in_type(g, n, 0)->dtype != ir_shp_in_type(g, n, 1)->dtype) {
        char a[256], b[256];
        ir_diag_error(d, n->loc, "%s '%s': operands of different dtypes: %s and %s",
                      ir_ops[n->op].name, n->name, ir_shp_describe(g, n->inputs[0], a, sizeof a),
                      ir_shp_describe(g, n->inputs[1], b, sizeof b));
        return false;
    }
    ir_shp_set_out(g, n, 0, ir_shp_in_type(g, n, 0)->dtype, &out);
    return true;
}

/* Output size of a window op along one spatial dim, as PyTorch computes it (s >= 1,
 * dil >= 1, p >= 0); 0 when the window does not fit or a size overflows. With ceil_mode a
 * window may hang over the padded end, the first one too (PyTorch's and ONNX Runtime's
 * floor((span + s - 1) / s) + 1 is 1 for -s < span < 0), as long as it starts inside the
 * input or the left padding. */
int64_t ir_shp_window_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t dil, bool ceil_mode)
{
    int64_t span, reach, inp;
    if (!ir_ckd_mul_i64(dil, k - 1, &reach) || !ir_ckd_mul_i64(2, p, &span) ||
        !ir_ckd_add_i64(in, span, &span) || !ir_ckd_sub_i64(span, reach, &span) ||
        !ir_ckd_add_i64(in, p, &inp))
        return 0;
    span--;
    if (!ceil_mode)
        return span < 0 ? 0 : span / s + 1;
    int64_t num;
    if (!ir_ckd_add_i64(span, s - 1, &num))
        return 0;
    int64_t out = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
    /* The last window must start inside the input or the left padding. */
    int64_t last; /* where the last window starts; past inp when the product overflows */
    if (out >= 1 && (!ir_ckd_mul_i64(out - 1, s, &last) || last >= inp))
        out--;
    return out < 1 ? 0 : out;
}

/* The same along a symbolic dim: floor((in + 2p - dil*(k-1) - 1 + s) / s), a derived symbol
 * (ir/symbols.c; >= 1 is checked when the inputs bind it). With ceil_mode the count is
 * that of the starts i*s with i*s <= ceil(span/s)*s (the last window may hang over the
 * padded end) and i*s < in + p (it starts inside the input or the left padding): the
 * smaller of floor((in + 2p - reach - 1 + s - 1) / s) and floor((in + p - 1) / s), plus
 * one, which is floor((in + min(2p - reach + s - 2, p - 1) + s) / s) as floor is monotone;
 * exact for every in, ir_shp_window_out's count (PyTorch's), which is < 1 (refused when
 * the inputs bind the symbols) where PyTorch refuses the size too. False when it cannot
 * be made (16 symbols already, an overflow). */
static bool window_out_dim(Graph *g, Dim in, int64_t k, int64_t s, int64_t p, int64_t dil,
                           bool ceil_mode, Dim *out)
{
    if (ir_dim_static(in)) {
        *out = ir_dim(ir_shp_window_out(in.c, k, s, p, dil, ceil_mode));
        return true;
    }
    int64_t reach, add, p2;
    if (!ir_ckd_mul_i64(dil, k - 1, &reach) || !ir_ckd_mul_i64(2, p, &p2) ||
        !ir_ckd_sub_i64(p2, reach, &add) || !ir_ckd_add_i64(add, s - 1, &add))
        return false;
    if (ceil_mode) {
        int64_t inside;                          /* p + s - 1 */
        if (!ir_ckd_add_i64(add, s - 1, &add) || /* 2p - reach + 2s - 2 */
            !ir_ckd_add_i64(p, s - 1, &inside))
            return false;
        if (inside < add)
            add = inside;
    }
    return ir_dim_derive(g, in, ir_dim(1), ir_dim(0), add, s, out);
}

SHAPE_FN(conv2d)
{
    if (!ir_shp_need_float(g, n, 0, d) || !ir_shp_need_float(g, n, 1, d) ||
        !ir_shp_need_rank(g, n, 0, 4, "the input", d) ||
        !ir_shp_need_rank(g, n, 1, 4, "the weight", d))
        return false;
    /* the image's height and width may be symbolic: the output's are derived symbols */
    if (!ir_shp_need_static(g, n, 0, 1, "channel count", d))
        return false;
    int64_t stride[2], pad[2], dil[2];
    ir_attr_stride(n, stride, 2);
    ir_attr_padding(n, pad, 2);
    ir_attr_dilation(n, dil, 2);
    int64_t groups = ir_attr_groups(n);
    int64_t c = ir_shp_dim_of(g, n, 0, 1), o = ir_shp_dim_of(g, n, 1, 0),
            ci = ir_shp_dim_of(g, n, 1, 1);
    int64_t kh = ir_shp_dim_of(g, n, 1, 2), kw = ir_shp_dim_of(g, n, 1, 3);
    char a[256], b[256];
    if (groups < 1 || c % groups || o % groups) {
        ir_diag_error(
            d, n->loc,
            "conv2d '%s': groups=%lld must divide the input channels (%lld) and the output "
            "channels (%lld)",
            n->name, (long long)groups, (long long)c, (long long)o);
        return false;
    }
    int64_t want_c;
    if (!ir_ckd_mul_i64(ci, groups, &want_c))
        want_c = INT64_MAX; /* cannot equal c: the input's size was checked */
    if (want_c != c) {
        ir_diag_error(d, n->loc,
                      "conv2d '%s': the input has %lld channels but the weight expects %lld "
                      "(groups=%lld): input %s, weight %s",
                      n->name, (long long)c, (long long)want_c, (long long)groups,
                      ir_shp_describe(g, n->inputs[0], a, sizeof a),
                      ir_shp_describe(g, n->inputs[1], b, sizeof b));
        return false;
    }
    for (int i = 0; i < 2; i++)
        if (stride[i] < 1 || dil[i] < 1 || pad[i] < 0) {
            ir_diag_error(d, n->loc,
                          "conv2d '%s': stride and dilation must be >= 1 and padding >= 0",
                          n->name);
            return false;
        }
    if (kh < 1 || kw < 1) { /* an empty kernel: ORT refuses it, it would sum nothing */
        ir_diag_error(d, n->loc, "conv2d '%s': the weight's kernel is empty: %s", n->name,
                      ir_shp_describe(g, n->inputs[1], b, sizeof b));
        return false;
    }
    if (n->n_inputs > 2 && n->inputs[2] != IR_NONE) {
        const Type *bt = ir_shp_in_type(g, n, 2);
        if (bt->shape.rank != 1 || !ir_dim_eq(bt->shape.d[0], ir_dim(o))) {
            ir_diag_error(d, n->loc, "conv2d '%s': the bias must be f32[%lld], got %s", n->name,
                          (long long)o, ir_shp_describe(g, n->inputs[2], b, sizeof b));
            return false;
        }
    }
    if (n->n_inputs > 3 && n->inputs[3] != IR_NONE) {
        const Type *ct = ir_shp_in_type(g, n, 3);
        const int64_t ws = ir_attr_w_sparse(n);
        if (ct->dtype != IR_U8 || ct->shape.rank != 1 || (ws != 1 && ws != 2) || groups != 1) {
            ir_diag_error(d, n->loc,
                          "conv2d '%s': a fourth input (the CSR or N:M weight) must be u8[bytes] "
                          "with w_sparse=1 or 2 and groups=1, got %s",
                          n->name, ir_shp_describe(g, n->inputs[3], b, sizeof b));
            return false;
        }
    }
    const Shape *xs = &ir_shp_in_type(g, n, 0)->shape;
    Dim h, w;
    if (!window_out_dim(g, xs->d[2], kh, stride[0], pad[0], dil[0], false, &h) ||
        !window_out_dim(g, xs->d[3], kw, stride[1], pad[1], dil[1], false, &w)) {
        ir_diag_error(d, n->loc,
                      "conv2d '%s': the output size of %s needs a symbolic dim and the model "
                      "has 16 already",
                      n->name, ir_shp_describe(g, n->inputs[0], a, sizeof a));
        return false;
    }
    if ((ir_dim_static(h) && h.c < 1) || (ir_dim_static(w) && w.c < 1)) {
        ir_diag_error(d, n->loc, "conv2d '%s': the %lldx%lld kernel does not fit the input %s",
                      n->name, (long long)kh, (long long)kw,
                      ir_shp_describe(g, n->inputs[0], a, sizeof a));
        return false;
    }
    Shape out = {4, {xs->d[0], ir_dim(o), h, w}};
    ir_shp_set_out(g, n, 0, IR_F32, &out);
    return true;
}

SHAPE_FN(linear)
{
    if (!ir_shp_need_float(g, n, 0, d) || !ir_shp_need_float(g, n, 1, d) ||
        !ir_shp_need_rank(g, n, 1, 2, "the weight", d))
        return false;
    const Shape *x = &ir_shp_in_type(g, n, 0)->shape;
    char a[256], b[256];
    if (x->rank < 1) {
        ir_diag_error(d, n->loc, "linear '%s': the input must have rank >= 1, got %s", n->name,
                      ir_shp_describe(g, n->inputs[0], a, sizeof a));
        return false;
    }
    bool tr = ir_attr_w_transposed(n) != 0;
    int64_t k = ir_shp_dim_of(g, n, 1, tr ? 0 : 1), o = ir_shp_dim_of(g, n, 1, tr ? 1 : 0);
    if (!ir_dim_eq(x->d[x->rank - 1], ir_dim(k))) {
        ir_diag_error(d, n->loc,
                      "linear '%s': the input's last dimension must be %lld (the layer's "
                      "in-features), got %s with weight %s",
                      n->name, (long long)k, ir_shp_describe(g, n->inputs[0], a, sizeof a),
                      ir_shp_describe(g, n->inputs[1], b, sizeof b));
        return false;
    }
    if (n->n_inputs > 2 && n->inputs[2] != IR_NONE) {
        const Type *bt = ir_shp_in_type(g, n, 2);
        if (bt->shape.rank != 1 || !ir_dim_eq(bt->shape.d[0], ir_dim(o))) {
            ir_diag_error(d, n->loc, "linear '%s': the bias must be f32[%lld], got %s", n->name,
                          (long long)o, ir_shp_describe(g, n->inputs[2], b, sizeof b));
            return false;
        }
    }
    if (n->n_inputs > 3 && n->inputs[3] != IR_NONE) {
        const Type *ct = ir_shp_in_type(g, n, 3);
        if (ct->dtype != IR_U8 || ct->shape.rank != 1 ||
            (ir_attr_w_sparse(n) != 1 && ir_attr_w_sparse(n) != 2)) {
            ir_diag_error(d, n->loc,
                          "linear '%s': a fourth input (the CSR or N:M weight) must be u8[bytes] "
                          "with w_sparse=1 or 2, got %s",
                          n->name, ir_shp_describe(g, n->inputs[3], b, sizeof b));
            return false;
        }
    }
    Shape out = *x;
    out.d[out.rank - 1] = ir_dim(o);
    ir_shp_set_out(g, n, 0, IR_F32, &out);
    return true;
}

SHAPE_FN(matmul)
{
    if (!ir_shp_need_float(g, n, 0, d) || !ir_shp_need_float(g, n, 1, d))
        return false;
    Shape a = ir_shp_in_type(g, n, 0)->shape, b = ir_shp_in_type(g, n, 1)->shape;
    char sa[256], sb[256];
    if (a.rank < 1 || b.rank < 1) {
        ir_diag_error(d, n->loc, "matmul '%s': operands must have rank >= 1: %s and %s", n->name,
                      ir_shp_describe(g, n->inputs[0], sa, sizeof sa),
                      ir_shp_describe(g, n->inputs[1], sb, sizeof sb));
        return false;
    }
    bool a_vec = a.rank == 1, b_vec = b.rank == 1;
    if (a_vec) { /* [K] -> [1, K] */
        a.d[1] = a.d[0];
        a.d[0] = ir_dim(1);
        a.rank = 2;
    }
    if (b_vec) { /* [K] -> [K, 1] */
        b.d[1] = ir_dim(1);
        b.rank = 2;
    }
    if (!ir_dim_eq(a.d[a.rank - 1], b.d[b.rank - 2])) {
        ir_diag_error(d, n->loc, "matmul '%s': inner dimensions differ: %s and %s", n->name,
                      ir_shp_describe(g, n->inputs[0], sa, sizeof sa),
                      ir_shp_describe(g, n->inputs[1], sb, sizeof sb));
        return false;
    }
    Shape ba = {a.rank - 2, {{0}}}, bb = {b.rank - 2, {{0}}}, batch;
    memcpy(ba.d, a.d, sizeof(Dim) * (size_t)ba.rank);
    memcpy(bb.d, b.d, sizeof(Dim) * (size_t)bb.rank);
    if (!broadcast(NULL, n, &ba, &bb, &batch) || batch.rank + 2 > IR_MAX_RANK) {
        ir_diag_error(d, n->loc, "matmul '%s': batch dimensions do not broadcast: %s and %s",
                      n->name, ir_shp_describe(g, n->inputs[0], sa, sizeof sa),
                      ir_shp_describe(g, n->inputs[1], sb, sizeof sb));
        return false;
    }
    Shape out = batch;
    if (!a_vec)
        out.d[out.rank++] = a.d[a.rank - 2];
    if (!b_vec)
        out.d[out.rank++] = b.d[b.rank - 1];
    ir_shp_set_out(g, n, 0, IR_F32, &out);
    return true;
}

SHAPE_FN(pool2d)
{
    /* max_pool2d also takes u8 (an int8 chain, passes/qchain.c): max commutes with the
     * monotone quantize, so the codes' maximum is the maximum's code */
    const bool u8 = n->op == IR_OP_MAX_POOL2D && ir_shp_in_type(g, n, 0)->dtype == IR_U8 &&
                    !ir_shp_in_type(g, n, 0)->quant;
    if ((!u8 && !ir_shp_need_float(g, n, 0, d)) || !ir_shp_need_rank(g, n, 0, 4, "the input", d))
        return false;
    /* a symbolic height or width gives a derived size, ceil_mode too (window_out_dim) */
    int64_t k[2], s[2], p[2], dil[2];
    if (!ir_attr_kernel_or(n, k, 2, 0)) {
        ir_diag_error(d, n->loc, "%s '%s': the kernel size is missing", ir_ops[n->op].name,
                      n->name);
        return false;
    }
    if (!ir_attr_stride_or(n, s, 2, 0) || s[0] == 0)
        memcpy(s, k, sizeof s);
    ir_attr_padding(n, p, 2);
    ir_attr_dilation(n, dil, 2);
    bool ceil_mode = ir_attr_ceil_mode(n) != 0;
    for (int i = 0; i < 2; i++) {
        if (k[i] < 1 || s[i] < 1 || dil[i] < 1 || p[i] < 0) {
            ir_diag_error(d, n->loc,
                          "%s '%s': kernel, stride and dilation must be >= 1, padding >= 0",
                          ir_ops[n->op].name, n->name);
            return false;
        }
        if (p[i] > k[i] / 2) { /* p * 2 > k, without overflow */
            ir_diag_error(d, n->loc,
                          "%s '%s': padding (%lld) must be at most half the kernel size (%lld)",
                          ir_ops[n->op].name, n->name, (long long)p[i], (long long)k[i]);
            return false;
        }
    }
    const Shape *x = &ir_shp_in_type(g, n, 0)->shape;
    if (!ir_dim_static(x->d[2]) || !ir_dim_static(x->d[3])) {
        Dim oh, ow;
        if (!window_out_dim(g, x->d[2], k[0], s[0], p[0], dil[0], ceil_mode, &oh) ||
            !window_out_dim(g, x->d[3], k[1], s[1], p[1], dil[1], ceil_mode, &ow) ||
            (ir_dim_static(oh) && oh.c < 1) || (ir_dim_static(ow) && ow.c < 1)) {
            char a[256];
            ir_diag_error(d, n->loc, "%s '%s': no output size for the input %s", ir_ops[n->op].name,
                          n->name, ir_shp_describe(g, n->inputs[0], a, sizeof a));
            return false;
        }
        Shape out = {4, {x->d[0], x->d[1], oh, ow}};
        ir_shp_set_out(g, n, 0, u8 ? IR_U8 : IR_F32, &out);
        return true;
    }
    int64_t h = ir_shp_window_out(ir_shp_dim_of(g, n, 0, 2), k[0], s[0], p[0], dil[0], ceil_mode);
    int64_t w = ir_shp_window_out(ir_shp_dim_of(g, n, 0, 3), k[1], s[1], p[1], dil[1], ceil_mode);
    if (h < 1 || w < 1) {
        char a[256];
        ir_diag_error(d, n->loc, "%s '%s': the %lldx%lld window does not fit the input %s",
                      ir_ops[n->op].name, n->name, (long long)k[0], (long long)k[1],
                      ir_shp_describe(g, n->inputs[0], a, sizeof a));
        return false;
    }
    Shape out = {4, {x->d[0], x->d[1], ir_dim(h), ir_dim(w)}};
    ir_shp_set_out(g, n, 0, u8 ? IR_U8 : IR_F32, &out);
    return true;
}

SHAPE_FN(flatten)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    int r = t->shape.rank;
    int64_t start = ir_attr_start_dim(n), end = ir_attr_end_dim(n);
    if (r == 0) { /* a scalar flattens to [1] */
        Shape out = {1, {ir_dim(1)}};
        ir_shp_set_out(g, n, 0, t->dtype, &out);
        return true;
    }
    if (start < 0)
        start += r;
    if (end < 0)
        end += r;
    char a[256];
    if (start < 0 || start >= r || end < 0 || end >= r || start > end) {
        ir_diag_error(d, n->loc, "flatten '%s': start_dim %lld / end_dim %lld do not fit %s",
                      n->name, (long long)ir_attr_start_dim(n), (long long)ir_attr_end_dim(n),
                      ir_shp_describe(g, n->inputs[0], a, sizeof a));
        return false;
    }
    Shape out = {0, {{0}}};
    for (int i = 0; i < start; i++)
        out.d[out.rank++] = t->shape.d[i];
    Dim m = ir_dim(1);
    for (int64_t i = start; i <= end; i++)
        if (!ir_dim_mul(m, t->shape.d[i], &m)) {
            ir_diag_error(d, n->loc,
                          "flatten '%s': cannot flatten %s (a symbol would appear twice)", n->name,
                          ir_shp_describe(g, n->inputs[0], a, sizeof a));
            return false;
        }
    out.d[out.rank++] = m;
    for (int64_t i = end + 1; i < r; i++)
        out.d[out.rank++] = t->shape.d[i];
    ir_shp_set_out(g, n, 0, t->dtype, &out);
    return true;
}

/* reshape's shape attribute: n >= 0 a size, -1 "infer this one", and -(1000 + i) the
 * graph's symbol i (written as a name, e.g. N, in the model language; ir_dim_of_attr). */
SHAPE_FN(reshape)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    const Attr *at = ir_node_attr_id(n, IR_A_shape);
    char a[256];
    if (!at || at->kind != IR_ATTR_INTS || at->n_ints > IR_MAX_RANK) {
        ir_diag_error(d, n->loc,
                      "reshape '%s': the target shape is missing or has more than %d dims", n->name,
                      IR_MAX_RANK);
        return false;
    }
    Dim total, known = ir_dim(1);
    if (!ir_shape_numel_g(g, &t->shape, &total)) { /* [B, S, S]: B*(S*S) */
        ir_diag_error(d, n->loc, "reshape '%s': unsupported symbolic shape %s", n->name,
                      ir_shp_describe(g, n->inputs[0], a, sizeof a));
        return false;
    }
    Shape out = {at->n_ints, {{0}}};
    int infer = -1;
    for (int i = 0; i < at->n_ints; i++) {
        int64_t v = at->ints[i];
        if (v == -1) {
            if (infer >= 0) {
                ir_diag_error(d, n->loc, "reshape '%s': only one dimension may be -1", n->name);
                return false;
            }
            infer = i;
            continue;
        }
        if (!ir_dim_of_attr(g, v, &out.d[i])) {
            ir_diag_error(d, n->loc, "reshape '%s': invalid size %lld", n->name, (long long)v);
            return false;
        }
        if (!ir_dim_mul_any(g, known, out.d[i], &known))
            goto mismatch;
    }
    if (infer >= 0) {
        /* total / known must be a monomial: known's symbols among total's, c divides. */
        if ((known.syms & ~total.syms) || known.c == 0 || total.c % known.c)
            goto mismatch;
        out.d[infer] = (Dim){total.c / known.c, total.syms & ~known.syms};
    } else if (!ir_dim_eq(known, total)) {
        goto mismatch;
    }
    ir_shp_set_out(g, n, 0, t->dtype, &out);
    return true;
mismatch : {
    char want[160];
    Shape shown = out;
    for (int i = 0; i < at->n_ints; i++)
        if (at->ints[i] == -1)
            shown.d[i] = (Dim){-1, 0};
    Type tt = {t->dtype, shown, NULL};
    ir_type_str(g, &tt, want, sizeof want);
    ir_diag_error(d, n->loc, "reshape '%s': cannot reshape %s to %s (element counts differ)",
                  n->name, ir_shp_describe(g, n->inputs[0], a, sizeof a), want);
    return false;
}
}

SHAPE_FN(batch_norm)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    char a[256], b[256];
    if (!ir_shp_need_float(g, n, 0, d))
        return false;
    if (t->shape.rank < 2 || !ir_dim_static(t->shape.d[1])) {
        ir_diag_error(d, n->loc,
                      "batch_norm '%s': the input must be [N, C, ...] with a fixed C, got %s",
                      n->name, ir_shp_describe(g, n->inputs[0], a, sizeof a));
        return false;
    }
    for (int i = 1; i < 5; i++) {
        const Type *p = ir_shp_in_type(g, n, i);
        if (!p || p->shape.rank != 1 || !ir_dim_eq(p->shape.d[0], t->shape.d[1]) ||
            p->dtype != IR_F32) {
            ir_diag_error(
                d, n->loc, "batch_norm '%s': parameter %s must be f32[%lld] to match the input %s",
                n->name, p ? ir_shp_describe(g, n->inputs[i], b, sizeof b) : "(missing)",
                (long long)t->shape.d[1].c, ir_shp_describe(g, n->inputs[0], a, sizeof a));
            return false;
        }
    }
    ir_shp_set_out(g, n, 0, IR_F32, &t->shape);
    return true;
}

SHAPE_FN(layer_norm)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    char a[256], b[256];
    if (!ir_shp_need_float(g, n, 0, d))
        return false;
    int64_t k = ir_attr_normalized_ndim(n);
    if (k < 1 || k > t->shape.rank) {
        ir_diag_error(d, n->loc, "layer_norm '%s': cannot normalize the last %lld dims of %s",
                      n->name, (long long)k, ir_shp_describe(g, n->inputs[0], a, sizeof a));
        return false;
    }
    for (int i = 1; i < n->n_inputs; i++) {
        const Type *p = ir_shp_in_type(g, n, i);
        if (!p)
            continue;
        bool ok = p->shape.rank == k && p->dtype == IR_F32;
        for (int j = 0; ok && j < k; j++)
            ok = ir_dim_eq(p->shape.d[j], t->shape.d[t->shape.rank - k + j]);
        if (!ok) {
            ir_diag_error(d, n->loc,
                          "layer_norm '%s': %s must have the shape of the last %lld dims of %s",
                          n->name, ir_shp_describe(g, n->inputs[i], b, sizeof b), (long long)k,
                          ir_shp_describe(g, n->inputs[0], a, sizeof a));
            return false;
        }
    }
    ir_shp_set_out(g, n, 0, IR_F32, &t->shape);
    return true;
}

SHAPE_FN(embedding)
{
    const Type *idx = ir_shp_in_type(g, n, 0), *w = ir_shp_in_type(g, n, 1);
    char a[256], b[256];
    if (idx->dtype != IR_I64 && idx->dtype != IR_I32) {
        ir_diag_error(d, n->loc, "embedding '%s': indices must be i64 or i32, got %s", n->name,
                      ir_shp_describe(g, n->inputs[0], a, sizeof a));
        return false;
    }
    if (w->shape.rank != 2 || !ir_shp_need_float(g, n, 1, d)) {
        ir_diag_error(d, n->loc, "embedding '%s': the table must be f32[num, dim], got %s", n->name,
                      ir_shp_describe(g, n->inputs[1], b, sizeof b));
        return false;
    }
    if (idx->shape.rank + 1 > IR_MAX_RANK) {
        ir_diag_error(d, n->loc, "embedding '%s': indices of rank %d are too many", n->name,
                      idx->shape.rank);
        return false;
    }
    Shape out = idx->shape;
    out.d[out.rank++] = w->shape.d[1];
    ir_shp_set_out(g, n, 0, w->dtype, &out);
    return true;
}

/* ---- issue 3's ops ---- */

/* The error for an attribute value that does not fit operand i. */
static bool bad_attr(Graph *g, Node *n, int i, Diag *d, const char *what)
{
    char a[256];
    ir_diag_error(d, n->loc, "%s '%s': %s for %s", ir_ops[n->op].name, n->name, what,
                  ir_shp_describe(g, n->inputs[i], a, sizeof a));
    return false;
}

/* An axis in [-rank, rank) normalized to [0, rank); false if out of range. */
static bool norm_axis(int64_t axis, int rank, int64_t *out)
{
    if (axis < -rank || axis >= rank)
        return false;
    *out = axis < 0 ? axis + rank : axis;
    return true;
}

SHAPE_FN(compare)
{
    const Type *a = ir_shp_in_type(g, n, 0), *b = ir_shp_in_type(g, n, 1);
    char sa[256], sb[256];
    if (a->dtype != b->dtype || a->quant || b->quant || ir_dtype_bits(a->dtype) < 8) {
        ir_diag_error(d, n->loc, "%s '%s': operands must have one (unquantized) dtype: %s and %s",
                      ir_ops[n->op].name, n->name, ir_shp_describe(g, n->inputs[0], sa, sizeof sa),
                      ir_shp_describe(g, n->inputs[1], sb, sizeof sb));
        return false;
    }
    Shape out;
    if (!broadcast(g, n, &a->shape, &b->shape, &out)) {
        ir_diag_error(d, n->loc, "%s '%s': shapes do not broadcast: %s and %s", ir_ops[n->op].name,
                      n->name, ir_shp_describe(g, n->inputs[0], sa, sizeof sa),
                      ir_shp_describe(g, n->inputs[1], sb, sizeof sb));
        return false;
    }
    ir_shp_set_out(g, n, 0, IR_BOOL, &out);
    return true;
}

SHAPE_FN(where)
{
    const Type *c = ir_shp_in_type(g, n, 0), *a = ir_shp_in_type(g, n, 1),
               *b = ir_shp_in_type(g, n, 2);
    char s0[256], s1[256], s2[256];
    if (c->dtype != IR_BOOL)
        return bad_attr(g, n, 0, d, "the condition must be bool");
    if (a->dtype != b->dtype || a->quant || b->quant || ir_dtype_bits(a->dtype) < 8) {
        ir_diag_error(d, n->loc, "where '%s': both branches must have one dtype: %s and %s",
                      n->name, ir_shp_describe(g, n->inputs[1], s1, sizeof s1),
                      ir_shp_describe(g, n->inputs[2], s2, sizeof s2));
        return false;
    }
    Shape t, out;
    if (!broadcast(g, n, &a->shape, &b->shape, &t) || !broadcast(g, n, &c->shape, &t, &out)) {
        ir_diag_error(d, n->loc, "where '%s': shapes do not broadcast: %s, %s and %s", n->name,
                      ir_shp_describe(g, n->inputs[0], s0, sizeof s0),
                      ir_shp_describe(g, n->inputs[1], s1, sizeof s1),
                      ir_shp_describe(g, n->inputs[2], s2, sizeof s2));
        return false;
    }
    ir_shp_set_out(g, n, 0, a->dtype, &out);
    return true;
}

SHAPE_FN(cast)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    int64_t to = ir_attr_dtype(n);
    if (to < 0 || to >= IR_NUM_DTYPES || t->quant)
        return bad_attr(g, n, 0, d, "unsupported cast (quantized values are not cast)");
    ir_shp_set_out(g, n, 0, (DType)to, &t->shape);
    return true;
}

/* transfer: the input's type, its quantization included */
SHAPE_FN(transfer)
{
    (void)d;
    g->values[n->outputs[0]].type = *ir_shp_in_type(g, n, 0);
    return true;
}

SHAPE_FN(adaptive_pool)
{
    /* the input's height and width may be symbolic (the windows are computed at run time) */
    if (!ir_shp_need_float(g, n, 0, d) || !ir_shp_need_rank(g, n, 0, 4, "the input", d))
        return false;
    int64_t os[2];
    ir_attr_output_size(n, os, 2);
    if (os[0] < 1 || os[1] < 1)
        return bad_attr(g, n, 0, d, "the output size must be >= 1");
    const Shape *x = &ir_shp_in_type(g, n, 0)->shape;
    Shape out = {4, {x->d[0], x->d[1], ir_dim(os[0]), ir_dim(os[1])}};
    ir_shp_set_out(g, n, 0, IR_F32, &out);
    return true;
}

SHAPE_FN(group_norm)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    char a[256], b[256];
    if (!ir_shp_need_float(g, n, 0, d))
        return false;
    int64_t groups = ir_attr_num_groups(n);
    if (t->shape.rank < 2 || !ir_dim_static(t->shape.d[1]))
        return bad_attr(g, n, 0, d, "the input must be [N, C, ...] with a fixed C");
    int64_t c = t->shape.d[1].c;
    if (groups < 1 || c % groups) {
        ir_diag_error(d, n->loc, "group_norm '%s': num_groups=%lld must divide the channels of %s",
                      n->name, (long long)groups, ir_shp_describe(g, n->inputs[0], a, sizeof a));
        return false;
    }
    for (int i = 1; i < n->n_inputs; i++) {
        const Type *p = ir_shp_in_type(g, n, i);
        if (p &&
            (p->shape.rank != 1 || !ir_dim_eq(p->shape.d[0], ir_dim(c)) || p->dtype != IR_F32)) {
            ir_diag_error(d, n->loc,
                          "group_norm '%s': parameter %s must be f32[%lld] to match the input %s",
                          n->name, ir_shp_describe(g, n->inputs[i], b, sizeof b), (long long)c,
                          ir_shp_describe(g, n->inputs[0], a, sizeof a));
            return false;
        }
    }
    ir_shp_set_out(g, n, 0, IR_F32, &t->shape);
    return true;
}

/* The axes of a reduce as a mask over dims (all when the attribute is absent or empty). */
static bool reduce_mask(Graph *g, Node *n, Diag *d, unsigned *mask)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    const Attr *at = ir_node_attr_id(n, IR_A_axes);
    *mask = 0;
    if (!at || at->n_ints == 0) {
        *mask = (1u << t->shape.rank) - 1;
        return true;
    }
    for (int i = 0; i < at->n_ints; i++) {
        int64_t ax;
        if (!norm_axis(at->ints[i], t->shape.rank, &ax)) {
            char msg[96];
            snprintf(msg, sizeof msg, "axis %lld is out of range", (long long)at->ints[i]);
            return bad_attr(g, n, 0, d, msg);
        }
        if (*mask & (1u << ax))
            return bad_attr(g, n, 0, d, "an axis is repeated");
        *mask |= 1u << ax;
    }
    return true;
}

SHAPE_FN(reduce)
{
    if (!ir_shp_need_float(g, n, 0, d))
        return false;
    const Type *t = ir_shp_in_type(g, n, 0);
    unsigned mask;
    if (!reduce_mask(g, n, d, &mask))
        return false;
    bool keep = ir_attr_keepdim(n) != 0;
    Shape out = {0, {{0}}};
    for (int i = 0; i < t->shape.rank; i++) {
        if (!(mask & (1u << i)))
            out.d[out.rank++] = t->shape.d[i];
        else if (keep)
            out.d[out.rank++] = ir_dim(1);
    }
    ir_shp_set_out(g, n, 0, t->dtype, &out);
    return true;
}

SHAPE_FN(permute)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    const Attr *at = ir_node_attr_id(n, IR_A_perm);
    int r = t->shape.rank;
    if (!at || at->n_ints != r)
        return bad_attr(g, n, 0, d, "the permutation must have one entry per dimension");
    Shape out = {r, {{0}}};
    unsigned seen = 0;
    for (int i = 0; i < r; i++) {
        int64_t ax;
        if (!norm_axis(at->ints[i], r, &ax) || (seen & (1u << ax)))
            return bad_attr(g, n, 0, d, "the dims are not a permutation");
        seen |= 1u << ax;
        out.d[i] = t->shape.d[ax];
    }
    ir_shp_set_out(g, n, 0, t->dtype, &out);
    return true;
}

SHAPE_FN(squeeze)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    const Attr *at = ir_node_attr_id(n, IR_A_axes);
    unsigned mask = 0;
    for (int i = 0; at && i < at->n_ints; i++) {
        int64_t ax;
        if (!norm_axis(at->ints[i], t->shape.rank, &ax))
            return bad_attr(g, n, 0, d, "a squeezed axis is out of range");
        mask |= 1u << ax;
    }
    Shape out = {0, {{0}}};
    for (int i = 0; i < t->shape.rank; i++) {
        bool one = ir_dim_eq(t->shape.d[i], ir_dim(1));
        /* as torch.squeeze: a named dim of size != 1 is kept; no axes drops every 1 */
        if (one && (!at || at->n_ints == 0 || (mask & (1u << i))))
            continue;
        out.d[out.rank++] = t->shape.d[i];
    }
    ir_shp_set_out(g, n, 0, t->dtype, &out);
    return true;
}

SHAPE_FN(unsqueeze)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    int64_t ax;
    if (t->shape.rank >= IR_MAX_RANK || !norm_axis(ir_attr_axis(n), t->shape.rank + 1, &ax))
        return bad_attr(g, n, 0, d, "the new axis is out of range");
    Shape out = {t->shape.rank + 1, {{0}}};
    for (int i = 0, j = 0; i < out.rank; i++)
        out.d[i] = i == ax ? ir_dim(1) : t->shape.d[j++];
    ir_shp_set_out(g, n, 0, t->dtype, &out);
    return true;
}

/* expand's shape: sizes >= 1, -1 (keep the input's), -(1000 + i) for symbol i
 * (ir_dim_of_attr). */
SHAPE_FN(expand)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    const Attr *at = ir_node_attr_id(n, IR_A_shape);
    if (!at || at->n_ints < t->shape.rank || at->n_ints > IR_MAX_RANK)
        return bad_attr(g, n, 0, d, "the target shape must have at least the input's rank");
    Shape out = {at->n_ints, {{0}}};
    for (int i = 0; i < at->n_ints; i++) {
        int j = i - (at->n_ints - t->shape.rank);
        int64_t v = at->ints[i];
        Dim want;
        if (v == -1 && j >= 0)
            want = t->shape.d[j];
        else if (v == 0 || !ir_dim_of_attr(g, v, &want))
            return bad_attr(g, n, 0, d, "a target size is invalid");
        if (j >= 0 && !ir_dim_eq(t->shape.d[j], want) && !ir_dim_eq(t->shape.d[j], ir_dim(1))) {
            char a[256], ws[160];
            Type tt = {t->dtype, out, NULL};
            tt.shape.d[i] = want;
            tt.shape.rank = at->n_ints;
            for (int k = i + 1; k < at->n_ints; k++)
                tt.shape.d[k] = ir_dim(at->ints[k] > 0 ? at->ints[k] : 1);
            ir_diag_error(d, n->loc,
                          "expand '%s': cannot expand %s to %s (dim %d is neither equal nor 1)",
                          n->name, ir_shp_describe(g, n->inputs[0], a, sizeof a),
                          ir_type_str(g, &tt, ws, sizeof ws), i);
            return false;
        }
        out.d[i] = want;
    }
    ir_shp_set_out(g, n, 0, t->dtype, &out);
    return true;
}

/* slice with end_sym: x[start:T] of a static length L, where ONNX's Slice would clamp the
 * symbolic end T to L (a GPT-style causal mask bias[:, :, :T, :T] of a fixed buffer, HF's
 * position_ids[:, :T]). The length is T - start (a derived dim, >= 1 when it binds), and
 * T <= L becomes the graph's bound on T, checked with the inputs' shapes: within it no
 * bound clamps, beyond it the inputs are refused, naming the bound and what sets it. */
static bool slice_end_sym(Graph *g, Node *n, const Type *t, int64_t ax, Diag *d)
{
    const int64_t s = ir_attr_end_sym(n), start = ir_attr_start(n);
    const Dim len = t->shape.d[ax];
    if (s >= g->n_syms || ir_attr_step(n) != 1 || !ir_dim_static(len) || start < 0 ||
        start >= len.c)
        return bad_attr(g, n, 0, d,
                        "a symbolic end needs a symbol of the model, step 1, a static length "
                        "and a start in [0, length)");
    Shape out = t->shape;
    if (!ir_dim_add_const(g, (Dim){1, 1u << s}, -start, &out.d[ax]))
        return bad_attr(g, n, 0, d,
                        "the sliced length needs a symbolic dim and the model has 16 already");
    const char *x = g->values[n->inputs[0]].name;
    if (!x)
        x = n->name ? n->name : "?";
    ir_sym_bound(g, (int)s, len.c, ir_arena_printf(g->arena, "slice of '%s'", x));
    ir_shp_set_out(g, n, 0, t->dtype, &out);
    return true;
}

/* slice: along a symbolic length, the bounds of ir_slice_sym (ir_slice_sym_neg for a
 * negative step): a constant length, or the derived dim ceil((len + end - start) / step)
 * (ceil((len + start - end) / -step) for a negative step). */
SHAPE_FN(slice)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    int64_t ax, step = ir_attr_step(n);
    if (!norm_axis(ir_attr_axis(n), t->shape.rank, &ax))
        return bad_attr(g, n, 0, d, "the axis is out of range");
    if (step == 0 || step == INT64_MIN)
        return bad_attr(g, n, 0, d, "the step must be nonzero (and more than INT64_MIN)");
    Shape out = t->shape;
    if (ir_attr_end_sym(n) >= 0)
        return slice_end_sym(g, n, t, ax, d);
    if (!ir_dim_static(t->shape.d[ax])) {
        IrSliceSym b;
        int64_t add, by = step > 0 ? step : -step;
        bool fits = step > 0
                        ? ir_slice_sym(t->shape.d[ax], ir_attr_start(n), ir_attr_end(n), &b)
                        : ir_slice_sym_neg(t->shape.d[ax], ir_attr_start(n), ir_attr_end(n), &b);
        if (!fits)
            return bad_attr(g, n, 0, d,
                            "the sliced dimension is symbolic and the bounds may clamp (a length "
                            "min(end, len) - start: fix the dim with --dim or --shape)");
        /* the distance from the first index to the bound past the last */
        int64_t from = step > 0 ? b.start : b.end, to = step > 0 ? b.end : b.start;
        if (b.start_rel == b.end_rel) {
            out.d[ax] = ir_dim(to > from ? (to - from - 1) / by + 1 : 0);
        } else if (!ir_ckd_sub_i64(to, from, &add) || !ir_ckd_add_i64(add, by - 1, &add) ||
                   !ir_dim_derive(g, t->shape.d[ax], ir_dim(1), ir_dim(0), add, by, &out.d[ax]))
            return bad_attr(g, n, 0, d,
                            "the sliced length of a symbolic dimension overflows or needs a "
                            "symbolic dim and the model has 16 already");
        ir_shp_set_out(g, n, 0, t->dtype, &out);
        return true;
    }
    out.d[ax] = ir_dim(ir_slice_count(ir_attr_start(n), ir_attr_end(n), t->shape.d[ax].c, step));
    ir_shp_set_out(g, n, 0, t->dtype, &out);
    return true;
}

/* pad: a symbolic dim padded by constants is the derived dim d + lo + hi (ir/symbols.c),
 * and the kernel reads the sizes at run time (codegen/c/data_move.c). Reflect needs
 * lo, hi < d, which a symbolic d holds only at run time: the derived symbol d - max(lo, hi)
 * is interned too, so an input too short for the padding is refused by name when the
 * inputs bind the symbols (it must be >= 1). */
SHAPE_FN(pad)
{
    const Type *t = ir_shp_in_type(g, n, 0);
    const Attr *at = ir_node_attr_id(n, IR_A_pads);
    int64_t mode = ir_attr_mode(n);
    if (!at || at->n_ints % 2 || at->n_ints / 2 > t->shape.rank)
        return bad_attr(g, n, 0, d,
                        "pads must be pairs (before, after), at most one per dimension");
    if (mode < 0 || mode > 2)
        return bad_attr(g, n, 0, d, "the mode must be constant, reflect or replicate");
    Shape out = t->shape; /* reflect and replicate copy elements: any dtype */
    for (int k = 0; k < at->n_ints / 2; k++) {
        int dim = t->shape.rank - 1 - k;
        int64_t lo = at->ints[2 * k], hi = at->ints[2 * k + 1];
        if (lo < 0 || hi < 0)
            return bad_attr(g, n, 0, d, "negative padding is not supported");
        Dim dd = t->shape.d[dim];
        if (!ir_dim_static(dd)) {
            int64_t both, most = lo > hi ? lo : hi;
            Dim fits;
            if (!ir_ckd_add_i64(lo, hi, &both) || !ir_dim_add_const(g, dd, both, &out.d[dim]) ||
                (mode == 1 && most > 0 && !ir_dim_add_const(g, dd, -most, &fits)))
                return bad_attr(g, n, 0, d,
                                "the padded size of a symbolic dimension overflows or needs a "
                                "symbolic dim and the model has 16 already");
            continue;
        }
        int64_t len = dd.c;
        if (mode == 1 && (lo >= len || hi >= len))
            return bad_attr(g, n, 0, d, "reflect padding must be smaller than the dimension");
        if (mode == 2 && len == 0 && (lo > 0 || hi > 0))
            return bad_attr(g, n, 0, d, "replicate padding of an empty dimension");
        int64_t size;
        if (!ir_ckd_add_i64(len, lo, &size) || !ir_ckd_add_i64(size, hi, &size))
            return bad_attr(g, n, 0, d, "the padded size overflows");
        out.d[dim] = ir_dim(size);
    }
    ir_shp_set_out(g, n, 0, t->dtype, &out);
    return true;
}

SHAPE_FN(concat)
{
    const Type *t0 = ir_shp_in_type(g, n, 0);
    int64_t ax;
    if (!norm_axis(ir_attr_axis(n), t0->shape.rank, &ax))
        return bad_attr(g, n, 0, d, "the axis is out of range");
    Shape out = t0->shape;
    for (int i = 1; i < n->n_inputs; i++) {
        const Type *t = ir_shp_in_type(g, n, i);
        bool ok = t->dtype == t0->dtype && t->shape.rank == t0->shape.rank;
        for (int k = 0; ok && k < t->shape.rank; k++)
            ok = k == ax || ir_dim_assume_eq(g, t->shape.d[k], t0->shape.d[k], n);
        /* sizes over different symbols sum to a derived symbol (S+1: a CLS token) */
        Dim sum = {0, out.d[ax].syms};
        if (ok && t->shape.d[ax].syms != out.d[ax].syms) {
            if (!ir_dim_add(g, out.d[ax], t->shape.d[ax], &sum))
                return bad_attr(g, n, i, d,
                                "the concatenated size needs a symbolic dim and the model "
                                "has 16 already");
        } else if (ok && !ir_ckd_add_i64(out.d[ax].c, t->shape.d[ax].c, &sum.c))
            return bad_attr(g, n, i, d, "the concatenated size overflows");
        if (!ok) {
            char a[256], b[256];
            ir_diag_error(
                d, n->loc,
                "concat '%s': %s and %s differ in dtype, rank or a dim other than axis %lld",
                n->name, ir_shp_describe(g, n->inputs[0], a, sizeof a),
                ir_shp_describe(g, n->inputs[i], b, sizeof b), (long long)ax);
            return false;
        }
        out.d[ax] = sum;
    }
    ir_shp_set_out(g, n, 0, t0->dtype, &out);
    return true;
}

SHAPE_FN(index_select)
{
    const Type *t = ir_shp_in_type(g, n, 0), *idx = ir_shp_in_type(g, n, 1);
    int64_t ax;
    if (idx->dtype != IR_I64 && idx->dtype != IR_I32)
        return bad_attr(g, n, 1, d, "indices must be i64 or i32");
    if (!norm_axis(ir_attr_axis(n), t->shape.rank, &ax))
        return bad_attr(g, n, 0, d, "the axis is out of range");
    if (!ir_shp_need_static(g, n, 0, (int)ax, "indexed dimension", d))
        return false;
    if (t->shape.rank - 1 + idx->shape.rank > IR_MAX_RANK)
        return bad_attr(g, n, 1, d, "the result would have too many dims");
    Shape out = {0, {{0}}};
    for (int i = 0; i < ax; i++)
        out.d[out.rank++] = t->shape.d[i];
    for (int i = 0; i < idx->shape.rank; i++)
        out.d[out.rank++] = idx->shape.d[i];
    for (int i = (int)ax + 1; i < t->shape.rank; i++)
        out.d[out.rank++] = t->shape.d[i];
    ir_shp_set_out(g, n, 0, t->dtype, &out);
    return true;
}

SHAPE_FN(resize)
{
    if (!ir_shp_need_float(g, n, 0, d) || !ir_shp_need_rank(g, n, 0, 4, "the input", d) ||
        !ir_shp_need_static(g, n, 0, 2, "spatial size", d) ||
        !ir_shp_need_static(g, n, 0, 3, "spatial size", d))
        return false;
    int64_t sz[2], mode = ir_attr_mode(n);
    if (!ir_attr_size(n, sz, 2) || sz[0] < 1 || sz[1] < 1)
        return bad_attr(g, n, 0, d, "the output size must be >= 1");
    if (mode != 0 && mode != 1)
        return bad_attr(g, n, 0, d, "the mode must be nearest or bilinear");
    const Shape *x = &ir_shp_in_type(g, n, 0)->shape;
    Shape out = {4, {x->d[0], x->d[1], ir_dim(sz[0]), ir_dim(sz[1])}};
    ir_shp_set_out(g, n, 0, IR_F32, &out);
    return true;
}

SHAPE_FN(conv_transpose2d)
{
    if (!ir_shp_need_float(g, n, 0, d) || !ir_shp_need_float(g, n, 1, d) ||
        !ir_shp_need_rank(g, n, 0, 4, "the input", d) ||
        !ir_shp_need_rank(g, n, 1, 4, "the weight", d))
        return false;
    /* the image's height and width may be symbolic: the output's are derived symbols */
    if (!ir_shp_need_static(g, n, 0, 1, "channel count", d))
        return false;
    int64_t stride[2], pad[2], opad[2], dil[2];
    ir_attr_stride(n, stride, 2);
    ir_attr_padding(n, pad, 2);
    ir_attr_output_padding(n, opad, 2);
    ir_attr_dilation(n, dil, 2);
    int64_t groups = ir_attr_groups(n);
    int64_t c = ir_shp_dim_of(g, n, 0, 1), wc = ir_shp_dim_of(g, n, 1, 0),
            og = ir_shp_dim_of(g, n, 1, 1);
    char a[256], b[256];
    if (groups < 1 || c % groups || wc != c) {
        ir_diag_error(
            d, n->loc,
            "conv_transpose2d '%s': the input has %lld channels, the weight (groups=%lld) "
            "expects %lld: input %s, weight %s",
            n->name, (long long)c, (long long)groups, (long long)wc,
            ir_shp_describe(g, n->inputs[0], a, sizeof a),
            ir_shp_describe(g, n->inputs[1], b, sizeof b));
        return false;
    }
    if (ir_shp_dim_of(g, n, 1, 2) < 1 || ir_shp_dim_of(g, n, 1, 3) < 1) {
        ir_diag_error(d, n->loc, "conv_transpose2d '%s': the weight's kernel is empty: %s", n->name,
                      ir_shp_describe(g, n->inputs[1], b, sizeof b));
        return false;
    }
    for (int i = 0; i < 2; i++)
        if (stride[i] < 1 || dil[i] < 1 || pad[i] < 0 || opad[i] < 0 ||
            (opad[i] >= stride[i] && opad[i] >= dil[i])) {
            ir_diag_error(d, n->loc,
                          "conv_transpose2d '%s': stride and dilation must be >= 1, padding >= 0, "
                          "output_padding smaller than stride or dilation",
                          n->name);
            return false;
        }
    int64_t o;
    if (!ir_ckd_mul_i64(og, groups, &o))
        return bad_attr(g, n, 1, d, "the output channel count overflows");
    if (n->n_inputs > 2 && n->inputs[2] != IR_NONE) {
        const Type *bt = ir_shp_in_type(g, n, 2);
        if (bt->shape.rank != 1 || !ir_dim_eq(bt->shape.d[0], ir_dim(o)) || bt->dtype != IR_F32) {
            ir_diag_error(d, n->loc, "conv_transpose2d '%s': the bias must be f32[%lld], got %s",
                          n->name, (long long)o, ir_shp_describe(g, n->inputs[2], b, sizeof b));
            return false;
        }
    }
    Dim hw[2];
    for (int i = 0; i < 2; i++) { /* (in - 1) * stride - 2 * pad + dil * (k - 1) + opad + 1 */
        const Dim in = ir_shp_in_type(g, n, 0)->shape.d[2 + i];
        int64_t add, t0, t1;
        if (!ir_ckd_mul_i64(2, pad[i], &t1) || !ir_ckd_sub_i64(opad[i] + 1, t1, &add) ||
            !ir_ckd_mul_i64(dil[i], ir_shp_dim_of(g, n, 1, 2 + i) - 1, &t0) ||
            !ir_ckd_add_i64(add, t0, &add) || !ir_ckd_sub_i64(add, stride[i], &add))
            return bad_attr(g, n, 0, d, "the output size overflows");
        if (ir_dim_static(in)) {
            int64_t v;
            if (!ir_ckd_mul_i64(in.c, stride[i], &v) || !ir_ckd_add_i64(v, add, &v))
                return bad_attr(g, n, 0, d, "the output size overflows");
            if (v < 1)
                return bad_attr(g, n, 0, d, "the output would be empty");
            hw[i] = ir_dim(v);
        } else if (!ir_dim_derive(g, in, ir_dim(stride[i]), ir_dim(0), add, 1, &hw[i]))
            return bad_attr(g, n, 0, d,
                            "the output size needs a symbolic dim and the model has 16");
    }
    Shape out = {4, {ir_shp_in_type(g, n, 0)->shape.d[0], ir_dim(o), hw[0], hw[1]}};
    ir_shp_set_out(g, n, 0, IR_F32, &out);
    return true;
}
