/* slimc run / bench: JIT-compile a model and run it. */
#include "tools/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Binds `--input NAME=FILE` / `--input FILE` arguments to the model's inputs. */
static bool bind_input(const SlimcModel *m, const char *arg, const char **files)
{
    const char *eq = strchr(arg, '=');
    int n = slimc_model_num_inputs(m);
    if (eq) {
        char name[256];
        size_t len = (size_t)(eq - arg);
        if (len >= sizeof name) {
            cli_error("input name too long in '--input %s'", arg);
            return false;
        }
        memcpy(name, arg, len);
        name[len] = 0;
        int i = slimc_model_input_index(m, name);
        if (i >= 0) {
            files[i] = eq + 1;
            return true;
        }
        /* A file name may itself hold '=': take it whole when the model has one input and
         * the file exists. */
        if (n != 1 || access(arg, F_OK) != 0) {
            cli_error("model '%s' has no input called '%s'", slimc_model_name(m), name);
            return false;
        }
    }
    if (n != 1) {
        cli_error("model '%s' has %d inputs: give each as --input NAME=FILE.npy",
                  slimc_model_name(m), n);
        return false;
    }
    files[0] = arg;
    return true;
}

static void print_summary(const SlimcModel *m, int k, const SlimcTensor *t)
{
    slimc_fputs_escaped(slimc_model_output_name(m, k), stdout);
    printf(": %s[", slimc_dtype_name(t->dtype));
    size_t count = 1;
    for (int j = 0; j < t->ndim; j++) {
        printf("%s%lld", j ? ", " : "", (long long)t->shape[j]);
        count *= (size_t)t->shape[j];
    }
    printf("]");
    if (count && t->dtype == SLIMC_F32) {
        printf(" =");
        for (size_t j = 0; j < count && j < 6; j++)
            printf(" %.6g", (double)((const float *)t->data)[j]);
        if (count > 6)
            printf(" ...");
    } else if (count && t->dtype == SLIMC_I64) {
        printf(" =");
        for (size_t j = 0; j < count && j < 6; j++)
            printf(" %lld", (long long)((const int64_t *)t->data)[j]);
    }
    printf("\n");
}

typedef struct RunArgs {
    CliCommon c;
    const char *model, *output_dir;
    const char *inputs[64];
    int n_inputs;
    int runs;
} RunArgs;

static int parse_run_args(int argc, char **argv, RunArgs *a, bool bench)
{
    memset(a, 0, sizeof *a);
    cli_common_init(&a->c);
    a->runs = 100;
    for (int i = 0; i < argc; i++) {
        int r = cli_common_option(&a->c, argc, argv, &i);
        if (r < 0)
            return 1;
        if (r > 0)
            continue;
        const char *arg = argv[i];
        bool has_value = !strcmp(arg, "--input") || !strcmp(arg, "--output-dir") ||
                         (bench && !strcmp(arg, "--runs"));
        if (has_value && i + 1 >= argc)
            return cli_error("%s needs a value", arg);
        if (!strcmp(arg, "--input")) {
            if (a->n_inputs == 64)
                return cli_error("too many --input options");
            a->inputs[a->n_inputs++] = argv[++i];
        } else if (!bench && !strcmp(arg, "--output-dir")) {
            a->output_dir = argv[++i];
        } else if (bench && !strcmp(arg, "--runs")) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1000000)
                return cli_error("--runs takes a number from 1 to 1000000");
            a->runs = (int)v;
        } else if (arg[0] == '-' && arg[1]) {
            return cli_error("unknown option '%s' (see slimc help %s)", arg,
                             bench ? "bench" : "run");
        } else if (!a->model) {
            a->model = arg;
        } else {
            return cli_error("more than one model given ('%s' and '%s')", a->model, arg);
        }
    }
    if (!a->model)
        return cli_error("no model given (see slimc help %s)", bench ? "bench" : "run");
    return 0;
}

/* Loads each bound input (its file, or NULL, in files[i]); fills zeros of the declared
 * type (symbols = 1) when allowed. */
static bool load_inputs(SlimcContext *ctx, const SlimcModel *m, const RunArgs *a,
                        SlimcTensor *tensors, const char **files, bool allow_missing)
{
    int n = slimc_model_num_inputs(m);
    if (n > 64) {
        cli_error("model has more than 64 inputs");
        return false;
    }
    for (int i = 0; i < a->n_inputs; i++)
        if (!bind_input(m, a->inputs[i], files))
            return false;
    for (int i = 0; i < n; i++) {
        if (files[i]) {
            if (slimc_npy_load(ctx, files[i], &tensors[i]) != SLIMC_OK) {
                cli_flush(ctx);
                return false;
            }
            continue;
        }
        if (!allow_missing) {
            cli_error("missing input '%s' (%s): give --input %s=FILE.npy",
                      slimc_model_input_name(m, i), slimc_model_input_type(m, i),
                      slimc_model_input_name(m, i));
            return false;
        }
        /* bench without inputs: parse "f32[N, 3, 32, 32]" with symbols set to 1. */
        const char *type = slimc_model_input_type(m, i);
        SlimcTensor *t = &tensors[i];
        const char *br = strchr(type, '[');
        char dt[16] = {0};
        memcpy(dt, type, (size_t)(br - type) < sizeof dt - 1 ? (size_t)(br - type) : sizeof dt - 1);
        t->dtype = strcmp(dt, "f32") == 0   ? SLIMC_F32
                   : strcmp(dt, "i64") == 0 ? SLIMC_I64
                                            : SLIMC_I32;
        size_t count = 1;
        for (const char *p = br + 1; *p && *p != ']';) {
            while (*p == ' ' || *p == ',')
                p++;
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p) { /* a symbol */
                v = 1;
                while (*end && *end != ',' && *end != ']')
                    end++;
            }
            t->shape[t->ndim++] = v;
            count *= (size_t)v;
            p = end;
        }
        t->nbytes = count * slimc_dtype_size(t->dtype);
        t->data = calloc(1, t->nbytes + 1);
    }
    return true;
}

/* DIR/NAME.npy of output k (malloc'd). */
static char *output_path(const SlimcModel *m, const char *dir, int k)
{
    size_t len = strlen(dir) + strlen(slimc_model_output_name(m, k)) + 8;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%s/%s.npy", dir, slimc_model_output_name(m, k));
    return path;
}

/* False, with an error, when an output file would replace one of the run's inputs: the
 * model's files, or an --input file (the same file by device and inode, so a symlink
 * or a hard link to it counts). */
static bool outputs_clear(SlimcContext *ctx, const SlimcModel *m, const char *dir,
                          const char *const *in_files)
{
    bool ok = true;
    for (int k = 0; ok && k < slimc_model_num_outputs(m); k++) {
        char *path = output_path(m, dir, k);
        struct stat so, si;
        if (!path || slimc_model_check_output(ctx, m, path) != SLIMC_OK) {
            cli_flush(ctx);
            ok = false;
        }
        for (int i = 0; ok && i < slimc_model_num_inputs(m) && i < 64; i++)
            if (in_files[i] && stat(path, &so) == 0 && stat(in_files[i], &si) == 0 &&
                so.st_dev == si.st_dev && so.st_ino == si.st_ino) {
                fprintf(stderr,
                        "%s: error: is the --input file '%s': writing output '%s' would "
                        "replace it (choose another --output-dir)\n",
                        path, in_files[i], slimc_model_output_name(m, k));
                ok = false;
            }
        free(path);
    }
    return ok;
}

static int run_or_bench(int argc, char **argv, bool bench)
{
    RunArgs a;
    if (parse_run_args(argc, argv, &a, bench))
        return 1;
    SlimcContext *ctx = slimc_context_new();
    /* The inputs are checked against the model as loaded, before the passes and the compile:
     * a wrong rank is not worth minutes of compiling. */
    SlimcModel *m = cli_load(ctx, a.model, &a.c, false);
    SlimcExec *e = NULL;
    int status = 1, n_in = 0, n_out = 0;
    SlimcTensor in[64] = {{0}}, *out = NULL;
    const char *in_files[64] = {0};
    if (!m)
        goto done;
    n_in = slimc_model_num_inputs(m);
    n_out = slimc_model_num_outputs(m);
    if (!load_inputs(ctx, m, &a, in, in_files, bench))
        goto done;
    if (slimc_model_check_inputs(ctx, m, in, n_in) != SLIMC_OK) {
        cli_flush(ctx);
        goto done;
    }
    if (slimc_compile(ctx, m, &a.c.opt, &e) != SLIMC_OK) {
        cli_flush(ctx);
        goto done;
    }
    cli_flush(ctx);
    if (bench) {
        double ms;
        if (slimc_exec_bench(ctx, e, in, n_in, a.runs, &ms) != SLIMC_OK) {
            cli_flush(ctx);
            goto done;
        }
        slimc_fputs_escaped(slimc_model_name(m), stdout);
        if (strcmp(slimc_exec_device(e), "cpu")) {
            printf(": median %.4f ms over %d runs (on ", ms, a.runs);
            slimc_fputs_escaped(slimc_exec_device(e), stdout); /* the driver's name: data */
            if (slimc_exec_bench_device_ms(e) > 0) /* a GPU: its own time, without copies */
                printf("; GPU median %.4f ms", slimc_exec_bench_device_ms(e));
            printf(")\n");
        } else {
            printf(": median %.4f ms over %d runs (%d thread%s)\n", ms, a.runs, a.c.opt.threads,
                   a.c.opt.threads == 1 ? "" : "s");
        }
        status = 0;
        goto done;
    }
    /* The output folder first: a run that cannot write its results should not run. */
    if (a.output_dir && mkdir(a.output_dir, 0777) != 0 && errno != EEXIST) {
        cli_error("%s: cannot create the output folder: %s", a.output_dir, strerror(errno));
        goto done;
    }
    if (a.output_dir && !outputs_clear(ctx, m, a.output_dir, in_files))
        goto done;
    out = calloc((size_t)n_out + 1, sizeof *out);
    if (slimc_exec_run(ctx, e, in, n_in, out, n_out) != SLIMC_OK) {
        cli_flush(ctx);
        goto done;
    }
    cli_flush(ctx);
    for (int k = 0; k < n_out; k++)
        print_summary(m, k, &out[k]);
    if (a.output_dir) {
        for (int k = 0; k < n_out; k++) {
            char *path = output_path(m, a.output_dir, k);
            SlimcStatus st = slimc_npy_save(ctx, path, &out[k]);
            free(path);
            if (st != SLIMC_OK) {
                cli_flush(ctx);
                goto done;
            }
        }
    }
    status = 0;
done:
    if (a.c.time && m)
        cli_print_times(ctx);
    for (int k = 0; out && k < n_out; k++)
        slimc_tensor_free(&out[k]);
    free(out);
    for (int i = 0; i < n_in && i < 64; i++)
        slimc_tensor_free(&in[i]);
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
    return status;
}

int cmd_run(int argc, char **argv)
{
    return run_or_bench(argc, argv, false);
}
int cmd_bench(int argc, char **argv)
{
    return run_or_bench(argc, argv, true);
}
