/* The training step's conv kernels (runtime/kernels/conv.c, gemm.c) against plain C loops:
 * slimc_rt_conv2d_wgrad (conv2d's weight gradient: blocks of weight columns, a transposed
 * im2col per image and block of pixels, one GEMM each) over ragged sizes, strides, paddings
 * (a window partly and wholly outside the image), dilations and groups, more pixels than one
 * block (SLIMC_RT_WGRAD_PC) and more columns than one item (SLIMC_RT_WGRAD_KB), an empty
 * batch; the same bits whatever the columns are split into (the thread count's only effect);
 * and slimc_rt_gemm_strided (A through strides, as conv_transpose2d reads the weights) past
 * its row and column blocks; slimc_rt_maxpool2_grad_plane (the 2x2 stride-2 max-pool
 * gradient) bit for bit against the generic loop's semantics, with ties, NaNs, -0 and odd
 * sizes; and the forward 2x2 stride-2 max pool the same way. Run on the CPU's best
 * instruction set. Tolerance: 1e-5 of the sum of |terms| of each element (the reference
 * sums in double). */
#include "runtime/slimc_rt.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t seed = 4242u;

static float urand(void)
{
    seed = seed * 1103515245u + 12345u;
    return (float)((seed >> 8) & 0xffffff) / 16777216.0f - 0.5f;
}

static float *rand_buf(int64_t n)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    ck_assert_ptr_nonnull(p);
    for (int64_t i = 0; i < n; i++)
        p[i] = urand();
    return p;
}

typedef struct Case {
    int64_t N, C, H, W, O, G, KH, KW, SH, SW, PH, PW, DH, DW;
} Case;

static slimc_rt_conv conv_of(const Case *c)
{
    const int64_t OH = (c->H + 2 * c->PH - c->DH * (c->KH - 1) - 1) / c->SH + 1;
    const int64_t OW = (c->W + 2 * c->PW - c->DW * (c->KW - 1) - 1) / c->SW + 1;
    slimc_rt_conv s = {c->C, c->H,  c->W,  c->O,  c->C / c->G, c->O / c->G, c->KH, c->KW, OH,
                       OW,   c->SH, c->SW, c->PH, c->PW,       c->DH,       c->DW, 0};
    return s;
}

/* dw [O, CG, KH, KW] by the definition, in double; mag: the sum of |terms| of each. */
static void reference(const Case *c, const slimc_rt_conv *s, const float *x, const float *dy,
                      double *dw, double *mag)
{
    const int64_t K = s->CG * s->KH * s->KW;
    for (int64_t o = 0; o < s->O; o++) {
        const int64_t g = o / s->OG;
        for (int64_t ci = 0; ci < s->CG; ci++)
            for (int64_t kh = 0; kh < s->KH; kh++)
                for (int64_t kw = 0; kw < s->KW; kw++) {
                    double sum = 0.0, m = 0.0;
                    for (int64_t b = 0; b < c->N; b++)
                        for (int64_t oh = 0; oh < s->OH; oh++)
                            for (int64_t ow = 0; ow < s->OW; ow++) {
                                const int64_t ih = oh * s->SH - s->PH + kh * s->DH;
                                const int64_t iw = ow * s->SW - s->PW + kw * s->DW;
                                if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W)
                                    continue;
                                const double t =
                                    (double)dy[((b * s->O + o) * s->OH + oh) * s->OW + ow] *
                                    (double)
                                        x[((b * s->C + g * s->CG + ci) * s->H + ih) * s->W + iw];
                                sum += t;
                                m += fabs(t);
                            }
                    const int64_t at = o * K + (ci * s->KH + kh) * s->KW + kw;
                    dw[at] = sum;
                    mag[at] = m;
                }
    }
}

/* Runs the kernel as generated code does, items of kb columns (kb <= SLIMC_RT_WGRAD_KB). */
static void run_wgrad(const slimc_rt_conv *s, int64_t N, const float *x, const float *dy, float *dw,
                      int64_t kb)
{
    const int64_t K = s->CG * s->KH * s->KW, G = s->C / s->CG, nb = (K + kb - 1) / kb;
    float *col = malloc(sizeof(float) * SLIMC_RT_WGRAD_COL);
    ck_assert_ptr_nonnull(col);
    for (int64_t it = 0; it < G * nb; it++) {
        const int64_t k0 = it % nb * kb, k1 = k0 + kb < K ? k0 + kb : K;
        slimc_rt_conv2d_wgrad(s, N, x, dy, dw, it / nb, k0, k1, col);
    }
    free(col);
}

static void check_case(const Case *c)
{
    const slimc_rt_conv s = conv_of(c);
    const int64_t K = s.CG * s.KH * s.KW, P = s.OH * s.OW;
    ck_assert(s.OH > 0 && s.OW > 0);
    float *x = rand_buf(c->N * s.C * s.H * s.W), *dy = rand_buf(c->N * s.O * P);
    float *dw = rand_buf(s.O * K), *dw2 = rand_buf(s.O * K); /* garbage: must be overwritten */
    double *ref = malloc(sizeof(double) * (size_t)(s.O * K)),
           *mag = malloc(sizeof(double) * (size_t)(s.O * K));
    ck_assert(ref && mag);
    reference(c, &s, x, dy, ref, mag);
    const int64_t kb = K < SLIMC_RT_WGRAD_KB ? K : SLIMC_RT_WGRAD_KB;
    run_wgrad(&s, c->N, x, dy, dw, kb);
    for (int64_t i = 0; i < s.O * K; i++)
        if (!(fabs((double)dw[i] - ref[i]) <= 1e-5 * mag[i] + 1e-30))
            ck_abort_msg("N %lld C %lld %lldx%lld O %lld G %lld k %lldx%lld s %lld,%lld p "
                         "%lld,%lld d %lld,%lld: dw[%lld] = %.9g, reference %.9g",
                         (long long)c->N, (long long)c->C, (long long)c->H, (long long)c->W,
                         (long long)c->O, (long long)c->G, (long long)c->KH, (long long)c->KW,
                         (long long)c->SH, (long long)c->SW, (long long)c->PH, (long long)c->PW,
                         (long long)c->DH, (long long)c->DW, (long long)i, (double)dw[i], ref[i]);
    /* other splits of the columns (as more threads would take them): the same bits */
    const int64_t kbs[2] = {1, 7};
    for (int t = 0; t < 2; t++) {
        run_wgrad(&s, c->N, x, dy, dw2, kbs[t] < kb ? kbs[t] : kb);
        ck_assert_msg(memcmp(dw, dw2, sizeof(float) * (size_t)(s.O * K)) == 0,
                      "columns in blocks of %lld change the result", (long long)kbs[t]);
    }
    free(x), free(dy), free(dw), free(dw2), free(ref), free(mag);
}

START_TEST(wgrad_shapes)
{
    static const Case cases[] = {
        /* N  C  H   W   O  G KH KW SH SW PH PW DH DW */
        {6, 20, 12, 12, 50, 1, 5, 5, 1, 1, 0, 0, 1, 1}, /* LeNet's conv2 */
        {3, 1, 28, 28, 20, 1, 5, 5, 1, 1, 0, 0, 1, 1},  /* conv1: 576 pixels, three blocks */
        {2, 3, 7, 9, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1},     /* padding, ragged */
        {2, 4, 9, 8, 6, 2, 3, 2, 2, 1, 1, 0, 1, 1},     /* groups, stride 2 x 1 */
        {1, 3, 10, 11, 7, 1, 3, 3, 2, 3, 2, 1, 2, 1},   /* dilation, padding > 1 */
        {2, 6, 6, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1},     /* depthwise */
        {1, 2, 3, 3, 3, 1, 5, 5, 1, 1, 2, 2, 1, 1},     /* windows hanging over every side */
        {1, 1, 4, 4, 2, 1, 1, 1, 1, 1, 3, 3, 1, 1},     /* 1x1 with pixels wholly in padding */
        {2, 9, 6, 5, 4, 1, 4, 4, 1, 1, 1, 1, 1, 1},     /* K = 144: two items of columns */
        {1, 2, 20, 20, 3, 1, 1, 1, 1, 1, 0, 0, 1, 1},   /* 400 pixels, K = 2 */
        {0, 3, 5, 5, 4, 1, 3, 3, 1, 1, 0, 0, 1, 1},     /* an empty batch: zeros */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
}
END_TEST

/* C = A B with A [M, K] read as A[i * rsa + k * csa]: row-major and transposed A. */
START_TEST(gemm_strided)
{
    static const int64_t dims[][3] = {{1, 1, 1}, {7, 13, 5}, {250, 300, 17}, {121, 257, 50}};
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (int tr = 0; tr < 2; tr++) {
            const int64_t M = dims[d][0], N = dims[d][1], K = dims[d][2];
            const int64_t rsa = tr ? 1 : K, csa = tr ? M : 1, ldb = N + 3, ldc = N + 1;
            float *A = rand_buf(M * K), *B = rand_buf(K * ldb), *Cm = rand_buf(M * ldc);
            slimc_rt_gemm_strided(M, N, K, A, rsa, csa, B, ldb, Cm, ldc);
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    double sum = 0.0, m = 0.0;
                    for (int64_t k = 0; k < K; k++) {
                        const double t = (double)A[i * rsa + k * csa] * (double)B[k * ldb + j];
                        sum += t;
                        m += fabs(t);
                    }
                    ck_assert_msg(fabs((double)Cm[i * ldc + j] - sum) <= 1e-5 * m + 1e-30,
                                  "%lldx%lldx%lld tr %d: C[%lld, %lld] = %.9g, expected %.9g",
                                  (long long)M, (long long)N, (long long)K, tr, (long long)i,
                                  (long long)j, (double)Cm[i * ldc + j], sum);
                }
            free(A), free(B), free(Cm);
        }
}
END_TEST

/* The 2x2 stride-2 max-pool gradient against the first-maximum loop (NaN wins), bit for
 * bit: inputs from a few values (ties), some NaN; dy with -0; odd and even sizes. */
START_TEST(maxpool2_grad)
{
    static const int64_t sizes[][2] = {{24, 24}, {8, 8}, {7, 9}, {2, 2}, {5, 18}, {3, 3}, {1, 4}};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        const int64_t H = sizes[c][0], W = sizes[c][1], OH = H / 2, OW = W / 2;
        float *x = rand_buf(H * W), *dy = rand_buf(OH * OW + 1), *dx = rand_buf(H * W);
        float *ref = calloc((size_t)(H * W), sizeof(float));
        ck_assert_ptr_nonnull(ref);
        for (int64_t i = 0; i < H * W; i++) {
            x[i] = (float)(int)(x[i] * 6.0f); /* ties */
            if (i % 13 == 5)
                x[i] = NAN;
        }
        for (int64_t i = 0; i < OH * OW; i += 5)
            dy[i] = -0.0f;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t best = -1;
                float m = -INFINITY;
                for (int64_t kh = 0; kh < 2; kh++)
                    for (int64_t kw = 0; kw < 2; kw++) {
                        const int64_t at = (2 * oh + kh) * W + 2 * ow + kw;
                        if (best < 0 || x[at] > m || x[at] != x[at])
                            best = at, m = x[at];
                    }
                ref[best] += dy[oh * OW + ow];
            }
        slimc_rt_maxpool2_grad_plane(H, W, OH, OW, x, dy, dx);
        ck_assert_msg(memcmp(dx, ref, sizeof(float) * (size_t)(H * W)) == 0,
                      "%lldx%lld: the gradient differs from the loop's", (long long)H,
                      (long long)W);
        free(x), free(dy), free(dx), free(ref);
    }
}
END_TEST

/* max_pool2d's 2x2 stride-2 plane (slimc_rt_maxpool_plane; AVX2 has a kernel for it)
 * against the portable loop's semantics, bit for bit: -inf, then each tap in (kh, kw)
 * order replacing the maximum when greater or NaN; ties, NaNs, -inf, odd sizes. */
START_TEST(maxpool2_forward)
{
    static const int64_t sizes[][2] = {{24, 24}, {8, 8}, {7, 9}, {2, 2}, {5, 18}, {3, 3}};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        const int64_t H = sizes[c][0], W = sizes[c][1], OH = H / 2, OW = W / 2;
        const slimc_rt_conv s = {1, H, W, 1, 1, 1, 2, 2, OH, OW, 2, 2, 0, 0, 1, 1, 0};
        float *x = rand_buf(H * W), *y = rand_buf(OH * OW), *ref = rand_buf(OH * OW);
        for (int64_t i = 0; i < H * W; i++) {
            x[i] = (float)(int)(x[i] * 6.0f);
            if (i % 11 == 3)
                x[i] = NAN;
            if (i % 17 == 4)
                x[i] = -INFINITY;
        }
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                float m = -INFINITY;
                for (int64_t kh = 0; kh < 2; kh++)
                    for (int64_t kw = 0; kw < 2; kw++) {
                        const float v = x[(2 * oh + kh) * W + 2 * ow + kw];
                        m = (v > m || v != v) ? v : m;
                    }
                ref[oh * OW + ow] = m;
            }
        slimc_rt_maxpool_plane(&s, x, y);
        ck_assert_msg(memcmp(y, ref, sizeof(float) * (size_t)(OH * OW)) == 0,
                      "%lldx%lld: the pool differs from the loop's", (long long)H, (long long)W);
        free(x), free(y), free(ref);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv_wgrad");
    TCase *tc = tcase_create("kernels");
    tcase_add_test(tc, wgrad_shapes);
    tcase_add_test(tc, gemm_strided);
    tcase_add_test(tc, maxpool2_grad);
    tcase_add_test(tc, maxpool2_forward);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
