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
    static CliArgs args; /* large; one command line per process */
    if (!cli_parse(cli_command("profile-device"), argc, argv, &args))
        return 1;
    for (int k = 0; k < args.n; k++) {
        int r = cli_common_apply(&c, args.o[k].opt, args.o[k].val);
        if (r < 0)
            return 1;
        if (r > 0)
            continue;
        if (args.o[k].opt == CLI_OUT)
            out = args.o[k].val;
        else if (args.o[k].opt == CLI_SHOW)
            show = true;
        else
            return cli_unhandled(args.o[k].opt);
    }
    if (args.n_operands)
        return cli_error("unexpected argument '%s' (see slimc help profile-device)",
                         args.operands[0]);
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
