/* slimc grad: one compiled training step (api/train_step.h) on one batch, writing the loss
 * and every parameter's gradient as .npy: what tests/cli/autodiff_torch.sh compares with
 * PyTorch's autograd. It reaches the step through the library's internal header, as the
 * training commands do. */
#include "api/train_step.h"
#include "tools/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct GradArgs {
    const char *model, *input, *labels, *target, *out_dir, *loss;
    const char *temperature, *alpha, *repeat;
} GradArgs;

/* The options (rows of tools/options.c). --target is the target .npy here, not the device. */
static int parse(int argc, char **argv, CliCommon *common, GradArgs *a)
{
    CliArgs args;
    if (!cli_parse(cli_command("grad"), argc, argv, &args))
        return -1;
    for (int i = 0; i < args.n; i++) {
        const char *v = args.o[i].val;
        switch (args.o[i].opt) {
        case CLI_INPUT: a->input = v; break;
        case CLI_LABELS: a->labels = v; break;
        case CLI_TARGET: a->target = v; break;
        case CLI_OUT: a->out_dir = v; break;
        case CLI_TEMPERATURE: a->temperature = v; break;
        case CLI_ALPHA: a->alpha = v; break;
        case CLI_LOSS: a->loss = v; break;
        case CLI_REPEAT: a->repeat = v; break;
        case CLI_PROFILE: common->opt.profile = true; break;
        default:
            if (cli_common_apply(common, args.o[i].opt, v) < 0)
                return -1;
        }
    }
    if (args.n_operands > 1)
        return cli_error("unexpected argument '%s' (see slimc help grad)", args.operands[1]);
    a->model = args.n_operands ? args.operands[0] : NULL;
    if (!a->model || !a->input || !a->out_dir)
        return cli_error("slimc grad MODEL --input X.npy [--labels Y.npy] -o DIR (see slimc help "
                         "grad)");
    return 0;
}

static bool parse_double(const char *s, const char *what, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) {
        cli_error("%s: '%s' is not a number", what, s);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_spec(const GradArgs *a, TrainSpec *spec)
{
    pass_autodiff_spec_default(spec);
    const char *loss = a->loss ? a->loss : "ce";
    if (!strcmp(loss, "ce"))
        spec->loss = TRAIN_LOSS_CROSS_ENTROPY;
    else if (!strcmp(loss, "nll"))
        spec->loss = TRAIN_LOSS_NLL;
    else if (!strcmp(loss, "mse"))
        spec->loss = TRAIN_LOSS_MSE;
    else if (!strcmp(loss, "distill"))
        spec->loss = TRAIN_LOSS_DISTILL;
    else {
        cli_error("--loss must be ce, nll, mse or distill, not '%s'", loss);
        return false;
    }
    if (a->temperature && !parse_double(a->temperature, "--temperature", &spec->temperature))
        return false;
    if (a->alpha && !parse_double(a->alpha, "--alpha", &spec->alpha))
        return false;
    if (!(spec->temperature > 0) || !(spec->alpha >= 0 && spec->alpha <= 1)) {
        cli_error("--temperature must be > 0 and --alpha in [0, 1]");
        return false;
    }
    return true;
}

/* A file name for a parameter's gradient: its name with anything but [A-Za-z0-9._-] made _. */
static char *grad_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 16;
    char *p = malloc(n);
    if (!p)
        return NULL;
    int at = snprintf(p, n, "%s/", dir);
    for (const char *s = name; *s; s++) {
        char ch = *s;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        p[at++] = ok ? ch : '_';
    }
    snprintf(p + at, n - (size_t)at, ".grad.npy");
    return p;
}

/* Labels of numpy's default int64, or int32 widened. */
static bool widen_labels(SlimcTensor *t)
{
    if (t->dtype == SLIMC_I64)
        return true;
    if (t->dtype != SLIMC_I32)
        return false;
    size_t n = t->nbytes / 4;
    int64_t *w = malloc(n * 8 + 1);
    if (!w)
        return false;
    for (size_t i = 0; i < n; i++)
        w[i] = ((const int32_t *)t->data)[i];
    free(t->data);
    t->data = w;
    t->nbytes = n * 8;
    t->dtype = SLIMC_I64;
    return true;
}

static int run_step(SlimcContext *ctx, ApiTrainStep *s, const GradArgs *a, SlimcTensor *x,
                    SlimcTensor *y, SlimcTensor *t, long repeat, bool common_profile)
{
    int np = api_train_step_num_params(s), status = 1;
    float **params = calloc((size_t)np + 1, sizeof *params),
          **grads = calloc((size_t)np + 1, sizeof *grads);
    if (!params || !grads)
        goto done;
    for (int i = 0; i < np; i++) {
        const SlimcTensor *p = api_train_step_param_init(s, i);
        params[i] = p->data;
        if (!(grads[i] = malloc(p->nbytes + 1)))
            goto done;
    }
    double loss = 0;
    for (long r = 0; r < repeat; r++)
        if (api_train_step_run(ctx, s, x, 1, y->data ? y : NULL, t->data ? t : NULL, params, &loss,
                               grads) != SLIMC_OK)
            goto done;
    if (common_profile && api_train_step_profile(ctx, s, stdout, NULL) != SLIMC_OK)
        goto done;
    if (slimc_make_output_dir(ctx, a->out_dir) != SLIMC_OK)
        goto done;
    float lf = (float)loss;
    SlimcTensor lt = {.dtype = SLIMC_F32, .ndim = 0, .data = &lf, .nbytes = sizeof lf};
    char *lp = grad_path(a->out_dir, "loss");
    if (!lp)
        goto done;
    strcpy(lp + strlen(lp) - strlen(".grad.npy"), ".npy");
    SlimcStatus st = slimc_npy_save(ctx, lp, &lt);
    free(lp);
    for (int i = 0; i < np && st == SLIMC_OK; i++) {
        SlimcTensor g = *api_train_step_param_init(s, i);
        g.data = grads[i];
        char *gp = grad_path(a->out_dir, api_train_step_param_name(s, i));
        st = gp ? slimc_npy_save(ctx, gp, &g) : SLIMC_ERROR;
        free(gp);
    }
    /* batch norm layers: their batch statistics, DIR/RUNNING_NAME.batch.npy */
    for (int k = 0; k < api_train_step_num_batch_norms(s) && st == SLIMC_OK; k++) {
        const float *stat[2];
        int64_t channels, count;
        api_train_step_bn_batch_stats(s, k, &stat[0], &stat[1], &channels, &count);
        for (int v = 0; v < 2 && st == SLIMC_OK; v++) {
            char *path = grad_path(a->out_dir, api_train_step_bn_running_name(s, k, v));
            if (!path) {
                st = SLIMC_ERROR;
                break;
            }
            strcpy(path + strlen(path) - strlen(".grad.npy"), ".batch.npy");
            SlimcTensor bt = {.dtype = SLIMC_F32,
                              .ndim = 1,
                              .data = (void *)(uintptr_t)stat[v],
                              .nbytes = sizeof(float) * (size_t)channels};
            bt.shape[0] = channels;
            st = slimc_npy_save(ctx, path, &bt);
            free(path);
        }
    }
    if (st == SLIMC_OK) {
        printf("loss %.9g, %d parameter gradients in %s\n", loss, np, a->out_dir);
        status = 0;
    }
done:
    for (int i = 0; grads && i < np; i++)
        free(grads[i]);
    free(grads);
    free(params);
    return status;
}

int cmd_grad(int argc, char **argv)
{
    CliCommon common;
    cli_common_init(&common);
    GradArgs a = {0};
    if (parse(argc, argv, &common, &a) != 0)
        return 1;
    TrainSpec spec;
    if (!parse_spec(&a, &spec))
        return 1;
    long repeat = a.repeat ? strtol(a.repeat, NULL, 10) : 1;
    if (repeat < 1 || repeat > 1000000)
        return cli_error("--repeat must be a count from 1");
    bool wants_labels = spec.loss != TRAIN_LOSS_MSE,
         wants_target = spec.loss == TRAIN_LOSS_MSE || spec.loss == TRAIN_LOSS_DISTILL;
    if (wants_labels != (a.labels != NULL) || wants_target != (a.target != NULL))
        return cli_error("--loss %s takes %s--labels and %s--target", a.loss ? a.loss : "ce",
                         wants_labels ? "" : "no ", wants_target ? "" : "no ");
    SlimcContext *ctx = slimc_context_new();
    SlimcTensor x = {0}, y = {0}, t = {0};
    int status = 1;
    ApiTrainStep *s = NULL;
    SlimcModel *m = cli_load(ctx, a.model, &common, false);
    if (!m || slimc_npy_load(ctx, a.input, &x) != SLIMC_OK ||
        (a.labels && slimc_npy_load(ctx, a.labels, &y) != SLIMC_OK) ||
        (a.target && slimc_npy_load(ctx, a.target, &t) != SLIMC_OK))
        goto done;
    if (a.labels && !widen_labels(&y)) {
        cli_error("%s: labels must be integers (int64 or int32)", a.labels);
        goto done;
    }
    s = api_train_step_new(ctx, m, &spec, &common.opt);
    cli_flush(ctx);
    if (s)
        status = run_step(ctx, s, &a, &x, &y, &t, repeat, common.opt.profile);
    if (common.time)
        cli_print_times(ctx);
done:
    cli_flush(ctx);
    api_train_step_free(s);
    slimc_model_free(m);
    slimc_tensor_free(&x);
    slimc_tensor_free(&y);
    slimc_tensor_free(&t);
    slimc_context_free(ctx);
    return status;
}
