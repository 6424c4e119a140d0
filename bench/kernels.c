/* Micro-benchmark of the runtime's fp32 kernels (runtime/slimc_rt.h) on the shapes of the
 * sample and reference models, one thread. Not a test; see bench/kernels.sh.
 *
 *   cc -O2 -march=native -I. bench/kernels.c -o kbench -lm -lpthread && ./kbench
 *
 * SLIMC_MAX_ISA=avx2|generic caps the kernels as in generated code. Each line: shape,
 * GFLOP/s (2 flops per multiply-add), best time of several runs, and the largest error
 * against a naive double-precision reference relative to max|ref|. */
#include "runtime/slimc_rt.h"

#include <stdio.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *rnd(size_t n, unsigned *seed)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return p;
}

static double rel_err(const float *a, const double *ref, size_t n)
{
    double mx = 0, e = 0;
    for (size_t i = 0; i < n; i++) {
        mx = fabs(ref[i]) > mx ? fabs(ref[i]) : mx;
        e = fabs(a[i] - ref[i]) > e ? fabs(a[i] - ref[i]) : e;
    }
    return mx > 0 ? e / mx : e;
}

/* best of `reps` timings of the fn over the item range */
#define TIME_BEST(reps, ...)                                                                       \
    do {                                                                                           \
        best = 1e30;                                                                               \
        for (int r_ = 0; r_ < (reps); r_++) {                                                      \
            double t0_ = now_s();                                                                  \
            __VA_ARGS__;                                                                           \
            double t_ = now_s() - t0_;                                                             \
            best = t_ < best ? t_ : best;                                                          \
        }                                                                                          \
    } while (0)

static void bench_linear(const char *name, int64_t M, int64_t N, int64_t K, int reps)
{
    unsigned seed = 1;
    float *A = rnd((size_t)(M * K), &seed), *B = rnd((size_t)(K * N), &seed),
          *bias = rnd((size_t)N, &seed);
    float *C = malloc(sizeof(float) * (size_t)(M * N));
    double *ref = malloc(sizeof(double) * (size_t)(M * N));
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = bias[j];
            for (int64_t k = 0; k < K; k++)
                s += (double)A[i * K + k] * B[k * N + j];
            ref[i * N + j] = s;
        }
    const int64_t items = slimc_rt_gemm_items(M, N);
    double best;
    TIME_BEST(
        reps, for (int64_t it = 0; it < items; it++) {
            int64_t m0, mc, n0, nc;
            slimc_rt_gemm_tile(M, N, K, A, B, 0, bias, C, it, &m0, &mc, &n0, &nc);
        });
    printf("%-34s %8.1f GFLOP/s %9.4f ms  err %.1e\n", name,
           2.0 * (double)(M * N * K) / best * 1e-9, best * 1e3, rel_err(C, ref, (size_t)(M * N)));
    free(A), free(B), free(bias), free(C), free(ref);
}

/* The three layers of the MLP sample at batch 1 in a row: 2.7 MB of weights, more than
 * the L2 cache, so they stream from L3 as in the end-to-end run. */
static void bench_mlp_b1(int reps)
{
    static const int64_t dims[4] = {784, 512, 512, 10};
    unsigned seed = 3;
    float *w[3], *b[3], *h[4];
    h[0] = rnd(784, &seed);
    for (int l = 0; l < 3; l++) {
        w[l] = rnd((size_t)(dims[l] * dims[l + 1]), &seed);
        b[l] = rnd((size_t)dims[l + 1], &seed);
        h[l + 1] = malloc(sizeof(float) * (size_t)dims[l + 1]);
    }
    double best;
    TIME_BEST(
        reps, for (int l = 0; l < 3; l++) {
            const int64_t items = slimc_rt_gemm_items(1, dims[l + 1]);
            for (int64_t it = 0; it < items; it++) {
                int64_t m0, mc, n0, nc;
                slimc_rt_gemm_tile(1, dims[l + 1], dims[l], h[l], w[l], 0, b[l], h[l + 1], it, &m0,
                                   &mc, &n0, &nc);
            }
        });
    printf("%-34s %8.1f GFLOP/s %9.4f ms\n", "mlp b1, 3 layers",
           2.0 * (784 * 512 + 512 * 512 + 5120) / best * 1e-9, best * 1e3);
    for (int l = 0; l < 3; l++)
        free(w[l]), free(b[l]), free(h[l + 1]);
    free(h[0]);
}

static void bench_conv(const char *name, int64_t Nb, int64_t C, int64_t H, int64_t O, int64_t KS,
                       int64_t S, int64_t P, int64_t groups, int reps)
{
    slimc_rt_conv s = {0};
    s.C = C, s.H = H, s.W = H, s.O = O, s.CG = C / groups, s.OG = O / groups, s.KH = s.KW = KS;
    s.SH = s.SW = S, s.PH = s.PW = P, s.DH = s.DW = 1;
    s.OH = s.OW = (H + 2 * P - KS) / S + 1;
    const int64_t PX = s.OH * s.OW, Kt = s.CG * KS * KS;
    unsigned seed = 2;
    float *x = rnd((size_t)(Nb * C * H * H), &seed), *w = rnd((size_t)(O * Kt), &seed),
          *bias = rnd((size_t)O, &seed);
    float *y = malloc(sizeof(float) * (size_t)(Nb * O * PX));
    double *ref = malloc(sizeof(double) * (size_t)(Nb * O * PX));
    for (int64_t b = 0; b < Nb; b++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t p = 0; p < PX; p++) {
                const int64_t oh = p / s.OW, ow = p % s.OW, g = o / s.OG;
                double acc = bias[o];
                for (int64_t c = 0; c < s.CG; c++)
                    for (int64_t kh = 0; kh < KS; kh++)
                        for (int64_t kw = 0; kw < KS; kw++) {
                            const int64_t ih = oh * S - P + kh, iw = ow * S - P + kw;
                            if (ih >= 0 && ih < H && iw >= 0 && iw < H)
                                acc += (double)w[(o * s.CG + c) * KS * KS + kh * KS + kw] *
                                       x[((b * C + g * s.CG + c) * H + ih) * H + iw];
                        }
                ref[(b * O + o) * PX + p] = acc;
            }
    const int64_t pt = (PX + SLIMC_RT_CONV_PX - 1) / SLIMC_RT_CONV_PX;
    double best;
    TIME_BEST(
        reps, for (int64_t it = 0; it < Nb * pt; it++) {
            const int64_t b = it / pt, p0 = it % pt * SLIMC_RT_CONV_PX;
            slimc_rt_conv2d_px(&s, x + b * C * H * H, w, bias, y + b * O * PX, p0,
                               slimc_rt_min(PX, p0 + SLIMC_RT_CONV_PX));
        });
    printf("%-34s %8.1f GFLOP/s %9.4f ms  err %.1e\n", name,
           2.0 * (double)(Nb * O * PX * Kt) / best * 1e-9, best * 1e3,
           rel_err(y, ref, (size_t)(Nb * O * PX)));
    free(x), free(w), free(bias), free(y), free(ref);
}

/* A depthwise conv (C planes of one image) through slimc_rt_dw_plane. */
static void bench_dw(const char *name, int64_t C, int64_t H, int64_t S, int reps)
{
    slimc_rt_conv s = {0};
    s.C = s.O = C, s.H = s.W = H, s.CG = s.OG = 1, s.KH = s.KW = 3, s.SH = s.SW = S,
    s.PH = s.PW = 1;
    s.DH = s.DW = 1, s.OH = s.OW = (H + 2 - 3) / S + 1;
    unsigned seed = 4;
    float *x = rnd((size_t)(C * H * H), &seed), *w = rnd((size_t)(C * 9), &seed);
    float *y = malloc(sizeof(float) * (size_t)(C * s.OH * s.OW));
    double best;
    TIME_BEST(reps, for (int64_t c = 0; c < C; c++)
                        slimc_rt_dw_plane(&s, x + c * H * H, w + c * 9, 0.5f, y + c * s.OH * s.OW));
    printf("%-34s %8.1f GFLOP/s %9.4f ms\n", name,
           2.0 * (double)(C * s.OH * s.OW * 9) / best * 1e-9, best * 1e3);
    free(x), free(w), free(y);
}

int main(void)
{
    static const char *const isa_names[] = {"generic", "avx2", "avx512"};
    printf("kernels: %s, 1 thread\n", isa_names[slimc_rt_isa()]);
    bench_mlp_b1(2000);
    bench_linear("mlp fc1 b1 784->512", 1, 512, 784, 2000);
    bench_linear("mlp fc2 b1 512->512", 1, 512, 512, 2000);
    bench_linear("mlp fc3 b1 512->10", 1, 10, 512, 2000);
    bench_linear("mlp fc1 b64 784->512", 64, 512, 784, 200);
    bench_linear("mlp fc2 b64 512->512", 64, 512, 512, 200);
    bench_linear("lenet fc1 b1 800->500", 1, 500, 800, 2000);
    bench_linear("lenet fc1 b64 800->500", 64, 500, 800, 200);
    bench_linear("gemm 512x512x512", 512, 512, 512, 20);
    bench_conv("lenet conv1 b1 1->20 5x5 28", 1, 1, 28, 20, 5, 1, 0, 1, 2000);
    bench_conv("lenet conv2 b1 20->50 5x5 12", 1, 20, 12, 50, 5, 1, 0, 1, 2000);
    bench_conv("lenet conv1 b64", 64, 1, 28, 20, 5, 1, 0, 1, 20);
    bench_conv("lenet conv2 b64", 64, 20, 12, 50, 5, 1, 0, 1, 20);
    bench_conv("resnet stem 3->64 7x7/2 224", 1, 3, 224, 64, 7, 2, 3, 1, 20);
    bench_conv("resnet 64->64 3x3 56", 1, 64, 56, 64, 3, 1, 1, 1, 20);
    bench_conv("resnet 64->128 3x3/2 56", 1, 64, 56, 128, 3, 2, 1, 1, 20);
    bench_conv("resnet 128->128 3x3 28", 1, 128, 28, 128, 3, 1, 1, 1, 20);
    bench_conv("resnet 256->256 3x3 14", 1, 256, 14, 256, 3, 1, 1, 1, 20);
    bench_conv("resnet 512->512 3x3 7", 1, 512, 7, 512, 3, 1, 1, 1, 20);
    bench_conv("resnet down 64->128 1x1/2 56", 1, 64, 56, 128, 1, 2, 0, 1, 20);
    bench_conv("resnet down 256->512 1x1/2 14", 1, 256, 14, 512, 1, 2, 0, 1, 20);
    bench_conv("mbv2 1x1 32->192 56", 1, 32, 56, 192, 1, 1, 0, 1, 20);
    bench_conv("mbv2 1x1 192->32 56", 1, 192, 56, 32, 1, 1, 0, 1, 20);
    bench_conv("mbv2 1x1 960->160 7", 1, 960, 7, 160, 1, 1, 0, 1, 20);
    bench_conv("mbv2 1x1 16->96 112", 1, 16, 112, 96, 1, 1, 0, 1, 20);
    bench_conv("mbv2 1x1 24->144 56", 1, 24, 56, 144, 1, 1, 0, 1, 20);
    bench_conv("mbv2 1x1 144->24 56", 1, 144, 56, 24, 1, 1, 0, 1, 20);
    bench_conv("mbv2 1x1 64->384 14", 1, 64, 14, 384, 1, 1, 0, 1, 20);
    bench_conv("mbv2 1x1 384->64 14", 1, 384, 14, 64, 1, 1, 0, 1, 20);
    bench_conv("mbv2 1x1 320->1280 7", 1, 320, 7, 1280, 1, 1, 0, 1, 20);
    bench_dw("mbv2 dw 96 3x3/2 112", 96, 112, 2, 50);
    bench_dw("mbv2 dw 144 3x3 56", 144, 56, 1, 50);
    bench_dw("mbv2 dw 960 3x3 7", 960, 7, 1, 50);
    bench_dw("mbv2 dw 32 3x3 112", 32, 112, 1, 50);
    bench_dw("mbv2 dw 576 3x3 14", 576, 14, 1, 50);
    return 0;
}
