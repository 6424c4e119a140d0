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
                            ? "slimc compress MODEL [--passes P] [--max-memory SIZE] -o OUT.slim"
                            : "slimc import MODEL.onnx [--max-memory SIZE] -o MODEL.slim";
    const char *in = NULL, *out = NULL, *passes = NULL;
    uint64_t max_memory = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--max-memory") && i + 1 < argc) {
            if (!cli_max_memory(argv[++i], &max_memory))
                return 1;
        } else if (compress && !strcmp(argv[i], "--passes") && i + 1 < argc)
            passes = argv[++i];
        else if (argv[i][0] != '-' && !in)
            in = argv[i];
        else
            return cli_error("%s: unexpected argument '%s' (%s)", cmd, argv[i], usage);
    }
    if (!in || !out)
        return cli_error("%s: give the model and the output: %s", cmd, usage);
    size_t n = strlen(out);
    if (n < 6 || strcmp(out + n - 5, ".slim") != 0)
        return cli_error("%s: the output must be a .slim file, not '%s'", cmd, out);
    SlimcContext *ctx = slimc_context_new();
    if (max_memory)
        slimc_set_max_memory(ctx, max_memory);
    SlimcModel *m = NULL;
    bool ok = slimc_model_load(ctx, in, &m) == SLIMC_OK &&
              (!compress || slimc_model_compress(ctx, m, passes) == SLIMC_OK) &&
              slimc_model_save_slim(ctx, m, out) == SLIMC_OK;
    cli_flush(ctx);
    slimc_model_free(m);
    slimc_context_free(ctx);
    if (ok)
        printf("wrote %s and %.*s.safetensors\n", out, (int)(n - 5), out);
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
