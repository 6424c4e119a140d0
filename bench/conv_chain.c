/* The fp32 conv kernels as a network runs them, one thread (bench/kernels.c times each shape
 * alone, its buffers hot in L2 across repeats; in a network the input of a layer is the
 * output of the one before, mostly in L3, and the weights stream from memory):
 *
 *   ResNet-18's 20 convs one after another, each with its own input, weights and output
 *   (46 MB of weights, more than L3): the best time of each layer over the rounds, their sum,
 *   and the best time of the whole chain;
 *   MobileNetV2's depthwise 3x3 layers, hot (best of repeats) and cold (64 MB of other data
 *   touched before each repeat).
 *
 *   cc -std=c11 -O2 -march=native -Ibuild bench/conv_chain.c -o conv_chain -lm && ./conv_chain
 *
 * (the JIT compiles with clang; gcc's code for the depthwise kernel is about half as fast).
 * SLIMC_MAX_ISA=avx2|generic caps the kernels as in generated code. */
#include "runtime/slimc_rt.h"

#include <stdio.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* one conv: C -> O channels, K x K, stride S, padding P, on an H x H image; relu after */
typedef struct {
    int64_t C, H, O, K, S, P;
} Layer;

static const Layer resnet18[] = {
    {3, 224, 64, 7, 2, 3},   {64, 56, 64, 3, 1, 1},   {64, 56, 64, 3, 1, 1},
    {64, 56, 64, 3, 1, 1},   {64, 56, 64, 3, 1, 1},   {64, 56, 128, 3, 2, 1},
    {128, 28, 128, 3, 1, 1}, {64, 56, 128, 1, 2, 0},  {128, 28, 128, 3, 1, 1},
    {128, 28, 128, 3, 1, 1}, {128, 28, 256, 3, 2, 1}, {256, 14, 256, 3, 1, 1},
    {128, 28, 256, 1, 2, 0}, {256, 14, 256, 3, 1, 1}, {256, 14, 256, 3, 1, 1},
    {256, 14, 512, 3, 2, 1}, {512, 7, 512, 3, 1, 1},  {256, 14, 512, 1, 2, 0},
    {512, 7, 512, 3, 1, 1},  {512, 7, 512, 3, 1, 1},
};
enum { NL = sizeof resnet18 / sizeof resnet18[0] };

static float *filled(size_t n, unsigned seed)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return p;
}

static void conv_chain(int rounds)
{
    slimc_rt_conv s[NL];
    float *x[NL], *w[NL], *b[NL], *y[NL];
    double flops[NL], best[NL], chain = 1e30;
    for (int l = 0; l < NL; l++) {
        const Layer *q = &resnet18[l];
        memset(&s[l], 0, sizeof s[l]);
        s[l].C = s[l].CG = q->C, s[l].O = s[l].OG = q->O, s[l].H = s[l].W = q->H;
        s[l].KH = s[l].KW = q->K, s[l].SH = s[l].SW = q->S, s[l].PH = s[l].PW = q->P;
        s[l].DH = s[l].DW = 1, s[l].ACT = SLIMC_RT_ACT_RELU;
        s[l].OH = s[l].OW = (q->H + 2 * q->P - q->K) / q->S + 1;
        x[l] = filled((size_t)(q->C * q->H * q->H), 3u + (unsigned)l);
        w[l] = filled((size_t)(q->O * q->C * q->K * q->K), 101u + (unsigned)l);
        b[l] = filled((size_t)q->O, 201u + (unsigned)l);
        y[l] = malloc(sizeof(float) * (size_t)(q->O * s[l].OH * s[l].OW));
        flops[l] = 2.0 * (double)(q->O * s[l].OH * s[l].OW * q->C * q->K * q->K);
        best[l] = 1e30;
    }
    for (int r = 0; r < rounds; r++) {
        const double t0 = now_s();
        for (int l = 0; l < NL; l++) {
            const double t1 = now_s();
            const int64_t P = s[l].OH * s[l].OW;
            for (int64_t p0 = 0; p0 < P; p0 += SLIMC_RT_CONV_PX)
                slimc_rt_conv2d_px(&s[l], x[l], w[l], b[l], y[l], p0,
                                   slimc_rt_min(P, p0 + SLIMC_RT_CONV_PX));
            const double t = now_s() - t1;
            best[l] = t < best[l] ? t : best[l];
        }
        const double t = now_s() - t0;
        chain = t < chain ? t : chain;
    }
    double sum = 0, total = 0;
    for (int l = 0; l < NL; l++) {
        const Layer *q = &resnet18[l];
        printf("resnet18 conv %2d: %3lld->%3lld %lldx%lld/%lld at %3lld  %7.3f ms %6.1f GFLOP/s\n",
               l, (long long)q->C, (long long)q->O, (long long)q->K, (long long)q->K,
               (long long)q->S, (long long)q->H, best[l] * 1e3, flops[l] / best[l] * 1e-9);
        sum += best[l], total += flops[l];
        free(x[l]), free(w[l]), free(b[l]), free(y[l]);
    }
    printf("resnet18 convs: sum of the layers' best %.3f ms (%.1f GFLOP/s); best chain %.3f ms\n",
           sum * 1e3, total / sum * 1e-9, chain * 1e3);
}

/* C depthwise 3x3 planes (pad 1, stride S, relu6) on H x H: best time of reps, the cache
 * hot, and with `flush` bytes of other data touched before each repeat */
static void depthwise(int64_t C, int64_t H, int64_t S, int reps, char *flush, size_t nflush)
{
    slimc_rt_conv s = {0};
    s.C = s.O = C, s.H = s.W = H, s.CG = s.OG = 1, s.KH = s.KW = 3, s.SH = s.SW = S;
    s.PH = s.PW = 1, s.DH = s.DW = 1, s.ACT = SLIMC_RT_ACT_RELU6;
    s.OH = s.OW = (H + 2 - 3) / S + 1;
    float *x = filled((size_t)(C * H * H), 5u), *w = filled((size_t)(C * 9), 6u);
    float *y = malloc(sizeof(float) * (size_t)(C * s.OH * s.OW));
    double best[2] = {1e30, 1e30};
    for (int cold = 0; cold < 2; cold++)
        for (int r = 0; r < reps; r++) {
            if (cold)
                for (size_t i = 0; i < nflush; i += 64)
                    flush[i]++;
            const double t0 = now_s();
            for (int64_t c = 0; c < C; c++)
                slimc_rt_dw_plane(&s, x + c * H * H, w + c * 9, 0.5f, y + c * s.OH * s.OW);
            const double t = now_s() - t0;
            best[cold] = t < best[cold] ? t : best[cold];
        }
    printf("mbv2 depthwise %3lld at %3lld/%lld: hot %.4f ms, cold %.4f ms\n", (long long)C,
           (long long)H, (long long)S, best[0] * 1e3, best[1] * 1e3);
    free(x), free(w), free(y);
}

int main(void)
{
    static const char *const isa_names[] = {"generic", "avx2", "avx512"};
    printf("conv_chain: %s, 1 thread\n", isa_names[slimc_rt_isa()]);
    conv_chain(15);
    const size_t nflush = (size_t)64 << 20;
    char *flush = calloc(nflush, 1);
    depthwise(32, 112, 1, 30, flush, nflush);
    depthwise(96, 112, 2, 30, flush, nflush);
    depthwise(144, 56, 1, 30, flush, nflush);
    depthwise(192, 28, 1, 30, flush, nflush);
    depthwise(576, 14, 1, 30, flush, nflush);
    depthwise(960, 7, 1, 30, flush, nflush);
    free(flush);
    return 0;
}
