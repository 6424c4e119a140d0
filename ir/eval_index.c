/* Reference semantics of the index ops: argmax, argmin, gather_elements,
 * scatter_elements, cumsum, reduce_prod and mod (ir/ops.def states them). Plain loops
 * over flat indices, any dtype the shape functions let through: integers computed in
 * 64 bits with two's-complement wrap-around (then truncated to their width), f32 in
 * float, f64 in double, f16/bf16 in float. */
#include "ir/eval_internal.h"
#include "ir/index_ops.h"
#include "ir/resize_taps.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* How an element is read: as a float of some width, or a signed or unsigned integer. */
typedef enum ElemKind { EK_F32, EK_F64, EK_F16, EK_BF16, EK_SINT, EK_UINT } ElemKind;

static ElemKind kind_of(DType t)
{
    switch (t) {
    case IR_F32: return EK_F32;
    case IR_F64: return EK_F64;
    case IR_F16: return EK_F16;
    case IR_BF16: return EK_BF16;
    case IR_BOOL: return EK_UINT;
    default: return ir_dtype_name(t)[0] == 'u' ? EK_UINT : EK_SINT;
    }
}

static bool is_float_kind(ElemKind k)
{
    return k == EK_F32 || k == EK_F64 || k == EK_F16 || k == EK_BF16;
}

/* f32 to f16, nearest even (as the generated code's slimc_cg_f32_to_f16). */
static uint16_t f32_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    const uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u)
        return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u));
    if (ax >= 0x477ff000u)
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) {
        float av;
        memcpy(&av, &ax, sizeof av);
        const float scaled = av * 16777216.0f;
        uint32_t q = (uint32_t)scaled;
        const float rem = scaled - (float)q;
        if (rem > 0.5f || (rem == 0.5f && (q & 1u)))
            q++;
        return (uint16_t)(sign | q);
    }
    return (uint16_t)(sign | ((ax + 0xfffu + ((ax >> 13) & 1u) - (112u << 23)) >> 13));
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Integer element i of data (dtype t), sign- or zero-extended, as 64 bits. */
static uint64_t int_get(DType t, const void *data, int64_t i)
{
    size_t es = (size_t)ir_dtype_bits(t) / 8;
    uint64_t v = 0;
    memcpy(&v, (const char *)data + (size_t)i * es, es); /* little-endian */
    if (kind_of(t) == EK_SINT && es < 8 && (v >> (es * 8 - 1)) & 1u)
        v |= ~(uint64_t)0 << (es * 8);
    return v;
}

static void int_set(DType t, void *data, int64_t i, uint64_t v)
{
    size_t es = (size_t)ir_dtype_bits(t) / 8;
    memcpy((char *)data + (size_t)i * es, &v, es); /* little-endian: the low bytes */
}

/* Float element i of data as a double (f16/bf16 widened). */
static double flt_get(DType t, const void *data, int64_t i)
{
    switch (kind_of(t)) {
    case EK_F32: return ((const float *)data)[i];
    case EK_F64: return ((const double *)data)[i];
    case EK_F16: return (float)ir_f16_value(((const uint16_t *)data)[i]);
    case EK_BF16: return bf16_to_f32(((const uint16_t *)data)[i]);
    case EK_SINT:
    case EK_UINT: break;
    }
    SLIMC_ASSERT(0 && "not a float dtype");
    return 0;
}

/* Stores v rounded to t's precision (f32 and narrower round through float). */
static void flt_set(DType t, void *data, int64_t i, double v)
{
    switch (kind_of(t)) {
    case EK_F32: ((float *)data)[i] = (float)v; return;
    case EK_F64: ((double *)data)[i] = v; return;
    case EK_F16: ((uint16_t *)data)[i] = f32_to_half((float)v); return;
    case EK_BF16: ((uint16_t *)data)[i] = ir_bf16_bits((double)(float)v); return;
    case EK_SINT:
    case EK_UINT: break;
    }
    SLIMC_ASSERT(0 && "not a float dtype");
}

/* Element i as a long double, exact for every dtype here (for comparisons). */
static long double any_get(DType t, const void *data, int64_t i)
{
    ElemKind k = kind_of(t);
    if (is_float_kind(k))
        return flt_get(t, data, i);
    uint64_t v = int_get(t, data, i);
    return k == EK_SINT ? (long double)(int64_t)v : (long double)v;
}

static DType dtype_in(const EvalCtx *c, int i)
{
    return c->g->values[c->n->inputs[i]].type.dtype;
}

static int64_t norm_axis(int64_t axis, int rank)
{
    return axis < 0 ? axis + rank : axis;
}

/* [outer, len, inner] of dims around axis. */
static void split_axis(const Dims *s, int64_t ax, int64_t *outer, int64_t *len, int64_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < s->rank; i++) {
        if (i < ax)
            *outer *= s->d[i];
        else if (i > ax)
            *inner *= s->d[i];
    }
    *len = s->d[ax];
}

static void eval_argreduce(const EvalCtx *c)
{
    const Dims *xs = &c->in_dims[0];
    int64_t ax = norm_axis(ir_attr_axis(c->n), xs->rank), outer, len, inner;
    split_axis(xs, ax, &outer, &len, &inner);
    bool is_max = c->n->op == IR_OP_ARGMAX, last = ir_attr_select_last(c->n) != 0;
    DType t = dtype_in(c, 0);
    int64_t *out = c->out_raw;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t best = 0;
            long double bv = 0;
            bool have = false;
            for (int64_t r = 0; r < len; r++) {
                long double v = any_get(t, c->in[0], (o * len + r) * inner + i);
                if (v != v)
                    continue; /* NaN is never picked */
                bool better =
                    !have || (is_max ? (last ? v >= bv : v > bv) : (last ? v <= bv : v < bv));
                if (better) {
                    best = r;
                    bv = v;
                    have = true;
                }
            }
            out[o * inner + i] = best;
        }
}

/* The index read at flat position p of input 1, made non-negative; false (with an error)
 * when out of [0, len). */
static bool index_at(const EvalCtx *c, int64_t p, int64_t len, int64_t *r)
{
    int64_t v = (int64_t)int_get(dtype_in(c, 1), c->in[1], p);
    if (v < 0)
        v += len;
    if (v < 0 || v >= len) {
        ir_diag_error(c->d, c->n->loc,
                      "%s '%s': index %lld is out of range for a dimension of %lld",
                      ir_ops[c->n->op].name, c->n->name,
                      (long long)int_get(dtype_in(c, 1), c->in[1], p), (long long)len);
        return false;
    }
    *r = v;
    return true;
}

/* The offset in x (shape xs) of idx-shaped position p with the axis coordinate set to r. */
static int64_t remap(const Dims *is, const Dims *xs, int64_t ax, int64_t p, int64_t r)
{
    int64_t off = 0, stride = 1;
    for (int i = is->rank - 1; i >= 0; i--) {
        int64_t coord = p % is->d[i];
        p /= is->d[i];
        off += (i == ax ? r : coord) * stride;
        stride *= xs->d[i];
    }
    return off;
}

static bool eval_gather_elements(const EvalCtx *c)
{
    const Dims *xs = &c->in_dims[0], *is = &c->in_dims[1];
    int64_t ax = norm_axis(ir_attr_axis(c->n), xs->rank);
    size_t es = (size_t)ir_dtype_bits(dtype_in(c, 0)) / 8;
    int64_t total = dims_numel(is);
    for (int64_t p = 0; p < total; p++) {
        int64_t r;
        if (!index_at(c, p, xs->d[ax], &r))
            return false;
        memcpy((char *)c->out_raw + (size_t)p * es,
               (const char *)c->in[0] + (size_t)remap(is, xs, ax, p, r) * es, es);
    }
    return true;
}

/* dst[i] = dst[i] (reduction) src[j] for scatter's reduction red (1 add, 2 mul, 3 max,
 * 4 min) in dtype t. */
static void combine(DType t, void *dst, int64_t i, const void *src, int64_t j, int64_t red)
{
    size_t es = (size_t)ir_dtype_bits(t) / 8;
    ElemKind k = kind_of(t);
    if (red >= 3) {
        long double a = any_get(t, dst, i), b = any_get(t, src, j);
        if (red == 3 ? b > a : b < a)
            memcpy((char *)dst + (size_t)i * es, (const char *)src + (size_t)j * es, es);
        return;
    }
    if (k == EK_F32) {
        float a = ((float *)dst)[i], b = ((const float *)src)[j];
        ((float *)dst)[i] = red == 1 ? a + b : a * b;
    } else if (is_float_kind(k)) {
        double a = flt_get(t, dst, i), b = flt_get(t, src, j);
        flt_set(t, dst, i, red == 1 ? a + b : a * b);
    } else {
        uint64_t a = int_get(t, dst, i), b = int_get(t, src, j);
        int_set(t, dst, i, red == 1 ? a + b : a * b);
    }
}

static bool eval_scatter_elements(const EvalCtx *c)
{
    const Dims *xs = &c->in_dims[0], *is = &c->in_dims[1];
    int64_t ax = norm_axis(ir_attr_axis(c->n), xs->rank);
    int64_t red = ir_attr_reduction(c->n);
    DType t = dtype_in(c, 0);
    size_t es = (size_t)ir_dtype_bits(t) / 8;
    memcpy(c->out_raw, c->in[0], es * (size_t)dims_numel(xs));
    int64_t total = dims_numel(is);
    for (int64_t p = 0; p < total; p++) { /* in order: the last of duplicates wins */
        int64_t r;
        if (!index_at(c, p, xs->d[ax], &r))
            return false;
        int64_t o = remap(is, xs, ax, p, r);
        if (red == 0)
            memcpy((char *)c->out_raw + (size_t)o * es, (const char *)c->in[2] + (size_t)p * es,
                   es);
        else
            combine(t, c->out_raw, o, c->in[2], p, red);
    }
    return true;
}

static void eval_cumsum(const EvalCtx *c)
{
    const Dims *xs = &c->in_dims[0];
    int64_t ax = norm_axis(ir_attr_axis(c->n), xs->rank), outer, len, inner;
    split_axis(xs, ax, &outer, &len, &inner);
    bool excl = ir_attr_exclusive(c->n) != 0, rev = ir_attr_reverse(c->n) != 0;
    DType t = dtype_in(c, 0);
    ElemKind k = kind_of(t);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            float af = 0.0f;
            double ad = 0.0;
            uint64_t ai = 0;
            for (int64_t s = 0; s < len; s++) {
                int64_t r = rev ? len - 1 - s : s, p = (o * len + r) * inner + i;
                if (k == EK_F32) {
                    float v = ((const float *)c->in[0])[p];
                    ((float *)c->out_raw)[p] = excl ? af : af + v;
                    af += v;
                } else if (is_float_kind(k)) {
                    double v = flt_get(t, c->in[0], p);
                    flt_set(t, c->out_raw, p, excl ? ad : ad + v);
                    ad += v;
                } else {
                    uint64_t v = int_get(t, c->in[0], p);
                    int_set(t, c->out_raw, p, excl ? ai : ai + v);
                    ai += v;
                }
            }
        }
}

/* f32 only (the reduce shape function requires it); the product of no elements is 1. */
static void eval_reduce_prod(const EvalCtx *c)
{
    const float *x = c->in[0];
    const Dims *xs = &c->in_dims[0];
    const Attr *at = ir_node_attr_id(c->n, IR_A_axes);
    unsigned mask = 0;
    if (!at || at->n_ints == 0)
        mask = (1u << xs->rank) - 1;
    for (int i = 0; at && i < at->n_ints; i++)
        mask |= 1u << norm_axis(at->ints[i], xs->rank);
    int64_t ost[IR_MAX_RANK], s = 1;
    for (int i = xs->rank - 1; i >= 0; i--) {
        ost[i] = (mask & (1u << i)) ? 0 : s;
        s *= (mask & (1u << i)) ? 1 : xs->d[i];
    }
    int64_t total_out = dims_numel(&c->out_dims), total = dims_numel(xs);
    for (int64_t i = 0; i < total_out; i++)
        c->out[i] = 1.0f;
    for (int64_t i = 0; i < total; i++)
        c->out[bcast_offset(xs, ost, i)] *= x[i];
}

/* Python's % (fmod 0: the sign of b) or C's (fmod 1: the sign of a); b == 0 gives 0. */
static int64_t mod_signed(int64_t a, int64_t b, bool fmod_)
{
    if (b == 0 || b == -1) /* -1: INT64_MIN % -1 overflows; the remainder is 0 anyway */
        return 0;
    int64_t r = a % b;
    if (!fmod_ && r != 0 && ((r < 0) != (b < 0)))
        r += b;
    return r;
}

static void eval_mod(const EvalCtx *c)
{
    DType t = dtype_in(c, 0);
    ElemKind k = kind_of(t);
    bool fm = ir_attr_fmod(c->n) != 0;
    int64_t st0[IR_MAX_RANK], st1[IR_MAX_RANK], total = dims_numel(&c->out_dims);
    bcast_strides(&c->out_dims, &c->in_dims[0], st0);
    bcast_strides(&c->out_dims, &c->in_dims[1], st1);
    for (int64_t i = 0; i < total; i++) {
        int64_t p0 = bcast_offset(&c->out_dims, st0, i), p1 = bcast_offset(&c->out_dims, st1, i);
        if (k == EK_F64) {
            double a = flt_get(t, c->in[0], p0), b = flt_get(t, c->in[1], p1), r = fmod(a, b);
            if (!fm && r != 0 && ((r < 0) != (b < 0)))
                r += b;
            flt_set(t, c->out_raw, i, r);
        } else if (is_float_kind(k)) {
            float a = (float)flt_get(t, c->in[0], p0), b = (float)flt_get(t, c->in[1], p1);
            float r = fmodf(a, b);
            if (!fm && r != 0 && ((r < 0) != (b < 0)))
                r += b;
            flt_set(t, c->out_raw, i, r);
        } else if (k == EK_SINT) {
            int64_t a = (int64_t)int_get(t, c->in[0], p0), b = (int64_t)int_get(t, c->in[1], p1);
            int_set(t, c->out_raw, i, (uint64_t)mod_signed(a, b, fm));
        } else {
            uint64_t a = int_get(t, c->in[0], p0), b = int_get(t, c->in[1], p1);
            int_set(t, c->out_raw, i, b ? a % b : 0);
        }
    }
}

/* resize_axis: each output position is its taps' weighted sum (in double). */
static bool eval_resize_axis(const EvalCtx *c)
{
    const Dims *xs = &c->in_dims[0];
    int64_t ax = norm_axis(ir_attr_axis(c->n), xs->rank), outer, len, inner;
    split_axis(xs, ax, &outer, &len, &inner);
    ResizeTaps t;
    const int64_t to = ir_attr_size_sym(c->n) >= 0 ? c->out_dims.d[ax] : 0; /* symbol's size */
    if (!ir_resize_taps_to(c->n, len, to, &t)) {
        ir_diag_error(c->d, c->n->loc, "resize_axis '%s': out of memory", c->n->name);
        return false;
    }
    const float *x = c->in[0];
    double ev = ir_attr_extrapolation(c->n);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < t.out_len; j++)
            for (int64_t i = 0; i < inner; i++) {
                double acc = 0;
                for (int k = 0; k < t.k; k++)
                    acc += t.w[j * t.k + k] * x[(o * len + t.idx[j * t.k + k]) * inner + i];
                c->out[(o * t.out_len + j) * inner + i] = (float)(t.extrap[j] ? ev : acc);
            }
    ir_resize_taps_free(&t);
    return true;
}

/* x reflected into [lo, hi] by its nearer border, as often as it takes (ONNX GridSample). */
static float gs_reflect(float x, float lo, float hi)
{
    float rng = hi - lo;
    if (!(rng > 0))
        return lo;
    if (x < lo || x > hi) {
        float dx = x < lo ? lo - x : x - hi, q = floorf(dx / rng), r = dx - q * rng;
        bool even = fmodf(q, 2.0f) == 0;
        return x < lo ? (even ? lo + r : hi - r) : (even ? hi - r : lo + r);
    }
    return x;
}

/* The source index of whole position p along a dim of length len under padding pad (0
 * zeros: -1 outside, 1 border, 2 reflection); p is truncated toward zero. */
static int64_t gs_index(float p, int64_t len, int pad, float lo, float hi)
{
    if (pad == 2)
        p = gs_reflect(p, lo, hi);
    p = truncf(p);
    if (pad == 0)
        return p >= 0 && p < (float)len ? (int64_t)p : -1;
    if (!(p >= 0)) /* NaN too */
        return 0;
    return p > (float)(len - 1) ? len - 1 : (int64_t)p;
}

/* The taps (index, weight) along one spatial dim of length len for the normalized
 * coordinate v; returns their count (1, 2 or 4). */
static int gs_taps(float v, int64_t len, int mode, int pad, bool align, int64_t *idx, float *w)
{
    float fl = (float)len;
    float x = align ? (v + 1.0f) / 2.0f * (fl - 1.0f) : ((v + 1.0f) * fl - 1.0f) / 2.0f;
    float lo = align ? 0.0f : -0.5f, hi = align ? fl - 1.0f : fl - 0.5f;
    if (mode == 0)
        x = rintf(x);
    if (x < lo || x > hi) {
        if (pad == 1)
            x = x < 0 ? 0.0f : x > fl - 1.0f ? fl - 1.0f : x;
        else if (pad == 2)
            x = gs_reflect(x, lo, hi);
    }
    if (mode == 0) {
        idx[0] = gs_index(x, len, pad, lo, hi);
        w[0] = 1.0f;
        return 1;
    }
    float x0 = floorf(x), t = x - x0;
    if (mode == 1) {
        w[0] = 1.0f - t;
        w[1] = t;
    } else {
        const float a = -0.75f;
        float t1 = t + 1.0f, u = 1.0f - t, u1 = 2.0f - t;
        w[0] = ((a * t1 - 5.0f * a) * t1 + 8.0f * a) * t1 - 4.0f * a;
        w[1] = ((a + 2.0f) * t - (a + 3.0f)) * t * t + 1.0f;
        w[2] = ((a + 2.0f) * u - (a + 3.0f)) * u * u + 1.0f;
        w[3] = ((a * u1 - 5.0f * a) * u1 + 8.0f * a) * u1 - 4.0f * a;
    }
    int k = mode == 1 ? 2 : 4;
    for (int i = 0; i < k; i++)
        idx[i] = gs_index(x0 + (float)(i - (mode == 2)), len, pad, lo, hi);
    return k;
}

static void eval_grid_sample(const EvalCtx *c)
{
    const Dims *xs = &c->in_dims[0], *gs = &c->in_dims[1];
    int s = xs->rank - 2, mode = (int)ir_attr_mode_or(c->n, 1);
    int pad = (int)ir_attr_padding_mode(c->n);
    bool align = ir_attr_align_corners(c->n) != 0;
    const float *x = c->in[0], *grid = c->in[1];
    int64_t nb = xs->d[0], ch = xs->d[1], plane = 1, opos = 1;
    for (int i = 0; i < s; i++) {
        plane *= xs->d[2 + i];
        opos *= gs->d[1 + i];
    }
    for (int64_t b = 0; b < nb; b++)
        for (int64_t p = 0; p < opos; p++) {
            int64_t idx[3][4] = {{0}}, st[3];
            float w[3][4] = {{0}};
            int k[3] = {1, 1, 1};
            const float *gv = grid + (b * opos + p) * s;
            for (int i = 0; i < s; i++) { /* the grid's coordinates run innermost dim first */
                int dim = s - 1 - i;
                k[dim] = gs_taps(gv[i], xs->d[2 + dim], mode, pad, align, idx[dim], w[dim]);
            }
            int64_t acc = 1;
            for (int i = s - 1; i >= 0; i--) {
                st[i] = acc;
                acc *= xs->d[2 + i];
            }
            for (int64_t ci = 0; ci < ch; ci++) {
                const float *xp = x + (b * ch + ci) * plane;
                double sum = 0;
                for (int t0 = 0; t0 < k[0]; t0++)
                    for (int t1 = 0; t1 < (s > 1 ? k[1] : 1); t1++)
                        for (int t2 = 0; t2 < (s > 2 ? k[2] : 1); t2++) {
                            int tt[3] = {t0, t1, t2};
                            double wt = 1;
                            int64_t off = 0;
                            bool zero = false;
                            for (int i = 0; i < s; i++) {
                                int64_t q = idx[i][tt[i]];
                                zero |= q < 0;
                                off += q * st[i];
                                wt *= w[i][tt[i]];
                            }
                            if (!zero)
                                sum += wt * xp[off];
                        }
                c->out[(b * ch + ci) * opos + p] = (float)sum;
            }
        }
}

/* topk along the axis: an insertion into the k best so far (strictly better moves up,
 * so ties keep the lower index; a NaN is never better). */
static bool eval_topk(const EvalCtx *c)
{
    const Dims *xs = &c->in_dims[0];
    int64_t ax = norm_axis(ir_attr_axis_or(c->n, -1), xs->rank), outer, len, inner;
    split_axis(xs, ax, &outer, &len, &inner);
    int64_t k = ir_attr_k(c->n);
    bool largest = ir_attr_largest(c->n) != 0, want_idx = ir_attr_indices(c->n);
    DType t = dtype_in(c, 0);
    size_t es = (size_t)ir_dtype_bits(t) / 8;
    long double *val = malloc(sizeof(long double) * (size_t)k);
    int64_t *bi = malloc(sizeof(int64_t) * (size_t)k);
    if (!val || !bi) {
        free(val);
        free(bi);
        ir_diag_error(c->d, c->n->loc, "topk '%s': out of memory", c->n->name);
        return false;
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t cnt = 0;
            for (int64_t r = 0; r < len; r++) {
                long double v = any_get(t, c->in[0], (o * len + r) * inner + i);
                if (cnt == k && !(largest ? v > val[k - 1] : v < val[k - 1]))
                    continue;
                int64_t j = cnt < k ? cnt : k - 1;
                while (j > 0 && (largest ? v > val[j - 1] : v < val[j - 1])) {
                    val[j] = val[j - 1];
                    bi[j] = bi[j - 1];
                    j--;
                }
                val[j] = v;
                bi[j] = r;
                cnt += cnt < k;
            }
            for (int64_t j = 0; j < k; j++) {
                int64_t q = (o * k + j) * inner + i;
                if (want_idx)
                    ((int64_t *)c->out_raw)[q] = bi[j];
                else
                    memcpy((char *)c->out_raw + (size_t)q * es,
                           (const char *)c->in[0] + (size_t)((o * len + bi[j]) * inner + i) * es,
                           es);
            }
        }
    free(val);
    free(bi);
    return true;
}

/* pool_nd: for each output, its window's taps inside the input (lp: |x|^p summed, max,
 * average, the first maximum's flat index), the average divided by their count or, with
 * count_include_pad, by the count of taps inside the padded input. */
static void eval_pool_nd(const EvalCtx *c)
{
    const Dims *xs = &c->in_dims[0];
    int s = xs->rank - 2, mode = (int)ir_attr_mode(c->n);
    bool cip = ir_attr_count_include_pad(c->n) != 0;
    bool col_major = ir_attr_storage_order(c->n) != 0;
    int64_t k[3], st[3], dil[3], pads[6], kn = 1, planes = xs->d[0] * xs->d[1], opos = 1, ipos = 1;
    ir_attr_kernel(c->n, k, s);
    ir_attr_stride(c->n, st, s);
    ir_attr_dilation(c->n, dil, s);
    ir_attr_pads(c->n, pads, 2 * s);
    double p = (double)ir_attr_p(c->n);
    for (int i = 0; i < s; i++) {
        kn *= k[i];
        opos *= c->out_dims.d[2 + i];
        ipos *= xs->d[2 + i];
    }
    const float *x = c->in[0];
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t o = 0; o < opos; o++) {
            double acc = mode == 1 || mode == 3 ? -INFINITY : 0;
            int64_t cnt = 0, padded = 0, best = -1;
            for (int64_t t = 0; t < kn; t++) {
                int64_t qo = o, qt = t, off = 0, stride = 1, cm_off = 0;
                bool inside = true, in_pad = true;
                for (int i = s - 1; i >= 0; i--) {
                    int64_t od = c->out_dims.d[2 + i], in = xs->d[2 + i];
                    int64_t pos = (qo % od) * st[i] - pads[i] + (qt % k[i]) * dil[i];
                    qo /= od;
                    qt /= k[i];
                    inside &= pos >= 0 && pos < in;
                    in_pad &= pos >= -pads[i] && pos < in + pads[s + i];
                    off += pos * stride;
                    stride *= in;
                    cm_off = cm_off * in + pos; /* storage_order 1: the first dim fastest */
                }
                padded += in_pad;
                if (!inside) /* the padding: zeros for lp, nothing for the others */
                    continue;
                double v = x[pl * ipos + off];
                cnt++;
                if (mode == 0)
                    acc += pow(fabs(v), p);
                else if (mode == 1)
                    acc = v > acc ? v : acc;
                else if (mode == 2)
                    acc += v;
                else if (best < 0 || v > acc) {
                    acc = v;
                    best = col_major ? cm_off : off;
                }
            }
            if (mode == 3) {
                ((int64_t *)c->out_raw)[pl * opos + o] = pl * ipos + (best < 0 ? 0 : best);
                continue;
            }
            double y = mode == 0   ? pow(acc, 1.0 / p)
                       : mode == 1 ? acc
                                   : acc / (double)(cip ? padded : cnt);
            c->out[pl * opos + o] = (float)y;
        }
}

/* The offset (in slices) that tuple number tup of the ND indices addresses in dims
 * [b, b + k) of xs; false (with an error) on an index out of range. */
static bool nd_offset(const EvalCtx *c, const Dims *xs, int b, int64_t k, int64_t tup, int64_t *off)
{
    *off = 0;
    for (int64_t m = 0; m < k; m++) {
        int64_t r;
        if (!index_at(c, tup * k + m, xs->d[b + m], &r))
            return false;
        *off = *off * xs->d[b + m] + r;
    }
    return true;
}

static bool eval_gather_nd(const EvalCtx *c)
{
    const Dims *xs = &c->in_dims[0], *is = &c->in_dims[1];
    int b = (int)ir_attr_batch_dims(c->n);
    int64_t k = is->d[is->rank - 1], nb = 1, ntup = 1, slice = 1;
    for (int i = 0; i < b; i++)
        nb *= xs->d[i];
    for (int i = b; i < is->rank - 1; i++)
        ntup *= is->d[i];
    for (int i = b + (int)k; i < xs->rank; i++)
        slice *= xs->d[i];
    int64_t blk = slice;
    for (int i = b; i < b + k; i++)
        blk *= xs->d[i];
    size_t es = (size_t)ir_dtype_bits(dtype_in(c, 0)) / 8;
    for (int64_t bi = 0; bi < nb; bi++)
        for (int64_t t = 0; t < ntup; t++) {
            int64_t off;
            if (!nd_offset(c, xs, b, k, bi * ntup + t, &off))
                return false;
            memcpy((char *)c->out_raw + (size_t)((bi * ntup + t) * slice) * es,
                   (const char *)c->in[0] + (size_t)(bi * blk + off * slice) * es,
                   (size_t)slice * es);
        }
    return true;
}

static bool eval_scatter_nd(const EvalCtx *c)
{
    const Dims *xs = &c->in_dims[0], *is = &c->in_dims[1];
    int64_t k = is->d[is->rank - 1], ntup = 1, slice = 1, red = ir_attr_reduction(c->n);
    for (int i = 0; i < is->rank - 1; i++)
        ntup *= is->d[i];
    for (int i = (int)k; i < xs->rank; i++)
        slice *= xs->d[i];
    DType t = dtype_in(c, 0);
    size_t es = (size_t)ir_dtype_bits(t) / 8;
    memcpy(c->out_raw, c->in[0], es * (size_t)dims_numel(xs));
    for (int64_t tup = 0; tup < ntup; tup++) { /* in order: the last of duplicates wins */
        int64_t off;
        if (!nd_offset(c, xs, 0, k, tup, &off))
            return false;
        for (int64_t j = 0; j < slice; j++) {
            if (red == 0)
                memcpy((char *)c->out_raw + (size_t)(off * slice + j) * es,
                       (const char *)c->in[2] + (size_t)(tup * slice + j) * es, es);
            else
                combine(t, c->out_raw, off * slice + j, c->in[2], tup * slice + j, red);
        }
    }
    return true;
}

/* The samples of roi_align along one side: ceil(len / bins) (or the sampling ratio), 0 for
 * an empty or NaN roi, at most 1024. */
static int64_t roi_grid(double len, int64_t bins, int64_t ratio)
{
    if (ratio > 0)
        return ratio;
    double g = ceil(len / (double)bins);
    return g >= 1 ? (g <= 1024 ? (int64_t)g : 1024) : 0;
}

/* roi_align, as ONNX's reference: per output, the average (or the max of the weighted taps)
 * of bilinear samples on a grid in its bin. */
static bool eval_roi_align(const EvalCtx *c)
{
    const Dims *xs = &c->in_dims[0];
    const float *x = c->in[0], *rois = c->in[1];
    int64_t nb = xs->d[0], ch = xs->d[1], h = xs->d[2], w = xs->d[3], nr = c->in_dims[1].d[0];
    int64_t oh = ir_attr_out_h(c->n), ow = ir_attr_out_w(c->n);
    int64_t ratio = ir_attr_sampling_ratio(c->n);
    double scale = ir_attr_spatial_scale(c->n);
    bool half = ir_attr_half_pixel(c->n) != 0, is_max = ir_attr_mode(c->n);
    for (int64_t r = 0; r < nr; r++) {
        int64_t b = (int64_t)int_get(dtype_in(c, 2), c->in[2], r);
        if (b < 0 || b >= nb) {
            ir_diag_error(c->d, c->n->loc,
                          "roi_align '%s': batch index %lld is out of range for %lld", c->n->name,
                          (long long)b, (long long)nb);
            return false;
        }
        double off = half ? 0.5 : 0.0;
        double sw = rois[r * 4] * scale - off, sh = rois[r * 4 + 1] * scale - off;
        double rw = rois[r * 4 + 2] * scale - off - sw, rh = rois[r * 4 + 3] * scale - off - sh;
        if (!half) {
            rw = rw > 1.0 ? rw : 1.0;
            rh = rh > 1.0 ? rh : 1.0;
        }
        double bh = rh / (double)oh, bw = rw / (double)ow;
        int64_t gh = roi_grid(rh, oh, ratio), gw = roi_grid(rw, ow, ratio);
        double count = gh * gw > 1 ? (double)(gh * gw) : 1.0;
        for (int64_t ci = 0; ci < ch; ci++) {
            const float *xp = x + (b * ch + ci) * h * w;
            for (int64_t ph = 0; ph < oh; ph++)
                for (int64_t pw = 0; pw < ow; pw++) {
                    double acc = 0;
                    bool first = true;
                    for (int64_t iy = 0; iy < gh; iy++)
                        for (int64_t ix = 0; ix < gw; ix++) {
                            double y = sh + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
                            double xx = sw + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
                            double t[4] = {0, 0, 0, 0};
                            if (y >= -1.0 && y <= (double)h && xx >= -1.0 && xx <= (double)w) {
                                y = y > 0 ? y : 0;
                                xx = xx > 0 ? xx : 0;
                                int64_t yl = (int64_t)y, xl = (int64_t)xx, yh, xh;
                                if (yl >= h - 1) {
                                    yh = yl = h - 1;
                                    y = (double)yl;
                                } else
                                    yh = yl + 1;
                                if (xl >= w - 1) {
                                    xh = xl = w - 1;
                                    xx = (double)xl;
                                } else
                                    xh = xl + 1;
                                double ly = y - (double)yl, lx = xx - (double)xl;
                                double hy = 1.0 - ly, hx = 1.0 - lx;
                                t[0] = hy * hx * xp[yl * w + xl];
                                t[1] = hy * lx * xp[yl * w + xh];
                                t[2] = ly * hx * xp[yh * w + xl];
                                t[3] = ly * lx * xp[yh * w + xh];
                            }
                            if (!is_max) {
                                acc += t[0] + t[1] + t[2] + t[3];
                                continue;
                            }
                            double v = t[0];
                            for (int q = 1; q < 4; q++)
                                v = t[q] > v ? t[q] : v;
                            acc = first || v > acc ? v : acc;
                            first = false;
                        }
                    c->out[((r * ch + ci) * oh + ph) * ow + pw] =
                        (float)(is_max ? acc : acc / count);
                }
        }
    }
    return true;
}

bool ir_eval_is_index_op(OpKind op)
{
    return op == IR_OP_ARGMAX || op == IR_OP_ARGMIN || op == IR_OP_GATHER_ELEMENTS ||
           op == IR_OP_SCATTER_ELEMENTS || op == IR_OP_CUMSUM || op == IR_OP_REDUCE_PROD ||
           op == IR_OP_MOD || op == IR_OP_RESIZE_AXIS || op == IR_OP_GRID_SAMPLE ||
           op == IR_OP_TOPK || op == IR_OP_POOL_ND || op == IR_OP_GATHER_ND ||
           op == IR_OP_SCATTER_ND || op == IR_OP_ROI_ALIGN;
}

bool ir_eval_index_node(const EvalCtx *c)
{
    const Node *n = c->n;
    for (int i = 0; i < n->n_inputs; i++) {
        const Type *t = &c->g->values[n->inputs[i]].type;
        if (!ir_index_dtype_plain(t->dtype) || t->quant || t->shape.rank < 0) {
            ir_diag_error(
                c->d, n->loc,
                "%s '%s': no reference implementation for packed, 8-bit float, quantized or "
                "unknown operands",
                ir_ops[n->op].name, n->name);
            return false;
        }
    }
    if (n->n_epilogue) {
        ir_diag_error(c->d, n->loc, "%s '%s': no reference implementation with an epilogue",
                      ir_ops[n->op].name, n->name);
        return false;
    }
    const OpKind op = n->op; /* the ops ir_eval_is_index_op names */
    if (op == IR_OP_ARGMAX || op == IR_OP_ARGMIN)
        eval_argreduce(c);
    else if (op == IR_OP_GATHER_ELEMENTS)
        return eval_gather_elements(c);
    else if (op == IR_OP_SCATTER_ELEMENTS)
        return eval_scatter_elements(c);
    else if (op == IR_OP_CUMSUM)
        eval_cumsum(c);
    else if (op == IR_OP_REDUCE_PROD)
        eval_reduce_prod(c);
    else if (op == IR_OP_MOD)
        eval_mod(c);
    else if (op == IR_OP_RESIZE_AXIS)
        return eval_resize_axis(c);
    else if (op == IR_OP_GRID_SAMPLE)
        eval_grid_sample(c);
    else if (op == IR_OP_TOPK)
        return eval_topk(c);
    else if (op == IR_OP_POOL_ND)
        eval_pool_nd(c);
    else if (op == IR_OP_GATHER_ND)
        return eval_gather_nd(c);
    else if (op == IR_OP_SCATTER_ND)
        return eval_scatter_nd(c);
    else if (op == IR_OP_ROI_ALIGN)
        return eval_roi_align(c);
    else
        SLIMC_ASSERT(0 && "not an index op");
    return true;
}
