/* slimc import: an ONNX model to a readable .slim file plus its .safetensors weights.
 * slimc compress: a model shrunk by passes (quantize...) saved the same way. */
#include "tools/cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Both commands: MODEL -o OUT.slim, and for compress --passes P. */
static int save_slim(int argc, char **argv, bool compress)
{
    const char *cmd = compress ? "compress" : "import";
    const char *usage = compress
                            ? "slimc compress MODEL [--passes P | --quantize MODE [--calibrate "
                              "FILE.npy|FILE.npz|NAME=FILE.npy...]] "
                              "[--device-profile FILE] [--max-memory SIZE] [--dense] -o OUT.slim"
                            : "slimc import MODEL.onnx [--max-memory SIZE] -o MODEL.slim";
    const char *in = NULL, *out = NULL, *passes = NULL, *quantize = NULL, *calibrate = NULL;
    static char step[4200];           /* the quantize(...) call of --quantize */
    static char calibrate_list[4096]; /* several --calibrate NAME=FILE.npy, joined */
    uint64_t max_memory = 0;
    bool dense = !compress; /* import writes what it read */
    CliCommon fixes;        /* --shape, --dim */
    cli_common_init(&fixes);
    static CliArgs args; /* large; one command line per process */
    if (!cli_parse(cli_command(cmd), argc, argv, &args))
        return 1;
    for (int k = 0; k < args.n; k++) {
        const char *v = args.o[k].val;
        switch (args.o[k].opt) {
        case CLI_OUT: out = v; break;
        case CLI_PASSES: passes = v; break;
        case CLI_QUANTIZE: quantize = v; break;
        case CLI_CALIBRATE:
            if (!cli_calibrate_add(&calibrate, v, calibrate_list, sizeof calibrate_list))
                return 1;
            break;
        case CLI_DENSE: dense = true; break;
        case CLI_DEVICE_PROFILE:
        case CLI_CACHE_DIR: /* the cost model's profile (slimc_model_compress_with) */
            if (cli_common_apply(&fixes, args.o[k].opt, v) < 0)
                return 1;
            break;
        case CLI_SHAPE:
        case CLI_DIM:
            if (cli_common_apply(&fixes, args.o[k].opt, v) < 0)
                return 1;
            break;
        case CLI_MAX_MEMORY:
            if (!cli_max_memory(v, &max_memory))
                return 1;
            break;
        default: return cli_unhandled(args.o[k].opt);
        }
    }
    if (args.n_operands > 1)
        return cli_error("%s: unexpected argument '%s' (%s)", cmd, args.operands[1], usage);
    in = args.n_operands ? args.operands[0] : NULL;
    if (!in || !out)
        return cli_error("%s: give the model and the output: %s", cmd, usage);
    if ((quantize || calibrate) && passes)
        return cli_error("%s: --quantize and --calibrate are quantize(...) in --passes: give one "
                         "or the other",
                         cmd);
    if (quantize || calibrate) { /* the clean-up passes, then quantize */
        if (!cli_quantize_step(quantize, calibrate, step, sizeof step))
            return 1;
        passes = step;
    }
    size_t n = strlen(out);
    if (n < 6 || strcmp(out + n - 5, ".slim") != 0)
        return cli_error("%s: the output must be a .slim file, not '%s'", cmd, out);
    SlimcContext *ctx = slimc_context_new();
    if (max_memory)
        slimc_set_max_memory(ctx, max_memory);
    SlimcModel *m = NULL;
    SlimcSaveInfo info = {0};
    bool ok = cli_apply_fixes(ctx, &fixes) && slimc_model_load(ctx, in, &m) == SLIMC_OK &&
              (!compress || slimc_model_compress_with(ctx, m, passes, &fixes.opt) == SLIMC_OK) &&
              slimc_model_save_slim_compact(ctx, m, out, !dense, &info) == SLIMC_OK;
    cli_flush(ctx);
    slimc_model_free(m);
    slimc_context_free(ctx);
    if (ok && info.n_compact)
        printf("wrote %s and %.*s.safetensors (%llu bytes; %d sparse weight%s stored compactly "
               "saved %llu bytes, %.1fx smaller than dense)\n",
               out, (int)(n - 5), out, (unsigned long long)info.weights_bytes, info.n_compact,
               info.n_compact == 1 ? "" : "s", (unsigned long long)info.saved_bytes,
               (double)(info.weights_bytes + info.saved_bytes) / (double)info.weights_bytes);
    else if (ok)
        printf("wrote %s and %.*s.safetensors (%llu bytes)\n", out, (int)(n - 5), out,
               (unsigned long long)info.weights_bytes);
    return ok ? 0 : 1;
}

int cmd_import(int argc, char **argv)
{
    return save_slim(argc, argv, false);
}

int cmd_compress(int argc, char **argv)
{
    return save_slim(argc, argv, true);
}
