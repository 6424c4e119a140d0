/* The rnn op (ops.def): ONNX's RNN, GRU and LSTM as one op. Its shape function, its cost
 * and its reference semantics.
 *
 * Inputs, in ONNX's order (an absent optional one is IR_NONE): x f32 [T, B, I] (layout=1:
 * [B, T, I]); w [D, G*H, I]; r [D, G*H, H]; b [D, 2*G*H] (Wb then Rb, each G*H); i32
 * sequence_lens [B]; initial_h and initial_c [D, B, H] (layout=1: [B, D, H]); LSTM's
 * peepholes p [D, 3*H] (i, o, f). G is 1 (mode 0, RNN), 3 (mode 1, GRU: gates z, r, h) or 4
 * (mode 2, LSTM: gates i, o, f, c); D is 2 for direction 2 (forward, then reverse), else 1
 * (direction 0 forward, 1 reverse). Per direction d, with x_t W^T + Wb (+ Rb) as ONNX
 * writes them and f, g, h the direction's activations (codes 0 sigmoid 1 / (1 + exp(-x)),
 * 1 tanh, 2 relu; absent: ONNX's defaults), each gate's input clipped to [-clip, clip]
 * first when clip > 0:
 *
 *   RNN   h' = f(x W^T + Wb + h R^T + Rb)
 *   GRU   z = f(x Wz^T + Wbz + h Rz^T + Rbz), r = f(... Wr, Rr ...),
 *         n = g(x Wh^T + Wbh + (r * h) Rh^T + Rbh), or with linear_before_reset
 *         n = g(x Wh^T + Wbh + r * (h Rh^T + Rbh));  h' = (1 - z) * n + z * h
 *   LSTM  i = f(x Wi^T + Wbi + h Ri^T + Rbi + Pi * c), f_ = f(... Wf, Rf ... + Pf * c),
 *         u = g(x Wc^T + Wbc + h Rc^T + Rbc), c' = f_ * c + i * u,
 *         o = f(x Wo^T + Wbo + h Ro^T + Rbo + Po * c'), h' = o * h(c')
 *
 * The forward direction runs t = 0 .. L-1, the reverse one t = L-1 .. 0, where L is the
 * batch row's sequence_lens entry (T without it; clamped to [0, T]); the state starts at
 * initial_h / initial_c (0 without them). Steps t >= L leave the row's state as it is and
 * output 0, as ONNX Runtime does.
 *
 * The output out [T, D, B, (1 + states) * H] (layout=1: [B, T, D, ...]) holds at [t, d, b]
 * ONNX's Y in columns [0, H); with states >= 1 the hidden state after step t in [H, 2H)
 * (at steps t >= L the row's last state for the forward direction, its initial state for
 * the reverse one); with states = 2 (LSTM) the cell state the same way in [2H, 3H). So
 * ONNX's Y_h is the hidden state at t = T-1 (forward) and t = 0 (reverse), Y_c likewise:
 * the importer slices them out (one output per node keeps every pass and backend as it
 * is). With w_transposed=1, w and r hold each direction's W^T [I, G*H] and R^T [H, G*H]
 * (the same values, laid out for the kernel's GEMMs). The kernel is runtime/kernels/rnn.c. */
#include "ir/eval_internal.h"
#include "ir/op_fns.h"
#include "ir/shape_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int ir_rnn_gates(int64_t mode)
{
    return mode == 0 ? 1 : mode == 1 ? 3 : 4;
}

void ir_rnn_activations(const Node *n, int64_t act[2][3])
{
    const int64_t mode = ir_attr_mode(n);
    int64_t a[6];
    const int k = ir_node_attr_id(n, IR_A_activations) ? ir_attr_activations(n, a, 6) : 0;
    for (int d = 0; d < 2; d++)
        for (int j = 0; j < 3; j++) {
            if (k == 6 || k == 3)
                act[d][j] = a[(k == 6 ? d * 3 : 0) + j];
            else /* ONNX's defaults: RNN tanh; GRU sigmoid, tanh; LSTM sigmoid, tanh, tanh */
                act[d][j] = mode == 0 || j > 0 ? 1 : 0;
        }
}

/* ---- shape ---- */

static bool rnn_error(Graph *g, Node *n, int i, Diag *d, const char *what)
{
    char b[256];
    if (i < 0)
        ir_diag_error(d, n->loc, "rnn '%s': %s", n->name, what);
    else
        ir_diag_error(d, n->loc, "rnn '%s': %s, got %s", n->name, what,
                      ir_shp_describe(g, n->inputs[i], b, sizeof b));
    return false;
}

/* Whether input i, when present, is f32 (i32 for sequence_lens) of shape want (rank). */
static bool rnn_input_is(Graph *g, Node *n, int i, const Dim *want, int rank)
{
    const Type *t = ir_shp_in_type(g, n, i);
    if (!t)
        return true;
    bool ok = t->dtype == (i == 4 ? IR_I32 : IR_F32) && !t->quant && t->shape.rank == rank;
    for (int k = 0; ok && k < rank; k++)
        ok = ir_dim_eq(t->shape.d[k], want[k]);
    return ok;
}

SHAPE_FN(rnn)
{
    const int64_t mode = ir_attr_mode(n), dir = ir_attr_direction(n), layout = ir_attr_layout(n),
                  states = ir_attr_states(n);
    if (mode < 0 || mode > 2)
        return rnn_error(g, n, -1, d, "mode must be 0 (RNN), 1 (GRU) or 2 (LSTM)");
    if (dir < 0 || dir > 2)
        return rnn_error(g, n, -1, d, "direction must be 0 (forward), 1 (reverse) or 2 (both)");
    if (layout != 0 && layout != 1)
        return rnn_error(g, n, -1, d, "layout must be 0 or 1");
    if (states < 0 || states > (mode == 2 ? 2 : 1))
        return rnn_error(g, n, -1, d, "states must be 0, 1 or (LSTM) 2");
    const int64_t D = dir == 2 ? 2 : 1, G = ir_rnn_gates(mode);
    int64_t a[7];
    const int na = ir_attr_activations(n, a, 7);
    if (ir_node_attr_id(n, IR_A_activations) && na != 3 * D)
        return rnn_error(g, n, -1, d, "activations must hold 3 codes per direction");
    for (int k = 0; ir_node_attr_id(n, IR_A_activations) && k < na && k < 7; k++)
        if (a[k] < 0 || a[k] > 2)
            return rnn_error(g, n, -1, d, "an activation code must be 0, 1 or 2");
    if (!(ir_attr_clip(n) >= 0.0))
        return rnn_error(g, n, -1, d, "clip must be >= 0 (0: none)");
    const Type *xt = ir_shp_in_type(g, n, 0), *rt = ir_shp_in_type(g, n, 2);
    if (!xt || xt->dtype != IR_F32 || xt->quant || xt->shape.rank != 3)
        return rnn_error(g, n, 0, d, "x must be f32 [T, B, I] (layout=1: [B, T, I])");
    const bool tr = ir_attr_w_transposed(n) != 0;
    if (!rt || rt->dtype != IR_F32 || rt->quant || rt->shape.rank != 3 ||
        !ir_shape_static(&rt->shape) || rt->shape.d[tr ? 1 : 2].c < 1)
        return rnn_error(g, n, 2, d,
                         tr ? "r must be f32 [D, H, G*H] with static dims (w_transposed)"
                            : "r must be f32 [D, G*H, H] with static dims");
    const Dim T = xt->shape.d[layout ? 1 : 0], B = xt->shape.d[layout ? 0 : 1], I = xt->shape.d[2];
    const int64_t H = rt->shape.d[tr ? 1 : 2].c;
    const Dim r_want[3] = {ir_dim(D), ir_dim(tr ? H : G * H), ir_dim(tr ? G * H : H)};
    if (!rnn_input_is(g, n, 2, r_want, 3))
        return rnn_error(g, n, 2, d,
                         tr ? "r must be [D, H, G*H] (w_transposed; D directions, G gates)"
                            : "r must be [D, G*H, H] (D directions, G gates)");
    const Dim w_want[3] = {ir_dim(D), tr ? I : ir_dim(G * H), tr ? ir_dim(G * H) : I};
    if (!rnn_input_is(g, n, 1, w_want, 3))
        return rnn_error(g, n, 1, d,
                         tr ? "w must be f32 [D, I, G*H] (w_transposed), I the last dim of x"
                            : "w must be f32 [D, G*H, I], I the last dim of x");
    const Dim b_want[2] = {ir_dim(D), ir_dim(2 * G * H)};
    if (n->n_inputs > 3 && !rnn_input_is(g, n, 3, b_want, 2))
        return rnn_error(g, n, 3, d, "b must be f32 [D, 2*G*H]");
    if (n->n_inputs > 4 && !rnn_input_is(g, n, 4, &B, 1))
        return rnn_error(g, n, 4, d, "sequence_lens must be i32 [B]");
    const Dim s_want[3] = {layout ? B : ir_dim(D), layout ? ir_dim(D) : B, ir_dim(H)};
    if (n->n_inputs > 5 && !rnn_input_is(g, n, 5, s_want, 3))
        return rnn_error(g, n, 5, d, "initial_h must be f32 [D, B, H] (layout=1: [B, D, H])");
    if (n->n_inputs > 6 && n->inputs[6] != IR_NONE &&
        (mode != 2 || !rnn_input_is(g, n, 6, s_want, 3)))
        return rnn_error(g, n, 6, d,
                         "initial_c must be f32 [D, B, H] (layout=1: [B, D, H]), LSTM only");
    const Dim p_want[2] = {ir_dim(D), ir_dim(3 * H)};
    if (n->n_inputs > 7 && n->inputs[7] != IR_NONE &&
        (mode != 2 || !rnn_input_is(g, n, 7, p_want, 2)))
        return rnn_error(g, n, 7, d, "p must be f32 [D, 3*H], LSTM only");
    Shape out = {
        4,
        {layout ? B : T, layout ? T : ir_dim(D), layout ? ir_dim(D) : B, ir_dim((1 + states) * H)}};
    ir_shp_set_out(g, n, 0, IR_F32, &out);
    return true;
}

/* ---- cost ---- */

/* Per direction, step and batch row: the input projection (2 I G H), the recurrent product
 * (2 H G H) and about 8 operations per gate for the cell. */
double ir_flops_rnn(const Graph *g, const Node *n, const int64_t *syms)
{
    const Shape *x = &g->values[n->inputs[0]].type.shape, *r = &g->values[n->inputs[2]].type.shape;
    const double rows = (double)ir_dim_eval(x->d[0], syms) * (double)ir_dim_eval(x->d[1], syms);
    const bool tr = ir_attr_w_transposed(n) != 0;
    const double I = (double)ir_dim_eval(x->d[2], syms), D = (double)r->d[0].c,
                 GH = (double)r->d[tr ? 2 : 1].c, H = (double)r->d[tr ? 1 : 2].c;
    return D * rows * GH * (2 * I + 2 * H + 8);
}

/* ---- reference semantics ---- */

static float act_ref(int64_t code, float v)
{
    return code == 0 ? 1.0f / (1.0f + expf(-v)) : code == 1 ? tanhf(v) : v > 0.0f ? v : 0.0f;
}

static float clip_ref(float v, float clip)
{
    return clip > 0.0f ? (v < -clip ? -clip : v > clip ? clip : v) : v;
}

/* sum_k a[k] * m[k * st] over n entries, in order, in double. */
static double dot_ref(const float *a, const float *m, int64_t n, int64_t st)
{
    double s = 0;
    for (int64_t k = 0; k < n; k++)
        s += (double)a[k] * (double)m[k * st];
    return s;
}

void ir_eval_rnn(const EvalCtx *c)
{
    const Node *n = c->n;
    const int64_t mode = ir_attr_mode(n), dir = ir_attr_direction(n), layout = ir_attr_layout(n),
                  states = ir_attr_states(n), lbr = ir_attr_linear_before_reset(n);
    const float clip = (float)ir_attr_clip(n);
    int64_t act[2][3];
    ir_rnn_activations(n, act);
    const float *x = in_f32(c, 0), *w = in_f32(c, 1), *r = in_f32(c, 2), *bias = in_f32(c, 3),
                *h0 = in_f32(c, 5), *c0 = in_f32(c, 6), *p = in_f32(c, 7);
    const int32_t *lens = n->n_inputs > 4 ? (const int32_t *)c->in[4] : NULL;
    const Dims *xs = &c->in_dims[0];
    const int64_t T = xs->d[layout ? 1 : 0], B = xs->d[layout ? 0 : 1], I = xs->d[2];
    const bool tr = ir_attr_w_transposed(n) != 0;
    const int64_t D = dir == 2 ? 2 : 1, G = ir_rnn_gates(mode), H = c->in_dims[2].d[tr ? 1 : 2],
                  GH = G * H, W = (1 + states) * H;
    /* gate j's weights: w[j * ws + k * wk], r[j * rs + k * rk] */
    const int64_t ws = tr ? 1 : I, wk = tr ? GH : 1, rs = tr ? 1 : H, rk = tr ? GH : 1;
    float *h = calloc((size_t)(3 * H + GH + 1), sizeof(float)); /* h, cell, r * h, gates */
    SLIMC_ASSERT(h);
    float *cs = h + H, *rh = cs + H, *gt = rh + H;
    for (int64_t d = 0; d < D; d++) {
        const bool rev = dir == 1 || d == 1;
        const float *wd = w + d * GH * I, *rd = r + d * GH * H;
        const float *wb = bias ? bias + d * 2 * GH : NULL, *rb = bias ? wb + GH : NULL;
        const float *pd = p ? p + d * 3 * H : NULL;
        for (int64_t b = 0; b < B; b++) {
            int64_t L = lens ? lens[b] : T;
            L = L < 0 ? 0 : L > T ? T : L;
            const int64_t so = layout ? (b * D + d) * H : (d * B + b) * H; /* initial state */
            for (int64_t k = 0; k < H; k++) {
                h[k] = h0 ? h0[so + k] : 0.0f;
                cs[k] = c0 ? c0[so + k] : 0.0f;
            }
            float *init = calloc((size_t)(2 * H + 1), sizeof(float));
            SLIMC_ASSERT(init);
            memcpy(init, h, sizeof(float) * (size_t)(2 * H));
            for (int64_t s = 0; s < L; s++) {
                const int64_t t = rev ? L - 1 - s : s;
                const float *xr = x + (layout ? b * T + t : t * B + b) * I;
                for (int64_t j = 0; j < GH; j++) /* x W^T + Wb (+ Rb) */
                    gt[j] = (float)(dot_ref(xr, wd + j * ws, I, wk) + (wb ? wb[j] : 0.0));
                for (int64_t k = 0; k < H; k++)
                    rh[k] = h[k];
                if (mode == 0) {
                    for (int64_t j = 0; j < H; j++)
                        gt[j] += (float)(dot_ref(h, rd + j * rs, H, rk) + (rb ? rb[j] : 0.0));
                    for (int64_t j = 0; j < H; j++)
                        h[j] = act_ref(act[d][0], clip_ref(gt[j], clip));
                } else if (mode == 1) {
                    float *z = gt, *rg = gt + H, *nn = gt + 2 * H;
                    for (int64_t j = 0; j < 2 * H; j++) {
                        gt[j] += (float)(dot_ref(h, rd + j * rs, H, rk) + (rb ? rb[j] : 0.0));
                        gt[j] = act_ref(act[d][0], clip_ref(gt[j], clip));
                    }
                    if (!lbr)
                        for (int64_t k = 0; k < H; k++)
                            rh[k] = rg[k] * h[k];
                    for (int64_t j = 0; j < H; j++) {
                        float hr = (float)(dot_ref(rh, rd + (2 * H + j) * rs, H, rk) +
                                           (rb ? rb[2 * H + j] : 0.0));
                        nn[j] += lbr ? rg[j] * hr : hr;
                        nn[j] = act_ref(act[d][1], clip_ref(nn[j], clip));
                    }
                    for (int64_t j = 0; j < H; j++)
                        h[j] = (1.0f - z[j]) * nn[j] + z[j] * h[j];
                } else {
                    for (int64_t j = 0; j < GH; j++)
                        gt[j] += (float)(dot_ref(h, rd + j * rs, H, rk) + (rb ? rb[j] : 0.0));
                    for (int64_t j = 0; j < H; j++) {
                        float gi = gt[j] + (pd ? pd[j] * cs[j] : 0.0f);
                        float gf = gt[2 * H + j] + (pd ? pd[2 * H + j] * cs[j] : 0.0f);
                        gi = act_ref(act[d][0], clip_ref(gi, clip));
                        gf = act_ref(act[d][0], clip_ref(gf, clip));
                        const float u = act_ref(act[d][1], clip_ref(gt[3 * H + j], clip));
                        cs[j] = gf * cs[j] + gi * u;
                        float go = gt[H + j] + (pd ? pd[H + j] * cs[j] : 0.0f);
                        go = act_ref(act[d][0], clip_ref(go, clip));
                        h[j] = go * act_ref(act[d][2], cs[j]);
                    }
                }
                float *o =
                    c->out + (layout ? ((b * T + t) * D + d) * W : ((t * D + d) * B + b) * W);
                for (int64_t k = 0; k < H; k++) {
                    o[k] = h[k];
                    if (states >= 1)
                        o[H + k] = h[k];
                    if (states == 2)
                        o[2 * H + k] = cs[k];
                }
            }
            /* steps past the row's length: Y 0, the state the row ended with (forward) or
             * started with (reverse: those steps come before its first) */
            for (int64_t t = L; t < T; t++) {
                float *o =
                    c->out + (layout ? ((b * T + t) * D + d) * W : ((t * D + d) * B + b) * W);
                for (int64_t k = 0; k < H; k++) {
                    o[k] = 0.0f;
                    if (states >= 1)
                        o[H + k] = rev ? init[k] : h[k];
                    if (states == 2)
                        o[2 * H + k] = rev ? init[H + k] : cs[k];
                }
            }
            free(init);
        }
    }
    free(h);
}
