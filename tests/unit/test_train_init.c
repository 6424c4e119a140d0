/* The default initialisation of a model without a weights line (frontend/init_params.c,
 * loaded with init_missing_weights for `slimc train`): PyTorch's reset_parameters
 * distributions — conv and linear weights and biases uniform in +-1/sqrt(fan_in) with
 * torch's fan_in (groups, kernel), norms 1 and 0, embeddings N(0, 1) — the same values for
 * the same seed, other values for another, and the plain load still refusing the model. */
#include "frontend/slim.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char model[] = "model m(x: f32[N, 6, 8, 8]) -> f32[N, 10]\n"
                            "    conv = Conv2d(6, 12, 3, groups=2)\n"
                            "    bn = BatchNorm2d(12)\n"
                            "    fc = Linear(12 * 6 * 6, 10)\n"
                            "    ln = LayerNorm(10)\n"
                            "    return ln(fc(flatten(relu(bn(conv(x))))))\n";

static Graph *load(uint64_t seed, Diag *d)
{
    FeSlimOptions o = {.init_missing_weights = true, .seed = seed};
    Graph *g = fe_slim_parse_ex("m.slim", model, strlen(model), &o, d);
    ck_assert_msg(g, "%s", ir_diag_text(d));
    return g;
}

static const Value *find(const Graph *g, const char *name, size_t *n)
{
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].kind == IR_VALUE_CONST && g->values[v].name &&
            !strcmp(g->values[v].name, name)) {
            *n = g->values[v].data_bytes / sizeof(float);
            return &g->values[v];
        }
    ck_abort_msg("no constant %s", name);
    return NULL;
}

/* Every value in [-bound, bound]; with enough of them, the largest near bound, the mean near 0 and
 * the mean absolute value near bound / 2 (a uniform distribution's). */
static void check_uniform(const Graph *g, const char *name, double bound)
{
    size_t n;
    const float *w = find(g, name, &n)->data;
    double sum = 0, abs_sum = 0, max = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(fabs(w[i]) <= bound, "%s[%zu] = %g outside +-%g", name, i, w[i], bound);
        sum += w[i];
        abs_sum += fabs(w[i]);
        max = fmax(max, fabs(w[i]));
    }
    if (n < 200) /* too few for the statistics */
        return;
    ck_assert_msg(max > 0.9 * bound, "%s: largest %g of bound %g", name, max, bound);
    ck_assert_msg(fabs(sum / (double)n) < 0.15 * bound, "%s: mean %g", name, sum / (double)n);
    ck_assert_msg(fabs(abs_sum / (double)n - bound / 2) < 0.1 * bound, "%s: mean |w| %g", name,
                  abs_sum / (double)n);
}

static void check_const(const Graph *g, const char *name, float value)
{
    size_t n;
    const float *w = find(g, name, &n)->data;
    for (size_t i = 0; i < n; i++)
        ck_assert_float_eq(w[i], value);
}

START_TEST(pytorch_distributions)
{
    Diag d;
    ir_diag_init(&d);
    Graph *g = load(7, &d);
    check_uniform(g, "conv.weight", 1 / sqrt(3.0 * 3 * 3)); /* fan_in: 6 / groups * 3 * 3 */
    check_uniform(g, "conv.bias", 1 / sqrt(3.0 * 3 * 3));
    check_uniform(g, "fc.weight", 1 / sqrt(12.0 * 6 * 6));
    check_uniform(g, "fc.bias", 1 / sqrt(12.0 * 6 * 6));
    check_const(g, "bn.weight", 1);
    check_const(g, "bn.bias", 0);
    check_const(g, "bn.running_mean", 0);
    check_const(g, "bn.running_var", 1);
    check_const(g, "ln.weight", 1);
    check_const(g, "ln.bias", 0);
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

START_TEST(seeded)
{
    Diag d;
    ir_diag_init(&d);
    Graph *a = load(1, &d), *b = load(1, &d), *c = load(2, &d);
    size_t n;
    const Value *va = find(a, "fc.weight", &n), *vb = find(b, "fc.weight", &n),
                *vc = find(c, "fc.weight", &n);
    ck_assert(memcmp(va->data, vb->data, n * sizeof(float)) == 0);
    ck_assert(memcmp(va->data, vc->data, n * sizeof(float)) != 0);
    ir_graph_free(a);
    ir_graph_free(b);
    ir_graph_free(c);
    /* without the mode: the missing weights line is an error, as `slimc run` says */
    Graph *g = fe_slim_parse("m.slim", model, strlen(model), &d);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "has no weights line"));
    ir_diag_fini(&d);
}
END_TEST

START_TEST(embedding_normal)
{
    static const char text[] = "model e(x: i64[N, 4]) -> f32[N, 4, 64]\n"
                               "    emb = Embedding(100, 64)\n"
                               "    return emb(x)\n";
    Diag d;
    ir_diag_init(&d);
    FeSlimOptions o = {.init_missing_weights = true, .seed = 3};
    Graph *g = fe_slim_parse_ex("e.slim", text, strlen(text), &o, &d);
    ck_assert_msg(g, "%s", ir_diag_text(&d));
    size_t n;
    const float *w = find(g, "emb.weight", &n)->data;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++)
        sum += w[i], sq += (double)w[i] * w[i];
    double mean = sum / (double)n, var = sq / (double)n - mean * mean;
    ck_assert_msg(fabs(mean) < 0.05 && fabs(var - 1) < 0.06, "mean %g var %g", mean, var);
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

static Suite *init_suite(void)
{
    Suite *s = suite_create("train_init");
    TCase *tc = tcase_create("init");
    tcase_add_test(tc, pytorch_distributions);
    tcase_add_test(tc, seeded);
    tcase_add_test(tc, embedding_normal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(init_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
