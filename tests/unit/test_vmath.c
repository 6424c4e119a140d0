/* The branch-free exp, tanh and erf that emitted elementwise code calls
 * (runtime/kernels/vmath.h), against libm's double-precision functions rounded to float:
 * every 8191st float bit pattern (both signs, subnormals, infinities, NaNs) plus the
 * boundaries of each function's ranges. */
#include "runtime/kernels/vmath.h"

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static float bits_to_float(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* |got - want| in units in the last place of want (the float spacing at |want|). */
static double ulps(float got, double want_d)
{
    const float want = (float)want_d;
    if (isinf(want) || isinf(got))
        return got == want ? 0.0 : INFINITY;
    const double spacing = (double)nextafterf(fabsf(want), INFINITY) - fabsf(want);
    return fabs((double)got - want_d) / spacing;
}

typedef struct Worst {
    double err;
    float at;
} Worst;

static void note(Worst *w, double err, float x)
{
    if (err > w->err || isnan(err)) {
        w->err = isnan(err) ? INFINITY : err;
        w->at = x;
    }
}

/* Calls fn on every 8191st bit pattern and on extra; returns the largest error of the
 * finite results, where `relative` says in ulps (else absolutely), and checks NaN in,
 * NaN out. Results whose reference is subnormal are held to 2^-149 absolutely. */
static Worst sweep(float (*fn)(float), double (*ref)(double), int relative, const float *extra,
                   int n_extra)
{
    Worst w = {0.0, 0.0f};
    for (uint64_t b = 0; b <= 0xffffffffu; b += 8191) {
        const float x = bits_to_float((uint32_t)b);
        const float got = fn(x);
        if (isnan(x)) {
            ck_assert_msg(isnan(got), "NaN in gave %a", (double)got);
            continue;
        }
        const double want = ref((double)x);
        ck_assert_msg(!isnan(got), "x = %a gave NaN (want %a)", (double)x, want);
        if (relative && fabs(want) < FLT_MIN)
            note(&w, fabs((double)got - want) / 0x1p-149 > 1.0 ? INFINITY : 0.0, x);
        else
            note(&w, relative ? ulps(got, want) : fabs((double)got - want), x);
    }
    for (int i = 0; i < n_extra; i++) {
        const float x = extra[i], got = fn(x);
        const double want = ref((double)x);
        if (relative && fabs(want) < FLT_MIN)
            note(&w, fabs((double)got - want) / 0x1p-149 > 1.0 ? INFINITY : 0.0, x);
        else
            note(&w, relative ? ulps(got, want) : fabs((double)got - want), x);
    }
    return w;
}

START_TEST(test_exp)
{
    const float extra[] = {0.0f,        -0.0f,        1.0f,     -1.0f,    88.72283f,
                           88.7228394f, 88.8f,        89.0f,    -87.3f,   -103.2789f,
                           -103.98f,    -104.0f,      -110.0f,  1e-30f,   -1e-30f,
                           0.34657359f, -0.34657359f, INFINITY, -INFINITY};
    const Worst w = sweep(slimc_rt_exp, exp, 1, extra, (int)(sizeof extra / sizeof extra[0]));
    ck_assert_msg(w.err <= 2.0, "exp: %.3g ulp at %a", w.err, (double)w.at);
    ck_assert(slimc_rt_exp(INFINITY) == INFINITY);
    ck_assert(slimc_rt_exp(-INFINITY) == 0.0f);
    ck_assert(slimc_rt_exp(0.0f) == 1.0f);
    ck_assert(isinf(slimc_rt_exp(88.8f)));
    ck_assert(isnan(slimc_rt_exp(NAN)));
}
END_TEST

START_TEST(test_tanh)
{
    const float extra[] = {0.0f,   -0.0f, 0.625f, -0.625f,  0.62499994f, 0.6250001f,
                           9.0f,   9.01f, 10.0f,  -10.0f,   1e-20f,      -1e-38f,
                           1e-45f, 3.0f,  -3.0f,  INFINITY, -INFINITY};
    const Worst w = sweep(slimc_rt_tanh, tanh, 1, extra, (int)(sizeof extra / sizeof extra[0]));
    ck_assert_msg(w.err <= 3.0, "tanh: %.3g ulp at %a", w.err, (double)w.at);
    ck_assert(slimc_rt_tanh(INFINITY) == 1.0f);
    ck_assert(slimc_rt_tanh(-INFINITY) == -1.0f);
    ck_assert(slimc_rt_tanh(20.0f) == 1.0f);
    ck_assert(isnan(slimc_rt_tanh(NAN)));
    ck_assert(signbit(slimc_rt_tanh(-0.0f)));
}
END_TEST

START_TEST(test_erf)
{
    const float extra[] = {0.0f, -0.0f, 4.0f, -4.0f, 3.9999998f, 5.0f, 1e-30f, INFINITY, -INFINITY};
    const Worst w = sweep(slimc_rt_erf, erf, 0, extra, (int)(sizeof extra / sizeof extra[0]));
    ck_assert_msg(w.err <= 4.7e-7, "erf: %.3g at %a", w.err, (double)w.at);
    ck_assert(slimc_rt_erf(INFINITY) == 1.0f);
    ck_assert(slimc_rt_erf(-INFINITY) == -1.0f);
    ck_assert(isnan(slimc_rt_erf(NAN)));
}
END_TEST

/* The sweep can fail: a function off by 3 ulp somewhere in the range is caught. */
static float exp_off(float x)
{
    const float e = slimc_rt_exp(x);
    return x > 3.0f && x < 3.01f
               ? nextafterf(nextafterf(nextafterf(e, INFINITY), INFINITY), INFINITY)
               : e;
}

START_TEST(test_sweep_catches)
{
    const float extra[] = {3.005f};
    const Worst w = sweep(exp_off, exp, 1, extra, 1);
    ck_assert_msg(w.err > 2.0, "a 3-ulp error went unseen (%.3g)", w.err);
}
END_TEST

static Suite *vmath_suite(void)
{
    Suite *s = suite_create("vmath");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_exp);
    tcase_add_test(tc, test_tanh);
    tcase_add_test(tc, test_erf);
    tcase_add_test(tc, test_sweep_catches);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(vmath_suite());
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
