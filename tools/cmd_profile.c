/* slimc profile-device: measure this machine's devices for --device auto, or show the
 * profile in use (docs/placement.md, "The device profile"). */
#include "tools/cli.h"

#include <stdio.h>
#include <string.h>

int cmd_profile_device(int argc, char **argv)
{
    CliCommon c;
    cli_common_init(&c);
    c.opt.device = SLIMC_DEVICE_AUTO; /* the GPU too when there is one */
    const char *out = NULL;
    bool show = false;
    for (int i = 0; i < argc; i++) {
        int r = cli_common_option(&c, argc, argv, &i);
        if (r < 0)
            return 1;
        if (r > 0)
            continue;
        if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc)
                return cli_error("-o needs a value");
            out = argv[++i];
        } else if (!strcmp(argv[i], "--show")) {
            show = true;
        } else if (argv[i][0] == '-') {
            return cli_error("unknown option '%s' (see slimc help profile-device)", argv[i]);
        } else {
            return cli_error("unexpected argument '%s' (see slimc help profile-device)", argv[i]);
        }
    }
    if (show && out)
        return cli_error("--show prints the profile in use; it writes none (-o)");
    SlimcContext *ctx = slimc_context_new();
    int status = 1;
    if (show) {
        status = slimc_device_profile_show(ctx, &c.opt, stdout) == SLIMC_OK ? 0 : 1;
    } else if (slimc_profile_device(ctx, &c.opt, out) == SLIMC_OK) {
        cli_flush(ctx); /* where it wrote */
        /* the table of what was measured: the file just written */
        SlimcOptions o = c.opt;
        o.device_profile = out;
        status = slimc_device_profile_show(ctx, &o, stdout) == SLIMC_OK ? 0 : 1;
    }
    cli_flush(ctx);
    slimc_context_free(ctx);
    return status;
}
