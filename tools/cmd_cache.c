/* slimc cache info|clear: the compile cache of the JIT.
 *
 * The cache is the runtime's business, not the model API's: this command talks to
 * runtime/jit.h directly (slimc.h has nothing to say about it). */
#include "tools/cli.h"

#include "runtime/jit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_diag(Diag *d)
{
    const char *t = diag_text(d);
    if (t && *t)
        fprintf(stderr, "%s", t);
}

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
    RtOptions o;
    rt_options_default(&o);
    o.cache_dir = dir;
    Diag d;
    diag_init(&d);
    int status = 1;
    if (!strcmp(action, "info")) {
        RtCacheInfo info;
        if (rt_cache_info(&o, &info, &d)) {
            printf(
                "cache: %s\nentries: %d\nsize: %.1f MiB of %.0f MiB (least recently used go first; "
                "$SLIMC_CACHE_MAX_MB)\n",
                info.dir, info.entries, (double)info.bytes / 1048576.0,
                (double)info.max_bytes / 1048576.0);
            if (info.temp_files)
                printf("stale temp files: %d (slimc cache clear removes them)\n", info.temp_files);
            printf("compiler: %s\n", rt_backend_name(&o));
            free(info.dir);
            status = 0;
        }
    } else {
        int removed = 0;
        if (rt_cache_clear(&o, &removed, &d)) {
            printf("removed %d file%s\n", removed, removed == 1 ? "" : "s");
            status = 0;
        }
    }
    print_diag(&d);
    if (status && d.n_errors == 0)
        fprintf(stderr, "slimc: error: no usable cache directory\n");
    diag_fini(&d);
    return status;
}
