/* slimc: the command-line driver. */
#include "tools/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "slimc %s — a model compiler\n\nusage: slimc COMMAND [ARGS]\n\ncommands:\n",
            slimc_version());
    for (int i = 0; i < cli_n_commands; i++)
        fprintf(out, "  %-14s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fprintf(out,
            "  %-14s show a command's options: slimc help COMMAND\n\n"
            "slimc --version prints the version.\n",
            "help");
}

/* "unknown command 'rn': did you mean 'run'?" */
static int unknown_command(const char *cmd)
{
    const char *names[64];
    int n = 0;
    for (int i = 0; i < cli_n_commands && n < 63; i++)
        names[n++] = cli_commands[i].name;
    names[n++] = "help";
    const char *near = cli_did_you_mean(cmd, names, n);
    if (near)
        return cli_error("unknown command '%s': did you mean '%s'? (see slimc help)", cmd, near);
    return cli_error("unknown command '%s' (see slimc help)", cmd);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("slimc %s (model format %d)\n", slimc_version(), SLIMC_FORMAT_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "help")) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[2], "--options")) { /* "COMMAND OPTION" lines: the docs test */
            cli_print_option_list(stdout);
            return 0;
        }
        const CliCommand *c = cli_command(argv[2]);
        if (c) {
            cli_print_help(c, stdout);
            return 0;
        }
        return unknown_command(argv[2]);
    }
    const CliCommand *c = cli_command(cmd);
    if (c) {
        for (int j = 2; j < argc; j++) {
            if (!strcmp(argv[j], "--"))
                break;
            if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
                cli_print_help(c, stdout);
                return 0;
            }
        }
        return c->fn(argc - 2, argv + 2);
    }
    unknown_command(cmd);
    usage(stderr);
    return 1;
}
