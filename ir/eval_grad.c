/* Reference kernels of the training ops (ir/ops.def's last block): the pooling,
 * convolution and embedding gradients and the losses with their gradients. Sums run in a
 * fixed order (the batch outermost, then the output's positions), in double for the losses,
 * as the C backend's kernels (codegen/c/grad.c) do. */
#include "ir/eval_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool ir_eval_is_grad_op(OpKind op)
{
    return op == IR_OP_MAX_POOL2D_GRAD || op == IR_OP_AVG_POOL2D_GRAD ||
           op == IR_OP_ADAPTIVE_AVG_POOL2D_GRAD || op == IR_OP_CONV2D_WEIGHT_GRAD ||
           op == IR_OP_EMBEDDING_GRAD || op == IR_OP_CROSS_ENTROPY ||
           op == IR_OP_CROSS_ENTROPY_GRAD || op == IR_OP_NLL_LOSS || op == IR_OP_NLL_LOSS_GRAD ||
           op == IR_OP_MSE_LOSS || op == IR_OP_MSE_LOSS_GRAD || op == IR_OP_DISTILL_LOSS ||
           op == IR_OP_DISTILL_LOSS_GRAD || op == IR_OP_BATCH_NORM_TRAIN ||
           op == IR_OP_FAKE_QUANT || op == IR_OP_FAKE_QUANT_GRAD;
}

/* The window parameters of a pool node (stride defaults to the kernel). */
static void pool_params(const Node *n, int64_t *k, int64_t *s, int64_t *p, int64_t *dil)
{
    ir_attr_kernel(n, k, 2);
    if (!ir_attr_stride_or(n, s, 2, 0) || s[0] == 0)
        s[0] = k[0], s[1] = k[1];
    ir_attr_padding(n, p, 2);
    dil[0] = dil[1] = 1;
    if (n->op == IR_OP_MAX_POOL2D_GRAD)
        ir_attr_dilation(n, dil, 2);
}

/* max_pool2d_grad(dy, x): each output's gradient to its window's first maximum (a NaN
 * wins, as in PyTorch's kernel), padding never chosen. */
static void eval_max_pool2d_grad(const EvalCtx *c)
{
    const float *dy = in_f32(c, 0), *x = in_f32(c, 1);
    const Dims *xs = &c->in_dims[1], *ys = &c->in_dims[0];
    int64_t k[2], s[2], p[2], dil[2];
    pool_params(c->n, k, s, p, dil);
    int64_t planes = xs->d[0] * xs->d[1], H = xs->d[2], W = xs->d[3], OH = ys->d[2], OW = ys->d[3];
    memset(c->out, 0, sizeof(float) * (size_t)(planes * H * W));
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * H * W, *dp = dy + pl * OH * OW;
        float *op = c->out + pl * H * W;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t best = -1;
                float m = -INFINITY;
                for (int64_t kh = 0; kh < k[0]; kh++) {
                    int64_t ih = oh * s[0] - p[0] + kh * dil[0];
                    if (ih < 0 || ih >= H)
                        continue;
                    for (int64_t kw = 0; kw < k[1]; kw++) {
                        int64_t iw = ow * s[1] - p[1] + kw * dil[1];
                        if (iw < 0 || iw >= W)
                            continue;
                        float v = xp[ih * W + iw];
                        if (best < 0 || v > m || isnan(v)) {
                            best = ih * W + iw;
                            m = v;
                        }
                    }
                }
                if (best >= 0)
                    op[best] += dp[oh * OW + ow];
            }
    }
}

/* avg_pool2d_grad(dy, x) and adaptive_avg_pool2d_grad(dy, x): each output's gradient spread
 * over its window, divided as the forward divides. */
static void eval_avg_pool2d_grad(const EvalCtx *c)
{
    const float *dy = in_f32(c, 0);
    const Dims *xs = &c->in_dims[1], *ys = &c->in_dims[0];
    bool adaptive = c->n->op == IR_OP_ADAPTIVE_AVG_POOL2D_GRAD;
    int64_t k[2] = {1, 1}, s[2] = {1, 1}, p[2] = {0, 0}, dil[2];
    if (!adaptive)
        pool_params(c->n, k, s, p, dil);
    bool include_pad = ir_attr_count_include_pad_or(c->n, 1) != 0;
    int64_t planes = xs->d[0] * xs->d[1], H = xs->d[2], W = xs->d[3], OH = ys->d[2], OW = ys->d[3];
    memset(c->out, 0, sizeof(float) * (size_t)(planes * H * W));
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *dp = dy + pl * OH * OW;
        float *op = c->out + pl * H * W;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t h0, h1, w0, w1, div;
                if (adaptive) {
                    h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
                    w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
                    div = (h1 - h0) * (w1 - w0);
                } else {
                    h0 = oh * s[0] - p[0], w0 = ow * s[1] - p[1];
                    h1 = h0 + k[0] < H + p[0] ? h0 + k[0] : H + p[0];
                    w1 = w0 + k[1] < W + p[1] ? w0 + k[1] : W + p[1];
                    int64_t pool_size = (h1 - h0) * (w1 - w0);
                    h0 = h0 > 0 ? h0 : 0, w0 = w0 > 0 ? w0 : 0;
                    h1 = h1 < H ? h1 : H, w1 = w1 < W ? w1 : W;
                    div = include_pad ? pool_size : (h1 - h0) * (w1 - w0);
                }
                if (h0 >= h1 || w0 >= w1)
                    continue;
                float gv = dp[oh * OW + ow] / (float)div;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++)
                        op[ih * W + iw] += gv;
            }
    }
}

/* conv2d_weight_grad(x, dy, w): dw[o][ci][kh][kw] = sum over n, oh, ow (in that order) of
 * dy[n][o][oh][ow] * x[n][g * CG + ci][oh * SH - PH + kh * DH][ow * SW - PW + kw * DW]. */
static void eval_conv2d_weight_grad(const EvalCtx *c)
{
    const float *x = in_f32(c, 0), *dy = in_f32(c, 1);
    const Dims *xs = &c->in_dims[0], *ys = &c->in_dims[1], *ws = &c->in_dims[2];
    int64_t s[2], p[2], dil[2], groups = ir_attr_groups(c->n);
    ir_attr_stride(c->n, s, 2);
    ir_attr_padding(c->n, p, 2);
    ir_attr_dilation(c->n, dil, 2);
    int64_t N = xs->d[0], C = xs->d[1], H = xs->d[2], W = xs->d[3], O = ys->d[1], OH = ys->d[2],
            OW = ys->d[3], CG = ws->d[1], KH = ws->d[2], KW = ws->d[3], OG = O / groups;
    for (int64_t o = 0; o < O; o++)
        for (int64_t ci = 0; ci < CG; ci++)
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++) {
                    int64_t ch = (o / OG) * CG + ci;
                    float acc = 0.0f;
                    for (int64_t b = 0; b < N; b++) {
                        const float *xp = x + (b * C + ch) * H * W;
                        const float *dp = dy + (b * O + o) * OH * OW;
                        for (int64_t oh = 0; oh < OH; oh++) {
                            int64_t ih = oh * s[0] - p[0] + kh * dil[0];
                            if (ih < 0 || ih >= H)
                                continue;
                            for (int64_t ow = 0; ow < OW; ow++) {
                                int64_t iw = ow * s[1] - p[1] + kw * dil[1];
                                if (iw >= 0 && iw < W)
                                    acc += dp[oh * OW + ow] * xp[ih * W + iw];
                            }
                        }
                    }
                    c->out[((o * CG + ci) * KH + kh) * KW + kw] = acc;
                }
}

static int64_t index_at(const Graph *g, ValueId v, const void *data, int64_t i)
{
    return g->values[v].type.dtype == IR_I64 ? ((const int64_t *)data)[i]
                                             : ((const int32_t *)data)[i];
}

/* embedding_grad(dy [.., D], indices [..], w [V, D]): zeros, then each row of dy added to
 * its index's row, in order. */
static bool eval_embedding_grad(const EvalCtx *c)
{
    const float *dy = in_f32(c, 0);
    int64_t V = c->in_dims[2].d[0], D = c->in_dims[2].d[1], count = dims_numel(&c->in_dims[1]);
    memset(c->out, 0, sizeof(float) * (size_t)(V * D));
    for (int64_t i = 0; i < count; i++) {
        int64_t r = index_at(c->g, c->n->inputs[1], c->in[1], i);
        if (r < 0 || r >= V) {
            ir_diag_error(c->d, c->n->loc,
                          "embedding_grad '%s': index %lld is out of range [0, %lld)", c->n->name,
                          (long long)r, (long long)V);
            return false;
        }
        for (int64_t j = 0; j < D; j++)
            c->out[r * D + j] += dy[i * D + j];
    }
    return true;
}

/* A label: false (with the error) when it is neither ignore_index nor a class. */
static bool label_ok(const EvalCtx *c, int64_t y, int64_t C, int64_t i)
{
    if (y == ir_attr_ignore_index(c->n) || (y >= 0 && y < C))
        return true;
    ir_diag_error(c->d, c->n->loc, "%s '%s': label %lld of sample %lld is out of range [0, %lld)",
                  ir_ops[c->n->op].name, c->n->name, (long long)y, (long long)i, (long long)C);
    return false;
}

/* softmax of row[0..C) / T into p (double); returns log of the sum of exp((row - max) / T)
 * and sets *mx to max / T. */
static double softmax_row(const float *row, int64_t C, double T, double *p, double *mx)
{
    double m = -INFINITY, sum = 0.0;
    for (int64_t j = 0; j < C; j++)
        m = (double)row[j] / T > m ? (double)row[j] / T : m;
    for (int64_t j = 0; j < C; j++)
        sum += (p[j] = exp((double)row[j] / T - m));
    for (int64_t j = 0; j < C; j++)
        p[j] /= sum;
    *mx = m;
    return log(sum);
}

/* cross_entropy, nll_loss and distill_loss and their gradients (rows of [N, C]); the
 * gradient ops write [N, C], the losses [1]. */
static bool eval_class_loss(const EvalCtx *c)
{
    OpKind op = c->n->op;
    bool grad = op == IR_OP_CROSS_ENTROPY_GRAD || op == IR_OP_NLL_LOSS_GRAD ||
                op == IR_OP_DISTILL_LOSS_GRAD;
    bool nll = op == IR_OP_NLL_LOSS || op == IR_OP_NLL_LOSS_GRAD;
    bool distill = op == IR_OP_DISTILL_LOSS || op == IR_OP_DISTILL_LOSS_GRAD;
    const float *s = in_f32(c, 0), *t = distill ? in_f32(c, 1) : NULL;
    int li = distill ? 2 : 1;
    int64_t N = c->in_dims[0].d[0], C = c->in_dims[0].d[1], ign = ir_attr_ignore_index(c->n);
    double T = distill ? ir_attr_temperature(c->n) : 1.0,
           alpha = distill ? ir_attr_alpha(c->n) : 0.0;
    int64_t count = 0;
    for (int64_t i = 0; i < N; i++) {
        int64_t y = index_at(c->g, c->n->inputs[li], c->in[li], i);
        if (!label_ok(c, y, C, i))
            return false;
        count += y != ign;
    }
    double *ps = calloc((size_t)(2 * C + 1), sizeof(double)), *pt = ps + C;
    SLIMC_ASSERT(ps);
    double ce = 0.0, kl = 0.0, m;
    double hard = distill ? 1.0 - alpha : 1.0;
    for (int64_t i = 0; i < N; i++) {
        const float *row = s + i * C;
        int64_t y = index_at(c->g, c->n->inputs[li], c->in[li], i);
        double lse = 0.0;
        if (!nll)
            lse = softmax_row(row, C, 1.0, ps, &m) + m;
        if (y != ign)
            ce += nll ? -(double)row[y] : lse - (double)row[y];
        if (grad)
            for (int64_t j = 0; j < C; j++) {
                double gj = 0.0;
                if (y != ign)
                    gj = hard * ((nll ? 0.0 : ps[j]) - (j == y ? 1.0 : 0.0)) / (double)count;
                c->out[i * C + j] = (float)gj;
            }
        if (distill) {
            double ms, mt;
            double ls = softmax_row(row, C, T, ps, &ms);
            double lt = softmax_row(t + i * C, C, T, pt, &mt);
            for (int64_t j = 0; j < C; j++) {
                if (pt[j] > 0.0)
                    kl += pt[j] *
                          (((double)t[i * C + j] / T - mt - lt) - ((double)row[j] / T - ms - ls));
                if (grad)
                    c->out[i * C + j] += (float)(alpha * T * (ps[j] - pt[j]) / (double)N);
            }
        }
    }
    free(ps);
    if (!grad) {
        double loss = count ? hard * ce / (double)count : 0.0;
        if (distill)
            loss += alpha * T * T * kl / (double)N;
        c->out[0] = (float)loss;
    }
    return true;
}

/* mse_loss(s, t): the mean of (s - t)^2; its gradient 2 (s - t) / numel. */
static void eval_mse(const EvalCtx *c)
{
    const float *s = in_f32(c, 0), *t = in_f32(c, 1);
    int64_t n = dims_numel(&c->in_dims[0]);
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double e = (double)s[i] - (double)t[i];
        if (c->n->op == IR_OP_MSE_LOSS_GRAD)
            c->out[i] = (float)(2.0 * e / (double)n);
        else
            sum += e * e;
    }
    if (c->n->op == IR_OP_MSE_LOSS)
        c->out[0] = (float)(n ? sum / (double)n : 0.0);
}

/* batch_norm_train(x, w, b): per channel, the mean and biased variance over the batch and
 * the spatial dims (in double, in order), then (x - mean) / sqrt(var + eps) * w + b. */
static void eval_batch_norm_train(const EvalCtx *c)
{
    const float *x = in_f32(c, 0), *w = in_f32(c, 1), *b = in_f32(c, 2);
    const Dims *xs = &c->in_dims[0];
    int64_t N = xs->d[0], C = xs->d[1], inner = 1;
    for (int i = 2; i < xs->rank; i++)
        inner *= xs->d[i];
    double eps = ir_attr_eps(c->n);
    for (int64_t ch = 0; ch < C; ch++) {
        double sum = 0.0, sq = 0.0, count = (double)(N * inner);
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < inner; i++)
                sum += x[(n * C + ch) * inner + i];
        double mean = count > 0 ? sum / count : 0.0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < inner; i++) {
                double e = x[(n * C + ch) * inner + i] - mean;
                sq += e * e;
            }
        float inv = (float)(1.0 / sqrt((count > 0 ? sq / count : 0.0) + eps));
        float scale = w ? w[ch] : 1.0f, shift = b ? b[ch] : 0.0f, mu = (float)mean;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = (n * C + ch) * inner + i;
                c->out[at] = (x[at] - mu) * inv * scale + shift;
            }
    }
}

/* fake_quant(x) and fake_quant_grad(dy, x) (ops.def): the float arithmetic of
 * passes/quantize.c (weights) and slimc_rt_quantize_u8 (activations). */
static void eval_fake_quant(const EvalCtx *c)
{
    const bool grad = c->n->op == IR_OP_FAKE_QUANT_GRAD;
    const float *x = in_f32(c, grad ? 1 : 0), *dy = grad ? in_f32(c, 0) : NULL;
    const Dims *xs = &c->in_dims[grad ? 1 : 0];
    const int64_t n = dims_numel(xs);
    const double scale = ir_attr_scale(c->n);
    if (scale > 0) {
        const float inv = 1.0f / (float)scale, z = (float)ir_attr_zero_point(c->n);
        for (int64_t i = 0; i < n; i++) {
            float v = rintf(x[i] * inv) + z;
            if (grad) {
                c->out[i] = v >= 0.0f && v <= 255.0f ? dy[i] : 0.0f;
                continue;
            }
            v = v > 0.0f ? v : 0.0f;
            v = v < 255.0f ? v : 255.0f;
            c->out[i] = (v - z) * (float)scale;
        }
        return;
    }
    if (grad) {
        memcpy(c->out, dy, sizeof(float) * (size_t)n);
        return;
    }
    const int64_t O = xs->rank ? xs->d[0] : 1, K = O ? n / O : 0;
    for (int64_t o = 0; o < O; o++) {
        float m = 0;
        for (int64_t k = 0; k < K; k++)
            m = fmaxf(m, fabsf(x[o * K + k]));
        const float s = m > 0 ? m / 127.0f : 1.0f;
        for (int64_t k = 0; k < K; k++) {
            float v = nearbyintf(x[o * K + k] / s);
            v = fminf(fmaxf(v, -127.0f), 127.0f);
            c->out[o * K + k] = v * s;
        }
    }
}

bool ir_eval_grad_node(const EvalCtx *c)
{
    if (c->n->n_epilogue) {
        ir_diag_error(c->d, c->n->loc, "%s '%s': no reference implementation with an epilogue",
                      ir_ops[c->n->op].name, c->n->name);
        return false;
    }
    OpKind op = c->n->op;
    if (op == IR_OP_MAX_POOL2D_GRAD)
        eval_max_pool2d_grad(c);
    else if (op == IR_OP_AVG_POOL2D_GRAD || op == IR_OP_ADAPTIVE_AVG_POOL2D_GRAD)
        eval_avg_pool2d_grad(c);
    else if (op == IR_OP_CONV2D_WEIGHT_GRAD)
        eval_conv2d_weight_grad(c);
    else if (op == IR_OP_EMBEDDING_GRAD)
        return eval_embedding_grad(c);
    else if (op == IR_OP_BATCH_NORM_TRAIN)
        eval_batch_norm_train(c);
    else if (op == IR_OP_MSE_LOSS || op == IR_OP_MSE_LOSS_GRAD)
        eval_mse(c);
    else if (op == IR_OP_FAKE_QUANT || op == IR_OP_FAKE_QUANT_GRAD)
        eval_fake_quant(c);
    else
        return eval_class_loss(c); /* the rest of ir_eval_is_grad_op's */
    return true;
}
