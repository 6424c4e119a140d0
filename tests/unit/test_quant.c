/* Static int8 (issue 6, docs/quantization.md): the int8 kernels of runtime/slimc_rt.h
 * bit-exact against plain integer loops (the VNNI path and the portable one), the
 * calibration range choosers on known distributions, the int8 ops through the emitter and
 * the JIT against the reference evaluator, the quantize pass's errors, lenet end to end
 * through the public API (int8 top-1 within 0.5 point of fp32 on the held-out digits). The
 * qdq pass has its own suite (test_qdq.c). */
#include "runtime/slimc_rt.h"

#include "ir/eval.h"
#include "passes/pass.h"
#include "passes/quant_internal.h"
#include "slimc/slimc.h"
#include "support_cg.h"
#include "support_cuda.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 4242;

static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

#define D(...) ((const int64_t[]){__VA_ARGS__})

static float urand(void);

/* ---- kernels, bit-exact ---- */

/* out = (float)(sum_k (a - zp) * w) with unit scales: exact while |acc| < 2^24 (K <= 500). */
static void check_qgemm(int64_t M, int64_t O, int64_t K, int32_t zp, bool vnni)
{
    uint8_t *A = malloc((size_t)(M * K + 1));
    int8_t *W = malloc((size_t)(O * K + 1));
    int32_t *wsum = malloc(sizeof(int32_t) * (size_t)O);
    float *ones = malloc(sizeof(float) * (size_t)O), *out = malloc(sizeof(float) * (size_t)(M * O));
    for (int64_t i = 0; i < M * K; i++)
        A[i] = (uint8_t)(rnd() & 255);
    for (int64_t i = 0; i < O * K; i++)
        W[i] = (int8_t)((int)(rnd() % 255) - 127);
    for (int64_t o = 0; o < O; o++) {
        int32_t s = 0;
        for (int64_t k = 0; k < K; k++)
            s += W[o * K + k];
        wsum[o] = s;
        ones[o] = 1.0f;
    }
    /* and requantized to u8 (qchain): relu, then quantize's rounding and clamp */
    const slimc_rt_qreq rq = {1.0f / 37.5f, (int32_t)(rnd() & 255), SLIMC_RT_ACT_RELU, 0.0f};
    uint8_t *q = malloc((size_t)(M * O));
#ifdef SLIMC_RT_X86
    if (vnni) {
        slimc_rt_qgemm_vnni(M, O, K, A, K, W, K, zp, wsum, 1.0f, ones, NULL, out, NULL, O, 1);
        slimc_rt_qgemm_vnni(M, O, K, A, K, W, K, zp, wsum, 1.0f, ones, NULL, q, &rq, O, 1);
    } else
#endif
    {
        slimc_rt_qgemm_c(M, O, K, A, K, W, K, zp, wsum, 1.0f, ones, NULL, out, NULL, O, 1);
        slimc_rt_qgemm_c(M, O, K, A, K, W, K, zp, wsum, 1.0f, ones, NULL, q, &rq, O, 1);
    }
    (void)vnni;
    for (int64_t m = 0; m < M; m++)
        for (int64_t o = 0; o < O; o++) {
            int32_t acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += ((int32_t)A[m * K + k] - zp) * (int32_t)W[o * K + k];
            ck_assert_msg(out[m * O + o] == (float)acc,
                          "M=%lld O=%lld K=%lld zp=%d vnni=%d: [%lld,%lld] %g != %d", (long long)M,
                          (long long)O, (long long)K, zp, vnni, (long long)m, (long long)o,
                          out[m * O + o], acc);
            float v = rintf((acc > 0 ? (float)acc : 0.0f) * rq.inv) + (float)rq.zp;
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            ck_assert_msg(q[m * O + o] == (uint8_t)v, "u8 out M=%lld O=%lld K=%lld: %d != %d",
                          (long long)M, (long long)O, (long long)K, q[m * O + o], (int)v);
        }
    free(q);
    free(A);
    free(W);
    free(wsum);
    free(ones);
    free(out);
}

START_TEST(qgemm_exact)
{
    static const int64_t Ms[] = {1, 3, 4, 5, 9};
    static const int64_t Os[] = {1, 4, 7, 8, 13};
    static const int64_t Ks[] = {1, 25, 63, 64, 65, 200, 500};
    bool vnni = slimc_rt_has_vnni() != 0;
    if (!vnni)
        fprintf(stderr,
                "test_quant: no AVX-512 VNNI here: only the portable int8 kernel is checked\n");
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 5; b++)
            for (size_t c = 0; c < 7; c++) {
                int32_t zp = (int32_t)(rnd() & 255);
                check_qgemm(Ms[a], Os[b], Ks[c], zp, false);
                if (vnni)
                    check_qgemm(Ms[a], Os[b], Ks[c], zp, true);
            }
}
END_TEST

/* The conv path the emitter uses (im2col rows + qgemm per group) against a direct loop. */
static void check_qconv(int64_t C, int64_t H, int64_t W, int64_t O, int64_t k, int64_t st,
                        int64_t pad, int64_t dil, int64_t groups)
{
    const int64_t CG = C / groups, OG = O / groups, K = CG * k * k;
    const int64_t OH = (H + 2 * pad - dil * (k - 1) - 1) / st + 1,
                  OW = (W + 2 * pad - dil * (k - 1) - 1) / st + 1;
    const int64_t P = OH * OW;
    const slimc_rt_conv s = {C, H, W, O, CG, OG, k, k, OH, OW, st, st, pad, pad, dil, dil, 0};
    uint8_t *x = malloc((size_t)(C * H * W)), *col = malloc((size_t)(P * K));
    int8_t *w = malloc((size_t)(O * K));
    int32_t *wsum = calloc((size_t)O, sizeof(int32_t));
    float *ones = malloc(sizeof(float) * (size_t)O), *out = malloc(sizeof(float) * (size_t)(O * P));
    const int32_t zp = (int32_t)(rnd() & 255);
    for (int64_t i = 0; i < C * H * W; i++)
        x[i] = (uint8_t)(rnd() & 255);
    for (int64_t i = 0; i < O * K; i++) {
        w[i] = (int8_t)((int)(rnd() % 255) - 127);
        wsum[i / K] += w[i];
    }
    for (int64_t o = 0; o < O; o++)
        ones[o] = 1.0f;
    for (int64_t gi = 0; gi < groups; gi++) {
        slimc_rt_qim2col(&s, x + gi * CG * H * W, 0, P, (uint8_t)zp, col);
        slimc_rt_qgemm(P, OG, K, col, K, w + gi * OG * K, K, zp, wsum + gi * OG, 1.0f, ones, NULL,
                       out + gi * OG * P, NULL, 1, P);
    }
    /* and the block kernel the emitter calls (VNNI panels where the CPU has them) */
    float *out2 = malloc(sizeof(float) * (size_t)(O * P));
    uint8_t *col2 = slimc_rt_qcol_alloc(K);
    for (int64_t p0 = 0; p0 < P; p0 += 64)
        for (int64_t gi = 0; gi < groups; gi++)
            slimc_rt_qconv_block(&s, x + gi * CG * H * W, p0, p0 + 64 < P ? p0 + 64 : P, zp,
                                 w + gi * OG * K, wsum + gi * OG, 1.0f, ones, NULL,
                                 out2 + gi * OG * P, NULL, col2);
    for (int64_t i = 0; i < O * P; i++)
        ck_assert_msg(out2[i] == out[i], "conv block C=%lld O=%lld k=%lld [%lld]: %g != %g",
                      (long long)C, (long long)O, (long long)k, (long long)i, out2[i], out[i]);
    /* requantized to u8 (qchain) with relu6: quantize's arithmetic on the f32 result, here
     * ONNX's (divided by the scale, not multiplied by its reciprocal) */
    const slimc_rt_qreq rq = {0.0f, (int32_t)(rnd() & 255), SLIMC_RT_ACT_RELU6, 0.75f};
    uint8_t *qo = malloc((size_t)(O * P));
    for (int64_t p0 = 0; p0 < P; p0 += 64)
        for (int64_t gi = 0; gi < groups; gi++)
            slimc_rt_qconv_block(&s, x + gi * CG * H * W, p0, p0 + 64 < P ? p0 + 64 : P, zp,
                                 w + gi * OG * K, wsum + gi * OG, 1.0f, ones, NULL,
                                 qo + gi * OG * P, &rq, col2);
    for (int64_t i = 0; i < O * P; i++) {
        const float y = out[i] <= 0 ? 0.0f : out[i] >= 6 ? 6.0f : out[i];
        float v = rintf(y / 0.75f) + (float)rq.zp;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        ck_assert_msg(qo[i] == (uint8_t)v, "conv block u8 C=%lld O=%lld k=%lld [%lld]: %d != %d",
                      (long long)C, (long long)O, (long long)k, (long long)i, qo[i], (int)v);
    }
    free(qo);
    free(out2);
    free(col2);
    for (int64_t o = 0; o < O; o++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int32_t acc = 0;
                for (int64_t ci = 0; ci < CG; ci++)
                    for (int64_t kh = 0; kh < k; kh++)
                        for (int64_t kw = 0; kw < k; kw++) {
                            int64_t ih = oh * st - pad + kh * dil, iw = ow * st - pad + kw * dil;
                            int32_t q = (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                            ? zp
                                            : x[((o / OG * CG + ci) * H + ih) * W + iw];
                            acc += (q - zp) * w[((o * CG + ci) * k + kh) * k + kw];
                        }
                ck_assert_msg(out[o * P + oh * OW + ow] == (float)acc,
                              "conv C=%lld O=%lld k=%lld: %g != %d", (long long)C, (long long)O,
                              (long long)k, out[o * P + oh * OW + ow], acc);
            }
    free(x);
    free(col);
    free(w);
    free(wsum);
    free(ones);
    free(out);
}

START_TEST(qconv_exact)
{
    check_qconv(1, 28, 28, 20, 5, 1, 0, 1, 1);
    check_qconv(20, 12, 12, 50, 5, 1, 0, 1, 1);
    check_qconv(8, 11, 9, 13, 3, 2, 1, 1, 1);
    check_qconv(6, 10, 10, 6, 3, 1, 2, 2, 3);
    check_qconv(4, 9, 9, 4, 3, 1, 1, 1, 4);
    check_qconv(16, 6, 6, 10, 1, 1, 0, 1, 1);
    /* 1x1 over blocks of 64 pixels and a tail (the panel's one-load path), K off 4 */
    check_qconv(8, 10, 13, 20, 1, 1, 0, 1, 1);
    check_qconv(7, 9, 15, 5, 1, 1, 0, 1, 1);
    check_qconv(96, 8, 9, 40, 1, 1, 0, 1, 1);
    /* rows wider than a block (runs split at 64 or 32 pixels), stride 3 and a kernel wider
     * than 16 (the scalar panel) */
    check_qconv(3, 5, 150, 4, 3, 1, 1, 1, 1);
    check_qconv(3, 5, 150, 5, 3, 2, 1, 1, 1);
    check_qconv(2, 9, 40, 3, 3, 3, 1, 1, 1);
    check_qconv(2, 18, 20, 3, 17, 1, 1, 1, 1);
    /* many output channels (off 16) over a long K */
    check_qconv(128, 9, 9, 250, 3, 1, 1, 1, 1);
    /* stride 1 where a block's source fits 128 bytes, the padding taps too by the gather
     * (slimc_rt_qpanel_s1_gather): resnet18's 56, 28, 14 and 7 wide images, a 5x5 kernel
     * with padding 2, a dilated one */
    check_qconv(5, 56, 56, 6, 3, 1, 1, 1, 1);
    check_qconv(7, 28, 28, 5, 3, 1, 1, 1, 1);
    check_qconv(9, 14, 14, 7, 3, 1, 1, 1, 1);
    check_qconv(6, 7, 7, 5, 3, 1, 1, 1, 1);
    check_qconv(3, 20, 20, 5, 5, 1, 2, 1, 1);
    check_qconv(4, 28, 28, 4, 3, 1, 2, 2, 1);
}
END_TEST

/* slimc_rt_qgemm_packed (the weight packed as passes/layout.c packs it) against a plain
 * integer loop, on whichever path this run's CPU and environment select (the
 * unit_quant_* variants: VNNI, AVX2 vpmaddwd, portable), with unit scales (exact while
 * |acc| < 2^24), in the items the emitters use: dqlinear's 32 rows x all outputs, and
 * qlinear's 32 rows x 64 outputs; then requantized to u8 (relu, qchain). */
static void check_qgemm_packed(int64_t M, int64_t O, int64_t K)
{
    const int64_t KB = slimc_rt_qpack_rows(K), NB = slimc_rt_pack_blocks(O);
    uint8_t *A = malloc((size_t)(M * K));
    int8_t *W = malloc((size_t)(O * K)), *Wp = calloc((size_t)(NB * KB * 64), 1);
    int32_t *wsum = calloc((size_t)O, sizeof(int32_t));
    float *ones = malloc(sizeof(float) * (size_t)O), *out = malloc(sizeof(float) * (size_t)(M * O));
    uint8_t *q = malloc((size_t)(M * O));
    const int32_t zp = (int32_t)(rnd() & 255);
    for (int64_t i = 0; i < M * K; i++)
        A[i] = (uint8_t)(rnd() & 255);
    for (int64_t o = 0; o < O; o++) {
        ones[o] = 1.0f;
        for (int64_t k = 0; k < K; k++) {
            const int8_t w = (int8_t)((int)(rnd() % 255) - 127);
            W[o * K + k] = w;
            Wp[slimc_rt_pack_index(o, k, KB, SLIMC_RT_QPACK_K)] = w;
            wsum[o] += w;
        }
    }
    const slimc_rt_qreq rq = {1.0f / 37.5f, (int32_t)(rnd() & 255), SLIMC_RT_ACT_RELU, 0.0f};
    for (int item = 0; item < 2; item++) {
        const int64_t OC = item == 0 ? O : 64;
        for (int64_t m0 = 0; m0 < M; m0 += 32)
            for (int64_t o0 = 0; o0 < O; o0 += OC) {
                const int64_t mc = M - m0 < 32 ? M - m0 : 32, oc = O - o0 < OC ? O - o0 : OC;
                slimc_rt_qgemm_packed(M, m0, mc, o0, oc, O, K, A, Wp, zp, wsum, 1.0f, ones, NULL,
                                      out, NULL);
                slimc_rt_qgemm_packed(M, m0, mc, o0, oc, O, K, A, Wp, zp, wsum, 1.0f, ones, NULL, q,
                                      &rq);
            }
        for (int64_t m = 0; m < M; m++)
            for (int64_t o = 0; o < O; o++) {
                int32_t acc = 0;
                for (int64_t k = 0; k < K; k++)
                    acc += ((int32_t)A[m * K + k] - zp) * (int32_t)W[o * K + k];
                ck_assert_msg(out[m * O + o] == (float)acc,
                              "packed M=%lld O=%lld K=%lld item %d: [%lld,%lld] %g != %d",
                              (long long)M, (long long)O, (long long)K, item, (long long)m,
                              (long long)o, out[m * O + o], acc);
                float v = rintf((acc > 0 ? (float)acc : 0.0f) * rq.inv) + (float)rq.zp;
                v = v < 0 ? 0 : v > 255 ? 255 : v;
                ck_assert_msg(q[m * O + o] == (uint8_t)v,
                              "packed u8 M=%lld O=%lld K=%lld: %d != %d", (long long)M,
                              (long long)O, (long long)K, q[m * O + o], (int)v);
            }
    }
    free(A);
    free(W);
    free(Wp);
    free(wsum);
    free(ones);
    free(out);
    free(q);
}

START_TEST(qgemm_packed_exact)
{
    /* odd rows (a partial 6- or 8-row block, a second 32-row item), K off 4 and 64, O off
     * 16 and 64 */
    static const int64_t Ms[] = {1, 5, 7, 33, 45};
    static const int64_t Os[] = {1, 13, 17, 37, 70};
    static const int64_t Ks[] = {1, 3, 25, 63, 65, 130, 383};
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 5; b++)
            for (size_t c = 0; c < 7; c++)
                check_qgemm_packed(Ms[a], Os[b], Ks[c]);
}
END_TEST

/* slimc_rt_dyn_params (dqlinear's dynamic u8 parameters) against a plain min/max loop:
 * lengths around the vector steps, NaN ignored, all-zero and one-signed inputs. */
START_TEST(dyn_params_exact)
{
    static const int64_t ns[] = {1, 7, 16, 31, 32, 33, 100, 1000, 4099};
    float *x = malloc(sizeof(float) * 4099);
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++)
        for (int kind = 0; kind < 4; kind++) {
            const int64_t n = ns[t];
            float lo = 0.0f, hi = 0.0f;
            for (int64_t i = 0; i < n; i++) {
                const float u = urand() * 8.0f - 3.0f;
                x[i] = kind == 0 ? u : kind == 1 ? fabsf(u) + 0.5f : kind == 2 ? 0.0f : -fabsf(u);
                if (kind == 0 && i % 97 == 41)
                    x[i] = NAN;
                lo = x[i] < lo ? x[i] : lo;
                hi = x[i] > hi ? x[i] : hi;
            }
            const float s = (hi - lo) / 255.0f;
            float want_s = 1.0f;
            int32_t want_z = 0;
            if (s > 0.0f) {
                const float z = nearbyintf(-lo / s);
                want_s = s;
                want_z = (int32_t)(z < 0.0f ? 0.0f : z > 255.0f ? 255.0f : z);
            }
            float got_s;
            int32_t got_z;
            slimc_rt_dyn_params(x, n, &got_s, &got_z);
            ck_assert_msg(got_s == want_s && got_z == want_z, "n=%lld kind %d: %g/%d != %g/%d",
                          (long long)n, kind, got_s, got_z, want_s, want_z);
        }
    free(x);
}
END_TEST

START_TEST(quantize_rounding)
{
    /* round half to even, zero point, clamping, NaN to 0 */
    const float x[] = {0.5f,     1.5f, 2.5f,     -0.5f,     -1.5f, 1000.0f,
                       -1000.0f, NAN,  INFINITY, -INFINITY, 0.0f,  3.49f};
    const uint8_t want[] = {10, 12, 12, 10, 8, 255, 0, 0, 255, 0, 10, 13};
    uint8_t q[12];
    slimc_rt_quantize_u8(x, q, 12, 1.0f, 10);
    for (int i = 0; i < 12; i++)
        ck_assert_msg(q[i] == want[i], "x=%g: %d != %d", x[i], q[i], want[i]);
}
END_TEST

/* ---- calibration ---- */

static float urand(void)
{
    return (float)(rnd() & 0xffffff) / 16777216.0f;
}

static void fill_stats(QStats *s, const float *x, int64_t n)
{
    pass_qcal_stats_init(s);
    pass_qcal_observe_range(s, x, n);
    pass_qcal_observe_hist(s, x, n);
}

START_TEST(calib_methods)
{
    enum { N = 200000 };
    float *x = malloc(sizeof(float) * N);
    QStats *s = malloc(sizeof *s);
    float lo, hi, scale;
    int32_t zp;
    /* minmax on a uniform sample over [-1, 3]: the sample's own min and max */
    float mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < N; i++) {
        x[i] = -1.0f + 4.0f * urand();
        mn = fminf(mn, x[i]);
        mx = fmaxf(mx, x[i]);
    }
    fill_stats(s, x, N);
    pass_qcal_range(s, QCAL_MINMAX, 0, &lo, &hi);
    ck_assert(lo == mn && hi == mx);
    pass_qcal_params(lo, hi, &scale, &zp);
    ck_assert(fabsf(scale - (mx - mn) / 255.0f) < 1e-7f);
    ck_assert_int_eq(zp, (int)nearbyint(-mn / scale));
    /* percentile(99) of uniform [0, 1): about 0.99 */
    for (int i = 0; i < N; i++)
        x[i] = urand();
    fill_stats(s, x, N);
    pass_qcal_range(s, QCAL_PERCENTILE, 99.0, &lo, &hi);
    ck_assert_msg(lo == 0 && fabsf(hi - 0.99f) < 0.003f, "percentile: [%g, %g]", lo, hi);
    /* a ReLU-like activation: exponential body with rare outliers at 50; entropy and mse
     * must clip the outliers and keep the body (threshold in a sane range) */
    for (int i = 0; i < N; i++)
        x[i] = i % 5000 == 0 ? 50.0f : -logf(1.0f - urand());
    fill_stats(s, x, N);
    pass_qcal_range(s, QCAL_MINMAX, 0, &lo, &hi);
    ck_assert(hi == 50.0f);
    pass_qcal_range(s, QCAL_ENTROPY, 0, &lo, &hi);
    ck_assert_msg(lo == 0 && hi > 4.0f && hi < 40.0f, "entropy: [%g, %g]", lo, hi);
    fprintf(stderr,
            "calibration of an exponential sample with outliers at 50: entropy clips at %.2f\n",
            hi);
    /* mse weighs an outlier by its squared distance, so it keeps those; on the plain
     * exponential body it clips the thin tail, never the body */
    for (int i = 0; i < N; i++)
        x[i] = -logf(1.0f - urand());
    fill_stats(s, x, N);
    pass_qcal_range(s, QCAL_MSE, 0, &lo, &hi);
    ck_assert_msg(lo == 0 && hi > 4.0f && hi <= (float)s->max, "mse: [%g, %g] (max %g)", lo, hi,
                  s->max);
    fprintf(stderr, "calibration of an exponential sample (max %.2f): mse clips at %.2f\n", s->max,
            hi);
    /* two-signed: the range keeps both sides */
    for (int i = 0; i < N; i++)
        x[i] = urand() * 2.0f - 1.0f;
    fill_stats(s, x, N);
    pass_qcal_range(s, QCAL_MSE, 0, &lo, &hi);
    ck_assert_msg(lo < -0.7f && hi > 0.7f, "mse both signs: [%g, %g]", lo, hi);
    pass_qcal_range(s, QCAL_ENTROPY, 0, &lo, &hi);
    ck_assert_msg(lo < -0.5f && hi > 0.5f, "entropy both signs: [%g, %g]", lo, hi);
    /* parameters: [-1, 1] -> 2/255 and the middle code; constant zero -> scale 1 */
    pass_qcal_params(-1.0f, 1.0f, &scale, &zp);
    ck_assert(scale == 2.0f / 255.0f && (zp == 127 || zp == 128));
    pass_qcal_params(0.0f, 2.55f, &scale, &zp);
    ck_assert(fabsf(scale - 0.01f) < 1e-8f && zp == 0);
    for (int i = 0; i < 100; i++)
        x[i] = 0.0f;
    fill_stats(s, x, 100);
    pass_qcal_range(s, QCAL_ENTROPY, 0, &lo, &hi);
    pass_qcal_params(lo, hi, &scale, &zp);
    ck_assert(scale == 1.0f && zp == 0);
    free(x);
    free(s);
}
END_TEST

/* ---- the int8 ops through the emitter and the JIT, against the evaluator ---- */

static ValueId const_of(Graph *g, const char *name, DType dt, int rank, const int64_t *dims,
                        void *data, size_t bytes)
{
    Type t = sup_f32(rank, dims);
    t.dtype = dt;
    return ir_const_new(g, name, t, data, bytes, (SrcLoc){0});
}

/* x f32 -> quantize -> qconv2d / qlinear (+ relu) -> out; and a dequantize output. */
static void add_qop(Graph *g, RtTensor *in, int *n_in, bool conv, int64_t B, int64_t C, int64_t H,
                    int64_t W, int64_t O, int64_t k, int64_t st, int64_t pad, int64_t groups,
                    bool bias, bool relu)
{
    char nm[32];
    snprintf(nm, sizeof nm, "x%d", *n_in);
    in[*n_in] = conv ? sup_input_rand(4, D(B, C, H, W), &seed) : sup_input_rand(2, D(B, C), &seed);
    ValueId x = conv ? ir_input_new(g, nm, sup_f32(4, D(B, C, H, W)), (SrcLoc){0})
                     : ir_input_new(g, nm, sup_f32(2, D(B, C)), (SrcLoc){0});
    (*n_in)++;
    NodeId q = ir_node_new(g, IR_OP_QUANTIZE, "q", (SrcLoc){0}, &x, 1, 1);
    ir_node_set_float(g, q, "scale", 2.0 / 255.0);
    ir_node_set_int(g, q, "zero_point", 120);
    const int64_t K = conv ? C / groups * k * k : C;
    int8_t *w = ir_arena_alloc(g->arena, (size_t)(O * K));
    float *ws = ir_arena_alloc(g->arena, sizeof(float) * (size_t)O),
          *b = ir_arena_alloc(g->arena, sizeof(float) * (size_t)O);
    int32_t *sum = ir_arena_alloc(g->arena, sizeof(int32_t) * (size_t)O);
    for (int64_t o = 0; o < O; o++) {
        sum[o] = 0;
        for (int64_t i = 0; i < K; i++) {
            w[o * K + i] = (int8_t)((int)(rnd() % 255) - 127);
            sum[o] += w[o * K + i];
        }
        ws[o] = 0.001f + 0.01f * urand();
        b[o] = urand() - 0.5f;
    }
    ValueId wv = conv ? const_of(g, "w", IR_I8, 4, D(O, C / groups, k, k), w, (size_t)(O * K))
                      : const_of(g, "w", IR_I8, 2, D(O, K), w, (size_t)(O * K));
    ValueId ins[5] = {g->nodes[q].outputs[0], wv,
                      const_of(g, "ws", IR_F32, 1, D(O), ws, sizeof(float) * (size_t)O),
                      const_of(g, "wsum", IR_I32, 1, D(O), sum, sizeof(int32_t) * (size_t)O),
                      bias ? const_of(g, "b", IR_F32, 1, D(O), b, sizeof(float) * (size_t)O)
                           : IR_NONE};
    NodeId n = ir_node_new(g, conv ? IR_OP_QCONV2D : IR_OP_QLINEAR, "qop", (SrcLoc){0}, ins,
                           bias ? 5 : 4, 1);
    if (conv) {
        ir_node_set_int(g, n, "stride", st);
        ir_node_set_int(g, n, "padding", pad);
        ir_node_set_int(g, n, "groups", groups);
    }
    ir_node_set_float(g, n, "x_scale", 2.0 / 255.0);
    ir_node_set_int(g, n, "x_zero_point", 120);
    if (relu) {
        Node *nd = &g->nodes[n];
        nd->epilogue[0] = (Epilogue){IR_OP_RELU, IR_NONE, false};
        nd->n_epilogue = 1;
    }
    ir_output_add(g, g->nodes[n].outputs[0]);
    ValueId qv = g->nodes[q].outputs[0];
    NodeId dq = ir_node_new(g, IR_OP_DEQUANTIZE, "dq", (SrcLoc){0}, &qv, 1, 1);
    ir_node_set_float(g, dq, "scale", 2.0 / 255.0);
    ir_node_set_int(g, dq, "zero_point", 120);
    ir_output_add(g, g->nodes[dq].outputs[0]);
}

START_TEST(qops_jit)
{
    Graph *g = ir_graph_new("qops");
    RtTensor in[16];
    int n_in = 0;
    add_qop(g, in, &n_in, false, 1, 800, 0, 0, 500, 0, 0, 0, 1, true, true);
    add_qop(g, in, &n_in, false, 7, 37, 0, 0, 70, 0, 0, 0, 1, false, false);
    add_qop(g, in, &n_in, true, 2, 1, 28, 28, 20, 5, 1, 0, 1, true, true);
    add_qop(g, in, &n_in, true, 1, 20, 12, 12, 50, 5, 1, 0, 1, true, false);
    add_qop(g, in, &n_in, true, 1, 8, 9, 11, 12, 3, 2, 1, 2, false, true);
    /* depthwise: stride 1 and 2, a channel multiplier of 2 */
    add_qop(g, in, &n_in, true, 2, 16, 13, 19, 16, 3, 1, 1, 16, true, true);
    add_qop(g, in, &n_in, true, 1, 12, 20, 20, 12, 3, 2, 1, 12, false, false);
    add_qop(g, in, &n_in, true, 1, 4, 9, 8, 8, 3, 1, 1, 4, true, false);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "shapes: %s", ir_diag_text(&d));
    ir_diag_fini(&d);
    char msg[512];
    const int threads[] = {1, 2};
    ck_assert_msg(sup_check(g, in, threads, 2, 1e-5, msg, sizeof msg), "%s", msg);
    for (int i = 0; i < n_in; i++)
        free(in[i].data);
    ir_graph_free(g);
}
END_TEST

/* ---- int8 chains (passes/qchain.c) ---- */

static int count_op(const Graph *g, OpKind op)
{
    int k = 0;
    for (NodeId i = 0; i < g->n_nodes; i++)
        k += !g->nodes[i].dead && g->nodes[i].op == op;
    return k;
}

/* The depthwise kernel (slimc_rt_qdw_plane: the AVX-512 3x3 blocks where it can, a loop
 * otherwise) against a direct loop of qconv2d's arithmetic, f32 and u8 out. wsum_off
 * makes the layer's wsum differ from the weights' sum (a hand-written model), which the
 * reference's sum x w - zp wsum tells apart. */
static void check_qdw(int64_t H, int64_t W, int64_t k, int64_t st, int64_t pad, int64_t dil,
                      int32_t wsum_off, bool bias)
{
    const int64_t C = 3;
    const int64_t OH = (H + 2 * pad - dil * (k - 1) - 1) / st + 1,
                  OW = (W + 2 * pad - dil * (k - 1) - 1) / st + 1, P = OH * OW;
    const slimc_rt_conv s = {C, H, W, C, 1, 1, k, k, OH, OW, st, st, pad, pad, dil, dil, 0};
    uint8_t *x = malloc((size_t)(C * H * W)), *qo = malloc((size_t)(C * P));
    int8_t *w = malloc((size_t)(C * k * k));
    float *out = malloc(sizeof(float) * (size_t)(C * P)), b[3], ws[3];
    int32_t wsum[3] = {0, 0, 0};
    const int32_t zp = (int32_t)(rnd() & 255);
    const float xs = 0.02f;
    for (int64_t i = 0; i < C * H * W; i++)
        x[i] = (uint8_t)(rnd() & 255);
    for (int64_t i = 0; i < C * k * k; i++) {
        w[i] = (int8_t)((int)(rnd() % 256) - 128);
        wsum[i / (k * k)] += w[i];
    }
    for (int c = 0; c < 3; c++) {
        wsum[c] += wsum_off;
        ws[c] = 0.001f + 0.01f * urand();
        b[c] = urand() - 0.5f;
    }
    const slimc_rt_qreq rq = {1.0f / 0.3f, (int32_t)(rnd() & 255), SLIMC_RT_ACT_RELU6, 0.0f};
    for (int64_t c = 0; c < C; c++) {
        slimc_rt_qdw_plane(&s, x + c * H * W, zp, w + c * k * k, wsum[c], xs, ws[c],
                           bias ? b : NULL, c, out + c * P, NULL);
        slimc_rt_qdw_plane(&s, x + c * H * W, zp, w + c * k * k, wsum[c], xs, ws[c],
                           bias ? b : NULL, c, qo + c * P, &rq);
    }
    for (int64_t c = 0; c < C; c++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int32_t acc = 0;
                for (int64_t kh = 0; kh < k; kh++)
                    for (int64_t kw = 0; kw < k; kw++) {
                        const int64_t ih = oh * st - pad + kh * dil, iw = ow * st - pad + kw * dil;
                        const int32_t q = (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                              ? zp
                                              : x[(c * H + ih) * W + iw];
                        acc += q * w[(c * k + kh) * k + kw];
                    }
                acc -= zp * wsum[c];
                const float m = xs * ws[c];
                float y = (float)acc * m;
                if (bias)
                    y += b[c];
                const int64_t i = c * P + oh * OW + ow;
                ck_assert_msg(out[i] == y, "dw %lldx%lld k=%lld s=%lld p=%lld [%lld]: %g != %g",
                              (long long)H, (long long)W, (long long)k, (long long)st,
                              (long long)pad, (long long)i, out[i], y);
                y = y <= 0 ? 0.0f : y >= 6 ? 6.0f : y;
                float v = rintf(y * rq.inv) + (float)rq.zp;
                v = v < 0 ? 0 : v > 255 ? 255 : v;
                ck_assert_msg(qo[i] == (uint8_t)v, "dw u8 %lldx%lld k=%lld s=%lld [%lld]: %d != %d",
                              (long long)H, (long long)W, (long long)k, (long long)st, (long long)i,
                              qo[i], (int)v);
            }
    free(x);
    free(qo);
    free(w);
    free(out);
}

START_TEST(qdw_exact)
{
    /* stride 1 and 2, paddings 0-2, row blocks of 4 and the rows after, column tails, rows
     * wider than a 16-lane block, 1-pixel planes */
    const int64_t sizes[][2] = {{1, 1},   {3, 3},   {7, 7},   {14, 14}, {9, 17},
                                {13, 33}, {28, 28}, {6, 112}, {5, 2}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int64_t st = 1; st <= 2; st++)
            for (int64_t pad = 0; pad <= 2; pad++) {
                if (sizes[i][0] + 2 * pad < 3 || sizes[i][1] + 2 * pad < 3)
                    continue;
                check_qdw(sizes[i][0], sizes[i][1], 3, st, pad, 1, 0, pad != 2);
            }
    /* the loop: 5x5, dilation 2, stride 3; and a wsum that is not the weights' sum */
    check_qdw(11, 19, 5, 1, 2, 1, 0, true);
    check_qdw(11, 19, 3, 1, 2, 2, 0, true);
    check_qdw(11, 19, 3, 3, 1, 1, 0, false);
    check_qdw(10, 20, 3, 1, 1, 1, 7, true);
    check_qdw(10, 20, 3, 2, 1, 1, -300000, true);
}
END_TEST

/* max_pool2d on u8 codes (slimc_rt_maxpool_plane_u8: the 3-wide stride-2 blocks, the
 * general rows, the loop) against a direct loop: several 32-output blocks, padding,
 * ceil_mode windows that overhang the right and bottom edges. */
START_TEST(qmaxpool_exact)
{
    static const int64_t cfg[][6] = {
        /* H, W, k, stride, padding, ceil_mode */
        {13, 71, 3, 2, 0, 1}, {12, 130, 3, 2, 1, 1}, {10, 10, 3, 2, 1, 0}, {9, 40, 3, 1, 1, 0},
        {8, 66, 2, 2, 0, 0},  {11, 35, 3, 3, 1, 0},  {1, 1, 1, 2, 0, 0}};
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        const int64_t H = cfg[t][0], W = cfg[t][1], k = cfg[t][2], st = cfg[t][3], pad = cfg[t][4];
        const int64_t span_h = H + 2 * pad - k, span_w = W + 2 * pad - k;
        int64_t OH = (cfg[t][5] ? span_h + st - 1 : span_h) / st + 1,
                OW = (cfg[t][5] ? span_w + st - 1 : span_w) / st + 1;
        if ((OH - 1) * st >= H + pad) /* a last window starting in the padding is dropped */
            OH--;
        if ((OW - 1) * st >= W + pad)
            OW--;
        const slimc_rt_conv s = {1, H, W, 1, 1, 1, k, k, OH, OW, st, st, pad, pad, 1, 1, 0};
        uint8_t *x = malloc((size_t)(H * W)), *y = malloc((size_t)(OH * OW));
        for (int64_t i = 0; i < H * W; i++)
            x[i] = (uint8_t)(rnd() & 255);
        slimc_rt_maxpool_plane_u8(&s, x, y);
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int m = 0;
                for (int64_t kh = 0; kh < k; kh++)
                    for (int64_t kw = 0; kw < k; kw++) {
                        const int64_t ih = oh * st - pad + kh, iw = ow * st - pad + kw;
                        if (ih >= 0 && ih < H && iw >= 0 && iw < W && x[ih * W + iw] > m)
                            m = x[ih * W + iw];
                    }
                ck_assert_msg(y[oh * OW + ow] == m, "pool %zu [%lld, %lld]: %d != %d", t,
                              (long long)oh, (long long)ow, y[oh * OW + ow], m);
            }
        free(x);
        free(y);
    }
}
END_TEST

/* A quantize node of v with scale sc and zero point zp. */
static ValueId chain_q(Graph *g, ValueId v, double sc, int64_t zp)
{
    NodeId q = ir_node_new(g, IR_OP_QUANTIZE, "q", (SrcLoc){0}, &v, 1, 1);
    ir_node_set_float(g, q, "scale", sc);
    ir_node_set_int(g, q, "zero_point", zp);
    return g->nodes[q].outputs[0];
}

/* qconv2d (C -> O, k x k, stride st, padding pad, groups gr) or qlinear (C -> O) of the u8
 * value x quantized with (xs, xz), random weights, a bias. */
static ValueId chain_layer(Graph *g, bool conv, ValueId x, double xs, int64_t xz, int64_t C,
                           int64_t O, int64_t k, int64_t st, int64_t pad, int64_t gr)
{
    const int64_t K = conv ? C / gr * k * k : C;
    int8_t *w = ir_arena_alloc(g->arena, (size_t)(O * K));
    float *ws = ir_arena_alloc(g->arena, sizeof(float) * (size_t)O),
          *b = ir_arena_alloc(g->arena, sizeof(float) * (size_t)O);
    int32_t *sum = ir_arena_alloc(g->arena, sizeof(int32_t) * (size_t)O);
    for (int64_t o = 0; o < O; o++) {
        sum[o] = 0;
        for (int64_t i = 0; i < K; i++) {
            w[o * K + i] = (int8_t)((int)(rnd() % 255) - 127);
            sum[o] += w[o * K + i];
        }
        ws[o] = (0.5f + urand()) / (float)(64 * K);
        b[o] = urand() - 0.5f;
    }
    ValueId ins[5] = {x,
                      conv ? const_of(g, "w", IR_I8, 4, D(O, C / gr, k, k), w, (size_t)(O * K))
                           : const_of(g, "w", IR_I8, 2, D(O, K), w, (size_t)(O * K)),
                      const_of(g, "ws", IR_F32, 1, D(O), ws, sizeof(float) * (size_t)O),
                      const_of(g, "wsum", IR_I32, 1, D(O), sum, sizeof(int32_t) * (size_t)O),
                      const_of(g, "b", IR_F32, 1, D(O), b, sizeof(float) * (size_t)O)};
    NodeId n =
        ir_node_new(g, conv ? IR_OP_QCONV2D : IR_OP_QLINEAR, "layer", (SrcLoc){0}, ins, 5, 1);
    if (conv) {
        ir_node_set_int(g, n, "stride", st);
        ir_node_set_int(g, n, "padding", pad);
        ir_node_set_int(g, n, "groups", gr);
    }
    ir_node_set_float(g, n, "x_scale", xs);
    ir_node_set_int(g, n, "x_zero_point", xz);
    return g->nodes[n].outputs[0];
}

static ValueId chain_op(Graph *g, OpKind op, ValueId x)
{
    NodeId n = ir_node_new(g, op, "op", (SrcLoc){0}, &x, 1, 1);
    if (op == IR_OP_MAX_POOL2D) {
        ir_node_set_ints(g, n, "kernel", D(3, 3), 2);
        ir_node_set_ints(g, n, "stride", D(2, 2), 2);
        ir_node_set_ints(g, n, "padding", D(1, 1), 2);
    }
    if (op == IR_OP_FLATTEN)
        ir_node_set_int(g, n, "start_dim", 1);
    return g->nodes[n].outputs[0];
}

/* Runs the passes on g (input in; its first output f32, out_floats floats): the reference
 * gives the same bytes before and after, the JIT the reference's bytes (1 and 3 threads);
 * the quantize nodes, u8 layers and relus left are n_q, n_u8 and n_relu. */
static void check_chained(Graph *g, RtTensor *in, const char *passes, size_t out_floats, int n_q,
                          int n_u8, int n_relu, const char *what)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s: shapes: %s", what, ir_diag_text(&d));
    const void *ins[1] = {in[0].data};
    void *before[4] = {0}, *after[4] = {0};
    int64_t syms[IR_MAX_SYMS] = {0};
    ck_assert_msg(ir_eval_graph(g, ins, before, syms, &d), "%s: %s", what, ir_diag_text(&d));
    if (sup_test_device_cuda()) /* placed first, as the API does: layout leaves CUDA alone */
        ir_graph_place_all(g, IR_DEVICE_CUDA);
    PassRunOptions ro = {.verify = true};
    ck_assert_msg(pass_pipeline_run(g, passes, (SrcLoc){0}, &ro, &d), "%s: %s", what,
                  ir_diag_text(&d));
    int u8_layers = 0;
    for (int i = 0; i < g->n_nodes; i++)
        u8_layers += !g->nodes[i].dead && ir_node_attr_id(&g->nodes[i], IR_A_y_scale) != NULL;
    ck_assert_msg(count_op(g, IR_OP_QUANTIZE) == n_q, "%s: %d quantize nodes", what,
                  count_op(g, IR_OP_QUANTIZE));
    ck_assert_msg(u8_layers == n_u8, "%s: %d u8 layers", what, u8_layers);
    ck_assert_msg(count_op(g, IR_OP_RELU) + count_op(g, IR_OP_RELU6) == n_relu, "%s: relus", what);
    ck_assert_msg(ir_eval_graph(g, ins, after, syms, &d), "%s: %s", what, ir_diag_text(&d));
    ck_assert_msg(memcmp(before[0], after[0], sizeof(float) * out_floats) == 0,
                  "%s: the chained reference differs", what);
    for (int i = 0; i < 4; i++) {
        free(before[i]);
        free(after[i]);
    }
    ir_diag_fini(&d);
    char msg[512];
    const int threads[] = {1, 3};
    ck_assert_msg(sup_check(g, in, threads, 2, 0.0, msg, sizeof msg), "%s: %s", what, msg);
}

/* x -> q -> conv -> relu -> pool 3x3/2 -> q -> depthwise conv -> relu6 -> q -> conv (stride
 * 2) -> relu6 -> pool 3x3/2 -> flatten -> q -> linear -> relu -> q -> linear (f32 out), with
 * an f32 output tapped off the middle (which stops that chain). qchain leaves one
 * quantize node (the input's) and four u8 layers; the reference evaluator gives the same
 * bytes before and after, and the JIT (after layout too) the reference's bytes. */
START_TEST(qchain_exact)
{
    for (int v = 0; v < 3; v++) { /* qchain; qchain then layout (packed weights); a tap */
        const bool packed = v == 1, tap = v == 2;
        Graph *g = ir_graph_new("qchain");
        RtTensor in[1] = {sup_input_rand(4, D(2, 3, 21, 23), &seed)};
        ValueId x = ir_input_new(g, "x", sup_f32(4, D(2, 3, 21, 23)), (SrcLoc){0});
        ValueId h =
            chain_layer(g, true, chain_q(g, x, 2.0 / 255, 128), 2.0 / 255, 128, 3, 20, 3, 1, 1, 1);
        h = chain_op(g, IR_OP_MAX_POOL2D, chain_op(g, IR_OP_RELU, h)); /* 11 x 12 */
        /* depthwise 3x3 (slimc_rt_qdw_plane), u8 in and out */
        h = chain_layer(g, true, chain_q(g, h, 0.04, 5), 0.04, 5, 20, 20, 3, 1, 1, 20);
        h = chain_op(g, IR_OP_RELU6, h);
        h = chain_layer(g, true, chain_q(g, h, 0.05, 0), 0.05, 0, 20, 24, 3, 2, 1, 1);
        h = chain_op(g, IR_OP_MAX_POOL2D, chain_op(g, IR_OP_RELU6, h)); /* 6 x 6 -> 3 x 3 */
        h = chain_op(g, IR_OP_FLATTEN, h);
        h = chain_layer(g, false, chain_q(g, h, 6.0 / 255, 0), 6.0 / 255, 0, 24 * 9, 70, 0, 0, 0,
                        1);
        ValueId mid = chain_op(g, IR_OP_RELU, h);
        h = chain_layer(g, false, chain_q(g, mid, 0.03, 3), 0.03, 3, 70, 10, 0, 0, 0, 1);
        ir_output_add(g, h);
        if (tap) /* a relu read by f32 too: that chain stops */
            ir_output_add(g, mid);
        char what[32];
        snprintf(what, sizeof what, "variant %d", v);
        check_chained(g, in, packed ? "qchain,layout" : "qchain", 2 * 10, tap ? 2 : 1, tap ? 3 : 4,
                      tap ? 1 : 0, what);
        free(in[0].data);
        ir_graph_free(g);
    }
}
END_TEST

/* concat -> [max_pool2d] -> quantize: the quantize moves above the concat, one copy per
 * input, and the branches (a 3x3 conv with relu, a 1x1 conv with relu6) chain into their
 * copies and write u8; the f32 input, a third part, gets its own quantize. A branch read
 * twice by the concat gets one copy, which it chains into. */
START_TEST(qchain_concat)
{
    for (int v = 0; v < 2; v++) {
        Graph *g = ir_graph_new("qconcat");
        RtTensor in[1] = {sup_input_rand(4, D(2, 3, 13, 15), &seed)};
        ValueId x = ir_input_new(g, "x", sup_f32(4, D(2, 3, 13, 15)), (SrcLoc){0});
        ValueId xq = chain_q(g, x, 2.0 / 255, 128);
        ValueId a =
            chain_op(g, IR_OP_RELU, chain_layer(g, true, xq, 2.0 / 255, 128, 3, 8, 3, 1, 1, 1));
        ValueId parts[3] = {a, x, a};
        if (v == 0) {
            parts[1] = chain_op(g, IR_OP_RELU6,
                                chain_layer(g, true, xq, 2.0 / 255, 128, 3, 6, 1, 1, 0, 1));
            parts[2] = x;
        }
        NodeId cn = ir_node_new(g, IR_OP_CONCAT, "cat", (SrcLoc){0}, parts, 3, 1);
        ir_node_set_int(g, cn, "axis", 1);
        ValueId h = g->nodes[cn].outputs[0];
        const int64_t C = v == 0 ? 17 : 19;
        if (v == 0)
            h = chain_op(g, IR_OP_MAX_POOL2D, h); /* 7 x 8 */
        h = chain_layer(g, true, chain_q(g, h, 0.03, 7), 0.03, 7, C, 5, 3, 1, 1, 1);
        ir_output_add(g, h);
        check_chained(g, in, "qchain", (size_t)(v == 0 ? 2 * 5 * 7 * 8 : 2 * 5 * 13 * 15), 2, 2 - v,
                      0, v == 0 ? "concat, pool" : "concat(a, x, a)");
        free(in[0].data);
        ir_graph_free(g);
    }
}
END_TEST

/* The ONNX QuantizeLinear shape, div by a scale then quantize {scale=1}: a layer chains
 * into it and divides in its store (y_divide), whatever reads the codes (another int8
 * layer, a dequantize); a quantize with another scale, or a divisor that is not one
 * constant, is left alone. */
START_TEST(qchain_divide)
{
    for (int v = 0; v < 4; v++) {
        Graph *g = ir_graph_new("qdiv");
        RtTensor in[1] = {sup_input_rand(4, D(2, 3, 13, 15), &seed)};
        ValueId x = ir_input_new(g, "x", sup_f32(4, D(2, 3, 13, 15)), (SrcLoc){0});
        ValueId h =
            chain_layer(g, true, chain_q(g, x, 2.0 / 255, 128), 2.0 / 255, 128, 3, 8, 3, 1, 1, 1);
        h = v == 1 ? chain_op(g, IR_OP_MAX_POOL2D, h) : chain_op(g, IR_OP_RELU, h);
        float *sv = ir_arena_alloc(g->arena, 2 * sizeof(float));
        sv[0] = sv[1] = 0.05f;
        ValueId dv[2] = {h, const_of(g, "s", IR_F32, 1, D(v == 3 ? 2 : 1), sv,
                                     (v == 3 ? 2 : 1) * sizeof(float))};
        if (v == 3) /* a divisor of two elements (broadcast over a last dim of 2) */
            h = chain_op(g, IR_OP_MAX_POOL2D, chain_op(g, IR_OP_MAX_POOL2D, h)),
            dv[0] = chain_op(g, IR_OP_MAX_POOL2D, h);
        NodeId dn = ir_node_new(g, IR_OP_DIV, "div", (SrcLoc){0}, dv, 2, 1);
        h = chain_q(g, g->nodes[dn].outputs[0], v == 2 ? 0.5 : 1.0, v == 1 ? 0 : 3);
        if (v == 1 || v == 3) { /* the codes read by a dequantize, as in ONNX QDQ models */
            NodeId dq = ir_node_new(g, IR_OP_DEQUANTIZE, "dq", (SrcLoc){0}, &h, 1, 1);
            ir_node_set_float(g, dq, "scale", 0.05);
            ir_node_set_int(g, dq, "zero_point", 0);
            h = g->nodes[dq].outputs[0];
        } else {
            h = chain_layer(g, true, h, 0.05, 3, 8, 5, 3, 1, 1, 1);
        }
        ir_output_add(g, h);
        static const size_t outs[4] = {2 * 5 * 13 * 15, 2 * 8 * 7 * 8, 2 * 5 * 13 * 15,
                                       2 * 8 * 2 * 2};
        static const char *const what[4] = {"relu, div, quantize, conv",
                                            "pool, div, quantize, dequantize",
                                            "quantize {scale=0.5}", "a divisor of 2"};
        const bool chains = v < 2;
        check_chained(g, in, "qchain", outs[v], chains ? 1 : 2, chains ? 1 : 0, chains ? 0 : 1,
                      what[v]);
        ck_assert_int_eq(count_op(g, IR_OP_DIV), chains ? 0 : 1);
        free(in[0].data);
        ir_graph_free(g);
    }
}
END_TEST

/* An ONNX QDQ model's pool: x -> q {s, zp} -> dequantize {s, zp} -> max_pool2d -> flatten
 * -> div(s) -> quantize {1, zp} -> linear (f32 out). qchain runs the pool and the flatten on
 * the codes and drops the dequantize, the div and the quantize; the reference before, the
 * reference after and the JIT give the same bytes. Not taken: a divisor other than the
 * dequantize's scale, a quantize of another zero point. A second reader of the dequantize
 * (a residual add's, here an f32 output) keeps it. */
START_TEST(qchain_qdq_pool)
{
    const double s = 3.0 / 255;
    const int64_t zp = 97;
    for (int v = 0; v < 4; v++) {
        Graph *g = ir_graph_new("qdqpool");
        RtTensor in[1] = {sup_input_rand(4, D(2, 3, 13, 15), &seed)};
        ValueId x = ir_input_new(g, "x", sup_f32(4, D(2, 3, 13, 15)), (SrcLoc){0});
        ValueId h = chain_q(g, x, s, zp);
        NodeId dq = ir_node_new(g, IR_OP_DEQUANTIZE, "dq", (SrcLoc){0}, &h, 1, 1);
        ir_node_set_float(g, dq, "scale", s);
        ir_node_set_int(g, dq, "zero_point", zp);
        const ValueId dqv = g->nodes[dq].outputs[0];
        h = chain_op(g, IR_OP_FLATTEN, chain_op(g, IR_OP_MAX_POOL2D, dqv));
        float *sv = ir_arena_alloc(g->arena, sizeof(float));
        sv[0] = (float)(v == 1 ? s * 1.001 : s);
        ValueId dv[2] = {h, const_of(g, "s", IR_F32, 1, D(1), sv, sizeof(float))};
        NodeId dn = ir_node_new(g, IR_OP_DIV, "div", (SrcLoc){0}, dv, 2, 1);
        h = chain_q(g, g->nodes[dn].outputs[0], 1.0, v == 2 ? zp + 1 : zp);
        h = chain_layer(g, false, h, s, zp, 3 * 7 * 8, 10, 0, 0, 0, 1);
        ir_output_add(g, h);
        if (v == 3)
            ir_output_add(g, dqv);
        static const char *const what[4] = {"pool, flatten on codes", "another divisor",
                                            "another zero point", "a second reader"};
        const bool taken = v == 0 || v == 3;
        check_chained(g, in, "qchain", 2 * 10, taken ? 1 : 2, 0, 0, what[v]);
        ck_assert_msg(count_op(g, IR_OP_DIV) == (taken ? 0 : 1), "%s: div", what[v]);
        ck_assert_msg(count_op(g, IR_OP_DEQUANTIZE) == (v == 0 ? 0 : 1), "%s: dequantize", what[v]);
        for (NodeId i = 0; i < g->n_nodes; i++)
            if (!g->nodes[i].dead && g->nodes[i].op == IR_OP_MAX_POOL2D)
                ck_assert_int_eq(g->values[g->nodes[i].inputs[0]].type.dtype,
                                 taken ? IR_U8 : IR_F32);
        free(in[0].data);
        ir_graph_free(g);
    }
}
END_TEST

/* A residual block's input as slimc's quantize pass leaves it: x -> q -> conv -> relu ->
 * max_pool2d = v, read by q -> conv2 and by add(conv2, v) (f32 out); with extra_dq the add
 * reads dequantize(q(v)) instead, what ORT's QDQ models compute. The same weights for the
 * same seed0. */
static Graph *residual_graph(unsigned seed0, bool extra_dq)
{
    seed = seed0;
    Graph *g = ir_graph_new("qres");
    ValueId x = ir_input_new(g, "x", sup_f32(4, D(2, 3, 13, 15)), (SrcLoc){0});
    ValueId h =
        chain_layer(g, true, chain_q(g, x, 2.0 / 255, 128), 2.0 / 255, 128, 3, 8, 3, 1, 1, 1);
    const ValueId v = chain_op(g, IR_OP_MAX_POOL2D, chain_op(g, IR_OP_RELU, h));
    const ValueId vq = chain_q(g, v, 0.004, 0);
    ValueId add[2] = {chain_layer(g, true, vq, 0.004, 0, 8, 8, 3, 1, 1, 1), v};
    if (extra_dq) {
        NodeId dq = ir_node_new(g, IR_OP_DEQUANTIZE, "dq", (SrcLoc){0}, &vq, 1, 1);
        ir_node_set_float(g, dq, "scale", 0.004);
        ir_node_set_int(g, dq, "zero_point", 0);
        add[1] = g->nodes[dq].outputs[0];
    }
    NodeId a = ir_node_new(g, IR_OP_ADD, "add", (SrcLoc){0}, add, 2, 1);
    ir_output_add(g, g->nodes[a].outputs[0]);
    return g;
}

/* Residual codes: the value v above, read by a quantize node and a residual add, comes
 * from a conv through relu and max_pool2d; qchain gives the add dequantize(q(v)), so the
 * conv writes codes (u8, the pool on codes). The reference and the JIT after the pass give
 * the bytes of the reference on the graph built with that dequantize by hand. */
START_TEST(qchain_residual_codes)
{
    const unsigned seed0 = seed;
    RtTensor in[1] = {sup_input_rand(4, D(2, 3, 13, 15), &seed)};
    Diag d;
    ir_diag_init(&d);
    Graph *want = residual_graph(seed0, true), *g = residual_graph(seed0, false);
    ck_assert_msg(ir_infer_shapes(want, &d) && ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    const void *ins[1] = {in[0].data};
    void *ref[4] = {0}, *after[4] = {0};
    int64_t syms[IR_MAX_SYMS] = {0};
    ck_assert_msg(ir_eval_graph(want, ins, ref, syms, &d), "%s", ir_diag_text(&d));
    PassRunOptions ro = {.verify = true};
    ck_assert_msg(pass_pipeline_run(g, "qchain", (SrcLoc){0}, &ro, &d), "%s", ir_diag_text(&d));
    ck_assert_int_eq(count_op(g, IR_OP_DEQUANTIZE), 1);
    ck_assert_int_eq(count_op(g, IR_OP_QUANTIZE), 1); /* the input's */
    int u8_layers = 0;
    for (NodeId i = 0; i < g->n_nodes; i++)
        u8_layers += !g->nodes[i].dead && ir_node_attr_id(&g->nodes[i], IR_A_y_scale) != NULL;
    ck_assert_int_eq(u8_layers, 1);
    ck_assert_msg(ir_eval_graph(g, ins, after, syms, &d), "%s", ir_diag_text(&d));
    const size_t n = 2 * 8 * 7 * 8;
    ck_assert_msg(memcmp(ref[0], after[0], sizeof(float) * n) == 0,
                  "the rewritten graph differs from the hand-made one");
    for (int i = 0; i < 4; i++) {
        free(ref[i]);
        free(after[i]);
    }
    char msg[512];
    const int threads[] = {1, 3};
    ck_assert_msg(sup_check(g, in, threads, 2, 0.0, msg, sizeof msg), "%s", msg);
    ir_diag_fini(&d);
    free(in[0].data);
    ir_graph_free(want);
    ir_graph_free(g);
}
END_TEST

/* A clip node of v to [lo, hi]. */
static ValueId chain_clip(Graph *g, ValueId v, double lo, double hi)
{
    NodeId n = ir_node_new(g, IR_OP_CLIP, "clip", (SrcLoc){0}, &v, 1, 1);
    ir_node_set_float(g, n, "min", lo);
    ir_node_set_float(g, n, "max", hi);
    return g->nodes[n].outputs[0];
}

/* ONNX exporters write ReLU6 as Clip(0, 6) (and ReLU at times as Clip(0, inf)): a layer
 * chains through them as through relu6 and relu (act 2 and 1), bit for bit; a clip of
 * other bounds stops the chain. x -> q -> conv -> clip(0, 6) -> q -> conv -> clip(0, inf)
 * -> flatten -> q -> linear -> clip(0, 3) -> q -> linear (f32 out). */
START_TEST(qchain_clip)
{
    Graph *g = ir_graph_new("qclip");
    RtTensor in[1] = {sup_input_rand(4, D(2, 3, 13, 15), &seed)};
    ValueId x = ir_input_new(g, "x", sup_f32(4, D(2, 3, 13, 15)), (SrcLoc){0});
    ValueId h =
        chain_layer(g, true, chain_q(g, x, 2.0 / 255, 128), 2.0 / 255, 128, 3, 8, 3, 1, 1, 1);
    h = chain_clip(g, h, 0.0, 6.0);
    h = chain_layer(g, true, chain_q(g, h, 0.002, 5), 0.002, 5, 8, 6, 3, 1, 1, 1);
    h = chain_op(g, IR_OP_FLATTEN, chain_clip(g, h, 0.0, INFINITY));
    h = chain_layer(g, false, chain_q(g, h, 0.001, 0), 0.001, 0, 6 * 13 * 15, 12, 0, 0, 0, 1);
    h = chain_clip(g, h, 0.0, 3.0);
    h = chain_layer(g, false, chain_q(g, h, 0.03, 3), 0.03, 3, 12, 10, 0, 0, 0, 1);
    ir_output_add(g, h);
    check_chained(g, in, "qchain", 2 * 10, 2, 2, 0, "clip(0, 6), clip(0, inf), clip(0, 3)");
    ck_assert_int_eq(count_op(g, IR_OP_CLIP), 1);
    int64_t acts[2] = {-1, -1};
    for (NodeId i = 0, k = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == IR_OP_QCONV2D && k < 2)
            acts[k++] = ir_attr_int(&g->nodes[i], "act", 0);
    ck_assert_int_eq(acts[0], 2); /* clip(0, 6) is relu6 */
    ck_assert_int_eq(acts[1], 1); /* clip(0, inf) is relu */
    free(in[0].data);
    ir_graph_free(g);
}
END_TEST

/* qlinear after the layout pass (weights packed for vpdpbusd): the packed graph's
 * reference equals the unpacked one bit for bit, and the JIT equals the packed reference
 * (odd O and K, 1 to 64 rows, with and without bias and relu). */
START_TEST(qlinear_packed)
{
    static const int64_t shapes[][3] = {{1, 800, 500}, {7, 37, 70}, {9, 64, 16}, {64, 130, 33}};
    for (int t = 0; t < 4; t++) {
        Graph *g = ir_graph_new("qpacked");
        RtTensor in[2];
        int n_in = 0;
        add_qop(g, in, &n_in, false, shapes[t][0], shapes[t][1], 0, 0, shapes[t][2], 0, 0, 0, 1,
                t % 2 == 0, t < 2);
        Diag d;
        ir_diag_init(&d);
        ck_assert_msg(ir_infer_shapes(g, &d), "shapes: %s", ir_diag_text(&d));
        const void *ins[1] = {in[0].data};
        void *before[2], *after[2];
        int64_t syms[IR_MAX_SYMS] = {0};
        ck_assert_msg(ir_eval_graph(g, ins, before, syms, &d), "%s", ir_diag_text(&d));
        /* on CUDA (SLIMC_TEST_DEVICE=cuda) the weight stays [O, K]: passes/layout.c packs
         * only for the CPU's kernels */
        const bool cuda = sup_test_device_cuda();
        if (cuda)
            ir_graph_place_all(g, IR_DEVICE_CUDA);
        PassRunOptions ro = {.verify = true};
        ck_assert_msg(pass_pipeline_run(g, "layout", (SrcLoc){0}, &ro, &d), "%s", ir_diag_text(&d));
        int packed = 0;
        for (int i = 0; i < g->n_nodes; i++)
            packed += g->nodes[i].op == IR_OP_QLINEAR && ir_attr_w_packed(&g->nodes[i]);
        ck_assert_int_eq(packed, cuda ? 0 : 1);
        ck_assert_msg(ir_eval_graph(g, ins, after, syms, &d), "%s", ir_diag_text(&d));
        const int64_t nout = shapes[t][0] * shapes[t][2];
        ck_assert_msg(memcmp(before[0], after[0], sizeof(float) * (size_t)nout) == 0,
                      "shape %d: packed reference differs", t);
        for (int i = 0; i < 2; i++) {
            free(before[i]);
            free(after[i]);
        }
        ir_diag_fini(&d);
        char msg[512];
        const int threads[] = {1, 3};
        ck_assert_msg(sup_check(g, in, threads, 2, 0.0, msg, sizeof msg), "shape %d: %s", t, msg);
        free(in[0].data);
        ir_graph_free(g);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quant");
    TCase *k = tcase_create("kernels");
    tcase_add_test(k, qgemm_exact);
    tcase_add_test(k, qgemm_packed_exact);
    tcase_add_test(k, dyn_params_exact);
    tcase_add_test(k, qconv_exact);
    tcase_add_test(k, qdw_exact);
    tcase_add_test(k, qmaxpool_exact);
    tcase_add_test(k, quantize_rounding);
    tcase_add_test(k, calib_methods);
    suite_add_tcase(s, k);
    TCase *j = tcase_create("jit");
    tcase_set_timeout(j, 300);
    tcase_add_test(j, qops_jit);
    tcase_add_test(j, qlinear_packed);
    tcase_add_test(j, qchain_exact);
    tcase_add_test(j, qchain_concat);
    tcase_add_test(j, qchain_divide);
    tcase_add_test(j, qchain_clip);
    tcase_add_test(j, qchain_qdq_pool);
    tcase_add_test(j, qchain_residual_codes);
    suite_add_tcase(s, j);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
