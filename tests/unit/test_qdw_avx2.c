/* The AVX2 int8 depthwise kernel (runtime/kernels/qdw_avx2.c) against a plain integer loop
 * of qconv2d's arithmetic: every output of every plane bit for bit, f32 and u8 out, over
 * kernel sizes 1 to 7 (square and not), strides (1,1) (2,2) (2,1) (1,2) (3,3), dilations 1
 * and 2, paddings 0 to 3 (an output grid past the padded image too), odd widths and zero
 * points. Run both directly (the AVX2 kernel, whatever else the CPU has) and through
 * slimc_rt_qdw_plane (the dispatch, whose other kernels test_quant covers). And the
 * f32 -> u8 quantize kernel that starts an int8 chain, and the int8 conv block (AVX2
 * panels here), on every path. */
#include "runtime/slimc_rt.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t seed = 12345u;

static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static float urand(void)
{
    return (float)(rnd() & 0xffffff) / 16777216.0f;
}

typedef struct Case {
    int64_t H, W, KH, KW, SH, SW, PH, PW, DH, DW;
    int64_t extra; /* output rows and columns past the usual formula (padding at the end) */
} Case;

/* The reference: taps outside the image read the zero point, acc = sum q w - zp wsum in
 * i32, then slimc_rt_qout's and slimc_rt_qstore's steps written out. */
static void reference(const Case *c, const slimc_rt_conv *s, const uint8_t *x, int32_t zp,
                      const int8_t *w, int32_t wsum, float xs, float ws, const float *bias,
                      const slimc_rt_qreq *rq, float *yf, uint8_t *yq)
{
    for (int64_t oh = 0; oh < s->OH; oh++)
        for (int64_t ow = 0; ow < s->OW; ow++) {
            int32_t acc = 0;
            for (int64_t kh = 0; kh < c->KH; kh++)
                for (int64_t kw = 0; kw < c->KW; kw++) {
                    const int64_t ih = oh * c->SH - c->PH + kh * c->DH,
                                  iw = ow * c->SW - c->PW + kw * c->DW;
                    const int32_t q =
                        (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) ? zp : x[ih * c->W + iw];
                    acc += q * (int32_t)w[kh * c->KW + kw];
                }
            acc -= zp * wsum;
            const float m = xs * ws;
            float y = (float)acc * m;
            if (bias)
                y += bias[0];
            const int64_t i = oh * s->OW + ow;
            yf[i] = y;
            if (rq->act != SLIMC_RT_ACT_NONE)
                y = y <= 0.0f ? 0.0f : (rq->act == SLIMC_RT_ACT_RELU6 && y >= 6.0f) ? 6.0f : y;
            float v = rintf(rq->div != 0.0f ? y / rq->div : y * rq->inv) + (float)rq->zp;
            v = v > 0.0f ? v : 0.0f;
            v = v < 255.0f ? v : 255.0f;
            yq[i] = (uint8_t)v;
        }
}

/* One plane of case c with random data; via: 0 the AVX2 kernel, 1 slimc_rt_qdw_plane.
 * wsum_off makes the layer's wsum differ from the weights' sum (the dispatch only). */
static void check_case(const Case *c, int via, int32_t wsum_off)
{
    const int64_t OH = (c->H + 2 * c->PH - c->DH * (c->KH - 1) - 1) / c->SH + 1 + c->extra,
                  OW = (c->W + 2 * c->PW - c->DW * (c->KW - 1) - 1) / c->SW + 1 + c->extra;
    if (OH <= 0 || OW <= 0)
        return;
    const slimc_rt_conv s = {1,  c->H,  c->W,  1,     1,     1,     c->KH, c->KW, OH,
                             OW, c->SH, c->SW, c->PH, c->PW, c->DH, c->DW, 0};
    const int64_t n = c->H * c->W, P = OH * OW, K = c->KH * c->KW;
    uint8_t *x = malloc((size_t)n), *qo = malloc((size_t)P), *qr = malloc((size_t)P);
    int8_t *w = malloc((size_t)K);
    float *fo = malloc(sizeof(float) * (size_t)P), *fr = malloc(sizeof(float) * (size_t)P);
    ck_assert(x && qo && qr && w && fo && fr);
    const int32_t zp = (rnd() & 3) == 0 ? 0 : (int32_t)(rnd() & 255);
    for (int64_t i = 0; i < n; i++)
        x[i] = (uint8_t)(rnd() & 255);
    int32_t wsum = 0;
    for (int64_t i = 0; i < K; i++) {
        w[i] = (int8_t)((int)(rnd() % 256) - 128);
        wsum += w[i];
    }
    if (K > 1 && (rnd() & 7) == 0) { /* the extremes: products at their largest */
        for (int64_t i = 0; i < K; i++) {
            w[i] = -128;
            x[rnd() % (uint32_t)n] = 255;
        }
        wsum = -128 * (int32_t)K;
    }
    wsum += wsum_off;
    const float xs = 0.02f, ws = 0.001f + 0.01f * urand(), b = urand() - 0.5f;
    const bool has_bias = rnd() & 1;
    const int act = (int)(rnd() % 3);
    const float ys = 0.05f + 0.2f * urand();
    const bool divide = rnd() & 1;
    const slimc_rt_qreq rq = {divide ? 0.0f : 1.0f / ys, (int32_t)(rnd() & 255), act,
                              divide ? ys : 0.0f};
    const float *bias = has_bias ? &b : NULL;
    reference(c, &s, x, zp, w, wsum, xs, ws, bias, &rq, fr, qr);
    if (via == 0) {
#ifdef SLIMC_RT_X86
        ck_assert(slimc_rt_qdw_plane_avx2(&s, x, zp, w, 0, xs, ws, bias, 0, fo, NULL));
        ck_assert(slimc_rt_qdw_plane_avx2(&s, x, zp, w, 0, xs, ws, bias, 0, qo, &rq));
#endif
    } else {
        slimc_rt_qdw_plane(&s, x, zp, w, wsum, xs, ws, bias, 0, fo, NULL);
        slimc_rt_qdw_plane(&s, x, zp, w, wsum, xs, ws, bias, 0, qo, &rq);
    }
    for (int64_t i = 0; i < P; i++) {
        ck_assert_msg(fo[i] == fr[i],
                      "%s H%lld W%lld k%lldx%lld s%lldx%lld p%lldx%lld d%lldx%lld +%lld [%lld]: "
                      "%.9g != %.9g",
                      via ? "plane" : "avx2", (long long)c->H, (long long)c->W, (long long)c->KH,
                      (long long)c->KW, (long long)c->SH, (long long)c->SW, (long long)c->PH,
                      (long long)c->PW, (long long)c->DH, (long long)c->DW, (long long)c->extra,
                      (long long)i, (double)fo[i], (double)fr[i]);
        ck_assert_msg(qo[i] == qr[i],
                      "%s u8 H%lld W%lld k%lldx%lld s%lldx%lld p%lldx%lld d%lldx%lld [%lld]: "
                      "%d != %d",
                      via ? "plane" : "avx2", (long long)c->H, (long long)c->W, (long long)c->KH,
                      (long long)c->KW, (long long)c->SH, (long long)c->SW, (long long)c->PH,
                      (long long)c->PW, (long long)c->DH, (long long)c->DW, (long long)i, qo[i],
                      qr[i]);
    }
    free(x);
    free(qo);
    free(qr);
    free(w);
    free(fo);
    free(fr);
}

static const int64_t strides[][2] = {{1, 1}, {2, 2}, {2, 1}, {1, 2}, {3, 3}};
static const int64_t sizes[][2] = {{1, 1}, {5, 7}, {9, 13}, {12, 33}, {7, 67}, {20, 41}};

static void sweep(int via)
{
    for (int64_t k = 3; k <= 7; k += 2)
        for (size_t si = 0; si < sizeof strides / sizeof strides[0]; si++)
            for (int64_t d = 1; d <= 2; d++)
                for (int64_t p = 0; p <= k / 2 + 1; p++)
                    for (size_t zi = 0; zi < sizeof sizes / sizeof sizes[0]; zi++) {
                        const Case c = {sizes[zi][0],
                                        sizes[zi][1],
                                        k,
                                        k,
                                        strides[si][0],
                                        strides[si][1],
                                        p,
                                        p,
                                        d,
                                        d,
                                        (int64_t)(rnd() % 3 == 0)};
                        check_case(&c, via, 0);
                    }
    /* not square: 1x5, 5x1, 1x1, 2x4, 7x3 with mixed strides and dilations */
    static const Case odd[] = {
        {9, 37, 1, 5, 1, 1, 0, 2, 1, 1, 0},  {9, 37, 5, 1, 2, 1, 2, 0, 1, 1, 0},
        {6, 35, 1, 1, 1, 1, 0, 0, 1, 1, 0},  {6, 35, 1, 1, 2, 2, 0, 0, 1, 1, 0},
        {8, 31, 2, 4, 1, 2, 1, 1, 1, 1, 1},  {11, 29, 7, 3, 2, 1, 3, 1, 1, 2, 0},
        {11, 45, 3, 5, 1, 1, 1, 4, 2, 1, 0}, {16, 70, 5, 5, 2, 1, 2, 2, 1, 1, 0},
        {16, 70, 5, 5, 1, 1, 2, 2, 1, 1, 0}, {13, 100, 7, 7, 1, 3, 3, 3, 1, 3, 0},
        {4, 300, 3, 3, 1, 1, 1, 1, 1, 1, 0}, {3, 1, 3, 3, 1, 1, 1, 1, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        check_case(&odd[i], via, 0);
}

START_TEST(qdw_avx2_exact)
{
#ifdef SLIMC_RT_X86
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("qdw_avx2_exact: no AVX2 on this CPU, skipped\n");
        return;
    }
    sweep(0);
#endif
}
END_TEST

START_TEST(qdw_plane_exact)
{
    sweep(1);
    /* a hand-written layer whose wsum is not the weights' sum */
    const Case c = {10, 23, 5, 5, 2, 1, 2, 2, 1, 1, 0};
    check_case(&c, 1, 7);
    check_case(&c, 1, -300000);
}
END_TEST

/* A plane wider than the kernel's stack ring: the heap buffer. */
START_TEST(qdw_avx2_wide)
{
#ifndef SLIMC_RT_X86
    return;
#else
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return;
#endif
    const Case a = {9, 3001, 7, 7, 1, 1, 3, 3, 1, 1, 0};
    check_case(&a, 0, 0);
    const Case b = {9, 2999, 5, 5, 2, 1, 2, 2, 2, 2, 0};
    check_case(&b, 0, 0);
}
END_TEST

/* slimc_rt_qconv_block (AVX2 panels on this kind of CPU, VNNI or AMX elsewhere) on one
 * group of CG channels x KH x KW taps, blocks of 64 pixels, against an integer loop; random
 * scales and bias, f32 and u8 out. Small K first (a network's first layer, lenet's). */
static void check_qconv(int64_t CG, int64_t H, int64_t W, int64_t OG, int64_t KH, int64_t KW,
                        int64_t SH, int64_t SW, int64_t PD, int64_t DL)
{
    const int64_t OH = (H + 2 * PD - DL * (KH - 1) - 1) / SH + 1,
                  OW = (W + 2 * PD - DL * (KW - 1) - 1) / SW + 1, P = OH * OW, K = CG * KH * KW;
    const slimc_rt_conv s = {CG, H, W, OG, CG, OG, KH, KW, OH, OW, SH, SW, PD, PD, DL, DL, 0};
    uint8_t *x = malloc((size_t)(CG * H * W)), *qo = malloc((size_t)(OG * P));
    int8_t *w = malloc((size_t)(OG * K));
    int32_t *wsum = calloc((size_t)OG, sizeof(int32_t));
    float *ws = malloc(sizeof(float) * (size_t)OG), *b = malloc(sizeof(float) * (size_t)OG);
    float *fo = malloc(sizeof(float) * (size_t)(OG * P));
    uint8_t *col = slimc_rt_qcol_alloc(K);
    ck_assert(x && qo && w && wsum && ws && b && fo && col);
    const int32_t zp = (int32_t)(rnd() & 255);
    for (int64_t i = 0; i < CG * H * W; i++)
        x[i] = (uint8_t)(rnd() & 255);
    for (int64_t i = 0; i < OG * K; i++) {
        w[i] = (int8_t)((int)(rnd() % 256) - 128);
        wsum[i / K] += w[i];
    }
    for (int64_t o = 0; o < OG; o++) {
        ws[o] = 0.0005f + 0.002f * urand();
        b[o] = urand() - 0.5f;
    }
    const float xs = 0.03f;
    const slimc_rt_qreq rq = {1.0f / 0.07f, (int32_t)(rnd() & 255), SLIMC_RT_ACT_RELU, 0.0f};
    const float *bias = (rnd() & 1) ? b : NULL;
    for (int64_t p0 = 0; p0 < P; p0 += 64) {
        const int64_t p1 = p0 + 64 < P ? p0 + 64 : P;
        slimc_rt_qconv_block(&s, x, p0, p1, zp, w, wsum, xs, ws, bias, fo, NULL, col);
        slimc_rt_qconv_block(&s, x, p0, p1, zp, w, wsum, xs, ws, bias, qo, &rq, col);
    }
    for (int64_t o = 0; o < OG; o++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int32_t acc = 0;
                for (int64_t c = 0; c < CG; c++)
                    for (int64_t kh = 0; kh < KH; kh++)
                        for (int64_t kw = 0; kw < KW; kw++) {
                            const int64_t ih = oh * SH - PD + kh * DL, iw = ow * SW - PD + kw * DL;
                            const int32_t q = (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                                  ? zp
                                                  : x[(c * H + ih) * W + iw];
                            acc += (q - zp) * w[((o * CG + c) * KH + kh) * KW + kw];
                        }
                float y = (float)acc * (xs * ws[o]);
                if (bias)
                    y += bias[o];
                const int64_t i = o * P + oh * OW + ow;
                ck_assert_msg(fo[i] == y, "qconv CG%lld k%lldx%lld OG%lld [%lld]: %.9g != %.9g",
                              (long long)CG, (long long)KH, (long long)KW, (long long)OG,
                              (long long)i, (double)fo[i], (double)y);
                y = y <= 0.0f ? 0.0f : y;
                float v = rintf(y * rq.inv) + (float)rq.zp;
                v = v > 0.0f ? v : 0.0f;
                v = v < 255.0f ? v : 255.0f;
                ck_assert_msg(qo[i] == (uint8_t)v,
                              "qconv u8 CG%lld k%lldx%lld OG%lld [%lld]: %d != %d", (long long)CG,
                              (long long)KH, (long long)KW, (long long)OG, (long long)i, qo[i],
                              (int)(uint8_t)v);
            }
    free(x);
    free(qo);
    free(w);
    free(wsum);
    free(ws);
    free(b);
    free(fo);
    free(col);
}

START_TEST(qconv_block_exact)
{
    check_qconv(3, 17, 23, 16, 3, 3, 2, 2, 1, 1); /* a first layer: K = 27 */
    check_qconv(1, 28, 28, 20, 5, 5, 1, 1, 0, 1); /* lenet's conv1: K = 25 */
    check_qconv(20, 12, 12, 50, 5, 5, 1, 1, 0, 1);
    check_qconv(1, 9, 13, 5, 1, 1, 1, 1, 0, 1); /* K = 1, 2, 3, 5: partial quads */
    check_qconv(2, 9, 13, 7, 1, 1, 1, 1, 0, 1);
    check_qconv(3, 9, 13, 6, 1, 1, 1, 1, 0, 1);
    check_qconv(5, 7, 11, 3, 1, 1, 2, 1, 0, 1);
    check_qconv(4, 15, 21, 9, 3, 3, 2, 1, 1, 2); /* stride (2,1), dilation 2 */
    check_qconv(6, 11, 30, 10, 1, 7, 1, 2, 3, 1);
    check_qconv(96, 8, 9, 40, 1, 1, 1, 1, 0, 1);
    check_qconv(3, 9, 101, 8, 3, 3, 2, 2, 1, 1); /* stride 2 runs of 32: the vector gather */
    check_qconv(2, 6, 130, 5, 5, 5, 2, 2, 2, 1);
}
END_TEST

/* slimc_rt_quantize_u8 (the input of an int8 chain; AVX2 32 values a step, then the
 * scalar tail) against the scalar formula: halves to even, the zero point, the clamps,
 * NaN to 0, infinities, at every position of a step and in the tail. */
START_TEST(quantize_u8_exact)
{
    enum { N = 32 * 6 + 7 };
    static const float special[] = {0.5f,  1.5f,     2.5f,      -0.5f, -1.5f, 1000.0f, -1000.0f,
                                    NAN,   INFINITY, -INFINITY, 0.0f,  -0.0f, 3.49f,   127.5f,
                                    -2.5f, 254.5f,   -10.5f,    1e30f, -1e30f};
    const int ns = (int)(sizeof special / sizeof special[0]);
    float x[N];
    uint8_t q[N];
    for (int zp = 0; zp <= 255; zp += 85)
        for (int rep = 0; rep < 4; rep++) {
            for (int i = 0; i < N; i++)
                x[i] = (rnd() & 1) ? special[(i + rep) % ns] : (urand() - 0.5f) * 600.0f;
            const float inv = rep == 3 ? 0.37f : 1.0f;
            slimc_rt_quantize_u8(x, q, N, inv, zp);
            for (int i = 0; i < N; i++) {
                float v = rintf(x[i] * inv) + (float)zp;
                v = v > 0.0f ? v : 0.0f;
                v = v < 255.0f ? v : 255.0f;
                ck_assert_msg(q[i] == (uint8_t)v, "quantize [%d] x=%g zp=%d: %d != %d", i,
                              (double)x[i], zp, q[i], (int)(uint8_t)v);
            }
        }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qdw_avx2");
    TCase *k = tcase_create("kernels");
    tcase_add_test(k, qdw_avx2_exact);
    tcase_add_test(k, qdw_plane_exact);
    tcase_add_test(k, qdw_avx2_wide);
    tcase_add_test(k, quantize_u8_exact);
    tcase_add_test(k, qconv_block_exact);
    suite_add_tcase(s, k);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    const int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
