/* slimc run / bench: JIT-compile a model and run it. */
#include "tools/cli.h"

#include <errno.h>
#include <math.h>
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
    int runs, warmup; /* bench */
    bool runs_given;
    double duration_s;
    unsigned long long seed;
    const char *json;
    const char *trace;       /* --trace FILE: --profile's Chrome trace */
    const char *compare[64]; /* run: --compare [NAME=]REF.npy */
    int n_compare;
    double rtol, atol;
    int top;
} RunArgs;

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* A command-specific option of run or bench (cli_parse checked that the command takes
 * it): 0, or 1 after printing an error. */
static int run_option(RunArgs *a, CliOpt o, const char *v)
{
    long n;
    switch (o) {
    case CLI_INPUT:
        if (a->n_inputs == 64)
            return cli_error("too many --input options");
        a->inputs[a->n_inputs++] = v;
        return 0;
    case CLI_OUTPUT_DIR: a->output_dir = v; return 0;
    case CLI_COMPARE:
        if (a->n_compare == 64)
            return cli_error("too many --compare options");
        a->compare[a->n_compare++] = v;
        return 0;
    case CLI_RTOL:
        if (!parse_double(v, 0, 1e300, &a->rtol))
            return cli_error("--rtol takes a number >= 0, not '%s'", v);
        return 0;
    case CLI_ATOL:
        if (!parse_double(v, 0, 1e300, &a->atol))
            return cli_error("--atol takes a number >= 0, not '%s'", v);
        return 0;
    case CLI_TOP:
        if (!parse_long(v, 1, 1000000, &n))
            return cli_error("--top takes a number from 1 to 1000000, not '%s'", v);
        a->top = (int)n;
        return 0;
    case CLI_RUNS:
        if (!parse_long(v, 1, 1000000, &n))
            return cli_error("--runs takes a number from 1 to 1000000, not '%s'", v);
        a->runs = (int)n;
        a->runs_given = true;
        return 0;
    case CLI_WARMUP:
        if (!parse_long(v, 0, 1000000, &n))
            return cli_error("--warmup takes a number from 0 to 1000000, not '%s'", v);
        a->warmup = (int)n;
        return 0;
    case CLI_DURATION:
        if (!parse_double(v, 0, 86400, &a->duration_s) || a->duration_s <= 0)
            return cli_error("--duration takes seconds, more than 0 and at most 86400, not '%s'",
                             v);
        return 0;
    case CLI_SEED: {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 10);
        if (!*v || *v == '-' || *end || errno)
            return cli_error("--seed takes a number from 0 to 2^64-1, not '%s'", v);
        a->seed = s;
        return 0;
    }
    case CLI_JSON: a->json = v; return 0;
    case CLI_PROFILE: a->c.opt.profile = true; return 0;
    case CLI_TRACE:
        a->trace = v;
        a->c.opt.profile = true;
        return 0;
    default: return cli_unhandled(o);
    }
}

static int parse_run_args(int argc, char **argv, RunArgs *a, bool bench)
{
    memset(a, 0, sizeof *a);
    cli_common_init(&a->c);
    a->runs = 100;
    a->warmup = 1;
    a->rtol = 1e-5; /* numpy.allclose's defaults */
    a->atol = 1e-8;
    const CliCommand *cmd = cli_command(bench ? "bench" : "run");
    static CliArgs args; /* large; one command line per process */
    if (!cli_parse(cmd, argc, argv, &args))
        return 1;
    for (int k = 0; k < args.n; k++) {
        int r = cli_common_apply(&a->c, args.o[k].opt, args.o[k].val);
        if (r < 0 || (r == 0 && run_option(a, args.o[k].opt, args.o[k].val)))
            return 1;
    }
    if (args.n_operands > 1)
        return cli_error("more than one model given ('%s' and '%s')", args.operands[0],
                         args.operands[1]);
    a->model = args.n_operands ? args.operands[0] : NULL;
    if (!a->model)
        return cli_error("no model given (see slimc help %s)", cmd->name);
    if (bench && a->duration_s > 0 && !a->runs_given)
        a->runs = 1; /* --duration alone: as many runs as fit */
    return cli_common_finish(&a->c);
}

/* splitmix64: the seeded random inputs of bench. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Loads each bound input (its file, or NULL, in files[i]). When allowed (bench), an input
 * not given is made from its declared type with every symbol at 1: f32 uniform in [-1, 1)
 * from seed (one stream over the inputs in order), integers zero; a note says so. */
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
    uint64_t state = a->seed;
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
        bool symbols = false;
        for (const char *p = br + 1; *p && *p != ']';) {
            while (*p == ' ' || *p == ',')
                p++;
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p) { /* a symbol */
                v = 1;
                symbols = true;
                while (*end && *end != ',' && *end != ']')
                    end++;
            }
            t->shape[t->ndim++] = v;
            count *= (size_t)v;
            p = end;
        }
        t->nbytes = count * slimc_dtype_size(t->dtype);
        t->data = calloc(1, t->nbytes + 1);
        if (!t->data) {
            cli_error("no memory for input '%s'", slimc_model_input_name(m, i));
            return false;
        }
        if (t->dtype == SLIMC_F32)
            for (size_t j = 0; j < count; j++)
                ((float *)t->data)[j] =
                    (float)((double)(next_random(&state) >> 40) / (double)(1ull << 23) - 1.0);
        fflush(stdout);
        fputs("bench: no --input for '", stderr);
        slimc_fputs_escaped(slimc_model_input_name(m, i), stderr);
        if (t->dtype == SLIMC_F32)
            fprintf(stderr, "': seeded random values in [-1, 1) (seed %llu), shape [", a->seed);
        else
            fputs("': zeros (an integer input: random indices could fall outside a table), "
                  "shape [",
                  stderr);
        for (int j = 0; j < t->ndim; j++)
            fprintf(stderr, "%s%lld", j ? ", " : "", (long long)t->shape[j]);
        fprintf(stderr, "]%s\n", symbols ? " with symbols at 1" : "");
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

/* s as a JSON string. */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* The figures of a bench as JSON (the keys are in docs/cli.md#slimc-bench). */
static bool write_bench_json(const SlimcModel *m, const SlimcExec *e, const RunArgs *a,
                             const SlimcTensor *in, const char *const *files,
                             const SlimcBenchStats *st, long long batch)
{
    FILE *f = fopen(a->json, "w");
    if (!f) {
        cli_error("%s: cannot write the JSON: %s", a->json, strerror(errno));
        return false;
    }
    const int threads = a->c.opt.threads > 0 ? a->c.opt.threads : slimc_default_threads();
    fputs("{\n  \"model\": ", f);
    json_string(f, slimc_model_name(m));
    fputs(",\n  \"device\": ", f);
    json_string(f, slimc_exec_device(e));
    fprintf(f, ",\n  \"threads\": %d,\n  \"warmup_runs\": %d,\n  \"runs\": %d,\n", threads,
            st->warmup, st->runs);
    fprintf(f, "  \"total_s\": %.9g,\n  \"batch\": %lld,\n", st->total_ms / 1e3, batch);
    fprintf(f,
            "  \"latency_ms\": {\"min\": %.9g, \"p50\": %.9g, \"p90\": %.9g, \"p99\": %.9g, "
            "\"max\": %.9g, \"mean\": %.9g, \"std\": %.9g},\n",
            st->min_ms, st->p50_ms, st->p90_ms, st->p99_ms, st->max_ms, st->mean_ms, st->std_ms);
    fprintf(f, "  \"gpu_median_ms\": %.9g,\n", st->gpu_median_ms);
    fprintf(f, "  \"throughput\": {\"inferences_per_s\": %.9g, \"samples_per_s\": %.9g},\n",
            st->inferences_per_s, st->inferences_per_s * (double)batch);
    fprintf(f, "  \"seed\": %llu,\n  \"inputs\": [", a->seed);
    for (int i = 0; i < slimc_model_num_inputs(m); i++) {
        const SlimcTensor *t = &in[i];
        fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
        json_string(f, slimc_model_input_name(m, i));
        fprintf(f, ", \"dtype\": \"%s\", \"shape\": [", slimc_dtype_name(t->dtype));
        for (int j = 0; j < t->ndim; j++)
            fprintf(f, "%s%lld", j ? ", " : "", (long long)t->shape[j]);
        fputs("], \"source\": ", f);
        if (files[i])
            json_string(f, files[i]);
        else
            fputs(t->dtype == SLIMC_F32 ? "\"random\"" : "\"zeros\"", f);
        double sum = 0;
        if (t->dtype == SLIMC_F32)
            for (size_t j = 0; j < t->nbytes / 4; j++)
                sum += (double)((const float *)t->data)[j];
        fprintf(f, ", \"sum\": %.17g}", sum);
    }
    fputs("\n  ]\n}\n", f);
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok)
        cli_error("%s: cannot write the JSON: %s", a->json, strerror(errno));
    return ok;
}

static int do_bench(SlimcContext *ctx, const SlimcModel *m, SlimcExec *e, const RunArgs *a,
                    const SlimcTensor *in, const char *const *files, int n_in)
{
    SlimcBenchOptions bo = {.warmup = a->warmup, .runs = a->runs, .duration_s = a->duration_s};
    SlimcBenchStats st;
    if (a->json && slimc_model_check_output(ctx, m, a->json) != SLIMC_OK) {
        cli_flush(ctx); /* before the runs: a --json that would replace the model */
        return 1;
    }
    if (slimc_exec_bench_stats(ctx, e, in, n_in, &bo, &st) != SLIMC_OK) {
        cli_flush(ctx);
        return 1;
    }
    cli_flush(ctx);
    /* The first line is the one scripts parse (median X ms; GPU median X ms): keep it. */
    slimc_fputs_escaped(slimc_model_name(m), stdout);
    if (strcmp(slimc_exec_device(e), "cpu")) {
        printf(": median %.4f ms over %d runs (on ", st.p50_ms, st.runs);
        slimc_fputs_escaped(slimc_exec_device(e), stdout); /* the driver's name: data */
        if (st.gpu_median_ms > 0)                          /* a GPU: its own time, without copies */
            printf("; GPU median %.4f ms", st.gpu_median_ms);
        printf(")\n");
    } else {
        const int threads = a->c.opt.threads > 0 ? a->c.opt.threads : slimc_default_threads();
        printf(": median %.4f ms over %d runs (%d thread%s)\n", st.p50_ms, st.runs, threads,
               threads == 1 ? "" : "s");
    }
    long long batch = n_in > 0 && in[0].ndim > 0 ? (long long)in[0].shape[0] : 1;
    printf("latency ms: min %.4f, p50 %.4f, p90 %.4f, p99 %.4f, max %.4f, mean %.4f, std "
           "%.4f\n",
           st.min_ms, st.p50_ms, st.p90_ms, st.p99_ms, st.max_ms, st.mean_ms, st.std_ms);
    printf("throughput: %.2f inferences/s, %.2f samples/s (batch %lld)\n", st.inferences_per_s,
           st.inferences_per_s * (double)batch, batch);
    printf("runs: %d in %.3f s after %d warm-up run%s\n", st.runs, st.total_ms / 1e3, st.warmup,
           st.warmup == 1 ? "" : "s");
    if (a->json && !write_bench_json(m, e, a, in, files, &st, batch))
        return 1;
    if (a->c.opt.profile && slimc_exec_profile(ctx, e, stdout, a->trace) != SLIMC_OK) {
        cli_flush(ctx);
        return 1;
    }
    return 0;
}

/* Element j of t as a double; false for a dtype that is not compared. */
static bool element(const SlimcTensor *t, size_t j, double *v)
{
    switch (t->dtype) {
    case SLIMC_F32: *v = (double)((const float *)t->data)[j]; return true;
    case SLIMC_F64: *v = ((const double *)t->data)[j]; return true;
    case SLIMC_I64: *v = (double)((const int64_t *)t->data)[j]; return true;
    case SLIMC_I32: *v = (double)((const int32_t *)t->data)[j]; return true;
    default: *v = 0; return false;
    }
}

static bool compared_dtype(SlimcDType d)
{
    return d == SLIMC_F32 || d == SLIMC_F64 || d == SLIMC_I64 || d == SLIMC_I32;
}

static void print_shape(FILE *f, const SlimcTensor *t)
{
    fputc('[', f);
    for (int j = 0; j < t->ndim; j++)
        fprintf(f, "%s%lld", j ? ", " : "", (long long)t->shape[j]);
    fputc(']', f);
}

static void print_index(FILE *f, const SlimcTensor *t, size_t flat)
{
    long long idx[SLIMC_MAX_RANK];
    for (int j = t->ndim - 1; j >= 0; j--) {
        idx[j] = (long long)(flat % (size_t)t->shape[j]);
        flat /= (size_t)t->shape[j];
    }
    fputc('[', f);
    for (int j = 0; j < t->ndim; j++)
        fprintf(f, "%s%lld", j ? ", " : "", idx[j]);
    fputc(']', f);
}

/* --compare: output k against ref as numpy.allclose (|out - ref| <= atol + rtol * |ref|,
 * NaN never close); 0 when it matches, 1 (with an error) when not. */
static int compare_output(SlimcContext *ctx, const SlimcModel *m, int k, const SlimcTensor *out,
                          const char *file, double rtol, double atol)
{
    SlimcTensor ref;
    if (slimc_npy_load(ctx, file, &ref) != SLIMC_OK) {
        cli_flush(ctx);
        return 1;
    }
    const char *name = slimc_model_output_name(m, k);
    int status = 1;
    bool same_shape = ref.ndim == out->ndim;
    for (int j = 0; same_shape && j < ref.ndim; j++)
        same_shape = ref.shape[j] == out->shape[j];
    if (!same_shape) {
        fflush(stdout);
        fprintf(stderr, "%s: error: the reference has shape ", file);
        print_shape(stderr, &ref);
        fputs(", output '", stderr);
        slimc_fputs_escaped(name, stderr);
        fputs("' has shape ", stderr);
        print_shape(stderr, out);
        fputc('\n', stderr);
        goto done;
    }
    if (!compared_dtype(ref.dtype) || !compared_dtype(out->dtype)) {
        fflush(stdout);
        fprintf(stderr, "%s: error: --compare takes f32, f64, i64 or i32 (the reference is %s, ",
                file, slimc_dtype_name(ref.dtype));
        fputs("output '", stderr);
        slimc_fputs_escaped(name, stderr);
        fprintf(stderr, "' is %s)\n", slimc_dtype_name(out->dtype));
        goto done;
    }
    size_t count = 1, bad = 0, worst = 0;
    for (int j = 0; j < ref.ndim; j++)
        count *= (size_t)ref.shape[j];
    double max_abs = 0, max_rel = 0, worst_excess = -INFINITY;
    for (size_t j = 0; j < count; j++) {
        double o, r;
        element(out, j, &o);
        element(&ref, j, &r);
        double d = fabs(o - r), tol = atol + rtol * fabs(r);
        bool close = o == r || d <= tol; /* equal infinities are close; NaN is not */
        /* the worst element: the most out of tolerance (NaN first) */
        double excess = close ? (isnan(d) ? -INFINITY : d - tol) : isnan(d) ? INFINITY : d - tol;
        if (!close)
            bad++;
        if (!isnan(d) && d > max_abs)
            max_abs = d;
        if (!isnan(d) && r != 0 && d / fabs(r) > max_rel)
            max_rel = d / fabs(r);
        if (isnan(d) && !close) {
            max_abs = max_rel = NAN;
        }
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = j;
        }
    }
    double wo = 0, wr = 0;
    if (count) {
        element(out, worst, &wo);
        element(&ref, worst, &wr);
    }
    slimc_fputs_escaped(name, stdout);
    printf(" vs %s: max abs error %.6g, max rel error %.6g (rtol %g, atol %g)", file, max_abs,
           max_rel, rtol, atol);
    if (count) {
        printf("; worst at ");
        fflush(stdout);
        print_index(stdout, out, worst);
        printf(": %.9g vs %.9g", wo, wr);
    }
    printf(bad ? "; MISMATCH\n" : "; match\n");
    if (bad) {
        fflush(stdout);
        fprintf(stderr, "%s: error: output '", file);
        slimc_fputs_escaped(name, stderr);
        fprintf(stderr,
                "' does not match: %zu of %zu elements differ by more than atol + rtol * |ref|; "
                "worst at ",
                bad, count);
        print_index(stderr, out, worst);
        fprintf(stderr, ": %.9g (output) vs %.9g (reference)\n", wo, wr);
        goto done;
    }
    status = 0;
done:
    slimc_tensor_free(&ref);
    return status;
}

/* --compare [NAME=]FILE for each: the output it names, or the first. */
static int compare_outputs(SlimcContext *ctx, const SlimcModel *m, const RunArgs *a,
                           const SlimcTensor *out)
{
    int status = 0;
    for (int c = 0; c < a->n_compare; c++) {
        const char *arg = a->compare[c], *eq = strchr(arg, '='), *file = arg;
        int k = 0;
        if (eq) {
            int found = -1;
            for (int j = 0; j < slimc_model_num_outputs(m); j++) {
                const char *name = slimc_model_output_name(m, j);
                if (strlen(name) == (size_t)(eq - arg) && !strncmp(name, arg, (size_t)(eq - arg)))
                    found = j;
            }
            if (found >= 0) {
                k = found;
                file = eq + 1;
            } else if (access(arg, F_OK) != 0) { /* a file name may hold '=' */
                cli_error("model '%s' has no output called '%.*s' (in --compare %s)",
                          slimc_model_name(m), (int)(eq - arg), arg, arg);
                status = 1;
                continue;
            }
        }
        status |= compare_output(ctx, m, k, &out[k], file, a->rtol, a->atol);
    }
    return status;
}

/* Element a of t before element b in --top's order: larger first, NaN last. */
static bool ranks_above(const SlimcTensor *t, size_t a, size_t b)
{
    double v, w;
    element(t, a, &v);
    element(t, b, &w);
    return v > w || (isnan(w) && !isnan(v));
}

/* --top K: the K largest values of each row of the first output ([N, C], or [C]). */
static int print_top(const SlimcModel *m, const SlimcTensor *t, int top)
{
    const char *name = slimc_model_output_name(m, 0);
    if ((t->ndim != 1 && t->ndim != 2) || !compared_dtype(t->dtype)) {
        fflush(stdout);
        fputs("slimc: error: --top takes an output of shape [N, C] (or [C]) and a number "
              "dtype; '",
              stderr);
        slimc_fputs_escaped(name, stderr);
        fprintf(stderr, "' is %s", slimc_dtype_name(t->dtype));
        print_shape(stderr, t);
        fputc('\n', stderr);
        return 1;
    }
    size_t rows = t->ndim == 2 ? (size_t)t->shape[0] : 1;
    size_t cols = (size_t)t->shape[t->ndim - 1];
    size_t k = (size_t)top < cols ? (size_t)top : cols;
    size_t *best = malloc((k + 1) * sizeof *best);
    if (!best)
        return cli_error("no memory for --top");
    for (size_t r = 0; r < rows; r++) {
        size_t nb = 0;
        for (size_t c = 0; c < cols; c++) { /* insertion into the sorted best (ties: lower index) */
            size_t p = nb;
            while (p > 0 && ranks_above(t, r * cols + c, r * cols + best[p - 1]))
                p--;
            if (p >= k)
                continue;
            if (nb < k)
                nb++;
            memmove(best + p + 1, best + p, (nb - 1 - p) * sizeof *best);
            best[p] = c;
        }
        slimc_fputs_escaped(name, stdout);
        printf(" top %zu, row %zu:", k, r);
        for (size_t j = 0; j < nb; j++) {
            double v;
            element(t, r * cols + best[j], &v);
            printf("%s %zu (%.6g)", j ? "," : "", best[j], v);
        }
        printf("\n");
    }
    free(best);
    return 0;
}

/* The first clause of text's first error, into buf: its message up to the first ';' (for
 * a list, "N nodes ... cannot be imported:", its first line). */
static const char *first_error(const char *text, char *buf, size_t size)
{
    const char *e = strstr(text, "error: "), *start = e ? e + 7 : text;
    size_t n = strcspn(start, "\n");
    if (n && start[n - 1] == ':' && start[n] == '\n')
        for (start += n + 1; *start == ' ';)
            start++;
    snprintf(buf, size, "%.*s", (int)strcspn(start, ";\n"), start);
    return buf;
}

/* Loads the model (cli_load without the passes). When its import refuses a symbolic dim
 * (a Range over a sequence length, S + 1...) and the inputs are given as files, loads it
 * again with each given input's shape fixed to its .npy's (as --shape would), with a note:
 * run and bench take a model as exported. NULL after printing the errors. */
static SlimcModel *load_for_inputs(SlimcContext *ctx, const RunArgs *a)
{
    if (a->c.max_memory)
        slimc_set_max_memory(ctx, a->c.max_memory);
    SlimcModel *m = NULL;
    if (!cli_apply_fixes(ctx, &a->c))
        return NULL;
    if (slimc_model_load(ctx, a->model, &m) == SLIMC_OK) {
        cli_flush(ctx);
        return m;
    }
    const char *err = slimc_error(ctx);
    if (!err || (!strstr(err, "fix it at import") && !strstr(err, "fix them at import")) ||
        a->n_inputs == 0) {
        cli_flush(ctx);
        return NULL;
    }
    char why[512];
    first_error(err, why, sizeof why);
    for (int i = 0; i < a->n_inputs; i++) {
        const char *arg = a->inputs[i], *eq = strrchr(arg, '=');
        char name[256];
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - arg) : 1, eq ? arg : "0");
        SlimcTensor t;
        if (slimc_npy_load(ctx, eq ? eq + 1 : arg, &t) != SLIMC_OK ||
            slimc_fix_shape(ctx, name, t.ndim, t.shape) != SLIMC_OK) {
            cli_flush(ctx);
            return NULL;
        }
        slimc_tensor_free(&t);
    }
    char *first = strdup(err);
    slimc_clear_messages(ctx);
    if (slimc_model_load(ctx, a->model, &m) != SLIMC_OK) {
        /* the model's own errors, then why the inputs' shapes did not help */
        fputs(first ? first : "", stderr);
        fprintf(stderr, "%s: note: with the given inputs' shapes fixed at import:\n", a->model);
        free(first);
        cli_flush(ctx);
        return NULL;
    }
    free(first);
    char note[1024]; /* names from the model: escaped for the terminal */
    snprintf(note, sizeof note,
             "%s: note: imported with the inputs' shapes fixed (%s); each new shape compiles once",
             a->model, why);
    slimc_fputs_escaped(note, stderr);
    fputc('\n', stderr);
    cli_flush(ctx);
    return m;
}

/* After a compile that failed because symbolic code is impossible (a symbol squared: the
 * scores of attention over a symbolic sequence), loads *m again with its symbolic inputs
 * fixed to the shapes of in and compiles that, with a note: a model is specialised per
 * input shape only where it must be (the compile cache keeps each shape's code). True when
 * it compiled; false leaves the first error in ctx. */
static bool specialise(SlimcContext *ctx, SlimcModel **m, const RunArgs *a, const SlimcTensor *in,
                       SlimcExec **e)
{
    const char *err = slimc_error(ctx);
    if (!err || !strstr(err, "squared") ||
        slimc_fix_inputs_to(ctx, *m, in, slimc_model_num_inputs(*m)) == 0)
        return false;
    char first[512];
    first_error(err, first, sizeof first);
    slimc_clear_messages(ctx);
    SlimcModel *fixed = cli_load(ctx, a->model, &a->c, false);
    if (!fixed)
        return false;
    slimc_model_free(*m);
    *m = fixed;
    char note[1024]; /* names from the model: escaped for the terminal */
    snprintf(note, sizeof note,
             "%s: note: compiled for these input shapes, not symbolically (%s); each new shape "
             "compiles once",
             a->model, first);
    slimc_fputs_escaped(note, stderr);
    fputc('\n', stderr);
    return slimc_compile(ctx, *m, &a->c.opt, e) == SLIMC_OK;
}

static int run_or_bench(int argc, char **argv, bool bench)
{
    RunArgs a;
    if (parse_run_args(argc, argv, &a, bench))
        return 1;
    SlimcContext *ctx = slimc_context_new();
    /* The inputs are checked against the model as loaded, before the passes and the compile:
     * a wrong rank is not worth minutes of compiling. */
    SlimcModel *m = load_for_inputs(ctx, &a);
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
    if (slimc_compile(ctx, m, &a.c.opt, &e) != SLIMC_OK && !specialise(ctx, &m, &a, in, &e)) {
        cli_flush(ctx);
        goto done;
    }
    cli_mark_started();
    cli_flush(ctx);
    if (bench) {
        status = do_bench(ctx, m, e, &a, in, in_files, n_in);
        goto done;
    }
    /* The output folder first: a run that cannot write its results should not run. */
    if (a.output_dir && slimc_make_output_dir(ctx, a.output_dir) != SLIMC_OK) {
        cli_flush(ctx);
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
    if (a.c.opt.profile && slimc_exec_profile(ctx, e, stdout, a.trace) != SLIMC_OK) {
        cli_flush(ctx);
        goto done;
    }
    status = compare_outputs(ctx, m, &a, out);
    if (a.top && print_top(m, &out[0], a.top))
        status = 1;
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
