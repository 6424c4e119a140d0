/* wlinear (weight-only i8 / i4 with group scales, f16 / bf16 weights) and dqlinear
 * (dynamic int8): shape inference and reference semantics (docs/quantization.md). The
 * kernels are slimc_rt_wgemm_tile and slimc_rt_dyn_params + slimc_rt_qgemm in
 * runtime/slimc_rt.h; this file computes what they compute with plain loops. */
#include "ir/eval_internal.h"
#include "ir/graph.h"

#include <math.h>
#include <string.h>

bool ir_shape_wlinear(Graph *g, Node *n, Diag *d);
bool ir_shape_dqlinear(Graph *g, Node *n, Diag *d);

static const Type *type_of(const Graph *g, const Node *n, int i)
{
    return i < n->n_inputs && n->inputs[i] != IR_NONE ? &g->values[n->inputs[i]].type : NULL;
}

static bool bad(const Graph *g, const Node *n, int i, const char *want, Diag *d)
{
    char b[160] = "absent";
    const Type *t = type_of(g, n, i);
    if (t)
        ir_type_str(g, t, b, sizeof b);
    ir_diag_error(d, n->loc, "%s '%s': input %d must be %s, got %s", ir_ops[n->op].name, n->name, i,
                  want, b);
    return false;
}

static bool is_vec(const Type *t, DType dt, int64_t len)
{
    return t && t->dtype == dt && t->shape.rank == 1 && ir_dim_eq(t->shape.d[0], ir_dim(len));
}

/* x f32 [.., K] and a static 2-D weight [O, K] of dtype wdt; sets *o and *k. */
static bool x_and_w(Graph *g, Node *n, int64_t *o, int64_t *k, Diag *d)
{
    const Type *x = type_of(g, n, 0), *w = type_of(g, n, 1);
    if (!x || x->dtype != IR_F32 || x->shape.rank < 1)
        return bad(g, n, 0, "f32 [.., K]", d);
    if (!w || w->shape.rank != 2 || !ir_shape_static(&w->shape))
        return bad(g, n, 1, "a static [O, K] weight", d);
    *o = w->shape.d[0].c;
    *k = w->shape.d[1].c;
    if (!ir_dim_eq(x->shape.d[x->shape.rank - 1], ir_dim(*k))) {
        char b[160];
        ir_diag_error(d, n->loc, "%s '%s': the input's last dimension must be %lld, got %s",
                      ir_ops[n->op].name, n->name, (long long)*k, ir_type_str(g, x, b, sizeof b));
        return false;
    }
    return true;
}

/* x f32 [.., K] (K static) and a weight of dtype wdt packed by the layout pass for
 * out_features outputs: [ceil(O / 16), KB, 64] i8 or [ceil(O / 16), KB, 32] bf16; sets *o
 * and *k. */
static bool packed_x_and_w(Graph *g, Node *n, DType wdt, int64_t *o, int64_t *k, Diag *d)
{
    const Type *x = type_of(g, n, 0), *w = type_of(g, n, 1);
    *o = ir_attr_out_features(n);
    if (!x || x->dtype != IR_F32 || x->shape.rank < 1 ||
        !ir_dim_static(x->shape.d[x->shape.rank - 1]))
        return bad(g, n, 0, "f32 [.., K] with a static K", d);
    *k = x->shape.d[x->shape.rank - 1].c;
    const bool i8 = wdt == IR_I8;
    if (!w || w->dtype != wdt || w->shape.rank != 3 || !ir_shape_static(&w->shape) || *o < 1 ||
        w->shape.d[0].c != slimc_rt_pack_blocks(*o) ||
        w->shape.d[1].c != (i8 ? ir_qpack_rows(*k) : ir_bpack_rows(*k)) ||
        w->shape.d[2].c != SLIMC_RT_PACK_OB * (i8 ? SLIMC_RT_QPACK_K : SLIMC_RT_BPACK_K))
        return bad(g, n, 1,
                   i8 ? "an i8 weight packed for out_features outputs"
                      : "a bf16 weight packed for out_features outputs",
                   d);
    return true;
}

static void set_output(Graph *g, Node *n, int64_t o)
{
    Type t = g->values[n->inputs[0]].type;
    t.shape.d[t.shape.rank - 1] = ir_dim(o);
    t.quant = NULL;
    g->values[n->outputs[0]].type = t;
}

bool ir_shape_wlinear(Graph *g, Node *n, Diag *d)
{
    int64_t o, k;
    if (ir_attr_w_packed(n)) { /* a bf16 weight in pairs (the layout pass) */
        if (!packed_x_and_w(g, n, IR_BF16, &o, &k, d))
            return false;
        if (type_of(g, n, 2))
            return bad(g, n, 2, "absent (bf16 weights have no scales)", d);
        const Type *b = type_of(g, n, 3);
        if (b && !is_vec(b, IR_F32, o))
            return bad(g, n, 3, "an f32 [O] bias", d);
        set_output(g, n, o);
        return true;
    }
    if (!x_and_w(g, n, &o, &k, d))
        return false;
    const DType wdt = type_of(g, n, 1)->dtype;
    const int64_t group = ir_attr_group(n);
    const Type *sc = type_of(g, n, 2);
    if (wdt == IR_I8 || wdt == IR_I4) {
        if (group < 1 || k % group || (wdt == IR_I4 && (group % 2 || k % 2))) {
            ir_diag_error(
                d, n->loc,
                "wlinear '%s': group=%lld must divide K=%lld (and be even for i4 weights)", n->name,
                (long long)group, (long long)k);
            return false;
        }
        if (!sc || sc->dtype != IR_F32 || sc->shape.rank != 2 ||
            !ir_dim_eq(sc->shape.d[0], ir_dim(o)) || !ir_dim_eq(sc->shape.d[1], ir_dim(k / group)))
            return bad(g, n, 2, "f32 [O, K / group] scales", d);
    } else if (wdt == IR_F16 || wdt == IR_BF16) {
        if (sc)
            return bad(g, n, 2, "absent (f16 and bf16 weights have no scales)", d);
    } else {
        return bad(g, n, 1, "an i8, i4, f16 or bf16 weight", d);
    }
    const Type *b = type_of(g, n, 3);
    if (b && !is_vec(b, IR_F32, o))
        return bad(g, n, 3, "an f32 [O] bias", d);
    set_output(g, n, o);
    return true;
}

/* The stack buffer of the kernel holds 4 quantized rows of at most this many values. */
#define DQ_MAX_K 16384

bool ir_shape_dqlinear(Graph *g, Node *n, Diag *d)
{
    int64_t o, k;
    const bool packed = ir_attr_w_packed(n) != 0;
    if (packed) { /* the layout pass's [ceil(O / 16), KB, 64] (as qlinear's) */
        if (!packed_x_and_w(g, n, IR_I8, &o, &k, d))
            return false;
    } else if (!x_and_w(g, n, &o, &k, d)) {
        return false;
    }
    if (type_of(g, n, 1)->dtype != IR_I8)
        return bad(g, n, 1, "an i8 [O, K] weight", d);
    if (!packed && k > DQ_MAX_K) {
        ir_diag_error(d, n->loc, "dqlinear '%s': K=%lld is over the %d this version handles",
                      n->name, (long long)k, DQ_MAX_K);
        return false;
    }
    if (!is_vec(type_of(g, n, 2), IR_F32, o))
        return bad(g, n, 2, "f32 [O] weight scales", d);
    if (!is_vec(type_of(g, n, 3), IR_I32, o))
        return bad(g, n, 3, "i32 [O] weight sums", d);
    const Type *b = type_of(g, n, 4);
    if (b && !is_vec(b, IR_F32, o))
        return bad(g, n, 4, "an f32 [O] bias", d);
    const Type *c = n->n_inputs > 5 ? type_of(g, n, 5) : NULL; /* passes/sparse.c's blob */
    if (c && (c->dtype != IR_U8 || c->shape.rank != 1 || ir_attr_w_sparse(n) != 3))
        return bad(g, n, 5, "the block-sparse weight, u8[bytes] with w_sparse=3", d);
    set_output(g, n, o);
    return true;
}

/* ---- reference semantics ---- */

/* Weight [o, k] of a wlinear node, dequantized. */
static float weight_at(DType dt, const void *w, const float *sc, int64_t group, int64_t K,
                       int64_t o, int64_t k)
{
    switch (dt) {
    case IR_I8: return (float)((const int8_t *)w)[o * K + k] * sc[o * (K / group) + k / group];
    case IR_I4: {
        const uint8_t b = ((const uint8_t *)w)[o * (K / 2) + k / 2];
        const int v = (int)((b >> ((k & 1) * 4)) & 15u);
        return (float)((v ^ 8) - 8) * sc[o * (K / group) + k / group];
    }
    case IR_F16: return (float)ir_f16_value(((const uint16_t *)w)[o * K + k]);
    case IR_BF16: {
        const uint32_t bits = (uint32_t)((const uint16_t *)w)[o * K + k] << 16;
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    default: return 0.0f;
    }
}

/* An activation as bf16 compute sees it: rounded to nearest even, denormals flushed (as
 * vcvtneps2bf16 does). */
static float bf16_act(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    u = (u & 0x7f800000u) == 0 ? (u & 0x80000000u) : (uint32_t)ir_bf16_bits(v) << 16;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* bf16 weights compute in bf16: the activations rounded to bf16, the products (exact) summed
 * in f32 (the kernels' order differs, so results agree to f32 rounding). */
void ir_eval_wlinear(const EvalCtx *c)
{
    const Node *n = c->n;
    const float *x = c->in[0];
    const DType dt = c->g->values[n->inputs[1]].type.dtype;
    const float *sc = n->n_inputs > 2 ? c->in[2] : NULL;
    const float *bias = n->n_inputs > 3 ? c->in[3] : NULL;
    const int64_t group = ir_attr_group_or(n, 1);
    const bool packed = ir_attr_w_packed(n) != 0;
    const Dims *xd = &c->in_dims[0];
    const int64_t O = packed ? ir_attr_out_features(n) : c->in_dims[1].d[0];
    const int64_t K = packed ? xd->d[xd->rank - 1] : c->in_dims[1].d[1], KB = ir_bpack_rows(K);
    const int64_t M = dims_numel(&c->in_dims[0]) / (K ? K : 1);
    const uint16_t *wp = c->in[1];
    for (int64_t m = 0; m < M; m++)
        for (int64_t o = 0; o < O; o++) {
            if (dt != IR_BF16) { /* decoded to f32, summed from the bias on */
                float acc = bias ? bias[o] : 0.0f;
                for (int64_t k = 0; k < K; k++)
                    acc += x[m * K + k] * weight_at(dt, c->in[1], sc, group, K, o, k);
                c->out[m * O + o] = acc;
                continue;
            }
            float acc = 0.0f;
            for (int64_t k = 0; k < K; k++) {
                const uint16_t wb =
                    packed ? wp[slimc_rt_pack_index(o, k, KB, SLIMC_RT_BPACK_K)] : wp[o * K + k];
                const uint32_t bits = (uint32_t)wb << 16;
                float wf;
                memcpy(&wf, &bits, sizeof wf);
                acc += bf16_act(x[m * K + k]) * wf;
            }
            c->out[m * O + o] = bias ? acc + bias[o] : acc;
        }
}

void ir_eval_dqlinear(const EvalCtx *c)
{
    const Node *n = c->n;
    const float *x = c->in[0];
    const int8_t *w = c->in[1];
    const float *ws = c->in[2];
    const int32_t *wsum = c->in[3];
    const float *bias = n->n_inputs > 4 ? c->in[4] : NULL;
    const bool packed = ir_attr_w_packed(n) != 0;
    const Dims *xd = &c->in_dims[0];
    const int64_t O = packed ? ir_attr_out_features(n) : c->in_dims[1].d[0];
    const int64_t K = packed ? xd->d[xd->rank - 1] : c->in_dims[1].d[1], KB = ir_qpack_rows(K);
    const int64_t M = dims_numel(&c->in_dims[0]) / (K ? K : 1);
    /* the parameters exactly as slimc_rt_dyn_params computes them */
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < M * K; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    float xs = (hi - lo) / 255.0f;
    int32_t zp = 0;
    if (!(xs > 0.0f) || xs > 3.0e38f) {
        xs = 1.0f;
    } else {
        const float z = nearbyintf(-lo / xs);
        zp = (int32_t)(z < 0.0f ? 0.0f : z > 255.0f ? 255.0f : z);
    }
    const float inv = 1.0f / xs;
    for (int64_t m = 0; m < M; m++)
        for (int64_t o = 0; o < O; o++) {
            int32_t acc = 0;
            for (int64_t k = 0; k < K; k++) {
                /* slimc_rt_quantize_u8: round half to even of x / scale, plus zp, clamped */
                const float v = x[m * K + k];
                float q = v != v ? 0.0f : nearbyintf(v * inv) + (float)zp;
                q = q < 0.0f ? 0.0f : q > 255.0f ? 255.0f : q;
                acc += (int32_t)q *
                       (int32_t)(packed ? w[slimc_rt_pack_index(o, k, KB, SLIMC_RT_QPACK_K)]
                                        : w[o * K + k]);
            }
            acc -= zp * wsum[o];
            const float r = (float)acc * (xs * ws[o]);
            c->out[m * O + o] = bias ? r + bias[o] : r;
        }
}
