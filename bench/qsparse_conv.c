/* Micro-benchmark of the int8 block-sparse conv (slimc_rt_q8sp_conv_block, issue 17) against the
 * dense int8 conv block (slimc_rt_qconv_block) on ResNet-18's 3x3 and 1x1 shapes, one thread,
 * random weights at a given density (each weight nonzero with that probability, so a block of
 * 4 is kept with probability 1 - (1 - d)^4), best of 20 runs of a whole image. Not a test.
 *
 *   clang-14 -std=gnu11 -O2 -Ibuild bench/qsparse_conv.c -o qsc -lm -lpthread && ./qsc
 *
 * (the flags of the JIT's kernel library). Columns: dense and sparse ms, dense / sparse, the
 * blocks kept, and the sparse kernel's rate per FLOP of its kept blocks over the dense
 * kernel's per FLOP (what the cost model's q8sp_conv factor stands for). SLIMC_MAX_ISA and
 * SLIMC_NO_VNNI cap the kernels as in generated code; SLIMC_BENCH_COLD=1 evicts the caches
 * (64 MB touched) before each timed run, as a network's weights come from memory. */
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
static unsigned char *flush; /* SLIMC_BENCH_COLD=1: 64 MB touched before each timed run */
static const size_t flush_bytes = (size_t)64 << 20;
static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

/* The block-CSR blob of w [O, K] (slimc_abi.h), malloc'd; *kept its blocks. */
static void *blob_of(const int8_t *w, int64_t O, int64_t K, int64_t *kept)
{
    const int64_t K4 = (K + 3) / 4;
    int64_t nb = 0;
    for (int64_t o = 0; o < O; o++)
        for (int64_t b = 0; b < K4; b++) {
            int any = 0;
            for (int64_t k = 4 * b; k < 4 * b + 4 && k < K; k++)
                any |= w[o * K + k] != 0;
            nb += any;
        }
    int64_t ob, ov;
    const int64_t total = slimc_rt_q8sp_layout(O, nb, &ob, &ov);
    unsigned char *b = calloc((size_t)total, 1);
    int64_t *h = (int64_t *)(void *)b;
    h[0] = SLIMC_RT_Q8SP_MAGIC, h[1] = O, h[2] = K, h[3] = nb, h[4] = ob, h[5] = ov;
    int32_t *rowptr = (int32_t *)(void *)(b + SLIMC_RT_CSR_HEAD),
            *blk = (int32_t *)(void *)(b + ob);
    int8_t *val = (int8_t *)(b + ov);
    int32_t j = 0;
    for (int64_t o = 0; o < O; o++) {
        rowptr[o] = j;
        for (int64_t q = 0; q < K4; q++) {
            int any = 0;
            for (int64_t k = 4 * q; k < 4 * q + 4 && k < K; k++)
                any |= w[o * K + k] != 0;
            if (!any)
                continue;
            blk[j] = (int32_t)q;
            for (int64_t k = 4 * q; k < 4 * q + 4 && k < K; k++)
                val[4 * j + (k - 4 * q)] = w[o * K + k];
            j++;
        }
    }
    rowptr[O] = j;
    *kept = nb;
    return b;
}

/* A k x k conv of C -> O channels on H x H, stride st, padding pd, at density d. */
static void conv(const char *name, int64_t C, int64_t H, int64_t O, int64_t k, int64_t st,
                 int64_t pd, double d)
{
    const int64_t OH = (H + 2 * pd - k) / st + 1, P = OH * OH, K = C * k * k;
    const slimc_rt_conv s = {C, H, H, O, C, O, k, k, OH, OH, st, st, pd, pd, 1, 1, 0};
    uint8_t *x = malloc((size_t)(C * H * H));
    int8_t *w = malloc((size_t)(O * K));
    int32_t *wsum = calloc((size_t)O, sizeof(int32_t));
    float *sc = malloc(sizeof(float) * (size_t)O), *b = malloc(sizeof(float) * (size_t)O),
          *y = malloc(sizeof(float) * (size_t)(O * P)),
          *y2 = malloc(sizeof(float) * (size_t)(O * P));
    for (int64_t i = 0; i < C * H * H; i++)
        x[i] = (uint8_t)(rnd() & 255);
    for (int64_t i = 0; i < O * K; i++) {
        const int v = (double)(rnd() & 0xffff) / 65536.0 < d ? (int)(rnd() % 127) + 1 : 0;
        w[i] = (int8_t)(rnd() & 1 ? v : -v);
        wsum[i / K] += w[i];
    }
    for (int64_t o = 0; o < O; o++)
        sc[o] = 0.01f, b[o] = 0.1f;
    int64_t kept;
    void *W = blob_of(w, O, K, &kept);
    uint8_t *col = slimc_rt_qcol_alloc(K);
    double bd = 1e99, bs = 1e99;
    for (int r = 0; r < 20; r++) {
        if (flush) /* the weights cold, as in a network whose weights exceed the caches */
            for (size_t i = 0; i < flush_bytes; i += 64)
                flush[i]++;
        const double t0 = now_ms();
        for (int64_t p0 = 0; p0 < P; p0 += 64)
            slimc_rt_qconv_block(&s, x, p0, p0 + 64 < P ? p0 + 64 : P, 3, w, wsum, 0.02f, sc, b, y,
                                 NULL, col);
        const double t1 = now_ms();
        if (flush)
            for (size_t i = 0; i < flush_bytes; i += 64)
                flush[i]++;
        const double t1b = now_ms();
        for (int64_t p0 = 0; p0 < P; p0 += 64)
            slimc_rt_q8sp_conv_block(&s, x, p0, p0 + 64 < P ? p0 + 64 : P, 3, W, wsum, 0.02f, sc, b,
                                     y2, NULL, col);
        const double t2 = now_ms();
        bd = t1 - t0 < bd ? t1 - t0 : bd;
        bs = t2 - t1b < bs ? t2 - t1b : bs;
    }
    const double kf = (double)kept / (double)(O * ((K + 3) / 4));
    printf("%-8s %lldx%lld s%lld %4lld->%-4lld %3lldx%-3lld d %.2f kept %.2f  dense %7.4f ms  "
           "sparse %7.4f ms  dense/sparse %5.2fx  rate %.2f  %s\n",
           name, (long long)k, (long long)k, (long long)st, (long long)C, (long long)O,
           (long long)H, (long long)H, d, kf, bd, bs, bd / bs, bd / bs / (1 / kf),
           memcmp(y, y2, sizeof(float) * (size_t)(O * P)) ? "DIFFER" : "same");
    free(x), free(w), free(wsum), free(sc), free(b), free(y), free(y2), free(W), free(col);
}

int main(int argc, char **argv)
{
    const double scale = argc > 1 ? atof(argv[1]) : 1.0; /* densities times this */
    if (getenv("SLIMC_BENCH_COLD"))
        flush = calloc(flush_bytes, 1);
    printf("int8 block-sparse conv, 1 thread (ISA level %d: 0 generic, 1 avx2, 2 avx512; "
           "VNNI %d)\n",
           slimc_rt_isa(), slimc_rt_has_vnni());
    /* ResNet-18's 3x3 convs at the densities of 80% global pruning, then sparser */
    conv("layer1", 64, 56, 64, 3, 1, 1, 0.60 * scale);
    conv("layer2", 128, 28, 128, 3, 1, 1, 0.46 * scale);
    conv("layer3", 256, 14, 256, 3, 1, 1, 0.29 * scale);
    conv("layer4", 512, 7, 512, 3, 1, 1, 0.14 * scale);
    conv("layer4", 512, 7, 512, 3, 1, 1, 0.05 * scale);
    conv("l2.0.c1", 64, 56, 128, 3, 2, 1, 0.46 * scale);
    conv("l4.0.c1", 256, 14, 512, 3, 2, 1, 0.14 * scale);
    /* the 1x1 downsamples (stride 2) and a bottleneck-style 1x1 */
    conv("l2.ds", 64, 56, 128, 1, 2, 0, 0.81 * scale);
    conv("l3.ds", 128, 28, 256, 1, 2, 0, 0.72 * scale);
    conv("l4.ds", 256, 14, 512, 1, 2, 0, 0.62 * scale);
    conv("1x1", 256, 14, 1024, 1, 1, 0, 0.10 * scale);
    conv("1x1", 256, 14, 1024, 1, 1, 0, 0.30 * scale);
    return 0;
}
