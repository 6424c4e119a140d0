/* What the subcommands share: option parsing, loading, messages, timings. */
#include "tools/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The message is escaped for the terminal: it may quote names from the model. */
int cli_error(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fputs("slimc: error: ", stderr);
    slimc_fputs_escaped(msg, stderr);
    fputc('\n', stderr);
    return 1;
}

int cli_unhandled(CliOpt o)
{
    fprintf(stderr, "slimc: internal error: option %s is in the table but not handled\n",
            cli_options[o].name);
    abort();
}

void cli_common_init(CliCommon *c)
{
    memset(c, 0, sizeof *c);
    slimc_options_default(&c->opt);
}

static bool parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

int cli_common_apply(CliCommon *c, CliOpt o, const char *val)
{
    switch (o) {
    case CLI_TIME: c->time = true; return 1;
    case CLI_NO_CACHE: c->opt.no_cache = true; return 1;
    case CLI_PASSES: c->opt.passes = val; return 1;
    case CLI_PRINT_AFTER: c->opt.print_after = val; return 1;
    case CLI_CPU: c->opt.cpu = val; return 1;
    case CLI_CC: c->opt.cc = val; return 1;
    case CLI_CACHE_DIR: c->opt.cache_dir = val; return 1;
    case CLI_DEVICE_PROFILE: c->opt.device_profile = val; return 1;
    case CLI_QUANTIZE: c->quantize = val; return 1;
    case CLI_CALIBRATE:
        return cli_calibrate_add(&c->calibrate, val, c->calibrate_list, sizeof c->calibrate_list)
                   ? 1
                   : -1;
    case CLI_PRECISION:
        if (!strcmp(val, "fp32"))
            c->opt.precision = SLIMC_PRECISION_FP32;
        else if (!strcmp(val, "fp16"))
            c->opt.precision = SLIMC_PRECISION_FP16;
        else if (!strcmp(val, "bf16"))
            c->opt.precision = SLIMC_PRECISION_BF16;
        else
            return -cli_error("--precision takes fp32, fp16 or bf16, not '%s'", val);
        return 1;
    case CLI_MAX_MEMORY: return cli_max_memory(val, &c->max_memory) ? 1 : -1;
    case CLI_SHAPE:
    case CLI_DIM: {
        const char **list = o == CLI_SHAPE ? c->shapes : c->dims;
        int *n = o == CLI_SHAPE ? &c->n_shapes : &c->n_dims;
        if (*n == 64)
            return -cli_error("more than 64 %s options", cli_options[o].name);
        list[(*n)++] = val;
        return 1;
    }
    case CLI_THREADS:
        if (!parse_int(val, 1, 1024, &c->opt.threads))
            return -cli_error("--threads takes a number from 1 to 1024, not '%s'", val);
        return 1;
    case CLI_OPT_LEVEL:
        if (!parse_int(val, 0, 3, &c->opt.opt_level))
            return -cli_error("--opt-level takes 0, 1, 2 or 3, not '%s'", val);
        return 1;
    case CLI_TARGET:
    case CLI_DEVICE: {
        /* --target is the older name of --device (and, for emit, "c" names the language) */
        const char *flag = cli_options[o].name;
        if (!strcmp(val, "cpu") || (!strcmp(val, "c") && o == CLI_TARGET))
            c->opt.device = SLIMC_DEVICE_CPU;
        else if (!strcmp(val, "cuda"))
            c->opt.device = SLIMC_DEVICE_CUDA;
        else if (!strcmp(val, "auto"))
            c->opt.device = SLIMC_DEVICE_AUTO;
        else
            return -cli_error("%s takes cpu, cuda or auto, not '%s'", flag, val);
        c->target = val;
        c->device_flag = flag;
        return 1;
    }
    default: return 0; /* the command's own */
    }
}

/* --quantize's modes and the pass call each is (calibrate= is added to int8's). */
static const struct {
    const char *mode, *call;
} quantize_modes[] = {
    {"int8", "quantize(int8"},
    {"int8-dynamic", "quantize(int8, dynamic"},
    {"int8-weight", "quantize(int8, weight_only"},
    {"int4", "quantize(int4"},
    {"fp16", "quantize(fp16"},
    {"bf16", "quantize(bf16"},
};

bool cli_quantize_step(const char *mode, const char *calibrate, char *buf, size_t size)
{
    if (!mode)
        mode = "int8"; /* --calibrate alone */
    size_t k = 0, n_modes = sizeof quantize_modes / sizeof quantize_modes[0];
    while (k < n_modes && strcmp(quantize_modes[k].mode, mode) != 0)
        k++;
    if (k == n_modes) {
        cli_error("--quantize takes int8, int8-dynamic, int8-weight, int4, fp16 or bf16, not '%s'",
                  mode);
        return false;
    }
    const bool calibrated = k == 0;
    if (calibrated && !calibrate) {
        cli_error("--quantize int8 needs calibration samples: --calibrate FILE.npy (a model of "
                  "several inputs: --calibrate NAME=FILE.npy for each, or one .npz), or "
                  "--quantize int8-dynamic, which needs none");
        return false;
    }
    if (!calibrated && calibrate) {
        cli_error("--calibrate goes with --quantize int8 (%s needs no calibration)", mode);
        return false;
    }
    size_t len = (size_t)snprintf(buf, size, "%s", quantize_modes[k].call);
    if (calibrated) { /* the path as a pipeline string: " and \ escaped */
        len += (size_t)snprintf(buf + len, size - len, ", calibrate=\"");
        for (const char *p = calibrate; *p && len + 4 < size; p++) {
            if (*p == '\n' || *p == '\r') {
                cli_error("--calibrate: the path holds a line break");
                return false;
            }
            if (*p == '"' || *p == '\\')
                buf[len++] = '\\';
            buf[len++] = *p;
        }
        if (len + 4 >= size) {
            cli_error("--calibrate: the path is too long");
            return false;
        }
        buf[len++] = '"';
    }
    snprintf(buf + len, size - len, ")");
    return true;
}

bool cli_calibrate_add(const char **cal, const char *val, char *buf, size_t size)
{
    if (!*cal) {
        *cal = val;
        return true;
    }
    if (!strchr(*cal, '=') || !strchr(val, '=')) {
        cli_error("--calibrate given twice: for a model of several inputs give each input's "
                  "samples as --calibrate NAME=FILE.npy, or all of them in one .npz");
        return false;
    }
    const size_t have = strlen(*cal), more = strlen(val);
    if (have + more + 2 > size) {
        cli_error("--calibrate: the list of files is too long (over %zu bytes)", size - 1);
        return false;
    }
    if (*cal != buf)
        memcpy(buf, *cal, have + 1);
    buf[have] = ',';
    memcpy(buf + have + 1, val, more + 1);
    *cal = buf;
    return true;
}

/* Whether pipeline text p names pass `name` (at the top level, outside strings). */
static bool pipeline_has(const char *p, const char *name)
{
    const size_t n = strlen(name);
    int depth = 0;
    bool in_string = false, at_start = true;
    for (; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_string = false;
            continue;
        }
        if (*p == '"')
            in_string = true;
        else if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        else if (*p == ',' && depth == 0)
            at_start = true;
        else if (at_start && *p != ' ' && *p != '\t') {
            at_start = false;
            if (depth == 0 && strncmp(p, name, n) == 0 &&
                (p[n] == 0 || p[n] == ',' || p[n] == '(' || p[n] == ' '))
                return true;
        }
    }
    return false;
}

int cli_common_finish(CliCommon *c)
{
    if (c->opt.passes && (c->quantize || c->calibrate))
        return cli_error("%s runs the default pipeline with quantize at its place; with --passes, "
                         "write quantize(...) in the pipeline instead",
                         c->quantize ? "--quantize" : "--calibrate");
    if (c->quantize || c->calibrate) {
        if (!cli_quantize_step(c->quantize, c->calibrate, c->quantize_step,
                               sizeof c->quantize_step))
            return 1;
        c->opt.quantize = c->quantize_step;
    }
    if (c->opt.passes) {
        const bool fuse = pipeline_has(c->opt.passes, "fuse"),
                   memplan = pipeline_has(c->opt.passes, "memplan");
        if (!fuse || !memplan)
            fprintf(stderr,
                    "slimc: warning: --passes replaces the default pipeline and leaves out %s%s%s "
                    "(%s); --quantize MODE [--calibrate FILE.npy] keeps the default one\n",
                    fuse ? "" : "fuse", fuse || memplan ? "" : " and ", memplan ? "" : "memplan",
                    fuse      ? "memplan is added at the end"
                    : memplan ? "no epilogue is fused"
                              : "no epilogue is fused; memplan is added at the end");
    }
    return 0;
}

bool cli_max_memory(const char *val, uint64_t *out)
{
    if (slimc_parse_size(val, out))
        return true;
    cli_error("--max-memory takes a size in bytes, or with a suffix K, M, G or T (512M, 4G), "
              "not '%s'",
              val);
    return false;
}

void cli_flush(SlimcContext *ctx)
{
    const char *msg = slimc_messages(ctx);
    if (msg && *msg)
        fputs(msg, stderr);
    slimc_clear_messages(ctx);
}

bool cli_apply_fixes(SlimcContext *ctx, const CliCommon *c)
{
    bool ok = true;
    for (int i = 0; i < c->n_shapes; i++)
        ok = ok && slimc_fix_shape_arg(ctx, c->shapes[i]) == SLIMC_OK;
    for (int i = 0; i < c->n_dims; i++)
        ok = ok && slimc_fix_dim_arg(ctx, c->dims[i]) == SLIMC_OK;
    if (!ok)
        cli_flush(ctx);
    return ok;
}

SlimcModel *cli_load(SlimcContext *ctx, const char *path, const CliCommon *c, bool optimize)
{
    SlimcModel *m = NULL;
    if (c->max_memory)
        slimc_set_max_memory(ctx, c->max_memory);
    if (!cli_apply_fixes(ctx, c))
        return NULL;
    if (slimc_model_load(ctx, path, &m) != SLIMC_OK) {
        cli_flush(ctx);
        return NULL;
    }
    cli_flush(ctx);
    if (optimize && slimc_model_optimize(ctx, m, &c->opt) != SLIMC_OK) {
        cli_flush(ctx);
        slimc_model_free(m);
        return NULL;
    }
    cli_flush(ctx);
    return m;
}

static double started_cpu_ms = -1;

void cli_mark_started(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
        started_cpu_ms = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void cli_print_times(SlimcContext *ctx)
{
    SlimcTimings t = slimc_timings(ctx);
    fflush(stdout);
    fprintf(stderr,
            "time: parse %.2f ms, passes %.2f ms, codegen %.2f ms, compile %.2f ms, load %.2f ms, "
            "run %.3f ms\n",
            t.parse, t.passes, t.codegen, t.compile, t.load, t.run);
    if (started_cpu_ms >= 0)
        fprintf(stderr, "time: start %.2f ms of CPU (the process until the model was loaded)\n",
                started_cpu_ms);
}
