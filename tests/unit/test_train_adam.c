/* The Adam / AdamW update (api/train_optim.c), whose loop runs four parameters at a time
 * with SSE2 where the compiler has it, against the scalar formula written out here: the
 * same bits, over a ragged length (a tail of 3), three steps, with weight decay (Adam's
 * coupled, AdamW's decoupled) and without. */
#include "api/train_optim.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 39 };

static void scalar_adam(const SlimcTrainOptions *o, double lr, float wd, int64_t t, float *p,
                        const float *grad, float *m, float *v)
{
    const float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->eps;
    const double bc1 = 1.0 - pow(o->beta1, (double)t), bc2 = 1.0 - pow(o->beta2, (double)t);
    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float decay = (float)(1.0 - lr * wd);
    for (size_t i = 0; i < N; i++) {
        float g = grad[i];
        if (o->optimizer == SLIMC_OPTIM_ADAMW)
            p[i] *= decay;
        else if (wd != 0)
            g += wd * p[i];
        m[i] += (1 - b1) * (g - m[i]);
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

START_TEST(adam_same_bits)
{
    for (int variant = 0; variant < 3; variant++) {
        SlimcTrainOptions o;
        slimc_train_options_default(&o);
        o.optimizer = variant == 2 ? SLIMC_OPTIM_ADAMW : SLIMC_OPTIM_ADAM;
        o.weight_decay = variant == 1 ? 0.05 : -1;
        const float wd = (float)api_train_weight_decay(&o);
        TrainOptimState s;
        api_train_optim_state_init(&s, &o, N);
        float p[N], p2[N], g[N], m[N] = {0}, v[N] = {0};
        unsigned seed = 99u + (unsigned)variant;
        for (int i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            p[i] = p2[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
        }
        for (int64_t t = 1; t <= 3; t++) {
            for (int i = 0; i < N; i++) {
                seed = seed * 1103515245u + 12345u;
                g[i] = ((float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f) * (float)t;
            }
            api_train_optim_step(&o, 1e-3, t, p, g, &s, N);
            scalar_adam(&o, 1e-3, wd, t, p2, g, m, v);
            ck_assert_msg(memcmp(p, p2, sizeof p) == 0, "variant %d step %lld: parameters differ",
                          variant, (long long)t);
            ck_assert_msg(memcmp(s.m, m, sizeof m) == 0 && memcmp(s.v, v, sizeof v) == 0,
                          "variant %d step %lld: moments differ", variant, (long long)t);
        }
        api_train_optim_state_free(&s);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train_adam");
    TCase *tc = tcase_create("adam");
    tcase_add_test(tc, adam_same_bits);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
