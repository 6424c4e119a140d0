/* `slimc train` and `slimc distill`: the options (one table), then slimc_train. */
#include "tools/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { FOR_TRAIN = 1, FOR_DISTILL = 2, FOR_BOTH = 3 };

/* Legend: the option, whether it takes a value, which commands take it, its help line. The
 * options shared with the other commands (--threads, --cache-dir, --no-cache, --cc,
 * --max-memory, --time) are parsed by cli_common_option. */
static const struct TrainOpt {
    const char *name;
    bool value;
    int commands;
    const char *help;
} train_opts[] = {
    {"-o", true, FOR_BOTH, "OUT.safetensors: the trained weights (state_dict names)"},
    {"--data", true, FOR_BOTH, "X.npy: the training samples, f32 [N, ...]"},
    {"--labels", true, FOR_BOTH, "Y.npy: their labels, i64 or i32 [N] (-100: none)"},
    {"--teacher", true, FOR_DISTILL, "T: the teacher model (.slim or .onnx)"},
    {"--student", true, FOR_DISTILL, "S: the model to train (.slim)"},
    {"--temperature", true, FOR_DISTILL, "T of the distillation loss (default 4)"},
    {"--alpha", true, FOR_DISTILL, "weight of the teacher's term (default 0.7)"},
    {"--val", true, FOR_BOTH, "X.npy: validation samples (accuracy after each epoch)"},
    {"--val-labels", true, FOR_BOTH, "Y.npy: their labels"},
    {"--epochs", true, FOR_BOTH, "N: passes over the data (default 1)"},
    {"--batch", true, FOR_BOTH, "B: samples per step (default 64; the last batch may be smaller)"},
    {"--optimizer", true, FOR_BOTH, "sgd, adam or adamw (default adam)"},
    {"--lr", true, FOR_BOTH, "learning rate (default 1e-3)"},
    {"--momentum", true, FOR_BOTH, "SGD's momentum (default 0)"},
    {"--nesterov", false, FOR_BOTH, "SGD: Nesterov momentum"},
    {"--weight-decay", true, FOR_BOTH, "default 0 (sgd, adam), 0.01 (adamw)"},
    {"--betas", true, FOR_BOTH, "B1,B2: Adam's (default 0.9,0.999)"},
    {"--eps", true, FOR_BOTH, "Adam's (default 1e-8)"},
    {"--schedule", true, FOR_BOTH, "constant, step or cosine (per epoch; default constant)"},
    {"--step-size", true, FOR_BOTH, "step: epochs between decays"},
    {"--gamma", true, FOR_BOTH, "step: the decay factor (default 0.1)"},
    {"--t-max", true, FOR_BOTH, "cosine: its period in epochs (default: --epochs)"},
    {"--eta-min", true, FOR_BOTH, "cosine: the lowest rate (default 0)"},
    {"--warmup", true, FOR_BOTH, "E: a linear warm-up over E epochs (default 0)"},
    {"--warmup-start", true, FOR_BOTH, "the warm-up's first factor (default 1/3)"},
    {"--seed", true, FOR_BOTH, "N: shuffles and the initialisation (default 0)"},
    {"--no-shuffle", false, FOR_BOTH, "the samples in file order each epoch"},
    {"--checkpoint-dir", true, FOR_BOTH, "D: D/checkpoint.safetensors after each epoch"},
    {"--resume", true, FOR_BOTH, "CKPT: go on from a checkpoint"},
    {"--threads", true, FOR_BOTH, "N: worker threads (default 1)"},
    {"--cache-dir", true, FOR_BOTH, "DIR: the compile cache"},
    {"--no-cache", false, FOR_BOTH, "compile without the cache"},
    {"--cc", true, FOR_BOTH, "CC: the C compiler"},
    {"--max-memory", true, FOR_BOTH, "SIZE: what a model may ask for"},
    {"--time", false, FOR_BOTH, "print the time of each stage"},
};
enum { N_TRAIN_OPTS = sizeof train_opts / sizeof train_opts[0] };

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

static int unknown_option(const char *arg, int command, const char *cmd)
{
    size_t len = strcspn(arg, "=");
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), arg);
    const char *best = NULL;
    size_t best_d = 3;
    for (int i = 0; i < N_TRAIN_OPTS; i++) {
        if (!(train_opts[i].commands & command))
            continue;
        size_t d = edit_distance(name, train_opts[i].name);
        if (d < best_d)
            best_d = d, best = train_opts[i].name;
    }
    if (best)
        return cli_error("unknown option '%s' for slimc %s; did you mean '%s'?", name, cmd, best);
    return cli_error("unknown option '%s' for slimc %s (see slimc help %s)", name, cmd, cmd);
}

static bool parse_num(const char *opt, const char *v, double lo, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(x) || x < lo) {
        cli_error("%s takes a number%s, not '%s'", opt, lo >= 0 ? " >= 0" : "", v);
        return false;
    }
    *out = x;
    return true;
}

static bool parse_count(const char *opt, const char *v, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        cli_error("%s takes a whole number from %ld to %ld, not '%s'", opt, lo, hi, v);
        return false;
    }
    *out = (int)x;
    return true;
}

typedef struct TrainCli {
    CliCommon c;
    SlimcTrainOptions t;
    const char *model, *teacher, *out;
} TrainCli;

/* Applies option name (from the table) with value v. False after printing an error. */
static bool apply(TrainCli *a, const char *name, const char *v)
{
    SlimcTrainOptions *t = &a->t;
    if (!strcmp(name, "-o"))
        a->out = v;
    else if (!strcmp(name, "--data"))
        t->data = v;
    else if (!strcmp(name, "--labels"))
        t->labels = v;
    else if (!strcmp(name, "--teacher"))
        a->teacher = v;
    else if (!strcmp(name, "--student"))
        a->model = v;
    else if (!strcmp(name, "--val"))
        t->val_data = v;
    else if (!strcmp(name, "--val-labels"))
        t->val_labels = v;
    else if (!strcmp(name, "--temperature"))
        return parse_num(name, v, 0, &t->temperature);
    else if (!strcmp(name, "--alpha"))
        return parse_num(name, v, 0, &t->alpha);
    else if (!strcmp(name, "--epochs"))
        return parse_count(name, v, 1, 1000000, &t->epochs);
    else if (!strcmp(name, "--batch"))
        return parse_count(name, v, 1, 1 << 24, &t->batch_size);
    else if (!strcmp(name, "--optimizer")) {
        if (!strcmp(v, "sgd"))
            t->optimizer = SLIMC_OPTIM_SGD;
        else if (!strcmp(v, "adam"))
            t->optimizer = SLIMC_OPTIM_ADAM;
        else if (!strcmp(v, "adamw"))
            t->optimizer = SLIMC_OPTIM_ADAMW;
        else
            return cli_error("--optimizer takes sgd, adam or adamw, not '%s'", v), false;
    } else if (!strcmp(name, "--lr"))
        return parse_num(name, v, 0, &t->lr);
    else if (!strcmp(name, "--momentum"))
        return parse_num(name, v, 0, &t->momentum);
    else if (!strcmp(name, "--nesterov"))
        t->nesterov = true;
    else if (!strcmp(name, "--weight-decay"))
        return parse_num(name, v, 0, &t->weight_decay);
    else if (!strcmp(name, "--betas")) {
        char *end;
        errno = 0;
        double b1 = strtod(v, &end), b2 = *end == ',' ? strtod(end + 1, &end) : NAN;
        if (*end || errno || !(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1))
            return cli_error("--betas takes B1,B2 in [0, 1) (0.9,0.999), not '%s'", v), false;
        t->beta1 = b1, t->beta2 = b2;
    } else if (!strcmp(name, "--eps"))
        return parse_num(name, v, 0, &t->eps);
    else if (!strcmp(name, "--schedule")) {
        if (!strcmp(v, "constant"))
            t->schedule = SLIMC_SCHEDULE_CONSTANT;
        else if (!strcmp(v, "step"))
            t->schedule = SLIMC_SCHEDULE_STEP;
        else if (!strcmp(v, "cosine"))
            t->schedule = SLIMC_SCHEDULE_COSINE;
        else
            return cli_error("--schedule takes constant, step or cosine, not '%s'", v), false;
    } else if (!strcmp(name, "--step-size"))
        return parse_count(name, v, 1, 1000000, &t->step_size);
    else if (!strcmp(name, "--gamma"))
        return parse_num(name, v, 0, &t->gamma);
    else if (!strcmp(name, "--t-max"))
        return parse_count(name, v, 1, 1000000, &t->t_max);
    else if (!strcmp(name, "--eta-min"))
        return parse_num(name, v, 0, &t->eta_min);
    else if (!strcmp(name, "--warmup"))
        return parse_count(name, v, 0, 1000000, &t->warmup_epochs);
    else if (!strcmp(name, "--warmup-start"))
        return parse_num(name, v, 0, &t->warmup_start);
    else if (!strcmp(name, "--seed")) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 10);
        if (!*v || *end || errno || v[0] == '-')
            return cli_error("--seed takes a whole number >= 0, not '%s'", v), false;
        t->seed = s;
    } else if (!strcmp(name, "--no-shuffle"))
        t->shuffle = false;
    else if (!strcmp(name, "--checkpoint-dir"))
        t->checkpoint_dir = v;
    else if (!strcmp(name, "--resume"))
        t->resume = v;
    return true;
}

/* Parses argv with the table: `--opt value` and `--opt=value`; one positional MODEL for
 * train. False after printing an error. */
static bool parse(TrainCli *a, int argc, char **argv, int command, const char *cmd)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || !arg[1]) {
            if (command == FOR_TRAIN && !a->model) {
                a->model = arg;
                continue;
            }
            cli_error("unexpected argument '%s' (see slimc help %s)", arg, cmd);
            return false;
        }
        const struct TrainOpt *opt = NULL;
        size_t len = strcspn(arg, "=");
        for (int k = 0; !opt && k < N_TRAIN_OPTS; k++)
            if ((train_opts[k].commands & command) && strlen(train_opts[k].name) == len &&
                !strncmp(arg, train_opts[k].name, len))
                opt = &train_opts[k];
        if (!opt) {
            unknown_option(arg, command, cmd);
            return false;
        }
        int r = cli_common_option(&a->c, argc, argv, &i);
        if (r < 0)
            return false;
        if (r > 0)
            continue;
        const char *v = NULL;
        if (opt->value) {
            if (cli_value_option(argc, argv, &i, opt->name, &v) < 0)
                return false;
        } else if (arg[len] == '=') {
            cli_error("%s takes no value", opt->name);
            return false;
        }
        if (!apply(a, opt->name, v))
            return false;
    }
    return true;
}

/* `slimc train` (or distill) alone: the options with their help, from the table. */
static int print_options(int command, const char *cmd)
{
    fprintf(stderr, "usage: slimc %s %s[OPTIONS]\n\noptions:\n", cmd,
            command == FOR_TRAIN ? "MODEL " : "");
    for (int i = 0; i < N_TRAIN_OPTS; i++)
        if (train_opts[i].commands & command)
            fprintf(stderr, "  %-17s %s\n", train_opts[i].name, train_opts[i].help);
    fprintf(stderr, "\nMore in slimc help %s and docs/training.md.\n", cmd);
    return 1;
}

static int train_main(int argc, char **argv, int command, const char *cmd)
{
    if (argc == 0)
        return print_options(command, cmd);
    TrainCli a = {0};
    cli_common_init(&a.c);
    slimc_train_options_default(&a.t);
    if (!parse(&a, argc, argv, command, cmd))
        return 1;
    if (!a.model)
        return cli_error(command == FOR_TRAIN ? "slimc train needs a MODEL (see slimc help train)"
                                              : "slimc distill needs --student S");
    if (command == FOR_DISTILL && !a.teacher)
        return cli_error("slimc distill needs --teacher T");
    if (!a.t.data)
        return cli_error("slimc %s needs --data X.npy", cmd);
    if (command == FOR_TRAIN && !a.t.labels)
        return cli_error("slimc train needs --labels Y.npy");
    if (!a.out)
        return cli_error("slimc %s needs -o OUT.safetensors", cmd);
    if (a.t.val_data && !a.t.val_labels)
        return cli_error("--val needs --val-labels");
    if (a.t.val_labels && !a.t.val_data)
        return cli_error("--val-labels needs --val");
    a.t.compile = &a.c.opt;
    a.t.progress = stdout;
    SlimcContext *ctx = slimc_context_new();
    if (a.c.max_memory)
        slimc_set_max_memory(ctx, a.c.max_memory);
    SlimcModel *m = NULL, *teacher = NULL;
    int rc = 1;
    if (slimc_model_load_for_training(ctx, a.model, a.t.seed, &m) != SLIMC_OK)
        goto done;
    cli_flush(ctx);
    if (a.teacher && slimc_model_load(ctx, a.teacher, &teacher) != SLIMC_OK)
        goto done;
    cli_flush(ctx);
    if (slimc_train(ctx, m, teacher, &a.t, a.out) != SLIMC_OK)
        goto done;
    cli_flush(ctx);
    fprintf(stdout, "wrote %s\n", a.out);
    if (a.c.time)
        cli_print_times(ctx);
    rc = 0;
done:
    if (rc) {
        fflush(stdout);
        cli_flush(ctx);
    }
    slimc_model_free(teacher);
    slimc_model_free(m);
    slimc_context_free(ctx);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    return train_main(argc, argv, FOR_TRAIN, "train");
}

int cmd_distill(int argc, char **argv)
{
    return train_main(argc, argv, FOR_DISTILL, "distill");
}
