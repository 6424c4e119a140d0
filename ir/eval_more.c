/* The reference semantics of issue 3's ops (see ir/eval.c for the conventions): unary
 * ops with attributes, comparisons, where and cast in any dtype, adaptive average pooling,
 * group norm, reductions, the data-movement ops (any dtype: elements are copied as bytes),
 * resize and conv_transpose2d. Plain loops over concrete shapes, PyTorch's semantics. */
#include "ir/eval_internal.h"

#include <math.h>
#include <string.h>

/* f32 to f16, rounding to nearest even (overflow to inf, NaN kept quiet). */
static uint16_t f32_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u)
        return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u));
    if (ax >= 0x477ff000u) /* rounds to >= 65536: inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) { /* subnormal half (or zero) */
        float a;
        memcpy(&a, &ax, sizeof a);
        float scaled = a * 16777216.0f; /* a / 2^-24, exact */
        uint32_t q = (uint32_t)scaled;
        float rem = scaled - (float)q;
        if (rem > 0.5f || (rem == 0.5f && (q & 1u)))
            q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u) - (112u << 23);
    return (uint16_t)(sign | (r >> 13));
}

static bool dtype_is_float(DType t)
{
    return t == IR_F64 || t == IR_F32 || t == IR_F16 || t == IR_BF16;
}

static double load_f(DType t, const void *p, int64_t i)
{
    switch (t) {
    case IR_F64: return ((const double *)p)[i];
    case IR_F32: return ((const float *)p)[i];
    case IR_F16: return (float)ir_f16_value(((const uint16_t *)p)[i]);
    case IR_BF16: {
        uint32_t bits = (uint32_t)((const uint16_t *)p)[i] << 16;
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    case IR_I64: return (double)((const int64_t *)p)[i];
    case IR_I32: return ((const int32_t *)p)[i];
    case IR_I16: return ((const int16_t *)p)[i];
    case IR_I8: return ((const int8_t *)p)[i];
    case IR_U8:
    case IR_BOOL: return ((const uint8_t *)p)[i];
    case IR_U16: return ((const uint16_t *)p)[i];
    case IR_U32: return ((const uint32_t *)p)[i];
    case IR_U64: return (double)((const uint64_t *)p)[i];
    case IR_F8E4M3FN:
    case IR_F8E4M3FNUZ:
    case IR_F8E5M2:
    case IR_F8E5M2FNUZ: return ir_f8_value(t, ((const uint8_t *)p)[i]);
    case IR_F8E8M0: return ir_e8m0_value(((const uint8_t *)p)[i]);
    case IR_I4:
    case IR_U4:
    case IR_I2:
    case IR_U2:
    case IR_F4E2M1:
    case IR_NUM_DTYPES: break;
    }
    SLIMC_ASSERT(0 && "no element access for this dtype");
}

static int64_t load_i(DType t, const void *p, int64_t i)
{
    switch (t) {
    case IR_I64: return ((const int64_t *)p)[i];
    case IR_I32: return ((const int32_t *)p)[i];
    case IR_I16: return ((const int16_t *)p)[i];
    case IR_I8: return ((const int8_t *)p)[i];
    case IR_U8:
    case IR_BOOL: return ((const uint8_t *)p)[i];
    case IR_U16: return ((const uint16_t *)p)[i];
    case IR_U32: return ((const uint32_t *)p)[i];
    case IR_U64: return (int64_t)((const uint64_t *)p)[i]; /* wraps, as the generated code */
    default: return (int64_t)load_f(t, p, i);
    }
}

/* out[i] = the value of element j of src (dtype from) converted as cast does. */
static void store_cast(DType to, void *out, int64_t i, DType from, const void *src, int64_t j)
{
    if (to == IR_BOOL) {
        ((uint8_t *)out)[i] =
            dtype_is_float(from) ? load_f(from, src, j) != 0.0 : load_i(from, src, j) != 0;
        return;
    }
    if (!dtype_is_float(to)) {
        int64_t v = dtype_is_float(from) ? (int64_t)load_f(from, src, j) : load_i(from, src, j);
        switch (to) {
        case IR_I64: ((int64_t *)out)[i] = v; return;
        case IR_I32: ((int32_t *)out)[i] = (int32_t)(uint32_t)v; return;
        case IR_I16: ((int16_t *)out)[i] = (int16_t)(uint16_t)v; return;
        case IR_I8: ((int8_t *)out)[i] = (int8_t)(uint8_t)v; return;
        case IR_U8: ((uint8_t *)out)[i] = (uint8_t)v; return;
        case IR_U16: ((uint16_t *)out)[i] = (uint16_t)v; return;
        case IR_U32: ((uint32_t *)out)[i] = (uint32_t)v; return;
        case IR_U64: ((uint64_t *)out)[i] = (uint64_t)v; return;
        default: SLIMC_ASSERT(0 && "bad cast");
        }
    }
    double v = load_f(from, src, j); /* exact for every integer but large i64/u64 */
    switch (to) {
    case IR_F64: ((double *)out)[i] = v; return;
    case IR_F32: ((float *)out)[i] = (float)v; return;
    case IR_F16: ((uint16_t *)out)[i] = f32_to_half((float)v); return;
    case IR_BF16: ((uint16_t *)out)[i] = ir_bf16_bits((double)(float)v); return;
    default: SLIMC_ASSERT(0 && "bad cast");
    }
}

void ir_eval_store_cast(DType to, void *out, int64_t i, DType from, const void *src, int64_t j)
{
    store_cast(to, out, i, from, src, j);
}

double ir_eval_load_f(DType t, const void *p, int64_t i)
{
    return load_f(t, p, i);
}

static DType dtype_of(const Graph *g, ValueId v)
{
    return g->values[v].type.dtype;
}
static size_t elem_bytes(const Graph *g, ValueId v)
{
    return ir_dtype_bytes(dtype_of(g, v), 1);
}

/* unary ops with attributes (never epilogues) */
void ir_eval_unary_attr(const EvalCtx *c)
{
    const float *x = in_f32(c, 0);
    int64_t total = dims_numel(&c->out_dims);
    float slope = (float)ir_attr_negative_slope(c->n);
    float lo = (float)ir_attr_min(c->n), hi = (float)ir_attr_max(c->n);
    bool leaky = c->n->op == IR_OP_LEAKY_RELU; /* p0 = slope; clip: p0, p1 = lo, hi */
    for (int64_t i = 0; i < total; i++)
        c->out[i] = ir_eval_scalar_f32(c->n->op, x[i], 0.0f, leaky ? slope : lo, hi);
}

/* op's answer from the order of its operands (lt, eq, gt all 0 when a float is NaN). */
static uint8_t compare_result(OpKind op, int lt, int eq, int gt)
{
    if (op == IR_OP_EQ)
        return (uint8_t)eq;
    if (op == IR_OP_NE)
        return (uint8_t)!eq;
    if (op == IR_OP_LT)
        return (uint8_t)lt;
    if (op == IR_OP_LE)
        return (uint8_t)(lt || eq);
    if (op == IR_OP_GT)
        return (uint8_t)gt;
    SLIMC_ASSERT(op == IR_OP_GE && "not a comparison");
    return (uint8_t)(gt || eq);
}

void ir_eval_compare(const EvalCtx *c)
{
    DType t = dtype_of(c->g, c->n->inputs[0]);
    const void *a = c->in[0], *b = c->in[1];
    uint8_t *out = c->out_raw;
    int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK];
    bcast_strides(&c->out_dims, &c->in_dims[0], sa);
    bcast_strides(&c->out_dims, &c->in_dims[1], sb);
    int64_t total = dims_numel(&c->out_dims);
    bool fl = dtype_is_float(t);
    for (int64_t i = 0; i < total; i++) {
        int64_t ia = bcast_offset(&c->out_dims, sa, i), ib = bcast_offset(&c->out_dims, sb, i);
        int lt, eq; /* NaN compares unequal and unordered */
        if (fl) {
            double x = load_f(t, a, ia), y = load_f(t, b, ib);
            lt = x < y;
            eq = x == y;
            out[i] = compare_result(c->n->op, lt, eq, x > y);
            continue;
        }
        int64_t x = load_i(t, a, ia), y = load_i(t, b, ib);
        lt = t == IR_U64 ? (uint64_t)x < (uint64_t)y : x < y;
        eq = x == y;
        out[i] = compare_result(c->n->op, lt, eq, !lt && !eq);
    }
}

void ir_eval_where(const EvalCtx *c)
{
    size_t es = elem_bytes(c->g, c->n->outputs[0]);
    const uint8_t *cond = c->in[0];
    const unsigned char *a = c->in[1], *b = c->in[2];
    unsigned char *out = c->out_raw;
    int64_t s0[IR_MAX_RANK], s1[IR_MAX_RANK], s2[IR_MAX_RANK];
    bcast_strides(&c->out_dims, &c->in_dims[0], s0);
    bcast_strides(&c->out_dims, &c->in_dims[1], s1);
    bcast_strides(&c->out_dims, &c->in_dims[2], s2);
    int64_t total = dims_numel(&c->out_dims);
    for (int64_t i = 0; i < total; i++) {
        bool take_a = cond[bcast_offset(&c->out_dims, s0, i)] != 0;
        const unsigned char *src = take_a ? a + (size_t)bcast_offset(&c->out_dims, s1, i) * es
                                          : b + (size_t)bcast_offset(&c->out_dims, s2, i) * es;
        memcpy(out + (size_t)i * es, src, es);
    }
}

void ir_eval_cast(const EvalCtx *c)
{
    DType from = dtype_of(c->g, c->n->inputs[0]), to = dtype_of(c->g, c->n->outputs[0]);
    int64_t total = dims_numel(&c->out_dims);
    /* i8 / u8 -> f32: exported int8 weights, folded on every start (the same exact values
     * store_cast gives, without its per-element dispatch) */
    if (to == IR_F32 && (from == IR_I8 || from == IR_U8)) {
        float *out = c->out_raw;
        if (from == IR_I8)
            for (int64_t i = 0; i < total; i++)
                out[i] = ((const int8_t *)c->in[0])[i];
        else
            for (int64_t i = 0; i < total; i++)
                out[i] = ((const uint8_t *)c->in[0])[i];
        return;
    }
    for (int64_t i = 0; i < total; i++)
        store_cast(to, c->out_raw, i, from, c->in[0], i);
}

/* PyTorch's adaptive window: [floor(i * in / out), ceil((i + 1) * in / out)). */
void ir_eval_adaptive_avg_pool2d(const EvalCtx *c)
{
    const float *x = in_f32(c, 0);
    int64_t NC = c->in_dims[0].d[0] * c->in_dims[0].d[1];
    int64_t H = c->in_dims[0].d[2], W = c->in_dims[0].d[3];
    int64_t OH = c->out_dims.d[2], OW = c->out_dims.d[3];
    for (int64_t pl = 0; pl < NC; pl++)
        for (int64_t oh = 0; oh < OH; oh++) {
            int64_t h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
                float sum = 0.0f;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++)
                        sum += x[(pl * H + ih) * W + iw];
                c->out[(pl * OH + oh) * OW + ow] = sum / (float)((h1 - h0) * (w1 - w0));
            }
        }
}

/* F.group_norm: per (batch, group) the mean and biased variance over the group's
 * channels and positions; then the per-channel affine. */
void ir_eval_group_norm(const EvalCtx *c)
{
    const float *x = in_f32(c, 0), *w = in_f32(c, 1), *b = in_f32(c, 2);
    const Dims *xs = &c->in_dims[0];
    int64_t G = ir_attr_num_groups(c->n);
    float eps = (float)ir_attr_eps(c->n);
    int64_t N = xs->d[0], C = xs->d[1], inner = 1;
    for (int i = 2; i < xs->rank; i++)
        inner *= xs->d[i];
    int64_t CG = C / G, len = CG * inner;
    for (int64_t r = 0; r < N * G; r++) {
        const float *row = x + r * len;
        float *out = c->out + r * len;
        float sum = 0.0f;
        for (int64_t i = 0; i < len; i++)
            sum += row[i];
        float mean = sum / (float)len, sq = 0.0f;
        for (int64_t i = 0; i < len; i++)
            sq += (row[i] - mean) * (row[i] - mean);
        float inv = 1.0f / sqrtf(sq / (float)len + eps);
        for (int64_t i = 0; i < len; i++) {
            int64_t ch = (r % G) * CG + i / inner;
            float v = (row[i] - mean) * inv;
            if (w)
                v *= w[ch];
            if (b)
                v += b[ch];
            out[i] = v;
        }
    }
}

/* Reductions: each output element accumulates its inputs in increasing input order; max
 * and min let NaN win; mean divides the sum by the count. */
void ir_eval_reduce(const EvalCtx *c)
{
    const float *x = in_f32(c, 0);
    const Dims *xs = &c->in_dims[0];
    const Attr *at = ir_node_attr_id(c->n, IR_A_axes);
    unsigned mask = 0;
    if (!at || at->n_ints == 0)
        mask = (1u << xs->rank) - 1;
    for (int i = 0; at && i < at->n_ints; i++)
        mask |= 1u << (at->ints[i] < 0 ? at->ints[i] + xs->rank : at->ints[i]);
    /* the output's strides over the input's dims (0 for reduced ones) */
    int64_t ost[IR_MAX_RANK], s = 1, count = 1;
    for (int i = xs->rank - 1; i >= 0; i--) {
        if (mask & (1u << i)) {
            ost[i] = 0;
            count *= xs->d[i];
        } else {
            ost[i] = s;
            s *= xs->d[i];
        }
    }
    int64_t total_out = dims_numel(&c->out_dims), total = dims_numel(xs);
    OpKind op = c->n->op;
    float init = op == IR_OP_REDUCE_MAX ? -INFINITY : op == IR_OP_REDUCE_MIN ? INFINITY : 0.0f;
    for (int64_t i = 0; i < total_out; i++)
        c->out[i] = init;
    for (int64_t i = 0; i < total; i++) {
        int64_t o = bcast_offset(xs, ost, i);
        float v = x[i], *acc = &c->out[o];
        if (op == IR_OP_REDUCE_MAX) {
            if (v > *acc || isnan(v))
                *acc = isnan(*acc) ? *acc : v;
        } else if (op == IR_OP_REDUCE_MIN) {
            if (v < *acc || isnan(v))
                *acc = isnan(*acc) ? *acc : v;
        } else {
            *acc += v;
        }
    }
    if (op == IR_OP_REDUCE_MEAN && count) /* the mean of nothing is 0, as ORT */
        for (int64_t i = 0; i < total_out; i++)
            c->out[i] /= (float)count;
}

/* out[i] = x[offset(i)] for a map from the output's index to the input's. */
void ir_eval_permute(const EvalCtx *c)
{
    size_t es = elem_bytes(c->g, c->n->outputs[0]);
    const Dims *xs = &c->in_dims[0];
    const Attr *perm = ir_node_attr_id(c->n, IR_A_perm);
    int64_t xst[IR_MAX_RANK], st[IR_MAX_RANK], s = 1;
    for (int i = xs->rank - 1; i >= 0; i--) {
        xst[i] = s;
        s *= xs->d[i];
    }
    for (int i = 0; i < xs->rank; i++) {
        int64_t p = perm->ints[i] < 0 ? perm->ints[i] + xs->rank : perm->ints[i];
        st[i] = xst[p];
    }
    int64_t total = dims_numel(&c->out_dims);
    for (int64_t i = 0; i < total; i++)
        memcpy((char *)c->out_raw + (size_t)i * es,
               (const char *)c->in[0] + (size_t)bcast_offset(&c->out_dims, st, i) * es, es);
}

void ir_eval_expand(const EvalCtx *c)
{
    size_t es = elem_bytes(c->g, c->n->outputs[0]);
    int64_t st[IR_MAX_RANK];
    bcast_strides(&c->out_dims, &c->in_dims[0], st);
    int64_t total = dims_numel(&c->out_dims);
    for (int64_t i = 0; i < total; i++)
        memcpy((char *)c->out_raw + (size_t)i * es,
               (const char *)c->in[0] + (size_t)bcast_offset(&c->out_dims, st, i) * es, es);
}

/* The product of dims [from, to) of s. */
static int64_t prod(const Dims *s, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= s->d[i];
    return p;
}

static int axis_attr(const Node *n, int rank)
{
    int64_t ax = ir_attr_axis(n);
    return (int)(ax < 0 ? ax + rank : ax);
}

void ir_eval_slice(const EvalCtx *c)
{
    size_t es = elem_bytes(c->g, c->n->outputs[0]);
    const Dims *xs = &c->in_dims[0];
    int ax = axis_attr(c->n, xs->rank);
    int64_t len = xs->d[ax], step = ir_attr_step(c->n);
    int64_t start = ir_slice_first(ir_attr_start(c->n), len, step);
    int64_t outer = prod(xs, 0, ax), inner = prod(xs, ax + 1, xs->rank), olen = c->out_dims.d[ax];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < olen; k++)
            memcpy((char *)c->out_raw + (size_t)((o * olen + k) * inner) * es,
                   (const char *)c->in[0] + (size_t)((o * len + start + k * step) * inner) * es,
                   (size_t)inner * es);
}

/* The source index of padded position i along a dim of length len (-1: the fill value). */
static int64_t pad_src(int64_t i, int64_t lo, int64_t len, int64_t mode)
{
    int64_t s = i - lo;
    if (s >= 0 && s < len)
        return s;
    if (mode == 0)
        return -1;
    if (mode == 1) /* reflect, without repeating the edge */
        return s < 0 ? -s : 2 * (len - 1) - s;
    return s < 0 ? 0 : len - 1; /* replicate */
}

void ir_eval_pad(const EvalCtx *c)
{
    ValueId ov = c->n->outputs[0];
    size_t es = elem_bytes(c->g, ov);
    const Dims *xs = &c->in_dims[0], *os = &c->out_dims;
    const Attr *pads = ir_node_attr_id(c->n, IR_A_pads);
    int64_t mode = ir_attr_mode(c->n);
    int64_t lo[IR_MAX_RANK] = {0};
    for (int k = 0; k < pads->n_ints / 2; k++)
        lo[xs->rank - 1 - k] = pads->ints[2 * k];
    float fill = (float)ir_attr_value(c->n);
    int64_t total = dims_numel(os);
    for (int64_t i = 0; i < total; i++) {
        int64_t rem = i, src = 0, mul = 1;
        bool inside = true;
        for (int dd = os->rank - 1; dd >= 0; dd--) {
            int64_t s = pad_src(rem % os->d[dd], lo[dd], xs->d[dd], mode);
            rem /= os->d[dd];
            inside &= s >= 0;
            src += (s >= 0 ? s : 0) * mul;
            mul *= xs->d[dd];
        }
        if (inside)
            memcpy((char *)c->out_raw + (size_t)i * es, (const char *)c->in[0] + (size_t)src * es,
                   es);
        else
            store_cast(dtype_of(c->g, ov), c->out_raw, i, IR_F32, &fill, 0);
    }
}

void ir_eval_concat(const EvalCtx *c)
{
    size_t es = elem_bytes(c->g, c->n->outputs[0]);
    int ax = axis_attr(c->n, c->out_dims.rank);
    int64_t outer = prod(&c->out_dims, 0, ax), orow = prod(&c->out_dims, ax, c->out_dims.rank),
            at = 0;
    for (int k = 0; k < c->n->n_inputs; k++) {
        int64_t row = prod(&c->in_dims[k], ax, c->in_dims[k].rank);
        for (int64_t o = 0; o < outer; o++)
            memcpy((char *)c->out_raw + (size_t)(o * orow + at) * es,
                   (const char *)c->in[k] + (size_t)(o * row) * es, (size_t)row * es);
        at += row;
    }
}

bool ir_eval_index_select(const EvalCtx *c)
{
    size_t es = elem_bytes(c->g, c->n->outputs[0]);
    const Dims *xs = &c->in_dims[0];
    int ax = axis_attr(c->n, xs->rank);
    DType it = dtype_of(c->g, c->n->inputs[1]);
    int64_t outer = prod(xs, 0, ax), len = xs->d[ax], inner = prod(xs, ax + 1, xs->rank);
    int64_t K = dims_numel(&c->in_dims[1]);
    for (int64_t k = 0; k < K; k++) {
        int64_t idx = load_i(it, c->in[1], k);
        if (idx < -len || idx >= len) {
            ir_diag_error(
                c->d, c->n->loc,
                "index_select '%s': index %lld (element %lld of '%s') is out of range [%lld, %lld)",
                c->n->name, (long long)idx, (long long)k, c->g->values[c->n->inputs[1]].name,
                (long long)-len, (long long)len);
            return false;
        }
        if (idx < 0)
            idx += len; /* ONNX's Gather: a negative index counts from the end */
        for (int64_t o = 0; o < outer; o++)
            memcpy((char *)c->out_raw + (size_t)((o * K + k) * inner) * es,
                   (const char *)c->in[0] + (size_t)((o * len + idx) * inner) * es,
                   (size_t)inner * es);
    }
    return true;
}

/* The scale of a resize along one dim: as PyTorch's area_pixel_compute_scale. */
static float resize_scale(int64_t in, int64_t out, bool align, double sf)
{
    if (align)
        return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    return sf > 0 ? (float)(1.0 / sf) : (float)in / (float)out;
}

void ir_eval_resize(const EvalCtx *c)
{
    const float *x = in_f32(c, 0);
    int64_t NC = c->in_dims[0].d[0] * c->in_dims[0].d[1];
    int64_t H = c->in_dims[0].d[2], W = c->in_dims[0].d[3];
    int64_t OH = c->out_dims.d[2], OW = c->out_dims.d[3];
    bool bilinear = ir_attr_mode(c->n) == 1;
    bool align = bilinear && ir_attr_align_corners(c->n) != 0;
    float sh = resize_scale(H, OH, align, ir_attr_scale_h(c->n));
    float sw = resize_scale(W, OW, align, ir_attr_scale_w(c->n));
    for (int64_t pl = 0; pl < NC; pl++) {
        const float *xp = x + pl * H * W;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                float *o = &c->out[(pl * OH + oh) * OW + ow];
                if (!bilinear) {
                    int64_t ih = (int64_t)floorf((float)oh * sh),
                            iw = (int64_t)floorf((float)ow * sw);
                    ih = ih < H - 1 ? ih : H - 1;
                    iw = iw < W - 1 ? iw : W - 1;
                    *o = xp[ih * W + iw];
                    continue;
                }
                float fh = align ? sh * (float)oh : sh * ((float)oh + 0.5f) - 0.5f;
                float fw = align ? sw * (float)ow : sw * ((float)ow + 0.5f) - 0.5f;
                fh = fh < 0 ? 0 : fh;
                fw = fw < 0 ? 0 : fw;
                int64_t h0 = (int64_t)fh, w0 = (int64_t)fw;
                int64_t h1 = h0 + (h0 < H - 1), w1 = w0 + (w0 < W - 1);
                float lh = fh - (float)h0, lw = fw - (float)w0;
                *o = (1.0f - lh) * ((1.0f - lw) * xp[h0 * W + w0] + lw * xp[h0 * W + w1]) +
                     lh * ((1.0f - lw) * xp[h1 * W + w0] + lw * xp[h1 * W + w1]);
            }
    }
}

/* x [N, C, H, W], w [C, O/groups, KH, KW] -> out [N, O, OH, OW]; each output gathers the
 * inputs that reach it: oh = ih * stride - pad + kh * dil. */
void ir_eval_conv_transpose2d(const EvalCtx *c)
{
    const float *x = in_f32(c, 0), *w = in_f32(c, 1), *bias = in_f32(c, 2);
    const Dims *xs = &c->in_dims[0], *ws = &c->in_dims[1], *os = &c->out_dims;
    int64_t s[2], p[2], dil[2];
    ir_attr_stride(c->n, s, 2);
    ir_attr_padding(c->n, p, 2);
    ir_attr_dilation(c->n, dil, 2);
    int64_t groups = ir_attr_groups(c->n);
    int64_t N = xs->d[0], C = xs->d[1], H = xs->d[2], W = xs->d[3];
    int64_t OG = ws->d[1], KH = ws->d[2], KW = ws->d[3], O = os->d[1], OH = os->d[2], OW = os->d[3];
    int64_t CG = C / groups;
    for (int64_t b = 0; b < N; b++)
        for (int64_t o = 0; o < O; o++) {
            int64_t grp = o / OG, oo = o % OG;
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    float acc = 0.0f;
                    for (int64_t ci = 0; ci < CG; ci++) {
                        int64_t ch = grp * CG + ci;
                        for (int64_t kh = 0; kh < KH; kh++) {
                            int64_t th = oh + p[0] - kh * dil[0];
                            if (th < 0 || th % s[0] || th / s[0] >= H)
                                continue;
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t tw = ow + p[1] - kw * dil[1];
                                if (tw < 0 || tw % s[1] || tw / s[1] >= W)
                                    continue;
                                acc += x[((b * C + ch) * H + th / s[0]) * W + tw / s[1]] *
                                       w[((ch * OG + oo) * KH + kh) * KW + kw];
                            }
                        }
                    }
                    if (bias)
                        acc += bias[o];
                    c->out[((b * O + o) * OH + oh) * OW + ow] = acc;
                }
        }
}
