/* The reference semantics of every op in ir/ops.def: PyTorch's functional ops, written as
 * plain loops over concrete shapes. Floats accumulate in float, in one fixed order (the
 * order of the loops below), so that the result is reproducible and easy to follow; exp,
 * log, sqrt and tanh are libm's float functions. This file is the reference the numeric
 * tests hold the C and CUDA backends to: clarity and correctness over speed. The kernels
 * of issue 3's ops (comparisons, cast, data movement, reductions, resize...) are in
 * ir/eval_more.c; this file has the rest and the dispatch.
 *
 * Epilogue operands: ir_eval_node reads the data of epilogue operand j from
 * inputs[n->n_inputs + j] (so callers pass n_inputs + n_epilogue pointers; entries for
 * unary epilogue ops are ignored). */
#include "ir/checked.h"
#include "ir/dtype_ops.h"
#include "ir/eval_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static Dims dims_of(const Graph *g, ValueId v, const int64_t *syms)
{
    const Shape *s = &g->values[v].type.shape;
    Dims r = {s->rank < 0 ? 0 : s->rank, {0}};
    for (int i = 0; i < r.rank; i++)
        r.d[i] = ir_dim_eval(s->d[i], syms);
    return r;
}

/* The f32 kernel of every elementwise op with an expression in ops.def (x, y the operands,
 * p0, p1 the attribute parameters of clip and leaky_relu), spelled in float (ir/scalar.h). */
#define SC_SPELL_F32
#include "ir/scalar.h"
float ir_eval_scalar_f32(OpKind op, float x, float y, float p0, float p1)
{
    switch (op) {
#define E(...) return (__VA_ARGS__);
#define NOEXPR break;
#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr)                       \
    case IR_OP_##e:                                                                                \
        expr
#include "ir/ops.def"
#undef OP
#undef E
#undef NOEXPR
    case IR_NUM_OPS: break;
    }
    SLIMC_ASSERT(0 && "no scalar expression in ops.def");
}

static float apply_unary(OpKind op, float x)
{
    return ir_eval_scalar_f32(op, x, 0.0f, 0.0f, 0.0f);
}

static float apply_binary(OpKind op, float a, float b)
{
    return ir_eval_scalar_f32(op, a, b, 0.0f, 0.0f);
}

/* ---- convolution and matrix products ---- */

/* x [N, C, H, W], w [O, C/groups, KH, KW], bias [O] -> out [N, O, OH, OW] */
static void eval_conv2d(const EvalCtx *c)
{
    const float *x = in_f32(c, 0), *w = in_f32(c, 1), *bias = in_f32(c, 2);
    const Dims *xs = &c->in_dims[0], *ws = &c->in_dims[1], *os = &c->out_dims;
    int64_t stride[2], pad[2], dil[2];
    ir_attr_stride(c->n, stride, 2);
    ir_attr_padding(c->n, pad, 2);
    ir_attr_dilation(c->n, dil, 2);
    int64_t groups = ir_attr_groups(c->n);
    int64_t N = xs->d[0], C = xs->d[1], H = xs->d[2], W = xs->d[3];
    int64_t O = ws->d[0], CG = ws->d[1], KH = ws->d[2], KW = ws->d[3];
    int64_t OH = os->d[2], OW = os->d[3], OG = O / groups;
    for (int64_t b = 0; b < N; b++)
        for (int64_t o = 0; o < O; o++) {
            int64_t grp = o / OG;
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    float acc = 0.0f;
                    for (int64_t ci = 0; ci < CG; ci++) {
                        int64_t ch = grp * CG + ci;
                        for (int64_t kh = 0; kh < KH; kh++) {
                            int64_t ih = oh * stride[0] - pad[0] + kh * dil[0];
                            if (ih < 0 || ih >= H)
                                continue;
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t iw = ow * stride[1] - pad[1] + kw * dil[1];
                                if (iw < 0 || iw >= W)
                                    continue;
                                acc += x[((b * C + ch) * H + ih) * W + iw] *
                                       w[((o * CG + ci) * KH + kh) * KW + kw];
                            }
                        }
                    }
                    if (bias)
                        acc += bias[o];
                    c->out[((b * O + o) * OH + oh) * OW + ow] = acc;
                }
        }
}

/* x [.., K], w [N, K] (or [K, N] when w_transposed), bias [N] -> out [.., N] */
static void eval_linear(const EvalCtx *c)
{
    const float *x = in_f32(c, 0), *w = in_f32(c, 1), *bias = in_f32(c, 2);
    bool tr = ir_attr_w_transposed(c->n) != 0;
    const Dims *ws = &c->in_dims[1];
    int64_t K = tr ? ws->d[0] : ws->d[1], N = tr ? ws->d[1] : ws->d[0];
    int64_t M = K ? dims_numel(&c->in_dims[0]) / K : dims_numel(&c->out_dims) / (N ? N : 1);
    for (int64_t m = 0; m < M; m++)
        for (int64_t j = 0; j < N; j++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < K; k++)
                acc += x[m * K + k] * (tr ? w[k * N + j] : w[j * K + k]);
            if (bias)
                acc += bias[j];
            c->out[m * N + j] = acc;
        }
}

/* torch.matmul: a [.., M, K] @ b [.., K, N] with broadcast batch dims; a 1-D a is [1, K]
 * and a 1-D b is [K, 1], the added dim removed from the result (which changes only the
 * shape, not the layout of the output). */
static void eval_matmul(const EvalCtx *c)
{
    const float *a = in_f32(c, 0), *b = in_f32(c, 1);
    const Dims *as = &c->in_dims[0], *bs = &c->in_dims[1];
    int64_t M = as->rank == 1 ? 1 : as->d[as->rank - 2];
    int64_t K = as->d[as->rank - 1];
    int64_t N = bs->rank == 1 ? 1 : bs->d[bs->rank - 1];
    /* batch shapes: a's and b's leading dims, and their broadcast */
    Dims ba = {as->rank > 2 ? as->rank - 2 : 0, {0}}, bb = {bs->rank > 2 ? bs->rank - 2 : 0, {0}};
    memcpy(ba.d, as->d, sizeof(int64_t) * (size_t)ba.rank);
    memcpy(bb.d, bs->d, sizeof(int64_t) * (size_t)bb.rank);
    Dims batch = {ba.rank > bb.rank ? ba.rank : bb.rank, {0}};
    for (int i = 0; i < batch.rank; i++) {
        int ia = i - (batch.rank - ba.rank), ib = i - (batch.rank - bb.rank);
        int64_t da = ia >= 0 ? ba.d[ia] : 1, db = ib >= 0 ? bb.d[ib] : 1;
        batch.d[i] = da == 1 ? db : da;
    }
    int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK];
    bcast_strides(&batch, &ba, sa);
    bcast_strides(&batch, &bb, sb);
    int64_t nb = dims_numel(&batch);
    for (int64_t t = 0; t < nb; t++) {
        const float *pa = a + bcast_offset(&batch, sa, t) * M * K;
        const float *pb = b + bcast_offset(&batch, sb, t) * K * N;
        float *po = c->out + t * M * N;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                float acc = 0.0f;
                for (int64_t k = 0; k < K; k++)
                    acc += pa[i * K + k] * pb[k * N + j];
                po[i * N + j] = acc;
            }
    }
}

/* ---- elementwise ---- */

static void eval_binary(const EvalCtx *c)
{
    const float *a = in_f32(c, 0), *b = in_f32(c, 1);
    int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK];
    bcast_strides(&c->out_dims, &c->in_dims[0], sa);
    bcast_strides(&c->out_dims, &c->in_dims[1], sb);
    int64_t total = dims_numel(&c->out_dims);
    for (int64_t i = 0; i < total; i++)
        c->out[i] = apply_binary(c->n->op, a[bcast_offset(&c->out_dims, sa, i)],
                                 b[bcast_offset(&c->out_dims, sb, i)]);
}

static void eval_unary(const EvalCtx *c)
{
    const float *x = in_f32(c, 0);
    int64_t total = dims_numel(&c->out_dims);
    for (int64_t i = 0; i < total; i++)
        c->out[i] = apply_unary(c->n->op, x[i]);
}

/* ---- pooling ---- */

/* Window attributes as PyTorch defaults them: stride = kernel when absent. */
static void pool_attrs(const Node *n, int64_t *k, int64_t *s, int64_t *p, int64_t *dil)
{
    ir_attr_kernel(n, k, 2);
    if (!ir_attr_stride_or(n, s, 2, 0) || s[0] == 0) {
        s[0] = k[0];
        s[1] = k[1];
    }
    ir_attr_padding(n, p, 2);
    ir_attr_dilation(n, dil, 2);
}

/* x [N, C, H, W] -> out [N, C, OH, OW]: the max over each window; padding counts as -inf
 * and NaN wins (as in PyTorch). The output size (ceil_mode included) is the output type's. */
static void eval_max_pool2d(const EvalCtx *c)
{
    const float *x = in_f32(c, 0);
    int64_t k[2], s[2], p[2], dil[2];
    pool_attrs(c->n, k, s, p, dil);
    int64_t NC = c->in_dims[0].d[0] * c->in_dims[0].d[1];
    int64_t H = c->in_dims[0].d[2], W = c->in_dims[0].d[3];
    int64_t OH = c->out_dims.d[2], OW = c->out_dims.d[3];
    for (int64_t pl = 0; pl < NC; pl++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                float m = -INFINITY;
                for (int64_t kh = 0; kh < k[0]; kh++) {
                    int64_t ih = oh * s[0] - p[0] + kh * dil[0];
                    if (ih < 0 || ih >= H)
                        continue;
                    for (int64_t kw = 0; kw < k[1]; kw++) {
                        int64_t iw = ow * s[1] - p[1] + kw * dil[1];
                        if (iw < 0 || iw >= W)
                            continue;
                        float v = x[(pl * H + ih) * W + iw];
                        if (v > m || isnan(v))
                            m = v;
                        if (isnan(m))
                            break;
                    }
                }
                c->out[(pl * OH + oh) * OW + ow] = m;
            }
}

/* max_pool2d over u8 codes (an int8 chain): the largest code of each window's taps inside
 * the image; a window with none gives 0 (the code of -inf). */
static void eval_max_pool2d_u8(const EvalCtx *c)
{
    const uint8_t *x = c->in[0];
    uint8_t *y = c->out_raw;
    int64_t k[2], s[2], p[2], dil[2];
    pool_attrs(c->n, k, s, p, dil);
    int64_t NC = c->in_dims[0].d[0] * c->in_dims[0].d[1];
    int64_t H = c->in_dims[0].d[2], W = c->in_dims[0].d[3];
    int64_t OH = c->out_dims.d[2], OW = c->out_dims.d[3];
    for (int64_t pl = 0; pl < NC; pl++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                uint8_t m = 0;
                for (int64_t kh = 0; kh < k[0]; kh++)
                    for (int64_t kw = 0; kw < k[1]; kw++) {
                        int64_t ih = oh * s[0] - p[0] + kh * dil[0];
                        int64_t iw = ow * s[1] - p[1] + kw * dil[1];
                        if (ih >= 0 && ih < H && iw >= 0 && iw < W && x[(pl * H + ih) * W + iw] > m)
                            m = x[(pl * H + ih) * W + iw];
                    }
                y[(pl * OH + oh) * OW + ow] = m;
            }
}

/* x [N, C, H, W] -> out [N, C, OH, OW]: the mean over each window, as PyTorch computes
 * it: the window is clipped to the padded input (ceil_mode windows may hang over its
 * end); with count_include_pad (the default) the divisor is that clipped window's size,
 * padding included, otherwise the number of input elements in it. */
static void eval_avg_pool2d(const EvalCtx *c)
{
    const float *x = in_f32(c, 0);
    int64_t k[2], s[2], p[2], dil[2];
    pool_attrs(c->n, k, s, p, dil);
    bool include_pad = ir_attr_count_include_pad_or(c->n, 1) != 0;
    int64_t NC = c->in_dims[0].d[0] * c->in_dims[0].d[1];
    int64_t H = c->in_dims[0].d[2], W = c->in_dims[0].d[3];
    int64_t OH = c->out_dims.d[2], OW = c->out_dims.d[3];
    for (int64_t pl = 0; pl < NC; pl++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t h0 = oh * s[0] - p[0], w0 = ow * s[1] - p[1];
                int64_t h1 = h0 + k[0] < H + p[0] ? h0 + k[0] : H + p[0];
                int64_t w1 = w0 + k[1] < W + p[1] ? w0 + k[1] : W + p[1];
                int64_t pool_size = (h1 - h0) * (w1 - w0);
                h0 = h0 > 0 ? h0 : 0;
                w0 = w0 > 0 ? w0 : 0;
                h1 = h1 < H ? h1 : H;
                w1 = w1 < W ? w1 : W;
                float *o = &c->out[(pl * OH + oh) * OW + ow];
                if (h0 >= h1 || w0 >= w1) {
                    *o = 0.0f;
                    continue;
                }
                float sum = 0.0f;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++)
                        sum += x[(pl * H + ih) * W + iw];
                int64_t divisor = include_pad ? pool_size : (h1 - h0) * (w1 - w0);
                *o = sum / (float)divisor;
            }
}

/* ---- softmax and normalization ---- */

/* softmax / log_softmax along axis, stable: exp(x - max) / sum. */
static void eval_softmax(const EvalCtx *c)
{
    const float *x = in_f32(c, 0);
    const Dims *xs = &c->in_dims[0];
    int64_t axis = ir_attr_axis_or(c->n, -1);
    if (axis < 0)
        axis += xs->rank;
    int64_t outer = 1, len = xs->d[axis], inner = 1;
    for (int64_t i = 0; i < axis; i++)
        outer *= xs->d[i];
    for (int64_t i = axis + 1; i < xs->rank; i++)
        inner *= xs->d[i];
    bool log_out = c->n->op == IR_OP_LOG_SOFTMAX;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            const float *row = x + o * len * inner + in;
            float *out = c->out + o * len * inner + in;
            float m = -INFINITY;
            for (int64_t i = 0; i < len; i++)
                if (row[i * inner] > m || isnan(row[i * inner]))
                    m = row[i * inner];
            float sum = 0.0f;
            for (int64_t i = 0; i < len; i++)
                sum += expf(row[i * inner] - m);
            if (log_out) {
                float lse = logf(sum);
                for (int64_t i = 0; i < len; i++)
                    out[i * inner] = row[i * inner] - m - lse;
            } else {
                for (int64_t i = 0; i < len; i++)
                    out[i * inner] = expf(row[i * inner] - m) / sum;
            }
        }
}

/* Inference batch norm, inputs in F.batch_norm's order: x [N, C, ...], running_mean [C],
 * running_var [C], weight [C], bias [C]; out = (x - mean) / sqrt(var + eps) * w + b. */
static void eval_batch_norm(const EvalCtx *c)
{
    const float *x = in_f32(c, 0), *mean = in_f32(c, 1), *var = in_f32(c, 2);
    const float *w = in_f32(c, 3), *b = in_f32(c, 4);
    float eps = (float)ir_attr_eps(c->n);
    const Dims *xs = &c->in_dims[0];
    int64_t N = xs->d[0], C = xs->rank > 1 ? xs->d[1] : 1, inner = 1;
    for (int i = 2; i < xs->rank; i++)
        inner *= xs->d[i];
    for (int64_t n = 0; n < N; n++)
        for (int64_t ch = 0; ch < C; ch++) {
            float inv = 1.0f / sqrtf(var[ch] + eps);
            float scale = w ? w[ch] : 1.0f, shift = b ? b[ch] : 0.0f;
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = (n * C + ch) * inner + i;
                c->out[at] = (x[at] - mean[ch]) * inv * scale + shift;
            }
        }
}

/* F.layer_norm over the last normalized_ndim dims: x, weight and bias (optional) of the
 * normalized shape; biased variance; out = (x - mean) / sqrt(var + eps) * w + b. */
static void eval_layer_norm(const EvalCtx *c)
{
    const float *x = in_f32(c, 0), *w = in_f32(c, 1), *b = in_f32(c, 2);
    const Dims *xs = &c->in_dims[0];
    int64_t nd = ir_attr_normalized_ndim(c->n);
    float eps = (float)ir_attr_eps(c->n);
    int64_t len = 1;
    for (int64_t i = xs->rank - nd; i < xs->rank; i++)
        len *= xs->d[i];
    int64_t rows = len ? dims_numel(xs) / len : 0;
    for (int64_t r = 0; r < rows; r++) {
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
            float v = (row[i] - mean) * inv;
            if (w)
                v *= w[i];
            if (b)
                v += b[i];
            out[i] = v;
        }
    }
}

/* F.embedding(indices [..], weight [V, D]) -> out [.., D]; an index outside [0, V) is the
 * user's error, reported with the node's name. */
static bool eval_embedding(const EvalCtx *c)
{
    const Value *iv = &c->g->values[c->n->inputs[0]];
    const float *w = in_f32(c, 1);
    int64_t V = c->in_dims[1].d[0], D = c->in_dims[1].d[1];
    int64_t count = dims_numel(&c->in_dims[0]);
    for (int64_t i = 0; i < count; i++) {
        int64_t idx = iv->type.dtype == IR_I64 ? ((const int64_t *)c->in[0])[i]
                                               : ((const int32_t *)c->in[0])[i];
        if (idx < 0 || idx >= V) {
            ir_diag_error(
                c->d, c->n->loc,
                "embedding '%s': index %lld (element %lld of '%s') is out of range [0, %lld)",
                c->n->name, (long long)idx, (long long)i, iv->name, (long long)V);
            return false;
        }
        memcpy(c->out + i * D, w + idx * D, sizeof(float) * (size_t)D);
    }
    return true;
}

/* ---- dtype checks and dispatch ---- */

static bool unsupported(const EvalCtx *c, const char *why)
{
    ir_diag_error(c->d, c->n->loc, "%s '%s': no reference implementation %s", ir_ops[c->n->op].name,
                  c->n->name, why);
    return false;
}

/* True when value v (if present) is plain f32 (no quantization). */
static bool is_f32(const Graph *g, ValueId v)
{
    return v == IR_NONE || (g->values[v].type.dtype == IR_F32 && !g->values[v].type.quant);
}

/* Applies n's epilogue to out, element by element, in order: out = op(out), out op operand
 * or operand op out (operand_first), the operand broadcast to out's shape. */
static void apply_epilogue(const EvalCtx *c)
{
    const Node *n = c->n;
    int64_t total = dims_numel(&c->out_dims);
    for (int j = 0; j < n->n_epilogue; j++) {
        const Epilogue *e = &n->epilogue[j];
        if (e->operand == IR_NONE) {
            for (int64_t i = 0; i < total; i++)
                c->out[i] = apply_unary(e->op, c->out[i]);
            continue;
        }
        const float *opd = (const float *)c->in[n->n_inputs + j];
        Dims od = dims_of(c->g, e->operand, c->syms);
        int64_t st[IR_MAX_RANK];
        bcast_strides(&c->out_dims, &od, st);
        for (int64_t i = 0; i < total; i++) {
            float v = opd[bcast_offset(&c->out_dims, st, i)];
            c->out[i] = e->operand_first ? apply_binary(e->op, v, c->out[i])
                                         : apply_binary(e->op, c->out[i], v);
        }
    }
}

/* Checks the dtypes n needs: f32 everywhere, except embedding's indices (i64 or i32) and
 * the data-movement, comparison and cast ops, which take any dtype but i4. */
static bool check_dtypes(const EvalCtx *c)
{
    const Graph *g = c->g;
    const Node *n = c->n;
    if (ir_ops[n->op].flags & IR_F_ANY_DTYPE) {
        for (int i = 0; i < n->n_inputs; i++)
            if (ir_dtype_bits(g->values[n->inputs[i]].type.dtype) < 8 ||
                g->values[n->inputs[i]].type.quant)
                return unsupported(c, "for i4 or quantized values");
        if ((ir_ops[n->op].flags & IR_F_VIEW) &&
            g->values[n->inputs[0]].type.dtype != g->values[n->outputs[0]].type.dtype)
            return unsupported(c, "for a change of dtype");
        return n->n_epilogue == 0 || unsupported(c, "for an epilogue on a data-movement op");
    }
    for (int i = 0; i < n->n_inputs; i++) {
        ValueId v = n->inputs[i];
        if (v == IR_NONE)
            continue; /* an absent optional input */
        if (n->op == IR_OP_RNN && i == 4) {
            if (g->values[v].type.dtype != IR_I32)
                return unsupported(c, "for sequence_lens that are not i32");
            continue;
        }
        if (n->op == IR_OP_EMBEDDING && i == 0) {
            DType t = g->values[v].type.dtype;
            if (t != IR_I64 && t != IR_I32)
                return unsupported(c, "for indices that are not i64 or i32");
            continue;
        }
        if ((n->op == IR_OP_LINEAR || n->op == IR_OP_CONV2D) && i == 3)
            continue; /* the CSR copy of the weight (passes/sparse.c): w (input 1) is read */
        if (!is_f32(g, v))
            return unsupported(c, "for dtypes other than f32 (or quantized values)");
    }
    for (int j = 0; j < n->n_epilogue; j++)
        if (!is_f32(g, n->epilogue[j].operand))
            return unsupported(c, "for an epilogue operand that is not f32");
    for (int i = 0; i < n->n_outputs; i++)
        if (!is_f32(g, n->outputs[i]))
            return unsupported(c, "for an output that is not f32");
    return true;
}

static bool eval_quant_node(EvalCtx *c); /* the int8 ops, at the end of this file */

bool ir_eval_node(const Graph *g, const Node *n, const void *const *inputs, void *const *outputs,
                  const int64_t *syms, Diag *d)
{
    EvalCtx c = {.g = g, .n = n, .in = inputs, .syms = syms, .d = d};
    SLIMC_ASSERT(n->n_inputs <= 8 && n->n_outputs == 1);
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] != IR_NONE) {
            if (g->values[n->inputs[i]].type.shape.rank < 0)
                return unsupported(&c, "for an operand of unknown shape");
            c.in_dims[i] = dims_of(g, n->inputs[i], syms);
        }
    if (g->values[n->outputs[0]].type.shape.rank < 0)
        return unsupported(&c, "for an output of unknown shape");
    c.out_dims = dims_of(g, n->outputs[0], syms);
    c.out = (float *)outputs[0];
    c.out_raw = outputs[0];
    if (n->op == IR_OP_QUANTIZE || n->op == IR_OP_DEQUANTIZE || n->op == IR_OP_QADD ||
        n->op == IR_OP_QCONV2D || n->op == IR_OP_QLINEAR || n->op == IR_OP_WLINEAR ||
        n->op == IR_OP_DQLINEAR)
        return eval_quant_node(&c);
    if (ir_eval_is_index_op(n->op)) /* ir/eval_index.c */
        return ir_eval_index_node(&c);
    if (ir_eval_is_grad_op(n->op)) /* ir/eval_grad.c */
        return ir_eval_grad_node(&c);
    if (ir_node_is_typed_elementwise(g, n)) /* f64, f16, bf16, integers: eval_dtypes.c */
        return ir_eval_typed(&c);
    if (n->op == IR_OP_MAX_POOL2D && g->values[n->inputs[0]].type.dtype == IR_U8) {
        if (n->n_epilogue)
            return unsupported(&c, "for an epilogue on a u8 max_pool2d");
        eval_max_pool2d_u8(&c); /* an int8 chain (passes/qchain.c) */
        return true;
    }
    if (!check_dtypes(&c))
        return false;
    switch (n->op) {
    case IR_OP_CONV2D: eval_conv2d(&c); break;
    case IR_OP_LINEAR: eval_linear(&c); break;
    case IR_OP_MATMUL: eval_matmul(&c); break;
#include "ir/cases_elementwise.inc"
        if (ir_ops[n->op].flags & IR_F_BINARY)
            eval_binary(&c);
        else if (ir_ops[n->op].n_attrs)
            ir_eval_unary_attr(&c);
        else
            eval_unary(&c);
        break;
    case IR_OP_EQ:
    case IR_OP_NE:
    case IR_OP_LT:
    case IR_OP_LE:
    case IR_OP_GT:
    case IR_OP_GE: ir_eval_compare(&c); return true;
    case IR_OP_WHERE: ir_eval_where(&c); return true;
    case IR_OP_CAST: ir_eval_cast(&c); return true;
    case IR_OP_ADAPTIVE_AVG_POOL2D: ir_eval_adaptive_avg_pool2d(&c); break;
    case IR_OP_GROUP_NORM: ir_eval_group_norm(&c); break;
    case IR_OP_REDUCE_SUM:
    case IR_OP_REDUCE_MEAN:
    case IR_OP_REDUCE_MAX:
    case IR_OP_REDUCE_MIN: ir_eval_reduce(&c); break;
    case IR_OP_PERMUTE: ir_eval_permute(&c); return true;
    case IR_OP_EXPAND: ir_eval_expand(&c); return true;
    case IR_OP_SLICE: ir_eval_slice(&c); return true;
    case IR_OP_PAD: ir_eval_pad(&c); return true;
    case IR_OP_CONCAT: ir_eval_concat(&c); return true;
    case IR_OP_INDEX_SELECT: return ir_eval_index_select(&c);
    case IR_OP_RESIZE: ir_eval_resize(&c); break;
    case IR_OP_CONV_TRANSPOSE2D: ir_eval_conv_transpose2d(&c); break;
    case IR_OP_MAX_POOL2D: eval_max_pool2d(&c); break;
    case IR_OP_AVG_POOL2D: eval_avg_pool2d(&c); break;
    case IR_OP_TRANSFER: /* one memory here: a copy */
    case IR_OP_FLATTEN:
    case IR_OP_RESHAPE:
    case IR_OP_SQUEEZE:
    case IR_OP_UNSQUEEZE:
    case IR_OP_DROPOUT: {
        const Type *t = &g->values[n->inputs[0]].type;
        memcpy(outputs[0], inputs[0], ir_dtype_bytes(t->dtype, dims_numel(&c.in_dims[0])));
        return true;
    }
    case IR_OP_SOFTMAX:
    case IR_OP_LOG_SOFTMAX: eval_softmax(&c); break;
    case IR_OP_BATCH_NORM: eval_batch_norm(&c); break;
    case IR_OP_LAYER_NORM: eval_layer_norm(&c); break;
    case IR_OP_ATTENTION: ir_eval_attention(&c); break;
    case IR_OP_RNN: ir_eval_rnn(&c); break;
    case IR_OP_EMBEDDING:
        if (!eval_embedding(&c))
            return false;
        break;
    case IR_OP_QUANTIZE:
    case IR_OP_DEQUANTIZE:
    case IR_OP_QADD:
    case IR_OP_QCONV2D:
    case IR_OP_QLINEAR:
    case IR_OP_WLINEAR:
    case IR_OP_DQLINEAR:    /* above */
    case IR_OP_BITWISE_AND: /* integers only: ir_eval_typed, above */
    case IR_OP_BITWISE_OR:
    case IR_OP_BITWISE_XOR:
    case IR_OP_BITWISE_NOT:
    case IR_OP_BITSHIFT_LEFT:
    case IR_OP_BITSHIFT_RIGHT:
    case IR_OP_ARGMAX:
    case IR_OP_ARGMIN:
    case IR_OP_GATHER_ELEMENTS:
    case IR_OP_SCATTER_ELEMENTS:
    case IR_OP_CUMSUM:
    case IR_OP_REDUCE_PROD:
    case IR_OP_MOD:
    case IR_OP_RESIZE_AXIS:
    case IR_OP_GRID_SAMPLE:
    case IR_OP_TOPK:
    case IR_OP_POOL_ND:
    case IR_OP_GATHER_ND:
    case IR_OP_SCATTER_ND:
    case IR_OP_ROI_ALIGN:
    case IR_OP_MAX_POOL2D_GRAD: /* ir_eval_grad_node, above */
    case IR_OP_AVG_POOL2D_GRAD:
    case IR_OP_ADAPTIVE_AVG_POOL2D_GRAD:
    case IR_OP_CONV2D_WEIGHT_GRAD:
    case IR_OP_EMBEDDING_GRAD:
    case IR_OP_CROSS_ENTROPY:
    case IR_OP_CROSS_ENTROPY_GRAD:
    case IR_OP_NLL_LOSS:
    case IR_OP_NLL_LOSS_GRAD:
    case IR_OP_MSE_LOSS:
    case IR_OP_MSE_LOSS_GRAD:
    case IR_OP_DISTILL_LOSS:
    case IR_OP_DISTILL_LOSS_GRAD:
    case IR_OP_BATCH_NORM_TRAIN:
    case IR_OP_FAKE_QUANT:
    case IR_OP_FAKE_QUANT_GRAD:
    case IR_NUM_OPS: SLIMC_ASSERT(0 && "bad op");
    }
    apply_epilogue(&c);
    return true;
}

/* Bytes of value v with the symbols bound (at least 1, so that every buffer exists); 0
 * when the size overflows for these symbol values. */
static size_t value_bytes(const Graph *g, ValueId v, const int64_t *syms)
{
    const Shape *s = &g->values[v].type.shape;
    int64_t n = 1, k;
    size_t b;
    for (int i = 0; i < s->rank; i++)
        if (!ir_dim_eval_ckd(s->d[i], syms, &k) || !ir_ckd_mul_i64(n, k, &n))
            return 0;
    if (!ir_ckd_bytes(g->values[v].type.dtype, n, &b))
        return 0;
    return b ? b : 1;
}

/* Runs every live node in order. Intermediate buffers live in a private arena released
 * at the end; the outputs are copied into malloc'd buffers that the caller frees. */
bool ir_eval_graph(const Graph *g, const void *const *inputs, void **outputs, const int64_t *syms,
                   Diag *d)
{
    for (int i = 0; i < g->n_outputs; i++)
        outputs[i] = NULL;
    Arena *a = ir_arena_new();
    const void **data = ir_arena_alloc(a, sizeof(void *) * (size_t)(g->n_values + 1));
    for (int i = 0; i < g->n_inputs; i++)
        data[g->inputs[i]] = inputs[i];
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].kind == IR_VALUE_CONST)
            data[v] = g->values[v].data;
    bool ok = true;
    for (int i = 0; i < g->n_nodes && ok; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        int n_in = n->n_inputs + n->n_epilogue;
        const void **in = ir_arena_alloc(a, sizeof(void *) * (size_t)(n_in + 1));
        void **out = ir_arena_alloc(a, sizeof(void *) * (size_t)(n->n_outputs + 1));
        for (int j = 0; j < n_in && ok; j++) {
            ValueId v = j < n->n_inputs ? n->inputs[j] : n->epilogue[j - n->n_inputs].operand;
            if (v == IR_NONE)
                continue;
            in[j] = data[v];
            if (!in[j]) {
                ir_diag_error(d, n->loc,
                              "%s '%s': operand '%s' has no data (not computed yet, or a constant "
                              "without payload)",
                              ir_ops[n->op].name, n->name, g->values[v].name);
                ok = false;
            }
        }
        for (int j = 0; j < n->n_outputs && ok; j++) {
            if (g->values[n->outputs[j]].type.shape.rank < 0) {
                ir_diag_error(d, n->loc, "%s '%s': output '%s' has an unknown shape",
                              ir_ops[n->op].name, n->name, g->values[n->outputs[j]].name);
                ok = false;
                break;
            }
            size_t bytes = value_bytes(g, n->outputs[j], syms);
            if (!bytes) {
                ir_diag_error(d, n->loc, "tensor '%s': element count overflows for these shapes",
                              g->values[n->outputs[j]].name);
                ok = false;
                break;
            }
            out[j] = ir_arena_alloc(a, bytes);
        }
        if (ok)
            ok = ir_eval_node(g, n, in, out, syms, d);
        for (int j = 0; j < n->n_outputs && ok; j++)
            data[n->outputs[j]] = out[j];
    }
    for (int i = 0; i < g->n_outputs && ok; i++) {
        ValueId v = g->outputs[i];
        if (!data[v]) {
            ir_diag_error(d, g->values[v].loc, "output '%s' is not computed by the graph",
                          g->values[v].name);
            ok = false;
        }
    }
    for (int i = 0; i < g->n_outputs && ok; i++) {
        size_t bytes = value_bytes(g, g->outputs[i], syms);
        if (!bytes || !(outputs[i] = malloc(bytes))) {
            ir_diag_error(d, g->values[g->outputs[i]].loc, "output '%s': out of memory",
                          g->values[g->outputs[i]].name);
            ok = false;
            break;
        }
        memcpy(outputs[i], data[g->outputs[i]], bytes);
    }
    if (!ok)
        for (int i = 0; i < g->n_outputs; i++) {
            free(outputs[i]); /* the caller owns the outputs only on success */
            outputs[i] = NULL;
        }
    ir_arena_free(a);
    return ok;
}

/* ---- int8 quantization ops (docs/quantization.md) ---- */

/* The exact u8 code of x: round half to even of x * (1 / scale), plus the zero point,
 * clamped to [0, 255] (NaN gives 0). Generated code computes the same expression. */
static uint8_t quant_u8(float x, float inv, int32_t zp)
{
    float v = rintf(x * inv) + (float)zp;
    v = fminf(fmaxf(v, 0.0f), 255.0f);
    return (uint8_t)v;
}

/* The f32 output of a quantized conv/linear from its exact i32 accumulator. */
static float quant_out(int32_t acc, float x_scale, float w_scale, const float *bias, int64_t o)
{
    const float m = x_scale * w_scale;
    float r = (float)acc * m;
    return bias ? r + bias[o] : r;
}

/* Element i of a qconv2d / qlinear's output: f32, or with y_scale (an int8 chain,
 * passes/qchain.c) relu / relu6 (act 1 / 2) and quantize's u8 code (of y / y_scale with
 * y_divide). */
static void quant_put(const EvalCtx *c, int64_t i, float y)
{
    const Node *n = c->n;
    if (!ir_node_attr_id(n, IR_A_y_scale)) {
        c->out[i] = y;
        return;
    }
    const int64_t act = ir_attr_act(n);
    if (act != 0)
        y = y <= 0.0f ? 0.0f : (act == 2 && y >= 6.0f) ? 6.0f : y;
    const float ys = (float)ir_attr_y_scale(n);
    const int32_t zp = (int32_t)ir_attr_y_zero_point(n);
    if (ir_attr_y_divide(n)) /* div then quantize {scale=1} (ONNX QuantizeLinear) */
        ((uint8_t *)c->out_raw)[i] = quant_u8(y / ys, 1.0f, zp);
    else
        ((uint8_t *)c->out_raw)[i] = quant_u8(y, 1.0f / ys, zp);
}

static void eval_qlinear(const EvalCtx *c)
{
    const Node *n = c->n;
    const uint8_t *x = c->in[0];
    const int8_t *w = c->in[1];
    const float *ws = c->in[2];
    const int32_t *wsum = c->in[3];
    const float *bias = n->n_inputs > 4 && n->inputs[4] != IR_NONE ? c->in[4] : NULL;
    const float xs = (float)ir_attr_x_scale(n);
    const int32_t zp = (int32_t)ir_attr_x_zero_point(n);
    const bool packed = ir_attr_w_packed(n) != 0;
    const Dims *xd = &c->in_dims[0];
    const int64_t O = packed ? ir_attr_out_features(n) : c->in_dims[1].d[0];
    const int64_t K = packed ? xd->d[xd->rank - 1] : c->in_dims[1].d[1], KB = ir_qpack_rows(K);
    const int64_t M = dims_numel(&c->in_dims[0]) / (K ? K : 1);
    for (int64_t m = 0; m < M; m++)
        for (int64_t o = 0; o < O; o++) {
            int32_t acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (int32_t)x[m * K + k] *
                       (int32_t)(packed ? w[((o / 16) * KB + k / 4) * 64 + (o % 16) * 4 + k % 4]
                                        : w[o * K + k]);
            acc -= zp * wsum[o];
            quant_put(c, m * O + o, quant_out(acc, xs, ws[o], bias, o));
        }
}

static void eval_qconv2d(const EvalCtx *c)
{
    const Node *n = c->n;
    const uint8_t *x = c->in[0];
    const int8_t *w = c->in[1];
    const float *ws = c->in[2];
    const int32_t *wsum = c->in[3];
    const float *bias = n->n_inputs > 4 ? c->in[4] : NULL;
    const float xs = (float)ir_attr_x_scale(n);
    const int32_t zp = (int32_t)ir_attr_x_zero_point(n);
    int64_t stride[2], pad[2], dil[2];
    ir_attr_stride(n, stride, 2);
    ir_attr_padding(n, pad, 2);
    ir_attr_dilation(n, dil, 2);
    const int64_t groups = ir_attr_groups(n);
    const Dims *xd = &c->in_dims[0], *wd = &c->in_dims[1];
    const int64_t B = xd->d[0], C = xd->d[1], H = xd->d[2], W = xd->d[3];
    const bool taps = ir_attr_w_taps(n) != 0; /* [O][CW / 4][KH][KW][4]: passes/qtaps.c */
    const int64_t O = wd->d[0], CW = wd->d[1], CG = taps ? C / groups : CW, KH = wd->d[2],
                  KW = wd->d[3];
    const int64_t OH = c->out_dims.d[2], OW = c->out_dims.d[3], OG = O / groups;
    for (int64_t b = 0; b < B; b++)
        for (int64_t o = 0; o < O; o++) {
            const int64_t g0 = o / OG * CG;
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    int32_t acc = 0;
                    for (int64_t ci = 0; ci < CG; ci++)
                        for (int64_t kh = 0; kh < KH; kh++)
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t ih = oh * stride[0] - pad[0] + kh * dil[0];
                                int64_t iw = ow * stride[1] - pad[1] + kw * dil[1];
                                int32_t q = (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                                ? zp
                                                : (int32_t)x[((b * C + g0 + ci) * H + ih) * W + iw];
                                const int64_t wi =
                                    taps ? (((o * (CW / 4) + ci / 4) * KH + kh) * KW + kw) * 4 +
                                               ci % 4
                                         : ((o * CG + ci) * KH + kh) * KW + kw;
                                acc += q * (int32_t)w[wi];
                            }
                    acc -= zp * wsum[o];
                    quant_put(c, ((b * O + o) * OH + oh) * OW + ow,
                              quant_out(acc, xs, ws[o], bias, o));
                }
        }
}

/* qadd: the dequantized codes added in f32, then quant_put's store (y_scale, act). */
static void eval_qadd(const EvalCtx *c, int64_t total)
{
    const Node *n = c->n;
    const uint8_t *a = c->in[0], *b = c->in[1];
    const float sa = (float)ir_attr_a_scale(n), sb = (float)ir_attr_b_scale(n);
    const int32_t za = (int32_t)ir_attr_a_zero_point(n), zb = (int32_t)ir_attr_b_zero_point(n);
    for (int64_t i = 0; i < total; i++) {
        const float fa = (float)((int32_t)a[i] - za) * sa;
        const float fb = (float)((int32_t)b[i] - zb) * sb;
        quant_put(c, i, fa + fb);
    }
}

/* quantize, dequantize, qconv2d and qlinear, with their dtypes checked by the shape
 * functions (u8 activations, i8 weights, f32 scales and bias, i32 weight sums). */
static bool eval_quant_node(EvalCtx *c)
{
    const Node *n = c->n;
    const int64_t total = dims_numel(&c->out_dims);
    for (int j = 0; j < n->n_epilogue; j++)
        if (!is_f32(c->g, n->epilogue[j].operand))
            return unsupported(c, "for an epilogue operand that is not f32");
    if (n->op == IR_OP_QUANTIZE) {
        if (n->n_epilogue)
            return unsupported(c, "for an epilogue on quantize");
        const float inv = 1.0f / (float)ir_attr_scale(n);
        const int32_t zp = (int32_t)ir_attr_zero_point(n);
        const float *x = c->in[0];
        uint8_t *q = c->out_raw;
        for (int64_t i = 0; i < total; i++)
            q[i] = quant_u8(x[i], inv, zp);
        return true;
    }
    if (n->op == IR_OP_QADD) {
        if (n->n_epilogue)
            return unsupported(c, "for an epilogue on qadd");
        eval_qadd(c, total);
        return true;
    }
    if (n->op == IR_OP_DEQUANTIZE) {
        const float s = (float)ir_attr_scale(n);
        const int32_t zp = (int32_t)ir_attr_zero_point(n);
        const uint8_t *q = c->in[0];
        for (int64_t i = 0; i < total; i++)
            c->out[i] = (float)((int32_t)q[i] - zp) * s;
    } else if (n->op == IR_OP_QCONV2D || n->op == IR_OP_QLINEAR) {
        if (ir_node_attr_id(n, IR_A_y_scale) && n->n_epilogue)
            return unsupported(c, "for an epilogue on a layer that writes u8");
        if (n->op == IR_OP_QCONV2D)
            eval_qconv2d(c);
        else
            eval_qlinear(c);
    } else if (n->op == IR_OP_WLINEAR) {
        ir_eval_wlinear(c);
    } else if (n->op == IR_OP_DQLINEAR) {
        ir_eval_dqlinear(c);
    } else {
        return unsupported(c, "(not a quantization op)");
    }
    apply_epilogue(c);
    return true;
}
