/* The training loop's optimizers and schedules (api/train_optim.c) against torch.optim:
 * scripts/train_optim_ref.py, run with Debian's /usr/bin/python3 (it has torch), prints
 * the parameter after 5 steps of each optimizer config below and the learning rate of
 * each epoch under StepLR, CosineAnnealingLR, LinearLR and LinearLR chained with StepLR;
 * each must match to float rounding. Without torch those comparisons are skipped (said on
 * stderr), and the closed-form checks (SGD's p - lr g, Adam's first step p - lr g / (|g| +
 * eps), the schedules' values written out) still run. Also the slimc generator (ir/rng.h)
 * against SplitMix64's published first outputs. */
#include "api/train_optim.h"
#include "ir/rng.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N     7
#define STEPS 5

/* The configs of scripts/train_optim_ref.py, in its order. */
static void config(int k, SlimcTrainOptions *o)
{
    slimc_train_options_default(o);
    switch (k) {
    case 0: o->optimizer = SLIMC_OPTIM_SGD, o->lr = 0.1; break;
    case 1:
        o->optimizer = SLIMC_OPTIM_SGD, o->lr = 0.1, o->momentum = 0.9, o->weight_decay = 0.01;
        break;
    case 2:
        o->optimizer = SLIMC_OPTIM_SGD, o->lr = 0.05, o->momentum = 0.8, o->nesterov = true;
        break;
    case 3:
        o->optimizer = SLIMC_OPTIM_SGD, o->lr = 0.05, o->momentum = 0.8, o->nesterov = true;
        o->weight_decay = 0.1;
        break;
    case 4: o->optimizer = SLIMC_OPTIM_ADAM, o->lr = 1e-2; break;
    case 5:
        o->optimizer = SLIMC_OPTIM_ADAM, o->lr = 1e-2, o->beta1 = 0.8, o->beta2 = 0.99;
        o->eps = 1e-6, o->weight_decay = 0.1;
        break;
    case 6: o->optimizer = SLIMC_OPTIM_ADAMW, o->lr = 1e-2, o->weight_decay = 0.05; break;
    case 7: o->optimizer = SLIMC_OPTIM_ADAMW, o->lr = 3e-2; break; /* weight decay: -1, 0.01 */
    default: ck_abort_msg("no config %d", k);
    }
}
enum { N_CONFIGS = 8 };

static void run_config(int k, float p[N])
{
    SlimcTrainOptions o;
    config(k, &o);
    char why[256];
    ck_assert_msg(api_train_options_check(&o, why, sizeof why), "config %d: %s", k, why);
    TrainOptimState st;
    api_train_optim_state_init(&st, &o, N);
    for (int i = 0; i < N; i++)
        p[i] = (float)sin(i + 1);
    for (int s = 1; s <= STEPS; s++) {
        float g[N];
        for (int i = 0; i < N; i++)
            g[i] = (float)(cos(0.7 * i + 1.3 * s) * (1 + 0.1 * s));
        api_train_optim_step(&o, o.lr, s, p, g, &st, N);
    }
    api_train_optim_state_free(&st);
}

static void lr_schedule(const char *name, SlimcTrainOptions *o)
{
    slimc_train_options_default(o);
    o->lr = 0.1;
    o->epochs = 10;
    if (!strcmp(name, "step"))
        o->schedule = SLIMC_SCHEDULE_STEP, o->step_size = 3, o->gamma = 0.5;
    else if (!strcmp(name, "cosine"))
        o->schedule = SLIMC_SCHEDULE_COSINE, o->t_max = 7, o->eta_min = 1e-3;
    else if (!strcmp(name, "warmup"))
        o->warmup_epochs = 4, o->warmup_start = 1.0 / 3;
    else if (!strcmp(name, "step_warmup")) {
        o->schedule = SLIMC_SCHEDULE_STEP, o->step_size = 3, o->gamma = 0.5;
        o->warmup_epochs = 2, o->warmup_start = 0.25;
    } else
        ck_abort_msg("no schedule %s", name);
}

START_TEST(against_torch)
{
    const char *src = getenv("SLIMC_SOURCE_DIR");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/scripts/train_optim_ref.py' 2>&1",
             src ? src : ".");
    FILE *f = access("/usr/bin/python3", X_OK) == 0 ? popen(cmd, "r") : NULL;
    if (!f) {
        fprintf(stderr, "skip: no /usr/bin/python3: torch.optim comparison not run\n");
        return;
    }
    char line[4096];
    int n_optim = 0, n_lr = 0;
    bool skipped = false;
    while (fgets(line, sizeof line, f)) {
        char *save = NULL, *tok = strtok_r(line, " \n", &save);
        if (!tok)
            continue;
        if (!strcmp(tok, "skip")) {
            skipped = true;
        } else if (!strcmp(tok, "optim")) {
            int k = atoi(strtok_r(NULL, " \n", &save));
            float p[N];
            run_config(k, p);
            for (int i = 0; i < N; i++) {
                char *v = strtok_r(NULL, " \n", &save);
                ck_assert_ptr_nonnull(v);
                double want = strtod(v, NULL);
                ck_assert_msg(fabs(p[i] - want) <= 2e-6 * fabs(want) + 1e-7,
                              "config %d element %d: slimc %.9g, torch %.9g", k, i, p[i], want);
            }
            n_optim++;
        } else if (!strcmp(tok, "lr")) {
            char *name = strtok_r(NULL, " \n", &save);
            SlimcTrainOptions o;
            lr_schedule(name, &o);
            for (int e = 0; e < 10; e++) {
                char *v = strtok_r(NULL, " \n", &save);
                ck_assert_ptr_nonnull(v);
                double want = strtod(v, NULL), got = api_train_lr_at(&o, e);
                ck_assert_msg(fabs(got - want) <= 1e-8 * fabs(want) + 1e-12,
                              "%s epoch %d: slimc %.9g, torch %.9g", name, e, got, want);
            }
            n_lr++;
        } else {
            ck_abort_msg("train_optim_ref.py: %s", tok);
        }
    }
    int rc = pclose(f);
    ck_assert_int_eq(rc, 0);
    if (skipped) {
        fprintf(stderr, "skip: /usr/bin/python3 has no torch: torch.optim comparison not run\n");
        return;
    }
    ck_assert_int_eq(n_optim, N_CONFIGS);
    ck_assert_int_eq(n_lr, 4);
}
END_TEST

/* Closed forms that need no torch. */
START_TEST(closed_forms)
{
    SlimcTrainOptions o;
    TrainOptimState st;
    float p[3] = {1, -2, 0.5f}, g[3] = {0.25f, -4, 1e-3f};
    /* plain SGD: p - lr g */
    config(0, &o);
    api_train_optim_state_init(&st, &o, 3);
    ck_assert_ptr_null(st.m);
    api_train_optim_step(&o, 0.1, 1, p, g, &st, 3);
    ck_assert_float_eq_tol(p[0], 1 - 0.025f, 1e-7f);
    ck_assert_float_eq_tol(p[1], -2 + 0.4f, 1e-7f);
    /* Adam's first step: the bias corrections cancel, p - lr g / (|g| + eps) */
    float q[3] = {1, -2, 0.5f};
    config(4, &o);
    o.eps = 1e-3;
    TrainOptimState sa;
    api_train_optim_state_init(&sa, &o, 3);
    api_train_optim_step(&o, 0.01, 1, q, g, &sa, 3);
    for (int i = 0; i < 3; i++) {
        float want = (float)((i == 0 ? 1 : i == 1 ? -2 : 0.5) - 0.01 * g[i] / (fabs(g[i]) + 1e-3));
        ck_assert_float_eq_tol(q[i], want, 2e-7f);
    }
    /* AdamW's decay is decoupled: a zero gradient leaves p * (1 - lr wd) */
    float r[1] = {2}, z[1] = {0};
    config(6, &o);
    TrainOptimState sw;
    api_train_optim_state_init(&sw, &o, 1);
    api_train_optim_step(&o, 0.01, 1, r, z, &sw, 1);
    ck_assert_float_eq_tol(r[0], 2 * (1 - 0.01f * 0.05f), 1e-7f);
    ck_assert_double_eq(api_train_weight_decay(&o), 0.05);
    o.weight_decay = -1;
    ck_assert_double_eq(api_train_weight_decay(&o), 0.01);
    o.optimizer = SLIMC_OPTIM_ADAM;
    ck_assert_double_eq(api_train_weight_decay(&o), 0);
    api_train_optim_state_free(&st);
    api_train_optim_state_free(&sa);
    api_train_optim_state_free(&sw);
    /* schedules, written out */
    lr_schedule("step", &o);
    ck_assert_double_eq_tol(api_train_lr_at(&o, 2), 0.1, 1e-15);
    ck_assert_double_eq_tol(api_train_lr_at(&o, 3), 0.05, 1e-15);
    ck_assert_double_eq_tol(api_train_lr_at(&o, 9), 0.0125, 1e-15);
    lr_schedule("cosine", &o);
    ck_assert_double_eq_tol(api_train_lr_at(&o, 7), 1e-3, 1e-15);
    ck_assert_double_eq_tol(api_train_lr_at(&o, 0), 0.1, 1e-15);
    lr_schedule("warmup", &o);
    ck_assert_double_eq_tol(api_train_lr_at(&o, 0), 0.1 / 3, 1e-15);
    ck_assert_double_eq_tol(api_train_lr_at(&o, 2), 0.1 * (1.0 / 3 + 2.0 / 3 * 0.5), 1e-15);
    ck_assert_double_eq_tol(api_train_lr_at(&o, 5), 0.1, 1e-15);
}
END_TEST

START_TEST(options_checked)
{
    SlimcTrainOptions o;
    char why[256];
    slimc_train_options_default(&o);
    ck_assert(api_train_options_check(&o, why, sizeof why));
    o.nesterov = true; /* Adam */
    ck_assert(!api_train_options_check(&o, why, sizeof why));
    ck_assert_str_eq(why, "nesterov needs SGD with momentum > 0");
    slimc_train_options_default(&o);
    o.schedule = SLIMC_SCHEDULE_STEP;
    ck_assert(!api_train_options_check(&o, why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "step size"));
    slimc_train_options_default(&o);
    o.beta2 = 1;
    ck_assert(!api_train_options_check(&o, why, sizeof why));
    slimc_train_options_default(&o);
    o.lr = NAN;
    ck_assert(!api_train_options_check(&o, why, sizeof why));
}
END_TEST

/* SplitMix64 seeded with 1234567: the reference implementation's (Vigna's splitmix64.c)
 * first outputs; and a permutation draw stays in range. */
START_TEST(generator)
{
    uint64_t s = 1234567;
    ck_assert_uint_eq(ir_rng_next(&s), 6457827717110365317ull);
    ck_assert_uint_eq(ir_rng_next(&s), 3203168211198807973ull);
    ck_assert_uint_eq(ir_rng_next(&s), 9817491932198370423ull);
    s = 0;
    for (int i = 0; i < 1000; i++) {
        double u = ir_rng_uniform(&s);
        ck_assert(u >= 0 && u < 1);
        ck_assert_uint_lt(ir_rng_below(&s, 7), 7);
    }
    /* the multiply-shift is the high half of the product */
    uint64_t a = 0, b = 0;
    uint64_t x = ir_rng_next(&a);
    ck_assert_uint_eq(ir_rng_below(&b, 1ull << 40), x >> 24);
}
END_TEST

static Suite *optim_suite(void)
{
    Suite *s = suite_create("train_optim");
    TCase *tc = tcase_create("optim");
    tcase_add_test(tc, against_torch);
    tcase_add_test(tc, closed_forms);
    tcase_add_test(tc, options_checked);
    tcase_add_test(tc, generator);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(optim_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
