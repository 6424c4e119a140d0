/* The CPU emulation of CUDA (runtime/cuda_emu.h): the kernels of cuda_emu_kernels.h run on
 * fibers against plain C references: block barriers (shared-memory tree reduction, 1024
 * threads, 3-D blocks, grids of many blocks), warp shuffles, divergent warps, atomics,
 * f16/bf16 conversions against a table-driven reference (NaN, Inf, subnormals, ties), the
 * rounding-exact arithmetic under -ffp-contract=fast, dp4a, the three mma functions
 * against triple loops, deadlocks and bad launches (a non-zero return, never a hang),
 * and the speed of a launch (printed). test_cuda_emu_uctx.c runs it all again with the
 * swapcontext switch. */
#define SLIMC_CUDA_EMULATE    1
#define SLIMC_EMU_STACK_CHECK 1
#include "runtime/slimc_cuda_abi.h"
#include "runtime/cuda_emu.h"
#include "cuda_emu_kernels.h"

#include "ir/types.h"

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ---- */

/* An assertion for hot loops: Check's ck_assert records a mark point (a write to a pipe)
 * each time; this one costs a compare until it fails. */
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

static uint32_t rng_state = 12345u;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static float bits_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static uint32_t f_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine may be busy */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int launch(void (*fn)(slimc_kargs), unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                  unsigned by, unsigned bz, const slimc_kargs *a)
{
    const unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
    return slimc_emu_launch(fn, grid, block, a);
}

/* ---- block barriers ---- */

/* tk_block_sum over grid (5,3,2) for several block shapes (power of two or not, 1024
 * threads, 3-D); values are small integers, so every sum is exact. */
START_TEST(block_sum_tree_reduction)
{
    static const unsigned shapes[][3] = {{256, 1, 1}, {32, 32, 1}, {8, 8, 16},
                                         {7, 3, 5},   {1, 1, 1},   {1024, 1, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const unsigned n = shapes[s][0] * shapes[s][1] * shapes[s][2], nb = 5 * 3 * 2;
        float *in = malloc(sizeof(float) * n * nb), out[30];
        for (unsigned i = 0; i < n * nb; i++)
            in[i] = (float)(rng() % 17) - 8.0f;
        slimc_kargs a = {0};
        a.in[0] = in;
        a.out = out;
        ck_assert_int_eq(
            launch(tk_block_sum, 5, 3, 2, shapes[s][0], shapes[s][1], shapes[s][2], &a), 0);
        for (unsigned b = 0; b < nb; b++) {
            double ref = 0;
            for (unsigned t = 0; t < n; t++)
                ref += in[b * n + t];
            EXPECT(out[b] == (float)ref, "block (%u,%u,%u) #%u: %g, expected %g", shapes[s][0],
                   shapes[s][1], shapes[s][2], b, (double)out[b], ref);
        }
        free(in);
    }
    printf("cuda_emu: fiber stack peak %zu of %u bytes\n", slimc_emu_stack_peak(),
           (unsigned)SLIMC_EMU_STACK_BYTES);
    ck_assert(slimc_emu_stack_peak() < SLIMC_EMU_STACK_BYTES / 4);
}
END_TEST

/* Every thread's threadIdx and blockIdx in 3-D grids of 3-D blocks; a kernel without a
 * barrier runs the whole grid on one fiber (two switches a launch). */
START_TEST(coords_and_the_loop_fast_path)
{
    static const unsigned cfg[][6] = {
        {3, 4, 5, 5, 6, 7}, {1000, 1, 1, 256, 1, 1}, {2, 70, 3, 1, 1, 64}, {1, 1, 1, 1024, 1, 1}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        const unsigned *g = cfg[c], *b = cfg[c] + 3;
        const int64_t total = (int64_t)g[0] * g[1] * g[2] * b[0] * b[1] * b[2];
        int *out = malloc(sizeof(int) * 2 * (size_t)total);
        slimc_kargs a = {0};
        a.out = out;
        a.syms[0] = total;
        const unsigned long long sw0 = slimc_emu_switches();
        ck_assert_int_eq(launch(tk_coords, g[0], g[1], g[2], b[0], b[1], b[2], &a), 0);
        ck_assert_msg(slimc_emu_switches() - sw0 == 2, "%llu switches", slimc_emu_switches() - sw0);
        int64_t i = 0;
        for (unsigned bz = 0; bz < g[2]; bz++)
            for (unsigned by = 0; by < g[1]; by++)
                for (unsigned bx = 0; bx < g[0]; bx++)
                    for (unsigned tz = 0; tz < b[2]; tz++)
                        for (unsigned ty = 0; ty < b[1]; ty++)
                            for (unsigned tx = 0; tx < b[0]; tx++, i++) {
                                EXPECT(out[i] == (int)(tx + 1000 * ty + 100000 * tz) &&
                                           out[total + i] == (int)(bx + 1000 * by + 100000 * bz),
                                       "thread (%u,%u,%u) of block (%u,%u,%u)", tx, ty, tz, bx, by,
                                       bz);
                            }
        free(out);
    }
}
END_TEST

/* ---- warps ---- */

START_TEST(warp_shuffles)
{
    static const unsigned shapes[][3] = {{64, 1, 1}, {32, 4, 2}, {1024, 1, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const unsigned n = shapes[s][0] * shapes[s][1] * shapes[s][2], nb = 3;
        float *in = malloc(sizeof(float) * n * nb), *out = malloc(sizeof(float) * 4 * n * nb);
        for (unsigned i = 0; i < n * nb; i++)
            in[i] = (float)(rng() % 100);
        slimc_kargs a = {0};
        a.in[0] = in;
        a.out = out;
        ck_assert_int_eq(
            launch(tk_warp_ops, nb, 1, 1, shapes[s][0], shapes[s][1], shapes[s][2], &a), 0);
        for (unsigned w0 = 0; w0 < n * nb; w0 += 32) {
            const float *v = in + w0;
            float sum = 0, d[32];
            for (int l = 0; l < 32; l++) {
                sum += v[l];
                d[l] = v[l];
            }
            for (int m = 16; m > 0; m >>= 1) { /* shfl.down: lanes past 31 read their own */
                float nd[32];
                for (int l = 0; l < 32; l++)
                    nd[l] = d[l] + (l + m <= 31 ? d[l + m] : d[l]);
                memcpy(d, nd, sizeof d);
            }
            for (int l = 0; l < 32; l++) {
                const float *o = out + 4 * (w0 + (unsigned)l);
                EXPECT(o[0] == sum, "xor sum lane %d: %g vs %g", l, (double)o[0], (double)sum);
                EXPECT(o[1] == d[l], "down lane %d: %g vs %g", l, (double)o[1], (double)d[l]);
                EXPECT(o[2] == 2.0f * v[(l * 7 + 3) & 31], "idx lane %d", l);
                EXPECT(o[3] == sum, "int xor sum lane %d", l);
            }
        }
        free(in);
        free(out);
    }
}
END_TEST

START_TEST(divergent_warps)
{
    const unsigned n = 128, nb = 4;
    int in[512], out[512];
    for (unsigned i = 0; i < n * nb; i++)
        in[i] = (int)(rng() % 1000);
    slimc_kargs a = {0};
    a.in[0] = in;
    a.out = out;
    ck_assert_int_eq(launch(tk_divergent, nb, 1, 1, 64, 2, 1, &a), 0);
    for (unsigned b = 0; b < nb; b++) {
        int acc0[128], acc1[128], acc2[128];
        for (unsigned t = 0; t < n; t++) {
            const int v = in[b * n + t];
            int acc = 0;
            if (t & 1) {
                for (int k = 0; k < v % 5; k++)
                    acc += 3 * k + 1;
            } else {
                for (int k = 0; k < v % 3; k++)
                    acc ^= k + 7;
                acc += 100;
            }
            acc0[t] = acc;
        }
        for (unsigned t = 0; t < n; t++)
            acc1[t] = acc0[t] + acc0[t ^ 1u] + acc0[t ^ 32u] * 2;
        for (unsigned t = 0; t < n; t++)
            acc2[t] = acc1[t] + acc1[(t & ~31u) + (31u - (t & 31u))];
        for (unsigned t = 0; t < n; t++)
            EXPECT(out[b * n + t] == acc2[t], "block %u thread %u: %d vs %d", b, t, out[b * n + t],
                   acc2[t]);
    }
}
END_TEST

/* ---- atomics ---- */

START_TEST(atomics)
{
    const unsigned n = 96, nb = 50; /* 96: a warp of a block is 32 lanes, three a block */
    int *in = malloc(sizeof(int) * n * nb), o[19] = {0}, ref[19] = {0};
    float fsum = 0;
    for (unsigned i = 0; i < n * nb; i++) {
        in[i] = (int)(rng() % 100000);
        ref[in[i] & 15]++;
        ref[16] = in[i] > ref[16] ? in[i] : ref[16];
        ref[17] |= (int)(1u << (in[i] & 31));
        fsum += (float)(in[i] & 7);
    }
    slimc_kargs a = {0};
    a.in[0] = in;
    a.out = o;
    ck_assert_int_eq(launch(tk_atomics, nb, 1, 1, n, 1, 1, &a), 0);
    for (int k = 0; k < 18; k++)
        ck_assert_int_eq(o[k], ref[k]);
    float got;
    memcpy(&got, &o[18], sizeof got);
    ck_assert(got == fsum);
    free(in);
}
END_TEST

/* ---- conversions ---- */

/* The f16 or bf16 bits nearest to the finite float x, found by a binary search over the
 * positive codes (monotonic in value; the infinity code stands for 2^16 or 2^128, the
 * value rounding to it would have), ties to the even code. Independent of the formulas in
 * cuda_emu.h; the values come from ir_f16_value and a shift. */
static double code_value(int bf16, uint32_t code)
{
    if (bf16)
        return code == 0x7f80u ? ldexp(1.0, 128) : (double)bits_f(code << 16);
    return code == 0x7c00u ? 65536.0 : ir_f16_value((uint16_t)code);
}
static uint16_t ref_round(int bf16, float x)
{
    const uint32_t sign = (f_bits(x) >> 16) & 0x8000u, top = bf16 ? 0x7f80u : 0x7c00u;
    const double ax = fabs((double)x);
    if (ax >= code_value(bf16, top))
        return (uint16_t)(sign | top);
    uint32_t lo = 0, hi = top; /* value(lo) <= ax < value(hi) */
    while (hi - lo > 1) {
        const uint32_t mid = (lo + hi) / 2;
        if (code_value(bf16, mid) <= ax)
            lo = mid;
        else
            hi = mid;
    }
    const double dl = ax - code_value(bf16, lo), dh = code_value(bf16, hi) - ax;
    const uint32_t code = dl < dh ? lo : dh < dl ? hi : (lo & 1u) ? hi : lo;
    return (uint16_t)(sign | code);
}

static void check_one_conversion(float x)
{
    if (isnan(x)) {
        EXPECT(slimc_f2h(x) == 0x7fffu && slimc_f2b(x) == 0x7fffu, "NaN %#x", f_bits(x));
        return;
    }
    EXPECT(slimc_f2h(x) == ref_round(0, x), "f2h(%a) = %#x, expected %#x", (double)x, slimc_f2h(x),
           ref_round(0, x));
    EXPECT(slimc_f2b(x) == ref_round(1, x), "f2b(%a) = %#x, expected %#x", (double)x, slimc_f2b(x),
           ref_round(1, x));
}

START_TEST(f16_bf16_conversions)
{
    /* every half: to float exactly (NaN stays NaN, sign and payload kept), and back */
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = slimc_h2f((uint16_t)h);
        if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu)) {
            EXPECT(isnan(f) &&
                       f_bits(f) == (((h & 0x8000u) << 16) | 0x7fc00000u | ((h & 0x3ffu) << 13)),
                   "h2f(%#x) = %#x", h, f_bits(f));
            continue;
        }
        EXPECT((double)f == ir_f16_value((uint16_t)h), "h2f(%#x)", h);
        EXPECT(slimc_f2h(f) == h, "f2h(h2f(%#x))", h);
        EXPECT(f_bits(slimc_b2f((uint16_t)h)) == h << 16, "b2f(%#x)", h);
        /* the midpoint to the next code, and a float either side of it: ties */
        const float next = slimc_h2f((uint16_t)(h + 1));
        if ((h & 0x7fffu) < 0x7bffu) {
            const float mid = (float)(((double)f + (double)next) / 2);
            check_one_conversion(mid);
            check_one_conversion(nextafterf(mid, 0.0f));
            check_one_conversion(nextafterf(mid, INFINITY * (h & 0x8000u ? -1.0f : 1.0f)));
        }
        /* the same around bf16 codes */
        const float b = slimc_b2f((uint16_t)h), bn = slimc_b2f((uint16_t)(h + 1));
        if (isfinite(b) && isfinite(bn)) {
            const float mid = (float)(((double)b + (double)bn) / 2);
            check_one_conversion(mid);
            check_one_conversion(nextafterf(mid, 0.0f));
            check_one_conversion(nextafterf(mid, b < 0 ? -INFINITY : INFINITY));
        }
    }
    static const float special[] = {
        0.0f,      -0.0f,        INFINITY,        -INFINITY,       FLT_MAX,         -FLT_MAX,
        FLT_MIN,   FLT_TRUE_MIN, 65504.0f,        65519.99f,       65520.0f,        -65520.0f,
        0x1p-24f,  0x1p-25f,     0x1.000002p-25f, 0x1.8p-24f,      0x1.4p-24f,      0x1.cp-24f,
        0x1p-14f,  0x1.ff8p-15f, 0x1.ffcp-15f,    1.0f + 0x1p-11f, 1.0f + 0x3p-11f, 0x1.01p0f,
        0x1.03p0f, 3.0e38f};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        check_one_conversion(special[i]);
    ck_assert_uint_eq(slimc_f2h(65520.0f), 0x7c00u);
    ck_assert_uint_eq(slimc_f2h(0x1p-25f), 0x0000u);   /* a tie: to even (zero) */
    ck_assert_uint_eq(slimc_f2h(0x1.8p-24f), 0x0002u); /* a tie: to even (2) */
    ck_assert_uint_eq(slimc_f2h(-0.0f), 0x8000u);
    ck_assert_uint_eq(slimc_f2b(FLT_MAX), 0x7f80u);        /* rounds up to infinity */
    ck_assert_uint_eq(slimc_f2b(1.0f + 0x1p-8f), 0x3f80u); /* a tie: to even */
    ck_assert_uint_eq(slimc_f2b(bits_f(0x7f800001u)), 0x7fffu);
    ck_assert_uint_eq(slimc_f2h(bits_f(0xffc00000u)), 0x7fffu);
    for (int i = 0; i < 300000; i++)
        check_one_conversion(bits_f(rng()));
}
END_TEST

/* The same conversions, dp4a and the rounding-exact ops inside a kernel. This file is
 * compiled with -ffp-contract=fast (tests/CMakeLists.txt): fadd_rn(fmul_rn(x, y), z)
 * must still round twice. */
START_TEST(convert_kernel_dp4a_and_rn)
{
    enum { N = 3000 };
    static float x[N], y[N], z[N], of[3 * N];
    static uint16_t o16[2 * N];
    static int oi[N];
    for (int i = 0; i < N; i++) {
        x[i] = bits_f(rng());
        y[i] = bits_f(rng());
        z[i] = bits_f(rng());
        if (i % 3 == 0) { /* ordinary magnitudes, where products and sums mix */
            x[i] = (float)(rng() % 20001) / 1000.0f - 10.0f;
            y[i] = (float)(rng() % 20001) / 1000.0f - 10.0f;
            z[i] = (float)(rng() % 20001) / 100.0f - 100.0f;
        }
    }
    x[0] = y[0] = 1.0f + 0x1p-23f; /* x*y = 1 + 2^-22 + 2^-46: an FMA would keep 2^-46 */
    z[0] = -(1.0f + 0x1p-22f);
    slimc_kargs a = {0};
    a.in[0] = x;
    a.in[1] = y;
    a.in[2] = z;
    a.out = o16;
    a.ep[0] = of;
    a.ep[1] = oi;
    a.syms[0] = N;
    ck_assert_int_eq(launch(tk_convert, (N + 255) / 256, 1, 1, 256, 1, 1, &a), 0);
    ck_assert(of[2] == 0.0f);
    for (int i = 0; i < N; i++) {
        EXPECT(o16[2 * i] == slimc_f2h(x[i]) && o16[2 * i + 1] == slimc_f2b(x[i]), "%d", i);
        if (!isnan(x[i])) {
            EXPECT(of[3 * i] == slimc_h2f(ref_round(0, x[i])), "%d", i);
            EXPECT(f_bits(of[3 * i + 1]) == (uint32_t)ref_round(1, x[i]) << 16, "%d", i);
        }
        volatile float p = x[i] * y[i];
        volatile float r = p + z[i];
        EXPECT(f_bits(of[3 * i + 2]) == f_bits(r) || (isnan(r) && isnan(of[3 * i + 2])),
               "rn %d: %a * %a + %a = %a, expected %a", i, (double)x[i], (double)y[i], (double)z[i],
               (double)of[3 * i + 2], (double)r);
        const uint32_t ux = f_bits(x[i]), uy = f_bits(y[i]), uz = f_bits(z[i]);
        int64_t dot = (int32_t)uz;
        for (int k = 0; k < 4; k++)
            dot += (int64_t)(int8_t)(uint8_t)(ux >> (8 * k)) * (int8_t)(uint8_t)(uy >> (8 * k));
        EXPECT(oi[i] == (int32_t)(uint32_t)(uint64_t)dot, "dp4a %d", i);
    }
    ck_assert_int_eq(slimc_dp4a((int)0x80808080u, (int)0x80808080u, 0), 4 * 128 * 128);
    ck_assert_int_eq(slimc_dp4a((int)0x7f80ff01u, 0x01020304, 5),
                     5 + 1 * 4 + (-1) * 3 + (-128) * 2 + 127 * 1);
    ck_assert_int_eq(slimc_dp4a(0x01010101, 0x01010101, 2147483647), -2147483647 - 1 + 3);
}
END_TEST

/* The rest of the layer: rsqrt, fsub_rn, fdiv_rn, fma_rn (one rounding), SLIMC_INF and
 * SLIMC_NAN (the GPU's 0x7fffffff), a __device__ __forceinline__ helper, bool,
 * __launch_bounds__, __restrict__, warpSize. */
START_TEST(math_and_words)
{
    enum { N = 500 };
    static float x[N], y[N], z[N], o[8 * N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)((int)(rng() % 40001) - 20000) / 7.0f;
        y[i] = (float)((int)(rng() % 20001) - 10000) / 3.0f + 0.5f;
        z[i] = (float)((int)(rng() % 2001) - 1000) / 11.0f;
    }
    slimc_kargs a = {0};
    a.in[0] = x;
    a.in[1] = y;
    a.in[2] = z;
    a.out = o;
    a.syms[0] = N;
    ck_assert_int_eq(launch(tk_math, (N + 127) / 128, 1, 1, 128, 1, 1, &a), 0);
    for (int i = 0; i < N; i++) {
        const float *r = o + 8 * i;
        EXPECT(r[0] == 1.0f / sqrtf(fabsf(x[i])), "rsqrt %d", i);
        volatile float d = x[i] - y[i], q = x[i] / y[i];
        EXPECT(r[1] == d && r[2] == q, "fsub/fdiv %d", i);
        EXPECT(r[3] == (float)((double)x[i] * y[i] + z[i]), "fma %d", i); /* exact in double */
        if (fabsf(x[i]) > 1000.0f)
            EXPECT(x[i] > 1000.0f ? f_bits(r[4]) == 0x7f800000u : f_bits(r[4]) == 0x7fffffffu,
                   "INF/NAN %d: %#x", i, f_bits(r[4]));
        else
            EXPECT(r[4] == fmaxf(x[i], y[i]), "fmaxf %d", i);
        EXPECT(r[5] == expf(fminf(x[i], 80.0f)) && r[6] == 32.0f, "expf/warpSize %d", i);
    }
}
END_TEST

/* ---- tensor cores ---- */

/* tk_mma_16816 on random tiles (four warps a block, three blocks) against a triple loop. */
static void check_mma_16816(int bf16)
{
    enum { W = 4, NB = 3, T = W * NB };
    static uint16_t A[T * 256], B[T * 128];
    static float C[T * 128], D[T * 128];
    for (int i = 0; i < T * 256; i++) {
        const float v = (float)((int)(rng() % 2001) - 1000) / 256.0f;
        A[i] = bf16 ? slimc_f2b(v) : slimc_f2h(v);
    }
    for (int i = 0; i < T * 128; i++) {
        const float v = (float)((int)(rng() % 2001) - 1000) / 300.0f;
        B[i] = bf16 ? slimc_f2b(v) : slimc_f2h(v);
        C[i] = (float)((int)(rng() % 2001) - 1000) / 7.0f;
    }
    slimc_kargs a = {0};
    a.in[0] = A;
    a.in[1] = B;
    a.in[2] = C;
    a.out = D;
    a.syms[0] = bf16;
    /* blocks of 32 x 4 threads: warp w is row y = w; several blocks, so tiles w * NB */
    for (int b = 0; b < NB; b++) {
        a.in[0] = A + b * W * 256;
        a.in[1] = B + b * W * 128;
        a.in[2] = C + b * W * 128;
        a.out = D + b * W * 128;
        ck_assert_int_eq(launch(tk_mma_16816, 1, 1, 1, 32, W, 1, &a), 0);
    }
    for (int w = 0; w < T; w++)
        for (int m = 0; m < 16; m++)
            for (int n = 0; n < 8; n++) {
                double ref = C[w * 128 + m * 8 + n], mag = fabs(ref);
                for (int k = 0; k < 16; k++) {
                    const uint16_t ea = A[w * 256 + m * 16 + k], eb = B[w * 128 + k * 8 + n];
                    const double p = bf16 ? (double)slimc_b2f(ea) * slimc_b2f(eb)
                                          : ir_f16_value(ea) * ir_f16_value(eb);
                    ref += p;
                    mag += fabs(p);
                }
                const double got = D[w * 128 + m * 8 + n];
                EXPECT(fabs(got - ref) <= 1e-6 * mag, "%s tile %d [%d][%d]: %g vs %g",
                       bf16 ? "bf16" : "f16", w, m, n, got, ref);
            }
}

START_TEST(mma_f16)
{
    check_mma_16816(0);
}
END_TEST

START_TEST(mma_bf16)
{
    check_mma_16816(1);
}
END_TEST

START_TEST(mma_s8)
{
    enum { W = 8 };
    static int8_t A[W * 512], B[W * 256];
    static int C[W * 128], D[W * 128];
    for (int i = 0; i < W * 512; i++)
        A[i] = (int8_t)(rng() & 0xff);
    for (int i = 0; i < W * 256; i++)
        B[i] = (int8_t)(rng() & 0xff);
    for (int i = 0; i < W * 128; i++)
        C[i] = (int)(rng() % 2000001) - 1000000;
    C[0] = 2147483647; /* the s32 sum wraps */
    slimc_kargs a = {0};
    a.in[0] = A;
    a.in[1] = B;
    a.in[2] = C;
    a.out = D;
    ck_assert_int_eq(launch(tk_mma_16832, 1, 1, 1, 32 * W, 1, 1, &a), 0);
    for (int w = 0; w < W; w++)
        for (int m = 0; m < 16; m++)
            for (int n = 0; n < 8; n++) {
                int64_t ref = C[w * 128 + m * 8 + n];
                for (int k = 0; k < 32; k++)
                    ref += (int64_t)A[w * 512 + m * 32 + k] * B[w * 256 + k * 8 + n];
                EXPECT(D[w * 128 + m * 8 + n] == (int32_t)(uint32_t)(uint64_t)ref, "[%d][%d][%d]",
                       w, m, n);
            }
}
END_TEST

/* ---- failures ---- */

static void kernel_that_launches(const slimc_kargs a)
{
    const unsigned g[3] = {1, 1, 1};
    *(int *)a.out = slimc_emu_launch(tk_coords, g, g, &a);
}

START_TEST(deadlocks_and_bad_launches_fail)
{
    int out[1024] = {0};
    slimc_kargs a = {0};
    a.out = out;
    ck_assert_int_eq(launch(tk_dead_return, 2, 1, 1, 64, 1, 1, &a), SLIMC_EMU_E_DEADLOCK);
    ck_assert_msg(strstr(slimc_emu_error(), "deadlock in block (0,0,0)"), "%s", slimc_emu_error());
    ck_assert_int_eq(launch(tk_dead_mixed, 1, 1, 1, 32, 1, 1, &a), SLIMC_EMU_E_DEADLOCK);
    ck_assert_msg(strstr(slimc_emu_error(), "different warp operations"), "%s", slimc_emu_error());
    ck_assert_int_eq(launch(tk_dead_split, 1, 1, 1, 64, 1, 1, &a), SLIMC_EMU_E_DEADLOCK);
    ck_assert_int_eq(launch(tk_dead_split, 3, 1, 1, 1024, 1, 1, &a), SLIMC_EMU_E_DEADLOCK);
    ck_assert_int_eq(launch(tk_coords, 0, 1, 1, 32, 1, 1, &a), SLIMC_EMU_E_LAUNCH);
    ck_assert_msg(strstr(slimc_emu_error(), "bad launch"), "%s", slimc_emu_error());
    ck_assert_int_eq(launch(tk_coords, 1, 1, 1, 1025, 1, 1, &a), SLIMC_EMU_E_LAUNCH);
    ck_assert_int_eq(launch(tk_coords, 1, 1, 1, 32, 33, 1, &a), SLIMC_EMU_E_LAUNCH);
    ck_assert_int_eq(launch(tk_coords, 1, 1, 1, 1, 1, 65, &a), SLIMC_EMU_E_LAUNCH);
    ck_assert_int_eq(launch(tk_coords, 1, 1, 1, 0, 1, 1, &a), SLIMC_EMU_E_LAUNCH);
    ck_assert_int_eq(launch(tk_coords, 1, 65536, 1, 1, 1, 1, &a), SLIMC_EMU_E_LAUNCH);
    ck_assert_int_eq(launch(NULL, 1, 1, 1, 1, 1, 1, &a), SLIMC_EMU_E_LAUNCH);
    ck_assert_int_eq(launch(kernel_that_launches, 1, 1, 1, 1, 1, 1, &a), 0);
    ck_assert_int_eq(out[0], SLIMC_EMU_E_BUSY);
    /* after all that (fibers abandoned mid-kernel), launches work again */
    float in[1024], sum[2];
    for (int i = 0; i < 1024; i++)
        in[i] = (float)(i % 5);
    a.in[0] = in;
    a.out = sum;
    ck_assert_int_eq(launch(tk_block_sum, 2, 1, 1, 512, 1, 1, &a), 0);
    float ref[2] = {0, 0};
    for (int i = 0; i < 1024; i++)
        ref[i / 512] += in[i];
    ck_assert(sum[0] == ref[0] && sum[1] == ref[1]);
    ck_assert_str_eq(slimc_emu_error(), "");
}
END_TEST

/* ---- speed (printed, not asserted: the machine may be loaded) ---- */

START_TEST(speed)
{
    enum { NB = 64, NT = 256, ROUNDS = 32 };
    static int out[NB * NT];
    slimc_kargs a = {0};
    a.out = out;
    a.syms[0] = ROUNDS;
    unsigned long long sw = slimc_emu_switches();
    double t = now_s();
    ck_assert_int_eq(launch(tk_barriers, NB, 1, 1, NT, 1, 1, &a), 0);
    t = now_s() - t;
    sw = slimc_emu_switches() - sw;
    for (int i = 0; i < NB * NT; i++) {
        const int tt = i % NT, nxt = (tt + 1) % NT;
        EXPECT(out[i] == ROUNDS * nxt + ROUNDS * (ROUNDS - 1) / 2, "%d", i);
    }
    printf("cuda_emu: %llu context switches in %.3f s: %.1f M switches/s, %.0f ns a thread "
           "at a __syncthreads\n",
           sw, t, (double)sw / t / 1e6, t * 1e9 / (2.0 * ROUNDS * NB * NT));
    static int co[2 * 4096 * 256];
    a.out = co;
    a.syms[0] = 4096 * 256;
    t = now_s();
    ck_assert_int_eq(launch(tk_coords, 4096, 1, 1, 256, 1, 1, &a), 0);
    t = now_s() - t;
    printf("cuda_emu: a kernel without barriers: %.1f ns a thread\n", t * 1e9 / (4096.0 * 256));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cuda_emu");
    TCase *tc = tcase_create("cuda_emu");
    tcase_add_test(tc, block_sum_tree_reduction);
    tcase_add_test(tc, coords_and_the_loop_fast_path);
    tcase_add_test(tc, warp_shuffles);
    tcase_add_test(tc, divergent_warps);
    tcase_add_test(tc, atomics);
    tcase_add_test(tc, f16_bf16_conversions);
    tcase_add_test(tc, convert_kernel_dp4a_and_rn);
    tcase_add_test(tc, math_and_words);
    tcase_add_test(tc, mma_f16);
    tcase_add_test(tc, mma_bf16);
    tcase_add_test(tc, mma_s8);
    tcase_add_test(tc, deadlocks_and_bad_launches_fail);
    tcase_add_test(tc, speed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
