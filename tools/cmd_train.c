/* `slimc train` and `slimc distill`: the options (rows of tools/options.c), then slimc_train. */
#include "tools/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { FOR_TRAIN = 1, FOR_DISTILL = 2 };

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

/* Applies option o (a row of tools/options.c this command takes) with value v. False after
 * printing an error. */
static bool apply(TrainCli *a, CliOpt o, const char *v)
{
    SlimcTrainOptions *t = &a->t;
    const char *name = cli_options[o].name;
    int r = cli_common_apply(&a->c, o, v);
    if (r != 0)
        return r > 0;
    switch (o) {
    case CLI_OUT: a->out = v; return true;
    case CLI_DATA: t->data = v; return true;
    case CLI_LABELS: t->labels = v; return true;
    case CLI_TEACHER: a->teacher = v; return true;
    case CLI_STUDENT: a->model = v; return true;
    case CLI_VAL: t->val_data = v; return true;
    case CLI_VAL_LABELS: t->val_labels = v; return true;
    case CLI_TARGETS: t->targets = v; return true;
    case CLI_VAL_TARGETS: t->val_targets = v; return true;
    case CLI_TEMPERATURE: return parse_num(name, v, 0, &t->temperature);
    case CLI_ALPHA: return parse_num(name, v, 0, &t->alpha);
    case CLI_EPOCHS: return parse_count(name, v, 1, 1000000, &t->epochs);
    case CLI_BATCH: return parse_count(name, v, 1, 1 << 24, &t->batch_size);
    case CLI_OPTIMIZER:
        if (!strcmp(v, "sgd"))
            t->optimizer = SLIMC_OPTIM_SGD;
        else if (!strcmp(v, "adam"))
            t->optimizer = SLIMC_OPTIM_ADAM;
        else if (!strcmp(v, "adamw"))
            t->optimizer = SLIMC_OPTIM_ADAMW;
        else
            return cli_error("--optimizer takes sgd, adam or adamw, not '%s'", v), false;
        return true;
    case CLI_LR: return parse_num(name, v, 0, &t->lr);
    case CLI_MOMENTUM: return parse_num(name, v, 0, &t->momentum);
    case CLI_NESTEROV: t->nesterov = true; return true;
    case CLI_WEIGHT_DECAY: return parse_num(name, v, 0, &t->weight_decay);
    case CLI_BETAS: {
        char *end;
        errno = 0;
        double b1 = strtod(v, &end), b2 = *end == ',' ? strtod(end + 1, &end) : NAN;
        if (*end || errno || !(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1))
            return cli_error("--betas takes B1,B2 in [0, 1) (0.9,0.999), not '%s'", v), false;
        t->beta1 = b1, t->beta2 = b2;
        return true;
    }
    case CLI_EPS: return parse_num(name, v, 0, &t->eps);
    case CLI_SCHEDULE:
        if (!strcmp(v, "constant"))
            t->schedule = SLIMC_SCHEDULE_CONSTANT;
        else if (!strcmp(v, "step"))
            t->schedule = SLIMC_SCHEDULE_STEP;
        else if (!strcmp(v, "cosine"))
            t->schedule = SLIMC_SCHEDULE_COSINE;
        else
            return cli_error("--schedule takes constant, step or cosine, not '%s'", v), false;
        return true;
    case CLI_STEP_SIZE: return parse_count(name, v, 1, 1000000, &t->step_size);
    case CLI_GAMMA: return parse_num(name, v, 0, &t->gamma);
    case CLI_T_MAX: return parse_count(name, v, 1, 1000000, &t->t_max);
    case CLI_ETA_MIN: return parse_num(name, v, 0, &t->eta_min);
    case CLI_WARMUP: return parse_count(name, v, 0, 1000000, &t->warmup_epochs);
    case CLI_WARMUP_START: return parse_num(name, v, 0, &t->warmup_start);
    case CLI_SEED: {
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(v, &end, 10);
        if (!*v || *end || errno || v[0] == '-')
            return cli_error("--seed takes a whole number >= 0, not '%s'", v), false;
        t->seed = seed;
        return true;
    }
    case CLI_NO_SHUFFLE: t->shuffle = false; return true;
    case CLI_KEEP_ZEROS: t->keep_zeros = true; return true;
    case CLI_CHECKPOINT_DIR: t->checkpoint_dir = v; return true;
    case CLI_RESUME: t->resume = v; return true;
    default: return cli_unhandled(o);
    }
}

static int train_main(int argc, char **argv, int command, const char *cmd)
{
    const CliCommand *c = cli_command(cmd);
    if (argc == 0) { /* alone: the help, made from the table */
        cli_print_help(c, stderr);
        return 1;
    }
    TrainCli a = {0};
    cli_common_init(&a.c);
    slimc_train_options_default(&a.t);
    CliArgs args;
    if (!cli_parse(c, argc, argv, &args))
        return 1;
    for (int i = 0; i < args.n; i++)
        if (!apply(&a, args.o[i].opt, args.o[i].val))
            return 1;
    if (args.n_operands > (command == FOR_TRAIN ? 1 : 0))
        return cli_error("unexpected argument '%s' (see slimc help %s)",
                         args.operands[command == FOR_TRAIN ? 1 : 0], cmd);
    if (command == FOR_TRAIN && args.n_operands == 1)
        a.model = args.operands[0];
    if (!a.model)
        return cli_error(command == FOR_TRAIN ? "slimc train needs a MODEL (see slimc help train)"
                                              : "slimc distill needs --student S");
    if (command == FOR_DISTILL && !a.teacher)
        return cli_error("slimc distill needs --teacher T");
    if (!a.t.data)
        return cli_error("slimc %s needs --data X.npy", cmd);
    if (command == FOR_TRAIN && !a.t.labels && !a.t.targets)
        return cli_error("slimc train needs --labels Y.npy (classes) or --targets T.npy (MSE)");
    if (a.t.labels && a.t.targets)
        return cli_error("--labels and --targets exclude each other (cross entropy or MSE)");
    if (a.t.val_targets && !a.t.targets)
        return cli_error("--val-targets needs --targets (--val-labels goes with --labels)");
    if (a.t.targets && a.t.val_labels)
        return cli_error("--val-labels goes with --labels; with --targets use --val-targets");
    if (!a.out)
        return cli_error("slimc %s needs -o OUT.safetensors", cmd);
    if (a.t.val_data && !a.t.val_labels && !a.t.val_targets)
        return cli_error(a.t.targets ? "--val needs --val-targets" : "--val needs --val-labels");
    if ((a.t.val_labels || a.t.val_targets) && !a.t.val_data)
        return cli_error("%s needs --val", a.t.val_labels ? "--val-labels" : "--val-targets");
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
