/* The ONNX importer's evaluation of constant subgraphs at import: PyTorch's shape code
 * (Shape, Gather, Unsqueeze, Concat, Cast, Slice...) on constants and static shapes, so
 * that a Reshape's target is known when the graph is built. Only small tensors. */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <math.h>
#include <string.h>

/* ---- folding at import: ops whose inputs are all constant ---- */

static bool all_const(const OxNode *n)
{
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] && !n->in[i]->is_const)
            return false;
    return true;
}

static bool fold_elementwise(OxImporter *im, const OxNode *n, const char *op)
{
    const OxConst *a = ox_const_in(n, 0), *b = ox_const_in(n, 1);
    if (!a || !b || a->dtype != b->dtype)
        return false;
    /* numpy broadcasting of the two shapes */
    int rank = a->rank > b->rank ? a->rank : b->rank;
    int64_t shape[IR_MAX_RANK], sa[IR_MAX_RANK], sb[IR_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        int ia = i - (rank - a->rank), ib = i - (rank - b->rank);
        sa[i] = ia >= 0 ? a->shape[ia] : 1;
        sb[i] = ib >= 0 ? b->shape[ib] : 1;
        if (sa[i] != sb[i] && sa[i] != 1 && sb[i] != 1)
            return false;
        shape[i] = sa[i] == 1 ? sb[i] : sa[i];
    }
    int64_t nn;
    if (!ir_ckd_numel(shape, rank, &nn) || nn > 4096)
        return false; /* only small shape tensors */
    OxConst r;
    bool cmp = !strcmp(op, "Equal") || !strcmp(op, "Less") || !strcmp(op, "Greater") ||
               !strcmp(op, "And") || !strcmp(op, "Or") || !strcmp(op, "Xor");
    ox_const_make(im, &r, cmp ? IR_BOOL : a->dtype, rank, shape);
    bool is_int = a->dtype == IR_I64 || a->dtype == IR_I32;
    for (int64_t i = 0; i < nn; i++) {
        int64_t ia = 0, ib = 0, rest = i, sta = 1, stb = 1;
        for (int k = rank - 1; k >= 0; k--) { /* the element's index in each operand */
            int64_t idx = rest % shape[k];
            rest /= shape[k];
            ia += (sa[k] == 1 ? 0 : idx) * sta;
            ib += (sb[k] == 1 ? 0 : idx) * stb;
            sta *= sa[k];
            stb *= sb[k];
        }
        double x = ox_const_get(a, ia), y = ox_const_get(b, ib);
        double v = 0;
        if (!strcmp(op, "Add"))
            v = x + y;
        else if (!strcmp(op, "Sub"))
            v = x - y;
        else if (!strcmp(op, "Mul"))
            v = x * y;
        else if (!strcmp(op, "Div")) {
            if (is_int && y == 0)
                return false;
            v = is_int ? trunc(x / y) : x / y;
        } else if (!strcmp(op, "Equal"))
            v = x == y;
        else if (!strcmp(op, "Less"))
            v = x < y;
        else if (!strcmp(op, "Greater"))
            v = x > y;
        else if (!strcmp(op, "And"))
            v = x != 0 && y != 0;
        else if (!strcmp(op, "Or"))
            v = x != 0 || y != 0;
        else if (!strcmp(op, "Xor"))
            v = (x != 0) != (y != 0);
        else if (!strcmp(op, "Mod")) {
            if (y == 0)
                return false;
            v = fmod(x, y);
            if (!ox_attr_int(n, "fmod", 0) && v != 0 && ((v < 0) != (y < 0)))
                v += y; /* integer Mod takes the divisor's sign, as Python's % */
        } else if (!strcmp(op, "Max"))
            v = x > y ? x : y;
        else if (!strcmp(op, "Min"))
            v = x < y ? x : y;
        ox_const_set(&r, i, v);
    }
    ox_bind_const(im, n->out[0], &r);
    return true;
}

/* Evaluates n at import when it is a shape computation; true when it did. */
/* Slice (opset 10 on) of a small constant a: ONNX's clamping, any step but 0 (negative:
 * start clamped to [0, len-1], end to [-1, len-1]). PyTorch's pad export reverses its pads
 * with a step -1 slice of a [rank, 2] constant. */
static bool fold_slice(OxImporter *im, const OxNode *n, const OxConst *a)
{
    int64_t st[IR_MAX_RANK], en[IR_MAX_RANK], axes[IR_MAX_RANK], steps[IR_MAX_RANK];
    int r = a->rank, k = ox_ints_input(im, n, 1, st, IR_MAX_RANK);
    if (r < 1 || k < 1 || k > r || ox_ints_input(im, n, 2, en, IR_MAX_RANK) != k)
        return false;
    int ka = ox_ints_input(im, n, 3, axes, IR_MAX_RANK),
        ks = ox_ints_input(im, n, 4, steps, IR_MAX_RANK);
    if ((ka != -1 && ka != k) || (ks != -1 && ks != k))
        return false;
    int64_t lo[IR_MAX_RANK], step[IR_MAX_RANK], shape[IR_MAX_RANK];
    for (int d = 0; d < r; d++) {
        lo[d] = 0;
        step[d] = 1;
        shape[d] = a->shape[d];
    }
    for (int i = 0; i < k; i++) {
        int64_t ax = ka == k ? axes[i] : i, sp = ks == k ? steps[i] : 1;
        if (ax < 0)
            ax += r;
        if (ax < 0 || ax >= r)
            return false;
        int64_t len = a->shape[ax], b = st[i], e = en[i], cnt;
        if (sp == 0 || sp < -len - 1 || sp > len + 1)
            return false;
        if (b < 0)
            b += len;
        if (e < 0)
            e += len;
        if (sp > 0) { /* ONNX's clamping: [0, len] forwards, [-1, len-1] backwards */
            b = b < 0 ? 0 : b > len ? len : b;
            e = e < 0 ? 0 : e > len ? len : e;
            cnt = e > b ? (e - b - 1) / sp + 1 : 0;
        } else {
            b = b < 0 ? 0 : b > len - 1 ? len - 1 : b;
            e = e < -1 ? -1 : e > len - 1 ? len - 1 : e;
            cnt = b > e ? (b - e - 1) / -sp + 1 : 0;
        }
        lo[ax] = b;
        step[ax] = sp;
        shape[ax] = cnt;
    }
    OxConst res;
    if (!ox_const_make(im, &res, a->dtype, r, shape))
        return false;
    for (int64_t j = 0; j < ox_const_numel(&res); j++) {
        int64_t rest = j, src = 0, stride = 1;
        for (int d = r - 1; d >= 0; d--) { /* the element's index in a */
            int64_t idx = rest % shape[d];
            rest /= shape[d];
            src += (lo[d] + idx * step[d]) * stride;
            stride *= a->shape[d];
        }
        ox_const_set(&res, j, ox_const_get(a, src));
    }
    ox_bind_const(im, n->out[0], &res);
    return true;
}

/* Transpose of a small constant a (perm defaults to the reversed dims). */
static bool fold_transpose(OxImporter *im, const OxNode *n, const OxConst *a)
{
    int64_t perm[IR_MAX_RANK], shape[IR_MAX_RANK], stride[IR_MAX_RANK];
    int r = a->rank, kp = ox_attr_ints(n, "perm", perm, IR_MAX_RANK);
    if (kp == 0)
        for (int d = 0; d < r; d++)
            perm[d] = r - 1 - d;
    else if (kp != r)
        return false;
    unsigned seen = 0;
    for (int d = 0; d < r; d++) {
        if (perm[d] < 0 || perm[d] >= r || (seen >> perm[d] & 1u))
            return false;
        seen |= 1u << perm[d];
        shape[d] = a->shape[perm[d]];
    }
    for (int d = r - 1, s = 1; d >= 0; s *= (int)a->shape[d], d--)
        stride[d] = s;
    OxConst res;
    if (!ox_const_make(im, &res, a->dtype, r, shape))
        return false;
    for (int64_t j = 0; j < ox_const_numel(&res); j++) {
        int64_t rest = j, src = 0;
        for (int d = r - 1; d >= 0; d--) {
            src += rest % shape[d] * stride[perm[d]];
            rest /= shape[d];
        }
        ox_const_set(&res, j, ox_const_get(a, src));
    }
    ox_bind_const(im, n->out[0], &res);
    return true;
}

bool ox_fold(OxImporter *im, const OxNode *n)
{
    const char *op = n->p->op_type;
    if (!strcmp(op, "Shape") && ox_has_in(n, 0)) {
        ValueId v = ox_in(im, n, 0);
        const Shape *s = &ox_ty(im, v)->shape;
        if (s->rank < 0)
            return false;
        int64_t st = ox_attr_int(n, "start", 0), en = ox_attr_int(n, "end", s->rank);
        if (st < 0)
            st += s->rank;
        if (en < 0)
            en += s->rank;
        st = st < 0 ? 0 : st > s->rank ? s->rank : st;
        en = en < 0 ? 0 : en > s->rank ? s->rank : en;
        int64_t len = en > st ? en - st : 0;
        for (int64_t i = st; i < en; i++)
            if (!ir_dim_static(s->d[i]))
                return false;
        OxConst r;
        ox_const_make(im, &r, IR_I64, 1, &len);
        for (int64_t i = st; i < en; i++)
            ox_const_set(&r, i - st, (double)s->d[i].c);
        ox_bind_const(im, n->out[0], &r);
        return true;
    }
    if (!strcmp(op, "Size") && ox_has_in(n, 0)) {
        const Shape *s = &ox_ty(im, ox_in(im, n, 0))->shape;
        Dim nd;
        if (s->rank < 0 || !ir_shape_numel(s, &nd) || nd.syms)
            return false;
        OxConst r;
        ox_const_make(im, &r, IR_I64, 0, NULL);
        ox_const_set(&r, 0, (double)nd.c);
        ox_bind_const(im, n->out[0], &r);
        return true;
    }
    if (n->n_in == 0 || !all_const(n))
        return false;
    const OxConst *a = ox_const_in(n, 0);
    if (!a)
        return false;
    int64_t na = ox_const_numel(a);
    if (na > 4096)
        return false; /* only small shape tensors */
    if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) {
        ox_bind_const(im, n->out[0], a);
        return true;
    }
    if (!strcmp(op, "Not") && a->dtype == IR_BOOL) {
        OxConst r;
        ox_const_make(im, &r, IR_BOOL, a->rank, a->shape);
        for (int64_t i = 0; i < na; i++)
            ox_const_set(&r, i, ox_const_get(a, i) == 0);
        ox_bind_const(im, n->out[0], &r);
        return true;
    }
    if (!strcmp(op, "Where") && n->n_in == 3) {
        /* cond, x, y: each of one shape or a single element */
        const OxConst *ops[3] = {a, ox_const_in(n, 1), ox_const_in(n, 2)};
        const OxConst *big = ops[1];
        for (int k = 0; k < 3; k++)
            if (ox_const_numel(ops[k]) > ox_const_numel(big))
                big = ops[k];
        int64_t nb = ox_const_numel(big);
        if (ops[1]->dtype != ops[2]->dtype || nb > 4096)
            return false;
        for (int k = 0; k < 3; k++)
            if (ox_const_numel(ops[k]) != 1 &&
                (ops[k]->rank != big->rank || ox_const_numel(ops[k]) != nb))
                return false;
        OxConst r;
        ox_const_make(im, &r, ops[1]->dtype, big->rank, big->shape);
        for (int64_t i = 0; i < nb; i++) {
            int64_t ic = ox_const_numel(a) == 1 ? 0 : i;
            const OxConst *pick = ox_const_get(a, ic) != 0 ? ops[1] : ops[2];
            ox_const_set(&r, i, ox_const_get(pick, ox_const_numel(pick) == 1 ? 0 : i));
        }
        ox_bind_const(im, n->out[0], &r);
        return true;
    }
    if ((!strcmp(op, "Neg") || !strcmp(op, "Abs") || !strcmp(op, "Sqrt") ||
         !strcmp(op, "Reciprocal") || !strcmp(op, "Floor") || !strcmp(op, "Ceil")) &&
        n->n_in == 1) {
        bool is_int = a->dtype == IR_I64 || a->dtype == IR_I32;
        if (!is_int && a->dtype != IR_F32)
            return false;
        OxConst r;
        ox_const_make(im, &r, a->dtype, a->rank, a->shape);
        for (int64_t i = 0; i < na; i++) {
            double x = ox_const_get(a, i), v;
            if (!strcmp(op, "Neg"))
                v = -x;
            else if (!strcmp(op, "Abs"))
                v = fabs(x);
            else if (!strcmp(op, "Sqrt"))
                v = sqrt(x);
            else if (!strcmp(op, "Floor"))
                v = floor(x);
            else if (!strcmp(op, "Ceil"))
                v = ceil(x);
            else
                v = 1.0 / x;
            ox_const_set(&r, i, v);
        }
        ox_bind_const(im, n->out[0], &r);
        return true;
    }
    if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div") ||
        !strcmp(op, "Equal") || !strcmp(op, "Less") || !strcmp(op, "Greater") ||
        !strcmp(op, "Mod") || !strcmp(op, "And") || !strcmp(op, "Or") || !strcmp(op, "Xor") ||
        ((!strcmp(op, "Max") || !strcmp(op, "Min")) && n->n_in == 2))
        return a->dtype != IR_F32 && fold_elementwise(im, n, op);
    if (!strcmp(op, "Cast")) {
        DType to;
        int64_t t = ox_attr_int(n, "to", 1);
        switch (t) {
        case 1: to = IR_F32; break;
        case 6: to = IR_I32; break;
        case 7: to = IR_I64; break;
        case 9: to = IR_BOOL; break;
        default: return false;
        }
        OxConst r;
        ox_const_make(im, &r, to, a->rank, a->shape);
        for (int64_t i = 0; i < na; i++)
            ox_const_set(&r, i, ox_const_get(a, i));
        ox_bind_const(im, n->out[0], &r);
        return true;
    }
    if (!strcmp(op, "Concat") && a->rank == 1) {
        int64_t total = 0;
        for (int i = 0; i < n->n_in; i++) {
            const OxConst *c = ox_const_in(n, i);
            if (!c || c->rank != 1 || c->dtype != a->dtype)
                return false;
            if (!ir_ckd_add_i64(total, c->shape[0], &total))
                return false;
        }
        OxConst r;
        if (!ox_const_make(im, &r, a->dtype, 1, &total))
            return false;
        int64_t k = 0;
        for (int i = 0; i < n->n_in; i++)
            for (int64_t j = 0; j < n->in[i]->c.shape[0]; j++)
                ox_const_set(&r, k++, ox_const_get(&n->in[i]->c, j));
        ox_bind_const(im, n->out[0], &r);
        return true;
    }
    if (!strcmp(op, "Gather") && a->rank == 1 && ox_attr_int(n, "axis", 0) == 0) {
        const OxConst *idx = ox_const_in(n, 1);
        if (!idx || idx->rank > 1)
            return false;
        int64_t k = ox_const_numel(idx);
        OxConst r;
        if (!ox_const_make(im, &r, a->dtype, idx->rank, &k))
            return false;
        for (int64_t j = 0; j < k; j++) {
            int64_t i = ox_const_get_i(idx, j);
            if (i < 0)
                i += na;
            if (i < 0 || i >= na)
                return false;
            ox_const_set(&r, j, ox_const_get(a, i));
        }
        ox_bind_const(im, n->out[0], &r);
        return true;
    }
    if ((!strcmp(op, "ReduceProd") || !strcmp(op, "ReduceSum")) && a->rank == 1 &&
        (a->dtype == IR_I64 || a->dtype == IR_I32) && n->n_in == 1) {
        /* a shape's element count (x.std's divisor): every axis, the only one there is */
        int64_t axes[2];
        int k = ox_attr_ints(n, "axes", axes, 2);
        if (k > 1 || (k == 1 && axes[0] != 0 && axes[0] != -1))
            return false;
        bool prod = !strcmp(op, "ReduceProd");
        int64_t v = prod ? 1 : 0, one = 1;
        for (int64_t j = 0; j < na; j++)
            if (!(prod ? ir_ckd_mul_i64(v, ox_const_get_i(a, j), &v)
                       : ir_ckd_add_i64(v, ox_const_get_i(a, j), &v)))
                return false;
        OxConst r;
        bool keep = ox_attr_int(n, "keepdims", 1) != 0;
        if (!ox_const_make(im, &r, a->dtype, keep ? 1 : 0, &one))
            return false;
        ox_const_set(&r, 0, (double)v);
        ox_bind_const(im, n->out[0], &r);
        return true;
    }
    if (!strcmp(op, "Slice") && im->opset >= 10)
        return fold_slice(im, n, a);
    if (!strcmp(op, "Transpose") && a->rank >= 1)
        return fold_transpose(im, n, a);
    if (!strcmp(op, "ConstantOfShape") && a->rank == 1) {
        int64_t shape[IR_MAX_RANK];
        if (na > IR_MAX_RANK)
            return false;
        int64_t total = 1;
        for (int64_t i = 0; i < na; i++) {
            shape[i] = ox_const_get_i(a, i);
            if (shape[i] < 0 || shape[i] > (1 << 22) || (total *= shape[i]) > (1 << 22))
                return false; /* left to the unsupported path: not a shape computation */
        }
        const Onnx__AttributeProto *va = ox_attr(n, "value");
        OxConst val;
        if (va && va->t) {
            if (!ox_tensor_to_const(im, va->t, "ConstantOfShape value", &val))
                return false;
        } else {
            ox_const_make(im, &val, IR_F32, 0, NULL);
        }
        OxConst r;
        ox_const_make(im, &r, val.dtype, (int)na, shape);
        int64_t k = ox_const_numel(&r);
        double x = ox_const_get(&val, 0);
        for (int64_t i = 0; i < k; i++)
            ox_const_set(&r, i, x);
        ox_bind_const(im, n->out[0], &r);
        return true;
    }
    if (!strcmp(op, "Range")) {
        const OxConst *lim = ox_const_in(n, 1), *dl = ox_const_in(n, 2);
        if (!lim || !dl)
            return false;
        double s = ox_const_get(a, 0), l = ox_const_get(lim, 0), step = ox_const_get(dl, 0);
        if (step == 0)
            return false;
        double cnt = ceil((l - s) / step);
        if (!(cnt <= 1 << 20)) /* NaN and inf too: no undefined conversion below */
            return false;
        int64_t k = cnt > 0 ? (int64_t)cnt : 0;
        OxConst r;
        ox_const_make(im, &r, a->dtype, 1, &k);
        for (int64_t i = 0; i < k; i++)
            ox_const_set(&r, i, s + (double)i * step);
        ox_bind_const(im, n->out[0], &r);
        return true;
    }
    return false;
}

#endif
