/* slimc cache info|clear: the compile cache of the JIT. */
#include "tools/cli.h"

#include <stdio.h>
#include <string.h>

int cmd_cache(int argc, char **argv)
{
    const char *action = NULL, *dir = NULL;
    static CliArgs args; /* large; one command line per process */
    if (!cli_parse(cli_command("cache"), argc, argv, &args))
        return 1;
    for (int k = 0; k < args.n; k++) {
        if (args.o[k].opt != CLI_CACHE_DIR)
            return cli_unhandled(args.o[k].opt);
        dir = args.o[k].val;
    }
    if (args.n_operands > 1)
        return cli_error("unexpected argument '%s' (see slimc help cache)", args.operands[1]);
    action = args.n_operands ? args.operands[0] : NULL;
    if (!action || (strcmp(action, "info") && strcmp(action, "clear")))
        return cli_error("slimc cache info|clear [--cache-dir DIR]");
    SlimcContext *ctx = slimc_context_new();
    int status = 1;
    if (!strcmp(action, "info")) {
        SlimcCacheInfo info;
        if (slimc_cache_info(ctx, dir, &info) == SLIMC_OK) {
            printf("cache: %s\nentries: %d (%d of them CUDA PTX/cubin)\nsize: %.1f MiB of %.0f MiB "
                   "(least recently used go first; $SLIMC_CACHE_MAX_MB)\n",
                   info.dir, info.entries, info.cuda_entries, (double)info.bytes / 1048576.0,
                   (double)info.max_bytes / 1048576.0);
            if (info.temp_files)
                printf("stale temp files: %d (slimc cache clear removes them)\n", info.temp_files);
            printf("compiler: %s\n", info.compiler);
            printf("nvrtc: %s\n", info.nvrtc ? info.nvrtc : "not found (docs/cuda.md)");
            status = 0;
        }
    } else {
        int removed = 0;
        if (slimc_cache_clear(ctx, dir, &removed) == SLIMC_OK) {
            printf("removed %d file%s\n", removed, removed == 1 ? "" : "s");
            status = 0;
        }
    }
    const char *msg = slimc_messages(ctx);
    if (msg && *msg)
        fputs(msg, stderr);
    else if (status)
        fprintf(stderr, "slimc: error: no usable cache directory\n");
    slimc_context_free(ctx);
    return status;
}
