/* slimc cache info|clear: the compile cache of the JIT. */
#include "tools/cli.h"

#include <stdio.h>
#include <string.h>

int cmd_cache(int argc, char **argv)
{
    const char *action = NULL, *dir = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--cache-dir")) {
            if (i + 1 >= argc)
                return cli_error("--cache-dir needs a value");
            dir = argv[++i];
        } else if (argv[i][0] == '-') {
            return cli_error("unknown option '%s' (see slimc help cache)", argv[i]);
        } else if (!action) {
            action = argv[i];
        } else {
            return cli_error("unexpected argument '%s' (see slimc help cache)", argv[i]);
        }
    }
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
