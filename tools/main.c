/* slimc: the command-line driver. */
#include "tools/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary, *usage;
} commands[] = {
    {"run", cmd_run, "compile a model and run it at once (JIT)",
     "slimc run MODEL [--input NAME=FILE.npy]... [--output-dir DIR] [--passes P] [--print-after PASS]\n"
     "                [--threads N] [--time] [--target cpu] [--opt-level N] [--cpu NAME] [--cc CC]\n"
     "                [--cache-dir DIR] [--no-cache]\n\n"
     "Compiles MODEL (a .slim file) to C, builds it with the C compiler (cached on disk) and runs\n"
     "it on the inputs. Prints each output's shape, dtype and first values; with --output-dir\n"
     "writes each output as DIR/NAME.npy (unnamed outputs are output0, output1...). A model with\n"
     "one input also takes --input FILE.npy. Inputs of another float dtype (numpy's float64)\n"
     "are converted with a note.\n"},
    {"build", cmd_build, "compile a model ahead of time into an executable",
     "slimc build MODEL -o FILE [--passes P] [--print-after PASS] [--cpu NAME] [--opt-level N]\n"
     "                  [--threads N] [--time] [--target cpu] [--cc CC]\n\n"
     "Writes a standalone executable with the weights embedded. It takes --input NAME=FILE.npy,\n"
     "--output-dir DIR, --threads N, --bench N and --help. The code targets x86-64-v2 unless\n"
     "--cpu names another CPU (--cpu native for this machine's).\n"},
    {"emit", cmd_emit, "write the C that slimc generates for a model",
     "slimc emit MODEL --target c [-o DIR] [--passes P]\n\n"
     "Writes the model's self-contained C to DIR/NAME.c (or to standard output without -o).\n"},
    {"inspect", cmd_inspect, "show a model's IR, memory and FLOPs",
     "slimc inspect MODEL [--ir] [--dot] [--memory] [--flops] [--passes P]\n\n"
     "With no flag prints a summary. --ir prints the IR as loaded (or after --passes), --dot as\n"
     "Graphviz, --memory the weight bytes and the peak arena after planning, --flops the\n"
     "floating-point operations of one run.\n"},
    {"bench", cmd_bench, "time a model on random or given inputs",
     "slimc bench MODEL [--runs N] [--threads T] [--input NAME=FILE.npy]... [--passes P]\n\n"
     "Prints the median latency of N runs (default 100). Symbolic dims are 1 unless inputs are given.\n"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

/* Commands of later issues, named here so that users get a clear answer. */
static const char *const later_commands[] = {"compress", "import", "distill", "cache"};

static void usage(FILE *out)
{
    fprintf(out, "slimc %s — a model compiler\n\nusage: slimc COMMAND [ARGS]\n\ncommands:\n", slimc_version());
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("  help     show a command's options: slimc help COMMAND\n\n"
          "slimc --version prints the version.\n", out);
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
        for (int i = 0; i < N_COMMANDS; i++)
            if (!strcmp(argv[2], commands[i].name)) {
                fputs(commands[i].usage, stdout);
                return 0;
            }
        return cli_error("no command '%s' (see slimc help)", argv[2]);
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) {
            for (int j = 2; j < argc; j++)
                if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
                    fputs(commands[i].usage, stdout);
                    return 0;
                }
            return commands[i].fn(argc - 2, argv + 2);
        }
    for (size_t i = 0; i < sizeof later_commands / sizeof later_commands[0]; i++)
        if (!strcmp(cmd, later_commands[i]))
            return cli_error("'slimc %s' is not available in this version of slimc yet", cmd);
    cli_error("unknown command '%s'", cmd);
    usage(stderr);
    return 1;
}
