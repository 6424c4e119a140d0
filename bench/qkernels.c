/* Micro-benchmark of the int8 convolution kernels (runtime/slimc_rt.h) against the fp32
 * ones on the same shapes, one thread, best of several runs. Not a test.
 *
 *   clang-14 -std=gnu11 -O2 -Ibuild bench/qkernels.c -o qk -lm -lpthread && ./qk
 *
 * (the flags of the JIT's kernel library). Columns: int8 as dispatched now
 * (slimc_rt_qdw_plane / slimc_rt_qconv_block), the paths AVX2 CPUs ran before
 * (rows: the depthwise loop slimc_rt_qdw_plane_c / im2col rows + slimc_rt_qgemm), fp32
 * (slimc_rt_dw_plane / slimc_rt_conv2d_px), and int8 / fp32. SLIMC_MAX_ISA caps the
 * kernels as in generated code. */
#include "runtime/slimc_rt.h"

#include <stdio.h>
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

static void report(const char *name, const char *shape, double i8, double old, double f32)
{
    printf("%-9s %-34s int8 %8.4f ms  before %8.4f ms  fp32 %8.4f ms  int8/fp32 %.2f\n", name,
           shape, i8, old, f32, i8 / f32);
}

/* C channels of H x W, a k x k depthwise kernel, stride (sh, sw), padding k / 2. */
static void dw(const char *name, int64_t C, int64_t H, int64_t W, int64_t k, int64_t sh, int64_t sw)
{
    const int64_t pd = k / 2, OH = (H + 2 * pd - k) / sh + 1, OW = (W + 2 * pd - k) / sw + 1,
                  P = OH * OW;
    const slimc_rt_conv s = {C, H, W, C, 1, 1, k, k, OH, OW, sh, sw, pd, pd, 1, 1, 0};
    uint8_t *x = malloc((size_t)(C * H * W));
    int8_t *w = malloc((size_t)(C * k * k));
    float *xf = malloc(sizeof(float) * (size_t)(C * H * W)),
          *wf = malloc(sizeof(float) * (size_t)(C * k * k)),
          *y = malloc(sizeof(float) * (size_t)(C * P));
    for (int64_t i = 0; i < C * H * W; i++)
        xf[i] = x[i] = (uint8_t)(rnd() & 255);
    for (int64_t i = 0; i < C * k * k; i++)
        wf[i] = w[i] = (int8_t)((int)(rnd() % 255) - 127);
    double bi = 1e99, bo = 1e99, bf = 1e99;
    for (int r = 0; r < 20; r++) {
        const double t0 = now_ms();
        for (int64_t c = 0; c < C; c++)
            slimc_rt_qdw_plane(&s, x + c * H * W, 3, w + c * k * k, 0, 0.02f, 0.01f, NULL, 0,
                               y + c * P, NULL);
        const double t1 = now_ms();
        for (int64_t c = 0; c < C; c++)
            slimc_rt_qdw_plane_c(&s, x + c * H * W, 3, w + c * k * k, 0, 0.02f, 0.01f, NULL, 0,
                                 y + c * P, NULL);
        const double t2 = now_ms();
        for (int64_t c = 0; c < C; c++)
            slimc_rt_dw_plane(&s, xf + c * H * W, wf + c * k * k, 0.1f, y + c * P);
        const double t3 = now_ms();
        bi = t1 - t0 < bi ? t1 - t0 : bi;
        bo = t2 - t1 < bo ? t2 - t1 : bo;
        bf = t3 - t2 < bf ? t3 - t2 : bf;
    }
    char shape[64];
    snprintf(shape, sizeof shape, "dw %lldx%lld s(%lld,%lld) %lldx%lldx%lld", (long long)k,
             (long long)k, (long long)sh, (long long)sw, (long long)C, (long long)H, (long long)W);
    report(name, shape, bi, bo, bf);
    free(x), free(w), free(xf), free(wf), free(y);
}

/* A k x k conv of C -> O channels on H x H, stride st, padding pd, one group. */
static void conv(const char *name, int64_t C, int64_t H, int64_t O, int64_t k, int64_t st,
                 int64_t pd)
{
    const int64_t OH = (H + 2 * pd - k) / st + 1, P = OH * OH, K = C * k * k;
    const slimc_rt_conv s = {C, H, H, O, C, O, k, k, OH, OH, st, st, pd, pd, 1, 1, 0};
    uint8_t *x = malloc((size_t)(C * H * H)), *rows = malloc((size_t)(64 * K));
    int8_t *w = malloc((size_t)(O * K));
    int32_t *wsum = calloc((size_t)O, sizeof(int32_t));
    float *sc = malloc(sizeof(float) * (size_t)O), *b = malloc(sizeof(float) * (size_t)O),
          *y = malloc(sizeof(float) * (size_t)(O * P)),
          *xf = malloc(sizeof(float) * (size_t)(C * H * H)),
          *wf = malloc(sizeof(float) * (size_t)(O * K));
    for (int64_t i = 0; i < C * H * H; i++)
        xf[i] = x[i] = (uint8_t)(rnd() & 255);
    for (int64_t i = 0; i < O * K; i++) {
        wf[i] = w[i] = (int8_t)((int)(rnd() % 255) - 127);
        wsum[i / K] += w[i];
    }
    for (int64_t o = 0; o < O; o++)
        sc[o] = 0.01f, b[o] = 0.1f;
    uint8_t *col = slimc_rt_qcol_alloc(K);
    double bi = 1e99, bo = 1e99, bf = 1e99;
    for (int r = 0; r < 30; r++) {
        const double t0 = now_ms();
        for (int64_t p0 = 0; p0 < P; p0 += 64)
            slimc_rt_qconv_block(&s, x, p0, p0 + 64 < P ? p0 + 64 : P, 3, w, wsum, 0.02f, sc, b, y,
                                 NULL, col);
        const double t1 = now_ms();
        for (int64_t p0 = 0; p0 < P; p0 += 64) {
            const int64_t p1 = p0 + 64 < P ? p0 + 64 : P;
            slimc_rt_qim2col(&s, x, p0, p1, 3, rows);
            slimc_rt_qgemm(p1 - p0, O, K, rows, K, w, K, 3, wsum, 0.02f, sc, b, y + p0, NULL, 1, P);
        }
        const double t2 = now_ms();
        for (int64_t p0 = 0; p0 < P; p0 += SLIMC_RT_CONV_PX)
            slimc_rt_conv2d_px(&s, xf, wf, b, y, p0,
                               p0 + SLIMC_RT_CONV_PX < P ? p0 + SLIMC_RT_CONV_PX : P);
        const double t3 = now_ms();
        bi = t1 - t0 < bi ? t1 - t0 : bi;
        bo = t2 - t1 < bo ? t2 - t1 : bo;
        bf = t3 - t2 < bf ? t3 - t2 : bf;
    }
    char shape[64];
    snprintf(shape, sizeof shape, "%lldx%lld s%lld %lld->%lld %lldx%lld (K=%lld)", (long long)k,
             (long long)k, (long long)st, (long long)C, (long long)O, (long long)H, (long long)H,
             (long long)K);
    report(name, shape, bi, bo, bf);
    free(x), free(rows), free(w), free(wsum), free(sc), free(b), free(y), free(xf), free(wf);
    free(col);
}

int main(void)
{
    printf("int8 kernels, 1 thread (ISA level %d: 0 generic, 1 avx2, 2 avx512; VNNI %d)\n",
           slimc_rt_isa(), slimc_rt_has_vnni());
    dw("ocr", 96, 80, 80, 5, 1, 1);
    dw("ocr", 96, 80, 80, 5, 2, 1);
    dw("mbv2", 96, 56, 56, 3, 1, 1);
    dw("mbv2", 144, 56, 56, 3, 2, 2);
    dw("7x7", 64, 56, 56, 7, 1, 1);
    conv("lenet", 1, 28, 20, 5, 1, 0);
    conv("lenet", 20, 12, 50, 5, 1, 0);
    conv("first", 3, 224, 32, 3, 2, 1);
    conv("mbv2", 32, 112, 16, 1, 1, 0);
    conv("mbv2", 96, 56, 24, 1, 1, 0);
    conv("resnet18", 64, 56, 64, 3, 1, 1);
    return 0;
}
