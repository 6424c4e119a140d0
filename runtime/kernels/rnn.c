/* rnn.c — the rnn op (ONNX RNN, GRU, LSTM; ir/rnn.c has the semantics) as a loop over the
 * steps. One item per direction, which
 *   1. reads its w and r as wt [I, G*H] and rt [H, G*H]: given so (w_transposed, what the
 *      importer makes of constant weights, permuted at compile time), or transposed here,
 *   2. computes the input projection of every step at once, proj [T*B, G*H] = x wt + the
 *      biases that add outside the cell (Wb + Rb; for GRU with linear_before_reset Rb of the
 *      h gate stays apart, as r multiplies it), one GEMM over all T*B rows of x,
 *   3. per step, the recurrent product of the batch's hidden states hs [B, H] with rt (a
 *      GEMV at batch 1; GRU without linear_before_reset: the z, r columns first, then
 *      (r * h) with the h columns), and the gate arithmetic per row, in loops over H that
 *      the compiler vectorizes (vmath.h's exp and tanh; AVX-512 and AVX2 copies chosen at
 *      run time).
 * A row past its sequence_lens entry keeps its state and outputs 0. The items share
 * nothing, so any split over threads gives the same bits. Scratch is one calloc per item
 * (the projection dominates: T*B*G*H floats); it aborts when that fails, as attention.c. */
#include "runtime/kernels/internal.h"
#include "runtime/kernels/vmath.h"

#include <stdlib.h>
#include <string.h>

/* code (0 sigmoid, 1 tanh, 2 relu) on v[0, n), each entry clipped to [-clip, clip] first
 * when clip > 0. */
static inline __attribute__((always_inline)) void slimc_rt_rnn_act_body(int64_t code, float *v,
                                                                        int64_t n, float clip)
{
    if (clip > 0.0f)
        for (int64_t j = 0; j < n; j++)
            v[j] = v[j] < -clip ? -clip : v[j] > clip ? clip : v[j];
    if (code == 0)
        for (int64_t j = 0; j < n; j++)
            v[j] = 1.0f / (1.0f + slimc_rt_exp(-v[j]));
    else if (code == 1)
        for (int64_t j = 0; j < n; j++)
            v[j] = slimc_rt_tanh(v[j]);
    else
        for (int64_t j = 0; j < n; j++)
            v[j] = v[j] > 0.0f ? v[j] : (v[j] != v[j] ? v[j] : 0.0f);
}

static SLIMC_RT_UNUSED void slimc_rt_rnn_act_c(int64_t code, float *v, int64_t n, float clip)
{
    slimc_rt_rnn_act_body(code, v, n, clip);
}
#ifdef SLIMC_RT_X86
static SLIMC_RT_UNUSED SLIMC_RT_AVX512 void slimc_rt_rnn_act_512(int64_t code, float *v, int64_t n,
                                                                 float clip)
{
    slimc_rt_rnn_act_body(code, v, n, clip);
}
static SLIMC_RT_UNUSED SLIMC_RT_AVX2 void slimc_rt_rnn_act_256(int64_t code, float *v, int64_t n,
                                                               float clip)
{
    slimc_rt_rnn_act_body(code, v, n, clip);
}
#endif

static void slimc_rt_rnn_act(int isa, int64_t code, float *v, int64_t n, float clip)
{
#ifdef SLIMC_RT_X86
    if (isa == SLIMC_RT_ISA_AVX512) {
        slimc_rt_rnn_act_512(code, v, n, clip);
        return;
    }
    if (isa == SLIMC_RT_ISA_AVX2) {
        slimc_rt_rnn_act_256(code, v, n, clip);
        return;
    }
#endif
    (void)isa;
    slimc_rt_rnn_act_c(code, v, n, clip);
}

/* dst [rows, cols] = src [cols, rows]^T. */
static void slimc_rt_rnn_transpose(const float *src, int64_t rows, int64_t cols, float *dst)
{
    for (int64_t i0 = 0; i0 < rows; i0 += 32)
        for (int64_t j0 = 0; j0 < cols; j0 += 32)
            for (int64_t i = i0; i < rows && i < i0 + 32; i++)
                for (int64_t j = j0; j < cols && j < j0 + 32; j++)
                    dst[i * cols + j] = src[j * rows + i];
}

/* Where [t, d, b] of the output starts. */
static inline float *slimc_rt_rnn_at(const slimc_rt_rnn *s, float *out, int64_t t, int64_t d,
                                     int64_t b)
{
    const int64_t W = (1 + s->states) * s->H, D = s->dir == 2 ? 2 : 1;
    return out + (s->layout ? ((b * s->T + t) * D + d) * W : ((t * D + d) * s->B + b) * W);
}

/* One step of batch row b: g [G*H] holds h R^T (+ Rb where it stays apart) for all gates
 * but, without linear_before_reset, GRU's h gate; xp [G*H] the row's projection; h and c
 * [H] its state, updated; tmp [H] scratch; rt, hs for GRU's second product. */
static void slimc_rt_rnn_cell(const slimc_rt_rnn *s, int isa, const int64_t *act, float *g,
                              const float *xp, float *h, float *c, const float *pd, float *tmp,
                              const float *rt)
{
    const int64_t H = s->H, GH = s->mode == 0 ? H : s->mode == 1 ? 3 * H : 4 * H;
    if (s->mode == 0) {
        for (int64_t j = 0; j < H; j++)
            h[j] = g[j] + xp[j];
        slimc_rt_rnn_act(isa, act[0], h, H, s->clip);
        return;
    }
    if (s->mode == 1) {
        float *z = g, *r = g + H, *n = g + 2 * H;
        for (int64_t j = 0; j < 2 * H; j++)
            g[j] += xp[j];
        slimc_rt_rnn_act(isa, act[0], g, 2 * H, s->clip);
        if (s->lbr) {
            for (int64_t j = 0; j < H; j++)
                n[j] = xp[2 * H + j] + r[j] * n[j];
        } else {
            for (int64_t j = 0; j < H; j++)
                tmp[j] = r[j] * h[j];
            slimc_rt_gemm(isa, 1, H, H, tmp, H, 1, rt + 2 * H, GH, n, GH, NULL, NULL, 0);
            for (int64_t j = 0; j < H; j++)
                n[j] += xp[2 * H + j];
        }
        slimc_rt_rnn_act(isa, act[1], n, H, s->clip);
        for (int64_t j = 0; j < H; j++)
            h[j] = (1.0f - z[j]) * n[j] + z[j] * h[j];
        return;
    }
    float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
    for (int64_t j = 0; j < GH; j++)
        g[j] += xp[j];
    if (pd)
        for (int64_t j = 0; j < H; j++) {
            gi[j] += pd[j] * c[j];
            gf[j] += pd[2 * H + j] * c[j];
        }
    slimc_rt_rnn_act(isa, act[0], gi, H, s->clip);
    slimc_rt_rnn_act(isa, act[0], gf, H, s->clip);
    slimc_rt_rnn_act(isa, act[1], gc, H, s->clip);
    for (int64_t j = 0; j < H; j++)
        c[j] = gf[j] * c[j] + gi[j] * gc[j];
    if (pd)
        for (int64_t j = 0; j < H; j++)
            go[j] += pd[H + j] * c[j];
    slimc_rt_rnn_act(isa, act[0], go, H, s->clip);
    memcpy(tmp, c, sizeof(float) * (size_t)H);
    slimc_rt_rnn_act(isa, act[2], tmp, H, 0.0f);
    for (int64_t j = 0; j < H; j++)
        h[j] = go[j] * tmp[j];
}

/* Direction d of the op. */
static void slimc_rt_rnn_dir(const slimc_rt_rnn *s, int isa, int64_t d, const float *x,
                             const float *w, const float *r, const float *bias, const int32_t *lens,
                             const float *h0, const float *c0, const float *p, float *out)
{
    const int64_t T = s->T, B = s->B, I = s->I, H = s->H, D = s->dir == 2 ? 2 : 1;
    const int64_t GH = s->mode == 0 ? H : s->mode == 1 ? 3 * H : 4 * H;
    const int rev = s->dir == 1 || d == 1, gru_split = s->mode == 1 && !s->lbr;
    /* scratch, in floats: wt [I, GH], rt [H, GH], proj [T*B, GH], g [B, GH], the biases
     * bx [GH] (outside the cell) and bh [GH] (with h R^T), hs, cs, h0s, c0s and tmp [B, H],
     * lens [B] */
    size_t n = 0, parts[6] = {s->wt ? 0 : (size_t)I,
                              s->wt ? 0 : (size_t)H,
                              (size_t)T * (size_t)B,
                              (size_t)B,
                              2,
                              0};
    for (int k = 0; k < 5; k++) {
        size_t add;
        if (__builtin_mul_overflow(parts[k], (size_t)GH, &add) ||
            __builtin_add_overflow(n, add, &n))
            abort();
    }
    size_t hb;
    if (__builtin_mul_overflow((size_t)B, (size_t)H * 5 + 1, &hb) ||
        __builtin_add_overflow(n, hb, &n))
        abort();
    float *wt = (float *)calloc(n + 1, sizeof(float));
    if (!wt)
        abort();
    float *rt = wt + (s->wt ? 0 : I * GH), *proj = rt + (s->wt ? 0 : H * GH),
          *g = proj + T * B * GH, *bx = g + B * GH, *bh = bx + GH, *hs = bh + GH, *cs = hs + B * H,
          *h0s = cs + B * H, *c0s = h0s + B * H, *tmp = c0s + B * H;
    int64_t *len = (int64_t *)calloc((size_t)B + 1, sizeof(int64_t));
    if (!len)
        abort();
    const float *wtd = wt, *rtd = rt; /* W^T, R^T of the direction */
    if (s->wt) {
        wtd = w + d * I * GH;
        rtd = r + d * H * GH;
    } else {
        slimc_rt_rnn_transpose(w + d * GH * I, I, GH, wt);
        slimc_rt_rnn_transpose(r + d * GH * H, H, GH, rt);
    }
    const float *wb = bias ? bias + d * 2 * GH : NULL, *rb = bias ? wb + GH : NULL;
    for (int64_t j = 0; j < GH; j++) {
        const int apart = s->mode == 1 && s->lbr && j >= 2 * H;
        bx[j] = wb ? (apart ? wb[j] : wb[j] + rb[j]) : 0.0f;
        bh[j] = apart && rb ? rb[j] : 0.0f;
    }
    /* 2. the projection of every step (rows of x as they lie: t * B + b, layout 1 b * T + t) */
    for (int64_t it = 0; it < slimc_rt_gemm_items(T * B, GH); it++) {
        int64_t m0, mc, n0, nc;
        slimc_rt_gemm_tile(T * B, GH, I, x, wtd, 0, bx, proj, it, &m0, &mc, &n0, &nc);
    }
    int64_t steps = 0;
    for (int64_t b = 0; b < B; b++) {
        int64_t L = lens ? lens[b] : T;
        len[b] = L < 0 ? 0 : L > T ? T : L;
        steps = len[b] > steps ? len[b] : steps;
        const int64_t so = s->layout ? (b * D + d) * H : (d * B + b) * H;
        for (int64_t k = 0; k < H; k++) {
            hs[b * H + k] = h0s[b * H + k] = h0 ? h0[so + k] : 0.0f;
            cs[b * H + k] = c0s[b * H + k] = c0 ? c0[so + k] : 0.0f;
        }
    }
    const float *pd = p ? p + d * 3 * H : NULL;
    const int64_t *act = s->act[d];
    /* 3. the steps */
    for (int64_t st = 0; st < steps; st++) {
        /* g = hs rt + bh: every row (a finished row's result is not used) */
        slimc_rt_gemm(isa, B, gru_split ? 2 * H : GH, H, hs, H, 1, rtd, GH, g, GH, NULL, bh, 0);
        for (int64_t b = 0; b < B; b++) {
            if (st >= len[b])
                continue;
            const int64_t t = rev ? len[b] - 1 - st : st;
            const float *xp = proj + (s->layout ? b * T + t : t * B + b) * GH;
            float *h = hs + b * H, *c = cs + b * H;
            slimc_rt_rnn_cell(s, isa, act, g + b * GH, xp, h, c, pd, tmp + b * H, rtd);
            float *o = slimc_rt_rnn_at(s, out, t, d, b);
            memcpy(o, h, sizeof(float) * (size_t)H);
            if (s->states >= 1)
                memcpy(o + H, h, sizeof(float) * (size_t)H);
            if (s->states == 2)
                memcpy(o + 2 * H, c, sizeof(float) * (size_t)H);
        }
    }
    /* steps past a row's length: Y 0; the state it ended with (forward) or started with
     * (reverse: those steps come before its first) */
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = len[b]; t < T; t++) {
            float *o = slimc_rt_rnn_at(s, out, t, d, b);
            const float *hh = rev ? h0s + b * H : hs + b * H, *cc = rev ? c0s + b * H : cs + b * H;
            memset(o, 0, sizeof(float) * (size_t)H);
            if (s->states >= 1)
                memcpy(o + H, hh, sizeof(float) * (size_t)H);
            if (s->states == 2)
                memcpy(o + 2 * H, cc, sizeof(float) * (size_t)H);
        }
    free(len);
    free(wt);
}

SLIMC_RT_KERNEL void slimc_rt_rnn_run(const slimc_rt_rnn *s, const float *x, const float *w,
                                      const float *r, const float *bias, const int32_t *lens,
                                      const float *h0, const float *c0, const float *p, float *out,
                                      int64_t d0, int64_t d1)
{
    const int isa = slimc_rt_isa();
    for (int64_t d = d0; d < d1; d++)
        slimc_rt_rnn_dir(s, isa, d, x, w, r, bias, lens, h0, c0, p, out);
}
