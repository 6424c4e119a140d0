/* Dropout in training (frontend: a model loaded for training keeps its dropout layers;
 * passes/autodiff.c: each becomes x times a mask input; api/train_step.c draws the masks):
 * the step's loss and every parameter gradient of a two-layer MLP with dropout between the
 * layers, compiled and run, against a plain C loop of the same forward and backward pass
 * using the mask the step drew; the masks' values, rate and determinism; and that a model
 * loaded for inference has no dropout node at all (the identity). */
#include "api/api_internal.h"
#include "api/train_step.h"
#include "frontend/slim.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { B = 64, IN = 8, HID = 32, OUT = 4 };

static char model_path[64];

static void write_model(double p)
{
    snprintf(model_path, sizeof model_path, "/tmp/slimc_dropout_%d.slim", (int)getpid());
    FILE *f = fopen(model_path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "model mlp(x: f32[N, %d]) -> f32[N, %d]\n"
            "    fc1 = Linear(%d, %d)\n"
            "    drop = Dropout(%g)\n"
            "    fc2 = Linear(%d, %d)\n"
            "    return fc2(drop(relu(fc1(x))))\n",
            IN, OUT, IN, HID, p, HID, OUT);
    fclose(f);
}

static int count_op(const Graph *g, OpKind op)
{
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++)
        k += !g->nodes[i].dead && g->nodes[i].op == op;
    return k;
}

static float urand(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

typedef struct Step {
    SlimcContext *ctx;
    SlimcModel *m;
    ApiTrainStep *s;
    float *params[4], *grads[4];
    float x[B * IN], t[B * OUT];
    double loss;
} Step;

static void step_new(Step *st, double p)
{
    memset(st, 0, sizeof *st);
    write_model(p);
    st->ctx = slimc_context_new();
    ck_assert_int_eq(slimc_model_load_for_training(st->ctx, model_path, 3, &st->m), SLIMC_OK);
    ck_assert_int_eq(count_op(st->m->g, IR_OP_DROPOUT), 1);
    TrainSpec spec;
    pass_autodiff_spec_default(&spec);
    spec.loss = TRAIN_LOSS_MSE;
    st->s = api_train_step_new(st->ctx, st->m, &spec, NULL);
    ck_assert_msg(st->s != NULL, "%s", slimc_error(st->ctx));
    ck_assert_int_eq(api_train_step_num_params(st->s), 4);
    ck_assert_int_eq(api_train_step_num_dropouts(st->s), 1);
    for (int i = 0; i < 4; i++) {
        const SlimcTensor *init = api_train_step_param_init(st->s, i);
        st->params[i] = malloc(init->nbytes);
        st->grads[i] = malloc(init->nbytes);
        memcpy(st->params[i], init->data, init->nbytes);
    }
    uint64_t r = 11;
    for (int i = 0; i < B * IN; i++)
        st->x[i] = urand(&r);
    for (int i = 0; i < B * OUT; i++)
        st->t[i] = urand(&r);
}

static void step_run(Step *st, uint64_t seed)
{
    SlimcTensor x = {SLIMC_F32, 2, {B, IN}, st->x, sizeof st->x};
    SlimcTensor t = {SLIMC_F32, 2, {B, OUT}, st->t, sizeof st->t};
    api_train_step_set_dropout_seed(st->s, seed);
    ck_assert_msg(api_train_step_run(st->ctx, st->s, &x, 1, NULL, &t, st->params, &st->loss,
                                     st->grads) == SLIMC_OK,
                  "%s", slimc_error(st->ctx));
}

static void step_free(Step *st)
{
    for (int i = 0; i < 4; i++) {
        free(st->params[i]);
        free(st->grads[i]);
    }
    api_train_step_free(st->s);
    slimc_model_free(st->m);
    slimc_context_free(st->ctx);
    unlink(model_path);
}

/* The index of parameter name in the step (fc1.weight ...). */
static int param_index(const Step *st, const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(api_train_step_param_name(st->s, i), name) == 0)
            return i;
    ck_abort_msg("no parameter %s", name);
    return -1;
}

static void check_close(const char *what, const double *ref, const float *got, int n)
{
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        num += (ref[i] - got[i]) * (ref[i] - got[i]);
        den += ref[i] * ref[i];
    }
    ck_assert_msg(den > 0, "%s: the reference gradient is all zero", what);
    ck_assert_msg(sqrt(num / den) < 1e-4, "%s: relative error %g", what, sqrt(num / den));
}

START_TEST(gradients_match_a_plain_loop)
{
    Step st;
    step_new(&st, 0.5);
    step_run(&st, 1234);
    size_t count = 0;
    const float *mask = api_train_step_dropout_mask(st.s, 0, &count);
    ck_assert_uint_eq(count, (size_t)B * HID);
    const float *w1 = st.params[param_index(&st, "fc1.weight")],
                *b1 = st.params[param_index(&st, "fc1.bias")],
                *w2 = st.params[param_index(&st, "fc2.weight")],
                *b2 = st.params[param_index(&st, "fc2.bias")];
    static double z[B * HID], hd[B * HID], dy[B * OUT], dz[B * HID];
    static double gw1[HID * IN], gb1[HID], gw2[OUT * HID], gb2[OUT];
    memset(gw1, 0, sizeof gw1), memset(gb1, 0, sizeof gb1);
    memset(gw2, 0, sizeof gw2), memset(gb2, 0, sizeof gb2);
    double loss = 0;
    for (int n = 0; n < B; n++) {
        for (int h = 0; h < HID; h++) {
            double s = b1[h];
            for (int i = 0; i < IN; i++)
                s += (double)w1[h * IN + i] * st.x[n * IN + i];
            z[n * HID + h] = s;
            hd[n * HID + h] = (s > 0 ? s : 0) * mask[n * HID + h];
        }
        for (int o = 0; o < OUT; o++) {
            double s = b2[o];
            for (int h = 0; h < HID; h++)
                s += (double)w2[o * HID + h] * hd[n * HID + h];
            double e = s - st.t[n * OUT + o];
            loss += e * e;
            dy[n * OUT + o] = 2 * e / (B * OUT);
        }
    }
    loss /= B * OUT;
    for (int n = 0; n < B; n++) {
        for (int o = 0; o < OUT; o++) {
            gb2[o] += dy[n * OUT + o];
            for (int h = 0; h < HID; h++)
                gw2[o * HID + h] += dy[n * OUT + o] * hd[n * HID + h];
        }
        for (int h = 0; h < HID; h++) {
            double d = 0;
            for (int o = 0; o < OUT; o++)
                d += dy[n * OUT + o] * w2[o * HID + h];
            dz[n * HID + h] = z[n * HID + h] > 0 ? d * mask[n * HID + h] : 0;
            gb1[h] += dz[n * HID + h];
            for (int i = 0; i < IN; i++)
                gw1[h * IN + i] += dz[n * HID + h] * st.x[n * IN + i];
        }
    }
    ck_assert_msg(fabs(loss - st.loss) < 1e-5 * fabs(loss), "loss %g, the loop's %g", st.loss,
                  loss);
    check_close("fc1.weight", gw1, st.grads[param_index(&st, "fc1.weight")], HID * IN);
    check_close("fc1.bias", gb1, st.grads[param_index(&st, "fc1.bias")], HID);
    check_close("fc2.weight", gw2, st.grads[param_index(&st, "fc2.weight")], OUT * HID);
    check_close("fc2.bias", gb2, st.grads[param_index(&st, "fc2.bias")], OUT);
    step_free(&st);
}
END_TEST

START_TEST(masks_are_seeded_scaled_and_at_the_rate)
{
    const double rates[] = {0.5, 0.2, 1.0};
    for (int r = 0; r < 3; r++) {
        Step st;
        step_new(&st, rates[r]);
        size_t count = 0;
        step_run(&st, 99);
        const float *m = api_train_step_dropout_mask(st.s, 0, &count);
        float *first = malloc(count * sizeof(float));
        memcpy(first, m, count * sizeof(float));
        float keep = rates[r] < 1 ? (float)(1.0 / (1.0 - rates[r])) : 0.0f;
        size_t zeros = 0;
        for (size_t i = 0; i < count; i++) {
            ck_assert_msg(first[i] == 0.0f || first[i] == keep, "mask value %g", first[i]);
            zeros += first[i] == 0.0f;
        }
        /* 2048 draws: the rate within 0.07 (more than 6 standard deviations) */
        double rate = (double)zeros / (double)count;
        ck_assert_msg(fabs(rate - rates[r]) < 0.07, "ratio %g: %g of the mask is 0", rates[r],
                      rate);
        step_run(&st, 99); /* the same seed: the same mask */
        m = api_train_step_dropout_mask(st.s, 0, &count);
        ck_assert_int_eq(memcmp(first, m, count * sizeof(float)), 0);
        step_run(&st, 100); /* another seed: another mask (unless every value is dropped) */
        m = api_train_step_dropout_mask(st.s, 0, &count);
        if (rates[r] < 1)
            ck_assert_int_ne(memcmp(first, m, count * sizeof(float)), 0);
        free(first);
        step_free(&st);
    }
}
END_TEST

START_TEST(inference_has_no_dropout)
{
    write_model(0.5);
    /* the same initialised weights, loaded as `run` would (no weights line is allowed here) */
    Diag d;
    ir_diag_init(&d);
    FeSlimOptions so = {.init_missing_weights = true, .seed = 0};
    Graph *g = fe_slim_load_ex(model_path, &so, &d);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(count_op(g, IR_OP_DROPOUT), 0);
    ir_graph_free(g);
    so.training = true;
    g = fe_slim_load_ex(model_path, &so, &d);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(count_op(g, IR_OP_DROPOUT), 1);
    ir_graph_free(g);
    ir_diag_fini(&d);
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m = NULL;
    /* loaded for training, then compiled for inference: fold takes the node away */
    ck_assert_int_eq(slimc_model_load_for_training(ctx, model_path, 0, &m), SLIMC_OK);
    ck_assert_int_eq(count_op(m->g, IR_OP_DROPOUT), 1);
    SlimcExec *e = NULL;
    ck_assert_msg(slimc_compile(ctx, m, NULL, &e) == SLIMC_OK, "%s", slimc_error(ctx));
    ck_assert_int_eq(count_op(m->g, IR_OP_DROPOUT), 0);
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
    unlink(model_path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train_dropout");
    TCase *tc = tcase_create("dropout");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, gradients_match_a_plain_loop);
    tcase_add_test(tc, masks_are_seeded_scaled_and_at_the_rate);
    tcase_add_test(tc, inference_has_no_dropout);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
