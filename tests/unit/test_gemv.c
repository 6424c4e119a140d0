/* The one-row GEMM (the GEMV of batch 1) of every instruction set the CPU has
 * (runtime/kernels/gemm.c: the AVX2 tile of up to 64 columns, the AVX-512 one of up to 256,
 * the portable loop) against a plain loop of fmaf over k in order, bit for bit: column
 * counts around the vector and tile widths (masked tails), K around the block of rows
 * (SLIMC_RT_GEMV_KB), strided A, a row stride of B wider than n, and each start value
 * (column bias, row bias, what C holds, zero). FMA rounds once, so the loop is exact for
 * the vector paths; the portable one (no FMA contract) is checked to 1e-5 relative. */
#include "runtime/slimc_rt.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t seed = 2026u;

static float urand(void)
{
    seed = seed * 1103515245u + 12345u;
    return (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

enum { INIT_BCOL, INIT_BROW, INIT_ACCUM, INIT_ZERO };

/* C[0, j] = init + sum over k in order of A[k * csa] * B[k * ldb + j], with fmaf. */
static void reference(int64_t n, int64_t K, const float *A, int64_t csa, const float *B,
                      int64_t ldb, float *C, const float *brow, const float *bcol, int accum)
{
    for (int64_t j = 0; j < n; j++) {
        float acc = accum ? C[j] : brow ? brow[0] : bcol ? bcol[j] : 0.0f;
        for (int64_t k = 0; k < K; k++)
            acc = fmaf(A[k * csa], B[k * ldb + j], acc);
        C[j] = acc;
    }
}

/* One case on isa: returns the number of elements that differ (beyond tol). */
static int one_case(int isa, int64_t n, int64_t K, int64_t csa, int64_t ldb, int init, float tol)
{
    float *A = malloc(sizeof(float) * (size_t)(K * csa + 1));
    float *B = malloc(sizeof(float) * (size_t)(K * ldb + 1));
    float *bias = malloc(sizeof(float) * (size_t)(n + 1));
    float *want = malloc(sizeof(float) * (size_t)(n + 16)),
          *got = malloc(sizeof(float) * (size_t)(n + 16));
    ck_assert(A && B && bias && want && got);
    for (int64_t i = 0; i < K * csa; i++)
        A[i] = urand();
    for (int64_t i = 0; i < K * ldb; i++)
        B[i] = urand();
    for (int64_t j = 0; j < n; j++)
        bias[j] = urand();
    for (int64_t j = 0; j < n + 16; j++)
        want[j] = got[j] = init == INIT_ACCUM && j < n ? urand() : 1234.5f; /* past n: untouched */
    const float *brow = init == INIT_BROW ? bias : NULL, *bcol = init == INIT_BCOL ? bias : NULL;
    reference(n, K, A, csa, B, ldb, want, brow, bcol, init == INIT_ACCUM);
    slimc_rt_gemm(isa, 1, n, K, A, K * csa, csa, B, ldb, got, n, brow, bcol, init == INIT_ACCUM);
    int bad = 0;
    for (int64_t j = 0; j < n + 16; j++) {
        bool ok = tol == 0 ? memcmp(&want[j], &got[j], sizeof(float)) == 0
                           : fabsf(want[j] - got[j]) <= tol * (1 + fabsf(want[j]));
        if (!ok && bad++ == 0)
            fprintf(stderr,
                    "isa %d n %lld K %lld csa %lld ldb %lld init %d: C[%lld] %.9g, want %.9g\n",
                    isa, (long long)n, (long long)K, (long long)csa, (long long)ldb, init,
                    (long long)j, got[j], want[j]);
    }
    free(A);
    free(B);
    free(bias);
    free(want);
    free(got);
    return bad;
}

static void all_cases(int isa, float tol)
{
    static const int64_t ns[] = {1, 7, 8, 9, 10, 16, 24, 57, 63, 64, 65, 100, 128, 250, 256, 512};
    static const int64_t Ks[] = {0, 1, 5, 63, 64, 65, 200, 784};
    int bad = 0, cases = 0;
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof Ks / sizeof Ks[0]; b++)
            for (int init = 0; init < 4; init++) {
                int64_t n = ns[a], K = Ks[b];
                bad += one_case(isa, n, K, 1, n, init, tol) != 0;
                if (init == INIT_BCOL) /* strided A, B rows wider than n */
                    bad += one_case(isa, n, K, 3, n + 5, init, tol) != 0;
                cases += init == INIT_BCOL ? 2 : 1;
            }
    ck_assert_msg(bad == 0, "isa %d: %d of %d cases differ", isa, bad, cases);
}

START_TEST(gemv_generic)
{
    all_cases(SLIMC_RT_ISA_GENERIC, 1e-5f);
}
END_TEST

START_TEST(gemv_avx2)
{
#ifdef SLIMC_RT_X86
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        fprintf(stderr, "gemv_avx2: no AVX2/FMA on this CPU, skipped\n");
        return;
    }
    all_cases(SLIMC_RT_ISA_AVX2, 0);
#endif
}
END_TEST

START_TEST(gemv_avx512)
{
#ifdef SLIMC_RT_X86
    if (!__builtin_cpu_supports("avx512f")) {
        fprintf(stderr, "gemv_avx512: no AVX-512 on this CPU, skipped\n");
        return;
    }
    all_cases(SLIMC_RT_ISA_AVX512, 0);
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gemv");
    TCase *tc = tcase_create("gemv");
    tcase_add_test(tc, gemv_generic);
    tcase_add_test(tc, gemv_avx2);
    tcase_add_test(tc, gemv_avx512);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
