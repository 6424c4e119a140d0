/* Micro-benchmark of dynamic int8's linear step (runtime/slimc_rt.h) on the BERT-style
 * encoder's shapes (bench/bert_dynamic.py: 128 rows; 384 -> 384, 384 -> 1536, 1536 -> 384):
 * slimc_rt_dyn_params + slimc_rt_quantize_u8 + slimc_rt_qgemm_packed on a weight packed as
 * passes/layout.c packs it, as dqlinear's body calls them, with R rows per GEMM call (32:
 * one item; 128: the body's 4 items at once). One thread, best of 30 runs. Not a test.
 *
 *   clang-14 -std=gnu11 -O2 -Ibuild bench/qgemm_packed.c -o qp -lm -lpthread && ./qp
 *
 * (the flags of the JIT's kernel library). SLIMC_MAX_ISA / SLIMC_NO_VNNI / SLIMC_NO_AMX pick
 * the path as in generated code. Columns: ms for the whole 128 rows, and int8 GOP/s (2 M O
 * K over that time). */
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

/* M rows of x [M, K] f32 times a packed s8 weight [O, K], R rows per GEMM call. */
static double run(int64_t M, int64_t O, int64_t K, int64_t R, const float *x, uint8_t *qx,
                  const int8_t *wp, const int32_t *wsum, const float *ws, const float *bias,
                  float *out)
{
    double best = 1e30;
    for (int rep = 0; rep < 30; rep++) {
        const double t0 = now_ms();
        float xs;
        int32_t zp;
        slimc_rt_dyn_params(x, M * K, &xs, &zp);
        for (int64_t m0 = 0; m0 < M; m0 += R) {
            const int64_t mc = M - m0 < R ? M - m0 : R;
            slimc_rt_quantize_u8(x + m0 * K, qx, mc * K, 1.0f / xs, zp);
            slimc_rt_qgemm_packed(mc, 0, mc, 0, O, O, K, qx, wp, zp, wsum, xs, ws, bias,
                                  out + m0 * O, NULL);
        }
        const double t = now_ms() - t0;
        best = t < best ? t : best;
    }
    return best;
}

int main(void)
{
    static const int64_t shapes[][2] = {{384, 384}, {1536, 384}, {384, 1536}}; /* O, K */
    const int64_t M = 128;
    for (int s = 0; s < 3; s++) {
        const int64_t O = shapes[s][0], K = shapes[s][1], KB = slimc_rt_qpack_rows(K);
        float *x = malloc(sizeof(float) * (size_t)(M * K)), *ws = malloc(sizeof(float) * (size_t)O);
        float *bias = malloc(sizeof(float) * (size_t)O),
              *out = malloc(sizeof(float) * (size_t)(M * O));
        uint8_t *qx = malloc((size_t)(M * K));
        int8_t *wp = calloc((size_t)(slimc_rt_pack_blocks(O) * KB * 64), 1);
        int32_t *wsum = calloc((size_t)O, sizeof(int32_t));
        for (int64_t i = 0; i < M * K; i++)
            x[i] = (float)(rnd() % 2001) / 1000.0f - 1.0f;
        for (int64_t o = 0; o < O; o++) {
            ws[o] = 0.01f;
            bias[o] = 0.5f;
            for (int64_t k = 0; k < K; k++) {
                const int8_t w = (int8_t)((int)(rnd() % 255) - 127);
                wp[slimc_rt_pack_index(o, k, KB, SLIMC_RT_QPACK_K)] = w;
                wsum[o] += w;
            }
        }
        for (int64_t R = 32; R <= 128; R *= 4) {
            const double t = run(M, O, K, R, x, qx, wp, wsum, ws, bias, out);
            printf("M %lld O %4lld K %4lld, %3lld rows a call: %8.4f ms %7.1f GOP/s\n",
                   (long long)M, (long long)O, (long long)K, (long long)R, t,
                   2.0 * (double)(M * O * K) / (t * 1e6));
        }
        free(x);
        free(ws);
        free(bias);
        free(out);
        free(qx);
        free(wp);
        free(wsum);
    }
    return 0;
}
