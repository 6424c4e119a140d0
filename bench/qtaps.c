/* Micro-benchmark of the int8 conv kernels with and without the im2col panel
 * (slimc_rt_qconv_block against slimc_rt_qtaps_fill + slimc_rt_qtaps_block) on resnet18's and
 * mobilenet_v2's conv shapes, one thread, best of several runs, u8 output; "same" says the
 * two wrote the same bytes. Not a test.
 *
 *   clang-14 -std=gnu11 -O2 -Ibuild bench/qtaps.c -o qtaps -lm -lpthread && ./qtaps [1x1]
 *
 * (the flags of the JIT's kernel library). The taps column includes the copy of the input
 * (fill, also shown alone). */
#include "runtime/slimc_rt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static uint32_t seed = 1;
static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

/* A k x k conv of C -> O channels on H x H, padding pd, stride st, one group. */
static void conv(int64_t C, int64_t H, int64_t O, int64_t k, int64_t pd, int64_t st, int reps)
{
    const int64_t OH = (H + 2 * pd - k) / st + 1, P = OH * OH, T = k * k, K = C * T;
    const int64_t CG4 = (C + 3) / 4 * 4, WP = OH + (k - 1) / st, QP = OH * WP;
    const slimc_rt_conv s = {C, H, H, O, C, O, k, k, OH, OH, st, st, pd, pd, 1, 1, 0};
    slimc_rt_conv s4 = s; /* the taps kernel's: the weight's channels rounded up to 4 */
    s4.CG = CG4;
    uint8_t *x = malloc((size_t)(C * H * H)), *y = malloc((size_t)(O * P)),
            *y2 = malloc((size_t)(O * P));
    int8_t *w = malloc((size_t)(O * K)), *wt = calloc((size_t)(O * CG4 * T), 1);
    int32_t *wsum = calloc((size_t)O, sizeof(int32_t));
    float *sc = malloc(sizeof(float) * (size_t)O), *b = malloc(sizeof(float) * (size_t)O);
    for (int64_t i = 0; i < C * H * H; i++)
        x[i] = (uint8_t)(rnd() & 255);
    for (int64_t i = 0; i < O * K; i++) {
        w[i] = (int8_t)((int)(rnd() % 255) - 127);
        wsum[i / K] += w[i];
    }
    for (int64_t o = 0; o < O; o++) /* passes/qtaps.c's order */
        for (int64_t ci = 0; ci < C; ci++)
            for (int64_t t = 0; t < T; t++)
                wt[((o * (CG4 / 4) + ci / 4) * T + t) * 4 + ci % 4] = w[(o * C + ci) * T + t];
    for (int64_t o = 0; o < O; o++)
        sc[o] = 0.0001f, b[o] = 0.1f;
    const slimc_rt_qreq rq = {1.0f / 0.05f, 3, SLIMC_RT_ACT_NONE, 0.0f};
    uint8_t *col = slimc_rt_qcol_alloc(K), *xt = slimc_rt_qtaps_alloc(&s4);
    double bp = 1e99, bt = 1e99, bf = 1e99;
    for (int r = 0; r < reps; r++) {
        const double t0 = now_ms();
        for (int64_t p0 = 0; p0 < P; p0 += 64)
            slimc_rt_qconv_block(&s, x, p0, p0 + 64 < P ? p0 + 64 : P, 3, w, wsum, 0.02f, sc, b, y,
                                 &rq, col);
        const double t1 = now_ms();
        slimc_rt_qtaps_fill(&s4, x, 3, 0, OH + (k - 1) / st, xt);
        const double t2 = now_ms();
        for (int64_t q0 = 0; q0 < QP; q0 += 64)
            slimc_rt_qtaps_block(&s4, xt, q0, q0 + 64 < QP ? q0 + 64 : QP, 3, wt, wsum, 0.02f, sc,
                                 b, y2, &rq);
        const double t3 = now_ms();
        bp = t1 - t0 < bp ? t1 - t0 : bp;
        bf = t2 - t1 < bf ? t2 - t1 : bf;
        bt = t3 - t1 < bt ? t3 - t1 : bt;
    }
    printf("%lldx%lld s%lld %4lld -> %4lld %3lldx%-3lld  panel %7.4f ms  taps %7.4f ms (fill "
           "%6.4f)  taps/panel %.2f  same %d\n",
           (long long)k, (long long)k, (long long)st, (long long)C, (long long)O, (long long)H,
           (long long)H, bp, bt, bf, bt / bp, memcmp(y, y2, (size_t)(O * P)) == 0);
    free(x), free(y), free(y2), free(w), free(wt), free(wsum), free(sc), free(b), free(col);
    free(xt);
}

int main(int argc, char **argv)
{
    printf("int8 convs, 1 thread (VNNI %d)\n", slimc_rt_has_vnni());
    if (argc > 1 && !strcmp(argv[1], "1x1")) { /* mobilenet_v2's pointwise convs */
        conv(16, 112, 96, 1, 0, 1, 20);
        conv(96, 56, 24, 1, 0, 1, 20);
        conv(24, 56, 144, 1, 0, 1, 20);
        conv(144, 28, 32, 1, 0, 1, 20);
        conv(384, 14, 96, 1, 0, 1, 20);
        conv(960, 7, 320, 1, 0, 1, 20);
        return 0;
    }
    conv(3, 224, 64, 7, 3, 2, 20); /* resnet18's stem */
    conv(64, 56, 64, 3, 1, 1, 40);
    conv(128, 28, 128, 3, 1, 1, 40);
    conv(256, 14, 256, 3, 1, 1, 40);
    conv(512, 7, 512, 3, 1, 1, 40);
    conv(64, 56, 128, 3, 1, 2, 40);
    conv(128, 28, 256, 3, 1, 2, 40);
    conv(256, 14, 512, 3, 1, 2, 40);
    return 0;
}
