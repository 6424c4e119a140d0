/* What the subcommands share: option parsing, loading, messages, timings. */
#include "tools/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cli_value_option(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *arg = argv[*i];
    size_t len = strlen(name);
    if (strncmp(arg, name, len) != 0)
        return 0;
    if (arg[len] == '=') {
        *val = arg + len + 1;
        return 1;
    }
    if (arg[len])
        return 0;
    if (*i + 1 >= argc) {
        cli_error("%s needs a value", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int cli_common_option(CliCommon *c, int argc, char **argv, int *i)
{
    static const char *const with_value[] = {"--passes",     "--print-after", "--threads",
                                             "--target",     "--device",      "--opt-level",
                                             "--cpu",        "--cc",          "--cache-dir",
                                             "--max-memory", "--precision",   "--device-profile"};
    if (!strcmp(argv[*i], "--time")) {
        c->time = true;
        return 1;
    }
    if (!strcmp(argv[*i], "--no-cache")) {
        c->opt.no_cache = true;
        return 1;
    }
    const char *arg = NULL, *val = NULL;
    for (size_t k = 0; !arg && k < sizeof with_value / sizeof with_value[0]; k++) {
        int r = cli_value_option(argc, argv, i, with_value[k], &val);
        if (r < 0)
            return -1;
        if (r > 0)
            arg = with_value[k];
    }
    if (!arg)
        return 0;
    if (!strcmp(arg, "--passes"))
        c->opt.passes = val;
    else if (!strcmp(arg, "--print-after"))
        c->opt.print_after = val;
    else if (!strcmp(arg, "--cpu"))
        c->opt.cpu = val;
    else if (!strcmp(arg, "--cc"))
        c->opt.cc = val;
    else if (!strcmp(arg, "--cache-dir"))
        c->opt.cache_dir = val;
    else if (!strcmp(arg, "--device-profile"))
        c->opt.device_profile = val;
    else if (!strcmp(arg, "--precision")) {
        if (!strcmp(val, "fp32"))
            c->opt.precision = SLIMC_PRECISION_FP32;
        else if (!strcmp(val, "fp16"))
            c->opt.precision = SLIMC_PRECISION_FP16;
        else if (!strcmp(val, "bf16"))
            c->opt.precision = SLIMC_PRECISION_BF16;
        else {
            cli_error("--precision takes fp32, fp16 or bf16, not '%s'", val);
            return -1;
        }
    } else if (!strcmp(arg, "--max-memory")) {
        if (!cli_max_memory(val, &c->max_memory))
            return -1;
    } else if (!strcmp(arg, "--threads")) {
        if (!parse_int(val, 1, 1024, &c->opt.threads)) {
            cli_error("--threads takes a number from 1 to 1024, not '%s'", val);
            return -1;
        }
    } else if (!strcmp(arg, "--opt-level")) {
        if (!parse_int(val, 0, 3, &c->opt.opt_level)) {
            cli_error("--opt-level takes 0, 1, 2 or 3, not '%s'", val);
            return -1;
        }
    } else if (!strcmp(arg, "--target") || !strcmp(arg, "--device")) {
        /* --target is the older name of --device (and, for emit, "c" names the language) */
        if (!strcmp(val, "cpu") || (!strcmp(val, "c") && !strcmp(arg, "--target")))
            c->opt.device = SLIMC_DEVICE_CPU;
        else if (!strcmp(val, "cuda"))
            c->opt.device = SLIMC_DEVICE_CUDA;
        else if (!strcmp(val, "auto"))
            c->opt.device = SLIMC_DEVICE_AUTO;
        else {
            cli_error("%s takes cpu, cuda or auto, not '%s'", arg, val);
            return -1;
        }
        c->target = val;
        c->device_flag = arg;
    }
    return 1;
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

SlimcModel *cli_load(SlimcContext *ctx, const char *path, const CliCommon *c, bool optimize)
{
    SlimcModel *m = NULL;
    if (c->max_memory)
        slimc_set_max_memory(ctx, c->max_memory);
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

void cli_print_times(SlimcContext *ctx)
{
    SlimcTimings t = slimc_timings(ctx);
    fflush(stdout);
    fprintf(stderr,
            "time: parse %.2f ms, passes %.2f ms, codegen %.2f ms, compile %.2f ms, load %.2f ms, "
            "run %.3f ms\n",
            t.parse, t.passes, t.codegen, t.compile, t.load, t.run);
}
